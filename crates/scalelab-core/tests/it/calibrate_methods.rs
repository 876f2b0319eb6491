//! Calibrate beyond the libraries' metrics: vector and matrix scaling, the convention matrix
//! (scikit-learn's `calibration_curve` binnings included), CORP with the Murphy decomposition,
//! the class-frequency forecaster that shows ECE is not proper, ECE against the number of bins,
//! and the class-overlap experiment. Hand-derived values are worked in the comments; peer values
//! come from `tests/vectors/calibration_conventions.py` (scikit-learn, scipy, Kumar's
//! `uncertainty-calibration`).

use scalelab_core::calibrate::binning::{Binning, EdgeConvention};
use scalelab_core::calibrate::conventions::{convention_matrix, Convention};
use scalelab_core::calibrate::corp::{corp, murphy};
use scalelab_core::calibrate::metrics::{
    calibration_error, calibration_error_by_bins, reliability, top_label, Norm,
};
use scalelab_core::calibrate::overlap::{run, OverlapConfig, OverlapRun, Training};
use scalelab_core::calibrate::properness::properness;
use scalelab_core::calibrate::scaling::{fit_scaling, AffineMap};
use scalelab_core::calibrate::temperature::fit_temperature;
use scalelab_core::calibrate::Scores;
use scalelab_core::fit::Termination;
use scalelab_core::CoreError;

use crate::assert_close;
use crate::calibrate_netcal::netcal_example;

#[test]
fn sklearn_binnings_follow_searchsorted_on_the_inner_edges() {
    // Uniform, M = 5: numpy.linspace edges 0, .2, .4, .6000000000000001, .8, 1; a confidence's
    // bin is the number of inner edges strictly below it, so 0 → 0 and 0.2 (= an edge) → 0.
    let conf = [0.0, 0.2, 0.5, 0.7, 1.0];
    let (bins, m) = Binning::SklearnUniform { bins: 5 }.assign(&conf).unwrap();
    assert_eq!(m, 5);
    assert_eq!(bins, vec![Some(0), Some(0), Some(2), Some(3), Some(4)]);
    let edges = Binning::SklearnUniform { bins: 5 }.edges(&conf).unwrap();
    assert_eq!(edges[3], 0.6000000000000001);
    // Guo's (lo, hi] leaves 0 in no bin.
    let (guo, _) = Convention::Guo.binning(5).assign(&conf).unwrap();
    assert_eq!(guo, vec![None, Some(0), Some(2), Some(3), Some(4)]);
    // Quantile, M = 2, on 0.1 0.2 0.3 0.4: the median 0.25 is the inner edge.
    let conf = [0.4, 0.1, 0.3, 0.2];
    let b = Binning::SklearnQuantile { bins: 2 };
    assert_eq!(b.edges(&conf).unwrap(), vec![0.1, 0.25, 0.4]);
    assert_eq!(
        b.assign(&conf).unwrap().0,
        vec![Some(1), Some(0), Some(1), Some(0)]
    );
}

#[test]
fn the_convention_matrix_puts_a_confidence_of_one_in_four_different_bins() {
    // conf = 1 (correct): Guo (lo, hi] → bin 14 of 15; torchmetrics → its extra bin 15; netcal
    // clips to 1 − ε → bin 9 of 10; scikit-learn → its last bin 4 of 5 (both strategies: the
    // quantile edges of one value are all 1, and no inner edge is below 1).
    let m = convention_matrix(&[1.0, 0.5], &[1.0, 0.0], None).unwrap();
    let first: Vec<(Convention, Option<u32>)> =
        m.iter().map(|c| (c.convention, c.assignment[0])).collect();
    assert_eq!(
        first,
        vec![
            (Convention::Guo, Some(14)),
            (Convention::Torchmetrics, Some(15)),
            (Convention::Netcal, Some(9)),
            (Convention::SklearnUniform, Some(4)),
            (Convention::SklearnQuantile, Some(4)),
        ]
    );
    // The quantile edges of {0.5, 1} are 0.5, 0.6, …, 1 (linear interpolation): 0.5 is in bin 0
    // and 1 in bin 4 (searchsorted([.6, .7, .8, .9], 1) = 4); bins 1 to 3 are empty.
    assert_eq!(m[4].assignment[1], Some(0));
    assert_eq!(m[4].edges.len(), 6);
    // Every convention: both samples in their own bin, each with |acc − conf| = 0 or 0.5 → ECE
    // (1/2)·0 + (1/2)·0.5 = 0.25 (netcal: conf 1 − ε, so 0.25 + ε/2).
    for c in &m {
        assert_close(c.ece, 0.25, 0.0, 1e-15, &format!("{:?}", c.convention));
    }
}

