//! Every kernel as a named workload: seeded inputs at a size, a nominal flop count, a run on the
//! GPU, the f64 CPU oracle, and the per-element tolerance the f32 result must meet.
//!
//! The Kernels page (timing, GFLOP/s, error against the oracle), the npm package's
//! `verifyKernels` and the browser tests use it; [`verify`] runs every kernel at
//! [`VERIFY_SIZES`] and is what the headless-Chromium test asserts on WebGPU (SwiftShader). The
//! native differential tests (`tests/it`) check the same bounds in more shapes on Vulkan.
//!
//! Size `n` means: matmul `n × n · n × n`; row kernels `n` rows × `n` columns; elementwise,
//! AdamW, ⊥grad and the global sum `n²` elements; the GMM denoiser `n²` points in 2-D against 8
//! components.

use scalelab_core::ops::{self, optim::AdamW};
use scalelab_core::stablemax::Loss;

use crate::context::GpuContext;
use crate::convert::{to_f32, to_f64};
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
use crate::probe::{xorshift_uniform, PROBE_TOLERANCE};

/// f32 unit roundoff 2⁻²⁴.
const U: f64 = 1.0 / (1u64 << 24) as f64;

/// The sizes [`verify`] runs: empty, one, both sides of a 64-wide workgroup, and a large one.
pub const VERIFY_SIZES: [usize; 6] = [0, 1, 63, 64, 65, 512];

/// Components of the GMM denoiser workload (dimension 2).
const GMM_COMPONENTS: usize = 8;
const GMM_DIM: usize = 2;

/// One kernel configuration the Kernels page and [`verify`] can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum KernelOp {
    /// `C = A·B`.
    Matmul,
    /// `C = Aᵀ·B` (A stored k × m).
    MatmulTransposeA,
    /// `C = A·Bᵀ` (B stored n × k).
    MatmulTransposeB,
    /// `C = relu(A·B + bias)`.
    MatmulBiasRelu,
    /// Row softmax.
    SoftmaxRows,
    /// Row StableMax.
    StablemaxRows,
    /// Row log-softmax.
    LogSoftmaxRows,
    /// Row log-StableMax.
    LogStablemaxRows,
    /// Softmax cross-entropy per row and its gradient w.r.t. the logits.
    SoftmaxCrossEntropy,
    /// StableMax cross-entropy per row and its gradient w.r.t. the logits.
    StablemaxCrossEntropy,
    /// Sum of each row.
    SumRows,
    /// Max of each row.
    MaxRows,
    /// Argmax of each row (first index of the max).
    ArgmaxRows,
    /// Mean of each row.
    MeanRows,
    /// Sum of all elements.
    SumAll,
    /// `y + αx`.
    Axpy,
    /// `αx`.
    Scale,
    /// `max(x, 0)`.
    Relu,
    /// `g · [x > 0]`.
    ReluGrad,
    /// One AdamW step (parameters, first and second moments).
    AdamW,
    /// The ⊥Grad projection with the reference code's norm rescale (one tensor).
    OrthogonalGrad,
    /// Posterior-weighted means of a Gaussian mixture (2-D, 8 components).
    GmmDenoiser,
}

impl KernelOp {
    /// Every operation, in the order the Kernels page lists them.
    pub const ALL: [KernelOp; 22] = [
        KernelOp::Matmul,
        KernelOp::MatmulTransposeA,
        KernelOp::MatmulTransposeB,
        KernelOp::MatmulBiasRelu,
        KernelOp::SoftmaxRows,
        KernelOp::StablemaxRows,
        KernelOp::LogSoftmaxRows,
        KernelOp::LogStablemaxRows,
        KernelOp::SoftmaxCrossEntropy,
        KernelOp::StablemaxCrossEntropy,
        KernelOp::SumRows,
        KernelOp::MaxRows,
        KernelOp::ArgmaxRows,
        KernelOp::MeanRows,
        KernelOp::SumAll,
        KernelOp::Axpy,
        KernelOp::Scale,
        KernelOp::Relu,
        KernelOp::ReluGrad,
        KernelOp::AdamW,
        KernelOp::OrthogonalGrad,
        KernelOp::GmmDenoiser,
    ];

