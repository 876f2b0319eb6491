//! StableMax / softmax values, gradients, emulated evaluation and the Softmax-Collapse detector.

use scalelab_core::stablemax::{
    collapse_onset_scale, correct_class_gradient, evaluate, is_collapsed, log_softmax,
    log_stablemax, s, s_prime, softmax, softmax_collapse_fraction, softmax_cross_entropy,
    softmax_cross_entropy_grad, stablemax, stablemax_cross_entropy, stablemax_cross_entropy_grad,
    Evaluation, Loss,
};
use scalelab_core::{CoreError, Precision};

use crate::{assert_all_close, assert_close};

/// science.md §7 asks for float64 with tolerance 1e-9.
const SCI_TOL: f64 = 1e-9;

#[test]
fn s_matches_science_item_1() {
    // science.md §7 item 1.
    assert_close(s(-1.0), 0.5, 0.0, SCI_TOL, "s(-1)");
    assert_close(s(-3.0), 0.25, 0.0, SCI_TOL, "s(-3)");
    assert_close(s(0.0), 1.0, 0.0, SCI_TOL, "s(0)");
    assert_close(s(2.0), 3.0, 0.0, SCI_TOL, "s(2)");
}

#[test]
fn s_prime_matches_finite_differences_and_is_c1_at_zero() {
    // s is C¹ with s'(0) = 1 from both sides (science.md §1.1).
    assert_eq!(s_prime(0.0), 1.0);
    assert_close(s_prime(-1e-12), 1.0, 0.0, 1e-11, "s'(0-)");
    for x in [-7.5, -2.0, -0.3, 0.4, 3.0] {
        let h = 1e-6;
        let fd = (s(x + h) - s(x - h)) / (2.0 * h);
        assert_close(s_prime(x), fd, 1e-8, 1e-10, &format!("s'({x})"));
    }
}

#[test]
fn stablemax_matches_science_items_2_and_3() {
    // science.md §7 item 2: StableMax([0,1,2]) = [1/6, 1/3, 1/2], −log p0 = ln 6.
    assert_all_close(
        &stablemax(&[0.0, 1.0, 2.0]).unwrap(),
        &[1.0 / 6.0, 1.0 / 3.0, 0.5],
        0.0,
        SCI_TOL,
        "sm[0,1,2]",
    );
    assert_close(
        stablemax_cross_entropy(&[0.0, 1.0, 2.0], 0).unwrap(),
        1.791759469228055,
        0.0,
        SCI_TOL,
        "StCE ln6",
    );
    // science.md §7 item 3.
    assert_all_close(
        &stablemax(&[-1.0, 0.0, 1.0]).unwrap(),
        &[1.0 / 7.0, 2.0 / 7.0, 4.0 / 7.0],
        0.0,
        SCI_TOL,
        "sm[-1,0,1]",
    );
    let p = stablemax(&[5.0, -5.0, 0.0]).unwrap();
    assert_all_close(
        &p,
        &[36.0 / 43.0, 1.0 / 43.0, 6.0 / 43.0],
        0.0,
        SCI_TOL,
        "sm[5,-5,0]",
    );
    assert_all_close(
        &p,
        &[0.8372093023, 0.0232558140, 0.1395348837],
        0.0,
        1e-10,
        "sm[5,-5,0] decimals",
    );
    assert_close(
        stablemax_cross_entropy(&[5.0, -5.0, 0.0], 0).unwrap(),
        0.1776811772,
        0.0,
        1e-10,
        "StCE [5,-5,0]",
    );
}

#[test]
fn softmax_matches_science_item_2() {
    // science.md §7 item 2 (10 decimals given).
    let p = softmax(&[0.0, 1.0, 2.0]).unwrap();
    assert_all_close(
        &p,
        &[0.0900305732, 0.2447284711, 0.6652409558],
        0.0,
        1e-10,
        "softmax[0,1,2]",
    );
    // Shift invariance (softmax(z + c) = softmax(z)): the max shift makes huge logits fine.
    let shifted = softmax(&[1000.0, 1001.0, 1002.0]).unwrap();
    assert_all_close(&shifted, &p, 1e-12, 0.0, "softmax shift");
}

