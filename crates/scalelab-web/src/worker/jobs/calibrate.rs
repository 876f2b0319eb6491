//! The Calibrate lab's worker jobs: reading a score file and analysing it (temperature fit with its
//! certificate, every metric before and after with bootstrap intervals, the NLL against T, the
//! convention matrix, CORP), and the class-overlap experiment streamed one epoch at a time. Files
//! are parsed here, never on the page.

use scalelab_core::calibrate::binning::Binning;
use scalelab_core::calibrate::bootstrap::{
    classwise_intervals, classwise_work_fits, metric_intervals, ClasswiseIntervals, MetricIntervals,
};
use scalelab_core::calibrate::conventions::{convention_matrix, error_by_bins, Convention};
use scalelab_core::calibrate::corp::{corp, Corp};
use scalelab_core::calibrate::methods::{outcome, Method, MethodComparison};
use scalelab_core::calibrate::metrics::{
    metric_report, top_label_pass, MetricReport, Norm, Reliability,
};
use scalelab_core::calibrate::overlap::{
    EpochReport, OverlapConfig, OverlapResult, OverlapRun, TestScores, Training,
};
use scalelab_core::calibrate::properness::{properness, Properness};
use scalelab_core::calibrate::recalibrate::split;
use scalelab_core::calibrate::scaling::check_penalty;
use scalelab_core::calibrate::synthetic::synthetic_logits;
use scalelab_core::calibrate::temperature::{fit_temperature, nll_curve, TemperatureFit};
use scalelab_core::calibrate::{ScoreRows, Scores};
use scalelab_core::io::scores::{
    check_file_size, CsvScores, JsonScores, NumpyScores, ScoreKind, ScoreSet, SharedBytes,
};
use scalelab_core::CoreError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::worker::kept::Kept;
use crate::worker::protocol::{JobFailure, Output, Partial, Progress, Stage, WorkerError};
use crate::worker::task::{Once, Slice, SliceBudget, StartTask, SyncTask, Task};

/// Where the scores come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ScoreSource {
    /// CSV text (pasted or a file), sent as bytes.
    Csv(#[serde(with = "crate::worker::text_bytes")] std::sync::Arc<str>),
    /// JSON text.
    Json(#[serde(with = "crate::worker::text_bytes")] std::sync::Arc<str>),
    /// A `.npz` file's bytes.
    Npz(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Two `.npy` files' bytes, in either order (the 2-D one is the scores).
    NpyPair(
        #[serde(with = "serde_bytes")] Vec<u8>,
        #[serde(with = "serde_bytes")] Vec<u8>,
    ),
    /// Generated: `rows` × `classes` logits at logit scale `scale` (> 1 overconfident), seeded.
    Synthetic {
        /// Rows.
        rows: usize,
        /// Classes.
        classes: usize,
        /// The logit scale.
        scale: f64,
        /// The seed.
        seed: u64,
    },
}

/// Input of the analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analyse {
    /// The scores.
    pub source: ScoreSource,
    /// Logits or probabilities (`None`: detected).
    pub kind: Option<ScoreKind>,
    /// The binning of the metrics and diagrams.
    pub binning: Binning,
    /// Bootstrap resamples of the intervals (0: none).
    pub resamples: usize,
    /// The seed of the resamples and of CORP's band.
    pub seed: u64,
}

/// One convention's row of the matrix (its per-sample bins stay in the worker).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConventionRow {
    /// The convention.
    pub convention: Convention,
    /// Its bins.
    pub bins: usize,
    /// ECE, MCE and RMS.
    pub ece: f64,
    /// MCE.
    pub mce: f64,
    /// RMS calibration error.
    pub rms: f64,
    /// Its reliability diagram.
    pub reliability: Reliability,
    /// Its ECE with 1, 2, …, [`BINS_CURVE`] bins.
    pub ece_by_bins: Vec<f64>,
}

/// Scores of one temperature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AtTemperature {
    /// The temperature.
    pub temperature: f64,
    /// Every metric.
    pub metrics: MetricReport,
    /// Their bootstrap intervals (when asked for).
    pub intervals: Option<MetricIntervals>,
    /// The class-wise metrics' intervals (when asked for and rows × classes × resamples is at
    /// most [`MAX_CLASSWISE_WORK`](scalelab_core::calibrate::bootstrap::MAX_CLASSWISE_WORK)).
    pub classwise_intervals: Option<ClasswiseIntervals>,
    /// The convention matrix of the top-label confidences.
    pub conventions: Vec<ConventionRow>,
    /// CORP of the top-label confidences.
    pub corp: Corp,
}

/// Output of the analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Rows.
    pub rows: usize,
    /// Classes.
    pub classes: usize,
    /// What the values were.
    pub kind: ScoreKind,
    /// The fitted temperature with its certificate.
    pub fit: TemperatureFit,
    /// At T = 1.
    pub before: AtTemperature,
    /// At the fitted T.
    pub after: AtTemperature,
    /// The mean NLL against T (log-spaced around the optimum).
    pub nll_curve: Vec<[f64; 2]>,
    /// The scaled model against the class-frequency forecaster (ECE is not a proper score).
    pub properness: Properness,
    /// The number the worker keeps the scores under ([`CompareMethods`], [`LocateSample`]).
    pub scores: u64,
}

/// Most resamples of the analysis' intervals.
pub const MAX_RESAMPLES: usize = 5000;
/// Points of the NLL(T) curve.
pub const CURVE_POINTS: usize = 81;
/// Largest synthetic set (rows × classes).
pub const MAX_SYNTHETIC_VALUES: usize = 1 << 26;
/// Most bins of the ECE-against-bins curves.
pub const BINS_CURVE: usize = 30;

/// Scores read and turned into logits (the analysis' first step).
pub struct ScoreData {
    /// The rows (logits, labels, and the probabilities as given).
    pub rows: ScoreRows,
    /// What the values were.
    pub kind: ScoreKind,
}

impl ScoreData {
    /// `set` as rows (no copy for logits; `ln p` beside probabilities).
    fn of(set: ScoreSet) -> Result<ScoreData, CoreError> {
        let kind = set.kind;
        Ok(ScoreData {
            rows: set.into_rows()?,
            kind,
        })
    }

    fn scores(&self) -> Result<Scores<'_>, CoreError> {
        self.rows.scores()
    }
}

