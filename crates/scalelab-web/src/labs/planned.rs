//! The page of a lab that is planned but not built yet.

use super::Lab;
use crate::url_state::UrlState;
use leptos::prelude::*;

/// Says the lab is planned, what it will do, and links back to the labs.
#[component]
pub fn Planned(
    /// The planned lab.
    lab: Lab,
) -> impl IntoView {
    let url = UrlState::get();
    let card = lab.card();
    view! {
        <h1>{card.map(|c| c.title).unwrap_or_default()}</h1>
        <p id="planned">"This lab is planned: "{card.map(|c| c.blurb).unwrap_or_default()}" "
            <a href="./" on:click=move |ev| { ev.prevent_default(); url.open_lab(Lab::Home); }>"Back to the labs"</a>
        </p>
    }
}