#[test]
fn log_forms_agree_with_logs_of_probabilities() {
    for z in [
        vec![0.0, 1.0, 2.0],
        vec![5.0, -5.0, 0.0],
        vec![-3.5, 0.25, 2.0, 0.0, -0.1],
    ] {
        let ls: Vec<f64> = stablemax(&z).unwrap().iter().map(|p| p.ln()).collect();
        assert_all_close(
            &log_stablemax(&z).unwrap(),
            &ls,
            1e-14,
            1e-15,
            "log_stablemax",
        );
        let lp: Vec<f64> = softmax(&z).unwrap().iter().map(|p| p.ln()).collect();
        assert_all_close(&log_softmax(&z).unwrap(), &lp, 1e-14, 1e-15, "log_softmax");
        for y in 0..z.len() {
            assert_close(
                stablemax_cross_entropy(&z, y).unwrap(),
                -log_stablemax(&z).unwrap()[y],
                1e-14,
                1e-15,
                "StCE = -log_stablemax",
            );
            assert_eq!(
                softmax_cross_entropy(&z, y).unwrap(),
                -log_softmax(&z).unwrap()[y],
                "SCE = -log_softmax"
            );
        }
    }
    // science.md §7 item 2 in log form: log p0 = −ln 6.
    assert_close(
        log_stablemax(&[0.0, 1.0, 2.0]).unwrap()[0],
        -(6f64.ln()),
        0.0,
        SCI_TOL,
        "log_stablemax ln6",
    );
}

#[test]
fn log_forms_stay_finite_where_the_direct_forms_fail() {
    // Σ s overflows f64 for [1e308, 1e308]; the stable form still gives ln(1/2) each
    // (s values are equal, so StableMax is uniform).
    assert_all_close(
        &log_stablemax(&[1e308, 1e308]).unwrap(),
        &[-(2f64.ln()); 2],
        1e-15,
        0.0,
        "log_stablemax huge",
    );
    assert!(matches!(
        stablemax(&[1e308, 1e308]),
        Err(CoreError::OutOfRange { .. })
    ));
    // p_y = s(−1e300)/Σ underflows: ln p_y = −ln(1 + 1e300) − ln(1 + 1e30 + ...) ≈ −(690.78 + 69.08).
    let z = [-1e300, 1e30];
    let want = -(1e300f64.ln()) - (1e30f64.ln());
    assert_close(
        log_stablemax(&z).unwrap()[0],
        want,
        1e-14,
        0.0,
        "log_stablemax tiny p",
    );
    // log_softmax([1000, 0]) = [−ln(1 + e^−1000), −1000 − ln(1 + e^−1000)] = [0, −1000] in f64.
    assert_all_close(
        &log_softmax(&[1000.0, 0.0]).unwrap(),
        &[0.0, -1000.0],
        0.0,
        1e-12,
        "log_softmax huge",
    );
}

/// Central differences `(L(z + h e_i) − L(z − h e_i)) / 2h`, with an O(h²) error (O(h) across
/// s's kink at 0, where s'' jumps from 2 to 0).
fn finite_difference(loss: impl Fn(&[f64]) -> f64, z: &[f64]) -> Vec<f64> {
    let h = 1e-6;
    (0..z.len())
        .map(|i| {
            let mut up = z.to_vec();
            let mut down = z.to_vec();
            up[i] += h;
            down[i] -= h;
            (loss(&up) - loss(&down)) / (2.0 * h)
        })
        .collect()
}

