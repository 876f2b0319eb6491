//! The grokking trainer of the StableMax lab (Prieto, Barsbey, Mediano, Birdal, "Grokking at the
//! Edge of Numerical Stability", ICLR 2025; science.md §1): modular arithmetic learned by an MLP
//! with full-batch training, softmax CE in a chosen precision or StableMax CE, AdamW, SGD and
//! their ⊥Grad variants, and the paper's metrics per epoch (Softmax Collapse, zero-loss
//! fraction, weight and logit norms, the update's cosine with the weights) with a Fourier view
//! of the first layer.
//!
//! The trainer is the CPU path in `f32` (nalgebra's GEMM on matrixmultiply's SIMD kernels) and
//! the reference in `f64` (the same code at `f64`, [`TrainPrecision::F64`]). [`DeviceRun`] is the
//! host half of a run on a GPU (`scalelab-gpu`'s `GpuTrainer`).

mod config;
mod device_run;
mod loss;
mod metrics;
mod network;
mod optimizer;
mod task;
mod trainer;

pub use config::{
    ConfigError, ConfigField, Cost, LossKind, OptimizerConfig, OptimizerKind, Orthogonal, Preset,
    TrainPrecision, TrainerConfig, MAX_HIDDEN_LAYERS, MAX_P, MAX_WIDTH, MEMORY_LIMIT_BYTES,
};
pub use device_run::DeviceRun;
pub use metrics::{EpochMetrics, Fourier, TestMetrics};
pub use task::{train_count, ModOp, Samples, Split};
pub use trainer::{Tensor, Trainer};
