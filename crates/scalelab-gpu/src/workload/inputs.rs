//! The seeded inputs of every [`KernelOp`] at a size ([`Workload::new`]).

use scalelab_core::ops::optim::AdamW;
use scalelab_core::stablemax::Loss;

use super::call::{ElementwiseKind, KernelCall, RowKernel};
use super::op::{KernelOp, GMM_COMPONENTS, GMM_DIM};
use super::Workload;
use crate::convert::to_f32;
use crate::kernels::reduce_rows::ReduceOp;
use crate::probe::xorshift_uniform;

/// AdamW settings of the workload: a large learning rate so the update is visible in f32.
const ADAMW: AdamW = AdamW {
    lr: 1e-2,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weight_decay: 1e-2,
};
/// The AdamW step number (bias corrections ≠ 1).
const ADAMW_STEP: u64 = 3;
/// Noise level of the GMM workload.
const GMM_SIGMA: f32 = 0.7;

fn uniform(seed: u64, len: usize, lo: f64, hi: f64) -> Vec<f32> {
    to_f32(&xorshift_uniform(seed, len, lo, hi))
}

impl Workload {
    /// `op` at size `n`, inputs drawn from [`xorshift_uniform`] with `seed` (the same on every
    /// platform): matrices and logits uniform in [−4, 4), AdamW moments in their natural ranges,
    /// GMM points in [−3, 3) against means in [−2, 2).
    pub fn new(op: KernelOp, n: usize, seed: u64) -> Workload {
        let e = n * n;
        let cols = n.max(1);
        let call = match op {
            KernelOp::Matmul
            | KernelOp::MatmulTransposeA
            | KernelOp::MatmulTransposeB
            | KernelOp::MatmulBiasRelu => KernelCall::Matmul {
                a: uniform(seed, e, -4.0, 4.0),
                b: uniform(seed + 1, e, -4.0, 4.0),
                m: n,
                k: n,
                n,
                bias: (op == KernelOp::MatmulBiasRelu).then(|| uniform(seed + 2, n, -4.0, 4.0)),
                transpose_a: op == KernelOp::MatmulTransposeA,
                transpose_b: op == KernelOp::MatmulTransposeB,
                relu: op == KernelOp::MatmulBiasRelu,
            },
            KernelOp::SoftmaxRows
            | KernelOp::StablemaxRows
            | KernelOp::LogSoftmaxRows
            | KernelOp::LogStablemaxRows => KernelCall::Rows {
                kind: match op {
                    KernelOp::SoftmaxRows => RowKernel::Softmax,
                    KernelOp::StablemaxRows => RowKernel::Stablemax,
                    KernelOp::LogSoftmaxRows => RowKernel::LogSoftmax,
                    _ => RowKernel::LogStablemax,
                },
                data: uniform(seed, e, -4.0, 4.0),
                cols,
            },
            KernelOp::SoftmaxCrossEntropy | KernelOp::StablemaxCrossEntropy => {
                KernelCall::CrossEntropy {
                    logits: uniform(seed, e, -4.0, 4.0),
                    cols,
                    labels: xorshift_uniform(seed + 1, n, 0.0, n as f64)
                        .iter()
                        .map(|&u| (u as u32).min(n.saturating_sub(1) as u32))
                        .collect(),
                    loss: if op == KernelOp::SoftmaxCrossEntropy {
                        Loss::Softmax
                    } else {
                        Loss::StableMax
                    },
                }
            }
            KernelOp::SumRows
            | KernelOp::MaxRows
            | KernelOp::ArgmaxRows
            | KernelOp::MeanRows
            | KernelOp::SumAll => KernelCall::Reduce {
                data: uniform(seed, e, -4.0, 4.0),
                cols: (op != KernelOp::SumAll).then_some(cols),
                op: match op {
                    KernelOp::MaxRows => ReduceOp::Max,
                    KernelOp::ArgmaxRows => ReduceOp::ArgMax,
                    KernelOp::MeanRows => ReduceOp::Mean,
                    _ => ReduceOp::Sum,
                },
            },
            KernelOp::Axpy | KernelOp::Scale | KernelOp::Relu | KernelOp::ReluGrad => {
                KernelCall::Elementwise {
                    kind: match op {
                        KernelOp::Axpy => ElementwiseKind::Axpy,
                        KernelOp::Scale => ElementwiseKind::Scale,
                        KernelOp::Relu => ElementwiseKind::Relu,
                        _ => ElementwiseKind::ReluGrad,
                    },
                    alpha: 0.375,
                    x: uniform(seed, e, -4.0, 4.0),
                    y: uniform(seed + 1, e, -4.0, 4.0),
                }
            }
            KernelOp::AdamW => KernelCall::AdamW {
                param: uniform(seed, e, -1.0, 1.0),
                grad: uniform(seed + 1, e, -1.0, 1.0),
                m: uniform(seed + 2, e, -0.1, 0.1),
                v: uniform(seed + 3, e, 0.0, 0.01),
                step: ADAMW_STEP,
                cfg: ADAMW,
            },
            // One tensor holding every element (none for an empty input).
            KernelOp::OrthogonalGrad => KernelCall::Orthogonal {
                w: uniform(seed, e, -1.0, 1.0),
                g: uniform(seed + 1, e, -1.0, 1.0),
                lengths: if e == 0 { Vec::new() } else { vec![e] },
                rescale: true,
            },
            KernelOp::GmmDenoiser => KernelCall::Gmm {
                x: uniform(seed, e * GMM_DIM, -3.0, 3.0),
                d: GMM_DIM,
                sigma: GMM_SIGMA,
                means: uniform(seed + 1, GMM_COMPONENTS * GMM_DIM, -2.0, 2.0),
                stds: uniform(seed + 2, GMM_COMPONENTS, 0.2, 1.5),
                weights: uniform(seed + 3, GMM_COMPONENTS, 0.1, 2.0),
            },
        };
        Workload { op, size: n, call }
    }
}
