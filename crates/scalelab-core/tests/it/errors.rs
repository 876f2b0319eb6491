//! Every public function rejects bad input with the documented `CoreError` variant (no panics).

use scalelab_core::ops::{softmax_rows, stablemax_rows};
use scalelab_core::stablemax::{
    collapse_onset_scale, correct_class_gradient, evaluate, is_collapsed, log_softmax,
    log_stablemax, softmax, softmax_collapse_fraction, softmax_cross_entropy,
    softmax_cross_entropy_grad, stablemax, stablemax_cross_entropy, stablemax_cross_entropy_grad,
    Loss,
};
use scalelab_core::{CoreError, Precision};

type VecFn = fn(&[f64]) -> Result<Vec<f64>, CoreError>;
type TargetFn = fn(&[f64], usize) -> Result<f64, CoreError>;
type TargetVecFn = fn(&[f64], usize) -> Result<Vec<f64>, CoreError>;

const VEC_FNS: [(&str, VecFn); 4] = [
    ("stablemax", stablemax),
    ("log_stablemax", log_stablemax),
    ("softmax", softmax),
    ("log_softmax", log_softmax),
];
const TARGET_FNS: [(&str, TargetFn); 2] = [
    ("softmax_cross_entropy", softmax_cross_entropy),
    ("stablemax_cross_entropy", stablemax_cross_entropy),
];
const TARGET_VEC_FNS: [(&str, TargetVecFn); 2] = [
    ("softmax_cross_entropy_grad", softmax_cross_entropy_grad),
    ("stablemax_cross_entropy_grad", stablemax_cross_entropy_grad),
];

fn non_finite(index: usize, value: f64) -> impl Fn(&CoreError) -> bool {
    move |e| match *e {
        CoreError::NonFinite {
            what: "logits",
            index: i,
            value: v,
        } => i == index && (v == value || (v.is_nan() && value.is_nan())),
        _ => false,
    }
}

#[test]
fn empty_logits_are_empty_input() {
    let empty = CoreError::EmptyInput { what: "logits" };
    for (name, f) in VEC_FNS {
        assert_eq!(f(&[]), Err(empty.clone()), "{name}");
    }
    for (name, f) in TARGET_FNS {
        assert_eq!(f(&[], 0), Err(empty.clone()), "{name}");
    }
    for (name, f) in TARGET_VEC_FNS {
        assert_eq!(f(&[], 0), Err(empty.clone()), "{name}");
    }
    for p in Precision::ALL {
        assert_eq!(evaluate(&[], 0, 1.0, Loss::Softmax, p), Err(empty.clone()));
        assert_eq!(
            correct_class_gradient(&[], 0, 1.0, Loss::StableMax, p),
            Err(empty.clone())
        );
        assert_eq!(is_collapsed(&[], p), Err(empty.clone()));
        assert_eq!(collapse_onset_scale(&[], p, 1.0, 2.0), Err(empty.clone()));
        assert_eq!(
            softmax_collapse_fraction(&[], 3, p),
            Err(CoreError::EmptyInput { what: "rows" })
        );
    }
}

#[test]
fn nan_and_inf_are_non_finite_with_their_index() {
    for (index, bad) in [(0, f64::NAN), (2, f64::INFINITY), (1, f64::NEG_INFINITY)] {
        let mut z = vec![0.5, -1.0, 2.0];
        z[index] = bad;
        let check = non_finite(index, bad);
        for (name, f) in VEC_FNS {
            assert!(check(&f(&z).unwrap_err()), "{name} {bad}");
        }
        for (name, f) in TARGET_FNS {
            assert!(check(&f(&z, 0).unwrap_err()), "{name} {bad}");
        }
        for (name, f) in TARGET_VEC_FNS {
            assert!(check(&f(&z, 0).unwrap_err()), "{name} {bad}");
        }
        for p in Precision::ALL {
            assert!(check(
                &evaluate(&z, 0, 1.0, Loss::StableMax, p).unwrap_err()
            ));
            assert!(check(&is_collapsed(&z, p).unwrap_err()));
            assert!(check(&collapse_onset_scale(&z, p, 1.0, 2.0).unwrap_err()));
        }
        let err = softmax_collapse_fraction(&z, 3, Precision::F32).unwrap_err();
        assert!(matches!(err, CoreError::NonFinite { what: "rows", index: i, .. } if i == index));
    }
}

