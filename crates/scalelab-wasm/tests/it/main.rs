//! The exported functions running as WebAssembly (in Node, through `wasm-bindgen-test-runner`).
//! Expected values: science.md §7 items 1–4 (Prieto et al. 2025 reference code, recomputed).
#![cfg(target_arch = "wasm32")]

use scalelab_wasm::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= tol * (1.0 + y.abs()))
}

fn error_name(e: ScalelabError) -> String {
    let v: JsValue = e.into();
    v.dyn_into::<js_sys::Error>()
        .map(|e| String::from(e.name()))
        .unwrap_or_default()
}

#[wasm_bindgen_test]
fn s_and_stablemax_match_the_reference_values() {
    // science.md §7 item 1.
    assert_eq!([s(-1.0), s(-3.0), s(0.0), s(2.0)], [0.5, 0.25, 1.0, 3.0]);
    // §7 items 2 and 3.
    assert!(close(
        &stablemax(&[0.0, 1.0, 2.0]).unwrap(),
        &[1.0 / 6.0, 1.0 / 3.0, 0.5],
        1e-12
    ));
    assert!(close(
        &stablemax(&[5.0, -5.0, 0.0]).unwrap(),
        &[36.0 / 43.0, 1.0 / 43.0, 6.0 / 43.0],
        1e-12
    ));
    assert!(
        (stablemax_cross_entropy(&[0.0, 1.0, 2.0], 0).unwrap() - 1.791759469228055).abs() < 1e-12
    );
    assert!(close(
        &softmax(&[0.0, 1.0, 2.0]).unwrap(),
        &[0.0900305732, 0.2447284711, 0.6652409558],
        1e-9
    ));
}

#[wasm_bindgen_test]
fn collapse_thresholds_match_the_logger_procedure() {
    // science.md §7 item 4: logits [Δ, 0].
    for (p, below, above) in [("f32", 16.5, 16.7), ("f64", 36.7, 36.8), ("f16", 7.5, 7.7)] {
        assert!(!is_collapsed(&[below, 0.0], p).unwrap(), "{p} at {below}");
        assert!(is_collapsed(&[above, 0.0], p).unwrap(), "{p} at {above}");
        let onset = collapse_onset_scale(&[1.0, 0.0], p, 1.0, 1000.0)
            .unwrap()
            .unwrap();
        assert!(onset > below && onset < above, "{p}: onset {onset}");
    }
}

#[wasm_bindgen_test]
fn errors_cross_as_named_js_errors() {
    assert_eq!(error_name(stablemax(&[]).unwrap_err()), "EmptyInput");
    assert_eq!(
        error_name(stablemax(&[1.0, f64::NAN]).unwrap_err()),
        "NonFinite"
    );
    assert_eq!(
        error_name(softmax_cross_entropy(&[1.0, 2.0], 2).unwrap_err()),
        "IndexOutOfRange"
    );
    assert_eq!(
        error_name(is_collapsed(&[1.0], "f8").unwrap_err()),
        "InvalidValue"
    );
    assert_eq!(error_name(parse_numbers("1, x").unwrap_err()), "NotANumber");
    assert_eq!(
        error_name(softmax_collapse_fraction(&[1.0, 2.0, 3.0], 2, "f32").unwrap_err()),
        "DimensionMismatch"
    );
}

#[wasm_bindgen_test]
fn configuration_errors_carry_their_field_and_a_disposed_trainer_its_code() {
    use scalelab_core::grokking::TrainerConfig;
    let config = TrainerConfig {
        train_fraction: 1.0,
        ..TrainerConfig::default()
    };
    let e: ScalelabError = config.check().unwrap_err().into();
    let v: JsValue = e.into();
    let field = js_sys::Reflect::get(&v, &JsValue::from_str("field")).unwrap();
    assert_eq!(field.as_string().as_deref(), Some("train_fraction"));
    assert_eq!(
        v.dyn_into::<js_sys::Error>()
            .map(|e| String::from(e.name())),
        Ok("OutOfRange".to_owned())
    );
    // Errors of no field have no `field`.
    let v: JsValue = stablemax(&[]).unwrap_err().into();
    let field = js_sys::Reflect::get(&v, &JsValue::from_str("field")).unwrap();
    assert!(field.is_undefined());
    let mut trainer = Trainer::new(None, None).unwrap();
    trainer.dispose();
    assert_eq!(error_name(trainer.evaluate().unwrap_err()), "Disposed");
}
