//! The StableMax lab's worker jobs: the explorer at one scale and precision, the collapse onsets,
//! and the gradient sweep over scales. Each job reads the logits from the text the user typed or
//! pasted, so a vocabulary of 250 000 logits is parsed and evaluated here, never on the page; the
//! page gets a summary and the top classes, not one row per class.

use scalelab_core::io::parse_numbers;
use scalelab_core::stablemax::{collapse_onset_scale, correct_class_gradient, evaluate, s, Loss};
use scalelab_core::{CoreError, Precision};
use serde::{Deserialize, Serialize};

use crate::worker::protocol::{JobFailure, Output, Progress, Stage};
use crate::worker::task::{Once, Slice, SliceBudget, StartTask, SyncTask, Task};
use crate::worker::thin::strided_indices;

/// Smallest scale of the explorer and the sweep.
pub const MIN_SCALE: f64 = 1.0;
/// Largest scale of the explorer and the sweep.
pub const MAX_SCALE: f64 = 1000.0;
/// Up to this many classes the explorer lists every class; above it, the top classes.
pub const ALL_ROWS_UP_TO: usize = 64;
/// How many of the most probable classes the explorer lists for a large vocabulary.
pub const TOP_ROWS: usize = 20;

fn logits(text: &str) -> Result<Vec<f64>, CoreError> {
    parse_numbers(text, "logits")
}

/// Input of the explorer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explore {
    /// The logits as typed (comma or space separated; sent as bytes:
    /// [`crate::worker::text_bytes`]).
    #[serde(with = "crate::worker::text_bytes")]
    pub logits: String,
    /// The correct class (0-based).
    pub target: usize,
    /// The scale `k` applied to the logits.
    pub scale: f64,
    /// The emulated precision.
    pub precision: Precision,
}

/// One loss at the explorer's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossSummary {
    /// The cross-entropy.
    pub loss: f64,
    /// Softmax's max-shifted exp-sum (the collapse criterion is `== 1`).
    pub sum_exp: f64,
    /// Softmax Collapse: the exp-sum is exactly 1.
    pub collapsed: bool,
}

/// One class in the explorer's table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassRow {
    /// The class (0-based).
    pub class: usize,
    /// Its logit `z`.
    pub z: f64,
    /// `s(k·z)` rounded to the precision.
    pub s: f64,
    /// Softmax probability.
    pub softmax: f64,
    /// StableMax probability.
    pub stablemax: f64,
    /// `∂L/∂z` of softmax cross-entropy.
    pub grad_softmax: f64,
    /// `∂L/∂z` of StableMax cross-entropy.
    pub grad_stablemax: f64,
}

/// The explorer's view of the logits at one scale and precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplorerView {
    /// Number of classes.
    pub classes: usize,
    /// Softmax cross-entropy at the settings.
    pub softmax: LossSummary,
    /// StableMax cross-entropy at the settings.
    pub stablemax: LossSummary,
    /// Every class (up to [`ALL_ROWS_UP_TO`]), else the [`TOP_ROWS`] most probable under softmax
    /// (largest logit first) and the correct class.
    pub rows: Vec<ClassRow>,
    /// `true` when `rows` lists every class.
    pub all_rows: bool,
    /// Classes whose softmax probability is exactly 0 in the precision.
    pub zero_softmax: usize,
    /// The largest and smallest logit.
    pub logit_range: (f64, f64),
}

/// Output of the explorer: the view, or which field is wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Exploration {
    /// The logits could not be read.
    BadLogits(JobFailure),
    /// The correct class is not one of the classes.
    BadTarget {
        /// How many classes there are.
        classes: usize,
        /// The error.
        failure: JobFailure,
    },
    /// The view.
    Ready(ExplorerView),
}

