//! Comparison of a GPU result with the oracle ([`compare`]) and the run of every kernel at
//! [`VERIFY_SIZES`] ([`verify`], [`check`]).

use super::{KernelOp, Workload};
use crate::context::GpuContext;
use crate::error::GpuError;

/// The sizes [`verify`] runs: empty, one, both sides of a 64-wide workgroup, and a large one.
pub const VERIFY_SIZES: [usize; 6] = [0, 1, 63, 64, 65, 512];

/// How far an f32 result is from the f64 oracle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Largest |got − want|.
    pub max_abs_err: f64,
    /// Largest |got − want| / |want| over elements with want ≠ 0.
    pub max_rel_err: f64,
    /// Largest |got − want| / tolerance (≤ 1 passes; 0/0 counts as 0).
    pub worst_ratio: f64,
    /// Elements left NaN (never written) or non-finite.
    pub non_finite: usize,
    /// Lengths differ, no NaN, every element within its tolerance.
    pub passed: bool,
}

/// Compares `got` with `want` element by element against `tolerance` (all the same length).
pub fn compare(got: &[f32], want: &[f64], tolerance: &[f64]) -> Comparison {
    let mut cmp = Comparison {
        max_abs_err: 0.0,
        max_rel_err: 0.0,
        worst_ratio: 0.0,
        non_finite: 0,
        passed: got.len() == want.len() && want.len() == tolerance.len(),
    };
    for ((&g, &w), &t) in got.iter().zip(want).zip(tolerance) {
        if !g.is_finite() {
            cmp.non_finite += 1;
            continue;
        }
        let err = (f64::from(g) - w).abs();
        cmp.max_abs_err = cmp.max_abs_err.max(err);
        if w != 0.0 {
            cmp.max_rel_err = cmp.max_rel_err.max(err / w.abs());
        }
        let ratio = if err == 0.0 { 0.0 } else { err / t };
        cmp.worst_ratio = cmp.worst_ratio.max(ratio);
    }
    cmp.passed &= cmp.non_finite == 0 && cmp.worst_ratio <= 1.0;
    cmp
}

/// The outcome of one kernel at one size in [`verify`].
#[derive(Debug, Clone)]
pub struct Check {
    /// The operation.
    pub op: KernelOp,
    /// The size `n`.
    pub size: usize,
    /// The comparison, or `None` when the run failed or was expected to fail.
    pub comparison: Option<Comparison>,
    /// The GPU (or oracle) error, if any (the global sum of nothing must give `InvalidInput`).
    pub error: Option<GpuError>,
    /// Whether the kernel met its tolerance (or gave the expected error).
    pub passed: bool,
}

/// Runs every [`KernelOp`] at every [`VERIFY_SIZES`] size on `ctx` and compares each result with
/// the oracle. `progress(done, total)` is called after each check.
pub async fn verify(ctx: &GpuContext, mut progress: impl FnMut(usize, usize)) -> Vec<Check> {
    let cases = verify_cases();
    let total = cases.len();
    let mut checks = Vec::with_capacity(total);
    for (op, size, seed) in cases {
        checks.push(check(ctx, &Workload::new(op, size, seed)).await);
        progress(checks.len(), total);
    }
    checks
}

/// The checks of [`verify`] in order: every [`KernelOp`] at every [`VERIFY_SIZES`] size, with the
/// seed of its inputs.
pub fn verify_cases() -> Vec<(KernelOp, usize, u64)> {
    KernelOp::ALL
        .into_iter()
        .flat_map(|op| {
            VERIFY_SIZES
                .iter()
                .enumerate()
                .map(move |(i, &size)| (op, size, 0x5eed + i as u64))
        })
        .collect()
}

/// Runs one workload on `ctx` and compares it with the oracle.
pub async fn check(ctx: &GpuContext, workload: &Workload) -> Check {
    let (op, size) = (workload.op, workload.size);
    let expect_invalid = op == KernelOp::SumAll && size == 0;
    match (workload.run_gpu(ctx).await, workload.run_cpu()) {
        (Ok(got), Ok(want)) => {
            let comparison = compare(&got, &want, &workload.tolerance(&want));
            Check {
                op,
                size,
                comparison: Some(comparison),
                error: None,
                passed: comparison.passed && !expect_invalid,
            }
        }
        (Err(err), _) => Check {
            op,
            size,
            comparison: None,
            passed: expect_invalid && matches!(err, GpuError::InvalidInput { .. }),
            error: Some(err),
        },
        (Ok(_), Err(err)) => Check {
            op,
            size,
            comparison: None,
            passed: false,
            error: Some(err),
        },
    }
}
