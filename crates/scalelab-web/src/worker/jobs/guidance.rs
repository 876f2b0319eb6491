//! The Guidance lab in the worker.
//!
//! [`Sample`]: one or two runs (CFG and APG on the same seeds) sampled side by side, one sampler
//! step of each per unit, every step streamed with the first particles' states and guidance split
//! (so the page draws particles move), then each run's metrics against exact samples. The exact
//! denoisers run on the worker's GPU device (the `gmm_denoiser` kernel, `f32`, two dispatches per
//! evaluation) when asked and able, else on the CPU in `f64`; guidance and the sampler update run
//! in `f64` on the host either way. A lost device hands the run to the CPU at its current state.
//!
//! [`Points`]: runs sampled to the end on the CPU, one per unit, each streamed with its metrics —
//! the points of the metrics-against-scale charts and of the stability map.

use std::rc::Rc;

use scalelab_core::guidance::{
    sweep, GuidanceRun, Mixture, Model, Outcome, SampleMetrics, Sampling, SplitNorms,
};
use scalelab_gpu::{GpuContext, GpuError};
use serde::{Deserialize, Serialize};

use crate::worker::device::{device, mark_lost, Backend};
use crate::worker::protocol::{JobFailure, Output, Partial, Progress, Stage};
use crate::worker::task::{LocalBoxFuture, Slice, SliceBudget, StartTask, SyncTask, Task};

/// Most runs sampled side by side.
pub const MAX_RUNS: usize = 2;
/// Most particles per run whose states are streamed each step.
pub const MAX_PREVIEW: usize = 20_000;
/// Most runs of one [`Points`] job.
pub const MAX_POINTS: usize = 1024;

/// Input: the runs, where to denoise, how many particles to stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// One or two runs.
    pub runs: Vec<GuidanceRun>,
    /// Where the denoisers run.
    pub backend: Backend,
    /// The first `preview` particles' states are streamed each step (≤ [`MAX_PREVIEW`]).
    pub preview: usize,
}

/// What one run did, streamed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SampleEvent {
    /// Where the run's denoisers run: at its start and whenever it moves.
    Backend {
        /// Which run.
        run: u8,
        /// The backend.
        backend: Backend,
        /// The GPU's adapter and API, on the GPU.
        adapter: Option<String>,
        /// Why a run asked for the GPU is on the CPU.
        notice: Option<String>,
    },
    /// A sampler step finished.
    Step {
        /// Which run.
        run: u8,
        /// Steps done (1-based count).
        step: usize,
        /// The noise level the step started at.
        sigma: f64,
        /// The step's evaluations' mean split norms (APG).
        splits: Vec<SplitNorms>,
        /// The first particles' states after the step (`preview × dim`).
        states: Vec<f32>,
        /// Their `Δ∥` and `Δ⊥` at the step's last evaluation (APG; empty for CFG).
        parallel: Vec<f32>,
        /// See `parallel`.
        orthogonal: Vec<f32>,
    },
    /// The run ended: how, its metrics (finished runs) and its milliseconds.
    Ended {
        /// Which run.
        run: u8,
        /// Finished or unstable.
        outcome: Outcome,
        /// Against exact samples of the class.
        metrics: Option<SampleMetrics>,
        /// Milliseconds of sampling.
        millis: f64,
    },
}

/// The job's result: per run, how it ended and its milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampled {
    /// Per run.
    pub runs: Vec<(Outcome, f64)>,
}

/// The GPU half of a run: the context and the mixtures as the kernel takes them.
struct GpuDenoiser {
    ctx: Rc<GpuContext>,
    dim: usize,
    /// (means, stds, weights) of the class, then of all components, in `f32`.
    models: [(Vec<f32>, Vec<f32>, Vec<f32>); 2],
}

