//! Chinchilla Approach 3 on Epoch AI's digitised data (science.md §4a, §4b, §7 item 17).
//!
//! Data: `$SCALELAB_REFDATA/chinchilla/svg_extracted_data.csv` (default `../shared/refdata` beside
//! the workspace; never copied into the repository; without it the tests print `SKIPPED` and pass,
//! unless `CI=true`). As Epoch's notebook: `D = C/(6N)`, keep rows with `loss < sorted(loss)[−5]`
//! (240 points), Huber δ = 10⁻³ summed over points, L-BFGS from Hoffmann's 4500-start grid, best
//! converged start.
//!
//! Reference values (independent sources):
//! - Epoch's notebook, "Replicate exactly" (cell 18, science.md §4b): objective 0.0010182740,
//!   A = 477.84, B = 2143.86, E = 1.8172, α = 0.34731, β = 0.36718;
//! - scipy 1.17 reruns from the notebook's winning starts (science.md §7 item 17): objective
//!   0.0010182741–0.0010182742; the single start (0, 0, −1, 0, 0) stops at 0.00110909 (A ≈ 860,
//!   B ≈ 694) — called a worse local minimum there; it is an early stop of the relative-reduction
//!   test, see `single_start_stops_in_the_flat_valley_unless_only_the_gradient_test_stops_it`; the
//!   objective is 0.0041210091 at Hoffmann's rounded params and 0.0010186447 at Epoch's MLE params;
//! - Epoch's hypothesis (§7 item 17): the **mean** objective from Hoffmann's unrounded params
//!   stops after ~2 iterations essentially at Hoffmann's published fit.
//!
//! The full 4500-start grid runs here in about 7 s in a debug build (`cargo test`, about 0.7 s of
//! it in release); `cargo run --release -p scalelab-core --example chinchilla_grid` times it, and
//! `bench/chinchilla_scipy.py` compares it with scipy.

use scalelab_core::fit::hoffmann::{
    fit_hoffmann, fit_hoffmann_with, fit_objective_with, hoffmann_grid, HoffmannObjective,
    HoffmannOptions, Reduction, HOFFMANN_DELTA, HOFFMANN_UNROUNDED_THETA,
};
use scalelab_core::fit::solvers::lbfgs::LbfgsOptions;
use scalelab_core::fit::uncertainty::{bootstrap, summarize, BootstrapOptions};
use scalelab_core::fit::Termination;

use crate::assert_close;

/// `(N, D, L)` of Epoch's 240 points, or `None` (after printing `SKIPPED`) without the data and
/// with `CI` not `true`.
fn epoch_points() -> Option<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let text = crate::fit_models::refdata("chinchilla/svg_extracted_data.csv")?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| h.trim() == name).expect(name);
    let (cn, cc, cl) = (col("Model Size"), col("Training FLOP"), col("loss"));
    let rows: Vec<[f64; 3]> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            [cn, cc, cl].map(|i| f[i].trim().parse::<f64>().expect("number"))
        })
        .collect();
    assert_eq!(rows.len(), 245, "svg_extracted_data.csv has 245 rows");
    assert_close(rows[0][0], 6795600349.289497, 0.0, 0.0, "first N");
    let mut sorted: Vec<f64> = rows.iter().map(|r| r[2]).collect();
    sorted.sort_by(f64::total_cmp);
    let cut = sorted[sorted.len() - 5];
    let kept: Vec<_> = rows.into_iter().filter(|r| r[2] < cut).collect();
    assert_eq!(kept.len(), 240);
    Some((
        kept.iter().map(|r| r[0]).collect(),
        kept.iter().map(|r| r[1] / (6.0 * r[0])).collect(),
        kept.iter().map(|r| r[2]).collect(),
    ))
}

/// Epoch's "Replicate exactly" fit `[E, A, B, α, β]` (science.md §4b).
const EPOCH_REFIT: [f64; 5] = [1.8172, 477.84, 2143.86, 0.34731, 0.36718];