    /// A short stable key (used in URLs and the npm package).
    pub fn key(self) -> &'static str {
        match self {
            KernelOp::Matmul => "matmul",
            KernelOp::MatmulTransposeA => "matmul-at",
            KernelOp::MatmulTransposeB => "matmul-bt",
            KernelOp::MatmulBiasRelu => "matmul-bias-relu",
            KernelOp::SoftmaxRows => "softmax",
            KernelOp::StablemaxRows => "stablemax",
            KernelOp::LogSoftmaxRows => "log-softmax",
            KernelOp::LogStablemaxRows => "log-stablemax",
            KernelOp::SoftmaxCrossEntropy => "softmax-ce",
            KernelOp::StablemaxCrossEntropy => "stablemax-ce",
            KernelOp::SumRows => "sum-rows",
            KernelOp::MaxRows => "max-rows",
            KernelOp::ArgmaxRows => "argmax-rows",
            KernelOp::MeanRows => "mean-rows",
            KernelOp::SumAll => "sum-all",
            KernelOp::Axpy => "axpy",
            KernelOp::Scale => "scale",
            KernelOp::Relu => "relu",
            KernelOp::ReluGrad => "relu-grad",
            KernelOp::AdamW => "adamw",
            KernelOp::OrthogonalGrad => "orthogonal-grad",
            KernelOp::GmmDenoiser => "gmm-denoiser",
        }
    }

    /// The operation with this [`KernelOp::key`].
    pub fn from_key(key: &str) -> Option<KernelOp> {
        KernelOp::ALL.into_iter().find(|op| op.key() == key)
    }

    /// A human label, e.g. `"matmul  C = A·B"`.
    pub fn label(self) -> &'static str {
        match self {
            KernelOp::Matmul => "matmul · C = A·B",
            KernelOp::MatmulTransposeA => "matmul · C = Aᵀ·B",
            KernelOp::MatmulTransposeB => "matmul · C = A·Bᵀ",
            KernelOp::MatmulBiasRelu => "matmul · C = relu(A·B + b)",
            KernelOp::SoftmaxRows => "row softmax",
            KernelOp::StablemaxRows => "row StableMax",
            KernelOp::LogSoftmaxRows => "row log-softmax",
            KernelOp::LogStablemaxRows => "row log-StableMax",
            KernelOp::SoftmaxCrossEntropy => "softmax cross-entropy + gradient",
            KernelOp::StablemaxCrossEntropy => "StableMax cross-entropy + gradient",
            KernelOp::SumRows => "row sum",
            KernelOp::MaxRows => "row max",
            KernelOp::ArgmaxRows => "row argmax",
            KernelOp::MeanRows => "row mean",
            KernelOp::SumAll => "global sum",
            KernelOp::Axpy => "axpy · y + αx",
            KernelOp::Scale => "scale · αx",
            KernelOp::Relu => "ReLU",
            KernelOp::ReluGrad => "ReLU gradient",
            KernelOp::AdamW => "AdamW step",
            KernelOp::OrthogonalGrad => "⊥Grad projection (rescaled)",
            KernelOp::GmmDenoiser => "GMM denoiser (2-D, 8 components)",
        }
    }

    /// What size `n` means for this operation.
    pub fn shape(self, n: usize) -> String {
        match self {
            KernelOp::Matmul
            | KernelOp::MatmulTransposeA
            | KernelOp::MatmulTransposeB
            | KernelOp::MatmulBiasRelu => format!("{n}×{n} · {n}×{n}"),
            KernelOp::SumAll
            | KernelOp::Axpy
            | KernelOp::Scale
            | KernelOp::Relu
            | KernelOp::ReluGrad
            | KernelOp::AdamW
            | KernelOp::OrthogonalGrad => format!("{} elements", n * n),
            KernelOp::GmmDenoiser => format!("{} points × {GMM_COMPONENTS} components", n * n),
            _ => format!("{n} rows × {n} columns"),
        }
    }

    /// Nominal floating-point operations at size `n`: `2n³` for matmul (+`2n²` for bias and
    /// ReLU); per element: softmax-type rows 5 (max, subtract, exp, add, divide),
    /// cross-entropy 7, reductions 1, axpy 2, scale / ReLU / ReLU-gradient 1, AdamW 14, ⊥Grad 8
    /// (two dot products, projection, norm, rescale); GMM `K·(5d + 4)` per point. Exp, log and
    /// divisions count as one, as in most GPU benchmarks; only the matmul count is standard.
    pub fn flops(self, n: usize) -> f64 {
        let n = n as f64;
        let e = n * n;
        match self {
            KernelOp::Matmul | KernelOp::MatmulTransposeA | KernelOp::MatmulTransposeB => {
                2.0 * n * n * n
            }
            KernelOp::MatmulBiasRelu => 2.0 * n * n * n + 2.0 * e,
            KernelOp::SoftmaxRows
            | KernelOp::StablemaxRows
            | KernelOp::LogSoftmaxRows
            | KernelOp::LogStablemaxRows => 5.0 * e,
            KernelOp::SoftmaxCrossEntropy | KernelOp::StablemaxCrossEntropy => 7.0 * e,
            KernelOp::SumRows
            | KernelOp::MaxRows
            | KernelOp::ArgmaxRows
            | KernelOp::MeanRows
            | KernelOp::SumAll
            | KernelOp::Scale
            | KernelOp::Relu
            | KernelOp::ReluGrad => e,
            KernelOp::Axpy => 2.0 * e,
            KernelOp::AdamW => 14.0 * e,
            KernelOp::OrthogonalGrad => 8.0 * e,
            KernelOp::GmmDenoiser => e * (GMM_COMPONENTS * (5 * GMM_DIM + 4)) as f64,
        }
    }
}

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
/// The npm package's `ComputeContext` builds these from user input; [`Workload`] from seeds.
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
    /// [`KernelCall::run_gpu`]; also the CPU fallback (rounded with [`to_f32`]). Bad input is
    /// [`GpuError::InvalidInput`], as on the GPU (row shapes and values are checked by the same
    /// [`row_count`] the launchers use, so the messages match too).
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

