//! Recalibration methods compared on a calibration/test split: each method is fitted on the
//! calibration rows only and scored on the test rows only, so a method that over-fits (matrix
//! scaling on few rows, histogram binning with many bins) shows it.
//!
//! | method | fitted on the calibration rows | changes |
//! |---|---|---|
//! | uncalibrated | — | — |
//! | temperature | `T*` ([`fit_temperature`], to its certificate) | every probability, not the argmax |
//! | vector scaling | `w ⊙ z + b` ([`fit_scaling`], penalty λ) | every probability and the argmax |
//! | matrix scaling | `W z + b` (at most [`MATRIX_SCALING_MAX_CLASSES`](super::scaling::MATRIX_SCALING_MAX_CLASSES) classes) | every probability and the argmax |
//! | histogram binning | each equal-width bin's accuracy ([`HistogramBinning`]) | the top-label confidence only |
//! | isotonic | PAV of correctness on confidence ([`Isotonic`]) | the top-label confidence only |
//!
//! Histogram binning and isotonic regression map the top-label confidence (Guo et al. 2017,
//! §4.1, the top-label form): they leave the other classes' probabilities undefined, so the NLL
//! and the Brier score are not reported for them (`None`), never computed from a made-up
//! distribution. The calibration errors are all top-label, under the binning asked for.

use super::binning::Binning;
use super::metrics::{brier, calibration_error, nll, reliability, top_label, Norm, Reliability};
use super::recalibrate::{HistogramBinning, Isotonic};
use super::scaling::{check_penalty, fit_scaling, AffineMap};
use super::temperature::fit_temperature;
use super::{ScoreRows, Scores};
use crate::{CoreError, CoreErrorCode};

/// A recalibration method.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Method {
    /// The scores as given.
    Uncalibrated,
    /// Temperature scaling.
    Temperature,
    /// Vector scaling.
    VectorScaling,
    /// Matrix scaling.
    MatrixScaling,
    /// Histogram binning of the top-label confidence.
    HistogramBinning,
    /// Isotonic regression of the top-label confidence.
    Isotonic,
}

/// One method's test-split scores.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MethodScore {
    /// The method.
    pub method: Method,
    /// Test accuracy.
    pub accuracy: f64,
    /// Test mean NLL (`None`: the method calibrates only the top-label confidence).
    pub nll: Option<f64>,
    /// Test Brier score summed over classes (`None` as for `nll`).
    pub brier: Option<f64>,
    /// Top-label ECE under the binning asked for.
    pub ece: f64,
    /// Top-label MCE.
    pub mce: f64,
    /// Top-label RMS calibration error.
    pub rms: f64,
    /// The fitted temperature (temperature scaling).
    pub temperature: Option<f64>,
    /// The fit's certificate: `|∂NLL/∂β|` (temperature) or `max |∂F/∂θ|` (vector, matrix).
    pub gradient: Option<f64>,
    /// The test reliability diagram.
    pub reliability: Reliability,
}

/// The default share of rows that calibrate (the rest test).
pub const DEFAULT_CALIBRATION_FRACTION: f64 = 0.5;
/// The default L2 penalty λ of vector and matrix scaling.
pub const DEFAULT_PENALTY: f64 = 0.01;

/// A method's row: its scores, or why it could not be fitted on these data (matrix scaling with
/// too many classes; no finite temperature on the calibration rows), by the error's code.
/// Serialised externally tagged, `{"scored": {…}}` or `{"refused": {…}}` (an internally tagged
/// enum would make every reader of it buffer the whole value first).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodOutcome {
    /// Fitted and scored.
    Scored(MethodScore),
    /// Not applicable to these data.
    Refused {
        /// The method.
        method: Method,
        /// The error's code.
        code: CoreErrorCode,
        /// The error, for people.
        message: String,
    },
}

/// Every method fitted on one split and scored on the other.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MethodComparison {
    /// Calibration rows.
    pub calibration_rows: usize,
    /// Test rows.
    pub test_rows: usize,
    /// One outcome per method, in [`Method`]'s order.
    pub outcomes: Vec<MethodOutcome>,
}

/// `method`'s row from top-label confidences `conf` and outcomes `correct` on the test rows, with
/// the full distribution's `(NLL, Brier)` when the method has one.
fn score(
    method: Method,
    conf: &[f64],
    correct: &[f64],
    full: Option<(f64, f64)>,
    binning: &Binning,
) -> Result<MethodScore, CoreError> {
    let r = reliability(conf, correct, binning)?;
    Ok(MethodScore {
        method,
        accuracy: correct.iter().sum::<f64>() / correct.len() as f64,
        nll: full.map(|f| f.0),
        brier: full.map(|f| f.1),
        ece: calibration_error(&r, Norm::L1),
        mce: calibration_error(&r, Norm::Max),
        rms: calibration_error(&r, Norm::L2),
        temperature: None,
        gradient: None,
        reliability: r,
    })
}

