//! The training losses over a batch of logits (`p × n`, one sample's logits contiguous) with
//! their gradient, as the paper's code computes them (science.md §1.2):
//!
//! - softmax CE in a precision `P` (`cross_entropy_float16/32/64`): the logits rounded to `P`,
//!   `log_softmax` as PyTorch computes it on the CPU (in `f32` for `f16`/`bf16`, its output
//!   rounded to `P`; see `softmax_row`), loss `−ℓ_y`, and PyTorch's `log_softmax` backward. In
//!   Softmax Collapse `Σ exp(z − m) = 1`, so `ℓ_y = 0` and the label's gradient is exactly 0.
//! - StableMax CE (`stablemax_cross_entropy`) in `f64` whatever the training format:
//!   `ℓ_y = ln(s(z_y)/Σ s(z_k))`, gradient `(s′(z_k)/Σ − 1{k=y} s′(z_y)/s(z_y))/n`.

use super::config::LossKind;
use crate::calibrate::row_moments::exp_nonpositive;
use crate::gemm::Real;
use crate::stablemax::{s, s_prime};
use crate::{CoreError, Precision};

/// A loss evaluated over a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BatchLoss {
    /// Mean loss (in `P` for the softmax CE).
    pub mean: f64,
    /// Samples whose largest logit (the first, on ties) is the target.
    pub correct: usize,
    /// Samples whose loss is exactly 0 in the loss's format.
    pub zero_loss: usize,
    /// Mean L2 norm of the logit rows.
    pub logit_norm: f64,
    /// Samples in Softmax Collapse in the softmax precision (the logger's test; for the softmax
    /// CE on the loss's own sum, for StableMax on the same logits).
    pub collapsed: usize,
}

/// The loss of the logits (`targets.len()` rows of `p`), and with `grad` the gradient of the mean
/// loss with respect to the logits (same layout, overwritten).
///
/// Errors: a non-finite logit (`NonFinite`: the run diverged), a logit beyond the range of the
/// softmax precision (`OutOfRange`), a StableMax sum that overflows `f64` (`OutOfRange`).
pub(crate) fn batch_loss<T: Real>(
    kind: LossKind,
    precision: Precision,
    logits: &[T],
    targets: &[u32],
    p: usize,
    mut grad: Option<&mut Vec<T>>,
) -> Result<BatchLoss, CoreError> {
    let n = targets.len();
    if let Some(g) = grad.as_deref_mut() {
        g.clear();
        g.resize(logits.len(), T::zero());
    }
    let mut z = vec![0.0f64; p];
    let mut e = vec![0.0f64; p];
    let mut collapsed_rows = 0;
    let mut total = 0.0;
    let mut norm = 0.0;
    let mut correct = 0;
    let mut zero_loss = 0;
    for (i, (row, &y)) in logits.chunks_exact(p).zip(targets).enumerate() {
        let y = y as usize;
        let mut best = 0;
        let mut sq = 0.0;
        for (k, (zk, &v)) in z.iter_mut().zip(row).enumerate() {
            let v = v.f64();
            if !v.is_finite() {
                return Err(CoreError::NonFinite {
                    what: "logits (the run diverged: lower the learning rate)",
                    index: i * p + k,
                    value: v,
                });
            }
            *zk = v;
            sq += v * v;
            if row[k] > row[best] {
                best = k;
            }
        }
        correct += usize::from(best == y);
        norm += sq.sqrt();
        let g = grad.as_deref_mut().map(|g| &mut g[i * p..(i + 1) * p]);
        let (loss, collapsed) = match kind {
            LossKind::Softmax => softmax_in(precision, &mut z, &mut e, y, n, g)?,
            LossKind::Stablemax => {
                let loss = stablemax_row(&z, y, n, g)?;
                // The logger measures SC on the same logits in the softmax precision.
                (
                    loss,
                    softmax_in(precision, &mut z, &mut e, y, n, None::<&mut [T]>)?.1,
                )
            }
        };
        collapsed_rows += usize::from(collapsed);
        zero_loss += usize::from(loss == 0.0);
        total += loss;
    }
    let rows = n.max(1) as f64;
    Ok(BatchLoss {
        // PyTorch's mean of the per-sample losses is a tensor of the loss's format.
        mean: match kind {
            LossKind::Softmax => precision.round(total / rows),
            LossKind::Stablemax => total / rows,
        },
        correct,
        zero_loss,
        logit_norm: norm / rows,
        collapsed: collapsed_rows,
    })
}

/// How a precision's softmax CE rounds: `to_p` to the format itself, `opmath` to the format
/// PyTorch computes it in (`f32` for `f16`/`bf16`/`f32`, `f64` for `f64`).
#[derive(Clone, Copy)]
struct Rounding<P, O> {
    to_p: P,
    opmath: O,
    /// `f16`/`bf16`: the format is narrower than the one computed in.
    narrow: bool,
}

