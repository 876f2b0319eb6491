//! One SGD step with momentum and weight decay (`sgd_step.wgsl`), PyTorch's `torch.optim.SGD`.
//! Bound resident by the GPU trainer ([`crate::GpuTrainer`]), which checks it against the CPU
//! trainer's optimizer.

use crate::kernels::KernelSource;

/// The `sgd_step` kernel.
pub const SOURCE: KernelSource = KernelSource {
    name: "sgd_step",
    wgsl: include_str!("sgd_step.wgsl"),
    overrides: &[("workgroup_size", &[64.0, 256.0])],
};

/// Per-dispatch values, uploaded as a uniform (`struct SgdParams` in the WGSL).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SgdParams {
    /// Number of parameters `n`.
    pub len: u32,
    /// 1 at the first step (the buffer starts as the gradient), else 0.
    pub first: u32,
    /// Padding (the f32 block starts at byte 16).
    pub pad0: u32,
    /// Padding.
    pub pad1: u32,
    /// Learning rate.
    pub lr: f32,
    /// Momentum `μ`.
    pub momentum: f32,
    /// Weight decay `λ` (added to the gradient).
    pub weight_decay: f32,
    /// Padding.
    pub pad2: f32,
}
