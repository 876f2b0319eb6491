//! Recalibration maps against scikit-learn's `IsotonicRegression` and a numpy histogram binning
//! (`tests/vectors/calibration_recalibrate.py`, on netcal's `lenet-5-cifar-10.npz`), and the
//! seeded split.

use serde_json::Value;

use scalelab_core::calibrate::binning::{Binning, EdgeConvention};
use scalelab_core::calibrate::metrics::{calibration_error, reliability, top_label, Norm};
use scalelab_core::calibrate::recalibrate::{split, HistogramBinning, Isotonic};
use scalelab_core::calibrate::Scores;
use scalelab_core::CoreError;

use crate::calibrate_netcal::netcal_example;

#[test]
fn isotonic_and_histogram_binning_match_scikit_learn_and_numpy() {
    let want: Value = serde_json::from_str(include_str!(
        "../../../../tests/vectors/calibration_recalibrate.json"
    ))
    .unwrap();
    let Some((z, _, labels)) = netcal_example("lenet-5-cifar-10.npz") else {
        return;
    };
    let s = Scores::new(&z, 10, &labels).unwrap();
    let (conf, correct) = top_label(&s, 1.0);
    let (cal_c, test_c) = conf.split_at(3000);
    let (cal_o, test_o) = correct.split_at(3000);

    let iso = Isotonic::fit(cal_c, cal_o).unwrap();
    for (q, w) in want["queries"]
        .as_array()
        .unwrap()
        .iter()
        .zip(want["isotonic_at_queries"].as_array().unwrap())
    {
        let (q, w) = (q.as_f64().unwrap(), w.as_f64().unwrap());
        assert!(
            (iso.apply(q) - w).abs() < 1e-12,
            "isotonic({q}) = {} vs {w}",
            iso.apply(q)
        );
    }
    let mapped: Vec<f64> = test_c.iter().map(|&c| iso.apply(c)).collect();
    let mean = mapped.iter().sum::<f64>() / mapped.len() as f64;
    assert!((mean - want["isotonic_test_mean"].as_f64().unwrap()).abs() < 1e-12);
    let ece = |c: &[f64]| {
        let b = Binning::EqualWidth {
            bins: 15,
            edges: EdgeConvention::UpperClosed,
        };
        calibration_error(&reliability(c, test_o, &b).unwrap(), Norm::L1)
    };
    assert!((ece(&mapped) - want["isotonic_test_ece"].as_f64().unwrap()).abs() < 1e-9);
    assert!((ece(test_c) - want["test_ece_before"].as_f64().unwrap()).abs() < 1e-9);

    let hist = HistogramBinning::fit(cal_c, cal_o, 15).unwrap();
    for (b, w) in want["histogram_values"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        match w.as_f64() {
            Some(w) => assert!((hist.values[b] - w).abs() < 1e-12, "bin {b}"),
            None => assert!(hist.empty.contains(&b), "bin {b} is empty"),
        }
    }
}

#[test]
fn isotonic_pools_violators_and_ties() {
    // Outcomes 1, 0 at rising confidences violate monotonicity: pooled to 0.5; the tie at 0.6 is
    // pooled before PAV.
    let iso = Isotonic::fit(&[0.2, 0.4, 0.6, 0.6, 0.9], &[1.0, 0.0, 1.0, 0.0, 1.0]).unwrap();
    assert_eq!(iso.x, vec![0.2, 0.4, 0.6, 0.9]);
    assert_eq!(iso.y, vec![0.5, 0.5, 0.5, 1.0]);
    assert_eq!(iso.apply(0.0), 0.5);
    assert!((iso.apply(0.75) - 0.75).abs() < 1e-15);
    assert!(matches!(
        Isotonic::fit(&[], &[]),
        Err(CoreError::EmptyInput { .. })
    ));
    assert!(matches!(
        HistogramBinning::fit(&[0.5], &[1.0], 0),
        Err(CoreError::OutOfRange { .. })
    ));
}

#[test]
fn splits_are_seeded_disjoint_and_checked() {
    let (a, b) = split(10, 0.3, 7).unwrap();
    assert_eq!((a.len(), b.len()), (3, 7));
    let mut all: Vec<usize> = a.iter().chain(&b).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
    assert_eq!(split(10, 0.3, 7).unwrap(), (a.clone(), b));
    assert_ne!(split(10, 0.3, 8).unwrap().0, a);
    for bad in [0.0, 1.0, 0.01, f64::NAN] {
        assert!(
            matches!(split(10, bad, 1), Err(CoreError::OutOfRange { .. })),
            "{bad}"
        );
    }
}

