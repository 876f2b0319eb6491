//! Calibrate: temperature scaling and the metrics against published and library values
//! (science.md §7 items 11–13; the markus93 test-set ECE/MCE published in
//! `markus93/NN_calibration`, `$SCALELAB_REFDATA/calibration/hollance_markus93`, README there).

use scalelab_core::calibrate::binning::{equal_width, Binning, EdgeConvention};
use scalelab_core::calibrate::metrics::{
    average_calibration_error, brier, calibration_error, nll, reliability, top_label, Norm,
};
use scalelab_core::calibrate::temperature::{fit_temperature, nll_derivatives};
use scalelab_core::calibrate::{logits_from_probabilities, Scores};
use scalelab_core::CoreError;

use crate::fit_models::refdata;

fn width(bins: usize, edges: EdgeConvention) -> Binning {
    Binning::EqualWidth { bins, edges }
}

#[test]
fn torchmetrics_docstring_binary_values() {
    // binary_calibration_error([0.25,0.25,0.55,0.75,0.75], [0,0,1,1,1], n_bins=2):
    // conf = p(y=1), outcome = y; [lo, hi) bins with conf = 1 apart.
    let conf = [0.25, 0.25, 0.55, 0.75, 0.75];
    let y = [0.0, 0.0, 1.0, 1.0, 1.0];
    let r = reliability(&conf, &y, &width(2, EdgeConvention::LowerClosedExtraBin)).unwrap();
    assert!((calibration_error(&r, Norm::L1) - 0.2900).abs() < 5e-5);
    assert!((calibration_error(&r, Norm::L2) - 0.2918).abs() < 5e-5);
    assert!((calibration_error(&r, Norm::Max) - 0.3167).abs() < 5e-5);
}

/// The same docstring values from two-class probability rows (1 − p, p) through the metric
/// report's binary convention, p(y = 1) against y.
#[test]
fn torchmetrics_docstring_binary_values_from_two_class_rows() {
    use scalelab_core::calibrate::metrics::metric_report;
    let p1 = [0.25, 0.25, 0.55, 0.75, 0.75];
    let probs: Vec<f64> = p1.iter().flat_map(|&p| [1.0 - p, p]).collect();
    let z = logits_from_probabilities(&probs, 2).unwrap();
    let labels = [0, 0, 1, 1, 1];
    let s = Scores::new(&z, 2, &labels).unwrap();
    let m = metric_report(&s, 1.0, &width(2, EdgeConvention::LowerClosedExtraBin)).unwrap();
    let b = m.binary.unwrap();
    assert!((b.ece - 0.2900).abs() < 5e-5, "{b:?}");
    assert!((b.rms - 0.2918).abs() < 5e-5, "{b:?}");
    assert!((b.mce - 0.3167).abs() < 5e-5, "{b:?}");
    // Top-label: every row's top class is right here, so the top-label ECE differs.
    assert_eq!(m.accuracy, 1.0);
    let three = [0.2, 0.3, 0.5];
    let z3 = logits_from_probabilities(&three, 3).unwrap();
    let s3 = Scores::new(&z3, 3, &[2]).unwrap();
    assert_eq!(
        metric_report(&s3, 1.0, &width(2, EdgeConvention::UpperClosed))
            .unwrap()
            .binary,
        None
    );
}

#[test]
fn torchmetrics_docstring_multiclass_values() {
    let probs = [
        0.25, 0.20, 0.55, 0.55, 0.05, 0.40, 0.10, 0.30, 0.60, 0.90, 0.05, 0.05,
    ];
    let labels = [0, 1, 2, 0];
    let z = logits_from_probabilities(&probs, 3).unwrap();
    let s = Scores::new(&z, 3, &labels).unwrap();
    let (conf, correct) = top_label(&s, 1.0);
    let r = reliability(
        &conf,
        &correct,
        &width(3, EdgeConvention::LowerClosedExtraBin),
    )
    .unwrap();
    assert!((calibration_error(&r, Norm::L1) - 0.2000).abs() < 5e-5);
    assert!((calibration_error(&r, Norm::L2) - 0.2082).abs() < 5e-5);
    assert!((calibration_error(&r, Norm::Max) - 0.2333).abs() < 5e-5);
}

