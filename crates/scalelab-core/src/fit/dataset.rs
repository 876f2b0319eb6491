//! From a parsed table to a fit's [`Data`]: which columns feed which model inputs, derived inputs
//! (tokens from compute, learning-rate areas from a schedule), and row-level validation whose errors
//! name the line and column of the file.

use serde::{Deserialize, Serialize};

use crate::fit::allocation::FLOPS_PER_PARAM_TOKEN;
use crate::fit::schedule::{tissue_areas, DEFAULT_TISSUE_LAMBDA};
use crate::fit::Data;
use crate::io::csv::{Columns, Table};
use crate::CoreError;

/// The observations of a fit, plus what the page plots them against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observations {
    /// The fit's data.
    pub data: Data,
    /// The learning-rate schedule (all rows, in order), when a learning-rate column is mapped.
    pub schedule: Option<Vec<f64>>,
    /// For each observation, the 0-based table row it came from.
    pub rows: Vec<usize>,
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

/// Inputs that must be positive (the laws take powers or logarithms of them).
fn must_be_positive(name: &str) -> bool {
    matches!(name, "x" | "N" | "D" | "C" | "S1")
}

/// Builds the observations for a model whose inputs are named `inputs` (`x`, `N`, `D`, `C`, `S1`,
/// `S2`, `step`, `lr`).
///
/// A loss curve is one row per step, in order, with its learning rate: the schedule is the whole
/// learning-rate column, `S1`/`S2` (Tissue et al., λ = `lambda`) and `step` (the row's 0-based
/// position in the schedule) come from it, and rows with an empty loss count for the schedule only.
/// Otherwise every used cell must be a finite number, inputs of powers and logarithms positive, and
/// the target positive when `positive_target`.
///
/// # Errors
/// [`CoreError::InvalidValue`] for an unmapped column; [`CoreError::InvalidCsv`] naming the line and
/// column of the first bad cell; [`CoreError::TooFewPoints`]-style checks are left to the solver.
pub fn observations(
    table: &Table,
    inputs: &[String],
    cols: &Columns,
    lambda: Option<f64>,
    positive_target: bool,
) -> Result<Observations, CoreError> {
    let loss = need(cols.loss, "the loss (the target)")?;
    let curve = inputs
        .iter()
        .any(|n| matches!(n.as_str(), "S1" | "S2" | "step" | "lr"));
    let schedule = match cols.lr {
        Some(lr) => {
            let v: Vec<f64> = table.rows.iter().map(|r| r[lr]).collect();
            if let Some(i) = v.iter().position(|x| !x.is_finite() || *x < 0.0) {
                return Err(bad(
                    table,
                    i,
                    lr,
                    "a learning rate must be a finite number ≥ 0".into(),
                ));
            }
            Some(v)
        }
        None => None,
    };
    if curve && schedule.is_none() {
        need(None, "the learning rate of each step")?;
    }
    if let Some(step) = cols.step.filter(|_| curve) {
        for i in 1..table.rows.len() {
            if table.rows[i][step].partial_cmp(&table.rows[i - 1][step])
                != Some(std::cmp::Ordering::Greater)
            {
                return Err(bad(table, i, step, "steps must increase strictly, one row per step (duplicate or out-of-order step)".into()));
            }
        }
    }
    let areas = match (&schedule, inputs.iter().any(|n| n == "S1" || n == "S2")) {
        (Some(lrs), true) => Some(tissue_areas(lrs, lambda.unwrap_or(DEFAULT_TISSUE_LAMBDA))?),
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
            "lr" => Some(need(cols.lr, "the learning rate")?),
            "step" => cols.step,
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
        if curve && target.is_nan() {
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
        for (name, src) in inputs.iter().zip(&sources) {
            let v = match (name.as_str(), src) {
                ("S1", _) => areas.as_ref().map_or(f64::NAN, |a| a.s1[i]),
                ("S2", _) => areas.as_ref().map_or(f64::NAN, |a| a.s2[i]),
                ("step", _) => i as f64,
                ("D", None) => {
                    let (c, n) = (
                        row[cols.compute.unwrap_or(0)],
                        row[cols.params.unwrap_or(0)],
                    );
                    c / (FLOPS_PER_PARAM_TOKEN * n)
                }
                (_, Some(j)) => row[*j],
                (_, None) => f64::NAN,
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
