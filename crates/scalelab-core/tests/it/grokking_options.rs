//! Property test of the grokking trainer's option space: every task × loss × softmax precision ×
//! optimizer × ⊥Grad variant × reference quirk × training format × biases × depth, with learning
//! rates up to 10⁴ (runs that diverge) and any small sizes, gives epochs of metrics in range or a
//! typed error (the configuration's, or a diverged run's), never a panic.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

use scalelab_core::grokking::{
    LossKind, ModOp, OptimizerConfig, OptimizerKind, Orthogonal, TrainPrecision, Trainer,
    TrainerConfig,
};
use scalelab_core::{CoreError, Precision};

fn config() -> impl Strategy<Value = TrainerConfig> {
    (
        (
            0usize..9,
            select(vec![ModOp::Add, ModOp::Subtract, ModOp::Multiply]),
            prop_oneof![Just(0.0), Just(1.0), 0.01f64..0.99],
            any::<u64>(),
            prop::collection::vec(0usize..6, 0..3),
            any::<bool>(),
        ),
        (
            select(vec![LossKind::Softmax, LossKind::Stablemax]),
            select(Precision::ALL.to_vec()),
            select(vec![OptimizerKind::Adamw, OptimizerKind::Sgd]),
            select(vec![
                Orthogonal::Off,
                Orthogonal::Project,
                Orthogonal::ProjectRescale,
            ]),
            any::<bool>(),
            select(vec![TrainPrecision::F32, TrainPrecision::F64]),
            prop_oneof![Just(0.0), 1e-4f64..1e4, Just(f64::NAN)],
            prop_oneof![Just(0.0), Just(0.9), Just(1.0), 0.0f64..1.0],
            prop_oneof![Just(0.0), 0.0f64..10.0],
            0usize..3,
        ),
    )
        .prop_map(
            |(
                (p, op, train_fraction, seed, hidden, bias),
                (loss, sp, kind, orthogonal, quirk, precision, lr, beta, wd, eval_every),
            )| {
                TrainerConfig {
                    p,
                    op,
                    train_fraction,
                    seed,
                    hidden,
                    bias,
                    loss,
                    softmax_precision: sp,
                    optimizer: OptimizerConfig {
                        kind,
                        lr,
                        beta1: beta,
                        beta2: beta,
                        eps: 1e-25,
                        momentum: beta,
                        weight_decay: wd,
                        orthogonal,
                        reference_quirk: quirk,
                    },
                    precision,
                    eval_every,
                }
            },
        )
}

fn typed(e: &CoreError) -> bool {
    matches!(
        e,
        CoreError::OutOfRange { .. } | CoreError::NonFinite { .. } | CoreError::InvalidValue { .. }
    )
}

proptest! {
    #![proptest_config(Config { cases: 256, ..Config::default() })]

    #[test]
    fn every_option_combination_trains_or_refuses(config in config()) {
        match Trainer::new(config) {
            Err(e) => prop_assert!(typed(&e), "{e:?}"),
            Ok(mut t) => {
                for _ in 0..4 {
                    match t.step() {
                        Ok(m) => {
                            for v in [m.train_accuracy, m.sc_fraction, m.zero_loss_fraction] {
                                prop_assert!((0.0..=1.0).contains(&v), "{m:?}");
                            }
                            prop_assert!(m.train_loss >= 0.0 && m.logit_norm >= 0.0, "{m:?}");
                            for c in &m.update_cosine {
                                prop_assert!(c.is_nan() || c.abs() <= 1.0 + 1e-9, "{m:?}");
                            }
                            if let Some(test) = m.test {
                                prop_assert!((0.0..=1.0).contains(&test.accuracy));
                            }
                        }
                        Err(e) => {
                            prop_assert!(typed(&e), "{e:?}");
                            break;
                        }
                    }
                }
                let f = t.fourier();
                prop_assert_eq!(f.first.len(), t.config().p / 2 + 1);
            }
        }
    }
}
