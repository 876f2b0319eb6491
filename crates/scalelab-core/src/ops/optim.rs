//! CPU oracles of the optimizer kernels (`adamw_step`, `orthogonal_grad` in `scalelab-gpu`):
//! AdamW and ⊥Grad / OrthoGrad, in `f64`.
//!
//! AdamW (Loshchilov & Hutter; PyTorch `torch.optim.AdamW`, `amsgrad=False`, `maximize=False`),
//! for step `t ≥ 1`, elementwise:
//! ```text
//! p ← p · (1 − lr·λ)                      (decoupled weight decay, on the old p)
//! m ← β₁ m + (1 − β₁) g
//! v ← β₂ v + (1 − β₂) g²
//! p ← p − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
//! ```
//! ⊥Grad (Prieto et al. 2025, Def. 7 and the reference `orthograd.py`; science.md §1.2), per
//! parameter tensor `w` (flattened) with gradient `g`:
//! ```text
//! g⊥ = g − (w·g / (w·w + 1e-30)) w
//! g⊥ ← g⊥ · ‖g‖ / (‖g⊥‖ + 1e-30)          (only with `rescale`: the code does, the paper does not)
//! ```
//! ⊥AdamW = AdamW fed with the projected gradient ([`orthogonal_adamw_step`]).

use crate::CoreError;

/// The `1e-30` of the reference OrthoGrad, added to `w·w` and to `‖g⊥‖`.
pub const ORTHO_EPS: f64 = 1e-30;

/// AdamW hyper-parameters. [`Default`] gives PyTorch's defaults
/// (`lr = 1e-3`, `betas = (0.9, 0.999)`, `eps = 1e-8`, `weight_decay = 1e-2`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamW {
    /// Learning rate `lr ≥ 0`.
    pub lr: f64,
    /// First-moment decay `β₁ ∈ [0, 1)`.
    pub beta1: f64,
    /// Second-moment decay `β₂ ∈ [0, 1)`.
    pub beta2: f64,
    /// `ε > 0`, added to `√v̂`.
    pub eps: f64,
    /// Decoupled weight decay `λ ≥ 0` (the parameter shrinks by `lr·λ` per step).
    pub weight_decay: f64,
}

impl Default for AdamW {
    fn default() -> Self {
        AdamW {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 1e-2,
        }
    }
}

impl AdamW {
    /// Checks the hyper-parameters and the step: each must be finite, `lr ≥ 0`,
    /// `β₁, β₂ ∈ [0, 1)`, `ε > 0`, `λ ≥ 0` (`OutOfRange` otherwise, `NonFinite` for NaN/±inf),
    /// `step ≥ 1` (`OutOfRange`).
    pub fn validate(&self, step: u64) -> Result<(), CoreError> {
        let below_one = 1.0 - f64::EPSILON / 2.0;
        for (what, value, min, max) in [
            ("lr", self.lr, 0.0, f64::MAX),
            ("beta1", self.beta1, 0.0, below_one),
            ("beta2", self.beta2, 0.0, below_one),
            ("eps", self.eps, f64::MIN_POSITIVE, f64::MAX),
            ("weight_decay", self.weight_decay, 0.0, f64::MAX),
        ] {
            CoreError::check_finite(what, &[value])?;
            if !(min..=max).contains(&value) {
                return Err(CoreError::OutOfRange {
                    what,
                    value,
                    min,
                    max,
                });
            }
        }
        if step == 0 {
            return Err(CoreError::OutOfRange {
                what: "step (AdamW counts steps from 1)",
                value: 0.0,
                min: 1.0,
                max: u64::MAX as f64,
            });
        }
        Ok(())
    }

    /// The bias corrections `(1 − β₁ᵗ, 1 − β₂ᵗ)` of step `t` (both in `(0, 1]` for valid input).
    pub fn bias_corrections(&self, step: u64) -> (f64, f64) {
        let t = step as f64;
        (1.0 - self.beta1.powf(t), 1.0 - self.beta2.powf(t))
    }
}

/// Parameters and moment estimates after one optimizer step.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamWState {
    /// The updated parameters.
    pub param: Vec<f64>,
    /// The updated first moments `m`.
    pub m: Vec<f64>,
    /// The updated second moments `v`.
    pub v: Vec<f64>,
}

