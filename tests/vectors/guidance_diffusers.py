#!/usr/bin/env python3
"""diffusers' own Adaptive Projected Guidance step on random inputs, for a Rust test that feeds the
same pred_cond / pred_uncond to scalelab's APG rule (form "diffusers" / "diffusers_original") and
compares the guided prediction. Uses torch, numpy and diffusers only (the peer), not scalelab's code:
the outputs are those of diffusers' real `normalized_guidance` and `MomentumBuffer`
(`diffusers.guiders.adaptive_projected_guidance`, diffusers 0.42), called as the
`AdaptiveProjectedGuidance` guider calls them (norm_dim None: norms and projections over every
non-batch dimension, i.e. per sample over its flattened C*H*W values).

What diffusers computes (quoted in the Scalelab guidance spec, /tmp/guidance_spec.md, "APG"):
  diff = pred_cond - pred_uncond
  MomentumBuffer(m).update(diff): running = diff + m * running (running starts at 0); diff = running
  norm_threshold r > 0: diff = diff * min(1, r / ||diff||)          (||diff|| = 0: r/0 = inf -> 1)
  v1 = F.normalize(pred_cond.double()) (eps 1e-12); par = <diff.double(), v1> v1; orth = diff - par,
  both cast back to the input dtype; update = orth + eta * par
  out = (pred_cond if use_original_formulation else pred_uncond) + guidance_scale * update

Inputs: numpy.random.default_rng(seed) normal draws, each sample (row of the leading batch axis)
scaled by its own factor 10^U(-1, 1) so that every norm_threshold clips some rows and not others;
float64 torch tensors (the "cases"), or float32 tensors ("float32_cases": the inputs are the float32
values, stored exactly as Python floats, and the outputs are diffusers' float32 results, where the
projection is still done in float64 and rounded to float32 before `orth + eta * par`). Cases with a
momentum share one MomentumBuffer over 3 consecutive steps with fresh random inputs at each step;
cases without momentum have one step. Special cases: "parallel" (every pred_cond row exactly
parallel to pred_cond - pred_uncond: pred_uncond = a * pred_cond with a in {0, 0.5, -1, 2}, which
makes the difference exactly (1 - a) * pred_cond), "zero_diff_row" (one row with pred_uncond ==
pred_cond at every step, so its difference and running value stay exactly 0, with r > 0) and
"zero_cond_row" (one row with pred_cond == 0: F.normalize gives 0, the parallel part is 0).
Also asserts the spec's single-sample check values (cond [1, 0], uncond [0, 1], w 5) on diffusers.

JSON layout (tests/vectors/guidance_diffusers.json, floats as json.dumps writes them):
  {"script", "diffusers": version, "torch": version, "numpy": version,
   "cases" / "float32_cases": [{"name", "dtype": "float64"|"float32", "shape": [..],
       "guidance_scale", "eta", "norm_threshold", "momentum": null | m, "use_original_formulation",
       "steps": [{"pred_cond": [flat row-major], "pred_uncond": [flat], "out": [flat]}]}]}

  python3 -m venv /tmp/venv-torch && /tmp/venv-torch/bin/pip install numpy torch diffusers
        (or torch from --index-url https://download.pytorch.org/whl/cpu for the CPU-only wheel)
  /tmp/venv-torch/bin/python tests/vectors/guidance_diffusers.py      (from the repository root)
Writes tests/vectors/guidance_diffusers.json next to this script. Deterministic (single thread).
"""

import json
import os

import diffusers
import numpy as np
import torch
from diffusers.guiders.adaptive_projected_guidance import MomentumBuffer, normalized_guidance

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

SHAPES = [(4, 2), (3, 5), (2, 3, 4, 4)]
SCALES = [1.5, 5.0, 15.0]
ETAS = [0.0, 0.5, 1.0]
THRESHOLDS = [0.0, 0.5, 15.0]
MOMENTA = [None, -0.5, -0.75]


def draw(rng, shape):
    """One random tensor (numpy float64), each sample scaled by 10^U(-1, 1)."""
    a = rng.standard_normal(shape)
    scale = 10.0 ** rng.uniform(-1.0, 1.0, shape[0])
    return a * scale.reshape((shape[0],) + (1,) * (len(shape) - 1))


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def run_case(name, shape, w, eta, r, m, orig, inputs, dtype):
    """inputs: list of (pred_cond, pred_uncond) numpy float64 arrays, one per step."""
    buf = MomentumBuffer(m) if m is not None else None
    steps = []
    for pc_np, pu_np in inputs:
        pc = torch.tensor(pc_np, dtype=torch.float64).to(dtype)
        pu = torch.tensor(pu_np, dtype=torch.float64).to(dtype)
        out = normalized_guidance(pc, pu, w, buf, eta, r, orig)
        assert out.dtype == dtype and tuple(out.shape) == tuple(shape)
        assert torch.isfinite(out).all()
        steps.append({"pred_cond": flat(pc), "pred_uncond": flat(pu), "out": flat(out)})
    return {
        "name": name,
        "dtype": "float64" if dtype == torch.float64 else "float32",
        "shape": list(shape),
        "guidance_scale": w,
        "eta": eta,
        "norm_threshold": r,
        "momentum": m,
        "use_original_formulation": orig,
        "steps": steps,
    }


