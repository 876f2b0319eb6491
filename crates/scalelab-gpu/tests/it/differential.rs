//! GPU kernels vs their f64 CPU oracles in `scalelab_core::ops`, on seeded inputs.
//!
//! Tolerance: |GPU − CPU| ≤ `PROBE_TOLERANCE` (1e-6) per probability, with the oracle run on the
//! f32-rounded input (so only kernel error is measured, not input quantisation; see
//! `scalelab_gpu::PROBE_TOLERANCE`). The launcher pre-fills the output with NaN, so any element the
//! kernel fails to write shows up as NaN; we assert none remains.

use scalelab_gpu::{
    max_abs_diff, to_f32, to_f64, xorshift_uniform, GpuContext, GpuError, PROBE_TOLERANCE,
};

use crate::gpu::context;

type Launcher = for<'a> fn(&'a GpuContext, &'a [f32], usize) -> LaunchFuture<'a>;
type LaunchFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<f32>, GpuError>> + 'a>>;
type Oracle = fn(&[f64], usize) -> Vec<f64>;

struct Kernel {
    name: &'static str,
    gpu: Launcher,
    cpu: Oracle,
}

const KERNELS: [Kernel; 2] = [
    Kernel {
        name: "softmax_rows",
        gpu: |ctx, data, cols| Box::pin(scalelab_gpu::softmax_rows(ctx, data, cols)),
        cpu: |data, cols| {
            scalelab_core::ops::softmax_rows(data, cols).expect("oracle accepts finite input")
        },
    },
    Kernel {
        name: "stablemax_rows",
        gpu: |ctx, data, cols| Box::pin(scalelab_gpu::stablemax_rows(ctx, data, cols)),
        cpu: |data, cols| {
            scalelab_core::ops::stablemax_rows(data, cols).expect("oracle accepts finite input")
        },
    },
];

/// `rows × cols` seeded values: mostly uniform in [−80, 80]; every 4th row is shifted by +1000
/// (exp overflows without the max shift), every 5th row is constant, every 7th row has one
/// dominant value (80 among zeros: probabilities underflow to 0 in f32).
fn seeded_input(seed: u64, rows: usize, cols: usize) -> Vec<f32> {
    let mut values = xorshift_uniform(seed, rows * cols, -80.0, 80.0);
    for (r, row) in values.chunks_mut(cols.max(1)).enumerate() {
        if r % 4 == 3 {
            row.iter_mut().for_each(|x| *x = 1000.0 + *x / 16.0);
        } else if r % 5 == 4 {
            row.iter_mut().for_each(|x| *x = -3.25);
        } else if r % 7 == 6 {
            row.iter_mut().for_each(|x| *x = 0.0);
            row[r % cols] = 80.0;
        }
    }
    to_f32(&values)
}

fn check(rows: usize, cols: usize, seed: u64) {
    let test = format!("differential {rows}x{cols}");
    let Some(ctx) = context(&test) else {
        return;
    };
    let input = seeded_input(seed, rows, cols);
    for kernel in &KERNELS {
        let gpu = pollster::block_on((kernel.gpu)(ctx, &input, cols))
            .unwrap_or_else(|err| panic!("{} {rows}x{cols}: {err}", kernel.name));
        assert_eq!(
            gpu.len(),
            rows * cols,
            "{} {rows}x{cols}: output length",
            kernel.name
        );
        if let Some(i) = gpu.iter().position(|x| x.is_nan()) {
            panic!(
                "{} {rows}x{cols}: element {i} left NaN (not written)",
                kernel.name
            );
        }
        let cpu = (kernel.cpu)(&to_f64(&input), cols);
        let err = max_abs_diff(&to_f64(&gpu), &cpu);
        assert!(
            err <= PROBE_TOLERANCE,
            "{} {rows}x{cols}: max |gpu - cpu| = {err:e} > {PROBE_TOLERANCE:e}",
            kernel.name
        );
    }
    assert!(
        ctx.uncaptured_errors().is_empty(),
        "{:?}",
        ctx.uncaptured_errors()
    );
}

#[test]
fn zero_rows_return_empty_without_dispatch() {
    let Some(ctx) = context("zero_rows_return_empty_without_dispatch") else {
        return;
    };
    for kernel in &KERNELS {
        let out = pollster::block_on((kernel.gpu)(ctx, &[], 7)).expect("0 rows is valid");
        assert!(out.is_empty(), "{}", kernel.name);
    }
}

#[test]
fn one_element() {
    check(1, 1, 1);
}

#[test]
fn cols_63() {
    check(9, 63, 63);
}

#[test]
fn cols_64() {
    check(9, 64, 64);
}

#[test]
fn cols_65() {
    check(9, 65, 65);
}

#[test]
fn cols_257_strides_a_256_workgroup() {
    check(7, 257, 257);
}

#[test]
fn large_rows_4096_cols() {
    check(8, 4096, 4096);
}

#[test]
fn large_65536_cols() {
    check(2, 65_536, 65_536);
}

#[test]
fn large_10000_rows_1_col() {
    check(10_000, 1, 10_000);
}

#[test]
fn rows_beyond_one_dispatch_dimension_use_a_2d_grid() {
    // 70 000 > 65 535 workgroups per dimension.
    check(70_000, 2, 70_000);
}

/// Hand-computed values, independent of the oracle: softmax([0, ln 3]) = [1/4, 3/4];
/// StableMax([0, 1, -1]) = [1, 2, 1/2] / 3.5.
#[test]
fn known_values() {
    let Some(ctx) = context("known_values") else {
        return;
    };
    let softmax =
        pollster::block_on(scalelab_gpu::softmax_rows(ctx, &[0.0, 3f32.ln()], 2)).expect("runs");
    assert!(
        (softmax[0] - 0.25).abs() < 1e-6 && (softmax[1] - 0.75).abs() < 1e-6,
        "{softmax:?}"
    );
    let stablemax =
        pollster::block_on(scalelab_gpu::stablemax_rows(ctx, &[0.0, 1.0, -1.0], 3)).expect("runs");
    let expected = [1.0 / 3.5, 2.0 / 3.5, 0.5 / 3.5];
    for (got, want) in stablemax.iter().zip(expected) {
        assert!((got - want).abs() < 1e-6, "{stablemax:?}");
    }
}
