// The grokking `Trainer` of the packed `scalelab` package in Node. Expected values: PyTorch's run
// `adamw_f32` (run 1) of tests/vectors/grokking_torch.json, made by tests/vectors/grokking_torch.py
// (torch and numpy only), replayed from its split and initial weights.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { Trainer } from "scalelab";

const vectors = JSON.parse(await readFile(new URL("../vectors/grokking_torch.json", import.meta.url), "utf8"));

/** A JS config from a run's config in the vectors' layout (grokking_torch.py's docstring). */
function configOf(c) {
  assert.equal(c.optimizer.kind, "adamw", "this helper builds plain AdamW runs only");
  return {
    p: c.p,
    op: c.op,
    trainFraction: c.train_fraction,
    seed: c.seed,
    hidden: c.hidden,
    bias: c.bias,
    loss: c.loss.kind,
    softmaxPrecision: c.loss.precision,
    precision: c.dtype,
    optimizer: {
      kind: "adamw",
      lr: c.optimizer.lr,
      beta1: c.optimizer.beta1,
      beta2: c.optimizer.beta2,
      eps: c.optimizer.eps,
      weightDecay: c.optimizer.weight_decay,
    },
  };
}

const rel = (got, want) => Math.abs(got - want) / Math.max(Math.abs(want), 1e-300);

test("replays PyTorch's adamw_f32 run for 50 epochs", () => {
  const run = vectors.runs.find((r) => r.name === "adamw_f32");
  assert.equal(run.init.biases, null);
  const tensors = run.init.weights.map((w) => new Float64Array(w.flat())); // [out][in] → row-major
  const trainer = new Trainer(configOf(run.config), { train: run.train, tensors });
  assert.deepEqual(trainer.split.train, run.train);
  assert.deepEqual(trainer.split.test, run.test);
  const start = trainer.tensors();
  assert.deepEqual(start.map((t) => t.name), ["W1", "W2", "W3"]);
  start.forEach((t, l) => {
    assert.deepEqual(t.shape, [run.init.weights[l].length, run.init.weights[l][0].length]);
    assert.ok(t.values instanceof Float64Array);
    assert.deepEqual(Array.from(t.values), Array.from(tensors[l]));
  });

  const e = run.epochs;
  const epochs = e.train_loss.length;
  assert.equal(epochs, 50);
  const metrics = [...trainer.step(), ...trainer.step(epochs - 1)];
  assert.equal(metrics.length, epochs);
  assert.equal(trainer.epoch, epochs);
  const [nTrain, nTest] = [run.train.length, run.test.length];
  const bad = [];
  const within = (what, i, ok, got, want) => ok || bad.push(`epoch ${i + 1} ${what}: ${got} vs torch ${want}`);
  metrics.forEach((m, i) => {
    assert.equal(m.epoch, i + 1);
    within("train loss", i, rel(m.trainLoss, e.train_loss[i]) <= 2e-5, m.trainLoss, e.train_loss[i]);
    within("test loss", i, rel(m.test.loss, e.test_loss[i]) <= 2e-5, m.test.loss, e.test_loss[i]);
    // Accuracies within two rows (an argmax may flip on a near-tie of f32 logits).
    const trainRows = Math.abs(m.trainAccuracy - e.train_acc[i]) * nTrain;
    within("train accuracy", i, trainRows <= 2 + 1e-9, m.trainAccuracy, e.train_acc[i]);
    const testRows = Math.abs(m.test.accuracy - e.test_acc[i]) * nTest;
    within("test accuracy", i, testRows <= 2 + 1e-9, m.test.accuracy, e.test_acc[i]);
    assert.equal(m.weightNorms.length, 3);
    m.weightNorms.forEach((w, t) =>
      within(`‖W${t + 1}‖`, i, rel(w, e.weight_norms[i][t]) <= 2e-5, w, e.weight_norms[i][t]),
    );
    assert.equal(m.updateCosine.length, 3);
    for (const key of ["scFraction", "zeroLossFraction", "logitNorm"]) assert.ok(Number.isFinite(m[key]), key);
  });
  assert.deepEqual(bad, []);
  // The last epoch's metrics are of θ₄₉; the weights now are θ₅₀ (torch's final_weights).
  const final = trainer.tensors();
  run.final_weights.weights.forEach((w, l) => {
    const want = w.flat();
    const worst = Math.max(...want.map((v, i) => Math.abs(final[l].values[i] - v)));
    assert.ok(worst <= 1e-4, `W${l + 1} after 50 epochs: max |Δ| ${worst}`);
  });
  const test = trainer.evaluate();
  assert.ok(test.loss > 0 && test.accuracy >= 0 && test.accuracy <= 1);
  const f = trainer.fourier();
  assert.ok(f.first instanceof Float64Array && f.second instanceof Float64Array);
  assert.equal(f.first.length, Math.floor(run.config.p / 2) + 1);
  f.first.forEach((v, k) => assert.ok(rel(v, run.fourier_a[k]) <= 1e-3, `fourier_a[${k}]: ${v} vs ${run.fourier_a[k]}`));
  f.second.forEach((v, k) => assert.ok(rel(v, run.fourier_b[k]) <= 1e-3, `fourier_b[${k}]: ${v} vs ${run.fourier_b[k]}`));
  trainer.dispose();
});

