//! The grokking trainer's form: every field of a [`TrainerConfig`] read from the URL, the
//! configuration they make, and its check — each error shown beside the field it belongs to
//! ([`ConfigField`], typed), the memory and FLOPs shown before a run starts.

use leptos::prelude::*;
use scalelab_core::grokking::{
    ConfigError, ConfigField, Cost, LossKind, ModOp, OptimizerConfig, OptimizerKind, Orthogonal,
    Preset, TrainPrecision, TrainerConfig,
};
use scalelab_core::io::parse_numbers;
use scalelab_core::{CoreError, Precision};

use crate::url_state::UrlState;
use crate::widgets::field::{parse_number, parse_whole, Parsed};
use crate::worker::device::Backend;
use crate::worker::jobs::grokking::MAX_EPOCHS;

/// A value typed for a URL field: exact (`Display` of the `f64`), in scientific notation when
/// that is shorter (`1e-25`, not 26 zeros).
pub fn exact_text(v: f64) -> String {
    let plain = v.to_string();
    let sci = format!("{v:e}");
    if sci.len() < plain.len() {
        sci
    } else {
        plain
    }
}

/// One of a few named values, from a select whose value is in the URL.
#[derive(Clone, Copy)]
pub struct Choice<T: Send + Sync + 'static> {
    /// The key in the URL.
    pub key: &'static str,
    /// The current value, or an error for a value the select does not offer.
    pub value: Memo<Result<T, CoreError>>,
    /// The current key text.
    pub text: Signal<String>,
}

impl<T: Copy + PartialEq + Send + Sync + 'static> Choice<T> {
    fn new(
        url: UrlState,
        key: &'static str,
        default: &'static str,
        options: &'static [(&'static str, T)],
    ) -> Choice<T> {
        let raw = url.read(key);
        let text = Signal::derive(move || raw.get().unwrap_or_else(|| default.to_string()));
        let value = Memo::new(move |_| {
            text.with(|t| {
                options
                    .iter()
                    .find(|(k, _)| k == t)
                    .map(|(_, v)| *v)
                    .ok_or_else(|| CoreError::InvalidValue {
                        what: key,
                        reason: format!(
                            "“{t}” is not one of {}",
                            options
                                .iter()
                                .map(|(k, _)| *k)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })
            })
        });
        Choice { key, value, text }
    }

    /// The value when valid.
    pub fn ok(&self) -> Option<T> {
        self.value.get().ok()
    }

    /// The error beside the select.
    pub fn error(&self) -> Signal<Option<String>> {
        let value = self.value;
        Signal::derive(move || value.with(|r| r.as_ref().err().map(|e| e.to_string())))
    }
}

/// The operations.
pub const OPS: &[(&str, ModOp)] = &[
    ("add", ModOp::Add),
    ("subtract", ModOp::Subtract),
    ("multiply", ModOp::Multiply),
];
/// The losses.
pub const LOSSES: &[(&str, LossKind)] = &[
    ("softmax", LossKind::Softmax),
    ("stablemax", LossKind::Stablemax),
];
/// The softmax precisions.
pub const PRECISIONS: &[(&str, Precision)] = &[
    ("f16", Precision::F16),
    ("bf16", Precision::BF16),
    ("f32", Precision::F32),
    ("f64", Precision::F64),
];
/// The optimizers.
pub const OPTIMIZERS: &[(&str, OptimizerKind)] =
    &[("adamw", OptimizerKind::Adamw), ("sgd", OptimizerKind::Sgd)];
/// ⊥Grad.
pub const ORTHOGONAL: &[(&str, Orthogonal)] = &[
    ("off", Orthogonal::Off),
    ("project", Orthogonal::Project),
    ("rescale", Orthogonal::ProjectRescale),
];
/// The training formats.
pub const FORMATS: &[(&str, TrainPrecision)] =
    &[("f32", TrainPrecision::F32), ("f64", TrainPrecision::F64)];
/// Where to train.
pub const BACKENDS: &[(&str, Backend)] = &[("gpu", Backend::Gpu), ("cpu", Backend::Cpu)];
/// Yes or no.
pub const FLAGS: &[(&str, bool)] = &[("0", false), ("1", true)];

