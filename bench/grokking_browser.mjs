// The grokking MLP's full-batch training step in headless Chromium: Scalelab's `Trainer` (wasm, CPU,
// f32, and its WebGPU path) against the same step written with jax-js on its Wasm and WebGPU devices; and Scalelab's
// ComputeContext CPU matmul against jax-js's Wasm matmul in the same browser.
//
//   npm ci --prefix bench/jaxjs_deps && node bench/grokking_browser.mjs
//     [--package DIR]        built npm package (default target/npm/scalelab, from the repo root)
//     [--steps 20] [--warmup 3]   timed training steps (median) after warm-up steps
//     [--sizes 256,512,1024] [--runs 7]   CPU matmul sizes and timed rounds (median; ≥ 5)
//     [--no-jit]             run jax-js's step eagerly instead of jit-compiled
//     [--skip-webgpu] [--skip-single]   leave out jax-js WebGPU / the single-threaded jax-js Wasm page
//     [--json FILE] [--timeout SECONDS] (default 1800)
//
// The step: inputs one-hot 5107 × 226 (40 % of the pairs (a, b), p = 113), 226 → 200 → 200 → 113
// without biases, ReLU, mean softmax cross-entropy, AdamW (lr 0.01, β 0.9/0.99, ε 1e-25), f32.
// Scalelab: `new Trainer({ evalEvery: 1e6 })` (every other key the default, i.e. that setup),
// time of `trainer.step(1)` (synchronous, page main thread; it also computes the epoch's metrics).
// jax-js: `jit` of valueAndGrad(loss) + AdamW by hand (bench/grokking_browser/jax_step.js), the same
// split and initial weights (the Trainer's, as f32), inputs resident, each step timed up to
// `blockUntilReady` of the loss, weights and moments. Check: the first step's loss ≈ ln 113.
// Scalelab never forms the one-hot input (its first layer adds two columns of W1, the gradient
// scatters into them); each jax-js row is run twice: the one-hot matmul as specified, and
// "first layer gathered" (np.take of W1's rows, the same arithmetic as Scalelab's).
// jax-js's Wasm device runs multi-threaded in this cross-origin-isolated page (one worker per
// navigator.hardwareConcurrency); a second page (`?threads=1`) repeats its rows single-threaded.
// Matmul: as bench/jaxjs_matmul.mjs (median of rounds, ours the whole `await ctx.matmul` call,
// jax-js with resident inputs and `blockUntilReady`). JSON lines and markdown tables on stdout.
import { CHROMIUM_ARGS, serve } from "./browser_server.mjs";
import { readFile, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve, dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const pageDir = join(here, "grokking_browser");
const jaxDir = join(here, "jaxjs_deps/node_modules/@jax-js/jax");
const { chromium } = createRequire(join(root, "package.json"))("playwright-core");


function parseArgs(argv) {
  const opts = { package: join(root, "target/npm/scalelab"), steps: 20, warmup: 3, sizes: [256, 512, 1024], runs: 7,
                 jit: true, webgpu: true, single: true, json: null, timeout: 1800 };
  const int = (x, min) => { const v = Number(x); if (!Number.isInteger(v) || v < min) throw new Error(`bad number: ${x} (≥ ${min})`); return v; };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => { const v = inline ?? argv[++i]; if (v === undefined) throw new Error(`${flag} needs a value`); return v; };
    switch (flag) {
      case "--package": opts.package = resolve(value()); break;
      case "--steps": opts.steps = int(value(), 1); break;
      case "--warmup": opts.warmup = int(value(), 1); break;
      case "--sizes": opts.sizes = value().split(",").map((x) => int(x, 1)); break;
      case "--runs": opts.runs = int(value(), 5); break;
      case "--no-jit": opts.jit = false; break;
      case "--skip-webgpu": opts.webgpu = false; break;
      case "--skip-single": opts.single = false; break;
      case "--json": opts.json = resolve(value()); break;
      case "--timeout": opts.timeout = Number(value()); break;
      default: throw new Error(`unknown argument ${argv[i]} (see the top of bench/grokking_browser.mjs)`);
    }
  }
  if (!(opts.timeout > 0)) throw new Error("--timeout must be a positive number of seconds");
  return opts;
}