#[test]
fn target_past_the_end_is_index_out_of_range() {
    let z = [0.0, 1.0, 2.0];
    let want = CoreError::IndexOutOfRange {
        what: "target",
        index: 3,
        len: 3,
    };
    for (name, f) in TARGET_FNS {
        assert_eq!(f(&z, 3), Err(want.clone()), "{name}");
    }
    for (name, f) in TARGET_VEC_FNS {
        assert_eq!(f(&z, 3), Err(want.clone()), "{name}");
    }
    assert_eq!(
        evaluate(&z, 3, 1.0, Loss::Softmax, Precision::F16),
        Err(want.clone())
    );
    assert_eq!(
        correct_class_gradient(&z, 3, 1.0, Loss::Softmax, Precision::F16),
        Err(want)
    );
    assert!(evaluate(&z, usize::MAX, 1.0, Loss::StableMax, Precision::F64).is_err());
}

#[test]
fn bad_scales_are_rejected() {
    let z = [1.0, 0.0];
    for bad in [0.0, -1.0, -0.0] {
        let err = evaluate(&z, 0, bad, Loss::Softmax, Precision::F32).unwrap_err();
        assert!(
            matches!(err, CoreError::OutOfRange { what: "scale", .. }),
            "{bad}: {err:?}"
        );
        let err = collapse_onset_scale(&z, Precision::F32, bad, 2.0).unwrap_err();
        assert!(matches!(
            err,
            CoreError::OutOfRange {
                what: "min_scale",
                ..
            }
        ));
    }
    for bad in [f64::NAN, f64::INFINITY] {
        let err = evaluate(&z, 0, bad, Loss::Softmax, Precision::F32).unwrap_err();
        assert!(
            matches!(
                err,
                CoreError::NonFinite {
                    what: "scale",
                    index: 0,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = collapse_onset_scale(&z, Precision::F32, 1.0, bad).unwrap_err();
        assert!(matches!(
            err,
            CoreError::NonFinite {
                what: "max_scale",
                ..
            }
        ));
    }
    // min_scale above max_scale.
    let err = collapse_onset_scale(&z, Precision::F32, 3.0, 2.0).unwrap_err();
    assert!(matches!(err, CoreError::OutOfRange { value, max, .. } if value == 3.0 && max == 2.0));
}

#[test]
fn overflow_of_the_cast_is_out_of_range() {
    // 70 · 1000 = 70000 > 65504 (f16 max, IEEE binary16) but fine in bf16/f32/f64.
    let err = evaluate(&[70.0, 0.0], 0, 1000.0, Loss::Softmax, Precision::F16).unwrap_err();
    match err {
        CoreError::OutOfRange {
            value, min, max, ..
        } => {
            assert_eq!((value, min, max), (70000.0, -65504.0, 65504.0));
        }
        other => panic!("{other:?}"),
    }
    let msg = evaluate(&[1e6], 0, 1.0, Loss::Softmax, Precision::F16)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("f16") && msg.contains("lower the scale"),
        "{msg}"
    );
    for p in [Precision::BF16, Precision::F32, Precision::F64] {
        assert!(
            evaluate(&[70.0, 0.0], 0, 1000.0, Loss::Softmax, p).is_ok(),
            "{p}"
        );
    }
    // f64: the product itself overflows.
    let err = evaluate(&[1e200, 0.0], 0, 1e200, Loss::StableMax, Precision::F64).unwrap_err();
    assert_eq!(err.code(), "OutOfRange");
    assert_eq!(
        is_collapsed(&[1e5, 0.0], Precision::F16)
            .unwrap_err()
            .code(),
        "OutOfRange"
    );
    assert_eq!(
        collapse_onset_scale(&[1.0, 0.0], Precision::F16, 1.0, 1e5)
            .unwrap_err()
            .code(),
        "OutOfRange"
    );
}

#[test]
fn batch_shapes_are_checked() {
    let data = [1.0, 2.0, 3.0, 4.0, 5.0];
    let want = CoreError::DimensionMismatch {
        what: "data length (must be a multiple of n_cols)",
        expected: 6,
        got: 5,
    };
    assert_eq!(softmax_rows(&data, 2), Err(want.clone()));
    assert_eq!(stablemax_rows(&data, 2), Err(want));
    assert!(matches!(
        softmax_collapse_fraction(&data, 2, Precision::F32),
        Err(CoreError::DimensionMismatch {
            expected: 6,
            got: 5,
            ..
        })
    ));
    for err in [
        softmax_rows(&data, 0).unwrap_err(),
        stablemax_rows(&[], 0).unwrap_err(),
        softmax_collapse_fraction(&data, 0, Precision::F16).unwrap_err(),
    ] {
        assert!(
            matches!(err, CoreError::InvalidValue { what: "n_cols", .. }),
            "{err:?}"
        );
    }
    let err = stablemax_rows(&[0.0, f64::NAN, 1.0, 2.0], 2).unwrap_err();
    assert!(matches!(
        err,
        CoreError::NonFinite {
            what: "data",
            index: 1,
            ..
        }
    ));
}
