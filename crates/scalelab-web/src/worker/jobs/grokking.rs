//! The StableMax lab's grokking trainer in the worker: one or two runs (side by side, on the same
//! split when they share the seed) trained one epoch of each per unit, every epoch streamed, so
//! the charts draw while it learns and Pause, Step and Cancel act between epochs. A run that
//! diverges (non-finite logits, logits beyond the softmax precision) stops with its typed error
//! while the other goes on.
//!
//! Runs train on the worker's GPU device ([`GpuTrainer`]) when asked and able, else on the CPU's
//! `f32` path; each run's backend is streamed ([`RunEvent::Backend`]) at its start and whenever it
//! moves: a lost device (or any GPU failure) hands the run to the CPU at its last finished epoch.

use std::rc::Rc;

use scalelab_core::grokking::{EpochMetrics, Fourier, TrainPrecision, Trainer, TrainerConfig};
use scalelab_gpu::{GpuContext, GpuError, GpuTrainError, GpuTrainer};
use serde::{Deserialize, Serialize};

use crate::worker::device::{device, mark_lost, Backend};
use crate::worker::protocol::{JobFailure, Output, Partial, Progress, Stage};
use crate::worker::task::{LocalBoxFuture, Slice, SliceBudget, StartTask, Task};

/// Most epochs one job trains.
pub const MAX_EPOCHS: u64 = 1_000_000;
/// Most runs trained side by side.
pub const MAX_RUNS: usize = 2;

/// Input: the runs and how many epochs to train them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Train {
    /// One or two configurations.
    pub runs: Vec<TrainerConfig>,
    /// Epochs to train each, `1 ..= MAX_EPOCHS`.
    pub epochs: u64,
    /// Where to train (the GPU falls back to the CPU when there is none).
    #[serde(default)]
    pub backend: Backend,
}

/// What one run did in one epoch, or why it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RunEvent {
    /// An epoch's metrics, with the first layer's Fourier view at the evaluated epochs and the
    /// run's milliseconds of training so far.
    Epoch {
        /// Which run (0 or 1).
        run: u8,
        /// The metrics.
        metrics: EpochMetrics,
        /// The Fourier view of the first layer after the epoch (at evaluated epochs).
        fourier: Option<Fourier>,
        /// Milliseconds this run has trained, all epochs so far.
        millis: f64,
    },
    /// Where the run trains: before its first epoch and whenever it moves to the CPU.
    Backend {
        /// Which run.
        run: u8,
        /// The backend.
        backend: Backend,
        /// The GPU's adapter and API (e.g. `google swiftshader · WebGPU`), on the GPU.
        adapter: Option<String>,
        /// Why a run asked for the GPU trains on the CPU (no device, a lost device, an f64 run, a
        /// run too large for the device's buffers).
        notice: Option<String>,
    },
    /// The run stopped (it diverged); the other run, if any, goes on.
    Stopped {
        /// Which run.
        run: u8,
        /// Why, typed.
        failure: JobFailure,
    },
}

/// The job's result: epochs each run trained and its milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trained {
    /// Per run: epochs trained and milliseconds of training.
    pub runs: Vec<(u64, f64)>,
}

/// A run on its backend.
#[allow(clippy::large_enum_variant)] // Two per job; moving a run copies it once.
enum Engine {
    Cpu(Trainer),
    Gpu(Box<GpuTrainer>, Rc<GpuContext>),
    /// Only while the run moves between backends.
    Moving,
}

impl Engine {
    fn trainer(&self) -> Option<&Trainer> {
        match self {
            Engine::Cpu(t) => Some(t),
            Engine::Gpu(g, _) => Some(g.trainer()),
            Engine::Moving => None,
        }
    }

    fn epoch(&self) -> u64 {
        self.trainer().map_or(0, Trainer::epoch)
    }
}

struct RunState {
    engine: Engine,
    millis: f64,
    stopped: bool,
}

struct TrainTask {
    runs: Vec<RunState>,
    epochs: u64,
    backend: Backend,
    /// Whether the runs have been placed on their backends (the first slice does it).
    placed: bool,
}