/// Scores read by the last analysis, with its fitted temperature, kept for the jobs that follow.
pub struct KeptScores {
    /// The scores.
    pub data: ScoreData,
    /// The fitted temperature.
    pub temperature: f64,
}

thread_local! {
    /// The last analysis' scores.
    static SCORES: Kept<KeptScores> = const { Kept::new() };
}

/// `f` of the kept scores numbered `id`, or [`WorkerError::ScoresGone`].
fn with_scores<R>(
    id: u64,
    f: impl FnOnce(&KeptScores) -> Result<R, JobFailure>,
) -> Result<R, JobFailure> {
    SCORES.with(|k| {
        k.with(id, f)
            .unwrap_or_else(|| Err(WorkerError::ScoresGone.into()))
    })
}

/// Bytes of CSV text read per unit of the analysis (a progress update and a chance to pause or
/// cancel every MiB).
pub const CSV_BYTES_PER_UNIT: usize = 1 << 20;

/// The size of a source's file (none for a generated set).
fn file_size(source: &ScoreSource) -> Option<usize> {
    match source {
        ScoreSource::Csv(text) | ScoreSource::Json(text) => Some(text.len()),
        ScoreSource::Npz(bytes) => Some(bytes.len()),
        ScoreSource::NpyPair(a, b) => Some(a.len() + b.len()),
        ScoreSource::Synthetic { .. } => None,
    }
}

/// A generated score set (`rows` × `classes` logits at logit scale `scale`, seeded).
fn generated(rows: usize, classes: usize, scale: f64, seed: u64) -> Result<ScoreSet, CoreError> {
    let (values, labels) = synthetic_logits(rows, classes, scale, seed, MAX_SYNTHETIC_VALUES)?;
    ScoreSet::new(values, classes, labels, Some(ScoreKind::Logits))
}

fn at(s: &Scores<'_>, t: f64, req: &Analyse) -> Result<AtTemperature, CoreError> {
    let metrics = metric_report(s, t, &req.binning)?;
    let intervals = if req.resamples > 0 {
        Some(metric_intervals(
            s,
            t,
            &req.binning,
            req.resamples,
            0.95,
            req.seed,
        )?)
    } else {
        None
    };
    let classwise_intervals =
        if req.resamples > 0 && classwise_work_fits(s.len(), s.classes(), req.resamples) {
            Some(classwise_intervals(
                s,
                t,
                &req.binning,
                req.resamples,
                0.95,
                req.seed,
            )?)
        } else {
            None
        };
    let pass = top_label_pass(s, t);
    let curve: Vec<usize> = (1..=BINS_CURVE).collect();
    let conventions = convention_matrix(&pass.conf, &pass.correct, Some(req.binning.bins()))?
        .into_iter()
        .map(|c| {
            Ok(ConventionRow {
                ece_by_bins: error_by_bins(
                    c.convention,
                    &pass.conf,
                    &pass.correct,
                    &curve,
                    Norm::L1,
                )?,
                convention: c.convention,
                bins: c.bins,
                ece: c.ece,
                mce: c.mce,
                rms: c.rms,
                reliability: c.reliability,
            })
        })
        .collect::<Result<_, CoreError>>()?;
    let corp = corp(&pass.conf, &pass.correct, 100, 0.9, 101, req.seed)?;
    Ok(AtTemperature {
        temperature: t,
        metrics,
        intervals,
        classwise_intervals,
        conventions,
        corp,
    })
}

/// The analysis' steps, each one unit of work (Pause, Step and Cancel act between them): read the
/// scores; fit T and trace NLL(T); everything at T = 1; everything at T*; the class-frequency
/// forecaster.
pub const ANALYSIS_STEPS: u64 = 5;

/// A score file being read a unit at a time.
enum Reading {
    /// CSV text, [`CSV_BYTES_PER_UNIT`] per unit.
    Csv(CsvScores, Arc<str>),
    /// JSON text: its shape checked in the first unit, then [`CSV_BYTES_PER_UNIT`] of rows per
    /// unit.
    Json(JsonScores, Arc<str>),
    /// An `.npz` or two `.npy` files (their bytes taken from the request),
    /// [`NUMPY_VALUES_PER_UNIT`] values per unit.
    Numpy(NumpyScores<'static, SharedBytes>),
}

impl Reading {
    /// Bytes read so far and in all.
    fn bytes(&self) -> (u64, u64) {
        match self {
            Reading::Csv(r, text) => (r.bytes_read() as u64, text.len() as u64),
            Reading::Json(r, text) => (r.bytes_read() as u64, text.len() as u64),
            Reading::Numpy(r) => (r.bytes_read(), r.bytes_total()),
        }
    }
}

/// Calls `read` (a few lines or rows) until the text is read (`true`) or [`CSV_BYTES_PER_UNIT`]
/// more of its bytes are (`false`), `bytes` saying how far the reader is.
fn read_a_mib<R>(
    r: &mut R,
    read: impl Fn(&mut R) -> Result<bool, CoreError>,
    bytes: impl Fn(&R) -> usize,
) -> Result<bool, CoreError> {
    let until = bytes(r) + CSV_BYTES_PER_UNIT;
    loop {
        if read(r)? {
            return Ok(true);
        }
        if bytes(r) >= until {
            return Ok(false);
        }
    }
}

/// Values of a NumPy file read per unit of the analysis (a MiB of float32).
pub const NUMPY_VALUES_PER_UNIT: u64 = 1 << 18;

/// The analysis in progress: what each finished step left.
struct AnalyseTask {
    req: Analyse,
    /// A file being read.
    reading: Option<Reading>,
    read: Option<ScoreData>,
    fit: Option<(TemperatureFit, Vec<[f64; 2]>)>,
    before: Option<AtTemperature>,
    after: Option<AtTemperature>,
    steps: u64,
}

impl AnalyseTask {
    /// One unit of reading the scores: `Some` once they are read.
    fn read_unit(&mut self) -> Result<Option<ScoreSet>, CoreError> {
        let kind = self.req.kind;
        let take = |b: &mut Vec<u8>| SharedBytes(std::rc::Rc::new(std::mem::take(b)));
        let reading = match (&mut self.reading, &mut self.req.source) {
            (Some(r), _) => r,
            (None, ScoreSource::Csv(text)) => self
                .reading
                .insert(Reading::Csv(CsvScores::new(text), Arc::clone(text))),
            (None, ScoreSource::Json(text)) => self
                .reading
                .insert(Reading::Json(JsonScores::new(text)?, Arc::clone(text))),
            (None, ScoreSource::Npz(b)) => self
                .reading
                .insert(Reading::Numpy(NumpyScores::npz(take(b))?)),
            (None, ScoreSource::NpyPair(a, b)) => self
                .reading
                .insert(Reading::Numpy(NumpyScores::npy_pair(take(a), take(b))?)),
            (
                None,
                ScoreSource::Synthetic {
                    rows,
                    classes,
                    scale,
                    seed,
                },
            ) => return generated(*rows, *classes, *scale, *seed).map(Some),
        };
        let done = match reading {
            Reading::Csv(r, text) => {
                read_a_mib(r, |r| r.read_lines(text, 64), CsvScores::bytes_read)?
            }
            Reading::Json(r, text) => {
                read_a_mib(r, |r| r.read_rows(text, 16), JsonScores::bytes_read)?
            }
            Reading::Numpy(r) => r.read(NUMPY_VALUES_PER_UNIT)?,
        };
        if !done {
            return Ok(None);
        }
        match self.reading.take().expect("reading above") {
            Reading::Csv(r, _) => r.finish(kind).map(Some),
            Reading::Json(r, text) => r.finish(&text).map(Some),
            Reading::Numpy(r) => r.finish(kind).map(Some),
        }
    }

