//! Calibration metrics, each convention named.
//!
//! - **Top-label** (Guo et al. 2017): confidence `max_j p_ij`, outcome `1[argmax_j p_ij = y_i]`
//!   (first index on ties, as numpy/torch). **Binary** (torchmetrics, netcal on 1-D input):
//!   confidence `p(y = 1)`, outcome `y`. **Class-wise**: one (confidence `p_ik`, outcome
//!   `1[y_i = k]`) problem per class.
//! - [`calibration_error`] over a [`Reliability`]: `L1 = Σ_b (n_b/n)|acc_b − conf_b|` (ECE, Guo
//!   Eq. 3), `L2 = (Σ_b (n_b/n)(acc_b − conf_b)²)^½` (RMS calibration error, torchmetrics'
//!   `norm='l2'`), `Max = max_b |acc_b − conf_b|` over non-empty bins (MCE, Guo Eq. 5);
//!   [`average_calibration_error`] is netcal's ACE (Neumann et al. 2018: the unweighted mean of
//!   `|acc_b − conf_b|` over non-empty bins), not Nixon et al.'s adaptive CE
//!   ([`adaptive_calibration_error`]).
//! - [`nll`] is the mean `−ln p_iy`; [`brier`] is summed over classes,
//!   `(1/n) Σ_i Σ_k (p_ik − 1[y_i = k])²` in `[0, 2]` (divide by `k` for the per-class variant).

use super::binning::{Binning, EdgeConvention, EqualWidthEdges};
use super::{argmax, Scores};
use crate::CoreError;

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BinStat {
    /// Confidences in the bin.
    pub count: usize,
    /// Their mean.
    pub confidence: f64,
    /// Mean outcome (the accuracy, for top-label confidences).
    pub accuracy: f64,
}

/// Confidences and outcomes binned.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reliability {
    /// Number of samples `n` (including any in no bin).
    pub samples: usize,
    /// The bins in order (empty bins have `count = 0` and NaN means).
    pub bins: Vec<BinStat>,
}

/// Which norm of the per-bin gaps.
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
pub enum Norm {
    /// ECE.
    L1,
    /// RMS calibration error.
    L2,
    /// MCE.
    Max,
}

/// Every value of `v` finite and in `[0, 1]`.
pub(super) fn check_unit(what: &'static str, v: &[f64]) -> Result<(), CoreError> {
    for (index, &x) in v.iter().enumerate() {
        if !x.is_finite() {
            return Err(CoreError::NonFinite {
                what,
                index,
                value: x,
            });
        }
        if !(0.0..=1.0).contains(&x) {
            return Err(CoreError::OutOfRange {
                what,
                value: x,
                min: 0.0,
                max: 1.0,
            });
        }
    }
    Ok(())
}

/// Confidences and outcomes: as many of each, at least one, all finite and in `[0, 1]`.
///
/// Errors: [`CoreError::EmptyInput`], [`CoreError::DimensionMismatch`], [`CoreError::NonFinite`],
/// [`CoreError::OutOfRange`].
pub(super) fn check_pairs(conf: &[f64], outcome: &[f64]) -> Result<(), CoreError> {
    if conf.is_empty() {
        return Err(CoreError::EmptyInput {
            what: "confidences",
        });
    }
    if outcome.len() != conf.len() {
        return Err(CoreError::DimensionMismatch {
            what: "outcomes (one per confidence)",
            expected: conf.len(),
            got: outcome.len(),
        });
    }
    check_unit("confidence", conf)?;
    check_unit("outcome", outcome)
}

