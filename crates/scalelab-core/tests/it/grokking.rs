//! The grokking trainer against PyTorch (`tests/vectors/grokking_torch.py`: the paper's training
//! loop in torch on CPU, replayed here from the same initial weights and split), the `f32` path
//! against the `f64` reference, the Fourier view against numpy's FFT, the configuration's checks.

use scalelab_core::grokking::{
    LossKind, ModOp, OptimizerConfig, OptimizerKind, Orthogonal, TrainPrecision, Trainer,
    TrainerConfig,
};
use scalelab_core::Precision;
use serde_json::Value;

const VECTORS: &str = include_str!("../../../../tests/vectors/grokking_torch.json");

fn f(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("a list").iter().map(f).collect()
}

/// A torch run's configuration as ours.
fn config_of(c: &Value) -> TrainerConfig {
    let o = &c["optimizer"];
    let kind = o["kind"].as_str().unwrap();
    let get = |k: &str, d: f64| o.get(k).map_or(d, f);
    let loss = &c["loss"];
    TrainerConfig {
        p: c["p"].as_u64().unwrap() as usize,
        op: match c["op"].as_str().unwrap() {
            "add" => ModOp::Add,
            "subtract" => ModOp::Subtract,
            "multiply" => ModOp::Multiply,
            other => panic!("op {other}"),
        },
        train_fraction: f(&c["train_fraction"]),
        seed: c["seed"].as_u64().unwrap(),
        hidden: c["hidden"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_u64().unwrap() as usize)
            .collect(),
        bias: c["bias"].as_bool().unwrap(),
        loss: match loss["kind"].as_str().unwrap() {
            "softmax" => LossKind::Softmax,
            _ => LossKind::Stablemax,
        },
        softmax_precision: loss
            .get("precision")
            .map_or(Precision::F32, |p| p.as_str().unwrap().parse().unwrap()),
        optimizer: OptimizerConfig {
            kind: if kind.ends_with("sgd") {
                OptimizerKind::Sgd
            } else {
                OptimizerKind::Adamw
            },
            lr: get("lr", 0.0),
            beta1: get("beta1", 0.9),
            beta2: get("beta2", 0.999),
            eps: get("eps", 1e-8),
            momentum: get("momentum", 0.0),
            weight_decay: get("weight_decay", 0.0),
            orthogonal: match (
                kind.starts_with("ortho"),
                o.get("rescale").and_then(Value::as_bool),
            ) {
                (false, _) => Orthogonal::Off,
                (true, Some(false)) => Orthogonal::Project,
                (true, _) => Orthogonal::ProjectRescale,
            },
            reference_quirk: false,
        },
        precision: match c["dtype"].as_str().unwrap() {
            "f64" => TrainPrecision::F64,
            _ => TrainPrecision::F32,
        },
        eval_every: 1,
    }
}

/// The run's initial tensors in order W1, [b1,] W2, ….
fn init_of(run: &Value) -> Vec<Vec<f64>> {
    let weights = run["init"]["weights"].as_array().unwrap();
    let biases = run["init"]["biases"].as_array();
    let mut out = Vec::new();
    for (l, w) in weights.iter().enumerate() {
        out.push(w.as_array().unwrap().iter().flat_map(floats).collect());
        if let Some(b) = biases {
            out.push(floats(&b[l]));
        }
    }
    out
}

fn trainer_of(run: &Value) -> Trainer {
    let config = config_of(&run["config"]);
    let train = run["train"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap() as usize)
        .collect();
    Trainer::with_start(config, train, &init_of(run)).expect("a valid replay")
}

