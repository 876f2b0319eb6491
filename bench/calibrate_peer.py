#!/usr/bin/env python3
"""The Python peers of the Calibrate lab's temperature-scaling benchmark: the same logits and labels
fitted by gpleiss/temperature_scaling's torch procedure and by scipy, as a researcher would script
them, and every metric at the reference temperature for the Rust side to check against (to 1e-6).

Data (DIR/logits.npy, float32 C-order (n, k), and DIR/labels.npy, int64; generated when absent):
numpy.random.default_rng(20261201), n = 50 000 rows, k = 1000 classes, drawn in this order:
labels = rng.integers(0, k, n); g = rng.standard_normal((n, k)); u = rng.uniform(0.5, 1.5, n);
logits = float32(2.5 · (g + 3 · onehot(label) · u)). Despite the intent, this model is
UNDERconfident: the posterior of this generator is ∝ exp(1.2 · u_i · z_ij) (bump 7.5u over noise
variance 6.25), so T_ref ≈ 0.931 < 1 (T_ref ≈ 0.38 × the 2.5 scale; a scale of 4 gives T ≈ 1.5).
Both files are read back with numpy.load and are the input of every peer (the read is timed apart;
the float32 → float64 conversion is not timed).

  * reference T_ref: mean NLL(T) = mean_i [logsumexp(z_i/T) − z_i[y_i]/T] in float64, minimised by
    scipy.optimize.minimize_scalar(method="bounded", bounds=(0.05, 20), options={"xatol": 1e-12});
    every peer reports |T − T_ref| / T_ref and "stopped_early" when that is over 1e-6. As a check,
    the root of the analytic dNLL/dT = mean_i(z_iy − Σ_j p_ij z_ij) / T² (scipy.optimize.brentq,
    xtol 1e-15) is reported too;
  * peer A, gpleiss/temperature_scaling `set_temperature` (temperature_scaling.py): temperature =
    nn.Parameter(torch.ones(1) * 1.5), optim.LBFGS([temperature], lr=0.01, max_iter=50), one
    optimizer.step(closure) with closure = zero_grad, nn.CrossEntropyLoss()(logits / temperature,
    labels), backward; then, as that code does, NLL and its 15-bin ECE (_ECELoss: float32
    torch.linspace edges, bins (lo, hi], confidence = max softmax, accuracy = argmax == label)
    before and after the fit (the "after" ones outside no_grad, as there). In float32 (as gpleiss)
    and in float64;
  * peer A', the best-tuned torch L-BFGS: the same with lr=1, max_iter=100,
    line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15, in float64;
  * peer B, numpy/scipy: minimize_scalar(method="bounded", bounds=(0.05, 20)) on the float64 NLL
    with the default xatol (1e-5) and with xatol=1e-12. The logsumexp is max-shifted: the row
    maxima m_i and z − m are computed once inside the fit (T > 0, so max_j z_ij/T = m_i/T), then
    each evaluation is exp((z − m)/T) summed over the row, NLL = mean(ln Σ + (m − z_y)/T);
  * "all metrics" at a temperature, numpy float64 in blocks of 2048 rows, timed apart from the fit:
    accuracy (first argmax == label), mean NLL, Brier summed over classes (mean_i Σ_j (p_ij −
    1[j = y_i])²), top-label ECE / MCE / RMS calibration error / netcal's ACE over 15 equal-width
    bins (lo, hi] with edges b/15 (a confidence of 0 in no bin, still counted in n), and class-wise
    ECE (each class's p_ij binned the same way, acc = share of y_i = j, conf = mean p_ij, weighted
    by n_b / n, averaged over the k classes).
Each peer's "nll" and "grad" (|dNLL/dT|) are evaluated at its final T by one float64 torch autograd
pass (so they compare across peers); "nll_own" is its own last closure / objective value in its own
dtype (the last evaluation, not always at the final T for L-BFGS); "evaluations"
counts closure calls (torch) or nfev (scipy). Times are wall-clock (time.perf_counter), best of 3
(1 when a run takes over 10 s); fit_and_metrics_s = best fit + best metrics (gpleiss' four
NLL/ECE values for peers A and A', the numpy metrics above for peer B). One thread everywhere
(BLAS/OpenMP variables before numpy is imported, torch.set_num_threads(1)): the Rust side is
single-threaded. Writes DIR/peer.json and prints a summary.

  python3 -m venv /tmp/venv-bench && /tmp/venv-bench/bin/pip install numpy scipy torch
  /tmp/venv-bench/bin/python bench/calibrate_peer.py [DIR]      # DIR: target/bench-calibrate
"""

