//! The host half of a run whose passes run on a device (the GPU trainer of `scalelab-gpu`).
//!
//! The device runs the forward passes, the backward pass and the optimizer step on resident
//! buffers; the host takes the logits it reads back and does what must be exact or follow
//! PyTorch's rounding per precision, with the CPU trainer's own code: the loss and its gradient
//! (uploaded back), Softmax Collapse, accuracy and the test metrics in `f64`, the weight norms and
//! the update's cosine from the weights read back after the step. It holds a CPU [`Trainer`]
//! whose weights and optimizer state follow the device's, so that after a lost device the run
//! continues on the CPU from its last finished epoch ([`DeviceRun::into_trainer`]).

use super::config::TrainPrecision;
use super::metrics::EpochMetrics;
use super::task::Samples;
use super::trainer::{test_due, Engine, EpochLosses, Run, Trainer};
use crate::CoreError;

/// A run whose passes are computed on a device, in `f32`.
#[derive(Debug, Clone)]
pub struct DeviceRun {
    trainer: Trainer,
    /// The losses of the epoch in progress, between [`DeviceRun::losses`] and
    /// [`DeviceRun::finish`].
    pending: Option<EpochLosses>,
}

impl DeviceRun {
    /// The host half of `trainer`'s run from its current epoch.
    ///
    /// Errors: an `f64` run (`InvalidValue` naming `precision`: devices train in `f32`).
    pub fn of(trainer: Trainer) -> Result<DeviceRun, CoreError> {
        if trainer.config().precision != TrainPrecision::F32 {
            return Err(CoreError::InvalidValue {
                what: "precision",
                reason: "the GPU trains in f32; choose f32, or the CPU for an f64 run".to_owned(),
            });
        }
        Ok(DeviceRun {
            trainer,
            pending: None,
        })
    }

    fn run(&self) -> &Run<f32> {
        match &self.trainer.engine {
            Engine::F32(run) => run,
            Engine::F64(_) => unreachable!("DeviceRun::of refuses f64 runs"),
        }
    }

    fn run_mut(&mut self) -> &mut Run<f32> {
        match &mut self.trainer.engine {
            Engine::F32(run) => run,
            Engine::F64(_) => unreachable!("DeviceRun::of refuses f64 runs"),
        }
    }

    /// The CPU trainer that follows the device (its configuration, split, epoch, tensors and
    /// Fourier view are the run's).
    pub fn trainer(&self) -> &Trainer {
        &self.trainer
    }

    /// The test loss and accuracy of the current weights (on the CPU; the run is unchanged).
    pub fn evaluate(&mut self) -> Result<super::metrics::TestMetrics, CoreError> {
        self.trainer.evaluate()
    }

    /// The CPU trainer, continuing from the last finished epoch (the fallback after a lost device).
    /// An epoch whose losses were taken but not finished is dropped.
    pub fn into_trainer(self) -> Trainer {
        self.trainer
    }

    /// Layer sizes `2p → hidden… → p`.
    pub fn layer_sizes(&self) -> &[usize] {
        &self.run().net.sizes
    }

    /// Whether every layer has a bias (then the tensors alternate weight, bias).
    pub fn bias(&self) -> bool {
        self.run().net.bias
    }

    /// The training samples, in the order of the logits' rows.
    pub fn train_samples(&self) -> &Samples {
        &self.run().train
    }

    /// The test samples, in the order of the logits' rows.
    pub fn test_samples(&self) -> &Samples {
        &self.run().test
    }

    /// The current tensors (`W₁, [b₁,] W₂, …`), each weight of a layer `in → out` row-major
    /// `in × out` (row `j` is the weight of input `j`).
    pub fn weights(&self) -> &[Vec<f32>] {
        &self.run().net.tensors
    }

    /// The optimizer state per tensor: AdamW's `m` and `v`, or SGD's momentum buffers and none.
    pub fn optimizer_state(&self) -> (&[Vec<f32>], &[Vec<f32>]) {
        self.run().optimizer.state()
    }

    /// The epoch the next [`DeviceRun::losses`] belongs to (1-based).
    pub fn next_epoch(&self) -> u64 {
        self.trainer.epoch + 1
    }

    /// Whether the next epoch evaluates the test set (then [`DeviceRun::losses`] needs its logits).
    pub fn test_due(&self) -> bool {
        test_due(self.trainer.config(), self.next_epoch())
    }

    /// The losses of the next epoch from the device's logits (row-major `samples × p`, the
    /// training set's and, when [`DeviceRun::test_due`], the test set's): returns the gradient of
    /// the mean loss with respect to the training logits, in the same layout, for the backward pass.
    ///
    /// Errors: logits of the wrong size (`DimensionMismatch`), test logits given or missing against
    /// [`DeviceRun::test_due`] (`InvalidValue`), and the CPU trainer's (a diverged run: `NonFinite`;
    /// logits beyond the softmax precision: `OutOfRange`).
    pub fn losses(
        &mut self,
        train_logits: &[f32],
        test_logits: Option<&[f32]>,
    ) -> Result<&[f32], CoreError> {
        if test_logits.is_some() != self.test_due() {
            return Err(CoreError::InvalidValue {
                what: "test logits",
                reason: format!(
                    "epoch {} {} the test set; pass its logits exactly when test_due() is true",
                    self.next_epoch(),
                    if self.test_due() {
                        "evaluates"
                    } else {
                        "does not evaluate"
                    }
                ),
            });
        }
        let config = self.trainer.config().clone();
        let epoch = self.next_epoch();
        let losses = self
            .run_mut()
            .losses(&config, epoch, Some((train_logits, test_logits)))?;
        self.pending = Some(losses);
        Ok(&self.run().delta)
    }

    /// Finishes the epoch with the weights and the optimizer state after the device's step (the
    /// layouts of [`DeviceRun::weights`] and [`DeviceRun::optimizer_state`]).
    ///
    /// Errors: no [`DeviceRun::losses`] before (`InvalidValue`), a tensor count or length that
    /// differs (`DimensionMismatch`).
    pub fn finish(
        &mut self,
        weights: Vec<Vec<f32>>,
        m: Vec<Vec<f32>>,
        v: Vec<Vec<f32>>,
    ) -> Result<EpochMetrics, CoreError> {
        let Some(losses) = self.pending.take() else {
            return Err(CoreError::InvalidValue {
                what: "epoch",
                reason: "finish() needs the epoch's losses() first".to_owned(),
            });
        };
        let run = self.run_mut();
        let lengths = |x: &[Vec<f32>]| x.iter().map(Vec::len).collect::<Vec<_>>();
        if lengths(&weights) != lengths(&run.net.tensors) {
            return Err(CoreError::DimensionMismatch {
                what: "weights after the step",
                expected: run.net.tensors.iter().map(Vec::len).sum(),
                got: weights.iter().map(Vec::len).sum(),
            });
        }
        run.optimizer.step_taken(m, v)?;
        run.before_step();
        run.net.tensors = weights;
        let epoch = self.next_epoch();
        let metrics = self.run().after_step(epoch, losses);
        self.trainer.epoch = epoch;
        Ok(metrics)
    }
}
