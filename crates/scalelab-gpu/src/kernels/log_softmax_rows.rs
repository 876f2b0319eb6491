//! Row-wise log-softmax on the GPU (`log_softmax_rows.wgsl`).

use crate::context::GpuContext;
use crate::error::GpuError;
use crate::kernels::KernelSource;
use crate::launch::run_row_kernel;

/// The `log_softmax_rows` kernel.
pub const SOURCE: KernelSource = KernelSource {
    name: "log_softmax_rows",
    wgsl: include_str!("log_softmax_rows.wgsl"),
    overrides: &[("workgroup_size", &[64.0, 256.0])],
};

/// Row-wise log-softmax of a row-major matrix with `cols` columns, in f32:
/// `y[r, c] = (x[r, c] − m_r) − ln Σ_k exp(x[r, k] − m_r)` with `m_r = max_k x[r, k]`.
///
/// Finite for every finite input, also where the softmax itself underflows to 0. Matches
/// `scalelab_core::ops::cross_entropy::log_softmax_rows` (f64) on the same (f32-rounded) inputs
/// to within about `1e-5 + 1e-6·|y|` (the rounding of `x − m_r` and of the f32 sum).
///
/// # Errors
/// As [`crate::softmax_rows`].
pub async fn log_softmax_rows(
    ctx: &GpuContext,
    data: &[f32],
    cols: usize,
) -> Result<Vec<f32>, GpuError> {
    run_row_kernel(ctx, &SOURCE, data, cols).await
}
