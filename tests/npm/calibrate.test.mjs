// Calibrate in the packed `scalelab` npm package. Expected values: science.md §7 items 11–13
// (the torchmetrics docstring values, the bin-edge example, the closed-form temperature
// T = 3/ln 3), each derived independently there.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as scalelab from "scalelab";

const near = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test("the closed-form temperature and its metrics (science.md §7 item 13)", () => {
  const logits = [3, 0, 3, 0, 3, 0, 0, 3];
  const labels = [0, 0, 1, 1];
  for (const z of [logits, new Float64Array(logits), new Float32Array(logits)]) {
    const fit = scalelab.temperatureScale(z, 2, new Uint32Array(labels));
    near(fit.temperature, 3 / Math.log(3), 1e-12, "T");
    near(fit.nll_before, 0.798587351573742, 1e-14, "NLL at T = 1");
    near(fit.nll, 0.5623351446188083, 1e-14, "NLL at T*");
    assert.ok(fit.gradient < 1e-12, `certificate ${fit.gradient}`);
  }
  const before = scalelab.calibrationMetrics(logits, 2, labels);
  near(before.ece, 0.2025741268, 1e-10, "ECE at T = 1");
  near(before.brier, 0.4570725537, 1e-10, "Brier at T = 1");
  near(before.brier_per_class, 0.4570725537 / 2, 1e-10, "Brier / K");
  const after = scalelab.calibrationMetrics(logits, 2, labels, { temperature: 3 / Math.log(3) });
  near(after.ece, 0, 1e-12, "ECE at T*");
  near(after.brier, 0.375, 1e-12, "Brier at T*");
  assert.equal(after.reliability.samples, 4);
});

test("the torchmetrics docstring values (science.md §7 item 11)", () => {
  // Binary: p(y = 1) and y, two bins, torchmetrics' [lo, hi) convention.
  const m = scalelab.conventionMatrix([0.25, 0.25, 0.55, 0.75, 0.75], [0, 0, 1, 1, 1], 2);
  const tm = m.find((c) => c.convention === "torchmetrics");
  near(tm.ece, 0.29, 1e-12, "l1");
  near(tm.rms, 0.2918, 1e-4, "l2");
  near(tm.mce, 0.3167, 1e-4, "max");
  // Multiclass, three bins, from probabilities.
  const probs = [0.25, 0.2, 0.55, 0.55, 0.05, 0.4, 0.1, 0.3, 0.6, 0.9, 0.05, 0.05];
  const z = scalelab.logitsFromProbabilities(probs, 3);
  const r = scalelab.calibrationMetrics(z, 3, [0, 1, 2, 0], {
    binning: { kind: "equal_width", bins: 3, edges: "lower_closed_extra_bin" },
  });
  // The binary docstring again, from two-class rows (1 − p, p) through the report's binary convention.
  const p1 = [0.25, 0.25, 0.55, 0.75, 0.75];
  const rows = scalelab.logitsFromProbabilities(p1.flatMap((p) => [1 - p, p]), 2);
  const b = scalelab.calibrationMetrics(rows, 2, [0, 0, 1, 1, 1], {
    binning: { kind: "equal_width", bins: 2, edges: "lower_closed_extra_bin" },
  }).binary;
  near(b.ece, 0.29, 1e-12, "binary l1");
  near(b.rms, 0.2918, 1e-4, "binary l2");
  near(b.mce, 0.3167, 1e-4, "binary max");
  near(r.ece, 0.2, 1e-12, "l1");
  near(r.rms, 0.2082, 1e-4, "l2");
  near(r.mce, 0.2333, 1e-4, "max");
});

test("the bin-edge example: 0.15 under (lo, hi], 0.10 under torchmetrics (science.md §7 item 12)", () => {
  const m = scalelab.conventionMatrix([0.75, 0.75, 0.9, 1.0], [1, 0, 1, 1], 4);
  const by = Object.fromEntries(m.map((c) => [c.convention, c]));
  near(by.guo.ece, 0.15, 1e-12, "Guo");
  near(by.torchmetrics.ece, 0.1, 1e-12, "torchmetrics");
  // Which bin the confidence 1 went to under each convention.
  assert.deepEqual(m.map((c) => c.assignment[3]), [3, 4, 3, 3, 3]);
  // The same rows as probabilities (a zero among them): read as given at T = 1, so 0.75 stays on
  // its edge (softmax(ln p) would give 0.7499999999999999, binned below it by torchmetrics).
  const probs = [0.75, 0.25, 0.75, 0.25, 0.9, 0.1, 1, 0];
  const ece = (edges) =>
    scalelab.calibrationMetrics(probs, 2, [0, 1, 0, 0], { kind: "probabilities", binning: { kind: "equal_width", bins: 4, edges } }).ece;
  near(ece("upper_closed"), 0.15, 1e-12, "Guo from probabilities");
  near(ece("lower_closed_extra_bin"), 0.1, 1e-12, "torchmetrics from probabilities");
});