/// One AdamW step (formula in the [module docs](self)), oracle of the `adamw_step` kernel.
///
/// `param`, `grad`, `m`, `v` are flat and of equal length (0 is allowed); `step` is the 1-based
/// count of this step (PyTorch's `state["step"]` after its increment).
///
/// Errors: unequal lengths (`DimensionMismatch`), a non-finite value (`NonFinite`), invalid
/// hyper-parameters or `step == 0` (see [`AdamW::validate`]), `v < 0` (`OutOfRange`).
pub fn adamw_step(
    param: &[f64],
    grad: &[f64],
    m: &[f64],
    v: &[f64],
    step: u64,
    cfg: &AdamW,
) -> Result<AdamWState, CoreError> {
    cfg.validate(step)?;
    for (what, xs) in [("grad", grad), ("m", m), ("v", v)] {
        if xs.len() != param.len() {
            return Err(CoreError::DimensionMismatch {
                what: match what {
                    "grad" => "grad length (must equal param length)",
                    "m" => "m length (must equal param length)",
                    _ => "v length (must equal param length)",
                },
                expected: param.len(),
                got: xs.len(),
            });
        }
    }
    for (what, xs) in [("param", param), ("grad", grad), ("m", m), ("v", v)] {
        CoreError::check_finite(what, xs)?;
    }
    if let Some(&bad) = v.iter().find(|&&x| x < 0.0) {
        return Err(CoreError::OutOfRange {
            what: "v (second moments are ≥ 0)",
            value: bad,
            min: 0.0,
            max: f64::MAX,
        });
    }
    let (bc1, bc2) = cfg.bias_corrections(step);
    let decay = 1.0 - cfg.lr * cfg.weight_decay;
    let mut out = AdamWState {
        param: Vec::with_capacity(param.len()),
        m: Vec::with_capacity(param.len()),
        v: Vec::with_capacity(param.len()),
    };
    for i in 0..param.len() {
        let g = grad[i];
        let mi = cfg.beta1 * m[i] + (1.0 - cfg.beta1) * g;
        let vi = cfg.beta2 * v[i] + (1.0 - cfg.beta2) * g * g;
        let update = (mi / bc1) / ((vi / bc2).sqrt() + cfg.eps);
        out.param.push(param[i] * decay - cfg.lr * update);
        out.m.push(mi);
        out.v.push(vi);
    }
    Ok(out)
}

/// Checks that `lengths` (one per tensor) add up to `total`; `DimensionMismatch` otherwise.
fn check_lengths(lengths: &[usize], total: usize) -> Result<(), CoreError> {
    let sum = lengths
        .iter()
        .try_fold(0usize, |acc, &n| acc.checked_add(n))
        .unwrap_or(usize::MAX);
    if sum != total {
        return Err(CoreError::DimensionMismatch {
            what: "sum of tensor lengths (must equal the number of parameters)",
            expected: total,
            got: sum,
        });
    }
    Ok(())
}

/// ⊥Grad projection (formula in the [module docs](self)), oracle of the `orthogonal_grad` kernel.
///
/// `w` and `g` hold several tensors back to back; `lengths[k]` is the size of tensor `k`
/// (empty tensors are allowed) and the projection is done **per tensor**, as the reference code
/// does. With `rescale`, each projected tensor is scaled back to its original norm `‖g‖`.
/// Quirk kept from the reference: when `g ∥ w`, `g⊥` is zero or round-off, and the rescale
/// blows round-off up to norm `‖g‖` (science.md §1.2).
///
/// Examples (science.md §7.5): `w = [1,0], g = [1,1] → [0, √2]`; `w = [3,4], g = [1,0] →
/// [0.8, −0.6]`; `w = [3,4], g = [3,4] → [0, 0]`; without rescale `[0, 1]` and `[0.64, −0.48]`.
///
/// Errors: `g.len() ≠ w.len()` or `Σ lengths ≠ w.len()` (`DimensionMismatch`), NaN/±inf
/// (`NonFinite`).
pub fn orthogonal_grad(
    w: &[f64],
    g: &[f64],
    lengths: &[usize],
    rescale: bool,
) -> Result<Vec<f64>, CoreError> {
    if g.len() != w.len() {
        return Err(CoreError::DimensionMismatch {
            what: "g length (must equal w length)",
            expected: w.len(),
            got: g.len(),
        });
    }
    check_lengths(lengths, w.len())?;
    CoreError::check_finite("w", w)?;
    CoreError::check_finite("g", g)?;
    let mut out = Vec::with_capacity(g.len());
    let mut start = 0;
    for &n in lengths {
        let (w, g) = (&w[start..start + n], &g[start..start + n]);
        start += n;
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let proj = dot(w, g) / (dot(w, w) + ORTHO_EPS);
        let orth: Vec<f64> = w.iter().zip(g).map(|(wi, gi)| gi - proj * wi).collect();
        let scale = if rescale {
            dot(g, g).sqrt() / (dot(&orth, &orth).sqrt() + ORTHO_EPS)
        } else {
            1.0
        };
        out.extend(orth.iter().map(|x| x * scale));
    }
    Ok(out)
}

