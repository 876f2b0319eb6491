#!/usr/bin/env python3
"""Reference values for calibration conventions on netcal's `lenet-5-cifar-10.npz` and
`wideresnet-16-4-cifar-10.npz` (`$SCALELAB_REFDATA/calibration/netcal`, README there; default
`../../../shared/refdata` beside this repository, i.e. /work/shared/refdata), computed with
numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1 and uncertainty-calibration 0.1.4 (Ananya Kumar's
package for Kumar, Liang & Ma 2019, "Verified Uncertainty Calibration", import name `calibration`);
the versions that ran are written into the JSON. These are the libraries' own results plus
independent numpy replications (asserted equal), not scalelab's code.

Per file: p = predictions (n = 10000 rows × K = 10, float32 softmax read as float64), y = labels,
conf_i = max_j p_ij, correct_i = (argmax_j p_ij == y_i) (numpy argmax, first maximum; no row of either
file has a tied maximum). Two binary problems are used throughout:
  "top_label"  outcome = correct, score = conf;
  "binary"     outcome = (y == 1),  score = p[:, 1]   (the p(y = 1) convention for class 1).
Ties: wideresnet has only 4539 distinct conf values, 2469 rows with conf == 1.0 exactly; lenet has
9997 distinct conf values and none equal to 1.

1. `sklearn.calibration.calibration_curve(y_true, y_prob, n_bins=M, strategy=S)`, M ∈ {10, 15},
   S ∈ {"uniform", "quantile"}, y_true as 0/1 int (pos_label resolves to 1). Its code (1.9.1):
     uniform   edges = np.linspace(0, 1, M + 1), i.e. e_j = j · (1/M) in float64 (a product, so for M = 10
               e_3 = 0.30000000000000004), e_M = 1.0 exactly;
     quantile  edges = np.percentile(y_prob, np.linspace(0, 1, M + 1) * 100), numpy's "linear" method:
               q_j = ((j · (1/M)) · 100) / 100 (q_M = 1), v = (n − 1) · q_j, i = floor(v), g = v − i, s = sorted
               y_prob; v ≥ n − 1 gives s[n − 1]; otherwise a = s[i], b = s[i+1] and the edge is
               b − (b − a)(1 − g) if g ≥ 0.5, else a + (b − a) g (numpy's _lerp).  Rewritten here and asserted
               bit-identical;
     bin       binids = np.searchsorted(edges[1:-1], y_prob) (side="left"): the number of interior edges
               strictly below the value, i.e. bin 0 = [.., e_1], bin b = (e_b, e_{b+1}], last bin (e_{M-1}, ..]
               (upper-closed; equal interior edges make the bins between them empty);
     prob_true = bincount(binids, y_true)/counts, prob_pred = bincount(binids, y_prob)/counts (sequential
               sums) over non-empty bins only; empty bins are dropped from both arrays.
   Recorded per (convention, M, S): edges, counts and positives of all M bins, dropped_bins (the empty
   ones), prob_true, prob_pred (replication asserted bit-identical; an fsum replication to 1e-15),
   samples_on_interior_edge (values equal to an interior edge, where the side matters), the
   "ECE in sklearn's convention" Σ_{non-empty b} (count_b / n) |prob_true_b − prob_pred_b| (summed in bin
   order), and the bin index of the probe samples: indices 0..19, the 10 largest scores
   (np.argsort(-score, kind="stable")[:10]: lowest index first among ties) and the 10 smallest
   (np.argsort(score, kind="stable")[:10]); the probe indices and scores are stored per convention.
   Note: both models are over-confident in every top-label bin, so the top-label sklearn-convention ECE is
   mean(conf) − accuracy for every M and S (it cannot tell binnings apart; edges, counts, prob_true and the
   "binary" ECEs do).

2. Kumar et al.'s L2 calibration error, `calibration.get_calibration_error(p, y, p=2, debias=D,
   mode=MODE)`, D ∈ {True, False}, MODE ∈ {"top-label", "marginal"} ("package_default"), and
   `calibration.utils.lower_bound_scaling_ce(p, y, p=2, debias=D, num_bins=B, mode=MODE)` for B ∈ {10, 15}
   ("package_num_bins"; get_calibration_error has no num_bins argument; B = 15 is asserted equal to the
   default). What the package does (utils.py, read from the installed 0.1.4):
     * is_discrete(p): for a 2-D p the data count as "discrete" iff every column has fewer than n/4 distinct
       values (this is checked on all columns of p, even for mode="top-label"); then get_binning_ce puts
       one bin per distinct value (edges at midpoints). Not the case here (≥ 9378 distinct values per
       column, recorded), so the scaling branch runs: lower_bound_scaling_ce with num_bins = 15 and
       binning_scheme = get_equal_bins.
     * get_equal_bins(x, B): s = sorted x; np.array_split(s, B) — the first n mod B parts hold ⌈n/B⌉
       values, the others ⌊n/B⌋ (n = 10000, B = 15: 10 parts of 667 then 5 of 666; B = 10: 1000 each);
       with r_j the end rank of part j (cumulative sizes), edge_j = (s[r_j − 1] + s[r_j]) / 2.0 for
       j = 1..B−1 (exact here: midpoints of float32 values), then 1.0 is appended and the list is
       de-duplicated (set) and sorted, so ties can leave fewer than B bins (wideresnet top-label: 12 bins
       at B = 15, 8 at B = 10).
     * bin of a value x: np.searchsorted(edges, x) (side="left") = the number of edges strictly below x, so
       bin b = (edge_{b−1}, edge_b] (bin 0 = [.., edge_0]); a value equal to an edge goes to the lower bin,
       hence a run of equal values straddling a part boundary (edge == that value) goes entirely to the
       lower bin (the boundary moves to the end of the run). An edge can also leave an empty bin (0 weight).
     * per bin with n_b ≥ 2: c̄_b = mean score, ȳ_b = mean outcome,
         t_b = (c̄_b − ȳ_b)² − ȳ_b (1 − ȳ_b) / (n_b − 1);  bins with n_b < 2 give t_b = 0;
       S = Σ_b (n_b / n) t_b;  debiased 1-D error = sqrt(max(S, 0)) (unbiased_l2_ce: clipped at 0 before the
       root).  Plug-in (debias=False): sqrt(Σ_b (n_b / n)(c̄_b − ȳ_b)²), empty bins 0.
     * top-label: the 1-D error on (conf, correct as float64).
       marginal: for each class k, the 1-D error on (p[:, k], 1[y = k]) with its own equal-mass bins on
       p[:, k]; result = (mean_k e_k²)^{1/2}, i.e. debiased = sqrt(mean_k max(S_k, 0)) (each class clipped
       at 0 separately), plug-in = sqrt(mean_k P_k).
     * nothing random or version-dependent for p = 2 (debias or not). For p ≠ 2 with debias=True the
       package uses normal_debiased_ce (1000 unseeded np.random.normal resamples), and its
       *_uncertainties functions bootstrap with unseeded np.random — not used here.
   "replicated" (B = 10, 15): this numpy rewrite of the above (asserted equal to the package to 1e-13
   relative), with the top-label edges, counts, bin means, bin index of rows 0..19, S and plug-in sums,
   and the per-class S_k / P_k of the marginal estimate.
   "fixed_equal_mass_15": the same estimator on different, fixed equal-mass bins: stable-sorted scores,
   boundary ranks round(j·n/15), j = 1..15 (Python round), a boundary inside a run of equal values moved to
   the end of that run (as calibration_netcal.py), same t_b, clipping and marginal averaging as the package.
   These ranks (667, 1333, 2000, ...) differ from array_split's (667, 1334, 2001, ...), so the values differ
   slightly from the package's.

3. Murphy decomposition of the Brier score via CORP (Dimitriadis, Gneiting & Jordan 2021, PNAS) for each
   binary problem (x = score, o = outcome as float): x̂ = IsotonicRegression(increasing=True,
   out_of_bounds="clip").fit(x, o).predict(x). sklearn 1.9.1 fit: lexsort by (x, o); _make_unique pools
   sorted x into groups whose values differ from the group's first value by < 1e-15
   (np.finfo(float64).resolution; so exact ties are pooled, as CORP requires, and also near-ties), group
   x = its first value, y = mean outcome, weight = count; PAV by scipy.optimize.isotonic_regression with
   those weights; predict = linear interp1d on the thresholds (interior points whose fitted value equals
   both neighbours' removed; clipped outside [min x, max x]). So a training x gets its PAV block mean, except
   a non-first member of a near-tie group, which gets the linear interpolation towards the next group.
   BS(f) = mean (f − o)²; MCB = BS(x) − BS(x̂); DSC = BS(ȳ) − BS(x̂), ȳ = mean o; UNC = ȳ(1 − ȳ) (asserted
   equal to BS(ȳ) to 1e-12); BS = MCB − DSC + UNC asserted to 1e-12; MCB, DSC ≥ 0 asserted. Also recorded:
   x̂ at rows 0..19, counts of distinct x, of sklearn's near-tie groups and of PAV blocks, and an exact-tie
   PAV written here (pool equal x only, then PAV on group means weighted by counts) with its max |Δx̂|
   against sklearn and its BS(x̂), MCB, DSC.

4. Vector and matrix scaling (Guo et al. 2017) on logits z = ln p (p has no zeros, min p recorded, so no
   clipping; "zeros_in_p" records it, ln(max(p, 1e-300)) would be used otherwise), fitted on all rows:
     vector  q_i = softmax(w ⊙ z_i + b), θ = [w (10), b (10)], R = Σ_j (w_j − 1)² + Σ_j b_j²;
     matrix  q_i = softmax(W z_i + b), θ = [W row-major (100), b (10)], R = ‖W − I‖²_F + ‖b‖²;
   objective F = mean_i (logsumexp(a_i) − a_{i, y_i}) + λ R, λ ∈ {0, 1e-3, 1e-1}; gradient
   G = (q − onehot)/n: ∂w = Σ_i G_i ⊙ z_i, ∂W = Gᵀ Z, ∂b = Σ_i G_i, plus 2λ(w − 1 | W − I, b), checked with
   scipy.optimize.check_grad at the start and at a perturbed point (start + 0.1·N(0, 1), numpy PCG64
   seed 0; relative error < 1e-5 asserted). scipy.optimize.minimize(method="L-BFGS-B", jac=gradient,
   options={"gtol": 1e-11, "ftol": 0, "maxiter": 20000, "maxcor": 20}) from w = 1 / W = I, b = 0, then
   Newton steps with the exact Hessian (mean_i J_iᵀ (diag q_i − q_i q_iᵀ) J_i + 2λ I; np.linalg.solve for
   λ > 0, minimum-norm np.linalg.lstsq for λ = 0 where it is singular), up to 30, each kept only while the
   gradient max-norm decreases and F does not rise; final gradient max-norm ≤ 1e-9 asserted (it ends near
   1e-17). Recorded: F, the mean NLL, the gradient max-norm after L-BFGS and at the end, iterations,
   q for rows 0..4, accuracy (argmax q) and the top-label 15-bin (lo, hi] ECE of q (edges m/15 in Python,
   as calibration_netcal.py). For λ > 0 also R, the parameters and the Hessian's smallest eigenvalue
   (≈ 2λ). For λ = 0 the parameters are not unique (softmax is shift-invariant: b + c·1 for vector
   scaling, W + 1uᵀ and b + c·1 for matrix scaling), so only F, the NLL and q (which are unique; a refit
   from a random start agreed to 7e-16) are recorded.

Runs in about 1–5 minutes on two cores (most of it in the matrix-scaling L-BFGS).

  python3 -m venv /tmp/venv-fit && /tmp/venv-fit/bin/pip install numpy scipy scikit-learn uncertainty-calibration
  /tmp/venv-fit/bin/python tests/vectors/calibration_conventions.py > tests/vectors/calibration_conventions.json
"""