/// One kernel at one size, with its seeded inputs (see the module docs for the shapes).
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    op: KernelOp,
    size: usize,
    call: KernelCall,
}

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

    /// The operation.
    pub fn op(&self) -> KernelOp {
        self.op
    }

    /// The size `n`.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The call with its seeded inputs.
    pub fn call(&self) -> &KernelCall {
        &self.call
    }

    /// Nominal flops ([`KernelOp::flops`]).
    pub fn flops(&self) -> f64 {
        self.op.flops(self.size)
    }

    /// [`KernelCall::run_gpu`] on the seeded inputs. The global sum at `n = 0` is
    /// [`GpuError::InvalidInput`] (nothing to reduce).
    pub async fn run_gpu(&self, ctx: &GpuContext) -> Result<Vec<f32>, GpuError> {
        self.call.run_gpu(ctx).await
    }

    /// [`KernelCall::run_cpu`] on the seeded inputs.
    pub fn run_cpu(&self) -> Result<Vec<f64>, GpuError> {
        self.call.run_cpu()
    }

    /// The largest allowed |GPU − oracle| of each output element, from the error analysis of
    /// each kernel (f32 unit roundoff u = 2⁻²⁴; the same bounds as the native tests):
    /// matmul `γ_{k+1}(|A|·|B| + |bias|)`; probabilities and gradients 1e-6
    /// ([`PROBE_TOLERANCE`]); log-probabilities and losses `1e-5 + 1e-6·|want|`; max and argmax
    /// exact; sums `γ_n Σ|x|` (means that over n, plus u·|want|); axpy `2u(|αx| + |y|)`, scale
    /// `u|αx|`, ReLU exact; AdamW `1e-6` times the size of each update term; ⊥Grad
    /// `1e-5(1 + |want|)κ²` with κ = ‖g‖/‖g⊥‖; GMM `2u(d + 8)(1 + E)(1 + S)` (see the kernel).
    pub fn tolerance(&self, want: &[f64]) -> Vec<f64> {
        let gamma = |j: usize| j as f64 * U / (1.0 - j as f64 * U);
        match &self.call {
            KernelCall::Matmul {
                a,
                b,
                m,
                k,
                n,
                bias,
                transpose_a,
                transpose_b,
                ..
            } => {
                let abs = |xs: &[f32]| xs.iter().map(|x| f64::from(x.abs())).collect::<Vec<_>>();
                let bias = bias.as_deref().map(abs);
                let options = ops::matmul::MatmulOptions {
                    transpose_a: *transpose_a,
                    transpose_b: *transpose_b,
                    bias: bias.as_deref(),
                    relu: false,
                };
                let scale = ops::matmul::matmul(&abs(a), &abs(b), *m, *k, *n, options)
                    .unwrap_or_else(|_| vec![f64::INFINITY; want.len()]);
                scale.iter().map(|s| gamma(k + 1) * s).collect()
            }
            KernelCall::Rows { kind, .. } => match kind {
                RowKernel::Softmax | RowKernel::Stablemax => vec![PROBE_TOLERANCE; want.len()],
                _ => want.iter().map(|w| 1e-5 + 1e-6 * w.abs()).collect(),
            },
            KernelCall::CrossEntropy { labels, .. } => want
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    if i < labels.len() {
                        1e-5 + 1e-6 * w.abs()
                    } else {
                        PROBE_TOLERANCE
                    }
                })
                .collect(),
            KernelCall::Reduce { data, cols, op } => {
                let len = cols.unwrap_or(data.len());
                let rows: Vec<&[f32]> = data.chunks(len.max(1)).collect();
                rows.iter()
                    .zip(want)
                    .map(|(row, w)| {
                        let abs_sum: f64 = row.iter().map(|x| f64::from(x.abs())).sum();
                        match op {
                            ReduceOp::Max | ReduceOp::ArgMax => 0.0,
                            ReduceOp::Sum => gamma(len) * abs_sum,
                            ReduceOp::Mean => {
                                gamma(len) * abs_sum / len.max(1) as f64 + U * w.abs()
                            }
                        }
                    })
                    .collect()
            }
            KernelCall::Elementwise { kind, alpha, x, y } => {
                let alpha = f64::from(*alpha);
                x.iter()
                    .zip(y)
                    .map(|(&x, &y)| {
                        let (x, y) = (f64::from(x), f64::from(y));
                        match kind {
                            ElementwiseKind::Axpy => 2.0 * U * ((alpha * x).abs() + y.abs()),
                            ElementwiseKind::Scale => U * (alpha * x).abs(),
                            ElementwiseKind::Relu | ElementwiseKind::ReluGrad => 0.0,
                        }
                    })
                    .collect()
            }
            KernelCall::AdamW {
                param,
                grad,
                m,
                v,
                step,
                cfg,
            } => {
                let t = i32::try_from(*step).unwrap_or(i32::MAX);
                let e = param.len();
                let mut tol = vec![0.0; 3 * e];
                for i in 0..e {
                    let (p, g, m0, v0) = (
                        f64::from(param[i]),
                        f64::from(grad[i]),
                        f64::from(m[i]),
                        f64::from(v[i]),
                    );
                    let m_new = want.get(e + i).copied().unwrap_or(0.0);
                    let v_new = want.get(2 * e + i).copied().unwrap_or(0.0);
                    let m_hat = m_new / (1.0 - cfg.beta1.powi(t));
                    let v_hat = v_new / (1.0 - cfg.beta2.powi(t));
                    let update = cfg.lr * m_hat / (v_hat.sqrt() + cfg.eps);
                    tol[i] = 1e-6 * (p.abs() + update.abs()) + 1e-9;
                    tol[e + i] = 1e-6 * (cfg.beta1 * m0.abs() + (1.0 - cfg.beta1) * g.abs());
                    tol[2 * e + i] = 1e-6 * (cfg.beta2 * v0 + (1.0 - cfg.beta2) * g * g);
                }
                tol
            }
            KernelCall::Orthogonal {
                w,
                g,
                lengths,
                rescale,
            } => {
                // κ = ‖g‖/‖g⊥‖ per tensor, from the unrescaled projection.
                let perp = ops::optim::orthogonal_grad(&to_f64(w), &to_f64(g), lengths, false)
                    .unwrap_or_default();
                let mut tol = Vec::with_capacity(want.len());
                let mut start = 0;
                for &len in lengths {
                    let end = (start + len).min(want.len()).min(g.len()).min(perp.len());
                    let norm =
                        |xs: &mut dyn Iterator<Item = f64>| xs.map(|x| x * x).sum::<f64>().sqrt();
                    let g_norm = norm(&mut g[start..end].iter().map(|&x| f64::from(x)));
                    let kappa = g_norm / norm(&mut perp[start..end].iter().copied());
                    let cond = if *rescale { kappa * kappa } else { kappa };
                    tol.extend(want[start..end].iter().map(|w| {
                        if !kappa.is_finite() || kappa > 1e3 {
                            // g ∥ w (every 1-element tensor): g⊥ is round-off, rescaled to ‖g‖
                            // in f32 while f64 may give 0 (science.md §1.2); only |out| ≤ ‖g‖
                            // is meaningful.
                            g_norm * (1.0 + 1e-3) + w.abs()
                        } else {
                            1e-5 * (1.0 + w.abs()) * cond
                        }
                    }));
                    start = end;
                }
                tol.resize(want.len(), 0.0);
                tol
            }
            KernelCall::Gmm {
                x,
                d,
                sigma,
                means,
                stds,
                weights,
            } => {
                let d = (*d).max(1);
                let sigma2 = f64::from(*sigma).powi(2);
                let means = to_f64(means);
                let mut tol = Vec::with_capacity(x.len());
                for point in x.chunks_exact(d) {
                    let point = to_f64(point);
                    let mut e_max: f64 = 0.0;
                    for ((mu, &s), &pi) in means.chunks_exact(d).zip(stds).zip(weights) {
                        let var = f64::from(s).powi(2) + sigma2;
                        let c = f64::from(pi).ln()
                            - d as f64 / 2.0 * (2.0 * std::f64::consts::PI * var).ln();
                        let dist2: f64 = point.iter().zip(mu).map(|(a, b)| (a - b) * (a - b)).sum();
                        e_max = e_max.max(c.abs() + dist2 / (2.0 * var));
                    }
                    let s = point
                        .iter()
                        .chain(&means)
                        .fold(0.0f64, |acc, v| acc.max(v.abs()));
                    let t = 2.0 * U * (d as f64 + 8.0) * (1.0 + e_max) * (1.0 + s);
                    tol.extend(std::iter::repeat_n(t, d));
                }
                tol
            }
        }
    }
}

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

