// Entry point of the `scalelab` npm package: instantiates the WebAssembly module once (from the file
// beside this one, in Node and in browsers alike), then re-exports every function.
import init from "./scalelab.js";

const wasmUrl = new URL("./scalelab_bg.wasm", import.meta.url);
if (typeof process !== "undefined" && process.versions != null && process.versions.node != null) {
  const { readFile } = await import("node:fs/promises");
  await init({ module_or_path: await readFile(wasmUrl) });
} else {
  await init({ module_or_path: wasmUrl });
}

export * from "./scalelab.js";