impl Explore {
    fn run(&self) -> Result<Exploration, JobFailure> {
        let z = match logits(&self.logits) {
            Ok(z) => z,
            Err(e) => return Ok(Exploration::BadLogits(e.into())),
        };
        if self.target >= z.len() {
            return Ok(Exploration::BadTarget {
                classes: z.len(),
                failure: CoreError::IndexOutOfRange {
                    what: "correct class",
                    index: self.target,
                    len: z.len(),
                }
                .into(),
            });
        }
        let (k, p, t) = (self.scale, self.precision, self.target);
        let soft = evaluate(&z, t, k, Loss::Softmax, p)?;
        let stable = evaluate(&z, t, k, Loss::StableMax, p)?;
        let n = z.len();
        let all_rows = n <= ALL_ROWS_UP_TO;
        let classes: Vec<usize> = if all_rows {
            (0..n).collect()
        } else {
            let mut order: Vec<usize> = (0..n).collect();
            let by_logit = |a: &usize, b: &usize| z[*b].total_cmp(&z[*a]).then(a.cmp(b));
            order.select_nth_unstable_by(TOP_ROWS, by_logit);
            let mut top: Vec<usize> = order[..TOP_ROWS].to_vec();
            top.sort_by(by_logit);
            if !top.contains(&t) {
                top.push(t);
            }
            top
        };
        let rows = classes
            .into_iter()
            .map(|i| ClassRow {
                class: i,
                z: z[i],
                s: s(p.round(k * z[i])),
                softmax: soft.probs[i],
                stablemax: stable.probs[i],
                grad_softmax: soft.grad[i],
                grad_stablemax: stable.grad[i],
            })
            .collect();
        let summary = |e: &scalelab_core::stablemax::Evaluation| LossSummary {
            loss: e.loss,
            sum_exp: e.sum_exp,
            collapsed: e.collapsed,
        };
        let logit_range = z
            .iter()
            .fold((f64::NEG_INFINITY, f64::INFINITY), |(hi, lo), &v| {
                (hi.max(v), lo.min(v))
            });
        Ok(Exploration::Ready(ExplorerView {
            classes: n,
            softmax: summary(&soft),
            stablemax: summary(&stable),
            rows,
            all_rows,
            zero_softmax: soft.probs.iter().filter(|&&q| q == 0.0).count(),
            logit_range,
        }))
    }
}

impl StartTask for Explore {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        Ok(Box::new(Once::new(move || self.run().map(Output::Explore))))
    }
}

/// Input of the collapse-onset search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollapseOnsets {
    /// The logits as typed (sent as bytes).
    #[serde(with = "crate::worker::text_bytes")]
    pub logits: String,
}

/// The smallest scale in `[MIN_SCALE, MAX_SCALE]` at which the softmax collapses, per precision
/// (bisection; `None`: no collapse in range).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Onsets {
    /// One entry per precision, in [`Precision::ALL`] order.
    pub onsets: Vec<(Precision, Option<f64>)>,
}

impl StartTask for CollapseOnsets {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        Ok(Box::new(Once::new(move || {
            let z = logits(&self.logits)?;
            let onsets = Precision::ALL
                .iter()
                .map(|&p| Ok((p, collapse_onset_scale(&z, p, MIN_SCALE, MAX_SCALE)?)))
                .collect::<Result<_, CoreError>>()?;
            Ok(Output::CollapseOnsets(Onsets { onsets }))
        })))
    }
}

/// Input of the gradient sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientSweep {
    /// The logits as typed (sent as bytes).
    #[serde(with = "crate::worker::text_bytes")]
    pub logits: String,
    /// The correct class.
    pub target: usize,
    /// Softmax or StableMax cross-entropy.
    pub loss: Loss,
    /// Number of log-spaced scales from [`MIN_SCALE`] to [`MAX_SCALE`] (2 ..= [`GradientSweep::MAX_POINTS`]).
    pub points: usize,
}

impl GradientSweep {
    /// Upper bound on `points`, so one request cannot exhaust the worker's memory.
    pub const MAX_POINTS: usize = 200_000;

    /// The log-spaced scales of the sweep.
    pub fn scales(&self) -> Vec<f64> {
        let n = self.points.max(2);
        let (a, b) = (MIN_SCALE.ln(), MAX_SCALE.ln());
        (0..n)
            .map(|i| (a + (b - a) * i as f64 / (n - 1) as f64).exp())
            .collect()
    }
}

/// Output of the gradient sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientSweepResult {
    /// The scales returned: every scale of the sweep, thinned to at most
    /// [`GradientSweepResult::RETURNED_POINTS`] evenly strided ones (the last always kept).
    pub scales: Vec<f64>,
    /// One curve per precision.
    pub curves: Vec<PrecisionCurve>,
    /// Scales computed.
    pub points: usize,
}