#[test]
fn murphy_decomposition_of_two_crossed_forecasts() {
    // x = (0.2, 0.8), y = (1, 0): PAV pools both to 0.5. S(x) = (0.64 + 0.64)/2 = 0.64,
    // S(x̂) = 0.25, ȳ = 0.5 so S(ȳ) = 0.25: MCB = 0.39, DSC = 0, UNC = 0.25.
    let (curve, d) = murphy(&[0.2, 0.8], &[1.0, 0.0]).unwrap();
    assert_eq!(curve.y, vec![0.5, 0.5]);
    assert_close(d.brier, 0.64, 0.0, 1e-15, "BS");
    assert_close(d.miscalibration, 0.39, 0.0, 1e-15, "MCB");
    assert_close(d.discrimination, 0.0, 0.0, 1e-15, "DSC");
    assert_close(d.uncertainty, 0.25, 0.0, 1e-15, "UNC");
    // Outcomes must be 0 or 1.
    assert!(matches!(
        murphy(&[0.2, 0.8], &[0.5, 0.0]),
        Err(CoreError::OutOfRange { .. })
    ));
}

#[test]
fn the_consistency_band_covers_a_calibrated_forecaster() {
    // Forecasts on a grid, outcomes y_i = 1 for the i < round(n·x_i) … simpler: a calibrated
    // forecaster by construction — x = j/10 for j = 1..9, each 200 times, with exactly
    // round(200·x) positives. Its CORP curve is the identity at the grid, inside the 90 % band.
    let (mut x, mut y) = (vec![], vec![]);
    for j in 1..10 {
        let p = j as f64 / 10.0;
        for r in 0..200 {
            x.push(p);
            y.push(f64::from(u8::from(r < (200.0 * p).round() as usize)));
        }
    }
    let c = corp(&x, &y, 200, 0.9, 9, 11).unwrap();
    for (xi, yi) in c.curve.x.iter().zip(&c.curve.y) {
        assert_close(*yi, *xi, 0.0, 1e-12, "calibrated CORP curve");
    }
    assert_close(
        c.murphy.miscalibration,
        0.0,
        0.0,
        1e-12,
        "MCB of a calibrated forecaster",
    );
    for b in &c.band {
        assert!(b.lower <= b.x && b.x <= b.upper, "{b:?}");
        assert!(b.upper - b.lower < 0.2, "band too wide: {b:?}");
    }
}

