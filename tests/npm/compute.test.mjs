// ComputeContext in Node: no WebGPU here, so "auto" runs on the CPU path (matmul in f32 on
// matrixmultiply, the other kernels the f64 oracles rounded to f32) and says why; results match
// numpy (tests/vectors/kernels.json, made by tests/vectors/kernels.py); bad input and a GPU-only
// request give typed errors.
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

// The CPU backend's matmul (matrixmultiply's f32 SGEMM) against a plain f64 triple loop written
// here, within the kernel's documented bound γ_{k+1}·(|op(A)|·|op(B)| + |bias|), γ_j = j·u/(1 − j·u),
// u = 2⁻²⁴ (the oracle tolerance of scalelab-gpu's workload::tolerance), at the verification sizes.
test("CPU matmul matches an f64 triple loop within the f32 bound at sizes 0, 1, 63, 64, 65, 512", async () => {
  const ctx = await ComputeContext.create({ backend: "cpu" });
  let seed = 12345;
  const random = (len) => {
    const out = new Float32Array(len);
    for (let i = 0; i < len; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      out[i] = (seed / 2 ** 32) * 4 - 2; // [−2, 2), rounded to f32
    }
    return out;
  };
  const u = 2 ** -24;
  const gamma = (j) => (j * u) / (1 - j * u);
  /** C, and the bound's scale |op(A)|·|op(B)| + |bias|, in f64. */
  const reference = (a, b, m, k, n, { transposeA = false, transposeB = false, bias, relu = false }) => {
    const c = new Float64Array(m * n);
    const scale = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        let abs = 0;
        for (let p = 0; p < k; p++) {
          const x = transposeA ? a[p * m + i] : a[i * k + p];
          const y = transposeB ? b[j * k + p] : b[p * n + j];
          acc += x * y;
          abs += Math.abs(x * y);
        }
        if (bias) {
          acc += bias[j];
          abs += Math.abs(bias[j]);
        }
        c[i * n + j] = relu ? Math.max(acc, 0) : acc;
        scale[i * n + j] = abs;
      }
    }
    return { c, scale };
  };
  const options = [{}, { transposeA: true }, { transposeB: true }, { transposeA: true, transposeB: true, relu: true }, { bias: true, relu: true }];
  const shapes = [0, 1, 63, 64, 65, 512].map((s) => [s, s, s]).concat([[65, 63, 1], [1, 512, 65], [7, 0, 5], [64, 3, 130]]);
  const bad = [];
  let checked = 0;
  for (const [m, k, n] of shapes) {
    for (const o of options) {
      const a = random(m * k);
      const b = random(k * n);
      const opts = { ...o, bias: o.bias ? random(n) : undefined };
      const got = await ctx.matmul(a, b, m, k, n, opts);
      const { c, scale } = reference(a, b, m, k, n, opts);
      assert.ok(got instanceof Float32Array);
      assert.equal(got.length, m * n);
      let worst = 0;
      got.forEach((g, i) => {
        worst = Math.max(worst, Math.abs(g - c[i]) / (gamma(k + 1) * scale[i]) || (g === c[i] ? 0 : Infinity));
      });
      if (!(worst <= 1)) bad.push(`${m}×${k}×${n} ${JSON.stringify(o)}: worst error / bound ${worst}`);
      checked += got.length;
    }
  }
  assert.deepEqual(bad, []);
  assert.ok(checked > 5 * 512 * 512);
});