/// Every method fitted on netcal lenet-5's first 3000 rows and scored on the other 7000, against
/// numpy, scipy and scikit-learn (`tests/vectors/calibration_split.py`): test accuracy, NLL,
/// Brier, ECE, MCE and RMS (15 bins, (lo, hi]) to 1e-6 relative, and the fitted temperature.
#[test]
fn every_method_on_a_fixed_split_matches_numpy_scipy_and_scikit_learn() {
    use scalelab_core::calibrate::methods::{compare_methods, Method, MethodOutcome};
    let want: Value = serde_json::from_str(include_str!(
        "../../../../tests/vectors/calibration_split.json"
    ))
    .unwrap();
    let Some((z, k, labels)) = netcal_example("lenet-5-cifar-10.npz") else {
        return;
    };
    let s = Scores::new(&z, k, &labels).unwrap();
    let cal: Vec<usize> = (0..3000).collect();
    let test: Vec<usize> = (3000..labels.len()).collect();
    let binning = Binning::EqualWidth {
        bins: 15,
        edges: EdgeConvention::UpperClosed,
    };
    let lambda = want["lambda"].as_f64().unwrap();
    let c = compare_methods(&s, &cal, &test, &binning, lambda).unwrap();
    assert_eq!((c.calibration_rows, c.test_rows), (3000, 7000));
    assert_eq!(c.outcomes.len(), 6);
    let close = |what: &str, got: f64, want: &Value| {
        let w = want.as_f64().unwrap_or_else(|| panic!("{what}: no value"));
        assert!(
            (got - w).abs() <= 1e-6 * w.abs().max(1e-3),
            "{what}: {got} vs {w}"
        );
    };
    for outcome in &c.outcomes {
        let MethodOutcome::Scored(m) = outcome else {
            panic!("{outcome:?}")
        };
        let name: &str = m.method.into();
        let w = &want["methods"][name];
        close(&format!("{name} accuracy"), m.accuracy, &w["accuracy"]);
        close(&format!("{name} ECE"), m.ece, &w["ece"]);
        close(&format!("{name} MCE"), m.mce, &w["mce"]);
        close(&format!("{name} RMS"), m.rms, &w["rms"]);
        match m.method {
            Method::HistogramBinning | Method::Isotonic => {
                assert_eq!((m.nll, m.brier), (None, None), "{name}");
            }
            _ => {
                close(&format!("{name} NLL"), m.nll.unwrap(), &w["nll"]);
                close(&format!("{name} Brier"), m.brier.unwrap(), &w["brier"]);
            }
        }
        if m.method == Method::Temperature {
            close("T*", m.temperature.unwrap(), &w["temperature"]);
        }
        if matches!(m.method, Method::VectorScaling | Method::MatrixScaling) {
            assert!(m.gradient.unwrap() < 1e-7, "{name}: {:?}", m.gradient);
        }
    }
}

/// Matrix scaling past its class limit is that method's refusal (by code), not the comparison's
/// failure; a bad penalty or an empty split fails the whole call with its error.
#[test]
fn a_method_past_its_limit_is_refused_and_bad_options_fail_the_comparison() {
    use scalelab_core::calibrate::methods::{compare_methods, Method, MethodOutcome};
    use scalelab_core::calibrate::scaling::MATRIX_SCALING_MAX_CLASSES;
    use scalelab_core::calibrate::synthetic::synthetic_logits;
    use scalelab_core::CoreErrorCode;
    let k = MATRIX_SCALING_MAX_CLASSES + 1;
    let (z, labels) = synthetic_logits(40, k, 3.0, 2, 1 << 20).unwrap();
    let s = Scores::new(&z, k, &labels).unwrap();
    let (cal, test): (Vec<usize>, Vec<usize>) = ((0..20).collect(), (20..40).collect());
    let binning = Binning::EqualMass { bins: 4 };
    let c = compare_methods(&s, &cal, &test, &binning, 0.0).unwrap();
    for o in &c.outcomes {
        match o {
            MethodOutcome::Refused {
                method,
                code,
                message,
            } => {
                assert_eq!(*method, Method::MatrixScaling);
                assert_eq!(*code, CoreErrorCode::OutOfRange);
                assert!(message.contains("matrix scaling"), "{message}");
            }
            MethodOutcome::Scored(m) => assert_ne!(m.method, Method::MatrixScaling),
        }
    }
    assert!(matches!(
        compare_methods(&s, &cal, &test, &binning, -1.0),
        Err(CoreError::OutOfRange {
            what: "L2 penalty λ",
            ..
        })
    ));
    assert!(matches!(
        compare_methods(&s, &[], &test, &binning, 0.0),
        Err(CoreError::EmptyInput { .. })
    ));
    assert!(matches!(
        compare_methods(&s, &cal, &[40], &binning, 0.0),
        Err(CoreError::IndexOutOfRange {
            index: 40,
            len: 40,
            ..
        })
    ));
}
