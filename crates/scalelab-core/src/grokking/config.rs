//! A training run's configuration, its checks (every field named in its error) and what it
//! costs (memory and FLOPs per epoch) before it starts.

use serde::{Deserialize, Serialize};

use super::task::{train_count, ModOp};
use crate::{CoreError, Precision};

/// The largest memory a configuration may need: [`Cost::bytes`] ≤ 512 MiB (a browser tab's
/// worker holds it all).
pub const MEMORY_LIMIT_BYTES: u64 = 512 << 20;

/// At most this many hidden layers.
pub const MAX_HIDDEN_LAYERS: usize = 8;

/// The largest modulus (beyond it the `p²` samples alone exceed [`MEMORY_LIMIT_BYTES`]).
pub const MAX_P: usize = 8192;

/// The widest hidden layer.
pub const MAX_WIDTH: usize = 65536;

/// The field of a [`TrainerConfig`] an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigField {
    /// [`TrainerConfig::p`].
    P,
    /// [`TrainerConfig::train_fraction`].
    TrainFraction,
    /// [`TrainerConfig::hidden`].
    Hidden,
    /// [`OptimizerConfig::lr`].
    Lr,
    /// [`OptimizerConfig::beta1`].
    Beta1,
    /// [`OptimizerConfig::beta2`].
    Beta2,
    /// [`OptimizerConfig::eps`].
    Eps,
    /// [`OptimizerConfig::momentum`].
    Momentum,
    /// [`OptimizerConfig::weight_decay`].
    WeightDecay,
    /// [`TrainerConfig::eval_every`].
    EvalEvery,
    /// The memory the whole configuration needs (its sizes: `p`, `hidden`, the fraction).
    Memory,
}

/// A configuration's error with the field it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The field.
    pub field: ConfigField,
    /// What is wrong with it.
    pub error: CoreError,
}

/// The format the network is trained in: `f32` (the fast path, as PyTorch's default) or `f64`
/// (the reference, the paper's `--train_precision 64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainPrecision {
    /// IEEE binary32.
    F32,
    /// IEEE binary64.
    F64,
}

/// The loss: softmax cross-entropy with the logits rounded to
/// [`TrainerConfig::softmax_precision`] first (the paper's `cross_entropy_float16/32/64`), or
/// StableMax cross-entropy in `f64` (the paper's `stablemax_cross_entropy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Softmax CE in the softmax precision.
    Softmax,
    /// StableMax CE (`s(x) = x + 1` for `x ≥ 0`, `1/(1 − x)` below), in `f64`.
    Stablemax,
}

/// The base optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// `torch.optim.AdamW`.
    Adamw,
    /// `torch.optim.SGD` with momentum (dampening 0, not Nesterov), weight decay added to the
    /// gradient.
    Sgd,
}

/// ⊥Grad: the gradient of each parameter tensor projected orthogonally to that tensor before the
/// base optimizer sees it (Prieto et al., Def. 7; the reference `orthograd.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Orthogonal {
    /// The plain gradient.
    Off,
    /// `g⊥ = g − (w·g / (w·w + 1e-30)) w` (the paper's equations).
    Project,
    /// `g⊥` rescaled to `‖g‖` (`· ‖g‖ / (‖g⊥‖ + 1e-30)`), as the reference code does.
    ProjectRescale,
}

/// The optimizer and its hyper-parameters (those of the other kind are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    /// AdamW or SGD.
    pub kind: OptimizerKind,
    /// Learning rate, `> 0`.
    pub lr: f64,
    /// AdamW's `β₁ ∈ [0, 1)`.
    pub beta1: f64,
    /// AdamW's `β₂ ∈ [0, 1)`.
    pub beta2: f64,
    /// AdamW's `ε > 0`.
    pub eps: f64,
    /// SGD's momentum `∈ [0, 1)`.
    pub momentum: f64,
    /// Weight decay `≥ 0`: decoupled for AdamW, added to the gradient for SGD.
    pub weight_decay: f64,
    /// ⊥Grad or not.
    pub orthogonal: Orthogonal,
    /// ⊥AdamW as the paper's code really runs it: its `OrthoGrad` wrapper never passes the betas
    /// and ε, so the inner AdamW has PyTorch's defaults `β = (0.9, 0.999)`, `ε = 1e-8`
    /// (science.md §1.4; the reference repository's issue #11). Only with AdamW and ⊥Grad on.
    pub reference_quirk: bool,
}

