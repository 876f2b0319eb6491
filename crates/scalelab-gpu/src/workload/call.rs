//! [`KernelCall`]: one kernel call with all its inputs, dispatched to the GPU launcher
//! ([`KernelCall::run_gpu`]) or to the f64 oracle in `scalelab_core::ops` ([`KernelCall::run_cpu`]).

use scalelab_core::ops::{self, optim::AdamW};
use scalelab_core::stablemax::Loss;

use crate::context::GpuContext;
use crate::convert::to_f64;
use crate::error::GpuError;
use crate::kernels::cross_entropy_rows::{cross_entropy_rows, CrossEntropyKind};
use crate::kernels::elementwise::{elementwise, ElementwiseOp};
use crate::kernels::matmul::{matmul, MatmulOptions};
use crate::kernels::reduce_rows::{reduce_all, reduce_rows, ReduceOp};
use crate::kernels::{
    adamw_step::adamw_step, gmm_denoiser::gmm_denoiser, log_softmax_rows::log_softmax_rows,
    log_stablemax_rows::log_stablemax_rows, orthogonal_grad::orthogonal_grad,
    softmax_rows::softmax_rows, stablemax_rows::stablemax_rows,
};
use crate::launch::row_count;

/// Which row-wise map a [`KernelCall::Rows`] applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKernel {
    /// Softmax.
    Softmax,
    /// StableMax.
    Stablemax,
    /// Log-softmax.
    LogSoftmax,
    /// Log-StableMax.
    LogStablemax,
}

/// Which map a [`KernelCall::Elementwise`] applies (`y` is the gradient for the ReLU gradient).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementwiseKind {
    /// `y + αx`.
    Axpy,
    /// `αx`.
    Scale,
    /// `max(x, 0)`.
    Relu,
    /// `y · [x > 0]`.
    ReluGrad,
}

/// One kernel call with all its inputs: what the GPU launcher and the f64 CPU oracle both take.
/// The npm package's `ComputeContext` builds these from user input; [`Workload`](super::Workload)
/// from seeds.
#[derive(Debug, Clone, PartialEq)]
pub enum KernelCall {
    /// [`matmul`]: `a` is `op(A)` as `m × k` (or `k × m` with `transpose_a`), `b` likewise.
    Matmul {
        /// Left operand.
        a: Vec<f32>,
        /// Right operand.
        b: Vec<f32>,
        /// Rows of C.
        m: usize,
        /// Inner dimension.
        k: usize,
        /// Columns of C.
        n: usize,
        /// Added to every row (length `n`).
        bias: Option<Vec<f32>>,
        /// `a` holds A as `k × m`.
        transpose_a: bool,
        /// `b` holds B as `n × k`.
        transpose_b: bool,
        /// Apply `max(·, 0)` last.
        relu: bool,
    },
    /// A row-wise map of a row-major matrix with `cols` columns.
    Rows {
        /// The map.
        kind: RowKernel,
        /// Row-major data.
        data: Vec<f32>,
        /// Columns.
        cols: usize,
    },
    /// [`cross_entropy_rows`]: per-row losses, then the gradient w.r.t. the logits.
    CrossEntropy {
        /// Row-major logits.
        logits: Vec<f32>,
        /// Columns (classes).
        cols: usize,
        /// One label per row.
        labels: Vec<u32>,
        /// Softmax or StableMax.
        loss: Loss,
    },
    /// [`reduce_rows`] with `Some(cols)`, [`reduce_all`] with `None`.
    Reduce {
        /// Row-major data.
        data: Vec<f32>,
        /// Columns, or `None` for one global reduction.
        cols: Option<usize>,
        /// The reduction.
        op: ReduceOp,
    },
    /// [`elementwise`].
    Elementwise {
        /// The map.
        kind: ElementwiseKind,
        /// The scalar α.
        alpha: f32,
        /// `x`.
        x: Vec<f32>,
        /// `y` (the incoming gradient for the ReLU gradient; unused by scale and ReLU).
        y: Vec<f32>,
    },
    /// [`adamw_step`]: new parameters, then `m`, then `v`.
    AdamW {
        /// Parameters.
        param: Vec<f32>,
        /// Gradient.
        grad: Vec<f32>,
        /// First moment.
        m: Vec<f32>,
        /// Second moment.
        v: Vec<f32>,
        /// Step number (≥ 1).
        step: u64,
        /// Hyper-parameters.
        cfg: AdamW,
    },
    /// [`orthogonal_grad`] per tensor.
    Orthogonal {
        /// Weights.
        w: Vec<f32>,
        /// Gradient.
        g: Vec<f32>,
        /// Tensor lengths (summing to `w.len()`).
        lengths: Vec<usize>,
        /// The reference code's rescale to ‖g‖.
        rescale: bool,
    },
    /// [`gmm_denoiser`].
    Gmm {
        /// Points, `d` per row.
        x: Vec<f32>,
        /// Dimension.
        d: usize,
        /// Noise level.
        sigma: f32,
        /// Component means, `d` per component.
        means: Vec<f32>,
        /// Component standard deviations.
        stds: Vec<f32>,
        /// Component weights (unnormalised).
        weights: Vec<f32>,
    },
}

