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
  const a = scalelab.lrScheduleAreas([1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5], { momentumDecay: 0.9 });
  assert.deepEqual(a.s1.map((v) => +v.toFixed(10)), [1, 2, 3, 4, 5, 5.5, 6, 6.5, 7, 7.5]);
  const s2 = [0, 0, 0, 0, 0, 0.5, 0.95, 1.355, 1.7195, 2.04755];
  a.s2.forEach((v, i) => assert.ok(Math.abs(v - s2[i]) < 1e-12, `S2[${i}] = ${v}`));
});

test("LR-schedule areas of a named schedule with warmup: S2 = 0 through the warmup (the papers) or < 0 (the reference code)", () => {
  const cosine = { kind: "cosine", steps: 100, peak: 1e-3, finalLr: 1e-4, warmup: 10 };
  const paper = scalelab.lrScheduleAreas(cosine);
  const code = scalelab.lrScheduleAreas(cosine, { warmup: "reference_code" });
  assert.equal(paper.s1.length, 100);
  assert.ok(Math.abs(paper.s1[9] - 1e-4 * 55) < 1e-15, `S1 after warmup ${paper.s1[9]}`);
  assert.equal(paper.s2[9], 0);
  assert.ok(code.s2[9] < 0);
  assert.throws(() => scalelab.lrScheduleAreas(cosine, { warmup: "later" }), { name: "InvalidValue", message: /reference_code/ });
  assert.throws(() => scalelab.lrScheduleAreas({ ...cosine, warmup: 101 }), { name: "OutOfRange", message: /warmup/ });
});

test("a loss curve logged every 100 steps with its named schedule fits like the curve logged every step", () => {
  const schedule = { kind: "wsd", steps: 3000, peak: 3e-4, finalLr: 3e-5, warmup: 100, decay: 600 };
  // The same schedule written out per step (step s = after s updates; rates[s − 1] = η_s).
  const rates = Array.from({ length: 3000 }, (_, i) => {
    const s = i + 1;
    if (s <= 100) return 3e-4 * s / 100;
    if (s <= 2400) return 3e-4;
    return 3e-4 + (3e-5 - 3e-4) * (s - 2400) / 600;
  });
  // Tissue et al.'s law, exact values L0 + A·S1^(−α) − C·S2 from the package's own areas at each step.
  const { s1, s2 } = scalelab.lrScheduleAreas(schedule);
  const truth = [2.6, 0.6, 0.45, 1.0];
  const law = (s) => truth[0] + truth[1] * s1[s - 1] ** -truth[2] - truth[3] * s2[s - 1];
  const every = Array.from({ length: 3000 }, (_, i) => i + 1);
  const sparse = every.filter((s) => s % 100 === 0);
  const start = [2.5, 0.7, 0.4, 0.8];
  const a = scalelab.fitScalingLaw({ model: "lr_annealing", x: every, y: every.map(law), schedule: rates, start });
  const b = scalelab.fitScalingLaw({ model: "lr_annealing", x: sparse, y: sparse.map(law), schedule, start });
  truth.forEach((t, j) => {
    assert.ok(rel(a.params[j], t) < 1e-7, `every step ${a.names[j]} = ${a.params[j]}`);
    assert.ok(rel(b.params[j], t) < 1e-7, `every 100 ${b.names[j]} = ${b.params[j]}`);
  });
  assert.equal(b.curve.axis, "step");
  assert.equal(b.curve.at.at(-1), 3000, "the curve runs to the end of the schedule");
  assert.throws(() => scalelab.fitScalingLaw({ model: "lr_annealing", x: [100, 3001], y: [3, 2.9], schedule, start }),
    { name: "StepOutsideSchedule", message: /too short/ });
  assert.throws(() => scalelab.fitScalingLaw({ model: "multi_power_law", x: [0, 100], y: [3, 2.9], schedule }),
    { name: "StepOutsideSchedule", message: /before the first update/ });
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
