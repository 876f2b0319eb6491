// Tests of the packed `scalelab` npm package in Node, imported by name as a user would.
// Expected values: science.md §7 items 1–4 (Prieto et al. 2025 reference code, recomputed with numpy)
// and numpy's softmax; the collapse thresholds are the logger procedure's (science.md §1.3).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as scalelab from "scalelab";

const close = (actual, expected, tol = 1e-12) => {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])), `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
};

test("s(x) at the reference points", () => {
  assert.deepEqual([-1, -3, 0, 2].map(scalelab.s), [0.5, 0.25, 1, 3]);
});

test("StableMax reference vectors, from arrays and typed arrays", () => {
  const a = scalelab.stablemax([0, 1, 2]);
  assert.ok(a instanceof Float64Array);
  close(a, [1 / 6, 1 / 3, 1 / 2]);
  close(scalelab.stablemax(new Float64Array([5, -5, 0])), [36 / 43, 1 / 43, 6 / 43]);
  close(scalelab.stablemax([-1, 0, 1]), [1 / 7, 2 / 7, 4 / 7]);
  assert.ok(Math.abs(scalelab.stablemaxCrossEntropy([0, 1, 2], 0) - 1.791759469228055) < 1e-12);
  assert.ok(Math.abs(scalelab.stablemaxCrossEntropy([5, -5, 0], 0) - 0.1776811772) < 1e-9);
});

test("softmax matches numpy", () => {
  close(scalelab.softmax([0, 1, 2]), [0.0900305732, 0.2447284711, 0.6652409558], 1e-9);
  close(scalelab.logSoftmax([0, 1, 2]).map(Math.exp), [0.0900305732, 0.2447284711, 0.6652409558], 1e-9);
});

test("Softmax Collapse sets in between the published thresholds", () => {
  for (const [p, below, above] of [["f32", 16.5, 16.7], ["f64", 36.7, 36.8], ["f16", 7.5, 7.7]]) {
    assert.equal(scalelab.isCollapsed([below, 0], p), false, `${p} at ${below}`);
    assert.equal(scalelab.isCollapsed([above, 0], p), true, `${p} at ${above}`);
    const onset = scalelab.collapseOnsetScale([1, 0], p, 1, 1000);
    assert.ok(onset > below && onset < above, `${p}: ${onset}`);
  }
  assert.equal(scalelab.collapseOnsetScale([1, 1], "f32", 1, 1000), undefined);
});

test("evaluate returns a typed plain object", () => {
  const e = scalelab.evaluate([20, 0], 0, 1, "softmax", "f32");
  assert.deepEqual(Object.keys(e).sort(), ["collapsed", "grad", "loss", "probs", "sumExp"]);
  assert.equal(e.collapsed, true);
  assert.equal(e.sumExp, 1);
  assert.equal(e.grad[0], 0);
  const st = scalelab.evaluate([20, 0], 0, 1, "stablemax", "f64");
  close(st.probs, [21 / 22, 1 / 22]);
});

test("errors are Errors with a stable name and a useful message", () => {
  const cases = [
    [() => scalelab.stablemax([]), "EmptyInput", /empty/],
    [() => scalelab.stablemax([1, NaN]), "NonFinite", /index 1/],
    [() => scalelab.softmaxCrossEntropy([1, 2], 5), "IndexOutOfRange", /5/],
    [() => scalelab.evaluate([1, 2], 0, -1, "softmax", "f32"), "OutOfRange", /scale/],
    [() => scalelab.evaluate([1, 2], 0, 1, "softmax", "f8"), "InvalidValue", /f8/],
    [() => scalelab.evaluate([1, 2], 0, 1, "sparsemax", "f32"), "InvalidValue", /sparsemax/],
    [() => scalelab.parseNumbers("1, two"), "NotANumber", /two/],
    [() => scalelab.softmaxCollapseFraction([1, 2, 3], 2, "f32"), "DimensionMismatch", /multiple of n_cols/],
  ];
  for (const [fn, name, message] of cases) {
    assert.throws(fn, (err) => err instanceof Error && err.name === name && message.test(err.message), name);
  }
  // The module keeps working after errors.
  close(scalelab.stablemax([0, 1, 2]), [1 / 6, 1 / 3, 1 / 2]);
});
