//! The first layer of the grokking MLP on one-hot inputs (`one_hot_layer.wgsl`): two weight rows
//! added per sample, with the bias and the ReLU fused. Bound resident by the GPU trainer
//! ([`crate::GpuTrainer`]), which checks it against the CPU trainer epoch by epoch.

use crate::kernels::KernelSource;

/// The `one_hot_layer` kernel.
pub const SOURCE: KernelSource = KernelSource {
    name: "one_hot_layer",
    wgsl: include_str!("one_hot_layer.wgsl"),
    overrides: &[("workgroup_size", &[64.0, 256.0])],
};

/// Per-dispatch sizes, uploaded as a uniform (`struct OneHotParams` in the WGSL).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct OneHotParams {
    /// Number of samples (rows of the output).
    pub samples: u32,
    /// Output width (columns of the weight and of the output).
    pub width: u32,
    /// The modulus: the weight has `2p` rows.
    pub p: u32,
    /// Bit 0: add the bias; bit 1: ReLU.
    pub flags: u32,
}

/// `flags` bit: add the bias.
pub const FLAG_BIAS: u32 = 1;
/// `flags` bit: apply the ReLU.
pub const FLAG_RELU: u32 = 2;
