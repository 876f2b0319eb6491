//! `cargo xtask bench [site|kernels|loss-curve|main-thread|calibrate|grokking]` (all by default): the measurements behind
//! BENCHMARKS.md.
//!
//! - `site`: builds the release site, then `bench/site.mjs` (first-load size, time to interactive).
//! - `kernels`: builds the npm package, then in one run: `bench/kernels/run.mjs` (our WebGPU matmul
//!   against `@tensorflow/tfjs-backend-webgpu` in the same headless Chromium), the native Vulkan
//!   (lavapipe) matmul example, and numpy's sgemm (`bench/sgemm_numpy.py`, the CPU ceiling).
//! - `loss-curve`: builds the release site, then `bench/loss_curve_paste.mjs` (paste-to-fit time on
//!   the Fit page against rows, for the loss-curve laws) and its scipy peer
//!   (`bench/loss_curve_scipy.py`) on the same files.
//! - `main-thread`: builds the release site, then `bench/main_thread.mjs` (the browser tests that
//!   watch the main thread, repeated, with every task over the 50 ms budget they saw).
//! - `calibrate`: temperature scaling and every metric on 50 000 × 1000 synthetic logits: the
//!   peers first (`bench/calibrate_peer.py`: it writes the data, then times gpleiss' LBFGS in
//!   PyTorch and scipy's `minimize_scalar` with numpy metrics), then the native example
//!   `calibrate_bench` on the same files, which checks T and the metrics and prints the table.
//! - `grokking`: the epoch time of the paper's default configuration natively (the example
//!   `grokking_bench`, one thread, which runs `bench/grokking_torch.py` — the paper's PyTorch
//!   loop on one CPU thread — in the same run and prints the table); then the npm CPU backend's
//!   matmul against jax-js's Wasm backend in Node (`bench/jaxjs_matmul.mjs`) and one training step
//!   in headless Chromium against the same step in jax-js (`bench/grokking_browser.mjs`).

use crate::run;
use crate::setup;
use std::path::Path;

/// Runs the benchmarks named by `which` (`None`: all).
pub fn run(root: &Path, which: Option<&str>) -> Result<(), String> {
    setup::site_tools(root)?;
    setup::test_tools(root)?;
    match which {
        None => {
            site(root)?;
            kernels(root)?;
            loss_curve(root)?;
            main_thread(root)?;
            calibrate(root)?;
            grokking(root)
        }
        Some("grokking") => grokking(root),
        Some("calibrate") => calibrate(root),
        Some("site") => site(root),
        Some("kernels") => kernels(root),
        Some("loss-curve") => {
            build_site(root)?;
            loss_curve(root)
        }
        Some("main-thread") => {
            build_site(root)?;
            main_thread(root)
        }
        Some(other) => Err(format!(
            "unknown benchmark “{other}”; use `cargo xtask bench [site|kernels|loss-curve|main-thread|calibrate|grokking]`"
        )),
    }
}

fn build_site(root: &Path) -> Result<(), String> {
    run::step(
        root,
        "trunk build --release",
        "trunk",
        &["build", "--release"],
        &[],
    )
    .into_result()
}

fn site(root: &Path) -> Result<(), String> {
    build_site(root)?;
    run::step(
        root,
        "first-load size and time to interactive",
        "node",
        &["bench/site.mjs"],
        &[],
    )
    .into_result()
}

fn kernels(root: &Path) -> Result<(), String> {
    setup::npm_package(root).into_result()?;
    run::step(
        root,
        "TensorFlow.js for the kernel benchmark (npm ci)",
        "npm",
        &["ci", "--prefix", "bench/kernels", "--no-audit", "--no-fund"],
        &[],
    )
    .into_result()?;
    jaxjs(root)?;
    run::step(
        root,
        "matmul: Scalelab vs tfjs-backend-webgpu and jax-js (WebGPU) in headless Chromium",
        "node",
        &["bench/kernels/run.mjs"],
        &[],
    )
    .into_result()?;
    run::step(
        root,
        "matmul natively on Vulkan (lavapipe without a GPU)",
        "cargo",
        &[
            "run",
            "--release",
            "--locked",
            "-p",
            "scalelab-gpu",
            "--example",
            "matmul_gflops",
        ],
        &[],
    )
    .into_result()?;
    let python = setup::python_with(root, &["numpy"])?;
    run::step(
        root,
        "numpy sgemm (OpenBLAS), the CPU ceiling",
        &python,
        &["bench/sgemm_numpy.py", "256", "512", "1024"],
        &[],
    )
    .into_result()
}

