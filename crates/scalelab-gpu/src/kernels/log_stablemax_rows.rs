//! Row-wise log-StableMax on the GPU (`log_stablemax_rows.wgsl`).

use crate::context::GpuContext;
use crate::error::GpuError;
use crate::kernels::KernelSource;
use crate::launch::run_row_kernel;

/// The `log_stablemax_rows` kernel.
pub const SOURCE: KernelSource = KernelSource {
    name: "log_stablemax_rows",
    wgsl: include_str!("log_stablemax_rows.wgsl"),
    overrides: &[("workgroup_size", &[64.0, 256.0])],
};

/// Row-wise log-StableMax of a row-major matrix with `cols` columns, in f32, stable form:
/// `y[r, c] = (ln s(x[r, c]) − ln s(M_r)) − ln Σ_k s(x[r, k])/s(M_r)` with `M_r = max_k x[r, k]`,
/// `s(x) = x + 1` (`x ≥ 0`), `1/(1 − x)` (`x < 0`) and `ln s` through a `log1p` (Prieto et al.
/// 2025; the reference code's `log(s / Σ s)` gives `−inf` where the ratio underflows, this does
/// not).
///
/// Matches `scalelab_core::ops::cross_entropy::log_stablemax_rows` (f64) on the same
/// (f32-rounded) inputs to within about `1e-5 + 1e-6·|y|`.
///
/// # Errors
/// As [`crate::softmax_rows`].
pub async fn log_stablemax_rows(
    ctx: &GpuContext,
    data: &[f32],
    cols: usize,
) -> Result<Vec<f32>, GpuError> {
    run_row_kernel(ctx, &SOURCE, data, cols).await
}
