#!/usr/bin/env python3
"""NIST StRD nonlinear regression with scipy.optimize.least_squares(method='lm'): the peer of
scalelab's Levenberg-Marquardt (crates/scalelab-core/src/fit/solvers).

For each of the 27 problems and both NIST starting points it runs
  * `least_squares(fun, x0=start, method='lm')` with scipy's defaults, i.e. the finite-difference
    '2-point' Jacobian and ftol = xtol = gtol = 1e-8, as a scipy user would call it;
  * the same with the analytic Jacobian (`jac=`), derived symbolically by sympy from the model line
    (skipped with a note when sympy is not installed);
and prints per problem/start: the smallest parameter LRE, the RSS LRE and the median time per fit.
LRE = -log10(|est - cert| / |cert|), capped at 11 (the certified values have 11 digits).

With `--ours [LABEL=]FILE` (the JSON written by scalelab's ignored `nist_table` test; repeat it for
several builds, e.g. the workspace release profile and opt-level 3) it also writes the comparison
table (see bench/nist.md) to `--out` (default /tmp/nist_table.md). The first file gives the LRE
columns and the pass/fail check; every file gets a time and a ratio column.

Setup and run (the data are read from ../shared/refdata/nist, or $SCALELAB_REFDATA/nist):
  python3 -m venv /tmp/venv-fit && /tmp/venv-fit/bin/pip install numpy scipy sympy
  SCALELAB_NIST_JSON=/tmp/nist_ours.json cargo test --release -p scalelab-core --test it nist_table \
      -- --ignored --nocapture
  SCALELAB_NIST_JSON=/tmp/nist_ours_o3.json cargo test --release --config profile.release.opt-level=3 \
      -p scalelab-core --test it nist_table -- --ignored --nocapture
  /tmp/venv-fit/bin/python bench/nist_scipy.py --ours "release=/tmp/nist_ours.json" \
      --ours "opt-level 3=/tmp/nist_ours_o3.json" --out /tmp/nist_table.md
"""

import argparse
import json
import math
import os
import sys
import time
import warnings

import numpy as np
import scipy
from scipy.optimize import least_squares

try:
    import sympy
except ImportError:  # the analytic-Jacobian variant is optional
    sympy = None

PROBLEMS = [
    "Misra1a", "Chwirut2", "Chwirut1", "Lanczos3", "Gauss1", "Gauss2", "DanWood", "Misra1b", "Kirby2",
    "Hahn1", "Nelson", "MGH17", "Lanczos1", "Lanczos2", "Gauss3", "Misra1c", "Misra1d", "Roszman1", "ENSO",
    "MGH09", "Thurber", "BoxBOD", "Rat42", "MGH10", "Eckerle4", "Rat43", "Bennett5",
]

# Each file's `Model:` line in sympy syntax (x, or x1 and x2 for Nelson; b1..b9). Nelson's model is
# for log(y): its data y are replaced by log(y).
LANCZOS = "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)"
GAUSS = "b1*exp(-b2*x) + b3*exp(-(x-b4)**2/b5**2) + b6*exp(-(x-b7)**2/b8**2)"
RAT_CUBIC = "(b1 + b2*x + b3*x**2 + b4*x**3) / (1 + b5*x + b6*x**2 + b7*x**3)"
MODELS = {
    "Misra1a": "b1*(1-exp(-b2*x))",
    "Chwirut2": "exp(-b1*x)/(b2+b3*x)",
    "Chwirut1": "exp(-b1*x)/(b2+b3*x)",
    "Lanczos3": LANCZOS,
    "Gauss1": GAUSS,
    "Gauss2": GAUSS,
    "DanWood": "b1*x**b2",
    "Misra1b": "b1*(1-(1+b2*x/2)**(-2))",
    "Kirby2": "(b1 + b2*x + b3*x**2) / (1 + b4*x + b5*x**2)",
    "Hahn1": RAT_CUBIC,
    "Nelson": "b1 - b2*x1*exp(-b3*x2)",
    "MGH17": "b1 + b2*exp(-x*b4) + b3*exp(-x*b5)",
    "Lanczos1": LANCZOS,
    "Lanczos2": LANCZOS,
    "Gauss3": GAUSS,
    "Misra1c": "b1*(1-(1+2*b2*x)**(-1/2))",
    "Misra1d": "b1*b2*x*((1+b2*x)**(-1))",
    "Roszman1": "b1 - b2*x - atan(b3/(x-b4))/pi",
    "ENSO": "b1 + b2*cos(2*pi*x/12) + b3*sin(2*pi*x/12) + b5*cos(2*pi*x/b4) + b6*sin(2*pi*x/b4)"
            " + b8*cos(2*pi*x/b7) + b9*sin(2*pi*x/b7)",
    "MGH09": "b1*(x**2+x*b2) / (x**2+x*b3+b4)",
    "Thurber": RAT_CUBIC,
    "BoxBOD": "b1*(1-exp(-b2*x))",
    "Rat42": "b1 / (1+exp(b2-b3*x))",
    "MGH10": "b1 * exp(b2/(x+b3))",
    "Eckerle4": "(b1/b2) * exp(-(1/2)*((x-b3)/b2)**2)",
    "Rat43": "b1 / ((1+exp(b2-b3*x))**(1/b4))",
    "Bennett5": "b1 * (b2+x)**(-1/b3)",
}