/// Bins `conf` (in `[0, 1]`) with its `outcome`s (in `[0, 1]`) by `binning`.
///
/// Errors: [`CoreError::EmptyInput`], [`CoreError::DimensionMismatch`], [`CoreError::NonFinite`],
/// [`CoreError::OutOfRange`] (a value outside `[0, 1]`, or a bad number of bins).
pub fn reliability(
    conf: &[f64],
    outcome: &[f64],
    binning: &Binning,
) -> Result<Reliability, CoreError> {
    check_pairs(conf, outcome)?;
    let add = |sums: &mut [(usize, f64, f64)], b: Option<usize>, c: f64, o: f64| {
        if let Some(b) = b {
            let s = &mut sums[b];
            s.0 += 1;
            s.1 += c;
            s.2 += o;
        }
    };
    let sums = match *binning {
        // Equal width: each bin found on the fly (no assignment vector).
        Binning::EqualWidth { bins, edges } => {
            binning.check()?;
            let e = EqualWidthEdges::new(bins, edges);
            let count = bins + usize::from(edges == EdgeConvention::LowerClosedExtraBin);
            let mut sums = vec![(0usize, 0.0, 0.0); count];
            for (&c, &o) in conf.iter().zip(outcome) {
                add(&mut sums, e.bin(c), c, o);
            }
            sums
        }
        // Equal mass: the (confidence, outcome) pairs sorted once, each bin a run of them (the
        // same bins as `Binning::assign`: boundaries at round(j·n/M), moved past ties).
        Binning::EqualMass { bins } => {
            binning.check()?;
            let mut pairs: Vec<(f64, f64)> =
                conf.iter().copied().zip(outcome.iter().copied()).collect();
            pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            let n = pairs.len();
            let mut sums = Vec::with_capacity(bins);
            let mut start = 0;
            for j in 1..=bins {
                let mut end =
                    ((j as f64 * n as f64 / bins as f64).round() as usize).clamp(start, n);
                while end < n && end > 0 && pairs[end].0 == pairs[end - 1].0 {
                    end += 1;
                }
                if end > start {
                    let (c, o) = pairs[start..end]
                        .iter()
                        .fold((0.0, 0.0), |(c, o), p| (c + p.0, o + p.1));
                    sums.push((end - start, c, o));
                    start = end;
                }
            }
            sums
        }
        _ => {
            let (assigned, count) = binning.assign(conf)?;
            let mut sums = vec![(0usize, 0.0, 0.0); count];
            for ((&b, &c), &o) in assigned.iter().zip(conf).zip(outcome) {
                add(&mut sums, b, c, o);
            }
            sums
        }
    };
    Ok(Reliability {
        samples: conf.len(),
        bins: sums
            .into_iter()
            .map(|(count, c, o)| BinStat {
                count,
                confidence: c / count as f64,
                accuracy: o / count as f64,
            })
            .collect(),
    })
}

/// The calibration error of `r` in `norm` (module docs).
pub fn calibration_error(r: &Reliability, norm: Norm) -> f64 {
    let n = r.samples as f64;
    let full = r.bins.iter().filter(|b| b.count > 0);
    match norm {
        Norm::L1 => full
            .map(|b| b.count as f64 / n * (b.accuracy - b.confidence).abs())
            .sum(),
        Norm::L2 => full
            .map(|b| b.count as f64 / n * (b.accuracy - b.confidence).powi(2))
            .sum::<f64>()
            .sqrt(),
        Norm::Max => full
            .map(|b| (b.accuracy - b.confidence).abs())
            .fold(0.0, f64::max),
    }
}

/// netcal's ACE: the unweighted mean of `|acc_b − conf_b|` over non-empty bins.
pub fn average_calibration_error(r: &Reliability) -> f64 {
    let (sum, k) = r
        .bins
        .iter()
        .filter(|b| b.count > 0)
        .fold((0.0, 0usize), |(s, k), b| {
            (s + (b.accuracy - b.confidence).abs(), k + 1)
        });
    sum / k as f64
}

/// The debiased L2 calibration error of Kumar, Liang & Ma 2019 (NeurIPS, "Verified Uncertainty
/// Calibration"; their package's `unbiased_l2_ce`): per bin with `n_b ≥ 2`,
/// `t_b = (conf_b − acc_b)² − acc_b(1 − acc_b)/(n_b − 1)` (bins with fewer samples add 0),
/// `S = Σ_b (n_b/n) t_b`, and `√max(S, 0)`. The subtracted term is the plug-in estimate's bias
/// from the outcome noise in each bin; with the package's bins use
/// [`Binning::EqualMassMidpoints`].
pub fn debiased_calibration_error(r: &Reliability) -> f64 {
    debiased_square(r).max(0.0).sqrt()
}

