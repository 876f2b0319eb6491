"""Peer vectors for scalelab-core's StableMax / softmax emulation (crates/scalelab-core/tests/it/vectors.rs).

Computes, with numpy arrays in float16, ml_dtypes.bfloat16, float32 and float64, the op sequence of
the reference code (LucasPrietoAl/grokking-at-the-edge-of-numerical-stability: `logger.py`
compute_softmax_collapse, log_softmax cross-entropy, `utils.py` s / stablemax) with every step in that
dtype:

  softmax:   zc = dtype(scale * z)  (product in float64, then one cast)
             o = zc - max(zc); e = exp(o); sum_exp = e[0] + e[1] + ... (sequential, in dtype)
             p = e / sum_exp; loss = -(o[y] - log(sum_exp)); grad = p - onehot(y); collapsed = sum_exp == 1
  stablemax: s = zc + 1 (zc >= 0) or 1 / (1 - zc); sum = sequential; p = s / sum; loss = -log(p[y])
             s' = 1 or s * s; grad = s' / sum; grad[y] -= s'[y] / s[y]

Notes on what numpy does (so the Rust tolerances can be justified):
  * float16 and bfloat16 ufuncs (exp, log, +, -, *, /) compute in float32 and round to the dtype.
    For + - * / that equals the correctly rounded dtype result (float32 has >= 2p+2 bits);
    exp/log can differ from the Rust emulation (exp in f64, one rounding) by one dtype ulp.
  * float32 / float64 exp and log use numpy's own (SIMD) implementations, within a few ulp.
  * The sum is an explicit sequential loop in the dtype, NOT np.sum (np.sum accumulates float16
    in float32 and sums pairwise), because the Rust emulation rounds after every addition.

Also records numpy's float64 -> float16 / float32 casts and ml_dtypes' float64 -> bfloat16 cast of a few
values next to rounding boundaries.

Run: python3 -m venv /tmp/venv-core && /tmp/venv-core/bin/pip install numpy ml_dtypes
     /tmp/venv-core/bin/python tests/vectors/stablemax.py       (from the repository root)
Writes tests/vectors/stablemax.json next to this script.
"""

import json
import os

import ml_dtypes
import numpy as np

DTYPES = {
    "f16": np.dtype(np.float16),
    "bf16": np.dtype(ml_dtypes.bfloat16),
    "f32": np.dtype(np.float32),
    "f64": np.dtype(np.float64),
}

CASES = [
    # (logits, target)
    ([0.0, 1.0, 2.0], 0),  # science.md 7.2
    ([-1.0, 0.0, 1.0], 2),  # science.md 7.3
    ([5.0, -5.0, 0.0], 0),  # science.md 7.3
    ([1.0, 0.0], 0),  # science.md 7.4 shape [delta, 0]
    ([2.5, -1.25, 0.75, 3.0, -4.0], 1),  # target not the max
    ([1.0, 1.0, 0.0], 0),  # tied maxima never collapse
    ([0.3, -0.7, 1.9, 0.1, -2.2, 0.8], 2),
]
SCALES = [1.0, 10.0, 100.0, 1000.0]


def seq_sum(values, dt):
    acc = values[0]
    for v in values[1:]:
        acc = acc + v
    assert acc.dtype == dt, (acc.dtype, dt)
    return acc


def softmax_path(zc, y, dt):
    one = dt.type(1)
    o = zc - zc.max()
    e = np.exp(o)
    s = seq_sum(e, dt)
    p = e / s
    loss = -(o[y] - np.log(s))
    grad = p.copy()
    grad[y] = p[y] - one
    for a in (o, e, p, grad):
        assert a.dtype == dt
    assert loss.dtype == dt
    return p, loss, grad, s


def stablemax_path(zc, y, dt):
    one = dt.type(1)
    with np.errstate(divide="ignore", over="ignore"):
        sv = np.where(zc >= 0, zc + one, one / (one - zc)).astype(dt)
        sp = np.where(zc >= 0, one, sv * sv).astype(dt)
    tot = seq_sum(sv, dt)
    p = sv / tot
    loss = -np.log(p[y])
    grad = sp / tot
    grad[y] = grad[y] - sp[y] / sv[y]
    for a in (p, grad):
        assert a.dtype == dt
    assert loss.dtype == dt
    return p, loss, grad


def floats(a):
    out = [float(v) for v in np.atleast_1d(a).astype(np.float64)]
    assert all(np.isfinite(out)), out
    return out


def main():
    cases = []
    for z, y in CASES:
        runs = []
        for scale in SCALES:
            for name, dt in DTYPES.items():
                zc = (np.asarray(z, dtype=np.float64) * scale).astype(dt)
                p, loss, grad, s = softmax_path(zc, y, dt)
                sp, sloss, sgrad = stablemax_path(zc, y, dt)
                runs.append(
                    {
                        "scale": scale,
                        "precision": name,
                        "softmax": {
                            "probs": floats(p),
                            "loss": floats(loss)[0],
                            "grad": floats(grad),
                            "sum_exp": floats(s)[0],
                            "collapsed": bool(s == dt.type(1)),
                        },
                        "stablemax": {
                            "probs": floats(sp),
                            "loss": floats(sloss)[0],
                            "grad": floats(sgrad),
                        },
                    }
                )
        cases.append({"logits": z, "target": y, "runs": runs})

    # Values next to rounding boundaries of float16 / bfloat16 / float32.
    inputs = [
        1.0 + 2.0**-11 + 2.0**-21,  # above the f16 midpoint by less than f16's 2^-20 window
        1.0 + 2.0**-11,  # f16 tie -> even (1)
        1.0 + 3 * 2.0**-11,  # f16 tie -> even (1 + 2^-9)
        1.0 + 2.0**-8 + 2.0**-40,  # just above the bf16 midpoint
        1.0 + 2.0**-8,  # bf16 tie -> even (1)
        1.0 + 2.0**-24 + 2.0**-50,  # just above the f32 midpoint
        1.0 + 2.0**-24,  # f32 tie -> even (1)
        65519.99,  # below the f16 overflow threshold 65520 -> 65504
        3.0 * 2.0**-26,  # f16 subnormal region, between 2^-25 and 2^-24 steps
        2.0**-25,  # half the smallest f16 subnormal: tie -> 0
        2.0**-25 + 2.0**-60,  # just above: the smallest subnormal
        -0.1,
        16.7,
        36.8,
        7.7,
        1e-3,
        12345.678,
    ]
    rounding = {"inputs": inputs}
    for name, dt in DTYPES.items():
        rounding[name] = floats(np.asarray(inputs, dtype=np.float64).astype(dt))

    out = {
        "source": (
            f"tests/vectors/stablemax.py with numpy {np.__version__}, ml_dtypes {ml_dtypes.__version__}"
        ),
        "cases": cases,
        "rounding": rounding,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stablemax.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}: {sum(len(c['runs']) for c in cases)} runs, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