#[test]
fn gradients_match_finite_differences() {
    let logits = [
        vec![0.0, 1.0, 2.0],
        vec![5.0, -5.0, 0.0],
        vec![-3.5, 0.25, 2.0, 0.7, -0.1],
        vec![1.5, -2.0],
        vec![-1.0, -1.0, -4.0],
    ];
    for z in &logits {
        for y in 0..z.len() {
            let ctx = format!("z={z:?} y={y}");
            let fd = finite_difference(|v| stablemax_cross_entropy(v, y).unwrap(), z);
            let g = stablemax_cross_entropy_grad(z, y).unwrap();
            assert_all_close(&g, &fd, 1e-6, 1e-6, &format!("StCE grad {ctx}"));
            let fd = finite_difference(|v| softmax_cross_entropy(v, y).unwrap(), z);
            let g = softmax_cross_entropy_grad(z, y).unwrap();
            assert_all_close(&g, &fd, 1e-6, 1e-7, &format!("SCE grad {ctx}"));
            // Σ_i ∂L/∂z_i = Σ p − 1 = 0 for softmax (shift invariance).
            assert_close(
                g.iter().sum::<f64>(),
                0.0,
                0.0,
                1e-15,
                &format!("SCE grad sum {ctx}"),
            );
        }
    }
}

#[test]
fn stablemax_gradient_closed_form() {
    // z = [0,1,2], y = 0: s = [1,2,3], s' = [1,1,1], Σ = 6 → g = [1/6 − 1/1, 1/6, 1/6].
    assert_all_close(
        &stablemax_cross_entropy_grad(&[0.0, 1.0, 2.0], 0).unwrap(),
        &[1.0 / 6.0 - 1.0, 1.0 / 6.0, 1.0 / 6.0],
        0.0,
        1e-15,
        "g[0,1,2]",
    );
    // z = [-1, 1], y = 0: s = [1/2, 2], s' = [1/4, 1], Σ = 5/2 → g = [1/10 − 1/2, 2/5].
    assert_all_close(
        &stablemax_cross_entropy_grad(&[-1.0, 1.0], 0).unwrap(),
        &[0.1 - 0.5, 0.4],
        0.0,
        1e-15,
        "g[-1,1]",
    );
}

fn sample_inputs() -> Vec<(Vec<f64>, usize, f64)> {
    vec![
        (vec![0.0, 1.0, 2.0], 0, 1.0),
        (vec![5.0, -5.0, 0.0], 1, 3.7),
        (vec![1.0, 0.0], 0, 36.8),
        (vec![-3.5, 0.25, 2.0, 0.7, -0.1], 3, 0.01),
        (vec![1.0, 1.0, 0.0], 2, 250.0),
        (vec![2.0], 0, 1.0),
    ]
}

#[test]
fn f64_evaluate_equals_the_plain_functions() {
    for (z, y, k) in sample_inputs() {
        let zk: Vec<f64> = z.iter().map(|v| k * v).collect();
        let sm = evaluate(&z, y, k, Loss::Softmax, Precision::F64).unwrap();
        assert_eq!(sm.probs, softmax(&zk).unwrap());
        assert_eq!(sm.loss, softmax_cross_entropy(&zk, y).unwrap());
        assert_eq!(sm.grad, softmax_cross_entropy_grad(&zk, y).unwrap());
        let st = evaluate(&z, y, k, Loss::StableMax, Precision::F64).unwrap();
        assert_eq!(st.probs, stablemax(&zk).unwrap());
        assert_eq!(st.loss, stablemax_cross_entropy(&zk, y).unwrap());
        assert_eq!(st.grad, stablemax_cross_entropy_grad(&zk, y).unwrap());
        // The SC fields come from the softmax path whatever the loss.
        assert_eq!((st.sum_exp, st.collapsed), (sm.sum_exp, sm.collapsed));
        assert_eq!(sm.collapsed, is_collapsed(&zk, Precision::F64).unwrap());
        assert_eq!(
            correct_class_gradient(&z, y, k, Loss::StableMax, Precision::F64).unwrap(),
            st.grad[y]
        );
    }
}

#[test]
fn evaluate_values_are_representable_in_the_precision() {
    for p in Precision::ALL {
        for (z, y, k) in sample_inputs() {
            for loss in [Loss::Softmax, Loss::StableMax] {
                let e = evaluate(&z, y, k, loss, p).unwrap();
                let all = e.probs.iter().chain(&e.grad).chain([&e.loss, &e.sum_exp]);
                for &v in all {
                    assert_eq!(p.round(v), v, "{p} {loss}: {v:e} is not a {p} value");
                }
            }
        }
    }
}