/// A monotonic clock in milliseconds for [`time_gpu`] and [`time_cpu`]: `performance.now()` of the
/// global object on the web (window, worker or Node), else the time since the first call.
pub fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        use js_sys::wasm_bindgen::{JsCast, JsValue};
        let global: JsValue = js_sys::global().into();
        js_sys::Reflect::get(&global, &JsValue::from_str("performance"))
            .ok()
            .filter(|p| p.is_object())
            .and_then(|p| {
                let now = js_sys::Reflect::get(&p, &JsValue::from_str("now")).ok()?;
                now.dyn_into::<js_sys::Function>()
                    .ok()?
                    .call0(&p)
                    .ok()?
                    .as_f64()
            })
            .unwrap_or_else(js_sys::Date::now)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
            * 1e3
    }
}

/// How long a workload took.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Seconds per run of the kernel itself. GPU: `(t(R) − t(1)) / (R − 1)` from one
    /// submission of `R` repeated dispatches against one of a single dispatch (best of three
    /// each), so upload, read-back and launch latency cancel out. CPU: see [`time_cpu`].
    pub seconds: f64,
    /// Seconds of one whole call (upload, dispatch, read-back; best of three).
    pub end_to_end_seconds: f64,
    /// The result of the last run (flattened as [`Workload::run_gpu`]).
    pub output: Vec<f32>,
    /// The measured interval was at least 1 ms (10 ticks of a browser's 0.1 ms clock): GPU, the
    /// difference t(R) − t(1); CPU, the batch. Otherwise raise R for a precise figure.
    pub precise: bool,
}

