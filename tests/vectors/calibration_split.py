#!/usr/bin/env python3
"""Reference values for the Calibrate method comparison (scalelab_core::calibrate::methods) on
netcal's `lenet-5-cifar-10.npz` (`$SCALELAB_REFDATA/calibration/netcal`), written with numpy,
scipy and scikit-learn only — not scalelab's code.

Logits z = ln p (p read as float64). Split: the first 3000 rows calibrate, the other 7000 test (a
fixed split, so no random generator is involved). Every method is fitted on the calibration rows
and scored on the test rows: accuracy, mean NLL, Brier summed over classes (full-distribution
methods only), and top-label ECE, MCE and RMS with 15 equal-width (lo, hi] bins.

  * uncalibrated: softmax(z);
  * temperature: T* = argmin of the calibration mean NLL, scipy.optimize.minimize_scalar
    (method="bounded", bounds=(0.05, 20), xatol=1e-12);
  * vector / matrix scaling (Guo et al. 2017) with the L2 penalty λ = 0.01 towards the identity map,
    F = mean NLL + λ (‖w − 1‖² + ‖b‖²) (vector) or λ (‖W − I‖²_F + ‖b‖²) (matrix), minimised with
    scipy L-BFGS-B (exact gradient, gtol 1e-12) and then Newton steps with the exact Hessian while
    they lower the gradient's max-norm; the final max-norm is recorded;
  * histogram binning: 15 equal-width (lo, hi] bins of the calibration top-label confidence, each
    mapped to its calibration accuracy (an empty bin to its mid-point);
  * isotonic: sklearn IsotonicRegression(out_of_bounds="clip") of correctness on confidence.

  python3 -m venv /tmp/venv-cal && /tmp/venv-cal/bin/pip install numpy scipy scikit-learn
  /tmp/venv-cal/bin/python tests/vectors/calibration_split.py > tests/vectors/calibration_split.json
"""

import json
import os
import sys

import numpy as np
import scipy
import sklearn
from scipy.optimize import minimize, minimize_scalar
from sklearn.isotonic import IsotonicRegression

M = 15
EDGES = [m / M for m in range(M + 1)]
LAMBDA = 0.01


def softmax(s):
    s = s - s.max(axis=1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=1, keepdims=True)


def mean_nll(s, y):
    m = s.max(axis=1)
    lse = m + np.log(np.exp(s - m[:, None]).sum(axis=1))
    return float(np.mean(lse - s[np.arange(len(y)), y]))


def errors(conf, correct):
    n = len(conf)
    ece, mce, sq = 0.0, 0.0, 0.0
    for m in range(M):
        sel = (conf > EDGES[m]) & (conf <= EDGES[m + 1])
        if sel.any():
            gap = abs(correct[sel].mean() - conf[sel].mean())
            ece += sel.sum() / n * gap
            sq += sel.sum() / n * gap**2
            mce = max(mce, gap)
    return {"ece": float(ece), "mce": float(mce), "rms": float(np.sqrt(sq))}


def distribution_scores(s, y):
    q = softmax(s)
    pred = q.argmax(axis=1)
    correct = (pred == y).astype(float)
    onehot = np.zeros_like(q)
    onehot[np.arange(len(y)), y] = 1
    out = {
        "accuracy": float(correct.mean()),
        "nll": mean_nll(s, y),
        "brier": float(((q - onehot) ** 2).sum(axis=1).mean()),
    }
    out.update(errors(q.max(axis=1), correct))
    return out