import os

# One thread, like the Rust side.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.optimize import brentq, minimize_scalar  # noqa: E402

import torch  # noqa: E402
from torch import nn, optim  # noqa: E402
from torch.nn import functional as F  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

SEED = 20261201
N, K = 50_000, 1000
BOUNDS = (0.05, 20.0)
BINS = 15
EDGES = np.arange(BINS + 1) / BINS  # b/15, as the Rust side (equal to numpy.linspace(0, 1, 16))
BLOCK = 2048
EARLY = 1e-6


# ---------------------------------------------------------------- data


def generate(d):
    rng = np.random.default_rng(SEED)
    labels = rng.integers(0, K, N)
    g = rng.standard_normal((N, K))
    u = rng.uniform(0.5, 1.5, N)
    g[np.arange(N), labels] += 3.0 * u
    g *= 2.5
    np.save(os.path.join(d, "logits.npy"), np.ascontiguousarray(g, dtype=np.float32))
    np.save(os.path.join(d, "labels.npy"), labels.astype(np.int64))


def read(d):
    return np.load(os.path.join(d, "logits.npy")), np.load(os.path.join(d, "labels.npy"))


# ---------------------------------------------------------------- timing


def best_time(fn, repeat=3):
    """Best of `repeat` runs (one when a run takes over 10 s); the last run's result."""
    best, res, runs = float("inf"), None, 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t0)
        runs += 1
        if best > 10:
            break
    return best, res, runs


def secs(t):
    return f"{t * 1000:.1f} ms" if t < 1 else f"{t:.2f} s"


# ---------------------------------------------------------------- numpy / scipy


def make_nll(z, y):
    """The float64 mean NLL(T), max-shifted once (this set-up is part of the fit)."""
    m = z.max(axis=1)
    d = z - m[:, None]
    shift = m - z[np.arange(z.shape[0]), y]  # m_i − z_iy ≥ 0
    buf = np.empty_like(d)

    def nll(t):
        np.divide(d, t, out=buf)
        np.exp(buf, out=buf)
        s = buf.sum(axis=1)
        return float(np.mean(np.log(s) + shift / t))

    return nll


def scipy_fit(z, y, xatol):
    nll = make_nll(z, y)
    opts = {} if xatol is None else {"xatol": xatol}
    return minimize_scalar(nll, bounds=BOUNDS, method="bounded", options=opts)


def grad_np(z, y, t):
    """Analytic dNLL/dT = mean_i (z_iy − Σ_j p_ij z_ij) / T², float64, in blocks."""
    acc = 0.0
    for a in range(0, z.shape[0], BLOCK):
        zb, yb = z[a:a + BLOCK], y[a:a + BLOCK]
        s = zb / t
        s -= s.max(axis=1, keepdims=True)
        np.exp(s, out=s)
        ez = np.einsum("ij,ij->i", s, zb) / s.sum(axis=1)
        acc += float(np.sum(zb[np.arange(zb.shape[0]), yb] - ez))
    return acc / z.shape[0] / t**2


def bin_of(c):
    """Bins (lo, hi] over EDGES: b with EDGES[b] < c <= EDGES[b+1]; −1 for c = 0 (no bin)."""
    return np.searchsorted(EDGES, c, side="left") - 1


