#!/usr/bin/env python3
"""The scipy peer of the Fit page's paste-to-fit benchmark (bench/loss_curve_paste.mjs): the same
`step,lr,loss` CSV files read with numpy and fitted with scipy, as a researcher would script it.

For each curve_<rows>.csv in DIR (written by the page benchmark) and each law:
  * read: numpy.loadtxt(delimiter=",", skiprows=1);
  * areas over every step, the papers' warmup convention as the page uses it (the warmup = the
    initial strict rise of the rates; the momentum and the multi-power sum start after it):
    S1 = cumsum(lr); Tissue et al.'s S2 = cumsum(m), m_s = λ m_{s−1} + (η_{s−1} − η_s) from the
    first step after the warmup (scipy.signal.lfilter), λ = 0.999;
  * Tissue et al.: start values as the page derives them (α = 0.5 fixed, L0, A, C by linear least
    squares), then scipy.optimize.least_squares(method="lm") with the analytic Jacobian;
  * multi-power law (Luo et al. 2025), L = L0 + A·S1^(−α) + B·Σ_m Δη_m (1 − (1 + C η_m^(−γ) S_m(s))^(−β))
    over the counted changes m ≤ s, from the reference parameters with L0 = 0.8·min L (the page's
    start), least_squares(method="lm") with its default 2-point Jacobian (the sum is vectorised
    over the changes, one observation at a time).
Times are wall-clock, read to fit done, best of 3 (1 above 10⁵ rows or when a run takes over 10 s).
Merges the page's results.json and prints the BENCHMARKS.md table.

  python3 -m venv /tmp/venv-fit && /tmp/venv-fit/bin/pip install numpy scipy
  /tmp/venv-fit/bin/python bench/loss_curve_scipy.py [DIR]
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.optimize import least_squares  # noqa: E402
from scipy.signal import lfilter  # noqa: E402

LAMBDA = 0.999
LUO_100M = [2.6514477, 0.60115152, 0.45295811, 437.9464276, 2.13245612, 0.59785199, 0.65523644]


def warmup_steps(lr):
    """Number of steps of the initial strict rise (0 when the rates do not rise first)."""
    rises = np.flatnonzero(np.diff(lr) <= 0)
    w = (rises[0] + 1) if rises.size else lr.size
    return int(w) if w > 1 else 0


def tissue(step, lr, loss):
    w = warmup_steps(lr)
    s1 = np.cumsum(lr)
    drop = np.zeros_like(lr)
    drop[w:] = lr[w - 1:-1] - lr[w:] if w > 0 else np.concatenate([[0.0], lr[:-1] - lr[1:]])
    s2 = np.cumsum(lfilter([1.0], [1.0, -LAMBDA], drop))
    k = step.astype(np.int64) - 1
    S1, S2 = s1[k], s2[k]
    design = np.column_stack([np.ones_like(S1), S1 ** -0.5, -S2])
    c, *_ = np.linalg.lstsq(design, loss, rcond=None)
    x0 = [c[0], c[1], 0.5, c[2]]

    def resid(t):
        return t[0] + t[1] * S1 ** -t[2] - t[3] * S2 - loss

    def jac(t):
        p = S1 ** -t[2]
        return np.column_stack([np.ones_like(p), p, -t[1] * p * np.log(S1), -S2])

    return least_squares(resid, x0, jac=jac, method="lm")


def multi_power(step, lr, loss):
    w = warmup_steps(lr)
    s1 = np.cumsum(lr)
    first = max(w, 1)  # 0-based index of the first counted change
    idx = np.arange(first, lr.size)
    idx = idx[lr[idx] != lr[idx - 1]]
    delta = lr[idx] - lr[idx - 1]
    ln_lr = np.log(lr[idx])
    before = s1[idx - 1]
    k = step.astype(np.int64) - 1
    counts = np.searchsorted(idx, k, side="right")
    x0 = list(LUO_100M)
    x0[0] = 0.8 * loss.min()

    def resid(t):
        l0, a, alpha, b, c, beta, gamma = t
        out = l0 + a * s1[k] ** -alpha - loss
        lr_pow = np.exp(-gamma * ln_lr)
        for j in range(k.size):
            n = counts[j]
            if n:
                x = c * lr_pow[:n] * (s1[k[j]] - before[:n])
                out[j] += b * np.dot(delta[:n], 1.0 - (1.0 + x) ** -beta)
        return out

    return least_squares(resid, x0, method="lm")


def best_time(fn, repeat):
    """Best of `repeat` runs (one when a run takes over 10 s)."""
    best, res = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t0)
        if best > 10:
            break
    return best, res


def secs(t):
    return f"{t * 1000:.1f} ms" if t < 1 else f"{t:.2f} s"


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SCALELAB_BENCH_DIR", "/tmp/scalelab-loss-curves")
    page = json.load(open(os.path.join(d, "results.json")))
    laws = {"lr_annealing": tissue, "multi_power_law": multi_power}
    print(f"scipy {scipy.__version__}, numpy {np.__version__}")
    print("| law | rows | page: read | page: paste → fit done | longest main-thread task | scipy: read | scipy: read → fit done | **page / scipy** |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in page:
        law, rows = r["law"], r["rows"]
        if r.get("skipped"):
            print(f"| {law} | {rows} | not run (O(rows × rate changes)) | | | | | |")
            continue
        path = os.path.join(d, f"curve_{rows}.csv")
        repeat = 3 if rows <= 100_000 else 1

        def read():
            return np.loadtxt(path, delimiter=",", skiprows=1)

        t_read, data = best_time(read, repeat)

        def fit():
            a = read()
            return laws[law](a[:, 0], a[:, 1], a[:, 2])

        t_fit, res = best_time(fit, repeat)
        ours = r["done"] / 1000 if r.get("done") is not None else None
        ratio = f"**{ours / t_fit:.2f}**" if ours else "—"
        print(f"| {law} | {rows} | {secs(r['read'] / 1000)} | {secs(ours)} | {r['longest']:.0f} ms | {secs(t_read)} | {secs(t_fit)} | {ratio} |", flush=True)
        print(f"<!-- {law} {rows}: page {r.get('state')} {json.dumps(r.get('params'))}; scipy status {res.status} x {np.round(res.x, 6).tolist()} -->")


if __name__ == "__main__":
    main()