/// ECE against the number of bins, under two libraries' conventions, against their independent
/// values: Guo's 15 bins from the numpy vectors (`calibration_netcal.json`), scikit-learn's uniform
/// 10 and 15 bins from scikit-learn itself (`calibration_conventions.json`; there on the file's
/// float32 rows, here on the renormalised softmax, which moves ECE by ~1e-10).
#[test]
fn ece_against_the_number_of_bins_matches_each_library() {
    use scalelab_core::calibrate::conventions::error_by_bins;
    let Some((z, k, labels)) = netcal_example("lenet-5-cifar-10.npz") else {
        return;
    };
    let s = Scores::new(&z, k, &labels).unwrap();
    let (conf, correct) = top_label(&s, 1.0);
    let netcal: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../tests/vectors/calibration_netcal.json"
    ))
    .unwrap();
    let sklearn: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../tests/vectors/calibration_conventions.json"
    ))
    .unwrap();
    let file = "lenet-5-cifar-10.npz";
    let guo = error_by_bins(Convention::Guo, &conf, &correct, &[15], Norm::L1).unwrap();
    let want = netcal["files"][file]["before"]["upper_closed"]["ece"]
        .as_f64()
        .unwrap();
    assert_close(guo[0], want, 1e-6, 0.0, "Guo, 15 bins");
    let uniform = error_by_bins(
        Convention::SklearnUniform,
        &conf,
        &correct,
        &[10, 15],
        Norm::L1,
    )
    .unwrap();
    for (got, key) in uniform.iter().zip(["uniform_10", "uniform_15"]) {
        let c = &sklearn["files"][file]["calibration_curve"]["top_label"][key];
        let want = c["ece_sklearn_convention"].as_f64().unwrap();
        assert_close(*got, want, 1e-8, 0.0, key);
    }
    // The generic form with a binning per M gives the same numbers.
    let by_m = calibration_error_by_bins(&conf, &correct, &[10, 15], Norm::L1, |m| {
        Binning::SklearnUniform { bins: m }
    })
    .unwrap();
    assert_eq!(by_m, uniform);
}

#[test]
fn the_class_frequency_forecaster_has_zero_ece_on_cifar_10() {
    // netcal's CIFAR-10 test set has 1000 images per class: the forecaster predicts 0.1 for every
    // class, so its accuracy and confidence are both 0.1 (ECE 0), its NLL is ln 10 and its Brier
    // score 1 − 2·0.1 + 10·0.01 = 0.9.
    let Some((z, k, labels)) = netcal_example("lenet-5-cifar-10.npz") else {
        return;
    };
    let s = Scores::new(&z, k, &labels).unwrap();
    let guo = Binning::EqualWidth {
        bins: 15,
        edges: EdgeConvention::UpperClosed,
    };
    let p = properness(&s, 1.0, &guo).unwrap();
    assert!(p.frequencies.iter().all(|&f| f == 0.1));
    let f = p.frequency_forecaster;
    assert_close(f.accuracy, 0.1, 0.0, 1e-15, "accuracy");
    assert_close(f.ece, 0.0, 0.0, 1e-12, "ECE");
    assert_close(f.nll, 10f64.ln(), 1e-12, 0.0, "NLL");
    assert_close(f.brier, 0.9, 1e-12, 0.0, "Brier");
    // The model is worse calibrated by ECE and better by both proper scores.
    assert!(p.model.ece > 0.01 && p.model.nll < f.nll && p.model.brier < f.brier);
}

#[test]
fn vector_and_matrix_scaling_nest_temperature_scaling() {
    // Vector scaling contains w = (1/T)·1, b = 0 and matrix scaling contains vector scaling, so
    // their optimal NLLs are ordered; each fit reaches its gradient tolerance. (The first 2000
    // rows: unpenalised matrix scaling takes hundreds of L-BFGS steps.)
    let Some((z, k, labels)) = netcal_example("lenet-5-cifar-10.npz") else {
        return;
    };
    let s = Scores::new(&z[..2000 * k], k, &labels[..2000]).unwrap();
    let ts = fit_temperature(&s).unwrap();
    let v = fit_scaling(&s, AffineMap::Vector, 0.0).unwrap();
    let m = fit_scaling(&s, AffineMap::Matrix, 0.0).unwrap();
    for f in [&v, &m] {
        assert!(
            matches!(
                f.termination,
                Termination::GradientConverged | Termination::CostConverged
            ),
            "{:?}: {:?}",
            f.map,
            f.termination
        );
        // Unpenalised, the minimiser is a flat valley (softmax's shift invariance): L-BFGS stops
        // when F stops decreasing in double precision, near |∇F| ~ 1e-7, and says so.
        assert!(
            f.gradient <= 1e-6,
            "{:?}: certificate {:e}",
            f.map,
            f.gradient
        );
    }
    assert!(v.nll <= ts.nll + 1e-12 && m.nll <= v.nll + 1e-12);
    assert_close(
        v.nll_before,
        ts.nll_before,
        1e-14,
        0.0,
        "NLL of the identity map",
    );
    // A huge penalty pins the map to the identity: ∇F = 0 gives θ − θ_I = −∇NLL/(2λ).
    let pinned = fit_scaling(&s, AffineMap::Vector, 1e6).unwrap();
    assert!(pinned.weights.iter().all(|w| (w - 1.0).abs() < 1e-5));
    assert!(pinned.bias.iter().all(|b| b.abs() < 1e-5));
    // The calibrated logits have the fit's NLL.
    let a = v.apply(&s).unwrap();
    let sa = Scores::new(&a, k, &labels[..2000]).unwrap();
    assert_close(
        scalelab_core::calibrate::metrics::nll(&sa, 1.0),
        v.nll,
        1e-12,
        0.0,
        "NLL of the applied map",
    );
}