impl StartTask for Train {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        if self.runs.is_empty() || self.runs.len() > MAX_RUNS {
            return Err(scalelab_core::CoreError::OutOfRange {
                what: "number of runs",
                value: self.runs.len() as f64,
                min: 1.0,
                max: MAX_RUNS as f64,
            }
            .into());
        }
        if !(1..=MAX_EPOCHS).contains(&self.epochs) {
            return Err(scalelab_core::CoreError::OutOfRange {
                what: "epochs",
                value: self.epochs as f64,
                min: 1.0,
                max: MAX_EPOCHS as f64,
            }
            .into());
        }
        let runs = self
            .runs
            .into_iter()
            .map(|c| {
                Ok(RunState {
                    engine: Engine::Cpu(Trainer::new(c)?),
                    millis: 0.0,
                    stopped: false,
                })
            })
            .collect::<Result<Vec<_>, scalelab_core::CoreError>>()?;
        Ok(Box::new(TrainTask {
            runs,
            epochs: self.epochs,
            backend: self.backend,
            placed: false,
        }))
    }
}

/// The CPU's event for run `run`, with the reason it is not on the GPU.
fn on_cpu(run: usize, notice: Option<String>) -> Partial {
    Partial::Train(RunEvent::Backend {
        run: run as u8,
        backend: Backend::Cpu,
        adapter: None,
        notice,
    })
}

/// The notice for a GPU failure that moved a run to the CPU (a lost device is recorded as such
/// for every later GPU job).
fn moved_notice(err: &GpuError) -> String {
    match err {
        GpuError::DeviceLost { reason } => mark_lost(reason).fallback_notice(),
        other => format!("The GPU failed ({other}). The CPU trains this run instead."),
    }
}

impl TrainTask {
    fn done(&self) -> bool {
        self.runs
            .iter()
            .all(|r| r.stopped || r.engine.epoch() >= self.epochs)
    }

    /// Puts every run on its backend and says where.
    async fn place(&mut self, events: &mut Vec<Partial>) {
        self.placed = true;
        let ctx = match self.backend {
            Backend::Cpu => {
                for i in 0..self.runs.len() {
                    events.push(on_cpu(i, None));
                }
                return;
            }
            Backend::Gpu => device(false).await,
        };
        for (i, r) in self.runs.iter_mut().enumerate() {
            let Engine::Cpu(trainer) = std::mem::replace(&mut r.engine, Engine::Moving) else {
                unreachable!("runs start on the CPU");
            };
            let ctx = match &ctx {
                Ok(ctx) => Rc::clone(ctx),
                Err(no) => {
                    r.engine = Engine::Cpu(trainer);
                    events.push(on_cpu(i, Some(no.fallback_notice())));
                    continue;
                }
            };
            if trainer.config().precision == TrainPrecision::F64 {
                r.engine = Engine::Cpu(trainer);
                events.push(on_cpu(
                    i,
                    Some("The GPU trains in f32; this f64 run trains on the CPU.".to_owned()),
                ));
                continue;
            }
            let kept = trainer.clone();
            match GpuTrainer::resume(&ctx, trainer).await {
                Ok(gpu) => {
                    events.push(Partial::Train(RunEvent::Backend {
                        run: i as u8,
                        backend: Backend::Gpu,
                        adapter: Some(format!("{} · {}", ctx.adapter_name(), ctx.backend_name())),
                        notice: None,
                    }));
                    r.engine = Engine::Gpu(Box::new(gpu), ctx);
                }
                Err(err) => {
                    r.engine = Engine::Cpu(kept);
                    let notice = match err {
                        GpuTrainError::Gpu(e) => moved_notice(&e),
                        GpuTrainError::Run(e) => format!("{e}. The CPU trains this run instead."),
                    };
                    events.push(on_cpu(i, Some(notice)));
                }
            }
        }
    }

