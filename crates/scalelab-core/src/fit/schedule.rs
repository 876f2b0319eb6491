//! Learning-rate schedules: generators (constant, cosine, warmup-stable-decay) and the per-step
//! areas `S1`, `S2` of Tissue et al.'s annealing law ([`crate::fit::models::LrAnnealing`]).
//!
//! Conventions: a schedule is a vector of per-step learning rates `η`, index `k = 0, 1, …, T−1`.
//! Tissue et al. number steps from 1, so their step `s` is index `k = s − 1`; the multi-power law
//! ([`crate::fit::models::MultiPowerLaw`]) uses the index `k` directly as its 0-based step.

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// Most steps a schedule may have (keeps a typo from exhausting memory).
pub const MAX_SCHEDULE_STEPS: usize = 10_000_000;

/// Tissue et al.'s default momentum decay `λ` for `S2`.
pub const DEFAULT_TISSUE_LAMBDA: f64 = 0.999;

/// The two areas of Tissue et al.'s law at every step of a schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TissueAreas {
    /// Forward area `S1(s) = Σ_{i≤s} η_i`.
    pub s1: Vec<f64>,
    /// Annealing area `S2(s) = Σ_{i≤s} m_i`.
    pub s2: Vec<f64>,
}

/// Forward area `S1` and annealing area `S2` of a schedule (Tissue, Wang & Wang, arXiv
/// 2408.11029), with 1-based steps `i`:
///
/// `S1(s) = Σ_{i=1}^{s} η_i`, `m_1 = 0`, `m_i = λ·m_{i−1} + (η_{i−1} − η_i)`, `S2(s) = Σ_{i=1}^{s} m_i`.
///
/// A constant rate gives `S2 = 0`; a single drop `Δ` gives momentum `Δλ^(i−k)` and `S2 → Δ/(1−λ)`.
/// Output index `k` holds step `s = k + 1`.
///
/// Errors: [`CoreError::EmptyInput`] / [`CoreError::NonFinite`] for the rates,
/// [`CoreError::OutOfRange`] for `λ ∉ [0, 1]`, a negative rate or more than [`MAX_SCHEDULE_STEPS`] steps.
pub fn tissue_areas(lrs: &[f64], lambda: f64) -> Result<TissueAreas, CoreError> {
    check_rates(lrs)?;
    if !(0.0..=1.0).contains(&lambda) {
        return Err(CoreError::OutOfRange {
            what: "momentum decay λ",
            value: lambda,
            min: 0.0,
            max: 1.0,
        });
    }
    let mut s1 = Vec::with_capacity(lrs.len());
    let mut s2 = Vec::with_capacity(lrs.len());
    let (mut a1, mut a2, mut m) = (0.0, 0.0, 0.0);
    for (k, &lr) in lrs.iter().enumerate() {
        if k > 0 {
            m = lambda * m + (lrs[k - 1] - lr);
        }
        a1 += lr;
        a2 += m;
        s1.push(a1);
        s2.push(a2);
    }
    Ok(TissueAreas { s1, s2 })
}

/// Row-major `[S1, S2]` inputs of [`crate::fit::models::LrAnnealing`] for observations at schedule
/// indices `indices` (0-based: Tissue's step `s` is index `s − 1`; non-integers are rounded).
///
/// Errors: [`CoreError::IndexOutOfRange`] for an index outside the schedule (or negative or
/// non-finite, reported as index `usize::MAX`), [`CoreError::DimensionMismatch`] when `areas.s1`
/// and `areas.s2` differ in length.
pub fn tissue_inputs(areas: &TissueAreas, indices: &[f64]) -> Result<Vec<f64>, CoreError> {
    if areas.s1.len() != areas.s2.len() {
        return Err(CoreError::DimensionMismatch {
            what: "S2 length (must equal the S1 length)",
            expected: areas.s1.len(),
            got: areas.s2.len(),
        });
    }
    let len = areas.s1.len();
    let mut out = Vec::with_capacity(2 * indices.len());
    for &i in indices {
        let r = i.round();
        if !(r >= 0.0 && r < len as f64) {
            return Err(CoreError::IndexOutOfRange {
                what: "schedule step",
                index: if r >= 0.0 && r.is_finite() {
                    r as usize
                } else {
                    usize::MAX
                },
                len,
            });
        }
        let k = r as usize;
        out.extend([areas.s1[k], areas.s2[k]]);
    }
    Ok(out)
}

