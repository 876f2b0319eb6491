//! CPU oracles of the log-probability and cross-entropy kernels (`log_softmax_rows`,
//! `log_stablemax_rows`, `cross_entropy_rows` in `scalelab-gpu`), in `f64`.
//!
//! Layout as in [`crate::ops`]: row-major logits `z[r * n_cols + c]`, one integer label per row.
//! Formulas (science.md §1.1; see [`crate::stablemax`] for the per-row functions reused here):
//! - `ln softmax(z)_i = (z_i − m) − ln Σ_j e^{z_j − m}`, `m = max_j z_j`;
//! - `ln StableMax(z)_i = ln s(z_i) − ln s_max − ln Σ_j s(z_j)/s_max`, with
//!   `s(x) = x + 1` (`x ≥ 0`), `1/(1 − x)` (`x < 0`) and `s_max = max_j s(z_j)`;
//! - loss `L = −ln p_y`; gradient w.r.t. the logits: softmax `p_i − 1{i=y}`, StableMax
//!   `s'(z_i)/Σ_j s(z_j) − 1{i=y} s'(z_y)/s(z_y)` with `s'(x) = 1` (`x ≥ 0`), `1/(1 − x)²` (`x < 0`).

use crate::stablemax::{self, Loss};
use crate::CoreError;

use super::map_rows;

/// Row-wise log-softmax, oracle of the `log_softmax_rows` kernel:
/// `out[r,c] = (x[r,c] − m_r) − ln Σ_k e^{x[r,k] − m_r}`, `m_r = max_k x[r,k]`
/// (see [`stablemax::log_softmax`]).
///
/// Errors: `n_cols == 0` (`InvalidValue`), `data.len()` not a multiple of `n_cols`
/// (`DimensionMismatch`), NaN/±inf (`NonFinite`, flat index).
pub fn log_softmax_rows(data: &[f64], n_cols: usize) -> Result<Vec<f64>, CoreError> {
    map_rows(data, n_cols, stablemax::log_softmax)
}

/// Row-wise log-StableMax, oracle of the `log_stablemax_rows` kernel, in the stable form
/// `out[r,c] = ln s(x[r,c]) − ln s_max,r − ln Σ_k s(x[r,k])/s_max,r` (see
/// [`stablemax::log_stablemax`]); finite for every finite input, unlike the reference code's
/// `log(s / Σ s)`.
///
/// Errors: as [`log_softmax_rows`].
pub fn log_stablemax_rows(data: &[f64], n_cols: usize) -> Result<Vec<f64>, CoreError> {
    map_rows(data, n_cols, stablemax::log_stablemax)
}

/// Per-row losses and the gradient w.r.t. the logits, the result of [`cross_entropy_rows`].
#[derive(Debug, Clone, PartialEq)]
pub struct CrossEntropyRows {
    /// `loss[r] = −ln p_{r, y_r}` (one per row).
    pub loss: Vec<f64>,
    /// `grad[r * n_cols + i] = ∂loss[r]/∂z[r, i]` (same layout as the logits).
    pub grad: Vec<f64>,
}

