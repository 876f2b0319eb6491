// The option space of fitScalingLaw through the packed package: every model × method × residual ×
// loss × starts × bootstrap × holdout × curve inputs × extrapolation on small valid data gives a result
// or a typed Error (its name one of ScalelabErrorName) — never a panic (a RuntimeError). Robust
// standard errors and Student-t bands against statsmodels (tests/vectors/fit_uncertainty.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as scalelab from "scalelab";

// The installed package's own declarations list the error names.
const dts = await readFile(new URL("./node_modules/scalelab/scalelab.d.ts", import.meta.url), "utf8");
const NAMES = new Set([...dts.match(/export type ScalelabErrorName =([^;]+);/)[1].matchAll(/"(\w+)"/g)].map((m) => m[1]));
const vectors = JSON.parse(await readFile(new URL("../vectors/fit_uncertainty.json", import.meta.url), "utf8"));

// mulberry32: a seeded generator, so a failure names a reproducible case.
function rng(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = (r, xs) => xs[Math.floor(r() * xs.length)];

function dataFor(model, r) {
  const noise = () => 1 + 0.01 * (r() - 0.5);
  if (model === "chinchilla" || model === "kaplan") {
    const x = [];
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) x.push([1e8 * 4 ** i, 2e9 * 4 ** j]);
    return { x, y: x.map(([n, d]) => (1.69 + 406.4 / n ** 0.34 + 410.7 / d ** 0.28) * noise()) };
  }
  if (model === "lr_annealing" || model === "multi_power_law") {
    const schedule = Array.from({ length: 60 }, (_, i) => 1e-3 * (i < 40 ? 1 : 0.3));
    const steps = Array.from({ length: 60 }, (_, i) => i + 1);
    return { x: steps, y: steps.map((t) => (2 + 3 / Math.sqrt(t)) * noise()), schedule };
  }
  const xs = Array.from({ length: 12 }, (_, i) => 10 ** (1 + i / 3));
  return { x: xs, y: xs.map((v) => (0.5 + 3 * v ** -0.4) * noise()) };
}

test("every option combination gives a result or a typed error, never a panic", () => {
  const r = rng(20261201);
  const models = scalelab.models().map((m) => m.name).concat(["c + a*x^(-b)"]);
  let results = 0, errors = 0;
  for (let i = 0; i < 1600; i++) {
    const model = pick(r, models);
    const { x, y, schedule } = dataFor(model, r);
    const n = 2 + Math.floor(r() * (y.length - 1));
    const input = {
      model,
      x: x.slice(0, n),
      y: y.slice(0, n),
      schedule: pick(r, [schedule, schedule, schedule && { kind: "cosine", steps: 60, peak: 1e-3, finalLr: 1e-4, warmup: 5 }]),
      warmup: pick(r, [undefined, undefined, 0, 5, 100, "reference_code"]),
      momentumDecay: pick(r, [undefined, 0.99, 1.5]),
      residual: pick(r, ["linear", "log", undefined]),
      loss: pick(r, ["l2", "huber", "soft_l1", "cauchy", undefined]),
      lossScale: pick(r, [1e-3, 0.05, 1, undefined]),
      method: pick(r, ["least_squares", "least_squares", "hoffmann"]),
      delta: pick(r, [1e-3, 0.1, undefined]),
      starts: pick(r, ["single", 3, undefined]),
      bootstrap: pick(r, [0, 0, 2, 20, 25]),
      seed: Math.floor(r() * 100),
      holdout: pick(r, [0, 0, 1, 3, 50]),
      curveInputs: pick(r, [undefined, undefined, x.slice(0, 3).map((v) => (Array.isArray(v) ? v : [v]))]),
      extrapolate: pick(r, [1, 10, 1e6, undefined]),
    };
    try {
      const out = scalelab.fitScalingLaw(input);
      results += 1;
      assert.ok(Array.isArray(out.params), `case ${i}`);
      assert.ok(out.params.every(Number.isFinite) || !out.converged, `case ${i}: converged with ${out.params}`);
      assert.equal(out.curve.mean.length, out.curve.at.length, `case ${i}`);
    } catch (e) {
      errors += 1;
      assert.ok(e instanceof Error && NAMES.has(e.name), `case ${i}: ${e?.name}: ${e?.message} for ${JSON.stringify({ ...input, x: undefined, y: undefined })}`);
    }
  }
  assert.ok(results > 400 && errors > 50, `${results} results, ${errors} errors`);
});

test("out-of-range settings are typed errors, not replaced by defaults", () => {
  const { x, y } = dataFor("chinchilla", rng(1));
  const fit = (extra) => () => scalelab.fitScalingLaw({ model: "chinchilla", x, y, residual: "log", ...extra });
  assert.throws(fit({ starts: 100_001 }), { name: "OutOfRange", message: /random starts/ });
  assert.throws(fit({ extrapolate: 0.5 }), { name: "OutOfRange", message: /extrapolation factor/ });
  assert.throws(fit({ method: "hoffmann", delta: -1 }), { name: "OutOfRange" });
  assert.throws(fit({ method: "hoffmann", delta: 0 }), { name: "OutOfRange" });
});

test("robust standard errors are Huber's sandwich (statsmodels RLM, HuberT 1.345)", () => {
  const r = vectors.robust;
  const out = scalelab.fitScalingLaw({ model: "a + b*x", x: r.x, y: r.y, start: [0, 0], loss: "huber", lossScale: r.t * r.scale });
  out.params.forEach((p, j) => assert.ok(Math.abs(p - r.params[j]) <= 1e-7 * Math.abs(r.params[j]), `param ${j}`));
  out.stdErrors.forEach((s, j) => assert.ok(Math.abs(s - r.bse[j]) <= 1e-6 * r.bse[j], `SE ${j}: ${s} vs ${r.bse[j]}`));
});

test("bands use Student's t with n − p degrees of freedom (statsmodels OLS get_prediction)", () => {
  for (const b of vectors.bands) {
    const out = scalelab.fitScalingLaw({ model: "a + b*x", x: b.x, y: b.y, start: [0, 0], curveInputs: b.x_new.map((v) => [v]) });
    out.curve.upper.forEach((u, i) => assert.ok(Math.abs(u - b.upper[i]) <= 1e-9 * Math.abs(b.upper[i]) + 1e-12, `dof ${b.dof} upper[${i}]`));
    out.curve.predictionLower.forEach((u, i) => assert.ok(Math.abs(u - b.prediction_lower[i]) <= 1e-9 * Math.abs(b.prediction_lower[i]) + 1e-12, `dof ${b.dof} prediction_lower[${i}]`));
  }
});
