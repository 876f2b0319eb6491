#!/usr/bin/env python3
"""Reference values for the Calibrate core on netcal's four example `.npz` files
(`$SCALELAB_REFDATA/calibration/netcal`, README there), computed with numpy and scipy only — an
independent implementation of each convention, not scalelab's code.

For each file (predictions = float32 softmax rows, read as float64; logits z = ln p):
  * T*: the mean NLL of softmax(z/T) minimised over all rows with
    scipy.optimize.minimize_scalar(method="bounded", bounds=(0.05, 20), xatol=1e-12) in T;
  * at T = 1 and at T*: accuracy, mean NLL, Brier summed over classes, top-label ECE and MCE with 15
    equal-width bins under each edge convention — (lo, hi] (Guo/gpleiss), [lo, hi) plus a bin for
    conf = 1 (torchmetrics), [lo, hi) with the last closed (numpy.histogram), the same after clipping
    to [eps, 1 − eps] (netcal) and netcal's ACE (unweighted mean over non-empty bins) —, RMS (l2) with
    (lo, hi], equal-mass ECE with 15 bins (sorted; boundary ranks round(j·n/15) moved to the end of a
    run of equal confidences), class-wise ECE with (lo, hi] and Nixon et al.'s adaptive CE (15
    equal-mass ranges per class, mean over ranges).
Edges are m/15 computed in Python (correctly rounded).

  python3 -m venv /tmp/venv-cal && /tmp/venv-cal/bin/pip install numpy scipy
  /tmp/venv-cal/bin/python tests/vectors/calibration_netcal.py > tests/vectors/calibration_netcal.json
"""

import json
import os
import sys

import numpy as np
import scipy
from scipy.optimize import minimize_scalar

M = 15
FILES = [
    "wideresnet-16-4-cifar-10.npz",
    "lenet-5-cifar-10.npz",
    "densenet-bc-100-cifar-100.npz",
    "wideresnet-16-4-cifar-100.npz",
]
EDGES = np.array([m / M for m in range(M + 1)])


def softmax(z, t):
    a = z / t
    a = a - a.max(axis=1, keepdims=True)
    e = np.exp(a)
    return e / e.sum(axis=1, keepdims=True)


def nll(z, y, t):
    a = z / t
    m = a.max(axis=1)
    lse = m + np.log(np.exp(a - m[:, None]).sum(axis=1))
    return float(np.mean(lse - a[np.arange(len(y)), y]))


def binned(conf, outcome, idx, nbins):
    n = len(conf)
    gaps, weights = [], []
    for b in range(nbins):
        sel = idx == b
        c = int(sel.sum())
        if c:
            gaps.append(abs(outcome[sel].mean() - conf[sel].mean()))
            weights.append(c / n)
    gaps, weights = np.array(gaps), np.array(weights)
    return {
        "ece": float((gaps * weights).sum()),
        "mce": float(gaps.max()),
        "rms": float(np.sqrt((gaps**2 * weights).sum())),
        "ace": float(gaps.mean()),
    }


def upper_closed(conf):
    idx = np.full(len(conf), -1)
    for m in range(M):
        idx[(conf > EDGES[m]) & (conf <= EDGES[m + 1])] = m
    return idx


def lower_closed_extra(conf):
    return np.searchsorted(EDGES, conf, side="right") - 1


def lower_closed(conf):
    return np.minimum(np.searchsorted(EDGES, conf, side="right") - 1, M - 1)


def equal_mass(conf):
    n = len(conf)
    order = np.argsort(conf, kind="stable")
    s = conf[order]
    idx = np.empty(n, dtype=int)
    start, b = 0, 0
    for j in range(1, M + 1):
        end = min(max(int(round(j * n / M)), start), n)
        while 0 < end < n and s[end] == s[end - 1]:
            end += 1
        if end > start:
            idx[order[start:end]] = b
            b += 1
            start = end
    return idx, b


def metrics(z, y, t):
    p = softmax(z, t)
    pred = p.argmax(axis=1)
    conf = p.max(axis=1)
    correct = (pred == y).astype(float)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1
    eps = np.finfo(float).eps
    clipped = np.clip(conf, eps, 1 - eps)
    em_idx, em_bins = equal_mass(conf)
    out = {
        "accuracy": float(correct.mean()),
        "nll": nll(z, y, t),
        "brier": float(((p - onehot) ** 2).sum(axis=1).mean()),
        "upper_closed": binned(conf, correct, upper_closed(conf), M),
        "lower_closed_extra_bin": binned(conf, correct, lower_closed_extra(conf), M + 1),
        "lower_closed": binned(conf, correct, lower_closed(conf), M),
        "netcal": binned(clipped, correct, lower_closed(clipped), M),
        "equal_mass": binned(conf, correct, em_idx, em_bins),
    }
    k = p.shape[1]
    cw, ada, ranges = 0.0, 0.0, 0
    for c in range(k):
        pc, oc = p[:, c], (y == c).astype(float)
        cw += binned(pc, oc, upper_closed(pc), M)["ece"] if (pc > 0).any() else 0.0
        idx, nb = equal_mass(pc)
        for b in range(nb):
            sel = idx == b
            ada += abs(oc[sel].mean() - pc[sel].mean())
            ranges += 1
    out["classwise_ece"] = cw / k
    out["adaptive_ce"] = ada / ranges
    return out


def main():
    root = os.environ.get("SCALELAB_REFDATA", os.path.join(os.path.dirname(__file__), "../../../shared/refdata"))
    result = {"numpy": np.__version__, "scipy": scipy.__version__, "bins": M, "files": {}}
    for f in FILES:
        with np.load(os.path.join(root, "calibration/netcal", f), allow_pickle=False) as d:
            p = d["predictions"].astype(np.float64)
            y = d["ground_truth"].astype(np.int64)
        z = np.log(p)
        opt = minimize_scalar(lambda t: nll(z, y, t), bounds=(0.05, 20), method="bounded", options={"xatol": 1e-12})
        result["files"][f] = {
            "temperature": float(opt.x),
            "before": metrics(z, y, 1.0),
            "after": metrics(z, y, float(opt.x)),
        }
        print(f, opt.x, file=sys.stderr)
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
