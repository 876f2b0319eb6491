//! Scaling-law fitting, compute-optimal allocation, learning-rate schedule areas and the Step Law.

use crate::ScalelabError;
use scalelab_core::fit::allocation::ChinchillaAllocation;
use scalelab_core::fit::analysis::{
    analyse, BandKind, CurveAxis, FitReport, FitRequest, Method, ModelChoice, Starts,
};
use scalelab_core::fit::models::BuiltinModel;
use scalelab_core::fit::option_names::{LossKind, MethodKind, Named, StartsKind};
use scalelab_core::fit::schedule::{
    tissue_areas, LrSchedule, Schedule, WarmupChoice, DEFAULT_TISSUE_LAMBDA,
};
use scalelab_core::fit::{step_law, Data, FitOptions, ResidualSpace, RobustLoss, Termination};
use scalelab_core::io::csv::{read_table, CsvOptions};
use scalelab_core::CoreError;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::to_js;

#[wasm_bindgen(typescript_custom_section)]
const TS_FIT: &'static str = r#"
/** Names of the built-in laws (see `models()`), or pass a formula such as "E + A/N^alpha + B/D^beta". */
export type BuiltinModelName =
  | "power_law" | "power_law_plus_constant" | "chinchilla" | "kaplan"
  | "broken_power_law_1" | "broken_power_law_2" | "broken_power_law_3"
  | "lr_annealing" | "multi_power_law";

/** Input of `fitScalingLaw`. Only `model`, `x` and `y` are required. */
export interface FitInput {
  /** A built-in law's name, or a formula (then set `inputs`). */
  model: BuiltinModelName | string;
  /** For a formula: the names of the inputs in each row of `x` (default ["x"]). */
  inputs?: string[];
  /** One row of inputs per observation (e.g. [N, D]), or plain numbers for one-input laws. */
  x: number[][] | number[];
  /** Targets (losses). */
  y: number[];
  /** Non-negative weights (default all 1). */
  weights?: number[];
  /** Starting parameters (default: the law's data-driven default; 1 for formula parameters). */
  start?: number[];
  /** [lower, upper] per parameter (use -Infinity/Infinity for none). */
  bounds?: [number, number][];
  /** Residuals y − f ("linear", default) or ln y − ln f ("log"). */
  residual?: "linear" | "log";
  /** Robust loss (default "l2") and its scale / Huber δ (default 1). */
  loss?: "l2" | "huber" | "soft_l1" | "cauchy";
  lossScale?: number;
  /** "least_squares" (default) or "hoffmann" (Chinchilla: Huber δ on log loss, L-BFGS). */
  method?: "least_squares" | "hoffmann";
  /** Huber δ of the Hoffmann method (default 1e-3). */
  delta?: number;
  /** "single" (default), "hoffmann4500", or a number of seeded random starts. */
  starts?: "single" | "hoffmann4500" | number;
  /** Bootstrap resamples (default 0) and seed (default 0). */
  bootstrap?: number;
  seed?: number;
  /**
   * The learning-rate schedule of every training step, for the loss-curve laws "lr_annealing" and
   * "multi_power_law", whose input `x` is the step: step s is the state after s updates with rates
   * η_1…η_s, so `schedule[s − 1]` is η_s and steps run from 1 to `schedule.length`. Give the rates,
   * or a named schedule such as `{ kind: "cosine", steps: 24000, peak: 3e-4, finalLr: 3e-5, warmup: 2160 }`.
   */
  schedule?: number[] | NamedSchedule;
  /**
   * Warmup convention of the loss-curve laws: a number of warmup steps (the papers' convention:
   * the warmup's rising rates are not rate changes), "reference_code" (they are, as in Luo et al.'s
   * reference code), or omitted: the papers' convention with the schedule's own warmup (a named
   * schedule's `warmup`, else the initial rise of the rates).
   */
  warmup?: number | "reference_code";
  /** Tissue et al.'s momentum decay λ of S2 (default 0.999). */
  momentumDecay?: number;
  /** Rows at which to report the curve and its band (default: chosen from the data). */
  curveInputs?: number[][];
  /** Extrapolation factor for the default curve (default 10). */
  extrapolate?: number;
  /** Largest runs to hold out for a backtest (default 0). */
  holdout?: number;
}

