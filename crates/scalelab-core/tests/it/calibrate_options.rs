//! Property test of the Calibrate core's option space: every binning (equal width under each edge
//! convention, equal mass, scikit-learn's uniform and quantile, Kumar's midpoint equal mass) ×
//! norm × temperature, with the convention matrix, vector and matrix scaling at any penalty, CORP's
//! band options and the bootstrap intervals, on small random scores — ties, one class never seen,
//! huge and tiny logits, logits of −∞ (probabilities of 0) — gives a value or a typed error, never a panic; a calibration error is in
//! `[0, 1]`, and a fitted temperature is positive with a certificate.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use strum::VariantArray;

use scalelab_core::calibrate::binning::{Binning, EdgeConvention};
use scalelab_core::calibrate::bootstrap::metric_intervals;
use scalelab_core::calibrate::conventions::{convention_matrix, Convention};
use scalelab_core::calibrate::corp::corp;
use scalelab_core::calibrate::metrics::{
    adaptive_calibration_error, average_calibration_error, brier, calibration_error,
    classwise_calibration_error, debiased_calibration_error, nll, reliability, top_label, Norm,
};
use scalelab_core::calibrate::scaling::{fit_scaling, AffineMap};
use scalelab_core::calibrate::temperature::fit_temperature;
use scalelab_core::calibrate::Scores;
use scalelab_core::CoreError;

fn binning() -> impl Strategy<Value = Binning> {
    (
        0usize..25,
        select(EdgeConvention::VARIANTS.to_vec()),
        0usize..5,
    )
        .prop_map(|(bins, edges, kind)| match kind {
            0 => Binning::EqualMass { bins },
            1 => Binning::SklearnUniform { bins },
            2 => Binning::SklearnQuantile { bins },
            3 => Binning::EqualMassMidpoints { bins },
            _ => Binning::EqualWidth { bins, edges },
        })
}

fn scores() -> impl Strategy<Value = (Vec<f64>, usize, Vec<usize>)> {
    (1usize..24, 2usize..6).prop_flat_map(|(n, k)| {
        (
            prop::collection::vec(
                prop_oneof![
                    4 => (-3i32..4).prop_map(f64::from),
                    4 => -1e3f64..1e3,
                    4 => -1e-9f64..1e-9,
                    1 => Just(f64::NEG_INFINITY),
                ],
                n * k,
            ),
            Just(k),
            prop::collection::vec(0..k, n),
        )
            .prop_map(|(mut z, k, labels)| {
                // A logit of −∞ (a probability of 0) anywhere but on the row's label.
                for (i, &y) in labels.iter().enumerate() {
                    if z[i * k + y] == f64::NEG_INFINITY {
                        z[i * k + y] = 0.0;
                    }
                }
                (z, k, labels)
            })
    })
}