def refdata_dir():
    root = os.environ.get("SCALELAB_REFDATA")
    if root is None:
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "refdata")
    return os.path.join(root, "nist")


def parse(name, text):
    """Starts, certified values, certified RSS and the data (columns y, x...) of one .dat file."""
    lines = [l.rstrip("\r") for l in text.split("\n")]
    start1, start2, cert = [], [], []
    rss = None
    for l in lines:
        t = l.strip()
        if "=" in t:
            lhs, rhs = t.split("=", 1)
            lhs = lhs.strip()
            if len(lhs) >= 2 and lhs[0] == "b" and lhs[1:].isdigit():
                v = [float(s) for s in rhs.split()]
                start1.append(v[0])
                start2.append(v[1])
                cert.append(v[2])
        if t.startswith("Residual Sum of Squares:"):
            rss = float(t.split()[-1])
    at = max(i for i, l in enumerate(lines) if l.strip().startswith("Data:"))
    rows = [[float(s) for s in l.split()] for l in lines[at + 1:] if l.strip()]
    data = np.array(rows)
    return dict(name=name, start1=np.array(start1), start2=np.array(start2), cert=np.array(cert),
                rss=rss, y=data[:, 0], x=data[:, 1:])


def build(prob):
    """Residual function, analytic Jacobian (or None) for scipy."""
    p = len(prob["cert"])
    y = np.log(prob["y"]) if prob["name"] == "Nelson" else prob["y"]
    xs = [prob["x"][:, k] for k in range(prob["x"].shape[1])]
    names = ["x1", "x2"] if len(xs) == 2 else ["x"]
    bs = sympy.symbols(" ".join(f"b{k + 1}" for k in range(p))) if sympy else None
    if sympy is None:
        expr_np = MODELS[prob["name"]].replace("atan", "np.arctan").replace("exp", "np.exp") \
            .replace("cos", "np.cos").replace("sin", "np.sin").replace("pi", "np.pi")
        env = {"np": np}

        def fun(b):
            env.update({f"b{k + 1}": b[k] for k in range(p)})
            env.update(dict(zip(names, xs)))
            with np.errstate(all="ignore"):
                return eval(expr_np, env) - y  # noqa: S307 (fixed strings above)

        return fun, None
    xsym = sympy.symbols(" ".join(names))
    xsym = xsym if isinstance(xsym, tuple) else (xsym,)
    bs = bs if isinstance(bs, tuple) else (bs,)
    expr = sympy.sympify(MODELS[prob["name"]], locals={"pi": sympy.pi})
    f = sympy.lambdify(xsym + bs, expr, "numpy")
    grads = [sympy.lambdify(xsym + bs, sympy.diff(expr, b), "numpy") for b in bs]
    n = len(y)

    def fun(b):
        with np.errstate(all="ignore"):
            return np.broadcast_to(f(*xs, *b), (n,)) - y

    def jac(b):
        with np.errstate(all="ignore"):
            return np.column_stack([np.broadcast_to(g(*xs, *b), (n,)) for g in grads])

    return fun, jac


def lre(est, cert):
    if not np.isfinite(est):
        return 0.0
    rel = abs(est - cert) / abs(cert)
    return 11.0 if rel == 0 else min(11.0, max(0.0, -math.log10(rel)))


