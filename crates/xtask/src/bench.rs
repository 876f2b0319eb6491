//! `cargo xtask bench`: builds the site and measures its first-load size and time to interactive.

use crate::run;
use crate::setup;
use std::path::Path;

/// Builds the release site, then runs `bench/site.mjs`, which prints a Markdown table.
pub fn run(root: &Path) -> Result<(), String> {
    setup::site_tools(root)?;
    setup::test_tools(root)?;
    run::step(
        root,
        "trunk build --release",
        "trunk",
        &["build", "--release"],
        &[],
    )
    .into_result()?;
    run::step(
        root,
        "first-load size and time to interactive",
        "node",
        &["bench/site.mjs"],
        &[],
    )
    .into_result()
}