impl Timing {
    /// Nominal GFLOP/s of `workload` at [`Timing::seconds`].
    pub fn gflops(&self, workload: &Workload) -> f64 {
        workload.flops() / self.seconds / 1e9
    }
}

/// Times `workload` on the GPU with `repeats` dispatches per submission (see [`Timing`]); `now`
/// is a clock in milliseconds (`performance.now()` in browsers). The context's dispatch repeats
/// are restored to 1 afterwards, also on error. A warm-up run compiles the pipeline first.
pub async fn time_gpu(
    ctx: &GpuContext,
    workload: &Workload,
    repeats: u32,
    now: &dyn Fn() -> f64,
) -> Result<Timing, GpuError> {
    let repeats = repeats.max(2);
    let best_of_three = |r: u32| async move {
        ctx.set_dispatch_repeats(r);
        let mut best = f64::INFINITY;
        let mut output = Vec::new();
        for _ in 0..3 {
            let start = now();
            output = workload.run_gpu(ctx).await?;
            best = best.min(now() - start);
        }
        Ok::<_, GpuError>((best / 1e3, output))
    };
    ctx.set_dispatch_repeats(1);
    let timed = async {
        workload.run_gpu(ctx).await?; // warm-up: pipeline compilation
        let (single, _) = best_of_three(1).await?;
        let (many, output) = best_of_three(repeats).await?;
        Ok::<_, GpuError>((single, many, output))
    }
    .await;
    ctx.set_dispatch_repeats(1);
    let (single, many, output) = timed?;
    // Clock resolution (browsers coarsen it to 0.1 ms) can make the difference ≤ 0; fall back
    // to the average over the repeated submission then.
    let per_dispatch = (many - single) / f64::from(repeats - 1);
    let seconds = if per_dispatch > 0.0 {
        per_dispatch
    } else {
        many / f64::from(repeats)
    };
    Ok(Timing {
        seconds,
        end_to_end_seconds: single,
        output,
        precise: many - single >= 1.0,
    })
}

