//! Uncertainty of fits against statsmodels (`tests/vectors/fit_uncertainty.py`): Huber's sandwich
//! covariance of a robust fit against `RLM` (HuberT, "H1"), and delta-method bands with Student's
//! `t` against `OLS.get_prediction(...).summary_frame()` at n − p = 3, 5, 20.

use serde::Deserialize;

use scalelab_core::fit::analysis::{analyse, BandKind, FitRequest, Method, ModelChoice, Starts};
use scalelab_core::fit::{Data, FitOptions, ResidualSpace, RobustLoss};

use crate::{assert_all_close, assert_close};

const VECTORS: &str = include_str!("../../../../tests/vectors/fit_uncertainty.json");

#[derive(Deserialize)]
struct File {
    source: String,
    robust: Robust,
    bands: Vec<Bands>,
}

#[derive(Deserialize)]
struct Robust {
    x: Vec<f64>,
    y: Vec<f64>,
    t: f64,
    params: Vec<f64>,
    bse: Vec<f64>,
    scale: f64,
    ols_bse: Vec<f64>,
}

#[derive(Deserialize)]
struct Bands {
    dof: usize,
    x: Vec<f64>,
    y: Vec<f64>,
    x_new: Vec<f64>,
    mean: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    prediction_lower: Vec<f64>,
    prediction_upper: Vec<f64>,
}

fn line(x: &[f64], y: &[f64], loss: RobustLoss) -> FitRequest {
    FitRequest {
        model: ModelChoice::Formula {
            text: "a + b*x".into(),
            inputs: vec!["x".into()],
        },
        data: Data {
            n_inputs: 1,
            x: x.to_vec(),
            y: y.to_vec(),
            weights: None,
        },
        schedule: None,
        start: vec![0.0, 0.0],
        options: FitOptions {
            residual: ResidualSpace::Linear,
            loss,
            ..FitOptions::default()
        },
        method: Method::LeastSquares,
        starts: Starts::Single,
        bootstrap: 0,
        seed: 0,
        curve_inputs: vec![],
        extrapolate: 1.0,
        holdout: 0,
    }
}

#[test]
fn robust_standard_errors_are_huber_sandwich_as_statsmodels_rlm() {
    let v: File = serde_json::from_str(VECTORS).unwrap();
    let r = &v.robust;
    // Huber's threshold in the data's units: t robust scales (RLM's final MAD scale).
    let robust = analyse(&line(
        &r.x,
        &r.y,
        RobustLoss::Huber {
            delta: r.t * r.scale,
        },
    ))
    .unwrap();
    let ctx = format!("vs {}", v.source);
    assert_all_close(
        &robust.fit.params,
        &r.params,
        1e-7,
        0.0,
        &format!("params {ctx}"),
    );
    let se = robust.fit.std_errors.expect("covariance");
    assert_all_close(&se, &r.bse, 1e-6, 0.0, &format!("standard errors {ctx}"));
    // Plain least squares on the same data: the outlier inflates the errors about 15-fold.
    let plain = analyse(&line(&r.x, &r.y, RobustLoss::L2)).unwrap();
    let se_ls = plain.fit.std_errors.unwrap();
    assert_all_close(
        &se_ls,
        &r.ols_bse,
        1e-9,
        0.0,
        &format!("OLS standard errors {ctx}"),
    );
    assert!(se_ls[0] > 10.0 * se[0]);
}

#[test]
fn bands_use_student_t_with_n_minus_p_degrees_of_freedom() {
    let v: File = serde_json::from_str(VECTORS).unwrap();
    for b in &v.bands {
        let mut req = line(&b.x, &b.y, RobustLoss::L2);
        req.curve_inputs = b.x_new.clone();
        let r = analyse(&req).unwrap();
        let ctx = format!("n − p = {} vs {}", b.dof, v.source);
        assert_eq!(r.curve.band, BandKind::DeltaMethod);
        assert_all_close(&r.curve.mean, &b.mean, 1e-10, 1e-12, &ctx);
        assert_all_close(&r.curve.lower, &b.lower, 1e-9, 1e-12, &ctx);
        assert_all_close(&r.curve.upper, &b.upper, 1e-9, 1e-12, &ctx);
        assert_all_close(
            &r.curve.prediction_lower,
            &b.prediction_lower,
            1e-9,
            1e-12,
            &ctx,
        );
        assert_all_close(
            &r.curve.prediction_upper,
            &b.prediction_upper,
            1e-9,
            1e-12,
            &ctx,
        );
    }
    // A weight of 0 removes an observation from n (and so from the degrees of freedom).
    let b = &v.bands[0];
    let mut x = b.x.clone();
    let mut y = b.y.clone();
    x.push(50.0);
    y.push(-100.0);
    let mut req = line(&x, &y, RobustLoss::L2);
    let mut w = vec![1.0; x.len()];
    *w.last_mut().unwrap() = 0.0;
    req.data.weights = Some(w);
    req.curve_inputs = b.x_new.clone();
    let r = analyse(&req).unwrap();
    assert_close(r.curve.upper[1], b.upper[1], 1e-9, 1e-12, "zero weight");
}
