//! A training run: the split, the network, the optimizer, and one full-batch epoch per
//! [`Trainer::step`].

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::config::{Cost, TrainPrecision, TrainerConfig};
use super::loss::{batch_loss, BatchLoss};
use super::metrics::{norm, update_cosine, EpochMetrics, Fourier, TestMetrics};
use super::network::Network;
use super::optimizer::Optimizer;
use super::task::{Samples, Split};
use crate::gemm::Real;
use crate::CoreError;

/// A parameter tensor in PyTorch's layout (a weight `[out, in]` row-major, a bias `[out]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tensor {
    /// `"W1"`, `"b1"`, `"W2"`, ….
    pub name: String,
    /// `[out, in]` or `[out]`.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: Vec<f64>,
}

/// One run in one training format.
#[derive(Debug, Clone)]
pub(super) struct Run<T> {
    pub(super) net: Network<T>,
    pub(super) optimizer: Optimizer<T>,
    pub(super) train: Samples,
    pub(super) test: Samples,
    /// Layer outputs of the last forward pass over the training set.
    outputs: Vec<Vec<T>>,
    /// Layer outputs of the last test evaluation.
    test_outputs: Vec<Vec<T>>,
    grads: Vec<Vec<T>>,
    before: Vec<Vec<T>>,
    pub(super) delta: Vec<T>,
    scratch: Vec<T>,
}

#[derive(Debug, Clone)]
pub(super) enum Engine {
    F32(Run<f32>),
    F64(Run<f64>),
}

/// A grokking run (science.md §1): modular arithmetic, an MLP, full-batch training.
#[derive(Debug, Clone)]
pub struct Trainer {
    config: TrainerConfig,
    cost: Cost,
    split: Split,
    pub(super) epoch: u64,
    pub(super) engine: Engine,
}

/// The initial weights in `f64`, drawn as PyTorch's `nn.Linear` default from ChaCha8 (stream 1 of
/// the seed; the split uses stream 0) and rounded to `f32`, so that the `f32` and `f64` runs of a
/// seed start from the same weights.
fn initial_weights(config: &TrainerConfig) -> Network<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    rng.set_stream(1);
    let mut net = Network::<f32>::init(&config.layer_sizes(), config.bias, &mut rng);
    Network {
        sizes: std::mem::take(&mut net.sizes),
        bias: net.bias,
        tensors: net
            .tensors
            .iter()
            .map(|t| t.iter().map(|&v| f64::from(v)).collect())
            .collect(),
    }
}

/// What an epoch's losses give before the step: the training loss, the test metrics when due,
/// the norms of the weights the epoch starts from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EpochLosses {
    pub(crate) train: BatchLoss,
    pub(crate) test: Option<TestMetrics>,
    pub(crate) weight_norms: Vec<f64>,
}

/// Whether epoch `epoch` (1-based) evaluates the test set: the first and every `eval_every`-th.
pub(crate) fn test_due(config: &TrainerConfig, epoch: u64) -> bool {
    (epoch - 1).is_multiple_of(config.eval_every as u64)
}

/// The test loss and accuracy of test logits (`p × n`).
fn test_metrics<T: Real>(
    config: &TrainerConfig,
    logits: &[T],
    test: &Samples,
) -> Result<TestMetrics, CoreError> {
    if logits.len() != test.len() * config.p {
        return Err(CoreError::DimensionMismatch {
            what: "test logits (p per test sample)",
            expected: test.len() * config.p,
            got: logits.len(),
        });
    }
    let loss = batch_loss(
        config.loss,
        config.softmax_precision,
        logits,
        &test.target,
        config.p,
        None,
    )?;
    Ok(TestMetrics {
        loss: loss.mean,
        accuracy: loss.correct as f64 / test.len().max(1) as f64,
    })
}

impl<T: Real> Run<T> {
    fn new(config: &TrainerConfig, split: &Split, start: &Network<f64>) -> Run<T> {
        let net = Network {
            sizes: start.sizes.clone(),
            bias: start.bias,
            tensors: start
                .tensors
                .iter()
                .map(|t| t.iter().map(|&v| T::of(v)).collect())
                .collect(),
        };
        let lengths: Vec<usize> = net.tensors.iter().map(Vec::len).collect();
        Run {
            optimizer: Optimizer::new(config.optimizer, &lengths),
            train: Samples::of_indices(&split.train, config.p, config.op),
            test: Samples::of_indices(&split.test, config.p, config.op),
            before: net.tensors.clone(),
            net,
            outputs: Vec::new(),
            test_outputs: Vec::new(),
            grads: Vec::new(),
            delta: Vec::new(),
            scratch: Vec::new(),
        }
    }