#[test]
fn scaling_refuses_bad_penalties_and_large_matrices() {
    let z = vec![0.0; 101 * 2];
    let labels = vec![0, 1];
    let s = Scores::new(&z, 101, &labels).unwrap();
    for bad in [-1.0, f64::NAN, 1e7] {
        assert!(matches!(
            fit_scaling(&s, AffineMap::Vector, bad),
            Err(CoreError::OutOfRange {
                what: "L2 penalty λ",
                ..
            })
        ));
    }
    assert!(matches!(
        fit_scaling(&s, AffineMap::Matrix, 0.0),
        Err(CoreError::OutOfRange {
            what: "number of classes for matrix scaling",
            ..
        })
    ));
}

#[test]
fn the_overlap_experiment_trains_and_scores_a_small_run() {
    let config = OverlapConfig {
        samples: 500,
        dim: 4,
        separation: 1.0,
        hidden: vec![8],
        epochs: 30,
        batch: 50,
        learning_rate: 1e-2,
        ..OverlapConfig::reference()
    };
    let mut r = OverlapRun::new(config.clone()).unwrap();
    // 500 rows: 100 test, 400 train of which 40 calibration.
    assert_eq!(
        (
            r.data().train.len(),
            r.data().calibration.len(),
            r.data().test.len()
        ),
        (360, 40, 100)
    );
    let first = r.epoch().unwrap();
    let (reports, result) = run(config.clone()).unwrap();
    // Seeded: the first epoch of a fresh run is the same.
    assert_eq!(reports[0], first);
    // Means 0 and 1·1 in four dimensions are 2 standard deviations apart along the diagonal: the
    // Bayes accuracy is Φ(1) ≈ 0.84; the network gets near it and its loss falls.
    assert!(reports[29].train_loss < reports[0].train_loss);
    assert!(result.before.accuracy > 0.7, "{result:?}");
    assert!(result.temperature.as_ref().unwrap().gradient < 1e-9);
    assert!(result.after.is_some());
    let mixup = run(OverlapConfig {
        training: Training::Mixup {
            points: 3,
            alpha: 1.0,
        },
        ..config.clone()
    })
    .unwrap();
    assert_ne!(mixup.0[0], reports[0]);
    for bad in [
        OverlapConfig {
            classes: 1,
            ..config.clone()
        },
        OverlapConfig {
            learning_rate: 0.0,
            ..config.clone()
        },
        OverlapConfig {
            training: Training::Mixup {
                points: 2,
                alpha: f64::NAN,
            },
            ..config.clone()
        },
    ] {
        assert!(matches!(
            OverlapRun::new(bad),
            Err(CoreError::OutOfRange { .. })
        ));
    }
}

