//! `log_softmax_rows`, `log_stablemax_rows` and `cross_entropy_rows` vs their f64 CPU oracles in
//! `scalelab_core::ops::cross_entropy`, on seeded inputs (the oracle runs on the f32-rounded
//! input, so only kernel error is measured). The launchers pre-fill the output with NaN; we
//! assert none remains.
//!
//! Tolerances (f32 unit roundoff u = 6e-8):
//! - log-probabilities and losses: |gpu − cpu| ≤ 1e-5 + 1e-6·|cpu|. The relative part covers the
//!   rounding of `x − M` (|x − M| up to ~1100 here), the absolute part the f32 sum inside the log
//!   (≤ 256 sequential adds per lane, then a tree: relative error ≲ 1e-6 in practice).
//! - gradients (probability-like, in [−1, 1]): |gpu − cpu| ≤ 1e-6 (as `PROBE_TOLERANCE`).

use scalelab_core::ops::cross_entropy as oracle;
use scalelab_core::stablemax::Loss;
use scalelab_gpu::{to_f32, to_f64, xorshift_uniform, CrossEntropyKind, GpuContext, GpuError};

use crate::gpu::context;

const LOG_ABS: f64 = 1e-5;
const LOG_REL: f64 = 1e-6;
const GRAD_ABS: f64 = 1e-6;

/// Like `differential::seeded_input`: uniform in [−80, 80]; every 4th row shifted by +1000,
/// every 5th constant, every 7th one value 80 among zeros; plus every 6th row tiny values
/// (|x| < 1e-4, where log1p matters).
fn seeded_logits(seed: u64, rows: usize, cols: usize) -> Vec<f32> {
    let mut values = xorshift_uniform(seed, rows * cols, -80.0, 80.0);
    for (r, row) in values.chunks_mut(cols.max(1)).enumerate() {
        if r % 4 == 3 {
            row.iter_mut().for_each(|x| *x = 1000.0 + *x / 16.0);
        } else if r % 5 == 4 {
            row.iter_mut().for_each(|x| *x = -3.25);
        } else if r % 7 == 6 {
            row.iter_mut().for_each(|x| *x = 0.0);
            row[r % cols] = 80.0;
        } else if r % 6 == 5 {
            row.iter_mut().for_each(|x| *x *= 1e-6);
        }
    }
    to_f32(&values)
}

fn seeded_labels(seed: u64, rows: usize, cols: usize) -> Vec<u32> {
    xorshift_uniform(seed ^ 0xabc, rows, 0.0, cols as f64)
        .iter()
        .map(|&u| (u as u32).min(cols as u32 - 1))
        .collect()
}

/// Asserts no NaN and |gpu − cpu| ≤ abs + rel·|cpu| everywhere.
fn assert_close(what: &str, gpu: &[f32], cpu: &[f64], abs: f64, rel: f64) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: length");
    if let Some(i) = gpu.iter().position(|x| x.is_nan()) {
        panic!("{what}: element {i} left NaN (not written)");
    }
    for (i, (&g, &c)) in to_f64(gpu).iter().zip(cpu).enumerate() {
        let tol = abs + rel * c.abs();
        assert!(
            (g - c).abs() <= tol,
            "{what}: element {i}: gpu {g:e} vs cpu {c:e} (|diff| {:e} > {tol:e})",
            (g - c).abs()
        );
    }
}

fn check(ctx: &GpuContext, rows: usize, cols: usize, seed: u64) {
    let logits = seeded_logits(seed, rows, cols);
    let x64 = to_f64(&logits);
    let labels = seeded_labels(seed, rows, cols);
    let ls = pollster::block_on(scalelab_gpu::log_softmax_rows(ctx, &logits, cols)).unwrap();
    let want = oracle::log_softmax_rows(&x64, cols).unwrap();
    assert_close(
        &format!("log_softmax_rows {rows}x{cols}"),
        &ls,
        &want,
        LOG_ABS,
        LOG_REL,
    );
    let lst = pollster::block_on(scalelab_gpu::log_stablemax_rows(ctx, &logits, cols)).unwrap();
    let want = oracle::log_stablemax_rows(&x64, cols).unwrap();
    assert_close(
        &format!("log_stablemax_rows {rows}x{cols}"),
        &lst,
        &want,
        LOG_ABS,
        LOG_REL,
    );
    for loss in [Loss::Softmax, Loss::StableMax] {
        let what = format!("cross_entropy_rows {loss:?} {rows}x{cols}");
        let gpu = pollster::block_on(scalelab_gpu::cross_entropy_rows(
            ctx,
            &logits,
            cols,
            &labels,
            loss.into(),
        ))
        .unwrap_or_else(|err| panic!("{what}: {err}"));
        let cpu = oracle::cross_entropy_rows(&x64, cols, &labels, loss).unwrap();
        assert_close(
            &format!("{what} loss"),
            &gpu.loss,
            &cpu.loss,
            LOG_ABS,
            LOG_REL,
        );
        assert_close(&format!("{what} grad"), &gpu.grad, &cpu.grad, GRAD_ABS, 0.0);
    }
    assert!(
        ctx.uncaptured_errors().is_empty(),
        "{:?}",
        ctx.uncaptured_errors()
    );
}

#[test]
fn loss_kernels_match_oracles_at_edge_sizes() {
    let Some(ctx) = context("loss_kernels_match_oracles_at_edge_sizes") else {
        return;
    };
    for (rows, cols) in [(1, 1), (9, 63), (9, 64), (9, 65), (7, 257)] {
        check(ctx, rows, cols, (rows * 1000 + cols) as u64);
    }
}