import importlib.metadata
import json
import math
import os
import sys
import time

import numpy as np
import scipy
import sklearn
from scipy.optimize import check_grad, minimize
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression

import calibration as kumar  # pip package "uncertainty-calibration"
from calibration import utils as kumar_utils

FILES = ["lenet-5-cifar-10.npz", "wideresnet-16-4-cifar-10.npz"]
CURVE_BINS = [10, 15]
STRATEGIES = ["uniform", "quantile"]
KUMAR_BINS = [10, 15]
LAMBDAS = [0.0, 1e-3, 1e-1]
LBFGS_OPTIONS = {"gtol": 1e-11, "ftol": 0, "maxiter": 20000, "maxcor": 20}
GRAD_TOL = 1e-9
ECE_EDGES = [m / 15 for m in range(16)]


def fl(a):
    """Nested lists of Python floats (json writes them with repr, i.e. round-trip precision)."""
    return np.asarray(a, dtype=np.float64).tolist()


# ---------------------------------------------------------------- 1. sklearn calibration_curve


def curve_edges(y_prob, n_bins, strategy):
    """Bin edges exactly as sklearn 1.9.1 calibration_curve builds them."""
    if strategy == "quantile":
        return np.percentile(y_prob, np.linspace(0, 1, n_bins + 1) * 100)
    return np.linspace(0.0, 1.0, n_bins + 1)