/// A learning-rate schedule described by a few numbers; [`Schedule::lrs`] expands it to per-step
/// rates. Serialised with a `"kind"` tag: `{"kind": "cosine", "steps": 1000, …}`.
///
/// All kinds use a linear warmup over the first `warmup` steps: `η_k = peak·(k+1)/warmup` for
/// `k < warmup` (0-based index `k`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Schedule {
    /// `η_k = lr` for every step.
    Constant {
        /// Number of steps `T`.
        steps: usize,
        /// The rate.
        lr: f64,
    },
    /// Warmup, then cosine from `peak` to `final_lr`:
    /// `η_k = final + (peak − final)·(1 + cos(π p))/2`, `p = (k + 1 − warmup)/(T − warmup)`.
    Cosine {
        /// Number of steps `T`.
        steps: usize,
        /// Peak rate.
        peak: f64,
        /// Rate at the last step.
        final_lr: f64,
        /// Warmup steps.
        warmup: usize,
    },
    /// Warmup-stable-decay: warmup, `peak` until `T − decay`, then linear decay to `final_lr`:
    /// `η_k = peak + (final − peak)·p`, `p = (k + 1 − (T − decay))/decay`.
    Wsd {
        /// Number of steps `T`.
        steps: usize,
        /// Peak (stable) rate.
        peak: f64,
        /// Rate at the last step.
        final_lr: f64,
        /// Warmup steps.
        warmup: usize,
        /// Decay steps at the end.
        decay: usize,
    },
}

impl Schedule {
    /// The per-step rates `η_0 … η_{T−1}`.
    ///
    /// Errors: [`CoreError::OutOfRange`] for `T = 0` or `T >` [`MAX_SCHEDULE_STEPS`], a negative or
    /// non-finite rate, `warmup > T`, or `warmup + decay > T`.
    pub fn lrs(&self) -> Result<Vec<f64>, CoreError> {
        match *self {
            Schedule::Constant { steps, lr } => {
                check_steps(steps)?;
                check_rate("learning rate", lr)?;
                Ok(vec![lr; steps])
            }
            Schedule::Cosine {
                steps,
                peak,
                final_lr,
                warmup,
            } => cosine(steps, peak, final_lr, warmup),
            Schedule::Wsd {
                steps,
                peak,
                final_lr,
                warmup,
                decay,
            } => wsd(steps, peak, final_lr, warmup, decay),
        }
    }
}

/// Cosine schedule with linear warmup (see [`Schedule::Cosine`]). Errors as [`Schedule::lrs`].
pub fn cosine(
    steps: usize,
    peak: f64,
    final_lr: f64,
    warmup: usize,
) -> Result<Vec<f64>, CoreError> {
    check_steps(steps)?;
    check_rate("peak learning rate", peak)?;
    check_rate("final learning rate", final_lr)?;
    check_part("warmup steps", warmup, steps)?;
    let span = (steps - warmup) as f64;
    Ok((0..steps)
        .map(|k| {
            if k < warmup {
                peak * (k + 1) as f64 / warmup as f64
            } else {
                let p = (k + 1 - warmup) as f64 / span;
                final_lr + (peak - final_lr) * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())
            }
        })
        .collect())
}

/// Warmup-stable-decay schedule with linear decay (see [`Schedule::Wsd`]). Errors as
/// [`Schedule::lrs`].
pub fn wsd(
    steps: usize,
    peak: f64,
    final_lr: f64,
    warmup: usize,
    decay: usize,
) -> Result<Vec<f64>, CoreError> {
    check_steps(steps)?;
    check_rate("peak learning rate", peak)?;
    check_rate("final learning rate", final_lr)?;
    check_part("warmup steps", warmup, steps)?;
    check_part("warmup + decay steps", warmup.saturating_add(decay), steps)?;
    let start = steps - decay;
    Ok((0..steps)
        .map(|k| {
            if k < warmup {
                peak * (k + 1) as f64 / warmup as f64
            } else if k < start {
                peak
            } else {
                let p = (k + 1 - start) as f64 / decay as f64;
                peak + (final_lr - peak) * p
            }
        })
        .collect())
}

