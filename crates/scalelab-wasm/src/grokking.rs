//! The grokking trainer (`scalelab_core::grokking`): the `Trainer` class, one full-batch epoch of
//! modular arithmetic per step with the paper's metrics.
//!
//! Configurations cross in camelCase with every key checked (serde-wasm-bindgen ignores unknown
//! fields); a missing key takes [`TrainerConfig::default`]'s value (the paper's setup). Each key is
//! read on its own, so a value of the wrong type and every error of
//! [`TrainerConfig::check`] name their field (the JS error's `field`).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Float64Array, Object, Promise, Reflect};
use scalelab_core::grokking::{
    self, ConfigField, Cost, EpochMetrics, LossKind, ModOp, OptimizerConfig, OptimizerKind,
    Orthogonal, Preset, TestMetrics, TrainPrecision, TrainerConfig,
};
use scalelab_core::{CoreError, Precision};
use scalelab_gpu::{GpuContext, GpuError, GpuTrainError, GpuTrainer};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::compute::{ComputeContext, ComputeFallback};
use crate::to_js;

use crate::error::Field;
use crate::ScalelabError;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** The operation of the modular-arithmetic task: `(a ∘ b) mod p`. */
export type ModOp = "add" | "subtract" | "multiply";
/** The training format: `f32` (the fast path, PyTorch's default) or `f64` (the reference). */
export type TrainPrecision = "f32" | "f64";
/** ⊥Grad: off, the paper's projection, or the reference code's projection rescaled to ‖g‖. */
export type Orthogonal = "off" | "project" | "project_rescale";
/** The optimizer and its hyper-parameters (those of the other kind are ignored). */
export interface OptimizerConfig {
  kind: "adamw" | "sgd";
  /** Learning rate, > 0. */
  lr: number;
  /** AdamW's β₁, β₂ ∈ [0, 1) and ε > 0. */
  beta1: number; beta2: number; eps: number;
  /** SGD's momentum ∈ [0, 1). */
  momentum: number;
  /** ≥ 0: decoupled for AdamW, added to the gradient for SGD. */
  weightDecay: number;
  orthogonal: Orthogonal;
  /** ⊥AdamW as the paper's code runs it: β = (0.9, 0.999), ε = 1e-8 whatever is given. */
  referenceQuirk: boolean;
}
/** One training run (the defaults: the paper's setup, p = 113, addition, 40 % train, seed 42,
 *  hidden [200, 200], no biases, softmax CE in f32, AdamW lr 0.01, β (0.9, 0.99), ε 1e-25). */
export interface TrainerConfig {
  /** The modulus, 2 … 8192 (the number of classes). */
  p: number;
  op: ModOp;
  /** Fraction of the p² pairs trained on, in (0, 1). */
  trainFraction: number;
  /** Seed of the split and of the initial weights. */
  seed: number;
  /** Hidden widths (at most 8 layers, each 1 … 65536). */
  hidden: number[];
  /** Biases in every layer. */
  bias: boolean;
  loss: Loss;
  /** The format the logits are rounded to before the softmax, and in which Softmax Collapse is measured. */
  softmaxPrecision: Precision;
  optimizer: OptimizerConfig;
  precision: TrainPrecision;
  /** The test set and the Fourier view are evaluated every this many epochs (≥ 1). */
  evalEvery: number;
}
/** A configuration as given: any key left out takes the default's value (nested in `optimizer` too). */
export type TrainerConfigInput = Partial<Omit<TrainerConfig, "optimizer">> & { optimizer?: Partial<OptimizerConfig> };
/** A given start, to replay another implementation's run: the training sample indices
 *  (`a·p + b`; the test set is the rest) and the initial tensors `W1, [b1,] W2, …` in PyTorch's
 *  layout (`W` as `[out, in]` row-major). The configuration's `trainFraction` and `seed` are then unused. */
