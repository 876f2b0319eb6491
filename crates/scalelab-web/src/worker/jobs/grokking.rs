//! The StableMax lab's grokking trainer in the worker: one or two runs (side by side, on the same
//! split when they share the seed) trained one epoch of each per unit, every epoch streamed, so
//! the charts draw while it learns and Pause, Step and Cancel act between epochs. A run that
//! diverges (non-finite logits, logits beyond the softmax precision) stops with its typed error
//! while the other goes on.

use scalelab_core::grokking::{EpochMetrics, Fourier, Trainer, TrainerConfig};
use serde::{Deserialize, Serialize};

use crate::worker::protocol::{JobFailure, Output, Partial, Progress, Stage};
use crate::worker::task::{Slice, SliceBudget, StartTask, SyncTask, Task};

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

struct RunState {
    trainer: Trainer,
    millis: f64,
    stopped: bool,
}

struct TrainTask {
    runs: Vec<RunState>,
    epochs: u64,
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
                    trainer: Trainer::new(c)?,
                    millis: 0.0,
                    stopped: false,
                })
            })
            .collect::<Result<Vec<_>, scalelab_core::CoreError>>()?;
        Ok(Box::new(TrainTask {
            runs,
            epochs: self.epochs,
        }))
    }
}

impl TrainTask {
    fn done(&self) -> bool {
        self.runs
            .iter()
            .all(|r| r.stopped || r.trainer.epoch() >= self.epochs)
    }

    /// One epoch of every run still going.
    fn unit(&mut self, now: fn() -> f64, events: &mut Vec<Partial>) {
        for (i, r) in self.runs.iter_mut().enumerate() {
            if r.stopped || r.trainer.epoch() >= self.epochs {
                continue;
            }
            let t0 = now();
            let event = match r.trainer.step() {
                Ok(metrics) => {
                    let fourier = metrics.test.is_some().then(|| r.trainer.fourier());
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
                    RunEvent::Stopped {
                        run: i as u8,
                        failure: e.into(),
                    }
                }
            };
            events.push(Partial::Train(event));
        }
    }
}

impl SyncTask for TrainTask {
    fn slice(&mut self, budget: SliceBudget) -> Result<Slice, JobFailure> {
        let now = budget.now;
        let (events, units) = budget.run(|b| {
            let mut events = Vec::new();
            while !self.done() {
                self.unit(now, &mut events);
                if !b.unit_done() {
                    break;
                }
            }
            events
        });
        let epoch = self
            .runs
            .iter()
            .map(|r| r.trainer.epoch())
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
                    .map(|r| (r.trainer.epoch(), r.millis))
                    .collect(),
            }),
        })
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
        });
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
        });
        assert!(events
            .iter()
            .any(|e| matches!(e, RunEvent::Stopped { run: 1, .. })));
        assert_eq!(done.runs[0].0, 4);
        assert!(done.runs[1].0 < 4);
    }
}
