// f32 matmul n×n · n×n in Node: Scalelab's ComputeContext CPU backend (matrixmultiply's SGEMM in
// WebAssembly) against jax-js's Wasm backend, in the same process.
//
//   npm ci --prefix bench/jaxjs_deps && node bench/jaxjs_matmul.mjs
//     [--package DIR]        built npm package (default target/npm/scalelab, from the repo root)
//     [--sizes 256,512,1024] [--runs 7]   timed rounds per size (≥ 5), after 2 warm-ups of each call
//
// Timing: performance.now() around each call, the median over the rounds; in each round the three
// calls below run once each, in turn, so a change in the machine's load falls on all alike.
// Ours is the whole call (`await ctx.matmul(a, b, n, n, n)`: the Float32Arrays copied into wasm,
// the product, the result copied out). jax-js is timed two ways: `jaxjs`, the inputs already on its
// device and `await np.matmul(a, b).blockUntilReady()` (the product alone; the ratio is against
// this), and `jaxjsEndToEnd`, the inputs made from the same Float32Arrays and the result read back
// with `data()`. Both products are first checked against a plain JS f64 triple loop (64×64).
// jax-js runs its Wasm backend multi-threaded only with SharedArrayBuffer and a global Worker,
// which Node does not have, so both are single-threaded here (printed as `jaxjsThreads`).
// One JSON line per size on stdout: GFLOP/s (2n³ / s / 1e9) of each, and ours / jax-js.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");

function parseArgs(argv) {
  const opts = { package: join(root, "target/npm/scalelab"), sizes: [256, 512, 1024], runs: 7 };
  const list = (s) =>
    s.split(",").map((x) => {
      const v = Number(x);
      if (!Number.isInteger(v) || v < 1) throw new Error(`bad number: ${x}`);
      return v;
    });
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--package": opts.package = resolve(value()); break;
      case "--sizes": opts.sizes = list(value()); break;
      case "--runs": [opts.runs] = list(value()); break;
      default: throw new Error(`unknown argument ${argv[i]} (see the top of bench/jaxjs_matmul.mjs)`);
    }
  }
  if (opts.runs < 5) throw new Error("--runs must be at least 5");
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const log = (...a) => console.error(...a);

const { ComputeContext } = await import(pathToFileURL(join(opts.package, "index.js")).href);
// bench/jaxjs_deps/node_modules is not on this file's resolution path: the ES module entry by hand.
const jaxDir = join(here, "jaxjs_deps/node_modules/@jax-js/jax");
const jaxManifest = JSON.parse(await readFile(join(jaxDir, "package.json"), "utf8"));
const jax = await import(pathToFileURL(join(jaxDir, jaxManifest.exports["."].import)).href);
const jaxVersion = jaxManifest.version;
const { numpy: np } = jax;

await jax.init("wasm");
jax.defaultDevice("wasm");
const ctx = await ComputeContext.create({ backend: "cpu" });

let seed = 2024;
function random(len) {
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    out[i] = (seed / 2 ** 32) * 2 - 1;
  }
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Median seconds of `runs` calls of each of `fs` after two warm-ups each; the calls take turns
 * (one of each per round), so a change in the machine's load falls on all of them alike. */
async function time(fs, runs) {
  for (const f of fs) {
    await f();
    await f();
  }
  const ms = fs.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (const [i, f] of fs.entries()) {
      const t0 = performance.now();
      await f();
      ms[i].push(performance.now() - t0);
    }
  }
  return ms.map((m) => median(m) / 1e3);
}

// ---- correctness first: both against an f64 triple loop ----
{
  const n = 64;
  const a = random(n * n);
  const b = random(n * n);
  const want = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < n; p++) acc += a[i * n + p] * b[p * n + j];
      want[i * n + j] = acc;
    }
  const ours = await ctx.matmul(a, b, n, n, n);
  const theirs = await np.matmul(np.array(a, { shape: [n, n] }), np.array(b, { shape: [n, n] })).data();
  for (const [name, got] of [["scalelab", ours], ["jax-js", theirs]]) {
    // γ_{n+1}·Σ|a||b| ≤ 65·2⁻²⁴·64 ≈ 2.5e-4 for |a|, |b| ≤ 1.
    const worst = Math.max(...want.map((w, i) => Math.abs(got[i] - w)));
    if (!(got.length === n * n && worst <= 2.5e-4)) throw new Error(`${name}: 64×64 product off by ${worst}`);
    log(`${name}: 64×64 product within ${worst.toExponential(2)} of the f64 loop`);
  }
}

const threads = typeof SharedArrayBuffer !== "undefined" && typeof Worker !== "undefined" ? "multi" : "single";
for (const n of opts.sizes) {
  const flops = 2 * n ** 3;
  const a = random(n * n);
  const b = random(n * n);
  log(`n = ${n}: scalelab and jax-js, ${opts.runs} rounds…`);
  const ja = np.array(a, { shape: [n, n] });
  const jb = np.array(b, { shape: [n, n] });
  const [ours, theirs, theirsEndToEnd] = await time(
    [
      () => ctx.matmul(a, b, n, n, n),
      async () => {
        const c = np.matmul(ja.ref, jb.ref);
        await c.blockUntilReady();
        c.dispose();
      },
      async () => {
        const c = np.matmul(np.array(a, { shape: [n, n] }), np.array(b, { shape: [n, n] }));
        await c.data();
      },
    ],
    opts.runs,
  );
  ja.dispose();
  jb.dispose();
  const gflops = (s) => Number((flops / s / 1e9).toFixed(3));
  console.log(
    JSON.stringify({
      n,
      scalelabGflops: gflops(ours),
      jaxjsGflops: gflops(theirs),
      jaxjsEndToEndGflops: gflops(theirsEndToEnd),
      ratio: Number((theirs / ours).toFixed(3)),
      runs: opts.runs,
      scalelabBackend: ctx.backend,
      jaxjs: jaxVersion,
      jaxjsThreads: threads,
      node: process.version,
    }),
  );
}