impl KernelCall {
    /// Runs the call on the GPU. Outputs are flattened: cross-entropy gives the per-row losses
    /// then the gradients; AdamW the parameters, then `m`, then `v`; argmax indices as f32; a
    /// global reduction one value.
    pub async fn run_gpu(&self, ctx: &GpuContext) -> Result<Vec<f32>, GpuError> {
        match self {
            KernelCall::Matmul {
                a,
                b,
                m,
                k,
                n,
                bias,
                transpose_a,
                transpose_b,
                relu,
            } => {
                let options = MatmulOptions {
                    transpose_a: *transpose_a,
                    transpose_b: *transpose_b,
                    bias: bias.as_deref(),
                    relu: *relu,
                };
                matmul(ctx, a, b, *m, *k, *n, options).await
            }
            KernelCall::Rows { kind, data, cols } => match kind {
                RowKernel::Softmax => softmax_rows(ctx, data, *cols).await,
                RowKernel::Stablemax => stablemax_rows(ctx, data, *cols).await,
                RowKernel::LogSoftmax => log_softmax_rows(ctx, data, *cols).await,
                RowKernel::LogStablemax => log_stablemax_rows(ctx, data, *cols).await,
            },
            KernelCall::CrossEntropy {
                logits,
                cols,
                labels,
                loss,
            } => {
                let kind = match loss {
                    Loss::Softmax => CrossEntropyKind::Softmax,
                    Loss::StableMax => CrossEntropyKind::StableMax,
                };
                let out = cross_entropy_rows(ctx, logits, *cols, labels, kind).await?;
                Ok([out.loss, out.grad].concat())
            }
            KernelCall::Reduce { data, cols, op } => match cols {
                Some(cols) => reduce_rows(ctx, data, *cols, *op).await,
                None => Ok(vec![reduce_all(ctx, data, *op).await?]),
            },
            KernelCall::Elementwise { kind, alpha, x, y } => {
                let alpha = *alpha;
                let op = match kind {
                    ElementwiseKind::Axpy => ElementwiseOp::Axpy { alpha, x, y },
                    ElementwiseKind::Scale => ElementwiseOp::Scale { alpha, x },
                    ElementwiseKind::Relu => ElementwiseOp::Relu { x },
                    ElementwiseKind::ReluGrad => ElementwiseOp::ReluGrad { grad: y, x },
                };
                elementwise(ctx, op).await
            }
            KernelCall::AdamW {
                param,
                grad,
                m,
                v,
                step,
                cfg,
            } => {
                let out = adamw_step(ctx, param, grad, m, v, *step, cfg).await?;
                Ok([out.param, out.m, out.v].concat())
            }
            KernelCall::Orthogonal {
                w,
                g,
                lengths,
                rescale,
            } => orthogonal_grad(ctx, w, g, lengths, *rescale).await,
            KernelCall::Gmm {
                x,
                d,
                sigma,
                means,
                stds,
                weights,
            } => gmm_denoiser(ctx, x, *d, *sigma, means, stds, weights).await,
        }
    }

