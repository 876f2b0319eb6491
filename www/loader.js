// Loads the WebAssembly bundle of this page: each built lab has its own (`Lab::bundle` in
// crates/scalelab-web/src/labs/mod.rs; a test keeps this map in step with it); the home page, the
// planned labs and unknown keys use the home page's bundle. Every bundle mounts the same shell.
const BUNDLES = { stablemax: "stablemax", fit: "fit", kernels: "kernels", calibrate: "calibrate" };
const lab = new URLSearchParams(location.search).get("lab");
const bundle = BUNDLES[lab] ?? "home";
await import(new URL(`${bundle}_loader.js`, document.baseURI).href);