/// The acceptance check of the Fit-lab issue (science.md §4b, §7 item 17): objective
/// ≤ 0.0010182742; E, α, β within 10⁻³ relative and A, B within 1 % of Epoch's refit.
#[track_caller]
fn assert_reaches_epoch_fit(fit: &scalelab_core::fit::hoffmann::HoffmannFit, ctx: &str) {
    assert!(fit.converged, "{ctx}: {fit:?}");
    assert!(
        fit.objective <= 0.0010182742,
        "{ctx}: objective {:.12e} > 0.0010182742",
        fit.objective
    );
    let names = ["E", "A", "B", "alpha", "beta"];
    for (j, (&got, &want)) in fit.coefficients.iter().zip(&EPOCH_REFIT).enumerate() {
        let rel = if j == 1 || j == 2 { 1e-2 } else { 1e-3 };
        assert_close(got, want, rel, 0.0, &format!("{ctx}: {}", names[j]));
    }
}

#[test]
fn objective_at_published_parameters() {
    let Some((n, d, l)) = epoch_points() else {
        return;
    };
    let obj = HoffmannObjective::new(&n, &d, &l, HOFFMANN_DELTA, Reduction::Sum).unwrap();
    let rounded = [406.4f64.ln(), 410.7f64.ln(), 1.69f64.ln(), 0.34, 0.28];
    assert_close(
        obj.value(&rounded),
        0.0041210091,
        0.0,
        1e-9,
        "Hoffmann rounded (§7 item 17)",
    );
    let epoch_mle = [6.17795598, 7.64273236, 0.59711196, 0.34781303, 0.36585412];
    assert_close(
        obj.value(&epoch_mle),
        0.0010186447,
        0.0,
        1e-9,
        "Epoch MLE (§7 item 17)",
    );
    let mean = HoffmannObjective::new(&n, &d, &l, HOFFMANN_DELTA, Reduction::Mean).unwrap();
    assert_close(
        mean.value(&rounded) * 240.0,
        obj.value(&rounded),
        1e-14,
        0.0,
        "mean = sum / n",
    );
}

#[test]
fn single_start_stops_in_the_flat_valley_unless_only_the_gradient_test_stops_it() {
    let Some((n, d, l)) = epoch_points() else {
        return;
    };
    let start = [0.0, 0.0, -1.0, 0.0, 0.0];
    let opts = HoffmannOptions {
        starts: Some(vec![start]),
        ..Default::default()
    };
    let fit = fit_hoffmann(&n, &d, &l, &opts).unwrap();
    assert!(fit.converged, "{fit:?}");
    assert_eq!(fit.termination, Termination::CostConverged);
    // science.md §7 item 17: 0.00110909 (scipy rerun; the notebook got 0.00110861), A ≈ 860,
    // B ≈ 694. Where L-BFGS stops along this flat valley depends on the gradient (finite
    // differences there, exact here): we stop near 0.0011085 with A ≈ 861, B ≈ 699.
    assert_close(fit.objective, 0.00110909, 0.0, 1e-6, "early-stop objective");
    assert!(fit.objective > 0.0011, "worse than the grid's best");
    assert_close(fit.a(), 860.0, 0.05, 0.0, "A at the early stop");
    assert_close(fit.b(), 694.0, 0.05, 0.0, "B at the early stop");

    // It is not a local minimum: scipy's relative-reduction test compares the decrease with
    // factr·ε·max(|f|, 1), an absolute 2.2e-9 for f ≈ 1e-3. With that test off (ftol = 0; only
    // max|∇F| ≤ 1e-5 stops it, like Epoch's BFGS) the same start reaches the grid's optimum.
    let gradient_only = HoffmannOptions {
        starts: Some(vec![start]),
        lbfgs: LbfgsOptions {
            ftol: 0.0,
            ..Default::default()
        },
        ..Default::default()
    };
    let fit = fit_hoffmann(&n, &d, &l, &gradient_only).unwrap();
    assert_eq!(fit.termination, Termination::GradientConverged);
    assert_reaches_epoch_fit(&fit, "start (0, 0, -1, 0, 0) with ftol = 0");
}