fn f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// scikit-learn's `calibration_curve`, Kumar et al.'s `uncertainty-calibration`, CORP's Murphy
/// decomposition (scikit-learn's isotonic regression) and scipy's vector/matrix scaling fits on
/// netcal's two CIFAR-10 files (`tests/vectors/calibration_conventions.py`).
#[test]
fn conventions_debiased_l2_murphy_and_scaling_match_their_peers() {
    use scalelab_core::calibrate::metrics::{
        class_scores, debiased_calibration_error, marginal_debiased_calibration_error,
    };
    let want: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../tests/vectors/calibration_conventions.json"
    ))
    .unwrap();
    for (file, w) in want["files"].as_object().unwrap() {
        let Some((z, k, labels)) = netcal_example(file) else {
            return;
        };
        let s = Scores::new(&z, k, &labels).unwrap();
        // The peers read the file's float32 rows as they are (their sums are 1 only to ~1e-7), so
        // the binned values here are the file's p = exp(ln p), not a renormalised softmax.
        let p: Vec<f64> = z.iter().map(|v| v.exp()).collect();
        let (mut conf, mut correct) = (vec![], vec![]);
        for (row, &y) in p.chunks_exact(k).zip(&labels) {
            let j = scalelab_core::calibrate::argmax(row);
            conf.push(row[j]);
            correct.push(f64::from(u8::from(j == y)));
        }
        let (p1, is1) = class_scores(&s, &p, 1);
        for (convention, (x, y)) in [("top_label", (&conf, &correct)), ("binary", (&p1, &is1))] {
            let cc = &w["calibration_curve"][convention];
            for (key, binning) in [
                ("uniform_10", Binning::SklearnUniform { bins: 10 }),
                ("quantile_10", Binning::SklearnQuantile { bins: 10 }),
                ("uniform_15", Binning::SklearnUniform { bins: 15 }),
                ("quantile_15", Binning::SklearnQuantile { bins: 15 }),
            ] {
                let ctx = format!("{file} {convention} {key}");
                let c = &cc[key];
                // Counts exactly, curve and ECE to 1e-12.
                // Edges to 1e-14 (exp(ln p) can differ from the file's p in the last bit).
                crate::assert_all_close(
                    &binning.edges(x).unwrap(),
                    &f64s(&c["edges"]),
                    1e-14,
                    0.0,
                    &format!("{ctx} edges"),
                );
                let r = reliability(x, y, &binning).unwrap();
                let counts: Vec<f64> = r.bins.iter().map(|b| b.count as f64).collect();
                assert_eq!(counts, f64s(&c["counts"]), "{ctx} counts");
                let full: Vec<_> = r.bins.iter().filter(|b| b.count > 0).collect();
                for (b, (t, q)) in full
                    .iter()
                    .zip(f64s(&c["prob_true"]).into_iter().zip(f64s(&c["prob_pred"])))
                {
                    assert_close(b.accuracy, t, 1e-12, 0.0, &format!("{ctx} prob_true"));
                    assert_close(b.confidence, q, 1e-12, 0.0, &format!("{ctx} prob_pred"));
                }
                assert_close(
                    calibration_error(&r, Norm::L1),
                    c["ece_sklearn_convention"].as_f64().unwrap(),
                    1e-12,
                    0.0,
                    &format!("{ctx} ECE"),
                );
                let (assigned, _) = binning.assign(x).unwrap();
                for probe in ["first_20", "largest_10", "smallest_10"] {
                    let idx = f64s(&cc["probe_indices"][probe]);
                    let bins = f64s(&c["bin_index"][probe]);
                    for (&i, &b) in idx.iter().zip(&bins) {
                        assert_eq!(
                            assigned[i as usize],
                            Some(b as usize),
                            "{ctx} {probe} row {i}"
                        );
                    }
                }
            }
            // Murphy decomposition against scikit-learn's isotonic fit.
            let m = &w["murphy"][convention];
            let (_, d) = murphy(x, y).unwrap();
            for (got, key) in [
                (d.brier, "BS"),
                (d.miscalibration, "MCB"),
                (d.discrimination, "DSC"),
                (d.uncertainty, "UNC"),
            ] {
                assert_close(
                    got,
                    m[key].as_f64().unwrap(),
                    1e-10,
                    1e-15,
                    &format!("{file} {convention} {key}"),
                );
            }
        }
        // Kumar et al.'s debiased L2 with their package's bins, and on fixed equal-mass bins.
        let ku = &w["kumar"];
        for bins in [10usize, 15] {
            let b = Binning::EqualMassMidpoints { bins };
            let r = reliability(&conf, &correct, &b).unwrap();
            let pkg = &ku["package_num_bins"];
            assert_close(
                debiased_calibration_error(&r),
                pkg[format!("top-label_debiased_{bins}")].as_f64().unwrap(),
                1e-12,
                0.0,
                &format!("{file} debiased {bins}"),
            );
            assert_close(
                calibration_error(&r, Norm::L2),
                pkg[format!("top-label_plugin_{bins}")].as_f64().unwrap(),
                1e-12,
                0.0,
                &format!("{file} plug-in {bins}"),
            );
            // Marginal: from the renormalised softmax rows (the function's input is logits), so
            // within the rows' float32 sum error.
            assert_close(
                marginal_debiased_calibration_error(&s, 1.0, &b).unwrap(),
                pkg[format!("marginal_debiased_{bins}")].as_f64().unwrap(),
                1e-6,
                0.0,
                &format!("{file} marginal {bins}"),
            );
        }
        let fixed = &ku["fixed_equal_mass_15"];
        let r = reliability(&conf, &correct, &Binning::EqualMass { bins: 15 }).unwrap();
        assert_close(
            debiased_calibration_error(&r),
            fixed["top-label_debiased"].as_f64().unwrap(),
            1e-12,
            0.0,
            &format!("{file} debiased, equal mass"),
        );
        // Vector scaling at every penalty; matrix scaling at λ = 0.1 (the λ = 0 fit takes scipy
        // 821 iterations and is checked by the nesting test).
        for (map, key, lambdas) in [
            (AffineMap::Vector, "vector", &[0.0, 1e-3, 1e-1][..]),
            (AffineMap::Matrix, "matrix", &[1e-1][..]),
        ] {
            for &lambda in lambdas {
                let e = w["scaling"][key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["lambda"].as_f64() == Some(lambda))
                    .unwrap();
                let f = fit_scaling(&s, map, lambda).unwrap();
                let ctx = format!("{file} {key} λ = {lambda}");
                assert_close(
                    f.objective,
                    e["objective"].as_f64().unwrap(),
                    1e-10,
                    0.0,
                    &ctx,
                );
                assert_close(f.nll, e["mean_nll"].as_f64().unwrap(), 1e-8, 0.0, &ctx);
                if lambda > 0.0 {
                    let wk = if map == AffineMap::Vector { "w" } else { "W" };
                    let wv: Vec<f64> = match &e[wk] {
                        serde_json::Value::Array(rows) if rows[0].is_array() => {
                            rows.iter().flat_map(f64s).collect()
                        }
                        v => f64s(v),
                    };
                    crate::assert_all_close(&f.weights, &wv, 0.0, 1e-6, &format!("{ctx} weights"));
                    crate::assert_all_close(
                        &f.bias,
                        &f64s(&e["b"]),
                        0.0,
                        1e-6,
                        &format!("{ctx} bias"),
                    );
                }
            }
        }
    }
}

