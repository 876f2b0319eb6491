//! The Calibrate lab's worker jobs: reading a score file and analysing it (temperature fit with its
//! certificate, every metric before and after with bootstrap intervals, the NLL against T, the
//! convention matrix, CORP), and the class-overlap experiment streamed one epoch at a time. Files
//! are parsed here, never on the page.

use scalelab_core::calibrate::binning::Binning;
use scalelab_core::calibrate::bootstrap::{metric_intervals, MetricIntervals};
use scalelab_core::calibrate::conventions::{convention_matrix, Convention};
use scalelab_core::calibrate::corp::{corp, Corp};
use scalelab_core::calibrate::metrics::{metric_report, top_label_pass, MetricReport, Reliability};
use scalelab_core::calibrate::overlap::{EpochReport, OverlapConfig, OverlapResult, OverlapRun};
use scalelab_core::calibrate::properness::{properness, Properness};
use scalelab_core::calibrate::synthetic::synthetic_logits;
use scalelab_core::calibrate::temperature::{fit_temperature, nll_curve, TemperatureFit};
use scalelab_core::calibrate::Scores;
use scalelab_core::io::scores::{
    check_file_size, scores_from_csv, scores_from_json, scores_from_npz, ScoreKind, ScoreSet,
};
use scalelab_core::CoreError;
use serde::{Deserialize, Serialize};

use crate::worker::protocol::{JobFailure, Output, Partial, Progress, Stage};
use crate::worker::task::{Slice, SliceBudget, StartTask, SyncTask, Task};

/// Where the scores come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ScoreSource {
    /// CSV text (pasted or a file), sent as bytes.
    Csv(#[serde(with = "crate::worker::text_bytes")] std::sync::Arc<str>),
    /// JSON text.
    Json(#[serde(with = "crate::worker::text_bytes")] std::sync::Arc<str>),
    /// A `.npz` file's bytes.
    Npz(#[serde(with = "serde_bytes")] Vec<u8>),
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
}

/// Most resamples of the analysis' intervals.
pub const MAX_RESAMPLES: usize = 5000;
/// Points of the NLL(T) curve.
pub const CURVE_POINTS: usize = 81;
/// Largest synthetic set (rows × classes).
pub const MAX_SYNTHETIC_VALUES: usize = 1 << 26;

fn read(source: ScoreSource, kind: Option<ScoreKind>) -> Result<ScoreSet, CoreError> {
    match source {
        ScoreSource::Csv(text) => {
            check_file_size(text.len())?;
            scores_from_csv(&text, kind)
        }
        ScoreSource::Json(text) => {
            check_file_size(text.len())?;
            scores_from_json(&text)
        }
        ScoreSource::Npz(bytes) => {
            check_file_size(bytes.len())?;
            scores_from_npz(&bytes, kind)
        }
        ScoreSource::Synthetic {
            rows,
            classes,
            scale,
            seed,
        } => {
            let (values, labels) =
                synthetic_logits(rows, classes, scale, seed, MAX_SYNTHETIC_VALUES)?;
            ScoreSet::new(values, classes, labels, Some(ScoreKind::Logits))
        }
    }
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
    let pass = top_label_pass(s, t);
    let conventions = convention_matrix(&pass.conf, &pass.correct, Some(req.binning.bins()))?
        .into_iter()
        .map(|c| ConventionRow {
            convention: c.convention,
            bins: c.bins,
            ece: c.ece,
            mce: c.mce,
            rms: c.rms,
            reliability: c.reliability,
        })
        .collect();
    let corp = corp(&pass.conf, &pass.correct, 100, 0.9, 101, req.seed)?;
    Ok(AtTemperature {
        temperature: t,
        metrics,
        intervals,
        conventions,
        corp,
    })
}

/// The analysis' steps, each one unit of work (Pause, Step and Cancel act between them): read the
/// scores; fit T and trace NLL(T); everything at T = 1; everything at T*; the class-frequency
/// forecaster.
pub const ANALYSIS_STEPS: u64 = 5;

/// The analysis in progress: what each finished step left.
struct AnalyseTask {
    req: Analyse,
    set: Option<ScoreSet>,
    fit: Option<(TemperatureFit, Vec<[f64; 2]>)>,
    before: Option<AtTemperature>,
    after: Option<AtTemperature>,
    steps: u64,
}

impl AnalyseTask {
    /// Runs the next step; `Some` with the analysis after the last.
    fn step(&mut self) -> Result<Option<Analysis>, CoreError> {
        let req = &self.req;
        if self.set.is_none() {
            self.set = Some(read(req.source.clone(), req.kind)?);
            self.steps += 1;
            return Ok(None);
        }
        let set = self.set.as_ref().expect("read above");
        let logits = set.logits()?;
        let s = Scores::new(&logits, set.classes, &set.labels)?;
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
        let (rows, classes, kind) = (set.len(), set.classes, set.kind);
        let (fit, nll_curve) = self.fit.take().expect("fitted above");
        Ok(Some(Analysis {
            rows,
            classes,
            kind,
            fit,
            before: self.before.take().expect("scored above"),
            after: self.after.take().expect("scored above"),
            nll_curve,
            properness,
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
        Ok(Box::new(AnalyseTask {
            req: self,
            set: None,
            fit: None,
            before: None,
            after: None,
            steps: 0,
        }))
    }
}

impl SyncTask for AnalyseTask {
    fn slice(&mut self, budget: SliceBudget) -> Result<Slice, JobFailure> {
        let (result, units) = budget.run(|b| -> Result<Option<Analysis>, CoreError> {
            loop {
                if let Some(done) = self.step()? {
                    return Ok(Some(done));
                }
                if !b.unit_done() {
                    return Ok(None);
                }
            }
        });
        match result? {
            Some(analysis) => Ok(Slice::Done {
                partials: Vec::new(),
                output: Output::CalibrateAnalyse(analysis),
            }),
            None => Ok(Slice::More {
                progress: Progress::new(Stage::Evaluating, self.steps, ANALYSIS_STEPS),
                partials: Vec::new(),
                units,
            }),
        }
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
}
