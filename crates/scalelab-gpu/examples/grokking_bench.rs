//! The native side of the grokking benchmark (`cargo xtask bench grokking`): the epoch time of the
//! paper's full default configuration (p = 113, 40 % of the pairs, 226 → 200 → 200 → 113, AdamW
//! and ⊥AdamW, softmax CE in f32, the test set evaluated every 50 epochs as the paper's logger
//! does) on one thread — the CPU path and the GPU path (`GpuTrainer` on the Vulkan adapter,
//! lavapipe here, with `LP_NUM_THREADS=1` set by `cargo xtask bench grokking`) — against the
//! paper's PyTorch training loop (`bench/grokking_torch.py`, run by this program with the Python
//! given, one thread) in the same run; prints the BENCHMARKS.md table.
//!
//! `cargo run --release -p scalelab-gpu --example grokking_bench -- PYTHON [EPOCHS]`

use std::process::Command;
use std::time::Instant;

use scalelab_core::grokking::{Preset, Trainer, TrainerConfig};
use scalelab_gpu::{GpuContext, GpuTrainer};

/// Median seconds per epoch of `epochs` epochs after 5 untimed ones.
fn ours(preset: Preset, epochs: usize) -> (f64, f64) {
    let config = TrainerConfig {
        eval_every: 50,
        ..preset.config()
    };
    let mut t = Trainer::new(config).expect("a preset is valid");
    for _ in 0..5 {
        t.step().expect("trains");
    }
    let mut times: Vec<f64> = (0..epochs)
        .map(|_| {
            let start = Instant::now();
            t.step().expect("trains");
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let accuracy = t.evaluate().expect("evaluates").accuracy;
    (times[times.len() / 2], accuracy)
}

/// Median seconds per epoch on the GPU (at most 20 epochs after 2 untimed ones: lavapipe on one
/// thread takes seconds per epoch).
fn gpu(ctx: &GpuContext, preset: Preset, epochs: usize) -> (f64, f64) {
    let config = TrainerConfig {
        eval_every: 50,
        ..preset.config()
    };
    let mut t = pollster::block_on(GpuTrainer::new(ctx, config)).expect("a preset fits");
    for _ in 0..2 {
        pollster::block_on(t.step(ctx)).expect("trains");
    }
    let mut times: Vec<f64> = (0..epochs.min(20))
        .map(|_| {
            let start = Instant::now();
            pollster::block_on(t.step(ctx)).expect("trains");
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let accuracy = t.into_cpu().evaluate().expect("evaluates").accuracy;
    (times[times.len() / 2], accuracy)
}

/// The peer's median seconds per epoch, from its JSON line.
fn torch(python: &str, optimizer: &str, epochs: usize) -> f64 {
    let out = Command::new(python)
        .args([
            "bench/grokking_torch.py",
            "--optimizer",
            optimizer,
            "--ortho-hparams",
            "requested",
            "--threads",
            "1",
            "--epochs",
            &epochs.to_string(),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{python} bench/grokking_torch.py: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().expect("one JSON line");
    let key = "\"seconds_per_epoch\": ";
    let at = line.find(key).expect("seconds_per_epoch") + key.len();
    line[at..]
        .split([',', '}'])
        .next()
        .and_then(|v| v.trim().parse().ok())
        .expect("a number")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let python = args.first().map_or("python3", String::as_str);
    let epochs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let ctx = pollster::block_on(GpuContext::new());
    if let Ok(ctx) = &ctx {
        println!(
            "GPU: {} ({}, {})",
            ctx.adapter_name(),
            ctx.backend_name(),
            ctx.device_type()
        );
    }
    println!("| optimizer | Scalelab CPU f32, s/epoch | Scalelab GPU, s/epoch | PyTorch CPU, s/epoch | PyTorch / Scalelab CPU | PyTorch / Scalelab GPU | test accuracy after {} epochs (CPU), {} (GPU) |", epochs + 5, epochs.min(20) + 2);
    println!("|---|---|---|---|---|---|---|");
    for (preset, name) in [
        (Preset::SoftmaxCollapse, "adamw"),
        (Preset::OrthoAdamw, "ortho_adamw"),
    ] {
        let (s, acc) = ours(preset, epochs);
        let (g, gpu_acc) = match &ctx {
            Ok(ctx) => gpu(ctx, preset, epochs),
            Err(_) => (f64::NAN, f64::NAN),
        };
        let peer = torch(python, name, epochs);
        println!(
            "| {name} | {s:.4} | {g:.4} | {peer:.4} | {:.2}× | {:.2}× | {acc:.4}, {gpu_acc:.4} |",
            peer / s,
            peer / g
        );
    }
    if let Err(err) = ctx {
        println!("(no GPU column: {err})");
    }
}