/// Tolerances of one run's metrics against torch: `(relative for losses, norms and logits,
/// absolute for cosines, rows that may differ in the fractions)`; a loss may also differ by a
/// thousandth of the relative tolerance absolutely (losses near 0 in Softmax Collapse).
fn tolerances(config: &TrainerConfig) -> (f64, f64, f64) {
    match (config.precision, config.loss, config.softmax_precision) {
        // f16/bf16 logits: one unit of the format's last place moves a loss by 2⁻¹⁰ / 2⁻⁷
        // relative, and the quantised gradients compound over 50 epochs.
        (_, LossKind::Softmax, Precision::F16 | Precision::BF16) => (3e-2, 5e-2, 5.0),
        (TrainPrecision::F64, _, _) => (1e-11, 1e-9, 0.0),
        // f32: summation order (BLAS, vectorised sums) differs from PyTorch's by ~1 ulp a step.
        _ => (2e-5, 2e-4, 2.0),
    }
}

#[track_caller]
fn close(ours: f64, peer: f64, rel: f64, abs: f64, ctx: &str) {
    assert!(
        (ours - peer).abs() <= abs + rel * peer.abs(),
        "{ctx}: ours {ours}, torch {peer} (rel {rel}, abs {abs})"
    );
}

/// Every run of the torch vectors, replayed: per epoch, every metric within the run's tolerance.
#[test]
fn replays_of_torch_runs_match_per_epoch() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 13);
    for run in runs {
        let name = run["name"].as_str().unwrap();
        let mut t = trainer_of(run);
        let (rel, cos_abs, rows) = tolerances(t.config());
        let n_train = t.split().train.len() as f64;
        let frac_abs = rows / n_train + 1e-12;
        let e = &run["epochs"];
        let epochs = e["train_loss"].as_array().unwrap().len();
        let mut first_sc = None;
        for i in 0..epochs {
            let m = t.step().unwrap();
            let ctx = format!("{name} epoch {}", i + 1);
            close(
                m.train_loss,
                f(&e["train_loss"][i]),
                rel,
                rel * 1e-3,
                &format!("{ctx} train loss"),
            );
            close(
                m.train_accuracy,
                f(&e["train_acc"][i]),
                0.0,
                frac_abs,
                &format!("{ctx} train accuracy"),
            );
            close(
                m.sc_fraction,
                f(&e["sc_fraction"][i]),
                0.0,
                frac_abs,
                &format!("{ctx} SC fraction"),
            );
            close(
                m.zero_loss_fraction,
                f(&e["zero_loss_fraction"][i]),
                0.0,
                frac_abs,
                &format!("{ctx} zero-loss fraction"),
            );
            if first_sc.is_none() && m.sc_fraction > 0.0 {
                first_sc = Some(m.epoch);
            }
            let Some(test_loss) = e.get("test_loss") else {
                continue;
            };
            let test = m.test.expect("evaluated every epoch");
            let n_test = t.split().test.len() as f64;
            close(
                test.loss,
                f(&test_loss[i]),
                rel,
                0.0,
                &format!("{ctx} test loss"),
            );
            close(
                test.accuracy,
                f(&e["test_acc"][i]),
                0.0,
                rows / n_test + 1e-12,
                &format!("{ctx} test accuracy"),
            );
            close(
                m.logit_norm,
                f(&e["logit_norm"][i]),
                rel,
                0.0,
                &format!("{ctx} logit norm"),
            );
            for (k, w) in m.weight_norms.iter().enumerate() {
                close(
                    *w,
                    f(&e["weight_norms"][i][k]),
                    rel,
                    0.0,
                    &format!("{ctx} ‖w{k}‖"),
                );
            }
            for (k, c) in m.update_cosine.iter().enumerate() {
                close(
                    *c,
                    f(&e["update_cosine"][i][k]),
                    0.0,
                    cos_abs,
                    &format!("{ctx} cos{k}"),
                );
            }
        }
        if let Some(peer) = run.get("first_sc_epoch").and_then(Value::as_u64) {
            // The collapse run: SC appears in the same few epochs (the exact-1 test is decided
            // by the last bit of a sum whose order differs).
            let ours = first_sc.expect("Softmax Collapse appears in the collapse run");
            assert!(
                ours.abs_diff(peer) <= 3,
                "first SC epoch: ours {ours}, torch {peer}"
            );
            assert!(
                t.step().unwrap().sc_fraction > 0.5,
                "most rows collapse by epoch 300"
            );
        }
    }
}

