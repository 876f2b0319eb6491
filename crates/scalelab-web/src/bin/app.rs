//! The site's main-thread entry point.

#[cfg(target_arch = "wasm32")]
fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(scalelab_web::app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("The Scalelab site runs in a browser: use `cargo xtask serve`.");
}