/// science.md §7 item 4 (logger procedure on logits [Δ, 0]).
const SC_GRID: [(Precision, f64, f64); 3] = [
    (Precision::F32, 16.7, 16.5),
    (Precision::F64, 36.8, 36.7),
    (Precision::F16, 7.7, 7.5),
];

#[test]
fn collapse_detector_matches_science_item_4() {
    for (p, yes, no) in SC_GRID {
        assert!(
            is_collapsed(&[yes, 0.0], p).unwrap(),
            "{p}: [{yes}, 0] should collapse"
        );
        assert!(
            !is_collapsed(&[no, 0.0], p).unwrap(),
            "{p}: [{no}, 0] should not collapse"
        );
        // The same through evaluate's scale, with either loss selected.
        for loss in [Loss::Softmax, Loss::StableMax] {
            assert!(evaluate(&[1.0, 0.0], 0, yes, loss, p).unwrap().collapsed);
            assert!(!evaluate(&[1.0, 0.0], 0, no, loss, p).unwrap().collapsed);
        }
    }
}

#[test]
fn collapse_zeroes_softmax_loss_and_gradient_but_not_stablemax() {
    // science.md §1.1 Eqs. 3–4: under SC, L ≐ 0 and ∂L/∂z_y ≐ 0 (here exactly 0).
    for (p, yes, _) in SC_GRID {
        let e = evaluate(&[1.0, 0.0], 0, yes, Loss::Softmax, p).unwrap();
        assert_eq!(e.loss, 0.0, "{p}");
        assert_eq!(e.grad[0], 0.0, "{p}");
        assert_eq!(
            correct_class_gradient(&[1.0, 0.0], 0, yes, Loss::Softmax, p).unwrap(),
            0.0
        );
        // StableMax at the same logits: s = [Δ+1, 1], Σ = Δ+2, ∂L/∂z_0 = 1/(Δ+2) − 1/(Δ+1) ≠ 0
        // (closed form from the gradient formula); relative tolerance 4 ulp of the precision
        // covers the cast of Δ and the four rounded operations.
        let want = 1.0 / (yes + 2.0) - 1.0 / (yes + 1.0);
        let g = correct_class_gradient(&[1.0, 0.0], 0, yes, Loss::StableMax, p).unwrap();
        let eps = 2f64.powi(1 - p.significand_bits() as i32);
        // The difference cancels ~20× (1/(Δ+1) ≈ 20 |want|), so the bound is 4·20 ulp of want.
        assert_close(g, want, 80.0 * eps, 0.0, &format!("{p} StableMax grad"));
        assert!(g < 0.0);
    }
}

#[test]
fn onset_scale_is_near_p_ln2() {
    // science.md §1.3 / §7 item 4: threshold ≈ p·ln 2 (f16 7.6246, f32 16.6355, f64 36.7368; the
    // same formula gives bf16 8·ln 2 = 5.5452). The onset is a scale whose cast lands on the
    // first collapsing value of the format, so allow one spacing of the format at p·ln 2
    // (f16: 2^-8, bf16: 2^-5, f32: 2^-19, f64: bisection's 1e-9 relative plus exp's error).
    let cases = [
        (Precision::F16, 7.6246, 2f64.powi(-8)),
        (Precision::BF16, 8.0 * 2f64.ln(), 2f64.powi(-5)),
        (Precision::F32, 16.6355, 2f64.powi(-19) + 1e-4),
        (Precision::F64, 36.7368, 1e-4),
    ];
    for (p, want, tol) in cases {
        let k = collapse_onset_scale(&[1.0, 0.0], p, 1.0, 100.0)
            .unwrap()
            .unwrap();
        assert_close(k, want, 0.0, tol, &format!("{p} onset"));
        // Exact theory: p·ln 2 to more digits than science.md prints.
        assert_close(
            k,
            p.significand_bits() as f64 * 2f64.ln(),
            0.0,
            tol,
            &format!("{p} onset p ln2"),
        );
        // Bracketed: collapsed at k, not just below (bisection width 1e-9 relative).
        assert!(is_collapsed(&[k, 0.0], p).unwrap());
        assert!(!is_collapsed(&[k * (1.0 - 2e-9), 0.0], p).unwrap());
    }
    // Within science.md's grid brackets.
    for (p, yes, no) in SC_GRID {
        let k = collapse_onset_scale(&[1.0, 0.0], p, 1.0, 100.0)
            .unwrap()
            .unwrap();
        assert!(no < k && k <= yes, "{p}: onset {k} not in ({no}, {yes}]");
    }
}

