//! `matmul` vs the f64 oracle `scalelab_core::ops::matmul::matmul`, on seeded inputs, for every
//! transpose / bias / ReLU combination; size and limit errors; an ignored GFLOP/s measurement.
//!
//! Tolerance: the standard bound for an f32 dot product summed in order (Higham, *Accuracy and
//! Stability of Numerical Algorithms*, §3.1), plus one rounding for the bias:
//! |C − C*| ≤ γ_{k+1} (Σ_p |op(A)[i,p]|·|op(B)[p,j]| + |bias[j]|), γ_j = j·u/(1 − j·u), u = 2⁻²⁴,
//! with C* the f64 oracle on the same (f32) inputs. ReLU is 1-Lipschitz, so it keeps the bound.

use std::io::Write as _;

use scalelab_core::ops::matmul as oracle;
use scalelab_gpu::{
    plan_matmul, to_f32, to_f64, xorshift_uniform, GpuError, KernelLimits, MatmulOptions,
};

use crate::gpu::context;

const U: f64 = 1.0 / (1u64 << 24) as f64;

/// `(a, b, m, k, n, options, the argument named in the error)`.
type Case<'a> = (
    &'a [f32],
    &'a [f32],
    usize,
    usize,
    usize,
    MatmulOptions<'a>,
    &'static str,
);

fn gamma(j: usize) -> f64 {
    j as f64 * U / (1.0 - j as f64 * U)
}

fn seeded(seed: u64, len: usize) -> Vec<f32> {
    to_f32(&xorshift_uniform(seed, len, -1.0, 1.0))
}

/// Every (transpose_a, transpose_b, bias, relu) combination.
fn all_combos() -> Vec<(bool, bool, bool, bool)> {
    (0..16)
        .map(|bits| (bits & 1 != 0, bits & 2 != 0, bits & 4 != 0, bits & 8 != 0))
        .collect()
}

fn check(m: usize, k: usize, n: usize, combos: &[(bool, bool, bool, bool)]) {
    let Some(ctx) = context(&format!("matmul {m}x{k}x{n}")) else {
        return;
    };
    let seed = (m * 1_000_003 + k * 1009 + n) as u64;
    let a = seeded(seed, m * k);
    let b = seeded(seed + 1, k * n);
    let bias = seeded(seed + 2, n);
    let (a64, b64, bias64) = (to_f64(&a), to_f64(&b), to_f64(&bias));
    let abs = |xs: &[f64]| xs.iter().map(|x| x.abs()).collect::<Vec<_>>();
    let (a_abs, b_abs, bias_abs) = (abs(&a64), abs(&b64), abs(&bias64));
    for &(ta, tb, with_bias, relu) in combos {
        let what = format!("matmul {m}x{k}x{n} ta={ta} tb={tb} bias={with_bias} relu={relu}");
        let options = MatmulOptions {
            transpose_a: ta,
            transpose_b: tb,
            bias: with_bias.then_some(&bias[..]),
            relu,
        };
        // The data are the same for every combination; only their interpretation changes.
        let gpu = pollster::block_on(scalelab_gpu::matmul(ctx, &a, &b, m, k, n, options))
            .unwrap_or_else(|err| panic!("{what}: {err}"));
        assert_eq!(gpu.len(), m * n, "{what}: output length");
        if let Some(i) = gpu.iter().position(|x| x.is_nan()) {
            panic!("{what}: element {i} left NaN (not written)");
        }
        let cpu_options = oracle::MatmulOptions {
            transpose_a: ta,
            transpose_b: tb,
            bias: with_bias.then_some(&bias64[..]),
            relu,
        };
        let cpu = oracle::matmul(&a64, &b64, m, k, n, cpu_options).expect("oracle");
        let scale = oracle::matmul(
            &a_abs,
            &b_abs,
            m,
            k,
            n,
            oracle::MatmulOptions {
                bias: with_bias.then_some(&bias_abs[..]),
                relu: false,
                ..cpu_options
            },
        )
        .expect("oracle");
        for (i, ((&got, &want), &s)) in gpu.iter().zip(&cpu).zip(&scale).enumerate() {
            let err = (f64::from(got) - want).abs();
            let tol = gamma(k + 1) * s;
            assert!(
                err <= tol,
                "{what}: C[{}, {}] = {got}, oracle {want}, |err| = {err:e} > {tol:e}",
                i / n,
                i % n
            );
        }
    }
    assert!(
        ctx.uncaptured_errors().is_empty(),
        "{:?}",
        ctx.uncaptured_errors()
    );
}

#[test]
fn empty_shapes_return_empty_or_bias() {
    check(0, 5, 3, &all_combos());
    check(3, 5, 0, &all_combos());
    // k = 0: the product is the bias (or zeros), then ReLU.
    check(3, 0, 4, &all_combos());
}

#[test]
fn one_by_one() {
    check(1, 1, 1, &all_combos());
}

#[test]
fn size_63() {
    check(63, 63, 63, &all_combos());
}

#[test]
fn size_64() {
    check(64, 64, 64, &all_combos());
}

#[test]
fn size_65() {
    check(65, 65, 65, &all_combos());
}

#[test]
fn rectangular_257x130x129() {
    check(257, 130, 129, &all_combos());
}

#[test]
fn large_512() {
    check(
        512,
        512,
        512,
        &[(false, false, true, true), (true, true, false, false)],
    );
}