test("vector scaling, CORP and score files", () => {
  const logits = [3, 0, 3, 0, 3, 0, 0, 3, 1, 2, 2, 1];
  const labels = [0, 0, 1, 1, 1, 0];
  const v = scalelab.fitScaling(logits, 2, labels, "vector", 0.1);
  assert.equal(v.weights.length, 2);
  assert.ok(v.nll <= v.nll_before, `${v.nll} vs ${v.nll_before}`);
  // x = (0.2, 0.8), y = (1, 0): PAV pools both to 0.5; MCB 0.39, DSC 0, UNC 0.25.
  const c = scalelab.corp([0.2, 0.8], [1, 0], { resamples: 20 });
  near(c.murphy.miscalibration, 0.39, 1e-15, "MCB");
  near(c.murphy.uncertainty, 0.25, 1e-15, "UNC");
  const csv = new TextEncoder().encode("label,a,b\n1,0.2,0.8\n0,0.6,0.4\n");
  const set = scalelab.readScores(csv, "csv");
  assert.equal(set.kind, "probabilities");
  assert.ok(set.values instanceof Float64Array && set.labels instanceof Uint32Array);
  assert.deepEqual([...set.labels], [1, 0]);
});

test("bad input is a typed error, never a panic", () => {
  const logits = [3, 0, 0, 3];
  assert.throws(() => scalelab.temperatureScale(logits, 2, [0, 2]), { name: "IndexOutOfRange" });
  assert.throws(() => scalelab.temperatureScale(logits, 2, [0, -1]), { name: "OutOfRange" });
  assert.throws(() => scalelab.temperatureScale(logits, 2, [0, 0.5]), { name: "OutOfRange" });
  assert.throws(() => scalelab.temperatureScale([3, NaN, 0, 3], 2, [0, 1]), { name: "NonFinite" });
  assert.throws(() => scalelab.temperatureScale([3, 0, 0], 2, [0, 1]), { name: "DimensionMismatch" });
  assert.throws(() => scalelab.temperatureScale([], 2, []), { name: "EmptyInput" });
  // Every row correct at T → 0: no optimal temperature, said so.
  assert.throws(() => scalelab.temperatureScale([3, 0, 0, 3], 2, [0, 1]), { name: "NoOptimalTemperature" });
  assert.throws(() => scalelab.logitsFromProbabilities([0.5, 0.6], 2), { name: "OutOfRange", message: /sum/ });
  // A label of probability 0: its NLL is infinite at every temperature, said so with the row.
  assert.throws(() => scalelab.calibrationMetrics([0.5, 0.5, 1, 0], 2, [0, 1], { kind: "probabilities" }), { name: "ZeroLabelProbability", message: /row 1/ });
  // A zero elsewhere is the logit −Infinity: vector scaling refuses it, the rest take it.
  const z0 = scalelab.logitsFromProbabilities([0.9, 0.1, 1, 0, 0.2, 0.8, 0.7, 0.3], 2);
  assert.equal(z0[3], -Infinity);
  assert.throws(() => scalelab.fitScaling(z0, 2, [0, 0, 1, 0], "vector", 0.01), { name: "NonFinite" });
  assert.ok(Number.isFinite(scalelab.temperatureScale(z0, 2, [0, 0, 0, 0]).temperature));
  assert.throws(() => scalelab.calibrationMetrics(logits, 2, [0, 1], { kind: "odds" }), { name: "InvalidValue" });
  assert.throws(() => scalelab.calibrationMetrics(logits, 2, [0, 1], { temperature: -1 }), { name: "OutOfRange" });
  assert.throws(() => scalelab.calibrationMetrics(logits, 2, [0, 1], { bins: 3 }), { name: "InvalidValue" });
  assert.throws(() => scalelab.calibrationMetrics(logits, 2, [0, 1], { binning: { kind: "equal_width", bins: 0, edges: "upper_closed" } }), { name: "OutOfRange" });
  assert.throws(() => scalelab.fitScaling(logits, 2, [0, 1], "diagonal", 0), { name: "InvalidValue" });
  assert.throws(() => scalelab.fitScaling(logits, 2, [0, 1], "vector", -1), { name: "OutOfRange" });
  assert.throws(() => scalelab.conventionMatrix([1.5], [1]), { name: "OutOfRange" });
  assert.throws(() => scalelab.corp([0.2, 0.8], [1, 0], { level: 2 }), { name: "OutOfRange" });
  const enc = (t) => new TextEncoder().encode(t);
  assert.throws(() => scalelab.readScores(enc("label,a,b\n0,1\n"), "csv"), { name: "InvalidCsv" });
  assert.throws(() => scalelab.readScores(enc("PK\u0003\u0004 not a zip"), "npz"), { name: "InvalidArrayFile" });
  assert.throws(() => scalelab.readScores(enc("{}"), "json"), { name: "InvalidValue" });
  assert.throws(() => scalelab.readScores(enc("1,2"), "xlsx"), { name: "InvalidValue" });
});

