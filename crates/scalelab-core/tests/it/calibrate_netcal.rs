//! Calibrate on netcal's four example `.npz` files (`$SCALELAB_REFDATA/calibration/netcal`), read
//! with `scalelab_core::io::npy`, against numpy/scipy values computed independently by
//! `tests/vectors/calibration_netcal.py` (stored in `calibration_netcal.json`): the fitted
//! temperature and every metric under every convention, before and after, to 1e-6.

use serde_json::Value;

use scalelab_core::calibrate::binning::{Binning, EdgeConvention};
use scalelab_core::calibrate::metrics::{
    accuracy, adaptive_calibration_error, average_calibration_error, brier, calibration_error,
    classwise_calibration_error, netcal_clip, nll, reliability, top_label, Norm,
};
use scalelab_core::calibrate::temperature::fit_temperature;
use scalelab_core::calibrate::{logits_from_probabilities, Scores};
use scalelab_core::io::npy::{read_npz, NpyData};

use crate::fit_models::refdata_bytes;

/// One netcal example as (logits `ln p`, classes, labels); `None` without the reference data.
pub fn netcal_example(name: &str) -> Option<(Vec<f64>, usize, Vec<usize>)> {
    let bytes = refdata_bytes(&format!("calibration/netcal/{name}"))?;
    let arrays = read_npz(&bytes).unwrap();
    let get = |name: &str| &arrays.iter().find(|(n, _)| n == name).unwrap().1;
    let (pred, truth) = (get("predictions"), get("ground_truth"));
    assert!(matches!(pred.data, NpyData::Float(_)));
    let k = pred.shape[1];
    let NpyData::Int(labels) = &truth.data else {
        panic!("labels are integers")
    };
    let labels: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
    let z = logits_from_probabilities(&pred.to_f64(), k).unwrap();
    Some((z, k, labels))
}

fn close(what: &str, got: f64, want: &Value) {
    let want = want.as_f64().unwrap_or_else(|| panic!("{what}: no value"));
    assert!(
        (got - want).abs() <= 1e-6 * want.abs().max(1.0),
        "{what}: {got} vs {want}"
    );
}

fn check_metrics(file: &str, s: &Scores<'_>, t: f64, want: &Value) {
    let (conf, correct) = top_label(s, t);
    close(&format!("{file} accuracy"), accuracy(s), &want["accuracy"]);
    close(&format!("{file} nll"), nll(s, t), &want["nll"]);
    close(&format!("{file} brier"), brier(s, t), &want["brier"]);
    let width = |edges| Binning::EqualWidth { bins: 15, edges };
    let conventions = [
        (
            "upper_closed",
            conf.clone(),
            width(EdgeConvention::UpperClosed),
        ),
        (
            "lower_closed_extra_bin",
            conf.clone(),
            width(EdgeConvention::LowerClosedExtraBin),
        ),
        (
            "lower_closed",
            conf.clone(),
            width(EdgeConvention::LowerClosed),
        ),
        (
            "netcal",
            netcal_clip(&conf),
            width(EdgeConvention::LowerClosed),
        ),
        ("equal_mass", conf.clone(), Binning::EqualMass { bins: 15 }),
    ];
    for (key, c, binning) in conventions {
        let r = reliability(&c, &correct, &binning).unwrap();
        let w = &want[key];
        close(
            &format!("{file} {key} ece"),
            calibration_error(&r, Norm::L1),
            &w["ece"],
        );
        close(
            &format!("{file} {key} mce"),
            calibration_error(&r, Norm::Max),
            &w["mce"],
        );
        close(
            &format!("{file} {key} rms"),
            calibration_error(&r, Norm::L2),
            &w["rms"],
        );
        close(
            &format!("{file} {key} ace"),
            average_calibration_error(&r),
            &w["ace"],
        );
    }
    close(
        &format!("{file} classwise"),
        classwise_calibration_error(s, t, &width(EdgeConvention::UpperClosed)).unwrap(),
        &want["classwise_ece"],
    );
    close(
        &format!("{file} adaptive"),
        adaptive_calibration_error(s, t, 15).unwrap(),
        &want["adaptive_ce"],
    );
}

#[test]
fn netcal_examples_match_numpy_and_scipy() {
    let vectors: Value = serde_json::from_str(include_str!(
        "../../../../tests/vectors/calibration_netcal.json"
    ))
    .unwrap();
    for (file, want) in vectors["files"].as_object().unwrap() {
        let Some((z, k, labels)) = netcal_example(file) else {
            return;
        };
        let s = Scores::new(&z, k, &labels).unwrap();
        let fit = fit_temperature(&s).unwrap();
        close(&format!("{file} T"), fit.temperature, &want["temperature"]);
        assert!(
            fit.gradient < 1e-12,
            "{file}: certificate {:e}",
            fit.gradient
        );
        check_metrics(file, &s, 1.0, &want["before"]);
        check_metrics(file, &s, fit.temperature, &want["after"]);
    }
}
