//! Installing what is missing (and only that), and assembling the npm package.

use crate::run::{self, capture, Outcome};
use std::fs;
use std::path::{Path, PathBuf};

const TRUNK: &str = "0.21.14";
const WASM_PACK: &str = "0.15.1";
const APT_PACKAGES: [&str; 4] = [
    "chromium",
    "chromium-driver",
    "mesa-vulkan-drivers",
    "libvulkan1",
];

/// `~/.cargo/bin` (or `$CARGO_HOME/bin`).
fn cargo_bin() -> PathBuf {
    match std::env::var_os("CARGO_HOME") {
        Some(h) => PathBuf::from(h).join("bin"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo/bin"),
    }
}

/// Puts `node_modules/.bin` (binaryen 132's wasm-opt, tsc) and cargo's bin folder first on `PATH`, so
/// that Trunk and wasm-pack find those tools and never Debian's binaryen 108 or a download.
fn set_path(root: &Path) {
    let old = std::env::var_os("PATH").unwrap_or_default();
    let mut parts = vec![root.join("node_modules/.bin"), cargo_bin()];
    parts.extend(std::env::split_paths(&old));
    if let Ok(joined) = std::env::join_paths(parts) {
        std::env::set_var("PATH", joined);
    }
}

fn need(ok: Outcome, what: &str) -> Result<(), String> {
    ok.into_result().map_err(|_| format!("{what} failed"))
}

/// The wasm-bindgen version pinned in Cargo.lock.
fn locked_wasm_bindgen(root: &Path) -> Result<String, String> {
    let lock = fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
            {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen entry".into())
}

fn cargo_install(
    root: &Path,
    tool: &str,
    version_cmd: &str,
    want: &str,
    args: &[&str],
) -> Result<(), String> {
    let have = capture(version_cmd, &["--version"]).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(want) {
        println!("    {version_cmd} {want} is installed");
        return Ok(());
    }
    println!(
        "    {version_cmd} {want} is missing (found: {}); installing (takes minutes)",
        if have.is_empty() { "none" } else { &have }
    );
    need(
        run::step(root, &format!("install {tool} {want}"), "cargo", args, &[]),
        &format!("installing {tool}"),
    )
}

/// What building the site needs: the wasm32 target, npm tools, wasm-bindgen-cli and Trunk.
pub fn site_tools(root: &Path) -> Result<(), String> {
    set_path(root);
    println!("==> checking tools");
    let targets = capture("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !targets
        .lines()
        .any(|t| t.trim() == "wasm32-unknown-unknown")
    {
        need(
            run::step(
                root,
                "add the wasm32 target",
                "rustup",
                &["target", "add", "wasm32-unknown-unknown"],
                &[],
            ),
            "rustup target add",
        )?;
    }
    need(
        run::step(
            root,
            "Node tools from package-lock.json",
            "npm",
            &["ci", "--no-audit", "--no-fund"],
            &[],
        ),
        "npm ci",
    )?;
    let wb = locked_wasm_bindgen(root)?;
    // Without --locked: the CLI's own lockfile pins a crate the registry no longer serves.
    cargo_install(
        root,
        "wasm-bindgen-cli",
        "wasm-bindgen",
        &wb,
        &["install", "wasm-bindgen-cli", "--version", &wb],
    )?;
    cargo_install(
        root,
        "trunk",
        "trunk",
        TRUNK,
        &[
            "install",
            "--locked",
            "trunk",
            "--version",
            TRUNK,
            "--no-default-features",
            "--features",
            "rustls",
        ],
    )?;
    // Trunk builds offline (Trunk.toml), so every crate must be on disk first.
    need(
        run::step(root, "fetch crates", "cargo", &["fetch", "--locked"], &[]),
        "cargo fetch",
    )
}

/// What the tests need beyond the site: Chromium, its driver, Vulkan lavapipe, wasm-pack.
pub fn test_tools(root: &Path) -> Result<(), String> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            capture("dpkg-query", &["-W", "-f=${Status}", p])
                .is_none_or(|s| !s.contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        println!("    Debian packages present: {}", APT_PACKAGES.join(", "));
    } else {
        println!("    Debian packages missing: {}", missing.join(", "));
        need(
            run::step(root, "apt-get update", "apt-get", &["update", "-qq"], &[]),
            "apt-get update",
        )?;
        let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
        args.extend(&missing);
        need(
            run::step(
                root,
                "install Debian packages",
                "apt-get",
                &args,
                &[("DEBIAN_FRONTEND", "noninteractive")],
            ),
            "apt-get install",
        )?;
    }
    cargo_install(
        root,
        "wasm-pack",
        "wasm-pack",
        WASM_PACK,
        &["install", "--locked", "wasm-pack", "--version", WASM_PACK],
    )
}

/// Mesa's Vulkan loader complains on stderr without a private `XDG_RUNTIME_DIR`; give it one.
pub fn runtime_dir() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return;
    }
    let dir = std::env::temp_dir().join("scalelab-xdg-runtime");
    if fs::create_dir_all(&dir).is_ok() {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o700));
        std::env::set_var("XDG_RUNTIME_DIR", dir);
    }
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}

