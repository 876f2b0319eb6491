"""Peer vectors for the loss-curve laws' warmup conventions
(crates/scalelab-core/tests/it/fit_models.rs, `loss_curve_laws_follow_the_papers_and_the_reference_code`).

The schedule is the reference repository's `cosine_24000` (thu-yao-01-luo/MultiPowerLaw,
src/lr_schedules.py + src/data_loader.py): warmup np.linspace(0, 3e-4, 2160), then cosine to 3e-5
at step 24000. Rates are 0-based here, as in that code: lrs[j] is the rate of update j + 1, so the
reference code's "step s" (S1 = cumsum(lrs)[s]) is the state after s + 1 updates — the Rust
crate's step s + 1. Every vector below is indexed by the crate's step (`steps`).

Multi-power law (Luo et al. 2025, parameters: the repository's 100M `PARAMS`):
  reference  the reference code's formula, transcribed from src/evaluation.py:
             LD = sum(lr_gap[1:s+1] * (1 - (1 + C*lrs[1:s+1]**(-gamma)*(lr_sum[s]-lr_sum[:s]))**(-beta)))
             pred = L0 + A*S1**(-alpha) + B*LD     (warmup's rising rates included in LD)
  paper      the paper's L(t) = L0 + A*(S1(t) + S_W)**(-alpha) - LD(t), t counted after the W = 2160
             warmup steps, LD(t) = B * sum_{k=1}^{t} (eta_{k-1} - eta_k) * G(eta_k**(-gamma) * S_k(t)),
             G(x) = 1 - (C*x + 1)**(-beta), S_k(t) = sum_{tau=k}^{t} eta_tau, eta_0 = the last warmup
             rate; written over the post-warmup rates only.
Tissue et al. (λ = 0.999, parameters L0, A, alpha, C below):
  reference  the momentum recursion over the whole learning-rate column, warmup included, as the
             public reimplementations do: m[0] = 0, m[i] = λ m[i-1] + (lr[i-1] - lr[i]), S2 = cumsum(m)
  paper      the momentum started at the end of warmup (m = 0 through the warmup), so a constant
             rate after warmup gives S2 = 0; S1 = the area under the whole schedule.

Run: python3 -m venv /tmp/venv-fit && /tmp/venv-fit/bin/pip install numpy
     /tmp/venv-fit/bin/python tests/vectors/loss_curve_conventions.py   (from the repository root)
Writes tests/vectors/loss_curve_conventions.json next to this script.
"""

import json
import os

import numpy as np

W, T, PEAK, END = 2160, 24000, 3e-4, 3e-5
j = np.arange(T)[W:]
lrs = np.concatenate(
    (np.linspace(0, PEAK, W), END + 0.5 * (PEAK - END) * (1 + np.cos(np.pi * (j - W) / (T - W))))
)
MPL = [2.6514477, 0.60115152, 0.45295811, 437.9464276, 2.13245612, 0.59785199, 0.65523644]
TISSUE = [2.6, 0.6, 0.45, 1.0]
LAMBDA = 0.999
# The crate's steps (after s updates): through the warmup, just after it, and along the decay.
steps = [2, 100, 2160, 2161, 2200, 3000, 8000, 16000, 23000, 24000]

lr_sum = np.cumsum(lrs)
lr_gap = np.zeros(T)
lr_gap[1:] = np.diff(lrs)


def mpl_reference(step):
    L0, A, alpha, B, C, beta, gamma = MPL
    s = step - 1
    S1 = lr_sum[s]
    LD = np.sum(lr_gap[1 : s + 1] * (1 - (1 + C * lrs[1 : s + 1] ** (-gamma) * (lr_sum[s] - lr_sum[:s])) ** (-beta)))
    return L0 + A * S1 ** (-alpha) + B * LD


def mpl_paper(step):
    L0, A, alpha, B, C, beta, gamma = MPL
    S_W = lrs[: min(step, W)].sum()
    t = step - W
    if t <= 0:
        return L0 + A * S_W ** (-alpha)
    eta = np.concatenate(([lrs[W - 1]], lrs[W : W + t]))  # eta_0 .. eta_t
    S1 = eta[1:].sum()
    LD = 0.0
    for k in range(1, t + 1):
        S_k = eta[k : t + 1].sum()
        G = 1 - (C * eta[k] ** (-gamma) * S_k + 1) ** (-beta)
        LD += (eta[k - 1] - eta[k]) * G
    return L0 + A * (S1 + S_W) ** (-alpha) - B * LD


def tissue(paper):
    m = np.zeros(T)
    for i in range(1, T):
        if paper and i < W:
            continue  # no momentum through the warmup
        m[i] = LAMBDA * m[i - 1] + (lrs[i - 1] - lrs[i])
    return np.cumsum(lrs), np.cumsum(m)


out = {
    "source": f"numpy {np.__version__}; formulas transcribed from thu-yao-01-luo/MultiPowerLaw "
    "src/evaluation.py and the papers (see the script)",
    "warmup_steps": W,
    "steps": steps,
    "lrs_at_steps": [float(lrs[s - 1]) for s in steps],
    "mpl_theta": MPL,
    "mpl_reference": [float(mpl_reference(s)) for s in steps],
    "mpl_paper": [float(mpl_paper(s)) for s in steps],
    "tissue_theta": TISSUE,
    "tissue_lambda": LAMBDA,
}
for name, paper in [("reference", False), ("paper", True)]:
    s1, s2 = tissue(paper)
    L0, A, alpha, C = TISSUE
    out[f"tissue_{name}_s2"] = [float(s2[s - 1]) for s in steps]
    out[f"tissue_{name}"] = [float(L0 + A * s1[s - 1] ** (-alpha) - C * s2[s - 1]) for s in steps]

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loss_curve_conventions.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("mpl reference − paper at the last step:", out["mpl_reference"][-1] - out["mpl_paper"][-1])
