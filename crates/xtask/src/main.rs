//! `cargo xtask serve | test | bench [site|kernels|loss-curve|main-thread|calibrate]`: installs what is missing, builds, serves and tests Scalelab.
//!
//! Every step prints what it runs. `test` keeps going after a failed step where later steps do not
//! depend on it, and ends with one line `N passed, M failed` (tests counted from the runners' own
//! summaries; a check or build without tests counts as one).

mod bench;
mod run;
mod setup;

use run::{Outcome, Tally};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The repository root (the parent of `crates/xtask`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn usage() -> ExitCode {
    eprintln!("usage: cargo xtask <serve|test|bench>\n");
    eprintln!("  serve   install missing tools, build the site, serve it on http://127.0.0.1:8080");
    eprintln!(
        "  test    install missing tools, run every test (native, wasm, npm, headless Chromium)"
    );
    eprintln!(
        "  bench   [site|kernels|loss-curve|main-thread|calibrate|grokking] the measurements of BENCHMARKS.md: site size and time to interactive;"
    );
    eprintln!(
        "          matmul vs TensorFlow.js (WebGPU, headless Chromium), on Vulkan, and numpy sgemm"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(&root),
        Some("test") => return test(&root),
        Some("bench") => bench::run(&root, args.get(1).map(String::as_str)),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(root: &Path) -> Result<(), String> {
    setup::site_tools(root)?;
    run::step(
        root,
        "trunk serve --release (http://127.0.0.1:8080)",
        "trunk",
        &["serve", "--release"],
        &[],
    )
    .into_result()
}

fn test(root: &Path) -> ExitCode {
    let mut tally = Tally::default();
    if let Err(e) = setup::site_tools(root).and_then(|()| setup::test_tools(root)) {
        eprintln!("xtask: setting up failed: {e}");
        tally.record("set-up", Outcome::failed());
        return tally.finish();
    }
    setup::runtime_dir();
    let gpu_env: &[(&str, &str)] = &[("SCALELAB_REQUIRE_GPU", "1")];
    tally.record(
        "rustfmt",
        run::step(
            root,
            "rustfmt check",
            "cargo",
            &["fmt", "--all", "--", "--check"],
            &[],
        ),
    );
    tally.record(
        "clippy (native)",
        run::step(
            root,
            "clippy, native",
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        ),
    );
    tally.record(
        "clippy (wasm32)",
        run::step(
            root,
            "clippy, wasm32",
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--exclude",
                "xtask",
                "--all-targets",
                "--target",
                "wasm32-unknown-unknown",
                "--locked",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        ),
    );
    tally.record(
        "native tests",
        run::step(
            root,
            "native tests (GPU tests on Vulkan, required)",
            "cargo",
            &["test", "--workspace", "--locked", "--no-fail-fast"],
            gpu_env,
        ),
    );
    tally.record(
        "wasm tests (Node)",
        run::step(
            root,
            "wasm tests in Node",
            "cargo",
            &[
                "test",
                "--target",
                "wasm32-unknown-unknown",
                "--locked",
                "-p",
                "scalelab-wasm",
            ],
            &[("WASM_BINDGEN_TEST_TIMEOUT", "120")],
        ),
    );
    let npm = setup::npm_package(root);
    let npm_ok = npm.passed();
    tally.record("npm package build", npm);
    if npm_ok {
        let dir = root.join("tests/npm");
        tally.record(
            "npm package tests",
            run::step(
                &dir,
                "npm package tests (node --test)",
                "node",
                &["--test", "--test-reporter=tap"],
                &[],
            ),
        );
        tally.record(
            "npm TypeScript check",
            run::step(
                &dir,
                "TypeScript consumer (tsc --noEmit)",
                &root.join("node_modules/.bin/tsc").to_string_lossy(),
                &["--noEmit", "-p", "."],
                &[],
            ),
        );
    }
    let site = run::step(
        root,
        "trunk build --release",
        "trunk",
        &["build", "--release"],
        &[],
    );
    let site_ok = site.passed();
    tally.record("site build", site);
    if site_ok {
        tally.record(
            "browser tests",
            run::step(
                &root.join("tests/browser"),
                "browser end-to-end tests (headless Chromium, WebGPU on)",
                "node",
                &["--test", "--test-reporter=tap", "--test-concurrency=1"],
                &[],
            ),
        );
    }
    tally.finish()
}
