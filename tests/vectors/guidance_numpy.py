#!/usr/bin/env python3
"""Reference values for the Guidance lab core (exact Gaussian-mixture denoiser, noise schedules,
Euler/Heun samplers, x0/eps/v predictions, CFG and APG guidance, sample metrics), computed with an
independent numpy implementation of the shared spec (the exact maths, reproduced in short below),
not scalelab's code. Uses numpy only. Everything float64.

Mixture: components k with mean mu_k, variance vector s2_k, weight pi_k (unnormalised), class c_k.
  Conditional model of class c: the components with c_k == c; unconditional: all ("class": null).
  Denoiser at sigma (x = x0 + sigma eps): v_kj = s2_kj + sigma^2;
  logw_k = ln pi_k - 0.5 sum_j ln(2 pi v_kj) - 0.5 sum_j (x_j - mu_kj)^2 / v_kj; w = softmax(logw)
  (max-shifted; the squared distances are formed directly, not by expanding the square);
  D_j = sum_k w_k (s2_kj x_j + sigma^2 mu_kj) / v_kj.
Schedules (sigma_0 > ... > sigma_{N-1} > sigma_N = 0):
  EDM: sigma_i = (a + i/(N-1) (b - a))^rho, a = smax^(1/rho), b = smin^(1/rho) (N = 1: sigma_0 = smax);
       x = sigma_0 z.
  VP (linear beta): t_i = 1 + i/(N-1) (t_min - 1) (N = 1: t_0 = 1);
       sigma_i = sqrt(expm1(bmin t + 0.5 (bmax - bmin) t^2)) (= sqrt(exp(.) - 1), computed with expm1);
       x = sqrt(1 + sigma_0^2) z.
Samplers in EDM coordinates with the guided denoiser Dg: Euler (= DDIM eta 0):
  x += (sigma_{i+1} - sigma_i) (x - Dg(x, sigma_i)) / sigma_i; Heun (EDM Algorithm 1, no churn):
  x' = x + h d, and if sigma_{i+1} > 0: x += h (d + d')/2 with d' at (x', sigma_{i+1}), else x = x'.
  Every Dg call is one guidance evaluation (the momentum buffer advances at each one).
Predictions: x0: P = D; eps: P = (x - D)/sigma, back D = x - sigma P; v: a = 1/sqrt(1+sigma^2),
  b = sigma/sqrt(1+sigma^2), P = a (x - D)/sigma - b D, back D = a^2 x - b P.
Guidance per sample (norms over the row): CFG: P = P_c + (w - 1)(P_c - P_u).
  APG: diff = P_c - P_u; beta != 0: running = diff + beta running, diff = running (running = 0 at
  the start); r > 0: diff *= min(1, r/||diff||) (||diff|| = 0: unchanged); u = P_c / max(||P_c||, 1e-12);
  par = <diff, u> u; orth = diff - par; U = orth + eta par; paper: P_c + (w - 1) U; diffusers:
  P_u + w U; diffusers_original: P_c + w U. reset_on_sigma_increase (ComfyUI): running = 0 before
  the update when this evaluation's sigma > the previous evaluation's. With plain Euler/Heun sigma
  never increases between evaluations (Heun's second evaluation and the next step's first share
  sigma_{i+1}, which is not an increase), so the option cannot change these outputs: it only matters
  for a sampler that raises sigma (churn, restarts), which the Rust side does not have yet; the cases
  keep it (true and false) anyway. Each sample's trace has, per guidance evaluation, the mean over
  samples of ||par|| and ||orth|| (after momentum and rescaling, before eta); empty for CFG.
Metrics of X (n x d) for class c against exact draws Y (m = n) of the class-c mixture, range [lo, hi]:
  saturation_fraction (values outside [lo, hi]), excess_norm (mean ||x - clip(x)||), mean_error
  (||mean(X) - mu_c||, mu_c the p_k-weighted mean), diversity (population tr Cov(X) / exact tr Cov_c),
  sliced_wasserstein (sqrt of the mean over the L unit directions of mean_i (sort(X t)_i - sort(Y t)_i)^2),
  precision / recall (k-NN balls, k = 3: radius = distance to the k-th nearest other sample of the
  same set; a point is covered if within the radius of some point of the other set, <=).
The script asserts the spec's APG check values (cond [1, 0], uncond [0, 1], w 5) before writing.

JSON layout (tests/vectors/guidance_numpy.json, floats as json.dumps writes them):
  {"script", "numpy": version,
   "denoiser": [{"mixture": M, "class": null|int, "sigma", "d", "x": [flat n*d], "out": [flat]}],
   "schedules": [{"schedule": S, "steps": N, "sigmas": [N+1 values incl. the final 0]}],
   "samples": [{"name", "mixture": M, "class", "d", "n", "z": [flat n*d], "schedule": S, "steps",
                "sampler": "euler"|"heun", "prediction": "x0"|"eps"|"v", "guidance": G,
                "out": [flat n*d final x], "par_norm": [per evaluation], "orth_norm": [per evaluation]}],
   "metrics": [{"mixture": M, "class", "d", "lo", "hi", "x": [flat], "y": [flat],
                "directions": [flat L*d], "k": 3, "out": {"saturation_fraction", "excess_norm",
                "mean_error", "diversity", "sliced_wasserstein", "precision", "recall"}}]}
  M = {"means": [[d]..], "variances": [[d]..], "weights": [..], "classes": [..]};
  S = {"kind": "edm", "sigma_min", "sigma_max", "rho"} | {"kind": "vp", "beta_min", "beta_max", "t_min"};
  G = {"kind": "cfg", "w"} | {"kind": "apg", "form": "paper"|"diffusers"|"diffusers_original", "w",
       "eta", "r", "beta", "reset_on_sigma_increase"}.

  python3 -m venv /tmp/venv-np && /tmp/venv-np/bin/pip install numpy
  /tmp/venv-np/bin/python tests/vectors/guidance_numpy.py      (from the repository root)
Writes tests/vectors/guidance_numpy.json next to this script. Deterministic.
"""