def percentile_linear(y_prob, n_bins):
    """numpy's percentile(method="linear") written out, to pin down every rounding step."""
    s = np.sort(y_prob)
    n = len(s)
    out = []
    for j in range(n_bins + 1):
        q = (j * (1.0 / n_bins) if j < n_bins else 1.0) * 100 / 100  # linspace, then *100, then /100
        v = (n - 1) * q
        if v >= n - 1:
            out.append(float(s[-1]))
            continue
        i = math.floor(v)
        g = v - i
        a, b = float(s[i]), float(s[i + 1])
        out.append(b - (b - a) * (1 - g) if g >= 0.5 else a + (b - a) * g)
    return np.array(out)


def linspace_edges(n_bins):
    return np.array([j * (1.0 / n_bins) for j in range(n_bins)] + [1.0])


def sklearn_curve(y_true, y_prob, n_bins, strategy, probe):
    n = len(y_prob)
    prob_true, prob_pred = calibration_curve(y_true, y_prob, n_bins=n_bins, strategy=strategy)
    edges = curve_edges(y_prob, n_bins, strategy)
    mine = percentile_linear(y_prob, n_bins) if strategy == "quantile" else linspace_edges(n_bins)
    assert np.array_equal(mine, edges), (strategy, n_bins, mine - edges)
    binids = np.searchsorted(edges[1:-1], y_prob, side="left")
    # the same bin index written as a count of interior edges strictly below the value
    assert np.array_equal(binids, (y_prob[:, None] > edges[None, 1:-1]).sum(axis=1))
    counts = np.bincount(binids, minlength=n_bins)
    sums = np.bincount(binids, weights=y_prob, minlength=n_bins)
    trues = np.bincount(binids, weights=y_true.astype(float), minlength=n_bins)
    nz = counts != 0
    assert np.array_equal(trues[nz] / counts[nz], prob_true), "prob_true not replicated"
    assert np.array_equal(sums[nz] / counts[nz], prob_pred), "prob_pred not replicated"
    # an independent, exactly summed replication (math.fsum), to 1e-15
    for b in np.flatnonzero(nz):
        sel = binids == b
        assert abs(math.fsum(y_prob[sel]) / sel.sum() - sums[b] / counts[b]) <= 1e-15
    ece = 0.0
    for k, b in enumerate(np.flatnonzero(nz)):
        ece += counts[b] / n * abs(prob_true[k] - prob_pred[k])
    return {
        "edges": fl(edges),
        "counts": counts.tolist(),
        "positives": [int(round(t)) for t in trues],
        "dropped_bins": np.flatnonzero(~nz).tolist(),
        "samples_on_interior_edge": int(np.isin(y_prob, edges[1:-1]).sum()),
        "prob_true": fl(prob_true),
        "prob_pred": fl(prob_pred),
        "ece_sklearn_convention": float(ece),
        "bin_index": {k: binids[idx].tolist() for k, idx in probe.items()},
    }