fn debiased_square(r: &Reliability) -> f64 {
    let n = r.samples as f64;
    r.bins
        .iter()
        .filter(|b| b.count >= 2)
        .map(|b| {
            let m = b.count as f64;
            m / n
                * ((b.confidence - b.accuracy).powi(2)
                    - b.accuracy * (1.0 - b.accuracy) / (m - 1.0))
        })
        .sum()
}

/// The marginal (class-wise) debiased L2 calibration error of Kumar et al. 2019: each class's
/// `S_k` as in [`debiased_calibration_error`] over its own bins of `p_ik`, then
/// `√(mean_k max(S_k, 0))` (the package's `mode='marginal'`).
pub fn marginal_debiased_calibration_error(
    scores: &Scores<'_>,
    t: f64,
    binning: &Binning,
) -> Result<f64, CoreError> {
    let mut sum = 0.0;
    for_each_class(scores, t, |_, c, o| {
        sum += debiased_square(&reliability(c, o, binning)?).max(0.0);
        Ok(())
    })?;
    Ok((sum / scores.classes() as f64).sqrt())
}

/// One softmax pass at temperature `t`: top-label confidences and outcomes, mean NLL and the
/// Brier score summed over classes.
#[derive(Debug, Clone, PartialEq)]
pub struct TopLabelPass {
    /// `max_j p_ij`.
    pub conf: Vec<f64>,
    /// `1[argmax_j p_ij = y_i]`.
    pub correct: Vec<f64>,
    /// Each row's `−ln p_iy`.
    pub nll_terms: Vec<f64>,
    /// Each row's `Σ_k (p_ik − 1[k = y_i])²`.
    pub brier_terms: Vec<f64>,
    /// Mean NLL.
    pub nll: f64,
    /// Brier score summed over classes.
    pub brier: f64,
}

/// The [`TopLabelPass`] of `scores` at `t`: per row, with `w_j = exp(β(z_j − m))` and `S = Σ w`,
/// the confidence is `1/S` (the largest weight is `exp(0)`), `−ln p_y = ln S − β(z_y − m)` and
/// `Σ_k (p_k − 1[k = y])² = Σ w²/S² − 2 w_y/S + 1`.
pub fn top_label_pass(scores: &Scores<'_>, t: f64) -> TopLabelPass {
    let beta = 1.0 / t;
    let n = scores.len();
    let mut w = vec![0.0; scores.classes()];
    let (mut conf, mut correct) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut nll_terms, mut brier_terms) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let given = scores.given_probabilities().filter(|_| t == 1.0);
    for i in 0..n {
        let z = scores.row(i);
        let y = scores.label(i);
        let j = argmax(z);
        if let Some(p) = given {
            // The probabilities as given (`Scores`' docs).
            let p = &p[i * w.len()..(i + 1) * w.len()];
            conf.push(p[j]);
            correct.push(f64::from(u8::from(j == y)));
            nll_terms.push(-p[y].ln());
            brier_terms.push(brier_term(p, y));
            continue;
        }
        let m = z[j];
        super::row_moments::exp_shifted(z, m, beta, &mut w);
        let sum = super::row_moments::lane_sum(&w);
        let squares: f64 = w.iter().map(|v| v * v).sum();
        conf.push(1.0 / sum);
        correct.push(f64::from(u8::from(j == y)));
        nll_terms.push(sum.ln() - beta * (z[y] - m));
        brier_terms.push(squares / (sum * sum) - 2.0 * w[y] / sum + 1.0);
    }
    TopLabelPass {
        conf,
        correct,
        nll: nll_terms.iter().sum::<f64>() / n as f64,
        brier: brier_terms.iter().sum::<f64>() / n as f64,
        nll_terms,
        brier_terms,
    }
}

