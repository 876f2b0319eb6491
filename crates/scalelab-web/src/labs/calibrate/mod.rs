//! The Calibrate lab: a classifier's scores — generated, pasted, uploaded or dropped (CSV, JSON,
//! NumPy `.npz`) — analysed in the worker: temperature scaling with its certificate, every metric
//! before and after with bootstrap intervals, reliability diagrams with CORP's consistency band,
//! the NLL against the temperature, the same ECE under five libraries' conventions, the Murphy
//! decomposition and the class-frequency forecaster (ECE is not a proper score); and the
//! class-overlap experiment (Chidambaram & Ge) trained live, one epoch at a time.
//!
//! [`CalibrateLab`] holds the page's state ([`CalibratePage`]: the fields' texts in the URL, a
//! pasted data set or an uploaded file in the page) and lays out [`data`] (the scores),
//! [`results`] (what the analysis returns), [`conventions`] (the convention matrix, ECE against
//! the number of bins, one sample's bins), [`methods`] (every method on a held-out split) and
//! [`overlap`] (the experiment).

mod conventions;
mod data;
mod methods;
mod overlap;
mod results;

use std::sync::Arc;

use leptos::prelude::*;
use scalelab_core::calibrate::binning::{Binning, EdgeConvention};
use scalelab_core::io::scores::ScoreKind;

use crate::job::{use_job, JobHandle};
use crate::url_state::UrlState;
use crate::widgets::field::{parse_in_range, parse_whole, Parsed};
use crate::worker::jobs::calibrate::{Analyse, ScoreSource, MAX_RESAMPLES};

/// Largest number of rows (and classes) of a generated set; the worker also bounds rows × classes.
const MAX_SYNTHETIC_ROWS: usize = 1_000_000;
const MAX_SYNTHETIC_CLASSES: usize = 10_000;
/// Most bins a diagram may have.
const MAX_BINS: usize = 1000;

/// The binnings offered, by URL value, with their labels.
const BINNINGS: [(&str, &str); 7] = [
    ("equal_width", "Equal width, (lo, hi] (Guo et al., gpleiss)"),
    (
        "equal_width_torchmetrics",
        "Equal width, [lo, hi) and conf = 1 apart (torchmetrics)",
    ),
    (
        "equal_width_lower",
        "Equal width, [lo, hi), last bin closed (netcal, numpy.histogram)",
    ),
    ("equal_mass", "Equal mass (adaptive)"),
    ("sklearn_uniform", "scikit-learn uniform"),
    ("sklearn_quantile", "scikit-learn quantile"),
    (
        "equal_mass_midpoints",
        "Equal mass, midpoint edges (Kumar et al.)",
    ),
];

fn binning(key: &str, bins: usize) -> Binning {
    match key {
        "equal_mass" => Binning::EqualMass { bins },
        "sklearn_uniform" => Binning::SklearnUniform { bins },
        "sklearn_quantile" => Binning::SklearnQuantile { bins },
        "equal_mass_midpoints" => Binning::EqualMassMidpoints { bins },
        "equal_width_torchmetrics" => Binning::EqualWidth {
            bins,
            edges: EdgeConvention::LowerClosedExtraBin,
        },
        "equal_width_lower" => Binning::EqualWidth {
            bins,
            edges: EdgeConvention::LowerClosed,
        },
        _ => Binning::EqualWidth {
            bins,
            edges: EdgeConvention::UpperClosed,
        },
    }
}

/// Where the scores come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// Generated in the worker.
    Synthetic,
    /// Pasted or a text file (CSV or JSON).
    Text,
    /// A `.npz` file or two `.npy` files, kept in the page.
    File,
}

impl Source {
    fn key(self) -> &'static str {
        match self {
            Source::Synthetic => "synthetic",
            Source::Text => "text",
            Source::File => "file",
        }
    }

    fn from_key(key: &str) -> Source {
        match key {
            "text" => Source::Text,
            "file" => Source::File,
            _ => Source::Synthetic,
        }
    }
}

/// Uploaded NumPy arrays: a `.npz`, or two `.npy` files (scores and labels, in either order).
#[derive(Clone, PartialEq)]
pub(super) enum Arrays {
    Npz(Arc<Vec<u8>>),
    NpyPair(Arc<Vec<u8>>, Arc<Vec<u8>>),
}

/// Uploaded binary files: their name(s) and bytes, kept in the page.
#[derive(Clone, PartialEq)]
pub(super) struct UploadedFile {
    pub name: String,
    pub arrays: Arrays,
}

impl UploadedFile {
    /// Bytes in all.
    pub fn size(&self) -> usize {
        match &self.arrays {
            Arrays::Npz(b) => b.len(),
            Arrays::NpyPair(a, b) => a.len() + b.len(),
        }
    }

    fn source(&self) -> ScoreSource {
        match &self.arrays {
            Arrays::Npz(b) => ScoreSource::Npz(b.to_vec()),
            Arrays::NpyPair(a, b) => ScoreSource::NpyPair(a.to_vec(), b.to_vec()),
        }
    }
}

