//! Per-row softmax / StableMax cross-entropy and its gradient on the GPU
//! (`cross_entropy_rows.wgsl`).

use crate::context::GpuContext;
use crate::error::GpuError;
use crate::kernels::KernelSource;
use crate::launch::{plan_row_dispatch, row_count, run_kernel, KernelLaunch};
use crate::limits::check_buffer;

/// The `cross_entropy_rows` kernel.
pub const SOURCE: KernelSource = KernelSource {
    name: "cross_entropy_rows",
    wgsl: include_str!("cross_entropy_rows.wgsl"),
    overrides: &[("workgroup_size", &[64.0, 256.0])],
};

/// Which probabilities the cross-entropy uses (the `loss_kind` of [`CrossEntropyParams`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossEntropyKind {
    /// Softmax cross-entropy (`loss_kind = 0`).
    Softmax,
    /// StableMax cross-entropy (`loss_kind = 1`).
    StableMax,
}

impl CrossEntropyKind {
    /// The `loss_kind` value the kernel reads.
    pub fn code(self) -> u32 {
        match self {
            CrossEntropyKind::Softmax => 0,
            CrossEntropyKind::StableMax => 1,
        }
    }
}

impl From<scalelab_core::stablemax::Loss> for CrossEntropyKind {
    fn from(loss: scalelab_core::stablemax::Loss) -> Self {
        match loss {
            scalelab_core::stablemax::Loss::Softmax => CrossEntropyKind::Softmax,
            scalelab_core::stablemax::Loss::StableMax => CrossEntropyKind::StableMax,
        }
    }
}

/// Per-dispatch sizes, uploaded as a uniform (`struct CrossEntropyParams` in the WGSL).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CrossEntropyParams {
    /// Number of rows (samples).
    pub rows: u32,
    /// Number of columns (classes).
    pub cols: u32,
    /// 0: softmax, 1: StableMax (see [`CrossEntropyKind::code`]).
    pub loss_kind: u32,
    /// Padding to the 16-byte size of a uniform struct.
    pub pad0: u32,
}

/// Per-row losses and the gradient w.r.t. the logits, in f32 (the result of
/// [`cross_entropy_rows`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CrossEntropyOutput {
    /// `loss[r] = −ln p_{r, y_r}`, one per row.
    pub loss: Vec<f32>,
    /// `grad[r * cols + i] = ∂loss[r]/∂z[r, i]`, laid out like the logits.
    pub grad: Vec<f32>,
}

/// Per-row cross-entropy `loss_r = −ln p_{r, y_r}` and its gradient w.r.t. the row-major logits
/// (`cols` classes, one label per row), in f32:
///
/// - softmax: `loss = ln Σ_k e^{z_k − M} − (z_y − M)`, `grad_i = e^{z_i − M}/Σ_k e^{z_k − M} − 1{i=y}`;
/// - StableMax: `loss = (ln s(M) − ln s(z_y)) + ln Σ_k s(z_k)/s(M)`,
///   `grad_i = s'(z_i)/Σ_k s(z_k) − 1{i=y} s'(z_y)/s(z_y)`, `s'(x) = 1` (`x ≥ 0`), `1/(1 − x)²`,
///
/// with `M = max_k z_k`; no reduction over rows. Matches
/// `scalelab_core::ops::cross_entropy::cross_entropy_rows` on the same (f32-rounded) inputs to
/// about `1e-6` absolute per gradient entry and `1e-5 + 1e-6·loss` per loss.
///
/// # Errors
/// [`GpuError::InvalidInput`] as [`crate::softmax_rows`] for the logits (`what = "data"`,
/// `"cols"`), and if `labels.len()` is not the number of rows or a label is `≥ cols`
/// (`what = "labels"`); [`GpuError::TooLarge`] if the logits or the output (`rows·cols + rows`
/// values) exceed the device limits (checked before any GPU work); [`GpuError::Validation`],
/// [`GpuError::Readback`] or [`GpuError::DeviceLost`] if the GPU fails. Zero rows return empty
/// vectors without touching the GPU.
pub async fn cross_entropy_rows(
    ctx: &GpuContext,
    logits: &[f32],
    cols: usize,
    labels: &[u32],
    kind: CrossEntropyKind,
) -> Result<CrossEntropyOutput, GpuError> {
    let rows = row_count(logits, cols)?;
    if labels.len() != rows {
        return Err(GpuError::InvalidInput {
            what: "labels",
            reason: format!(
                "{} labels for {rows} rows of logits; give one label per row",
                labels.len()
            ),
        });
    }
    if let Some(r) = labels.iter().position(|&y| y as usize >= cols) {
        return Err(GpuError::InvalidInput {
            what: "labels",
            reason: format!(
                "label {} of row {r} is not a class index; give a value from 0 to {}",
                labels[r],
                cols - 1
            ),
        });
    }
    if rows == 0 {
        return Ok(CrossEntropyOutput {
            loss: Vec::new(),
            grad: Vec::new(),
        });
    }
    let limits = ctx.limits();
    let plan = plan_row_dispatch(&limits, rows, cols)?;
    let output_len = rows as u128 * cols as u128 + rows as u128;
    check_buffer(&limits, "output bytes (gradient and losses)", output_len)?;
    let params = CrossEntropyParams {
        rows: plan.params.rows,
        cols: plan.params.cols,
        loss_kind: kind.code(),
        pad0: 0,
    };
    // Labels travel bit for bit through an f32 slice; the kernel reads them as `array<u32>`.
    let labels_bits: &[f32] = bytemuck::cast_slice(labels);
    let mut out = run_kernel(
        ctx,
        KernelLaunch {
            kernel: &SOURCE,
            constant: ("workgroup_size", plan.workgroup_size),
            params: bytemuck::bytes_of(&params),
            inputs: &[logits, labels_bits],
            output_len: logits.len() + rows,
            workgroups: [plan.workgroups_x, plan.workgroups_y, 1],
        },
    )
    .await?;
    let loss = out.split_off(logits.len());
    Ok(CrossEntropyOutput { loss, grad: out })
}
