//! `elementwise` vs the f64 oracle `scalelab_core::ops::elementwise::elementwise`, on seeded
//! inputs (a quarter of them exactly 0, to pin ReLU's convention at 0).
//!
//! Tolerance (u = 2⁻²⁴): axpy ≤ 2u(|α·x| + |y|) (a product and a sum, or one FMA), scale ≤ u|α·x|,
//! ReLU and its gradient exact.

use scalelab_core::ops::elementwise as oracle;
use scalelab_gpu::{
    plan_elementwise, to_f32, to_f64, xorshift_uniform, ElementwiseOp, GpuError, KernelLimits,
};

use crate::gpu::context;

const U: f64 = 1.0 / (1u64 << 24) as f64;
const ALPHA: f32 = -1.37;

fn seeded(seed: u64, len: usize) -> Vec<f32> {
    let mut values = xorshift_uniform(seed, len, -10.0, 10.0);
    values.iter_mut().step_by(4).for_each(|x| *x = 0.0);
    to_f32(&values)
}

fn check(len: usize) {
    let Some(ctx) = context(&format!("elementwise {len}")) else {
        return;
    };
    let x = seeded(len as u64, len);
    let y = seeded(len as u64 + 1, len);
    let (x64, y64, alpha) = (to_f64(&x), to_f64(&y), f64::from(ALPHA));
    let cases = [
        (
            "axpy",
            ElementwiseOp::Axpy {
                alpha: ALPHA,
                x: &x,
                y: &y,
            },
            oracle::ElementwiseOp::Axpy {
                alpha,
                x: &x64,
                y: &y64,
            },
        ),
        (
            "scale",
            ElementwiseOp::Scale {
                alpha: ALPHA,
                x: &x,
            },
            oracle::ElementwiseOp::Scale { alpha, x: &x64 },
        ),
        (
            "relu",
            ElementwiseOp::Relu { x: &x },
            oracle::ElementwiseOp::Relu { x: &x64 },
        ),
        (
            "relu_grad",
            ElementwiseOp::ReluGrad { grad: &y, x: &x },
            oracle::ElementwiseOp::ReluGrad {
                grad: &y64,
                x: &x64,
            },
        ),
    ];
    for (name, gpu_op, cpu_op) in cases {
        let what = format!("elementwise {name} {len}");
        let gpu = pollster::block_on(scalelab_gpu::elementwise(ctx, gpu_op))
            .unwrap_or_else(|err| panic!("{what}: {err}"));
        assert_eq!(gpu.len(), len, "{what}: output length");
        if let Some(i) = gpu.iter().position(|v| v.is_nan()) {
            panic!("{what}: element {i} left NaN (not written)");
        }
        let cpu = oracle::elementwise(cpu_op).expect("oracle");
        for (i, (&got, &want)) in gpu.iter().zip(&cpu).enumerate() {
            let tol = match name {
                "axpy" => 2.0 * U * ((alpha * x64[i]).abs() + y64[i].abs()),
                "scale" => U * (alpha * x64[i]).abs(),
                _ => 0.0,
            };
            let err = (f64::from(got) - want).abs();
            assert!(
                err <= tol,
                "{what}[{i}]: {got} vs {want}, |err| = {err:e} > {tol:e}"
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
fn sizes_0_1_63_64_65() {
    for len in [0, 1, 63, 64, 65] {
        check(len);
    }
}

#[test]
fn large_1_000_003() {
    check(1_000_003);
}

#[test]
fn invalid_input() {
    let Some(ctx) = context("elementwise invalid_input") else {
        return;
    };
    let ops = [
        ElementwiseOp::Axpy {
            alpha: 1.0,
            x: &[1.0],
            y: &[1.0, 2.0],
        },
        ElementwiseOp::ReluGrad {
            grad: &[1.0, 2.0],
            x: &[1.0],
        },
        ElementwiseOp::Scale {
            alpha: f32::NAN,
            x: &[1.0],
        },
        ElementwiseOp::Relu {
            x: &[0.0, f32::INFINITY],
        },
        ElementwiseOp::Axpy {
            alpha: 1.0,
            x: &[1.0],
            y: &[f32::NAN],
        },
    ];
    for op in ops {
        let err = pollster::block_on(scalelab_gpu::elementwise(ctx, op)).unwrap_err();
        assert_eq!(err.code(), "InvalidInput", "{op:?}: {err}");
    }
}

#[test]
fn too_large_against_fake_limits_and_2d_grid() {
    let limits = KernelLimits::webgpu_defaults();
    let plan = plan_elementwise(&limits, 65).unwrap();
    assert_eq!((plan.workgroup_size, plan.workgroups), (256, [1, 1]));
    assert_eq!(plan_elementwise(&limits, 64).unwrap().workgroup_size, 64);
    let few_groups = KernelLimits {
        max_compute_workgroups_per_dimension: 4,
        ..limits
    };
    assert_eq!(
        plan_elementwise(&few_groups, 5 * 256).unwrap().workgroups,
        [4, 2]
    );
    assert!(plan_elementwise(&few_groups, 16 * 256).is_ok());
    match plan_elementwise(&few_groups, 16 * 256 + 1) {
        Err(GpuError::TooLarge {
            what: "elements",
            limit: 4096,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let small = KernelLimits {
        max_storage_buffer_binding_size: 1024,
        ..limits
    };
    match plan_elementwise(&small, 257) {
        Err(GpuError::TooLarge {
            what: "data bytes",
            requested: 1028,
            limit: 1024,
        }) => {}
        other => panic!("{other:?}"),
    }
}
