//! The compute worker's entry point (built by Trunk with `data-type="worker"`).

#[cfg(target_arch = "wasm32")]
fn main() {
    scalelab_web::worker::runtime::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("The Scalelab worker runs in a browser: use `cargo xtask serve`.");
}
