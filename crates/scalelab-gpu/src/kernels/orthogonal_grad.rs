//! The ⊥Grad (OrthoGrad) gradient projection on the GPU (`orthogonal_grad.wgsl`).

use crate::context::GpuContext;
use crate::error::GpuError;
use crate::kernels::KernelSource;
use crate::launch::{check_finite, run_kernel, KernelLaunch};
use crate::limits::check_buffer;

/// The `orthogonal_grad` kernel.
pub const SOURCE: KernelSource = KernelSource {
    name: "orthogonal_grad",
    wgsl: include_str!("orthogonal_grad.wgsl"),
    overrides: &[("workgroup_size", &[64.0, 256.0])],
};

/// Per-dispatch sizes, uploaded as a uniform (`struct OrthogonalGradParams` in the WGSL).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct OrthogonalGradParams {
    /// Number of tensors (one workgroup each).
    pub tensors: u32,
    /// Total number of values in `w` (and `g`).
    pub len: u32,
    /// 1: rescale each projected tensor to its original norm; 0: plain projection.
    pub rescale: u32,
    /// Padding to the 16-byte size of a uniform struct.
    pub pad0: u32,
}

/// The ⊥Grad projection, per tensor, in f32 (Prieto et al. 2025, Def. 7; reference
/// `orthograd.py`): for each tensor `k` with weights `w` and gradient `g` (flattened),
/// `g⊥ = g − (w·g / (w·w + 1e-30)) w`, and with `rescale` also `g⊥ ← g⊥ · ‖g‖ / (‖g⊥‖ + 1e-30)`
/// (the reference code rescales, the paper does not).
///
/// `w` and `g` hold the tensors back to back; `lengths[k]` is the size of tensor `k` (empty
/// tensors are allowed). One workgroup per tensor, so a single huge tensor runs on one
/// workgroup. Dot products are f32 sums: `w·w` overflows for ‖w‖ ≳ 1.8e19. When `g ∥ w` the
/// rescale amplifies round-off to norm ‖g‖, as in the reference (science.md §1.2). Matches
/// `scalelab_core::ops::optim::orthogonal_grad` on the same (f32-rounded) inputs to about
/// `1e-5·(1 + |g⊥|)` for well-conditioned input (g not nearly parallel to w).
///
/// # Errors
/// [`GpuError::InvalidInput`] if `g.len() ≠ w.len()`, `Σ lengths ≠ w.len()` (`what =
/// "lengths"`) or a value is not finite; [`GpuError::TooLarge`] if a buffer exceeds the device
/// limits or there are more tensors than a 2-D grid of workgroups holds (checked before any GPU
/// work); GPU failures as [`crate::softmax_rows`]. An empty `w` returns an empty vector without
/// GPU work.
pub async fn orthogonal_grad(
    ctx: &GpuContext,
    w: &[f32],
    g: &[f32],
    lengths: &[usize],
    rescale: bool,
) -> Result<Vec<f32>, GpuError> {
    if g.len() != w.len() {
        return Err(GpuError::InvalidInput {
            what: "g",
            reason: format!(
                "length {} differs from w's {}; give one gradient value per weight",
                g.len(),
                w.len()
            ),
        });
    }
    let total = lengths
        .iter()
        .try_fold(0usize, |acc, &n| acc.checked_add(n));
    if total != Some(w.len()) {
        return Err(GpuError::InvalidInput {
            what: "lengths",
            reason: format!(
                "the tensor lengths add up to {}, but w has {} values; give each tensor's size",
                total.map_or_else(|| "more than usize::MAX".to_owned(), |t| t.to_string()),
                w.len()
            ),
        });
    }
    check_finite("w", w)?;
    check_finite("g", g)?;
    if w.is_empty() {
        return Ok(Vec::new());
    }
    let limits = ctx.limits();
    check_buffer(&limits, "data bytes", w.len() as u128)?;
    check_buffer(&limits, "offsets bytes", lengths.len() as u128 + 1)?;
    let max_groups = u64::from(limits.max_compute_workgroups_per_dimension);
    let tensors = lengths.len() as u64;
    if tensors > max_groups * max_groups {
        return Err(GpuError::TooLarge {
            what: "tensors",
            requested: tensors,
            limit: max_groups * max_groups,
        });
    }
    let largest = lengths.iter().copied().max().unwrap_or(0);
    let preferred = if largest <= 64 { 64 } else { 256 };
    // A vec4<f32> of shared memory per invocation.
    let workgroup_size = preferred
        .min(limits.max_compute_invocations_per_workgroup)
        .min(limits.max_compute_workgroup_size_x)
        .min(limits.max_compute_workgroup_storage_size / 16);
    if workgroup_size == 0 {
        return Err(GpuError::TooLarge {
            what: "workgroup size",
            requested: 1,
            limit: 0,
        });
    }
    let groups_x = tensors.min(max_groups);
    let groups_y = tensors.div_ceil(groups_x);
    // Offsets fit in u32: the total was checked against u32::MAX elements above.
    let mut offsets = Vec::with_capacity(lengths.len() + 1);
    let mut acc = 0u32;
    offsets.push(acc);
    for &n in lengths {
        acc += n as u32;
        offsets.push(acc);
    }
    let params = OrthogonalGradParams {
        tensors: tensors as u32,
        len: w.len() as u32,
        rescale: u32::from(rescale),
        pad0: 0,
    };
    // Offsets travel bit for bit through an f32 slice; the kernel reads them as `array<u32>`.
    let offsets_bits: &[f32] = bytemuck::cast_slice(&offsets);
    run_kernel(
        ctx,
        KernelLaunch {
            kernel: &SOURCE,
            constant: ("workgroup_size", workgroup_size),
            params: bytemuck::bytes_of(&params),
            inputs: &[w, g, offsets_bits],
            output_len: w.len(),
            workgroups: [groups_x as u32, groups_y as u32, 1],
        },
    )
    .await
}
