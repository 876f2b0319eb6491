//! The Calibrate lab's data panel: a generated set or a preset, or scores pasted, uploaded or
//! dropped (CSV and JSON as text, `.npz` as bytes), and the analysis' options.

use std::sync::Arc;

use leptos::prelude::*;

use scalelab_core::CoreErrorCode;

use super::{Arrays, CalibratePage, Source, UploadedFile, BINNINGS};
use crate::job::JobState;
use crate::widgets::field::Field;
use crate::widgets::file_input::{chosen_files, dropped_files, file_bytes, file_text};
use crate::widgets::text_box::TextBox;
use crate::worker::protocol::ErrorCode;

/// Four rows whose temperature has a closed form: logits (3, 0) three times with labels 0, 0, 1
/// and (0, 3) with label 1, so the scaled model must give 3/4 to its top class: T* = 3 / ln 3.
pub const CLOSED_FORM_CSV: &str = "label,a,b\n0,3,0\n0,3,0\n1,3,0\n1,0,3\n";

/// torchmetrics' `multiclass_calibration_error` docstring example: four rows of three-class
/// probabilities, 3 bins `[lo, hi)`: ECE 0.2000, RMS 0.2082, MCE 0.2333 (science.md §7 item 11).
pub const TORCHMETRICS_MULTICLASS_CSV: &str =
    "label,p0,p1,p2\n0,0.25,0.2,0.55\n1,0.55,0.05,0.4\n2,0.1,0.3,0.6\n0,0.9,0.05,0.05\n";

/// science.md §7 item 12's bin-edge example as probability rows: confidences 0.75, 0.75, 0.9 and
/// exactly 1 (a probability of 0 beside it), correct, wrong, correct, correct; with 4 bins Guo's
/// `(lo, hi]` gives ECE 0.15 and torchmetrics' `[lo, hi)` with its conf = 1 bin 0.10.
pub const BIN_EDGE_CSV: &str = "label,p0,p1\n0,0.75,0.25\n1,0.75,0.25\n0,0.9,0.1\n0,1,0\n";

/// A preset: its value, its label, the URL entries it sets (each preset sets the values' kind and
/// the binning too), and its scores as text (if any).
type Preset = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    Option<&'static str>,
);

const PRESETS: [Preset; 5] = [
    (
        "overconfident",
        "Overconfident: 10 000 × 10 generated logits at scale 6 (T* ≈ 2.6)",
        &[
            ("src", "synthetic"),
            ("rows", "10000"),
            ("classes", "10"),
            ("scale", "6"),
            ("seed", "1"),
            ("kind", "auto"),
            ("bin", "equal_width"),
            ("bins", "15"),
        ],
        None,
    ),
    (
        "underconfident",
        "Less confident: 10 000 × 10 at scale 1.5",
        &[
            ("src", "synthetic"),
            ("rows", "10000"),
            ("classes", "10"),
            ("scale", "1.5"),
            ("seed", "1"),
            ("kind", "auto"),
            ("bin", "equal_width"),
            ("bins", "15"),
        ],
        None,
    ),
    (
        "closed_form",
        "Closed form: 4 rows, T* = 3 / ln 3 = 2.7307",
        &[
            ("src", "text"),
            ("kind", "auto"),
            ("bin", "equal_width"),
            ("bins", "15"),
        ],
        Some(CLOSED_FORM_CSV),
    ),
    (
        "torchmetrics_multiclass",
        "torchmetrics docstring: 4 rows × 3 probabilities, 3 bins [lo, hi) (ECE 0.2)",
        &[
            ("src", "text"),
            ("kind", "probabilities"),
            ("bin", "equal_width_torchmetrics"),
            ("bins", "3"),
        ],
        Some(TORCHMETRICS_MULTICLASS_CSV),
    ),
    (
        "bin_edge",
        "Bin edges: confidences 0.75, 0.75, 0.9 and 1 in 4 bins (Guo 0.15, torchmetrics 0.10)",
        &[
            ("src", "text"),
            ("kind", "probabilities"),
            ("bin", "equal_width"),
            ("bins", "4"),
        ],
        Some(BIN_EDGE_CSV),
    ),
];

