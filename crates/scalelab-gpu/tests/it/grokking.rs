//! The GPU trainer against the CPU `f32` path and the `f64` reference of `scalelab_core::grokking`
//! (the CPU trainer is tested against PyTorch's training loop in scalelab-core's tests): the same
//! seed, 50 epochs, every metric within `f32` tolerance; the hand-over to the CPU after an
//! epoch and after a lost device; the refusals.

use scalelab_core::grokking::{
    EpochMetrics, LossKind, OptimizerConfig, OptimizerKind, Orthogonal, Preset, TrainPrecision,
    Trainer, TrainerConfig,
};
use scalelab_core::Precision;
use scalelab_gpu::{GpuContext, GpuError, GpuTrainError, GpuTrainer};

use crate::gpu::context;

#[track_caller]
fn close(ours: f64, peer: f64, rel: f64, abs: f64, ctx: &str) {
    assert!(
        (ours - peer).abs() <= abs + rel * peer.abs(),
        "{ctx}: GPU {ours}, peer {peer} (rel {rel}, abs {abs})"
    );
}

/// Every metric of an epoch within `f32` tolerance of the peer's; `rows` training samples may
/// change class or collapse (a logit within round-off of a tie).
#[track_caller]
fn agree(a: &EpochMetrics, b: &EpochMetrics, n: f64, rel: f64, ctx: &str) {
    assert_eq!(a.epoch, b.epoch, "{ctx}");
    close(a.train_loss, b.train_loss, rel, 1e-6, ctx);
    close(a.train_accuracy, b.train_accuracy, 0.0, 2.0 / n, ctx);
    close(a.sc_fraction, b.sc_fraction, 0.0, 2.0 / n, ctx);
    close(
        a.zero_loss_fraction,
        b.zero_loss_fraction,
        0.0,
        2.0 / n,
        ctx,
    );
    close(a.logit_norm, b.logit_norm, rel, 0.0, ctx);
    assert_eq!(a.test.is_some(), b.test.is_some(), "{ctx}");
    if let (Some(x), Some(y)) = (a.test, b.test) {
        close(x.loss, y.loss, rel, 1e-6, ctx);
        close(x.accuracy, y.accuracy, 0.0, 0.01, ctx);
    }
    assert_eq!(a.weight_norms.len(), b.weight_norms.len(), "{ctx}");
    for (x, y) in a.weight_norms.iter().zip(&b.weight_norms) {
        close(*x, *y, rel, 0.0, ctx);
    }
    for (x, y) in a.update_cosine.iter().zip(&b.update_cosine) {
        close(*x, *y, 0.0, 20.0 * rel, ctx);
    }
}

/// Small runs (p = 23, two hidden layers of 32) of every preset and of the other options.
fn configs() -> Vec<(String, TrainerConfig)> {
    let small = |c: TrainerConfig| TrainerConfig {
        p: 23,
        hidden: vec![32, 32],
        eval_every: 2,
        ..c
    };
    let mut out: Vec<(String, TrainerConfig)> = Preset::ALL
        .iter()
        .map(|&p| (format!("{p:?}"), small(p.config())))
        .collect();
    let base = small(TrainerConfig::default());
    let o = base.optimizer;
    out.push((
        "⊥SGD, momentum, weight decay, biases, subtraction".to_owned(),
        TrainerConfig {
            bias: true,
            op: scalelab_core::grokking::ModOp::Subtract,
            optimizer: OptimizerConfig {
                kind: OptimizerKind::Sgd,
                lr: 0.5,
                momentum: 0.9,
                weight_decay: 1e-3,
                orthogonal: Orthogonal::Project,
                ..o
            },
            ..base.clone()
        },
    ));
    out.push((
        "one hidden layer, AdamW with the reference quirk".to_owned(),
        TrainerConfig {
            hidden: vec![48],
            optimizer: OptimizerConfig {
                orthogonal: Orthogonal::ProjectRescale,
                reference_quirk: true,
                ..o
            },
            ..base.clone()
        },
    ));
    out.push((
        "StableMax, three hidden layers, biases, multiplication".to_owned(),
        TrainerConfig {
            hidden: vec![24, 40, 16],
            bias: true,
            loss: LossKind::Stablemax,
            op: scalelab_core::grokking::ModOp::Multiply,
            ..base
        },
    ));
    out
}

