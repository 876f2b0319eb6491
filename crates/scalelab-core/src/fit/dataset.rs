//! From a parsed table to a fit's [`Data`]: which columns feed which model inputs, derived inputs
//! (tokens from compute; a loss curve's steps, schedule and learning-rate areas), and row-level
//! validation whose errors name the line and column of the file.

use serde::{Deserialize, Serialize};

use crate::fit::allocation::FLOPS_PER_PARAM_TOKEN;
use crate::fit::schedule::{
    tissue_areas, LrSchedule, Schedule, WarmupChoice, DEFAULT_TISSUE_LAMBDA,
};
use crate::fit::Data;
use crate::io::csv::{Columns, Table};
use crate::CoreError;

/// The observations of a fit, plus what the page plots them against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observations {
    /// The fit's data.
    pub data: Data,
    /// A loss curve's schedule of every training step.
    pub schedule: Option<LrSchedule>,
    /// For each observation, the 0-based table row it came from.
    pub rows: Vec<usize>,
}

/// Where a loss curve's learning-rate schedule comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ScheduleSource {
    /// The learning-rate column, one row per step from step 1 (rows without a loss count for the
    /// schedule only).
    Column,
    /// A named schedule with its parameters; a mapped learning-rate column must agree with it at
    /// the logged steps (within 0.1 % of the peak rate), so a wrong warmup or length is caught.
    Named {
        /// The schedule.
        schedule: Schedule,
    },
}

/// How a loss curve's steps relate to its schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveOptions {
    /// Where the schedule comes from.
    pub source: ScheduleSource,
    /// The warmup convention.
    pub warmup: WarmupChoice,
    /// Tissue et al.'s momentum decay `λ`.
    pub momentum_decay: f64,
}

impl Default for CurveOptions {
    fn default() -> Self {
        CurveOptions {
            source: ScheduleSource::Column,
            warmup: WarmupChoice::Detected,
            momentum_decay: DEFAULT_TISSUE_LAMBDA,
        }
    }
}

fn bad(table: &Table, row: usize, col: usize, reason: String) -> CoreError {
    let text = table
        .rows
        .get(row)
        .and_then(|r| r.get(col))
        .map(|v| v.to_string())
        .unwrap_or_default();
    CoreError::InvalidCsv {
        row: table.lines.get(row).copied().unwrap_or(row + 1),
        column: col + 1,
        text,
        reason,
    }
}

fn need(col: Option<usize>, what: &str) -> Result<usize, CoreError> {
    col.ok_or_else(|| CoreError::InvalidValue {
        what: "column mapping",
        reason: format!("choose the column that holds {what}"),
    })
}

/// Relative agreement (of the peak rate) asked of a learning-rate column and a named schedule.
const LR_COLUMN_TOLERANCE: f64 = 1e-3;