#[test]
fn notebook_winning_starts_reach_epoch_fit_when_the_gradient_stops_them() {
    let Some((n, d, l)) = epoch_points() else {
        return;
    };
    // The notebook's winning starts (a, b, e, α, β) (science.md §7 item 17) and the winner of our
    // full-grid run (start #2832). With scipy's default relative-reduction test a single start can
    // stop early in the flat valley, and where it stops changes with rounding-level differences
    // of the path (finite vs exact gradients, summation order), so single starts are checked with
    // gradient-only stopping (ftol = 0, max|∇F| ≤ 1e-5); the default rule is checked on the
    // whole grid by `full_grid_reaches_epoch_fit`.
    let starts = [
        [10.0, 20.0, -0.5, 1.0, 0.0],
        [0.0, 25.0, -0.5, 0.0, 0.0],
        [0.0, 20.0, -1.0, 0.0, 0.0],
        [20.0, 0.0, 0.5, 1.5, 0.0],
    ];
    let grid = hoffmann_grid();
    for s in &starts {
        assert!(grid.contains(s), "{s:?} is a grid start");
        let opts = HoffmannOptions {
            starts: Some(vec![*s]),
            lbfgs: LbfgsOptions {
                ftol: 0.0,
                ..Default::default()
            },
            ..Default::default()
        };
        let fit = fit_hoffmann(&n, &d, &l, &opts).unwrap();
        assert_eq!(
            fit.termination,
            Termination::GradientConverged,
            "start {s:?}"
        );
        assert_reaches_epoch_fit(&fit, &format!("start {s:?}"));
    }
}

#[test]
fn full_grid_reaches_epoch_fit() {
    let Some((n, d, l)) = epoch_points() else {
        return;
    };
    let mut last = (0, 0);
    let fit = fit_hoffmann_with(
        &n,
        &d,
        &l,
        &HoffmannOptions::default(),
        &mut |done, total| {
            last = (done, total);
            true
        },
    )
    .unwrap();
    assert_eq!(last, (4500, 4500));
    assert_eq!((fit.starts_run, fit.starts_total), (4500, 4500));
    assert_reaches_epoch_fit(&fit, "4500-start grid");
    println!(
        "full grid: objective {:.12e}, E {:.5} A {:.2} B {:.2} alpha {:.5} beta {:.5}; start #{} {:?}; {} of 4500 converged",
        fit.objective,
        fit.e(),
        fit.a(),
        fit.b(),
        fit.alpha(),
        fit.beta(),
        fit.best_start_index,
        fit.best_start,
        fit.starts_converged
    );
}

#[test]
fn mean_objective_from_hoffmann_params_stops_near_hoffmann_fit() {
    // Epoch's hypothesis for Hoffmann's fit (science.md §4b, §7 item 17): the mean-reduced objective
    // is so small that L-BFGS-B's relative-reduction test (factr·ε against max(|f|, 1)) stops it
    // after ~2 iterations at A = 406.40, B = 410.73, E = 1.6934, α = 0.33899, β = 0.28468.
    let Some((n, d, l)) = epoch_points() else {
        return;
    };
    let opts = HoffmannOptions {
        reduction: Reduction::Mean,
        starts: Some(vec![HOFFMANN_UNROUNDED_THETA]),
        ..Default::default()
    };
    let fit = fit_hoffmann(&n, &d, &l, &opts).unwrap();
    assert!(fit.converged && fit.iterations <= 3, "{fit:?}");
    assert_close(fit.a(), 406.40, 1e-3, 0.0, "A");
    assert_close(fit.b(), 410.73, 1e-3, 0.0, "B");
    assert_close(fit.e(), 1.6934, 1e-3, 0.0, "E");
    assert_close(fit.alpha(), 0.33899, 2e-3, 0.0, "alpha");
    assert_close(fit.beta(), 0.28468, 2e-3, 0.0, "beta");
}

