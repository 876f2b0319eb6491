//! The compute worker: its message protocol, the page-side client, the worker-side runtime and its
//! GPU device for the kernel jobs.

pub mod protocol;

#[cfg(target_arch = "wasm32")]
pub mod client;
#[cfg(target_arch = "wasm32")]
pub mod kernels;
#[cfg(target_arch = "wasm32")]
pub mod runtime;