// ---- the static server (bench/browser_server.mjs): this page at /, the package at /scalelab/, jax-js at /jax/ ----

const log = (...a) => console.error("[grokking_browser]", ...a);
const LN_P = Math.log(113);

/** A page of the benchmark, failing on any console error, page error or request off 127.0.0.1. */
async function openPage(browser, origin, query) {
  const page = await browser.newPage();
  const problems = [], warnings = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    else if (m.type() === "warning") warnings.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    const u = r.url();
    if (!(u.startsWith(origin + "/") || u.startsWith("data:") || u.startsWith("blob:"))) problems.push(`request outside 127.0.0.1: ${u}`);
  });
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  const check = () => {
    if (problems.length) throw new Error(`the page reported problems:\n  ${problems.join("\n  ")}` +
      (warnings.length ? `\nconsole warnings:\n  ${warnings.join("\n  ")}` : ""));
  };
  const call = async (fn, ...args) => {
    const out = await page.evaluate(([fn, args]) => window.bench[fn](...args), [fn, args]);
    check();
    return out;
  };
  await page.goto(`${origin}/page.html${query}`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  check();
  return { page, call, warnings };
}

function checkLoss(name, loss) {
  if (!(Math.abs(loss - LN_P) < 0.05)) throw new Error(`${name}: first step's loss ${loss} is not ≈ ln 113 = ${LN_P.toFixed(4)}`);
}