fn check_steps(steps: usize) -> Result<(), CoreError> {
    if (1..=MAX_SCHEDULE_STEPS).contains(&steps) {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            what: "schedule steps",
            value: steps as f64,
            min: 1.0,
            max: MAX_SCHEDULE_STEPS as f64,
        })
    }
}

fn check_rate(what: &'static str, lr: f64) -> Result<(), CoreError> {
    if lr.is_finite() && lr >= 0.0 {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            what,
            value: lr,
            min: 0.0,
            max: f64::MAX,
        })
    }
}

fn check_part(what: &'static str, part: usize, steps: usize) -> Result<(), CoreError> {
    if part <= steps {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            what,
            value: part as f64,
            min: 0.0,
            max: steps as f64,
        })
    }
}

/// A learning-rate schedule: non-empty, finite, every rate ≥ 0, at most [`MAX_SCHEDULE_STEPS`] steps.
pub(crate) fn check_rates(lrs: &[f64]) -> Result<(), CoreError> {
    CoreError::check_finite_nonempty("learning-rate schedule", lrs)?;
    if lrs.len() > MAX_SCHEDULE_STEPS {
        return Err(CoreError::OutOfRange {
            what: "learning-rate schedule length",
            value: lrs.len() as f64,
            min: 1.0,
            max: MAX_SCHEDULE_STEPS as f64,
        });
    }
    if let Some(&v) = lrs.iter().find(|v| **v < 0.0) {
        return Err(CoreError::OutOfRange {
            what: "learning rate",
            value: v,
            min: 0.0,
            max: f64::INFINITY,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_hit_their_end_points() {
        let c = cosine(10, 1.0, 0.1, 2).unwrap();
        assert_eq!(c[0], 0.5);
        assert_eq!(c[1], 1.0);
        assert!((c[9] - 0.1).abs() < 1e-15);
        let w = wsd(10, 1.0, 0.0, 2, 4).unwrap();
        assert_eq!(&w[..6], &[0.5, 1.0, 1.0, 1.0, 1.0, 1.0]);
        assert_eq!(&w[6..], &[0.75, 0.5, 0.25, 0.0]);
        assert_eq!(
            Schedule::Constant { steps: 3, lr: 0.1 }.lrs().unwrap(),
            vec![0.1; 3]
        );
    }

    #[test]
    fn bad_generator_arguments_are_errors() {
        assert!(cosine(0, 1.0, 0.1, 0).is_err());
        assert!(cosine(10, 1.0, 0.1, 11).is_err());
        assert!(cosine(10, f64::NAN, 0.1, 0).is_err());
        assert!(wsd(10, 1.0, 0.1, 5, 6).is_err());
        assert!(wsd(10, 1.0, 0.1, usize::MAX, usize::MAX).is_err());
        assert!(tissue_areas(&[1.0], 1.5).is_err());
        assert!(tissue_areas(&[], 0.9).is_err());
        // warmup = steps is fine (no cosine phase).
        assert_eq!(cosine(2, 1.0, 0.0, 2).unwrap(), vec![0.5, 1.0]);
    }

    #[test]
    fn tissue_inputs_index_the_schedule() {
        let a = tissue_areas(&[1.0, 0.5], 0.9).unwrap();
        assert_eq!(
            tissue_inputs(&a, &[1.0, 0.0]).unwrap(),
            vec![1.5, 0.5, 1.0, 0.0]
        );
        assert!(tissue_inputs(&a, &[2.0]).is_err());
        assert!(tissue_inputs(&a, &[f64::NAN]).is_err());
        assert!(tissue_inputs(&a, &[-1.0]).is_err());
    }
}