impl OptimizerConfig {
    /// The `(β₁, β₂, ε)` the AdamW step uses: the configured ones, or PyTorch's defaults under
    /// [`OptimizerConfig::reference_quirk`] with ⊥Grad on.
    pub fn adam_constants(&self) -> (f64, f64, f64) {
        if self.reference_quirk && self.orthogonal != Orthogonal::Off {
            (0.9, 0.999, 1e-8)
        } else {
            (self.beta1, self.beta2, self.eps)
        }
    }
}

/// One training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerConfig {
    /// The modulus `p ≥ 2` (the number of classes; inputs are `2p` one-hot values).
    pub p: usize,
    /// The operation.
    pub op: ModOp,
    /// Fraction of the `p²` pairs trained on, in `(0, 1)`.
    pub train_fraction: f64,
    /// Seed of the split and of the initial weights.
    pub seed: u64,
    /// Hidden widths (each ≥ 1; none is a linear model of the one-hot input).
    pub hidden: Vec<usize>,
    /// Biases in every layer (the paper's modular runs have none).
    pub bias: bool,
    /// The loss.
    pub loss: LossKind,
    /// The format the logits are rounded to before the softmax CE, and in which the SC fraction
    /// is measured (the paper's `--softmax_precision`; its logger uses it for StableMax runs too).
    pub softmax_precision: Precision,
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// The training format.
    pub precision: TrainPrecision,
    /// The test set and the Fourier view are evaluated every this many epochs (≥ 1); the training
    /// metrics come with every epoch.
    pub eval_every: usize,
}

/// The named starting points: the paper's phenomena (science.md §1.4–1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// (a) AdamW without weight decay, softmax CE in `f32`: Softmax Collapse stops learning.
    SoftmaxCollapse,
    /// (b) ⊥AdamW, lr 0.01 (Fig. 1's command): groks within a few hundred epochs.
    OrthoAdamw,
    /// (c) StableMax CE with AdamW, no weight decay (Fig. 1 and Fig. 4's commands).
    Stablemax,
    /// (d) AdamW with strong weight decay (the tuned baseline of the reproduction blog).
    WeightDecay,
}

impl Preset {
    /// Every preset, in the order above.
    pub const ALL: [Preset; 4] = [
        Preset::SoftmaxCollapse,
        Preset::OrthoAdamw,
        Preset::Stablemax,
        Preset::WeightDecay,
    ];

    /// The preset's configuration.
    pub fn config(self) -> TrainerConfig {
        let base = TrainerConfig::default();
        let adamw = base.optimizer;
        match self {
            Preset::SoftmaxCollapse => base,
            Preset::OrthoAdamw => TrainerConfig {
                optimizer: OptimizerConfig {
                    orthogonal: Orthogonal::ProjectRescale,
                    ..adamw
                },
                ..base
            },
            Preset::Stablemax => TrainerConfig {
                loss: LossKind::Stablemax,
                optimizer: OptimizerConfig {
                    beta2: 0.999,
                    ..adamw
                },
                ..base
            },
            Preset::WeightDecay => TrainerConfig {
                optimizer: OptimizerConfig {
                    weight_decay: 4.0,
                    ..adamw
                },
                ..base
            },
        }
    }

    /// The key used in URLs and the npm package.
    pub fn key(self) -> &'static str {
        match self {
            Preset::SoftmaxCollapse => "softmax_collapse",
            Preset::OrthoAdamw => "ortho_adamw",
            Preset::Stablemax => "stablemax",
            Preset::WeightDecay => "weight_decay",
        }
    }
}

