//! Generated classifier scores for presets and benchmarks: `rows` samples of `classes` logits
//! `z_ij = scale · (g_ij + 3 u_i 1[j = y_i])` with `g_ij ~ N(0, 1)`, `u_i ~ U(0.5, 1.5)` and labels
//! `y_i` uniform, from a ChaCha8 seed. Given `u`, the Bayes posterior is `softmax(3u z / scale)`
//! (the label's logit is `N(3u·scale, scale²)`, the others `N(0, scale²)`), so the NLL-optimal
//! temperature is near `scale/3` (0.37·scale measured at 1000 classes, where `u` varies): a scale
//! above about 3 gives an overconfident model, below it an underconfident one.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::CoreError;

/// The logits (row-major) and labels (module docs).
///
/// Errors: [`CoreError::OutOfRange`] for fewer than 1 row, fewer than 2 classes, more than
/// `max_values` logits, or a scale that is not finite and positive.
pub fn synthetic_logits(
    rows: usize,
    classes: usize,
    scale: f64,
    seed: u64,
    max_values: usize,
) -> Result<(Vec<f64>, Vec<usize>), CoreError> {
    let range = crate::calibrate::check_range;
    range("rows", rows as f64, 1.0, max_values as f64)?;
    range("classes", classes as f64, 2.0, max_values as f64)?;
    range(
        "rows × classes",
        rows as f64 * classes as f64,
        2.0,
        max_values as f64,
    )?;
    range("logit scale", scale, f64::MIN_POSITIVE, 1e6)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut z = Vec::with_capacity(rows * classes);
    let mut labels = Vec::with_capacity(rows);
    for _ in 0..rows {
        let y = rng.random_range(0..classes);
        let u = rng.random_range(0.5..1.5);
        for j in 0..classes {
            let g: f64 = rng.sample(StandardNormal);
            z.push(scale * (g + if j == y { 3.0 * u } else { 0.0 }));
        }
        labels.push(y);
    }
    Ok((z, labels))
}
