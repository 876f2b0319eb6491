//! ECE is not a proper score: a forecaster that ignores the input and always predicts the class
//! frequencies `f_j = n_j/n` is perfectly calibrated — its top-label confidence is `max_j f_j`
//! and its accuracy is the same share, so its ECE is 0 under every binning — while NLL and
//! Brier (proper scores) rank it below any informative model.

use super::binning::Binning;
use super::metrics::{accuracy, brier, calibration_error, nll, reliability, top_label, Norm};
use super::Scores;
use crate::CoreError;

/// Four scores of one forecaster.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScoreCard {
    /// Accuracy.
    pub accuracy: f64,
    /// Top-label ECE under the binning asked for.
    pub ece: f64,
    /// Mean NLL.
    pub nll: f64,
    /// Brier score summed over classes.
    pub brier: f64,
}

/// The model at temperature `t` against the class-frequency forecaster, on the same rows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Properness {
    /// The model.
    pub model: ScoreCard,
    /// The forecaster that always predicts `frequencies`.
    pub frequency_forecaster: ScoreCard,
    /// The class frequencies `n_j/n` of the labels.
    pub frequencies: Vec<f64>,
}

/// Scores the model and the class-frequency forecaster (module docs) with `binning`.
///
/// Errors: as [`reliability`], and [`super::check_temperature`] for `t`.
pub fn properness(scores: &Scores<'_>, t: f64, binning: &Binning) -> Result<Properness, CoreError> {
    super::check_temperature(t)?;
    let k = scores.classes();
    let n = scores.len() as f64;
    let mut counts = vec![0usize; k];
    for &y in scores.labels() {
        counts[y] += 1;
    }
    let f: Vec<f64> = counts.iter().map(|&c| c as f64 / n).collect();
    let top = super::argmax(&f);
    let conf = vec![f[top]; scores.len()];
    let outcome: Vec<f64> = scores
        .labels()
        .iter()
        .map(|&y| f64::from(u8::from(y == top)))
        .collect();
    let sum_sq: f64 = f.iter().map(|v| v * v).sum();
    let (frequency_nll, frequency_brier) = scores.labels().iter().fold((0.0, 0.0), |(a, b), &y| {
        (a - f[y].ln(), b + sum_sq - 2.0 * f[y] + 1.0)
    });
    let (model_conf, model_outcome) = top_label(scores, t);
    Ok(Properness {
        model: ScoreCard {
            accuracy: accuracy(scores),
            ece: calibration_error(
                &reliability(&model_conf, &model_outcome, binning)?,
                Norm::L1,
            ),
            nll: nll(scores, t),
            brier: brier(scores, t),
        },
        frequency_forecaster: ScoreCard {
            accuracy: f[top],
            ece: calibration_error(&reliability(&conf, &outcome, binning)?, Norm::L1),
            nll: frequency_nll / n,
            brier: frequency_brier / n,
        },
        frequencies: f,
    })
}
