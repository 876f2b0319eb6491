//! The Fit lab's model panel: the law (or a formula), its parameters' start values and bounds.

use leptos::prelude::*;
use scalelab_core::fit::models::BuiltinModel;

use super::{Entry, FitPage};
use crate::format::fmt_bound;
use crate::widgets::field::{parse_number, Field};

/// One parameter's row: its name, start, lower and upper bound (typed text and parsed value).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ParamRow {
    pub name: String,
    pub start: Entry,
    pub lower: Entry,
    pub upper: Entry,
}

/// The start values and bounds: the URL's (`s0`, `lo0`, `hi0`, …) over the defaults.
#[derive(Clone, Copy)]
pub(super) struct ParamTable(pub Memo<Vec<ParamRow>>);

impl ParamTable {
    pub fn read(page: FitPage) -> ParamTable {
        let url = page.url;
        let prep = page.prep();
        ParamTable(Memo::new(move |_| {
            let Some(p) = prep.get() else {
                return Vec::new();
            };
            let names = p
                .model
                .as_ref()
                .map(|m| m.names.clone())
                .unwrap_or_default();
            names
                .into_iter()
                .enumerate()
                .map(|(i, name)| {
                    let entry = |prefix: &str, default: f64| -> Entry {
                        match url.read(format!("{prefix}{i}")).get() {
                            Some(t) => {
                                let v = parse_number(&t, "parameter value");
                                (t, v)
                            }
                            None => (fmt_bound(default), Ok(default)),
                        }
                    };
                    let bound = p.default_bounds.get(i).copied();
                    ParamRow {
                        start: entry("s", p.default_start.get(i).copied().unwrap_or(1.0)),
                        lower: entry("lo", bound.map_or(f64::NEG_INFINITY, |b| b.0)),
                        upper: entry("hi", bound.map_or(f64::INFINITY, |b| b.1)),
                        name,
                    }
                })
                .collect()
        }))
    }
}

/// The model panel.
#[component]
pub(super) fn ModelPanel(page: FitPage, params: ParamTable) -> impl IntoView {
    let url = page.url;
    let prep = page.prep();
    let formula_error = Signal::derive(move || {
        if page.builtin.get().is_some() {
            return None;
        }
        prep.with(|p| {
            p.as_ref()
                .and_then(|p| p.model.as_ref().err().map(|e| e.message.clone()))
        })
    });
    let on_model = move |ev| {
        let v = event_target_value(&ev);
        // Starting values and bounds belong to the old model.
        let n = params.0.with_untracked(Vec::len).max(8);
        let mut entries: Vec<(String, Option<String>)> = vec![("m".into(), Some(v))];
        for i in 0..n {
            for p in ["s", "lo", "hi"] {
                entries.push((format!("{p}{i}"), None));
            }
        }
        let refs: Vec<(&str, Option<String>)> = entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        url.set_many(&refs);
    };
    let cell = move |i: usize, prefix: &'static str, pick: fn(&ParamRow) -> &Entry| {
        let key = format!("{prefix}{i}");
        let entry = move || params.0.with(|p| p.get(i).map(|r| pick(r).clone()));
        view! {
            <td>
                <input type="text" id=format!("fit-{key}") aria-label=format!("{prefix} {i}")
                    prop:value=move || entry().map(|e| e.0).unwrap_or_default()
                    aria-invalid=move || entry().map(|e| e.1.is_err()).unwrap_or(false).to_string()
                    on:input=move |ev| url.set(&key, Some(event_target_value(&ev))) />
                <span class="field-error" role="alert">{move || entry().and_then(|e| e.1.err()).map(|e| e.to_string()).unwrap_or_default()}</span>
            </td>
        }
    };
    view! {
        <section class="panel" aria-labelledby="model-heading">
            <h2 id="model-heading">"Model"</h2>
            <div class="controls">
                <div class="field wide">
                    <label for="fit-model">"Law"</label>
                    <select id="fit-model" on:change=on_model
                        prop:value=move || page.builtin.get().map(|b| b.name().to_string()).unwrap_or_else(|| "formula".into())>
                        {BuiltinModel::ALL.iter().map(|b| view! { <option value=b.name()>{b.label()}</option> }).collect_view()}
                        <option value="formula">"Custom formula…"</option>
                    </select>
                </div>
                {move || page.builtin.get().is_none().then(|| view! {
                    <Field key="f" id_prefix="fit-" label="Formula (inputs: x, N, D, C, S1, S2, step; other names are parameters)"
                        text=page.formula error=formula_error wide=true />
                })}
            </div>
            <p id="fit-formula-display">"Formula: "<code>{move || prep.with(|p| p.as_ref().and_then(|p| p.model.as_ref().ok()).map(|m| m.formula.clone()).unwrap_or_default())}</code></p>
            <div class="table-scroll">
                <table class="data" id="fit-start-table">
                    <caption>"Starting values and bounds (edit to override the defaults)"</caption>
                    <thead><tr><th scope="col">"parameter"</th><th scope="col">"start"</th><th scope="col">"lower"</th><th scope="col">"upper"</th></tr></thead>
                    <tbody>
                        {move || params.0.with(|rows| rows.iter().enumerate().map(|(i, r)| view! {
                            <tr><th scope="row">{r.name.clone()}</th>
                                {cell(i, "s", |r| &r.start)}{cell(i, "lo", |r| &r.lower)}{cell(i, "hi", |r| &r.upper)}</tr>
                        }).collect_view())}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
