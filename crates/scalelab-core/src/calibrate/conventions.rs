//! The convention matrix: the same confidences scored the way each library scores them, side by
//! side, with the bin each library put every sample in.
//!
//! | convention | bins (default) | edges | before binning |
//! |---|---|---|---|
//! | Guo et al. / gpleiss `_ECELoss` | 15 | `(lo, hi]`, 0 in no bin | — |
//! | torchmetrics `calibration_error` | 15 | `[lo, hi)`, 1 in an extra bin | — |
//! | netcal `ECE` | 10 | `[lo, hi)`, last `[lo, 1]` | clipped to `[ε, 1 − ε]` |
//! | scikit-learn `calibration_curve(strategy="uniform")` | 5 | `(lo, hi]`, 0 in the first | — |
//! | scikit-learn `calibration_curve(strategy="quantile")` | 5 | quantile edges, as uniform | — |
//!
//! scikit-learn returns the curve, not an ECE; its row here is `Σ_b (n_b/n)|prob_true_b − prob_pred_b|`
//! over its own bins.

use super::binning::{Binning, EdgeConvention};
use super::metrics::{calibration_error, netcal_clip, reliability, Norm, Reliability};
use crate::CoreError;

/// A library's binning convention.
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
pub enum Convention {
    /// Guo et al. 2017 and gpleiss/temperature_scaling.
    Guo,
    /// torchmetrics.
    Torchmetrics,
    /// netcal.
    Netcal,
    /// scikit-learn, uniform strategy.
    SklearnUniform,
    /// scikit-learn, quantile strategy.
    SklearnQuantile,
}

impl Convention {
    /// The library's default number of bins.
    pub fn default_bins(self) -> usize {
        match self {
            Convention::Guo | Convention::Torchmetrics => 15,
            Convention::Netcal => 10,
            Convention::SklearnUniform | Convention::SklearnQuantile => 5,
        }
    }

    /// The confidences as the library bins them: netcal clips them to `[ε, 1 − ε]` (after the
    /// check that they are in `[0, 1]`: nothing out of range is clipped silently); the others
    /// bin them as they are.
    ///
    /// Errors: as [`super::metrics::reliability`]'s check of the confidences.
    pub fn prepare(self, conf: &[f64]) -> Result<std::borrow::Cow<'_, [f64]>, CoreError> {
        if self == Convention::Netcal {
            super::metrics::check_unit("confidence", conf)?;
            Ok(std::borrow::Cow::Owned(netcal_clip(conf)))
        } else {
            Ok(std::borrow::Cow::Borrowed(conf))
        }
    }

    /// Its binning with `bins` bins.
    pub fn binning(self, bins: usize) -> Binning {
        match self {
            Convention::Guo => Binning::EqualWidth {
                bins,
                edges: EdgeConvention::UpperClosed,
            },
            Convention::Torchmetrics => Binning::EqualWidth {
                bins,
                edges: EdgeConvention::LowerClosedExtraBin,
            },
            Convention::Netcal => Binning::EqualWidth {
                bins,
                edges: EdgeConvention::LowerClosed,
            },
            Convention::SklearnUniform => Binning::SklearnUniform { bins },
            Convention::SklearnQuantile => Binning::SklearnQuantile { bins },
        }
    }
}

/// One convention's score of the data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConventionScore {
    /// Which convention.
    pub convention: Convention,
    /// Its number of bins.
    pub bins: usize,
    /// Its bin edges (`bins + 1` values).
    pub edges: Vec<f64>,
    /// Its reliability diagram (torchmetrics: `bins + 1` bins, the last holding `conf = 1`).
    pub reliability: Reliability,
    /// ECE.
    pub ece: f64,
    /// MCE.
    pub mce: f64,
    /// RMS calibration error.
    pub rms: f64,
    /// Every sample's bin (`None`: in no bin, Guo's convention for a confidence of 0).
    pub assignment: Vec<Option<u32>>,
}

/// Scores `conf` with `outcome` under every convention, each with its default number of bins or
/// all with `bins`.
///
/// Errors: as [`reliability`].
pub fn convention_matrix(
    conf: &[f64],
    outcome: &[f64],
    bins: Option<usize>,
) -> Result<Vec<ConventionScore>, CoreError> {
    use strum::VariantArray;
    Convention::VARIANTS
        .iter()
        .map(|&convention| {
            let m = bins.unwrap_or(convention.default_bins());
            let binning = convention.binning(m);
            let conf = convention.prepare(conf)?;
            let conf = &conf[..];
            let reliability = reliability(conf, outcome, &binning)?;
            let (assigned, _) = binning.assign(conf)?;
            Ok(ConventionScore {
                convention,
                bins: m,
                edges: binning.edges(conf).unwrap_or_default(),
                ece: calibration_error(&reliability, Norm::L1),
                mce: calibration_error(&reliability, Norm::Max),
                rms: calibration_error(&reliability, Norm::L2),
                reliability,
                assignment: assigned.into_iter().map(|b| b.map(|b| b as u32)).collect(),
            })
        })
        .collect()
}

/// The calibration error in `norm` under `convention` for each number of bins in `bins` (ECE
/// against the number of bins, the way that library would compute it).
///
/// Errors: as [`reliability`].
pub fn error_by_bins(
    convention: Convention,
    conf: &[f64],
    outcome: &[f64],
    bins: &[usize],
    norm: Norm,
) -> Result<Vec<f64>, CoreError> {
    let conf = convention.prepare(conf)?;
    super::metrics::calibration_error_by_bins(&conf, outcome, bins, norm, |m| convention.binning(m))
}