#[test]
fn synthetic_scores_are_seeded_and_their_temperature_follows_the_scale() {
    use scalelab_core::calibrate::synthetic::synthetic_logits;
    let (z, y) = synthetic_logits(2000, 20, 9.0, 5, 1 << 20).unwrap();
    assert_eq!(
        synthetic_logits(2000, 20, 9.0, 5, 1 << 20).unwrap(),
        (z.clone(), y.clone())
    );
    // The Bayes temperature is about scale/3 (module docs): 3 here, and below 1 at scale 1.5.
    let t = fit_temperature(&Scores::new(&z, 20, &y).unwrap())
        .unwrap()
        .temperature;
    assert!(t > 2.0 && t < 4.5, "T* = {t}");
    let (z, y) = synthetic_logits(2000, 20, 1.5, 5, 1 << 20).unwrap();
    let t = fit_temperature(&Scores::new(&z, 20, &y).unwrap())
        .unwrap()
        .temperature;
    assert!(t < 1.0, "T* = {t}");
    for (rows, classes, scale) in [
        (0, 2, 1.0),
        (10, 1, 1.0),
        (1 << 20, 2, 1.0),
        (10, 2, f64::NAN),
        (10, 2, 0.0),
    ] {
        assert!(matches!(
            synthetic_logits(rows, classes, scale, 0, 1 << 20),
            Err(CoreError::OutOfRange { .. })
        ));
    }
}