/// ⊥AdamW: [`orthogonal_grad`] of `grad` against `param` (per tensor, `lengths` as there), then
/// [`adamw_step`] with the projected gradient — the reference `OrthoGrad(AdamW)` wrapper.
///
/// Errors: those of [`orthogonal_grad`] and [`adamw_step`].
#[allow(clippy::too_many_arguments)]
pub fn orthogonal_adamw_step(
    param: &[f64],
    grad: &[f64],
    m: &[f64],
    v: &[f64],
    lengths: &[usize],
    rescale: bool,
    step: u64,
    cfg: &AdamW,
) -> Result<AdamWState, CoreError> {
    cfg.validate(step)?;
    let projected = orthogonal_grad(param, grad, lengths, rescale)?;
    adamw_step(param, &projected, m, v, step, cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(got: &[f64], want: &[f64], tol: f64) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tol, "{got:?} vs {want:?}");
        }
    }

    /// science.md §7 item 5 (float64, tolerance 1e-9).
    #[test]
    fn orthograd_matches_science_reference_values() {
        let og = |w: &[f64], g: &[f64], rescale| orthogonal_grad(w, g, &[2], rescale).unwrap();
        assert_close(
            &og(&[1.0, 0.0], &[1.0, 1.0], true),
            &[0.0, std::f64::consts::SQRT_2],
            1e-9,
        );
        assert_close(&og(&[3.0, 4.0], &[1.0, 0.0], true), &[0.8, -0.6], 1e-9);
        assert_close(&og(&[3.0, 4.0], &[3.0, 4.0], true), &[0.0, 0.0], 1e-9);
        assert_close(&og(&[1.0, 0.0], &[1.0, 1.0], false), &[0.0, 1.0], 1e-9);
        assert_close(&og(&[3.0, 4.0], &[1.0, 0.0], false), &[0.64, -0.48], 1e-9);
    }

    /// The projection is per tensor: the two §7.5 cases back to back, plus an empty tensor and a
    /// zero tensor w = 0 (proj = 0 thanks to the 1e-30, g passes unchanged).
    #[test]
    fn orthograd_is_per_tensor() {
        let w = [1.0, 0.0, 3.0, 4.0, 0.0, 0.0];
        let g = [1.0, 1.0, 1.0, 0.0, 2.0, -1.0];
        let out = orthogonal_grad(&w, &g, &[2, 0, 2, 2], true).unwrap();
        assert_close(&out, &[0.0, 2f64.sqrt(), 0.8, -0.6, 2.0, -1.0], 1e-9);
        // Over the concatenation instead, the answer differs.
        let joint = orthogonal_grad(&w, &g, &[6], true).unwrap();
        assert!((joint[1] - out[1]).abs() > 0.1);
        assert!(orthogonal_grad(&[], &[], &[], true).unwrap().is_empty());
        assert!(orthogonal_grad(&[], &[], &[0, 0], false)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn orthograd_invalid_input_is_an_error() {
        assert_eq!(
            orthogonal_grad(&[1.0, 2.0], &[1.0], &[2], true)
                .unwrap_err()
                .code(),
            "DimensionMismatch"
        );
        assert_eq!(
            orthogonal_grad(&[1.0, 2.0], &[1.0, 2.0], &[1], true)
                .unwrap_err()
                .code(),
            "DimensionMismatch"
        );
        assert_eq!(
            orthogonal_grad(&[1.0, 2.0], &[1.0, 2.0], &[usize::MAX, 3], true)
                .unwrap_err()
                .code(),
            "DimensionMismatch"
        );
        assert_eq!(
            orthogonal_grad(&[1.0, f64::INFINITY], &[1.0, 2.0], &[2], true)
                .unwrap_err()
                .code(),
            "NonFinite"
        );
    }

    /// Two AdamW steps written out by hand (PyTorch `AdamW` formulas, lr 0.1, β = (0.9, 0.999),
    /// ε = 1e-8, λ = 0.01), p₀ = 1, m₀ = v₀ = 0, g₁ = 0.5, g₂ = −1:
    /// - t = 1: p ← 1·(1 − 0.001) = 0.999; m = 0.05; v = 0.001·0.25 = 0.00025;
    ///   m̂ = 0.05/0.1 = 0.5; v̂ = 0.00025/0.001 = 0.25; p = 0.999 − 0.1·0.5/(0.5 + 1e-8)
    ///   = 0.899000002 (to 1e-15).
    /// - t = 2: p ← 0.899000002·0.999 = 0.898101001998; m = 0.045 − 0.1 = −0.055;
    ///   v = 0.999·0.00025 + 0.001 = 0.00124975; m̂ = −0.055/0.19 = −0.289473684210526;
    ///   v̂ = 0.00124975/0.001999 = 0.625187593796898, √v̂ = 0.790688048; p = 0.898101001998 +
    ///   0.1·0.289473684/(0.790688048 + 1e-8) = 0.934711354238565.
    ///
    /// (The same loop in plain Python printed 0.899000002 and 0.9347113542385653.)
    #[test]
    fn adamw_two_steps_by_hand() {
        let cfg = AdamW {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        };
        let s1 = adamw_step(&[1.0], &[0.5], &[0.0], &[0.0], 1, &cfg).unwrap();
        assert_close(&s1.param, &[0.899000002], 1e-15);
        assert_close(&s1.m, &[0.05], 1e-15);
        assert_close(&s1.v, &[0.00025], 1e-15);
        let s2 = adamw_step(&s1.param, &[-1.0], &s1.m, &s1.v, 2, &cfg).unwrap();
        assert_close(&s2.param, &[0.9347113542385653], 1e-14);
        assert_close(&s2.m, &[-0.055], 1e-15);
        assert_close(&s2.v, &[0.00124975], 1e-15);
        let empty = adamw_step(&[], &[], &[], &[], 1, &cfg).unwrap();
        assert!(empty.param.is_empty());
    }

    /// ⊥AdamW on w = [3, 4], g = [1, 0] (rescaled: g⊥ = [0.8, −0.6]), step 1, λ = 0: the first
    /// Adam step moves each coordinate by lr·sign(g⊥) (up to ε): [3 − 0.1, 4 + 0.1].
    #[test]
    fn orthogonal_adamw_uses_the_projected_gradient() {
        let cfg = AdamW {
            lr: 0.1,
            weight_decay: 0.0,
            ..AdamW::default()
        };
        let out = orthogonal_adamw_step(
            &[3.0, 4.0],
            &[1.0, 0.0],
            &[0.0; 2],
            &[0.0; 2],
            &[2],
            true,
            1,
            &cfg,
        )
        .unwrap();
        assert_close(&out.param, &[2.9, 4.1], 1e-8);
        assert_close(&out.m, &[0.08, -0.06], 1e-12);
    }

    #[test]
    fn adamw_invalid_input_is_an_error() {
        let cfg = AdamW::default();
        let one = [1.0];
        let code = |r: Result<AdamWState, CoreError>| r.unwrap_err().code();
        assert_eq!(
            code(adamw_step(&one, &one, &one, &one, 0, &cfg)),
            "OutOfRange"
        );
        assert_eq!(
            code(adamw_step(&one, &[], &one, &one, 1, &cfg)),
            "DimensionMismatch"
        );
        assert_eq!(
            code(adamw_step(&one, &one, &one, &[-1.0], 1, &cfg)),
            "OutOfRange"
        );
        assert_eq!(
            code(adamw_step(&one, &[f64::NAN], &one, &one, 1, &cfg)),
            "NonFinite"
        );
        for bad in [
            AdamW { lr: -1.0, ..cfg },
            AdamW { beta1: 1.0, ..cfg },
            AdamW { beta2: -0.1, ..cfg },
            AdamW { eps: 0.0, ..cfg },
            AdamW {
                weight_decay: -0.5,
                ..cfg
            },
        ] {
            assert_eq!(
                code(adamw_step(&one, &one, &one, &one, 1, &bad)),
                "OutOfRange"
            );
        }
        assert_eq!(
            code(adamw_step(
                &one,
                &one,
                &one,
                &one,
                1,
                &AdamW {
                    lr: f64::NAN,
                    ..cfg
                }
            )),
            "NonFinite"
        );
    }
}
