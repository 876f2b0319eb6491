//! Property test of the Calibrate core's option space: every binning (equal width under each edge
//! convention, equal mass) × norm × temperature on small random scores — ties, one class never
//! seen, huge and tiny logits — gives a value or a typed error, never a panic; a calibration
//! error is in `[0, 1]`, and a fitted temperature is positive with a certificate.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;
use strum::VariantArray;

use scalelab_core::calibrate::binning::{Binning, EdgeConvention};
use scalelab_core::calibrate::metrics::{
    adaptive_calibration_error, average_calibration_error, brier, calibration_error,
    classwise_calibration_error, nll, reliability, top_label, Norm,
};
use scalelab_core::calibrate::temperature::fit_temperature;
use scalelab_core::calibrate::Scores;
use scalelab_core::CoreError;

fn binning() -> impl Strategy<Value = Binning> {
    (
        0usize..25,
        select(EdgeConvention::VARIANTS.to_vec()),
        any::<bool>(),
    )
        .prop_map(|(bins, edges, mass)| {
            if mass {
                Binning::EqualMass { bins }
            } else {
                Binning::EqualWidth { bins, edges }
            }
        })
}

fn scores() -> impl Strategy<Value = (Vec<f64>, usize, Vec<usize>)> {
    (1usize..24, 2usize..6).prop_flat_map(|(n, k)| {
        (
            prop::collection::vec(
                prop_oneof![(-3i32..4).prop_map(f64::from), -1e3f64..1e3, -1e-9f64..1e-9],
                n * k,
            ),
            Just(k),
            prop::collection::vec(0..k, n),
        )
    })
}

proptest! {
    #![proptest_config(Config { cases: 400, ..Config::default() })]
    #[test]
    fn calibrate_option_space((z, k, labels) in scores(), b in binning(),
                              norm in select(Norm::VARIANTS.to_vec()), t in 1e-3f64..1e3) {
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
        match fit_temperature(&s) {
            Ok(fit) => {
                prop_assert!(fit.temperature > 0.0 && fit.temperature.is_finite());
                prop_assert!(fit.nll <= fit.nll_before + 1e-12 * fit.nll_before.max(1.0));
                // The certificate: the derivative is zero to rounding, relative to the logits' spread.
                let spread = z.iter().fold(0.0f64, |m, v| m.max(v.abs())) + 1.0;
                prop_assert!(fit.gradient <= 1e-9 * spread, "gradient {:e}", fit.gradient);
            }
            Err(CoreError::NoOptimalTemperature { .. }) => {}
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}
