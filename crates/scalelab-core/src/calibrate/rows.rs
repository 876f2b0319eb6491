//! Owned classifier scores ([`ScoreRows`]): what a file, a split or a bootstrap resample holds,
//! lent out as [`Scores`].

use super::{logits_from_probabilities, Scores};
use crate::CoreError;

/// `n` rows of `k` logits and their labels, owned, with the probabilities they were given as
/// when they were given as probabilities ([`Scores`] reads those at `T = 1`; they take as much
/// memory again as the logits).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRows {
    /// Logits, row-major (`ln p` of given probabilities).
    pub logits: Vec<f64>,
    /// `k`.
    pub classes: usize,
    /// `n` labels.
    pub labels: Vec<usize>,
    /// The probabilities as given, row-major, or `None` for logits.
    pub probabilities: Option<Vec<f64>>,
}

impl ScoreRows {
    /// Logits and labels (checked as [`Scores::new`] checks them).
    ///
    /// Errors: as [`Scores::new`].
    pub fn from_logits(
        logits: Vec<f64>,
        classes: usize,
        labels: Vec<usize>,
    ) -> Result<ScoreRows, CoreError> {
        Scores::new(&logits, classes, &labels)?;
        Ok(ScoreRows {
            logits,
            classes,
            labels,
            probabilities: None,
        })
    }

    /// Probabilities and labels: the logits `ln p`, the probabilities kept.
    ///
    /// Errors: as [`logits_from_probabilities`] and [`Scores::new`] (a label of probability 0 is
    /// [`CoreError::ZeroLabelProbability`]).
    pub fn from_probabilities(
        probabilities: Vec<f64>,
        classes: usize,
        labels: Vec<usize>,
    ) -> Result<ScoreRows, CoreError> {
        let logits = logits_from_probabilities(&probabilities, classes)?;
        Scores::new(&logits, classes, &labels)?;
        Ok(ScoreRows {
            logits,
            classes,
            labels,
            probabilities: Some(probabilities),
        })
    }

    /// The rows `rows` of `scores` (their probabilities too when `scores` carries them).
    ///
    /// Errors: [`CoreError::IndexOutOfRange`] for a row past the end, [`CoreError::EmptyInput`]
    /// for no rows.
    pub fn select(scores: &Scores<'_>, rows: &[usize]) -> Result<ScoreRows, CoreError> {
        if rows.is_empty() {
            return Err(CoreError::EmptyInput {
                what: "rows of a split",
            });
        }
        if let Some(&r) = rows.iter().find(|&&r| r >= scores.len()) {
            return Err(CoreError::IndexOutOfRange {
                what: "row of a split",
                index: r,
                len: scores.len(),
            });
        }
        let k = scores.classes();
        let gather = |values: &[f64]| {
            let mut out = Vec::with_capacity(rows.len() * k);
            for &r in rows {
                out.extend_from_slice(&values[r * k..(r + 1) * k]);
            }
            out
        };
        Ok(ScoreRows {
            logits: gather(scores.logits()),
            classes: k,
            labels: rows.iter().map(|&r| scores.label(r)).collect(),
            probabilities: scores.given_probabilities().map(gather),
        })
    }

    /// The rows as [`Scores`].
    ///
    /// Errors: as [`Scores::new`] (never for rows made by this type's constructors).
    pub fn scores(&self) -> Result<Scores<'_>, CoreError> {
        let s = Scores::new(&self.logits, self.classes, &self.labels)?;
        match &self.probabilities {
            Some(p) => s.with_probabilities(p),
            None => Ok(s),
        }
    }
}
