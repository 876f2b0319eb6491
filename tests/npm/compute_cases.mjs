// The ComputeContext cases shared by the Node test (CPU path, tests/npm/compute.test.mjs) and the
// Chromium test (WebGPU, tests/browser/compute.test.mjs). Expected values: numpy, from
// tests/vectors/kernels.py (kernels.json). Runs in Node and in the page, so no Node imports here.

/** Runs every case on `ctx` and returns `{ name, got, want }` with plain number arrays. */
export async function runCases(ctx, v) {
  const f32 = (xs) => new Float32Array(xs);
  const out = [];
  const push = (name, got, want) => out.push({ name, got: Array.from(got), want: Array.from(want) });
  for (const c of v.matmul) {
    const options = { ...c.options };
    if (options.bias) options.bias = f32(options.bias);
    const got = await ctx.matmul(f32(c.a), f32(c.b), c.m, c.k, c.n, options);
    push(`matmul ${c.name}`, got, c.c);
  }
  const r = v.rows;
  push("softmaxRows", await ctx.softmaxRows(f32(r.data), r.cols), r.softmax);
  push("stablemaxRows", await ctx.stablemaxRows(f32(r.data), r.cols), r.stablemax);
  push("logSoftmaxRows", await ctx.logSoftmaxRows(f32(r.data), r.cols), r.logSoftmax);
  push("logStablemaxRows", await ctx.logStablemaxRows(f32(r.data), r.cols), r.logStablemax);
  for (const loss of ["softmax", "stablemax"]) {
    const ce = await ctx.crossEntropyRows(f32(r.data), r.cols, new Uint32Array(v.crossEntropy.labels), loss);
    push(`crossEntropyRows ${loss} loss`, ce.loss, v.crossEntropy[loss].loss);
    push(`crossEntropyRows ${loss} grad`, ce.grad, v.crossEntropy[loss].grad);
  }
  for (const op of ["sum", "max", "argmax", "mean"]) {
    push(`reduceRows ${op}`, await ctx.reduceRows(f32(r.data), r.cols, op), v.reduce[op]);
  }
  push("reduceAll sum", [await ctx.reduceAll(f32(r.data), "sum")], [v.reduce.sumAll]);
  return out;
}

/** Cases whose f32 result misses numpy's f64 value by more than 2e-5·(1 + |want|): a few f32
 * roundings (u = 6e-8) of values up to ~50; the matmul bound γ₆·Σ|a||b| ≤ 1.6e-5 at k = 5, |a|, |b| ≤ 3. */
export function failures(results) {
  const bad = [];
  for (const { name, got, want } of results) {
    if (got.length !== want.length) { bad.push(`${name}: length ${got.length} vs ${want.length}`); continue; }
    got.forEach((g, i) => {
      if (!(Math.abs(g - want[i]) <= 2e-5 * (1 + Math.abs(want[i])))) bad.push(`${name}[${i}]: ${g} vs ${want[i]}`);
    });
  }
  return bad;
}
