// Types of the `scalelab` npm package (the module is instantiated on import).
export * from "./scalelab.js";

// wasm-bindgen gives classes (ComputeContext) a `[Symbol.dispose]()` method; declare the symbol so
// projects whose `lib` predates ES2025's explicit resource management still type-check.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}
