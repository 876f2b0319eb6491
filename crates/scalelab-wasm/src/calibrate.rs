//! Calibration: temperature, vector and matrix scaling, every metric under a chosen binning, the
//! convention matrix, CORP with the Murphy decomposition, and reading score files.

use crate::ScalelabError;
use scalelab_core::calibrate::binning::{Binning, EdgeConvention};
use scalelab_core::calibrate::conventions::convention_matrix as core_convention_matrix;
use scalelab_core::calibrate::corp::corp as core_corp;
use scalelab_core::calibrate::metrics::metric_report;
use scalelab_core::calibrate::scaling::{fit_scaling as core_fit_scaling, AffineMap};
use scalelab_core::calibrate::temperature::fit_temperature;
use scalelab_core::calibrate::{ScoreRows, Scores};
use scalelab_core::io::scores::{
    labels_from_values, scores_from_csv, scores_from_json, scores_from_npz, ScoreKind,
};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::options::{invalid, options};
use crate::to_js;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Scores, row-major (`n·k` values): Float64Array, Float32Array or number[]. */
export type ScoreValues = Float64Array | Float32Array | number[];
/** Class indices 0 … k−1: any typed array or number[] (whole numbers, checked). */
export type LabelValues = Uint32Array | Int32Array | Float64Array | number[];
/** Which side of an equal-width bin is closed. */
export type EdgeConvention = "upper_closed" | "lower_closed_extra_bin" | "lower_closed";
/** A binning of confidences. */
export type Binning =
  | { kind: "equal_width"; bins: number; edges: EdgeConvention }
  | { kind: "equal_mass"; bins: number }
  | { kind: "sklearn_uniform"; bins: number }
  | { kind: "sklearn_quantile"; bins: number }
  | { kind: "equal_mass_midpoints"; bins: number };
/** The fitted temperature with its certificate `gradient` = |∂NLL/∂β| at β = 1/T. */
export interface TemperatureFit {
  temperature: number; nll_before: number; nll: number; gradient: number; curvature: number; iterations: number;
}
/** One bin of a reliability diagram (empty bins: count 0, NaN means). */
export interface BinStat { count: number; confidence: number; accuracy: number; }
export interface Reliability { samples: number; bins: BinStat[]; }
/** Every metric at one temperature. `brier` is summed over classes; `brier_per_class` divides by k. */
export interface MetricReport {
  accuracy: number; nll: number; brier: number; brier_per_class: number; ece: number; mce: number;
  rms: number; ace: number; adaptive_ce: number; classwise_ece: number; debiased_l2: number;
  /** Two classes only (else null): p(y = 1) against y, torchmetrics' binary convention. */
  binary: { ece: number; mce: number; rms: number } | null;
  reliability: Reliability;
}
/** Options of `calibrationMetrics`; default T = 1 and 15 equal-width (lo, hi] bins. */
/** `kind: "probabilities"`: the values are probabilities (rows summing to 1 within 1e-4; a zero
 * is the logit −∞), read as given at T = 1 as the libraries read them. Default `"logits"`. */
