//! Guidance: CFG and APG in both conventions (diffusers' `normalized_guidance` by its own name),
//! the exact mixture denoiser, the guided samplers and the metrics of a toy run.

use scalelab_core::guidance::{
    check_guidance, check_sampler, sweep, Apg, ApgForm, Guidance, GuidanceRun, GuidanceState,
    Mixture, Model, SamplerConfig, Sampling, Toy,
};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::options::{invalid, options};
use crate::{to_js, ScalelabError};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Values row-major (`batch × dim`): Float64Array, Float32Array or number[]. */
export type GuidanceValues = Float64Array | Float32Array | number[];
/** Where APG's update is added: paper `P_c + (w−1)U`, diffusers `P_u + wU`, diffusers original `P_c + wU`. */
export type ApgForm = "paper" | "diffusers" | "diffusers_original";
/** A guidance rule (w in the paper's parametrisation: 1 = no guidance). */
export type Guidance =
  | { kind: "cfg"; w: number }
  | { kind: "apg"; w: number; eta: number; r: number; beta: number; form: ApgForm; reset_on_sigma_increase?: boolean };
export type Schedule =
  | { kind: "edm"; sigma_min: number; sigma_max: number; rho: number }
  | { kind: "vp"; beta_min: number; beta_max: number; t_min: number };
export interface SamplerConfig {
  schedule: Schedule; steps: number; sampler: "euler" | "heun"; prediction: "x0" | "eps" | "v"; guidance: Guidance;
}
/** A class-conditional mixture of diagonal Gaussians: means and variances `K × dim` row-major
 *  (or one variance per component), weights > 0, class labels. */
export interface GaussianMixture { dim: number; means: number[]; variances: number[]; weights: number[]; classes: number[]; }
export type Toy = { kind: "clusters" } | { kind: "pixels"; side: number };
export type Outcome = { kind: "running" } | { kind: "finished" } | { kind: "unstable"; step: number; max_abs: number };
export interface EvaluationTrace { step: number; sigma: number; split: { parallel: number; orthogonal: number } | null; }
export interface GuidedSamples { samples: Float64Array; outcome: Outcome; trace: EvaluationTrace[]; sigmas: number[]; }
export interface SampleMetrics {
  saturation_fraction: number; excess_norm: number; mean_error: number; diversity: number;
  sliced_wasserstein: number; precision: number; recall: number;
}
export interface GuidanceRun { toy: Toy; class: number; particles: number; seed: number; sampler: SamplerConfig; }
export interface GuidancePoint { scale: number; outcome: Outcome; metrics: SampleMetrics | null; }
/** diffusers' `normalized_guidance` options (`momentum` ≈ a `MomentumBuffer`, see `GuidanceState`). */
export interface NormalizedGuidanceOptions { eta?: number; normThreshold?: number; useOriginalFormulation?: boolean; }
"#;

type Result<T> = std::result::Result<T, ScalelabError>;

/// The state guidance keeps between calls: APG's momentum buffer (diffusers' `MomentumBuffer`
/// with its `running_average`), per sample, and the last σ (for the ComfyUI reset).
#[wasm_bindgen(js_name = GuidanceState)]
#[derive(Default)]
pub struct JsGuidanceState {
    state: GuidanceState,
    /// diffusers' momentum for `normalizedGuidance` (`None`: the rule's own β).
    momentum: Option<f64>,
}

#[wasm_bindgen(js_class = GuidanceState)]
impl JsGuidanceState {
    /// An empty state; `momentum` makes it diffusers' `MomentumBuffer(momentum)` for
    /// `normalizedGuidance`.
    #[wasm_bindgen(constructor)]
    pub fn new(momentum: Option<f64>) -> JsGuidanceState {
        Self {
            state: GuidanceState::new(),
            momentum,
        }
    }

    /// The running average (`batch × dim`; empty before the first update).
    #[wasm_bindgen(getter, js_name = runningAverage)]
    pub fn running_average(&self) -> Vec<f64> {
        self.state.running.clone()
    }
}