import json
import math
import os

import numpy as np

# --------------------------------------------------------------------------------------------
# The maths


def arrays(mix, cls):
    """Means, variances, weights of the model (cls None: every component)."""
    mu = np.asarray(mix["means"], dtype=np.float64)
    s2 = np.asarray(mix["variances"], dtype=np.float64)
    pi = np.asarray(mix["weights"], dtype=np.float64)
    if cls is not None:
        keep = np.asarray(mix["classes"]) == cls
        assert keep.any()
        mu, s2, pi = mu[keep], s2[keep], pi[keep]
    return mu, s2, pi


def denoise(mix, cls, x, sigma):
    """Exact posterior mean E[x0 | x] of the model at noise level sigma, x: (n, d)."""
    mu, s2, pi = arrays(mix, cls)
    v = s2 + sigma * sigma  # (K, d)
    sq = (x[:, None, :] - mu[None, :, :]) ** 2 / v[None, :, :]  # (n, K, d)
    logw = np.log(pi)[None, :] - 0.5 * np.sum(np.log(2.0 * np.pi * v), axis=1)[None, :] - 0.5 * sq.sum(axis=2)
    logw = logw - logw.max(axis=1, keepdims=True)
    w = np.exp(logw)
    w = w / w.sum(axis=1, keepdims=True)  # (n, K)
    per = (s2[None, :, :] * x[:, None, :] + sigma * sigma * mu[None, :, :]) / v[None, :, :]  # (n, K, d)
    return np.einsum("nk,nkd->nd", w, per)


def sigmas(sched, n):
    frac = [0.0 if n == 1 else i / (n - 1) for i in range(n)]
    if sched["kind"] == "edm":
        a = sched["sigma_max"] ** (1.0 / sched["rho"])
        b = sched["sigma_min"] ** (1.0 / sched["rho"])
        s = [(a + f * (b - a)) ** sched["rho"] for f in frac]
    else:
        bmin, bmax, tmin = sched["beta_min"], sched["beta_max"], sched["t_min"]
        s = []
        for f in frac:
            t = 1.0 + f * (tmin - 1.0)
            s.append(math.sqrt(math.expm1(bmin * t + 0.5 * (bmax - bmin) * t * t)))
    return s + [0.0]


def start_scale(sched, sigma0):
    return sigma0 if sched["kind"] == "edm" else math.sqrt(1.0 + sigma0 * sigma0)


def vp_ab(sigma):
    r = math.sqrt(1.0 + sigma * sigma)
    return 1.0 / r, sigma / r


def to_space(pred, x, sigma, d):
    if pred == "x0":
        return d.copy()
    eps = (x - d) / sigma
    if pred == "eps":
        return eps
    a, b = vp_ab(sigma)
    return a * eps - b * d


def from_space(pred, x, sigma, p):
    if pred == "x0":
        return p.copy()
    if pred == "eps":
        return x - sigma * p
    a, b = vp_ab(sigma)
    return a * a * x - b * p