export interface MetricOptions { temperature?: number; binning?: Binning; kind?: ScoreKind; }
/** A fitted vector (`weights`: k) or matrix (`weights`: k², row-major) scaling. */
export interface ScalingFit {
  map: "vector" | "matrix"; classes: number; weights: number[]; bias: number[]; penalty: number;
  objective: number; nll: number; nll_before: number; gradient: number; iterations: number; termination: unknown;
}
export type Convention = "guo" | "torchmetrics" | "netcal" | "sklearn_uniform" | "sklearn_quantile";
/** One library's score of the same data, with every sample's bin (null: in no bin). */
export interface ConventionScore {
  convention: Convention; bins: number; edges: number[]; reliability: Reliability;
  ece: number; mce: number; rms: number; assignment: (number | null)[];
}
/** CORP: the PAV curve, the Murphy decomposition and the consistency band. */
export interface Corp {
  curve: { x: number[]; y: number[] };
  murphy: { brier: number; miscalibration: number; discrimination: number; uncertainty: number };
  band: { x: number; lower: number; upper: number }[];
}
export interface CorpOptions { resamples?: number; level?: number; points?: number; seed?: number; }
export type ScoreKind = "logits" | "probabilities";
/** A metric with its seeded percentile bootstrap interval and standard error. */
export interface MetricInterval { estimate: number; lower: number; upper: number; std_error: number; finite: number; }
export interface MetricIntervals {
  accuracy: MetricInterval; nll: MetricInterval; brier: MetricInterval; brier_per_class: MetricInterval;
  ece: MetricInterval; mce: MetricInterval;
  rms: MetricInterval; ace: MetricInterval; debiased_l2: MetricInterval;
}
export interface ClasswiseIntervals { classwise_ece: MetricInterval; adaptive_ce: MetricInterval; }
export interface IntervalOptions { kind?: ScoreKind; temperature?: number; binning?: Binning; resamples?: number; level?: number; seed?: number; }
export interface ScoreCard { accuracy: number; ece: number; nll: number; brier: number; }
/** The model against the class-frequency forecaster (ECE 0: ECE is not proper). */
export interface Properness { model: ScoreCard; frequency_forecaster: ScoreCard; frequencies: number[]; }
export type Method = "uncalibrated" | "temperature" | "vector_scaling" | "matrix_scaling" | "histogram_binning" | "isotonic";
/** One method fitted on the calibration rows and scored on the test rows (`nll`, `brier`: null for
 * the top-label maps, histogram binning and isotonic; `gradient`: the fit's certificate). */
export interface MethodScore {
  method: Method; accuracy: number; nll: number | null; brier: number | null; ece: number;
  mce: number; rms: number; temperature: number | null; gradient: number | null; reliability: Reliability;
}
/** A method these data cannot have (matrix scaling past 100 classes), with the error's code. */
export interface MethodRefused { method: Method; code: string; message: string; }
/** Each method's row: `{ scored: … }` or `{ refused: … }`. */
export type MethodOutcome = { scored: MethodScore } | { refused: MethodRefused };
export interface MethodComparison { calibration_rows: number; test_rows: number; outcomes: MethodOutcome[]; }
/** Options of `compareMethods`: a seeded split (`fraction` of the rows calibrate, default 0.5, seed 0)
 * or explicit `calibration` and `test` rows; the binning of the errors (default 15 equal-width (lo, hi]
 * bins, and histogram binning's bins); vector and matrix scaling's L2 `penalty` (default 0.01). */
export interface CompareOptions {
  kind?: ScoreKind; fraction?: number; seed?: number; calibration?: number[]; test?: number[]; binning?: Binning; penalty?: number;
}
/** A score file read: values row-major, `kind` given or detected. */
export interface ScoreSet { values: Float64Array; classes: number; labels: Uint32Array; kind: ScoreKind; }
"#;

type Result<T> = std::result::Result<T, ScalelabError>;

