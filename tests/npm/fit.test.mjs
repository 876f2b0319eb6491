// Tests of the fitting exports of the packed `scalelab` package in Node.
// Expected values: science.md §7 items 15, 16, 20, 21 (Hoffmann et al. 2022, Epoch AI 2024, Step Law,
// Tissue et al. recomputed there), and exact recovery of published law constants from noise-free data.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as scalelab from "scalelab";

const rel = (a, b) => Math.abs(a - b) / Math.abs(b);

test("Chinchilla compute-optimal allocation (science.md §7 items 15 and 16)", () => {
  const h = scalelab.chinchillaAllocation(406.4, 410.7, 0.34, 0.28, 5.76e23);
  assert.ok(rel(h.g, 1.3447) < 1e-4, `G ${h.g}`);
  assert.ok(Math.abs(h.a - 0.4516) < 1e-4 && Math.abs(h.b - 0.5484) < 1e-4);
  assert.ok(rel(h.params, 3.219e10) < 1e-3 && rel(h.tokens, 2.982e12) < 1e-3, `${h.params} ${h.tokens}`);
  const e = scalelab.chinchillaAllocation(482.01, 2085.43, 0.3478, 0.3658, 5.76e23);
  assert.ok(Math.abs(e.a - 0.5126) < 1e-4);
  assert.ok(rel(e.params, 7.225e10) < 1e-3 && Math.abs(e.tokensPerParam - 18.39) < 0.01);
});

test("Step Law (science.md §7 item 20)", () => {
  const s = scalelab.stepLaw(1e9, 1e11);
  assert.ok(rel(s.lr, 1.6325e-3) < 1e-4 && rel(s.batchTokens, 1.1077e6) < 1e-4, JSON.stringify(s));
  const t = scalelab.stepLaw(1e8, 1e10);
  assert.ok(rel(t.lr, 4.1577e-3) < 1e-4 && rel(t.batchTokens, 2.9746e5) < 1e-4);
});

test("LR-schedule areas S1, S2 (science.md §7 item 21)", () => {
  const a = scalelab.lrScheduleAreas([1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5], 0.9);
  assert.deepEqual(a.s1.map((v) => +v.toFixed(10)), [1, 2, 3, 4, 5, 5.5, 6, 6.5, 7, 7.5]);
  const s2 = [0, 0, 0, 0, 0, 0.5, 0.95, 1.355, 1.7195, 2.04755];
  a.s2.forEach((v, i) => assert.ok(Math.abs(v - s2[i]) < 1e-12, `S2[${i}] = ${v}`));
});

test("fitScalingLaw recovers Hoffmann et al.'s published constants from noise-free runs", () => {
  const law = ([n, d]) => 1.69 + 406.4 / n ** 0.34 + 410.7 / d ** 0.28;
  const x = [];
  for (let i = 0; i < 6; i++) for (let j = 0; j < 5; j++) x.push([1e8 * 3 ** i, 2e9 * 3 ** j]);
  const out = scalelab.fitScalingLaw({ model: "chinchilla", x, y: x.map(law), residual: "log" });
  assert.equal(out.converged, true, out.termination);
  assert.deepEqual(out.names, ["E", "A", "B", "alpha", "beta"]);
  [1.69, 406.4, 410.7, 0.34, 0.28].forEach((v, i) => assert.ok(rel(out.params[i], v) < 1e-6, `${out.names[i]} = ${out.params[i]}`));
  assert.ok(out.stdErrors.every((s) => s >= 0));
  assert.ok(rel(out.allocation.a, 0.28 / 0.62) < 1e-6);
});

test("fitScalingLaw with a formula, bootstrap and backtest", () => {
  const xs = Array.from({ length: 20 }, (_, i) => 10 ** (1 + i * 0.2));
  const ys = xs.map((x) => 0.5 + 3 * x ** -0.4);
  const out = scalelab.fitScalingLaw({ model: "c + a*x^(-b)", x: xs, y: ys, start: [1, 1, 0.5], bootstrap: 50, seed: 1, holdout: 3 });
  const p = Object.fromEntries(out.names.map((n, i) => [n, out.params[i]]));
  assert.ok(rel(p.c, 0.5) < 1e-8 && rel(p.a, 3) < 1e-8 && rel(p.b, 0.4) < 1e-8, JSON.stringify(p));
  assert.ok(out.bootstrap.successful > 40);
  assert.equal(out.backtest.indices.length, 3);
  out.backtest.relativeError.forEach((e) => assert.ok(Math.abs(e) < 1e-6));
});

test("fitting errors are named", () => {
  const cases = [
    [() => scalelab.fitScalingLaw({ model: "chinchilla", x: [[1e9, 1e10], [2e9, 2e10]], y: [3, 2.9] }), "TooFewPoints"],
    [() => scalelab.fitScalingLaw({ model: "a*x^(-b", x: [1, 2, 3], y: [1, 2, 3] }), "InvalidFormula"],
    [() => scalelab.fitScalingLaw({ model: "power_law", x: [1, 2, 3, 4], y: [1, -2, 3, 4], residual: "log" }), "LogOfNonPositive"],
    [() => scalelab.fitScalingLaw({ model: "power_law", x: [1, 2, 3], y: [1, 2, 3], residual: "cubic" }), "InvalidValue"],
    [() => scalelab.parseCsv("a,b\n1,2\n3,x"), "InvalidCsv"],
  ];
  for (const [fn, name] of cases) {
    assert.throws(fn, (e) => e instanceof Error && e.name === name && e.message.length > 10, name);
  }
});

test("models() lists the built-in laws with their formulas", () => {
  const ms = scalelab.models();
  const c = ms.find((m) => m.name === "chinchilla");
  assert.deepEqual(c.inputs, ["N", "D"]);
  assert.deepEqual(c.params, ["E", "A", "B", "alpha", "beta"]);
  assert.ok(ms.length >= 9);
});