    /// One epoch of every run still going.
    async fn unit(&mut self, now: fn() -> f64, events: &mut Vec<Partial>) {
        for (i, r) in self.runs.iter_mut().enumerate() {
            if r.stopped || r.engine.epoch() >= self.epochs {
                continue;
            }
            let t0 = now();
            let mut result = match &mut r.engine {
                Engine::Cpu(t) => t.step().map_err(GpuTrainError::Run),
                Engine::Gpu(g, ctx) => g.step(ctx).await,
                Engine::Moving => unreachable!("a run is moved within one call"),
            };
            if let Err(GpuTrainError::Gpu(err)) = &result {
                // The GPU failed: the run goes on on the CPU from its last finished epoch.
                let Engine::Gpu(g, _) = std::mem::replace(&mut r.engine, Engine::Moving) else {
                    unreachable!("only GPU runs fail on the GPU");
                };
                let mut cpu = g.into_cpu();
                events.push(on_cpu(i, Some(moved_notice(err))));
                result = cpu.step().map_err(GpuTrainError::Run);
                r.engine = Engine::Cpu(cpu);
            }
            let event = match result {
                Ok(metrics) => {
                    let fourier = metrics
                        .test
                        .is_some()
                        .then(|| r.engine.trainer().map(Trainer::fourier))
                        .flatten();
                    r.millis += now() - t0;
                    RunEvent::Epoch {
                        run: i as u8,
                        metrics,
                        fourier,
                        millis: r.millis,
                    }
                }
                Err(e) => {
                    r.stopped = true;
                    let failure = match e {
                        GpuTrainError::Run(e) => e.into(),
                        GpuTrainError::Gpu(e) => e.into(),
                    };
                    RunEvent::Stopped {
                        run: i as u8,
                        failure,
                    }
                }
            };
            events.push(Partial::Train(event));
        }
    }

    async fn slice(&mut self, budget: SliceBudget) -> Result<Slice, JobFailure> {
        let mut events = Vec::new();
        if !self.placed {
            self.place(&mut events).await;
        }
        let mut units = 0;
        while !self.done() {
            self.unit(budget.now, &mut events).await;
            units += 1;
            if budget.units.is_some_and(|u| units >= u) || (budget.now)() >= budget.deadline_ms {
                break;
            }
        }
        let epoch = self
            .runs
            .iter()
            .map(|r| r.engine.epoch())
            .max()
            .unwrap_or(0);
        if !self.done() {
            return Ok(Slice::More {
                progress: Progress::new(Stage::Epochs, epoch, self.epochs),
                partials: events,
                units,
            });
        }
        Ok(Slice::Done {
            partials: events,
            output: Output::Train(Trained {
                runs: self
                    .runs
                    .iter()
                    .map(|r| (r.engine.epoch(), r.millis))
                    .collect(),
            }),
        })
    }
}

impl Task for TrainTask {
    fn slice(&mut self, budget: SliceBudget) -> LocalBoxFuture<'_, Result<Slice, JobFailure>> {
        Box::pin(TrainTask::slice(self, budget))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::worker::protocol::JobSpec;
    use crate::worker::task::run_to_end;

    /// Runs the job to the end with one unit per slice; returns every event.
    fn drain(job: Train) -> (Vec<RunEvent>, Trained) {
        let (out, partials, _) = run_to_end(job.into_job().start().unwrap(), Some(1)).unwrap();
        let events = partials
            .into_iter()
            .map(|p| match p {
                Partial::Train(e) => e,
                other => panic!("{other:?}"),
            })
            .collect();
        match out {
            Output::Train(t) => (events, t),
            other => panic!("{other:?}"),
        }
    }