impl GpuDenoiser {
    fn new(ctx: Rc<GpuContext>, mixture: &Mixture, class: usize) -> Result<Self, String> {
        if !mixture.is_isotropic() {
            return Err("The GPU kernel takes isotropic components; this mixture's are diagonal, so the CPU samples it.".into());
        }
        let d = mixture.dim();
        let model = |m: Model| -> Result<_, String> {
            let members = mixture.members(m).map_err(|e| e.to_string())?;
            let mut means = Vec::with_capacity(members.len() * d);
            let (mut stds, mut weights) = (Vec::new(), Vec::new());
            for &k in &members {
                means.extend(
                    mixture.means()[k * d..(k + 1) * d]
                        .iter()
                        .map(|&v| v as f32),
                );
                stds.push(mixture.variances()[k * d].sqrt() as f32);
                weights.push(mixture.weights()[k] as f32);
            }
            Ok((means, stds, weights))
        };
        Ok(Self {
            ctx,
            dim: d,
            models: [model(Model::Class(class))?, model(Model::Unconditional)?],
        })
    }

    async fn pair(&self, x: &[f64], sigma: f64) -> Result<(Vec<f64>, Vec<f64>), GpuError> {
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let mut out = Vec::with_capacity(2);
        for (means, stds, weights) in &self.models {
            let d = scalelab_gpu::gmm_denoiser(
                &self.ctx,
                &x32,
                self.dim,
                sigma as f32,
                means,
                stds,
                weights,
            )
            .await?;
            out.push(d.into_iter().map(f64::from).collect::<Vec<f64>>());
        }
        let uncond = out.pop().unwrap_or_default();
        let cond = out.pop().unwrap_or_default();
        Ok((cond, uncond))
    }
}

struct RunState {
    run: GuidanceRun,
    mixture: Mixture,
    sampling: Sampling,
    gpu: Option<GpuDenoiser>,
    millis: f64,
    ended: bool,
}

struct SampleTask {
    runs: Vec<RunState>,
    backend: Backend,
    preview: usize,
    placed: bool,
}

fn out_of_range(what: &'static str, value: usize, min: usize, max: usize) -> JobFailure {
    scalelab_core::CoreError::OutOfRange {
        what,
        value: value as f64,
        min: min as f64,
        max: max as f64,
    }
    .into()
}

impl StartTask for Sample {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        if self.runs.is_empty() || self.runs.len() > MAX_RUNS {
            return Err(out_of_range("number of runs", self.runs.len(), 1, MAX_RUNS));
        }
        if self.preview > MAX_PREVIEW {
            return Err(out_of_range(
                "preview particles",
                self.preview,
                0,
                MAX_PREVIEW,
            ));
        }
        let runs = self
            .runs
            .into_iter()
            .map(|run| {
                let (mixture, sampling) = run.start().map_err(|e| JobFailure::from(e.error))?;
                Ok(RunState {
                    run,
                    mixture,
                    sampling,
                    gpu: None,
                    millis: 0.0,
                    ended: false,
                })
            })
            .collect::<Result<Vec<_>, JobFailure>>()?;
        Ok(Box::new(SampleTask {
            runs,
            backend: self.backend,
            preview: self.preview,
            placed: false,
        }))
    }
}

