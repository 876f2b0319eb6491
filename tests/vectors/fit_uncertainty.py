"""Peer vectors for the Fit lab's uncertainty (crates/scalelab-core/tests/it/fit_uncertainty.rs).

statsmodels computes:
  robust  RLM(y, [1, x], M=HuberT(t=1.345)).fit() (scale by MAD, updated; covariance "H1") on a
          30-point line with one gross outlier: params, bse (Huber's sandwich), scale; and OLS bse
          for contrast. Huber's threshold in the data's units is t · scale.
  bands   OLS(y, [1, x]).fit().get_prediction([1, x_new]).summary_frame(alpha=0.05) on straight lines
          with n − p = 3, 5 and 20 residual degrees of freedom: the mean's 95 % confidence band
          (mean_ci_lower/upper, Student t with n − p dof) and the 95 % prediction band
          (obs_ci_lower/upper).
Data are deterministic (numpy's PCG64 with fixed seeds) and stored with the results.

Run: python3 -m venv /tmp/venv-fit && /tmp/venv-fit/bin/pip install numpy scipy statsmodels
     /tmp/venv-fit/bin/python tests/vectors/fit_uncertainty.py   (from the repository root)
Writes tests/vectors/fit_uncertainty.json next to this script.
"""

import json
import os

import numpy as np
import scipy
import statsmodels
import statsmodels.api as sm

rng = np.random.default_rng(20261201)
x = np.arange(30, dtype=float)
y = 1.0 + 0.5 * x + rng.normal(0.0, 0.1, 30)
y[17] += 8.0  # one gross outlier
X = sm.add_constant(x)
rlm = sm.RLM(y, X, M=sm.robust.norms.HuberT(t=1.345)).fit()
ols = sm.OLS(y, X).fit()
robust = {
    "x": x.tolist(),
    "y": y.tolist(),
    "t": 1.345,
    "params": rlm.params.tolist(),
    "bse": rlm.bse.tolist(),
    "scale": float(rlm.scale),
    "ols_bse": ols.bse.tolist(),
}

bands = []
for dof in (3, 5, 20):
    r = np.random.default_rng(dof)
    n = dof + 2
    xb = np.linspace(1.0, 10.0, n)
    yb = 2.0 + 0.3 * xb + r.normal(0.0, 0.2, n)
    fit = sm.OLS(yb, sm.add_constant(xb)).fit()
    x_new = np.array([0.0, 5.5, 12.0, 20.0])
    frame = fit.get_prediction(sm.add_constant(x_new, has_constant="add")).summary_frame(alpha=0.05)
    bands.append({
        "dof": dof,
        "x": xb.tolist(),
        "y": yb.tolist(),
        "x_new": x_new.tolist(),
        "mean": frame["mean"].tolist(),
        "lower": frame["mean_ci_lower"].tolist(),
        "upper": frame["mean_ci_upper"].tolist(),
        "prediction_lower": frame["obs_ci_lower"].tolist(),
        "prediction_upper": frame["obs_ci_upper"].tolist(),
        "t": float(scipy.stats.t.ppf(0.975, dof)),
    })

out = {
    "source": f"statsmodels {statsmodels.__version__}, scipy {scipy.__version__}, numpy {np.__version__}",
    "robust": robust,
    "bands": bands,
}
path = os.path.join(os.path.dirname(__file__), "fit_uncertainty.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print(path, rlm.params, rlm.bse, ols.bse)