/// The page's state, shared by its parts (signal handles: `Copy`).
#[derive(Clone, Copy)]
pub(super) struct CalibratePage {
    pub url: UrlState,
    pub source: Memo<Source>,
    /// The pasted or uploaded text.
    pub text: Memo<Option<Arc<str>>>,
    /// An uploaded `.npz`.
    pub file: RwSignal<Option<UploadedFile>>,
    pub rows: Parsed<usize>,
    pub classes: Parsed<usize>,
    pub scale: Parsed<f64>,
    pub seed: Parsed<usize>,
    pub bins: Parsed<usize>,
    pub resamples: Parsed<usize>,
    /// The binning of the metrics, once its fields are valid.
    pub binning: Memo<Option<Binning>>,
    /// The temperature of the slider on the NLL(T) chart.
    pub slider: Parsed<f64>,
    pub analyse: JobHandle<Analyse>,
}

impl CalibratePage {
    /// Replaces the scores with `text` (pasted, typed, uploaded or dropped).
    pub fn set_text(&self, text: Arc<str>) {
        self.file.set(None);
        self.url.set_shared(&[
            ("src", Some(Source::Text.key().into())),
            ("data", Some(text)),
        ]);
    }

    /// Replaces the scores with an uploaded `.npz`.
    pub fn set_file(&self, file: UploadedFile) {
        self.file.set(Some(file));
        self.url
            .set_many(&[("src", Some(Source::File.key().into())), ("data", None)]);
    }
}

/// The Calibrate lab page.
#[component]
pub fn CalibrateLab() -> impl IntoView {
    let url = UrlState::get();
    let raw = move |key: &'static str, default: &'static str| {
        let r = url.read(key);
        Signal::derive(move || r.get().unwrap_or_else(|| default.to_string()))
    };
    let source_text = raw("src", "synthetic");
    let source = Memo::new(move |_| Source::from_key(&source_text.get()));
    let rows = Parsed::new(url, "rows", "10000", |t| {
        parse_whole(t, "rows", 10, MAX_SYNTHETIC_ROWS)
    });
    let classes = Parsed::new(url, "classes", "10", |t| {
        parse_whole(t, "classes", 2, MAX_SYNTHETIC_CLASSES)
    });
    let scale = Parsed::new(url, "scale", "6", |t| {
        parse_in_range(t, "logit scale", 0.01, 100.0)
    });
    let seed = Parsed::new(url, "seed", "1", |t| {
        parse_whole(t, "seed", 0, u32::MAX as usize)
    });
    let bins = Parsed::new(url, "bins", "15", |t| parse_whole(t, "bins", 1, MAX_BINS));
    let resamples = Parsed::new(url, "res", "200", |t| {
        parse_whole(t, "bootstrap resamples", 0, MAX_RESAMPLES)
    });
    let slider = Parsed::new(url, "tt", "1", |t| {
        parse_in_range(t, "temperature", 0.01, 100.0)
    });
    let binning_key = raw("bin", "equal_width");
    let chosen_binning = Memo::new(move |_| Some(binning(&binning_key.get(), bins.ok()?)));
    let page = CalibratePage {
        url,
        source,
        text: url.read_shared("data"),
        file: RwSignal::new(None),
        rows,
        classes,
        scale,
        seed,
        bins,
        resamples,
        binning: chosen_binning,
        slider,
        analyse: use_job::<Analyse>(),
    };
    let kind_key = raw("kind", "auto");
    // The request, once every field it reads is valid (a bad field shows its error and the last
    // analysis stays on screen).
    let request = Memo::new(move |_| -> Option<Analyse> {
        let seed = seed.ok()?;
        let src = match source.get() {
            Source::Synthetic => ScoreSource::Synthetic {
                rows: rows.ok()?,
                classes: classes.ok()?,
                scale: scale.ok()?,
                seed: seed as u64,
            },
            Source::Text => {
                let text = page.text.get()?;
                if text.trim_start().starts_with('{') {
                    ScoreSource::Json(text)
                } else {
                    ScoreSource::Csv(text)
                }
            }
            Source::File => page.file.with(|f| f.as_ref().map(UploadedFile::source))?,
        };
        Some(Analyse {
            source: src,
            kind: match kind_key.get().as_str() {
                "logits" => Some(ScoreKind::Logits),
                "probabilities" => Some(ScoreKind::Probabilities),
                _ => None,
            },
            binning: chosen_binning.get()?,
            resamples: resamples.ok()?,
            seed: seed as u64,
        })
    });
    Effect::new(move |_| {
        if let Some(r) = request.get() {
            page.analyse.run(r);
        }
    });

    view! {
        <h1>"Calibrate a classifier"</h1>
        <p class="lede">
            "Bring a classifier's logits or probabilities with their labels — or generate a set — and see how \
             (mis)calibrated it is: temperature scaling fitted exactly, every metric with bootstrap intervals, \
             reliability diagrams with CORP's consistency band, and the same ECE under five libraries' conventions. \
             Then train the class-overlap experiment live, where temperature scaling cannot help. \
             Your data never leave your browser."
        </p>
        <data::DataPanel page=page binning_key=binning_key kind_key=kind_key />
        <results::ResultPanel page=page />
        <conventions::ConventionsPanel page=page />
        <methods::MethodsPanel page=page />
        <overlap::OverlapPanel />
    }
}
