//! The one integration-test binary of `scalelab-gpu`.
//!
//! GPU tests share one context (see [`gpu::context`]); without an adapter they print
//! `SKIPPED (no GPU adapter): <reason>` and pass, unless `SCALELAB_REQUIRE_GPU=1`.
#![cfg(not(target_arch = "wasm32"))]

mod differential;
mod elementwise;
mod errors;
mod gmm;
mod gpu;
mod grokking;
mod loss;
mod matmul;
mod optim;
mod reduce;
mod shaders;
mod workload;
