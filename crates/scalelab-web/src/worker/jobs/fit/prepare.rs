//! From what the Fit page sends — the data text (or a preset), the column choices and the model —
//! to the table, its column mapping, the model's parameters and default starts, and the
//! observations. All of it runs in the worker, so pasting a 10⁵-row loss curve costs the page
//! nothing but the message.

use scalelab_core::fit::analysis::ModelChoice;
use scalelab_core::fit::dataset::{observations, CurveOptions, Observations};
use scalelab_core::fit::models::BuiltinModel;
use scalelab_core::fit::presets::Preset;
use scalelab_core::fit::schedule::WarmupConvention;
use scalelab_core::fit::Model;
use scalelab_core::io::csv::Columns;
use scalelab_core::io::csv::{read_table, CsvOptions, Delimiter, Table};
use serde::{Deserialize, Serialize};

use crate::worker::protocol::JobFailure;
use crate::worker::thin::{pick, strided_indices};

/// Most data points sent to the page for drawing (the fit uses every row).
pub const PLOTTED_POINTS: usize = 2000;
/// Names a custom formula may use for data columns, in input order.
pub const FORMULA_INPUTS: [&str; 7] = ["x", "N", "D", "C", "S1", "S2", "step"];

/// Where the table comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FitData {
    /// Text typed, pasted, uploaded or dropped (sent as bytes: [`crate::worker::text_bytes`]).
    Text(#[serde(with = "crate::worker::text_bytes")] std::sync::Arc<str>),
    /// A generated example.
    Preset(Preset),
}

/// The user's choice for one column role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pick {
    /// Guess from the header.
    #[default]
    Guess,
    /// No column plays this role.
    Unmapped,
    /// This column (0-based).
    Column(usize),
}

/// The user's column choices, one per role of [`Columns`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnChoice {
    /// The single input `x`.
    pub x: Pick,
    /// Model size `N`.
    pub params: Pick,
    /// Training tokens `D`.
    pub tokens: Pick,
    /// Compute `C`.
    pub compute: Pick,
    /// Step.
    pub step: Pick,
    /// Learning rate.
    pub lr: Pick,
    /// The loss.
    pub loss: Pick,
}

/// The model the user picked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ModelPick {
    /// A built-in law.
    Builtin(BuiltinModel),
    /// A formula; its data inputs are the names of [`FORMULA_INPUTS`] it uses.
    Formula(String),
}

/// Input of the preparation job (and the data half of a fit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitInput {
    /// The table.
    pub data: FitData,
    /// Column choices.
    pub columns: ColumnChoice,
    /// The model.
    pub model: ModelPick,
    /// A loss curve's schedule, warmup convention and momentum decay λ.
    pub curve: CurveOptions,
    /// Whether targets must be positive (log residuals or Hoffmann's method).
    pub positive: bool,
}

/// What the page shows of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSummary {
    /// Data rows.
    pub rows: usize,
    /// Column names.
    pub columns: Vec<String>,
    /// Whether the first line was a header.
    pub has_header: bool,
    /// The delimiter found.
    pub delimiter: Delimiter,
}

/// The model's parameters and formula.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Parameter names, in order.
    pub names: Vec<String>,
    /// The formula for people.
    pub formula: String,
}

/// What the observations are drawn against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataAxis {
    /// The single input `x`.
    X,
    /// Compute `C = 6ND` of two-input laws.
    Compute,
    /// The training step of a loss curve.
    Step,
}

impl DataAxis {
    /// The axis label for people.
    pub fn label(self) -> &'static str {
        match self {
            DataAxis::X => "x",
            DataAxis::Compute => "compute C = 6ND",
            DataAxis::Step => "step",
        }
    }
}

/// The observations thinned for drawing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataPlot {
    /// Observations in all.
    pub count: usize,
    /// The abscissa.
    pub axis: DataAxis,
    /// Abscissae of at most [`PLOTTED_POINTS`] observations (evenly strided, the last kept).
    pub x: Vec<f64>,
    /// Their targets.
    pub y: Vec<f64>,
}

/// A loss curve's schedule as the page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScheduleSummary {
    /// Steps `T`.
    pub steps: usize,
    /// Largest rate.
    pub peak: f64,
    /// The warmup convention in use (with the detected warmup).
    pub warmup: WarmupConvention,
}

