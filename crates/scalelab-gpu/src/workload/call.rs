//! [`KernelCall`]: one kernel call with all its inputs, dispatched to the GPU launcher
//! ([`KernelCall::run_gpu`]), to the f64 oracle in `scalelab_core::ops` ([`KernelCall::run_cpu`])
//! or to the fast f32 CPU path ([`KernelCall::run_fast_cpu`]).

use scalelab_core::gemm::{gemm, Operand};
use scalelab_core::ops::{self, optim::AdamW};
use scalelab_core::stablemax::Loss;

use crate::context::GpuContext;
use crate::convert::{to_f32, to_f64};
use crate::error::GpuError;
use crate::kernels::cross_entropy_rows::{cross_entropy_rows, CrossEntropyKind};
use crate::kernels::elementwise::{elementwise, ElementwiseOp};
use crate::kernels::matmul::{check_inputs, matmul, MatmulOptions};
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

    /// The fast CPU path in f32, flattened as [`KernelCall::run_gpu`]: `matmul` through
    /// [`scalelab_core::gemm`] (matrixmultiply's blocked SGEMM, SIMD128 in WebAssembly built
    /// with `+simd128`; the bias enters as `β·C` on a `C` filled with it, the ReLU after); every
    /// other op is the f64 oracle ([`KernelCall::run_cpu`]) rounded with [`to_f32`]. A matmul
    /// element is an f32 sum in matrixmultiply's order (fused multiply-adds where the target has
    /// them), within the same `γ_{k+1}(|A|·|B| + |bias|)` of the exact product as the GPU
    /// kernel. Bad input is [`GpuError::InvalidInput`] with the GPU launcher's messages.
    pub fn run_fast_cpu(&self) -> Result<Vec<f32>, GpuError> {
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
            } => fast_matmul(
                a,
                b,
                (*m, *k, *n),
                bias.as_deref(),
                (*transpose_a, *transpose_b),
                *relu,
            ),
            other => other.run_cpu().map(|out| to_f32(&out)),
        }
    }
}

/// `C = relu?(op(A)·op(B) + 1·biasᵀ)`, `m × n` row-major, on [`gemm`]. The row-major `C` is
/// the column-major `n × m` matrix `Cᵀ = op(B)ᵀ·op(A)ᵀ`, and a row-major `r × c` slice is the
/// column-major `c × r` matrix, so: `op(A)ᵀ` is `a` as stored (`k × m`) or, with `transpose_a`
/// (`a` holds A as `k × m` row-major, i.e. column-major `m × k`), its transpose; likewise
/// `op(B)ᵀ`. The checks are the GPU launcher's, in the same order.
fn fast_matmul(
    a: &[f32],
    b: &[f32],
    (m, k, n): (usize, usize, usize),
    bias: Option<&[f32]>,
    (transpose_a, transpose_b): (bool, bool),
    relu: bool,
) -> Result<Vec<f32>, GpuError> {
    check_inputs(
        a,
        b,
        m,
        k,
        n,
        MatmulOptions {
            transpose_a,
            transpose_b,
            bias,
            relu,
        },
    )?;
    let len = m.checked_mul(n).ok_or_else(|| GpuError::InvalidInput {
        what: "c",
        reason: format!("{m} × {n} elements overflow the address space; give smaller sizes"),
    })?;
    if len == 0 {
        return Ok(Vec::new());
    }
    // β = 1 onto the bias rows adds the bias; β = 0 ignores the zeros.
    let (mut c, beta) = match bias {
        Some(bias) => (bias.repeat(m), 1.0),
        None => (vec![0.0; len], 0.0),
    };
    let a_t = if transpose_a {
        Operand::transposed(a, m, k)
    } else {
        Operand::plain(a, k, m)
    };
    let b_t = if transpose_b {
        Operand::transposed(b, k, n)
    } else {
        Operand::plain(b, n, k)
    };
    gemm(&mut c, b_t, a_t, 1.0, beta);
    if relu {
        for v in &mut c {
            *v = v.max(0.0);
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{compare, KernelOp, Workload, VERIFY_SIZES};

    /// The fast path against the f64 oracle within the kernel's tolerance, for every matmul
    /// workload at the verification sizes below 512 and at 257 (past matrixmultiply's 256-deep
    /// blocks; 512 is the npm test's, the oracle is slow unoptimised), and on odd shapes with
    /// every option.
    #[test]
    fn fast_matmul_is_within_the_oracle_tolerance() {
        let ops = [
            KernelOp::Matmul,
            KernelOp::MatmulTransposeA,
            KernelOp::MatmulTransposeB,
            KernelOp::MatmulBiasRelu,
        ];
        for op in ops {
            for size in VERIFY_SIZES.into_iter().filter(|&s| s < 512).chain([257]) {
                let w = Workload::new(op, size, 7);
                let want = w.run_cpu().unwrap();
                let got = w.call().run_fast_cpu().unwrap();
                let cmp = compare(&got, &want, &w.tolerance(&want));
                assert!(cmp.passed, "{op:?} at {size}: {cmp:?}");
            }
        }
        let value = |i: usize| ((i * 7919) % 23) as f32 / 4.0 - 2.5;
        for (m, k, n) in [(3, 7, 5), (7, 0, 9), (1, 65, 2), (70, 6, 33)] {
            for (ta, tb, with_bias, relu) in [
                (false, false, false, false),
                (true, false, true, false),
                (false, true, false, true),
                (true, true, true, true),
            ] {
                let call = KernelCall::Matmul {
                    a: (0..m * k).map(value).collect(),
                    b: (0..k * n).map(|i| value(i + 11)).collect(),
                    m,
                    k,
                    n,
                    bias: with_bias.then(|| (0..n).map(|i| value(i + 5)).collect()),
                    transpose_a: ta,
                    transpose_b: tb,
                    relu,
                };
                let want = call.run_cpu().unwrap();
                let got = call.run_fast_cpu().unwrap();
                assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(&want) {
                    // Quarter-integers: every partial sum is exact in f32.
                    assert_eq!(
                        f64::from(*g),
                        *w,
                        "{m}×{k}×{n} {ta} {tb} {with_bias} {relu}"
                    );
                }
            }
        }
    }

    #[test]
    fn fast_matmul_refuses_what_the_launcher_refuses() {
        let call = |a: Vec<f32>, bias: Option<Vec<f32>>| KernelCall::Matmul {
            a,
            b: vec![1.0; 4],
            m: 2,
            k: 2,
            n: 2,
            bias,
            transpose_a: false,
            transpose_b: false,
            relu: false,
        };
        let what = |c: KernelCall| match c.run_fast_cpu() {
            Err(GpuError::InvalidInput { what, .. }) => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(what(call(vec![1.0; 3], None)), "a");
        assert_eq!(what(call(vec![1.0, f32::NAN, 0.0, 0.0], None)), "a");
        assert_eq!(what(call(vec![1.0; 4], Some(vec![0.0]))), "bias");
        assert_eq!(
            what(call(vec![1.0; 4], Some(vec![0.0, f32::INFINITY]))),
            "bias"
        );
    }
}