async function main(opts, state) {
  for (const f of ["index.js", "scalelab.js", "scalelab_bg.wasm", "package.json"]) {
    await readFile(join(opts.package, f)).catch(() => { throw new Error(`package file missing: ${join(opts.package, f)} (build it, or pass --package DIR)`); });
  }
  const jaxManifest = join(jaxDir, "package.json");
  const jaxVersion = JSON.parse(await readFile(jaxManifest, "utf8").catch(() => { throw new Error(`${jaxManifest} missing: run \`npm ci --prefix bench/jaxjs_deps\``); })).version;
  const { server, origin } = await serve(pageDir, opts.package);
  state.server = server;
  state.browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
  const env = { chromium: state.browser.version(), jaxjs: jaxVersion, hostCpus: cpus().length, loadavgBefore: loadavg().map((x) => +x.toFixed(2)) };
  const lines = [];
  const emit = (obj) => { const line = { ...obj, jaxjs: jaxVersion, chromium: env.chromium }; lines.push(line); console.log(JSON.stringify(line)); };

  // ---- page 1: jax-js Wasm with its worker pool, WebGPU, Scalelab ----
  const main = await openPage(state.browser, origin, "");
  const info = await main.call("init", opts.webgpu ? ["wasm", "webgpu"] : ["wasm"]);
  if (!info.devices.includes("wasm")) throw new Error(`jax-js did not start its wasm backend (init → ${JSON.stringify(info.devices)})`);
  if (opts.webgpu && !info.devices.includes("webgpu")) throw new Error(`jax-js did not start its webgpu backend (init → ${JSON.stringify(info.devices)})`);
  Object.assign(env, { crossOriginIsolated: info.crossOriginIsolated, hardwareConcurrency: info.hardwareConcurrency,
                       jaxWasmThreads: info.jaxWasmThreads, adapter: info.adapter });
  log(`jax-js ${jaxVersion}: devices ${info.devices.join(", ")}; wasm threads ${info.jaxWasmThreads}; isolated ${info.crossOriginIsolated}`);

  // CPU matmul.
  const mc = await main.call("matmulCheck");
  log(`64×64 check: ours (${mc.backend}) ${mc.ours.toExponential(2)}, jax-js wasm ${mc.jax.toExponential(2)}`);
  if (mc.backend !== "cpu") throw new Error(`ComputeContext backend is ${mc.backend}, not cpu`);
  for (const [k, d] of [["scalelab", mc.ours], ["jax-js", mc.jax]]) if (!(d <= 2.5e-4)) throw new Error(`${k}: 64×64 product off by ${d}`);
  const matmul = [];
  const gf = (n, s) => +((2 * n ** 3) / s / 1e9).toFixed(3);
  const matmulRow = (r, threads) => {
    const row = { kind: "matmul", n: r.n, runs: r.runs, scalelabBackend: r.oursBackend, scalelabGflops: gf(r.n, r.ours),
                  jaxjsDevice: r.jaxDevice, jaxjsThreads: threads, jaxjsGflops: gf(r.n, r.jax), jaxjsEndToEndGflops: gf(r.n, r.jaxEndToEnd),
                  ratio: +(r.jax / r.ours).toFixed(3) };
    matmul.push(row);
    emit(row);
  };
  for (const n of opts.sizes) { log(`matmul n = ${n}…`); matmulRow(await main.call("matmulTime", n, opts.runs), info.jaxWasmThreads); }

  // Training step.
  const steps = [];
  log(`scalelab Trainer: ${opts.warmup} + ${opts.steps} steps…`);
  const ours = await main.call("oursTrain", opts.warmup, opts.steps);
  checkLoss("scalelab", ours.firstLoss);
  const oursRow = { kind: "step", impl: "scalelab", backend: "wasm-cpu-f32", threads: 1, seconds: ours.seconds, firstLoss: ours.firstLoss,
                    lastLoss: ours.losses.at(-1), steps: opts.steps, warmup: opts.warmup, trainRows: ours.trainRows, trainFlops: ours.cost.trainFlops };
  steps.push(oursRow); emit(oursRow);
  let oursGpuSeconds = null;
  if (opts.webgpu) {
    log(`scalelab Trainer on WebGPU: ${opts.warmup} + ${opts.steps} steps…`);
    const g = await main.call("oursTrainGpu", opts.warmup, opts.steps);
    checkLoss("scalelab webgpu", g.firstLoss);
    oursGpuSeconds = g.seconds;
    const row = { kind: "step", impl: "scalelab", backend: "webgpu", threads: null, seconds: g.seconds, firstLoss: g.firstLoss,
                  lastLoss: g.losses.at(-1), steps: opts.steps, warmup: opts.warmup, trainRows: ours.trainRows };
    steps.push(row); emit(row);
  }
  const jaxStep = async (pg, device, threads, gather, oursSeconds, page) => {
    const name = `jax-js ${device}${device === "wasm" ? ` (${threads} thread${threads > 1 ? "s" : ""})` : ""}${gather ? ", first layer gathered" : ""}`;
    log(`${name}: ${opts.warmup} + ${opts.steps} steps…`);
    const r = await pg.call("jaxTrain", device, opts.warmup, opts.steps, opts.jit, gather);
    checkLoss(name, r.firstLoss);
    const row = { kind: "step", impl: "jax-js", backend: device, threads: device === "wasm" ? threads : null, firstLayer: gather ? "gather" : "one-hot matmul",
                  jit: r.jit, seconds: r.seconds, firstLoss: r.firstLoss, lastLoss: r.losses.at(-1), steps: opts.steps, warmup: opts.warmup,
                  trainRows: r.trainRows, ratio: +(r.seconds / oursSeconds).toFixed(3), ...(page ? { page } : {}) };
    steps.push(row); emit(row);
  };
  for (const gather of [false, true]) await jaxStep(main, "wasm", info.jaxWasmThreads, gather, ours.seconds);
  // jax-js WebGPU against Scalelab's WebGPU step (the GPU paths side by side).
  if (opts.webgpu) for (const gather of [false, true]) await jaxStep(main, "webgpu", null, gather, oursGpuSeconds);
  const warnings = [...main.warnings];
  await main.page.close();

  // ---- page 2: jax-js Wasm single-threaded (Worker hidden before jax-js loads) ----
  if (opts.single && info.jaxWasmThreads > 1) {
    const one = await openPage(state.browser, origin, "?threads=1");
    const i1 = await one.call("init", ["wasm"]);
    if (i1.jaxWasmThreads !== 1) throw new Error("the single-threaded page still has workers");
    // Its own Scalelab run supplies the split and the initial weights (and a second Scalelab figure).
    log(`single-threaded page: scalelab Trainer again…`);
    const ours1 = await one.call("oursTrain", opts.warmup, opts.steps);
    const row1 = { ...oursRow, seconds: ours1.seconds, page: "threads=1" };
    steps.push(row1); emit(row1);
    await one.call("matmulCheck");
    for (const n of opts.sizes) { log(`matmul n = ${n} (jax-js 1 thread)…`); matmulRow(await one.call("matmulTime", n, opts.runs), 1); }
    for (const gather of [false, true]) await jaxStep(one, "wasm", 1, gather, ours1.seconds, "threads=1");
    warnings.push(...one.warnings);
    await one.page.close();
  }
  env.loadavgAfter = loadavg().map((x) => +x.toFixed(2));
  return { date: new Date().toISOString(), command: ["node", relative(process.cwd(), fileURLToPath(import.meta.url)), ...process.argv.slice(2)].join(" "),
           env, matmul, steps, warnings };
}