/// 50 epochs of every configuration on the GPU against the CPU `f32` path, and (with the softmax
/// in f32) against the f64 reference.
#[test]
fn gpu_path_follows_the_cpu_path_and_the_f64_reference_for_50_epochs() {
    let Some(ctx) = context("gpu_path_follows_the_cpu_path_and_the_f64_reference_for_50_epochs")
    else {
        return;
    };
    for (name, config) in configs() {
        let config = TrainerConfig {
            softmax_precision: Precision::F32,
            ..config
        };
        let mut gpu = pollster::block_on(GpuTrainer::new(ctx, config.clone())).unwrap();
        let mut cpu = Trainer::new(config.clone()).unwrap();
        let mut reference = Trainer::new(TrainerConfig {
            precision: TrainPrecision::F64,
            ..config.clone()
        })
        .unwrap();
        let n = cpu.split().train.len() as f64;
        for _ in 0..50 {
            let g = pollster::block_on(gpu.step(ctx)).unwrap();
            let (c, r) = (cpu.step().unwrap(), reference.step().unwrap());
            agree(
                &g,
                &c,
                n,
                1e-4,
                &format!("{name} epoch {} vs CPU f32", g.epoch),
            );
            agree(&g, &r, n, 1e-4, &format!("{name} epoch {} vs f64", g.epoch));
        }
        assert_eq!(gpu.trainer().epoch(), 50);
        for (x, y) in gpu.trainer().tensors().iter().zip(cpu.tensors()) {
            assert_eq!(x.shape, y.shape);
            let scale = y.values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (a, b) in x.values.iter().zip(&y.values) {
                close(
                    *a,
                    *b,
                    0.0,
                    1e-3 * scale,
                    &format!("{name} {} after 50", x.name),
                );
            }
        }
    }
}

/// f16 and bf16 logits: the host rounds them as PyTorch does whatever computed them, so the GPU
/// follows the CPU path with the tolerance of the quantised loss.
#[test]
fn gpu_path_follows_the_cpu_path_with_half_precision_logits() {
    let Some(ctx) = context("gpu_path_follows_the_cpu_path_with_half_precision_logits") else {
        return;
    };
    for precision in [Precision::F16, Precision::BF16] {
        let config = TrainerConfig {
            p: 23,
            hidden: vec![32, 32],
            softmax_precision: precision,
            ..TrainerConfig::default()
        };
        let mut gpu = pollster::block_on(GpuTrainer::new(ctx, config.clone())).unwrap();
        let mut cpu = Trainer::new(config).unwrap();
        let n = cpu.split().train.len() as f64;
        for _ in 0..20 {
            let g = pollster::block_on(gpu.step(ctx)).unwrap();
            let c = cpu.step().unwrap();
            let ctx = format!("{precision:?} epoch {}", g.epoch);
            close(g.train_loss, c.train_loss, 3e-2, 1e-3, &ctx);
            close(g.train_accuracy, c.train_accuracy, 0.0, 5.0 / n, &ctx);
            close(g.sc_fraction, c.sc_fraction, 0.0, 5.0 / n, &ctx);
            for (x, y) in g.weight_norms.iter().zip(&c.weight_norms) {
                close(*x, *y, 1e-2, 0.0, &ctx);
            }
        }
    }
}

