//! How each library puts a confidence into a bin — the choices that silently change an ECE.
//!
//! Equal-width edges are `e_m = m/M` (correctly rounded). numpy's `linspace` and torch's compute
//! `m·(1/M)`, which can differ from `m/M` in the last bit; a confidence equal to an edge to the
//! last bit can then land in the neighbouring bin in that library.

use crate::CoreError;

/// Largest number of bins.
pub const MAX_BINS: usize = 100_000;

/// Which side of an equal-width bin is closed.
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
pub enum EdgeConvention {
    /// `(lo, hi]` (Guo et al. 2017, gpleiss/temperature_scaling, markus93/NN_calibration): a
    /// confidence of exactly 0 is in no bin (it still counts in `n`).
    UpperClosed,
    /// `[lo, hi)`, and a confidence of exactly 1 in an extra `(M+1)`-th bin of its own
    /// (torchmetrics' `torch.bucketize(…, right=True) − 1`).
    LowerClosedExtraBin,
    /// `[lo, hi)` with the last bin `[lo, 1]` closed (numpy's `histogram`, scipy's
    /// `binned_statistic`, netcal, scikit-learn's `calibration_curve`).
    LowerClosed,
}

/// A binning of confidences in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Binning {
    /// `bins` bins of width `1/bins`.
    EqualWidth {
        /// Number of bins `M`.
        bins: usize,
        /// Which side of each bin is closed.
        edges: EdgeConvention,
    },
    /// About `bins` bins of about `n/bins` confidences each, sorted; a run of equal confidences
    /// is never split, so ties can merge bins (fewer than `bins` then).
    EqualMass {
        /// Number of bins asked for.
        bins: usize,
    },
}

impl Binning {
    /// Number of bins asked for.
    pub fn bins(&self) -> usize {
        match *self {
            Binning::EqualWidth { bins, .. } | Binning::EqualMass { bins } => bins,
        }
    }

    /// Errors: [`CoreError::OutOfRange`] for a number of bins outside `1 ..= MAX_BINS`.
    pub fn check(&self) -> Result<(), CoreError> {
        let bins = self.bins();
        if bins == 0 || bins > MAX_BINS {
            return Err(CoreError::OutOfRange {
                what: "number of bins",
                value: bins as f64,
                min: 1.0,
                max: MAX_BINS as f64,
            });
        }
        Ok(())
    }

    /// Each confidence's bin (`None`: in no bin), and the number of bins. Confidences must be in
    /// `[0, 1]` (checked by the metrics).
    pub fn assign(&self, conf: &[f64]) -> Result<(Vec<Option<usize>>, usize), CoreError> {
        self.check()?;
        match *self {
            Binning::EqualWidth { bins, edges } => Ok((
                conf.iter().map(|&c| equal_width(c, bins, edges)).collect(),
                bins + usize::from(edges == EdgeConvention::LowerClosedExtraBin),
            )),
            Binning::EqualMass { bins } => Ok(equal_mass(conf, bins)),
        }
    }
}

/// The bin of `c` among `m` equal-width bins under `edges`.
pub fn equal_width(c: f64, m: usize, edges: EdgeConvention) -> Option<usize> {
    let edge = |k: usize| k as f64 / m as f64;
    // Number of edges e_1 … e_{m−1} strictly below / at most c.
    let mut k = ((c * m as f64).floor() as usize).min(m);
    // Correct the float estimate against the exact edges.
    while k > 0 && edge(k) > c {
        k -= 1;
    }
    while k < m && edge(k + 1) <= c {
        k += 1;
    }
    // Now edge(k) ≤ c < edge(k+1) (k = m when c ≥ 1).
    match edges {
        EdgeConvention::LowerClosedExtraBin => Some(k),
        EdgeConvention::LowerClosed => Some(k.min(m - 1)),
        EdgeConvention::UpperClosed => {
            if c <= 0.0 {
                None
            } else if edge(k) == c {
                Some(k - 1)
            } else {
                Some(k.min(m - 1))
            }
        }
    }
}

/// Equal-mass bins over `conf` (sorted, ties kept together): boundaries at ranks
/// `round(j·n/M)`, each moved to the end of the run of equal confidences it falls in.
fn equal_mass(conf: &[f64], m: usize) -> (Vec<Option<usize>>, usize) {
    let n = conf.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| conf[a].total_cmp(&conf[b]));
    let mut out = vec![None; n];
    let mut bin = 0;
    let mut start = 0;
    for j in 1..=m {
        let mut end = ((j as f64 * n as f64 / m as f64).round() as usize).clamp(start, n);
        while end < n && end > 0 && conf[order[end]] == conf[order[end - 1]] {
            end += 1;
        }
        if end > start {
            for &i in &order[start..end] {
                out[i] = Some(bin);
            }
            bin += 1;
            start = end;
        }
    }
    (out, bin)
}