def row_norm(a):
    return np.sqrt(np.sum(a * a, axis=1))


class Guide:
    """CFG or APG with its state (momentum running value, last sigma) and the split trace."""

    def __init__(self, g):
        self.g = g
        self.running = None
        self.last_sigma = None
        self.par_norm = []
        self.orth_norm = []

    def __call__(self, pc, pu, sigma):
        g = self.g
        if g["kind"] == "cfg":
            return pc + (g["w"] - 1.0) * (pc - pu)
        if g["reset_on_sigma_increase"] and self.last_sigma is not None and sigma > self.last_sigma:
            self.running = None
        self.last_sigma = sigma
        diff = pc - pu
        if g["beta"] != 0.0:
            prev = self.running if self.running is not None else np.zeros_like(diff)
            self.running = diff + g["beta"] * prev
            diff = self.running
        if g["r"] > 0.0:
            nd = row_norm(diff)
            safe = np.where(nd > 0.0, nd, 1.0)
            factor = np.where(nd > 0.0, np.minimum(1.0, g["r"] / safe), 1.0)
            diff = diff * factor[:, None]
        u = pc / np.maximum(row_norm(pc), 1e-12)[:, None]
        par = np.sum(diff * u, axis=1)[:, None] * u
        orth = diff - par
        self.par_norm.append(float(np.mean(row_norm(par))))
        self.orth_norm.append(float(np.mean(row_norm(orth))))
        upd = orth + g["eta"] * par
        if g["form"] == "paper":
            return pc + (g["w"] - 1.0) * upd
        if g["form"] == "diffusers":
            return pu + g["w"] * upd
        assert g["form"] == "diffusers_original"
        return pc + g["w"] * upd


def guided_denoiser(mix, cls, pred, guide):
    def dg(x, sigma):
        pc = to_space(pred, x, sigma, denoise(mix, cls, x, sigma))
        pu = to_space(pred, x, sigma, denoise(mix, None, x, sigma))
        return from_space(pred, x, sigma, guide(pc, pu, sigma))

    return dg


def sample(mix, cls, z, sched, steps, sampler, pred, g):
    sig = sigmas(sched, steps)
    x = z * start_scale(sched, sig[0])
    guide = Guide(g)
    dg = guided_denoiser(mix, cls, pred, guide)
    for i in range(steps):
        s0, s1 = sig[i], sig[i + 1]
        h = s1 - s0
        d = (x - dg(x, s0)) / s0
        if sampler == "euler":
            x = x + h * d
        else:
            xp = x + h * d
            if s1 > 0.0:
                d2 = (xp - dg(xp, s1)) / s1
                x = x + h * (d + d2) / 2.0
            else:
                x = xp
        assert np.all(np.isfinite(x)) and np.abs(x).max() < 1e6
    return x, guide


def class_moments(mix, cls):
    mu, s2, pi = arrays(mix, cls)
    p = pi / pi.sum()
    mc = p @ mu
    tr = float(np.sum(p * (s2.sum(axis=1) + np.sum(mu * mu, axis=1))) - mc @ mc)
    return mc, tr


def pair_dist(a, b):
    return np.sqrt(np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=2))


def knn_radius(a, k):
    dd = pair_dist(a, a)
    np.fill_diagonal(dd, np.inf)
    return np.sort(dd, axis=1)[:, k - 1]


def metrics(mix, cls, x, y, lo, hi, dirs, k):
    n, d = x.shape
    assert y.shape == x.shape
    mc, tr = class_moments(mix, cls)
    sat = float(np.mean((x < lo) | (x > hi)))
    excess = float(np.mean(row_norm(x - np.clip(x, lo, hi))))
    mean_err = float(np.sqrt(np.sum((x.mean(axis=0) - mc) ** 2)))
    cov_tr = float(np.sum(np.mean((x - x.mean(axis=0)) ** 2, axis=0)))
    px = np.sort(x @ dirs.T, axis=0)  # (n, L)
    py = np.sort(y @ dirs.T, axis=0)
    sw = float(np.sqrt(np.mean(np.mean((px - py) ** 2, axis=0))))
    ry, rx = knn_radius(y, k), knn_radius(x, k)
    dxy = pair_dist(x, y)  # (n, m)
    precision = float(np.mean(np.any(dxy <= ry[None, :], axis=1)))
    recall = float(np.mean(np.any(dxy.T <= rx[None, :], axis=1)))
    return {
        "saturation_fraction": sat,
        "excess_norm": excess,
        "mean_error": mean_err,
        "diversity": cov_tr / tr,
        "sliced_wasserstein": sw,
        "precision": precision,
        "recall": recall,
    }


