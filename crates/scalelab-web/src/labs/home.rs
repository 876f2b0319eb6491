//! The home page: what Scalelab is and the labs it has (and will have).

use crate::url_state::UrlState;
use leptos::prelude::*;

struct LabCard {
    key: &'static str,
    title: &'static str,
    blurb: &'static str,
    ready: bool,
}

const LABS: [LabCard; 5] = [
    LabCard {
        key: "stablemax",
        title: "StableMax & Softmax Collapse",
        blurb: "Scale a logit vector until float32 rounds the softmax to a one-hot and the gradient vanishes; \
                compare StableMax, in f16, bf16, f32 and f64.",
        ready: true,
    },
    LabCard {
        key: "fit",
        title: "Fit: scaling laws",
        blurb: "Power laws, Chinchilla L(N,D), broken power laws and loss-curve laws fitted exactly, with \
                uncertainty, extrapolation and compute-optimal allocation.",
        ready: true,
    },
    LabCard {
        key: "kernels",
        title: "Kernels",
        blurb: "Matmul, row softmax/StableMax, cross-entropy, reductions, AdamW and ⊥AdamW, a GMM denoiser: \
                timed on WebGPU against the CPU, each checked against an f64 oracle.",
        ready: true,
    },
    LabCard {
        key: "calibrate",
        title: "Calibrate",
        blurb: "Temperature scaling, ECE conventions and reliability diagrams — and where temperature scaling fails.",
        ready: false,
    },
    LabCard {
        key: "guidance",
        title: "Guidance",
        blurb: "Classifier-free guidance against Adaptive Projected Guidance on diffusion toys with exact scores.",
        ready: false,
    },
];

/// The landing page.
#[component]
pub fn Home() -> impl IntoView {
    let url = UrlState::get();
    view! {
        <section class="hero">
            <h1>"Scalelab"</h1>
            <p class="lede">
                "The mathematics of ML-scaling papers, interactive and exact. Everything runs in your browser: \
                 numerics in Rust compiled to WebAssembly, kernels on WebGPU when your browser has it, your data \
                 never leaves the page, and every view is a shareable URL."
            </p>
        </section>
        <section aria-labelledby="labs-heading">
            <h2 id="labs-heading">"Labs"</h2>
            <ul class="cards">
                {LABS.iter().map(|lab| {
                    let key = lab.key;
                    view! {
                        <li class="card" class:planned=!lab.ready data-lab=key>
                            <h3>
                                {if lab.ready {
                                    view! {
                                        <a href=format!("?lab={key}") on:click=move |ev| {
                                            ev.prevent_default();
                                            url.open_lab(key);
                                        }>{lab.title}</a>
                                    }.into_any()
                                } else {
                                    view! { <span>{lab.title}</span> }.into_any()
                                }}
                            </h3>
                            <p>{lab.blurb}</p>
                            {(!lab.ready).then(|| view! { <p class="badge">"Planned"</p> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