#[test]
fn loss_kernels_match_oracles_large() {
    let Some(ctx) = context("loss_kernels_match_oracles_large") else {
        return;
    };
    check(ctx, 4, 16_384, 16_384);
    check(ctx, 3000, 3, 3000);
}

#[test]
fn loss_kernels_zero_rows_and_errors() {
    let Some(ctx) = context("loss_kernels_zero_rows_and_errors") else {
        return;
    };
    let run = |logits: &[f32], cols, labels: &[u32]| {
        pollster::block_on(scalelab_gpu::cross_entropy_rows(
            ctx,
            logits,
            cols,
            labels,
            CrossEntropyKind::StableMax,
        ))
    };
    let empty = run(&[], 5, &[]).unwrap();
    assert!(empty.loss.is_empty() && empty.grad.is_empty());
    assert!(
        pollster::block_on(scalelab_gpu::log_softmax_rows(ctx, &[], 3))
            .unwrap()
            .is_empty()
    );
    assert!(
        pollster::block_on(scalelab_gpu::log_stablemax_rows(ctx, &[], 3))
            .unwrap()
            .is_empty()
    );
    let invalid = |r: Result<_, GpuError>, what: &str| match r {
        Err(GpuError::InvalidInput { what: w, reason }) => assert_eq!(w, what, "{reason}"),
        other => panic!("{other:?}"),
    };
    invalid(run(&[0.0, 1.0], 2, &[0, 1]), "labels"); // 1 row, 2 labels
    invalid(run(&[0.0, 1.0], 2, &[2]), "labels"); // label out of range
    invalid(run(&[0.0, 1.0, 2.0], 2, &[0]), "data"); // ragged
    invalid(run(&[0.0, f32::INFINITY], 2, &[0]), "data");
    invalid(run(&[0.0], 0, &[]), "cols");
    for result in [
        pollster::block_on(scalelab_gpu::log_softmax_rows(ctx, &[1.0, f32::NAN], 2)),
        pollster::block_on(scalelab_gpu::log_stablemax_rows(ctx, &[1.0, 2.0, 3.0], 2)),
    ] {
        assert_eq!(result.unwrap_err().code(), "InvalidInput");
    }
}

/// Hand-computed values, independent of the oracle (science.md §7.2–7.3):
/// ln StableMax([0,1,2]) = ln [1/6, 1/3, 1/2]; StableMax CE of [5,−5,0] with y = 0 is
/// 0.1776811772 and with y = 1 the gradient is [6/43, (1/36)(6/43) − 1/6, 6/43];
/// softmax CE of [0, ln 3] with y = 1 is ln(4/3), gradient [1/4, −1/4]. Also a row far in the
/// tail: log-softmax of [0, −200] is [−e^{−200} ≈ 0, −200] (the softmax underflows, the log does
/// not); log-StableMax of [−1e30, 0] is [−ln(1e30 + 1) ≈ −69.0776, ≈ 0].
#[test]
fn known_values() {
    let Some(ctx) = context("loss_known_values") else {
        return;
    };
    let lst =
        pollster::block_on(scalelab_gpu::log_stablemax_rows(ctx, &[0.0, 1.0, 2.0], 3)).unwrap();
    for (g, p) in lst.iter().zip([1.0f64 / 6.0, 1.0 / 3.0, 0.5]) {
        assert!((f64::from(*g) - p.ln()).abs() < 1e-6, "{lst:?}");
    }
    let tail = pollster::block_on(scalelab_gpu::log_stablemax_rows(ctx, &[-1e30, 0.0], 2)).unwrap();
    assert!((f64::from(tail[0]) + 1e30f64.ln()).abs() < 1e-4, "{tail:?}");
    assert!(tail[1].abs() < 1e-6, "{tail:?}");
    let ls = pollster::block_on(scalelab_gpu::log_softmax_rows(ctx, &[0.0, -200.0], 2)).unwrap();
    assert_eq!(ls, [0.0, -200.0]);

    let st = pollster::block_on(scalelab_gpu::cross_entropy_rows(
        ctx,
        &[5.0, -5.0, 0.0, 5.0, -5.0, 0.0],
        3,
        &[0, 1],
        CrossEntropyKind::StableMax,
    ))
    .unwrap();
    assert!(
        (f64::from(st.loss[0]) - 0.1776811772).abs() < 1e-6,
        "{st:?}"
    );
    let want = [
        6.0 / 43.0,
        (1.0 / 36.0) * (6.0 / 43.0) - 1.0 / 6.0,
        6.0 / 43.0,
    ];
    for (g, w) in st.grad[3..].iter().zip(want) {
        assert!((f64::from(*g) - w).abs() < 1e-6, "{st:?}");
    }
    let sm = pollster::block_on(scalelab_gpu::cross_entropy_rows(
        ctx,
        &[0.0, 3f32.ln()],
        2,
        &[1],
        CrossEntropyKind::Softmax,
    ))
    .unwrap();
    assert!(
        (f64::from(sm.loss[0]) - (4.0f64 / 3.0).ln()).abs() < 1e-6,
        "{sm:?}"
    );
    assert!(
        (sm.grad[0] - 0.25).abs() < 1e-6 && (sm.grad[1] + 0.25).abs() < 1e-6,
        "{sm:?}"
    );
}
