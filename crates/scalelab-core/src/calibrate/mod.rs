//! The Calibrate lab's numerics: classifier scores ([`Scores`]: `n` rows of `k` logits and a
//! label per row), temperature scaling solved to a certificate ([`temperature`]), the binnings
//! the libraries use ([`binning`]), the calibration metrics under each convention
//! ([`metrics`]) and the convention matrix that scores data the way each library does
//! ([`conventions`]), recalibration maps with the seeded split ([`recalibrate`]), vector and
//! matrix scaling ([`scaling`]), every method fitted on a calibration split and scored on a test split ([`methods`]), bootstrap intervals of any metric ([`bootstrap`]), CORP
//! reliability diagrams with the Murphy decomposition ([`corp`]) and the demonstration that ECE
//! is not a proper score ([`properness`]); the class-overlap experiment ([`overlap`]); generated scores for presets ([`synthetic`]).

pub mod binning;
pub mod bootstrap;
pub mod conventions;
pub mod corp;
pub mod methods;
pub mod metrics;
pub mod overlap;
pub mod properness;
pub mod recalibrate;
pub mod row_moments;
pub mod rows;
pub mod scaling;
pub mod synthetic;
pub mod temperature;

use crate::CoreError;
pub use rows::ScoreRows;

/// Largest allowed |Σ_j p_j − 1| of a row of probabilities (float32 softmax outputs of a
/// 1000-class model sum to 1 within ~1e-6).
pub const PROBABILITY_SUM_TOLERANCE: f64 = 1e-4;

/// Classifier scores: `n` rows of `k ≥ 2` logits (row-major) and each row's label in `0 .. k`.
/// A logit is finite or −∞ (a probability of exactly 0, which float32 softmax outputs often
/// hold): the softmax gives it 0 at every temperature, and every computation here treats it so
/// (exactly 0, never a clipped ε). The label's own logit must be finite. Scores given as
/// probabilities can carry them ([`ScoreRows::from_probabilities`]): at `T = 1` every metric then
/// reads the probabilities as given, as the libraries do, not `softmax(ln p)`, which can differ
/// in the last bit — and the last bit decides the bin of a confidence on a bin edge (0.75 with 4
/// bins). Borrowed: a 50 000 × 1000 set is 400 MB of `f64` and is never copied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores<'a> {
    logits: &'a [f64],
    classes: usize,
    labels: &'a [usize],
    probabilities: Option<&'a [f64]>,
    /// Whether every logit is finite (no −∞).
    finite: bool,
}

impl<'a> Scores<'a> {
    /// Checks `logits` (`labels.len()` rows of `classes` values) and `labels`.
    ///
    /// Errors: [`CoreError::EmptyInput`] (no rows), [`CoreError::OutOfRange`] (fewer than two
    /// classes), [`CoreError::DimensionMismatch`] (`logits.len() ≠ n·k`),
    /// [`CoreError::NonFinite`] (a logit that is NaN or +∞), [`CoreError::IndexOutOfRange`] (a
    /// label ≥ `k`), [`CoreError::ZeroLabelProbability`] (a row whose label's logit is −∞).
    pub fn new(logits: &'a [f64], classes: usize, labels: &'a [usize]) -> Result<Self, CoreError> {
        if labels.is_empty() {
            return Err(CoreError::EmptyInput { what: "labels" });
        }
        if classes < 2 {
            return Err(CoreError::OutOfRange {
                what: "number of classes",
                value: classes as f64,
                min: 2.0,
                max: f64::MAX,
            });
        }
        if logits.len() != labels.len().saturating_mul(classes) {
            return Err(CoreError::DimensionMismatch {
                what: "logits (must be one row of `classes` values per label)",
                expected: labels.len().saturating_mul(classes),
                got: logits.len(),
            });
        }
        let mut finite = true;
        for (index, &value) in logits.iter().enumerate() {
            if !value.is_finite() {
                if value != f64::NEG_INFINITY {
                    return Err(CoreError::NonFinite {
                        what: "logits",
                        index,
                        value,
                    });
                }
                finite = false;
            }
        }
        if let Some(&label) = labels.iter().find(|&&l| l >= classes) {
            return Err(CoreError::IndexOutOfRange {
                what: "label",
                index: label,
                len: classes,
            });
        }
        if let Some(row) =
            (0..labels.len()).find(|&i| logits[i * classes + labels[i]].is_infinite())
        {
            return Err(CoreError::ZeroLabelProbability { row });
        }
        Ok(Scores {
            logits,
            classes,
            labels,
            probabilities: None,
            finite,
        })
    }

    /// The same scores with the probabilities `p` whose logits they are (`ln p`, as
    /// [`logits_from_probabilities`] made them).
    fn with_probabilities(self, p: &'a [f64]) -> Result<Self, CoreError> {
        if p.len() != self.logits.len() {
            return Err(CoreError::DimensionMismatch {
                what: "probabilities beside their logits",
                expected: self.logits.len(),
                got: p.len(),
            });
        }
        Ok(Scores {
            probabilities: Some(p),
            ..self
        })
    }