export interface TrainerStart {
  train: number[] | Uint32Array;
  tensors: (Float64Array | Float32Array | number[])[];
}
/** The named starting points of the paper's phenomena. */
export type TrainerPreset = "softmax_collapse" | "ortho_adamw" | "stablemax" | "weight_decay";
/** Loss and accuracy on the test set. */
export interface TestMetrics { loss: number; accuracy: number; }
/** The metrics of one epoch (1-based): they describe the weights before the epoch's step. */
export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  /** At the evaluated epochs (the first, then every `evalEvery`), else null. */
  test: TestMetrics | null;
  /** Softmax Collapse: the fraction of training rows whose shifted exp-sum is exactly 1. */
  scFraction: number;
  zeroLossFraction: number;
  /** Mean L2 norm of the training logit rows. */
  logitNorm: number;
  /** ‖w‖₂ of every tensor (W1, [b1,] W2, …). */
  weightNorms: number[];
  /** cos(θₑ − θₑ₋₁, θₑ₋₁) of every tensor (0 when either is 0). */
  updateCosine: number[];
}
/** Memory and FLOPs of a configuration. */
export interface TrainerCost { parameters: number; bytes: number; trainFlops: number; evalFlops: number; }
/** The sample indices `a·p + b` of each side of the split. */
export interface TrainerSplit { train: number[]; test: number[]; }
/** A parameter tensor in PyTorch's layout. */
export interface TrainerTensor { name: string; shape: number[]; values: Float64Array; }
/** Power per frequency 0 … ⌊p/2⌋ of the first layer's embeddings of each operand. */
export interface FourierSpectrum { first: Float64Array; second: Float64Array; }
"#;

type Result<T> = std::result::Result<T, ScalelabError>;

