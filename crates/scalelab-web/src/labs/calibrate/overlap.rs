//! The class-overlap experiment (Chidambaram & Ge, "On the Limitations of Temperature Scaling for
//! Distributions with Overlaps", ICLR 2024): two Gaussian classes in `d` dimensions whose means are
//! `μ` apart, a network trained to interpolate them with ERM or with d-point Mixup, then
//! temperature-scaled on a held-out split. The worker trains one epoch per unit and streams the
//! test scores, so the curves draw as it learns; Pause, Step and Cancel act between epochs. A
//! sweep runs the same setting at every separation with ERM and with d-point Mixup and charts the
//! test NLL and ECE, before and after temperature scaling, against the overlap. A hidden width of
//! 0 is softmax regression.

use leptos::prelude::*;
use scalelab_core::calibrate::overlap::{EpochReport, OverlapConfig, Training};
use scalelab_core::io::parse_numbers;
use scalelab_core::CoreError;

use crate::format::fmt;
use crate::job::use_job;
use crate::plot::{Chart, ChartSpec, ScaleKind, Series, SeriesKind, PALETTE};
use crate::url_state::UrlState;
use crate::widgets::field::{parse_in_range, parse_whole, Field, Parsed};
use crate::widgets::job_status::JobStatus;
use crate::worker::jobs::calibrate::{Overlap, OverlapSweep, SweepPoint, MAX_SWEEP_POINTS};

/// The separations of a sweep: a list of 1 to [`MAX_SWEEP_POINTS`] values in `0 ..= 100`.
fn parse_separations(text: &str) -> Result<Vec<f64>, CoreError> {
    let mus = parse_numbers(text, "separations μ")?;
    if mus.len() > MAX_SWEEP_POINTS {
        return Err(CoreError::OutOfRange {
            what: "number of separations",
            value: mus.len() as f64,
            min: 1.0,
            max: MAX_SWEEP_POINTS as f64,
        });
    }
    match mus.iter().find(|m| !(0.0..=100.0).contains(*m)) {
        Some(&bad) => Err(CoreError::OutOfRange {
            what: "class separation μ",
            value: bad,
            min: 0.0,
            max: 100.0,
        }),
        None => Ok(mus),
    }
}