    fn step(&mut self, config: &TrainerConfig, epoch: u64) -> Result<EpochMetrics, CoreError> {
        self.net.forward(&self.train, &mut self.outputs);
        if test_due(config, epoch) {
            self.net.forward(&self.test, &mut self.test_outputs);
        }
        let losses = self.losses(config, epoch, None)?;
        self.net.backward(
            &self.train,
            &self.outputs,
            &mut self.delta,
            &mut self.scratch,
            &mut self.grads,
        );
        self.before_step();
        self.optimizer.step(&mut self.net.tensors, &mut self.grads);
        Ok(self.after_step(epoch, losses))
    }

    /// The losses of epoch `epoch` from the logits of the last forward passes (the test's only
    /// when due), or from `given` (training and, when due, test logits computed elsewhere, `p × n`
    /// each): the training loss with its gradient in `delta`, the test metrics, the weight norms.
    pub(super) fn losses(
        &mut self,
        config: &TrainerConfig,
        epoch: u64,
        given: Option<(&[T], Option<&[T]>)>,
    ) -> Result<EpochLosses, CoreError> {
        let (train_logits, test_logits): (&[T], Option<&[T]>) = match given {
            Some(logits) => logits,
            None => (
                self.outputs.last().map_or(&[][..], Vec::as_slice),
                test_due(config, epoch)
                    .then(|| self.test_outputs.last().map_or(&[][..], Vec::as_slice)),
            ),
        };
        let n = self.train.len();
        let p = config.p;
        if train_logits.len() != n * p {
            return Err(CoreError::DimensionMismatch {
                what: "training logits (p per training sample)",
                expected: n * p,
                got: train_logits.len(),
            });
        }
        let train = batch_loss(
            config.loss,
            config.softmax_precision,
            train_logits,
            &self.train.target,
            p,
            Some(&mut self.delta),
        )?;
        let test = match test_logits {
            Some(logits) => Some(test_metrics(config, logits, &self.test)?),
            None => None,
        };
        Ok(EpochLosses {
            train,
            test,
            weight_norms: self.net.tensors.iter().map(|t| norm(t)).collect(),
        })
    }

    /// Keeps the weights before the optimizer step.
    pub(super) fn before_step(&mut self) {
        for (b, t) in self.before.iter_mut().zip(&self.net.tensors) {
            b.copy_from_slice(t);
        }
    }

    /// The metrics of the epoch once the step is taken.
    pub(super) fn after_step(&self, epoch: u64, losses: EpochLosses) -> EpochMetrics {
        let n = self.train.len() as f64;
        let EpochLosses {
            train,
            test,
            weight_norms,
        } = losses;
        EpochMetrics {
            epoch,
            train_loss: train.mean,
            train_accuracy: train.correct as f64 / n,
            test,
            sc_fraction: train.collapsed as f64 / n,
            zero_loss_fraction: train.zero_loss as f64 / n,
            logit_norm: train.logit_norm,
            weight_norms,
            update_cosine: self
                .net
                .tensors
                .iter()
                .zip(&self.before)
                .map(|(a, b)| update_cosine(a, b))
                .collect(),
        }
    }

    fn evaluate(&mut self, config: &TrainerConfig) -> Result<TestMetrics, CoreError> {
        self.net.forward(&self.test, &mut self.test_outputs);
        test_metrics(
            config,
            self.test_outputs.last().expect("at least one layer"),
            &self.test,
        )
    }

    fn tensors(&self) -> Vec<Tensor> {
        let mut out = Vec::new();
        for (l, io) in self.net.sizes.windows(2).enumerate() {
            let (n_in, n_out) = (io[0], io[1]);
            let w = &self.net.tensors[self.net.weight_index(l)];
            let mut values = vec![0.0; w.len()];
            for o in 0..n_out {
                for i in 0..n_in {
                    values[o * n_in + i] = w[o + i * n_out].f64();
                }
            }
            out.push(Tensor {
                name: format!("W{}", l + 1),
                shape: vec![n_out, n_in],
                values,
            });
            if self.net.bias {
                out.push(Tensor {
                    name: format!("b{}", l + 1),
                    shape: vec![n_out],
                    values: self.net.tensors[self.net.weight_index(l) + 1]
                        .iter()
                        .map(|v| v.f64())
                        .collect(),
                });
            }
        }
        out
    }

