//! The `<Chart>` component.

use super::axis::{Axis, ScaleKind, Tick};
use super::export;
use super::path;
use super::{ChartSpec, SeriesKind};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

const W: f64 = 640.0;
const H: f64 = 380.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 48.0;
const PW: f64 = W - LEFT - RIGHT;
const PH: f64 = H - TOP - BOTTOM;
/// Scatter series with more points than this are drawn as one path of dots.
const MAX_CIRCLES: usize = 400;

#[derive(Clone, PartialEq)]
struct Shape {
    kind: SeriesKind,
    d: String,
    color: String,
    bars: Vec<(f64, f64, f64, f64)>,
    dots: Vec<(f64, f64)>,
}

#[derive(Clone, PartialEq)]
struct Layout {
    x: Axis,
    y: Axis,
    x_ticks: Vec<(f64, String)>,
    y_ticks: Vec<(f64, String)>,
    shapes: Vec<Shape>,
    legend: Vec<(String, String, SeriesKind)>,
}

fn px(a: &Axis, v: f64) -> f64 {
    LEFT + a.to_unit(v) * PW
}

fn py(a: &Axis, v: f64) -> f64 {
    TOP + (1.0 - a.to_unit(v)) * PH
}

fn shown(a: &Axis, v: f64) -> bool {
    v.is_finite() && (a.kind == ScaleKind::Linear || v > 0.0)
}

fn axis_for(kind: ScaleKind, range: Option<(f64, f64)>, values: Vec<f64>) -> Axis {
    match range {
        Some((lo, hi)) => Axis::new(kind, lo, hi),
        None => Axis::fit(kind, values).unwrap_or_else(|| Axis::new(kind, 0.0, 1.0)),
    }
}

fn layout(spec: &ChartSpec) -> Layout {
    let bar_series = spec
        .series
        .iter()
        .filter(|s| s.kind == SeriesKind::Bars)
        .count();
    let mut xs: Vec<f64> = spec
        .series
        .iter()
        .flat_map(|s| s.x.iter().copied())
        .collect();
    if bar_series > 0 {
        // Leave half a slot either side of the outer bars.
        let (lo, hi) = xs
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        xs.extend([lo - 0.5, hi + 0.5]);
    }
    let mut ys: Vec<f64> = spec
        .series
        .iter()
        .flat_map(|s| s.y.iter().chain(&s.y2).copied())
        .collect();
    if bar_series > 0 && spec.y_scale == ScaleKind::Linear {
        ys.push(0.0);
    }
    let x = axis_for(spec.x_scale, spec.x_range, xs);
    let y = axis_for(spec.y_scale, spec.y_range, ys);
    let x_ticks: Vec<(f64, String)> = if spec.categories.is_empty() {
        x.ticks(6)
            .into_iter()
            .map(|Tick { value, label }| (px(&x, value), label))
            .collect()
    } else {
        spec.categories
            .iter()
            .enumerate()
            .map(|(i, c)| (px(&x, i as f64), c.clone()))
            .collect()
    };
    let y_ticks = y
        .ticks(5)
        .into_iter()
        .map(|Tick { value, label }| (py(&y, value), label))
        .collect();
    let slot = PW / (x.max - x.min).max(1e-12) * 0.8;
    let mut bar_index = 0;
    let shapes = spec
        .series
        .iter()
        .map(|s| {
            let mut shape = Shape {
                kind: s.kind,
                d: String::new(),
                color: s.color.clone(),
                bars: vec![],
                dots: vec![],
            };
            match s.kind {
                SeriesKind::Line => {
                    shape.d = path::line(s.x.iter().zip(&s.y).map(|(&xv, &yv)| {
                        (shown(&x, xv) && shown(&y, yv)).then(|| (px(&x, xv), py(&y, yv)))
                    }));
                }
                SeriesKind::Scatter => {
                    shape.dots =
                        s.x.iter()
                            .zip(&s.y)
                            .filter(|(&a, &b)| shown(&x, a) && shown(&y, b))
                            .map(|(&a, &b)| (px(&x, a), py(&y, b)))
                            .collect();
                }
                SeriesKind::Band => {
                    let pts: Vec<(f64, f64, f64)> = (0..s.x.len().min(s.y.len()).min(s.y2.len()))
                        .filter(|&i| shown(&x, s.x[i]) && shown(&y, s.y[i]) && shown(&y, s.y2[i]))
                        .map(|i| (px(&x, s.x[i]), py(&y, s.y[i]), py(&y, s.y2[i])))
                        .collect();
                    shape.d = path::band(&pts);
                }
                SeriesKind::Bars => {
                    let width = slot / bar_series.max(1) as f64;
                    let base = if y.kind == ScaleKind::Linear {
                        py(&y, 0.0_f64.clamp(y.min, y.max))
                    } else {
                        TOP + PH
                    };
                    shape.bars =
                        s.x.iter()
                            .zip(&s.y)
                            .filter(|(&a, &b)| shown(&x, a) && shown(&y, b))
                            .map(|(&a, &b)| {
                                let left = px(&x, a) - slot / 2.0 + width * bar_index as f64;
                                let top = py(&y, b);
                                (left, top.min(base), width * 0.92, (base - top).abs())
                            })
                            .collect();
                    bar_index += 1;
                }
            }
            shape
        })
        .collect();
    let legend = spec
        .series
        .iter()
        .map(|s| (s.name.clone(), s.color.clone(), s.kind))
        .collect();
    Layout {
        x,
        y,
        x_ticks,
        y_ticks,
        shapes,
        legend,
    }
}

