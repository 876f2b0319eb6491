//! Times Hoffmann et al.'s Approach 3 fit on Epoch AI's 240 Chinchilla points over the 4500-start
//! grid (the Rust side of `bench/chinchilla_scipy.py`).
//!
//! ```text
//! cargo run --release -p scalelab-core --example chinchilla_grid -- [--every K] [--repeat R] [--json]
//! ```
//!
//! `--every K` runs every K-th start of the grid (in Epoch's order, starting with the first), the
//! same subset the scipy script runs with `--every K`. Data: `$SCALELAB_REFDATA/chinchilla/
//! svg_extracted_data.csv` (default `../shared/refdata` beside the repository).

use std::time::Instant;

use scalelab_core::fit::hoffmann::{fit_hoffmann, hoffmann_grid, HoffmannOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| -> Option<usize> {
        let i = args.iter().position(|a| a == name)?;
        args.get(i + 1).and_then(|v| v.parse().ok())
    };
    let every = flag("--every").unwrap_or(1).max(1);
    let repeat = flag("--repeat").unwrap_or(1).max(1);
    let json = args.iter().any(|a| a == "--json");

    let dir = std::env::var("SCALELAB_REFDATA").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/refdata").to_string()
    });
    let path = format!("{dir}/chinchilla/svg_extracted_data.csv");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let (n, d, l) = epoch_points(&text);

    let starts: Vec<[f64; 5]> = hoffmann_grid().into_iter().step_by(every).collect();
    let opts = HoffmannOptions {
        starts: Some(starts.clone()),
        ..Default::default()
    };
    let mut times = Vec::new();
    let mut fit = None;
    for _ in 0..repeat {
        let t0 = Instant::now();
        let f = fit_hoffmann(&n, &d, &l, &opts).expect("valid data");
        times.push(t0.elapsed().as_secs_f64());
        fit = Some(f);
    }
    let fit = fit.expect("repeat ≥ 1");
    times.sort_by(f64::total_cmp);
    let best = times[0];
    let median = times[times.len() / 2];
    if json {
        println!(
            "{{\"points\": {}, \"starts\": {}, \"every\": {every}, \"seconds_best\": {best}, \"seconds_median\": {median}, \
             \"objective\": {:.12e}, \"A\": {}, \"B\": {}, \"E\": {}, \"alpha\": {}, \"beta\": {}, \
             \"converged_starts\": {}, \"evaluations\": {}, \"best_start\": {:?}}}",
            n.len(),
            starts.len(),
            fit.objective,
            fit.a(),
            fit.b(),
            fit.e(),
            fit.alpha(),
            fit.beta(),
            fit.starts_converged,
            fit.evaluations,
            fit.best_start
        );
    } else {
        println!(
            "{} points, {} starts (every {every}), {repeat} run(s)",
            n.len(),
            starts.len()
        );
        println!("time: best {best:.4} s, median {median:.4} s");
        println!(
            "objective {:.10e}; A = {:.3}, B = {:.3}, E = {:.5}, alpha = {:.5}, beta = {:.5}",
            fit.objective,
            fit.a(),
            fit.b(),
            fit.e(),
            fit.alpha(),
            fit.beta()
        );
        println!(
            "best start #{} {:?}; {} of {} starts converged; {} objective evaluations",
            fit.best_start_index,
            fit.best_start,
            fit.starts_converged,
            fit.starts_run,
            fit.evaluations
        );
    }
}

/// `(N, D = C/(6N), L)` of the rows with `loss < sorted(loss)[−5]` (Epoch's 240 points).
fn epoch_points(text: &str) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .expect("column present")
    };
    let (cn, cc, cl) = (col("Model Size"), col("Training FLOP"), col("loss"));
    let rows: Vec<(f64, f64, f64)> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let p = |i: usize| f[i].trim().parse::<f64>().expect("number");
            (p(cn), p(cc), p(cl))
        })
        .collect();
    let mut sorted: Vec<f64> = rows.iter().map(|r| r.2).collect();
    sorted.sort_by(f64::total_cmp);
    let cut = sorted[sorted.len() - 5];
    let kept: Vec<_> = rows.into_iter().filter(|r| r.2 < cut).collect();
    (
        kept.iter().map(|r| r.0).collect(),
        kept.iter().map(|r| r.1 / (6.0 * r.0)).collect(),
        kept.iter().map(|r| r.2).collect(),
    )
}
