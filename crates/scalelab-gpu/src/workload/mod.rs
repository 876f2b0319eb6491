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

mod call;
mod inputs;
mod op;
mod timing;
mod tolerance;
mod verify;

pub use call::{ElementwiseKind, KernelCall, RowKernel};
pub use op::KernelOp;
pub use timing::{now_ms, time_cpu, time_gpu, Timing};
pub use verify::{check, compare, verify, verify_cases, Check, Comparison, VERIFY_SIZES};

use crate::context::GpuContext;
use crate::error::GpuError;

/// One kernel at one size, with its seeded inputs (see the module docs for the shapes).
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    op: KernelOp,
    size: usize,
    call: KernelCall,
}

impl Workload {
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
}
