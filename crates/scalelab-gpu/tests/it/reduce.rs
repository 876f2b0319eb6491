//! `reduce_rows` and `reduce_all` vs the f64 oracles in `scalelab_core::ops::reduce`, on seeded
//! inputs with many ties (values are integers in [−8, 8) plus a fraction on every 3rd element).
//!
//! Tolerance: sum and mean are f32 sums of n terms, |s − s*| ≤ γ_n Σ|x| (γ_n = n·u/(1 − n·u),
//! u = 2⁻²⁴; Higham §4.2 holds for any summation order, so also for the tree), the mean adds one
//! rounding (u·|mean|); max and argmax are exact (argmax: first index among ties).

use scalelab_core::ops::reduce as oracle;
use scalelab_gpu::{to_f32, to_f64, xorshift_uniform, GpuError, ReduceOp};

use crate::gpu::context;

const U: f64 = 1.0 / (1u64 << 24) as f64;

fn gamma(j: usize) -> f64 {
    j as f64 * U / (1.0 - j as f64 * U)
}

fn seeded(seed: u64, len: usize) -> Vec<f32> {
    let values = xorshift_uniform(seed, len, -8.0, 8.0);
    let tied: Vec<f64> = values
        .iter()
        .enumerate()
        .map(|(i, x)| if i % 3 == 0 { *x } else { x.floor() })
        .collect();
    to_f32(&tied)
}

/// Asserts `got` (f32) matches `want` (f64 oracle) for a reduction of `values`.
fn assert_reduced(what: &str, op: ReduceOp, got: f32, want: f64, values: &[f64]) {
    assert!(!got.is_nan(), "{what}: NaN (not written)");
    let got = f64::from(got);
    match op {
        ReduceOp::Max | ReduceOp::ArgMax => assert_eq!(got, want, "{what}"),
        ReduceOp::Sum | ReduceOp::Mean => {
            let abs_sum: f64 = values.iter().map(|x| x.abs()).sum();
            let tol = if op == ReduceOp::Sum {
                gamma(values.len()) * abs_sum
            } else {
                gamma(values.len()) * abs_sum / values.len() as f64 + U * want.abs()
            };
            assert!(
                (got - want).abs() <= tol,
                "{what}: {got} vs {want}, |err| = {:e} > {tol:e}",
                (got - want).abs()
            );
        }
    }
}

fn check_rows(rows: usize, cols: usize) {
    let Some(ctx) = context(&format!("reduce_rows {rows}x{cols}")) else {
        return;
    };
    let data = seeded((rows * 7919 + cols) as u64, rows * cols);
    let data64 = to_f64(&data);
    for op in ReduceOp::ALL {
        let what = format!("reduce_rows {rows}x{cols} {op:?}");
        let gpu = pollster::block_on(scalelab_gpu::reduce_rows(ctx, &data, cols, op))
            .unwrap_or_else(|err| panic!("{what}: {err}"));
        let cpu = oracle::reduce_rows(&data64, cols, op).expect("oracle");
        assert_eq!(gpu.len(), rows, "{what}: output length");
        for (r, (&got, &want)) in gpu.iter().zip(&cpu).enumerate() {
            let row = &data64[r * cols..(r + 1) * cols];
            assert_reduced(&format!("{what} row {r}"), op, got, want, row);
        }
    }
    assert!(
        ctx.uncaptured_errors().is_empty(),
        "{:?}",
        ctx.uncaptured_errors()
    );
}

fn check_all(len: usize) {
    let Some(ctx) = context(&format!("reduce_all {len}")) else {
        return;
    };
    let data = seeded(len as u64 + 17, len);
    let data64 = to_f64(&data);
    for op in ReduceOp::ALL {
        let what = format!("reduce_all {len} {op:?}");
        let gpu = pollster::block_on(scalelab_gpu::reduce_all(ctx, &data, op))
            .unwrap_or_else(|err| panic!("{what}: {err}"));
        let cpu = oracle::reduce_all(&data64, op).expect("oracle");
        assert_reduced(&what, op, gpu, cpu, &data64);
    }
    assert!(
        ctx.uncaptured_errors().is_empty(),
        "{:?}",
        ctx.uncaptured_errors()
    );
}