/** Output of `fitScalingLaw`. */
export interface FitOutput {
  names: string[];
  formula: string;
  params: number[];
  /** Standard errors from s²(JᵀJ)⁻¹, when the covariance exists. */
  stdErrors: number[] | null;
  /** Row-major p × p covariance, when it exists. */
  covariance: number[] | null;
  cost: number;
  rss: number;
  iterations: number;
  evaluations: number;
  /** "cost_converged" | "step_converged" | "gradient_converged" | "max_iterations" | "numerical_failure" | "cancelled". */
  termination: string;
  converged: boolean;
  startsRun: number;
  startsConverged: number;
  bootstrap: { successful: number; stdErrors: number[]; lower95: number[]; upper95: number[] } | null;
  /** The fitted curve with its 95 % confidence band (`lower`/`upper`) and prediction band. */
  curve: {
    axis: "x" | "compute_optimal" | "compute" | "step";
    at: number[]; mean: number[]; lower: number[]; upper: number[];
    /** How the band was made. */
    band: "delta_method" | "bootstrap" | "none";
    predictionLower: number[]; predictionUpper: number[];
  };
  fitted: number[];
  residuals: number[];
  backtest: { indices: number[]; actual: number[]; predicted: number[]; relativeError: number[]; params: number[] } | null;
  allocation: { g: number; a: number; b: number; frontier: ComputeOptimal[] } | null;
}

/** The compute-optimal model at one budget. */
export interface ComputeOptimal { compute: number; params: number; tokens: number; tokensPerParam: number }

/** A built-in law. */
export interface ModelInfo { name: BuiltinModelName; label: string; inputs: string[]; params: string[]; formula: string }

/** A schedule given by its parameters (all with a linear warmup of `warmup` steps). */
export type NamedSchedule =
  | { kind: "constant"; steps: number; lr: number }
  | { kind: "cosine"; steps: number; peak: number; finalLr: number; warmup: number }
  | { kind: "wsd"; steps: number; peak: number; finalLr: number; warmup: number; decay: number };

/** Options of the loss-curve schedule (see `FitInput.warmup` and `FitInput.momentumDecay`). */
export interface ScheduleOptions { warmup?: number | "reference_code"; momentumDecay?: number }

/** A parsed numeric table. */
export interface Table { columns: string[]; rows: number[][]; hasHeader: boolean }
"#;

type Result<T> = std::result::Result<T, ScalelabError>;