#[test]
fn at_full_overlap_a_run_can_have_no_finite_temperature_and_says_so() {
    // μ = 0: the classes are the same distribution, so on some seeds the memorising network is
    // worse than uniform on the calibration split and the NLL falls as T → ∞ (a result, not a
    // failure: before-scores are still reported).
    let mut none = 0;
    for seed in 0..20 {
        let config = OverlapConfig {
            samples: 200,
            dim: 2,
            separation: 0.0,
            hidden: vec![32],
            epochs: 40,
            batch: 50,
            learning_rate: 1e-2,
            seed,
            ..OverlapConfig::reference()
        };
        let (_, r) = run(config).unwrap();
        assert_eq!(r.temperature.is_ok(), r.after.is_some());
        if let Err(reason) = &r.temperature {
            assert!(reason.contains("no better than uniform"), "{reason}");
            none += 1;
        }
        assert!(r.before.nll.is_finite());
    }
    assert!(
        none > 0 && none < 20,
        "{none} of 20 seeds without a temperature"
    );
}

/// The NLL(T) curve of the closed-form set (logits (3, 0) ×3, labels 0, 0, 1; (0, 3), label 1):
/// NLL(T) = −[3 ln σ(3/T) + ln(1 − σ(3/T))]/4 by hand; its middle point is T* = 3/ln 3, and the
/// slider's reading is linear in ln T between points.
#[test]
fn the_nll_curve_is_log_spaced_around_t_and_read_linearly_in_ln_t() {
    use scalelab_core::calibrate::temperature::{nll_curve, nll_on_curve};
    use scalelab_core::calibrate::Scores;
    let logits = [3.0, 0.0, 3.0, 0.0, 3.0, 0.0, 0.0, 3.0];
    let labels = [0, 0, 1, 1];
    let s = Scores::new(&logits, 2, &labels).unwrap();
    let t_star = 3.0 / 3f64.ln();
    let curve = nll_curve(&s, t_star, 81);
    assert_eq!(curve.len(), 81);
    assert!(
        (curve[0][0] - t_star / 8.0).abs() < 1e-12 && (curve[80][0] - 8.0 * t_star).abs() < 1e-12
    );
    // ln σ(x) = −ln(1 + e^−x), ln(1 − σ(x)) = −x − ln(1 + e^−x), without cancellation.
    let by_hand = |t: f64| {
        let x = 3.0 / t;
        let log1p = (-x).exp().ln_1p();
        (3.0 * log1p + x + log1p) / 4.0
    };
    for [t, v] in &curve {
        assert!((v - by_hand(*t)).abs() < 1e-13, "T = {t}");
    }
    assert!(
        (curve[40][0] - t_star).abs() < 1e-12 && (curve[40][1] - 0.5623351446188083).abs() < 1e-13
    );
    let two = [[1.0, 2.0], [4.0, 4.0]];
    // ln 2 is halfway from ln 1 to ln 4.
    assert!((nll_on_curve(&two, 2.0).unwrap() - 3.0).abs() < 1e-12);
    assert_eq!(nll_on_curve(&two, 5.0), None);
    assert_eq!(nll_on_curve(&two, 0.5), None);
}