/// The sweep's chart of one score against μ: ERM and Mixup, each before and after scaling.
fn sweep_chart(
    points: &[SweepPoint],
    title: &str,
    axis: &str,
    score: fn(&scalelab_core::calibrate::overlap::TestScores) -> f64,
) -> ChartSpec {
    let arm = |mixup: bool, after: bool| -> (Vec<f64>, Vec<f64>) {
        points
            .iter()
            .filter(|p| p.mixup_points.is_some() == mixup)
            .filter_map(|p| {
                let s = if after { p.after? } else { p.before };
                Some((p.separation, score(&s)))
            })
            .unzip()
    };
    let series = [
        ("ERM", false, false, 0),
        ("ERM + temperature scaling", false, true, 1),
        ("Mixup", true, false, 2),
        ("Mixup + temperature scaling", true, true, 3),
    ]
    .into_iter()
    .map(|(name, mixup, after, color)| {
        let (x, y) = arm(mixup, after);
        Series::new(name, SeriesKind::Line, x, y, PALETTE[color])
    })
    .collect();
    ChartSpec::new(
        title,
        ("class separation μ", ScaleKind::Linear),
        (axis, ScaleKind::Linear),
        series,
    )
}

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
        parse_whole(t, "hidden width", 0, 2048)
    });
    let points = Parsed::new(url, "ov_d", "2", |t| {
        parse_whole(t, "Mixup points d", 2, 10)
    });
    let separations = Parsed::new(
        url,
        "ov_mus",
        "0.05, 0.1, 0.25, 0.5, 1, 2",
        parse_separations,
    );
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
            hidden: match hidden.ok()? {
                0 => Vec::new(),
                h => vec![h],
            },
            epochs: epochs.ok()?,
            seed: seed.ok()? as u64,
            training: match training_t.get().as_deref().unwrap_or("erm") {
                "mixup" => Training::Mixup {
                    points: points.ok()?,
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
    let sweep = use_job::<OverlapSweep>();
    let swept = RwSignal::new(Vec::<SweepPoint>::new());
    sweep.on_partials(move |mut p| swept.update(|s| s.append(&mut p)));
    let sweep_request = Memo::new(move |_| -> Option<OverlapSweep> {
        Some(OverlapSweep {
            base: config.get()?,
            separations: separations.ok()?,
            mixup: Training::Mixup {
                points: points.ok()?,
                alpha: 1.0,
            },
        })
    });
    let run_sweep = move || {
        if let Some(r) = sweep_request.get_untracked() {
            swept.set(Vec::new());
            sweep.run(r);
        }
    };
    let sweep_chart_of =
        move |title: &'static str,
              axis: &'static str,
              score: fn(&scalelab_core::calibrate::overlap::TestScores) -> f64| {
            Signal::derive(move || {
                swept.with(|p| {
                    if p.is_empty() {
                        ChartSpec::pending(
                            title,
                            "Press Sweep: every separation trains with ERM and with Mixup.",
                        )
                    } else {
                        sweep_chart(p, title, axis, score)
                    }
                })
            })
        };
    let nll_sweep = sweep_chart_of("Test NLL against the overlap", "test NLL", |s| s.nll);
    let ece_sweep = sweep_chart_of("Test ECE against the overlap", "test ECE (15 bins)", |s| {
        s.ece
    });
    let sweep_rows = move || {
        swept.with(|p| {
            p.iter()
                .map(|p| {
                    let training = if p.mixup_points.is_some() { "mixup" } else { "erm" };
                    let after = |f: fn(&scalelab_core::calibrate::overlap::TestScores) -> f64| {
                        p.after.as_ref().map(f).map(fmt).unwrap_or_else(|| "no finite T".into())
                    };
                    view! {
                        <tr data-mu=p.separation.to_string() data-training=training>
                            <th scope="row">{format!("μ = {}, {}", p.separation, if training == "erm" { "ERM" } else { "Mixup" })}</th>
                            <td class="num" data-col="train-accuracy">{fmt(p.train_accuracy)}</td>
                            <td class="num" data-col="nll-before">{fmt(p.before.nll)}</td>
                            <td class="num" data-col="nll-after">{after(|s| s.nll)}</td>
                            <td class="num" data-col="ece-before">{fmt(p.before.ece)}</td>
                            <td class="num" data-col="ece-after">{after(|s| s.ece)}</td>
                            <td class="num" data-col="t">{p.temperature.map(fmt).unwrap_or_default()}</td>
                        </tr>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <section class="panel" aria-labelledby="ov-heading">
            <h2 id="ov-heading">"Where temperature scaling fails: overlapping classes"</h2>
            <p>"Two Gaussian classes in 300 dimensions whose means are μ apart. A network trained to interpolate them (ERM) is overconfident where they overlap, and Chidambaram & Ge (ICLR 2024) prove that no temperature repairs it when the overlap is large; d-point Mixup training does better. Add label noise to make the overlap real: it flips training and calibration labels only (as the paper's code does), so the temperature is fitted to noisy labels and scored on clean ones."</p>
            <div class="controls">
                <div class="field">
                    <label for="ov-train">"Training"</label>
                    <select id="ov-train" on:change=move |ev| url.set("ov_train", Some(event_target_value(&ev)))
                        prop:value=move || training_t.get().unwrap_or_else(|| "erm".into())>
                        <option value="erm">"ERM (cross-entropy)"</option>
                        <option value="mixup">"d-point Mixup (Dirichlet α = 1)"</option>
                    </select>
                </div>
                <Field key="ov_mu" label="Separation μ" text=sep.text error=sep.error() hint="0 (full overlap) to 100" />
                <Field key="ov_noise" label="Label noise" text=noise.text error=noise.error() hint="0 to 0.9" />
                <Field key="ov_n" label="Samples" text=samples.text error=samples.error() hint="100 to 100 000" />
                <Field key="ov_d" label="Mixup points d" text=points.text error=points.error() hint="2 to 10" />
                <Field key="ov_h" label="Hidden width" text=hidden.text error=hidden.error() hint="0 (softmax regression) to 2048" />
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
            <h3>"NLL and ECE against the overlap"</h3>
            <p>"The same network and data at every separation, trained once with ERM and once with d-point Mixup, each scored on the test split before and after temperature scaling fitted on the calibration split. The paper's claim: as the overlap grows (μ falls), ERM + temperature scaling stays worse than Mixup."</p>
            <div class="controls">
                <Field key="ov_mus" label="Separations μ" text=separations.text error=separations.error() wide=true hint="up to 20 values, 0 to 100" />
                <div class="field sweep-actions">
                    <button type="button" id="ov-sweep" disabled=move || sweep_request.with(|r| r.is_none()) on:click=move |_| run_sweep()>"Sweep"</button>
                </div>
            </div>
            <JobStatus job=sweep id="ov-sw" what="Sweep" idle="Press Sweep: each run trains in the worker; the curves grow as runs finish." />
            <div class="chart-pair">
                <Chart spec=nll_sweep id="ov-sweep-nll" />
                <Chart spec=ece_sweep id="ov-sweep-ece" />
            </div>
            <div class="table-scroll">
            <table id="ov-sweep-table">
                <thead><tr>
                    <th scope="col">"run"</th><th scope="col">"train accuracy"</th>
                    <th scope="col">"test NLL"</th><th scope="col">"NLL after T"</th>
                    <th scope="col">"test ECE"</th><th scope="col">"ECE after T"</th><th scope="col">"T"</th>
                </tr></thead>
                <tbody>{sweep_rows}</tbody>
            </table>
            </div>
        </section>
    }
}
