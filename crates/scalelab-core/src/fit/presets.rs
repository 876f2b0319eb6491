//! Example data sets generated from published laws with seeded noise (no third-party data is
//! bundled): each preset is a CSV text the Fit page can load.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::fit::models::{
    BrokenPowerLaw, BuiltinModel, Chinchilla, Kaplan, LrAnnealing, PowerLawPlusConstant,
};
use crate::fit::schedule::{cosine, LrSchedule};
use crate::fit::Model;

/// The generated example data sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// 54 runs (9 model sizes × 6 token budgets) on Hoffmann et al.'s law `1.69 + 406.4/N^0.34 +
    /// 410.7/D^0.28`, 1 % log-normal noise.
    Chinchilla,
    /// Kaplan et al.'s `L(N, D)` (Table 2) at 8 sizes × 4 data sizes, 1 % noise.
    Kaplan,
    /// A learning curve `1.2 + 5·D^(−0.3)` (Hestness et al. form), 25 points, 0.5 % noise.
    PowerLawPlusConstant,
    /// A one-break broken power law (science.md item 19 parameters), 40 points, 1 % noise.
    BrokenPowerLaw,
    /// A 3000-step cosine-schedule loss curve on Tissue et al.'s law, logged every 10 steps.
    LrAnnealing,
}

impl Preset {
    /// All presets, in menu order.
    pub const ALL: [Preset; 5] = [
        Preset::Chinchilla,
        Preset::Kaplan,
        Preset::PowerLawPlusConstant,
        Preset::BrokenPowerLaw,
        Preset::LrAnnealing,
    ];

    /// Stable name (as serialised).
    pub fn name(&self) -> &'static str {
        match self {
            Preset::Chinchilla => "chinchilla",
            Preset::Kaplan => "kaplan",
            Preset::PowerLawPlusConstant => "power_law_plus_constant",
            Preset::BrokenPowerLaw => "broken_power_law",
            Preset::LrAnnealing => "lr_annealing",
        }
    }

    /// Menu label naming the law the data come from.
    pub fn label(&self) -> &'static str {
        match self {
            Preset::Chinchilla => "Chinchilla-like runs from Hoffmann et al.'s published law",
            Preset::Kaplan => "Runs from Kaplan et al.'s L(N, D) (Table 2)",
            Preset::PowerLawPlusConstant => "Learning curve, power law + constant",
            Preset::BrokenPowerLaw => "Broken power law, one break",
            Preset::LrAnnealing => "Loss curve under a cosine LR schedule (Tissue et al.)",
        }
    }

    /// The model that suits the preset.
    pub fn model(&self) -> BuiltinModel {
        match self {
            Preset::Chinchilla => BuiltinModel::Chinchilla,
            Preset::Kaplan => BuiltinModel::Kaplan,
            Preset::PowerLawPlusConstant => BuiltinModel::PowerLawPlusConstant,
            Preset::BrokenPowerLaw => BuiltinModel::BrokenPowerLaw1,
            Preset::LrAnnealing => BuiltinModel::LrAnnealing,
        }
    }

    /// Parses a [`Preset::name`].
    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The data set as CSV text with a header, reproducible from `seed`.
    pub fn csv(&self, seed: u64) -> String {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut noise = |sigma: f64| -> f64 {
            // Box–Muller: a standard normal from two uniforms in (0, 1].
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random::<f64>();
            (sigma * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()).exp()
        };
        let mut out = String::new();
        match self {
            Preset::Chinchilla => {
                out.push_str("params,tokens,loss\n");
                let theta = [1.69, 406.4, 410.7, 0.34, 0.28];
                for i in 0..9 {
                    let n = 7e7 * 10f64.powf(i as f64 * 0.3);
                    for j in 0..6 {
                        let d = n * 4.0 * 2f64.powi(j);
                        let l = Chinchilla.eval(&[n, d], &theta, None) * noise(0.01);
                        out.push_str(&format!("{n:.6e},{d:.6e},{l:.6}\n"));
                    }
                }
            }
            Preset::Kaplan => {
                out.push_str("params,tokens,loss\n");
                let theta = [6.4e13, 1.8e13, 0.076, 0.103];
                for i in 0..8 {
                    let n = 1e6 * 10f64.powf(i as f64 * 0.5);
                    for j in 0..4 {
                        let d = 2.2e7 * 10f64.powi(j);
                        let l = Kaplan.eval(&[n, d], &theta, None) * noise(0.01);
                        out.push_str(&format!("{n:.6e},{d:.6e},{l:.6}\n"));
                    }
                }
            }
            Preset::PowerLawPlusConstant => {
                out.push_str("tokens,loss\n");
                for i in 0..25 {
                    let d = 1e6 * 10f64.powf(i as f64 * 0.2);
                    let l = PowerLawPlusConstant.eval(&[d], &[1.2, 5.0, 0.3], None) * noise(0.005);
                    out.push_str(&format!("{d:.6e},{l:.6}\n"));
                }
            }
            Preset::BrokenPowerLaw => {
                out.push_str("x,y\n");
                let theta = [0.1, 1.0, 0.2, 0.3, 100.0, 0.5];
                for i in 0..40 {
                    let x = 10f64.powf(i as f64 * 0.125);
                    let y = BrokenPowerLaw { breaks: 1 }.eval(&[x], &theta, None) * noise(0.01);
                    out.push_str(&format!("{x:.6e},{y:.6}\n"));
                }
            }
            Preset::LrAnnealing => {
                out.push_str("step,lr,loss\n");
                let steps = 3000;
                // Learning rates in units of 1e-4 (peak 3, final 0.3) keep the law's parameters O(1).
                let lrs = cosine(steps, 3.0, 0.3, 100).unwrap_or_default();
                let theta = [2.5, 5.0, 0.5, 1e-4];
                if let Ok(law) = LrAnnealing::new(&LrSchedule::new(lrs.clone())) {
                    for (k, lr) in lrs.iter().enumerate() {
                        let step = k + 1;
                        if step % 10 == 0 {
                            let l = law.eval(&[step as f64], &theta, None) * noise(0.003);
                            out.push_str(&format!("{step},{lr:.6},{l:.6}\n"));
                        } else {
                            out.push_str(&format!("{step},{lr:.6},\n"));
                        }
                    }
                }
            }
        }
        out
    }
}
