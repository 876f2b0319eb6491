//! Differential test against the numpy / ml_dtypes peer (`tests/vectors/stablemax.py`, which
//! runs the same op sequence as `evaluate` with numpy arrays of each dtype).

use serde::Deserialize;

use scalelab_core::stablemax::{evaluate, Loss};
use scalelab_core::Precision;

use crate::ulp;

const VECTORS: &str = include_str!("../../../../tests/vectors/stablemax.json");

#[derive(Deserialize)]
struct File {
    source: String,
    cases: Vec<Case>,
    rounding: Rounding,
}

#[derive(Deserialize)]
struct Case {
    logits: Vec<f64>,
    target: usize,
    runs: Vec<Run>,
}

#[derive(Deserialize)]
struct Run {
    scale: f64,
    precision: Precision,
    softmax: SoftmaxOut,
    stablemax: StableMaxOut,
}

#[derive(Deserialize)]
struct SoftmaxOut {
    probs: Vec<f64>,
    loss: f64,
    grad: Vec<f64>,
    sum_exp: f64,
    collapsed: bool,
}

#[derive(Deserialize)]
struct StableMaxOut {
    probs: Vec<f64>,
    loss: f64,
    grad: Vec<f64>,
}

#[derive(Deserialize)]
struct Rounding {
    inputs: Vec<f64>,
    f16: Vec<f64>,
    bf16: Vec<f64>,
    f32: Vec<f64>,
    f64: Vec<f64>,
}

fn load() -> File {
    let file: File = serde_json::from_str(VECTORS).expect("tests/vectors/stablemax.json parses");
    assert!(
        file.source
            .starts_with("tests/vectors/stablemax.py with numpy"),
        "{}",
        file.source
    );
    file
}

/// Distance in units of `p`'s spacing at the larger of the two values.
fn ulps(p: Precision, a: f64, b: f64) -> f64 {
    if a == b {
        return 0.0;
    }
    (a - b).abs() / ulp(p, a.abs().max(b.abs()))
}

/// Allowed distance to the peer, in units of the precision's spacing.
///
/// The op sequences are the same (see the script), so `+ − × ÷` and the casts agree exactly;
/// differences come only from `exp`/`ln`:
/// - f16/bf16: numpy/ml_dtypes evaluate them in f32 and round, we evaluate in f64 and round.
///   That can differ by one unit only when the f32 result straddles a rounding boundary of the
///   format; none of these vectors does, so they must agree exactly.
/// - f32/f64: numpy's own (SIMD) `exp`/`log` and libm's are each within one ulp, so an `exp`
///   may differ by one unit and `e_i / Σ` by two.
fn tolerance_ulps(p: Precision) -> f64 {
    match p {
        Precision::F16 | Precision::BF16 => 0.0,
        Precision::F32 | Precision::F64 => 2.0,
    }
}

#[track_caller]
fn check(p: Precision, ours: &[f64], peer: &[f64], ctx: &str) {
    assert_eq!(ours.len(), peer.len(), "{ctx}: lengths");
    for (i, (&a, &b)) in ours.iter().zip(peer).enumerate() {
        let u = ulps(p, a, b);
        assert!(
            u <= tolerance_ulps(p),
            "{ctx}[{i}]: ours {a:e}, numpy {b:e}: {u} ulp of {p}"
        );
    }
}

#[test]
fn evaluate_matches_numpy_in_every_precision() {
    let file = load();
    let mut runs = 0;
    let mut collapsed = 0;
    for case in &file.cases {
        for run in &case.runs {
            let p = run.precision;
            let ctx = format!(
                "z={:?} y={} scale={} {p}",
                case.logits, case.target, run.scale
            );
            let sm = evaluate(&case.logits, case.target, run.scale, Loss::Softmax, p).unwrap();
            let want = &run.softmax;
            check(p, &sm.probs, &want.probs, &format!("{ctx} softmax probs"));
            check(p, &sm.grad, &want.grad, &format!("{ctx} softmax grad"));
            check(p, &[sm.loss], &[want.loss], &format!("{ctx} softmax loss"));
            // The collapse criterion is an exact comparison, so the sum must match exactly.
            assert_eq!(sm.sum_exp, want.sum_exp, "{ctx} sum_exp");
            assert_eq!(sm.collapsed, want.collapsed, "{ctx} collapsed");

            let st = evaluate(&case.logits, case.target, run.scale, Loss::StableMax, p).unwrap();
            let want = &run.stablemax;
            check(p, &st.probs, &want.probs, &format!("{ctx} stablemax probs"));
            check(p, &st.grad, &want.grad, &format!("{ctx} stablemax grad"));
            check(
                p,
                &[st.loss],
                &[want.loss],
                &format!("{ctx} stablemax loss"),
            );
            assert_eq!(
                (st.sum_exp, st.collapsed),
                (sm.sum_exp, sm.collapsed),
                "{ctx}"
            );
            runs += 1;
            collapsed += usize::from(sm.collapsed);
        }
    }
    // 7 logit vectors × 4 scales × 4 precisions, with both collapsed and live rows.
    assert_eq!(runs, 112);
    assert!(
        collapsed > 10 && collapsed < runs - 10,
        "{collapsed} collapsed runs"
    );
}

#[test]
fn rounding_matches_numpy_casts() {
    let r = load().rounding;
    for (i, &x) in r.inputs.iter().enumerate() {
        // numpy's float64 → float16 / float32 casts are correctly rounded (npy_double_to_half,
        // the C cast).
        assert_eq!(Precision::F16.round(x), r.f16[i], "f16 round({x:e})");
        assert_eq!(Precision::F32.round(x), r.f32[i], "f32 round({x:e})");
        assert_eq!(Precision::F64.round(x), r.f64[i], "f64 round({x:e})");
    }
    // ml_dtypes casts float64 → bfloat16 through float32 (double rounding), so it is a peer
    // only for inputs that are exact in f32; for the others it equals bf16(f32(x)).
    let mut double_rounded = 0;
    for (i, &x) in r.inputs.iter().enumerate() {
        if f64::from(x as f32) == x {
            assert_eq!(Precision::BF16.round(x), r.bf16[i], "bf16 round({x:e})");
        } else {
            let via_f32 = Precision::BF16.round(Precision::F32.round(x));
            assert_eq!(via_f32, r.bf16[i], "ml_dtypes bf16({x:e})");
            double_rounded += usize::from(via_f32 != Precision::BF16.round(x));
        }
    }
    // 1 + 2^-8 + 2^-40: ml_dtypes gives 1 (tie after the f32 step), RNE gives 1 + 2^-7.
    assert_eq!(double_rounded, 1);
}
