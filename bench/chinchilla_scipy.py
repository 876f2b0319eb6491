#!/usr/bin/env python3
"""Chinchilla Approach 3 (Hoffmann et al. 2022) as Epoch AI replicated it, with scipy: the peer of
scalelab's `fit::hoffmann::fit_hoffmann` (crates/scalelab-core/src/fit/hoffmann.rs).

Epoch's procedure (epoch-research/analyzing-chinchilla, data_analysis.ipynb, "Replicate exactly";
science.md 4b):
  * data: svg_extracted_data.csv, D = C / (6 N), keep rows with loss < sorted(loss)[-5] (240 points);
  * objective: sum over points of Huber_delta(LSE(a - alpha ln N, b - beta ln D, e) - ln L),
    delta = 1e-3, with the LSE written as ln(exp(.) + exp(.) + exp(e)) as in the notebook;
  * for every start of the grid alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1},
    a, b in {0, 5, ..., 25}, in itertools.product(alpha, beta, e, a, b) order (4500 starts):
    scipy.optimize.minimize(objective, [a, b, e, alpha, beta], method='L-BFGS-B') with no jac
    (finite-difference gradients) and scipy's default tolerances;
  * keep the lowest result.fun among result.success.

`--every K` runs every K-th start (0, K, 2K, ...), the same subset as
`cargo run --release -p scalelab-core --example chinchilla_grid -- --every K`. With `--ours FILE`
(the `--json` line of that example) it writes the comparison table to `--out`.

Setup and run (data from ../shared/refdata/chinchilla, or $SCALELAB_REFDATA/chinchilla):
  python3 -m venv /tmp/venv-fit3 && /tmp/venv-fit3/bin/pip install numpy scipy
  cargo run --release -p scalelab-core --example chinchilla_grid -- --every 10 --repeat 5 --json > /tmp/ours.json
  /tmp/venv-fit3/bin/python bench/chinchilla_scipy.py --every 10 --ours /tmp/ours.json --out /tmp/chinchilla_table.md
(run the two one after the other, never in parallel).
"""

import os

# One thread, like the Rust side: OpenBLAS's helper threads otherwise spin on the second core.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv
import itertools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DELTA = 1e-3


def load_points():
    base = os.environ.get("SCALELAB_REFDATA", os.path.join(HERE, "..", "..", "shared", "refdata"))
    path = os.path.join(base, "chinchilla", "svg_extracted_data.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    n = np.array([float(r["Model Size"]) for r in rows])
    c = np.array([float(r["Training FLOP"]) for r in rows])
    loss = np.array([float(r["loss"]) for r in rows])
    d = c / (6.0 * n)
    keep = loss < sorted(loss)[-5]
    return n[keep], d[keep], loss[keep]


def log_sum_exp(a, b, e, alpha, beta, n, d):
    return np.log(np.exp(a - alpha * np.log(n)) + np.exp(b - beta * np.log(d)) + np.exp(e))


def huber_sum(y_true, y_pred, delta=DELTA):
    diff = y_true - y_pred
    return np.sum(np.where(np.abs(diff) <= delta, 0.5 * diff**2, delta * (np.abs(diff) - 0.5 * delta)))


def objective(params, n, d, loss):
    a, b, e, alpha, beta = params
    return huber_sum(np.log(loss), log_sum_exp(a, b, e, alpha, beta, n, d))


def grid():
    alpha_vals = np.arange(0, 2.5, 0.5)
    beta_vals = np.arange(0, 2.5, 0.5)
    e_vals = np.arange(-1, 1.5, 0.5)
    a_vals = np.arange(0, 30, 5)
    b_vals = np.arange(0, 30, 5)
    return [
        [a, b, e, alpha, beta]
        for alpha, beta, e, a, b in itertools.product(alpha_vals, beta_vals, e_vals, a_vals, b_vals)
    ]


def run(starts, n, d, loss):
    best = (np.inf, None, None, None)
    successes = 0
    nfev = 0
    t0 = time.perf_counter()
    for index, init in enumerate(starts):
        result = minimize(objective, init, args=(n, d, loss), method="L-BFGS-B")
        nfev += result.nfev
        successes += bool(result.success)
        if result.success and result.fun < best[0]:
            best = (result.fun, result.x, index, init)
    seconds = time.perf_counter() - t0
    return seconds, best, successes, nfev


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--every", type=int, default=1, help="run every K-th start of the grid")
    ap.add_argument("--ours", help="JSON line from the chinchilla_grid example (--json)")
    ap.add_argument("--out", default="/tmp/chinchilla_table.md")
    args = ap.parse_args()

    warnings.filterwarnings("ignore", category=RuntimeWarning)
    n, d, loss = load_points()
    assert len(n) == 240, len(n)
    starts = grid()[:: max(1, args.every)]
    seconds, (fun, x, index, init), successes, nfev = run(starts, n, d, loss)
    a, b, e, alpha, beta = x
    scipy_res = {
        "seconds": seconds,
        "objective": fun,
        "A": float(np.exp(a)),
        "B": float(np.exp(b)),
        "E": float(np.exp(e)),
        "alpha": float(alpha),
        "beta": float(beta),
        "success": successes,
        "nfev": nfev,
        "best_start": [float(v) for v in init],
        "best_index": index * max(1, args.every),
    }
    print(
        f"scipy {scipy.__version__} / numpy {np.__version__}: {len(starts)} starts (every {args.every}) "
        f"in {seconds:.2f} s; {successes} success; {nfev} objective evaluations"
    )
    print(
        f"objective {fun:.10e}; A = {scipy_res['A']:.3f}, B = {scipy_res['B']:.3f}, E = {scipy_res['E']:.5f}, "
        f"alpha = {alpha:.5f}, beta = {beta:.5f}; best start #{scipy_res['best_index']} {scipy_res['best_start']}"
    )
    if not args.ours:
        return
    with open(args.ours) as f:
        ours = json.loads(f.read().strip().splitlines()[-1])
    if ours["starts"] != len(starts) or ours["every"] != max(1, args.every):
        sys.exit(f"--ours ran {ours['starts']} starts (every {ours['every']}), not the same subset")
    ratio = seconds / ours["seconds_best"]
    lines = [
        f"Chinchilla Approach 3 on Epoch's 240 points, Huber delta = 1e-3 (sum), "
        + (
            "all 4500 starts of the grid."
            if args.every <= 1
            else f"{len(starts)} starts of the 4500-start grid (every {args.every}th)."
        ),
        "",
        "| | time | starts converged | objective evaluations | objective | A | B | E | alpha | beta |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| scipy {scipy.__version__} L-BFGS-B (finite-difference gradient) | {seconds:.2f} s | {successes} | {nfev} | "
        f"{fun:.10e} | {scipy_res['A']:.3f} | {scipy_res['B']:.3f} | {scipy_res['E']:.5f} | {alpha:.5f} | {beta:.5f} |",
        f"| scalelab L-BFGS (exact gradient), native release (best of runs; median "
        f"{ours['seconds_median']:.3f} s) | {ours['seconds_best']:.3f} s | {ours['converged_starts']} | "
        f"{ours['evaluations']} | {ours['objective']:.10e} | {ours['A']:.3f} | {ours['B']:.3f} | {ours['E']:.5f} | "
        f"{ours['alpha']:.5f} | {ours['beta']:.5f} |",
        "",
        f"Ratio scipy / ours (time): **{ratio:.0f}x**. Epoch's notebook: objective 0.0010182740, A = 477.84, "
        "B = 2143.86, E = 1.8172, alpha = 0.34731, beta = 0.36718.",
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
