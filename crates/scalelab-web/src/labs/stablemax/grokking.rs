//! The grokking trainer (Prieto et al., ICLR 2025, §§3–5; science.md §1): modular arithmetic
//! learned by an MLP with full-batch training in the worker, one epoch of each run per unit,
//! charted live — accuracy, loss, Softmax Collapse, weight and logit norms, the update's cosine
//! with the weights (the naïve-loss-minimisation direction) and the first layer's Fourier
//! spectrum. A second run trains beside the first on the same split from the same weights.

use leptos::prelude::*;
use scalelab_core::grokking::{ConfigField, EpochMetrics, Fourier, Preset};

use super::grokking_form::{
    Choice, Form, BACKENDS, COMPARE, FLAGS, FORMATS, LOSSES, OPS, OPTIMIZERS, ORTHOGONAL,
    PRECISIONS,
};
use crate::job::{now_ms, use_job, JobState};
use crate::plot::{Chart, ChartSpec, ScaleKind, Series, SeriesKind, PALETTE};
use crate::url_state::UrlState;
use crate::widgets::field::Field;
use crate::widgets::job_status::JobStatus;
use crate::worker::device::Backend;
use crate::worker::jobs::grokking::{RunEvent, Train};

/// The six per-epoch charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plot {
    Accuracy,
    Loss,
    Collapse,
    Cosine,
    Norms,
    Logits,
}

/// One line of a chart, kept as columns so that a redraw copies two arrays.
#[derive(Debug, Clone, Default, PartialEq)]
struct Column {
    plot: Option<Plot>,
    name: String,
    x: Vec<f64>,
    y: Vec<f64>,
}

/// What the page keeps of one run.
#[derive(Debug, Clone, Default, PartialEq)]
struct RunTrace {
    columns: Vec<Column>,
    last: Option<EpochMetrics>,
    last_test: Option<f64>,
    fourier: Option<(u64, Fourier)>,
    millis: f64,
    stopped: Option<String>,
    /// Where it trains, the GPU's adapter, and why it is on the CPU when it asked for the GPU.
    backend: Option<(Backend, Option<String>, Option<String>)>,
}

impl RunTrace {
    /// `GPU (adapter)` or `CPU`, with the notice of a fallback.
    fn backend_line(&self) -> String {
        match &self.backend {
            None => String::new(),
            Some((Backend::Gpu, adapter, _)) => {
                format!("GPU ({})", adapter.as_deref().unwrap_or("unknown adapter"))
            }
            Some((Backend::Cpu, _, notice)) => match notice {
                Some(n) => format!("CPU, f32 (WebAssembly SIMD128) — {n}"),
                None => "CPU, f32 (WebAssembly SIMD128)".to_owned(),
            },
        }
    }
}

/// Tensor names in PyTorch's order (`W1, [b1,] W2, …`).
fn tensor_names(count: usize, bias: bool) -> Vec<String> {
    (0..count)
        .map(|i| match (bias, i % 2) {
            (true, 0) => format!("W{}", i / 2 + 1),
            (true, _) => format!("b{}", i / 2 + 1),
            (false, _) => format!("W{}", i + 1),
        })
        .collect()
}

/// Every line's value at one epoch, in a fixed order (`None`: no point; a log axis gets only
/// positive values).
fn values(m: &EpochMetrics) -> impl Iterator<Item = Option<f64>> + '_ {
    let pos = |v: f64| (v > 0.0).then_some(v);
    [
        Some(m.train_accuracy),
        m.test.map(|t| t.accuracy),
        pos(m.train_loss),
        m.test.and_then(|t| pos(t.loss)),
        Some(m.sc_fraction),
        Some(m.zero_loss_fraction),
        pos(m.logit_norm),
    ]
    .into_iter()
    .chain(m.update_cosine.iter().map(|&c| Some(c)))
    .chain(m.weight_norms.iter().map(move |&w| pos(w)))
}