fn guide_with(
    guidance: &Guidance,
    cond: &[f64],
    uncond: &[f64],
    batch: usize,
    sigma: f64,
    state: &mut GuidanceState,
) -> Result<(Vec<f64>, Option<scalelab_core::guidance::SplitNorms>)> {
    check_guidance(guidance)?;
    Ok(guidance.apply_checked(cond, uncond, batch, sigma, state)?)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NormalizedOptions {
    eta: Option<f64>,
    norm_threshold: Option<f64>,
    use_original_formulation: Option<bool>,
}

/// diffusers' `normalized_guidance` as a rule with momentum `beta`.
fn diffusers_rule(
    guidance_scale: f64,
    beta: f64,
    opts: Option<js_sys::Object>,
) -> Result<Guidance> {
    let o: NormalizedOptions = options(
        "normalizedGuidance options",
        &["eta", "normThreshold", "useOriginalFormulation"],
        opts,
    )?;
    Ok(Guidance::Apg(Apg {
        w: guidance_scale,
        eta: o.eta.unwrap_or(1.0),
        r: o.norm_threshold.unwrap_or(0.0),
        beta,
        form: if o.use_original_formulation.unwrap_or(false) {
            ApgForm::DiffusersOriginal
        } else {
            ApgForm::Diffusers
        },
        reset_on_sigma_increase: false,
    }))
}

/// `{ out, parallel, orthogonal }` as a JS object.
fn guided(out: Vec<f64>, split: Option<scalelab_core::guidance::SplitNorms>) -> JsValue {
    let result = js_sys::Object::new();
    let set = |k: &str, v: JsValue| js_sys::Reflect::set(&result, &JsValue::from_str(k), &v);
    let _ = set("out", js_sys::Float64Array::from(out.as_slice()).into());
    let _ = set(
        "parallel",
        split.map_or(JsValue::NULL, |s| s.parallel.into()),
    );
    let _ = set(
        "orthogonal",
        split.map_or(JsValue::NULL, |s| s.orthogonal.into()),
    );
    result.into()
}

fn rule_of(guidance: JsValue) -> Result<Guidance> {
    serde_wasm_bindgen::from_value(guidance).map_err(|e| invalid("guidance", e))
}

#[wasm_bindgen(js_class = GuidanceState)]
impl JsGuidanceState {
    /// diffusers' `normalized_guidance(pred_cond, pred_uncond, guidance_scale, momentum_buffer,
    /// eta, norm_threshold, use_original_formulation)` with this state as the `MomentumBuffer`
    /// (its `momentum`, 0 when none was given).
    #[wasm_bindgen(js_name = normalizedGuidance)]
    pub fn normalized_guidance(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "GuidanceValues")] pred_cond: &[f64],
        #[wasm_bindgen(unchecked_param_type = "GuidanceValues")] pred_uncond: &[f64],
        batch: usize,
        guidance_scale: f64,
        #[wasm_bindgen(unchecked_optional_param_type = "NormalizedGuidanceOptions")] opts: Option<
            js_sys::Object,
        >,
    ) -> Result<Vec<f64>> {
        let rule = diffusers_rule(guidance_scale, self.momentum.unwrap_or(0.0), opts)?;
        let (out, _) = guide_with(&rule, pred_cond, pred_uncond, batch, 1.0, &mut self.state)?;
        if self.momentum == Some(0.0) {
            // diffusers' update with momentum 0 still stores the difference.
            self.state.running = pred_cond
                .iter()
                .zip(pred_uncond)
                .map(|(c, u)| c - u)
                .collect();
        }
        Ok(out)
    }

    /// [`guide`] with this state carrying APG's momentum between calls.
    #[wasm_bindgen(
        unchecked_return_type = "{ out: Float64Array; parallel: number | null; orthogonal: number | null }"
    )]
    pub fn guide(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "GuidanceValues")] pred_cond: &[f64],
        #[wasm_bindgen(unchecked_param_type = "GuidanceValues")] pred_uncond: &[f64],
        batch: usize,
        #[wasm_bindgen(unchecked_param_type = "Guidance")] guidance: JsValue,
        sigma: Option<f64>,
    ) -> Result<JsValue> {
        let rule = rule_of(guidance)?;
        let (out, split) = guide_with(
            &rule,
            pred_cond,
            pred_uncond,
            batch,
            sigma.unwrap_or(1.0),
            &mut self.state,
        )?;
        Ok(guided(out, split))
    }
}

/// diffusers' `normalized_guidance` without a momentum buffer, on `batch` rows (norms over each
/// row): `P_u + w U` (or `P_c + w U` with `useOriginalFormulation`). For momentum, call
/// `new GuidanceState(momentum).normalizedGuidance(…)` at every step.
#[wasm_bindgen(js_name = normalizedGuidance)]
pub fn normalized_guidance(
    #[wasm_bindgen(unchecked_param_type = "GuidanceValues")] pred_cond: &[f64],
    #[wasm_bindgen(unchecked_param_type = "GuidanceValues")] pred_uncond: &[f64],
    batch: usize,
    guidance_scale: f64,
    #[wasm_bindgen(unchecked_optional_param_type = "NormalizedGuidanceOptions")] opts: Option<
        js_sys::Object,
    >,
) -> Result<Vec<f64>> {
    let rule = diffusers_rule(guidance_scale, 0.0, opts)?;
    let (out, _) = guide_with(
        &rule,
        pred_cond,
        pred_uncond,
        batch,
        1.0,
        &mut GuidanceState::new(),
    )?;
    Ok(out)
}