impl Default for TrainerConfig {
    /// The paper's setup (science.md §1.4): p = 113, addition, 40 % of the pairs, seed 42,
    /// 226 → 200 → 200 → 113 without biases, softmax CE in `f32`, AdamW lr 0.01,
    /// `β = (0.9, 0.99)`, `ε = 1e-25`, no weight decay, trained in `f32`.
    fn default() -> Self {
        TrainerConfig {
            p: 113,
            op: ModOp::Add,
            train_fraction: 0.4,
            seed: 42,
            hidden: vec![200, 200],
            bias: false,
            loss: LossKind::Softmax,
            softmax_precision: Precision::F32,
            optimizer: OptimizerConfig {
                kind: OptimizerKind::Adamw,
                lr: 0.01,
                beta1: 0.9,
                beta2: 0.99,
                eps: 1e-25,
                momentum: 0.0,
                weight_decay: 0.0,
                orthogonal: Orthogonal::Off,
                reference_quirk: false,
            },
            precision: TrainPrecision::F32,
            eval_every: 1,
        }
    }
}

/// What a configuration needs per run and per epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Trainable parameters.
    pub parameters: u64,
    /// Bytes held while training: the parameters with their gradient, optimizer state and the
    /// previous step's copy; the activations of the training and test sets; the sample tables.
    pub bytes: u64,
    /// Floating-point operations of one training epoch (forward, backward, update; a
    /// multiply-add counts 2; the first layer reads two columns of its weights per sample).
    pub train_flops: u64,
    /// Floating-point operations of one test evaluation (a forward pass over the test set).
    pub eval_flops: u64,
}

fn out_of_range(what: &'static str, value: f64, min: f64, max: f64) -> CoreError {
    CoreError::OutOfRange {
        what,
        value,
        min,
        max,
    }
}

/// `Err` unless `value` is finite and in `[min, max]`.
fn check(what: &'static str, value: f64, min: f64, max: f64) -> Result<(), CoreError> {
    CoreError::check_finite(what, &[value])?;
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(out_of_range(what, value, min, max))
    }
}

/// The largest `f64` below 1: the top of a `[0, 1)` range.
const BELOW_ONE: f64 = 1.0 - f64::EPSILON / 2.0;

impl TrainerConfig {
    /// Layer sizes `2p → hidden… → p`.
    pub fn layer_sizes(&self) -> Vec<usize> {
        let mut sizes = Vec::with_capacity(self.hidden.len() + 2);
        sizes.push(2 * self.p);
        sizes.extend(&self.hidden);
        sizes.push(self.p);
        sizes
    }

    /// Checks every field (each error names its field: `p`, `train_fraction`, `hidden`, `lr`,
    /// `beta1`, `beta2`, `eps`, `momentum`, `weight_decay`, `eval_every`) and the memory the run
    /// needs against [`MEMORY_LIMIT_BYTES`]; returns the cost.
    pub fn validate(&self) -> Result<Cost, CoreError> {
        self.check().map_err(|e| e.error)
    }