def section_curves(p, y):
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.int64)
    out = {}
    for name, yt, yp in [("top_label", correct, conf), ("binary", (y == 1).astype(np.int64), p[:, 1])]:
        probe = {
            "first_20": np.arange(20),
            "largest_10": np.argsort(-yp, kind="stable")[:10],
            "smallest_10": np.argsort(yp, kind="stable")[:10],
        }
        conv = {
            "n": int(len(yp)),
            "positives": int(yt.sum()),
            "probe_indices": {k: v.tolist() for k, v in probe.items()},
            "probe_y_prob": {k: fl(yp[v]) for k, v in probe.items()},
        }
        for m in CURVE_BINS:
            for s in STRATEGIES:
                conv[f"{s}_{m}"] = sklearn_curve(yt, yp, m, s, probe)
        out[name] = conv
    return out


# ---------------------------------------------------------------- 2. Kumar et al. (2019) L2 CE


def kumar_bins(x, num_bins):
    """calibration.utils.get_equal_bins, written out."""
    s = np.sort(x)
    n = len(s)
    num_bins = min(num_bins, n)
    size, extra = divmod(n, num_bins)  # np.array_split: the first `extra` parts get size + 1
    ends = np.cumsum([size + 1 if j < extra else size for j in range(num_bins)])
    edges = [(float(s[r - 1]) + float(s[r])) / 2.0 for r in ends[:-1]] + [1.0]
    return np.array(sorted(set(edges)))