/// The lines [`values`] fills, with their charts and names.
fn columns(m: &EpochMetrics, bias: bool) -> Vec<Column> {
    let names = tensor_names(m.weight_norms.len(), bias);
    let fixed = [
        (Plot::Accuracy, "train"),
        (Plot::Accuracy, "test"),
        (Plot::Loss, "train"),
        (Plot::Loss, "test"),
        (Plot::Collapse, "SC"),
        (Plot::Collapse, "zero loss"),
        (Plot::Logits, "logits"),
    ]
    .map(|(p, n)| (p, n.to_string()));
    fixed
        .into_iter()
        .chain(names.iter().map(|n| (Plot::Cosine, n.clone())))
        .chain(names.iter().map(|n| (Plot::Norms, n.clone())))
        .map(|(plot, name)| Column {
            plot: Some(plot),
            name,
            ..Column::default()
        })
        .collect()
}

impl RunTrace {
    fn push(&mut self, metrics: EpochMetrics, bias: bool) {
        if self.columns.is_empty() {
            self.columns = columns(&metrics, bias);
        }
        let x = metrics.epoch as f64;
        for (c, v) in self.columns.iter_mut().zip(values(&metrics)) {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                c.x.push(x);
                c.y.push(v);
            }
        }
        if let Some(t) = metrics.test {
            self.last_test = Some(t.accuracy);
        }
        self.last = Some(metrics);
    }
}

const RUN_NAMES: [&str; 2] = ["A", "B"];

/// The charts redraw at most this often while a run streams.
const DRAW_EVERY_MS: f64 = 250.0;

/// A chart of one plot's lines of both runs.
fn runs_chart(runs: &[RunTrace; 2], plot: Plot, title: &str, axis: (&str, ScaleKind)) -> ChartSpec {
    let mut series = Vec::new();
    for (r, run) in runs.iter().enumerate() {
        for (i, c) in run
            .columns
            .iter()
            .filter(|c| c.plot == Some(plot))
            .enumerate()
        {
            let color = PALETTE[(r * 3 + i) % PALETTE.len()];
            let name = format!("{} {}", RUN_NAMES[r], c.name);
            series.push(Series::new(
                name,
                SeriesKind::Line,
                c.x.clone(),
                c.y.clone(),
                color,
            ));
        }
    }
    if series.is_empty() {
        return ChartSpec::pending(
            title,
            "Press Start: the network trains in the worker, one epoch at a time.",
        );
    }
    ChartSpec::new(title, ("epoch", ScaleKind::Linear), axis, series)
}

/// The Fourier spectra of both runs' last evaluations, as fractions of the power at k ≥ 1.
fn fourier_chart(runs: &[RunTrace; 2]) -> ChartSpec {
    let title = "First layer's embedding: power per frequency k";
    let mut series = Vec::new();
    for (r, run) in runs.iter().enumerate() {
        let Some((epoch, f)) = &run.fourier else {
            continue;
        };
        for (i, (name, power)) in [("a", &f.first), ("b", &f.second)].into_iter().enumerate() {
            let total: f64 = power.iter().skip(1).sum();
            let (x, y) = power
                .iter()
                .enumerate()
                .skip(1)
                .map(|(k, p)| (k as f64, if total > 0.0 { p / total } else { 0.0 }))
                .unzip();
            series.push(Series::new(
                format!("{} operand {name} (epoch {epoch})", RUN_NAMES[r]),
                SeriesKind::Line,
                x,
                y,
                PALETTE[(r * 3 + i) % PALETTE.len()],
            ));
        }
    }
    if series.is_empty() {
        return ChartSpec::pending(title, "The spectrum appears at the first evaluated epoch.");
    }
    ChartSpec::new(
        title,
        ("frequency k", ScaleKind::Linear),
        ("fraction of power (k ≥ 1)", ScaleKind::Linear),
        series,
    )
}