proptest! {
    #![proptest_config(Config { cases: 400, ..Config::default() })]
    #[test]
    fn calibrate_option_space((z, k, labels) in scores(), b in binning(),
                              norm in select(Norm::VARIANTS.to_vec()), t in 1e-3f64..1e3,
                              map in select(AffineMap::VARIANTS.to_vec()),
                              penalty in prop_oneof![Just(0.0), 1e-4f64..10.0, Just(-1.0), Just(f64::NAN)],
                              resamples in 0usize..12, level in prop_oneof![0.05f64..0.99, Just(0.0), Just(1.0)],
                              points in 0usize..12) {
        let s = Scores::new(&z, k, &labels).unwrap();
        let (conf, correct) = top_label(&s, t);
        match reliability(&conf, &correct, &b) {
            Ok(r) => {
                let e = calibration_error(&r, norm);
                prop_assert!((0.0..=1.0).contains(&e), "{norm:?} = {e}");
                let a = average_calibration_error(&r);
                prop_assert!((0.0..=1.0).contains(&a));
            }
            Err(CoreError::OutOfRange { what: "number of bins", .. }) => prop_assert!(b.bins() == 0),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
        if b.bins() > 0 {
            let c = classwise_calibration_error(&s, t, &b).unwrap();
            prop_assert!((0.0..=1.0).contains(&c));
            let a = adaptive_calibration_error(&s, t, b.bins()).unwrap();
            prop_assert!((0.0..=1.0).contains(&a));
        }
        prop_assert!(nll(&s, t).is_finite() && nll(&s, t) >= 0.0);
        let br = brier(&s, t);
        prop_assert!((0.0..=2.0 + 1e-12).contains(&br));
        match convention_matrix(&conf, &correct, (b.bins() > 0).then_some(b.bins())) {
            Ok(m) => {
                prop_assert_eq!(m.len(), Convention::VARIANTS.len());
                for c in &m {
                    prop_assert!((0.0..=1.0).contains(&c.ece) && c.assignment.len() == conf.len());
                }
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
        if b.bins() > 0 {
            let r = reliability(&conf, &correct, &b).unwrap();
            let d = debiased_calibration_error(&r);
            prop_assert!((0.0..=1.0).contains(&d), "debiased {d}");
            let iv = metric_intervals(&s, t, &b, 5, 0.9, 1).unwrap();
            prop_assert!(iv.ece.lower <= iv.ece.upper);
            let cw = scalelab_core::calibrate::bootstrap::classwise_intervals(&s, t, &b, 5, 0.9, 1).unwrap();
            prop_assert!(cw.classwise_ece.lower <= cw.classwise_ece.upper && cw.adaptive_ce.lower <= cw.adaptive_ce.upper);
        }
        match corp(&conf, &correct, resamples, level, points, 3) {
            Ok(c) => {
                prop_assert!(c.murphy.miscalibration >= -1e-12 && c.murphy.discrimination >= -1e-12);
                prop_assert_eq!(c.band.len(), points);
            }
            Err(CoreError::OutOfRange { what, .. }) => {
                prop_assert!(matches!(what, "band resamples" | "band level" | "band grid points"), "{what}");
                prop_assert!(resamples < 2 || !(level > 0.0 && level < 1.0) || points < 2);
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
        match fit_scaling(&s, map, penalty) {
            Ok(f) => {
                // F(θ*) ≤ F(identity) = the NLL before, and F ≥ its NLL part.
                prop_assert!(f.objective <= f.nll_before * (1.0 + 1e-12) + 1e-12, "{f:?}");
                prop_assert!(f.nll <= f.objective * (1.0 + 1e-12) + 1e-12);
            }
            Err(CoreError::OutOfRange { what: "L2 penalty λ", .. }) => prop_assert!(!(0.0..=1e6).contains(&penalty)),
            Err(CoreError::NonFinite { .. }) => prop_assert!(!s.all_finite()),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
        match fit_temperature(&s) {
            Ok(fit) => {
                prop_assert!(fit.temperature > 0.0 && fit.temperature.is_finite());
                prop_assert!(fit.nll <= fit.nll_before + 1e-12 * fit.nll_before.max(1.0));
                // The certificate: the derivative is zero to rounding, relative to the logits' spread.
                let spread = z.iter().filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(v.abs())) + 1.0;
                prop_assert!(fit.gradient <= 1e-9 * spread, "gradient {:e}", fit.gradient);
            }
            Err(CoreError::NoOptimalTemperature { .. }) => {}
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}

proptest! {
    #![proptest_config(Config { cases: 200, ..Config::default() })]
    /// Scores given as probabilities (the softmax of small random logits, zeros included; the
    /// `kind: "probabilities"` option of the npm functions) through every metric, the intervals
    /// and the comparison, at T = 1 (the probabilities as given) and at another T: a value in
    /// range or a typed error, never a panic; at T = 1 the confidences are the given maxima.
    #[test]
    fn probability_scores_option_space((z, k, labels) in scores(), b in binning(), t in 1e-3f64..1e3,
                                       cut in 0usize..24) {
        use scalelab_core::calibrate::methods::compare_methods;
        use scalelab_core::calibrate::metrics::{metric_report, probabilities};
        use scalelab_core::calibrate::ScoreRows;
        let s = Scores::new(&z, k, &labels).unwrap();
        let p = probabilities(&s, 1.0);
        let rows = match ScoreRows::from_probabilities(p.clone(), k, labels.clone()) {
            Ok(r) => r,
            // A label's probability can underflow to 0 in the softmax of huge logits.
            Err(CoreError::ZeroLabelProbability { row }) => {
                prop_assert_eq!(p[row * k + labels[row]], 0.0);
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("unexpected error {e}"))),
        };
        let s = rows.scores().unwrap();
        let (conf, _) = top_label(&s, 1.0);
        for (i, c) in conf.iter().enumerate() {
            let max = p[i * k..(i + 1) * k].iter().fold(0.0f64, |m, &v| m.max(v));
            prop_assert_eq!(*c, max);
        }
        for tt in [1.0, t] {
            match metric_report(&s, tt, &b) {
                Ok(r) => prop_assert!((0.0..=1.0).contains(&r.ece) && r.nll >= 0.0 && r.brier <= 2.0 + 1e-12, "{r:?}"),
                Err(CoreError::OutOfRange { what: "number of bins", .. }) => prop_assert!(b.bins() == 0),
                Err(e) => prop_assert!(false, "unexpected error {e}"),
            }
            if b.bins() > 0 {
                let iv = metric_intervals(&s, tt, &b, 5, 0.9, 1).unwrap();
                prop_assert!(iv.ece.lower <= iv.ece.upper);
            }
        }
        let n = labels.len();
        let (cal, test): (Vec<usize>, Vec<usize>) = ((0..cut.min(n)).collect(), (cut.min(n)..n).collect());
        match compare_methods(&s, &cal, &test, &b, 0.01) {
            Ok(c) => prop_assert_eq!(c.outcomes.len(), 6),
            Err(CoreError::OutOfRange { what: "number of bins", .. }) => prop_assert!(b.bins() == 0),
            Err(CoreError::EmptyInput { .. }) => prop_assert!(cal.is_empty() || test.is_empty()),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}

proptest! {
    #![proptest_config(Config { cases: 200, ..Config::default() })]
    /// Every method on every split of small random scores, with any binning and penalty: each row
    /// scored (errors in `[0, 1]`, NLL and Brier only for full-distribution methods) or refused
    /// by a typed code; the comparison itself fails only on its options.
    #[test]
    fn method_comparison_option_space((z, k, labels) in scores(), b in binning(),
                                      penalty in prop_oneof![Just(0.0), 1e-4f64..10.0, Just(-1.0), Just(f64::NAN)],
                                      cut in 0usize..24) {
        use scalelab_core::calibrate::methods::{compare_methods, Method, MethodOutcome};
        let s = Scores::new(&z, k, &labels).unwrap();
        let n = labels.len();
        let (cal, test): (Vec<usize>, Vec<usize>) = ((0..cut.min(n)).collect(), (cut.min(n)..n).collect());
        match compare_methods(&s, &cal, &test, &b, penalty) {
            Ok(c) => {
                prop_assert_eq!(c.outcomes.len(), Method::VARIANTS.len());
                for o in &c.outcomes {
                    match o {
                        MethodOutcome::Scored(m) => {
                            prop_assert!((0.0..=1.0).contains(&m.ece) && (0.0..=1.0).contains(&m.mce));
                            let full = !matches!(m.method, Method::HistogramBinning | Method::Isotonic);
                            prop_assert_eq!(m.nll.is_some(), full);
                        }
                        MethodOutcome::Refused { code, method, .. } => {
                            let affine = matches!(method, Method::VectorScaling | Method::MatrixScaling);
                            prop_assert!(matches!(code, scalelab_core::CoreErrorCode::NoOptimalTemperature)
                                || (affine && !s.all_finite() && matches!(code, scalelab_core::CoreErrorCode::NonFinite)), "{o:?}");
                        }
                    }
                }
            }
            Err(CoreError::OutOfRange { what, .. }) => {
                prop_assert!(matches!(what, "number of bins" | "L2 penalty λ"), "{what}");
            }
            Err(CoreError::EmptyInput { .. }) => prop_assert!(cal.is_empty() || test.is_empty()),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}

proptest! {
    #![proptest_config(Config { cases: 60, ..Config::default() })]
    /// The overlap experiment's options (in and out of range) on tiny runs: a result — with or
    /// without a finite temperature — or a typed error naming the field.
    #[test]
    fn overlap_option_space(classes in prop_oneof![9 => 2usize..5, 1 => Just(1usize)],
                            dim in prop_oneof![9 => 1usize..4, 1 => Just(0usize)],
                            samples in prop_oneof![9 => 100usize..300, 1 => Just(50usize)],
                            separation in prop_oneof![9 => 0.0f64..3.0, 1 => Just(-1.0)],
                            noise in prop_oneof![9 => 0.0f64..0.5, 1 => Just(0.95)],
                            hidden in prop::collection::vec(prop_oneof![9 => 1usize..6, 1 => Just(0usize)], 0..3),
                            mixup in prop_oneof![3 => Just(0usize), 6 => 2usize..4, 1 => Just(1usize)],
                            alpha in prop_oneof![9 => 0.1f64..5.0, 1 => Just(0.0)],
                            epochs in prop_oneof![9 => 1usize..3, 1 => Just(0usize)],
                            batch in prop_oneof![9 => 1usize..80, 1 => Just(0usize)],
                            lr in prop_oneof![9 => 1e-4f64..0.1, 1 => Just(2.0)], seed in 0u64..5) {
        use scalelab_core::calibrate::overlap::{run, OverlapConfig, Training};
        let config = OverlapConfig {
            classes, dim, samples, separation, label_noise: noise, hidden: hidden.clone(), epochs, batch, learning_rate: lr, seed,
            training: if mixup == 0 { Training::Erm } else { Training::Mixup { points: mixup, alpha } },
        };
        match run(config) {
            Ok((reports, r)) => {
                prop_assert!(!reports.is_empty());
                prop_assert!(r.before.nll.is_finite() && (0.0..=1.0).contains(&r.before.accuracy));
                prop_assert_eq!(r.temperature.is_ok(), r.after.is_some());
            }
            Err(CoreError::OutOfRange { .. }) => {
                let valid = (2..=10).contains(&classes) && dim >= 1 && samples >= 100 && separation >= 0.0
                    && noise <= 0.9 && hidden.iter().all(|&h| h >= 1) && mixup != 1
                    && (mixup == 0 || alpha >= 1e-3) && epochs >= 1 && batch >= 1 && lr <= 1.0;
                prop_assert!(!valid, "a valid configuration was refused");
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}