    /// Runs the next step; `Some` with the analysis after the last.
    fn step(&mut self) -> Result<Option<Analysis>, CoreError> {
        let Some(data) = &self.read else {
            let Some(set) = self.read_unit()? else {
                return Ok(None);
            };
            self.read = Some(ScoreData::of(set)?);
            self.steps += 1;
            return Ok(None);
        };
        let req = &self.req;
        let s = data.scores()?;
        self.steps += 1;
        let Some((fit, _)) = &self.fit else {
            let fit = fit_temperature(&s)?;
            let curve = nll_curve(&s, fit.temperature, CURVE_POINTS);
            self.fit = Some((fit, curve));
            return Ok(None);
        };
        let t = fit.temperature;
        if self.before.is_none() {
            self.before = Some(at(&s, 1.0, req)?);
            return Ok(None);
        }
        if self.after.is_none() {
            self.after = Some(at(&s, t, req)?);
            return Ok(None);
        }
        let properness = properness(&s, t, &req.binning)?;
        let (rows, classes, kind) = (s.len(), data.rows.classes, data.kind);
        let data = self.read.take().expect("read above");
        let (fit, nll_curve) = self.fit.take().expect("fitted above");
        let scores = SCORES.with(|k| {
            k.keep(KeptScores {
                data,
                temperature: fit.temperature,
            })
        });
        Ok(Some(Analysis {
            rows,
            classes,
            kind,
            fit,
            before: self.before.take().expect("scored above"),
            after: self.after.take().expect("scored above"),
            nll_curve,
            properness,
            scores,
        }))
    }
}

impl StartTask for Analyse {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        if self.resamples > MAX_RESAMPLES {
            return Err(CoreError::OutOfRange {
                what: "bootstrap resamples",
                value: self.resamples as f64,
                min: 0.0,
                max: MAX_RESAMPLES as f64,
            }
            .into());
        }
        self.binning.check()?;
        // The scores kept by the previous analysis go before this one reads its own.
        SCORES.with(Kept::clear);
        if let Some(bytes) = file_size(&self.source) {
            check_file_size(bytes)?;
        }
        Ok(Box::new(AnalyseTask {
            req: self,
            reading: None,
            read: None,
            fit: None,
            before: None,
            after: None,
            steps: 0,
        }))
    }
}

impl SyncTask for AnalyseTask {
    fn slice(&mut self, budget: SliceBudget) -> Result<Slice, JobFailure> {
        let (result, units) = budget.steps(|| self.step());
        match result? {
            Some(analysis) => Ok(Slice::Done {
                partials: Vec::new(),
                output: Output::CalibrateAnalyse(analysis),
            }),
            None => Ok(Slice::More {
                progress: match &self.reading {
                    Some(r) => {
                        let (read, total) = r.bytes();
                        Progress::new(Stage::ReadingKib, read >> 10, total >> 10)
                    }
                    None => Progress::new(Stage::Evaluating, self.steps, ANALYSIS_STEPS),
                },
                partials: Vec::new(),
                units,
            }),
        }
    }
}

/// Input of the method comparison: the kept scores split (seeded) into calibration and test rows,
/// every method fitted on the first and scored on the second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareMethods {
    /// The analysis' [`Analysis::scores`].
    pub scores: u64,
    /// Share of the rows that calibrate.
    pub fraction: f64,
    /// The split's seed.
    pub seed: u64,
    /// The binning of the test errors (and histogram binning's bins).
    pub binning: Binning,
    /// Vector and matrix scaling's L2 penalty λ.
    pub penalty: f64,
}

/// The comparison in progress: the split, then one method per unit.
struct CompareTask {
    req: CompareMethods,
    /// Calibration rows and test rows.
    split: Option<(ScoreRows, ScoreRows)>,
    outcomes: Vec<scalelab_core::calibrate::methods::MethodOutcome>,
}

impl StartTask for CompareMethods {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        self.binning.check()?;
        check_penalty(self.penalty)?;
        Ok(Box::new(CompareTask {
            req: self,
            split: None,
            outcomes: Vec::new(),
        }))
    }
}

/// Units of the comparison: the split and one per method.
pub const COMPARE_STEPS: u64 = 1 + <Method as strum::VariantArray>::VARIANTS.len() as u64;

impl CompareTask {
    fn step(&mut self) -> Result<Option<MethodComparison>, JobFailure> {
        let req = &self.req;
        let Some((cal, test)) = &self.split else {
            let split = with_scores(req.scores, |kept| {
                let s = kept.data.scores()?;
                let (cal, test) = split(s.len(), req.fraction, req.seed)?;
                Ok((ScoreRows::select(&s, &cal)?, ScoreRows::select(&s, &test)?))
            })?;
            self.split = Some(split);
            return Ok(None);
        };
        let (cal, test) = (cal.scores()?, test.scores()?);
        let methods = <Method as strum::VariantArray>::VARIANTS;
        let m = methods[self.outcomes.len()];
        self.outcomes
            .push(outcome(m, &cal, &test, &req.binning, req.penalty));
        if self.outcomes.len() < methods.len() {
            return Ok(None);
        }
        Ok(Some(MethodComparison {
            calibration_rows: cal.len(),
            test_rows: test.len(),
            outcomes: std::mem::take(&mut self.outcomes),
        }))
    }

