//! Probabilities with exact zeros (logits of −∞) and probabilities read as given at T = 1:
//! against numpy/scipy (`tests/vectors/calibration_zeros.py`) and science.md §7 item 12's bin-edge
//! example entered as probability rows.

use serde::Deserialize;

use scalelab_core::calibrate::binning::{Binning, EdgeConvention};
use scalelab_core::calibrate::methods::{compare_methods, Method, MethodOutcome};
use scalelab_core::calibrate::metrics::metric_report;
use scalelab_core::calibrate::scaling::{fit_scaling, AffineMap};
use scalelab_core::calibrate::temperature::fit_temperature;
use scalelab_core::calibrate::ScoreRows;
use scalelab_core::{CoreError, CoreErrorCode};

use crate::assert_close;

const VECTORS: &str = include_str!("../../../../tests/vectors/calibration_zeros.json");

#[derive(Deserialize)]
struct File {
    classes: usize,
    probabilities: Vec<f64>,
    labels: Vec<usize>,
    zeros: usize,
    temperature: f64,
    before: Expected,
    after: Expected,
}

#[derive(Deserialize)]
struct Expected {
    nll: f64,
    brier: f64,
    ece: f64,
    classwise_ece: f64,
    accuracy: f64,
}

const GUO_15: Binning = Binning::EqualWidth {
    bins: 15,
    edges: EdgeConvention::UpperClosed,
};

#[test]
fn probabilities_with_exact_zeros_match_numpy_and_scipy() {
    let f: File = serde_json::from_str(VECTORS).unwrap();
    assert_eq!(
        f.probabilities.iter().filter(|&&p| p == 0.0).count(),
        f.zeros
    );
    let rows = ScoreRows::from_probabilities(f.probabilities, f.classes, f.labels).unwrap();
    let s = rows.scores().unwrap();
    let fit = fit_temperature(&s).unwrap();
    assert_close(fit.temperature, f.temperature, 1e-12, 0.0, "T*");
    assert!(fit.gradient < 1e-12, "certificate {:e}", fit.gradient);
    for (t, want, rel, what) in [
        (1.0, &f.before, 1e-12, "T = 1"),
        (fit.temperature, &f.after, 1e-10, "T*"),
    ] {
        let r = metric_report(&s, t, &GUO_15).unwrap();
        assert_close(r.nll, want.nll, rel, 0.0, &format!("{what} NLL"));
        assert_close(r.brier, want.brier, rel, 0.0, &format!("{what} Brier"));
        assert_close(r.ece, want.ece, rel, 1e-12, &format!("{what} ECE"));
        let cw = r.classwise_ece;
        assert_close(cw, want.classwise_ece, rel, 1e-12, &format!("{what} SCE"));
        assert_eq!(r.accuracy, want.accuracy, "{what}");
    }
}

#[test]
fn the_bin_edge_example_holds_when_entered_as_probabilities() {
    // science.md §7 item 12: conf 0.75, 0.75, 0.90, 1.00, correct 1, 0, 1, 1, 4 bins — Guo
    // (lo, hi] 0.15, torchmetrics [lo, hi) with its conf = 1 bin 0.10. As probability rows the
    // confidences are read as given: softmax(ln p) would make 0.75 into 0.7499999999999999,
    // which torchmetrics' convention bins below the edge (ECE 0.15 then).
    let p = vec![0.75, 0.25, 0.75, 0.25, 0.9, 0.1, 1.0, 0.0];
    let rows = ScoreRows::from_probabilities(p, 2, vec![0, 1, 0, 0]).unwrap();
    let s = rows.scores().unwrap();
    let ece = |edges| {
        metric_report(&s, 1.0, &Binning::EqualWidth { bins: 4, edges })
            .unwrap()
            .ece
    };
    assert_close(ece(EdgeConvention::UpperClosed), 0.15, 1e-12, 0.0, "Guo");
    assert_close(
        ece(EdgeConvention::LowerClosedExtraBin),
        0.10,
        1e-12,
        0.0,
        "torchmetrics",
    );
    // The row [1, 0] has the logit −∞ in class 1: its confidence is exactly 1 at any T.
    let r = metric_report(
        &s,
        2.0,
        &Binning::EqualWidth {
            bins: 4,
            edges: EdgeConvention::LowerClosedExtraBin,
        },
    )
    .unwrap();
    assert_eq!(r.reliability.bins[4].count, 1);
}

#[test]
fn a_label_of_probability_zero_and_affine_maps_of_minus_infinity_are_refused() {
    let p = vec![0.5, 0.5, 1.0, 0.0, 0.2, 0.8];
    assert_eq!(
        ScoreRows::from_probabilities(p.clone(), 2, vec![0, 1, 1]).unwrap_err(),
        CoreError::ZeroLabelProbability { row: 1 }
    );
    let rows = ScoreRows::from_probabilities(p, 2, vec![0, 0, 1]).unwrap();
    let s = rows.scores().unwrap();
    for map in [AffineMap::Vector, AffineMap::Matrix] {
        assert!(matches!(
            fit_scaling(&s, map, 0.01),
            Err(CoreError::NonFinite { index: 3, .. })
        ));
    }
    // In the comparison the two affine maps are refused rows and the others are scored.
    let p: Vec<f64> = (0..40)
        .flat_map(|i| match i % 4 {
            0 => [1.0, 0.0],
            1 => [0.3, 0.7],
            2 => [0.8, 0.2],
            _ => [0.4, 0.6],
        })
        .collect();
    let labels: Vec<usize> = (0..40)
        .map(|i| usize::from(i % 4 != 0 && i % 3 == 1))
        .collect();
    let rows = ScoreRows::from_probabilities(p, 2, labels).unwrap();
    let s = rows.scores().unwrap();
    let cal: Vec<usize> = (0..20).collect();
    let test: Vec<usize> = (20..40).collect();
    let c = compare_methods(&s, &cal, &test, &GUO_15, 0.01).unwrap();
    for o in &c.outcomes {
        match o {
            MethodOutcome::Refused { method, code, .. } => {
                assert!(matches!(
                    method,
                    Method::VectorScaling | Method::MatrixScaling
                ));
                assert_eq!(*code, CoreErrorCode::NonFinite);
            }
            MethodOutcome::Scored(m) => {
                assert!(!matches!(
                    m.method,
                    Method::VectorScaling | Method::MatrixScaling
                ));
                assert!(
                    m.ece.is_finite() && m.nll.is_none_or(f64::is_finite),
                    "{m:?}"
                );
            }
        }
    }
}