    /// [`TrainerConfig::validate`] with the field each error belongs to, typed (for a form).
    pub fn check(&self) -> Result<Cost, ConfigError> {
        let at = |field: ConfigField| move |error: CoreError| ConfigError { field, error };
        if self.p < 2 || self.p > MAX_P {
            return Err(at(ConfigField::P)(out_of_range(
                "p",
                self.p as f64,
                2.0,
                MAX_P as f64,
            )));
        }
        let n = (self.p * self.p) as f64;
        CoreError::check_finite("train_fraction", &[self.train_fraction])
            .map_err(at(ConfigField::TrainFraction))?;
        if !(self.train_fraction > 0.0 && self.train_fraction < 1.0)
            || train_count(self.p, self.train_fraction) < 1
        {
            return Err(at(ConfigField::TrainFraction)(out_of_range(
                "train_fraction",
                self.train_fraction,
                1.0 / n,
                1.0 - 1.0 / n,
            )));
        }
        if self.hidden.len() > MAX_HIDDEN_LAYERS {
            return Err(at(ConfigField::Hidden)(CoreError::InvalidValue {
                what: "hidden",
                reason: format!(
                    "{} hidden layers; give at most {MAX_HIDDEN_LAYERS}",
                    self.hidden.len()
                ),
            }));
        }
        if let Some(&w) = self.hidden.iter().find(|&&w| w == 0 || w > MAX_WIDTH) {
            return Err(at(ConfigField::Hidden)(out_of_range(
                "hidden",
                w as f64,
                1.0,
                MAX_WIDTH as f64,
            )));
        }
        let o = &self.optimizer;
        let adamw = o.kind == OptimizerKind::Adamw;
        let checks = [
            (
                ConfigField::Lr,
                "lr",
                o.lr,
                f64::MIN_POSITIVE,
                f64::MAX,
                true,
            ),
            (
                ConfigField::WeightDecay,
                "weight_decay",
                o.weight_decay,
                0.0,
                f64::MAX,
                true,
            ),
            (ConfigField::Beta1, "beta1", o.beta1, 0.0, BELOW_ONE, adamw),
            (ConfigField::Beta2, "beta2", o.beta2, 0.0, BELOW_ONE, adamw),
            (
                ConfigField::Eps,
                "eps",
                o.eps,
                f64::MIN_POSITIVE,
                f64::MAX,
                adamw,
            ),
            (
                ConfigField::Momentum,
                "momentum",
                o.momentum,
                0.0,
                BELOW_ONE,
                !adamw,
            ),
        ];
        for (field, what, value, min, max, used) in checks {
            if used {
                check(what, value, min, max).map_err(at(field))?;
            }
        }
        if self.eval_every == 0 {
            return Err(at(ConfigField::EvalEvery)(out_of_range(
                "eval_every",
                0.0,
                1.0,
                f64::MAX,
            )));
        }
        let cost = self.cost();
        if cost.bytes > MEMORY_LIMIT_BYTES {
            return Err(at(ConfigField::Memory)(out_of_range(
                "memory (MiB) the configuration needs",
                cost.bytes as f64 / (1 << 20) as f64,
                0.0,
                (MEMORY_LIMIT_BYTES >> 20) as f64,
            )));
        }
        Ok(cost)
    }

    /// Memory and FLOPs (see [`Cost`]); meaningful for any sizes, checked or not.
    pub fn cost(&self) -> Cost {
        let sizes = self.layer_sizes();
        let n = (self.p * self.p) as u64;
        let n_train = train_count(self.p, self.train_fraction).min(self.p * self.p) as u64;
        let n_test = n - n_train;
        let layers = sizes.len() - 1;
        let bias = u64::from(self.bias);
        let parameters: u64 = sizes
            .windows(2)
            .map(|io| (io[0] as u64 + bias) * io[1] as u64)
            .sum();
        let width = |l: usize| sizes[l + 1] as u64;
        let activations: u64 = (0..layers).map(width).sum();
        let widest = (0..layers).map(width).max().unwrap_or(0);
        let value = match self.precision {
            TrainPrecision::F32 => 4,
            TrainPrecision::F64 => 8,
        };
        // θ, ∇θ, two optimizer moments (one for SGD) and θ before the step.
        let per_parameter = match self.optimizer.kind {
            OptimizerKind::Adamw => 5,
            OptimizerKind::Sgd => 4,
        };
        let bytes = value * (per_parameter * parameters + 2 * n_train * activations + 2 * n_test * widest)
            // The sample tables.
            + 12 * n;
        // First layer: two columns summed per sample; then 2·in·out per sample per layer.
        let forward_per_sample: u64 = width(0)
            + (1..layers)
                .map(|l| 2 * sizes[l] as u64 * width(l))
                .sum::<u64>();
        // Backward: the weight gradient and the input gradient of every layer but the first
        // (whose input gradient is not needed; its weight gradient adds two columns per sample).
        let backward_per_sample: u64 = 2 * width(0)
            + (1..layers)
                .map(|l| 4 * sizes[l] as u64 * width(l))
                .sum::<u64>();
        // The loss (~10 flops per logit) and the optimizer (~10 per parameter).
        let train_flops = n_train * (forward_per_sample + backward_per_sample + 10 * self.p as u64)
            + 10 * parameters;
        let eval_flops = n_test * (forward_per_sample + 10 * self.p as u64);
        Cost {
            parameters,
            bytes,
            train_flops,
            eval_flops,
        }
    }
}