/// Top-label confidences and outcomes of `scores` at temperature `t`.
pub fn top_label(scores: &Scores<'_>, t: f64) -> (Vec<f64>, Vec<f64>) {
    let mut p = vec![0.0; scores.classes()];
    let mut conf = Vec::with_capacity(scores.len());
    let mut outcome = Vec::with_capacity(scores.len());
    for i in 0..scores.len() {
        scores.probabilities_at(i, t, &mut p);
        let j = argmax(&p);
        conf.push(p[j]);
        outcome.push(f64::from(u8::from(j == scores.label(i))));
    }
    (conf, outcome)
}

/// Every row's softmax at temperature `t`, row-major.
pub fn probabilities(scores: &Scores<'_>, t: f64) -> Vec<f64> {
    let k = scores.classes();
    let mut p = vec![0.0; scores.len() * k];
    for (i, row) in p.chunks_exact_mut(k).enumerate() {
        scores.probabilities_at(i, t, row);
    }
    p
}

/// Class `k`'s confidences `p_ik` and outcomes `1[y_i = k]` from [`probabilities`] `p`.
pub fn class_scores(scores: &Scores<'_>, p: &[f64], k: usize) -> (Vec<f64>, Vec<f64>) {
    let classes = scores.classes();
    let conf = p.iter().skip(k).step_by(classes).copied().collect();
    let outcome = scores
        .labels()
        .iter()
        .map(|&y| f64::from(u8::from(y == k)))
        .collect();
    (conf, outcome)
}

/// Calls `f(class, confidences p_ik, outcomes 1[y_i = k])` for every class, from one softmax pass
/// stored class-major (each class's column contiguous, so the per-class binning reads memory in
/// order).
fn for_each_class(
    scores: &Scores<'_>,
    t: f64,
    mut f: impl FnMut(usize, &[f64], &[f64]) -> Result<(), CoreError>,
) -> Result<(), CoreError> {
    let (n, classes) = (scores.len(), scores.classes());
    // Blocks of rows, written out column by column (contiguous runs of `BLOCK` values).
    const BLOCK: usize = 64;
    let mut columns = vec![0.0; n * classes];
    let mut block = vec![0.0; BLOCK * classes];
    for start in (0..n).step_by(BLOCK) {
        let rows = BLOCK.min(n - start);
        for r in 0..rows {
            scores.probabilities_at(start + r, t, &mut block[r * classes..(r + 1) * classes]);
        }
        for j in 0..classes {
            let column = &mut columns[j * n + start..j * n + start + rows];
            for (r, c) in column.iter_mut().enumerate() {
                *c = block[r * classes + j];
            }
        }
    }
    let mut outcome = vec![0.0; n];
    for k in 0..classes {
        for (o, &y) in outcome.iter_mut().zip(scores.labels()) {
            *o = f64::from(u8::from(y == k));
        }
        f(k, &columns[k * n..(k + 1) * n], &outcome)?;
    }
    Ok(())
}

/// Accuracy (the share of rows whose label is the first largest logit).
pub fn accuracy(scores: &Scores<'_>) -> f64 {
    let hits = (0..scores.len())
        .filter(|&i| argmax(scores.row(i)) == scores.label(i))
        .count();
    hits as f64 / scores.len() as f64
}

/// Mean NLL `−(1/n) Σ ln p_iy` at temperature `t` (of the probabilities as given at `t = 1`,
/// [`Scores`]' docs).
pub fn nll(scores: &Scores<'_>, t: f64) -> f64 {
    match scores.given_probabilities().filter(|_| t == 1.0) {
        Some(p) => {
            let k = scores.classes();
            let sum: f64 = (0..scores.len())
                .map(|i| -p[i * k + scores.label(i)].ln())
                .sum();
            sum / scores.len() as f64
        }
        None => super::temperature::nll_at(scores, t),
    }
}