impl GradientSweepResult {
    /// Upper bound on the points sent back to the page, so a large sweep stays cheap to receive and draw.
    pub const RETURNED_POINTS: usize = 600;

    /// The indices of a sweep of `n` points that are returned.
    pub fn returned_indices(n: usize) -> Vec<usize> {
        strided_indices(n, Self::RETURNED_POINTS)
    }
}

/// The correct-class gradient against the scale in one precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrecisionCurve {
    /// The emulated precision.
    pub precision: Precision,
    /// ∂L/∂z_y at each returned scale (exactly 0 once Softmax Collapse has set in).
    pub gradient: Vec<f64>,
    /// The smallest swept scale at which the gradient was exactly 0, if any.
    pub first_zero: Option<f64>,
}

/// The sweep in progress: one scale (in every precision) is one unit.
struct SweepTask {
    req: GradientSweep,
    z: Vec<f64>,
    scales: Vec<f64>,
    done: usize,
    curves: Vec<PrecisionCurve>,
}

impl StartTask for GradientSweep {
    fn start(self) -> Result<Box<dyn Task>, JobFailure> {
        if !(2..=Self::MAX_POINTS).contains(&self.points) {
            return Err(CoreError::OutOfRange {
                what: "number of scales",
                value: self.points as f64,
                min: 2.0,
                max: Self::MAX_POINTS as f64,
            }
            .into());
        }
        let z = logits(&self.logits)?;
        if self.target >= z.len() {
            return Err(CoreError::IndexOutOfRange {
                what: "correct class",
                index: self.target,
                len: z.len(),
            }
            .into());
        }
        let scales = self.scales();
        let curves = Precision::ALL
            .iter()
            .map(|&precision| PrecisionCurve {
                precision,
                gradient: Vec::with_capacity(scales.len()),
                first_zero: None,
            })
            .collect();
        Ok(Box::new(SweepTask {
            req: self,
            z,
            scales,
            done: 0,
            curves,
        }))
    }
}

