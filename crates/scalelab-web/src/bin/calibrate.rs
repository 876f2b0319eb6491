//! The Calibrate lab's bundle, with the home page so that going home and back stays in the page (see
//! `scalelab_web::app::Bundle`).

#[cfg(target_arch = "wasm32")]
fn main() {
    use leptos::prelude::*;
    use scalelab_web::labs::{home::Home, Lab};
    scalelab_web::app::mount(scalelab_web::app::Bundle {
        name: "calibrate",
        view: |lab| match lab {
            Lab::Home => view! { <Home /> }.into_any(),
            _ => view! { <scalelab_web::labs::calibrate::CalibrateLab /> }.into_any(),
        },
        worker: Some(scalelab_web::job::provide_worker),
    });
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("The Scalelab site runs in a browser: use `cargo xtask serve`.");
}
