// What the browser benchmarks share: Chromium's flags (WebGPU on SwiftShader where there is no GPU)
// and a static server that serves a benchmark's page folder at /, the built npm package at
// /scalelab/ and jax-js's ESM files (bench/jaxjs_deps) at /jax/, cross-origin isolated
// (performance.now() at 5 µs, SharedArrayBuffer for jax-js's threads).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, dirname, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const jaxDir = join(here, "jaxjs_deps/node_modules/@jax-js/jax");

export const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
  "--enable-unsafe-webgpu", "--enable-unsafe-swiftshader", "--use-webgpu-adapter=swiftshader", "--enable-features=Vulkan",
];

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
  ".wasm": "application/wasm", ".json": "application/json", ".map": "application/json",
};

/** Serves `pageDir` (its `page.html` at /), `pkgDir` at /scalelab/ and jax-js at /jax/ on 127.0.0.1. */
export async function serve(pageDir, pkgDir) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const [dir, rest] = path.startsWith("/scalelab/") ? [pkgDir, path.slice("/scalelab".length)]
      : path.startsWith("/jax/") ? [join(jaxDir, "dist"), path.slice("/jax".length)] : [pageDir, path];
    const file = normalize(join(dir, rest === "/" ? "page.html" : rest));
    if (!file.startsWith(dir + sep)) { res.writeHead(403).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-embedder-policy": "require-corp",
      }).end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}