test("missing keys take the paper's setup; presets are full configurations", () => {
  const paper = Trainer.preset("softmax_collapse");
  assert.deepEqual(paper, {
    p: 113, op: "add", trainFraction: 0.4, seed: 42, hidden: [200, 200], bias: false, loss: "softmax",
    softmaxPrecision: "f32", precision: "f32", evalEvery: 1,
    optimizer: {
      kind: "adamw", lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-25, momentum: 0, weightDecay: 0,
      orthogonal: "off", referenceQuirk: false,
    },
  });
  const small = new Trainer({ p: 7, hidden: [8], optimizer: { weightDecay: 1 }, evalEvery: 3 });
  assert.deepEqual(small.config, {
    ...paper, p: 7, hidden: [8], evalEvery: 3, optimizer: { ...paper.optimizer, weightDecay: 1 },
  });
  assert.equal(small.split.train.length, Math.floor(0.4 * 49));
  assert.equal(small.split.train.length + small.split.test.length, 49);
  assert.deepEqual(small.cost, { parameters: 14 * 8 + 8 * 7, bytes: small.cost.bytes, trainFlops: small.cost.trainFlops, evalFlops: small.cost.evalFlops });
  assert.ok(small.cost.bytes > 0 && small.cost.trainFlops > small.cost.evalFlops);
  const tests = small.step(4).map((m) => m.test !== null);
  assert.deepEqual(tests, [true, false, false, true]); // epochs 1 and 4 (every 3 from the first)
  assert.equal(small.epoch, 4);
  for (const name of ["ortho_adamw", "stablemax", "weight_decay"]) {
    const config = Trainer.preset(name);
    assert.deepEqual(new Trainer({ ...config, p: 5, hidden: [4] }).config, { ...config, p: 5, hidden: [4] }, name);
  }
  assert.equal(Trainer.preset("ortho_adamw").optimizer.orthogonal, "project_rescale");
  assert.equal(Trainer.preset("stablemax").loss, "stablemax");
  assert.equal(Trainer.preset("weight_decay").optimizer.weightDecay, 4);
  assert.equal(new Trainer(undefined).config.p, 113);
});

/** Asserts that `f` throws an Error whose name is `code` and whose `field` is `field`. */
function throwsTyped(f, code, field, what) {
  assert.throws(f, (e) => {
    assert.ok(e instanceof Error, what);
    assert.equal(e.name, code, `${what}: ${e.message}`);
    assert.equal(e.field, field, `${what}: ${e.message}`);
    assert.ok(e.message.length > 0);
    return true;
  }, what);
}

