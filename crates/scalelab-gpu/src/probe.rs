//! The start-up check: the softmax and StableMax kernels on a fixed input against their CPU oracles
//! (`workload::verify` checks every kernel at several sizes).

use crate::context::GpuContext;
use crate::convert::{to_f32, to_f64};
use crate::error::GpuError;
use crate::kernels::{softmax_rows::softmax_rows, stablemax_rows::stablemax_rows};

/// Largest allowed absolute difference between a kernel's f32 probability and the f64 oracle's
/// on the same f32-rounded input.
///
/// Why 1e-6: every output is a probability in [0, 1]; f32 has a unit roundoff of 6e-8, and the
/// kernel's error is a few roundings (exp is accurate to a few ulp near 0, the reductions add
/// O(log2 cols) roundings), so errors stay around 1e-7. The oracle runs on the f32-rounded input
/// because rounding x ≈ 20 to f32 alone moves exp(x - m) by up to 1e-6 relative; that is input
/// quantisation, not kernel error.
pub const PROBE_TOLERANCE: f64 = 1e-6;

/// Rows of the probe input.
pub const PROBE_ROWS: usize = 64;
/// Columns of the probe input: one more than a 64-wide workgroup, so the stride loop runs twice.
pub const PROBE_COLS: usize = 65;
/// Seed of the probe input.
pub const PROBE_SEED: u64 = 0x5ca1_ab1e;

/// The outcome of [`probe`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeReport {
    /// Largest |GPU − CPU| over all softmax outputs.
    pub softmax_max_abs_err: f64,
    /// Largest |GPU − CPU| over all StableMax outputs.
    pub stablemax_max_abs_err: f64,
    /// Both errors are at most [`PROBE_TOLERANCE`] (a NaN error fails).
    pub passed: bool,
}

/// `n` values uniform in `[lo, hi)` from a xorshift64* generator seeded with `seed`.
///
/// Deterministic on every platform (integer arithmetic only, 53 random bits per value), so tests
/// and the probe get the same inputs natively and in the browser. Not for statistics.
pub fn xorshift_uniform(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    // A zero state would stay zero; mix the seed so that 0 works too.
    let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
            let unit = bits as f64 / (1u64 << 53) as f64;
            lo + (hi - lo) * unit
        })
        .collect()
}

/// Largest |a − b|; NaN if any pair contains NaN or the lengths differ.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() {
        return f64::NAN;
    }
    a.iter().zip(b).fold(0.0, |worst: f64, (x, y)| {
        let d = (x - y).abs();
        if d.is_nan() || worst.is_nan() {
            f64::NAN
        } else {
            worst.max(d)
        }
    })
}

fn oracle_failed(err: impl std::fmt::Display) -> GpuError {
    GpuError::InvalidInput {
        what: "probe oracle",
        reason: err.to_string(),
    }
}

/// Runs both kernels on a fixed 64 × 65 input (xorshift seed [`PROBE_SEED`], values in
/// [−20, 20]) and compares them with `scalelab_core::ops::{softmax_rows, stablemax_rows}`.
///
/// Use it once after [`GpuContext::new`] to decide whether to trust this GPU: if `passed` is
/// false, fall back to the CPU path.
pub async fn probe(ctx: &GpuContext) -> Result<ProbeReport, GpuError> {
    let input = to_f32(&xorshift_uniform(
        PROBE_SEED,
        PROBE_ROWS * PROBE_COLS,
        -20.0,
        20.0,
    ));
    let oracle_input = to_f64(&input);

    let softmax_cpu =
        scalelab_core::ops::softmax_rows(&oracle_input, PROBE_COLS).map_err(oracle_failed)?;
    let softmax_gpu = to_f64(&softmax_rows(ctx, &input, PROBE_COLS).await?);
    let stablemax_cpu =
        scalelab_core::ops::stablemax_rows(&oracle_input, PROBE_COLS).map_err(oracle_failed)?;
    let stablemax_gpu = to_f64(&stablemax_rows(ctx, &input, PROBE_COLS).await?);

    let softmax_max_abs_err = max_abs_diff(&softmax_gpu, &softmax_cpu);
    let stablemax_max_abs_err = max_abs_diff(&stablemax_gpu, &stablemax_cpu);
    Ok(ProbeReport {
        softmax_max_abs_err,
        stablemax_max_abs_err,
        passed: softmax_max_abs_err <= PROBE_TOLERANCE && stablemax_max_abs_err <= PROBE_TOLERANCE,
    })
}

#[cfg(test)]
mod tests {
    use super::{max_abs_diff, xorshift_uniform};

    #[test]
    fn xorshift_is_deterministic_and_in_range() {
        let a = xorshift_uniform(7, 1000, -20.0, 20.0);
        assert_eq!(a, xorshift_uniform(7, 1000, -20.0, 20.0));
        assert_ne!(a, xorshift_uniform(8, 1000, -20.0, 20.0));
        assert!(a.iter().all(|x| (-20.0..20.0).contains(x)));
        assert!(a.iter().any(|&x| x < -15.0) && a.iter().any(|&x| x > 15.0));
    }

    #[test]
    fn max_abs_diff_propagates_nan() {
        assert_eq!(max_abs_diff(&[1.0, 2.0], &[1.5, 2.0]), 0.5);
        assert!(max_abs_diff(&[f64::NAN, 2.0], &[1.0, 2.0]).is_nan());
        assert!(max_abs_diff(&[1.0, f64::NAN], &[1.0, 2.0]).is_nan());
        assert!(max_abs_diff(&[1.0], &[1.0, 2.0]).is_nan());
    }
}
