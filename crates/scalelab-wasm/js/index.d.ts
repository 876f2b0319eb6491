// Types of the `scalelab` npm package (the module is instantiated on import).
export * from "./scalelab.js";
