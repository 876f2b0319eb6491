//! The npm package `scalelab`: thin `wasm-bindgen` exports over `scalelab-core` and `scalelab-gpu`,
//! with TypeScript types.
//!
//! No numerics live here. Inputs are converted, the core is called, and every error crosses into
//! JavaScript through one conversion ([`ScalelabError`] → JS `Error` whose `name` is the stable code).
#![warn(missing_docs)]

mod compute;
mod error;
mod fit;
mod stablemax;

pub use compute::*;
pub use error::ScalelabError;
pub use fit::*;
pub use stablemax::*;