impl SyncTask for SweepTask {
    fn slice(&mut self, budget: SliceBudget) -> Result<Slice, JobFailure> {
        let total = self.scales.len();
        let (result, units) = budget.run(|b| -> Result<(), CoreError> {
            while self.done < total {
                let k = self.scales[self.done];
                for curve in self.curves.iter_mut() {
                    let g = correct_class_gradient(
                        &self.z,
                        self.req.target,
                        k,
                        self.req.loss,
                        curve.precision,
                    )?;
                    if g == 0.0 && curve.first_zero.is_none() {
                        curve.first_zero = Some(k);
                    }
                    curve.gradient.push(g);
                }
                self.done += 1;
                if !b.unit_done() {
                    break;
                }
            }
            Ok(())
        });
        result?;
        if self.done < total {
            return Ok(Slice::More {
                progress: Progress::new(Stage::Scales, self.done as u64, total as u64),
                partials: Vec::new(),
                units,
            });
        }
        let keep = GradientSweepResult::returned_indices(total);
        let curves = std::mem::take(&mut self.curves)
            .into_iter()
            .map(|c| PrecisionCurve {
                gradient: keep.iter().map(|&i| c.gradient[i]).collect(),
                ..c
            })
            .collect();
        Ok(Slice::Done {
            partials: Vec::new(),
            output: Output::GradientSweep(GradientSweepResult {
                scales: keep.iter().map(|&i| self.scales[i]).collect(),
                curves,
                points: total,
            }),
        })
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::worker::protocol::JobSpec;
    use crate::worker::task::run_to_end;

    fn explore(logits: &str, target: usize, scale: f64, precision: Precision) -> Exploration {
        let (out, _, _) = run_to_end(
            Explore {
                logits: logits.into(),
                target,
                scale,
                precision,
            }
            .start()
            .unwrap(),
            None,
        )
        .unwrap();
        Explore::output(out).unwrap()
    }

    #[test]
    fn the_explorer_gives_stablemax_of_the_reference_vector() {
        // science.md §7 item 2: StableMax([0, 1, 2]) = [1/6, 1/3, 1/2].
        let Exploration::Ready(v) = explore("0, 1, 2", 0, 1.0, Precision::F64) else {
            panic!("not ready")
        };
        assert!(v.all_rows && v.classes == 3);
        for (row, want) in v.rows.iter().zip([1.0 / 6.0, 1.0 / 3.0, 0.5]) {
            assert!((row.stablemax - want).abs() < 1e-15);
        }
        assert!((v.stablemax.loss - 6f64.ln()).abs() < 1e-14);
    }

    #[test]
    fn bad_fields_are_named() {
        assert!(matches!(
            explore("1, abc", 0, 1.0, Precision::F32),
            Exploration::BadLogits(f) if f.code.as_str() == "NotANumber"
        ));
        assert!(matches!(
            explore("1, 2", 5, 1.0, Precision::F32),
            Exploration::BadTarget { classes: 2, failure } if failure.code.as_str() == "IndexOutOfRange"
        ));
    }

    #[test]
    fn a_large_vocabulary_gives_the_top_classes_and_the_target() {
        // 100 000 logits: class i has logit −i/1000, so the top classes are 0, 1, 2, …
        let text: Vec<String> = (0..100_000)
            .map(|i| format!("{}", -(i as f64) / 1000.0))
            .collect();
        let Exploration::Ready(v) = explore(&text.join(","), 99_999, 1.0, Precision::F32) else {
            panic!("not ready")
        };
        assert_eq!(v.classes, 100_000);
        assert!(!v.all_rows);
        let classes: Vec<usize> = v.rows.iter().map(|r| r.class).collect();
        let mut want: Vec<usize> = (0..TOP_ROWS).collect();
        want.push(99_999);
        assert_eq!(classes, want);
        assert_eq!(v.logit_range, (0.0, -99.999));
    }

    #[test]
    fn the_sweep_in_one_scale_steps_equals_the_sweep_at_once() {
        let req = GradientSweep {
            logits: "1, 0".into(),
            target: 0,
            loss: Loss::Softmax,
            points: 50,
        };
        let (whole, _, one) = run_to_end(req.clone().start().unwrap(), None).unwrap();
        let (stepped, _, slices) = run_to_end(req.start().unwrap(), Some(1)).unwrap();
        assert_eq!(one, 1);
        assert_eq!(slices, 50, "one scale per step");
        assert_eq!(whole, stepped);
        let r = GradientSweep::output(whole).unwrap();
        // [1, 0] collapses in f32 near k = 24 ln 2 ≈ 16.6 (science.md §7 item 4).
        let f32_curve = r
            .curves
            .iter()
            .find(|c| c.precision == Precision::F32)
            .unwrap();
        let first = f32_curve.first_zero.unwrap();
        assert!(first > 16.0 && first < 20.0, "{first}");
    }

    #[test]
    fn sweep_requests_are_checked_before_work() {
        let ok = GradientSweep {
            logits: "1, 0".into(),
            target: 0,
            loss: Loss::Softmax,
            points: 10,
        };
        for (bad, code) in [
            (
                GradientSweep {
                    points: 1,
                    ..ok.clone()
                },
                "OutOfRange",
            ),
            (
                GradientSweep {
                    points: GradientSweep::MAX_POINTS + 1,
                    ..ok.clone()
                },
                "OutOfRange",
            ),
            (
                GradientSweep {
                    target: 2,
                    ..ok.clone()
                },
                "IndexOutOfRange",
            ),
            (
                GradientSweep {
                    logits: "".into(),
                    ..ok.clone()
                },
                "EmptyInput",
            ),
        ] {
            assert_eq!(bad.start().err().unwrap().code.as_str(), code);
        }
    }

    #[test]
    fn onsets_bracket_the_published_thresholds() {
        // science.md §7 item 4: [Δ, 0] collapses at Δ ≈ 16.6 (f32), 36.7 (f64), 7.6 (f16).
        let (out, _, _) = run_to_end(
            CollapseOnsets {
                logits: "1 0".into(),
            }
            .start()
            .unwrap(),
            None,
        )
        .unwrap();
        let o = CollapseOnsets::output(out).unwrap();
        let at = |p| o.onsets.iter().find(|(q, _)| *q == p).unwrap().1.unwrap();
        assert!(at(Precision::F32) > 16.5 && at(Precision::F32) < 16.7);
        assert!(at(Precision::F64) > 36.7 && at(Precision::F64) < 36.8);
        assert!(at(Precision::F16) > 7.5 && at(Precision::F16) < 7.7);
    }
}
