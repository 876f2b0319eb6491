//! Parsing user-typed input with validation.

use crate::CoreError;

pub mod csv;
pub mod npy;
pub mod scores;

/// Most values one list may hold (keeps a pasted file from exhausting memory).
pub const MAX_LIST_LEN: usize = 1_000_000;

/// Parses a list of numbers separated by commas, semicolons or whitespace (`"2, 1 0.5;-1"`), with
/// optional surrounding brackets (`"[0, 1, 2]"`), as typed or pasted by a user.
///
/// Errors: [`CoreError::EmptyInput`] for no numbers, [`CoreError::NotANumber`] naming the first token
/// that does not parse (0-based index), [`CoreError::NonFinite`] for `NaN`/`inf`, and
/// [`CoreError::OutOfRange`] for more than [`MAX_LIST_LEN`] values.
pub fn parse_numbers(text: &str, what: &'static str) -> Result<Vec<f64>, CoreError> {
    let trimmed = text.trim();
    let inner = trimmed
        .strip_prefix('[')
        .map(|t| t.strip_suffix(']').unwrap_or(t))
        .unwrap_or(trimmed);
    let mut out = Vec::new();
    for (index, token) in inner
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .enumerate()
    {
        if index >= MAX_LIST_LEN {
            return Err(CoreError::OutOfRange {
                what,
                value: (index + 1) as f64,
                min: 1.0,
                max: MAX_LIST_LEN as f64,
            });
        }
        // Accept the typographic minus sign that papers and slides use.
        let normalised = token.replace('\u{2212}', "-");
        let value: f64 = normalised.parse().map_err(|_| CoreError::NotANumber {
            what,
            index,
            token: token.chars().take(40).collect(),
        })?;
        if !value.is_finite() {
            return Err(CoreError::NonFinite { what, index, value });
        }
        out.push(value);
    }
    if out.is_empty() {
        return Err(CoreError::EmptyInput { what });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_separators_and_brackets() {
        assert_eq!(
            parse_numbers("2, 1 0.5;-1", "logits"),
            Ok(vec![2.0, 1.0, 0.5, -1.0])
        );
        assert_eq!(
            parse_numbers(" [0, 1, 2] ", "logits"),
            Ok(vec![0.0, 1.0, 2.0])
        );
        assert_eq!(parse_numbers("1e3,\n−5", "logits"), Ok(vec![1000.0, -5.0]));
    }

    #[test]
    fn names_the_offending_token() {
        assert_eq!(
            parse_numbers("1, two, 3", "logits"),
            Err(CoreError::NotANumber {
                what: "logits",
                index: 1,
                token: "two".into()
            })
        );
        assert_eq!(
            parse_numbers("  ", "logits"),
            Err(CoreError::EmptyInput { what: "logits" })
        );
        assert_eq!(
            parse_numbers("[]", "logits"),
            Err(CoreError::EmptyInput { what: "logits" })
        );
        assert!(matches!(
            parse_numbers("1, NaN", "logits"),
            Err(CoreError::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            parse_numbers("inf", "logits"),
            Err(CoreError::NonFinite { index: 0, .. })
        ));
        assert!(matches!(
            parse_numbers("1e400", "logits"),
            Err(CoreError::NonFinite { index: 0, .. })
        ));
    }
}
