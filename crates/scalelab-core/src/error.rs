//! The one error type of `scalelab-core`.
//!
//! Every variant is structured (free-form text only in the `reason` of [`CoreError::InvalidValue`],
//! [`CoreError::InvalidFormula`] and [`CoreError::InvalidCsv`]),
//! its message says what to fix, and [`CoreError::code`] gives the variant name, which the npm
//! package publishes as the stable JS `Error.name`.
//!
//! Indices in messages are **0-based**, as in the Rust and JS APIs, except the line and column of
//! [`CoreError::InvalidCsv`], which are 1-based as a user sees them in the file.

/// Errors returned by the numerics in this crate. No function of this crate panics on user input.
///
/// [`CoreErrorCode`] is the same list of variants without their fields: the stable codes that cross
/// the worker and JavaScript boundaries.
#[derive(Debug, Clone, PartialEq, thiserror::Error, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(CoreErrorCode),
    derive(
        strum::IntoStaticStr,
        strum::VariantArray,
        Hash,
        serde::Serialize,
        serde::Deserialize
    )
)]
pub enum CoreError {
    /// An input that needs at least one value was empty.
    #[error("{what} is empty; give at least one value")]
    EmptyInput {
        /// The input that was empty (e.g. `"logits"`).
        what: &'static str,
    },

