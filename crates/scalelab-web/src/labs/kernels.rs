//! The Kernels lab: one tensor kernel at a chosen size on WebGPU and on the CPU (both in the
//! worker) with its time, GFLOP/s and error against the f64 oracle; GFLOP/s against size; a check
//! of every kernel; and a simulated device loss to see the CPU fallback.

use leptos::prelude::*;
use scalelab_gpu::workload::{KernelOp, VERIFY_SIZES};

use crate::format::{fmt, millis, significant};
use crate::job::use_job;
use crate::plot::{Chart, ChartSpec, ScaleKind, Series, SeriesKind, PALETTE};
use crate::url_state::UrlState;
use crate::widgets::field::{parse_whole, Field};
use crate::widgets::job_status::JobStatus;
use crate::worker::jobs::kernels::{
    KernelBackend, KernelCheckRow, KernelJob, KernelRun, LoseGpuDevice, VerifyKernels,
};

const DEFAULT_N: &str = "256";
const DEFAULT_REPEATS: &str = "10";

fn backend_name(b: KernelBackend) -> &'static str {
    match b {
        KernelBackend::Gpu => "GPU (WebGPU)",
        KernelBackend::Cpu => "CPU (f32; matmul on matrixmultiply)",
    }
}

fn backend_key(b: KernelBackend) -> &'static str {
    match b {
        KernelBackend::Gpu => "gpu",
        KernelBackend::Cpu => "cpu",
    }
}

