//! Bootstrap intervals of calibration metrics: the bootstrap standard error of an accuracy against
//! the binomial closed form `√(p(1 − p)/n)` on a markus93 test set, determinism by seed, and typed
//! errors.

use scalelab_core::calibrate::binning::{Binning, EdgeConvention};
use scalelab_core::calibrate::bootstrap::bootstrap_metric;
use scalelab_core::calibrate::metrics::{calibration_error, reliability, Norm};
use scalelab_core::CoreError;

use crate::calibrate::markus93;

#[test]
fn accuracy_bootstrap_matches_the_binomial_standard_error() {
    let Some((conf, correct)) = markus93("probs_resnet110_c10_logits.csv") else {
        return;
    };
    let n = correct.len();
    let acc = bootstrap_metric(n, 1000, 0.95, 42, |rows| {
        Ok(rows.iter().map(|&i| correct[i]).sum::<f64>() / rows.len() as f64)
    })
    .unwrap();
    let p = 0.9356;
    assert!((acc.estimate - p).abs() < 1e-12);
    let se = (p * (1.0 - p) / n as f64).sqrt();
    // B = 1000 resamples: the bootstrap SE's own relative error is about 1/√(2B) ≈ 2 %.
    assert!(
        (acc.std_error / se - 1.0).abs() < 0.1,
        "bootstrap SE {} vs binomial {se}",
        acc.std_error
    );
    // The 95 % percentile interval is about ±1.96 SE.
    assert!(((acc.upper - acc.lower) / (2.0 * 1.959964 * se) - 1.0).abs() < 0.15);
    assert!(acc.lower < acc.estimate && acc.estimate < acc.upper);

    let bins = Binning::EqualWidth {
        bins: 15,
        edges: EdgeConvention::UpperClosed,
    };
    let ece = |rows: &[usize]| {
        let c: Vec<f64> = rows.iter().map(|&i| conf[i]).collect();
        let o: Vec<f64> = rows.iter().map(|&i| correct[i]).collect();
        Ok(calibration_error(&reliability(&c, &o, &bins)?, Norm::L1))
    };
    let a = bootstrap_metric(n, 200, 0.9, 7, ece).unwrap();
    assert!((a.estimate - 0.047503518641).abs() < 1e-6);
    assert!(a.lower < a.upper && a.finite == 200);
    assert_eq!(
        bootstrap_metric(n, 200, 0.9, 7, ece).unwrap(),
        a,
        "a seed gives the same interval"
    );
}

#[test]
fn bootstrap_options_are_checked() {
    let f = |_: &[usize]| Ok(1.0);
    assert!(matches!(
        bootstrap_metric(0, 10, 0.9, 1, f),
        Err(CoreError::EmptyInput { .. })
    ));
    assert!(matches!(
        bootstrap_metric(5, 1, 0.9, 1, f),
        Err(CoreError::OutOfRange { .. })
    ));
    assert!(matches!(
        bootstrap_metric(5, 10, 1.0, 1, f),
        Err(CoreError::OutOfRange { .. })
    ));
    assert!(matches!(
        bootstrap_metric(5, 10, f64::NAN, 1, f),
        Err(CoreError::OutOfRange { .. })
    ));
    assert!(matches!(
        bootstrap_metric(5, 10, 0.9, 1, |_| Ok(f64::NAN)),
        Err(CoreError::OutOfRange { .. })
    ));
}