def metrics(z, y, t):
    """All metrics at temperature t, numpy float64, in blocks of BLOCK rows."""
    n, k = z.shape
    hits = nll_sum = brier_sum = 0.0
    top_n = np.zeros(BINS + 1)  # index 0: the "no bin" (confidence 0)
    top_conf = np.zeros(BINS + 1)
    top_acc = np.zeros(BINS + 1)
    cw_n = np.zeros(k * (BINS + 1))
    cw_conf = np.zeros(k * (BINS + 1))
    cw_acc = np.zeros(k * (BINS + 1))
    col = np.arange(k) * (BINS + 1)
    for a in range(0, n, BLOCK):
        zb, yb = z[a:a + BLOCK], y[a:a + BLOCK]
        r = np.arange(zb.shape[0])
        s = zb / t
        s -= s.max(axis=1, keepdims=True)
        e = np.exp(s)
        tot = e.sum(axis=1)
        p = e / tot[:, None]
        py = p[r, yb]
        nll_sum += float(np.sum(np.log(tot) - s[r, yb]))
        brier_sum += float(np.sum(np.einsum("ij,ij->i", p, p) - 2.0 * py + 1.0))
        pred = p.argmax(axis=1)
        correct = (pred == yb).astype(np.float64)
        hits += correct.sum()
        conf = p[r, pred]
        tb = bin_of(conf) + 1
        top_n += np.bincount(tb, minlength=BINS + 1)
        top_conf += np.bincount(tb, weights=conf, minlength=BINS + 1)
        top_acc += np.bincount(tb, weights=correct, minlength=BINS + 1)
        cb = (bin_of(p) + 1) + col  # (rows, k): class j's bin, flattened per class
        flat = cb.ravel()
        cw_n += np.bincount(flat, minlength=cw_n.size)
        cw_conf += np.bincount(flat, weights=p.ravel(), minlength=cw_n.size)
        cw_acc += np.bincount(cb[r, yb], minlength=cw_n.size)
    cnt, csum, asum = top_n[1:], top_conf[1:], top_acc[1:]
    full = cnt > 0
    gap = np.abs(asum[full] - csum[full]) / cnt[full]
    cw_n, cw_conf, cw_acc = (v.reshape(k, BINS + 1)[:, 1:] for v in (cw_n, cw_conf, cw_acc))
    with np.errstate(invalid="ignore", divide="ignore"):
        acc_b, conf_b = asum / cnt, csum / cnt
    return {
        "t": t,
        "accuracy": hits / n,
        "nll": nll_sum / n,
        "brier": brier_sum / n,
        "ece": float(np.sum(np.abs(asum - csum)) / n),
        "mce": float(gap.max()),
        "rmsce": float(np.sqrt(np.sum(cnt[full] * gap**2) / n)),
        "ace": float(gap.mean()),
        "classwise_ece": float(np.mean(np.sum(np.abs(cw_acc - cw_conf), axis=1) / n)),
        "bins": BINS,
        "edges": "equal-width b/15, (lo, hi], confidence 0 in no bin",
        "reliability": {
            "count": cnt.astype(int).tolist(),
            "accuracy": [None if np.isnan(v) else float(v) for v in acc_b],
            "confidence": [None if np.isnan(v) else float(v) for v in conf_b],
        },
    }


# ---------------------------------------------------------------- torch


class ECELoss(nn.Module):
    """gpleiss/temperature_scaling's _ECELoss: 15 equal-width bins (lo, hi] on float32
    torch.linspace edges, |mean confidence − accuracy| weighted by the share in the bin."""

    def __init__(self, n_bins=BINS):
        super().__init__()
        edges = torch.linspace(0, 1, n_bins + 1)
        self.lowers, self.uppers = edges[:-1], edges[1:]

    def forward(self, logits, labels):
        conf, pred = torch.max(F.softmax(logits, dim=1), 1)
        acc = pred.eq(labels)
        ece = torch.zeros(1)
        for lo, hi in zip(self.lowers, self.uppers):
            inside = conf.gt(lo.item()) * conf.le(hi.item())
            share = inside.float().mean()
            if share.item() > 0:
                ece += torch.abs(conf[inside].mean() - acc[inside].float().mean()) * share
        return ece