    fn done_units(&self) -> u64 {
        u64::from(self.split.is_some()) + self.outcomes.len() as u64
    }
}

impl SyncTask for CompareTask {
    fn slice(&mut self, budget: SliceBudget) -> Result<Slice, JobFailure> {
        let (result, units) = budget.steps(|| self.step());
        match result? {
            Some(c) => Ok(Slice::Done {
                partials: Vec::new(),
                output: Output::CalibrateMethods(c),
            }),
            None => Ok(Slice::More {
                progress: Progress::new(Stage::Evaluating, self.done_units(), COMPARE_STEPS),
                partials: Vec::new(),
                units,
            }),
        }
    }
}

/// Input of the sample lookup: which bin each convention put one row in, at T = 1 and at the
/// fitted temperature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocateSample {
    /// The analysis' [`Analysis::scores`].
    pub scores: u64,
    /// The row (0-based).
    pub row: usize,
    /// Bins of every convention (as the analysis' matrix).
    pub bins: usize,
}

/// One convention's bin of the sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleBin {
    /// The convention.
    pub convention: Convention,
    /// The bin (0-based; torchmetrics' extra bin is `bins`; `None`: in no bin).
    pub bin: Option<u32>,
    /// The bin's edges `(lower, upper)` (the extra bin: `(1, 1)`).
    pub edges: Option<(f64, f64)>,
}

/// The sample at one temperature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleAt {
    /// The temperature.
    pub temperature: f64,
    /// Its top-label confidence.
    pub confidence: f64,
    /// Every convention's bin.
    pub bins: Vec<SampleBin>,
}

/// Where one sample went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleBins {
    /// The row.
    pub row: usize,
    /// Its label.
    pub label: usize,
    /// The predicted class (the argmax, at every temperature).
    pub predicted: usize,
    /// At T = 1.
    pub before: SampleAt,
    /// At the fitted temperature.
    pub after: SampleAt,
}

fn sample_at(s: &Scores<'_>, row: usize, t: f64, bins: usize) -> Result<SampleAt, CoreError> {
    let pass = top_label_pass(s, t);
    let matrix = convention_matrix(&pass.conf, &pass.correct, Some(bins))?;
    Ok(SampleAt {
        temperature: t,
        confidence: pass.conf[row],
        bins: matrix
            .iter()
            .map(|c| {
                let bin = c.assignment[row];
                SampleBin {
                    convention: c.convention,
                    bin,
                    edges: bin.map(|b| {
                        let b = b as usize;
                        match (c.edges.get(b), c.edges.get(b + 1)) {
                            (Some(&lo), Some(&hi)) => (lo, hi),
                            _ => (1.0, 1.0),
                        }
                    }),
                }
            })
            .collect(),
    })
}

impl StartTask for LocateSample {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        if self.bins == 0 || self.bins > scalelab_core::calibrate::binning::MAX_BINS {
            return Err(CoreError::OutOfRange {
                what: "number of bins",
                value: self.bins as f64,
                min: 1.0,
                max: scalelab_core::calibrate::binning::MAX_BINS as f64,
            }
            .into());
        }
        Ok(Box::new(Once::new(move || {
            with_scores(self.scores, |kept| {
                let s = kept.data.scores()?;
                if self.row >= s.len() {
                    return Err(CoreError::IndexOutOfRange {
                        what: "row",
                        index: self.row,
                        len: s.len(),
                    }
                    .into());
                }
                let predicted = scalelab_core::calibrate::argmax(s.row(self.row));
                Ok(Output::CalibrateSample(SampleBins {
                    row: self.row,
                    label: s.label(self.row),
                    predicted,
                    before: sample_at(&s, self.row, 1.0, self.bins)?,
                    after: sample_at(&s, self.row, kept.temperature, self.bins)?,
                }))
            })
        })))
    }
}

/// Input of the class-overlap experiment: one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overlap(pub OverlapConfig);

/// The experiment in progress: one epoch is one unit, streamed as a partial result.
struct OverlapTask {
    run: OverlapRun,
}

impl StartTask for Overlap {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        Ok(Box::new(OverlapTask {
            run: OverlapRun::new(self.0)?,
        }))
    }
}

impl SyncTask for OverlapTask {
    fn slice(&mut self, budget: SliceBudget) -> Result<Slice, JobFailure> {
        let (result, units) = budget.run(|b| -> Result<Vec<Partial>, CoreError> {
            let mut epochs = Vec::new();
            while !self.run.done() {
                epochs.push(Partial::CalibrateOverlap(self.run.epoch()?));
                if !b.unit_done() {
                    break;
                }
            }
            Ok(epochs)
        });
        let partials = result?;
        let total = self.run.config().epochs as u64;
        if !self.run.done() {
            return Ok(Slice::More {
                progress: Progress::new(Stage::Epochs, self.run.epochs_done() as u64, total),
                partials,
                units,
            });
        }
        Ok(Slice::Done {
            partials,
            output: Output::CalibrateOverlap(self.run.finish()?),
        })
    }
}

/// Input of the overlap sweep: `base` run at every separation in `separations`, once with ERM and
/// once with `mixup` (Chidambaram & Ge's comparison: ERM then temperature scaling against Mixup).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverlapSweep {
    /// Every field but the separation and the training.
    pub base: OverlapConfig,
    /// The separations μ (1 to [`MAX_SWEEP_POINTS`], each checked as the run's field).
    pub separations: Vec<f64>,
    /// The Mixup arm's training.
    pub mixup: Training,
}

/// Most separations in one sweep.
pub const MAX_SWEEP_POINTS: usize = 20;

/// One finished run of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Its separation μ.
    pub separation: f64,
    /// Mixup's points `d`, or `None` for ERM (not the run's [`Training`]: an internally tagged
    /// enum would make the page buffer every point to read it).
    pub mixup_points: Option<usize>,
    /// Training accuracy at the end.
    pub train_accuracy: f64,
    /// Test scores at T = 1.
    pub before: TestScores,
    /// The temperature fitted on the calibration split (`None`: no finite one).
    pub temperature: Option<f64>,
    /// Test scores at that temperature.
    pub after: Option<TestScores>,
}

