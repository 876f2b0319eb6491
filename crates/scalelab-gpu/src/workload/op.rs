//! The named operations: every [`KernelOp`] with its stable key, label, what size `n` means for
//! it, and its nominal flop count.

/// Components of the GMM denoiser workload (dimension 2).
pub(super) const GMM_COMPONENTS: usize = 8;
pub(super) const GMM_DIM: usize = 2;

/// One kernel configuration the Kernels page and [`verify`](super::verify) can run.
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
