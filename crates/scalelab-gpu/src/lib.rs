//! Scalelab GPU kernels: f32 compute shaders on wgpu (WebGPU in the browser, Vulkan natively).
//!
//! Create a [`GpuContext`] once, then call the async launchers ([`softmax_rows`],
//! [`stablemax_rows`], [`log_softmax_rows`], [`log_stablemax_rows`], [`cross_entropy_rows`],
//! [`matmul`], [`reduce_rows`] / [`reduce_all`], [`elementwise`], [`orthogonal_grad`],
//! [`adamw_step`], [`gmm_denoiser`]) with
//! `&GpuContext`. Each kernel has an f64 CPU oracle in
//! `scalelab_core::ops` with the same name; [`probe`] compares the two on a fixed input.
//! All read-backs are asynchronous (`mapAsync` on the web); nothing blocks the browser thread.
//! [`GpuTrainer`] trains the grokking MLP of `scalelab_core::grokking` on resident buffers.
//! Numbers cross between f64 and f32 only through [`to_f32`] and [`to_f64`].
#![warn(missing_docs)]

mod context;
mod convert;
mod error;
mod grokking;
pub mod kernels;
mod launch;
mod limits;
mod probe;
mod resident;
pub mod workload;

pub use context::GpuContext;
pub use convert::{to_f32, to_f64};
pub use error::{GpuError, GpuErrorCode};
pub use grokking::{GpuTrainError, GpuTrainer};
pub use kernels::adamw_step::{adamw_step, AdamWOutput, AdamWParams};
pub use kernels::cross_entropy_rows::{
    cross_entropy_rows, CrossEntropyKind, CrossEntropyOutput, CrossEntropyParams,
};
pub use kernels::elementwise::{
    elementwise, plan_elementwise, ElementwiseOp, ElementwiseParams, ElementwisePlan,
};
pub use kernels::gmm_denoiser::{gmm_denoiser, GmmParams, MAX_GMM_COMPONENTS};
pub use kernels::log_softmax_rows::log_softmax_rows;
pub use kernels::log_stablemax_rows::log_stablemax_rows;
pub use kernels::matmul::{matmul, plan_matmul, MatmulOptions, MatmulParams, MatmulPlan};
pub use kernels::orthogonal_grad::{orthogonal_grad, OrthogonalGradParams};
pub use kernels::reduce_rows::{
    reduce_all, reduce_rows, ReduceOp, ReduceParams, MAX_ARGMAX_LEN, REDUCE_ALL_CHUNK,
};
pub use kernels::softmax_rows::softmax_rows;
pub use kernels::stablemax_rows::stablemax_rows;
pub use kernels::{KernelSource, KERNELS};
pub use launch::{plan_row_dispatch, row_count, RowDispatch, RowParams};
pub use limits::KernelLimits;
pub use probe::{
    max_abs_diff, probe, xorshift_uniform, ProbeReport, PROBE_COLS, PROBE_ROWS, PROBE_SEED,
    PROBE_TOLERANCE,
};
