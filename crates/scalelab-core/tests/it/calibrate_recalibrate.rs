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