/// The Kernels lab page.
#[component]
pub fn KernelsLab() -> impl IntoView {
    let url = UrlState::get();
    let raw = move |key: &'static str, default: &'static str| {
        let r = url.read(key);
        Signal::derive(move || r.get().unwrap_or_else(|| default.to_string()))
    };
    let op_text = raw("op", KernelOp::Matmul.key());
    let n_text = raw("n", DEFAULT_N);
    let repeats_text = raw("r", DEFAULT_REPEATS);

    let op_parsed = Memo::new(move |_| {
        op_text.with(|t| {
            KernelOp::from_key(t).ok_or_else(|| format!("“{t}” is not a kernel; showing matmul."))
        })
    });
    let op = Memo::new(move |_| op_parsed.get().unwrap_or(KernelOp::Matmul));
    let n_parsed =
        Memo::new(move |_| n_text.with(|t| parse_whole(t, "size n", 1, KernelJob::MAX_SIZE)));
    let repeats_parsed = Memo::new(move |_| {
        repeats_text.with(|t| {
            parse_whole(t, "repeats", 2, KernelJob::MAX_REPEATS as usize).map(|r| r as u32)
        })
    });
    let n_error = Signal::derive(move || n_parsed.get().err().map(|e| e.to_string()));
    let repeats_error = Signal::derive(move || repeats_parsed.get().err().map(|e| e.to_string()));
    let op_error = Signal::derive(move || op_parsed.get().err());
    let inputs_ok = Signal::derive(move || n_parsed.get().is_ok() && repeats_parsed.get().is_ok());

    let single = use_job::<KernelJob>();
    let sweep = use_job::<KernelJob>();
    let checks = use_job::<VerifyKernels>();
    let lose = use_job::<LoseGpuDevice>();
    let retry_gpu = RwSignal::new(false);
    let take_retry = move || {
        let r = retry_gpu.get_untracked();
        retry_gpu.set(false);
        r
    };
    let kernel_job = move |sizes: Vec<usize>| -> Option<KernelJob> {
        let (Ok(_), Ok(repeats)) = (n_parsed.get_untracked(), repeats_parsed.get_untracked())
        else {
            return None;
        };
        Some(KernelJob {
            op: op.get_untracked(),
            sizes,
            backends: vec![KernelBackend::Gpu, KernelBackend::Cpu],
            repeats,
            retry_gpu: take_retry(),
        })
    };
    let run_single = move || {
        if let Some(job) = n_parsed
            .get_untracked()
            .ok()
            .and_then(|n| kernel_job(vec![n]))
        {
            single.run(job);
        }
    };
    let run_sweep = move || {
        if let Some(job) = n_parsed
            .get_untracked()
            .ok()
            .and_then(|n| kernel_job(KernelJob::sweep_sizes(n)))
        {
            sweep.run(job);
        }
    };
    let run_checks = move || {
        checks.run(VerifyKernels {
            retry_gpu: take_retry(),
        })
    };
    let use_gpu_again = move || {
        retry_gpu.set(true);
        lose.reset();
        run_single();
    };
    let busy = Signal::derive(move || {
        single.state().with(|s| s.is_running())
            || sweep.state().with(|s| s.is_running())
            || checks.state().with(|s| s.is_running())
            || lose.state().with(|s| s.is_running())
    });
    let notice = Signal::derive(move || {
        single
            .output()
            .with(|o| o.as_ref().and_then(|r| r.notice.clone()))
            .or_else(|| {
                sweep
                    .output()
                    .with(|o| o.as_ref().and_then(|r| r.notice.clone()))
            })
    });
    let loss_note = Signal::derive(move || {
        lose.output().with(|o| {
            o.as_ref().map(|l| {
                if l.had_device {
                    "The worker's GPU device was destroyed. The next GPU run falls back to the CPU."
                } else {
                    "The worker had no GPU device open yet; run a kernel first."
                }
            })
        })
    });

    let chart = Signal::derive(move || {
        let Some(runs) = sweep.output().get() else {
            return ChartSpec::pending(
                "GFLOP/s against size",
                "Press “Sweep sizes up to n” to time the kernel at every power of two up to n and draw GFLOP/s against size.",
            );
        };
        let series = [KernelBackend::Gpu, KernelBackend::Cpu]
            .into_iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let points: Vec<&KernelRun> = runs.runs.iter().filter(|r| r.backend == b).collect();
                (!points.is_empty()).then(|| {
                    Series::new(
                        backend_name(b),
                        SeriesKind::Line,
                        points.iter().map(|r| r.size as f64).collect(),
                        points.iter().map(|r| r.gflops).collect(),
                        PALETTE[i],
                    )
                })
            })
            .collect();
        ChartSpec::new(
            format!("{} — nominal GFLOP/s against size n", runs.op.label()),
            ("n", ScaleKind::Log),
            ("GFLOP/s", ScaleKind::Log),
            series,
        )
    });

    let runs_table = move |id: &'static str, runs: Vec<KernelRun>| {
        let imprecise: Vec<String> = runs
            .iter()
            .filter(|r| !r.precise)
            .map(|r| r.size.to_string())
            .collect();
        let imprecise_note = (!imprecise.is_empty()).then(|| {
            format!(
                "GPU time per run at n = {} came from less than 1 ms of difference t(R) − t(1), \
                 near the browser clock's 0.1 ms resolution (marked ≈); raise R for a precise figure.",
                imprecise.join(", ")
            )
        });
        view! {
            <div class="table-scroll">
            <table class="data" id=id>
                <thead><tr>
                    <th scope="col">"n"</th><th scope="col">"backend"</th>
                    <th scope="col">"time per run (ms)"</th><th scope="col">"whole call (ms)"</th>
                    <th scope="col">"GFLOP/s"</th><th scope="col">"max |error|"</th>
                    <th scope="col">"max rel. error"</th><th scope="col">"error / tolerance"</th>
                    <th scope="col">"verdict"</th>
                </tr></thead>
                <tbody>
                    {runs.into_iter().map(|r| view! {
                        <tr data-backend=backend_key(r.backend) data-size=r.size.to_string() data-passed=r.passed.to_string()>
                            <td class="num">{r.size}</td>
                            <th scope="row">{backend_name(r.backend)}</th>
                            <td class="num" data-col="ms" data-precise=r.precise.to_string()>
                                {if r.precise { "" } else { "≈ " }}{millis(r.seconds)}</td>
                            <td class="num" data-col="e2e-ms">{millis(r.end_to_end_seconds)}</td>
                            <td class="num" data-col="gflops">{significant(r.gflops, 3)}</td>
                            <td class="num" data-col="abs">{fmt(r.max_abs_err)}</td>
                            <td class="num" data-col="rel">{fmt(r.max_rel_err)}</td>
                            <td class="num" data-col="ratio">{format!("{:.3}", r.worst_ratio)}</td>
                            <td>{if r.passed { "within tolerance" } else { "OUT OF TOLERANCE" }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            </div>
            {imprecise_note.map(|m| view! { <p class="hint" data-role="imprecise">{m}</p> })}
        }
    };

    view! {
        <h1>"Kernels"</h1>
        <p class="lede">
            "The f32 tensor kernels behind the trainers, on WebGPU in a worker, each checked against an f64 CPU \
             oracle. Time per run comes from repeated dispatches in one submission, "
            <em>"(t(R) − t(1)) / (R − 1)"</em>
            ", so upload and read-back cancel out; the whole-call time includes them. GFLOP/s are nominal: \
             2n³ for a matrix product; for the others a fixed count per element (see the docs)."
        </p>
        <section class="panel" aria-labelledby="kernel-controls">
            <h2 id="kernel-controls">"Kernel and size"</h2>
            <div class="controls">
                <div class="field wide" class:invalid=move || op_error.get().is_some()>
                    <label for="kernel-op">"Kernel"</label>
                    <select id="kernel-op" prop:value=move || op.get().key()
                        on:change=move |ev| url.set("op", Some(event_target_value(&ev)))>
                        {KernelOp::ALL.into_iter().map(|k| view! {
                            <option value=k.key()>{k.label()}</option>
                        }).collect_view()}
                    </select>
                    <small class="hint" id="kernel-shape">{move || {
                        let n = n_parsed.get().unwrap_or(1);
                        format!("size n = {n}: {}", op.get().shape(n))
                    }}</small>
                    <p class="field-error" id="op-error" role="alert">{move || op_error.get().unwrap_or_default()}</p>
                </div>
                <Field key="n" label="Size n" text=n_text error=n_error
                    hint="1 to 2048" />
                <Field key="r" label="Repeated dispatches R" text=repeats_text error=repeats_error hint="2 to 1000" />
            </div>
            <div class="controls sweep-actions">
                <button type="button" id="kernel-run" on:click=move |_| run_single()
                    disabled=move || !inputs_ok.get() || busy.get()>"Run on GPU and CPU"</button>
                <button type="button" id="kernel-sweep" on:click=move |_| run_sweep()
                    disabled=move || !inputs_ok.get() || busy.get()>"Sweep sizes up to n"</button>
                <button type="button" id="kernel-verify" on:click=move |_| run_checks()
                    disabled=move || busy.get()>"Check every kernel"</button>
            </div>
            <JobStatus job=single id="kernel" what="Run" />
            {move || notice.get().map(|m| view! {
                <div class="notice" id="kernel-notice" role="status">
                    <p>{m}</p>
                    <button type="button" id="kernel-retry-gpu" on:click=move |_| use_gpu_again()>"Use the GPU again"</button>
                </div>
            })}
        </section>

        {move || single.output().get().map(|runs| {
            let speedup = {
                let t = |b| runs.runs.iter().find(|r| r.backend == b).map(|r| r.seconds);
                match (t(KernelBackend::Gpu), t(KernelBackend::Cpu)) {
                    (Some(g), Some(c)) => format!("GPU time per run is {:.2}× the CPU's.", g / c),
                    _ => String::new(),
                }
            };
            let adapter = runs.adapter.clone().unwrap_or_else(|| "no GPU".into());
            view! {
                <section class="panel" aria-labelledby="kernel-result-heading">
                    <h2 id="kernel-result-heading">{format!("{} at n = {}", runs.op.label(), runs.runs.first().map_or(0, |r| r.size))}</h2>
                    <p id="kernel-adapter">{format!("Adapter: {adapter}. {speedup}")}</p>
                    {runs_table("kernel-results", runs.runs)}
                </section>
            }
        })}

        <section class="panel" aria-labelledby="kernel-sweep-heading">
            <h2 id="kernel-sweep-heading">"GFLOP/s against size"</h2>
            <JobStatus job=sweep id="kernels-sweep" what="Sweep" />
            <Chart spec=chart id="kernel-chart" />
            {move || sweep.output().get().map(|runs| runs_table("kernel-sweep-table", runs.runs))}
        </section>

        <section class="panel" aria-labelledby="kernel-check-heading">
            <h2 id="kernel-check-heading">"Every kernel against its oracle"</h2>
            <p>{format!(
                "“Check every kernel” runs all {} kernels at n = {} on the GPU with seeded inputs and compares each \
                 result with the f64 oracle under the kernel's documented error bound.",
                KernelOp::ALL.len(),
                VERIFY_SIZES.map(|s| s.to_string()).join(", ")
            )}</p>
            <JobStatus job=checks id="kernels-check" what="Check" />
            {move || checks.output().get().map(|out| {
                let (adapter, rows) = (out.adapter, out.checks);
                let passed = rows.iter().filter(|r| r.passed).count();
                let total = rows.len();
                view! {
                    <p id="kernel-check-summary" data-passed=passed.to_string() data-total=total.to_string()>
                        {format!("{passed} of {total} checks passed on {adapter}.")}
                    </p>
                    <div class="table-scroll">
                    <table class="data" id="kernel-checks">
                        <thead><tr>
                            <th scope="col">"kernel"</th>
                            {VERIFY_SIZES.map(|s| view! { <th scope="col">{format!("n = {s}")}</th> }).collect_view()}
                        </tr></thead>
                        <tbody>
                            {KernelOp::ALL.into_iter().map(|k| {
                                let cells: Vec<KernelCheckRow> = rows.iter().filter(|r| r.op == k).cloned().collect();
                                view! {
                                    <tr data-op=k.key()>
                                        <th scope="row">{k.label()}</th>
                                        {cells.into_iter().map(|c| {
                                            let text = match (&c.error, c.worst_ratio) {
                                                (Some(e), _) => e.code.as_str().to_string(),
                                                (None, Some(r)) => format!("{r:.2}"),
                                                _ => "—".into(),
                                            };
                                            let title = c.error.as_ref().map(|e| e.message.clone()).unwrap_or_else(|| format!(
                                                "max |error| {} ; error / tolerance {}",
                                                c.max_abs_err.map(fmt).unwrap_or_default(),
                                                c.worst_ratio.map(|r| format!("{r:.3}")).unwrap_or_default()));
                                            view! {
                                                <td class="num" data-passed=c.passed.to_string() title=title>
                                                    {if c.passed { "✓ " } else { "✗ " }}{text}
                                                </td>
                                            }
                                        }).collect_view()}
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }
            })}
        </section>

        <section class="panel" aria-labelledby="kernel-robustness-heading">
            <h2 id="kernel-robustness-heading">"Device loss"</h2>
            <p>"A GPU can be lost at any time (a driver reset, a long time in a background tab). Destroy the worker's \
                device to see what happens: the next GPU run is answered by the CPU, with a notice, and the same \
                numbers within the f32 tolerance."</p>
            <button type="button" id="kernel-lose-device" on:click=move |_| lose.run(LoseGpuDevice) disabled=move || busy.get()>
                "Simulate GPU device loss"</button>
            <p id="kernel-loss-note" role="status">{move || loss_note.get().unwrap_or_default()}</p>
        </section>
    }
}
