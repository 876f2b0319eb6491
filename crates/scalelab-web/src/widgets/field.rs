//! Every lab's text inputs: the parsers of number fields (a specific [`CoreError`] for each way a
//! field can be wrong — never a clamp or a silent default) and the [`Field`] component, whose raw
//! text lives in the URL (or, when too long for a link, in the page) with its error beside it.

use scalelab_core::CoreError;

fn not_a_number(what: &'static str, text: &str, expected: &str) -> CoreError {
    let shown: String = text.chars().take(40).collect();
    CoreError::InvalidValue {
        what,
        reason: format!("“{shown}” is not {expected}"),
    }
}

/// A whole number in `min ..= max` typed into the field for `what`: `InvalidValue` naming the text
/// when it is not a whole number, `OutOfRange` when it is outside the range.
pub fn parse_whole(
    text: &str,
    what: &'static str,
    min: usize,
    max: usize,
) -> Result<usize, CoreError> {
    let t = text.trim();
    let v = t
        .parse::<usize>()
        .map_err(|_| not_a_number(what, t, &format!("a whole number; enter {min} to {max}")))?;
    if !(min..=max).contains(&v) {
        return Err(CoreError::OutOfRange {
            what,
            value: v as f64,
            min: min as f64,
            max: max as f64,
        });
    }
    Ok(v)
}

/// A number typed into the field for `what`: decimal or scientific, `inf`/`−inf` (also `∞`), the
/// Unicode minus accepted; NaN and other text are `InvalidValue`.
pub fn parse_number(text: &str, what: &'static str) -> Result<f64, CoreError> {
    let t = text.trim();
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "∞" => return Ok(f64::INFINITY),
        "-inf" | "−inf" | "-∞" | "−∞" => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    let v: f64 = t
        .replace('\u{2212}', "-")
        .parse()
        .map_err(|_| not_a_number(what, t, "a number (e.g. 0.5, 1e-3, inf)"))?;
    if v.is_nan() {
        return Err(not_a_number(what, t, "a number, not NaN"));
    }
    Ok(v)
}

/// A finite number in `min ..= max`: [`parse_number`], then `OutOfRange` outside the range (or
/// for ±inf).
pub fn parse_in_range(
    text: &str,
    what: &'static str,
    min: f64,
    max: f64,
) -> Result<f64, CoreError> {
    let v = parse_number(text, what)?;
    if v.is_finite() && (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(CoreError::OutOfRange {
            what,
            value: v,
            min,
            max,
        })
    }
}

/// A finite number `> 0`.
pub fn parse_positive(text: &str, what: &'static str) -> Result<f64, CoreError> {
    let v = parse_number(text, what)?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(CoreError::OutOfRange {
            what,
            value: v,
            min: f64::MIN_POSITIVE,
            max: f64::MAX,
        })
    }
}

#[cfg(target_arch = "wasm32")]
pub use component::{Field, Parsed};

#[cfg(target_arch = "wasm32")]
mod component {
    use crate::url_state::UrlState;
    use crate::widgets::text_box::TextBox;
    use leptos::prelude::*;
    use scalelab_core::CoreError;