fn set(obj: &Object, key: &str, value: &JsValue) {
    // Defining a property on a fresh plain object cannot fail.
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

/// An error in the input field `field`.
fn in_field(field: Field, what: &'static str, reason: impl std::fmt::Display) -> ScalelabError {
    ScalelabError::InField {
        field,
        error: CoreError::InvalidValue {
            what,
            reason: reason.to_string(),
        },
    }
}

/// The own keys of a plain object with their values (undefined values left out: not given);
/// `what` names the object in the error if `value` is not one.
fn entries(what: &'static str, value: JsValue) -> Result<Vec<(String, JsValue)>> {
    if !value.is_object() || Array::is_array(&value) {
        return Err(CoreError::InvalidValue {
            what,
            reason: "must be an object".into(),
        }
        .into());
    }
    let obj = Object::from(value);
    Ok(Object::keys(&obj)
        .iter()
        .filter_map(|key| {
            let value = Reflect::get(&obj, &key).ok()?;
            (!value.is_undefined()).then(|| (key.as_string().unwrap_or_default(), value))
        })
        .collect())
}

fn unknown(what: &'static str, key: &str, known: &[&str]) -> ScalelabError {
    in_field(
        Field::Key(key.to_owned()),
        what,
        format!("unknown key “{key}” (known: {})", known.join(", ")),
    )
}

/// The value of the key whose field the core calls `name` (its serde name).
fn read<T: DeserializeOwned>(value: JsValue, field: Field, name: &'static str) -> Result<T> {
    serde_wasm_bindgen::from_value(value).map_err(|e| {
        let reason = e.to_string();
        // serde-wasm-bindgen's errors are JS `Error`s, written "Error: …".
        let reason = reason.strip_prefix("Error: ").unwrap_or(&reason);
        in_field(field, name, reason)
    })
}

/// The JS keys of [`TrainerConfig`] (camelCase) and of its optimizer.
const CONFIG_KEYS: [&str; 11] = [
    "p",
    "op",
    "trainFraction",
    "seed",
    "hidden",
    "bias",
    "loss",
    "softmaxPrecision",
    "optimizer",
    "precision",
    "evalEvery",
];
const OPTIMIZER_KEYS: [&str; 9] = [
    "kind",
    "lr",
    "beta1",
    "beta2",
    "eps",
    "momentum",
    "weightDecay",
    "orthogonal",
    "referenceQuirk",
];

/// A configuration from JS: the default with each given key read over it.
fn config_from_js(value: Option<Object>) -> Result<TrainerConfig> {
    let mut c = TrainerConfig::default();
    let Some(value) = value else {
        return Ok(c);
    };
    use ConfigField as F;
    let key = |name: &str| Field::Key(name.to_owned());
    for (k, v) in entries("trainer config", value.into())? {
        match k.as_str() {
            "p" => c.p = read(v, Field::Config(F::P), "p")?,
            "op" => c.op = read::<ModOp>(v, key("op"), "op")?,
            "trainFraction" => {
                c.train_fraction = read(v, Field::Config(F::TrainFraction), "train_fraction")?
            }
            "seed" => c.seed = read(v, key("seed"), "seed")?,
            "hidden" => c.hidden = read(v, Field::Config(F::Hidden), "hidden")?,
            "bias" => c.bias = read(v, key("bias"), "bias")?,
            "loss" => c.loss = read::<LossKind>(v, key("loss"), "loss")?,
            "softmaxPrecision" => {
                c.softmax_precision =
                    read::<Precision>(v, key("softmax_precision"), "softmax_precision")?
            }
            "optimizer" => c.optimizer = optimizer_from_js(c.optimizer, v)?,
            "precision" => c.precision = read::<TrainPrecision>(v, key("precision"), "precision")?,
            "evalEvery" => c.eval_every = read(v, Field::Config(F::EvalEvery), "eval_every")?,
            other => return Err(unknown("trainer config", other, &CONFIG_KEYS)),
        }
    }
    Ok(c)
}

fn optimizer_from_js(mut o: OptimizerConfig, value: JsValue) -> Result<OptimizerConfig> {
    use ConfigField as F;
    let key = |name: &str| Field::Key(name.to_owned());
    for (k, v) in entries("optimizer", value)? {
        match k.as_str() {
            "kind" => o.kind = read::<OptimizerKind>(v, key("kind"), "kind")?,
            "lr" => o.lr = read(v, Field::Config(F::Lr), "lr")?,
            "beta1" => o.beta1 = read(v, Field::Config(F::Beta1), "beta1")?,
            "beta2" => o.beta2 = read(v, Field::Config(F::Beta2), "beta2")?,
            "eps" => o.eps = read(v, Field::Config(F::Eps), "eps")?,
            "momentum" => o.momentum = read(v, Field::Config(F::Momentum), "momentum")?,
            "weightDecay" => {
                o.weight_decay = read(v, Field::Config(F::WeightDecay), "weight_decay")?
            }
            "orthogonal" => o.orthogonal = read::<Orthogonal>(v, key("orthogonal"), "orthogonal")?,
            "referenceQuirk" => {
                o.reference_quirk = read(v, key("reference_quirk"), "reference_quirk")?
            }
            other => return Err(unknown("optimizer", other, &OPTIMIZER_KEYS)),
        }
    }
    Ok(o)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OptimizerJs {
    kind: OptimizerKind,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    momentum: f64,
    weight_decay: f64,
    orthogonal: Orthogonal,
    reference_quirk: bool,
}

/// [`TrainerConfig`] with the keys of [`CONFIG_KEYS`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigJs<'a> {
    p: usize,
    op: ModOp,
    train_fraction: f64,
    seed: u64,
    hidden: &'a [usize],
    bias: bool,
    loss: LossKind,
    softmax_precision: Precision,
    optimizer: OptimizerJs,
    precision: TrainPrecision,
    eval_every: usize,
}

fn config_to_js(c: &TrainerConfig) -> JsValue {
    let o = &c.optimizer;
    to_js(&ConfigJs {
        p: c.p,
        op: c.op,
        train_fraction: c.train_fraction,
        seed: c.seed,
        hidden: &c.hidden,
        bias: c.bias,
        loss: c.loss,
        softmax_precision: c.softmax_precision,
        optimizer: OptimizerJs {
            kind: o.kind,
            lr: o.lr,
            beta1: o.beta1,
            beta2: o.beta2,
            eps: o.eps,
            momentum: o.momentum,
            weight_decay: o.weight_decay,
            orthogonal: o.orthogonal,
            reference_quirk: o.reference_quirk,
        },
        precision: c.precision,
        eval_every: c.eval_every,
    })
}

/// [`EpochMetrics`] in camelCase.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EpochJs<'a> {
    epoch: u64,
    train_loss: f64,
    train_accuracy: f64,
    test: Option<TestMetrics>,
    sc_fraction: f64,
    zero_loss_fraction: f64,
    logit_norm: f64,
    weight_norms: &'a [f64],
    update_cosine: &'a [f64],
}