    /// Two runs side by side stream one event each per epoch, the same as the core trainer's.
    #[test]
    fn two_runs_stream_the_core_trainers_epochs() {
        let small = TrainerConfig {
            p: 7,
            hidden: vec![8],
            eval_every: 2,
            ..TrainerConfig::default()
        };
        let other = TrainerConfig {
            loss: scalelab_core::grokking::LossKind::Stablemax,
            ..small.clone()
        };
        let (events, done) = drain(Train {
            runs: vec![small.clone(), other],
            epochs: 3,
            backend: Backend::Cpu,
        });
        assert_eq!(
            events[..2],
            [
                RunEvent::Backend {
                    run: 0,
                    backend: Backend::Cpu,
                    adapter: None,
                    notice: None
                },
                RunEvent::Backend {
                    run: 1,
                    backend: Backend::Cpu,
                    adapter: None,
                    notice: None
                }
            ]
        );
        let events = events[2..].to_vec();
        assert_eq!(events.len(), 6);
        assert_eq!(done.runs.len(), 2);
        let mut core = Trainer::new(small).unwrap();
        let ours: Vec<&EpochMetrics> = events
            .iter()
            .filter_map(|e| match e {
                RunEvent::Epoch {
                    run: 0, metrics, ..
                } => Some(metrics),
                _ => None,
            })
            .collect();
        for m in ours {
            assert_eq!(*m, core.step().unwrap());
        }
        let fourier_epochs: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                RunEvent::Epoch {
                    run: 1,
                    metrics,
                    fourier: Some(_),
                    ..
                } => Some(metrics.epoch),
                _ => None,
            })
            .collect();
        assert_eq!(fourier_epochs, vec![1, 3]);
    }

    /// A bad configuration fails the job with its typed error; a run that diverges stops alone.
    #[test]
    fn bad_runs_fail_typed_and_divergence_stops_one_run() {
        let bad = TrainerConfig {
            p: 1,
            ..TrainerConfig::default()
        };
        let err = Train {
            runs: vec![bad],
            epochs: 3,
            backend: Backend::Cpu,
        }
        .start()
        .err()
        .unwrap();
        assert_eq!(err.code.as_str(), "OutOfRange");
        let small = TrainerConfig {
            p: 7,
            hidden: vec![8],
            ..TrainerConfig::default()
        };
        let mut wild = small.clone();
        wild.optimizer.kind = scalelab_core::grokking::OptimizerKind::Sgd;
        wild.optimizer.lr = 1e30;
        let (events, done) = drain(Train {
            runs: vec![small, wild],
            epochs: 4,
            backend: Backend::Cpu,
        });
        assert!(events
            .iter()
            .any(|e| matches!(e, RunEvent::Stopped { run: 1, .. })));
        assert_eq!(done.runs[0].0, 4);
        assert!(done.runs[1].0 < 4);
    }

    /// Asked for the GPU, the runs train there when the machine has an adapter (lavapipe here)
    /// and follow the CPU path; without one they train on the CPU with the reason; an f64 run is
    /// always on the CPU, with its notice.
    #[test]
    fn gpu_runs_follow_the_cpu_or_say_why_they_are_on_the_cpu() {
        let small = TrainerConfig {
            p: 11,
            hidden: vec![16],
            ..TrainerConfig::default()
        };
        let f64_run = TrainerConfig {
            precision: TrainPrecision::F64,
            ..small.clone()
        };
        let (events, done) = drain(Train {
            runs: vec![small.clone(), f64_run],
            epochs: 5,
            backend: Backend::Gpu,
        });
        assert_eq!(done.runs.iter().map(|r| r.0).collect::<Vec<_>>(), [5, 5]);
        let backend = |run: u8| {
            events
                .iter()
                .find_map(|e| match e {
                    RunEvent::Backend {
                        run: r,
                        backend,
                        notice,
                        ..
                    } if *r == run => Some((*backend, notice.clone())),
                    _ => None,
                })
                .expect("a backend event per run")
        };
        let (b1, n1) = backend(1);
        assert_eq!(b1, Backend::Cpu);
        assert!(n1.unwrap().contains("f64"));
        let (b0, n0) = backend(0);
        if std::env::var("SCALELAB_REQUIRE_GPU").as_deref() == Ok("1") {
            assert_eq!(b0, Backend::Gpu, "{n0:?}");
        }
        match b0 {
            Backend::Gpu => assert_eq!(n0, None),
            Backend::Cpu => assert!(n0.unwrap().contains("No GPU")),
        }
        let mut cpu = Trainer::new(small).unwrap();
        for e in &events {
            if let RunEvent::Epoch {
                run: 0, metrics, ..
            } = e
            {
                let c = cpu.step().unwrap();
                assert_eq!(metrics.epoch, c.epoch);
                assert!((metrics.train_loss - c.train_loss).abs() <= 1e-4 * c.train_loss);
            }
        }
        assert_eq!(cpu.epoch(), 5);
        crate::worker::device::close_device();
    }
}