/// Brier score summed over classes, `(1/n) Σ_i Σ_k (p_ik − 1[y_i = k])²`, at temperature `t`.
pub fn brier(scores: &Scores<'_>, t: f64) -> f64 {
    let mut p = vec![0.0; scores.classes()];
    let mut sum = 0.0;
    for i in 0..scores.len() {
        scores.probabilities_at(i, t, &mut p);
        sum += brier_term(&p, scores.label(i));
    }
    sum / scores.len() as f64
}

/// One row's Brier term `Σ_k (p_k − 1[k = y])²`.
fn brier_term(p: &[f64], y: usize) -> f64 {
    p.iter()
        .enumerate()
        .map(|(k, &pk)| (pk - f64::from(u8::from(k == y))).powi(2))
        .sum()
}

/// Class-wise ECE (Kull et al. 2019's SCE): `(1/K) Σ_k Σ_b (n_bk/n)|acc_bk − conf_bk|`, each
/// class's probabilities binned by `binning`.
pub fn classwise_calibration_error(
    scores: &Scores<'_>,
    t: f64,
    binning: &Binning,
) -> Result<f64, CoreError> {
    let classes = scores.classes();
    if let Binning::EqualWidth { bins, edges } = *binning {
        // Equal width: every class's bins filled in one pass over the rows (no class-major copy).
        binning.check()?;
        let e = EqualWidthEdges::new(bins, edges);
        let width = bins + 1;
        let mut sums = vec![(0usize, 0.0, 0.0); classes * width];
        let mut p = vec![0.0; classes];
        for i in 0..scores.len() {
            scores.probabilities_at(i, t, &mut p);
            let y = scores.label(i);
            for (j, &pj) in p.iter().enumerate() {
                if let Some(b) = e.bin(pj) {
                    let s = &mut sums[j * width + b];
                    s.0 += 1;
                    s.1 += pj;
                    s.2 += f64::from(u8::from(j == y));
                }
            }
        }
        let n = scores.len();
        let total: f64 = sums
            .chunks_exact(width)
            .map(|class| {
                let r = Reliability {
                    samples: n,
                    bins: class
                        .iter()
                        .map(|&(count, c, o)| BinStat {
                            count,
                            confidence: c / count as f64,
                            accuracy: o / count as f64,
                        })
                        .collect(),
                };
                calibration_error(&r, Norm::L1)
            })
            .sum();
        return Ok(total / classes as f64);
    }
    let mut sum = 0.0;
    for_each_class(scores, t, |_, c, o| {
        sum += calibration_error(&reliability(c, o, binning)?, Norm::L1);
        Ok(())
    })?;
    Ok(sum / classes as f64)
}

/// Nixon et al. 2019's adaptive calibration error: `ranges` equal-mass ranges per class (ties
/// kept together), the mean of `|acc − conf|` over every (class, range).
pub fn adaptive_calibration_error(
    scores: &Scores<'_>,
    t: f64,
    ranges: usize,
) -> Result<f64, CoreError> {
    let binning = Binning::EqualMass { bins: ranges };
    let (mut sum, mut count) = (0.0, 0usize);
    for_each_class(scores, t, |_, c, o| {
        let r = reliability(c, o, &binning)?;
        for b in r.bins.iter().filter(|b| b.count > 0) {
            sum += (b.accuracy - b.confidence).abs();
            count += 1;
        }
        Ok(())
    })?;
    Ok(sum / count as f64)
}

/// netcal's clipping of confidences to `[ε, 1 − ε]` (`ε` = `f64::EPSILON`, as
/// `np.finfo(float).eps`) before binning.
pub fn netcal_clip(conf: &[f64]) -> Vec<f64> {
    conf.iter()
        .map(|&c| c.clamp(f64::EPSILON, 1.0 - f64::EPSILON))
        .collect()
}

