//! The class-overlap experiment (Chidambaram & Ge, "On the Limitations of Temperature Scaling for
//! Distributions with Overlaps", ICLR 2024): two Gaussian classes in `d` dimensions whose means are
//! `μ` apart, a network trained to interpolate them with ERM or with d-point Mixup, then
//! temperature-scaled on a held-out split. The worker trains one epoch per unit and streams the
//! test scores, so the curves draw as it learns; Pause, Step and Cancel act between epochs.

use leptos::prelude::*;
use scalelab_core::calibrate::overlap::{EpochReport, OverlapConfig, Training};

use crate::format::fmt;
use crate::job::use_job;
use crate::plot::{Chart, ChartSpec, ScaleKind, Series, SeriesKind, PALETTE};
use crate::url_state::UrlState;
use crate::widgets::field::{parse_in_range, parse_whole, Field, Parsed};
use crate::widgets::job_status::JobStatus;
use crate::worker::jobs::calibrate::Overlap;

/// The page's default run: the paper's setting made small enough to watch in a browser.
fn defaults() -> OverlapConfig {
    OverlapConfig {
        samples: 2000,
        hidden: vec![128],
        epochs: 40,
        ..OverlapConfig::reference()
    }
}

/// The experiment's panel.
#[component]
pub(super) fn OverlapPanel() -> impl IntoView {
    let url = UrlState::get();
    let d = defaults();
    let sep = Parsed::new(url, "ov_mu", d.separation.to_string(), |t| {
        parse_in_range(t, "class separation μ", 0.0, 100.0)
    });
    let noise = Parsed::new(url, "ov_noise", d.label_noise.to_string(), |t| {
        parse_in_range(t, "label noise", 0.0, 0.9)
    });
    let samples = Parsed::new(url, "ov_n", d.samples.to_string(), |t| {
        parse_whole(t, "samples", 100, 100_000)
    });
    let hidden = Parsed::new(url, "ov_h", d.hidden[0].to_string(), |t| {
        parse_whole(t, "hidden width", 1, 2048)
    });
    let epochs = Parsed::new(url, "ov_ep", d.epochs.to_string(), |t| {
        parse_whole(t, "epochs", 1, 5000)
    });
    let seed = Parsed::new(url, "ov_seed", d.seed.to_string(), |t| {
        parse_whole(t, "seed", 0, u32::MAX as usize)
    });
    let training_t = url.read("ov_train");
    let config = Memo::new(move |_| -> Option<OverlapConfig> {
        Some(OverlapConfig {
            separation: sep.ok()?,
            label_noise: noise.ok()?,
            samples: samples.ok()?,
            hidden: vec![hidden.ok()?],
            epochs: epochs.ok()?,
            seed: seed.ok()? as u64,
            training: match training_t.get().as_deref().unwrap_or("erm") {
                "mixup" => Training::Mixup {
                    points: 2,
                    alpha: 1.0,
                },
                _ => Training::Erm,
            },
            ..defaults()
        })
    });
    let job = use_job::<Overlap>();
    let epochs_seen = RwSignal::new(Vec::<EpochReport>::new());
    job.on_partials(move |mut e| epochs_seen.update(|s| s.append(&mut e)));
    let run = move || {
        if let Some(c) = config.get_untracked() {
            epochs_seen.set(Vec::new());
            job.run(Overlap(c));
        }
    };
    let out = job.output();
    let curves = Signal::derive(move || {
        epochs_seen.with(|e| {
            if e.is_empty() {
                return ChartSpec::pending(
                    "Test NLL and ECE by epoch",
                    "Press Train to watch the network learn.",
                );
            }
            let x: Vec<f64> = e.iter().map(|r| r.epoch as f64).collect();
            ChartSpec::new(
                "Test NLL and ECE by epoch",
                ("epoch", ScaleKind::Linear),
                ("test score", ScaleKind::Linear),
                vec![
                    Series::new(
                        "test NLL",
                        SeriesKind::Line,
                        x.clone(),
                        e.iter().map(|r| r.test_nll).collect(),
                        PALETTE[0],
                    ),
                    Series::new(
                        "test ECE (15 bins)",
                        SeriesKind::Line,
                        x.clone(),
                        e.iter().map(|r| r.test_ece).collect(),
                        PALETTE[1],
                    ),
                    Series::new(
                        "1 − test accuracy",
                        SeriesKind::Line,
                        x,
                        e.iter().map(|r| 1.0 - r.test_accuracy).collect(),
                        PALETTE[2],
                    ),
                ],
            )
        })
    });
    let summary = Signal::derive(move || {
        out.with(|o| {
            o.as_ref()
                .map(|o| match &o.temperature {
                    Ok(t) => format!(
                        "Trained to {:.3} train accuracy; temperature scaling on the held-out split: T* = {:.4}.",
                        o.train_accuracy, t.temperature
                    ),
                    Err(why) => format!(
                        "Trained to {:.3} train accuracy; no finite temperature calibrates it: {why}",
                        o.train_accuracy
                    ),
                })
                .unwrap_or_default()
        })
    });
    let result_rows = move || {
        out.with(|o| {
            o.as_ref().map(|o| {
                let mut rows = vec![("before", "Trained network", o.before)];
                if let Some(a) = o.after {
                    rows.push(("after", "After temperature scaling", a));
                }
                rows.into_iter()
                    .map(|(key, label, s)| {
                        view! {
                            <tr data-at=key>
                                <th scope="row">{label}</th>
                                <td class="num" data-col="nll">{fmt(s.nll)}</td>
                                <td class="num" data-col="accuracy">{fmt(s.accuracy)}</td>
                                <td class="num" data-col="ece">{fmt(s.ece)}</td>
                            </tr>
                        }
                    })
                    .collect_view()
            })
        })
    };
    view! {
        <section class="panel" aria-labelledby="ov-heading">
            <h2 id="ov-heading">"Where temperature scaling fails: overlapping classes"</h2>
            <p>"Two Gaussian classes in 300 dimensions whose means are μ apart. A network trained to interpolate them (ERM) is overconfident where they overlap, and Chidambaram & Ge (ICLR 2024) prove that no temperature repairs it when the overlap is large; d-point Mixup training does better. Add label noise to make the overlap real."</p>
            <div class="controls">
                <div class="field">
                    <label for="ov-train">"Training"</label>
                    <select id="ov-train" on:change=move |ev| url.set("ov_train", Some(event_target_value(&ev)))
                        prop:value=move || training_t.get().unwrap_or_else(|| "erm".into())>
                        <option value="erm">"ERM (cross-entropy)"</option>
                        <option value="mixup">"2-point Mixup (α = 1)"</option>
                    </select>
                </div>
                <Field key="ov_mu" label="Separation μ" text=sep.text error=sep.error() hint="0 (full overlap) to 100" />
                <Field key="ov_noise" label="Label noise" text=noise.text error=noise.error() hint="0 to 0.9" />
                <Field key="ov_n" label="Samples" text=samples.text error=samples.error() hint="100 to 100 000" />
                <Field key="ov_h" label="Hidden width" text=hidden.text error=hidden.error() hint="1 to 2048" />
                <Field key="ov_ep" label="Epochs" text=epochs.text error=epochs.error() hint="1 to 5000" />
                <Field key="ov_seed" label="Seed" text=seed.text error=seed.error() />
                <div class="field sweep-actions">
                    <button type="button" id="ov-run" disabled=move || config.with(|c| c.is_none()) on:click=move |_| run()>"Train"</button>
                </div>
            </div>
            <JobStatus job=job id="ov" what="Training" summary=summary idle="Press Train: the network trains in the worker, one epoch at a time." />
            <Chart spec=curves id="ov-curves" />
            <div class="table-scroll">
            <table id="ov-result">
                <thead><tr>
                    <th scope="col">""</th><th scope="col">"test NLL"</th>
                    <th scope="col">"test accuracy"</th><th scope="col">"test ECE"</th>
                </tr></thead>
                <tbody>{result_rows}</tbody>
            </table>
            </div>
        </section>
    }
}
