//! The overlapping Gaussian classes of Chidambaram & Ge's synthetic experiment
//! (`2014mchidamb/temp-scaling-limitations`, `utils/data_utils.py::load_k_class_gaussians`):
//! class `c`'s inputs are `N(c·μ·1, I)` in `ℝᵈ` — for two classes the reference code's means
//! `[0, μ]`, continued as `c·μ` for more — so the classes overlap more as `μ` shrinks; labels
//! uniform. The split is the reference's: 80 % train / 20 % test, then 10 % of train held out
//! as the calibration set. The label-noise variant (`LabelNoiseDataset`) gives each class a fixed
//! random other class and replaces a training or calibration label by it with probability
//! `noise`; test labels stay clean.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// One split: `rows` inputs of `dim` values (row-major) and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Inputs, row-major.
    pub x: Vec<f64>,
    /// Labels.
    pub y: Vec<usize>,
}

impl Split {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

/// The three splits.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlapData {
    /// Training rows.
    pub train: Split,
    /// Calibration rows (for temperature scaling).
    pub calibration: Split,
    /// Test rows (clean labels).
    pub test: Split,
}

/// Draws the data (module docs): `samples` rows in `dim` dimensions, `classes` classes, mean
/// spacing `separation` (μ), label-noise probability `noise`, from `seed`. Arguments are checked by
/// [`super::OverlapConfig::check`].
pub fn generate(
    samples: usize,
    dim: usize,
    classes: usize,
    separation: f64,
    noise: f64,
    seed: u64,
) -> OverlapData {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(samples * dim);
    let mut y = Vec::with_capacity(samples);
    for _ in 0..samples {
        let c = rng.random_range(0..classes);
        let mean = c as f64 * separation;
        for _ in 0..dim {
            let e: f64 = rng.sample(StandardNormal);
            x.push(mean + e);
        }
        y.push(c);
    }
    // A fixed other class for each class (the label-noise mapping).
    let mapping: Vec<usize> = (0..classes)
        .map(|c| (c + rng.random_range(1..classes)) % classes)
        .collect();
    let test_rows = samples / 5;
    let train_all = samples - test_rows;
    let calibration_rows = train_all / 10;
    let take = |from: usize, to: usize, rng: &mut ChaCha8Rng, noisy: bool| Split {
        x: x[from * dim..to * dim].to_vec(),
        y: y[from..to]
            .iter()
            .map(|&c| {
                if noisy && noise > 0.0 && rng.random::<f64>() < noise {
                    mapping[c]
                } else {
                    c
                }
            })
            .collect(),
    };
    let train = take(0, train_all - calibration_rows, &mut rng, true);
    let calibration = take(train_all - calibration_rows, train_all, &mut rng, true);
    let test = take(train_all, samples, &mut rng, false);
    OverlapData {
        train,
        calibration,
        test,
    }
}
