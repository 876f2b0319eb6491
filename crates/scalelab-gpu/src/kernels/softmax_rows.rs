//! Row-wise softmax on the GPU (`softmax_rows.wgsl`).

use crate::context::GpuContext;
use crate::error::GpuError;
use crate::kernels::KernelSource;
use crate::launch::run_row_kernel;

/// The `softmax_rows` kernel.
pub const SOURCE: KernelSource = KernelSource {
    name: "softmax_rows",
    wgsl: include_str!("softmax_rows.wgsl"),
    overrides: &[("workgroup_size", &[64.0, 256.0])],
};

/// Row-wise softmax of a row-major matrix with `cols` columns, in f32:
/// `y[r, c] = exp(x[r, c] - m_r) / Σ_k exp(x[r, k] - m_r)` with `m_r = max_k x[r, k]`.
///
/// Matches `scalelab_core::ops::softmax_rows` (f64) on the same (f32-rounded) inputs to within
/// about 1e-6 absolute per probability (see [`crate::PROBE_TOLERANCE`]).
///
/// # Errors
/// [`GpuError::InvalidInput`] if `cols == 0`, `data.len()` is not a multiple of `cols`, or a value
/// is not finite; [`GpuError::TooLarge`] if the matrix exceeds the device limits (checked before
/// any GPU work); [`GpuError::Validation`], [`GpuError::Readback`] or [`GpuError::DeviceLost`] if
/// the GPU fails. An empty `data` (0 rows) returns an empty vector without touching the GPU.
pub async fn softmax_rows(
    ctx: &GpuContext,
    data: &[f32],
    cols: usize,
) -> Result<Vec<f32>, GpuError> {
    run_row_kernel(ctx, &SOURCE, data, cols).await
}