impl<'a> From<&'a EpochMetrics> for EpochJs<'a> {
    fn from(m: &'a EpochMetrics) -> Self {
        EpochJs {
            epoch: m.epoch,
            train_loss: m.train_loss,
            train_accuracy: m.train_accuracy,
            test: m.test,
            sc_fraction: m.sc_fraction,
            zero_loss_fraction: m.zero_loss_fraction,
            logit_norm: m.logit_norm,
            weight_norms: &m.weight_norms,
            update_cosine: &m.update_cosine,
        }
    }
}

/// [`Cost`] in camelCase, as numbers (FLOP counts can pass 2⁵³, where a number rounds).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CostJs {
    parameters: f64,
    bytes: f64,
    train_flops: f64,
    eval_flops: f64,
}

/// The start of a replay: `{ train, tensors }`, both required.
fn start_from_js(value: JsValue) -> Result<(Vec<usize>, Vec<Vec<f64>>)> {
    const KEYS: [&str; 2] = ["train", "tensors"];
    let (mut train, mut tensors) = (None, None);
    for (k, v) in entries("trainer start", value)? {
        match k.as_str() {
            "train" => train = Some(read(v, Field::Key(k), "train")?),
            "tensors" => tensors = Some(read(v, Field::Key(k), "tensors")?),
            other => return Err(unknown("trainer start", other, &KEYS)),
        }
    }
    match (train, tensors) {
        (Some(train), Some(tensors)) => Ok((train, tensors)),
        (None, _) => Err(in_field(
            Field::Key("train".into()),
            "trainer start",
            "give the training sample indices as `train`",
        )),
        (_, None) => Err(in_field(
            Field::Key("tensors".into()),
            "trainer start",
            "give the initial tensors (W1, [b1,] W2, …) as `tensors`",
        )),
    }
}

/// A grokking run (Prieto et al. 2025): modular arithmetic `(a ∘ b) mod p` learned by an MLP
/// with full-batch training, one epoch per step, in f32 (the fast CPU path) or f64.
///
/// `new Trainer(config?, start?)`: any configuration key left out takes the paper's setup
/// (`Trainer.preset("softmax_collapse")`); a bad value is an `Error` whose `name` is the code and
/// whose `field` names the field. `dispose()` frees the run; any call after it throws `Disposed`.
///
/// `await trainer.useGpu(compute)` moves the run onto a `ComputeContext`'s GPU (WebGPU), where
/// `await trainer.stepAsync(n)` trains it; with an `auto` context a lost device continues the run
/// on the CPU from its last finished epoch (`fallbackReason` says so).
#[wasm_bindgen]
pub struct Trainer {
    slot: Rc<RefCell<Slot>>,
    /// Why a run asked for the GPU is on the CPU.
    fallback_reason: Rc<RefCell<Option<String>>>,
}

/// Where a run is.
#[allow(clippy::large_enum_variant)] // One per Trainer, moved a few times per run.
enum Engine {
    Cpu(grokking::Trainer),
    Gpu {
        run: Box<GpuTrainer>,
        ctx: Rc<GpuContext>,
        fallback: ComputeFallback,
    },
}

impl Engine {
    fn trainer(&self) -> &grokking::Trainer {
        match self {
            Engine::Cpu(t) => t,
            Engine::Gpu { run, .. } => run.trainer(),
        }
    }
}

/// A run, or why there is none to use now.
#[allow(clippy::large_enum_variant)] // One per Trainer.
enum Slot {
    Ready(Engine),
    /// An asynchronous call holds the run.
    Busy,
    Disposed,
}

