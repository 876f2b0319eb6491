// The Kernels lab in headless Chromium on WebGPU (SwiftShader): a run on GPU and CPU in the worker,
// checked against the f64 oracle under each kernel's documented error bound; the GFLOP/s sweep and its
// chart; the all-kernel check (132 checks); URL state and field errors; device loss → CPU fallback with
// a notice, and back to the GPU.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, openPage, shot } from "./harness.mjs";

let server, origin, browser;

before(async () => {
  ({ server, origin } = await serve());
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.close();
});

const idle = (page) =>
  page.waitForFunction(() => ["idle", "done", "failed", "cancelled"].includes(document.querySelector("#kernel-status")?.dataset.state),
    null, { timeout: 120_000 });

async function rows(page, table) {
  return page.$$eval(`#${table} tbody tr`, (trs) => trs.map((tr) => ({
    backend: tr.dataset.backend, size: Number(tr.dataset.size), passed: tr.dataset.passed === "true",
    gflops: Number(tr.querySelector('[data-col="gflops"]').textContent),
    ms: Number(tr.querySelector('[data-col="ms"]').textContent.replace("≈", "").trim()),
    ratio: Number(tr.querySelector('[data-col="ratio"]').textContent),
    abs: Number(tr.querySelector('[data-col="abs"]').textContent),
  })));
}

test("matmul 128 on GPU and CPU: both within the oracle's bound, timings positive", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(`${origin}/?lab=kernels&op=matmul&n=128&r=4`);
  await page.waitForSelector("#kernel-run:not([disabled])");
  assert.match(await page.textContent("#kernel-shape"), /128×128 · 128×128/);
  await page.click("#kernel-run");
  await page.waitForSelector("#kernel-results tbody tr");
  await idle(page);
  const r = await rows(page, "kernel-results");
  assert.deepEqual(r.map((x) => x.backend), ["gpu", "cpu"]);
  for (const x of r) {
    assert.ok(x.passed && x.ratio <= 1, JSON.stringify(x));
    assert.ok(x.gflops > 0 && x.ms > 0, JSON.stringify(x));
  }
  // The GPU's f32 sums differ from the f64 oracle; so do the CPU path's (matrixmultiply's f32 SGEMM).
  assert.ok(r[0].abs > 0 && r[0].abs < 1e-3, JSON.stringify(r[0]));
  assert.match(await page.textContent("#kernel-adapter"), /swiftshader/i);
  await shot(page, "kernels-run");
  assert.deepEqual(problems, []);
  await context.close();
});

test("URL state and field errors: op and n in the query, bad size shown by its field", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(`${origin}/?lab=kernels`);
  await page.waitForSelector("#kernel-op");
  await page.selectOption("#kernel-op", "stablemax-ce");
  await page.waitForFunction(() => location.search.includes("op=stablemax-ce"));
  await page.fill("#n", "5000");
  await page.waitForFunction(() => location.search.includes("n=5000"));
  assert.match(await page.textContent("#n-error"), /size n/);
  assert.match(await page.textContent("#n-error"), /2048/);
  assert.ok(await page.isDisabled("#kernel-run"));
  assert.equal(await page.inputValue("#n"), "5000"); // the user's text is kept
  await page.selectOption("#kernel-op", "matmul");
  await page.fill("#n", "abc");
  assert.match(await page.textContent("#n-error"), /“abc” is not a whole number; enter 1 to 2048/);
  await page.fill("#r", "1");
  assert.match(await page.textContent("#r-error"), /repeats/);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a shared link restores the Kernels view; an unknown kernel is named", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(`${origin}/?lab=kernels&op=log-softmax&n=33&r=5`);
  await page.waitForSelector("#kernel-op");
  assert.equal(await page.inputValue("#kernel-op"), "log-softmax");
  assert.equal(await page.inputValue("#n"), "33");
  assert.equal(await page.inputValue("#r"), "5");
  await page.waitForLoadState("networkidle");
  await page.goto(`${origin}/?lab=kernels&op=conv2d`);
  await page.waitForSelector("#op-error:not(:empty)");
  assert.match(await page.textContent("#op-error"), /“conv2d” is not a kernel/);
  assert.deepEqual(problems, []);
  await context.close();
});

