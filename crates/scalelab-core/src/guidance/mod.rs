//! The Guidance lab (science.md §2): classifier-free guidance against Adaptive Projected
//! Guidance (Sadat, Hilliges, Weber, ICLR 2025) on class-conditional Gaussian mixtures whose
//! denoiser is exact, so what guidance does is not hidden by network error.
//!
//! [`Mixture`] holds the model and its exact conditional and unconditional denoisers; [`Toy`] the
//! lab's 2-D and pixel mixtures; [`Schedule`] the EDM and VP noise levels; [`Prediction`] the
//! conversions between `x̂₀`, `ε̂` and `v̂`; [`Guidance`] CFG and APG in the paper's and diffusers'
//! forms; [`Sampling`] the Euler/Heun samplers as a state machine a GPU can feed;
//! [`SampleMetrics`] the comparison with the true conditional; [`sweep`] the charts' points.

mod config;
mod metrics;
mod mixture;
mod prediction;
mod rule;
mod sampler;
mod schedule;
pub mod sweep;
mod toys;

pub use config::{
    check_guidance, check_sampler, GuidanceError, GuidanceField, GuidanceRun, BETA_RANGE,
    MAX_PARTICLES, MAX_SCALE, MAX_STEPS, MAX_THRESHOLD, MAX_VALUES,
};
pub use metrics::{MetricsInput, SampleMetrics, MAX_KNN_SAMPLES};
pub use mixture::{Denoiser, Mixture, Model, MAX_CLASSES, MAX_COMPONENTS};
pub use prediction::Prediction;
pub use rule::{Apg, ApgForm, Guidance, GuidanceState, SplitNorms};
pub use sampler::{
    denoise_pair, EvaluationTrace, Outcome, SamplerConfig, SamplerKind, Sampling, UNSTABLE_LIMIT,
};
pub use schedule::Schedule;
pub use toys::{Toy, CLUSTER_CLASSES, MAX_SIDE, PIXEL_CLASSES};
