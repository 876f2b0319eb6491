// Side-by-side WebGPU matmul benchmark: Scalelab's ComputeContext.timeKernel("matmul") against
// TensorFlow.js's WebGPU backend and jax-js's WebGPU backend, in the same headless Chromium,
// square n×n · n×n f32.
//
//   npm ci --prefix bench/kernels && npm ci --prefix bench/jaxjs_deps && node bench/kernels/run.mjs
//     [--package DIR]        built npm package (default target/npm/scalelab, from the repo root)
//     [--sizes 256,512,1024] [--repeats 16,8,4]   R dispatches per timed call, one per size
//     [--json FILE]          also write the raw numbers as JSON
//     [--timeout SECONDS]    whole run (default 600)
//
// All three: per-dispatch time = (t(R) − t(1)) / (R − 1), t = best of 3 calls, so upload,
// read-back and launch latency cancel (jax-js: R lazy np.matmul calls, all submitted, one read-back). GFLOP/s = 2n³ / seconds / 1e9. Table on stdout, progress on stderr.
import { CHROMIUM_ARGS, serve } from "../browser_server.mjs";
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve, dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const { chromium } = createRequire(join(root, "package.json"))("playwright-core");


// ---- command line ----
function parseArgs(argv) {
  const opts = { package: join(root, "target/npm/scalelab"), sizes: [256, 512, 1024], repeats: [16, 8, 4],
                 json: null, timeout: 600 };
  const list = (s) => s.split(",").map((x) => { const v = Number(x); if (!Number.isInteger(v) || v < 1) throw new Error(`bad number: ${x}`); return v; });
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = () => { const v = inline ?? argv[++i]; if (v === undefined) throw new Error(`${flag} needs a value`); return v; };
    switch (flag) {
      case "--package": opts.package = resolve(value()); break;
      case "--sizes": opts.sizes = list(value()); break;
      case "--repeats": opts.repeats = list(value()); break;
      case "--json": opts.json = resolve(value()); break;
      case "--timeout": opts.timeout = Number(value()); break;
      default: throw new Error(`unknown argument ${argv[i]} (see the top of ${relative(process.cwd(), fileURLToPath(import.meta.url))})`);
    }
  }
  if (opts.repeats.length !== opts.sizes.length) throw new Error(`--repeats needs one value per size (${opts.sizes.join(",")})`);
  if (opts.repeats.some((r) => r < 2)) throw new Error("--repeats values must be ≥ 2");
  if (!(opts.timeout > 0)) throw new Error("--timeout must be a positive number of seconds");
  return opts;
}

// ---- the static server (bench/browser_server.mjs): this page at /, the package at /scalelab/, jax-js at /jax/ ----
const jaxDir = join(root, "bench/jaxjs_deps/node_modules/@jax-js/jax");

const log = (...a) => console.error("[bench]", ...a);
const gflops = (n, s) => (2 * n ** 3) / s / 1e9;

