#!/usr/bin/env python3
"""Reference values for the Calibrate recalibration maps on netcal's `lenet-5-cifar-10.npz`
(`$SCALELAB_REFDATA/calibration/netcal`): top-label confidence and correctness at T = 1, the first
3000 rows as the calibration split, the other 7000 as the test split (a fixed split, so the values
do not depend on a random generator).

  * isotonic: scikit-learn `IsotonicRegression(out_of_bounds="clip")` fitted on the calibration split;
    its predictions at 96 query confidences and at every test row (their mean), and the test ECE
    (15 bins, (lo, hi]) of the recalibrated confidences;
  * histogram binning (Zadrozny & Elkan), written here with numpy: 15 bins (lo, hi], each bin's
    calibration accuracy.

  /tmp/venv-cal/bin/pip install numpy scikit-learn
  /tmp/venv-cal/bin/python tests/vectors/calibration_recalibrate.py > tests/vectors/calibration_recalibrate.json
"""

import json
import os
import sys

import numpy as np
import sklearn
from sklearn.isotonic import IsotonicRegression

root = os.environ.get("SCALELAB_REFDATA", os.path.join(os.path.dirname(__file__), "../../../shared/refdata"))
with np.load(os.path.join(root, "calibration/netcal/lenet-5-cifar-10.npz"), allow_pickle=False) as d:
    p = d["predictions"].astype(np.float64)
    y = d["ground_truth"].astype(np.int64)
z = np.log(p)
z = z - z.max(axis=1, keepdims=True)
q = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
conf = q.max(axis=1)
correct = (q.argmax(axis=1) == y).astype(float)
cal, test = slice(0, 3000), slice(3000, None)

iso = IsotonicRegression(out_of_bounds="clip").fit(conf[cal], correct[cal])
queries = np.linspace(0.05, 1.0, 96)
test_iso = iso.predict(conf[test])

M = 15
edges = [m / M for m in range(M + 1)]


def ece(c, o):
    total = 0.0
    for m in range(M):
        sel = (c > edges[m]) & (c <= edges[m + 1])
        if sel.any():
            total += sel.mean() * abs(o[sel].mean() - c[sel].mean())
    return float(total)


hist = []
for m in range(M):
    sel = (conf[cal] > edges[m]) & (conf[cal] <= edges[m + 1])
    hist.append(float(correct[cal][sel].mean()) if sel.any() else None)

json.dump({
    "sklearn": sklearn.__version__,
    "queries": queries.tolist(),
    "isotonic_at_queries": iso.predict(queries).tolist(),
    "isotonic_test_mean": float(test_iso.mean()),
    "isotonic_test_ece": ece(test_iso, correct[test]),
    "test_ece_before": ece(conf[test], correct[test]),
    "histogram_values": hist,
}, sys.stdout, indent=1)
print()
