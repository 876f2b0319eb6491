//! Learning-rate schedules: generators (constant, cosine, warmup-stable-decay), the per-step
//! schedule of a loss curve ([`LrSchedule`]) with its warmup convention, and the areas `S1`, `S2`
//! of Tissue et al.'s annealing law ([`crate::fit::models::LrAnnealing`]).
//!
//! **Step convention** (one for the whole crate): step `s ≥ 1` is the state after `s` updates with
//! the rates `η_1 … η_s`; a schedule is the vector `[η_1, …, η_T]`, so index `k` holds step `k + 1`.
//! A loss logged at step `s` sees the forward area `S1(s) = Σ_{i=1}^{s} η_i`. Step 0 (before the
//! first update) has `S1 = 0`, where the laws are infinite; steps past `T` have no rate: both are
//! [`CoreError::StepOutsideSchedule`].

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// Most steps a schedule may have (keeps a typo from exhausting memory).
pub const MAX_SCHEDULE_STEPS: usize = 10_000_000;

/// Tissue et al.'s default momentum decay `λ` for `S2`.
pub const DEFAULT_TISSUE_LAMBDA: f64 = 0.999;

/// How the loss-curve laws treat the warmup's rising rates.
///
/// Both laws count the warmup's area in the forward area `S1` (Luo et al.'s `S1 + S_W`). They
/// differ in whether the warmup's rate *increases* are rate changes:
///
/// - [`WarmupConvention::Paper`] (the default): they are not. Luo et al. (arXiv 2503.12811,
///   eq. for `L(t)`) count `t` after warmup and sum `LD(t)` over post-warmup steps only; for
///   Tissue et al. (arXiv 2408.11029) the annealing momentum starts at the end of warmup, so a
///   constant rate after warmup gives `S2 = 0` exactly, as the paper states for a constant
///   schedule. (The paper text on warmup was not available to us; this is the reading under which
///   its "constant LR → S2 = 0" holds with a warmup. With the momentum run through the warmup,
///   the rising rates give `S2 < 0` for about `1/(1 − λ)` steps after it.)
/// - [`WarmupConvention::ReferenceCode`]: every change from step 2 on counts, warmup included —
///   what Luo et al.'s reference code does (`thu-yao-01-luo/MultiPowerLaw`, `src/evaluation.py`:
///   `LD` sums `lr_gap[1:s+1]` over the whole schedule) and what the public reimplementations of
///   Tissue et al. do (the momentum recursion over the whole learning-rate column). On the
///   reference repository's 100M preset (2160 warmup steps) it adds about 0.13 nats to the
///   multi-power law's prediction; its published parameters were fitted this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum WarmupConvention {
    /// The papers' convention: the first `warmup_steps` steps are warmup, and only rate changes
    /// at later steps count.
    Paper {
        /// Warmup steps `W` (0 for none); [`warmup_steps`] finds them in a schedule.
        warmup_steps: usize,
    },
    /// The reference code's convention: every rate change counts, warmup included.
    ReferenceCode,
}

impl WarmupConvention {
    /// The first step whose rate change `η_s − η_{s−1}` counts: `max(W + 1, 2)`, or 2.
    pub fn first_change(&self) -> usize {
        match *self {
            WarmupConvention::Paper { warmup_steps } => warmup_steps.saturating_add(1).max(2),
            WarmupConvention::ReferenceCode => 2,
        }
    }
}

/// The warmup of a schedule: the length `W` of its initial run of strictly rising rates
/// (`η_1 < η_2 < … < η_W`), or 0 when the second rate does not rise above the first.
pub fn warmup_steps(rates: &[f64]) -> usize {
    let rising = rates.windows(2).take_while(|w| w[1] > w[0]).count();
    if rising == 0 {
        0
    } else {
        rising + 1
    }
}

/// Which warmup convention a loss curve uses (see [`WarmupConvention`]): what a user picks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum WarmupChoice {
    /// The papers' convention with the schedule's own warmup: a named schedule's `warmup`, else
    /// the initial rise of the rates ([`warmup_steps`]).
    #[default]
    Detected,
    /// The papers' convention with this many warmup steps.
    Paper {
        /// Warmup steps.
        warmup_steps: usize,
    },
    /// The reference code's convention.
    ReferenceCode,
}

/// The per-step learning rates of a loss curve with the conventions the laws need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrSchedule {
    /// `[η_1, …, η_T]`: the rate of every update (see the module's step convention).
    pub rates: Vec<f64>,
    /// Which rate changes count (warmup).
    pub warmup: WarmupConvention,
    /// Tissue et al.'s momentum decay `λ ∈ [0, 1]` of `S2`.
    pub momentum_decay: f64,
}