def own_equal_mass(x, num_bins):
    """Fixed ranks round(j n / B), a boundary inside a run of equal values moved to its end."""
    n = len(x)
    order = np.argsort(x, kind="stable")
    s = x[order]
    idx = np.empty(n, dtype=int)
    start, b = 0, 0
    for j in range(1, num_bins + 1):
        end = min(max(int(round(j * n / num_bins)), start), n)
        while 0 < end < n and s[end] == s[end - 1]:
            end += 1
        if end > start:
            idx[order[start:end]] = b
            b += 1
            start = end
    return idx, b


def bin_terms(x, o, idx, nbins):
    """Per bin: n_b, mean x, mean o; the plug-in sum and the debiased sum (before sqrt / clip)."""
    n = len(x)
    plug, deb, rows = 0.0, 0.0, []
    for b in range(nbins):
        sel = idx == b
        nb = int(sel.sum())
        if nb == 0:
            rows.append((0, None, None))
            continue
        c, a = float(np.mean(x[sel])), float(np.mean(o[sel]))
        plug += nb / n * (c - a) ** 2
        if nb >= 2:
            deb += nb / n * ((c - a) ** 2 - a * (1 - a) / (nb - 1))
        rows.append((nb, c, a))
    return plug, deb, rows


def kumar_1d(x, o, num_bins):
    edges = kumar_bins(x, num_bins)
    assert edges[-1] == 1.0 and x.max() <= 1.0
    idx = np.searchsorted(edges, x, side="left")
    plug, deb, rows = bin_terms(x, o, idx, len(edges))
    return edges, idx, plug, deb, rows