test("bootstrap intervals, the class-frequency forecaster, recalibration and the split", () => {
  // 200 rows: logits (2, 0) with label 0 for 150 of them, label 1 for 50 — accuracy 0.75, whose
  // binomial standard error is √(0.75·0.25/200) ≈ 0.0306.
  const n = 200;
  const logits = new Float64Array(2 * n);
  const labels = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    logits[2 * i] = 2;
    labels[i] = i < 150 ? 0 : 1;
  }
  const iv = scalelab.metricIntervals(logits, 2, labels, { resamples: 500, seed: 3 });
  near(iv.accuracy.estimate, 0.75, 1e-15, "accuracy");
  near(iv.accuracy.std_error, Math.sqrt(0.75 * 0.25 / n), 0.1 * Math.sqrt(0.75 * 0.25 / n), "bootstrap SE");
  assert.ok(iv.accuracy.lower < 0.75 && 0.75 < iv.accuracy.upper);
  assert.deepEqual(scalelab.metricIntervals(logits, 2, labels, { resamples: 500, seed: 3 }), iv, "seeded");
  near(iv.brier_per_class.upper, iv.brier.upper / 2, 1e-15, "Brier / K interval");
  // Class-wise: every row says p(0) = σ(2) and p(1) = 1 − σ(2); 3/4 of the labels are 0, so each
  // class's single bin is off by σ(2) − 3/4, and so is their mean.
  const cw = scalelab.classwiseIntervals(logits, 2, labels, { resamples: 50, seed: 3 });
  near(cw.classwise_ece.estimate, 1 / (1 + Math.exp(-2)) - 0.75, 1e-12, "class-wise ECE");
  assert.ok(cw.classwise_ece.lower <= cw.classwise_ece.upper && cw.adaptive_ce.finite === 50);
  assert.throws(() => scalelab.classwiseIntervals(logits, 2, labels, { resamples: 10, level: 1.5 }), { name: "OutOfRange" });
  // Class frequencies 0.75 / 0.25: ECE 0, NLL = −(0.75 ln 0.75 + 0.25 ln 0.25), Brier 1 − 2·(0.75² + 0.25²) + (0.75² + 0.25²).
  const p = scalelab.properness(logits, 2, labels);
  near(p.frequency_forecaster.ece, 0, 1e-15, "ECE of the frequencies");
  near(p.frequency_forecaster.nll, -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25)), 1e-14, "NLL");
  near(p.frequency_forecaster.brier, 1 - (0.75 ** 2 + 0.25 ** 2), 1e-14, "Brier");
  // Isotonic on (0.2, 0.8) → (1, 0) pools both to 0.5.
  assert.deepEqual([...scalelab.recalibrate([0.2, 0.8], [1, 0], [0.1, 0.5, 0.9], "isotonic")], [0.5, 0.5, 0.5]);
  assert.deepEqual([...scalelab.recalibrate([0.1, 0.15, 0.9], [0, 1, 1], [0.12, 0.95], "histogram", 2)], [0.5, 1]);
  const split = scalelab.splitRows(10, 0.3, 1);
  assert.equal(split.calibration.length, 3);
  assert.deepEqual([...split.calibration, ...split.test].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.throws(() => scalelab.metricIntervals(logits, 2, labels, { resamples: 1 }), { name: "OutOfRange" });
  assert.throws(() => scalelab.metricIntervals(logits, 2, labels, { reps: 10 }), { name: "InvalidValue" });
  assert.throws(() => scalelab.recalibrate([0.2], [1], [1.2], "isotonic"), { name: "OutOfRange" });
  assert.throws(() => scalelab.recalibrate([0.2], [1], [0.5], "platt"), { name: "InvalidValue" });
  assert.throws(() => scalelab.splitRows(10, 1.5, 1), { name: "OutOfRange" });
});