fn backend_event(
    run: usize,
    backend: Backend,
    adapter: Option<String>,
    notice: Option<String>,
) -> Partial {
    Partial::GuidanceSample(SampleEvent::Backend {
        run: run as u8,
        backend,
        adapter,
        notice,
    })
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

impl SampleTask {
    fn done(&self) -> bool {
        self.runs.iter().all(|r| r.ended)
    }

    async fn place(&mut self, events: &mut Vec<Partial>) {
        self.placed = true;
        let ctx = match self.backend {
            Backend::Cpu => None,
            Backend::Gpu => Some(device(false).await),
        };
        for (i, r) in self.runs.iter_mut().enumerate() {
            let notice = match &ctx {
                None => None,
                Some(Err(no)) => Some(no.fallback_notice()),
                Some(Ok(ctx)) => match GpuDenoiser::new(Rc::clone(ctx), &r.mixture, r.run.class) {
                    Ok(gpu) => {
                        let adapter = format!("{} · {}", ctx.adapter_name(), ctx.backend_name());
                        r.gpu = Some(gpu);
                        events.push(backend_event(i, Backend::Gpu, Some(adapter), None));
                        continue;
                    }
                    Err(why) => Some(why),
                },
            };
            events.push(backend_event(i, Backend::Cpu, None, notice));
        }
    }

    /// One sampler step of every run still going.
    async fn unit(
        &mut self,
        now: fn() -> f64,
        events: &mut Vec<Partial>,
    ) -> Result<(), JobFailure> {
        let preview = self.preview;
        for (i, r) in self.runs.iter_mut().enumerate() {
            if r.ended {
                continue;
            }
            let t0 = now();
            let evaluations = r.sampling.trace().len();
            let step_sigma = r.sampling.sigmas()[r.sampling.step()];
            while let Some((x, sigma)) = r.sampling.pending() {
                let pair = match &r.gpu {
                    Some(gpu) => match gpu.pair(x, sigma).await {
                        Ok(p) => Ok(p),
                        Err(err) => {
                            let notice = match &err {
                                GpuError::DeviceLost { reason } => {
                                    mark_lost(reason).fallback_notice()
                                }
                                other => format!(
                                    "The GPU failed ({other}). The CPU samples this run instead."
                                ),
                            };
                            r.gpu = None;
                            events.push(backend_event(i, Backend::Cpu, None, Some(notice)));
                            let (x, sigma) = r.sampling.pending().expect("still pending");
                            scalelab_core::guidance::denoise_pair(&r.mixture, r.run.class, x, sigma)
                        }
                    },
                    None => {
                        scalelab_core::guidance::denoise_pair(&r.mixture, r.run.class, x, sigma)
                    }
                }?;
                if r.sampling.feed(&pair.0, &pair.1)? {
                    break;
                }
            }
            r.millis += now() - t0;
            let dim = r.sampling.dim();
            let shown = preview.min(r.run.particles) * dim;
            let state = r.sampling.guidance_state();
            let split_of = |v: &[f64]| {
                if v.len() >= shown {
                    to_f32(&v[..shown])
                } else {
                    Vec::new()
                }
            };
            events.push(Partial::GuidanceSample(SampleEvent::Step {
                run: i as u8,
                step: r.sampling.step(),
                sigma: step_sigma,
                splits: r.sampling.trace()[evaluations..]
                    .iter()
                    .filter_map(|t| t.split)
                    .collect(),
                states: to_f32(&r.sampling.x()[..shown]),
                parallel: split_of(&state.parallel),
                orthogonal: split_of(&state.orthogonal),
            }));
            let outcome = r.sampling.outcome();
            if outcome != Outcome::Running {
                r.ended = true;
                let metrics = match outcome {
                    Outcome::Finished => Some(metrics_of(r)?),
                    _ => None,
                };
                events.push(Partial::GuidanceSample(SampleEvent::Ended {
                    run: i as u8,
                    outcome,
                    metrics,
                    millis: r.millis,
                }));
            }
        }
        Ok(())
    }

    async fn slice(&mut self, budget: SliceBudget) -> Result<Slice, JobFailure> {
        let mut events = Vec::new();
        if !self.placed {
            self.place(&mut events).await;
        }
        let mut units = 0;
        while !self.done() {
            self.unit(budget.now, &mut events).await?;
            units += 1;
            if budget.units.is_some_and(|u| units >= u) || (budget.now)() >= budget.deadline_ms {
                break;
            }
        }
        let steps = self
            .runs
            .iter()
            .map(|r| r.run.sampler.steps)
            .max()
            .unwrap_or(0) as u64;
        let step = self
            .runs
            .iter()
            .map(|r| r.sampling.step())
            .max()
            .unwrap_or(0) as u64;
        if !self.done() {
            return Ok(Slice::More {
                progress: Progress::new(Stage::Steps, step, steps),
                partials: events,
                units,
            });
        }
        Ok(Slice::Done {
            partials: events,
            output: Output::GuidanceSample(Sampled {
                runs: self
                    .runs
                    .iter()
                    .map(|r| (r.sampling.outcome(), r.millis))
                    .collect(),
            }),
        })
    }
}

/// A finished run's metrics against exact samples (the same reference and directions as
/// [`sweep::evaluate`]).
fn metrics_of(r: &RunState) -> Result<SampleMetrics, JobFailure> {
    let reference = r.run.reference(&r.mixture)?;
    let dirs = sweep::directions(
        r.mixture.dim(),
        sweep::DIRECTIONS,
        r.run.seed.wrapping_add(1),
    );
    let (lo, hi) = r.run.toy.data_range();
    Ok(SampleMetrics::compute(
        r.sampling.x(),
        &scalelab_core::guidance::MetricsInput {
            mixture: &r.mixture,
            class: r.run.class,
            lo,
            hi,
            reference: &reference,
            directions: &dirs,
            k: sweep::KNN_K,
        },
    )?)
}

impl Task for SampleTask {
    fn slice(&mut self, budget: SliceBudget) -> LocalBoxFuture<'_, Result<Slice, JobFailure>> {
        Box::pin(SampleTask::slice(self, budget))
    }
}