/// The run handed between the paths mid-way continues as one run: 10 epochs on the GPU, 10 on
/// the CPU, 10 on the GPU again, against 30 on the CPU.
#[test]
fn a_run_moves_between_the_gpu_and_the_cpu_without_a_seam() {
    let Some(ctx) = context("a_run_moves_between_the_gpu_and_the_cpu_without_a_seam") else {
        return;
    };
    let config = TrainerConfig {
        p: 23,
        hidden: vec![32, 32],
        ..Preset::OrthoAdamw.config()
    };
    let mut cpu = Trainer::new(config.clone()).unwrap();
    let n = cpu.split().train.len() as f64;
    let mut gpu = pollster::block_on(GpuTrainer::new(ctx, config)).unwrap();
    let check = |m: EpochMetrics, cpu: &mut Trainer| {
        let c = cpu.step().unwrap();
        agree(&m, &c, n, 1e-4, &format!("epoch {}", m.epoch));
    };
    for _ in 0..10 {
        let m = pollster::block_on(gpu.step(ctx)).unwrap();
        check(m, &mut cpu);
    }
    let mut moved = gpu.into_cpu();
    assert_eq!(moved.epoch(), 10);
    for _ in 0..10 {
        let m = moved.step().unwrap();
        check(m, &mut cpu);
    }
    let mut back = pollster::block_on(GpuTrainer::resume(ctx, moved)).unwrap();
    for _ in 0..10 {
        let m = pollster::block_on(back.step(ctx)).unwrap();
        check(m, &mut cpu);
    }
    assert_eq!(back.trainer().epoch(), 30);
}

/// A lost device stops the next epoch with `DeviceLost`; the run continues on the CPU from its
/// last finished epoch.
#[test]
fn after_a_lost_device_the_run_continues_on_the_cpu() {
    if context("after_a_lost_device_the_run_continues_on_the_cpu").is_none() {
        return;
    }
    // A context of its own: destroying it must not touch the shared one.
    let ctx = pollster::block_on(GpuContext::new()).unwrap();
    let config = TrainerConfig {
        p: 17,
        hidden: vec![16],
        ..TrainerConfig::default()
    };
    let mut cpu = Trainer::new(config.clone()).unwrap();
    let mut gpu = pollster::block_on(GpuTrainer::new(&ctx, config)).unwrap();
    for _ in 0..3 {
        pollster::block_on(gpu.step(&ctx)).unwrap();
        cpu.step().unwrap();
    }
    ctx.destroy();
    match pollster::block_on(gpu.step(&ctx)) {
        Err(GpuTrainError::Gpu(GpuError::DeviceLost { .. })) => {}
        other => panic!("expected DeviceLost, got {other:?}"),
    }
    let mut fallback = gpu.into_cpu();
    assert_eq!(fallback.epoch(), 3);
    let n = cpu.split().train.len() as f64;
    let (a, b) = (fallback.step().unwrap(), cpu.step().unwrap());
    agree(&a, &b, n, 1e-4, "epoch 4 after the loss");
}

/// An f64 run is refused with the field to change; so is a run beyond the device's buffers.
#[test]
fn the_gpu_refuses_f64_runs_and_runs_beyond_its_buffers() {
    let Some(ctx) = context("the_gpu_refuses_f64_runs_and_runs_beyond_its_buffers") else {
        return;
    };
    let f64_run = TrainerConfig {
        p: 11,
        precision: TrainPrecision::F64,
        ..TrainerConfig::default()
    };
    match pollster::block_on(GpuTrainer::new(ctx, f64_run)) {
        Err(GpuTrainError::Run(scalelab_core::CoreError::InvalidValue { what, .. })) => {
            assert_eq!(what, "precision");
        }
        other => panic!("expected InvalidValue(precision), got {:?}", other.err()),
    }
    // All p² = 2²² pairs at width 2048: the training activations alone exceed what the adapter
    // binds (lavapipe and WebGPU defaults: 128 MiB to 2 GiB per binding).
    let huge = TrainerConfig {
        p: 2048,
        hidden: vec![2048],
        train_fraction: 0.9,
        ..TrainerConfig::default()
    };
    let limit = ctx.limits().max_storage_buffer_binding_size;
    let bytes = (0.9f64 * 2048.0 * 2048.0).floor() * 2048.0 * 4.0;
    if bytes > limit as f64 {
        match pollster::block_on(GpuTrainer::new(ctx, huge)) {
            Err(GpuTrainError::Gpu(GpuError::TooLarge { .. })) | Err(GpuTrainError::Run(_)) => {}
            other => panic!("expected TooLarge, got {:?}", other.err()),
        }
    }
}