def draw_class(rng, mix, cls, m):
    mu, s2, pi = arrays(mix, cls)
    comp = rng.choice(len(pi), size=m, p=pi / pi.sum())
    return mu[comp] + np.sqrt(s2[comp]) * rng.standard_normal((m, mu.shape[1]))


# --------------------------------------------------------------------------------------------
# Checks


def check_values():
    pc = np.array([[1.0, 0.0]])
    pu = np.array([[0.0, 1.0]])

    def apg(form, eta, r):
        g = {"kind": "apg", "form": form, "w": 5.0, "eta": eta, "r": r, "beta": 0.0,
             "reset_on_sigma_increase": False}
        return Guide(g)(pc, pu, 1.0)[0]

    def ok(a, b):
        assert np.allclose(a, b, rtol=0, atol=1e-10), (a, b)

    ok(apg("paper", 0.0, 0.0), [1.0, -4.0])
    ok(apg("diffusers", 0.0, 0.0), [0.0, -4.0])
    ok(apg("diffusers_original", 0.0, 0.0), [1.0, -5.0])
    ok(apg("paper", 1.0, 0.0), [5.0, -4.0])
    ok(apg("diffusers", 1.0, 0.0), [5.0, -4.0])
    ok(apg("paper", 0.0, 1.0), [1.0, -2.8284271247])
    # The paper form with eta 1, r 0, beta 0 is CFG.
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    g = {"kind": "apg", "form": "paper", "w": 3.0, "eta": 1.0, "r": 0.0, "beta": 0.0,
         "reset_on_sigma_increase": False}
    ok(Guide(g)(a, b, 1.0), Guide({"kind": "cfg", "w": 3.0})(a, b, 1.0))
    # Prediction conversions round-trip.
    x, d = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for p in ("x0", "eps", "v"):
        ok(from_space(p, x, 0.7, to_space(p, x, 0.7, d)), d)
    # The denoiser of one isotropic Gaussian is the Wiener filter.
    mix = {"means": [[0.3, -0.2]], "variances": [[0.05, 0.05]], "weights": [2.0], "classes": [0]}
    ok(denoise(mix, None, x[:, :2], 0.5), (0.05 * x[:, :2] + 0.25 * np.array([0.3, -0.2])) / 0.3)
    # Schedules: endpoints.
    s = sigmas(EDM, 10)
    ok([s[0], s[9], s[10]], [80.0, 0.002, 0.0])
    s = sigmas(VP, 10)
    ok(s[9], math.sqrt(math.expm1(0.1 * 1e-3 + 0.5 * 19.9 * 1e-6)))


# --------------------------------------------------------------------------------------------
# Cases

EDM = {"kind": "edm", "sigma_min": 0.002, "sigma_max": 80.0, "rho": 7.0}
EDM_SMALL = {"kind": "edm", "sigma_min": 0.01, "sigma_max": 10.0, "rho": 5.0}
VP = {"kind": "vp", "beta_min": 0.1, "beta_max": 20.0, "t_min": 1e-3}
VP_OTHER = {"kind": "vp", "beta_min": 0.5, "beta_max": 10.0, "t_min": 0.01}

MIX1 = {"means": [[0.4, -0.3]], "variances": [[0.05, 0.05]], "weights": [1.0], "classes": [0]}
MIX2D = {
    "means": [[-0.6, -0.5], [-0.3, 0.6], [0.5, 0.4], [0.7, -0.6], [0.1, -0.1]],
    "variances": [[0.02, 0.02], [0.05, 0.01], [0.03, 0.03], [0.01, 0.08], [0.1, 0.1]],
    "weights": [1.0, 2.0, 1.5, 0.5, 1.0],
    "classes": [0, 0, 1, 2, 2],
}
MIX2D_K2 = {
    "means": [[-0.5, 0.2], [0.6, -0.4]],
    "variances": [[0.01, 0.09], [0.07, 0.02]],
    "weights": [3.0, 1.0],
    "classes": [0, 1],
}


def random_mix(rng, d, k, classes, iso):
    means = rng.uniform(-0.8, 0.8, (k, d))
    var = []
    for j in range(k):
        if iso[j]:
            var.append([float(rng.uniform(0.01, 0.1))] * d)
        else:
            var.append(rng.uniform(0.01, 0.1, d).tolist())
    return {
        "means": means.tolist(),
        "variances": var,
        "weights": rng.uniform(0.5, 2.0, k).tolist(),
        "classes": list(classes),
    }


