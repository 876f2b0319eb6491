// The packed npm package's ComputeContext in headless Chromium on WebGPU (SwiftShader): the numpy
// cases of tests/vectors/kernels.json (made by tests/vectors/kernels.py) on the GPU, every kernel at
// sizes 0, 1, 63, 64, 65 and 512 against its f64 oracle (verifyKernels), and device loss → CPU
// fallback ("auto") or a typed DeviceLost error ("gpu").
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { serve, launch, openPage, root } from "./harness.mjs";
import { failures } from "../npm/compute_cases.mjs";

const pkg = "/target/npm/scalelab/index.js";
let server, origin, browser, page, problems;

before(async () => {
  assert.ok(existsSync(join(root, pkg)), "build the npm package first (cargo xtask test does)");
  ({ server, origin } = await serve(root));
  browser = await launch();
  ({ page, problems } = await openPage(browser, origin));
  await page.goto(`${origin}/tests/browser/blank.html`);
});

after(async () => {
  await browser?.close();
  server?.close();
});

test("numpy cases on WebGPU", async () => {
  const { backend, adapter, results } = await page.evaluate(async (pkg) => {
    const { ComputeContext } = await import(pkg);
    const { runCases } = await import("/tests/npm/compute_cases.mjs");
    const vectors = await (await fetch("/tests/vectors/kernels.json")).json();
    const ctx = await ComputeContext.create({ backend: "gpu" });
    return { backend: ctx.backend, adapter: ctx.adapter, results: await runCases(ctx, vectors) };
  }, pkg);
  assert.equal(backend, "webgpu");
  assert.match(adapter, /swiftshader/i);
  assert.equal(results.length, 17);
  assert.deepEqual(failures(results), []);
  assert.deepEqual(problems, []);
});

test("every kernel passes its oracle check on WebGPU (132 checks)", async () => {
  const checks = await page.evaluate(async (pkg) => {
    const { ComputeContext } = await import(pkg);
    const ctx = await ComputeContext.create({ backend: "gpu" });
    return ctx.verifyKernels();
  }, pkg);
  assert.equal(checks.length, 22 * 6);
  const failed = checks.filter((c) => !c.passed);
  assert.deepEqual(failed, []);
  // Every kernel ran at 512 and produced a finite comparison.
  for (const c of checks.filter((c) => c.size === 512)) {
    assert.ok(Number.isFinite(c.maxAbsErr) && c.worstRatio <= 1, JSON.stringify(c));
  }
  const empty = checks.find((c) => c.op === "sum-all" && c.size === 0);
  assert.match(empty.error, /^InvalidInput/);
  assert.deepEqual(problems, []);
});

test("device loss: auto falls back to the CPU, gpu gives DeviceLost", async () => {
  const out = await page.evaluate(async (pkg) => {
    const { ComputeContext } = await import(pkg);
    const x = new Float32Array([0, Math.log(3)]);
    const auto = await ComputeContext.create();
    const before = auto.backend;
    auto.loseDevice();
    const p = Array.from(await auto.softmaxRows(x, 2));
    const strict = await ComputeContext.create({ backend: "gpu" });
    strict.loseDevice();
    let name = null;
    try { await strict.softmaxRows(x, 2); } catch (e) { name = e.name; }
    return { before, after: auto.backend, reason: auto.fallbackReason, p, name };
  }, pkg);
  assert.equal(out.before, "webgpu");
  assert.equal(out.after, "cpu");
  assert.match(out.reason, /device was lost/);
  assert.ok(Math.abs(out.p[0] - 0.25) < 1e-6 && Math.abs(out.p[1] - 0.75) < 1e-6, String(out.p));
  assert.equal(out.name, "DeviceLost");
});

test("sizes beyond the device limits are refused before dispatch with TooLarge", async () => {
  const out = await page.evaluate(async (pkg) => {
    const { ComputeContext } = await import(pkg);
    const ctx = await ComputeContext.create({ backend: "gpu" });
    const v = new Float32Array(70000);
    try { await ctx.matmul(v, v, 70000, 1, 70000); return null; } catch (e) { return { name: e.name, message: e.message, backend: ctx.backend }; }
  }, pkg);
  // 70000² f32 outputs = 19.6 GB, far beyond any maxStorageBufferBindingSize.
  assert.equal(out.name, "TooLarge");
  assert.match(out.message, /c bytes is too large for this GPU: 19600000000 requested/);
  assert.equal(out.backend, "webgpu");
  assert.deepEqual(problems, []);
});

test("Trainer on WebGPU: 20 epochs follow the CPU path; Busy while stepping; a lost device continues on the CPU", async () => {
  const out = await page.evaluate(async (pkg) => {
    const { ComputeContext, Trainer } = await import(pkg);
    const config = { p: 23, hidden: [32, 32], evalEvery: 5 };
    const ctx = await ComputeContext.create();
    const gpu = new Trainer(config);
    const backend = await gpu.useGpu(ctx);
    const cpu = new Trainer(config);
    let syncError = null;
    try { gpu.step(1); } catch (e) { syncError = e.name; }
    const t0 = performance.now();
    const g = await gpu.stepAsync(20);
    const msPerEpoch = (performance.now() - t0) / 20;
    const c = cpu.step(20);
    const pending = gpu.stepAsync(1);
    let busy = null;
    try { gpu.tensors(); } catch (e) { busy = e.name; }
    await pending;
    cpu.step(1);
    ctx.loseDevice();
    const after = await gpu.stepAsync(2);
    const afterCpu = cpu.step(2);
    return {
      backend, syncError, g, c, msPerEpoch, busy, after, afterCpu,
      afterBackend: gpu.backend, reason: gpu.fallbackReason, n: cpu.split.train.length,
    };
  }, pkg);
  console.log(`Trainer on WebGPU (SwiftShader), p = 23, 226 → 32 → 32 → 23: ${out.msPerEpoch.toFixed(1)} ms/epoch`);
  assert.equal(out.backend, "webgpu");
  assert.equal(out.syncError, "InvalidValue");
  assert.equal(out.busy, "Busy");
  const close = (a, b, rel, abs, what) =>
    assert.ok(Math.abs(a - b) <= abs + rel * Math.abs(b), `${what}: GPU ${a}, CPU ${b}`);
  const agree = (gs, cs) => {
    assert.equal(gs.length, cs.length);
    gs.forEach((g, i) => {
      const c = cs[i];
      assert.equal(g.epoch, c.epoch);
      close(g.trainLoss, c.trainLoss, 1e-4, 1e-6, `epoch ${g.epoch} train loss`);
      close(g.trainAccuracy, c.trainAccuracy, 0, 2 / out.n, `epoch ${g.epoch} accuracy`);
      close(g.scFraction, c.scFraction, 0, 2 / out.n, `epoch ${g.epoch} SC`);
      g.weightNorms.forEach((w, k) => close(w, c.weightNorms[k], 1e-4, 0, `epoch ${g.epoch} ‖W${k + 1}‖`));
      assert.equal(g.test === null, c.test === null);
      if (g.test) close(g.test.loss, c.test.loss, 1e-4, 1e-6, `epoch ${g.epoch} test loss`);
    });
  };
  agree(out.g, out.c);
  assert.equal(out.afterBackend, "cpu");
  assert.match(out.reason, /device was lost.*continues on the CPU from epoch 21/);
  assert.deepEqual(out.after.map((m) => m.epoch), [22, 23]);
  agree(out.after, out.afterCpu);
  assert.deepEqual(problems, []);
});
