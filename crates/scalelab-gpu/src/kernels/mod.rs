//! The WGSL kernels and their launchers.
//!
//! `kernels/<op>.wgsl` sits beside `kernels/<op>.rs`; the file stem, the WGSL entry point, the
//! Rust launcher and every wgpu label share one name. [`KERNELS`] lists them all (a test checks it
//! against the `.wgsl` files on disk and validates each with naga).

pub mod adamw_step;
pub mod cross_entropy_rows;
pub mod elementwise;
pub mod gmm_denoiser;
pub mod log_softmax_rows;
pub mod log_stablemax_rows;
pub mod matmul;
pub mod one_hot_layer;
pub mod one_hot_layer_grad;
pub mod orthogonal_grad;
pub mod reduce_rows;
pub mod sgd_step;
pub mod softmax_rows;
pub mod stablemax_rows;

/// A kernel's name (= file stem, WGSL entry point, launcher and label) and its WGSL source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelSource {
    /// The one name of the kernel.
    pub name: &'static str,
    /// The WGSL source, embedded at compile time.
    pub wgsl: &'static str,
    /// The `override` constants the launcher sets, with the values it picks on devices with at
    /// least the WebGPU default limits (the shader test validates each).
    pub overrides: &'static [(&'static str, &'static [f64])],
}

/// Every kernel of this crate.
pub const KERNELS: &[KernelSource] = &[
    softmax_rows::SOURCE,
    stablemax_rows::SOURCE,
    matmul::SOURCE,
    reduce_rows::SOURCE,
    elementwise::SOURCE,
    log_softmax_rows::SOURCE,
    log_stablemax_rows::SOURCE,
    cross_entropy_rows::SOURCE,
    adamw_step::SOURCE,
    orthogonal_grad::SOURCE,
    gmm_denoiser::SOURCE,
    one_hot_layer::SOURCE,
    one_hot_layer_grad::SOURCE,
    sgd_step::SOURCE,
];
