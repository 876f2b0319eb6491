//! The Fit lab's data panel: a generated example, or a CSV pasted, uploaded or dropped; what the
//! worker read from it; and the column mapping.

use std::sync::Arc;

use leptos::prelude::*;
use scalelab_core::fit::presets::Preset;

use super::{FitPage, COLUMN_KEYS};
use crate::format::fmt;
use crate::widgets::file_input::{chosen_file, dropped_file, file_text};
use crate::widgets::text_box::TextBox;

/// The roles each column menu fills, by the model inputs that need it.
fn needed(role: &str, inputs: &[String]) -> bool {
    let has = |n: &str| inputs.iter().any(|m| m == n);
    match role {
        "cy" => true,
        "cx" => has("x"),
        "cn" => has("N") || has("D"),
        "cd" | "cc" => has("D") || has("C"),
        "cs" | "clr" => has("S1") || has("S2") || has("step"),
        _ => false,
    }
}

/// The data panel.
#[component]
pub(super) fn DataPanel(page: FitPage) -> impl IntoView {
    let url = page.url;
    let prep = page.prep();
    let read_file = move |file: web_sys::File| {
        leptos::task::spawn_local(async move {
            if let Some(text) = file_text(&file).await {
                page.set_text(text.into());
            }
        });
    };
    let on_file = move |ev: leptos::ev::Event| {
        if let Some(f) = chosen_file(&ev) {
            read_file(f);
        }
    };
    let on_drop = move |ev: web_sys::DragEvent| {
        if let Some(f) = dropped_file(&ev) {
            read_file(f);
        }
    };
    // The box shows the user's data, or the preset's CSV once the worker has generated it.
    let shown = Memo::new(move |_| {
        page.data
            .get()
            .or_else(|| {
                prep.with(|p| {
                    p.as_ref()
                        .and_then(|p| p.preset_text.as_deref().map(Arc::from))
                })
            })
            .unwrap_or_else(|| Arc::from(""))
    });
    let table_error = Signal::derive(move || {
        prep.with(|p| {
            p.as_ref()
                .and_then(|p| p.table.as_ref().err().map(|e| e.message.clone()))
        })
    });
    let obs_error = Signal::derive(move || {
        prep.with(|p| {
            p.as_ref().and_then(|p| match (&p.table, &p.observations) {
                (Ok(_), Err(e)) => Some(e.message.clone()),
                _ => None,
            })
        })
    });
    let preset_error = Signal::derive(move || page.preset.get().err());
    let column_select = move |key: &'static str, label: &'static str, index: usize| {
        let value = move || {
            prep.with(|p| {
                let c = p.as_ref().map(|p| p.columns).unwrap_or_default();
                [c.x, c.params, c.tokens, c.compute, c.step, c.lr, c.loss][index]
                    .map(|j| j.to_string())
                    .unwrap_or_else(|| "none".into())
            })
        };
        view! {
            <div class="field">
                <label for=format!("map-{key}")>{label}</label>
                <select id=format!("map-{key}") on:change=move |ev| url.set(key, Some(event_target_value(&ev)))
                    prop:value=value>
                    <option value="none">"—"</option>
                    {move || prep.with(|p| p.as_ref().and_then(|p| p.table.as_ref().ok()).map(|t| {
                        t.columns.iter().enumerate().map(|(j, c)| view! { <option value=j.to_string()>{c.clone()}</option> }).collect_view()
                    }))}
                </select>
            </div>
        }
    };

    view! {
        <section class="panel" aria-labelledby="data-heading">
            <h2 id="data-heading">"Data"</h2>
            <div class="controls">
                <div class="field wide" class:invalid=move || preset_error.get().is_some()>
                    <label for="fit-preset">"Generated example"</label>
                    <select id="fit-preset" on:change=move |ev| {
                        url.set_many(&[("preset", Some(event_target_value(&ev))), ("data", None), ("m", None)]);
                    } prop:value=move || if page.data.get().is_some() { String::new() } else { page.preset.get().map(|p| p.name().to_string()).unwrap_or_default() }>
                        <option value="" disabled=true>"Your data"</option>
                        {Preset::ALL.iter().map(|p| view! { <option value=p.name()>{p.label()}</option> }).collect_view()}
                    </select>
                    <p class="field-error" id="preset-error" role="alert">{move || preset_error.get().unwrap_or_default()}</p>
                </div>
                <div class="field">
                    <label for="fit-file">"Upload a CSV"</label>
                    <input id="fit-file" type="file" accept=".csv,.tsv,.txt,text/csv,text/plain" on:change=on_file />
                </div>
            </div>
            <div class="dropzone" on:dragover=move |ev: web_sys::DragEvent| ev.prevent_default() on:drop=on_drop>
                <label for="fit-data">"CSV (with or without a header; comma, semicolon, tab or spaces) — or drop a file here"</label>
                <TextBox id="fit-data" rows=8 text=shown described_by="fit-data-error"
                    invalid=Signal::derive(move || table_error.get().is_some())
                    on_input=Callback::new(move |t: String| page.set_text(t.into())) />
                <p class="field-error" id="fit-data-error" role="alert">{move || table_error.get().unwrap_or_default()}</p>
                <p class="hint" id="fit-table-summary">{move || prep.with(|p| match p.as_ref().map(|p| &p.table) {
                    Some(Ok(t)) => format!("{} rows × {} columns, {}, delimiter {:?}{}", t.rows, t.columns.len(),
                        if t.has_header { "header found" } else { "no header" }, t.delimiter,
                        if page.data_local.get() { " — too large for the link: share the file with it" } else { "" }),
                    Some(Err(_)) => String::new(),
                    None => "Reading the data…".into(),
                })}</p>
            </div>
            <div class="controls" aria-label="Column mapping">
                {move || {
                    let inputs = prep.with(|p| p.as_ref().map(|p| p.inputs.clone()).unwrap_or_default());
                    COLUMN_KEYS.iter().enumerate().filter(|(_, (k, _))| needed(k, &inputs))
                        .map(|(i, (k, label))| column_select(k, label, i)).collect_view()
                }}
            </div>
            <p class="field-error" id="fit-obs-error" role="alert">{move || obs_error.get().unwrap_or_default()}</p>
            <p class="hint" id="fit-obs-summary">{move || prep.with(|p| p.as_ref().and_then(|p| p.observations.as_ref().ok()).map(|o| {
                let (lo, hi) = o.x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
                format!("{} observations; {} from {} to {}", o.count, o.axis.label(), fmt(lo), fmt(hi))
            }).unwrap_or_default())}</p>
        </section>
    }
}