#[test]
fn rows_zero_and_one() {
    check_rows(0, 5);
    check_rows(1, 1);
}

#[test]
fn rows_63_64_65_cols() {
    check_rows(9, 63);
    check_rows(9, 64);
    check_rows(9, 65);
    check_rows(7, 257);
}

#[test]
fn rows_large() {
    check_rows(3, 100_003);
    // 70 000 rows > 65 535 workgroups per dimension: a 2-D grid.
    check_rows(70_000, 2);
}

#[test]
fn all_small() {
    for len in [1, 63, 64, 65] {
        check_all(len);
    }
}

#[test]
fn all_two_passes_with_a_partial_chunk() {
    check_all(4096);
    check_all(4097);
    check_all(1_000_003);
}

/// Hand-computed: rows [1, 5, 5, −2] and [−7, −3, −3, −8].
#[test]
fn known_values() {
    let Some(ctx) = context("reduce known_values") else {
        return;
    };
    let data = [1.0, 5.0, 5.0, -2.0, -7.0, -3.0, -3.0, -8.0];
    let run = |op| pollster::block_on(scalelab_gpu::reduce_rows(ctx, &data, 4, op)).unwrap();
    assert_eq!(run(ReduceOp::Sum), [9.0, -21.0]);
    assert_eq!(run(ReduceOp::Max), [5.0, -3.0]);
    assert_eq!(run(ReduceOp::ArgMax), [1.0, 1.0]);
    assert_eq!(run(ReduceOp::Mean), [2.25, -5.25]);
    let all = |op| pollster::block_on(scalelab_gpu::reduce_all(ctx, &data, op)).unwrap();
    assert_eq!(all(ReduceOp::Sum), -12.0);
    assert_eq!(all(ReduceOp::ArgMax), 1.0);
    assert_eq!(all(ReduceOp::Mean), -1.5);
}

#[test]
fn invalid_and_too_large() {
    let Some(ctx) = context("reduce invalid_and_too_large") else {
        return;
    };
    let code = |result: Result<Vec<f32>, GpuError>| result.unwrap_err().code();
    assert_eq!(
        code(pollster::block_on(scalelab_gpu::reduce_rows(
            ctx,
            &[1.0; 5],
            2,
            ReduceOp::Sum
        ))),
        "InvalidInput"
    );
    assert_eq!(
        code(pollster::block_on(scalelab_gpu::reduce_rows(
            ctx,
            &[1.0],
            0,
            ReduceOp::Sum
        ))),
        "InvalidInput"
    );
    assert_eq!(
        code(pollster::block_on(scalelab_gpu::reduce_rows(
            ctx,
            &[1.0, f32::NAN],
            2,
            ReduceOp::Max
        ))),
        "InvalidInput"
    );
    for op in ReduceOp::ALL {
        let err = pollster::block_on(scalelab_gpu::reduce_all(ctx, &[], op)).unwrap_err();
        assert_eq!(err.code(), "InvalidInput");
    }
    // Argmax indices come back as f32: more than 2²⁴ columns are refused before any GPU work.
    let long = vec![0.0f32; scalelab_gpu::MAX_ARGMAX_LEN + 1];
    match pollster::block_on(scalelab_gpu::reduce_rows(
        ctx,
        &long,
        long.len(),
        ReduceOp::ArgMax,
    )) {
        Err(GpuError::TooLarge { limit, .. }) => assert_eq!(limit, 1 << 24),
        other => panic!("{:?}", other.map(|v| v.len())),
    }
    match pollster::block_on(scalelab_gpu::reduce_all(ctx, &long, ReduceOp::ArgMax)) {
        Err(GpuError::TooLarge { limit, .. }) => assert_eq!(limit, 1 << 24),
        other => panic!("{other:?}"),
    }
}
