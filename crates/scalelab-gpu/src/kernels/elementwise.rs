//! Elementwise maps for training: axpy, scale, ReLU and the ReLU gradient (`elementwise.wgsl`).

use crate::context::GpuContext;
use crate::error::GpuError;
use crate::kernels::KernelSource;
use crate::launch::{check_finite, run_kernel, KernelLaunch};
use crate::limits::{check_buffer, KernelLimits};

/// The `elementwise` kernel.
pub const SOURCE: KernelSource = KernelSource {
    name: "elementwise",
    wgsl: include_str!("elementwise.wgsl"),
    overrides: &[("workgroup_size", &[64.0, 256.0])],
};

/// One elementwise operation and its f32 operands: the core oracle's operation type at `f32`.
pub type ElementwiseOp<'a> = scalelab_core::ops::elementwise::ElementwiseOp<'a, f32>;

/// Per-dispatch values, uploaded as a uniform (`struct ElementwiseParams` in `elementwise.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ElementwiseParams {
    /// Number of elements.
    pub len: u32,
    /// 0 axpy, 1 scale, 2 relu, 3 relu_grad.
    pub op: u32,
    /// α of axpy and scale (0 otherwise).
    pub alpha: f32,
    /// Padding to the 16-byte size of a uniform struct.
    pub pad0: u32,
}

/// How an [`elementwise`] call will be launched, once the length passed every check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementwisePlan {
    /// The `workgroup_size` override: 64 for at most 64 elements, else 256, capped by the limits.
    pub workgroup_size: u32,
    /// Workgroups along x and y: `ceil(len / workgroup_size)` workgroups folded into a 2-D grid.
    pub workgroups: [u32; 2],
}

/// Checks an elementwise launch over `len ≥ 1` elements against `limits` and plans it, without
/// touching a GPU.
///
/// Errors with [`GpuError::TooLarge`] when a vector exceeds the storage-binding or buffer size
/// or `u32::MAX` elements, or needs more workgroups than a 2-D grid holds.
pub fn plan_elementwise(limits: &KernelLimits, len: usize) -> Result<ElementwisePlan, GpuError> {
    check_buffer(limits, "data bytes", len as u128)?;
    let preferred = if len <= 64 { 64 } else { 256 };
    let workgroup_size = preferred
        .min(limits.max_compute_invocations_per_workgroup)
        .min(limits.max_compute_workgroup_size_x);
    if workgroup_size == 0 {
        return Err(GpuError::TooLarge {
            what: "workgroup size",
            requested: 1,
            limit: 0,
        });
    }
    let groups = (len as u64).div_ceil(u64::from(workgroup_size));
    let max_groups = u64::from(limits.max_compute_workgroups_per_dimension);
    let x = groups.min(max_groups);
    let y = groups.div_ceil(x.max(1));
    if y > max_groups {
        return Err(GpuError::TooLarge {
            what: "elements",
            requested: len as u64,
            limit: max_groups * max_groups * u64::from(workgroup_size),
        });
    }
    Ok(ElementwisePlan {
        workgroup_size,
        // Both ≤ max_compute_workgroups_per_dimension, a u32.
        workgroups: [x as u32, y as u32],
    })
}

/// Applies `op` elementwise in f32 (see [`ElementwiseOp`] for each formula).
///
/// Each output is one or two f32 roundings of the exact value (an FMA may fuse axpy):
/// |out − out*| ≤ 2·2⁻²⁴ (|α·x| + |y|) for axpy, 2⁻²⁴|α·x| for scale, exact for ReLU and its
/// gradient, against `scalelab_core::ops::elementwise::elementwise` on the same inputs.
///
/// # Errors
/// [`GpuError::InvalidInput`] if the two operands of `Axpy`/`ReluGrad` differ in length or a
/// value (or α) is not finite; [`GpuError::TooLarge`] as [`plan_elementwise`]; GPU failures as
/// [`crate::softmax_rows`]. Empty operands return an empty vector without touching the GPU.
pub async fn elementwise(ctx: &GpuContext, op: ElementwiseOp<'_>) -> Result<Vec<f32>, GpuError> {
    let same_len = |what, first: &[f32], second: &[f32], rule: &str| {
        if first.len() == second.len() {
            Ok(())
        } else {
            Err(GpuError::InvalidInput {
                what,
                reason: format!(
                    "length {} differs from {rule} length {}; pass vectors of one length",
                    second.len(),
                    first.len()
                ),
            })
        }
    };
    let (code, alpha, first, second): (u32, f32, &[f32], &[f32]) = match op {
        ElementwiseOp::Axpy { alpha, x, y } => {
            same_len("y", x, y, "the x")?;
            (0, alpha, x, y)
        }
        ElementwiseOp::Scale { alpha, x } => (1, alpha, x, &[]),
        ElementwiseOp::Relu { x } => (2, 0.0, x, &[]),
        ElementwiseOp::ReluGrad { grad, x } => {
            same_len("x", grad, x, "the grad")?;
            (3, 0.0, grad, x)
        }
    };
    check_finite("alpha", &[alpha])?;
    check_finite(if code == 3 { "grad" } else { "x" }, first)?;
    check_finite(if code == 3 { "x" } else { "y" }, second)?;
    if first.is_empty() {
        return Ok(Vec::new());
    }
    let plan = plan_elementwise(&ctx.limits(), first.len())?;
    let params = ElementwiseParams {
        // ≤ u32::MAX, checked by the plan.
        len: first.len() as u32,
        op: code,
        alpha,
        pad0: 0,
    };
    run_kernel(
        ctx,
        KernelLaunch {
            kernel: &SOURCE,
            constant: ("workgroup_size", plan.workgroup_size),
            params: bytemuck::bytes_of(&params),
            inputs: &[first, second],
            output_len: first.len(),
            workgroups: [plan.workgroups[0], plan.workgroups[1], 1],
        },
    )
    .await
}