test("ECE against the number of bins under a library's convention", () => {
  // The bin-edge example: 4 bins give 0.15 under Guo's (lo, hi] and 0.10 under torchmetrics'.
  const conf = [0.75, 0.75, 0.9, 1.0];
  const correct = [1, 0, 1, 1];
  const guo = scalelab.calibrationErrorByBins(conf, correct, [1, 4], "guo");
  near(guo[1], 0.15, 1e-12, "Guo, 4 bins");
  // One bin: |mean accuracy − mean confidence| = |0.75 − 0.85| = 0.10 under every convention.
  near(guo[0], 0.1, 1e-12, "one bin");
  near(scalelab.calibrationErrorByBins(conf, correct, [4], "torchmetrics")[0], 0.1, 1e-12, "torchmetrics, 4 bins");
  assert.throws(() => scalelab.calibrationErrorByBins(conf, correct, [4], "sklearn"), { name: "InvalidValue" });
  assert.throws(() => scalelab.calibrationErrorByBins(conf, correct, [0], "guo"), { name: "OutOfRange" });
  assert.throws(() => scalelab.calibrationErrorByBins(conf, correct, [4], "guo", "l3"), { name: "InvalidValue" });
});

test("every method on netcal lenet-5's fixed split equals numpy, scipy and scikit-learn", async (t) => {
  const { readFile } = await import("node:fs/promises");
  const { join, dirname } = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  const here = dirname(fileURLToPath(import.meta.url));
  const refdata = process.env.SCALELAB_REFDATA ?? join(here, "../../../shared/refdata");
  let bytes;
  try {
    bytes = await readFile(join(refdata, "calibration/netcal/lenet-5-cifar-10.npz"));
  } catch (e) {
    if (process.env.CI === "true") throw e;
    t.skip(`no refdata at ${refdata}`);
    return;
  }
  const want = JSON.parse(await readFile(join(here, "../vectors/calibration_split.json"), "utf8"));
  const set = scalelab.readScores(new Uint8Array(bytes), "npz");
  assert.equal(set.kind, "probabilities");
  const z = scalelab.logitsFromProbabilities(set.values, set.classes);
  const n = set.labels.length;
  const calibration = [...Array(3000).keys()];
  const test = [...Array(n - 3000).keys()].map((i) => i + 3000);
  const c = scalelab.compareMethods(z, set.classes, set.labels, { calibration, test, penalty: want.lambda });
  assert.deepEqual([c.calibration_rows, c.test_rows], [3000, 7000]);
  for (const o of c.outcomes) {
    assert.ok(o.scored, JSON.stringify(o));
    const m = o.scored;
    const w = want.methods[m.method];
    for (const key of ["accuracy", "ece", "mce", "rms", "nll", "brier", "temperature"]) {
      if (w[key] === undefined) continue;
      near(m[key], w[key], 1e-6 * Math.max(Math.abs(w[key]), 1e-3), `${m.method} ${key}`);
    }
    if (m.method === "isotonic" || m.method === "histogram_binning") assert.equal(m.nll, null);
  }
  // A seeded split: half the rows calibrate; the same seed gives the same comparison.
  const seeded = scalelab.compareMethods(z, set.classes, set.labels, { fraction: 0.3, seed: 4 });
  assert.deepEqual([seeded.calibration_rows, seeded.test_rows], [3000, 7000]);
  assert.throws(() => scalelab.compareMethods(z, set.classes, set.labels, { calibration }), { name: "InvalidValue" });
  assert.throws(() => scalelab.compareMethods(z, set.classes, set.labels, { penalty: -1 }), { name: "OutOfRange" });
  assert.throws(() => scalelab.compareMethods(z, set.classes, set.labels, { fraction: 1 }), { name: "OutOfRange" });
});
