//! Integration tests of `scalelab-core` (one binary; modules per area).
//!
//! Every expected value names its independent source: `science.md` §7 (acceptance checks,
//! recomputed from the reference code), IEEE 754 / bfloat16 format definitions, closed forms
//! derived in the comment, or the numpy/ml_dtypes peer vectors in `tests/vectors/`.

mod calibrate;
mod calibrate_bootstrap;
mod calibrate_methods;
mod calibrate_netcal;
#[cfg(not(target_arch = "wasm32"))]
mod calibrate_options;
mod calibrate_recalibrate;
mod calibrate_zeros;
mod errors;
mod fit_analysis;
mod fit_chinchilla;
mod fit_models;
mod fit_nist;
#[cfg(not(target_arch = "wasm32"))]
mod fit_options;
mod fit_uncertainty;
#[cfg(not(target_arch = "wasm32"))]
mod fuzz_inputs;
mod grokking;
#[cfg(not(target_arch = "wasm32"))]
mod grokking_options;
mod guidance;
mod io_csv;
#[cfg(not(target_arch = "wasm32"))]
mod io_npy;
#[cfg(not(target_arch = "wasm32"))]
mod io_scores;
mod ops;
mod precision;
mod stablemax;
mod vectors;

use scalelab_core::Precision;

/// Asserts `|actual − expected| ≤ abs + rel · |expected|` (and equal non-finite values).
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, rel: f64, abs: f64, ctx: &str) {
    if actual == expected {
        return;
    }
    let err = (actual - expected).abs();
    assert!(
        err <= abs + rel * expected.abs(),
        "{ctx}: got {actual:e}, expected {expected:e} (|diff| {err:e} > abs {abs:e} + rel {rel:e})"
    );
}

/// Element-wise [`assert_close`], with equal lengths.
#[track_caller]
pub fn assert_all_close(actual: &[f64], expected: &[f64], rel: f64, abs: f64, ctx: &str) {
    assert_eq!(actual.len(), expected.len(), "{ctx}: lengths differ");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert_close(a, e, rel, abs, &format!("{ctx}[{i}]"));
    }
}

/// Spacing of `precision`'s values at `|x|` (its unit in the last place, subnormals included),
/// from the format definitions: `2^(max(⌊log2|x|⌋, e_min) − (p − 1))` with
/// `e_min` = −14 (f16), −126 (bf16, f32), −1022 (f64).
pub fn ulp(precision: Precision, x: f64) -> f64 {
    let e_min = match precision {
        Precision::F16 => -14,
        Precision::BF16 | Precision::F32 => -126,
        Precision::F64 => -1022,
    };
    let p = precision.significand_bits() as i32;
    let e = if x == 0.0 {
        e_min
    } else {
        (x.abs().log2().floor() as i32).max(e_min)
    };
    2f64.powi(e - (p - 1))
}