/// The first run's weights after 50 epochs and their Fourier view (numpy's FFT of torch's final
/// first layer).
#[test]
fn final_weights_and_fourier_view_match_torch_and_numpy() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let run = &doc["runs"][0];
    let mut t = trainer_of(run);
    for _ in 0..50 {
        t.step().unwrap();
    }
    let finals = run["final_weights"]["weights"].as_array().unwrap();
    let ours = t.tensors();
    assert_eq!(ours.len(), 3);
    assert_eq!(ours[0].shape, vec![16, 22]);
    for (tensor, peer) in ours.iter().zip(finals) {
        let peer: Vec<f64> = peer.as_array().unwrap().iter().flat_map(floats).collect();
        for (a, b) in tensor.values.iter().zip(&peer) {
            close(*a, *b, 1e-4, 1e-5, &tensor.name);
        }
    }
    // The spectrum of torch's own final weights: exact arithmetic but for the DFT's rounding.
    let peer_final: Vec<Vec<f64>> = finals
        .iter()
        .map(|w| w.as_array().unwrap().iter().flat_map(floats).collect())
        .collect();
    let train = t.split().train.clone();
    let replay = Trainer::with_start(t.config().clone(), train, &peer_final).unwrap();
    let fourier = replay.fourier();
    for (ours, key) in [
        (&fourier.first, "fourier_a"),
        (&fourier.second, "fourier_b"),
    ] {
        let peer = floats(&run[key]);
        assert_eq!(ours.len(), 6, "k = 0 … ⌊11/2⌋");
        for (k, (a, b)) in ours.iter().zip(&peer).enumerate() {
            close(*a, *b, 1e-12, 1e-12, &format!("{key}[{k}]"));
        }
    }
}

/// A small configuration: p = 23, 32 → 32, every 2nd epoch evaluated.
fn small(precision: TrainPrecision) -> TrainerConfig {
    TrainerConfig {
        p: 23,
        hidden: vec![32, 32],
        precision,
        eval_every: 2,
        ..TrainerConfig::default()
    }
}

/// The f32 CPU path against the f64 reference from the same seed (the same initial weights,
/// rounded to f32 for both), 50 epochs: within f32 tolerance.
#[test]
fn f32_path_follows_the_f64_reference_for_50_epochs() {
    for preset in scalelab_core::grokking::Preset::ALL {
        let with = |precision| TrainerConfig {
            precision,
            softmax_precision: Precision::F32,
            ..TrainerConfig {
                p: 23,
                hidden: vec![32, 32],
                eval_every: 2,
                ..preset.config()
            }
        };
        let mut fast = Trainer::new(with(TrainPrecision::F32)).unwrap();
        let mut reference = Trainer::new(with(TrainPrecision::F64)).unwrap();
        assert_eq!(fast.tensors()[0].values, reference.tensors()[0].values);
        let n = fast.split().train.len() as f64;
        for _ in 0..50 {
            let (a, b) = (fast.step().unwrap(), reference.step().unwrap());
            let ctx = format!("{preset:?} epoch {}", a.epoch);
            close(a.train_loss, b.train_loss, 1e-4, 1e-6, &ctx);
            close(a.train_accuracy, b.train_accuracy, 0.0, 2.0 / n, &ctx);
            close(a.logit_norm, b.logit_norm, 1e-4, 0.0, &ctx);
            assert_eq!(a.test.is_some(), b.test.is_some());
            if let (Some(x), Some(y)) = (a.test, b.test) {
                close(x.loss, y.loss, 1e-4, 1e-6, &ctx);
            }
            for (x, y) in a.weight_norms.iter().zip(&b.weight_norms) {
                close(*x, *y, 1e-4, 0.0, &ctx);
            }
        }
    }
}

