"""Peer vectors for the npm package's ComputeContext (tests/npm/compute.test.mjs in Node on the CPU
path, tests/browser/compute.test.mjs in Chromium on WebGPU).

numpy (float64 arithmetic on float32-rounded inputs) computes:
  matmul       C = op(A) @ op(B) (+ bias) (then max(C, 0)), for the plain, Aᵀ, Bᵀ and bias+ReLU cases
  softmax      exp(x - max) / sum, per row;  log-softmax  x - max - log(sum exp(x - max))
  StableMax    s(x) / sum s,  s(x) = x + 1 (x >= 0), 1 / (1 - x) (x < 0)  (Prieto et al. 2025, Def. 4)
  log-StableMax  log(s(x)) - log(sum s)
  cross-entropy  loss_r = -log p_r[y_r]; gradient: softmax p - onehot(y);
                 StableMax  s'(x)/sum s - onehot(y) s'(x_y)/s(x_y),  s'(x) = 1 (x >= 0), s(x)^2 (x < 0)
  reductions   np.sum / np.max / np.argmax / np.mean per row
Inputs come from numpy's PCG64 with a fixed seed, rounded to float32 and stored, so both sides use the
same float32 values.

Run: python3 -m venv /tmp/venv-k && /tmp/venv-k/bin/pip install numpy
     /tmp/venv-k/bin/python tests/vectors/kernels.py   (from the repository root)
Writes tests/vectors/kernels.json next to this script.
"""

import json
import pathlib

import numpy as np

rng = np.random.default_rng(20261127)


def f32(shape, lo=-3.0, hi=3.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def lst(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def s(x):
    return np.where(x >= 0, x + 1.0, 1.0 / (1.0 - np.minimum(x, 0.0)))


def ds(x):
    return np.where(x >= 0, 1.0, s(x) ** 2)


m, k, n = 3, 5, 4
a = f32((m, k))
b = f32((k, n))
bias = f32((n,))
A, B, BIAS = a.astype(np.float64), b.astype(np.float64), bias.astype(np.float64)
matmul = [
    {"name": "plain", "a": lst(a), "b": lst(b), "m": m, "k": k, "n": n, "options": {},
     "c": lst(A @ B)},
    {"name": "transposeA", "a": lst(a.T.copy()), "b": lst(b), "m": m, "k": k, "n": n,
     "options": {"transposeA": True}, "c": lst(A @ B)},
    {"name": "transposeB", "a": lst(a), "b": lst(b.T.copy()), "m": m, "k": k, "n": n,
     "options": {"transposeB": True}, "c": lst(A @ B)},
    {"name": "bias+relu", "a": lst(a), "b": lst(b), "m": m, "k": k, "n": n,
     "options": {"bias": lst(bias), "relu": True}, "c": lst(np.maximum(A @ B + BIAS, 0.0))},
]

rows, cols = 4, 7
x32 = f32((rows, cols), -6.0, 6.0)
x = x32.astype(np.float64)
shift = x - x.max(axis=1, keepdims=True)
e = np.exp(shift)
softmax = e / e.sum(axis=1, keepdims=True)
log_softmax = shift - np.log(e.sum(axis=1, keepdims=True))
sx = s(x)
stablemax = sx / sx.sum(axis=1, keepdims=True)
log_stablemax = np.log(sx) - np.log(sx.sum(axis=1, keepdims=True))
labels = rng.integers(0, cols, size=rows)
onehot = np.eye(cols)[labels]
idx = np.arange(rows)
ce = {
    "labels": [int(v) for v in labels],
    "softmax": {"loss": lst(-log_softmax[idx, labels]), "grad": lst(softmax - onehot)},
    "stablemax": {
        "loss": lst(-log_stablemax[idx, labels]),
        "grad": lst(ds(x) / sx.sum(axis=1, keepdims=True)
                    - onehot * (ds(x) / sx)[idx, labels][:, None]),
    },
}
reduce = {
    "sum": lst(x.sum(axis=1)),
    "max": lst(x.max(axis=1)),
    "argmax": lst(x.argmax(axis=1)),
    "mean": lst(x.mean(axis=1)),
    "sumAll": float(x.sum()),
}

out = {
    "source": "numpy " + np.__version__ + ", tests/vectors/kernels.py",
    "matmul": matmul,
    "rows": {"data": lst(x32), "cols": cols, "softmax": lst(softmax), "logSoftmax": lst(log_softmax),
             "stablemax": lst(stablemax), "logStablemax": lst(log_stablemax)},
    "crossEntropy": ce,
    "reduce": reduce,
}
path = pathlib.Path(__file__).with_name("kernels.json")
path.write_text(json.dumps(out, indent=1) + "\n")
print("wrote", path)
