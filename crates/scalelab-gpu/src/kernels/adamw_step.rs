//! One AdamW optimizer step on the GPU (`adamw_step.wgsl`). ⊥AdamW is [`crate::orthogonal_grad`]
//! followed by this step.

use scalelab_core::ops::optim::AdamW;

use crate::context::GpuContext;
use crate::error::GpuError;
use crate::kernels::elementwise::plan_elementwise;
use crate::kernels::KernelSource;
use crate::launch::{check_finite, run_kernel, KernelLaunch};
use crate::limits::check_buffer;

/// The `adamw_step` kernel.
pub const SOURCE: KernelSource = KernelSource {
    name: "adamw_step",
    wgsl: include_str!("adamw_step.wgsl"),
    overrides: &[("workgroup_size", &[64.0, 256.0])],
};

/// Per-dispatch values, uploaded as a uniform (`struct AdamWParams` in `adamw_step.wgsl`). The
/// step-dependent scalars are computed in f64 and rounded once to f32.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct AdamWParams {
    /// Number of parameters `n`.
    pub len: u32,
    /// Padding (the f32 block starts at byte 16).
    pub pad0: u32,
    /// Padding.
    pub pad1: u32,
    /// Padding.
    pub pad2: u32,
    /// `β₁`.
    pub beta1: f32,
    /// `1 − β₁`.
    pub one_minus_beta1: f32,
    /// `β₂`.
    pub beta2: f32,
    /// `1 − β₂`.
    pub one_minus_beta2: f32,
    /// `ε`.
    pub eps: f32,
    /// `1 − lr·λ` (decoupled weight decay).
    pub decay: f32,
    /// `lr / (1 − β₁ᵗ)`.
    pub step_size: f32,
    /// `√(1 − β₂ᵗ)`.
    pub bc2_sqrt: f32,
}

impl AdamWParams {
    /// The parameters of step `step` (1-based) of `cfg` over `len` values; `cfg.validate(step)`
    /// must have passed.
    pub fn new(cfg: &AdamW, step: u64, len: u32) -> AdamWParams {
        let (bc1, bc2) = cfg.bias_corrections(step);
        AdamWParams {
            len,
            pad0: 0,
            pad1: 0,
            pad2: 0,
            beta1: cfg.beta1 as f32,
            one_minus_beta1: (1.0 - cfg.beta1) as f32,
            beta2: cfg.beta2 as f32,
            one_minus_beta2: (1.0 - cfg.beta2) as f32,
            eps: cfg.eps as f32,
            decay: (1.0 - cfg.lr * cfg.weight_decay) as f32,
            step_size: (cfg.lr / bc1) as f32,
            bc2_sqrt: bc2.sqrt() as f32,
        }
    }
}

/// Parameters and moments after one step, in f32 (the result of [`adamw_step`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AdamWOutput {
    /// The updated parameters.
    pub param: Vec<f32>,
    /// The updated first moments `m`.
    pub m: Vec<f32>,
    /// The updated second moments `v`.
    pub v: Vec<f32>,
}

/// One AdamW step in f32 (PyTorch `AdamW`, step `t = step ≥ 1`), elementwise:
/// `m' = β₁m + (1−β₁)g`, `v' = β₂v + (1−β₂)g²`,
/// `p' = p(1 − lr·λ) − lr/(1−β₁ᵗ) · m' / (√v'/√(1−β₂ᵗ) + ε)`.
///
/// Matches `scalelab_core::ops::optim::adamw_step` on the same (f32-rounded) inputs to a few f32
/// roundings: |Δm'| ≲ 1e-6 (β₁|m| + (1−β₁)|g|), |Δv'| ≲ 1e-6 (β₂v + (1−β₂)g²),
/// |Δp'| ≲ 1e-6 (|p| + |lr·m̂/(√v̂+ε)|).
///
/// # Errors
/// [`GpuError::InvalidInput`] if `grad`, `m`, `v` differ in length from `param`, a value is not
/// finite, `v < 0`, or `cfg`/`step` fail [`AdamW::validate`] (`what = "adamw"`);
/// [`GpuError::TooLarge`] if `3·n` values exceed the device limits (checked before any GPU work);
/// GPU failures as [`crate::softmax_rows`]. Empty input returns empty vectors without GPU work.
pub async fn adamw_step(
    ctx: &GpuContext,
    param: &[f32],
    grad: &[f32],
    m: &[f32],
    v: &[f32],
    step: u64,
    cfg: &AdamW,
) -> Result<AdamWOutput, GpuError> {
    cfg.validate(step).map_err(|err| GpuError::InvalidInput {
        what: "adamw",
        reason: err.to_string(),
    })?;
    let n = param.len();
    for (what, xs) in [("grad", grad), ("m", m), ("v", v)] {
        if xs.len() != n {
            return Err(GpuError::InvalidInput {
                what,
                reason: format!(
                    "length {} differs from the {n} parameters; give one value per parameter",
                    xs.len()
                ),
            });
        }
    }
    for (what, xs) in [("param", param), ("grad", grad), ("m", m), ("v", v)] {
        check_finite(what, xs)?;
    }
    if let Some(i) = v.iter().position(|&x| x < 0.0) {
        return Err(GpuError::InvalidInput {
            what: "v",
            reason: format!(
                "element {i} is {}; second moments are ≥ 0 (start from zeros)",
                v[i]
            ),
        });
    }
    if n == 0 {
        return Ok(AdamWOutput {
            param: Vec::new(),
            m: Vec::new(),
            v: Vec::new(),
        });
    }
    let limits = ctx.limits();
    let plan = plan_elementwise(&limits, n)?;
    check_buffer(&limits, "output bytes (param, m, v)", 3 * n as u128)?;
    // 3n ≤ u32::MAX was just checked.
    let params = AdamWParams::new(cfg, step, n as u32);
    let moments: Vec<f32> = m.iter().chain(v).copied().collect();
    let mut out = run_kernel(
        ctx,
        KernelLaunch {
            kernel: &SOURCE,
            constant: ("workgroup_size", plan.workgroup_size),
            params: bytemuck::bytes_of(&params),
            inputs: &[param, grad, &moments],
            output_len: 3 * n,
            workgroups: [plan.workgroups[0], plan.workgroups[1], 1],
        },
    )
    .await?;
    let v = out.split_off(2 * n);
    let m = out.split_off(n);
    Ok(AdamWOutput { param: out, m, v })
}