test("every bad field is refused with its code and field", () => {
  const cases = [
    [{ p: 1 }, "OutOfRange", "p"],
    [{ trainFraction: 1 }, "OutOfRange", "train_fraction"],
    [{ hidden: [0] }, "OutOfRange", "hidden"],
    [{ optimizer: { lr: 0 } }, "OutOfRange", "lr"],
    [{ optimizer: { beta1: 1 } }, "OutOfRange", "beta1"],
    [{ optimizer: { momentum: 1, kind: "sgd" } }, "OutOfRange", "momentum"],
    [{ evalEvery: 0 }, "OutOfRange", "eval_every"],
    [{ p: 3000 }, "OutOfRange", "memory"], // ~290 GiB with the default widths
    [{ learningRate: 0.1 }, "InvalidValue", "learningRate"],
    [{ optimizer: { weight_decay: 1 } }, "InvalidValue", "weight_decay"], // snake_case is not a JS key
    [{ op: "divide" }, "InvalidValue", "op"],
    [{ p: "11" }, "InvalidValue", "p"],
    [{ optimizer: { lr: "fast" } }, "InvalidValue", "lr"],
    [{ softmaxPrecision: "f8" }, "InvalidValue", "softmax_precision"],
  ];
  for (const [config, code, field] of cases) throwsTyped(() => new Trainer(config), code, field, JSON.stringify(config));
  assert.throws(() => new Trainer(5), { name: "InvalidValue" });
  assert.throws(() => new Trainer([]), { name: "InvalidValue" });
  assert.throws(() => Trainer.preset("grokfast"), { name: "InvalidValue", message: /softmax_collapse/ });
  // A replay's start: keys checked, both required, sizes and indices checked.
  const small = { p: 5, hidden: [4] };
  const weights = [new Float64Array(4 * 10), new Float64Array(5 * 4)];
  throwsTyped(() => new Trainer(small, { train: [0, 1] }), "InvalidValue", "tensors", "no tensors");
  throwsTyped(() => new Trainer(small, { train: [0], tensors: weights, bias: [] }), "InvalidValue", "bias", "unknown start key");
  assert.throws(() => new Trainer(small, { train: [0, 25], tensors: weights }), { name: "IndexOutOfRange" });
  assert.throws(() => new Trainer(small, { train: [1, 1], tensors: weights }), { name: "InvalidValue" });
  assert.throws(() => new Trainer(small, { train: [0], tensors: [weights[0]] }), { name: "DimensionMismatch" });
  assert.throws(() => new Trainer(small, { train: [0], tensors: [weights[0], new Float64Array(3)] }), { name: "DimensionMismatch" });
  assert.throws(() => new Trainer(small, { train: [0], tensors: [weights[0], [NaN, ...new Array(19).fill(0)]] }), { name: "NonFinite" });
  const t = new Trainer(small, { train: [0, 7], tensors: [weights[0], Array.from(weights[1])] });
  assert.deepEqual(t.split.train, [0, 7]);
  for (const n of [0, -1, 1.5, NaN, Infinity, 2 ** 40]) assert.throws(() => t.step(n), { name: "OutOfRange" }, String(n));
  assert.equal(t.epoch, 0);
});

test("after dispose() every call throws a typed error", () => {
  const t = new Trainer({ p: 5, hidden: [4] });
  t.step();
  t.dispose();
  t.dispose(); // again: nothing
  const calls = {
    step: () => t.step(),
    evaluate: () => t.evaluate(),
    tensors: () => t.tensors(),
    fourier: () => t.fourier(),
    epoch: () => t.epoch,
    config: () => t.config,
    cost: () => t.cost,
    split: () => t.split,
  };
  for (const [name, call] of Object.entries(calls)) {
    assert.throws(call, (e) => {
      assert.ok(e instanceof Error, name);
      assert.equal(e.name, "Disposed", `${name}: ${e.message}`);
      assert.match(e.message, /disposed/);
      return true;
    }, name);
  }
});

test("stepAsync trains as step does; useGpu with a CPU context stays on the CPU and says why", async () => {
  const { ComputeContext } = await import("scalelab");
  const config = { p: 11, hidden: [16], evalEvery: 2 };
  const a = new Trainer(config);
  const b = new Trainer(config);
  const ctx = await ComputeContext.create({ backend: "cpu" });
  assert.equal(await a.useGpu(ctx), "cpu");
  assert.equal(a.backend, "cpu");
  assert.match(a.fallbackReason, /CPU backend was requested/);
  const pending = a.stepAsync(3);
  assert.throws(() => a.epoch, (e) => e.name === "Busy");
  const viaAsync = await pending;
  assert.deepEqual(viaAsync, b.step(3));
  await assert.rejects(a.stepAsync(0), (e) => e.name === "OutOfRange");
  a.dispose();
  await assert.rejects(a.stepAsync(1), (e) => e.name === "Disposed");
});