def timed(call):
    """Median seconds per call, repeating for >= 20 ms (at least 3 runs)."""
    samples = []
    t_end = time.perf_counter() + 0.02
    while len(samples) < 3 or (time.perf_counter() < t_end and len(samples) < 500):
        t = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t)
    samples.sort()
    return samples[len(samples) // 2]


def run(prob, start, jac):
    fun, ajac = build(prob)
    if jac == "analytic" and ajac is None:
        return None
    x0 = prob["start1"] if start == 1 else prob["start2"]
    kw = dict(x0=x0, method="lm", jac=ajac if jac == "analytic" else "2-point")

    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return least_squares(fun, **kw)
            except Exception as e:  # a failed fit scores 0
                return e

    res = call()
    if isinstance(res, Exception):
        return dict(lre=0.0, rss_lre=0.0, nfev=0, time_s=timed(call), status=f"error: {res}")
    est = res.x
    m = min(lre(e, c) for e, c in zip(est, prob["cert"]))
    rss = float(np.sum(res.fun ** 2))
    return dict(lre=m, rss_lre=lre(rss, prob["rss"]), nfev=int(res.nfev), time_s=timed(call), status=int(res.status))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours", action="append", default=[],
                    help="[LABEL=]FILE: JSON rows from scalelab's nist_table test (repeatable)")
    ap.add_argument("--out", default="/tmp/nist_table.md", help="markdown comparison table")
    args = ap.parse_args()
    d = refdata_dir()
    if not os.path.exists(os.path.join(d, "Misra1a.dat")):
        print(f"SKIPPED (no refdata at {d})")
        return 1 if os.environ.get("CI") == "true" else 0
    print(f"scipy {scipy.__version__}, numpy {np.__version__}, sympy {sympy.__version__ if sympy else 'absent'}")
    print(f"{'problem':<9} {'start':>5} {'jac':>8} | {'LRE':>6} {'RSS':>6} {'nfev':>5} {'time µs':>10} status")
    results = {}
    for name in PROBLEMS:
        with open(os.path.join(d, f"{name}.dat"), encoding="ascii") as fh:
            prob = parse(name, fh.read())
        for start in (1, 2):
            for jac in ("2-point", "analytic"):
                r = run(prob, start, jac)
                results[(name, start, jac)] = r
                if r is None:
                    continue
                print(f"{name:<9} {start:>5} {jac:>8} | {r['lre']:6.2f} {r['rss_lre']:6.2f} {r['nfev']:5d} "
                      f"{r['time_s'] * 1e6:10.1f} {r['status']}")
    if not args.ours:
        return 0
    variants = []
    for spec in args.ours:
        label, path = spec.split("=", 1) if "=" in spec else ("ours", spec)
        with open(path, encoding="utf-8") as fh:
            variants.append((label, {(r["problem"], r["start"]): r for r in json.load(fh)}))
    ours = variants[0][1]
    time_heads = "".join(f" ours µs ({label}) | ratio ({label}) |" for label, _ in variants)
    out = [
        f"NIST StRD, 27 problems x 2 starts. scalelab LM (exact gradients, FitOptions::default()) vs scipy "
        f"{scipy.__version__} `least_squares(method='lm')` (defaults: '2-point' Jacobian, tolerances 1e-8; "
        f"and with the analytic `jac=`). LRE = min over parameters of -log10(rel. error), capped at 11; "
        f"'ok' = ours >= min(scipy LRE, 9). Times: median per fit, same machine, same run; "
        f"ratio = ours / scipy (2-point).",
        "",
        "| problem | start | ours LRE | scipy LRE | scipy LRE (jac=) | ours RSS LRE | scipy RSS LRE | scipy µs |"
        + time_heads + " ok |",
        "|" + " --- |" * (9 + 2 * len(variants)),
    ]
    n_ok = 0
    worst = []
    ratios = {label: [] for label, _ in variants}
    for name in PROBLEMS:
        for start in (1, 2):
            o = ours[(name, start)]
            s = results[(name, start, "2-point")]
            a = results[(name, start, "analytic")]
            ok = o["lre"] >= min(s["lre"], 9.0) - 1e-9
            n_ok += ok
            if not ok:
                worst.append(f"{name}/{start}")
            cells = ""
            for label, rows in variants:
                ratio = rows[(name, start)]["time_s"] / s["time_s"]
                ratios[label].append(ratio)
                cells += f" {rows[(name, start)]['time_s'] * 1e6:.1f} | {ratio:.3f} |"
            a_lre = f"{a['lre']:.2f}" if a else "n/a"
            out.append(
                f"| {name} | {start} | {o['lre']:.2f} | {s['lre']:.2f} | {a_lre} | {o['rss_lre']:.2f} | "
                f"{s['rss_lre']:.2f} | {s['time_s'] * 1e6:.1f} |{cells} {'yes' if ok else 'NO'} |"
            )
    ours_ge6 = [sum(ours[(n, s)]["lre"] >= 6 for n in PROBLEMS) for s in (1, 2)]
    scipy_ge6 = [sum(results[(n, s, "2-point")]["lre"] >= 6 for n in PROBLEMS) for s in (1, 2)]
    out += [
        "",
        f"LRE >= 6 on every parameter: ours start 1 {ours_ge6[0]}/27, start 2 {ours_ge6[1]}/27; "
        f"scipy (2-point) start 1 {scipy_ge6[0]}/27, start 2 {scipy_ge6[1]}/27.",
        f"ours >= min(scipy LRE, 9): {n_ok}/54{' (fails: ' + ', '.join(worst) + ')' if worst else ''}.",
    ]
    for label, rs in ratios.items():
        geo = math.exp(sum(math.log(r) for r in rs) / len(rs))
        out.append(f"Time ratio ours ({label}) / scipy: geometric mean {geo:.3f}, max {max(rs):.3f}, "
                   f"faster on {sum(r < 1 for r in rs)}/54.")
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
    print("\n".join(out[-(2 + len(variants)):]))
    print(f"wrote {args.out}")
    return 0 if n_ok == 54 else 2


if __name__ == "__main__":
    sys.exit(main())