/// Output of the preparation job: each part, or the error to show next to its field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitPreparation {
    /// The preset's CSV, to show in the data box (presets only).
    pub preset_text: Option<String>,
    /// The table, or why it could not be read.
    pub table: Result<TableSummary, JobFailure>,
    /// The column mapping in use (guesses with the user's choices applied).
    pub columns: Columns,
    /// The model's data inputs, in order.
    pub inputs: Vec<String>,
    /// The model, or why it could not be built (e.g. a formula that does not parse).
    pub model: Result<ModelSummary, JobFailure>,
    /// The observations, or why the table does not give them.
    pub observations: Result<DataPlot, JobFailure>,
    /// A loss curve's schedule.
    pub schedule: Option<ScheduleSummary>,
    /// Default start values of the model's parameters.
    pub default_start: Vec<f64>,
    /// Suggested bounds (±∞ for none).
    pub default_bounds: Vec<(f64, f64)>,
}

/// A table read and mapped to a model: everything a fit needs from [`FitInput`].
pub struct Prepared {
    /// The model choice as the analysis takes it.
    pub choice: ModelChoice,
    /// The observations.
    pub observations: Observations,
    /// The built model.
    pub model: Box<dyn Model>,
}

/// The names of [`FORMULA_INPUTS`] that `text` uses, in that order.
pub fn formula_inputs(text: &str) -> Vec<String> {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .collect();
    FORMULA_INPUTS
        .iter()
        .filter(|n| words.contains(n))
        .map(|n| n.to_string())
        .collect()
}

impl FitInput {
    fn text(&self) -> String {
        match &self.data {
            FitData::Text(t) => t.to_string(),
            FitData::Preset(p) => p.csv(0),
        }
    }

    fn choice(&self) -> ModelChoice {
        match &self.model {
            ModelPick::Builtin(model) => ModelChoice::Builtin { model: *model },
            ModelPick::Formula(text) => ModelChoice::Formula {
                inputs: formula_inputs(text),
                text: text.clone(),
            },
        }
    }

    fn inputs(&self) -> Vec<String> {
        match &self.model {
            ModelPick::Builtin(m) => m.input_names().iter().map(|s| s.to_string()).collect(),
            ModelPick::Formula(text) => formula_inputs(text),
        }
    }

    fn columns(&self, table: &Table) -> Columns {
        let mut c = Columns::guess(table);
        let choose = |pick: Pick, guess: Option<usize>| match pick {
            Pick::Guess => guess,
            Pick::Unmapped => None,
            Pick::Column(j) if j < table.columns.len() => Some(j),
            Pick::Column(_) => guess,
        };
        let p = &self.columns;
        c.x = choose(p.x, c.x);
        c.params = choose(p.params, c.params);
        c.tokens = choose(p.tokens, c.tokens);
        c.compute = choose(p.compute, c.compute);
        c.step = choose(p.step, c.step);
        c.lr = choose(p.lr, c.lr);
        c.loss = choose(p.loss, c.loss);
        c
    }

    /// Reads the table and builds the observations and the model (what a fit needs).
    ///
    /// # Errors
    /// The first of: the table, the observations, the model.
    pub fn prepare(&self) -> Result<Prepared, JobFailure> {
        let table = read_table(&self.text(), &CsvOptions::default())?;
        let columns = self.columns(&table);
        let observations =
            observations(&table, &self.inputs(), &columns, &self.curve, self.positive)?;
        let choice = self.choice();
        let model = choice.build(observations.schedule.as_ref())?;
        Ok(Prepared {
            choice,
            observations,
            model,
        })
    }

    /// The page's view of the input: each part, or its error.
    pub fn preparation(&self) -> FitPreparation {
        let text = self.text();
        let preset_text = matches!(self.data, FitData::Preset(_)).then(|| text.clone());
        let inputs = self.inputs();
        let table = read_table(&text, &CsvOptions::default());
        let columns = table.as_ref().map(|t| self.columns(t)).unwrap_or_default();
        let observations = table
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|t| observations(t, &inputs, &columns, &self.curve, self.positive));
        let schedule = observations.as_ref().ok().and_then(|o| o.schedule.as_ref());
        let model = self.choice().build(schedule);
        let default_start = match (&self.model, &observations, &model) {
            (ModelPick::Builtin(b), Ok(o), _) => b.default_start_with(&o.data, schedule),
            (_, _, Ok(m)) => vec![1.0; m.param_names().len()],
            _ => Vec::new(),
        };
        let default_bounds = match (&self.model, &model) {
            (ModelPick::Builtin(b), _) => b.suggested_bounds(),
            (_, Ok(m)) => vec![(f64::NEG_INFINITY, f64::INFINITY); m.param_names().len()],
            _ => Vec::new(),
        };
        let schedule = schedule.map(|s| ScheduleSummary {
            steps: s.steps(),
            peak: s.rates.iter().copied().fold(0.0, f64::max),
            warmup: s.warmup,
        });
        FitPreparation {
            schedule,
            preset_text,
            table: table
                .as_ref()
                .map(|t| TableSummary {
                    rows: t.n_rows(),
                    columns: t.columns.clone(),
                    has_header: t.has_header,
                    delimiter: t.delimiter,
                })
                .map_err(|e| e.clone().into()),
            columns,
            model: model
                .as_ref()
                .map(|m| ModelSummary {
                    names: m.param_names(),
                    formula: m.formula(),
                })
                .map_err(|e| e.clone().into()),
            observations: observations
                .map(|o| data_plot(&self.choice(), &o))
                .map_err(JobFailure::from),
            inputs,
            default_start,
            default_bounds,
        }
    }
}