/// Scores the full distribution softmax(z/t) of the test rows.
fn score_distribution(
    method: Method,
    test: &Scores<'_>,
    t: f64,
    binning: &Binning,
) -> Result<MethodScore, CoreError> {
    let (conf, correct) = top_label(test, t);
    score(
        method,
        &conf,
        &correct,
        Some((nll(test, t), brier(test, t))),
        binning,
    )
}

/// Fits `method` on `cal` and scores it on `test` (module docs). `penalty` is vector and matrix
/// scaling's λ; histogram binning uses `binning`'s number of bins.
///
/// Errors: as the method's fit ([`fit_scaling`]'s penalty and class limit, [`HistogramBinning::fit`]'s
/// bins), or [`CoreError::DimensionMismatch`] when the two splits' classes differ.
pub fn evaluate(
    method: Method,
    cal: &Scores<'_>,
    test: &Scores<'_>,
    binning: &Binning,
    penalty: f64,
) -> Result<MethodScore, CoreError> {
    if cal.classes() != test.classes() {
        return Err(CoreError::DimensionMismatch {
            what: "classes of the test split",
            expected: cal.classes(),
            got: test.classes(),
        });
    }
    binning.check()?;
    match method {
        Method::Uncalibrated => score_distribution(method, test, 1.0, binning),
        Method::Temperature => {
            let fit = fit_temperature(cal)?;
            Ok(MethodScore {
                temperature: Some(fit.temperature),
                gradient: Some(fit.gradient),
                ..score_distribution(method, test, fit.temperature, binning)?
            })
        }
        Method::VectorScaling | Method::MatrixScaling => {
            let map = if method == Method::VectorScaling {
                AffineMap::Vector
            } else {
                AffineMap::Matrix
            };
            let fit = fit_scaling(cal, map, penalty)?;
            let scaled = fit.apply(test)?;
            let scaled = Scores::new(&scaled, test.classes(), test.labels())?;
            Ok(MethodScore {
                gradient: Some(fit.gradient),
                ..score_distribution(method, &scaled, 1.0, binning)?
            })
        }
        Method::HistogramBinning | Method::Isotonic => {
            let (cal_conf, cal_correct) = top_label(cal, 1.0);
            let (conf, correct) = top_label(test, 1.0);
            let mapped = if method == Method::Isotonic {
                Isotonic::fit(&cal_conf, &cal_correct)?.apply_all(&conf)?
            } else {
                HistogramBinning::fit(&cal_conf, &cal_correct, binning.bins())?.apply_all(&conf)?
            };
            score(method, &mapped, &correct, None, binning)
        }
    }
}

/// [`evaluate`] as a row: a fit these data cannot have (matrix scaling past
/// [`MATRIX_SCALING_MAX_CLASSES`](super::scaling::MATRIX_SCALING_MAX_CLASSES) classes, an out-of-range option) is a [`MethodOutcome::Refused`]
/// with the error's code, so one method's limit does not hide the others' scores.
pub fn outcome(
    method: Method,
    cal: &Scores<'_>,
    test: &Scores<'_>,
    binning: &Binning,
    penalty: f64,
) -> MethodOutcome {
    match evaluate(method, cal, test, binning, penalty) {
        Ok(score) => MethodOutcome::Scored(score),
        Err(e) => MethodOutcome::Refused {
            method,
            code: CoreErrorCode::from(&e),
            message: e.to_string(),
        },
    }
}

/// Every [`Method`] fitted on rows `cal_rows` of `scores` and scored on rows `test_rows`.
///
/// Errors: the options ([`Binning::check`], [`check_penalty`]) and the splits ([`ScoreRows::select`]);
/// a method's own limit is its row's [`MethodOutcome::Refused`].
pub fn compare_methods(
    scores: &Scores<'_>,
    cal_rows: &[usize],
    test_rows: &[usize],
    binning: &Binning,
    penalty: f64,
) -> Result<MethodComparison, CoreError> {
    use strum::VariantArray;
    binning.check()?;
    check_penalty(penalty)?;
    let (cal, test) = (
        ScoreRows::select(scores, cal_rows)?,
        ScoreRows::select(scores, test_rows)?,
    );
    let (cal, test) = (cal.scores()?, test.scores()?);
    Ok(MethodComparison {
        calibration_rows: cal_rows.len(),
        test_rows: test_rows.len(),
        outcomes: Method::VARIANTS
            .iter()
            .map(|&m| outcome(m, &cal, &test, binning, penalty))
            .collect(),
    })
}