/// CFG or APG (any form) on `batch` rows, without state: `{ out, parallel, orthogonal }` (the
/// mean split norms for APG, null for CFG). `GuidanceState.guide` keeps APG's momentum.
#[wasm_bindgen(
    unchecked_return_type = "{ out: Float64Array; parallel: number | null; orthogonal: number | null }"
)]
pub fn guide(
    #[wasm_bindgen(unchecked_param_type = "GuidanceValues")] pred_cond: &[f64],
    #[wasm_bindgen(unchecked_param_type = "GuidanceValues")] pred_uncond: &[f64],
    batch: usize,
    #[wasm_bindgen(unchecked_param_type = "Guidance")] guidance: JsValue,
) -> Result<JsValue> {
    let rule = rule_of(guidance)?;
    let (out, split) = guide_with(
        &rule,
        pred_cond,
        pred_uncond,
        batch,
        1.0,
        &mut GuidanceState::new(),
    )?;
    Ok(guided(out, split))
}

#[derive(Deserialize)]
struct MixtureDto {
    dim: usize,
    means: Vec<f64>,
    variances: Vec<f64>,
    weights: Vec<f64>,
    classes: Vec<usize>,
}

fn mixture_of(v: JsValue) -> Result<Mixture> {
    let m: MixtureDto = serde_wasm_bindgen::from_value(v).map_err(|e| invalid("mixture", e))?;
    Ok(Mixture::new(
        m.dim,
        m.means,
        m.variances,
        m.weights,
        m.classes,
    )?)
}

fn model_of(class: Option<usize>) -> Model {
    class.map_or(Model::Unconditional, Model::Class)
}

/// The lab's procedural mixtures (`{ kind: "clusters" }`, `{ kind: "pixels", side }`).
#[wasm_bindgen(js_name = guidanceToy, unchecked_return_type = "GaussianMixture")]
pub fn guidance_toy(#[wasm_bindgen(unchecked_param_type = "Toy")] toy: JsValue) -> Result<JsValue> {
    let toy: Toy = serde_wasm_bindgen::from_value(toy).map_err(|e| invalid("toy", e))?;
    let m = toy.mixture()?;
    let result = js_sys::Object::new();
    let set = |k: &str, v: JsValue| js_sys::Reflect::set(&result, &JsValue::from_str(k), &v);
    let _ = set("dim", m.dim().into());
    let _ = set("means", to_js(&m.means()));
    let _ = set("variances", to_js(&m.variances()));
    let _ = set("weights", to_js(&m.weights()));
    let _ = set("classes", to_js(&m.classes()));
    Ok(result.into())
}

/// The exact denoiser `E[x₀ | x]` of the mixture at noise level `sigma` (`x = x₀ + σε`), of class
/// `cls` or unconditional (`cls` null/undefined), for each row of `x`.
#[wasm_bindgen(js_name = mixtureDenoise)]
pub fn mixture_denoise(
    #[wasm_bindgen(unchecked_param_type = "GaussianMixture")] mixture: JsValue,
    #[wasm_bindgen(unchecked_param_type = "GuidanceValues")] x: &[f64],
    sigma: f64,
    cls: Option<usize>,
) -> Result<Vec<f64>> {
    let m = mixture_of(mixture)?;
    Ok(m.denoiser(model_of(cls), sigma)?.denoise(x)?)
}

/// Samples class `cls` of the mixture from standard normal draws `noise` (`n × dim`) with the
/// guided sampler: `{ samples, outcome, trace, sigmas }`. An unstable run (a state beyond 10⁶)
/// stops with `outcome.kind === "unstable"` and its last finite states.
#[wasm_bindgen(js_name = sampleGuided, unchecked_return_type = "GuidedSamples")]
pub fn sample_guided(
    #[wasm_bindgen(unchecked_param_type = "GaussianMixture")] mixture: JsValue,
    cls: usize,
    #[wasm_bindgen(unchecked_param_type = "GuidanceValues")] noise: &[f64],
    #[wasm_bindgen(unchecked_param_type = "SamplerConfig")] sampler: JsValue,
) -> Result<JsValue> {
    let m = mixture_of(mixture)?;
    let config: SamplerConfig =
        serde_wasm_bindgen::from_value(sampler).map_err(|e| invalid("sampler", e))?;
    check_sampler(&config)?;
    m.members(Model::Class(cls))?;
    let mut sampling = Sampling::new(config, m.dim(), noise)?;
    sampling.run(&m, cls)?;
    let result = js_sys::Object::new();
    let set = |k: &str, v: JsValue| js_sys::Reflect::set(&result, &JsValue::from_str(k), &v);
    let _ = set("samples", js_sys::Float64Array::from(sampling.x()).into());
    let _ = set("outcome", to_js(&sampling.outcome()));
    let _ = set("trace", to_js(&sampling.trace()));
    let _ = set("sigmas", to_js(&sampling.sigmas()));
    Ok(result.into())
}

/// A toy run sampled to the end with its metrics against exact samples of the class (as the
/// lab's charts compute each point).
#[wasm_bindgen(js_name = evaluateGuidance, unchecked_return_type = "GuidancePoint")]
pub fn evaluate_guidance(
    #[wasm_bindgen(unchecked_param_type = "GuidanceRun")] run: JsValue,
) -> Result<JsValue> {
    let run: GuidanceRun = serde_wasm_bindgen::from_value(run).map_err(|e| invalid("run", e))?;
    Ok(to_js(&sweep::evaluate(&run)?))
}