/// Formats a readout value compactly.
fn readout_number(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e5 || v.abs() < 1e-3 {
        format!("{v:.4e}")
    } else {
        format!("{v:.5}")
    }
}

/// An SVG chart of `spec`. Hovering (or focusing it and pressing ←/→) shows the series' values at the
/// nearest x; the buttons below save it as SVG or PNG.
#[component]
pub fn Chart(
    /// What to draw.
    #[prop(into)]
    spec: Signal<ChartSpec>,
    /// A page-unique id (used for test hooks and the clip path).
    id: &'static str,
) -> impl IntoView {
    let lay = Memo::new(move |_| spec.with(layout));
    let cursor = RwSignal::new(None::<f64>);
    let svg_ref = NodeRef::<leptos::svg::Svg>::new();
    let export_error = RwSignal::new(None::<String>);
    let clip = format!("clip-{id}");
    let clip_url = format!("url(#{clip})");

    let on_move = move |ev: web_sys::MouseEvent| {
        let Some(svg) = svg_ref.get() else { return };
        let el: &web_sys::Element = svg.unchecked_ref();
        let r = el.get_bounding_client_rect();
        if r.width() <= 0.0 {
            return;
        }
        let vx = (ev.client_x() as f64 - r.left()) / r.width() * W;
        let u = (vx - LEFT) / PW;
        cursor.set(if (0.0..=1.0).contains(&u) {
            Some(u)
        } else {
            None
        });
    };
    let on_key = move |ev: web_sys::KeyboardEvent| {
        let step = match ev.key().as_str() {
            "ArrowRight" => 0.02,
            "ArrowLeft" => -0.02,
            "Escape" => {
                cursor.set(None);
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        cursor.update(|c| *c = Some((c.unwrap_or(0.5) + step).clamp(0.0, 1.0)));
    };

    // The readout: for every series, the point nearest the cursor in x.
    let readout = Memo::new(move |_| {
        let u = cursor.get()?;
        spec.with(|s| {
            let l = lay.get();
            let xv = l.x.from_unit(u);
            let mut lines = Vec::new();
            let mut at = xv;
            for series in s.series.iter().filter(|s| s.kind != SeriesKind::Band) {
                let best = series
                    .x
                    .iter()
                    .enumerate()
                    .filter(|(_, &v)| v.is_finite())
                    .min_by(|(_, a), (_, b)| {
                        (l.x.to_unit(**a) - u)
                            .abs()
                            .total_cmp(&(l.x.to_unit(**b) - u).abs())
                    });
                if let Some((i, &bx)) = best {
                    at = bx;
                    let label = s
                        .categories
                        .get(bx as usize)
                        .filter(|_| !s.categories.is_empty());
                    let xs = label.cloned().unwrap_or_else(|| readout_number(bx));
                    lines.push(format!(
                        "{}: {} at {}",
                        series.name,
                        readout_number(series.y[i]),
                        xs
                    ));
                }
            }
            Some((px(&l.x, at), lines))
        })
    });

    let save = move |png: bool| {
        let Some(svg) = svg_ref.get() else { return };
        let el: web_sys::SvgElement = svg.unchecked_into();
        let stem = export::file_stem(&spec.with_untracked(|s| s.title.clone()));
        let result = if png {
            export::save_png(&el, &stem)
        } else {
            export::save_svg(&el, &stem)
        };
        export_error.set(result.err().map(|e| format!("Export failed: {e:?}")));
    };

    let pending = Memo::new(move |_| spec.with(ChartSpec::is_pending));
    let placeholder = move || {
        view! {
            <figure class="chart chart-pending" data-chart=id data-pending="true">
                <p class="chart-title-text">{move || spec.with(|s| s.title.clone())}</p>
                <p class="chart-placeholder">{move || spec.with(|s| s.placeholder.clone())}</p>
            </figure>
        }
    };
    view! {
        <Show when=move || !pending.get() fallback=placeholder>
        <figure class="chart" data-chart=id>
            <svg
                node_ref=svg_ref
                viewBox=format!("0 0 {W} {H}")
                role="img"
                tabindex="0"
                aria-label=move || spec.with(|s| format!("{}: {} against {}", s.title, s.y_label, s.x_label))
                on:mousemove=on_move
                on:mouseleave=move |_| cursor.set(None)
                on:keydown=on_key
                on:blur=move |_| cursor.set(None)
            >
                <defs>
                    <clipPath id=clip.clone()>
                        <rect x=LEFT y=TOP width=PW height=PH />
                    </clipPath>
                </defs>
                <text x=LEFT y="20" class="chart-title" fill="currentColor">{move || spec.with(|s| s.title.clone())}</text>
                <rect x=LEFT y=TOP width=PW height=PH fill="none" stroke="currentColor" stroke-opacity="0.35" />
                {move || lay.get().y_ticks.into_iter().map(|(y, label)| view! {
                    <line x1=LEFT x2=LEFT + PW y1=y y2=y stroke="currentColor" stroke-opacity="0.12" />
                    <text x=LEFT - 6.0 y=y + 4.0 text-anchor="end" class="tick" fill="currentColor">{label}</text>
                }).collect_view()}
                {move || lay.get().x_ticks.into_iter().map(|(x, label)| view! {
                    <line x1=x x2=x y1=TOP y2=TOP + PH stroke="currentColor" stroke-opacity="0.12" />
                    <text x=x y=TOP + PH + 16.0 text-anchor="middle" class="tick" fill="currentColor">{label}</text>
                }).collect_view()}
                <g clip-path=clip_url.clone()>
                    {move || lay.get().shapes.into_iter().enumerate().map(|(i, s)| {
                        let series = i.to_string();
                        match s.kind {
                            SeriesKind::Line => view! {
                                <path d=s.d fill="none" stroke=s.color stroke-width="2" data-series=series />
                            }.into_any(),
                            SeriesKind::Band => view! {
                                <path d=s.d fill=s.color fill-opacity="0.18" stroke="none" data-series=series />
                            }.into_any(),
                            SeriesKind::Scatter if s.dots.len() > MAX_CIRCLES => {
                                // Thousands of dots as one path of zero-length round-capped
                                // segments: one element to create instead of thousands.
                                let points = s.dots.len().to_string();
                                let d = path::dots(&s.dots);
                                view! {
                                    <path d=d fill="none" stroke=s.color stroke-width="5.6" stroke-linecap="round"
                                        data-series=series data-points=points />
                                }.into_any()
                            }
                            SeriesKind::Scatter => {
                                let color = s.color.clone();
                                let points = s.dots.len().to_string();
                                view! {
                                    <g data-series=series fill=color data-points=points>
                                        {s.dots.into_iter().map(|(cx, cy)| view! { <circle cx=cx cy=cy r="3.2" /> }).collect_view()}
                                    </g>
                                }.into_any()
                            }
                            SeriesKind::Bars => {
                                let color = s.color.clone();
                                view! {
                                    <g data-series=series fill=color>
                                        {s.bars.into_iter().map(|(x, y, w, h)| view! { <rect x=x y=y width=w height=h /> }).collect_view()}
                                    </g>
                                }.into_any()
                            }
                        }
                    }).collect_view()}
                </g>
                <text x=LEFT + PW / 2.0 y=H - 8.0 text-anchor="middle" class="axis-label" fill="currentColor">
                    {move || spec.with(|s| s.x_label.clone())}
                </text>
                <text
                    x="0" y="0" text-anchor="middle" class="axis-label" fill="currentColor"
                    transform=format!("translate(14 {}) rotate(-90)", TOP + PH / 2.0)
                >
                    {move || spec.with(|s| s.y_label.clone())}
                </text>
                {move || readout.get().map(|(x, _)| view! {
                    <line x1=x x2=x y1=TOP y2=TOP + PH stroke="currentColor" stroke-dasharray="4 3" stroke-opacity="0.6" />
                })}
            </svg>
            <div class="chart-foot">
                <ul class="legend">
                    {move || lay.get().legend.into_iter().map(|(name, color, kind)| {
                        let swatch = match kind {
                            SeriesKind::Line => "swatch line",
                            SeriesKind::Scatter => "swatch dot",
                            SeriesKind::Band => "swatch band",
                            SeriesKind::Bars => "swatch bar",
                        };
                        view! { <li><span class=swatch style=format!("--c:{color}")></span>{name}</li> }
                    }).collect_view()}
                </ul>
                <div class="chart-actions">
                    <button type="button" on:click=move |_| save(false) data-export="svg">"Save SVG"</button>
                    <button type="button" on:click=move |_| save(true) data-export="png">"Save PNG"</button>
                </div>
            </div>
            <output class="readout" aria-live="polite" data-readout=id>
                {move || readout.get().map(|(_, lines)| lines.join(" · ")).unwrap_or_default()}
            </output>
            {move || export_error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        </figure>
        </Show>
    }
}