/// Bootstrap as Epoch did for their SEs (science.md §4b): resample the 240 points, refit each
/// resample on the Huber-sum objective from Hoffmann's unrounded params. Epoch used BFGS, which
/// stops on the gradient only, so the refits use L-BFGS with `ftol = 0` (scipy's default
/// relative-reduction test stops them early in the flat valley, see
/// `single_start_stops_in_the_flat_valley_unless_only_the_gradient_test_stops_it`). Returns the
/// estimates as `[E, A, B, α, β]`.
fn bootstrap_estimates(
    n: &[f64],
    d: &[f64],
    l: &[f64],
    resamples: usize,
    seed: u64,
) -> (Vec<Vec<f64>>, usize) {
    let obj = HoffmannObjective::new(n, d, l, HOFFMANN_DELTA, Reduction::Sum).unwrap();
    let opts = HoffmannOptions {
        starts: Some(vec![HOFFMANN_UNROUNDED_THETA]),
        lbfgs: LbfgsOptions {
            ftol: 0.0,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut refit = |idx: &[usize]| {
        let fit = fit_objective_with(&obj.resample(idx)?, &opts, &mut |_, _| true)?;
        Ok(fit.converged.then(|| fit.coefficients.to_vec()))
    };
    let boot = BootstrapOptions {
        resamples,
        seed,
        levels: vec![0.95, 0.80],
    };
    let out = bootstrap(n.len(), &mut refit, &boot, &mut |_, _| true).unwrap();
    assert_eq!(out.run, resamples);
    (out.estimates, out.failed)
}

#[test]
fn bootstrap_intervals_are_finite_and_contain_the_estimate() {
    let Some((n, d, l)) = epoch_points() else {
        return;
    };
    let point = fit_hoffmann(
        &n,
        &d,
        &l,
        &HoffmannOptions {
            starts: Some(vec![[0.0, 25.0, 0.0, 0.5, 0.0]]),
            ..Default::default()
        },
    )
    .unwrap();
    let (estimates, failed) = bootstrap_estimates(&n, &d, &l, 200, 42);
    assert!(failed <= 10, "{failed} of 200 refits failed");
    let s = summarize(&estimates, &[0.95, 0.80]).unwrap();
    for iv in &s.intervals {
        for j in 0..5 {
            let (lo, hi, est) = (iv.lower[j], iv.upper[j], point.coefficients[j]);
            assert!(
                lo.is_finite() && hi.is_finite() && lo < hi,
                "level {} param {j}",
                iv.level
            );
            assert!(
                lo <= est && est <= hi,
                "level {} param {j}: {est} not in [{lo}, {hi}]",
                iv.level
            );
        }
    }
    assert!(s.std_errors.iter().all(|v| v.is_finite() && *v > 0.0));
}

/// Reports B = 1000 bootstrap intervals beside Epoch's published 95 % intervals (not asserted):
/// `cargo test -p scalelab-core --release --test it fit_chinchilla::bootstrap_1000_report -- --ignored --nocapture`.
#[test]
#[ignore = "report only; run with --ignored --nocapture"]
fn bootstrap_1000_report() {
    let Some((n, d, l)) = epoch_points() else {
        return;
    };
    let (estimates, failed) = bootstrap_estimates(&n, &d, &l, 1000, 42);
    let s = summarize(&estimates, &[0.95, 0.80]).unwrap();
    // science.md §4b / refdata README: Epoch's 4000-resample 95 % percentile intervals and SEs.
    let epoch_ci = [
        (1.769, 1.871),
        (285.214, 743.626),
        (1042.357, 5810.344),
        (0.317, 0.373),
        (0.331, 0.415),
    ];
    let epoch_se = [0.02566, 124.52232, 1293.28410, 0.01540, 0.02060];
    println!("B = 1000 (seed 42), {failed} refits failed; percentile intervals on [E, A, B, alpha, beta]");
    println!("| param | ours 95% | Epoch 95% | ours 80% | ours SE | Epoch SE |");
    println!("|---|---|---|---|---|---|");
    for (j, name) in ["E", "A", "B", "alpha", "beta"].iter().enumerate() {
        println!(
            "| {name} | ({:.4}, {:.4}) | ({}, {}) | ({:.4}, {:.4}) | {:.4} | {} |",
            s.intervals[0].lower[j],
            s.intervals[0].upper[j],
            epoch_ci[j].0,
            epoch_ci[j].1,
            s.intervals[1].lower[j],
            s.intervals[1].upper[j],
            s.std_errors[j],
            epoch_se[j]
        );
    }
}