#[derive(Deserialize)]
#[serde(untagged)]
enum Rows {
    Nested(Vec<Vec<f64>>),
    Flat(Vec<f64>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StartsDto {
    Named(String),
    Random(usize),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FitInput {
    model: String,
    inputs: Option<Vec<String>>,
    x: Rows,
    y: Vec<f64>,
    weights: Option<Vec<f64>>,
    start: Option<Vec<f64>>,
    bounds: Option<Vec<(f64, f64)>>,
    residual: Option<String>,
    loss: Option<String>,
    loss_scale: Option<f64>,
    method: Option<String>,
    delta: Option<f64>,
    starts: Option<StartsDto>,
    bootstrap: Option<usize>,
    seed: Option<u64>,
    schedule: Option<ScheduleDto>,
    warmup: Option<WarmupDto>,
    momentum_decay: Option<f64>,
    curve_inputs: Option<Vec<Vec<f64>>>,
    extrapolate: Option<f64>,
    holdout: Option<usize>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ScheduleDto {
    Rates(Vec<f64>),
    Named(Schedule),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WarmupDto {
    Steps(usize),
    Named(String),
}

/// The loss-curve schedule from the package's `schedule`, `warmup` and `momentumDecay`.
fn lr_schedule(
    schedule: ScheduleDto,
    warmup: Option<WarmupDto>,
    momentum_decay: Option<f64>,
) -> Result<LrSchedule> {
    let (rates, named_warmup) = match schedule {
        ScheduleDto::Rates(rates) => (rates, None),
        ScheduleDto::Named(s) => (s.lrs()?, Some(s.warmup_steps())),
    };
    let choice = match warmup {
        None => WarmupChoice::Detected,
        Some(WarmupDto::Steps(warmup_steps)) => WarmupChoice::Paper { warmup_steps },
        Some(WarmupDto::Named(name)) if name == "reference_code" => WarmupChoice::ReferenceCode,
        Some(WarmupDto::Named(name)) => {
            return Err(invalid(
                "warmup",
                format!("“{name}”: give a number of warmup steps or \"reference_code\""),
            ))
        }
    };
    Ok(LrSchedule::with_choice(
        rates,
        named_warmup,
        choice,
        momentum_decay.unwrap_or(DEFAULT_TISSUE_LAMBDA),
    )?)
}

/// The option value named `name` (one of `T`'s names), or an error listing them.
fn named<T: Named>(what: &'static str, name: &str) -> Result<T> {
    T::from_name(name).ok_or_else(|| invalid(what, format!("“{name}”: use {}", T::names())))
}

fn invalid(what: &'static str, reason: String) -> ScalelabError {
    CoreError::InvalidValue { what, reason }.into()
}

fn flatten(rows: Vec<Vec<f64>>, k: usize, what: &'static str) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(rows.len() * k);
    for r in rows {
        if r.len() != k {
            return Err(CoreError::DimensionMismatch {
                what,
                expected: k,
                got: r.len(),
            }
            .into());
        }
        out.extend(r);
    }
    Ok(out)
}

fn request(input: FitInput) -> Result<FitRequest> {
    let model = match input.model.parse::<BuiltinModel>() {
        Ok(model) => ModelChoice::Builtin { model },
        Err(_) => ModelChoice::Formula {
            text: input.model.clone(),
            inputs: input.inputs.unwrap_or_else(|| vec!["x".into()]),
        },
    };
    let k = match &model {
        ModelChoice::Builtin { model } => model.input_names().len(),
        ModelChoice::Formula { inputs, .. } => inputs.len(),
    };
    let x = match input.x {
        Rows::Flat(v) if k == 1 => v,
        Rows::Flat(_) => {
            return Err(invalid(
                "x",
                format!("give one row of {k} inputs per observation, e.g. [[N, D], …]"),
            ))
        }
        Rows::Nested(rows) => flatten(rows, k, "inputs per row of x")?,
    };
    let data = Data {
        n_inputs: k,
        x,
        y: input.y,
        weights: input.weights,
    };
    let residual = match input.residual.as_deref() {
        None => ResidualSpace::Linear,
        Some(name) => named::<ResidualSpace>("residual", name)?,
    };
    let scale = input.loss_scale.unwrap_or(1.0);
    let loss = match input.loss.as_deref() {
        None => RobustLoss::L2,
        Some(name) => named::<LossKind>("loss", name)?.with_scale(scale),
    };
    let method = match input.method.as_deref() {
        None => Method::LeastSquares,
        Some(name) => named::<MethodKind>("method", name)?.with_delta(input.delta.unwrap_or(1e-3)),
    };
    let starts = match input.starts {
        None => Starts::Single,
        Some(StartsDto::Named(s)) => match named::<StartsKind>("starts", &s)? {
            StartsKind::Random => {
                return Err(invalid(
                    "starts",
                    "give the number of random starts instead of \"random\"".into(),
                ))
            }
            kind => kind.with(0, 0),
        },
        Some(StartsDto::Random(samples)) => Starts::Random {
            samples,
            seed: input.seed.unwrap_or(0),
        },
    };
    let schedule = match input.schedule {
        Some(s) => Some(lr_schedule(s, input.warmup, input.momentum_decay)?),
        None => None,
    };
    let start = match (input.start, &model) {
        (Some(s), _) => s,
        (None, ModelChoice::Builtin { model }) => {
            model.default_start_with(&data, schedule.as_ref())
        }
        (None, ModelChoice::Formula { .. }) => {
            let built = model.build(schedule.as_ref())?;
            vec![1.0; built.param_names().len()]
        }
    };
    let curve_inputs = match input.curve_inputs {
        Some(rows) => flatten(rows, k, "inputs per row of curveInputs")?,
        None => Vec::new(),
    };
    Ok(FitRequest {
        model,
        data,
        schedule,
        start,
        options: FitOptions {
            residual,
            loss,
            bounds: input.bounds,
            ..FitOptions::default()
        },
        method,
        starts,
        bootstrap: input.bootstrap.unwrap_or(0),
        seed: input.seed.unwrap_or(0),
        curve_inputs,
        extrapolate: input.extrapolate.unwrap_or(10.0),
        holdout: input.holdout.unwrap_or(0),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BootstrapDto {
    successful: usize,
    std_errors: Vec<f64>,
    lower95: Vec<f64>,
    upper95: Vec<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CurveDto {
    axis: CurveAxis,
    at: Vec<f64>,
    mean: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    band: BandKind,
    prediction_lower: Vec<f64>,
    prediction_upper: Vec<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BacktestDto {
    indices: Vec<usize>,
    actual: Vec<f64>,
    predicted: Vec<f64>,
    relative_error: Vec<f64>,
    params: Vec<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ComputeOptimalDto {
    compute: f64,
    params: f64,
    tokens: f64,
    tokens_per_param: f64,
}

#[derive(Serialize)]
struct AllocationDto {
    g: f64,
    a: f64,
    b: f64,
    frontier: Vec<ComputeOptimalDto>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FitOutput {
    names: Vec<String>,
    formula: String,
    params: Vec<f64>,
    std_errors: Option<Vec<f64>>,
    covariance: Option<Vec<f64>>,
    cost: f64,
    rss: f64,
    iterations: usize,
    evaluations: usize,
    termination: String,
    converged: bool,
    starts_run: usize,
    starts_converged: usize,
    bootstrap: Option<BootstrapDto>,
    curve: CurveDto,
    fitted: Vec<f64>,
    residuals: Vec<f64>,
    backtest: Option<BacktestDto>,
    allocation: Option<AllocationDto>,
}

fn termination_name(t: &Termination) -> &'static str {
    match t {
        Termination::CostConverged => "cost_converged",
        Termination::StepConverged => "step_converged",
        Termination::GradientConverged => "gradient_converged",
        Termination::MaxIterations => "max_iterations",
        Termination::NumericalFailure { .. } => "numerical_failure",
        Termination::Cancelled => "cancelled",
    }
}

fn compute_optimal(c: &scalelab_core::fit::allocation::ComputeOptimal) -> ComputeOptimalDto {
    ComputeOptimalDto {
        compute: c.compute,
        params: c.params,
        tokens: c.tokens,
        tokens_per_param: c.tokens_per_param,
    }
}

fn output(r: FitReport) -> FitOutput {
    FitOutput {
        names: r.names,
        formula: r.formula,
        termination: termination_name(&r.fit.termination).into(),
        converged: r.fit.termination.converged(),
        params: r.fit.params,
        std_errors: r.fit.std_errors,
        covariance: r.fit.covariance,
        cost: r.fit.cost,
        rss: r.fit.rss,
        iterations: r.fit.iterations,
        evaluations: r.fit.evaluations,
        starts_run: r.starts_run,
        starts_converged: r.starts_converged,
        bootstrap: r.bootstrap.map(|b| BootstrapDto {
            successful: b.successful,
            std_errors: b.std_errors,
            lower95: b.lower95,
            upper95: b.upper95,
        }),
        curve: CurveDto {
            axis: r.curve.axis,
            at: r.curve.at,
            mean: r.curve.mean,
            lower: r.curve.lower,
            upper: r.curve.upper,
            band: r.curve.band,
            prediction_lower: r.curve.prediction_lower,
            prediction_upper: r.curve.prediction_upper,
        },
        fitted: r.fitted,
        residuals: r.residuals,
        backtest: r.backtest.map(|b| BacktestDto {
            indices: b.indices,
            actual: b.actual,
            predicted: b.predicted,
            relative_error: b.relative_error,
            params: b.params,
        }),
        allocation: r.allocation.map(|a| AllocationDto {
            g: a.rule.g,
            a: a.rule.a,
            b: a.rule.b,
            frontier: a.frontier.iter().map(compute_optimal).collect(),
        }),
    }
}

/// Fits a scaling law: least squares with exact Jacobians (or Hoffmann's Huber objective), optional
/// multi-start, bootstrap, extrapolation band, backtest and compute-optimal allocation.
#[wasm_bindgen(js_name = fitScalingLaw, unchecked_return_type = "FitOutput")]
pub fn fit_scaling_law(
    #[wasm_bindgen(unchecked_param_type = "FitInput")] input: JsValue,
) -> Result<JsValue> {
    let input: FitInput =
        serde_wasm_bindgen::from_value(input).map_err(|e| invalid("fit input", e.to_string()))?;
    let report = analyse(&request(input)?)?;
    Ok(to_js(&output(report)))
}

#[derive(Serialize)]
struct ModelInfo {
    name: &'static str,
    label: &'static str,
    inputs: Vec<&'static str>,
    params: Vec<String>,
    formula: String,
}

/// The built-in laws with their inputs, parameters and formulas.
#[wasm_bindgen(unchecked_return_type = "ModelInfo[]")]
pub fn models() -> JsValue {
    let list: Vec<ModelInfo> = BuiltinModel::ALL
        .iter()
        .map(|b| {
            let m = b.model();
            ModelInfo {
                name: b.name(),
                label: b.label(),
                inputs: b.input_names().to_vec(),
                params: m.param_names(),
                formula: m.formula(),
            }
        })
        .collect();
    to_js(&list)
}

/// Chinchilla compute-optimal allocation for `L = E + A/N^α + B/D^β` at budget `compute` (FLOPs):
/// `N_opt = G(C/6)^a`, `D_opt = G⁻¹(C/6)^b`, `G = (αA/(βB))^(1/(α+β))`, `a = β/(α+β)`, `b = α/(α+β)`.
#[wasm_bindgen(js_name = chinchillaAllocation, unchecked_return_type = "ComputeOptimal & { g: number; a: number; b: number }")]
pub fn chinchilla_allocation(
    coef_a: f64,
    coef_b: f64,
    alpha: f64,
    beta: f64,
    compute: f64,
) -> Result<JsValue> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out {
        g: f64,
        a: f64,
        b: f64,
        compute: f64,
        params: f64,
        tokens: f64,
        tokens_per_param: f64,
    }
    let rule = ChinchillaAllocation::new(coef_a, coef_b, alpha, beta)?;
    let c = rule.at(compute)?;
    Ok(to_js(&Out {
        g: rule.g,
        a: rule.a,
        b: rule.b,
        compute: c.compute,
        params: c.params,
        tokens: c.tokens,
        tokens_per_param: c.tokens_per_param,
    }))
}

/// Tissue et al.'s forward area `S1` and annealing area `S2` at every step of a learning-rate
/// schedule (per-step rates or a named schedule; `options` as `FitInput.warmup` and
/// `FitInput.momentumDecay`). Index `k` of each array holds step `k + 1`.
#[wasm_bindgen(js_name = lrScheduleAreas, unchecked_return_type = "{ s1: number[]; s2: number[] }")]
pub fn lr_schedule_areas(
    #[wasm_bindgen(unchecked_param_type = "number[] | NamedSchedule")] schedule: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ScheduleOptions | undefined")] options: JsValue,
) -> Result<JsValue> {
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Options {
        warmup: Option<WarmupDto>,
        momentum_decay: Option<f64>,
    }
    let schedule: ScheduleDto = serde_wasm_bindgen::from_value(schedule).map_err(|e| {
        invalid(
            "schedule",
            format!("give per-step rates or a named schedule ({e})"),
        )
    })?;
    let options: Options = if options.is_undefined() || options.is_null() {
        Options::default()
    } else {
        serde_wasm_bindgen::from_value(options).map_err(|e| invalid("options", e.to_string()))?
    };
    let s = lr_schedule(schedule, options.warmup, options.momentum_decay)?;
    Ok(to_js(&tissue_areas(&s)?))
}

/// The Step Law (StepFun 2025): optimal peak learning rate `1.79·N^(−0.713)·D^(0.307)` and batch size
/// in tokens `0.58·D^(0.571)`.
#[wasm_bindgen(js_name = stepLaw, unchecked_return_type = "{ lr: number; batchTokens: number }")]
pub fn step_law_js(n: f64, d: f64) -> Result<JsValue> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out {
        lr: f64,
        batch_tokens: f64,
    }
    let s = step_law::step_law(n, d)?;
    Ok(to_js(&Out {
        lr: s.lr,
        batch_tokens: s.batch_tokens,
    }))
}

/// Reads a CSV/TSV table of numbers (header and delimiter detected); errors name the line and column.
#[wasm_bindgen(js_name = parseCsv, unchecked_return_type = "Table")]
pub fn parse_csv(text: &str) -> Result<JsValue> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out {
        columns: Vec<String>,
        rows: Vec<Vec<f64>>,
        has_header: bool,
    }
    let t = read_table(text, &CsvOptions::default())?;
    Ok(to_js(&Out {
        columns: t.columns,
        rows: t.rows,
        has_header: t.has_header,
    }))
}
