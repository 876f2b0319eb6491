//! `scalelab_gpu::workload`: the kernel suite the browser tests run on WebGPU, run here on Vulkan.
//! Every kernel at every `VERIFY_SIZES` size meets its documented tolerance against the f64 oracle
//! (the same bounds as the per-kernel tests in this binary); op keys round-trip; flop counts.

use std::io::Write as _;

use scalelab_gpu::workload::{compare, verify, KernelOp, Workload, VERIFY_SIZES};

use crate::gpu::context;

#[test]
fn every_kernel_passes_the_suite() {
    let Some(ctx) = context("every_kernel_passes_the_suite") else {
        return;
    };
    let mut calls = 0;
    let checks = pollster::block_on(verify(ctx, |done, total| {
        calls += 1;
        assert!(done <= total);
    }));
    assert_eq!(checks.len(), KernelOp::ALL.len() * VERIFY_SIZES.len());
    assert_eq!(calls, checks.len());
    let failed: Vec<_> = checks.iter().filter(|c| !c.passed).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let worst = checks
        .iter()
        .filter_map(|c| {
            c.comparison
                .map(|cmp| (cmp.worst_ratio, c.op.key(), c.size))
        })
        .fold((0.0, "", 0), |a, b| if b.0 > a.0 { b } else { a });
    let _ = writeln!(
        std::io::stderr(),
        "kernel suite: {} checks passed; worst error/tolerance {:.3} ({} n = {})",
        checks.len(),
        worst.0,
        worst.1,
        worst.2
    );
    // The global sum of nothing is refused, not computed.
    let empty_sum = checks
        .iter()
        .find(|c| c.op == KernelOp::SumAll && c.size == 0)
        .unwrap();
    assert!(matches!(
        empty_sum.error,
        Some(scalelab_gpu::GpuError::InvalidInput { .. })
    ));
}

#[test]
fn keys_round_trip_and_are_unique() {
    for op in KernelOp::ALL {
        assert_eq!(KernelOp::from_key(op.key()), Some(op));
    }
    let mut keys: Vec<_> = KernelOp::ALL.iter().map(|op| op.key()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), KernelOp::ALL.len());
    assert_eq!(KernelOp::from_key("conv2d"), None);
}

/// 2n³ for a product of two n × n matrices (the standard GEMM count).
#[test]
fn matmul_flops_are_the_gemm_count() {
    assert_eq!(KernelOp::Matmul.flops(1024), 2.0 * 1024f64.powi(3));
    assert_eq!(Workload::new(KernelOp::Matmul, 3, 1).flops(), 54.0);
}

/// Hand-made: NaN and out-of-tolerance elements fail; exact ones pass.
#[test]
fn compare_flags_nan_and_excess_error() {
    let ok = compare(&[1.0, 2.0], &[1.0, 2.0 + 1e-7], &[0.0, 1e-6]);
    assert!(ok.passed);
    assert!((ok.max_abs_err - 1e-7).abs() < 1e-12);
    let nan = compare(&[f32::NAN, 2.0], &[1.0, 2.0], &[1.0, 1.0]);
    assert!(!nan.passed);
    assert_eq!(nan.non_finite, 1);
    let far = compare(&[1.5], &[1.0], &[0.1]);
    assert!(!far.passed);
    assert!((far.worst_ratio - 5.0).abs() < 1e-12);
    assert!(!compare(&[1.0], &[1.0, 2.0], &[1.0, 1.0]).passed);
}

/// The CPU path is the oracle: softmax of a 1 × 1 input is [1].
#[test]
fn cpu_path_is_the_oracle() {
    let w = Workload::new(KernelOp::SoftmaxRows, 1, 7);
    assert_eq!(w.run_cpu().unwrap(), vec![1.0]);
    assert!(Workload::new(KernelOp::SumAll, 0, 7).run_cpu().is_err());
}

/// Timing returns the kernel's result (checked against the oracle) and positive times, on the
/// GPU and on the CPU path; the dispatch repeats are back at 1 afterwards.
#[test]
fn timing_returns_the_result() {
    use scalelab_gpu::workload::{time_cpu, time_gpu};
    let start = std::time::Instant::now();
    let now = move || start.elapsed().as_secs_f64() * 1e3;
    let w = Workload::new(KernelOp::Matmul, 65, 3);
    let want = w.run_cpu().unwrap();
    let cpu = time_cpu(&w, &now).unwrap();
    assert!(cpu.seconds > 0.0 && cpu.gflops(&w).is_finite());
    assert!(compare(&cpu.output, &want, &w.tolerance(&want)).passed);
    let Some(ctx) = context("timing_returns_the_result") else {
        return;
    };
    let gpu = pollster::block_on(time_gpu(ctx, &w, 4, &now)).unwrap();
    assert!(gpu.seconds > 0.0 && gpu.end_to_end_seconds > 0.0);
    assert!(compare(&gpu.output, &want, &w.tolerance(&want)).passed);
    assert_eq!(ctx.dispatch_repeats(), 1);
}

/// With a browser-like clock (rounded to 0.1 ms), a CPU kernel far faster than the resolution is
/// still timed (by batches), not reported as 0 s: a 1-element ReLU takes well under 1 ms but more
/// than 1 ns. The old best-of-single-runs timing gave 0 here (GFLOP/s in the hundreds of thousands
/// on the Kernels page).
#[test]
fn cpu_timing_survives_a_coarse_clock() {
    use scalelab_gpu::workload::time_cpu;
    let start = std::time::Instant::now();
    let coarse = move || (start.elapsed().as_secs_f64() * 1e4).floor() / 10.0;
    let w = Workload::new(KernelOp::Relu, 1, 3);
    let t = time_cpu(&w, &coarse).unwrap();
    assert!(t.seconds > 1e-9 && t.seconds < 1e-3, "{}", t.seconds);
    assert_eq!(t.output.len(), 1);
}

/// A hand-built call (as the npm package builds them) runs on both paths: softmax([0, ln 3]) =
/// [1/4, 3/4] by hand; ragged rows are the same `InvalidInput` message on the CPU and the GPU.
#[test]
fn a_call_gives_the_same_answers_and_errors_on_both_paths() {
    use scalelab_gpu::workload::{KernelCall, RowKernel};
    let call = KernelCall::Rows {
        kind: RowKernel::Softmax,
        data: vec![0.0, 3.0f32.ln()],
        cols: 2,
    };
    let cpu = call.run_cpu().unwrap();
    assert!(
        (cpu[0] - 0.25).abs() < 1e-7 && (cpu[1] - 0.75).abs() < 1e-7,
        "{cpu:?}"
    );
    let ragged = KernelCall::Rows {
        kind: RowKernel::LogStablemax,
        data: vec![0.0; 7],
        cols: 3,
    };
    let cpu_err = ragged.run_cpu().unwrap_err();
    assert_eq!(cpu_err.code(), "InvalidInput");
    assert!(
        cpu_err.to_string().contains("not a multiple of cols = 3"),
        "{cpu_err}"
    );
    let Some(ctx) = context("a_call_gives_the_same_answers_and_errors_on_both_paths") else {
        return;
    };
    let gpu = pollster::block_on(call.run_gpu(ctx)).unwrap();
    assert!(
        (gpu[0] - 0.25).abs() < 1e-6 && (gpu[1] - 0.75).abs() < 1e-6,
        "{gpu:?}"
    );
    let gpu_err = pollster::block_on(ragged.run_gpu(ctx)).unwrap_err();
    assert_eq!(gpu_err.to_string(), cpu_err.to_string());
}