    fn fourier(&self) -> Fourier {
        Fourier::of(
            &self.net.tensors[0],
            self.net.sizes[1],
            self.net.sizes[0] / 2,
        )
    }
}

macro_rules! on_engine {
    ($self:expr, $run:ident => $body:expr) => {
        match $self {
            Engine::F32($run) => $body,
            Engine::F64($run) => $body,
        }
    };
}

impl Trainer {
    /// A run from its configuration: the seeded split and PyTorch's default initialisation.
    ///
    /// Errors: the configuration's (see [`TrainerConfig::validate`]).
    pub fn new(config: TrainerConfig) -> Result<Trainer, CoreError> {
        config.validate()?;
        let split = Split::seeded(config.p, config.train_fraction, config.seed);
        let start = initial_weights(&config);
        Ok(Trainer::build(config, split, start))
    }

    /// A run from given training indices (the test set is the rest) and initial tensors in
    /// PyTorch's layout (`W₁, [b₁,] W₂, …`) — to replay another implementation's run. The
    /// configuration's `train_fraction` and `seed` are not used.
    ///
    /// Errors: the configuration's; bad indices (see [`Split::check_train`]); a tensor count or
    /// size that does not match the layers (`DimensionMismatch`); non-finite values (`NonFinite`).
    pub fn with_start(
        config: TrainerConfig,
        train: Vec<usize>,
        tensors: &[Vec<f64>],
    ) -> Result<Trainer, CoreError> {
        config.validate()?;
        Split::check_train(&train, config.p)?;
        let mut start = initial_weights(&config);
        if tensors.len() != start.tensors.len() {
            return Err(CoreError::DimensionMismatch {
                what: "initial tensors (W1, [b1,] W2, …)",
                expected: start.tensors.len(),
                got: tensors.len(),
            });
        }
        let shapes = start.shapes();
        for ((ours, given), shape) in start.tensors.iter_mut().zip(tensors).zip(&shapes) {
            if given.len() != ours.len() {
                return Err(CoreError::DimensionMismatch {
                    what: "values of an initial tensor",
                    expected: ours.len(),
                    got: given.len(),
                });
            }
            CoreError::check_finite("initial tensor", given)?;
            match shape[..] {
                [n_out, n_in] => {
                    for o in 0..n_out {
                        for i in 0..n_in {
                            ours[o + i * n_out] = given[o * n_in + i];
                        }
                    }
                }
                _ => ours.copy_from_slice(given),
            }
        }
        let split = Split::from_train(train, config.p);
        Ok(Trainer::build(config, split, start))
    }

    fn build(config: TrainerConfig, split: Split, start: Network<f64>) -> Trainer {
        let engine = match config.precision {
            TrainPrecision::F32 => Engine::F32(Run::new(&config, &split, &start)),
            TrainPrecision::F64 => Engine::F64(Run::new(&config, &split, &start)),
        };
        Trainer {
            cost: config.cost(),
            config,
            split,
            epoch: 0,
            engine,
        }
    }

    /// One full-batch epoch: forward over the training set, the loss and its metrics, the test
    /// set when due, backward, one optimizer step.
    ///
    /// Errors: a diverged run (non-finite logits, `NonFinite`), logits beyond the softmax
    /// precision's range (`OutOfRange`). The run stays at its last good epoch only in its
    /// counters: after an error, make a new trainer.
    pub fn step(&mut self) -> Result<EpochMetrics, CoreError> {
        let epoch = self.epoch + 1;
        let metrics = on_engine!(&mut self.engine, run => run.step(&self.config, epoch))?;
        self.epoch = epoch;
        Ok(metrics)
    }

    /// The test loss and accuracy of the current weights.
    pub fn evaluate(&mut self) -> Result<TestMetrics, CoreError> {
        on_engine!(&mut self.engine, run => run.evaluate(&self.config))
    }

    /// Epochs taken.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The configuration.
    pub fn config(&self) -> &TrainerConfig {
        &self.config
    }

    /// Memory and FLOPs of the configuration.
    pub fn cost(&self) -> Cost {
        self.cost
    }

    /// The split.
    pub fn split(&self) -> &Split {
        &self.split
    }

    /// The current parameter tensors in PyTorch's layout.
    pub fn tensors(&self) -> Vec<Tensor> {
        on_engine!(&self.engine, run => run.tensors())
    }

    /// The Fourier view of the current first layer.
    pub fn fourier(&self) -> Fourier {
        on_engine!(&self.engine, run => run.fourier())
    }
}
