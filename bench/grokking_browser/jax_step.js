// The grokking MLP's full-batch training step written with jax-js (`jit(valueAndGrad(loss))` and
// AdamW by hand), the same computation as Scalelab's `Trainer` default configuration:
// x one-hot [N, 2p], 2p → h → h → p without biases, ReLU, mean softmax cross-entropy, AdamW
// (PyTorch's update: p ← p·(1 − lr·wd) − lr · (m/bc1) / (√(v/bc2) + ε)), f32.
// `jax` is the imported @jax-js/jax module (passed in, so this file has no bare imports).
// Ownership follows jax-js's rules: every function argument is consumed, `.ref` keeps one.

/**
 * Mean softmax CE of the MLP; `params` = { w: [W1, W2, W3] } with W as [in, out]. `x` is the
 * one-hot [N, 2p] input, or with `gather` the pair [a, p + b] of int32 [N] rows: the first layer is
 * then W1[a] + W1[p + b] (what x · W1 is, and what Scalelab computes), its gradient a scatter-add.
 */
function lossFn(jax, params, x, yOneHot, n, gather) {
  const { numpy: np, nn } = jax;
  const [w1, w2, w3] = params.w;
  let first;
  if (gather) {
    const [ia, ib] = x;
    first = np.take(w1.ref, ia, 0).add(np.take(w1, ib, 0));
  } else first = np.matmul(x, w1);
  const h1 = nn.relu(first);
  const h2 = nn.relu(np.matmul(h1, w2));
  const logits = np.matmul(h2, w3);
  return np.sum(nn.logSoftmax(logits, -1).mul(yOneHot)).mul(-1 / n);
}

/**
 * A jitted step `(params, m, v, x, y, lrOverBc1, invSqrtBc2) → [loss, params, m, v]`; the
 * bias corrections enter as scalar arrays so one compiled program serves every step.
 */
export function makeStep(jax, { n, beta1, beta2, eps, weightDecay, lr, useJit = true, gather = false }) {
  const { numpy: np, valueAndGrad, jit } = jax;
  const vg = valueAndGrad((params, x, y) => lossFn(jax, params, x, y, n, gather));
  const step = (params, m, v, x, y, lrOverBc1, invSqrtBc2) => {
    const [loss, g] = vg({ w: params.w.map((w) => w.ref) }, x, y);
    const out = { w: [] }, outM = { w: [] }, outV = { w: [] };
    for (let i = 0; i < params.w.length; i++) {
      const gi = g.w[i];
      const mi = m.w[i].mul(beta1).add(gi.ref.mul(1 - beta1));
      const vi = v.w[i].mul(beta2).add(np.square(gi).mul(1 - beta2));
      const upd = mi.ref.mul(lrOverBc1.ref).div(np.sqrt(vi.ref).mul(invSqrtBc2.ref).add(eps));
      const decayed = weightDecay === 0 ? params.w[i] : params.w[i].mul(1 - lr * weightDecay);
      out.w.push(decayed.sub(upd));
      outM.w.push(mi);
      outV.w.push(vi);
    }
    lrOverBc1.dispose();
    invSqrtBc2.dispose();
    return [loss, out, outM, outV];
  };
  return useJit ? jit(step) : Object.assign(step, { dispose() {} });
}

/** Row-major [out, in] (PyTorch's layout) → [in, out] Float32Array. */
export function transposed(values, rows, cols) {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = values[r * cols + c];
  return t;
}

/** The training inputs: one-hot [N, 2p] of (a, b), its rows (a, p + b) as int32 [N] each
 *  (`rows.a`, `rows.b`), and one-hot [N, p] of (a + b) mod p. */
export function oneHotData(train, p) {
  const N = train.length;
  const x = new Float32Array(N * 2 * p), rows = { a: new Int32Array(N), b: new Int32Array(N) }, y = new Float32Array(N * p);
  train.forEach((idx, i) => {
    const a = Math.floor(idx / p), b = idx % p;
    x[i * 2 * p + a] = 1;
    x[i * 2 * p + p + b] = 1;
    rows.a[i] = a;
    rows.b[i] = p + b;
    y[i * p + ((a + b) % p)] = 1;
  });
  return { x, rows, y, N };
}