#[wasm_bindgen]
impl Trainer {
    /// A run from its configuration (the seeded split and PyTorch's default initialisation), or
    /// from a given `start` (training indices and initial tensors) to replay another run.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "TrainerConfigInput")] config: Option<
            Object,
        >,
        #[wasm_bindgen(unchecked_optional_param_type = "TrainerStart")] start: Option<Object>,
    ) -> Result<Trainer> {
        let config = config_from_js(config)?;
        config.check()?;
        let run = match start {
            None => grokking::Trainer::new(config)?,
            Some(start) => {
                let (train, tensors) = start_from_js(start.into())?;
                grokking::Trainer::with_start(config, train, &tensors)?
            }
        };
        Ok(Trainer {
            slot: Rc::new(RefCell::new(Slot::Ready(Engine::Cpu(run)))),
            fallback_reason: Rc::new(RefCell::new(None)),
        })
    }

    /// The full configuration of a preset: `"softmax_collapse"` (the paper's setup),
    /// `"ortho_adamw"`, `"stablemax"` or `"weight_decay"`.
    #[wasm_bindgen(unchecked_return_type = "TrainerConfig")]
    pub fn preset(
        #[wasm_bindgen(unchecked_param_type = "TrainerPreset")] name: &str,
    ) -> Result<JsValue> {
        let preset = Preset::ALL
            .into_iter()
            .find(|p| p.key() == name)
            .ok_or_else(|| CoreError::InvalidValue {
                what: "preset",
                reason: format!("“{name}”: use {}", Preset::ALL.map(Preset::key).join(", ")),
            })?;
        Ok(config_to_js(&preset.config()))
    }

    /// `n` epochs (default 1, a whole number ≥ 1), each one full-batch step; their metrics.
    /// A diverged run throws (`NonFinite`, `OutOfRange`): the epochs before it count in `epoch`,
    /// and the run cannot continue (make a new `Trainer`).
    #[wasm_bindgen(unchecked_return_type = "EpochMetrics[]")]
    pub fn step(&mut self, n: Option<f64>) -> Result<JsValue> {
        let n = n.unwrap_or(1.0);
        let n = epochs_arg(n)?;
        let metrics = self.with_mut(|engine| match engine {
            Engine::Cpu(run) => (0..n)
                .map(|_| run.step())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(ScalelabError::from),
            Engine::Gpu { .. } => Err(CoreError::InvalidValue {
                what: "step",
                reason: "this Trainer is on the GPU: use await stepAsync(n), or useCpu() first"
                    .into(),
            }
            .into()),
        })??;
        Ok(metrics_to_js(&metrics))
    }

    /// `n` epochs (default 1) on the run's backend — the GPU after `useGpu`, else the CPU — as a
    /// promise of their metrics. While it runs, other calls throw `Busy`. On the GPU of an `auto`
    /// context a lost device moves the run to the CPU from its last finished epoch and training
    /// goes on there (`backend` becomes `"cpu"`, `fallbackReason` says why).
    #[wasm_bindgen(js_name = stepAsync, unchecked_return_type = "Promise<EpochMetrics[]>")]
    pub fn step_async(&self, n: Option<f64>) -> Promise {
        let slot = Rc::clone(&self.slot);
        let reason = Rc::clone(&self.fallback_reason);
        // Taken now, not when the promise first runs: a call right after this one sees `Busy`.
        let taken = epochs_arg(n.unwrap_or(1.0)).and_then(|n| Ok((n, take(&slot)?)));
        future_to_promise(async move {
            let (n, mut engine) = taken?;
            let mut metrics = Vec::with_capacity(n as usize);
            let mut failure = None;
            for _ in 0..n {
                let result = match &mut engine {
                    Engine::Cpu(run) => run.step().map_err(ScalelabError::from),
                    Engine::Gpu { run, ctx, .. } => match run.step(ctx).await {
                        Err(GpuTrainError::Gpu(GpuError::DeviceLost { reason: lost })) => {
                            match engine {
                                Engine::Gpu { run, fallback, .. } if fallback.allowed() => {
                                    fallback.lost(&lost);
                                    *reason.borrow_mut() = Some(format!(
                                        "the GPU device was lost ({lost}); the run continues on the CPU from epoch {}",
                                        run.trainer().epoch()
                                    ));
                                    let mut cpu = run.into_cpu();
                                    let r = cpu.step().map_err(ScalelabError::from);
                                    engine = Engine::Cpu(cpu);
                                    r
                                }
                                other => {
                                    engine = other;
                                    Err(GpuError::DeviceLost { reason: lost }.into())
                                }
                            }
                        }
                        other => other.map_err(ScalelabError::from),
                    },
                };
                match result {
                    Ok(m) => metrics.push(m),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            put_back(&slot, engine);
            match failure {
                Some(e) => Err(e.into()),
                None => Ok(metrics_to_js(&metrics)),
            }
        })
    }

    /// Moves the run onto `compute`'s GPU; resolves to the backend it is on afterwards:
    /// `"webgpu"`, or `"cpu"` when `compute` runs on the CPU (`fallbackReason` says why). An f64
    /// run throws `InvalidValue` (the GPU trains in f32), a run too large for the device
    /// `TooLarge`.
    #[wasm_bindgen(js_name = useGpu, unchecked_return_type = "Promise<\"webgpu\" | \"cpu\">")]
    pub fn use_gpu(&self, compute: &ComputeContext) -> Promise {
        let slot = Rc::clone(&self.slot);
        let reason = Rc::clone(&self.fallback_reason);
        let device = compute.device();
        let compute_reason = compute.fallback_reason();
        let taken = take(&slot);
        future_to_promise(async move {
            let engine = taken?;
            let (engine, result) = match (engine, device) {
                (Engine::Cpu(trainer), Some((ctx, fallback))) => {
                    let kept = trainer.clone();
                    match GpuTrainer::resume(&ctx, trainer).await {
                        Ok(run) => {
                            *reason.borrow_mut() = None;
                            (
                                Engine::Gpu {
                                    run: Box::new(run),
                                    ctx,
                                    fallback,
                                },
                                Ok("webgpu"),
                            )
                        }
                        Err(e) => (Engine::Cpu(kept), Err(ScalelabError::from(e))),
                    }
                }
                (Engine::Cpu(trainer), None) => {
                    *reason.borrow_mut() = compute_reason;
                    (Engine::Cpu(trainer), Ok("cpu"))
                }
                (gpu @ Engine::Gpu { .. }, _) => (gpu, Ok("webgpu")),
            };
            put_back(&slot, engine);
            result.map(JsValue::from_str).map_err(Into::into)
        })
    }

    /// Moves the run to the CPU (it continues from its last epoch); nothing if it is there.
    #[wasm_bindgen(js_name = useCpu)]
    pub fn use_cpu(&self) -> Result<()> {
        let engine = take(&self.slot)?;
        let engine = match engine {
            Engine::Gpu { run, .. } => Engine::Cpu(run.into_cpu()),
            cpu => cpu,
        };
        put_back(&self.slot, engine);
        Ok(())
    }

    /// `"webgpu"` after `useGpu` on a GPU context (until a lost device or `useCpu`), else `"cpu"`.
    #[wasm_bindgen(getter, unchecked_return_type = "\"webgpu\" | \"cpu\"")]
    pub fn backend(&self) -> Result<String> {
        self.with(|e| match e {
            Engine::Cpu(_) => "cpu".to_owned(),
            Engine::Gpu { .. } => "webgpu".to_owned(),
        })
    }

    /// Why a run moved to (or stayed on) the CPU after `useGpu`; undefined otherwise.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.fallback_reason.borrow().clone()
    }

    /// The test loss and accuracy of the current weights.
    #[wasm_bindgen(unchecked_return_type = "TestMetrics")]
    pub fn evaluate(&mut self) -> Result<JsValue> {
        let metrics = self.with_mut(|e| match e {
            Engine::Cpu(run) => run.evaluate(),
            Engine::Gpu { run, .. } => run.evaluate(),
        })??;
        Ok(to_js(&metrics))
    }

    /// Epochs taken.
    #[wasm_bindgen(getter)]
    pub fn epoch(&self) -> Result<f64> {
        self.run(|t| t.epoch() as f64)
    }

    /// The full configuration.
    #[wasm_bindgen(getter, unchecked_return_type = "TrainerConfig")]
    pub fn config(&self) -> Result<JsValue> {
        self.run(|t| config_to_js(t.config()))
    }

    /// Parameters, bytes held while training, FLOPs of a training epoch and of a test evaluation.
    #[wasm_bindgen(getter, unchecked_return_type = "TrainerCost")]
    pub fn cost(&self) -> Result<JsValue> {
        let c: Cost = self.run(grokking::Trainer::cost)?;
        Ok(to_js(&CostJs {
            parameters: c.parameters as f64,
            bytes: c.bytes as f64,
            train_flops: c.train_flops as f64,
            eval_flops: c.eval_flops as f64,
        }))
    }

    /// The training and test sample indices (`a·p + b`).
    #[wasm_bindgen(getter, unchecked_return_type = "TrainerSplit")]
    pub fn split(&self) -> Result<JsValue> {
        let s = self.run(|t| t.split().clone())?;
        let out = Object::new();
        set(&out, "train", &to_js(&s.train));
        set(&out, "test", &to_js(&s.test));
        Ok(out.into())
    }

    /// The current parameter tensors in PyTorch's layout (`W` as `[out, in]` row-major).
    #[wasm_bindgen(unchecked_return_type = "TrainerTensor[]")]
    pub fn tensors(&self) -> Result<JsValue> {
        let out = Array::new();
        for t in self.run(grokking::Trainer::tensors)? {
            let obj = Object::new();
            set(&obj, "name", &JsValue::from_str(&t.name));
            set(&obj, "shape", &to_js(&t.shape));
            set(&obj, "values", &Float64Array::from(&t.values[..]).into());
            out.push(&obj);
        }
        Ok(out.into())
    }

    /// The Fourier view of the current first layer: power per frequency of each operand's embedding.
    #[wasm_bindgen(unchecked_return_type = "FourierSpectrum")]
    pub fn fourier(&self) -> Result<JsValue> {
        let f = self.run(grokking::Trainer::fourier)?;
        let out = Object::new();
        set(&out, "first", &Float64Array::from(&f.first[..]).into());
        set(&out, "second", &Float64Array::from(&f.second[..]).into());
        Ok(out.into())
    }

    /// Frees the run (its weights and activations) now; any later call throws `Disposed`.
    /// Calling it again does nothing.
    pub fn dispose(&mut self) {
        *self.slot.borrow_mut() = Slot::Disposed;
    }
}