/// The configuration's checks: each bad field is refused with its name.
#[test]
fn bad_configurations_name_their_field() {
    use scalelab_core::CoreError;
    let what = |c: TrainerConfig| -> &'static str {
        match Trainer::new(c).unwrap_err() {
            CoreError::OutOfRange { what, .. }
            | CoreError::NonFinite { what, .. }
            | CoreError::InvalidValue { what, .. } => what,
            other => panic!("unexpected {other:?}"),
        }
    };
    let d = TrainerConfig::default;
    let opt = |o: OptimizerConfig| TrainerConfig {
        optimizer: o,
        ..d()
    };
    let o = d().optimizer;
    assert_eq!(what(TrainerConfig { p: 1, ..d() }), "p");
    assert_eq!(what(TrainerConfig { p: 0, ..d() }), "p");
    assert_eq!(
        what(TrainerConfig {
            train_fraction: 0.0,
            ..d()
        }),
        "train_fraction"
    );
    assert_eq!(
        what(TrainerConfig {
            train_fraction: 1.0,
            ..d()
        }),
        "train_fraction"
    );
    assert_eq!(
        what(TrainerConfig {
            train_fraction: f64::NAN,
            ..d()
        }),
        "train_fraction"
    );
    // 1/p² = 1/4 for p = 2: a fraction of 0.2 trains on no pair.
    assert_eq!(
        what(TrainerConfig {
            p: 2,
            train_fraction: 0.2,
            ..d()
        }),
        "train_fraction"
    );
    assert_eq!(
        what(TrainerConfig {
            hidden: vec![200, 0],
            ..d()
        }),
        "hidden"
    );
    assert_eq!(
        what(TrainerConfig {
            hidden: vec![8; 9],
            ..d()
        }),
        "hidden"
    );
    assert_eq!(what(opt(OptimizerConfig { lr: 0.0, ..o })), "lr");
    assert_eq!(
        what(opt(OptimizerConfig {
            lr: f64::INFINITY,
            ..o
        })),
        "lr"
    );
    assert_eq!(what(opt(OptimizerConfig { beta1: 1.0, ..o })), "beta1");
    assert_eq!(what(opt(OptimizerConfig { beta2: -0.1, ..o })), "beta2");
    assert_eq!(what(opt(OptimizerConfig { eps: 0.0, ..o })), "eps");
    assert_eq!(
        what(opt(OptimizerConfig {
            weight_decay: -1.0,
            ..o
        })),
        "weight_decay"
    );
    let sgd = OptimizerConfig {
        kind: OptimizerKind::Sgd,
        ..o
    };
    assert_eq!(
        what(opt(OptimizerConfig {
            momentum: 1.0,
            ..sgd
        })),
        "momentum"
    );
    assert_eq!(
        what(TrainerConfig {
            eval_every: 0,
            ..d()
        }),
        "eval_every"
    );
    // p = 2000: 4·10⁶ pairs × 200-wide activations exceed 512 MiB.
    assert_eq!(
        what(TrainerConfig { p: 2000, ..d() }),
        "memory (MiB) the configuration needs"
    );
}

/// The cost shown before a run starts, for the paper's setup (counted by hand).
#[test]
fn cost_of_the_default_configuration() {
    let cost = TrainerConfig::default().validate().unwrap();
    // 226·200 + 200·200 + 200·113.
    assert_eq!(cost.parameters, 107_800);
    // 5107 training samples: 200 (first layer: two columns added) + 2·200·200 + 2·200·113 per
    // sample forward, 2·200 + 4·200·200 + 4·200·113 backward, 10·113 for the loss, 10 per
    // parameter for the update.
    let per_sample =
        200 + 2 * 200 * 200 + 2 * 200 * 113 + 400 + 4 * 200 * 200 + 4 * 200 * 113 + 1130;
    assert_eq!(cost.train_flops, 5107 * per_sample + 1_078_000);
    assert_eq!(
        cost.eval_flops,
        7662 * (200 + 2 * 200 * 200 + 2 * 200 * 113 + 1130)
    );
    assert!(
        cost.bytes > 5107 * 513 * 8 && cost.bytes < 64 << 20,
        "{}",
        cost.bytes
    );
}

