//! The Scalelab site: a Leptos client-side app (bin `app`) and its compute worker (bin `worker`).
//!
//! Pure pieces (plot axes, the URL query codec, the worker protocol) build and test natively; the
//! browser pieces only on `wasm32`. No numerics live here: the pages convert input and call
//! `scalelab-core` and `scalelab-gpu`.
#![warn(missing_docs)]

pub mod plot;
pub mod url_state;
pub mod worker;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod compute_backend;
#[cfg(target_arch = "wasm32")]
pub mod download;
#[cfg(target_arch = "wasm32")]
pub mod labs;
#[cfg(target_arch = "wasm32")]
pub mod theme;