function tables(r) {
  const f = (x, d = 2) => x.toFixed(d);
  const label = (s) => (s.impl === "scalelab" ? (s.backend === "webgpu" ? `Scalelab WebGPU (${r.env.adapter?.architecture ?? "?"})` : "Scalelab (wasm CPU f32, 1 thread)")
    : s.backend === "webgpu" ? `jax-js WebGPU (${r.env.adapter?.architecture ?? "?"})` : `jax-js Wasm (${s.threads} thread${s.threads > 1 ? "s" : ""})`) +
    (s.firstLayer === "gather" ? ", first layer gathered" : "") + (s.page ? " [threads=1 page]" : "");
  return [
    "Training step (full batch, 5107 rows; median s/step):",
    "",
    "| implementation | s / step | first loss | jax-js / Scalelab (same page; WebGPU rows against Scalelab WebGPU) |",
    "|---|---:|---:|---:|",
    ...r.steps.map((s) => `| ${label(s)} | ${f(s.seconds, 4)} | ${f(s.firstLoss, 4)} | ${s.ratio === undefined ? "—" : f(s.ratio)} |`),
    "",
    "CPU matmul n×n · n×n f32 (GFLOP/s, median):",
    "",
    "| n | Scalelab CPU | jax-js Wasm | threads | jax-js end-to-end | jax-js s / Scalelab s |",
    "|---:|---:|---:|---:|---:|---:|",
    ...r.matmul.map((m) => `| ${m.n} | ${f(m.scalelabGflops)} | ${f(m.jaxjsGflops)} | ${m.jaxjsThreads} | ${f(m.jaxjsEndToEndGflops)} | ${f(m.ratio)} |`),
    "",
    `- @jax-js/jax ${r.env.jaxjs}; jit: ${r.steps.filter((s) => s.impl === "jax-js").every((s) => s.jit)}; Chromium ${r.env.chromium}; ` +
      `cross-origin isolated: ${r.env.crossOriginIsolated}; hardwareConcurrency ${r.env.hardwareConcurrency}`,
    `- WebGPU adapter: ${r.env.adapter ? `${r.env.adapter.vendor} / ${r.env.adapter.architecture} (fallback: ${r.env.adapter.isFallbackAdapter})` : "not used"}`,
    `- Load average before/after: ${r.env.loadavgBefore.join(" ")} / ${r.env.loadavgAfter.join(" ")} (${r.env.hostCpus} CPUs)`,
    `- Date: ${r.date}; command: \`${r.command}\``,
  ].join("\n");
}

const state = {};
let timer, code = 0;
try {
  const opts = parseArgs(process.argv.slice(2));
  const timeout = new Promise((_, fail) => { timer = setTimeout(() => fail(new Error(`timed out after ${opts.timeout} s`)), opts.timeout * 1000); });
  const result = await Promise.race([main(opts, state), timeout]);
  console.log("\n" + tables(result));
  if (opts.json) { await writeFile(opts.json, JSON.stringify(result, null, 2) + "\n"); log(`raw numbers written to ${opts.json}`); }
} catch (e) {
  console.error(`grokking_browser: FAILED: ${e.message}`);
  code = 1;
} finally {
  clearTimeout(timer);
  await state.browser?.close().catch(() => {});
  state.server?.close();
}
process.exit(code);