/// The sweep in progress: the runs still to do (last first) and the one training.
struct SweepTask {
    todo: Vec<OverlapConfig>,
    run: OverlapRun,
    finished: u64,
    total: u64,
}

impl StartTask for OverlapSweep {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        if self.separations.is_empty() || self.separations.len() > MAX_SWEEP_POINTS {
            return Err(CoreError::OutOfRange {
                what: "number of separations",
                value: self.separations.len() as f64,
                min: 1.0,
                max: MAX_SWEEP_POINTS as f64,
            }
            .into());
        }
        if matches!(self.mixup, Training::Erm) {
            return Err(CoreError::InvalidValue {
                what: "the sweep's Mixup arm",
                reason: "it must be a Mixup training".into(),
            }
            .into());
        }
        let mut todo = Vec::with_capacity(2 * self.separations.len());
        for &separation in self.separations.iter().rev() {
            for training in [self.mixup, Training::Erm] {
                let config = OverlapConfig {
                    separation,
                    training,
                    ..self.base.clone()
                };
                config.check()?;
                todo.push(config);
            }
        }
        let total = todo.len() as u64 * self.base.epochs as u64;
        let first = todo.pop().expect("at least one separation");
        Ok(Box::new(SweepTask {
            todo,
            run: OverlapRun::new(first)?,
            finished: 0,
            total,
        }))
    }
}

impl SweepTask {
    /// One epoch; the finished run's point when it was the run's last.
    fn epoch(&mut self) -> Result<Option<SweepPoint>, CoreError> {
        self.run.epoch()?;
        self.finished += 1;
        if !self.run.done() {
            return Ok(None);
        }
        let r = self.run.finish()?;
        let c = self.run.config();
        let point = SweepPoint {
            separation: c.separation,
            mixup_points: match c.training {
                Training::Erm => None,
                Training::Mixup { points, .. } => Some(points),
            },
            train_accuracy: r.train_accuracy,
            before: r.before,
            temperature: r.temperature.as_ref().ok().map(|t| t.temperature),
            after: r.after,
        };
        if let Some(next) = self.todo.pop() {
            self.run = OverlapRun::new(next)?;
        }
        Ok(Some(point))
    }
}

impl SyncTask for SweepTask {
    fn slice(&mut self, budget: SliceBudget) -> Result<Slice, JobFailure> {
        let (result, units) = budget.run(|b| -> Result<Vec<Partial>, CoreError> {
            let mut points = Vec::new();
            while self.finished < self.total {
                if let Some(p) = self.epoch()? {
                    points.push(Partial::CalibrateOverlapSweep(p));
                }
                if !b.unit_done() {
                    break;
                }
            }
            Ok(points)
        });
        let partials = result?;
        if self.finished < self.total {
            return Ok(Slice::More {
                progress: Progress::new(Stage::Epochs, self.finished, self.total),
                partials,
                units,
            });
        }
        Ok(Slice::Done {
            partials,
            output: Output::CalibrateOverlapSweep(self.total / self.run.config().epochs as u64),
        })
    }
}