#[test]
fn the_bin_edge_convention_changes_the_ece() {
    // science.md §7 item 12: Guo/gpleiss (lo, hi] 0.15; torchmetrics [lo, hi) + the conf = 1 bin 0.10.
    let conf = [0.75, 0.75, 0.90, 1.00];
    let correct = [1.0, 0.0, 1.0, 1.0];
    let ece = |e| {
        calibration_error(
            &reliability(&conf, &correct, &width(4, e)).unwrap(),
            Norm::L1,
        )
    };
    assert!((ece(EdgeConvention::UpperClosed) - 0.15).abs() < 1e-12);
    assert!((ece(EdgeConvention::LowerClosedExtraBin) - 0.10).abs() < 1e-12);
    // numpy's histogram: [lo, hi), the last closed: all four in [0.75, 1], acc 0.75, conf 0.85.
    assert!((ece(EdgeConvention::LowerClosed) - 0.10).abs() < 1e-12);
    assert_eq!(equal_width(0.75, 4, EdgeConvention::UpperClosed), Some(2));
    assert_eq!(equal_width(0.75, 4, EdgeConvention::LowerClosed), Some(3));
    assert_eq!(
        equal_width(1.0, 4, EdgeConvention::LowerClosedExtraBin),
        Some(4)
    );
    assert_eq!(equal_width(1.0, 4, EdgeConvention::LowerClosed), Some(3));
    assert_eq!(equal_width(0.0, 4, EdgeConvention::UpperClosed), None);
}

#[test]
fn temperature_has_its_closed_form_optimum_with_a_certificate() {
    // science.md §7 item 13: T* = 3/ln 3, NLL 0.798587351573742 → 0.5623351446188083.
    let z = [3.0, 0.0, 3.0, 0.0, 3.0, 0.0, 0.0, 3.0];
    let labels = [0, 0, 1, 1];
    let s = Scores::new(&z, 2, &labels).unwrap();
    let fit = fit_temperature(&s).unwrap();
    assert!(
        (fit.temperature - 2.730717679880512).abs() < 1e-12,
        "{fit:?}"
    );
    assert!((fit.nll_before - 0.798587351573742).abs() < 1e-13);
    assert!((fit.nll - 0.5623351446188083).abs() < 1e-13);
    assert!(fit.gradient < 1e-14, "certificate {:e}", fit.gradient);
    assert!((nll(&s, fit.temperature) - fit.nll).abs() < 1e-15);
    assert!((brier(&s, 1.0) - 0.4570725537).abs() < 1e-10);
    assert!((brier(&s, fit.temperature) - 0.375).abs() < 1e-12);
    let ece = |t| {
        let (c, o) = top_label(&s, t);
        calibration_error(
            &reliability(&c, &o, &width(15, EdgeConvention::UpperClosed)).unwrap(),
            Norm::L1,
        )
    };
    assert!((ece(1.0) - 0.2025741268).abs() < 1e-10);
    assert!(ece(fit.temperature) < 1e-12);
    // The derivative the solver drives to zero, by central differences of the NLL.
    let b = 0.7;
    let h = 1e-5;
    let fd = (nll_derivatives(&s, b + h).0 - nll_derivatives(&s, b - h).0) / (2.0 * h);
    assert!((fd - nll_derivatives(&s, b).1).abs() < 1e-9);
}

#[test]
fn temperature_without_a_finite_optimum_is_a_typed_error() {
    // Every label has the largest logit: NLL falls as T → 0.
    let z = [2.0, 0.0, 0.0, 1.0];
    let s = Scores::new(&z, 2, &[0, 1]).unwrap();
    assert!(matches!(
        fit_temperature(&s),
        Err(CoreError::NoOptimalTemperature { .. })
    ));
    // Every label has the smallest logit: no better than uniform, T → ∞.
    let s = Scores::new(&z, 2, &[1, 0]).unwrap();
    assert!(matches!(
        fit_temperature(&s),
        Err(CoreError::NoOptimalTemperature { .. })
    ));
}