class Scaling:
    def __init__(self, z, y, kind):
        self.z, self.y, self.kind = z, y, kind
        self.n, self.k = z.shape
        self.onehot = np.zeros_like(z)
        self.onehot[np.arange(self.n), y] = 1
        k = self.k
        self.one = np.ones(k) if kind == "vector" else np.eye(k)
        self.theta0 = np.r_[self.one.ravel(), np.zeros(k)]

    def split(self, t):
        k = self.k
        return (t[:k], t[k:]) if self.kind == "vector" else (t[: k * k].reshape(k, k), t[k * k:])

    def logits(self, t, z=None):
        z = self.z if z is None else z
        a, b = self.split(t)
        return (z * a + b) if self.kind == "vector" else (z @ a.T + b)

    def f(self, t):
        a, b = self.split(t)
        return mean_nll(self.logits(t), self.y) + LAMBDA * float(np.sum((a - self.one) ** 2) + np.sum(b**2))

    def grad(self, t):
        g = (softmax(self.logits(t)) - self.onehot) / self.n
        a, b = self.split(t)
        ga = (g * self.z).sum(axis=0) if self.kind == "vector" else g.T @ self.z
        return np.r_[ga.ravel(), g.sum(axis=0)] + 2 * LAMBDA * np.r_[(a - self.one).ravel(), b]

    def hess(self, t):
        q = softmax(self.logits(t))
        n, k = self.n, self.k
        S = -q[:, :, None] * q[:, None, :]
        S[:, np.arange(k), np.arange(k)] += q
        if self.kind == "vector":
            z = self.z
            hww = np.einsum("ikl,ik,il->kl", S, z, z) / n
            hwb = np.einsum("ikl,ik->kl", S, z) / n
            hbb = S.sum(axis=0) / n
            H = np.block([[hww, hwb], [hwb.T, hbb]])
        else:
            X = np.c_[self.z, np.ones(n)]
            XX = (X[:, :, None] * X[:, None, :]).reshape(n, -1)
            H4 = (S.reshape(n, -1).T @ XX / n).reshape(k, k, k + 1, k + 1).transpose(0, 2, 1, 3)
            H4 = H4.reshape(k * (k + 1), k * (k + 1))
            perm = [kk * (k + 1) + j for kk in range(k) for j in range(k)] + [kk * (k + 1) + k for kk in range(k)]
            H = H4[np.ix_(perm, perm)]
        return H + 2 * LAMBDA * np.eye(len(t))

    def fit(self):
        res = minimize(self.f, self.theta0, jac=self.grad, method="L-BFGS-B",
                       options={"maxiter": 20000, "maxfun": 40000, "gtol": 1e-12, "ftol": 0})
        t, g = res.x, float(np.max(np.abs(self.grad(res.x))))
        for _ in range(30):
            t_new = t + np.linalg.solve(self.hess(t), -self.grad(t))
            g_new = float(np.max(np.abs(self.grad(t_new))))
            if not g_new < g:
                break
            t, g = t_new, g_new
        return t, g


def top_label(z):
    q = softmax(z)
    return q.max(axis=1), q.argmax(axis=1)


def main():
    root = os.environ.get("SCALELAB_REFDATA", os.path.join(os.path.dirname(__file__), "../../../shared/refdata"))
    with np.load(os.path.join(root, "calibration/netcal/lenet-5-cifar-10.npz"), allow_pickle=False) as d:
        p = d["predictions"].astype(np.float64)
        y = d["ground_truth"].astype(np.int64)
    z = np.log(p)
    cal, test = slice(0, 3000), slice(3000, None)
    zc, yc, zt, yt = z[cal], y[cal], z[test], y[test]
    out = {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__,
           "calibration_rows": 3000, "test_rows": int(len(yt)), "lambda": LAMBDA, "methods": {}}

    out["methods"]["uncalibrated"] = distribution_scores(zt, yt)

    t = minimize_scalar(lambda T: mean_nll(zc / T, yc), bounds=(0.05, 20), method="bounded",
                        options={"xatol": 1e-12}).x
    out["methods"]["temperature"] = {"temperature": float(t), **distribution_scores(zt / t, yt)}

    for kind in ["vector", "matrix"]:
        prob = Scaling(zc, yc, kind)
        theta, g = prob.fit()
        out["methods"][f"{kind}_scaling"] = {"grad_max_norm": g, **distribution_scores(prob.logits(theta, zt), yt)}
        print(kind, g, file=sys.stderr)

    cc, pc = top_label(zc)
    ct, pt = top_label(zt)
    okc, okt = (pc == yc).astype(float), (pt == yt).astype(float)
    values = []
    for m in range(M):
        sel = (cc > EDGES[m]) & (cc <= EDGES[m + 1])
        values.append(okc[sel].mean() if sel.any() else (EDGES[m] + EDGES[m + 1]) / 2)
    binned = np.array([values[next(m for m in range(M) if c <= EDGES[m + 1])] if c > 0 else values[0] for c in ct])
    out["methods"]["histogram_binning"] = {"accuracy": float(okt.mean()), **errors(binned, okt)}

    iso = IsotonicRegression(out_of_bounds="clip").fit(cc, okc)
    out["methods"]["isotonic"] = {"accuracy": float(okt.mean()), **errors(iso.predict(ct), okt)}

    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
