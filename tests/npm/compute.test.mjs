// ComputeContext in Node: no WebGPU here, so "auto" runs on the CPU path (the f64 oracles rounded to
// f32) and says why; results match numpy (tests/vectors/kernels.json, made by tests/vectors/kernels.py);
// bad input and a GPU-only request give typed errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { ComputeContext, kernelOps } from "scalelab";
import { runCases, failures } from "./compute_cases.mjs";

const vectors = JSON.parse(await readFile(new URL("../vectors/kernels.json", import.meta.url), "utf8"));

const rejects = async (promise, name, pattern) => {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Error);
    assert.equal(e.name, name, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
};

test("auto falls back to the CPU in Node and says why", async () => {
  const ctx = await ComputeContext.create();
  assert.equal(ctx.backend, "cpu");
  assert.equal(ctx.adapter, "CPU");
  assert.match(ctx.fallbackReason, /navigator\.gpu is missing/);
  const cpu = await ComputeContext.create({ backend: "cpu" });
  assert.equal(cpu.backend, "cpu");
  assert.match(cpu.fallbackReason, /requested/);
});

test("every kernel matches numpy on the CPU path", async () => {
  const ctx = await ComputeContext.create({ backend: "cpu" });
  const results = await runCases(ctx, vectors);
  assert.equal(results.length, 17);
  assert.deepEqual(failures(results), []);
  const c = await ctx.matmul(new Float32Array([1, 2, 3, 4, 5, 6]), new Float32Array([1, 0, 0, 1, 1, -1]), 2, 3, 2);
  assert.ok(c instanceof Float32Array);
  assert.deepEqual(Array.from(c), [4, -1, 10, -1]); // by hand
});

test("typed errors: GPU-only request, bad shapes, bad values, bad names", async () => {
  await rejects(ComputeContext.create({ backend: "gpu" }), "NoAdapter", /navigator\.gpu is missing/);
  await rejects(ComputeContext.create({ backend: "tpu" }), "InvalidInput", /"tpu" is not/);
  const ctx = await ComputeContext.create();
  await rejects(ctx.matmul(new Float32Array(3), new Float32Array(4), 2, 2, 2), "InvalidInput", /a/);
  await rejects(ctx.softmaxRows(new Float32Array(7), 3), "InvalidInput", /not a multiple of cols = 3/);
  await rejects(ctx.softmaxRows(new Float32Array([0, NaN]), 2), "InvalidInput", /NaN/);
  await rejects(ctx.reduceRows(new Float32Array(4), 2, "median"), "InvalidInput", /"median"/);
  await rejects(ctx.reduceAll(new Float32Array(0), "sum"), "InvalidInput", /empty/);
  await rejects(ctx.crossEntropyRows(new Float32Array(4), 2, new Uint32Array([0, 5]), "softmax"), "InvalidInput");
  await rejects(ctx.crossEntropyRows(new Float32Array(4), 2, new Uint32Array([0, 1]), "sparsemax"), "InvalidInput", /sparsemax/);
  await rejects(ctx.timeKernel("conv2d", 8), "InvalidInput", /not a kernel/);
  await rejects(ctx.verifyKernels(), "NoAdapter", /runs on the CPU/);
});

test("timeKernel on the CPU reports positive time and GFLOP/s = 2n³ / seconds", async () => {
  const ctx = await ComputeContext.create({ backend: "cpu" });
  const t = await ctx.timeKernel("matmul", 32);
  assert.equal(t.backend, "cpu");
  assert.ok(t.seconds > 0);
  assert.ok(Math.abs(t.gflops - (2 * 32 ** 3) / t.seconds / 1e9) <= 1e-9 * t.gflops);
  const ops = kernelOps();
  assert.equal(ops.length, 22);
  assert.ok(ops.some((o) => o.key === "matmul-bias-relu"));
});