/// Every top-label metric's interval on netcal's LeNet-5 CIFAR-10 set: the estimates are the
/// metrics (checked against numpy in `calibrate_netcal`), the accuracy's and NLL's bootstrap
/// standard errors are the closed forms `√(p(1 − p)/n)` and `sd(−ln p_iy)/√n` within 10 %
/// (B = 400: the SE's own relative error is about 1/√(2B) ≈ 3.5 %), and each interval holds its
/// estimate.
#[test]
fn every_metric_has_an_interval_with_the_closed_form_standard_errors() {
    use scalelab_core::calibrate::bootstrap::metric_intervals;
    use scalelab_core::calibrate::metrics::{metric_report, top_label_pass};
    use scalelab_core::calibrate::Scores;
    let Some((z, k, labels)) = crate::calibrate_netcal::netcal_example("lenet-5-cifar-10.npz")
    else {
        return;
    };
    let s = Scores::new(&z, k, &labels).unwrap();
    let guo = Binning::EqualWidth {
        bins: 15,
        edges: EdgeConvention::UpperClosed,
    };
    let iv = metric_intervals(&s, 1.0, &guo, 400, 0.95, 7).unwrap();
    let report = metric_report(&s, 1.0, &guo).unwrap();
    let n = s.len() as f64;
    let p = report.accuracy;
    assert!((iv.accuracy.std_error / (p * (1.0 - p) / n).sqrt() - 1.0).abs() < 0.1);
    let terms = top_label_pass(&s, 1.0).nll_terms;
    let mean = terms.iter().sum::<f64>() / n;
    let sd = (terms.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    assert!((iv.nll.std_error / (sd / n.sqrt()) - 1.0).abs() < 0.1);
    for (name, m, est) in [
        ("accuracy", iv.accuracy, report.accuracy),
        ("nll", iv.nll, report.nll),
        ("brier", iv.brier, report.brier),
        ("ece", iv.ece, report.ece),
        ("mce", iv.mce, report.mce),
        ("rms", iv.rms, report.rms),
        ("ace", iv.ace, report.ace),
        ("debiased_l2", iv.debiased_l2, report.debiased_l2),
    ] {
        assert!(
            (m.estimate - est).abs() <= 1e-12 * est.abs().max(1.0),
            "{name}"
        );
        assert!(
            m.lower <= m.estimate && m.estimate <= m.upper,
            "{name}: {m:?}"
        );
        assert_eq!(m.finite, 400, "{name}");
    }
}

/// The class-wise ECE's and adaptive CE's bootstrap against numpy's own bootstrap of an
/// independent implementation (`tests/vectors/calibration_bootstrap.py`, B = 1000, another
/// generator): the estimates equal, and the standard errors and interval ends agree as two
/// estimates of one sampling distribution (B = 100 here: the SE's relative error is about
/// 1/√200 ≈ 7 %, so 25 %; the ends within 1.5 standard errors). Past the work limit the
/// intervals are refused by code.
#[test]
fn classwise_intervals_agree_with_numpys_bootstrap() {
    use scalelab_core::calibrate::bootstrap::{classwise_intervals, MAX_CLASSWISE_WORK};
    use scalelab_core::calibrate::Scores;
    let want: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../tests/vectors/calibration_bootstrap.json"
    ))
    .unwrap();
    let Some((z, k, labels)) = crate::calibrate_netcal::netcal_example("lenet-5-cifar-10.npz")
    else {
        return;
    };
    let s = Scores::new(&z, k, &labels).unwrap();
    let guo = Binning::EqualWidth {
        bins: 15,
        edges: EdgeConvention::UpperClosed,
    };
    let iv = classwise_intervals(&s, 1.0, &guo, 100, 0.95, 3).unwrap();
    for (name, m) in [
        ("classwise_ece", iv.classwise_ece),
        ("adaptive_ce", iv.adaptive_ce),
    ] {
        let w = &want[name];
        let f = |key: &str| w[key].as_f64().unwrap();
        assert!((m.estimate - f("estimate")).abs() < 1e-9, "{name}: {m:?}");
        assert!(
            (m.std_error / f("std_error") - 1.0).abs() < 0.25,
            "{name}: {m:?} vs {w}"
        );
        let se = f("std_error");
        assert!(
            (m.lower - f("lower")).abs() < 1.5 * se,
            "{name}: {m:?} vs {w}"
        );
        assert!(
            (m.upper - f("upper")).abs() < 1.5 * se,
            "{name}: {m:?} vs {w}"
        );
        assert_eq!(m.finite, 100);
    }
    let too_many = (MAX_CLASSWISE_WORK / (s.len() * k) as f64) as usize + 1;
    assert!(matches!(
        classwise_intervals(&s, 1.0, &guo, too_many, 0.95, 3),
        Err(CoreError::OutOfRange { .. })
    ));
}
