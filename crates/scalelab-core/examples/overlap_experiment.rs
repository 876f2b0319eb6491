//! The class-overlap experiment natively (Chidambaram & Ge 2024): ERM + temperature scaling
//! against d-Mixup over the class separation μ, seeded.
//!
//! `cargo run --release -p scalelab-core --example overlap_experiment -- [EPOCHS] [HIDDEN] [SEEDS] [FIRST_SEED] [LABEL_NOISE]`
//! prints one row per (μ, training, seed): train accuracy, test NLL and ECE before and after
//! temperature scaling, and T.

use scalelab_core::calibrate::overlap::{run, OverlapConfig, Training};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    let epochs = arg(0, 200);
    let hidden = arg(1, 512);
    let seeds = arg(2, 1) as u64;
    let first_seed = arg(3, 42) as u64;
    let noise: f64 = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(0.0);
    println!("| μ | training | seed | train acc | test acc | NLL | NLL after TS | ECE | ECE after TS | T | s |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for &mu in &[0.25, 0.1, 0.05, 0.01] {
        for training in [
            Training::Erm,
            Training::Mixup {
                points: 2,
                alpha: 1.0,
            },
            Training::Mixup {
                points: 4,
                alpha: 1.0,
            },
        ] {
            for seed in first_seed..first_seed + seeds {
                let config = OverlapConfig {
                    separation: mu,
                    hidden: if hidden == 0 { vec![] } else { vec![hidden] },
                    training,
                    epochs,
                    seed,
                    label_noise: noise,
                    ..OverlapConfig::reference()
                };
                let start = std::time::Instant::now();
                let (_, r) = run(config).expect("the experiment runs");
                let name = match training {
                    Training::Erm => "ERM".to_string(),
                    Training::Mixup { points, .. } => format!("{points}-Mixup"),
                };
                let (after_nll, after_ece, t) = match (&r.after, &r.temperature) {
                    (Some(a), Ok(fit)) => (
                        format!("{:.3}", a.nll),
                        format!("{:.3}", a.ece),
                        format!("{:.3}", fit.temperature),
                    ),
                    _ => ("—".into(), "—".into(), "none (T → ∞)".into()),
                };
                println!(
                    "| {mu} | {name} | {seed} | {:.3} | {:.3} | {:.3} | {after_nll} | {:.3} | {after_ece} | {t} | {:.1} |",
                    r.train_accuracy,
                    r.before.accuracy,
                    r.before.nll,
                    r.before.ece,
                    start.elapsed().as_secs_f64()
                );
            }
        }
    }
}