/// A loss curve's step of every table row (the step column, else row `i` is step `i + 1`) and its
/// schedule, checked against each other.
fn curve_schedule(
    table: &Table,
    cols: &Columns,
    opts: &CurveOptions,
) -> Result<(Vec<f64>, LrSchedule), CoreError> {
    let n = table.rows.len();
    let steps: Vec<f64> = match cols.step {
        Some(j) => table.rows.iter().map(|r| r[j]).collect(),
        None => (1..=n).map(|s| s as f64).collect(),
    };
    if let Some(j) = cols.step {
        for (i, &s) in steps.iter().enumerate() {
            if !(s.is_finite() && s.fract() == 0.0 && s >= 1.0) {
                let reason = if s == 0.0 {
                    "step 0 is before the first update (S1 = 0, where the laws are infinite); \
                     step s is the state after s updates: drop that row"
                } else {
                    "a step must be a whole number ≥ 1 (step s is the state after s updates)"
                };
                return Err(bad(table, i, j, reason.into()));
            }
            if i > 0 && s <= steps[i - 1] {
                return Err(bad(
                    table,
                    i,
                    j,
                    "steps must increase strictly, one row per step (duplicate or out-of-order step)"
                        .into(),
                ));
            }
        }
    }
    let lr_cell = |i: usize| cols.lr.map(|j| (j, table.rows[i][j]));
    if let Some(j) = cols.lr {
        if let Some(i) = (0..n).find(|&i| {
            let v = table.rows[i][j];
            !v.is_finite() || v < 0.0
        }) {
            return Err(bad(
                table,
                i,
                j,
                "a learning rate must be a finite number ≥ 0".into(),
            ));
        }
    }
    let (rates, named_warmup) = match &opts.source {
        ScheduleSource::Column => {
            let j = need(
                cols.lr,
                "the learning rate of each step (or choose a named schedule)",
            )?;
            if let Some(i) = (0..n).find(|&i| steps[i] != (i + 1) as f64) {
                let col = cols.step.unwrap_or(j);
                return Err(bad(
                    table,
                    i,
                    col,
                    format!(
                        "a learning-rate column is the schedule only with one row per step from \
                         step 1 (row {} should be step {}); for a curve logged every few steps \
                         choose a named schedule, which gives the rate of every step",
                        i + 1,
                        i + 1
                    ),
                ));
            }
            ((0..n).map(|i| table.rows[i][j]).collect::<Vec<f64>>(), None)
        }
        ScheduleSource::Named { schedule } => {
            let rates = schedule.lrs()?;
            let len = rates.len();
            if let Some(i) = steps.iter().position(|&s| s > len as f64) {
                return Err(CoreError::StepOutsideSchedule {
                    what: "observation",
                    index: i,
                    step: steps[i],
                    steps: len,
                });
            }
            let peak = rates.iter().copied().fold(0.0, f64::max);
            for (i, &s) in steps.iter().enumerate() {
                if let Some((j, v)) = lr_cell(i) {
                    let want = rates[s as usize - 1];
                    if (v - want).abs() > LR_COLUMN_TOLERANCE * peak {
                        return Err(bad(
                            table,
                            i,
                            j,
                            format!(
                                "the learning-rate column has {v} at step {s}, but the named \
                                 schedule gives {want}: check its steps, peak, final rate and \
                                 warmup (or unmap the learning-rate column)"
                            ),
                        ));
                    }
                }
            }
            (rates, Some(schedule.warmup_steps()))
        }
    };
    let schedule = LrSchedule::with_choice(rates, named_warmup, opts.warmup, opts.momentum_decay)?;
    Ok((steps, schedule))
}

/// Inputs that must be positive (the laws take powers or logarithms of them).
fn must_be_positive(name: &str) -> bool {
    matches!(name, "x" | "N" | "D" | "C" | "S1")
}