#[test]
fn bad_scores_are_specific_errors() {
    assert!(matches!(
        Scores::new(&[], 2, &[]),
        Err(CoreError::EmptyInput { .. })
    ));
    assert!(matches!(
        Scores::new(&[1.0, 2.0], 2, &[2]),
        Err(CoreError::IndexOutOfRange {
            index: 2,
            len: 2,
            ..
        })
    ));
    assert!(matches!(
        Scores::new(&[1.0, 2.0, 3.0], 2, &[0]),
        Err(CoreError::DimensionMismatch { .. })
    ));
    assert!(matches!(
        Scores::new(&[1.0, f64::NAN], 2, &[0]),
        Err(CoreError::NonFinite { index: 1, .. })
    ));
    assert!(matches!(
        Scores::new(&[1.0], 1, &[0]),
        Err(CoreError::OutOfRange { .. })
    ));
    assert!(matches!(
        logits_from_probabilities(&[0.5, 0.6], 2),
        Err(CoreError::OutOfRange { .. })
    ));
    assert!(matches!(
        logits_from_probabilities(&[1.5, -0.5], 2),
        Err(CoreError::OutOfRange { .. })
    ));
    assert!(matches!(
        reliability(&[0.5], &[1.0], &width(0, EdgeConvention::UpperClosed)),
        Err(CoreError::OutOfRange { .. })
    ));
    assert!(matches!(
        reliability(&[1.5], &[1.0], &width(10, EdgeConvention::UpperClosed)),
        Err(CoreError::OutOfRange { .. })
    ));
}

#[test]
fn equal_mass_bins_never_split_tied_confidences() {
    let conf = [0.9, 0.9, 0.9, 0.9, 0.6, 0.7];
    let o = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0];
    let r = reliability(&conf, &o, &Binning::EqualMass { bins: 3 }).unwrap();
    // Ranks 2 and 4 fall inside or at the run of 0.9s: bins {0.6, 0.7} and {0.9 ×4}.
    let counts: Vec<usize> = r.bins.iter().map(|b| b.count).collect();
    assert_eq!(counts, vec![2, 4]);
    assert!(
        (calibration_error(&r, Norm::L1) - (2.0 / 6.0 * 0.15 + 4.0 / 6.0 * 0.15)).abs() < 1e-12
    );
    assert!((average_calibration_error(&r) - 0.15).abs() < 1e-12);
}

/// A markus93 CSV (`true_label,pred_label,confidence`) as top-label confidences and outcomes;
/// `None` without the reference data.
pub fn markus93(file: &str) -> Option<(Vec<f64>, Vec<f64>)> {
    let text = refdata(&format!("calibration/hollance_markus93/{file}"))?;
    let (mut conf, mut correct) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        conf.push(f[2].parse::<f64>().unwrap());
        correct.push(f64::from(u8::from(f[0] == f[1])));
    }
    Some((conf, correct))
}

#[test]
fn markus93_test_sets_match_their_published_ece_and_mce() {
    // markus93/NN_calibration notebook outputs (15 bins over (lo, hi], top-label confidence).
    let published = [
        (
            "probs_resnet110_c10_logits.csv",
            0.9356,
            0.047503518641,
            0.295798957348,
        ),
        (
            "probs_densenet40_c10_logits.csv",
            0.9242,
            0.055002704373,
            0.333955179269,
        ),
        (
            "probs_resnet110_c100_logits.csv",
            0.7148,
            0.184804543945,
            0.398817125148,
        ),
        (
            "probs_densenet40_c100_logits.csv",
            0.700,
            0.211562852757,
            0.45400331452,
        ),
        (
            "probs_resnet50_birds_logits.csv",
            0.731446323783,
            0.0235349822251,
            0.27288242057,
        ),
    ];
    for (file, acc, ece, mce) in published {
        let Some((conf, correct)) = markus93(file) else {
            return;
        };
        let r = reliability(&conf, &correct, &width(15, EdgeConvention::UpperClosed)).unwrap();
        let a = correct.iter().sum::<f64>() / correct.len() as f64;
        assert!((a - acc).abs() < 1e-9, "{file}: accuracy {a}");
        let (e, m) = (
            calibration_error(&r, Norm::L1),
            calibration_error(&r, Norm::Max),
        );
        assert!((e - ece).abs() < 1e-6, "{file}: ECE {e} vs {ece}");
        assert!((m - mce).abs() < 1e-6, "{file}: MCE {m} vs {mce}");
    }
}