    /// A field's raw text in the URL under its key (or its default) and what it parses to: the
    /// default is written once, and the error shown beside the field is the parse's.
    pub struct Parsed<T: Send + Sync + 'static> {
        /// The raw text.
        pub text: Signal<String>,
        /// The parsed value, or why the text is wrong.
        pub value: Memo<Result<T, CoreError>>,
    }

    impl<T: Send + Sync + 'static> Clone for Parsed<T> {
        fn clone(&self) -> Self {
            *self
        }
    }

    impl<T: Send + Sync + 'static> Copy for Parsed<T> {}

    impl<T: Clone + PartialEq + Send + Sync + 'static> Parsed<T> {
        /// The field `key` of `url`, `default` when absent, read with `parse`.
        pub fn new(
            url: UrlState,
            key: &'static str,
            default: impl Into<String>,
            parse: impl Fn(&str) -> Result<T, CoreError> + Send + Sync + 'static,
        ) -> Parsed<T> {
            let raw = url.read(key);
            let default = default.into();
            let text = Signal::derive(move || raw.get().unwrap_or_else(|| default.clone()));
            Parsed {
                text,
                value: Memo::new(move |_| text.with(|t| parse(t))),
            }
        }

        /// The value when the text is valid.
        pub fn ok(&self) -> Option<T> {
            self.value.get().ok()
        }

        /// The error to show beside the field.
        pub fn error(&self) -> Signal<Option<String>> {
            let value = self.value;
            Signal::derive(move || value.with(|r| r.as_ref().err().map(|e| e.to_string())))
        }
    }
    use std::sync::Arc;

    /// A text field whose raw text lives in the URL under `key` (see [`UrlState::set`] for text
    /// too long for a link), with its error shown next to it.
    #[component]
    pub fn Field(
        /// The URL query key; the input's name, and its id after `id_prefix`.
        key: &'static str,
        /// The visible label.
        label: &'static str,
        /// The raw text (from the URL).
        #[prop(into)]
        text: Signal<String>,
        /// The parse error to show beside the field, if any.
        #[prop(into)]
        error: Signal<Option<String>>,
        /// A short hint under the field.
        #[prop(optional)]
        hint: &'static str,
        /// Give the field a wider column.
        #[prop(optional)]
        wide: bool,
        /// A multi-line box (for long lists such as logits).
        #[prop(optional)]
        multiline: bool,
        /// Put before `key` in the input's id (e.g. `"fit-"`).
        #[prop(optional)]
        id_prefix: &'static str,
    ) -> impl IntoView {
        let url = UrlState::get();
        let id = format!("{id_prefix}{key}");
        let error_id = format!("{key}-error");
        let described = error_id.clone();
        let on_input = move |ev| url.set(key, Some(event_target_value(&ev)));
        let input = if multiline {
            view! {
                <TextBox id=id.clone() text=Memo::new(move |_| text.with(|t| Arc::<str>::from(t.as_str())))
                    described_by=described
                    invalid=Signal::derive(move || error.get().is_some())
                    on_input=Callback::new(move |t: String| url.set(key, Some(t))) />
            }
            .into_any()
        } else {
            view! {
                <input id=id.clone() name=key type="text" inputmode="decimal" autocomplete="off"
                    spellcheck="false"
                    prop:value=move || text.get()
                    aria-invalid=move || error.get().is_some().to_string()
                    aria-describedby=described
                    on:input=on_input />
            }
            .into_any()
        };
        view! {
            <div class="field" class:wide=wide class:invalid=move || error.get().is_some()>
                <label for=id>{label}</label>
                {input}
                {(!hint.is_empty()).then(|| view! { <small class="hint">{hint}</small> })}
                <p class="field-error" id=error_id role="alert">{move || error.get().unwrap_or_default()}</p>
            </div>
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_name_what_is_wrong() {
        assert_eq!(parse_whole(" 12 ", "n", 1, 20).unwrap(), 12);
        assert_eq!(
            parse_whole("x", "n", 1, 20).unwrap_err().code(),
            "InvalidValue"
        );
        assert_eq!(
            parse_whole("21", "n", 1, 20).unwrap_err().code(),
            "OutOfRange"
        );
        assert_eq!(parse_number("−1e-3", "v").unwrap(), -1e-3);
        assert_eq!(parse_number("inf", "v").unwrap(), f64::INFINITY);
        assert_eq!(parse_number("NaN", "v").unwrap_err().code(), "InvalidValue");
        assert_eq!(parse_in_range("0.5", "λ", 0.0, 1.0).unwrap(), 0.5);
        assert_eq!(
            parse_in_range("1.5", "λ", 0.0, 1.0).unwrap_err().code(),
            "OutOfRange"
        );
        assert_eq!(
            parse_in_range("inf", "λ", 0.0, 1.0).unwrap_err().code(),
            "OutOfRange"
        );
        assert_eq!(parse_positive("0", "δ").unwrap_err().code(), "OutOfRange");
        assert!(parse_whole("abc", "repeats", 2, 9)
            .unwrap_err()
            .to_string()
            .contains("“abc”"));
    }
}
