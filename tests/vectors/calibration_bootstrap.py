#!/usr/bin/env python3
"""Reference bootstrap spreads of the class-wise calibration metrics on netcal's
`lenet-5-cifar-10.npz` (`$SCALELAB_REFDATA/calibration/netcal`), with numpy's own generator:
B = 1000 resamples of the rows with replacement (numpy.random.default_rng(0)), each scored with the
class-wise ECE (15 bins, (lo, hi]) and Nixon et al.'s adaptive CE (15 equal-mass ranges per class) of
`calibration_netcal.py` (an independent implementation); reported: the estimate on all rows, the
bootstrap standard error (ddof = 1) and the 95 % percentile interval (numpy.percentile, linear).

Scalelab draws its resamples with another generator, so the two bootstraps agree only as two
estimates of the same sampling distribution (the standard error's own relative error is about
1/sqrt(2B)); the Rust test compares them within that.

  /tmp/venv-cal/bin/pip install numpy scipy
  /tmp/venv-cal/bin/python tests/vectors/calibration_bootstrap.py > tests/vectors/calibration_bootstrap.json
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from calibration_netcal import metrics  # noqa: E402

B = 1000


def main():
    root = os.environ.get("SCALELAB_REFDATA", os.path.join(os.path.dirname(__file__), "../../../shared/refdata"))
    with np.load(os.path.join(root, "calibration/netcal/lenet-5-cifar-10.npz"), allow_pickle=False) as d:
        p = d["predictions"].astype(np.float64)
        y = d["ground_truth"].astype(np.int64)
    z = np.log(p)
    full = metrics(z, y, 1.0)
    rng = np.random.default_rng(0)
    values = {"classwise_ece": [], "adaptive_ce": []}
    for _ in range(B):
        rows = rng.integers(0, len(y), len(y))
        m = metrics(z[rows], y[rows], 1.0)
        for key in values:
            values[key].append(m[key])
    out = {"numpy": np.__version__, "resamples": B, "level": 0.95}
    for key, v in values.items():
        v = np.array(v)
        out[key] = {
            "estimate": full[key],
            "std_error": float(v.std(ddof=1)),
            "lower": float(np.percentile(v, 2.5)),
            "upper": float(np.percentile(v, 97.5)),
        }
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