/// The calibration error in `norm` of `conf` and `outcome` for each number of bins in `bins`,
/// binned by `binning(M)` — the "ECE against the number of bins" curve.
///
/// Errors: as [`reliability`].
pub fn calibration_error_by_bins(
    conf: &[f64],
    outcome: &[f64],
    bins: &[usize],
    norm: Norm,
    binning: impl Fn(usize) -> Binning,
) -> Result<Vec<f64>, CoreError> {
    bins.iter()
        .map(|&m| {
            Ok(calibration_error(
                &reliability(conf, outcome, &binning(m))?,
                norm,
            ))
        })
        .collect()
}

/// Every metric of `scores` at temperature `t`, top-label bins and class-wise ECE by `binning`,
/// Nixon's adaptive CE with `binning.bins()` ranges per class.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricReport {
    /// Accuracy.
    pub accuracy: f64,
    /// Mean NLL.
    pub nll: f64,
    /// Brier score summed over classes (in `[0, 2]`).
    pub brier: f64,
    /// Brier score divided by the number of classes (the per-class variant).
    pub brier_per_class: f64,
    /// Top-label ECE.
    pub ece: f64,
    /// Top-label MCE.
    pub mce: f64,
    /// Top-label RMS calibration error.
    pub rms: f64,
    /// netcal's ACE (unweighted mean over non-empty bins).
    pub ace: f64,
    /// Nixon et al.'s adaptive calibration error.
    pub adaptive_ce: f64,
    /// Class-wise ECE.
    pub classwise_ece: f64,
    /// Kumar et al.'s debiased L2 calibration error, top-label, under the same binning.
    pub debiased_l2: f64,
    /// The binary convention (two classes only): confidence `p(y = 1)`, outcome `y`.
    pub binary: Option<BinaryErrors>,
    /// The top-label reliability diagram.
    pub reliability: Reliability,
}

/// Calibration errors of the binary convention (torchmetrics' `binary_calibration_error`, netcal
/// on 1-D input): `p(y = 1)` against `1[y = 1]`, under the report's binning.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BinaryErrors {
    /// ECE.
    pub ece: f64,
    /// MCE.
    pub mce: f64,
    /// RMS calibration error.
    pub rms: f64,
}

/// The binary convention's errors of two-class `scores` at `t` (`None` for more classes).
///
/// Errors: as [`reliability`].
pub fn binary_errors(
    scores: &Scores<'_>,
    t: f64,
    binning: &Binning,
) -> Result<Option<BinaryErrors>, CoreError> {
    if scores.classes() != 2 {
        return Ok(None);
    }
    let p = probabilities(scores, t);
    let (conf, outcome) = class_scores(scores, &p, 1);
    let r = reliability(&conf, &outcome, binning)?;
    Ok(Some(BinaryErrors {
        ece: calibration_error(&r, Norm::L1),
        mce: calibration_error(&r, Norm::Max),
        rms: calibration_error(&r, Norm::L2),
    }))
}

/// The [`MetricReport`] of `scores` at `t`. Errors: as [`reliability`], and
/// [`super::check_temperature`] for `t`.
pub fn metric_report(
    scores: &Scores<'_>,
    t: f64,
    binning: &Binning,
) -> Result<MetricReport, CoreError> {
    super::check_temperature(t)?;
    let pass = top_label_pass(scores, t);
    let r = reliability(&pass.conf, &pass.correct, binning)?;
    let brier = pass.brier;
    Ok(MetricReport {
        accuracy: pass.correct.iter().sum::<f64>() / scores.len() as f64,
        nll: pass.nll,
        brier,
        brier_per_class: brier / scores.classes() as f64,
        ece: calibration_error(&r, Norm::L1),
        mce: calibration_error(&r, Norm::Max),
        rms: calibration_error(&r, Norm::L2),
        ace: average_calibration_error(&r),
        adaptive_ce: adaptive_calibration_error(scores, t, binning.bins())?,
        classwise_ece: classwise_calibration_error(scores, t, binning)?,
        debiased_l2: debiased_calibration_error(&r),
        binary: binary_errors(scores, t, binning)?,
        reliability: r,
    })
}