    /// An input contained NaN or ±infinity.
    #[error(
        "{what} has a non-finite value ({value}) at index {index} (0-based); NaN and infinity are \
         not allowed, give finite numbers"
    )]
    NonFinite {
        /// The input that held the value.
        what: &'static str,
        /// 0-based position of the first offending value (0 for a scalar input).
        index: usize,
        /// The offending value.
        value: f64,
    },

    /// A token of typed input is not a number.
    #[error("{what}: “{token}” (item {index}, 0-based) is not a number; type numbers separated by commas or spaces")]
    NotANumber {
        /// The input that held the token.
        what: &'static str,
        /// 0-based position of the token in the list.
        index: usize,
        /// The token (at most 40 characters of it).
        token: String,
    },

    /// A scalar (or a value derived from the inputs) lies outside its allowed closed range.
    #[error(
        "{what} = {value} is out of range; give {}",
        range_text(*min, *max)
    )]
    OutOfRange {
        /// The quantity that is out of range.
        what: &'static str,
        /// The value that was given (or computed).
        value: f64,
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },

    /// An index does not address an element of a sequence.
    #[error(
        "{what} index {index} is out of range for length {len}; give an index from 0 to {last}",
        last = .len.saturating_sub(1)
    )]
    IndexOutOfRange {
        /// The index that was given (e.g. `"target"`).
        what: &'static str,
        /// The 0-based index that was given.
        index: usize,
        /// The length of the sequence it should index.
        len: usize,
    },

    /// Two sizes that must agree do not.
    #[error("size mismatch in {what}: expected {expected}, got {got}; make the sizes agree")]
    DimensionMismatch {
        /// What was measured (states the rule, e.g. "must be a multiple of n_cols").
        what: &'static str,
        /// The size that was expected.
        expected: usize,
        /// The size that was given.
        got: usize,
    },

    /// A value is of the right type but not acceptable (e.g. an unknown precision name).
    #[error("invalid {what}: {reason}")]
    InvalidValue {
        /// The input that was rejected.
        what: &'static str,
        /// Why, and what to give instead.
        reason: String,
    },

    /// Fewer observations (with positive weight) than parameters to fit.
    #[error(
        "{n} observations (with positive weight) for {p} parameters; give at least {p} observations \
         or fit a model with fewer parameters"
    )]
    TooFewPoints {
        /// Observations with positive weight.
        n: usize,
        /// Parameters to fit.
        p: usize,
    },

    /// A value that a logarithm is taken of is zero or negative.
    #[error(
        "{what} at index {index} (0-based) is {value}, but log residual space needs values > 0; \
         remove that row or fit in linear space"
    )]
    LogOfNonPositive {
        /// The input that held the value (e.g. `"y"`).
        what: &'static str,
        /// 0-based position of the first offending value (the observation's row).
        index: usize,
        /// The offending value.
        value: f64,
    },

    /// A weight is negative.
    #[error("weight at index {index} (0-based) is {value}; weights must be ≥ 0 (0 drops the row)")]
    NegativeWeight {
        /// 0-based row of the weight.
        index: usize,
        /// The offending weight.
        value: f64,
    },

    /// A `(lower, upper)` bound pair is not an interval.
    #[error(
        "bounds of parameter {index} (0-based) are [{lower}, {upper}]; give lower < upper \
         (±inf for none, never NaN)"
    )]
    InvalidBounds {
        /// 0-based parameter index.
        index: usize,
        /// The lower bound given.
        lower: f64,
        /// The upper bound given.
        upper: f64,
    },

    /// The model is undefined (non-finite, or ≤ 0 in log residual space) at the start values.
    #[error(
        "the model gives {value} at observation {index} (0-based) for the start values; choose start \
         values where it is finite (and > 0 in log residual space)"
    )]
    ModelUndefined {
        /// 0-based row of the first observation where the model failed.
        index: usize,
        /// The value the model returned.
        value: f64,
    },
    /// A loss-curve step that the learning-rate schedule does not cover (see the step convention
    /// of [`crate::fit::schedule`]).
    #[error(
        "{what} {index} (0-based) is at step {step}, but the learning-rate schedule covers steps 1 \
         to {steps} (step s is after s updates with rates η_1…η_s); {hint}",
        hint = step_hint(*.step, *.steps)
    )]
    StepOutsideSchedule {
        /// What held the step (`"observation"`, `"curve input"`).
        what: &'static str,
        /// 0-based position of the value.
        index: usize,
        /// The step given.
        step: f64,
        /// Steps `T` of the schedule.
        steps: usize,
    },

    /// Temperature scaling has no finite positive optimum on these scores
    /// ([`crate::calibrate::temperature::fit_temperature`]).
    #[error("no finite optimal temperature: {reason}")]
    NoOptimalTemperature {
        /// Which way the optimum runs off, and why.
        reason: String,
    },

    /// A row of classifier scores gives its own label probability 0 (logit −∞), so its NLL is
    /// infinite at every temperature ([`crate::calibrate::Scores::new`]).
    #[error(
        "row {row} (0-based) gives its label probability 0 (logit −∞), so its negative \
         log-likelihood is infinite at every temperature; give the model's logits, or \
         probabilities saved in float64 (float32 softmax outputs underflow to 0 below ~1e-45)"
    )]
    ZeroLabelProbability {
        /// 0-based row.
        row: usize,
    },

    /// A NumPy `.npy` or `.npz` file could not be read ([`crate::io::npy`]).
    #[error("{what}: {reason}")]
    InvalidArrayFile {
        /// The file kind (`"NPY file"`, `"NPZ file"`).
        what: &'static str,
        /// What is wrong and what to give instead.
        reason: String,
    },

    /// A typed formula (custom model) could not be parsed.
    #[error("formula error at character {position} (0-based) near “{token}”: {reason}")]
    InvalidFormula {
        /// 0-based character (not byte) offset of the offending token in the formula.
        position: usize,
        /// The offending token (at most 40 characters; empty at the end of the formula).
        token: String,
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// A cell or line of a CSV table could not be read. Unlike other indices, `row` and `column`
    /// are **1-based**, as a user sees them in a text editor or spreadsheet.
    #[error("CSV line {row}, column {column} (1-based): “{text}”: {reason}")]
    InvalidCsv {
        /// 1-based line of the file where the record starts (the header is usually line 1).
        row: usize,
        /// 1-based column (field) number; 0 when the problem concerns the whole line.
        column: usize,
        /// The offending text (at most 40 characters).
        text: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

fn step_hint(step: f64, steps: usize) -> &'static str {
    if step.fract() != 0.0 || !step.is_finite() {
        "steps must be whole numbers"
    } else if step < 1.0 {
        "a loss before the first update has S1 = 0, where the laws are infinite: drop that row"
    } else if steps > 0 && step > steps as f64 {
        "the schedule is too short for the logged steps: give the rates up to the last logged step"
    } else {
        "give the schedule of every step"
    }
}

impl CoreErrorCode {
    /// The code as text: the variant's name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl CoreError {
    /// The variant name (`"EmptyInput"`, `"NonFinite"`, …): a stable error code for the JS boundary.
    pub fn code(&self) -> &'static str {
        CoreErrorCode::from(self).into()
    }

    /// Checks a row-major batch: `n_cols ≥ 1` (`InvalidValue`), `data.len()` a multiple of `n_cols`
    /// (`DimensionMismatch`), all values finite (`NonFinite` named `what`, flat 0-based index).
    /// An empty batch passes.
    pub(crate) fn check_rows(what: &'static str, data: &[f64], n_cols: usize) -> Result<(), Self> {
        if n_cols == 0 {
            return Err(CoreError::InvalidValue {
                what: "n_cols",
                reason: "the number of columns (classes) per row must be at least 1".into(),
            });
        }
        if !data.len().is_multiple_of(n_cols) {
            return Err(CoreError::DimensionMismatch {
                what: "data length (must be a multiple of n_cols)",
                expected: data.len().div_ceil(n_cols) * n_cols,
                got: data.len(),
            });
        }
        CoreError::check_finite(what, data)
    }

    /// `Err(NonFinite)` for NaN/±inf, `Err(OutOfRange)` for `v ≤ 0`: a scalar that must be a
    /// positive number.
    pub(crate) fn check_positive(what: &'static str, v: f64) -> Result<(), Self> {
        if !v.is_finite() {
            return Err(CoreError::NonFinite {
                what,
                index: 0,
                value: v,
            });
        }
        if v <= 0.0 {
            return Err(CoreError::OutOfRange {
                what,
                value: v,
                min: f64::MIN_POSITIVE,
                max: f64::MAX,
            });
        }
        Ok(())
    }

    /// `Err(EmptyInput)` if `values` is empty, else `Err(NonFinite)` at the first NaN/±inf.
    pub(crate) fn check_finite_nonempty(what: &'static str, values: &[f64]) -> Result<(), Self> {
        if values.is_empty() {
            return Err(CoreError::EmptyInput { what });
        }
        Self::check_finite(what, values)
    }

    /// `Err(NonFinite)` at the first NaN/±inf of `values` (an empty slice is fine).
    pub(crate) fn check_finite(what: &'static str, values: &[f64]) -> Result<(), Self> {
        match values.iter().position(|v| !v.is_finite()) {
            Some(index) => Err(CoreError::NonFinite {
                what,
                index,
                value: values[index],
            }),
            None => Ok(()),
        }
    }
}