#[test]
fn onset_scale_edge_cases() {
    // Tied maxima: the shifted exp-sum is ≥ 2 at every scale → never collapses.
    assert_eq!(
        collapse_onset_scale(&[1.0, 1.0, 0.0], Precision::F16, 1.0, 1000.0).unwrap(),
        None
    );
    // Not yet collapsed at max_scale (f64 needs Δ ≈ 36.7).
    assert_eq!(
        collapse_onset_scale(&[1.0, 0.0], Precision::F64, 1.0, 30.0).unwrap(),
        None
    );
    // Already collapsed at min_scale.
    assert_eq!(
        collapse_onset_scale(&[1.0, 0.0], Precision::F32, 20.0, 30.0).unwrap(),
        Some(20.0)
    );
    // A single class is always collapsed (exp(0) = 1).
    assert_eq!(
        collapse_onset_scale(&[3.0], Precision::F32, 0.5, 2.0).unwrap(),
        Some(0.5)
    );
    // Scale of a multi-class row: [2, 0, -1] collapses when e^{-2k} + e^{-3k} ≤ 2^-24 roughly:
    // k ≈ 24 ln2 / 2 = 8.318 (the e^{-3k} term is < 2^-36 there and rounds away).
    let k = collapse_onset_scale(&[2.0, 0.0, -1.0], Precision::F32, 0.1, 100.0)
        .unwrap()
        .unwrap();
    assert_close(k, 12.0 * 2f64.ln(), 0.0, 1e-5, "3-class onset");
}

#[test]
fn collapse_fraction_is_the_mean_over_rows() {
    // Rows from science.md §7 item 4 (f32): [16.7,0] yes, [16.5,0] no; [20,0] yes (beyond);
    // [0,0] no (sum 2).
    let rows = [16.7, 0.0, 16.5, 0.0, 20.0, 0.0, 0.0, 0.0];
    assert_eq!(
        softmax_collapse_fraction(&rows, 2, Precision::F32).unwrap(),
        0.5
    );
    // In f64 none of them collapses (needs Δ > 36.7).
    assert_eq!(
        softmax_collapse_fraction(&rows, 2, Precision::F64).unwrap(),
        0.0
    );
    // In f16 all but [0,0] do (needs Δ > 7.6).
    assert_eq!(
        softmax_collapse_fraction(&rows, 2, Precision::F16).unwrap(),
        0.75
    );
    // One column: every row is collapsed.
    assert_eq!(
        softmax_collapse_fraction(&rows, 1, Precision::F64).unwrap(),
        1.0
    );
}

#[test]
fn loss_names_parse_and_serialize() {
    for (text, loss) in [("softmax", Loss::Softmax), ("StableMax", Loss::StableMax)] {
        assert_eq!(text.parse::<Loss>(), Ok(loss));
        assert_eq!(loss.to_string(), text.to_lowercase());
        assert_eq!(
            serde_json::to_string(&loss).unwrap(),
            format!("\"{}\"", text.to_lowercase())
        );
    }
    assert!(matches!(
        "sparsemax".parse::<Loss>(),
        Err(CoreError::InvalidValue { what: "loss", .. })
    ));
}

#[test]
fn evaluation_round_trips_through_json() {
    let e = evaluate(&[0.0, 1.0, 2.0], 0, 1.0, Loss::StableMax, Precision::BF16).unwrap();
    let back: Evaluation = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
    assert_eq!(back, e);
}