impl LrSchedule {
    /// A schedule with the papers' warmup convention, its warmup found by [`warmup_steps`], and
    /// `λ = ` [`DEFAULT_TISSUE_LAMBDA`].
    pub fn new(rates: Vec<f64>) -> Self {
        let warmup = WarmupConvention::Paper {
            warmup_steps: warmup_steps(&rates),
        };
        LrSchedule {
            rates,
            warmup,
            momentum_decay: DEFAULT_TISSUE_LAMBDA,
        }
    }

    /// The schedule `rates` with the user's warmup `choice` (`named_warmup`: the warmup of the
    /// named schedule the rates come from, if any) and momentum decay. Errors: as
    /// [`LrSchedule::check`].
    pub fn with_choice(
        rates: Vec<f64>,
        named_warmup: Option<usize>,
        choice: WarmupChoice,
        momentum_decay: f64,
    ) -> Result<Self, CoreError> {
        let warmup = match choice {
            WarmupChoice::Detected => WarmupConvention::Paper {
                warmup_steps: named_warmup.unwrap_or_else(|| warmup_steps(&rates)),
            },
            WarmupChoice::Paper { warmup_steps } => WarmupConvention::Paper { warmup_steps },
            WarmupChoice::ReferenceCode => WarmupConvention::ReferenceCode,
        };
        let schedule = LrSchedule {
            rates,
            warmup,
            momentum_decay,
        };
        schedule.check()?;
        Ok(schedule)
    }

    /// Number of steps `T`.
    pub fn steps(&self) -> usize {
        self.rates.len()
    }

    /// Checks the schedule: rates as [`check_rates`]; `W ≤ T` and `λ ∈ [0, 1]`
    /// ([`CoreError::OutOfRange`]).
    pub fn check(&self) -> Result<(), CoreError> {
        check_rates(&self.rates)?;
        if let WarmupConvention::Paper { warmup_steps } = self.warmup {
            check_part("warmup steps", warmup_steps, self.rates.len())?;
        }
        if !(0.0..=1.0).contains(&self.momentum_decay) {
            return Err(CoreError::OutOfRange {
                what: "momentum decay λ",
                value: self.momentum_decay,
                min: 0.0,
                max: 1.0,
            });
        }
        Ok(())
    }

    /// The 0-based schedule index `s − 1` of step `s`, or [`CoreError::StepOutsideSchedule`] for a
    /// step that is not a whole number in `1 ..= T` (`what` and `index` name the value).
    pub fn index_of(
        &self,
        what: &'static str,
        index: usize,
        step: f64,
    ) -> Result<usize, CoreError> {
        step_index(step, self.rates.len()).ok_or(CoreError::StepOutsideSchedule {
            what,
            index,
            step,
            steps: self.rates.len(),
        })
    }
}

/// `Some(s − 1)` for a whole step `s` in `1 ..= len`.
pub(crate) fn step_index(step: f64, len: usize) -> Option<usize> {
    (step.fract() == 0.0 && step >= 1.0 && step <= len as f64).then(|| step as usize - 1)
}

/// The two areas of Tissue et al.'s law at every step of a schedule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TissueAreas {
    /// Forward area `S1(s) = Σ_{i≤s} η_i`; index `k` holds step `k + 1`.
    pub s1: Vec<f64>,
    /// Annealing area `S2(s) = Σ_{i≤s} m_i`; index `k` holds step `k + 1`.
    pub s2: Vec<f64>,
}

/// Forward area `S1` and annealing area `S2` of a schedule (Tissue, Wang & Wang, arXiv
/// 2408.11029), with the crate's 1-based steps `i`:
///
/// `S1(s) = Σ_{i=1}^{s} η_i`; `m_i = 0` for `i < f`, `m_i = λ·m_{i−1} + (η_{i−1} − η_i)` for
/// `i ≥ f`, where `f` = [`WarmupConvention::first_change`] (2 without warmup); `S2(s) = Σ_{i=1}^{s} m_i`.
///
/// A constant rate (after the warmup, in the papers' convention) gives `S2 = 0`; a single drop `Δ`
/// gives momentum `Δλ^(i−k)` and `S2 → Δ/(1−λ)`.
///
/// Errors: as [`LrSchedule::check`].
pub fn tissue_areas(schedule: &LrSchedule) -> Result<TissueAreas, CoreError> {
    schedule.check()?;
    let (lrs, lambda) = (&schedule.rates, schedule.momentum_decay);
    let first = schedule.warmup.first_change();
    let mut s1 = Vec::with_capacity(lrs.len());
    let mut s2 = Vec::with_capacity(lrs.len());
    let (mut a1, mut a2, mut m) = (0.0, 0.0, 0.0);
    for (k, &lr) in lrs.iter().enumerate() {
        if k + 1 >= first {
            m = lambda * m + (lrs[k - 1] - lr);
        }
        a1 += lr;
        a2 += m;
        s1.push(a1);
        s2.push(a2);
    }
    Ok(TissueAreas { s1, s2 })
}