/// One row of the softmax CE (`z` is overwritten with the logits cast to `P`, `e` with the
/// shifted exponentials); writes the row's gradient of the mean loss. Returns the loss and
/// whether the row is in Softmax Collapse.
///
/// As PyTorch on the CPU: the logits cast to `P`; `log_softmax` computed in the opmath format
/// (`o = z − m`, `e = exp(o)`, `Σ` sequential, `ℓ = o − ln Σ`) and its output rounded to `P`;
/// the loss `−ℓ_y`. The backward pass `g_k = go_k − exp(ℓ_k)·Σ go` with `go_y = −1/n` in `P`.
/// The logger's SC test on the same row: `round_P(Σ round_P(exp(round_P(z − m)))) = 1`, which for
/// `f32`/`f64` is the loss's own `Σ = 1`. `exp` is [`exp_nonpositive`] (within 2 ulp of `f64`'s).
/// When `P` is the opmath format, `exp(ℓ_k)` of the backward pass is taken as `e_k / Σ` (equal up
/// to rounding, one `exp` fewer): exactly 1 for the label in Softmax Collapse, so its gradient is
/// exactly 0 there.
#[inline(always)]
fn softmax_row<T: Real>(
    z: &mut [f64],
    e: &mut [f64],
    y: usize,
    precision: Precision,
    r: Rounding<impl Fn(f64) -> f64, impl Fn(f64) -> f64>,
    n: usize,
    grad: Option<&mut [T]>,
) -> Result<(f64, bool), CoreError> {
    let (rp, ro) = (&r.to_p, &r.opmath);
    let mut m = f64::NEG_INFINITY;
    for zk in z.iter_mut() {
        let v = rp(*zk);
        if !v.is_finite() {
            return Err(CoreError::OutOfRange {
                what: "a logit cast to the softmax precision (pick a wider precision)",
                value: *zk,
                min: -precision.max_finite(),
                max: precision.max_finite(),
            });
        }
        *zk = v;
        m = m.max(v);
    }
    let collapsed = if r.narrow {
        let mut sum = 0.0;
        for &zk in z.iter() {
            sum = ro(sum + rp(exp_nonpositive(rp(zk - m))));
        }
        rp(sum) == 1.0
    } else {
        false
    };
    for (zk, ek) in z.iter_mut().zip(e.iter_mut()) {
        *zk = ro(*zk - m);
        *ek = ro(exp_nonpositive(*zk));
    }
    let mut sum = 0.0;
    for &ek in e.iter() {
        sum = ro(sum + ek);
    }
    let lse = ro(sum.ln());
    let loss = 0.0 - rp(ro(z[y] - lse));
    if let Some(g) = grad {
        let s = 0.0 - rp(1.0 / n as f64);
        for (k, (gk, (&ek, &ok))) in g.iter_mut().zip(e.iter().zip(z.iter())).enumerate() {
            let q = if r.narrow {
                ro(rp(ro(ok - lse)).exp())
            } else {
                ro(ek / sum)
            };
            let go = if k == y { s } else { 0.0 };
            *gk = T::of(rp(ro(go - ro(q * s))));
        }
    }
    Ok((loss, if r.narrow { collapsed } else { sum == 1.0 }))
}

/// [`softmax_row`] with the rounding of `precision`.
fn softmax_in<T: Real>(
    precision: Precision,
    z: &mut [f64],
    e: &mut [f64],
    y: usize,
    n: usize,
    grad: Option<&mut [T]>,
) -> Result<(f64, bool), CoreError> {
    let f32_round = |x: f64| f64::from(x as f32);
    match precision {
        Precision::F64 => {
            let r = Rounding {
                to_p: |x| x,
                opmath: |x| x,
                narrow: false,
            };
            softmax_row(z, e, y, precision, r, n, grad)
        }
        Precision::F32 => {
            let r = Rounding {
                to_p: f32_round,
                opmath: f32_round,
                narrow: false,
            };
            softmax_row(z, e, y, precision, r, n, grad)
        }
        Precision::F16 | Precision::BF16 => {
            let r = Rounding {
                to_p: |x| precision.round(x),
                opmath: f32_round,
                narrow: true,
            };
            softmax_row(z, e, y, precision, r, n, grad)
        }
    }
}

/// One row of the StableMax CE in `f64`; writes the row's gradient of the mean loss.
fn stablemax_row<T: Real>(
    z: &[f64],
    y: usize,
    n: usize,
    grad: Option<&mut [T]>,
) -> Result<f64, CoreError> {
    let sum: f64 = z.iter().map(|&v| s(v)).sum();
    if !sum.is_finite() {
        return Err(CoreError::OutOfRange {
            what: "sum of s(logit) over a row (the run diverged: lower the learning rate)",
            value: sum,
            min: 0.0,
            max: f64::MAX,
        });
    }
    let sy = s(z[y]);
    let loss = 0.0 - (sy / sum).ln();
    if let Some(g) = grad {
        let inv_n = 1.0 / n as f64;
        for (k, (gk, &v)) in g.iter_mut().zip(z).enumerate() {
            let mut d = s_prime(v) / sum;
            if k == y {
                d -= s_prime(v) / sy;
            }
            *gk = T::of(d * inv_n);
        }
    }
    Ok(loss)
}
