//! Seeded native grokking runs (science.md §1), the phenomena of the StableMax lab's presets.
//!
//! `cargo run --release -p scalelab-core --example grokking_runs -- [PRESET|all] [EPOCHS] [EVERY] [P] [WIDTH]`
//! trains the preset (`softmax_collapse`, `ortho_adamw`, `stablemax`, `weight_decay`, or all of
//! them) on the paper's setup (p = 113, addition, 40 % of the pairs, 226 → 200 → 200 → 113,
//! seed 42) and prints every `EVERY`-th epoch: train/test accuracy and loss, SC and zero-loss
//! fractions, the logit norm and the last layer's update cosine; then the first epoch at which
//! the test accuracy reached 95 %, and the mean seconds per epoch.

use std::time::Instant;

use scalelab_core::grokking::{Preset, Trainer, TrainerConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map(String::as_str).unwrap_or("all");
    let epochs: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let every: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50);
    for preset in Preset::ALL {
        if which != "all" && which != preset.key() {
            continue;
        }
        let base = preset.config();
        let config = TrainerConfig {
            eval_every: every as usize,
            p: args.get(3).and_then(|a| a.parse().ok()).unwrap_or(base.p),
            hidden: args
                .get(4)
                .and_then(|a| a.parse().ok())
                .map_or(base.hidden.clone(), |w| vec![w, w]),
            ..base
        };
        let mut trainer = Trainer::new(config).expect("a preset is valid");
        println!("## {} ({epochs} epochs)", preset.key());
        println!("| epoch | train acc | test acc | train loss | test loss | SC | zero loss | logit norm | cos(Δθ, θ) last |");
        println!("|---|---|---|---|---|---|---|---|---|");
        let started = Instant::now();
        let mut grokked = None;
        for _ in 0..epochs {
            let m = match trainer.step() {
                Ok(m) => m,
                Err(e) => {
                    println!("stopped at epoch {}: {e}", trainer.epoch() + 1);
                    break;
                }
            };
            if let Some(t) = m.test {
                if grokked.is_none() && t.accuracy >= 0.95 {
                    grokked = Some(m.epoch);
                }
                if (m.epoch - 1) % every == 0 || m.epoch == epochs {
                    println!(
                        "| {} | {:.4} | {:.4} | {:.3e} | {:.3e} | {:.4} | {:.4} | {:.2} | {:.3} |",
                        m.epoch,
                        m.train_accuracy,
                        t.accuracy,
                        m.train_loss,
                        t.loss,
                        m.sc_fraction,
                        m.zero_loss_fraction,
                        m.logit_norm,
                        m.update_cosine.last().copied().unwrap_or(0.0)
                    );
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64() / trainer.epoch().max(1) as f64;
        println!(
            "\ntest accuracy ≥ 95 % first at epoch: {}; {seconds:.4} s per epoch\n",
            grokked.map_or("not reached".to_string(), |e| e.to_string())
        );
    }
}