def apg(form, w, eta, r, beta, reset):
    return {"kind": "apg", "form": form, "w": w, "eta": eta, "r": r, "beta": beta,
            "reset_on_sigma_increase": reset}


def cfg(w):
    return {"kind": "cfg", "w": w}


def main():
    check_values()
    rng = np.random.default_rng(20250306)
    mix12 = random_mix(rng, 12, 6, [0, 0, 1, 1, 2, 2], [True, False, True, False, False, True])
    mix12b = random_mix(rng, 12, 3, [0, 1, 1], [False, True, False])
    mix6 = random_mix(rng, 6, 4, [0, 1, 1, 2], [True, False, False, True])

    # ---- denoiser
    den = []
    for mix, cls, sigma, n, far in [
        (MIX1, None, 1.0, 5, False),
        (MIX2D, None, 0.01, 6, True),
        (MIX2D, 0, 0.5, 6, False),
        (MIX2D, 2, 80.0, 5, True),
        (MIX2D_K2, 1, 10.0, 4, False),
        (mix12, None, 0.1, 4, True),
        (mix12, 1, 2.0, 4, False),
        (mix12b, 0, 0.01, 3, True),
        (mix12b, None, 0.3, 3, False),
    ]:
        d = len(mix["means"][0])
        x = rng.standard_normal((n, d)) * max(sigma, 0.5)
        if far:
            x[0] = 50.0
            x[1, 0] = -50.0
        out = denoise(mix, cls, x, sigma)
        assert np.all(np.isfinite(out))
        den.append({"mixture": mix, "class": cls, "sigma": sigma, "d": d,
                    "x": x.reshape(-1).tolist(), "out": out.reshape(-1).tolist()})

    # ---- schedules
    scheds = []
    for s in (EDM, VP, EDM_SMALL, VP_OTHER):
        for n in (1, 2, 10):
            scheds.append({"schedule": s, "steps": n, "sigmas": sigmas(s, n)})

    # ---- samples
    sample_cases = [
        ("euler_edm_x0_cfg", MIX2D, 1, 5, EDM, 6, "euler", "x0", cfg(3.0)),
        ("heun_edm_x0_apg_paper", MIX2D, 0, 5, EDM, 5, "heun", "x0", apg("paper", 5.0, 0.0, 0.0, 0.0, False)),
        ("euler_vp_eps_apg_diffusers_mom_r", MIX2D, 2, 6, VP, 8, "euler", "eps",
         apg("diffusers", 4.0, 0.5, 1.0, -0.5, True)),
        ("heun_vp_v_apg_original_mom_r", mix12, 1, 4, VP, 4, "heun", "v",
         apg("diffusers_original", 3.0, 0.0, 0.5, -0.5, False)),
        ("euler_edm_v_cfg", mix12, 0, 4, EDM, 5, "euler", "v", cfg(2.0)),
        ("heun_vp_eps_cfg", MIX2D, 0, 5, VP, 4, "heun", "eps", cfg(4.0)),
        ("euler_edm_eps_apg_paper_mom_r", mix12, 2, 5, EDM, 7, "euler", "eps",
         apg("paper", 7.0, 0.0, 2.0, -0.5, True)),
        ("heun_edm_v_apg_diffusers_eta1", MIX2D, 1, 6, EDM_SMALL, 5, "heun", "v",
         apg("diffusers", 5.0, 1.0, 0.0, 0.0, False)),
        ("euler_vp_x0_apg_original_mom", MIX2D, 2, 5, VP, 6, "euler", "x0",
         apg("diffusers_original", 6.0, 0.0, 0.0, -0.5, False)),
        ("heun_vp_x0_apg_paper_mom_r", mix12b, 1, 4, VP_OTHER, 4, "heun", "x0",
         apg("paper", 4.0, 0.25, 1.5, -0.5, True)),
        ("euler_edm_x0_apg_paper_eta1_is_cfg", MIX2D, 1, 5, EDM, 6, "euler", "x0",
         apg("paper", 3.0, 1.0, 0.0, 0.0, False)),
        ("heun_edm_eps_apg_original", mix12, 0, 4, EDM, 3, "heun", "eps",
         apg("diffusers_original", 2.0, 0.5, 0.0, 0.0, True)),
        ("euler_vp_v_apg_paper_mom", MIX2D_K2, 0, 6, VP, 5, "euler", "v",
         apg("paper", 3.0, 0.0, 0.0, -0.5, False)),
        ("heun_edm_x0_apg_diffusers_mom_r", mix12b, 2 - 1, 4, EDM, 4, "heun", "x0",
         apg("diffusers", 3.0, 0.0, 3.0, -0.5, True)),
        ("euler_edm_x0_cfg_w1", MIX2D_K2, 1, 4, EDM_SMALL, 3, "euler", "x0", cfg(1.0)),
        ("heun_vp_eps_apg_paper_r", MIX2D, 0, 5, VP, 3, "heun", "eps",
         apg("paper", 5.0, 0.0, 0.5, 0.0, False)),
        ("heun_vp_v_apg_diffusers_r", mix12, 2, 5, VP, 6, "heun", "v",
         apg("diffusers", 2.5, 0.5, 1.0, 0.0, True)),
    ]
    samples = []
    for name, mix, cls, n, sched, steps, sampler, pred, g in sample_cases:
        d = len(mix["means"][0])
        z = rng.standard_normal((n, d))
        out, guide = sample(mix, cls, z, sched, steps, sampler, pred, g)
        evals = steps if sampler == "euler" else 2 * steps - 1
        if g["kind"] == "apg":
            assert len(guide.par_norm) == evals
        samples.append({
            "name": name, "mixture": mix, "class": cls, "d": d, "n": n, "z": z.reshape(-1).tolist(),
            "schedule": sched, "steps": steps, "sampler": sampler, "prediction": pred, "guidance": g,
            "out": out.reshape(-1).tolist(), "par_norm": guide.par_norm, "orth_norm": guide.orth_norm,
        })
    # Reset on sigma increase never fires with these samplers (sigma is non-increasing), and the
    # eta-1 paper form is CFG.
    for s in samples:
        g = s["guidance"]
        if g["kind"] == "apg" and g["reset_on_sigma_increase"]:
            mix = s["mixture"]
            z = np.array(s["z"]).reshape(s["n"], s["d"])
            other, _ = sample(mix, s["class"], z, s["schedule"], s["steps"], s["sampler"], s["prediction"],
                              dict(g, reset_on_sigma_increase=False))
            assert np.array_equal(other.reshape(-1), np.array(s["out"]))
    by = {s["name"]: s for s in samples}
    a, b = by["euler_edm_x0_cfg"], by["euler_edm_x0_apg_paper_eta1_is_cfg"]
    zb = np.array(b["z"]).reshape(b["n"], b["d"])
    ref, _ = sample(b["mixture"], b["class"], zb, b["schedule"], b["steps"], "euler", "x0", cfg(3.0))
    assert np.allclose(ref.reshape(-1), b["out"], rtol=0, atol=1e-12)
    del a

    # ---- metrics
    mets = []
    for mix, cls, n, spread, shift in [
        (MIX2D, 0, 20, 1.0, 0.0),
        (MIX2D, 1, 50, 3.0, 0.3),
        (mix6, 0, 30, 1.5, 0.0),
        (mix6, 1, 40, 0.7, -0.2),
        (MIX2D, 2, 25, 4.0, 0.5),
    ]:
        d = len(mix["means"][0])
        mc, _ = class_moments(mix, cls)
        # "Generated" samples: exact draws widened about the class mean and shifted.
        x = mc + spread * (draw_class(rng, mix, cls, n) - mc) + shift
        y = draw_class(rng, mix, cls, n)
        dirs = rng.standard_normal((8, d))
        dirs = dirs / row_norm(dirs)[:, None]
        out = metrics(mix, cls, x, y, -1.0, 1.0, dirs, 3)
        mets.append({"mixture": mix, "class": cls, "d": d, "lo": -1.0, "hi": 1.0,
                     "x": x.reshape(-1).tolist(), "y": y.reshape(-1).tolist(),
                     "directions": dirs.reshape(-1).tolist(), "k": 3, "out": out})
    assert any(m["out"]["saturation_fraction"] > 0 for m in mets)
    assert any(m["out"]["saturation_fraction"] == 0 for m in mets)

    doc = {"script": "tests/vectors/guidance_numpy.py", "numpy": np.__version__, "denoiser": den,
           "schedules": scheds, "samples": samples, "metrics": mets}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guidance_numpy.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {path}: {len(den)} denoiser, {len(scheds)} schedules, {len(samples)} samples, "
          f"{len(mets)} metrics cases")


if __name__ == "__main__":
    main()
