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
    /// `binned_statistic`, netcal).
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
    /// scikit-learn's `calibration_curve(strategy="uniform")`: edges `numpy.linspace(0, 1, M+1)`
    /// (`m·(1/M)`), a confidence's bin the number of inner edges strictly below it
    /// (`searchsorted(edges[1:-1], c)`): `(lo, hi]`, with a confidence of 0 in the first bin.
    SklearnUniform {
        /// Number of bins `M`.
        bins: usize,
    },
    /// `calibration_curve(strategy="quantile")`: edges the `m·(1/M)`-quantiles of the confidences
    /// (numpy's `percentile`, linear interpolation), then the same rule as
    /// [`Binning::SklearnUniform`]; tied confidences stay together, so bins can be empty.
    SklearnQuantile {
        /// Number of bins `M`.
        bins: usize,
    },
    /// The equal-mass bins of Kumar et al.'s `uncertainty-calibration` package
    /// (`calibration.utils.get_equal_bins`): the sorted confidences split as `numpy.array_split`
    /// (the first `n mod M` parts one longer), each upper edge the midpoint between a part's last
    /// and the next part's first value, the last edge 1, duplicates merged; a confidence's bin the
    /// number of edges strictly below it (`(lo, hi]`, 0 in the first bin).
    EqualMassMidpoints {
        /// Number of bins `M` asked for (at most `n`; fewer when edges coincide).
        bins: usize,
    },
}

impl Binning {
    /// Number of bins asked for.
    pub fn bins(&self) -> usize {
        match *self {
            Binning::EqualWidth { bins, .. }
            | Binning::EqualMass { bins }
            | Binning::SklearnUniform { bins }
            | Binning::SklearnQuantile { bins }
            | Binning::EqualMassMidpoints { bins } => bins,
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
                {
                    let e = EqualWidthEdges::new(bins, edges);
                    conf.iter().map(|&c| e.bin(c)).collect()
                },
                bins + usize::from(edges == EdgeConvention::LowerClosedExtraBin),
            )),
            Binning::EqualMass { bins } => Ok(equal_mass(conf, bins)),
            Binning::SklearnUniform { bins } => Ok(by_inner_edges(conf, &linspace_edges(bins))),
            Binning::SklearnQuantile { bins } => {
                Ok(by_inner_edges(conf, &quantile_edges(conf, bins)))
            }
            Binning::EqualMassMidpoints { bins } => {
                let upper = midpoint_edges(conf, bins);
                Ok((
                    conf.iter()
                        .map(|&c| Some(upper.partition_point(|&e| e < c)))
                        .collect(),
                    upper.len(),
                ))
            }
        }
    }

    /// The bin edges where they do not depend on sample order (all but equal mass):
    /// `M + 1` values from 0 to 1 (quantiles: from the smallest to the largest confidence).
    pub fn edges(&self, conf: &[f64]) -> Option<Vec<f64>> {
        match *self {
            Binning::EqualWidth { bins, .. } => {
                Some((0..=bins).map(|m| m as f64 / bins as f64).collect())
            }
            Binning::EqualMass { .. } => None,
            Binning::EqualMassMidpoints { bins } => {
                let mut e = vec![0.0];
                e.extend(midpoint_edges(conf, bins));
                Some(e)
            }
            Binning::SklearnUniform { bins } => Some(linspace_edges(bins)),
            Binning::SklearnQuantile { bins } => Some(quantile_edges(conf, bins)),
        }
    }
}

/// The upper edges of [`Binning::EqualMassMidpoints`].
fn midpoint_edges(conf: &[f64], m: usize) -> Vec<f64> {
    let mut sorted = conf.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let m = m.min(n);
    let (base, extra) = (n / m, n % m);
    let mut edges = Vec::with_capacity(m);
    let mut start = 0;
    for part in 0..m - 1 {
        let end = start + base + usize::from(part < extra);
        edges.push((sorted[end - 1] + sorted[end]) / 2.0);
        start = end;
    }
    edges.push(1.0);
    edges.sort_by(f64::total_cmp);
    edges.dedup();
    edges
}

/// `numpy.linspace(0, 1, m + 1)`: `i·(1/m)`, the last exactly 1.
fn linspace_edges(m: usize) -> Vec<f64> {
    let step = 1.0 / m as f64;
    let mut e: Vec<f64> = (0..=m).map(|i| i as f64 * step).collect();
    e[m] = 1.0;
    e
}

/// `numpy.percentile(conf, linspace(0, 1, m + 1) · 100)` with numpy's linear method: quantile
/// `q`, virtual index `(n − 1)·q`, and numpy's `_lerp` (`a + (b − a)·g`, or `b − (b − a)(1 − g)`
/// for `g ≥ 0.5`).
fn quantile_edges(conf: &[f64], m: usize) -> Vec<f64> {
    let mut sorted = conf.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    linspace_edges(m)
        .into_iter()
        .map(|q| {
            let q = (q * 100.0) / 100.0;
            let virtual_index = (n - 1) as f64 * q;
            if virtual_index >= (n - 1) as f64 {
                return sorted[n - 1];
            }
            let lo = virtual_index.floor();
            let g = virtual_index - lo;
            let (a, b) = (sorted[lo as usize], sorted[lo as usize + 1]);
            let d = b - a;
            if g >= 0.5 {
                b - d * (1.0 - g)
            } else {
                a + d * g
            }
        })
        .collect()
}

/// Each confidence's bin as `searchsorted(edges[1:-1], c, side="left")`.
fn by_inner_edges(conf: &[f64], edges: &[f64]) -> (Vec<Option<usize>>, usize) {
    let inner = &edges[1..edges.len() - 1];
    (
        conf.iter()
            .map(|&c| Some(inner.partition_point(|&e| e < c)))
            .collect(),
        edges.len() - 1,
    )
}

/// The bin of `c` among `m` equal-width bins under `edges`.
pub fn equal_width(c: f64, m: usize, edges: EdgeConvention) -> Option<usize> {
    EqualWidthEdges::new(m, edges).bin(c)
}

/// `m` equal-width bins with their edges `e_k = k/m` computed once (for binning many values).
#[derive(Debug, Clone, PartialEq)]
pub struct EqualWidthEdges {
    edges: Vec<f64>,
    convention: EdgeConvention,
}

impl EqualWidthEdges {
    /// The edges of `m ≥ 1` bins.
    pub fn new(m: usize, convention: EdgeConvention) -> Self {
        EqualWidthEdges {
            edges: (0..=m).map(|k| k as f64 / m as f64).collect(),
            convention,
        }
    }

    /// The bin of `c` (in `[0, 1]`).
    #[inline]
    pub fn bin(&self, c: f64) -> Option<usize> {
        let m = self.edges.len() - 1;
        let edge = |k: usize| self.edges[k];
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
        match self.convention {
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