/// Input: runs to sample to the end on the CPU, one per unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Points {
    /// The runs (≤ [`MAX_POINTS`]).
    pub runs: Vec<GuidanceRun>,
}

/// One run's point, or why it has none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointEvent {
    /// Its index in [`Points::runs`].
    pub index: usize,
    /// The point, or the run's typed error.
    pub point: Result<sweep::Point, JobFailure>,
}

struct PointsTask {
    runs: Vec<GuidanceRun>,
    next: usize,
}

impl StartTask for Points {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        if self.runs.is_empty() || self.runs.len() > MAX_POINTS {
            return Err(out_of_range(
                "number of points",
                self.runs.len(),
                1,
                MAX_POINTS,
            ));
        }
        Ok(Box::new(PointsTask {
            runs: self.runs,
            next: 0,
        }))
    }
}

impl SyncTask for PointsTask {
    fn slice(&mut self, budget: SliceBudget) -> Result<Slice, JobFailure> {
        let mut events = Vec::new();
        let (_, units) = budget.steps(|| {
            let index = self.next;
            let point = sweep::evaluate(&self.runs[index]).map_err(|e| JobFailure::from(e.error));
            events.push(Partial::GuidancePoints(PointEvent { index, point }));
            self.next += 1;
            Ok::<_, JobFailure>((self.next == self.runs.len()).then_some(()))
        });
        let total = self.runs.len() as u64;
        if self.next < self.runs.len() {
            return Ok(Slice::More {
                progress: Progress::new(Stage::Points, self.next as u64, total),
                partials: events,
                units,
            });
        }
        Ok(Slice::Done {
            partials: events,
            output: Output::GuidancePoints(total),
        })
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::worker::task::run_to_end;
    use scalelab_core::guidance::{
        Apg, ApgForm, Guidance, Prediction, SamplerConfig, SamplerKind, Schedule, Toy,
    };

    fn run(guidance: Guidance, toy: Toy) -> GuidanceRun {
        GuidanceRun {
            toy,
            class: 1,
            particles: 64,
            seed: 5,
            sampler: SamplerConfig {
                schedule: Schedule::EDM_DEFAULT,
                steps: 10,
                sampler: SamplerKind::Heun,
                prediction: Prediction::X0,
                guidance,
            },
        }
    }

    const APG: Guidance = Guidance::Apg(Apg {
        w: 7.5,
        eta: 0.0,
        r: 5.0,
        beta: -0.5,
        form: ApgForm::Paper,
        reset_on_sigma_increase: false,
    });

    #[test]
    fn sampling_streams_every_step_and_ends_as_the_core_sampler() {
        let runs = vec![
            run(Guidance::Cfg { w: 7.5 }, Toy::Clusters),
            run(APG, Toy::Clusters),
        ];
        let task = Sample {
            runs: runs.clone(),
            backend: Backend::Cpu,
            preview: 16,
        }
        .start()
        .unwrap();
        let (output, partials, slices) = run_to_end(task, Some(1)).unwrap();
        assert!(slices >= 10, "one step per unit: {slices} slices");
        let Output::GuidanceSample(sampled) = output else {
            panic!("wrong output")
        };
        assert!(sampled.runs.iter().all(|(o, _)| *o == Outcome::Finished));
        for (i, r) in runs.iter().enumerate() {
            let steps: Vec<_> = partials
                .iter()
                .filter_map(|p| match p {
                    Partial::GuidanceSample(SampleEvent::Step {
                        run,
                        states,
                        parallel,
                        ..
                    }) if *run as usize == i => Some((states.clone(), parallel.len())),
                    _ => None,
                })
                .collect();
            assert_eq!(steps.len(), 10);
            assert_eq!(steps[0].0.len(), 16 * 2);
            assert_eq!(steps[0].1, if i == 0 { 0 } else { 32 });
            // The last streamed states are the core sampler's samples, rounded to f32.
            let (m, mut s) = r.start().unwrap();
            s.run(&m, r.class).unwrap();
            let expected: Vec<f32> = s.x()[..32].iter().map(|&v| v as f32).collect();
            assert_eq!(steps[9].0, expected);
            let ended = partials.iter().find_map(|p| match p {
                Partial::GuidanceSample(SampleEvent::Ended { run, metrics, .. })
                    if *run as usize == i =>
                {
                    *metrics
                }
                _ => None,
            });
            assert_eq!(ended, sweep::evaluate(r).unwrap().metrics);
        }
        let cpu_notices = partials
            .iter()
            .filter(|p| {
                matches!(
                    p,
                    Partial::GuidanceSample(SampleEvent::Backend {
                        backend: Backend::Cpu,
                        notice: None,
                        ..
                    })
                )
            })
            .count();
        assert_eq!(cpu_notices, 2);
    }

    #[test]
    fn points_stream_one_run_each_with_typed_errors() {
        let mut bad = run(APG, Toy::Clusters);
        bad.class = 7;
        let runs = vec![
            run(Guidance::Cfg { w: 3.0 }, Toy::Clusters),
            bad,
            run(APG, Toy::Pixels { side: 2 }),
        ];
        let (output, partials, _) = run_to_end(Points { runs }.start().unwrap(), Some(1)).unwrap();
        assert_eq!(output, Output::GuidancePoints(3));
        let events: Vec<&PointEvent> = partials
            .iter()
            .filter_map(|p| match p {
                Partial::GuidancePoints(e) => Some(e),
                _ => None,
            })
            .collect();
        assert_eq!(
            events.iter().map(|e| e.index).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert!(events[0].point.as_ref().unwrap().metrics.is_some());
        assert_eq!(
            events[1].point.as_ref().unwrap_err().code.as_str(),
            "InvalidValue"
        );
        assert_eq!(events[2].point.as_ref().unwrap().scale, 7.5);
    }

    #[test]
    fn bad_requests_are_refused() {
        let too_many = Sample {
            runs: vec![run(APG, Toy::Clusters); 3],
            backend: Backend::Cpu,
            preview: 0,
        };
        assert!(too_many.start().is_err());
        let mut r = run(APG, Toy::Clusters);
        r.sampler.steps = 0;
        let err = Sample {
            runs: vec![r],
            backend: Backend::Cpu,
            preview: 0,
        }
        .start()
        .err()
        .unwrap();
        assert_eq!(err.code.as_str(), "OutOfRange");
        assert!(Points { runs: vec![] }.start().is_err());
    }
}