/// Re-exported for the job registry.
pub type OverlapEpoch = EpochReport;
/// Re-exported for the job registry.
pub type OverlapOutcome = OverlapResult;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::worker::protocol::JobSpec;
    use crate::worker::task::run_to_end;
    use scalelab_core::calibrate::binning::EdgeConvention;
    use scalelab_core::calibrate::overlap::run;
    use scalelab_core::io::scores::scores_from_csv;

    /// science.md §7 item 13 through the job: T = 3/ln 3, NLL 0.5623351446188083 after.
    #[test]
    fn the_analysis_reads_a_csv_and_fits_the_closed_form_temperature() {
        let job = Analyse {
            source: ScoreSource::Csv("label,a,b\n0,3,0\n0,3,0\n1,3,0\n1,0,3\n".into()),
            kind: None,
            binning: Binning::EqualWidth {
                bins: 15,
                edges: EdgeConvention::UpperClosed,
            },
            resamples: 50,
            seed: 1,
        };
        let (out, _, _) = run_to_end(job.into_job().start().unwrap(), None).unwrap();
        let Output::CalibrateAnalyse(a) = out else {
            panic!("wrong output")
        };
        assert_eq!((a.rows, a.classes, a.kind), (4, 2, ScoreKind::Logits));
        assert!((a.fit.temperature - 3.0 / 3f64.ln()).abs() < 1e-12);
        assert!((a.after.metrics.nll - 0.5623351446188083).abs() < 1e-14);
        assert!((a.before.metrics.ece - 0.2025741268).abs() < 1e-10);
        assert_eq!(a.nll_curve.len(), CURVE_POINTS);
        assert_eq!(a.before.conventions.len(), 5);
        assert!(a.after.intervals.is_some());
        // Half the labels each class: the class-frequency forecaster says 1/2, so its ECE is 0
        // and its NLL ln 2 (by hand).
        let f = a.properness.frequency_forecaster;
        assert!(f.ece.abs() < 1e-12 && (f.nll - 2f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn bad_requests_fail_with_the_core_error() {
        let bad = Analyse {
            source: ScoreSource::Csv("label,a,b\n0,1\n".into()),
            kind: None,
            binning: Binning::EqualMass { bins: 10 },
            resamples: 0,
            seed: 0,
        };
        let failure = run_to_end(bad.into_job().start().unwrap(), None).unwrap_err();
        assert!(format!("{failure:?}").contains("InvalidCsv"), "{failure:?}");
        // Options are checked before any work.
        let too_many = Analyse {
            resamples: MAX_RESAMPLES + 1,
            ..closed_form()
        };
        let failure = too_many.into_job().start().err().unwrap();
        assert!(format!("{failure:?}").contains("OutOfRange"), "{failure:?}");
    }

    fn closed_form() -> Analyse {
        Analyse {
            source: ScoreSource::Csv("label,a,b\n0,3,0\n0,3,0\n1,3,0\n1,0,3\n".into()),
            kind: None,
            binning: Binning::EqualMass { bins: 3 },
            resamples: 20,
            seed: 7,
        }
    }

    /// Every combination of the page's options (binning kind, bins, the values' kind, resamples) on
    /// small valid data gives an analysis or a typed error, never a panic.
    #[test]
    fn every_option_combination_gives_an_analysis_or_a_typed_error() {
        let sources = [
            ScoreSource::Csv("label,a,b\n0,3,0\n0,3,0\n1,3,0\n1,0,3\n".into()),
            ScoreSource::Csv(
                "label,a,b,c\n0,0.7,0.2,0.1\n1,0.3,0.6,0.1\n2,0.2,0.2,0.6\n0,0.5,0.25,0.25\n"
                    .into(),
            ),
            ScoreSource::Synthetic {
                rows: 30,
                classes: 3,
                scale: 2.0,
                seed: 3,
            },
        ];
        let (mut ok, mut failed) = (0, 0);
        for source in &sources {
            for kind in [
                None,
                Some(ScoreKind::Logits),
                Some(ScoreKind::Probabilities),
            ] {
                for bins in [1, 2, 15] {
                    let binnings = [
                        Binning::EqualWidth {
                            bins,
                            edges: EdgeConvention::UpperClosed,
                        },
                        Binning::EqualWidth {
                            bins,
                            edges: EdgeConvention::LowerClosed,
                        },
                        Binning::EqualMass { bins },
                        Binning::SklearnUniform { bins },
                        Binning::SklearnQuantile { bins },
                        Binning::EqualMassMidpoints { bins },
                    ];
                    for binning in binnings {
                        for resamples in [0, 3] {
                            let job = Analyse {
                                source: source.clone(),
                                kind,
                                binning,
                                resamples,
                                seed: 5,
                            };
                            match job.into_job().start().and_then(|t| run_to_end(t, None)) {
                                Ok((Output::CalibrateAnalyse(a), _, _)) => {
                                    assert!(a.fit.temperature > 0.0);
                                    ok += 1;
                                }
                                Ok((other, _, _)) => panic!("{other:?}"),
                                Err(f) => {
                                    assert!(
                                        matches!(
                                            f.code,
                                            crate::worker::protocol::ErrorCode::Core(_)
                                        ),
                                        "{f:?}"
                                    );
                                    failed += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        // Probabilities read as logits and logits as probabilities are refused or analysed; some
        // of each must happen (the test would pass vacuously otherwise).
        assert!(ok > 0 && failed > 0, "{ok} analyses, {failed} errors");
    }

    /// Stepped one unit at a time, the analysis takes its five steps and gives what it gives in
    /// one go.
    #[test]
    fn the_analysis_runs_in_five_steps_and_stepping_changes_nothing() {
        let (whole, _, one_slice) =
            run_to_end(closed_form().into_job().start().unwrap(), None).unwrap();
        let (stepped, _, slices) =
            run_to_end(closed_form().into_job().start().unwrap(), Some(1)).unwrap();
        assert_eq!((one_slice, slices), (1, ANALYSIS_STEPS as usize));
        // Each analysis keeps its scores under a new number.
        let (Output::CalibrateAnalyse(whole), Output::CalibrateAnalyse(mut stepped)) =
            (whole, stepped)
        else {
            panic!("wrong outputs")
        };
        assert_eq!(stepped.scores, whole.scores + 1);
        stepped.scores = whole.scores;
        // Empty bins hold NaN, which is unequal to itself: compared as printed.
        assert_eq!(format!("{whole:?}"), format!("{stepped:?}"));
    }

    /// Streamed one epoch per step, the experiment's epochs and result equal the core's run.
    #[test]
    fn the_overlap_job_streams_the_core_runs_epochs() {
        let config = OverlapConfig {
            samples: 300,
            dim: 3,
            separation: 1.0,
            hidden: vec![4],
            epochs: 5,
            batch: 64,
            learning_rate: 1e-2,
            ..OverlapConfig::reference()
        };
        let (reports, result) = run(config.clone()).unwrap();
        let (out, partials, slices) =
            run_to_end(Overlap(config).into_job().start().unwrap(), Some(1)).unwrap();
        assert_eq!(slices, 5);
        let streamed: Vec<EpochReport> = partials
            .into_iter()
            .map(|p| match p {
                Partial::CalibrateOverlap(e) => e,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(streamed, reports);
        assert_eq!(out, Output::CalibrateOverlap(result));
    }

    fn analysed(source: ScoreSource) -> Analysis {
        let job = Analyse {
            source,
            kind: None,
            binning: Binning::EqualWidth {
                bins: 4,
                edges: EdgeConvention::UpperClosed,
            },
            resamples: 0,
            seed: 1,
        };
        match run_to_end(job.into_job().start().unwrap(), None).unwrap().0 {
            Output::CalibrateAnalyse(a) => a,
            other => panic!("{other:?}"),
        }
    }

    /// The bin-edge cases by hand, 4 bins: a confidence of exactly 1 (logits 0 and −800: e^−800
    /// underflows to 0) is in Guo's last bin (0.75, 1], torchmetrics' extra bin 4 and netcal's
    /// bin 3 (clipped to 1 − ε); exactly 0.5 (equal logits) is in Guo's (0.25, 0.5] (bin 1), in
    /// torchmetrics' and netcal's [0.5, 0.75) (bin 2), and in scikit-learn's bin 1 (one inner edge,
    /// 0.25, strictly below it). Equal logits stay at 0.5 at any temperature.
    #[test]
    fn the_sample_lookup_names_each_conventions_bin_for_the_edge_cases() {
        let a = analysed(ScoreSource::Csv(
            "label,a,b\n0,0,-800\n1,0,0\n0,2,0\n1,0,3\n1,1,0\n".into(),
        ));
        assert_eq!(a.before.conventions[0].ece_by_bins.len(), BINS_CURVE);
        let locate = |row| match run_to_end(
            LocateSample {
                scores: a.scores,
                row,
                bins: 4,
            }
            .into_job()
            .start()
            .unwrap(),
            None,
        )
        .unwrap()
        .0
        {
            Output::CalibrateSample(s) => s,
            other => panic!("{other:?}"),
        };
        let bins = |at: &SampleAt| -> Vec<(Convention, Option<u32>)> {
            at.bins.iter().map(|b| (b.convention, b.bin)).collect()
        };
        use Convention::*;
        let one = locate(0);
        assert_eq!(
            (one.label, one.predicted, one.before.confidence),
            (0, 0, 1.0)
        );
        assert_eq!(
            bins(&one.before),
            vec![
                (Guo, Some(3)),
                (Torchmetrics, Some(4)),
                (Netcal, Some(3)),
                (SklearnUniform, Some(3)),
                (SklearnQuantile, Some(3)),
            ]
        );
        assert_eq!(one.before.bins[0].edges, Some((0.75, 1.0)));
        assert_eq!(one.before.bins[1].edges, Some((1.0, 1.0)));
        let half = locate(1);
        assert_eq!(
            (half.label, half.predicted, half.before.confidence),
            (1, 0, 0.5)
        );
        for at in [&half.before, &half.after] {
            assert_eq!(at.confidence, 0.5);
            assert_eq!(
                &bins(at)[..4],
                &[
                    (Guo, Some(1)),
                    (Torchmetrics, Some(2)),
                    (Netcal, Some(2)),
                    (SklearnUniform, Some(1))
                ]
            );
            assert_eq!(at.bins[0].edges, Some((0.25, 0.5)));
            assert_eq!(at.bins[1].edges, Some((0.5, 0.75)));
        }
        assert_eq!(half.after.temperature, a.fit.temperature);
        // A row past the end, and scores the worker no longer keeps.
        let past = LocateSample {
            scores: a.scores,
            row: 5,
            bins: 4,
        };
        let f = run_to_end(past.into_job().start().unwrap(), None).unwrap_err();
        assert_eq!(f.code.as_str(), "IndexOutOfRange");
        let gone = LocateSample {
            scores: a.scores + 1,
            row: 0,
            bins: 4,
        };
        let f = run_to_end(gone.into_job().start().unwrap(), None).unwrap_err();
        assert_eq!(f.code.as_str(), "ScoresGone");
    }

    /// Every combination of the lookup's options, in and out of range (row × bins × kept number),
    /// gives the bins or a typed error: `IndexOutOfRange` for a row past the end, `OutOfRange`
    /// for the bins, `ScoresGone` for scores not kept; never a panic.
    #[test]
    fn every_lookup_option_combination_gives_bins_or_a_typed_error() {
        let a = analysed(ScoreSource::Csv(
            "label,a,b\n0,0,-800\n1,0,0\n0,2,0\n1,0,3\n1,1,0\n".into(),
        ));
        for scores in [a.scores, a.scores + 1] {
            for row in [0, 1, 4, 5, usize::MAX] {
                for bins in [0, 1, 2, 15, 1000, 100_000, 100_001] {
                    let job = LocateSample { scores, row, bins };
                    match job.into_job().start().and_then(|t| run_to_end(t, None)) {
                        Ok((Output::CalibrateSample(s), _, _)) => {
                            assert!(scores == a.scores && row < 5 && (1..=100_000).contains(&bins));
                            assert_eq!(s.before.bins.len(), 5);
                            assert!(s.before.bins.iter().all(|b| b.bin.is_some()));
                        }
                        Ok((other, _, _)) => panic!("{other:?}"),
                        Err(f) => {
                            let want = if !(1..=100_000).contains(&bins) {
                                "OutOfRange"
                            } else if scores != a.scores {
                                "ScoresGone"
                            } else {
                                "IndexOutOfRange"
                            };
                            assert_eq!(f.code.as_str(), want, "row {row}, bins {bins}: {f:?}");
                        }
                    }
                }
            }
        }
    }

    /// The comparison job: a seeded split of the kept scores, one method per unit, the core's
    /// comparison of that split; matrix scaling refused past its class limit by code.
    #[test]
    fn the_method_comparison_runs_the_cores_methods_on_the_seeded_split() {
        use scalelab_core::calibrate::methods::{compare_methods, MethodOutcome};
        let a = analysed(ScoreSource::Synthetic {
            rows: 400,
            classes: 3,
            scale: 4.0,
            seed: 2,
        });
        let job = CompareMethods {
            scores: a.scores,
            fraction: 0.4,
            seed: 9,
            binning: Binning::EqualMass { bins: 10 },
            penalty: 0.01,
        };
        let (out, _, slices) =
            run_to_end(job.clone().into_job().start().unwrap(), Some(1)).unwrap();
        assert_eq!(slices as u64, COMPARE_STEPS);
        let Output::CalibrateMethods(c) = out else {
            panic!("{out:?}")
        };
        assert_eq!((c.calibration_rows, c.test_rows), (160, 240));
        let (z, y) = synthetic_logits(400, 3, 4.0, 2, MAX_SYNTHETIC_VALUES).unwrap();
        let s = Scores::new(&z, 3, &y).unwrap();
        let (cal, test) = split(400, 0.4, 9).unwrap();
        let want = compare_methods(&s, &cal, &test, &job.binning, 0.01).unwrap();
        assert_eq!(format!("{c:?}"), format!("{want:?}"));
        assert!(c
            .outcomes
            .iter()
            .all(|o| matches!(o, MethodOutcome::Scored(_))));
        // Bad options fail before any work; a split that leaves no test row fails with its error.
        let bad = CompareMethods {
            penalty: -1.0,
            ..job.clone()
        };
        assert_eq!(
            bad.into_job().start().err().unwrap().code.as_str(),
            "OutOfRange"
        );
        let all = CompareMethods {
            fraction: 1.0,
            ..job
        };
        let f = run_to_end(all.into_job().start().unwrap(), None).unwrap_err();
        assert_eq!(f.code.as_str(), "OutOfRange");
    }

    /// The sweep: every separation with ERM then Mixup, one epoch per unit, each finished run
    /// streamed with the core's result of the same configuration; bad sweeps refused up front.
    #[test]
    fn the_overlap_sweep_streams_every_run_as_the_core_runs_it() {
        let base = OverlapConfig {
            samples: 200,
            dim: 3,
            hidden: vec![],
            epochs: 2,
            batch: 50,
            learning_rate: 1e-2,
            ..OverlapConfig::reference()
        };
        let mixup = Training::Mixup {
            points: 3,
            alpha: 1.0,
        };
        let job = OverlapSweep {
            base: base.clone(),
            separations: vec![0.5, 4.0],
            mixup,
        };
        let (out, partials, slices) =
            run_to_end(job.clone().into_job().start().unwrap(), Some(1)).unwrap();
        assert_eq!((out, slices), (Output::CalibrateOverlapSweep(4), 8));
        let points: Vec<SweepPoint> = partials
            .into_iter()
            .map(|p| match p {
                Partial::CalibrateOverlapSweep(p) => p,
                other => panic!("{other:?}"),
            })
            .collect();
        let order: Vec<(f64, Option<usize>)> = points
            .iter()
            .map(|p| (p.separation, p.mixup_points))
            .collect();
        assert_eq!(
            order,
            vec![(0.5, None), (0.5, Some(3)), (4.0, None), (4.0, Some(3))]
        );
        for p in &points {
            let training = if p.mixup_points.is_some() {
                mixup
            } else {
                Training::Erm
            };
            let (_, want) = run(OverlapConfig {
                separation: p.separation,
                training,
                ..base.clone()
            })
            .unwrap();
            assert_eq!(p.before, want.before);
            assert_eq!(p.after, want.after);
            assert_eq!(
                p.temperature,
                want.temperature.as_ref().ok().map(|t| t.temperature)
            );
        }
        let none = OverlapSweep {
            separations: vec![],
            ..job.clone()
        };
        assert_eq!(
            none.into_job().start().err().unwrap().code.as_str(),
            "OutOfRange"
        );
        let bad = OverlapSweep {
            separations: vec![1.0, -2.0],
            ..job.clone()
        };
        let f = bad.into_job().start().err().unwrap();
        assert!(f.message.contains("separation"), "{f:?}");
        let erm = OverlapSweep {
            mixup: Training::Erm,
            ..job
        };
        assert_eq!(
            erm.into_job().start().err().unwrap().code.as_str(),
            "InvalidValue"
        );
    }

    /// The units the analysis takes to read `source`, and what it read.
    fn read_in_units(source: ScoreSource) -> (usize, ScoreData) {
        let mut task = AnalyseTask {
            req: Analyse {
                source,
                kind: None,
                binning: Binning::EqualMass { bins: 10 },
                resamples: 0,
                seed: 1,
            },
            reading: None,
            read: None,
            fit: None,
            before: None,
            after: None,
            steps: 0,
        };
        let mut units = 0;
        while task.read.is_none() {
            task.step().unwrap();
            units += 1;
        }
        (units, task.read.unwrap())
    }

    /// A version 1.0 `.npy` file of little-endian `descr` values.
    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut dict =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + dict.len() + 1) % 64 != 0 {
            dict.push(' ');
        }
        dict.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.extend_from_slice(data);
        out
    }

    /// CSV and JSON of several MiB are read a MiB per unit and two `.npy` files
    /// `NUMPY_VALUES_PER_UNIT` values per unit (progress, Pause and Cancel between them), each
    /// reading what it reads at once.
    #[test]
    fn large_files_are_read_a_slice_at_a_time() {
        let (z, y) = synthetic_logits(40_000, 10, 4.0, 3, MAX_SYNTHETIC_VALUES).unwrap();
        let mut text = String::from("label,c0,c1,c2,c3,c4,c5,c6,c7,c8,c9\n");
        for (row, label) in z.chunks_exact(10).zip(&y) {
            text.push_str(&label.to_string());
            for v in row {
                text.push_str(&format!(",{v}"));
            }
            text.push('\n');
        }
        let mib = text.len() as f64 / f64::from(1 << 20);
        assert!(mib > 3.0, "{mib} MiB");
        let source = ScoreSource::Csv(text.into());
        let ScoreSource::Csv(csv) = &source else {
            unreachable!("made above")
        };
        let at_once = scores_from_csv(csv, None).unwrap();
        let (units, read) = read_in_units(source);
        // ⌈size / 1 MiB⌉ units: each reads on to the first line end past its MiB.
        assert_eq!(units, mib.ceil() as usize, "{mib} MiB");
        let want = (at_once.values, at_once.labels, 10);
        assert_eq!(
            (read.rows.logits, read.rows.labels, read.rows.classes),
            want
        );
        // JSON: the rows' text a MiB per unit (the labels after them are read with the last).
        let rows: Vec<String> = z
            .chunks_exact(10)
            .map(|r| {
                format!(
                    "[{}]",
                    r.iter().map(f64::to_string).collect::<Vec<_>>().join(",")
                )
            })
            .collect();
        let json = format!(r#"{{"logits": [{}], "labels": {:?}}}"#, rows.join(","), y);
        let rows_mib = json.find("], \"labels\"").unwrap() as f64 / f64::from(1 << 20);
        let (units, read) = read_in_units(ScoreSource::Json(json.into()));
        assert_eq!(units, rows_mib.ceil() as usize, "{rows_mib} MiB of rows");
        assert_eq!(
            (read.rows.logits, read.rows.labels, read.rows.classes),
            want
        );
        // Two .npy files (labels first): 440 000 values, 2¹⁸ per unit.
        let scores = npy(
            "<f8",
            "(40000, 10)",
            &z.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>(),
        );
        let labels = npy(
            "<i8",
            "(40000,)",
            &y.iter()
                .flat_map(|&l| (l as i64).to_le_bytes())
                .collect::<Vec<_>>(),
        );
        let (units, read) = read_in_units(ScoreSource::NpyPair(labels, scores));
        assert_eq!(units as u64, 440_000u64.div_ceil(NUMPY_VALUES_PER_UNIT));
        assert_eq!(
            (read.rows.logits, read.rows.labels, read.rows.classes),
            want
        );
    }

    /// The class-wise intervals come with the others when rows × classes × resamples is within
    /// the limit, and are left out (the page says why) past it.
    #[test]
    fn classwise_intervals_are_left_out_past_their_work_limit() {
        let job = |rows, classes, resamples| Analyse {
            source: ScoreSource::Synthetic {
                rows,
                classes,
                scale: 3.0,
                seed: 4,
            },
            kind: None,
            binning: Binning::EqualMass { bins: 10 },
            resamples,
            seed: 1,
        };
        let run = |j: Analyse| match run_to_end(j.into_job().start().unwrap(), None).unwrap().0 {
            Output::CalibrateAnalyse(a) => a,
            other => panic!("{other:?}"),
        };
        let small = run(job(100, 5, 200));
        assert!(small.before.intervals.is_some() && small.before.classwise_intervals.is_some());
        // 210 × 200 × 5000 = 2.1·10⁸ > 2·10⁸.
        let large = run(job(210, 200, 5000));
        assert!(large.after.intervals.is_some() && large.after.classwise_intervals.is_none());
    }
}
