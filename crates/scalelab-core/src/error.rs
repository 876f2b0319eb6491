//! The one error type of `scalelab-core`.
//!
//! Every variant is structured (no free-form strings except [`CoreError::InvalidValue::reason`]),
//! its message says what to fix, and [`CoreError::code`] gives the variant name, which the npm
//! package publishes as the stable JS `Error.name`.
//!
//! Indices in messages are **0-based**, as in the Rust and JS APIs.

/// Errors returned by the numerics in this crate. No function of this crate panics on user input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
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
    #[error("{what} = {value} is out of range; give a value in [{min}, {max}]")]
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
}

impl CoreError {
    /// The variant name (`"EmptyInput"`, `"NonFinite"`, …): a stable error code for the JS boundary.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::EmptyInput { .. } => "EmptyInput",
            CoreError::NonFinite { .. } => "NonFinite",
            CoreError::NotANumber { .. } => "NotANumber",
            CoreError::OutOfRange { .. } => "OutOfRange",
            CoreError::IndexOutOfRange { .. } => "IndexOutOfRange",
            CoreError::DimensionMismatch { .. } => "DimensionMismatch",
            CoreError::InvalidValue { .. } => "InvalidValue",
        }
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
