//! The GPU path of the grokking trainer: [`GpuTrainer`], one full-batch epoch in two submissions.
//!
//! Submission 1 runs the forward pass over the training set (and the test set when due) on
//! resident buffers and reads the logits back. The host half of the run
//! ([`scalelab_core::grokking::DeviceRun`]) computes the loss and its gradient with the CPU
//! trainer's code, exactly as PyTorch rounds it in each softmax precision, and the Softmax
//! Collapse fraction in `f64` from those logits; the gradient is written back. Submission 2 runs
//! the backward pass (the one-hot first layer's gradient from per-column sample lists, no float
//! atomics), ⊥Grad and the optimizer step, and reads the new weights and moments back for the
//! norms, the update's cosine, the Fourier view and the CPU fallback.

mod layout;
mod passes;

use scalelab_core::grokking::{DeviceRun, EpochMetrics, Trainer, TrainerConfig};
use scalelab_core::CoreError;

use crate::context::GpuContext;
use crate::error::GpuError;
use crate::launch::submit_and_read;
use passes::{Passes, Shape};

/// What can stop a GPU epoch: the run itself (the CPU trainer's errors) or the GPU.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GpuTrainError {
    /// The configuration or the run (a diverged run, logits beyond the softmax precision).
    #[error(transparent)]
    Run(#[from] CoreError),
    /// The GPU (too large for the device, validation, read-back, a lost device).
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// A grokking run trained on the GPU in `f32`, with the metrics of the CPU trainer.
///
/// Same seed, same split and initial weights as [`Trainer::new`]; its epochs agree with the CPU
/// `f32` path to `f32` round-off (the tests compare 50 epochs of every preset with the CPU and
/// the `f64` reference). After a lost device, [`GpuTrainer::into_cpu`] continues the run on the
/// CPU from its last finished epoch.
pub struct GpuTrainer {
    host: DeviceRun,
    passes: Passes,
}

impl GpuTrainer {
    /// A run from its configuration, on `ctx`.
    ///
    /// Errors: the configuration's ([`TrainerConfig::validate`]), an `f64` training format
    /// (`Run(InvalidValue)` naming `precision`), buffers beyond the device's limits
    /// (`Gpu(TooLarge)`).
    pub async fn new(ctx: &GpuContext, config: TrainerConfig) -> Result<GpuTrainer, GpuTrainError> {
        GpuTrainer::resume(ctx, Trainer::new(config)?).await
    }

    /// Continues a CPU run on the GPU from its current epoch (its weights and optimizer state).
    ///
    /// Errors: as [`GpuTrainer::new`], and a set-up the device rejects (`Gpu(Validation)`).
    pub async fn resume(ctx: &GpuContext, trainer: Trainer) -> Result<GpuTrainer, GpuTrainError> {
        ctx.ensure_alive()?;
        let host = DeviceRun::of(trainer)?;
        let config = host.trainer().config();
        let shape = Shape {
            sizes: host.layer_sizes(),
            bias: host.bias(),
            kind: config.optimizer.kind,
            orthogonal: config.optimizer.orthogonal,
        };
        let scope = ctx.device().push_error_scope(wgpu::ErrorFilter::Validation);
        let passes = Passes::new(
            ctx,
            &shape,
            host.train_samples(),
            host.test_samples(),
            host.weights(),
            host.optimizer_state(),
        );
        let scope = scope.pop();
        let passes = passes?;
        if let Some(err) = scope.await {
            return Err(GpuError::Validation {
                message: err.to_string(),
            }
            .into());
        }
        Ok(GpuTrainer { passes, host })
    }

    /// One full-batch epoch (two submissions; see the module docs).
    ///
    /// Errors: the run's (`Run`: a diverged run, logits beyond the softmax precision) and the
    /// GPU's (`Gpu`: validation, read-back, a lost device). After an error the run stays at its
    /// last finished epoch; after a lost device continue with [`GpuTrainer::into_cpu`].
    pub async fn step(&mut self, ctx: &GpuContext) -> Result<EpochMetrics, GpuTrainError> {
        ctx.ensure_alive()?;
        let test = self.host.test_due();
        let scope = ctx.device().push_error_scope(wgpu::ErrorFilter::Validation);
        let mut encoder = ctx
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("forward"),
            });
        let staging = self.passes.record_forward(&mut encoder, test);
        let logits = submit_and_read(ctx, encoder, scope, staging).await?;
        let train_len = self.host.train_samples().len() * self.host.trainer().config().p;
        let (train_logits, test_logits) = logits.split_at(train_len.min(logits.len()));
        let delta = self
            .host
            .losses(train_logits, test.then_some(test_logits))?;
        ctx.queue()
            .write_buffer(&self.passes.delta, 0, bytemuck::cast_slice(delta));
        let config = self.host.trainer().config().optimizer;
        self.passes
            .write_optimizer(ctx, &config, self.host.next_epoch());

        let scope = ctx.device().push_error_scope(wgpu::ErrorFilter::Validation);
        let mut encoder = ctx
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("backward and step"),
            });
        self.passes.record_step(&mut encoder);
        let state = submit_and_read(ctx, encoder, scope, &self.passes.state_staging).await?;
        let (weights, m, v) = self.passes.unpack_state(&state);
        Ok(self.host.finish(weights, m, v)?)
    }

    /// The CPU trainer that follows the run (configuration, split, epoch, tensors in PyTorch's
    /// layout, the Fourier view).
    pub fn trainer(&self) -> &Trainer {
        self.host.trainer()
    }

    /// The test loss and accuracy of the current weights (a forward pass on the CPU).
    ///
    /// Errors: as [`Trainer::evaluate`].
    pub fn evaluate(&mut self) -> Result<scalelab_core::grokking::TestMetrics, CoreError> {
        self.host.evaluate()
    }

    /// The run as a CPU trainer, continuing from the last finished epoch (the fallback after a
    /// lost device: the weights and moments of every finished epoch are already on the host).
    pub fn into_cpu(self) -> Trainer {
        self.host.into_trainer()
    }
}