/// The abscissa of each observation and its axis: the step of a loss curve, compute `6ND` for
/// two-input laws, else `x`.
pub fn data_axis(choice: &ModelChoice, o: &Observations) -> (DataAxis, Vec<f64>) {
    let d = &o.data;
    let loss_curve = matches!(
        choice,
        ModelChoice::Builtin {
            model: BuiltinModel::LrAnnealing | BuiltinModel::MultiPowerLaw
        }
    );
    if loss_curve {
        (DataAxis::Step, d.x.clone())
    } else if d.n_inputs == 2 {
        (
            DataAxis::Compute,
            (0..d.len())
                .map(|i| 6.0 * d.row(i)[0] * d.row(i)[1])
                .collect(),
        )
    } else {
        (DataAxis::X, (0..d.len()).map(|i| d.row(i)[0]).collect())
    }
}

fn data_plot(choice: &ModelChoice, o: &Observations) -> DataPlot {
    let (axis, x) = data_axis(choice, o);
    let keep = strided_indices(x.len(), PLOTTED_POINTS);
    DataPlot {
        count: x.len(),
        axis,
        x: pick(&x, &keep),
        y: pick(&o.data.y, &keep),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn input(data: FitData, model: ModelPick) -> FitInput {
        FitInput {
            data,
            columns: ColumnChoice::default(),
            model,
            curve: CurveOptions::default(),
            positive: true,
        }
    }

    #[test]
    fn a_preset_prepares_its_own_law() {
        let p = input(
            FitData::Preset(Preset::Chinchilla),
            ModelPick::Builtin(BuiltinModel::Chinchilla),
        )
        .preparation();
        assert_eq!(p.table.as_ref().unwrap().rows, 54);
        assert_eq!(
            p.model.as_ref().unwrap().names,
            ["E", "A", "B", "alpha", "beta"]
        );
        assert_eq!(p.inputs, ["N", "D"]);
        let o = p.observations.unwrap();
        assert_eq!((o.count, o.axis), (54, DataAxis::Compute));
        assert_eq!(p.default_start.len(), 5);
        assert!(p.preset_text.unwrap().lines().count() > 54);
    }

    #[test]
    fn each_error_stays_with_its_part() {
        let bad_formula = input(
            FitData::Text("x,y\n1,2\n2,3\n3,4\n".into()),
            ModelPick::Formula("a + b*x^(".into()),
        )
        .preparation();
        assert!(bad_formula.table.is_ok() && bad_formula.observations.is_ok());
        assert_eq!(
            bad_formula.model.unwrap_err().code.as_str(),
            "InvalidFormula"
        );
        let bad_row = input(
            FitData::Text("x,y\n1,2\n2,-1\n4,0.5\n".into()),
            ModelPick::Builtin(BuiltinModel::PowerLaw),
        )
        .preparation();
        assert!(bad_row.table.is_ok() && bad_row.model.is_ok());
        let e = bad_row.observations.unwrap_err();
        assert!(e.message.contains("line 3"), "{e:?}");
        let bad_csv = input(
            FitData::Text("x,y\n1,2\n2,oops\n".into()),
            ModelPick::Builtin(BuiltinModel::PowerLaw),
        )
        .preparation();
        assert_eq!(bad_csv.table.unwrap_err().code.as_str(), "InvalidCsv");
    }

    #[test]
    fn a_long_curve_is_thinned_for_the_page_only() {
        let mut text = String::from("step,lr,loss\n");
        for s in 1..=100_000 {
            text.push_str(&format!("{s},0.001,{}\n", 2.0 + 1.0 / (s as f64).sqrt()));
        }
        let i = input(
            FitData::Text(text.into()),
            ModelPick::Builtin(BuiltinModel::LrAnnealing),
        );
        let p = i.preparation();
        let o = p.observations.unwrap();
        assert_eq!(o.count, 100_000);
        assert!(o.x.len() <= PLOTTED_POINTS + 1);
        assert_eq!(i.prepare().ok().unwrap().observations.data.len(), 100_000);
    }

    #[test]
    fn formula_inputs_are_the_column_names_it_uses() {
        assert_eq!(formula_inputs("E + A/N^alpha + B/D^beta"), ["N", "D"]);
        assert_eq!(formula_inputs("c + a*x^(-b)"), ["x"]);
        assert!(formula_inputs("a*Nx").is_empty());
    }
}
