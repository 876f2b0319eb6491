#!/usr/bin/env python3
"""Reference values for probabilities with exact zeros (scalelab_core::calibrate::ScoreRows), written
with numpy and scipy only — not scalelab's code.

The data are made here (seeded): 300 rows of 6 classes, softmax of normal logits times 3 plus 2.5 on the label, then in
each row every class but the label is set to exactly 0 with probability 0.3 and the row divided
by its sum (zeros stay 0); the first 20 rows are made one-hot on their label (a confidence of
exactly 1). Every label keeps a positive probability. Logits are z = ln p with
ln 0 = −∞ (numpy). At T = 1 the metrics read p as given (what torchmetrics and netcal read); at
T the softmax of z / T (scipy.special.softmax / log_softmax, which give −∞ logits the probability
0 exactly).

  * T* = argmin of the mean NLL over T: scipy.optimize.minimize_scalar(method="bounded",
    bounds=(0.05, 20)) brackets it (to ~1e-8, that method's limit), then scipy.optimize.brentq
    finds the root of the exact derivative in β = 1/T, mean(E_p[z] − z_y) (a −∞ logit has p = 0
    and adds nothing), to xtol 1e-15;
  * NLL, Brier summed over classes, top-label ECE with 15 equal-width (lo, hi] bins, and the
    class-wise ECE (each class's probabilities in the same bins; a probability of exactly 0 is in
    no (lo, hi] bin but counts in n), at T = 1 and at T*;
  * the bin-edge example of science.md §7 item 12 as probability rows is in the Rust test itself
    (its expected values are the published ones).

  python3 -m venv /tmp/venv-cal && /tmp/venv-cal/bin/pip install numpy scipy
  /tmp/venv-cal/bin/python tests/vectors/calibration_zeros.py > tests/vectors/calibration_zeros.json
"""

import json
import sys

import numpy as np
import scipy
import scipy.optimize
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

M = 15
N, K = 300, 6
rng = np.random.default_rng(20261202)
labels = rng.integers(0, K, N)
p = softmax(3.0 * rng.standard_normal((N, K)) + 2.5 * np.eye(K)[labels], axis=1)
zero = rng.random((N, K)) < 0.3
zero[np.arange(N), labels] = False
p[zero] = 0.0
p /= p.sum(axis=1, keepdims=True)
p[:20] = 0.0
p[np.arange(20), labels[:20]] = 1.0
assert (p[np.arange(N), labels] > 0).all() and (p == 0).any()
z = np.log(np.where(p > 0, p, 1.0))
z[p == 0] = -np.inf


def probs(t):
    return p if t == 1.0 else softmax(z / t, axis=1)


def nll(t):
    if t == 1.0:
        return float(-np.log(p[np.arange(N), labels]).mean())
    return float(-log_softmax(z / t, axis=1)[np.arange(N), labels].mean())


def ece_upper_closed(conf, correct):
    total = 0.0
    for b in range(M):
        lo, hi = b / M, (b + 1) / M
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            total += mask.sum() / len(conf) * abs(correct[mask].mean() - conf[mask].mean())
    return float(total)


def metrics(t):
    q = probs(t)
    pred = q.argmax(axis=1)
    conf = q[np.arange(N), pred]
    correct = (pred == labels).astype(float)
    onehot = np.eye(K)[labels]
    return {
        "nll": nll(t),
        "brier": float(((q - onehot) ** 2).sum(axis=1).mean()),
        "ece": ece_upper_closed(conf, correct),
        "classwise_ece": float(np.mean([ece_upper_closed(q[:, k], onehot[:, k]) for k in range(K)])),
        "accuracy": float(correct.mean()),
    }


res = minimize_scalar(lambda t: -log_softmax(z / t, axis=1)[np.arange(N), labels].mean(),
                      method="bounded", bounds=(0.05, 20), options={"xatol": 1e-12})


def dnll_dbeta(beta):
    q = softmax(beta * z, axis=1)
    zf = np.where(np.isfinite(z), z, 0.0)
    return float(((q * zf).sum(axis=1) - z[np.arange(N), labels]).mean())


b0 = 1.0 / res.x
t_star = float(1.0 / scipy.optimize.brentq(dnll_dbeta, 0.9 * b0, 1.1 * b0, xtol=1e-15, rtol=1e-15))
json.dump({
    "source": f"tests/vectors/calibration_zeros.py (numpy {np.__version__}, scipy {scipy.__version__})",
    "classes": K,
    "probabilities": p.reshape(-1).tolist(),
    "labels": labels.tolist(),
    "zeros": int((p == 0).sum()),
    "temperature": t_star,
    "before": metrics(1.0),
    "after": metrics(t_star),
}, sys.stdout, indent=1)
sys.stdout.write("\n")
