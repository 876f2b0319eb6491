//! The Scalelab site: a Leptos client-side app (bin `app`) and its compute worker (bin `worker`).
//!
//! Pure pieces (the lab registry, plot axes, the URL query codec, the worker protocol and jobs,
//! the embed message schema, field parsers) build and test natively; the browser pieces only on
//! `wasm32`. No numerics live here: the pages convert input and the worker's jobs call
//! `scalelab-core` and `scalelab-gpu`.
#![warn(missing_docs)]

pub mod embed;
pub mod format;
pub mod labs;
pub mod plot;
pub mod url_state;
pub mod widgets;
pub mod worker;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod download;
#[cfg(target_arch = "wasm32")]
pub mod job;
#[cfg(target_arch = "wasm32")]
pub mod theme;