/// The seeded split: ⌊0.4 · 113²⌋ = 5107 training pairs (the paper's count), the rest for the
/// test set, every pair once; the same seed gives the same split.
#[test]
fn seeded_split_has_the_papers_sizes() {
    let t = Trainer::new(TrainerConfig::default()).unwrap();
    let s = t.split();
    assert_eq!((s.train.len(), s.test.len()), (5107, 7662));
    let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..12769).collect::<Vec<_>>());
    assert_eq!(Trainer::new(TrainerConfig::default()).unwrap().split(), s);
    let other = Trainer::new(TrainerConfig {
        seed: 43,
        ..TrainerConfig::default()
    })
    .unwrap();
    assert_ne!(other.split().train, s.train);
    assert_eq!(
        small(TrainPrecision::F32).cost().parameters,
        46 * 32 + 32 * 32 + 32 * 23
    );
}

/// The host half of a device run refuses what would desynchronise it: an f64 run, logits of the
/// wrong size or test logits at the wrong epoch, a step finished before its losses; fed the CPU
/// trainer's own logits (p = 2, no hidden layer: logits are W's two columns summed) it reports the
/// epoch the CPU trainer does.
#[test]
fn device_run_checks_what_the_device_hands_it() {
    use scalelab_core::grokking::DeviceRun;
    use scalelab_core::CoreError;
    let f64_run = Trainer::new(TrainerConfig {
        p: 5,
        precision: TrainPrecision::F64,
        ..TrainerConfig::default()
    })
    .unwrap();
    assert!(matches!(
        DeviceRun::of(f64_run).unwrap_err(),
        CoreError::InvalidValue {
            what: "precision",
            ..
        }
    ));
    let config = TrainerConfig {
        p: 5,
        hidden: vec![],
        eval_every: 2,
        ..TrainerConfig::default()
    };
    let mut run = DeviceRun::of(Trainer::new(config.clone()).unwrap()).unwrap();
    assert!(run.test_due());
    let (n, m) = (run.train_samples().len(), run.test_samples().len());
    assert!(matches!(
        run.finish(run.weights().to_vec(), vec![], vec![])
            .unwrap_err(),
        CoreError::InvalidValue { what: "epoch", .. }
    ));
    assert!(matches!(
        run.losses(&vec![0.0; n * 5], None).unwrap_err(),
        CoreError::InvalidValue {
            what: "test logits",
            ..
        }
    ));
    assert!(matches!(
        run.losses(&vec![0.0; n * 5 - 1], Some(&vec![0.0; m * 5]))
            .unwrap_err(),
        CoreError::DimensionMismatch { .. }
    ));
    // The logits of a linear model on one-hot inputs: W[:, a] + W[:, p + b], W column-major 5 × 10.
    let logits = |run: &DeviceRun, samples: &scalelab_core::grokking::Samples| -> Vec<f32> {
        let w = &run.weights()[0];
        let mut out = Vec::new();
        for (&a, &b) in samples.a.iter().zip(&samples.b) {
            for k in 0..5 {
                out.push(w[a as usize * 5 + k] + w[(5 + b as usize) * 5 + k]);
            }
        }
        out
    };
    let mut cpu = Trainer::new(config).unwrap();
    let (train, test) = (
        logits(&run, run.train_samples()),
        logits(&run, run.test_samples()),
    );
    let delta = run.losses(&train, Some(&test)).unwrap().to_vec();
    assert_eq!(delta.len(), n * 5);
    // The device's step: the CPU trainer's, whose weights and moments are handed back.
    let want = cpu.step().unwrap();
    let after = cpu.tensors()[0].values.clone();
    let mut weights = vec![0.0f32; 50];
    for o in 0..5 {
        for i in 0..10 {
            weights[o + i * 5] = after[o * 10 + i] as f32;
        }
    }
    let moments = run.optimizer_state().0.to_vec();
    let got = run.finish(vec![weights], moments.clone(), moments).unwrap();
    assert_eq!(got.train_loss, want.train_loss);
    assert_eq!(got.test, want.test);
    assert_eq!(got.weight_norms, want.weight_norms);
    assert_eq!(got.update_cosine, want.update_cosine);
    assert_eq!(run.trainer().epoch(), 1);
    assert!(!run.test_due());
}