/// Times the CPU path (the f64 oracle, rounded to f32 as the fallback returns it); `now` in
/// milliseconds. A run of 50 ms or more is timed alone. Faster ones run in batches grown until a
/// batch takes at least 10 ms, so the clock's resolution (browsers round `performance.now()` to
/// 0.1 ms) costs at most 1 %; the time is the best of three batches divided by the batch size.
pub fn time_cpu(workload: &Workload, now: &dyn Fn() -> f64) -> Result<Timing, GpuError> {
    let mut output = Vec::new();
    let mut run_batch = |runs: usize| -> Result<f64, GpuError> {
        let start = now();
        for _ in 0..runs {
            output = to_f32(&workload.run_cpu()?);
        }
        Ok(now() - start)
    };
    let first = run_batch(1)?;
    let ms_per_run = if first >= 50.0 {
        first
    } else {
        let mut batch = 1usize;
        let mut block = first;
        while block < 10.0 && batch < 1 << 24 {
            batch = if block > 0.0 {
                ((batch as f64 * 12.0 / block).ceil() as usize).max(2 * batch)
            } else {
                16 * batch
            };
            block = run_batch(batch)?;
        }
        let mut best = block;
        for _ in 0..2 {
            best = best.min(run_batch(batch)?);
        }
        best / batch as f64
    };
    let seconds = (ms_per_run / 1e3).max(1e-12);
    Ok(Timing {
        seconds,
        end_to_end_seconds: seconds,
        output,
        precise: true,
    })
}