def torch_fit(logits, labels, **lbfgs):
    """gpleiss' set_temperature fit: one LBFGS step from T = 1.5 on CrossEntropyLoss."""
    temperature = nn.Parameter(torch.ones(1, dtype=logits.dtype) * 1.5)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.LBFGS([temperature], **lbfgs)
    calls, last = [0], [None]

    def closure():
        calls[0] += 1
        optimizer.zero_grad()
        loss = criterion(logits / temperature, labels)
        loss.backward()
        last[0] = loss
        return loss

    optimizer.step(closure)  # returns the loss at the start, not at the end
    iters = optimizer.state[optimizer._params[0]].get("n_iter", 0)
    return temperature, last[0].detach().item(), calls[0], iters


def torch_metrics(logits, labels, temperature):
    """gpleiss' NLL and ECE before and after (the "after" ones with the graph, as there)."""
    nll, ece = nn.CrossEntropyLoss(), ECELoss()
    out = {"nll_before": nll(logits, labels).item(), "ece_before": ece(logits, labels).item()}
    out["nll_after"] = nll(logits / temperature, labels).item()
    out["ece_after"] = ece(logits / temperature, labels).item()
    return out


def nll_grad64(logits64, labels, t):
    """float64 torch autograd NLL(T) and dNLL/dT at t."""
    tt = torch.tensor([t], dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(logits64 / tt, labels)
    loss.backward()
    return loss.item(), tt.grad.item()


# ---------------------------------------------------------------- main


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "target/bench-calibrate"
    os.makedirs(d, exist_ok=True)
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, torch {torch.__version__} "
          f"({torch.get_num_threads()} thread), python {platform.python_version()}", flush=True)
    if not (os.path.exists(os.path.join(d, "logits.npy")) and os.path.exists(os.path.join(d, "labels.npy"))):
        t0 = time.perf_counter()
        generate(d)
        print(f"generated {d}/logits.npy, labels.npy in {secs(time.perf_counter() - t0)}", flush=True)
    t_read, (logits32, labels), _ = best_time(lambda: read(d))
    assert logits32.dtype == np.float32 and logits32.shape[1] > 1 and labels.dtype == np.int64
    n, k = logits32.shape
    z = logits32.astype(np.float64)
    y = labels
    print(f"read {n} x {k} logits + labels: {secs(t_read)}", flush=True)

    # Reference.
    t_ref_s, ref, _ = best_time(lambda: scipy_fit(z, y, 1e-12), 1)
    t_ref = float(ref.x)
    g_ref = grad_np(z, y, t_ref)
    t_root = brentq(lambda t: grad_np(z, y, t), 0.9 * t_ref, 1.1 * t_ref, xtol=1e-15)
    print(f"T_ref = {t_ref:.12g} (NLL {ref.fun:.12g}, {ref.nfev} evaluations, {secs(t_ref_s)}); "
          f"dNLL/dT there {g_ref:.3g}; root of dNLL/dT {t_root:.12g} "
          f"(rel. diff {abs(t_root - t_ref) / t_ref:.2g})", flush=True)

    l32, l64, lab = torch.from_numpy(logits32), torch.from_numpy(z), torch.from_numpy(labels)
    peers = []

    def record(name, dtype, t, nll_own, evals, fit_s, met_s, runs, extra):
        nll64, grad = nll_grad64(l64, lab, t)
        rel = abs(t - t_ref) / t_ref
        peers.append({
            "name": name, "dtype": dtype, "t": t, "rel_err_t": rel, "nll": nll64, "grad": abs(grad),
            "evaluations": evals, "fit_s": fit_s, "fit_and_metrics_s": fit_s + met_s,
            "stopped_early": bool(rel > EARLY), "nll_own": nll_own, "metrics_s": met_s,
            "timed_runs": runs, **extra,
        })
        print(f"  {name} [{dtype}]: T {t:.10g} (rel. err {rel:.2g}), NLL {nll64:.10g}, |dNLL/dT| {abs(grad):.2g}, "
              f"{evals} evaluations, fit {secs(fit_s)}, + metrics {secs(fit_s + met_s)}", flush=True)

    # Peer B, scipy.
    for name, xatol in (("scipy minimize_scalar bounded (xatol 1e-5)", None),
                        ("scipy minimize_scalar bounded (xatol 1e-12)", 1e-12)):
        fit_s, res, runs = best_time(lambda: scipy_fit(z, y, xatol))
        t = float(res.x)
        met_s, met, _ = best_time(lambda: metrics(z, y, t))
        record(name, "float64", t, float(res.fun), int(res.nfev), fit_s, met_s, runs,
               {"xatol": 1e-5 if xatol is None else xatol, "metrics": {a: b for a, b in met.items() if a != "reliability"}})

    # Peers A and A', torch.
    gpleiss = {"lr": 0.01, "max_iter": 50}
    tuned = {"lr": 1, "max_iter": 100, "line_search_fn": "strong_wolfe",
             "tolerance_grad": 1e-12, "tolerance_change": 1e-15}
    for name, logits, dtype, opts in (("gpleiss LBFGS (lr 0.01, max_iter 50)", l32, "float32", gpleiss),
                                      ("gpleiss LBFGS (lr 0.01, max_iter 50)", l64, "float64", gpleiss),
                                      ("tuned LBFGS (lr 1, strong Wolfe, max_iter 100)", l64, "float64", tuned)):
        fit_s, (temp, loss, evals, iters), runs = best_time(lambda: torch_fit(logits, lab, **opts))
        met_s, met, _ = best_time(lambda: torch_metrics(logits, lab, temp))
        extra = {"lbfgs": opts, "iterations": int(iters), **met}
        record(name, dtype, temp.detach().item(), loss, evals, fit_s, met_s, runs, extra)

    t0 = time.perf_counter()
    at_ref = metrics(z, y, t_ref)
    print(f"metrics at T_ref ({secs(time.perf_counter() - t0)}):", flush=True)
    print("  " + ", ".join(f"{a} {at_ref[a]:.10g}" for a in
                           ("accuracy", "nll", "brier", "ece", "mce", "rmsce", "ace", "classwise_ece")))
    at_one = metrics(z, y, 1.0)
    print("metrics at T = 1:\n  " + ", ".join(f"{a} {at_one[a]:.10g}" for a in
                                              ("accuracy", "nll", "brier", "ece", "mce", "rmsce", "ace", "classwise_ece")))

    out = {
        "n": n, "k": k, "seed": SEED, "t_ref": t_ref,
        "t_ref_detail": {"nll": float(ref.fun), "evaluations": int(ref.nfev), "fit_s": t_ref_s,
                         "dnll_dt": g_ref, "grad_root": t_root},
        "read_s": t_read,
        "peers": peers,
        "metrics_at_t_ref": at_ref,
        "metrics_at_t1": at_one,
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "torch": torch.__version__,
                     "python": platform.python_version()},
        "threads": {"torch": torch.get_num_threads(), **{v: os.environ.get(v) for v in
                                                         ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}},
    }
    with open(os.path.join(d, "peer.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"\nwrote {d}/peer.json\n")
    print("| peer | dtype | T | rel. err | NLL | evaluations | fit | fit + metrics | stopped early |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for p in peers:
        print(f"| {p['name']} | {p['dtype']} | {p['t']:.8g} | {p['rel_err_t']:.2g} | {p['nll']:.8g} | "
              f"{p['evaluations']} | {secs(p['fit_s'])} | {secs(p['fit_and_metrics_s'])} | {p['stopped_early']} |")


if __name__ == "__main__":
    main()
