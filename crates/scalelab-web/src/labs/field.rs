//! A text field whose raw text lives in the URL, with its error shown beside it (every lab's inputs),
//! and the parser of whole-number fields.

use crate::url_state::UrlState;
use leptos::prelude::*;
use scalelab_core::CoreError;

/// A whole number in `min ..= max` typed into the field for `what`: `InvalidValue` naming the text
/// when it is not a whole number, `OutOfRange` when it is outside the range.
pub fn parse_whole(
    text: &str,
    what: &'static str,
    min: usize,
    max: usize,
) -> Result<usize, CoreError> {
    let t = text.trim();
    let v = t.parse::<usize>().map_err(|_| CoreError::InvalidValue {
        what,
        reason: format!("“{t}” is not a whole number; enter {min} to {max}"),
    })?;
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

/// A text field whose raw text lives in the URL under `key`, with its error shown next to it.
#[component]
pub fn Field(
    /// The URL query key, also the input's id and name.
    key: &'static str,
    /// The visible label.
    label: &'static str,
    /// The raw text (from the URL).
    text: Signal<String>,
    /// The parse error to show beside the field, if any.
    error: Signal<Option<String>>,
    /// A short hint under the field.
    #[prop(optional)]
    hint: &'static str,
    /// Give the field a wider column.
    #[prop(optional)]
    wide: bool,
) -> impl IntoView {
    let url = UrlState::get();
    let error_id = format!("{key}-error");
    let described = error_id.clone();
    view! {
        <div class="field" class:wide=wide class:invalid=move || error.get().is_some()>
            <label for=key>{label}</label>
            <input
                id=key
                name=key
                type="text"
                inputmode="decimal"
                autocomplete="off"
                spellcheck="false"
                prop:value=move || text.get()
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=described
                on:input=move |ev| url.set(key, Some(event_target_value(&ev)))
            />
            {(!hint.is_empty()).then(|| view! { <small class="hint">{hint}</small> })}
            <p class="field-error" id=error_id role="alert">{move || error.get().unwrap_or_default()}</p>
        </div>
    }
}