/// A learning-rate schedule described by a few numbers; [`Schedule::lrs`] expands it to per-step
/// rates. Serialised with a `"kind"` tag and camel-case fields, as the npm package takes it:
/// `{"kind": "cosine", "steps": 1000, "peak": 3e-4, "finalLr": 3e-5, "warmup": 100}`.
///
/// All kinds use a linear warmup over the first `W = warmup` steps: `η_s = peak·s/W` for `s ≤ W`
/// (1-based steps, so `η_W = peak`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "snake_case",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum Schedule {
    /// `η_s = lr` for every step.
    Constant {
        /// Number of steps `T`.
        steps: usize,
        /// The rate.
        lr: f64,
    },
    /// Warmup, then cosine from `peak` to `final_lr`:
    /// `η_s = final + (peak − final)·(1 + cos(π p))/2`, `p = (s − W)/(T − W)` for `s > W`.
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
    /// `η_s = peak + (final − peak)·p`, `p = (s − (T − decay))/decay` for `s > T − decay`.
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
    /// The per-step rates `[η_1, …, η_T]`.
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

    /// The warmup steps `W` (0 for a constant schedule).
    pub fn warmup_steps(&self) -> usize {
        match *self {
            Schedule::Constant { .. } => 0,
            Schedule::Cosine { warmup, .. } | Schedule::Wsd { warmup, .. } => warmup,
        }
    }

    /// The loss-curve schedule: [`Schedule::lrs`] with the papers' warmup convention for its own
    /// warmup and `λ = ` [`DEFAULT_TISSUE_LAMBDA`]. Errors as [`Schedule::lrs`].
    pub fn lr_schedule(&self) -> Result<LrSchedule, CoreError> {
        Ok(LrSchedule {
            rates: self.lrs()?,
            warmup: WarmupConvention::Paper {
                warmup_steps: self.warmup_steps(),
            },
            momentum_decay: DEFAULT_TISSUE_LAMBDA,
        })
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
        let mut bad = LrSchedule::new(vec![1.0]);
        bad.momentum_decay = 1.5;
        assert!(tissue_areas(&bad).is_err());
        assert!(tissue_areas(&LrSchedule::new(vec![])).is_err());
        let mut long_warmup = LrSchedule::new(vec![1.0; 3]);
        long_warmup.warmup = WarmupConvention::Paper { warmup_steps: 4 };
        assert!(long_warmup.check().is_err());
        // warmup = steps is fine (no cosine phase).
        assert_eq!(cosine(2, 1.0, 0.0, 2).unwrap(), vec![0.5, 1.0]);
    }

    #[test]
    fn warmup_is_the_initial_rise() {
        assert_eq!(warmup_steps(&cosine(100, 1.0, 0.1, 10).unwrap()), 10);
        assert_eq!(warmup_steps(&[1.0, 1.0, 0.5]), 0);
        assert_eq!(warmup_steps(&[1.0]), 0);
        assert_eq!(warmup_steps(&[0.0, 0.5, 1.0]), 3);
        let c = Schedule::Cosine {
            steps: 50,
            peak: 1.0,
            final_lr: 0.0,
            warmup: 5,
        };
        assert_eq!(
            c.lr_schedule().unwrap().warmup,
            LrSchedule::new(c.lrs().unwrap()).warmup
        );
    }

    #[test]
    fn steps_are_whole_and_inside_the_schedule() {
        let s = LrSchedule::new(vec![1.0, 0.5]);
        assert_eq!(s.index_of("observation", 0, 1.0), Ok(0));
        assert_eq!(s.index_of("observation", 0, 2.0), Ok(1));
        for bad in [0.0, 3.0, 1.5, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                s.index_of("observation", 4, bad),
                Err(CoreError::StepOutsideSchedule {
                    index: 4,
                    steps: 2,
                    ..
                })
            ));
        }
    }
}