test("sweep: GFLOP/s against size for GPU and CPU, drawn on the chart (not an empty frame before)", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(`${origin}/?lab=kernels&op=softmax&n=64&r=4`);
  await page.waitForSelector("#kernel-sweep:not([disabled])");
  // Before the sweep the chart says what to run instead of drawing axes.
  const pending = page.locator('[data-chart="kernel-chart"][data-pending="true"]');
  assert.match(await pending.textContent(), /Press “Sweep sizes up to n”/);
  assert.equal(await page.locator('[data-chart="kernel-chart"] svg').count(), 0);
  await page.click("#kernel-sweep");
  await page.waitForSelector("#kernel-sweep-table tbody tr");
  await idle(page);
  const r = await rows(page, "kernel-sweep-table");
  assert.deepEqual(r.map((x) => `${x.size}${x.backend}`), ["16gpu", "16cpu", "32gpu", "32cpu", "64gpu", "64cpu"]);
  assert.ok(r.every((x) => x.passed && x.gflops > 0), JSON.stringify(r));
  const chart = '[data-chart="kernel-chart"]';
  assert.equal(await page.locator(`${chart} .legend li`).count(), 2);
  assert.equal(await page.locator(`${chart} path[data-series]`).count(), 2);
  await shot(page, "kernels-sweep");
  assert.deepEqual(problems, []);
  await context.close();
});

test("every kernel passes its oracle check on WebGPU in the worker", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(`${origin}/?lab=kernels`);
  await page.waitForSelector("#kernel-verify:not([disabled])");
  await page.click("#kernel-verify");
  await page.waitForSelector("#kernel-check-summary", { timeout: 180_000 });
  const summary = page.locator("#kernel-check-summary");
  assert.equal(await summary.getAttribute("data-total"), "132");
  assert.equal(await summary.getAttribute("data-passed"), "132", await page.textContent("#kernel-checks"));
  assert.equal(await page.locator('#kernel-checks td[data-passed="false"]').count(), 0);
  await shot(page, "kernels-check");
  assert.deepEqual(problems, []);
  await context.close();
});

test("device loss: the CPU answers with a notice; “Use the GPU again” opens a new device", async () => {
  const { page, context, problems } = await openPage(browser, origin);
  await page.goto(`${origin}/?lab=kernels&op=relu&n=65&r=3`);
  await page.waitForSelector("#kernel-run:not([disabled])");
  await page.click("#kernel-run");
  await page.waitForSelector("#kernel-results tbody tr");
  await idle(page);
  assert.deepEqual((await rows(page, "kernel-results")).map((x) => x.backend), ["gpu", "cpu"]);

  await page.click("#kernel-lose-device");
  await page.waitForFunction(() => document.querySelector("#kernel-loss-note")?.textContent.includes("destroyed"));
  await page.click("#kernel-run");
  await page.waitForSelector("#kernel-notice");
  await idle(page);
  assert.match(await page.textContent("#kernel-notice"), /GPU device was lost/);
  const fallback = await rows(page, "kernel-results");
  assert.deepEqual(fallback.map((x) => x.backend), ["cpu", "cpu"]);
  assert.ok(fallback.every((x) => x.passed));
  await shot(page, "kernels-device-lost");

  await page.click("#kernel-retry-gpu");
  await page.waitForFunction(() => !document.querySelector("#kernel-notice"));
  await page.waitForFunction(() => document.querySelector('#kernel-results tbody tr')?.dataset.backend === "gpu", null, { timeout: 60_000 });
  await idle(page);
  assert.ok((await rows(page, "kernel-results")).every((x) => x.passed));
  assert.deepEqual(problems, []);
  await context.close();
});

test("360 px wide: results and the check table scroll inside their boxes, not the page", async () => {
  const { page, context, problems } = await openPage(browser, origin, { width: 360, height: 800 }, "dark");
  await page.goto(`${origin}/?lab=kernels&op=matmul-bias-relu&n=64&r=3`);
  await page.waitForSelector("#kernel-run:not([disabled])");
  await page.click("#kernel-run");
  await page.waitForSelector("#kernel-results tbody tr");
  await idle(page);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), "no horizontal overflow at 360 px");
  // A 64³ product on the CPU takes ~0.1 ms, the browser clock's resolution: it is timed in batches,
  // so its rate is physical (one wasm thread does well under 100 GFLOP/s), never "0 ms".
  const cpu = (await rows(page, "kernel-results")).find((x) => x.backend === "cpu");
  assert.ok(cpu.ms > 0 && cpu.gflops > 0 && cpu.gflops < 100, JSON.stringify(cpu));
  await shot(page, "kernels-360-dark");
  assert.deepEqual(problems, []);
  await context.close();
});