/// Builds the observations for a model whose inputs are named `inputs` (`x`, `N`, `D`, `C`, `S1`,
/// `S2`, `step`, `lr`).
///
/// A loss curve (inputs `step`, `lr`, `S1` or `S2`) is rows in step order; `curve` says where its
/// schedule of every step comes from ([`CurveOptions`]). `step` is the row's step (the step column,
/// else row `i` is step `i + 1`; see the step convention of [`crate::fit::schedule`]), `lr` its
/// rate and `S1`/`S2` Tissue et al.'s areas at that step, summed over every step of the schedule —
/// so a curve logged every 100 steps gives the same inputs at its steps as one logged every step.
/// Rows with an empty loss count for the schedule only. Otherwise every used cell must be a finite
/// number, inputs of powers and logarithms positive, and the target positive when
/// `positive_target`.
///
/// # Errors
/// [`CoreError::InvalidValue`] for an unmapped column; [`CoreError::InvalidCsv`] naming the line and
/// column of the first bad cell (a step that is not a whole number ≥ 1, steps out of order, a
/// learning-rate column that is not one row per step or disagrees with a named schedule);
/// [`CoreError::StepOutsideSchedule`] for a step past the end of a named schedule; the schedule's
/// own errors ([`LrSchedule::check`]). [`CoreError::TooFewPoints`]-style checks are left to the
/// solver.
pub fn observations(
    table: &Table,
    inputs: &[String],
    cols: &Columns,
    curve: &CurveOptions,
    positive_target: bool,
) -> Result<Observations, CoreError> {
    let loss = need(cols.loss, "the loss (the target)")?;
    let is_curve = inputs
        .iter()
        .any(|n| matches!(n.as_str(), "S1" | "S2" | "step" | "lr"));
    let (steps, schedule) = if is_curve {
        let (steps, schedule) = curve_schedule(table, cols, curve)?;
        (steps, Some(schedule))
    } else {
        (Vec::new(), None)
    };
    let areas = match &schedule {
        Some(s) if inputs.iter().any(|n| n == "S1" || n == "S2") => Some(tissue_areas(s)?),
        _ => None,
    };
    let column_of = |name: &str| -> Result<Option<usize>, CoreError> {
        Ok(match name {
            "x" => Some(need(cols.x, "x")?),
            "N" => Some(need(cols.params, "the model size N")?),
            "C" => Some(need(cols.compute, "the compute C")?),
            "D" if cols.tokens.is_none() && cols.compute.is_some() && cols.params.is_some() => None,
            "D" => Some(need(
                cols.tokens,
                "the training tokens D (or compute C and model size N)",
            )?),
            "step" => cols.step,
            "lr" => cols.lr,
            _ => None,
        })
    };
    let sources: Vec<Option<usize>> = inputs
        .iter()
        .map(|n| column_of(n))
        .collect::<Result<_, _>>()?;

    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut rows = Vec::new();
    for (i, row) in table.rows.iter().enumerate() {
        let target = row[loss];
        if is_curve && target.is_nan() {
            continue;
        }
        if !target.is_finite() {
            return Err(bad(
                table,
                i,
                loss,
                "the loss must be a finite number".into(),
            ));
        }
        if positive_target && target <= 0.0 {
            return Err(bad(
                table,
                i,
                loss,
                "the loss must be positive for a fit in log space".into(),
            ));
        }
        // A curve's step indexes its schedule (checked by `curve_schedule`).
        let k = steps.get(i).map(|&s| s as usize - 1);
        for (name, src) in inputs.iter().zip(&sources) {
            let v = match (name.as_str(), src, k) {
                ("S1", _, Some(k)) => areas.as_ref().map_or(f64::NAN, |a| a.s1[k]),
                ("S2", _, Some(k)) => areas.as_ref().map_or(f64::NAN, |a| a.s2[k]),
                ("step", _, Some(_)) => steps[i],
                ("lr", _, Some(k)) => schedule.as_ref().map_or(f64::NAN, |s| s.rates[k]),
                ("D", None, _) => {
                    let (c, n) = (
                        row[cols.compute.unwrap_or(0)],
                        row[cols.params.unwrap_or(0)],
                    );
                    c / (FLOPS_PER_PARAM_TOKEN * n)
                }
                (_, Some(j), _) => row[*j],
                (_, None, _) => f64::NAN,
            };
            let col = src
                .or(if name == "D" { cols.compute } else { None })
                .unwrap_or(loss);
            if !v.is_finite() {
                return Err(bad(
                    table,
                    i,
                    col,
                    format!("{name} must be a finite number"),
                ));
            }
            if must_be_positive(name) && v <= 0.0 {
                return Err(bad(
                    table,
                    i,
                    col,
                    format!("{name} must be positive: the law takes powers of it"),
                ));
            }
            x.push(v);
        }
        y.push(target);
        rows.push(i);
    }
    if y.is_empty() {
        return Err(CoreError::EmptyInput {
            what: "observations (rows with a loss)",
        });
    }
    Ok(Observations {
        data: Data {
            n_inputs: inputs.len(),
            x,
            y,
            weights: None,
        },
        schedule,
        rows,
    })
}