fn main_thread(root: &Path) -> Result<(), String> {
    run::step(
        root,
        "the main thread's 50 ms budget in the browser tests that watch it (headless Chromium)",
        "node",
        &["bench/main_thread.mjs"],
        &[],
    )
    .into_result()
}

fn loss_curve(root: &Path) -> Result<(), String> {
    run::step(
        root,
        "paste-to-fit of loss curves on the Fit page (headless Chromium)",
        "node",
        &["bench/loss_curve_paste.mjs"],
        &[],
    )
    .into_result()?;
    let python = setup::python_with(root, &["numpy", "scipy"])?;
    run::step(
        root,
        "the same curves read with numpy and fitted with scipy",
        &python,
        &["bench/loss_curve_scipy.py"],
        &[],
    )
    .into_result()
}

fn calibrate(root: &Path) -> Result<(), String> {
    let python = setup::python_with(root, &["numpy", "scipy", "torch"])?;
    run::step(
        root,
        "temperature scaling peers: gpleiss LBFGS (PyTorch) and scipy minimize_scalar + numpy",
        &python,
        &["bench/calibrate_peer.py"],
        &[],
    )
    .into_result()?;
    native_example(
        root,
        "temperature scaling and every metric natively (Scalelab, -C target-cpu=native)",
        "calibrate_bench",
        &[],
    )?;
    build_site(root)?;
    run::step(
        root,
        "the Calibrate page's analysis of 50 000 × 1000 logits in the browser's worker",
        "node",
        &["bench/calibrate_browser.mjs"],
        &[],
    )
    .into_result()
}

fn grokking(root: &Path) -> Result<(), String> {
    let python = setup::python_with(root, &["numpy", "torch"])?;
    native_example_in(
        root,
        "scalelab-gpu",
        "grokking: epoch time natively (Scalelab CPU and GPU, -C target-cpu=native) against PyTorch on one thread",
        "grokking_bench",
        &[&python],
        // lavapipe on one thread too, as the CPU path and PyTorch.
        &[("LP_NUM_THREADS", "1")],
    )?;
    setup::npm_package(root).into_result()?;
    jaxjs(root)?;
    run::step(
        root,
        "matmul on the CPU: the npm CPU backend vs jax-js's Wasm backend in Node",
        "node",
        &["bench/jaxjs_matmul.mjs"],
        &[],
    )
    .into_result()?;
    run::step(
        root,
        "grokking: one training step in headless Chromium, Scalelab (wasm CPU) vs jax-js (Wasm, WebGPU)",
        "node",
        &["bench/grokking_browser.mjs"],
        &[],
    )
    .into_result()
}

/// `@jax-js/jax`, pinned in `bench/jaxjs_deps` (npm ci).
fn jaxjs(root: &Path) -> Result<(), String> {
    run::step(
        root,
        "jax-js for the benchmarks (npm ci)",
        "npm",
        &[
            "ci",
            "--prefix",
            "bench/jaxjs_deps",
            "--no-audit",
            "--no-fund",
        ],
        &[],
    )
    .into_result()
}

/// Runs `scalelab-core`'s example `example` with `args`, built for this CPU (numpy and PyTorch
/// pick their AVX2/AVX-512 loops at run time) in its own target directory, so the workspace's
/// portable builds stay as they are.
fn native_example(root: &Path, what: &str, example: &str, args: &[&str]) -> Result<(), String> {
    native_example_in(root, "scalelab-core", what, example, args, &[])
}

/// [`native_example`] of another package, with more environment.
fn native_example_in(
    root: &Path,
    package: &str,
    what: &str,
    example: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(), String> {
    let mut cargo = vec![
        "run",
        "--release",
        "--locked",
        "-p",
        package,
        "--example",
        example,
        "--",
    ];
    cargo.extend_from_slice(args);
    run::step(
        root,
        what,
        "cargo",
        &cargo,
        &[
            &[
                ("RUSTFLAGS", "-C target-cpu=native"),
                ("CARGO_TARGET_DIR", "target/native"),
            ][..],
            env,
        ]
        .concat(),
    )
    .into_result()
}