def section_kumar(p, y):
    n, k = p.shape
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(p.dtype)
    onehot = np.zeros_like(p)
    onehot[np.arange(n), y] = 1
    uniq = [len(kumar_utils.get_discrete_bins(p[:, j])) for j in range(k)]
    out = {
        "is_discrete": bool(kumar_utils.is_discrete(p)),
        "distinct_values_per_class": uniq,
        "package_default": {},
        "package_num_bins": {},
        "replicated": {},
        "fixed_equal_mass_15": {},
    }
    assert not out["is_discrete"]
    for mode in ["top-label", "marginal"]:
        for debias in [True, False]:
            key = f"{mode}_{'debiased' if debias else 'plugin'}"
            out["package_default"][key] = float(kumar.get_calibration_error(p, y, p=2, debias=debias, mode=mode))
            for nb in KUMAR_BINS:
                out["package_num_bins"][f"{key}_{nb}"] = float(
                    kumar_utils.lower_bound_scaling_ce(p, y, p=2, debias=debias, num_bins=nb, mode=mode))
            assert out["package_num_bins"][f"{key}_15"] == out["package_default"][key]
    for nb in KUMAR_BINS:
        edges, idx, plug, deb, rows = kumar_1d(conf, correct, nb)
        rep = {
            "top-label_edges": fl(edges),
            "top-label_counts": [r[0] for r in rows],
            "top-label_mean_conf": [r[1] for r in rows],
            "top-label_accuracy": [r[2] for r in rows],
            "top-label_bin_index_first_20": idx[:20].tolist(),
            "top-label_samples_on_interior_edge": int(np.isin(conf, edges[:-1]).sum()),
            "top-label_plugin_square": plug,
            "top-label_debiased_square": deb,
            "top-label_plugin": math.sqrt(plug),
            "top-label_debiased": math.sqrt(max(deb, 0.0)),
        }
        plugs, debs, nedges = [], [], []
        for j in range(k):
            e, _, pl, de, _ = kumar_1d(p[:, j], onehot[:, j], nb)
            plugs.append(pl)
            debs.append(de)
            nedges.append(len(e))
        rep["marginal_bins_per_class"] = nedges
        rep["marginal_plugin_square_per_class"] = plugs
        rep["marginal_debiased_square_per_class"] = debs
        rep["marginal_plugin"] = math.sqrt(np.mean(plugs))
        rep["marginal_debiased"] = math.sqrt(np.mean([max(d, 0.0) for d in debs]))
        for key in ["top-label_plugin", "top-label_debiased", "marginal_plugin", "marginal_debiased"]:
            pkg = out["package_num_bins"][f"{key}_{nb}"]
            assert abs(rep[key] - pkg) <= 1e-13 * max(1.0, abs(pkg)), (key, nb, rep[key], pkg)
        out["replicated"][str(nb)] = rep
    fx = {}
    idx, nb = own_equal_mass(conf, 15)
    plug, deb, rows = bin_terms(conf, correct, idx, nb)
    fx["top-label_bins"] = nb
    fx["top-label_counts"] = [r[0] for r in rows]
    fx["top-label_plugin"] = math.sqrt(plug)
    fx["top-label_debiased_square"] = deb
    fx["top-label_debiased"] = math.sqrt(max(deb, 0.0))
    plugs, debs = [], []
    for j in range(k):
        idx, nb = own_equal_mass(p[:, j], 15)
        pl, de, _ = bin_terms(p[:, j], onehot[:, j], idx, nb)
        plugs.append(pl)
        debs.append(de)
    fx["marginal_plugin"] = math.sqrt(np.mean(plugs))
    fx["marginal_debiased_square_per_class"] = debs
    fx["marginal_debiased"] = math.sqrt(np.mean([max(d, 0.0) for d in debs]))
    out["fixed_equal_mass_15"] = fx
    return out


# ---------------------------------------------------------------- 3. CORP Murphy decomposition