/// A select bound to a [`Choice`].
#[component]
fn Select<T: Copy + PartialEq + Send + Sync + 'static>(
    choice: Choice<T>,
    label: &'static str,
    options: &'static [(&'static str, T)],
    names: &'static [&'static str],
) -> impl IntoView {
    let url = UrlState::get();
    let key = choice.key;
    let error = choice.error();
    let text = choice.text;
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=key>{label}</label>
            <select id=key on:change=move |ev| url.set(key, Some(event_target_value(&ev)))
                prop:value=move || text.get()
                aria-describedby=format!("{key}-error")>
                {options.iter().zip(names).map(|((k, _), name)| view! { <option value=*k>{*name}</option> }).collect_view()}
            </select>
            <p class="field-error" id=format!("{key}-error") role="alert">{move || error.get().unwrap_or_default()}</p>
        </div>
    }
}

/// The trainer's panel.
#[component]
pub fn GrokkingPanel() -> impl IntoView {
    let url = UrlState::get();
    let form = Form::new(url);
    let job = use_job::<Train>();
    // The traces grow by an epoch of each run per event; the charts redraw from them at most
    // every DRAW_EVERY_MS (and when the run pauses or ends), so a run of 10⁵ epochs costs the
    // page a few redraws a second, not one per epoch.
    let traces = StoredValue::new(<[RunTrace; 2]>::default());
    let drawn = RwSignal::new(0u64);
    let last_draw = StoredValue::new(f64::NEG_INFINITY);
    let redraw = move || {
        last_draw.set_value(now_ms());
        drawn.update(|v| *v += 1);
    };
    let bias = Memo::new(move |_| form.bias.ok().unwrap_or(false));
    job.on_partials(move |events| {
        let bias = bias.get_untracked();
        traces.update_value(|t| {
            for e in events {
                match e {
                    RunEvent::Epoch {
                        run,
                        metrics,
                        fourier,
                        millis,
                    } => {
                        let r = &mut t[run as usize];
                        if let Some(f) = fourier {
                            r.fourier = Some((metrics.epoch, f));
                        }
                        r.millis = millis;
                        r.push(metrics, bias);
                    }
                    RunEvent::Stopped { run, failure } => {
                        t[run as usize].stopped = Some(failure.message);
                    }
                    RunEvent::Backend {
                        run,
                        backend,
                        adapter,
                        notice,
                    } => {
                        t[run as usize].backend = Some((backend, adapter, notice));
                    }
                }
            }
        });
        if now_ms() - last_draw.get_value() >= DRAW_EVERY_MS {
            redraw();
        }
    });
    let state = job.state();
    Effect::new(move |_| {
        let (idle, settled) = state.with(|s| {
            (
                *s == JobState::Idle,
                !matches!(s, JobState::Running { paused: false, .. }),
            )
        });
        if idle {
            traces.set_value(Default::default());
        }
        if settled {
            redraw();
        }
    });
    let start = move || {
        if let (Some(runs), Some(epochs), Some(backend)) =
            (form.runs(), form.epochs.ok(), form.backend.ok())
        {
            traces.set_value(Default::default());
            redraw();
            job.run(Train {
                runs,
                epochs: epochs as u64,
                backend,
            });
        }
    };
    let can_start = Memo::new(move |_| {
        matches!(form.checked.get(), Some(Ok(_)))
            && form.epochs.ok().is_some()
            && form.backend.ok().is_some()
    });

    let chart = move |plot: Plot, title: &'static str, axis: (&'static str, ScaleKind)| {
        Signal::derive(move || {
            drawn.track();
            traces.with_value(|t| runs_chart(t, plot, title, axis))
        })
    };
    let accuracy = chart(Plot::Accuracy, "Accuracy", ("accuracy", ScaleKind::Linear));
    let loss = chart(Plot::Loss, "Loss", ("mean loss", ScaleKind::Log));
    let collapse = chart(
        Plot::Collapse,
        "Softmax Collapse",
        ("fraction of training samples", ScaleKind::Linear),
    );
    let norms = chart(Plot::Norms, "Weight norms ‖w‖₂", ("norm", ScaleKind::Log));
    let logits = chart(
        Plot::Logits,
        "Logit norm (mean over training samples)",
        ("‖z‖₂", ScaleKind::Log),
    );
    let cosine = chart(
        Plot::Cosine,
        "Update against the weights: cos(Δθ, θ)",
        ("cosine (1 = scaling the weights)", ScaleKind::Linear),
    );
    let fourier = Signal::derive(move || {
        drawn.track();
        traces.with_value(fourier_chart)
    });

    let summary = Signal::derive(move || {
        drawn.track();
        traces.with_value(|t| {
            t.iter()
                .enumerate()
                .filter_map(|(r, run)| {
                    let last = run.last.as_ref()?;
                    let speed = if run.millis > 0.0 {
                        last.epoch as f64 / (run.millis / 1000.0)
                    } else {
                        0.0
                    };
                    let test = run
                        .last_test
                        .map_or(String::new(), |a| format!(", test accuracy {a:.3}"));
                    let stopped = run
                        .stopped
                        .as_ref()
                        .map_or(String::new(), |s| format!(" — stopped: {s}"));
                    Some(format!(
                        "{}: epoch {}{test}, {speed:.1} epochs/s on {}{stopped}",
                        RUN_NAMES[r],
                        last.epoch,
                        run.backend_line()
                    ))
                })
                .collect::<Vec<_>>()
                .join(" · ")
        })
    });
    let cost_line = move || {
        form.checked.with(|c| match c {
            Some(Ok(cost)) => format!(
                "{} parameters · {:.1} MiB · {:.2} GFLOP per epoch, {:.2} GFLOP per test evaluation",
                cost.parameters,
                cost.bytes as f64 / (1 << 20) as f64,
                cost.train_flops as f64 / 1e9,
                cost.eval_flops as f64 / 1e9
            ),
            _ => String::new(),
        })
    };
    let memory_error = form.config_error(ConfigField::Memory);
    let preset_value =
        Signal::derive(move || form.preset().map_or("custom", Preset::key).to_string());
    let on_preset = move |ev| {
        let key = event_target_value(&ev);
        if let Some(p) = Preset::ALL.into_iter().find(|p| p.key() == key) {
            Form::apply(url, p);
        }
    };
    let f = form;
    view! {
        <section class="panel" id="grokking" aria-labelledby="grok-heading">
            <h2 id="grok-heading">"Grokking at the edge of numerical stability"</h2>
            <p>"A two-layer MLP learns (a ∘ b) mod p from 40 % of the pairs with full-batch training. With softmax cross-entropy and no regularisation the logits grow until their exp-sum rounds to 1 (Softmax Collapse): the gradient vanishes and the test accuracy never rises. StableMax cross-entropy or ⊥AdamW (the gradient projected orthogonally to the weights) let it generalise — grokking. Everything trains here, in the worker; a second run can train beside the first on the same split from the same weights."</p>
            <div class="controls">
                <div class="field">
                    <label for="g-preset">"Preset"</label>
                    <select id="g-preset" on:change=on_preset prop:value=preset_value>
                        <option value="custom" disabled=true>"Your own settings"</option>
                        <option value="softmax_collapse">"(a) AdamW, softmax CE in f32: collapse"</option>
                        <option value="ortho_adamw">"(b) ⊥AdamW, lr 0.01: groks"</option>
                        <option value="stablemax">"(c) StableMax CE, no weight decay"</option>
                        <option value="weight_decay">"(d) AdamW, weight decay 4"</option>
                    </select>
                </div>
                <Select choice=f.compare label="Second run (B) beside it" options=COMPARE
                    names=&["none", "(a) softmax collapse", "(b) ⊥AdamW", "(c) StableMax", "(d) weight decay"] />
            </div>
            <fieldset class="controls">
                <legend>"Task and model"</legend>
                <Select choice=f.op label="Operation" options=OPS names=&["a + b mod p", "a − b mod p", "a · b mod p"] />
                <Field key="g_p" label="Modulus p" text=f.p.text error=f.error_of(f.p, ConfigField::P) hint="≥ 2; 113 in the paper" />
                <Field key="g_frac" label="Train fraction" text=f.fraction.text error=f.error_of(f.fraction, ConfigField::TrainFraction) hint="in (0, 1)" />
                <Field key="g_seed" label="Seed" text=f.seed.text error=f.seed.error() hint="split and initial weights" />
                <Field key="g_h" label="Hidden widths" text=f.hidden.text error=f.error_of(f.hidden, ConfigField::Hidden) hint="e.g. 200, 200; empty for none" />
                <Select choice=f.bias label="Biases" options=FLAGS names=&["none (as the paper)", "every layer"] />
            </fieldset>
            <fieldset class="controls">
                <legend>"Loss and optimizer"</legend>
                <Select choice=f.loss label="Loss" options=LOSSES names=&["softmax cross-entropy", "StableMax cross-entropy"] />
                <Select choice=f.softmax_precision label="Softmax precision (logits rounded to it)" options=PRECISIONS names=&["f16", "bf16", "f32", "f64"] />
                <Select choice=f.optimizer label="Optimizer" options=OPTIMIZERS names=&["AdamW", "SGD (momentum)"] />
                <Select choice=f.orthogonal label="⊥Grad" options=ORTHOGONAL names=&["off", "project (the paper's equations)", "project and rescale to ‖g‖ (the reference code)"] />
                <Select choice=f.quirk label="⊥AdamW betas and ε" options=FLAGS names=&["as configured", "PyTorch defaults (0.9, 0.999), 1e-8, as the reference code runs"] />
                <Field key="g_lr" label="Learning rate" text=f.lr.text error=f.error_of(f.lr, ConfigField::Lr) hint="> 0" />
                <Field key="g_b1" label="β₁" text=f.beta1.text error=f.error_of(f.beta1, ConfigField::Beta1) hint="[0, 1)" />
                <Field key="g_b2" label="β₂" text=f.beta2.text error=f.error_of(f.beta2, ConfigField::Beta2) hint="[0, 1)" />
                <Field key="g_eps" label="ε" text=f.eps.text error=f.error_of(f.eps, ConfigField::Eps) hint="> 0; 1e-25 in the paper" />
                <Field key="g_mom" label="Momentum (SGD)" text=f.momentum.text error=f.error_of(f.momentum, ConfigField::Momentum) hint="[0, 1)" />
                <Field key="g_wd" label="Weight decay" text=f.weight_decay.text error=f.error_of(f.weight_decay, ConfigField::WeightDecay) hint="≥ 0" />
            </fieldset>
            <fieldset class="controls">
                <legend>"Run"</legend>
                <Select choice=f.format label="Training format" options=FORMATS names=&["f32", "f64 (CPU only)"] />
                <Select choice=f.backend label="Backend" options=BACKENDS names=&["GPU (WebGPU), CPU if none", "CPU (f32, WebAssembly SIMD128)"] />
                <Field key="g_every" label="Evaluate the test set every" text=f.eval_every.text error=f.error_of(f.eval_every, ConfigField::EvalEvery) hint="epochs" />
                <Field key="g_ep" label="Epochs" text=f.epochs.text error=f.epochs.error() />
                <div class="field sweep-actions">
                    <button type="button" id="g-start" disabled=move || !can_start.get() on:click=move |_| start()>"Start"</button>
                </div>
            </fieldset>
            <p id="g-cost" class="hint">{cost_line}</p>
            <p id="g-memory-error" class="field-error" role="alert">{move || memory_error.get().unwrap_or_default()}</p>
            <JobStatus job=job id="g" what="Training" summary=summary idle="Press Start; Pause, Step (one epoch) and Reset act between epochs." />
            <p id="g-live" class="hint">{summary}</p>
            <div class="chart-pair">
                <Chart spec=accuracy id="g-accuracy" />
                <Chart spec=loss id="g-loss" />
            </div>
            <div class="chart-pair">
                <Chart spec=collapse id="g-collapse" />
                <Chart spec=cosine id="g-cosine" />
            </div>
            <div class="chart-pair">
                <Chart spec=norms id="g-norms" />
                <Chart spec=logits id="g-logits" />
            </div>
            <Chart spec=fourier id="g-fourier" />
        </section>
    }
}
