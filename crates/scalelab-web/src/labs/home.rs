//! The home page: what Scalelab is and the labs it has (and will have), from the registry.

use super::Lab;
use crate::url_state::UrlState;
use leptos::prelude::*;

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
                {Lab::ALL.into_iter().filter_map(|lab| lab.card().map(|card| (lab, card))).map(|(lab, card)| {
                    let key = lab.key();
                    view! {
                        <li class="card" class:planned=!lab.ready() data-lab=key>
                            <h3>
                                {if lab.ready() {
                                    view! {
                                        <a href=format!("?lab={key}") on:click=move |ev| {
                                            ev.prevent_default();
                                            url.open_lab(lab);
                                        }>{card.title}</a>
                                    }.into_any()
                                } else {
                                    view! { <span>{card.title}</span> }.into_any()
                                }}
                            </h3>
                            <p>{card.blurb}</p>
                            {(!lab.ready()).then(|| view! { <p class="badge">"Planned"</p> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
