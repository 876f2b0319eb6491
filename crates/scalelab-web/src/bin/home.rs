//! The home page's bundle: the shell with the home page, the planned labs' pages and the
//! not-found page — no lab code and no worker client (see `scalelab_web::app::Bundle`).

#[cfg(target_arch = "wasm32")]
fn main() {
    use leptos::prelude::*;
    use scalelab_web::labs::{home::Home, planned::Planned, Lab};
    scalelab_web::app::mount(scalelab_web::app::Bundle {
        name: "home",
        view: |lab| match lab {
            Lab::Home => view! { <Home /> }.into_any(),
            other => view! { <Planned lab=other /> }.into_any(),
        },
        worker: None,
    });
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("The Scalelab site runs in a browser: use `cargo xtask serve`.");
}
