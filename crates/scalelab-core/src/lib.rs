//! Scalelab numerics in `f64`: StableMax and softmax (plain and in emulated reduced precision),
//! the Softmax-Collapse detector, and CPU oracles of the GPU kernels.
//!
//! Pure computation: no I/O, no clocks, no `unsafe`; builds for native targets and
//! `wasm32-unknown-unknown`. Reduced-precision rounding happens only in [`Precision::round`].
#![warn(missing_docs)]

pub mod budget;
pub mod calibrate;
pub mod error;
pub mod fit;
pub mod gemm;
pub mod grokking;
pub mod guidance;
pub mod io;
pub mod ops;
pub mod precision;
pub mod stablemax;

pub use budget::Budget;
pub use error::{CoreError, CoreErrorCode};
pub use precision::Precision;