def random_inputs(rng, shape, m):
    n_steps = 1 if m is None else 3
    return [(draw(rng, shape), draw(rng, shape)) for _ in range(n_steps)]


def grid():
    """24 settings; every value of every option appears at least twice (checked)."""
    out = []
    for i in range(24):
        out.append(
            (
                SHAPES[i % 3],
                SCALES[(i // 3) % 3],
                ETAS[(i + i // 3) % 3],
                THRESHOLDS[(i // 2 + i // 6) % 3],
                MOMENTA[(i + 2 * (i // 3) + i // 9) % 3],
                bool((i // 4 + i) % 2),
            )
        )
    for k, values in enumerate([SHAPES, SCALES, ETAS, THRESHOLDS, MOMENTA, [False, True]]):
        for v in values:
            assert sum(1 for g in out if g[k] == v) >= 2, (k, v)
    return out


def check_values():
    c = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    u = torch.tensor([[0.0, 1.0]], dtype=torch.float64)

    def g(eta, r, orig):
        return normalized_guidance(c, u, 5.0, None, eta, r, orig)[0].tolist()

    # diffusers' default form is P_u + w U, the original formulation P_c + w U.
    assert np.allclose(g(0.0, 0.0, False), [0.0, -4.0], rtol=0, atol=1e-15)
    assert np.allclose(g(0.0, 0.0, True), [1.0, -5.0], rtol=0, atol=1e-15)
    assert np.allclose(g(1.0, 0.0, False), [5.0, -4.0], rtol=0, atol=1e-15)
    # The paper form P_c + (w - 1) U is the original formulation at w - 1.
    p = normalized_guidance(c, u, 4.0, None, 0.0, 1.0, True)[0].tolist()
    assert np.allclose(p, [1.0, -2.8284271247461903], rtol=0, atol=1e-15), p


def main():
    check_values()
    rng = np.random.default_rng(20250306)
    cases = []
    for i, (shape, w, eta, r, m, orig) in enumerate(grid()):
        name = f"grid{i:02d}"
        cases.append(run_case(name, shape, w, eta, r, m, orig, random_inputs(rng, shape, m), torch.float64))

    # pred_cond rows exactly parallel to the difference: pred_uncond = a * pred_cond.
    shape = (4, 2, 3)
    pc = draw(rng, shape)
    a = np.array([0.0, 0.5, -1.0, 2.0]).reshape(4, 1, 1)
    pu = a * pc
    assert np.all((pc - pu) == (1.0 - a) * pc)
    for eta, orig in [(0.0, False), (0.5, True)]:
        cases.append(run_case(f"parallel_eta{eta}", shape, 5.0, eta, 0.0, None, orig, [(pc, pu)], torch.float64))

    # One row whose difference is exactly zero at every step (momentum running value stays 0).
    shape = (3, 4)
    inputs = random_inputs(rng, shape, -0.5)
    for pc, pu in inputs:
        pu[1] = pc[1]
    cases.append(run_case("zero_diff_row", shape, 5.0, 0.5, 0.5, -0.5, False, inputs, torch.float64))

    # One row with pred_cond == 0 (F.normalize -> 0, no parallel part).
    inputs = random_inputs(rng, shape, None)
    inputs[0][0][2] = 0.0
    cases.append(run_case("zero_cond_row", shape, 5.0, 0.0, 15.0, None, True, inputs, torch.float64))

    f32 = []
    for i, (shape, w, eta, r, m, orig) in enumerate(
        [
            ((4, 2), 5.0, 0.0, 0.0, None, False),
            ((3, 5), 15.0, 0.5, 0.5, -0.5, True),
            ((2, 3, 4, 4), 1.5, 1.0, 15.0, -0.75, False),
            ((3, 5), 5.0, 0.0, 15.0, -0.5, False),
        ]
    ):
        f32.append(run_case(f"f32_{i}", shape, w, eta, r, m, orig, random_inputs(rng, shape, m), torch.float32))

    doc = {
        "script": "tests/vectors/guidance_diffusers.py",
        "diffusers": diffusers.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "cases": cases,
        "float32_cases": f32,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guidance_diffusers.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {path}: {len(cases)} float64 cases, {len(f32)} float32 cases")


if __name__ == "__main__":
    main()
