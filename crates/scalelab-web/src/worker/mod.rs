//! The compute worker: its message protocol, the job registry with each lab's jobs, the worker's GPU device, the task
//! abstraction the worker drives in slices, the page-side client and the worker-side runtime.

pub mod device;
pub mod jobs;
pub mod kept;
pub mod protocol;
pub mod task;
pub mod text_bytes;
pub mod thin;

#[cfg(target_arch = "wasm32")]
pub mod client;
#[cfg(target_arch = "wasm32")]
pub mod runtime;