async function main(opts, state) {
  // Fail early with a clear message when something is not there.
  for (const f of ["index.js", "scalelab.js", "scalelab_bg.wasm"]) {
    await readFile(join(opts.package, f)).catch(() => { throw new Error(`package file missing: ${join(opts.package, f)} (build it, or pass --package DIR)`); });
  }
  const tfjsVersions = {};
  for (const p of ["tfjs-core", "tfjs-backend-webgpu"]) {
    const pj = join(here, "node_modules/@tensorflow", p, "package.json");
    tfjsVersions[p] = JSON.parse(await readFile(pj, "utf8").catch(() => { throw new Error(`${pj} missing: run \`npm ci --prefix bench/kernels\``); })).version;
  }
  const jaxManifest = join(jaxDir, "package.json");
  const jaxVersion = JSON.parse(await readFile(jaxManifest, "utf8").catch(() => { throw new Error(`${jaxManifest} missing: run \`npm ci --prefix bench/jaxjs_deps\``); })).version;

  const { server, origin } = await serve(here, opts.package);
  state.server = server;
  state.browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
  const browserVersion = state.browser.version();
  const page = await state.browser.newPage();

  // Anything that goes wrong in the page fails the run.
  const problems = [];
  const warnings = [];
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

  await page.goto(`${origin}/page.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  check();
  const isolated = await call("crossOriginIsolated");
  const pageAdapter = await call("adapterInfo");
  if (!pageAdapter) throw new Error("navigator.gpu.requestAdapter() returned no adapter (is WebGPU on in this Chromium?)");

  // Scalelab.
  const ours = await call("oursInit");
  log(`scalelab: backend ${ours.backend}, adapter ${ours.adapter}`);
  // TensorFlow.js: setBackend resolves false (with a console warning) when the backend fails to start.
  const tfjs = await call("tfjsInit");
  if (!tfjs.ok || tfjs.backend !== "webgpu") {
    throw new Error(`tfjs did not start its webgpu backend (setBackend → ${tfjs.ok}, getBackend() = ${tfjs.backend})` +
      (warnings.length ? `\nconsole warnings:\n  ${warnings.join("\n  ")}` : ""));
  }
  log(`tfjs ${tfjs.version}: backend ${tfjs.backend}, adapter ${JSON.stringify(tfjs.adapter)}`);
  // jax-js: init("webgpu") lists the backends that started; arrays go to defaultDevice("webgpu").
  const jax = await call("jaxInit");
  if (!jax.devices.includes("webgpu") || jax.device !== "webgpu") {
    throw new Error(`jax-js did not start its webgpu backend (init → ${JSON.stringify(jax.devices)}, defaultDevice() = ${jax.device})` +
      (warnings.length ? `\nconsole warnings:\n  ${warnings.join("\n  ")}` : ""));
  }
  log(`jax-js ${jaxVersion}: device ${jax.device}`);

  // Correctness against an f64 JS triple loop: 64 (tfjs's small-output program) and 256 (its
  // packed program, the one the timed sizes use); tolerance 1e-3 at 64, scaled with the inner size.
  const checks = [];
  for (const n of [64, 256]) {
    const tol = 1e-3 * (n / 64);
    const t = await call("tfjsCheck", n), o = await call("oursCheck", n), j = await call("jaxCheck", n);
    checks.push({ n, tolerance: tol, tfjsMaxAbsDiff: t, oursMaxAbsDiff: o, jaxMaxAbsDiff: j });
    log(`check ${n}×${n}: max |diff| tfjs ${t.toExponential(2)}, jax-js ${j.toExponential(2)}, ours ${o.toExponential(2)} (tolerance ${tol})`);
    if (!(t < tol)) throw new Error(`tfjs matmul ${n}×${n} differs from the CPU reference by ${t} (≥ ${tol})`);
    if (!(j < tol)) throw new Error(`jax-js matmul ${n}×${n} differs from the CPU reference by ${j} (≥ ${tol})`);
    if (!(o < tol)) throw new Error(`Scalelab matmul ${n}×${n} differs from the CPU reference by ${o} (≥ ${tol})`);
  }

  // Timings, alternating per size: ours n, tfjs n, jax-js n, ...
  const rows = [];
  for (const [i, n] of opts.sizes.entries()) {
    const R = opts.repeats[i];
    log(`n = ${n}, R = ${R}: scalelab…`);
    const o = await call("oursTime", n, R);
    if (o.backend !== "webgpu") throw new Error(`Scalelab timed matmul on ${o.backend}, not webgpu`);
    log(`n = ${n}, R = ${R}: tfjs…`);
    const t = await call("tfjsTime", n, R);
    if (t.backend !== "webgpu") throw new Error(`tfjs timed matmul on ${t.backend}, not webgpu`);
    log(`n = ${n}, R = ${R}: jax-js…`);
    const j = await call("jaxTime", n, R);
    if (j.device !== "webgpu") throw new Error(`jax-js timed matmul on ${j.device}, not webgpu`);
    const row = { n, repeats: R, ours: { ...o, gflopsComputed: gflops(n, o.seconds) }, tfjs: { ...t, gflops: gflops(n, t.seconds) },
                  jax: { ...j, gflops: gflops(n, j.seconds) } };
    row.ratio = row.ours.gflopsComputed / row.tfjs.gflops;
    row.ratioJax = row.ours.gflopsComputed / row.jax.gflops;
    rows.push(row);
    log(`n = ${n}: ours ${row.ours.gflopsComputed.toFixed(2)} GFLOP/s, tfjs ${row.tfjs.gflops.toFixed(2)} GFLOP/s, ` +
      `jax-js ${row.jax.gflops.toFixed(2)} GFLOP/s` +
      (t.fellBack ? " (tfjs: t(R) ≤ t(1), used t(R)/R)" : "") + (j.fellBack ? " (jax-js: t(R) ≤ t(1), used t(R)/R)" : ""));
  }
  check();

  return {
    date: new Date().toISOString(),
    command: ["node", relative(process.cwd(), fileURLToPath(import.meta.url)) || "run.mjs", ...process.argv.slice(2)]
      .map((a) => (/^[\w./=,:@+-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(" "),
    chromium: browserVersion, crossOriginIsolated: isolated, package: opts.package,
    oursAdapter: ours.adapter, tfjsAdapter: tfjs.adapter, pageAdapter, tfjsVersions, jaxVersion, checks, rows, warnings,
  };
}

function table(r) {
  const f = (x) => x.toFixed(2);
  return [
    "| n | ours GFLOP/s | tfjs-webgpu GFLOP/s | jax-js-webgpu GFLOP/s | ours / tfjs | ours / jax-js |",
    "|---:|---:|---:|---:|---:|---:|",
    ...r.rows.map((x) => `| ${x.n} | ${f(x.ours.gflopsComputed)} | ${f(x.tfjs.gflops)}${x.tfjs.fellBack ? "*" : ""} | ` +
      `${f(x.jax.gflops)}${x.jax.fellBack ? "*" : ""} | ${f(x.ratio)} | ${f(x.ratioJax)} |`),
    "",
    `- Repeats R per size: ${r.rows.map((x) => `${x.n}: ${x.repeats}`).join(", ")}; per dispatch = (t(R) − t(1)) / (R − 1), t = best of 3.` +
      (r.rows.some((x) => x.tfjs.fellBack || x.jax.fellBack) ? " *t(R) ≤ t(1): t(R)/R used." : ""),
    "- jax-js: R lazy `np.matmul` calls on resident inputs, all submitted (`blockUntilReady()`, a 0-byte read each), " +
      "then one read-back of the last with `data()`.",
    `- Adapter: ${r.oursAdapter} (tfjs: ${[r.tfjsAdapter.vendor, r.tfjsAdapter.architecture].filter(Boolean).join(" / ") || "?"}; ` +
      `fallback adapter: ${r.pageAdapter.isFallbackAdapter})`,
    `- Chromium ${r.chromium}; cross-origin isolated: ${r.crossOriginIsolated}`,
    `- tfjs-core ${r.tfjsVersions["tfjs-core"]}, tfjs-backend-webgpu ${r.tfjsVersions["tfjs-backend-webgpu"]}; @jax-js/jax ${r.jaxVersion} (webgpu device)`,
    `- Date: ${r.date}`,
    `- Command: \`${r.command}\``,
  ].join("\n");
}

const state = {};
let timer;
let code = 0;
try {
  const opts = parseArgs(process.argv.slice(2));
  const timeout = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out after ${opts.timeout} s`)), opts.timeout * 1000);
  });
  const result = await Promise.race([main(opts, state), timeout]);
  console.log(table(result));
  if (opts.json) {
    await writeFile(opts.json, JSON.stringify(result, null, 2) + "\n");
    log(`raw numbers written to ${opts.json}`);
  }
} catch (e) {
  console.error(`bench/kernels: FAILED: ${e.message}`);
  code = 1;
} finally {
  clearTimeout(timer);
  await state.browser?.close().catch(() => {});
  state.server?.close();
}
process.exit(code);