/// Builds the npm package `scalelab` into `target/npm/scalelab`, packs it with `npm pack`, and installs
/// the tarball into `tests/npm` the way a user would.
pub fn npm_package(root: &Path) -> Outcome {
    match build_npm_package(root) {
        Ok(()) => Outcome {
            ok: true,
            passed: 0,
            failed: 0,
        },
        Err(e) => {
            eprintln!("    npm package: {e}");
            Outcome::failed()
        }
    }
}

fn build_npm_package(root: &Path) -> Result<(), String> {
    let out = root.join("target/npm");
    let raw = out.join("wasm-pack");
    let pkg = out.join("scalelab");
    let _ = fs::remove_dir_all(&out);
    need(
        run::step(
            root,
            "wasm-pack build of the npm package",
            "wasm-pack",
            &[
                "build",
                "crates/scalelab-wasm",
                "--release",
                "--target",
                "web",
                "--mode",
                "no-install",
                "--no-pack",
                "--out-name",
                "scalelab",
                "--out-dir",
                &raw.to_string_lossy(),
            ],
            &[],
        ),
        "wasm-pack build",
    )?;
    fs::create_dir_all(&pkg).map_err(|e| e.to_string())?;
    for f in [
        "scalelab.js",
        "scalelab.d.ts",
        "scalelab_bg.wasm",
        "scalelab_bg.wasm.d.ts",
    ] {
        copy(&raw.join(f), &pkg.join(f))?;
    }
    let js = root.join("crates/scalelab-wasm/js");
    for f in ["index.js", "index.d.ts", "README.md"] {
        copy(&js.join(f), &pkg.join(f))?;
    }
    let version = env!("CARGO_PKG_VERSION");
    let manifest = format!(
        r#"{{
  "name": "scalelab",
  "version": "{version}",
  "description": "Exact, interactive mathematics of ML-scaling papers (StableMax, Softmax Collapse, ...) in WebAssembly.",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "./index.js",
  "types": "./index.d.ts",
  "exports": {{ ".": {{ "types": "./index.d.ts", "default": "./index.js" }} }},
  "files": ["index.js", "index.d.ts", "scalelab.js", "scalelab.d.ts", "scalelab_bg.wasm", "scalelab_bg.wasm.d.ts", "README.md"],
  "sideEffects": ["./index.js"],
  "engines": {{ "node": ">=18" }},
  "keywords": ["softmax", "stablemax", "scaling-laws", "webassembly", "machine-learning"]
}}
"#
    );
    fs::write(pkg.join("package.json"), manifest).map_err(|e| e.to_string())?;
    need(
        run::step(
            &pkg,
            "npm pack",
            "npm",
            &["pack", "--pack-destination", &out.to_string_lossy()],
            &[],
        ),
        "npm pack",
    )?;
    let tarball = out.join(format!("scalelab-{version}.tgz"));
    let size = fs::metadata(&tarball).map(|m| m.len()).unwrap_or(0);
    println!("    packed {} ({size} bytes)", tarball.display());
    need(
        run::step(
            &root.join("tests/npm"),
            "install the packed tarball into tests/npm",
            "npm",
            &[
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--offline",
                &tarball.to_string_lossy(),
            ],
            &[],
        ),
        "npm install of the tarball",
    )
}

/// A Python for the benchmarks' peers that imports `packages`: `SCALELAB_PYTHON` if set, else
/// `python3` if it imports them, else a virtual environment in `target/bench-venv` with them
/// installed from PyPI.
pub fn python_with(root: &Path, packages: &[&str]) -> Result<String, String> {
    if let Ok(python) = std::env::var("SCALELAB_PYTHON") {
        return Ok(python);
    }
    let script = packages
        .iter()
        .map(|p| format!("import {p}"))
        .collect::<Vec<_>>()
        .join("; ");
    let has = |python: &str| {
        std::process::Command::new(python)
            .args(["-c", &script])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if has("python3") {
        return Ok("python3".into());
    }
    let venv = root.join("target/bench-venv");
    let python = venv.join("bin/python").to_string_lossy().into_owned();
    if !has(&python) {
        need(
            run::step(
                root,
                "Python venv for the peers (target/bench-venv)",
                "python3",
                &["-m", "venv", &venv.to_string_lossy()],
                &[],
            ),
            "python3 -m venv",
        )?;
        let mut args = vec!["-m", "pip", "install", "--quiet"];
        args.extend_from_slice(packages);
        need(
            run::step(root, "pip install (benchmark peers)", &python, &args, &[]),
            "pip install",
        )?;
    }
    Ok(python)
}