/// Per-row cross-entropy and its gradient w.r.t. the logits, oracle of `cross_entropy_rows`.
///
/// - [`Loss::Softmax`]: `loss = −ln softmax(z)_y` (log-sum-exp form), `grad_i = p_i − 1{i=y}`.
/// - [`Loss::StableMax`]: `loss = −ln StableMax(z)_y` in the stable form of
///   [`stablemax::log_stablemax`] (finite where the reference `−log(s_y/Σ s)` underflows to
///   `+inf`), `grad_i = s'(z_i)/Σ_j s(z_j) − 1{i=y} s'(z_y)/s(z_y)`.
///
/// No reduction over rows: the caller averages (the reference code's `reduction="mean"`).
///
/// Errors: as [`log_softmax_rows`]; `labels.len()` ≠ number of rows (`DimensionMismatch`);
/// a label ≥ `n_cols` (`IndexOutOfRange`, what = `"label"`, the label value as index).
pub fn cross_entropy_rows(
    logits: &[f64],
    n_cols: usize,
    labels: &[u32],
    loss: Loss,
) -> Result<CrossEntropyRows, CoreError> {
    CoreError::check_rows("logits", logits, n_cols)?;
    let rows = logits.len() / n_cols;
    if labels.len() != rows {
        return Err(CoreError::DimensionMismatch {
            what: "labels (one per row of logits)",
            expected: rows,
            got: labels.len(),
        });
    }
    if let Some(&bad) = labels.iter().find(|&&y| y as usize >= n_cols) {
        return Err(CoreError::IndexOutOfRange {
            what: "label",
            index: bad as usize,
            len: n_cols,
        });
    }
    let mut out = CrossEntropyRows {
        loss: Vec::with_capacity(rows),
        grad: Vec::with_capacity(logits.len()),
    };
    for (z, &y) in logits.chunks_exact(n_cols).zip(labels) {
        let y = y as usize;
        let (log_p, grad) = match loss {
            Loss::Softmax => (
                stablemax::log_softmax(z)?,
                stablemax::softmax_cross_entropy_grad(z, y)?,
            ),
            Loss::StableMax => (
                stablemax::log_stablemax(z)?,
                stablemax::stablemax_cross_entropy_grad(z, y)?,
            ),
        };
        out.loss.push(-log_p[y]);
        out.grad.extend(grad);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    /// science.md §7.2–7.3: StableMax([0,1,2]) = [1/6, 1/3, 1/2]; StableMax([5,−5,0]) =
    /// [36/43, 1/43, 6/43]; softmax([0,1,2]) = [0.0900305732, 0.2447284711, 0.6652409558].
    #[test]
    fn log_rows_match_published_values() {
        let ls = log_stablemax_rows(&[0.0, 1.0, 2.0, 5.0, -5.0, 0.0], 3).unwrap();
        let want = [
            1.0 / 6.0,
            1.0 / 3.0,
            0.5,
            36.0 / 43.0,
            1.0 / 43.0,
            6.0 / 43.0,
        ];
        for (got, p) in ls.iter().zip(want) {
            assert!(close(*got, f64::ln(p), 1e-12), "{ls:?}");
        }
        let lsm = log_softmax_rows(&[0.0, 1.0, 2.0], 3).unwrap();
        for (got, p) in lsm.iter().zip([0.0900305732, 0.2447284711, 0.6652409558]) {
            assert!(close(*got, f64::ln(p), 1e-9), "{lsm:?}");
        }
        assert_eq!(log_softmax_rows(&[], 4).unwrap(), Vec::<f64>::new());
    }

    /// science.md §7.2–7.3: −ln p₀ = ln 6 for [0,1,2] and 0.1776811772 for [5,−5,0] (StableMax).
    /// Hand-computed gradients: StableMax [0,1,2], y = 0: Σs = 6, s' = [1,1,1] →
    /// [1/6 − 1, 1/6, 1/6]; [5,−5,0], y = 1: Σs = 43/6, s'(−5) = 1/36, s(−5) = 1/6 →
    /// [6/43, (1/36)(6/43) − 1/6, 6/43]. Softmax [0, ln 3], y = 1: p = [1/4, 3/4] →
    /// loss ln(4/3), grad [1/4, −1/4].
    #[test]
    fn cross_entropy_matches_hand_values() {
        let st = cross_entropy_rows(
            &[0.0, 1.0, 2.0, 5.0, -5.0, 0.0],
            3,
            &[0, 0],
            Loss::StableMax,
        )
        .unwrap();
        assert!(close(st.loss[0], 1.791759469228055, 1e-12));
        assert!(close(st.loss[1], 0.1776811772, 1e-9));
        let st1 = cross_entropy_rows(&[5.0, -5.0, 0.0], 3, &[1], Loss::StableMax).unwrap();
        let want = [
            6.0 / 43.0,
            (1.0 / 36.0) * (6.0 / 43.0) - 1.0 / 6.0,
            6.0 / 43.0,
        ];
        for (g, w) in st1.grad.iter().zip(want) {
            assert!(close(*g, w, 1e-12), "{:?}", st1.grad);
        }
        for (g, w) in st.grad[..3]
            .iter()
            .zip([1.0 / 6.0 - 1.0, 1.0 / 6.0, 1.0 / 6.0])
        {
            assert!(close(*g, w, 1e-12), "{:?}", st.grad);
        }
        let sm = cross_entropy_rows(&[0.0, 3f64.ln()], 2, &[1], Loss::Softmax).unwrap();
        assert!(close(sm.loss[0], (4.0f64 / 3.0).ln(), 1e-12));
        assert!(close(sm.grad[0], 0.25, 1e-12) && close(sm.grad[1], -0.25, 1e-12));
    }

    /// Central differences of the loss agree with the analytic gradient (both losses).
    #[test]
    fn gradient_matches_finite_differences() {
        let z = [0.3, -1.7, 2.2, -0.4, 0.9];
        for loss in [Loss::Softmax, Loss::StableMax] {
            let out = cross_entropy_rows(&z, 5, &[3], loss).unwrap();
            for i in 0..z.len() {
                let h = 1e-6;
                let (mut zp, mut zm) = (z, z);
                zp[i] += h;
                zm[i] -= h;
                let lp = cross_entropy_rows(&zp, 5, &[3], loss).unwrap().loss[0];
                let lm = cross_entropy_rows(&zm, 5, &[3], loss).unwrap().loss[0];
                let fd = (lp - lm) / (2.0 * h);
                assert!(
                    (fd - out.grad[i]).abs() < 1e-7,
                    "{loss:?} {i}: {fd} vs {}",
                    out.grad[i]
                );
            }
        }
    }

    #[test]
    fn invalid_input_is_an_error_not_a_panic() {
        let z = [0.0, 1.0, 2.0, 3.0];
        assert_eq!(
            cross_entropy_rows(&z, 2, &[0], Loss::Softmax)
                .unwrap_err()
                .code(),
            "DimensionMismatch"
        );
        assert_eq!(
            cross_entropy_rows(&z, 2, &[0, 2], Loss::StableMax),
            Err(CoreError::IndexOutOfRange {
                what: "label",
                index: 2,
                len: 2
            })
        );
        assert_eq!(
            cross_entropy_rows(&z, 0, &[], Loss::Softmax)
                .unwrap_err()
                .code(),
            "InvalidValue"
        );
        assert_eq!(
            cross_entropy_rows(&z, 3, &[0], Loss::Softmax)
                .unwrap_err()
                .code(),
            "DimensionMismatch"
        );
        assert_eq!(
            cross_entropy_rows(&[0.0, f64::NAN], 2, &[0], Loss::Softmax)
                .unwrap_err()
                .code(),
            "NonFinite"
        );
        assert_eq!(
            log_stablemax_rows(&z, 0).unwrap_err().code(),
            "InvalidValue"
        );
        let empty = cross_entropy_rows(&[], 3, &[], Loss::StableMax).unwrap();
        assert!(empty.loss.is_empty() && empty.grad.is_empty());
    }
}