    /// The f64 oracle from `scalelab_core::ops` on the same f32 inputs, flattened as
    /// [`KernelCall::run_gpu`]; also the CPU fallback (rounded with [`to_f32`](crate::to_f32)).
    /// Bad input is [`GpuError::InvalidInput`], as on the GPU (row shapes and values are checked
    /// by the same [`row_count`] the launchers use, so the messages match too).
    pub fn run_cpu(&self) -> Result<Vec<f64>, GpuError> {
        let invalid = |what: &'static str| {
            move |err: scalelab_core::CoreError| GpuError::InvalidInput {
                what,
                reason: err.to_string(),
            }
        };
        match self {
            KernelCall::Matmul {
                a,
                b,
                m,
                k,
                n,
                bias,
                transpose_a,
                transpose_b,
                relu,
            } => {
                let bias = bias.as_deref().map(to_f64);
                let options = ops::matmul::MatmulOptions {
                    transpose_a: *transpose_a,
                    transpose_b: *transpose_b,
                    bias: bias.as_deref(),
                    relu: *relu,
                };
                ops::matmul::matmul(&to_f64(a), &to_f64(b), *m, *k, *n, options)
                    .map_err(invalid("matmul"))
            }
            KernelCall::Rows { kind, data, cols } => {
                row_count(data, *cols)?;
                let data = to_f64(data);
                match kind {
                    RowKernel::Softmax => ops::softmax_rows(&data, *cols),
                    RowKernel::Stablemax => ops::stablemax_rows(&data, *cols),
                    RowKernel::LogSoftmax => ops::cross_entropy::log_softmax_rows(&data, *cols),
                    RowKernel::LogStablemax => ops::cross_entropy::log_stablemax_rows(&data, *cols),
                }
                .map_err(invalid("data"))
            }
            KernelCall::CrossEntropy {
                logits,
                cols,
                labels,
                loss,
            } => {
                row_count(logits, *cols)?;
                let out =
                    ops::cross_entropy::cross_entropy_rows(&to_f64(logits), *cols, labels, *loss)
                        .map_err(invalid("labels"))?;
                Ok([out.loss, out.grad].concat())
            }
            KernelCall::Reduce { data, cols, op } => {
                let x = to_f64(data);
                match cols {
                    Some(cols) => {
                        row_count(data, *cols)?;
                        ops::reduce::reduce_rows(&x, *cols, *op).map_err(invalid("data"))
                    }
                    None => Ok(vec![
                        ops::reduce::reduce_all(&x, *op).map_err(invalid("data"))?
                    ]),
                }
            }
            KernelCall::Elementwise { kind, alpha, x, y } => {
                let (x, y, alpha) = (to_f64(x), to_f64(y), f64::from(*alpha));
                let op = match kind {
                    ElementwiseKind::Axpy => ops::elementwise::ElementwiseOp::Axpy {
                        alpha,
                        x: &x,
                        y: &y,
                    },
                    ElementwiseKind::Scale => {
                        ops::elementwise::ElementwiseOp::Scale { alpha, x: &x }
                    }
                    ElementwiseKind::Relu => ops::elementwise::ElementwiseOp::Relu { x: &x },
                    ElementwiseKind::ReluGrad => {
                        ops::elementwise::ElementwiseOp::ReluGrad { grad: &y, x: &x }
                    }
                };
                ops::elementwise::elementwise(op).map_err(invalid("x"))
            }
            KernelCall::AdamW {
                param,
                grad,
                m,
                v,
                step,
                cfg,
            } => {
                let out = ops::optim::adamw_step(
                    &to_f64(param),
                    &to_f64(grad),
                    &to_f64(m),
                    &to_f64(v),
                    *step,
                    cfg,
                )
                .map_err(invalid("adamw"))?;
                Ok([out.param, out.m, out.v].concat())
            }
            KernelCall::Orthogonal {
                w,
                g,
                lengths,
                rescale,
            } => ops::optim::orthogonal_grad(&to_f64(w), &to_f64(g), lengths, *rescale)
                .map_err(invalid("g")),
            KernelCall::Gmm {
                x,
                d,
                sigma,
                means,
                stds,
                weights,
            } => ops::gmm::gmm_denoiser(
                &to_f64(x),
                *d,
                f64::from(*sigma),
                &to_f64(means),
                &to_f64(stds),
                &to_f64(weights),
            )
            .map_err(invalid("x")),
        }
    }
}