/// `n` as a number of epochs: a whole number in `1 ..= u32::MAX`.
fn epochs_arg(n: f64) -> Result<u32> {
    const MAX: f64 = u32::MAX as f64;
    if (1.0..=MAX).contains(&n) && n.fract() == 0.0 {
        Ok(n as u32)
    } else {
        Err(CoreError::OutOfRange {
            what: "n (epochs to step, a whole number)",
            value: n,
            min: 1.0,
            max: MAX,
        }
        .into())
    }
}

fn metrics_to_js(metrics: &[EpochMetrics]) -> JsValue {
    let dtos: Vec<EpochJs<'_>> = metrics.iter().map(EpochJs::from).collect();
    to_js(&dtos)
}

/// The error for a slot that holds no run.
fn unavailable(slot: &Slot) -> ScalelabError {
    match slot {
        Slot::Busy => ScalelabError::Busy { what: "Trainer" },
        _ => ScalelabError::Disposed { what: "Trainer" },
    }
}

/// Takes the run out for an asynchronous call (the slot is `Busy` meanwhile).
fn take(slot: &RefCell<Slot>) -> Result<Engine> {
    let mut slot = slot.borrow_mut();
    match std::mem::replace(&mut *slot, Slot::Busy) {
        Slot::Ready(engine) => Ok(engine),
        other => {
            let err = unavailable(&other);
            *slot = other;
            Err(err)
        }
    }
}

/// Puts the run back, unless the trainer was disposed meanwhile.
fn put_back(slot: &RefCell<Slot>, engine: Engine) {
    let mut slot = slot.borrow_mut();
    if matches!(*slot, Slot::Busy) {
        *slot = Slot::Ready(engine);
    }
}

impl Trainer {
    fn with<T>(&self, f: impl FnOnce(&Engine) -> T) -> Result<T> {
        match &*self.slot.borrow() {
            Slot::Ready(engine) => Ok(f(engine)),
            other => Err(unavailable(other)),
        }
    }

    fn with_mut<T>(&self, f: impl FnOnce(&mut Engine) -> T) -> Result<T> {
        match &mut *self.slot.borrow_mut() {
            Slot::Ready(engine) => Ok(f(engine)),
            other => Err(unavailable(other)),
        }
    }

    fn run<T>(&self, f: impl FnOnce(&grokking::Trainer) -> T) -> Result<T> {
        self.with(|e| f(e.trainer()))
    }
}
