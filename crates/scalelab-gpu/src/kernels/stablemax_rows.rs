//! Row-wise StableMax on the GPU (`stablemax_rows.wgsl`).

use crate::context::GpuContext;
use crate::error::GpuError;
use crate::kernels::KernelSource;
use crate::launch::run_row_kernel;

/// The `stablemax_rows` kernel.
pub const SOURCE: KernelSource = KernelSource {
    name: "stablemax_rows",
    wgsl: include_str!("stablemax_rows.wgsl"),
    overrides: &[("workgroup_size", &[64.0, 256.0])],
};

/// Row-wise StableMax of a row-major matrix with `cols` columns, in f32:
/// `y[r, c] = s(x[r, c]) / Σ_k s(x[r, k])` with `s(x) = x + 1` for `x ≥ 0` and `1 / (1 - x)` for
/// `x < 0` (Prieto et al. 2025). The kernel divides every `s` by the row maximum of `s` first,
/// which leaves the ratios unchanged and keeps the f32 sum finite for any finite input.
///
/// Matches `scalelab_core::ops::stablemax_rows` (f64) on the same (f32-rounded) inputs to within
/// about 1e-6 absolute per probability (see [`crate::PROBE_TOLERANCE`]). Rows whose values are
/// all below about -1e37 make every `s` subnormal, which some GPUs flush to zero (output NaN).
///
/// # Errors
/// As [`crate::softmax_rows`].
pub async fn stablemax_rows(
    ctx: &GpuContext,
    data: &[f32],
    cols: usize,
) -> Result<Vec<f32>, GpuError> {
    run_row_kernel(ctx, &SOURCE, data, cols).await
}