/// The checked labels and scores; `f(scores)`. Probabilities (`kind` `"probabilities"`) become
/// their logits and are kept, so that the metrics at T = 1 read them as given.
fn with_scores<T>(
    values: &[f64],
    classes: usize,
    labels: &[f64],
    kind: Option<ScoreKind>,
    f: impl FnOnce(&Scores<'_>) -> Result<T>,
) -> Result<T> {
    let labels = labels_from_values(labels)?;
    match kind.unwrap_or(ScoreKind::Logits) {
        ScoreKind::Logits => f(&Scores::new(values, classes, &labels)?),
        ScoreKind::Probabilities => {
            f(&ScoreRows::from_probabilities(values.to_vec(), classes, labels)?.scores()?)
        }
    }
}

/// 15 equal-width `(lo, hi]` bins (Guo et al.).
const DEFAULT_BINNING: Binning = Binning::EqualWidth {
    bins: 15,
    edges: EdgeConvention::UpperClosed,
};

/// Temperature scaling solved to a certificate (safeguarded Newton on β = 1/T).
#[wasm_bindgen(js_name = temperatureScale, unchecked_return_type = "TemperatureFit")]
pub fn temperature_scale(
    #[wasm_bindgen(unchecked_param_type = "ScoreValues")] logits: &[f64],
    classes: usize,
    #[wasm_bindgen(unchecked_param_type = "LabelValues")] labels: &[f64],
) -> Result<JsValue> {
    with_scores(logits, classes, labels, None, |s| {
        Ok(to_js(&fit_temperature(s)?))
    })
}

#[derive(Deserialize, Default)]
struct MetricOptions {
    temperature: Option<f64>,
    binning: Option<Binning>,
    kind: Option<ScoreKind>,
}

/// Every metric at a temperature under a binning (default T = 1, 15 bins `(lo, hi]`).
#[wasm_bindgen(js_name = calibrationMetrics, unchecked_return_type = "MetricReport")]
pub fn calibration_metrics(
    #[wasm_bindgen(unchecked_param_type = "ScoreValues")] logits: &[f64],
    classes: usize,
    #[wasm_bindgen(unchecked_param_type = "LabelValues")] labels: &[f64],
    #[wasm_bindgen(unchecked_optional_param_type = "MetricOptions")] opts: Option<js_sys::Object>,
) -> Result<JsValue> {
    let opts: MetricOptions = options("metric options", &["temperature", "binning", "kind"], opts)?;
    let t = opts.temperature.unwrap_or(1.0);
    let binning = opts.binning.unwrap_or(DEFAULT_BINNING);
    with_scores(logits, classes, labels, opts.kind, |s| {
        Ok(to_js(&metric_report(s, t, &binning)?))
    })
}

/// Vector (`"vector"`) or matrix (`"matrix"`) scaling with an L2 penalty `penalty` towards the
/// identity map.
#[wasm_bindgen(js_name = fitScaling, unchecked_return_type = "ScalingFit")]
pub fn fit_scaling(
    #[wasm_bindgen(unchecked_param_type = "ScoreValues")] logits: &[f64],
    classes: usize,
    #[wasm_bindgen(unchecked_param_type = "LabelValues")] labels: &[f64],
    #[wasm_bindgen(unchecked_param_type = "\"vector\" | \"matrix\"")] map: &str,
    penalty: f64,
) -> Result<JsValue> {
    let map: AffineMap = map.parse().map_err(|_| {
        invalid(
            "scaling map",
            format!("“{map}”: use \"vector\" or \"matrix\""),
        )
    })?;
    with_scores(logits, classes, labels, None, |s| {
        Ok(to_js(&core_fit_scaling(s, map, penalty)?))
    })
}

/// The same top-label confidences and outcomes scored by every library's convention, with
/// each library's default number of bins or all with `bins`.
#[wasm_bindgen(js_name = conventionMatrix, unchecked_return_type = "ConventionScore[]")]
pub fn convention_matrix(
    #[wasm_bindgen(unchecked_param_type = "Float64Array | number[]")] confidences: &[f64],
    #[wasm_bindgen(unchecked_param_type = "Float64Array | number[]")] outcomes: &[f64],
    bins: Option<usize>,
) -> Result<JsValue> {
    Ok(to_js(&core_convention_matrix(confidences, outcomes, bins)?))
}

#[derive(Deserialize, Default)]
struct CorpOptions {
    resamples: Option<usize>,
    level: Option<f64>,
    points: Option<usize>,
    seed: Option<u64>,
}

/// CORP reliability diagram of forecasts and binary outcomes, with the Murphy decomposition and
/// a consistency band (defaults: 100 resamples, level 0.9, 101 points, seed 0).
#[wasm_bindgen(unchecked_return_type = "Corp")]
pub fn corp(
    #[wasm_bindgen(unchecked_param_type = "Float64Array | number[]")] forecasts: &[f64],
    #[wasm_bindgen(unchecked_param_type = "Float64Array | number[]")] outcomes: &[f64],
    #[wasm_bindgen(unchecked_optional_param_type = "CorpOptions")] opts: Option<js_sys::Object>,
) -> Result<JsValue> {
    let o: CorpOptions = options(
        "CORP options",
        &["resamples", "level", "points", "seed"],
        opts,
    )?;
    Ok(to_js(&core_corp(
        forecasts,
        outcomes,
        o.resamples.unwrap_or(100),
        o.level.unwrap_or(0.9),
        o.points.unwrap_or(101),
        o.seed.unwrap_or(0),
    )?))
}

/// Reads a score file of at most 512 MiB: `format` `"csv"` or `"json"` (text as UTF-8 bytes) or
/// `"npz"`; `kind` forces logits or probabilities (default: detected).
#[wasm_bindgen(js_name = readScores, unchecked_return_type = "ScoreSet")]
pub fn read_scores(
    bytes: &[u8],
    #[wasm_bindgen(unchecked_param_type = "\"csv\" | \"json\" | \"npz\"")] format: &str,
    #[wasm_bindgen(unchecked_optional_param_type = "ScoreKind")] kind: Option<String>,
) -> Result<JsValue> {
    let kind: Option<ScoreKind> = kind
        .map(|k| {
            k.parse().map_err(|_| {
                invalid(
                    "score kind",
                    format!("“{k}”: use \"logits\" or \"probabilities\""),
                )
            })
        })
        .transpose()?;
    scalelab_core::io::scores::check_file_size(bytes.len())?;
    let text = || std::str::from_utf8(bytes).map_err(|e| invalid("score file text", e));
    let set = match format {
        "csv" => scores_from_csv(text()?, kind)?,
        "json" => scores_from_json(text()?)?,
        "npz" => scores_from_npz(bytes, kind)?,
        other => {
            return Err(invalid(
                "score file format",
                format!("“{other}”: use csv, json or npz"),
            ))
        }
    };
    let out = js_sys::Object::new();
    let set_field = |k: &str, v: &JsValue| js_sys::Reflect::set(&out, &k.into(), v).map(|_| ());
    let labels: Vec<u32> = set.labels.iter().map(|&l| l as u32).collect();
    set_field(
        "values",
        &js_sys::Float64Array::from(&set.values[..]).into(),
    )
    .and_then(|_| set_field("classes", &JsValue::from(set.classes as u32)))
    .and_then(|_| set_field("labels", &js_sys::Uint32Array::from(&labels[..]).into()))
    .and_then(|_| set_field("kind", &JsValue::from_str(set.kind.into())))
    .map_err(|_| invalid("score set", "could not build the result object"))?;
    Ok(out.into())
}

/// Logits `ln p` of rows of probabilities (each row must sum to 1 within 1e-4; a zero
/// probability gives −∞, which every function takes except vector and matrix scaling).
#[wasm_bindgen(js_name = logitsFromProbabilities)]
pub fn logits_from_probabilities(
    #[wasm_bindgen(unchecked_param_type = "ScoreValues")] probabilities: &[f64],
    classes: usize,
) -> Result<Vec<f64>> {
    Ok(scalelab_core::calibrate::logits_from_probabilities(
        probabilities,
        classes,
    )?)
}

#[derive(Deserialize, Default)]
struct IntervalOptions {
    kind: Option<ScoreKind>,
    temperature: Option<f64>,
    binning: Option<Binning>,
    resamples: Option<usize>,
    level: Option<f64>,
    seed: Option<u64>,
}

fn interval_options(opts: Option<js_sys::Object>) -> Result<IntervalOptions> {
    options(
        "interval options",
        &[
            "temperature",
            "binning",
            "resamples",
            "level",
            "seed",
            "kind",
        ],
        opts,
    )
}

/// Seeded percentile bootstrap intervals of every top-label metric (defaults: T = 1, 15 bins
/// `(lo, hi]`, 1000 resamples, level 0.95, seed 0).
#[wasm_bindgen(js_name = metricIntervals, unchecked_return_type = "MetricIntervals")]
pub fn metric_intervals(
    #[wasm_bindgen(unchecked_param_type = "ScoreValues")] logits: &[f64],
    classes: usize,
    #[wasm_bindgen(unchecked_param_type = "LabelValues")] labels: &[f64],
    #[wasm_bindgen(unchecked_optional_param_type = "IntervalOptions")] opts: Option<js_sys::Object>,
) -> Result<JsValue> {
    let o = interval_options(opts)?;
    let t = o.temperature.unwrap_or(1.0);
    let binning = o.binning.unwrap_or(DEFAULT_BINNING);
    with_scores(logits, classes, labels, o.kind, |s| {
        Ok(to_js(
            &scalelab_core::calibrate::bootstrap::metric_intervals(
                s,
                t,
                &binning,
                o.resamples.unwrap_or(1000),
                o.level.unwrap_or(0.95),
                o.seed.unwrap_or(0),
            )?,
        ))
    })
}

/// Seeded percentile bootstrap intervals of the class-wise ECE and Nixon's adaptive CE (options
/// and defaults as `metricIntervals`; refused with `OutOfRange` past 2·10⁸ rows × classes ×
/// resamples).
#[wasm_bindgen(js_name = classwiseIntervals, unchecked_return_type = "ClasswiseIntervals")]
pub fn classwise_intervals(
    #[wasm_bindgen(unchecked_param_type = "ScoreValues")] logits: &[f64],
    classes: usize,
    #[wasm_bindgen(unchecked_param_type = "LabelValues")] labels: &[f64],
    #[wasm_bindgen(unchecked_optional_param_type = "IntervalOptions")] opts: Option<js_sys::Object>,
) -> Result<JsValue> {
    let o = interval_options(opts)?;
    let binning = o.binning.unwrap_or(DEFAULT_BINNING);
    with_scores(logits, classes, labels, o.kind, |s| {
        Ok(to_js(
            &scalelab_core::calibrate::bootstrap::classwise_intervals(
                s,
                o.temperature.unwrap_or(1.0),
                &binning,
                o.resamples.unwrap_or(1000),
                o.level.unwrap_or(0.95),
                o.seed.unwrap_or(0),
            )?,
        ))
    })
}

/// The model at temperature `temperature` (default 1) against the forecaster that always
/// predicts the class frequencies: ECE 0, yet worse NLL and Brier — ECE is not a proper score.
#[wasm_bindgen(unchecked_return_type = "Properness")]
pub fn properness(
    #[wasm_bindgen(unchecked_param_type = "ScoreValues")] logits: &[f64],
    classes: usize,
    #[wasm_bindgen(unchecked_param_type = "LabelValues")] labels: &[f64],
    temperature: Option<f64>,
) -> Result<JsValue> {
    let t = temperature.unwrap_or(1.0);
    with_scores(logits, classes, labels, None, |s| {
        Ok(to_js(&scalelab_core::calibrate::properness::properness(
            s,
            t,
            &DEFAULT_BINNING,
        )?))
    })
}

/// Recalibrates `test` confidences by a map fitted on (`confidences`, `outcomes`):
/// `"isotonic"` (PAV, as scikit-learn) or `"histogram"` (`bins` equal-width bins, default 15).
#[wasm_bindgen]
pub fn recalibrate(
    #[wasm_bindgen(unchecked_param_type = "Float64Array | number[]")] confidences: &[f64],
    #[wasm_bindgen(unchecked_param_type = "Float64Array | number[]")] outcomes: &[f64],
    #[wasm_bindgen(unchecked_param_type = "Float64Array | number[]")] test: &[f64],
    #[wasm_bindgen(unchecked_param_type = "\"isotonic\" | \"histogram\"")] method: &str,
    bins: Option<usize>,
) -> Result<Vec<f64>> {
    use scalelab_core::calibrate::recalibrate::{HistogramBinning, Isotonic};
    match method {
        "isotonic" => Ok(Isotonic::fit(confidences, outcomes)?.apply_all(test)?),
        "histogram" => Ok(
            HistogramBinning::fit(confidences, outcomes, bins.unwrap_or(15))?.apply_all(test)?,
        ),
        other => Err(invalid(
            "recalibration method",
            format!("“{other}”: use \"isotonic\" or \"histogram\""),
        )),
    }
}

#[derive(Deserialize, Default)]
struct CompareOptions {
    kind: Option<ScoreKind>,
    fraction: Option<f64>,
    seed: Option<u64>,
    calibration: Option<Vec<usize>>,
    test: Option<Vec<usize>>,
    binning: Option<Binning>,
    penalty: Option<f64>,
}

/// Every recalibration method fitted on calibration rows and scored on test rows (a seeded
/// split, or the rows given).
#[wasm_bindgen(js_name = compareMethods, unchecked_return_type = "MethodComparison")]
pub fn compare_methods(
    #[wasm_bindgen(unchecked_param_type = "ScoreValues")] logits: &[f64],
    classes: usize,
    #[wasm_bindgen(unchecked_param_type = "LabelValues")] labels: &[f64],
    #[wasm_bindgen(unchecked_optional_param_type = "CompareOptions")] opts: Option<js_sys::Object>,
) -> Result<JsValue> {
    use scalelab_core::calibrate::methods::{
        compare_methods, DEFAULT_CALIBRATION_FRACTION, DEFAULT_PENALTY,
    };
    let o: CompareOptions = options(
        "method comparison options",
        &[
            "fraction",
            "seed",
            "calibration",
            "test",
            "binning",
            "penalty",
            "kind",
        ],
        opts,
    )?;
    with_scores(logits, classes, labels, o.kind, |s| {
        let (cal, test) = match (o.calibration, o.test) {
            (Some(cal), Some(test)) => {
                if o.fraction.is_some() || o.seed.is_some() {
                    return Err(invalid(
                        "method comparison options",
                        "give either `calibration` and `test` rows or `fraction` and `seed`, not both",
                    ));
                }
                (cal, test)
            }
            (None, None) => scalelab_core::calibrate::recalibrate::split(
                s.len(),
                o.fraction.unwrap_or(DEFAULT_CALIBRATION_FRACTION),
                o.seed.unwrap_or(0),
            )?,
            _ => {
                return Err(invalid(
                    "method comparison options",
                    "give both `calibration` and `test` rows, or neither",
                ))
            }
        };
        Ok(to_js(&compare_methods(
            s,
            &cal,
            &test,
            &o.binning.unwrap_or(DEFAULT_BINNING),
            o.penalty.unwrap_or(DEFAULT_PENALTY),
        )?))
    })
}

/// A seeded split of `n` rows into calibration and test rows (`fraction` of them calibration).
#[wasm_bindgen(js_name = splitRows, unchecked_return_type = "{ calibration: number[]; test: number[] }")]
pub fn split_rows(n: usize, fraction: f64, seed: u32) -> Result<JsValue> {
    let (calibration, test) =
        scalelab_core::calibrate::recalibrate::split(n, fraction, u64::from(seed))?;
    #[derive(Serialize)]
    struct Split {
        calibration: Vec<usize>,
        test: Vec<usize>,
    }
    Ok(to_js(&Split { calibration, test }))
}

/// The ECE (or `"l2"` RMS, `"max"` MCE) of top-label `confidences` and `outcomes` under a
/// library's `convention` for each number of bins in `bins`.
#[wasm_bindgen(js_name = calibrationErrorByBins)]
pub fn calibration_error_by_bins(
    #[wasm_bindgen(unchecked_param_type = "Float64Array | number[]")] confidences: &[f64],
    #[wasm_bindgen(unchecked_param_type = "Float64Array | number[]")] outcomes: &[f64],
    #[wasm_bindgen(unchecked_param_type = "Uint32Array | number[]")] bins: &[u32],
    #[wasm_bindgen(unchecked_param_type = "Convention")] convention: &str,
    #[wasm_bindgen(unchecked_optional_param_type = "\"l1\" | \"l2\" | \"max\"")] norm: Option<
        String,
    >,
) -> Result<Vec<f64>> {
    use scalelab_core::calibrate::conventions::{error_by_bins, Convention};
    use scalelab_core::calibrate::metrics::Norm;
    let convention: Convention = convention.parse().map_err(|_| {
        invalid(
            "convention",
            format!("“{convention}”: use guo, torchmetrics, netcal, sklearn_uniform or sklearn_quantile"),
        )
    })?;
    let norm: Norm = match norm.as_deref() {
        None => Norm::L1,
        Some(n) => n
            .parse()
            .map_err(|_| invalid("norm", format!("“{n}”: use l1, l2 or max")))?,
    };
    let bins: Vec<usize> = bins.iter().map(|&b| b as usize).collect();
    Ok(error_by_bins(
        convention,
        confidences,
        outcomes,
        &bins,
        norm,
    )?)
}
