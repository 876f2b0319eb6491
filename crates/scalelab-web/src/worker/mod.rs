//! The compute worker: its message protocol, the page-side client and the worker-side runtime.

pub mod protocol;

#[cfg(target_arch = "wasm32")]
pub mod client;
#[cfg(target_arch = "wasm32")]
pub mod runtime;