/// Whether a failure of the analysis is about the scores themselves (shown beside them).
fn is_data_error(code: ErrorCode) -> bool {
    use CoreErrorCode as C;
    matches!(
        code,
        ErrorCode::Core(
            C::EmptyInput
                | C::NonFinite
                | C::NotANumber
                | C::IndexOutOfRange
                | C::DimensionMismatch
                | C::InvalidValue
                | C::InvalidArrayFile
                | C::InvalidCsv
                | C::NoOptimalTemperature
                | C::ZeroLabelProbability
                | C::LogOfNonPositive
        )
    )
}

/// The data panel.
#[component]
pub(super) fn DataPanel(
    page: CalibratePage,
    /// The binning's URL value.
    binning_key: Signal<String>,
    /// Logits, probabilities or detected.
    kind_key: Signal<String>,
) -> impl IntoView {
    let url = page.url;
    // A file the page cannot take (one `.npy` alone, three files): said beside the data.
    let file_error = RwSignal::new(None::<String>);
    let read_files = move |files: Vec<web_sys::File>| {
        let names: Vec<String> = files.iter().map(|f| f.name()).collect();
        file_error.set(None);
        leptos::task::spawn_local(async move {
            let is = |ext: &str| names.iter().all(|n| n.to_ascii_lowercase().ends_with(ext));
            match files.as_slice() {
                [f] if is(".npz") => {
                    if let Some(bytes) = file_bytes(f).await {
                        page.set_file(UploadedFile {
                            name: names.join(""),
                            arrays: Arrays::Npz(Arc::new(bytes)),
                        });
                    }
                }
                [a, b] if is(".npy") => {
                    if let (Some(a), Some(b)) = (file_bytes(a).await, file_bytes(b).await) {
                        page.set_file(UploadedFile {
                            name: names.join(" + "),
                            arrays: Arrays::NpyPair(Arc::new(a), Arc::new(b)),
                        });
                    }
                }
                [_] if is(".npy") => file_error.set(Some(format!(
                    "{} holds one array: choose the scores' and the labels' .npy files together",
                    names[0]
                ))),
                [f] => {
                    if let Some(text) = file_text(f).await {
                        page.set_text(text.into());
                    }
                }
                [] => {}
                _ => file_error.set(Some(format!(
                    "{} files chosen: give one CSV, JSON or .npz file, or two .npy files (scores and labels)",
                    names.len()
                ))),
            }
        });
    };
    let on_file = move |ev: leptos::ev::Event| read_files(chosen_files(&ev));
    let on_drop = move |ev: web_sys::DragEvent| read_files(dropped_files(&ev));
    let apply_preset = move |value: String| {
        let Some((_, _, entries, text)) = PRESETS.iter().find(|(v, _, _, _)| *v == value) else {
            return;
        };
        page.file.set(None);
        let mut all: Vec<(&str, Option<Arc<str>>)> = entries
            .iter()
            .map(|(k, v)| (*k, Some(Arc::from(*v))))
            .collect();
        all.push(("data", text.map(Arc::from)));
        url.set_shared(&all);
    };
    let text = Memo::new(move |_| page.text.get().unwrap_or_else(|| Arc::from("")));
    // The worker's reading errors (a bad cell, a ragged row, a label out of range, a file that
    // is not an array, scores no temperature calibrates) belong to the data, by their code.
    let data_error = Signal::derive(move || {
        if let Some(e) = file_error.get() {
            return Some(e);
        }
        page.analyse.state().with(|s| match s {
            JobState::Failed(f) if is_data_error(f.code) => Some(f.message.clone()),
            _ => None,
        })
    });
    let is = move |s: Source| move || page.source.get() == s;
    view! {
        <section class="panel" aria-labelledby="cal-data-heading">
            <h2 id="cal-data-heading">"Scores"</h2>
            <div class="controls">
                <div class="field wide">
                    <label for="cal-preset">"Example"</label>
                    <select id="cal-preset" on:change=move |ev| apply_preset(event_target_value(&ev))>
                        <option value="" selected=true>"Choose an example…"</option>
                        {PRESETS.iter().map(|(v, l, _, _)| view! { <option value=*v>{*l}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="cal-src">"Source"</label>
                    <select id="cal-src" on:change=move |ev| url.set("src", Some(event_target_value(&ev)))
                        prop:value=move || page.source.get().key()>
                        <option value="synthetic">"Generated"</option>
                        <option value="text">"Pasted or a CSV / JSON file"</option>
                        <option value="file" disabled=move || page.file.with(|f| f.is_none())>"An .npz or two .npy files"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="cal-file">"Upload CSV, JSON, .npz, or two .npy (scores and labels)"</label>
                    <input id="cal-file" type="file" multiple=true accept=".csv,.tsv,.txt,.json,.npz,.npy,text/csv,application/json" on:change=on_file />
                </div>
            </div>
            <Show when=is(Source::Synthetic)>
                <p class="hint">"Logits z = scale·(g + 3u·e_y), with g a standard normal vector, u a standard normal number and e_y the label's one-hot, seeded: the larger the scale, the more overconfident (T* ≈ 2.6 at scale 6 with 10 classes)."</p>
                <div class="controls">
                    <Field key="rows" label="Rows" text=page.rows.text error=page.rows.error() id_prefix="cal-" hint="10 to 1 000 000" />
                    <Field key="classes" label="Classes" text=page.classes.text error=page.classes.error() id_prefix="cal-" hint="2 to 10 000" />
                    <Field key="scale" label="Logit scale" text=page.scale.text error=page.scale.error() id_prefix="cal-" hint="> 3 overconfident" />
                    <Field key="seed" label="Seed" text=page.seed.text error=page.seed.error() id_prefix="cal-" />
                </div>
            </Show>
            <Show when=is(Source::File)>
                <p class="hint" id="cal-file-summary">{move || page.file.with(|f| f.as_ref().map(|f| format!(
                    "{} — {:.1} KiB, kept in this page (the link cannot carry it)", f.name, f.size() as f64 / 1024.0)))}</p>
            </Show>
            <div class="dropzone" on:dragover=move |ev: web_sys::DragEvent| ev.prevent_default() on:drop=on_drop>
                <label for="cal-data">"CSV (a label column and one column per class) or JSON {\"logits\": [[…]], \"labels\": […]} — or drop a file here. Probabilities are read as given at T = 1; a 0 is the logit −∞ (vector and matrix scaling refuse it)."</label>
                <TextBox id="cal-data" rows=6 text=text described_by="cal-data-error"
                    invalid=Signal::derive(move || data_error.get().is_some())
                    on_input=Callback::new(move |t: String| {
                        file_error.set(None);
                        page.set_text(t.into());
                    }) />
                <p class="field-error" id="cal-data-error" role="alert">{move || data_error.get().unwrap_or_default()}</p>
            </div>
            <div class="controls">
                <div class="field">
                    <label for="cal-kind">"The values are"</label>
                    <select id="cal-kind" on:change=move |ev| url.set("kind", Some(event_target_value(&ev)))
                        prop:value=move || kind_key.get()>
                        <option value="auto">"detected"</option>
                        <option value="logits">"logits"</option>
                        <option value="probabilities">"probabilities"</option>
                    </select>
                </div>
                <div class="field wide">
                    <label for="cal-bin">"Binning (diagrams and ECE)"</label>
                    <select id="cal-bin" on:change=move |ev| url.set("bin", Some(event_target_value(&ev)))
                        prop:value=move || binning_key.get()>
                        {BINNINGS.iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
                    </select>
                </div>
                <Field key="bins" label="Bins" text=page.bins.text error=page.bins.error() id_prefix="cal-" hint="1 to 1000" />
                <Field key="res" label="Bootstrap resamples" text=page.resamples.text error=page.resamples.error() id_prefix="cal-" hint="0 (none) to 5000" />
            </div>
        </section>
    }
}