def pav_exact_ties(x, yv):
    """PAV (increasing) after pooling exactly equal x; fitted value per sample."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], yv[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    sums = np.add.reduceat(ys, starts)
    cnts = np.diff(np.r_[starts, len(xs)]).astype(float)
    bs, bc, bl = [], [], []  # block sums, counts, lengths (in groups)
    for s_, c_ in zip(sums, cnts):
        bs.append(s_)
        bc.append(c_)
        bl.append(1)
        while len(bs) > 1 and bs[-2] / bc[-2] >= bs[-1] / bc[-1]:
            s2, c2, l2 = bs.pop(), bc.pop(), bl.pop()
            bs[-1] += s2
            bc[-1] += c2
            bl[-1] += l2
    gfit = np.repeat([s_ / c_ for s_, c_ in zip(bs, bc)], bl)
    fit = np.empty(len(x))
    fit[order] = np.repeat(gfit, cnts.astype(int))
    return fit, len(bs), len(starts)


def murphy(x, yv):
    n = len(x)
    iso = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(x, yv)
    xhat = iso.predict(x)
    ybar = float(np.mean(yv))

    def bs(f):
        return float(np.mean((f - yv) ** 2))

    bs_x, bs_hat, bs_bar = bs(x), bs(xhat), bs(np.full(n, ybar))
    unc = ybar * (1 - ybar)
    mcb, dsc = bs_x - bs_hat, bs_bar - bs_hat
    assert abs(bs_bar - unc) <= 1e-12
    assert abs(bs_x - (mcb - dsc + unc)) <= 1e-12
    assert mcb >= 0 and dsc >= 0
    own, blocks, groups = pav_exact_ties(x, yv)
    # sklearn merges x values closer than 1e-15 (finfo(float64).resolution) into one point
    xs = np.sort(x)
    merged_groups = 1
    cur = xs[0]
    for v in xs[1:]:
        if v - cur >= np.finfo(np.float64).resolution:
            merged_groups += 1
            cur = v
    return {
        "ybar": ybar,
        "BS": bs_x,
        "BS_recalibrated": bs_hat,
        "BS_climatology": bs_bar,
        "MCB": mcb,
        "DSC": dsc,
        "UNC": unc,
        "identity_residual": bs_x - (mcb - dsc + unc),
        "xhat_first_20": fl(xhat[:20]),
        "distinct_x": groups,
        "sklearn_merged_x_groups": merged_groups,
        "sklearn_thresholds": int(len(iso.X_thresholds_)),
        "pav_blocks_exact_ties": blocks,
        "exact_tie_pav_max_abs_diff": float(np.max(np.abs(own - xhat))),
        "exact_tie_pav_BS_recalibrated": bs(own),
        "exact_tie_pav_MCB": bs_x - bs(own),
        "exact_tie_pav_DSC": bs_bar - bs(own),
    }


def section_murphy(p, y):
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(float)
    return {
        "top_label": murphy(conf, correct),
        "binary": murphy(p[:, 1], (y == 1).astype(float)),
    }


# ---------------------------------------------------------------- 4. vector / matrix scaling


class Scaling:
    def __init__(self, z, y, kind, lam):
        self.z, self.y, self.kind, self.lam = z, y, kind, lam
        self.n, self.k = z.shape
        self.onehot = np.zeros_like(z)
        self.onehot[np.arange(self.n), y] = 1
        k = self.k
        self.theta0 = np.r_[np.ones(k), np.zeros(k)] if kind == "vector" else np.r_[np.eye(k).ravel(), np.zeros(k)]

    def split(self, t):
        k = self.k
        return (t[:k], t[k:]) if self.kind == "vector" else (t[: k * k].reshape(k, k), t[k * k:])

    def logits(self, t):
        a, b = self.split(t)
        return (self.z * a + b) if self.kind == "vector" else (self.z @ a.T + b)

    def probs(self, t):
        s = self.logits(t)
        s = s - s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(axis=1, keepdims=True)

    def reg(self, t):
        a, b = self.split(t)
        one = np.ones(self.k) if self.kind == "vector" else np.eye(self.k)
        return float(np.sum((a - one) ** 2) + np.sum(b**2))

    def nll(self, t):
        s = self.logits(t)
        m = s.max(axis=1)
        lse = m + np.log(np.exp(s - m[:, None]).sum(axis=1))
        return float(np.mean(lse - s[np.arange(self.n), self.y]))

    def f(self, t):
        return self.nll(t) + self.lam * self.reg(t)

    def grad(self, t):
        g = (self.probs(t) - self.onehot) / self.n
        a, b = self.split(t)
        one = np.ones(self.k) if self.kind == "vector" else np.eye(self.k)
        ga = (g * self.z).sum(axis=0) if self.kind == "vector" else g.T @ self.z
        return np.r_[ga.ravel(), g.sum(axis=0)] + 2 * self.lam * np.r_[(a - one).ravel(), b]

    def hess(self, t):
        q = self.probs(t)
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
            X = np.c_[self.z, np.ones(n)]  # a_ik = sum_j Theta[k, j] X_ij, Theta = [W | b]
            XX = (X[:, :, None] * X[:, None, :]).reshape(n, -1)
            H4 = (S.reshape(n, -1).T @ XX / n).reshape(k, k, k + 1, k + 1).transpose(0, 2, 1, 3)
            H4 = H4.reshape(k * (k + 1), k * (k + 1))
            # reorder Theta (row-major, k*(k+1)+j) into theta = [vec(W) row-major, b]
            perm = [kk * (k + 1) + j for kk in range(k) for j in range(k)] + [kk * (k + 1) + k for kk in range(k)]
            H = H4[np.ix_(perm, perm)]
        return H + 2 * self.lam * np.eye(len(t))


def ece15(conf, correct):
    n, total = len(conf), 0.0
    for m in range(15):
        sel = (conf > ECE_EDGES[m]) & (conf <= ECE_EDGES[m + 1])
        if sel.any():
            total += sel.sum() / n * abs(correct[sel].mean() - conf[sel].mean())
    return float(total)


def fit_scaling(z, y, kind, lam):
    prob = Scaling(z, y, kind, lam)
    rng = np.random.default_rng(0)
    t_rand = prob.theta0 + 0.1 * rng.standard_normal(len(prob.theta0))
    gcheck = {}
    for name, t in [("start", prob.theta0), ("perturbed", t_rand)]:
        err = check_grad(prob.f, prob.grad, t)
        rel = err / max(np.linalg.norm(prob.grad(t)), 1e-300)
        assert rel < 1e-5, (kind, lam, name, err, rel)
        gcheck[name] = {"check_grad": float(err), "relative": float(rel)}
    res = minimize(prob.f, prob.theta0, jac=prob.grad, method="L-BFGS-B", options=LBFGS_OPTIONS)
    t = res.x
    g_lbfgs = float(np.max(np.abs(prob.grad(t))))
    newton = 0
    g = g_lbfgs
    while newton < 30:  # exact-Hessian Newton polish, kept while it lowers the gradient max-norm
        H = prob.hess(t)
        step = np.linalg.lstsq(H, -prob.grad(t), rcond=None)[0] if lam == 0 else np.linalg.solve(H, -prob.grad(t))
        t_new = t + step
        g_new = float(np.max(np.abs(prob.grad(t_new))))
        if not (g_new < g and prob.f(t_new) <= prob.f(t) + 1e-15):
            break
        t, g = t_new, g_new
        newton += 1
    assert g <= GRAD_TOL, (kind, lam, g)
    q = prob.probs(t)
    pred = q.argmax(axis=1)
    out = {
        "lambda": lam,
        "objective": prob.f(t),
        "mean_nll": prob.nll(t),
        "grad_max_norm": g,
        "grad_max_norm_after_lbfgs": g_lbfgs,
        "lbfgs_iterations": int(res.nit),
        "lbfgs_message": str(res.message),
        "newton_steps": newton,
        "gradient_check": gcheck,
        "q_first_5": fl(q[:5]),
        "accuracy": float(np.mean(pred == y)),
        "ece15_upper_closed": ece15(q.max(axis=1), (pred == y).astype(float)),
    }
    if lam > 0:
        out["regulariser"] = prob.reg(t)
        a, b = prob.split(t)
        out["w" if kind == "vector" else "W"] = fl(a)
        out["b"] = fl(b)
        eig = np.linalg.eigvalsh(prob.hess(t))
        out["hessian_min_eigenvalue"] = float(eig[0])
    print(kind, lam, out["objective"], g_lbfgs, g, newton, file=sys.stderr)
    return out


def section_scaling(p, y):
    clipped = bool((p <= 0).any())
    z = np.log(np.maximum(p, 1e-300)) if clipped else np.log(p)
    out = {"zeros_in_p": clipped, "min_p": float(p.min())}
    for kind in ["vector", "matrix"]:
        out[kind] = [fit_scaling(z, y, kind, lam) for lam in LAMBDAS]
    return out


def main():
    t0 = time.time()
    root = os.environ.get("SCALELAB_REFDATA", os.path.join(os.path.dirname(__file__), "../../../shared/refdata"))
    result = {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "uncertainty-calibration": importlib.metadata.version("uncertainty-calibration"),
        "lbfgs_options": LBFGS_OPTIONS,
        "files": {},
    }
    for f in FILES:
        with np.load(os.path.join(root, "calibration/netcal", f), allow_pickle=False) as d:
            p = d["predictions"].astype(np.float64)
            y = d["ground_truth"].astype(np.int64)
        conf = p.max(axis=1)
        result["files"][f] = {
            "n": int(len(y)),
            "classes": int(p.shape[1]),
            "accuracy": float(np.mean(p.argmax(axis=1) == y)),
            "rows_with_tied_max": int(((p == conf[:, None]).sum(axis=1) > 1).sum()),
            "conf_distinct": int(len(np.unique(conf))),
            "conf_equal_to_1": int((conf == 1.0).sum()),
            "calibration_curve": section_curves(p, y),
            "kumar": section_kumar(p, y),
            "murphy": section_murphy(p, y),
            "scaling": section_scaling(p, y),
        }
        print(f, "done", round(time.time() - t0, 1), file=sys.stderr)
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
