//! CPU oracles of the GPU kernels in `scalelab-gpu`: the same maps in `f64` over a row-major
//! batch, against which the `f32` kernels are tested.
//!
//! Layout: `data[r * n_cols + c]` is column `c` of row `r`; the output has the same layout.
//! Zero rows are allowed (empty in, empty out); `n_cols == 0` is an error.

pub mod cross_entropy;
pub mod elementwise;
pub mod gmm;
pub mod matmul;
pub mod optim;
pub mod reduce;

use crate::stablemax;
use crate::CoreError;

/// Applies `row_map` to every row and concatenates the results.
fn map_rows(
    data: &[f64],
    n_cols: usize,
    row_map: fn(&[f64]) -> Result<Vec<f64>, CoreError>,
) -> Result<Vec<f64>, CoreError> {
    CoreError::check_rows("data", data, n_cols)?;
    let mut out = Vec::with_capacity(data.len());
    for row in data.chunks_exact(n_cols) {
        out.extend(row_map(row)?);
    }
    Ok(out)
}

/// Row-wise softmax, oracle of the `softmax_rows` kernel:
/// `out[r,c] = e^{x[r,c] − m_r} / Σ_k e^{x[r,k] − m_r}`, `m_r = max_k x[r,k]`
/// (see [`stablemax::softmax`]).
///
/// Errors: `n_cols == 0` (`InvalidValue`), `data.len()` not a multiple of `n_cols`
/// (`DimensionMismatch`), NaN/±inf (`NonFinite`, flat index).
pub fn softmax_rows(data: &[f64], n_cols: usize) -> Result<Vec<f64>, CoreError> {
    map_rows(data, n_cols, stablemax::softmax)
}

/// Row-wise StableMax, oracle of the `stablemax_rows` kernel:
/// `out[r,c] = s(x[r,c]) / Σ_k s(x[r,k])` (see [`stablemax::stablemax`]).
///
/// Errors: as [`softmax_rows`], plus `OutOfRange` if a row's `Σ s` overflows `f64`.
pub fn stablemax_rows(data: &[f64], n_cols: usize) -> Result<Vec<f64>, CoreError> {
    map_rows(data, n_cols, stablemax::stablemax)
}