/// The allowed range of an [`CoreError::OutOfRange`] for people: `a value in [min, max]`, or
/// `a value > 0` / `a value ≥ min` when the bounds are the format's extremes (`f64::MIN_POSITIVE`
/// stands for "above 0", `f64::MAX` for "no upper bound"), never 300 digits.
fn range_text(min: f64, max: f64) -> String {
    let low = if min == f64::MIN_POSITIVE {
        None
    } else {
        Some(min)
    };
    match (low, max == f64::MAX) {
        (None, true) => "a value > 0".into(),
        (Some(m), true) => format!("a value ≥ {m}"),
        (None, false) => format!("a value in (0, {max}]"),
        (Some(m), false) => format!("a value in [{m}, {max}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_the_variant_name_and_messages_say_what_to_fix() {
        let cases = [
            (
                CoreError::EmptyInput { what: "logits" },
                "EmptyInput",
                "at least one value",
            ),
            (
                CoreError::NonFinite {
                    what: "logits",
                    index: 2,
                    value: f64::NAN,
                },
                "NonFinite",
                "index 2 (0-based)",
            ),
            (
                CoreError::OutOfRange {
                    what: "scale",
                    value: -1.0,
                    min: 0.5,
                    max: 2.0,
                },
                "OutOfRange",
                "give a value in [0.5, 2]",
            ),
            (
                CoreError::IndexOutOfRange {
                    what: "target",
                    index: 3,
                    len: 3,
                },
                "IndexOutOfRange",
                "from 0 to 2",
            ),
            (
                CoreError::DimensionMismatch {
                    what: "rows",
                    expected: 4,
                    got: 3,
                },
                "DimensionMismatch",
                "expected 4, got 3",
            ),
            (
                CoreError::InvalidValue {
                    what: "precision",
                    reason: "unknown name".into(),
                },
                "InvalidValue",
                "invalid precision: unknown name",
            ),
            (
                CoreError::NotANumber {
                    what: "logits",
                    index: 2,
                    token: "abc".into(),
                },
                "NotANumber",
                "“abc” (item 2, 0-based) is not a number",
            ),
            (
                CoreError::TooFewPoints { n: 2, p: 3 },
                "TooFewPoints",
                "2 observations (with positive weight) for 3 parameters",
            ),
            (
                CoreError::LogOfNonPositive {
                    what: "y",
                    index: 4,
                    value: -1.0,
                },
                "LogOfNonPositive",
                "y at index 4 (0-based) is -1",
            ),
            (
                CoreError::NegativeWeight {
                    index: 1,
                    value: -0.5,
                },
                "NegativeWeight",
                "weight at index 1 (0-based) is -0.5",
            ),
            (
                CoreError::InvalidBounds {
                    index: 0,
                    lower: 2.0,
                    upper: 1.0,
                },
                "InvalidBounds",
                "bounds of parameter 0 (0-based) are [2, 1]",
            ),
            (
                CoreError::ModelUndefined {
                    index: 3,
                    value: f64::NAN,
                },
                "ModelUndefined",
                "gives NaN at observation 3 (0-based)",
            ),
            (
                CoreError::InvalidFormula {
                    position: 4,
                    token: "foo".into(),
                    reason: "unknown function".into(),
                },
                "InvalidFormula",
                "character 4 (0-based) near “foo”: unknown function",
            ),
            (
                CoreError::InvalidCsv {
                    row: 3,
                    column: 2,
                    text: "abc".into(),
                    reason: "not a number".into(),
                },
                "InvalidCsv",
                "CSV line 3, column 2 (1-based): “abc”: not a number",
            ),
        ];
        for (err, code, fragment) in cases {
            assert_eq!(err.code(), code);
            let msg = err.to_string();
            assert!(msg.contains(fragment), "{msg:?} lacks {fragment:?}");
        }
    }

    #[test]
    fn check_finite_reports_first_bad_index() {
        assert_eq!(
            CoreError::check_finite("x", &[1.0, f64::INFINITY, f64::NAN]),
            Err(CoreError::NonFinite {
                what: "x",
                index: 1,
                value: f64::INFINITY
            })
        );
        assert_eq!(CoreError::check_finite("x", &[]), Ok(()));
        assert_eq!(
            CoreError::check_finite_nonempty("x", &[]),
            Err(CoreError::EmptyInput { what: "x" })
        );
    }
}