    /// Row `i`'s probabilities at temperature `t` into `out`: the probabilities as given when the
    /// scores carry them and `t = 1`, else the softmax of the logits ([`softmax_at`]).
    #[inline]
    pub fn probabilities_at(&self, i: usize, t: f64, out: &mut [f64]) {
        match self.probabilities {
            Some(p) if t == 1.0 => {
                out.copy_from_slice(&p[i * self.classes..(i + 1) * self.classes]);
            }
            _ => softmax_at(self.row(i), t, out),
        }
    }

    /// The probabilities the scores were given as (type docs), if any.
    pub fn given_probabilities(&self) -> Option<&'a [f64]> {
        self.probabilities
    }

    /// Every logit, row-major.
    pub fn logits(&self) -> &'a [f64] {
        self.logits
    }

    /// Whether every logit is finite (no probability of exactly 0).
    pub fn all_finite(&self) -> bool {
        self.finite
    }

    /// Number of rows `n`.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Always false (a `Scores` has at least one row).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Number of classes `k`.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Row `i`'s logits.
    pub fn row(&self, i: usize) -> &'a [f64] {
        &self.logits[i * self.classes..(i + 1) * self.classes]
    }

    /// Row `i`'s label.
    pub fn label(&self, i: usize) -> usize {
        self.labels[i]
    }

    /// The labels.
    pub fn labels(&self) -> &'a [usize] {
        self.labels
    }
}

/// Logits `z = ln p` of probabilities (`classes` per row; softmax(z) = p, and temperature
/// scaling is unaffected by the per-row constant this leaves out).
///
/// Errors: [`CoreError::DimensionMismatch`] (not a whole number of rows), [`CoreError::NonFinite`],
/// [`CoreError::OutOfRange`] (a probability outside `[0, 1]`, or a row whose sum is more than
/// [`PROBABILITY_SUM_TOLERANCE`] from 1 — the value reported is the sum). A probability of 0 gives
/// the logit −∞ (see [`Scores`]).
pub fn logits_from_probabilities(probs: &[f64], classes: usize) -> Result<Vec<f64>, CoreError> {
    if classes == 0 || !probs.len().is_multiple_of(classes) {
        return Err(CoreError::DimensionMismatch {
            what: "probabilities (must be whole rows of `classes` values)",
            expected: probs.len().div_ceil(classes.max(1)) * classes.max(1),
            got: probs.len(),
        });
    }
    for (r, row) in probs.chunks_exact(classes).enumerate() {
        for (j, &p) in row.iter().enumerate() {
            if !p.is_finite() {
                return Err(CoreError::NonFinite {
                    what: "probabilities",
                    index: r * classes + j,
                    value: p,
                });
            }
            if !(0.0..=1.0).contains(&p) {
                return Err(CoreError::OutOfRange {
                    what: "probability",
                    value: p,
                    min: 0.0,
                    max: 1.0,
                });
            }
        }
        let sum: f64 = row.iter().sum();
        if (sum - 1.0).abs() > PROBABILITY_SUM_TOLERANCE {
            return Err(CoreError::OutOfRange {
                what: "sum of a row of probabilities",
                value: sum,
                min: 1.0 - PROBABILITY_SUM_TOLERANCE,
                max: 1.0 + PROBABILITY_SUM_TOLERANCE,
            });
        }
    }
    Ok(probs.iter().map(|p| p.ln()).collect())
}

/// Row `z`'s softmax at temperature `t` into `out` (max-subtracted; the exponential of
/// [`row_moments::exp_nonpositive`]).
pub fn softmax_at(z: &[f64], t: f64, out: &mut [f64]) {
    let beta = 1.0 / t;
    let m = row_moments::row_max(z);
    row_moments::exp_shifted(z, m, beta, out);
    let inv = 1.0 / row_moments::lane_sum(out);
    for o in out.iter_mut() {
        *o *= inv;
    }
}

/// Errors: [`CoreError::OutOfRange`] naming `what` unless `min ≤ value ≤ max` (NaN is outside).
pub(crate) fn check_range(
    what: &'static str,
    value: f64,
    min: f64,
    max: f64,
) -> Result<(), CoreError> {
    if value >= min && value <= max {
        Ok(())
    } else {
        Err(CoreError::OutOfRange {
            what,
            value,
            min,
            max,
        })
    }
}

/// `t` if it is a temperature (finite and positive). Errors: [`CoreError::OutOfRange`].
pub fn check_temperature(t: f64) -> Result<f64, CoreError> {
    if t.is_finite() && t > 0.0 {
        Ok(t)
    } else {
        Err(CoreError::OutOfRange {
            what: "temperature",
            value: t,
            min: f64::MIN_POSITIVE,
            max: f64::MAX,
        })
    }
}

/// Index of the largest value, the first on ties (as numpy's and torch's `argmax`).
pub fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (j, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = j;
        }
    }
    best
}