/// Hand-computed: [[1, 2, 3], [4, 5, 6]] · [[1, 0], [0, 1], [1, -1]] = [[4, -1], [10, -1]].
#[test]
fn known_values() {
    let Some(ctx) = context("matmul known_values") else {
        return;
    };
    let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let b = [1.0, 0.0, 0.0, 1.0, 1.0, -1.0];
    let c = pollster::block_on(scalelab_gpu::matmul(
        ctx,
        &a,
        &b,
        2,
        3,
        2,
        MatmulOptions::default(),
    ))
    .unwrap();
    assert_eq!(c, [4.0, -1.0, 10.0, -1.0]);
    let bias = [-5.0, 2.0];
    let options = MatmulOptions {
        bias: Some(&bias),
        relu: true,
        ..MatmulOptions::default()
    };
    let c = pollster::block_on(scalelab_gpu::matmul(ctx, &a, &b, 2, 3, 2, options)).unwrap();
    assert_eq!(c, [0.0, 1.0, 5.0, 1.0]);
}

#[test]
fn mismatched_sizes_and_bad_values_are_invalid_input() {
    let Some(ctx) = context("matmul invalid input") else {
        return;
    };
    let six = [1.0f32; 6];
    let nan = [1.0, f32::NAN, 1.0, 1.0, 1.0, 1.0];
    let bias_short = [0.0f32; 1];
    let transposed = MatmulOptions {
        transpose_a: true,
        ..MatmulOptions::default()
    };
    let cases: [Case<'_>; 5] = [
        (&six, &six, 2, 2, 2, MatmulOptions::default(), "a"),
        (&six[..4], &six[..5], 2, 2, 3, MatmulOptions::default(), "b"),
        (&nan, &six, 2, 3, 2, MatmulOptions::default(), "a"),
        (
            &six,
            &six,
            2,
            3,
            2,
            MatmulOptions {
                bias: Some(&bias_short),
                ..MatmulOptions::default()
            },
            "bias",
        ),
        // 3 × 2 stored for Aᵀ with m = 3, k = 2 would need 6; m = 2, k = 2 needs 4.
        (&six, &six[..4], 2, 2, 2, transposed, "a"),
    ];
    for (a, b, m, k, n, options, what) in cases {
        match pollster::block_on(scalelab_gpu::matmul(ctx, a, b, m, k, n, options)) {
            Err(GpuError::InvalidInput { what: got, .. }) if got == what => {}
            other => panic!("{m}x{k}x{n} {what}: {other:?}"),
        }
    }
}

#[test]
fn too_large_against_fake_limits() {
    let limits = KernelLimits::webgpu_defaults();
    let plan = plan_matmul(&limits, 100, 7, 33).unwrap();
    // 16 × 16 invocations, each a 4 × 4 block: 64 × 64 of C per workgroup.
    assert_eq!((plan.tile, plan.workgroups), (16, [1, 2]));
    let small = KernelLimits {
        max_storage_buffer_binding_size: 1024,
        ..limits
    };
    assert!(plan_matmul(&small, 16, 16, 16).is_ok()); // exactly 1024 bytes each
    match plan_matmul(&small, 16, 17, 16) {
        Err(GpuError::TooLarge {
            what: "a bytes",
            requested: 1088,
            limit: 1024,
        }) => {}
        other => panic!("{other:?}"),
    }
    match plan_matmul(&small, 17, 1, 16) {
        Err(GpuError::TooLarge {
            what: "c bytes", ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let few_groups = KernelLimits {
        max_compute_workgroups_per_dimension: 4,
        ..limits
    };
    assert!(plan_matmul(&few_groups, 256, 1, 256).is_ok());
    match plan_matmul(&few_groups, 257, 1, 256) {
        Err(GpuError::TooLarge {
            what: "m (rows of C)",
            requested: 257,
            limit: 256,
        }) => {}
        other => panic!("{other:?}"),
    }
    let narrow = KernelLimits {
        max_compute_invocations_per_workgroup: 128,
        ..limits
    };
    assert_eq!(plan_matmul(&narrow, 9, 9, 9).unwrap().tile, 8);
    let tiny = KernelLimits {
        max_compute_invocations_per_workgroup: 32,
        ..limits
    };
    assert_eq!(plan_matmul(&tiny, 9, 9, 9).unwrap_err().code(), "TooLarge");
    let huge = KernelLimits {
        max_storage_buffer_binding_size: u64::MAX,
        max_buffer_size: u64::MAX,
        ..limits
    };
    match plan_matmul(&huge, 1 << 16, 1 << 16, 1) {
        Err(GpuError::TooLarge {
            what: "elements", ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

/// `cargo test -p scalelab-gpu --test it -- --ignored matmul_gflops --nocapture`: GFLOP/s
/// (2·m·k·n per call, best of 3 after a warm-up) of whole launcher calls, upload and read-back
/// included.
#[test]
#[ignore = "benchmark; run explicitly"]
fn matmul_gflops() {
    let Some(ctx) = context("matmul_gflops") else {
        return;
    };
    for size in [256, 512, 1024] {
        let a = seeded(1, size * size);
        let b = seeded(2, size * size);
        let run = || {
            let start = std::time::Instant::now();
            pollster::block_on(scalelab_gpu::matmul(
                ctx,
                &a,
                &b,
                size,
                size,
                size,
                MatmulOptions::default(),
            ))
            .expect("matmul runs");
            start.elapsed().as_secs_f64()
        };
        run();
        let best = (0..3).map(|_| run()).fold(f64::INFINITY, f64::min);
        let gflops = 2.0 * (size as f64).powi(3) / best / 1e9;
        let _ = writeln!(
            std::io::stderr(),
            "matmul {size}³ on {}: {:.1} ms, {gflops:.2} GFLOP/s",
            ctx.adapter_name(),
            best * 1e3
        );
    }
}