fn key_of<T: PartialEq>(options: &[(&'static str, T)], value: &T) -> &'static str {
    options
        .iter()
        .find(|(_, v)| v == value)
        .map_or("", |(k, _)| k)
}

/// Hidden widths typed as a list (`200, 200`; empty for none).
fn parse_hidden(text: &str) -> Result<Vec<usize>, CoreError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    parse_numbers(text, "hidden widths")?
        .into_iter()
        .map(|w| {
            if w.fract() == 0.0 && (0.0..=1e9).contains(&w) {
                Ok(w as usize)
            } else {
                Err(CoreError::InvalidValue {
                    what: "hidden widths",
                    reason: format!("{w} is not a whole number of units"),
                })
            }
        })
        .collect()
}

/// Every field of the form.
#[derive(Clone, Copy)]
pub struct Form {
    pub op: Choice<ModOp>,
    pub p: Parsed<usize>,
    pub fraction: Parsed<f64>,
    pub seed: Parsed<usize>,
    pub hidden: Parsed<Vec<usize>>,
    pub bias: Choice<bool>,
    pub loss: Choice<LossKind>,
    pub softmax_precision: Choice<Precision>,
    pub optimizer: Choice<OptimizerKind>,
    pub orthogonal: Choice<Orthogonal>,
    pub quirk: Choice<bool>,
    pub lr: Parsed<f64>,
    pub beta1: Parsed<f64>,
    pub beta2: Parsed<f64>,
    pub eps: Parsed<f64>,
    pub momentum: Parsed<f64>,
    pub weight_decay: Parsed<f64>,
    pub format: Choice<TrainPrecision>,
    pub eval_every: Parsed<usize>,
    pub epochs: Parsed<usize>,
    /// Where to train (the GPU falls back to the CPU).
    pub backend: Choice<Backend>,
    /// The second run's preset, or none.
    pub compare: Choice<Option<Preset>>,
    /// The configuration of run A, when every field parses.
    pub config: Memo<Option<TrainerConfig>>,
    /// Its check: the cost, or the error with its field.
    pub checked: Memo<Option<Result<Cost, ConfigError>>>,
}

/// The second run's choices: none or a preset.
pub const COMPARE: &[(&str, Option<Preset>)] = &[
    ("none", None),
    ("softmax_collapse", Some(Preset::SoftmaxCollapse)),
    ("ortho_adamw", Some(Preset::OrthoAdamw)),
    ("stablemax", Some(Preset::Stablemax)),
    ("weight_decay", Some(Preset::WeightDecay)),
];

impl Form {
    /// The form over the URL's `g_*` keys, defaults from [`TrainerConfig::default`].
    pub fn new(url: UrlState) -> Form {
        let d = TrainerConfig::default();
        let o = d.optimizer;
        let number = |key: &'static str, what: &'static str, v: f64| {
            Parsed::new(url, key, exact_text(v), move |t| parse_number(t, what))
        };
        let op = Choice::new(url, "g_op", "add", OPS);
        let p = Parsed::new(url, "g_p", d.p.to_string(), |t| {
            parse_whole(t, "p", 0, 1_000_000_000)
        });
        let fraction = number("g_frac", "train fraction", d.train_fraction);
        let seed = Parsed::new(url, "g_seed", d.seed.to_string(), |t| {
            parse_whole(t, "seed", 0, u32::MAX as usize)
        });
        let hidden = Parsed::new(url, "g_h", "200, 200", parse_hidden);
        let bias = Choice::new(url, "g_bias", "0", FLAGS);
        let loss = Choice::new(url, "g_loss", "softmax", LOSSES);
        let softmax_precision = Choice::new(url, "g_sp", "f32", PRECISIONS);
        let optimizer = Choice::new(url, "g_opt", "adamw", OPTIMIZERS);
        let orthogonal = Choice::new(url, "g_orth", "off", ORTHOGONAL);
        let quirk = Choice::new(url, "g_quirk", "0", FLAGS);
        let lr = number("g_lr", "learning rate", o.lr);
        let beta1 = number("g_b1", "β₁", o.beta1);
        let beta2 = number("g_b2", "β₂", o.beta2);
        let eps = number("g_eps", "ε", o.eps);
        let momentum = number("g_mom", "momentum", o.momentum);
        let weight_decay = number("g_wd", "weight decay", o.weight_decay);
        let format = Choice::new(url, "g_tp", "f32", FORMATS);
        let eval_every = Parsed::new(url, "g_every", "1", |t| {
            parse_whole(t, "evaluate every", 1, 1_000_000)
        });
        let epochs = Parsed::new(url, "g_ep", "1000", |t| {
            parse_whole(t, "epochs", 1, MAX_EPOCHS as usize)
        });
        let backend = Choice::new(url, "g_be", "gpu", BACKENDS);
        let compare = Choice::new(url, "g_cmp", "none", COMPARE);
        let config = Memo::new(move |_| -> Option<TrainerConfig> {
            Some(TrainerConfig {
                p: p.ok()?,
                op: op.ok()?,
                train_fraction: fraction.ok()?,
                seed: seed.ok()? as u64,
                hidden: hidden.ok()?,
                bias: bias.ok()?,
                loss: loss.ok()?,
                softmax_precision: softmax_precision.ok()?,
                optimizer: OptimizerConfig {
                    kind: optimizer.ok()?,
                    lr: lr.ok()?,
                    beta1: beta1.ok()?,
                    beta2: beta2.ok()?,
                    eps: eps.ok()?,
                    momentum: momentum.ok()?,
                    weight_decay: weight_decay.ok()?,
                    orthogonal: orthogonal.ok()?,
                    reference_quirk: quirk.ok()?,
                },
                precision: format.ok()?,
                eval_every: eval_every.ok()?,
            })
        });
        let checked = Memo::new(move |_| config.with(|c| c.as_ref().map(TrainerConfig::check)));
        Form {
            op,
            p,
            fraction,
            seed,
            hidden,
            bias,
            loss,
            softmax_precision,
            optimizer,
            orthogonal,
            quirk,
            lr,
            beta1,
            beta2,
            eps,
            momentum,
            weight_decay,
            format,
            eval_every,
            epochs,
            backend,
            compare,
            config,
            checked,
        }
    }

    /// The check's error if it belongs to `field`.
    pub fn config_error(&self, field: ConfigField) -> Signal<Option<String>> {
        let checked = self.checked;
        Signal::derive(move || {
            checked.with(|c| match c {
                Some(Err(e)) if e.field == field => Some(e.error.to_string()),
                _ => None,
            })
        })
    }

    /// A number field's error: its parse error, else the check's for its field.
    pub fn error_of<T: Clone + PartialEq + Send + Sync + 'static>(
        &self,
        parsed: Parsed<T>,
        field: ConfigField,
    ) -> Signal<Option<String>> {
        let parse = parsed.error();
        let check = self.config_error(field);
        Signal::derive(move || parse.get().or_else(|| check.get()))
    }

    /// The runs to train: A, and B (A's task, model and format with the preset's loss and
    /// optimizer) when a comparison is chosen — on the same split, from the same initial weights.
    pub fn runs(&self) -> Option<Vec<TrainerConfig>> {
        let a = self.config.get_untracked()?;
        if !matches!(self.checked.get_untracked(), Some(Ok(_))) {
            return None;
        }
        let mut runs = vec![a.clone()];
        if let Ok(Some(preset)) = self.compare.value.get_untracked() {
            let pc = preset.config();
            runs.push(TrainerConfig {
                loss: pc.loss,
                softmax_precision: pc.softmax_precision,
                optimizer: pc.optimizer,
                ..a
            });
        }
        Some(runs)
    }

    /// Writes a preset's loss and optimizer into the URL (the task and model stay).
    pub fn apply(url: UrlState, preset: Preset) {
        let c = preset.config();
        let o = c.optimizer;
        url.set_many(&[
            ("g_loss", Some(key_of(LOSSES, &c.loss).into())),
            (
                "g_sp",
                Some(key_of(PRECISIONS, &c.softmax_precision).into()),
            ),
            ("g_opt", Some(key_of(OPTIMIZERS, &o.kind).into())),
            ("g_orth", Some(key_of(ORTHOGONAL, &o.orthogonal).into())),
            ("g_quirk", Some(key_of(FLAGS, &o.reference_quirk).into())),
            ("g_lr", Some(exact_text(o.lr))),
            ("g_b1", Some(exact_text(o.beta1))),
            ("g_b2", Some(exact_text(o.beta2))),
            ("g_eps", Some(exact_text(o.eps))),
            ("g_mom", Some(exact_text(o.momentum))),
            ("g_wd", Some(exact_text(o.weight_decay))),
        ]);
    }

    /// The preset whose loss and optimizer the form holds, if any.
    pub fn preset(&self) -> Option<Preset> {
        let c = self.config.get()?;
        Preset::ALL.into_iter().find(|p| {
            let pc = p.config();
            pc.loss == c.loss
                && pc.softmax_precision == c.softmax_precision
                && pc.optimizer == c.optimizer
        })
    }
}
