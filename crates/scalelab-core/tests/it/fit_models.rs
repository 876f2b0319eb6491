//! Built-in scaling-law models, typed formulas, compute-optimal allocation, LR schedules and the
//! Step Law.
//!
//! Reference values: `science.md` §7 items 15, 16, 18, 19, 20, 21 (recomputed from the papers'
//! formulas with numpy, float64); the multi-power law's published fit and evaluation metrics on the
//! reference repository's loss curves (`$SCALELAB_REFDATA/curves/multipowerlaw`, README there);
//! gradients against central finite differences; built-in models against the independently
//! implemented [`FormulaModel`] on the same formula text.

use std::path::PathBuf;

use scalelab_core::fit::allocation::ChinchillaAllocation;
use scalelab_core::fit::formula::FormulaModel;
use scalelab_core::fit::models::{
    BrokenPowerLaw, BuiltinModel, Chinchilla, Kaplan, LrAnnealing, MultiPowerLaw, PowerLaw,
    PowerLawPlusConstant, HOFFMANN_ROUNDED, KAPLAN_TABLE2, LUO_100M,
};
use scalelab_core::fit::schedule::{
    cosine, tissue_areas, wsd, LrSchedule, Schedule, TissueAreas, WarmupConvention,
};
use scalelab_core::fit::step_law::{optimal_batch_tokens, optimal_lr, step_law};
use scalelab_core::fit::{Data, Model};
use scalelab_core::io::csv::{read_table, CsvOptions};
use scalelab_core::CoreError;

use crate::{assert_all_close, assert_close};

/// science.md §7 item 16's Epoch parameters in [`Chinchilla`]'s order `[E, A, B, alpha, beta]`.
const EPOCH_ITEM16: [f64; 5] = [1.8172, 482.01, 2085.43, 0.3478, 0.3658];

/// Central finite difference `∂f/∂θ_j` with step `h = 1e-5·max(|θ_j|, 1e-3)`, compared with the
/// model's analytic gradient: `|g − fd| ≤ 1e-6·max(|g|, |fd|) + 1e-9·(|f| + 1)/h`.
#[track_caller]
fn check_gradient(model: &dyn Model, x: &[f64], theta: &[f64], ctx: &str) {
    let p = theta.len();
    let mut g = vec![0.0; p];
    let f = model.eval(x, theta, Some(&mut g));
    assert!(f.is_finite(), "{ctx}: f = {f}");
    assert_eq!(
        f,
        model.eval(x, theta, None),
        "{ctx}: value with and without gradient"
    );
    for j in 0..p {
        let h = 1e-5 * theta[j].abs().max(1e-3);
        let mut tp = theta.to_vec();
        let mut tm = theta.to_vec();
        tp[j] += h;
        tm[j] -= h;
        let fd = (model.eval(x, &tp, None) - model.eval(x, &tm, None)) / (2.0 * h);
        let tol = 1e-6 * g[j].abs().max(fd.abs()) + 1e-9 * (f.abs() + 1.0) / h;
        assert!(
            (g[j] - fd).abs() <= tol,
            "{ctx}: ∂/∂{} analytic {:e} vs central difference {:e} (tol {tol:e})",
            model.param_names()[j],
            g[j],
            fd
        );
    }
}

#[test]
fn chinchilla_values_match_science_items_15_and_16() {
    // §7 item 15 (Hoffmann rounded E=1.69, A=406.4, B=410.7, α=0.34, β=0.28).
    for (n, d, want) in [
        (70e9, 1.4e12, 1.9366454706),
        (280e9, 300e9, 1.9932584617),
        (1e9, 20e9, 2.5800478722),
    ] {
        assert_close(
            Chinchilla.eval(&[n, d], &HOFFMANN_ROUNDED, None),
            want,
            1e-9,
            0.0,
            "item 15 L",
        );
    }
    // §7 item 16 (Epoch).
    assert_close(
        Chinchilla.eval(&[70e9, 1.4e12], &EPOCH_ITEM16, None),
        1.9738818632,
        1e-9,
        0.0,
        "item 16 L",
    );
}

#[test]
fn kaplan_values_match_science_item_18() {
    // (N_c/N)^α_N as a pure power law A·N^(−α) with A = N_c^α_N (Eq. 1.1, N_c = 8.8e13, α_N = 0.076).
    let a_n = 8.8e13f64.powf(0.076);
    assert_close(
        PowerLaw.eval(&[1e8], &[a_n, 0.076], None),
        2.8299625155,
        1e-9,
        0.0,
        "L(N=1e8)",
    );
    assert_close(
        PowerLaw.eval(&[1e9], &[a_n, 0.076], None),
        2.3756402951,
        1e-9,
        0.0,
        "L(N=1e9)",
    );
    // Eq. 1.2 (D_c = 5.4e13, α_D = 0.095), through the plus-constant form with E = 0.
    let a_d = 5.4e13f64.powf(0.095);
    assert_close(
        PowerLawPlusConstant.eval(&[1e10], &[0.0, a_d, 0.095], None),
        2.2624417538,
        1e-9,
        0.0,
        "L(D=1e10)",
    );
    // Eq. 1.5 with Table 2.
    assert_close(
        Kaplan.eval(&[1e9, 1e10], &KAPLAN_TABLE2, None),
        2.4196518192,
        1e-9,
        0.0,
        "L(N=1e9, D=1e10)",
    );
    assert_close(
        Kaplan.eval(&[1e9, f64::INFINITY], &KAPLAN_TABLE2, None),
        2.3188340983,
        1e-9,
        0.0,
        "L(N=1e9, D→∞)",
    );
}

#[test]
fn bnsl_values_match_science_item_19() {
    let m = BrokenPowerLaw::new(1).unwrap();
    let theta = [0.1, 1.0, 0.2, 0.3, 100.0, 0.5];
    assert_close(
        m.eval(&[10.0], &theta, None),
        0.7300163118,
        1e-9,
        0.0,
        "y(10)",
    );
    assert_close(
        m.eval(&[1e4], &theta, None),
        0.1398101199,
        1e-9,
        0.0,
        "y(1e4)",
    );
    // Extra breaks with c_i = 0 change nothing.
    let m3 = BrokenPowerLaw::new(3).unwrap();
    let mut t3 = theta.to_vec();
    t3.extend([0.0, 1e3, 1.0, 0.0, 1e5, 2.0]);
    assert_close(
        m3.eval(&[10.0], &t3, None),
        0.7300163118,
        1e-9,
        0.0,
        "3 breaks, two inactive",
    );
}

/// A schedule with the given warmup convention and momentum decay.
fn schedule_with(rates: Vec<f64>, warmup: WarmupConvention, momentum_decay: f64) -> LrSchedule {
    LrSchedule {
        rates,
        warmup,
        momentum_decay,
    }
}

#[test]
fn tissue_areas_match_science_item_21() {
    let lrs = vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5];
    let schedule = schedule_with(lrs.clone(), WarmupConvention::ReferenceCode, 0.9);
    let a = tissue_areas(&schedule).unwrap();
    assert_all_close(
        &a.s1,
        &[1.0, 2.0, 3.0, 4.0, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5],
        0.0,
        1e-12,
        "S1",
    );
    assert_all_close(
        &a.s2,
        &[0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.95, 1.355, 1.7195, 2.04755],
        0.0,
        1e-12,
        "S2",
    );
    // Without a warmup both conventions agree.
    let paper = schedule_with(lrs, WarmupConvention::Paper { warmup_steps: 0 }, 0.9);
    assert_eq!(tissue_areas(&paper).unwrap(), a);
    // science.md §4e: a single drop Δ gives S2 → Δ/(1−λ).
    let mut long = vec![1.0; 5];
    long.extend(vec![0.5; 5000]);
    let a = tissue_areas(&LrSchedule::new(long)).unwrap();
    assert_close(
        *a.s2.last().unwrap(),
        0.5 / 0.001 * (1.0 - 0.999f64.powi(5000)),
        1e-9,
        0.0,
        "S2 limit",
    );
    // The law at step 7 (after seven updates): S1 = 6, S2 = 0.95, as its formula with S1, S2 as
    // inputs (FormulaModel, an independent evaluator) gives.
    let law = LrAnnealing::new(&schedule).unwrap();
    let theta = [2.0, 1.5, 0.5, 0.1];
    assert_close(
        law.eval(&[7.0], &theta, None),
        2.0 + 1.5 / 6f64.sqrt() - 0.1 * 0.95,
        1e-12,
        0.0,
        "LrAnnealing",
    );
    let formula = FormulaModel::new("L0 + A*S1^(-alpha) - C*S2", &["S1", "S2"]).unwrap();
    let names = formula.param_names();
    let by_name: Vec<f64> = names
        .iter()
        .map(|n| {
            theta[["L0", "A", "alpha", "C"]
                .iter()
                .position(|m| m == n)
                .unwrap()]
        })
        .collect();
    assert_close(
        formula.eval(&[6.0, 0.95], &by_name, None),
        law.eval(&[7.0], &theta, None),
        1e-14,
        0.0,
        "LrAnnealing as a formula",
    );
    assert!(law.eval(&[0.0], &theta, None).is_nan());
    assert!(law.eval(&[11.0], &theta, None).is_nan());
}

#[test]
fn allocation_matches_science_items_15_and_16() {
    // §7 item 15: G = 1.3447, a = 0.4516, b = 0.5484; C = 5.76e23 → N = 3.219e10, D = 2.982e12.
    // Tolerances: half a unit of the last printed digit.
    let r = ChinchillaAllocation::from_chinchilla_params(&HOFFMANN_ROUNDED).unwrap();
    assert_close(r.g, 1.3447, 0.0, 5e-5, "G");
    assert_close(r.a, 0.4516, 0.0, 5e-5, "a");
    assert_close(r.b, 0.5484, 0.0, 5e-5, "b");
    let o = r.at(5.76e23).unwrap();
    assert_close(o.params, 3.219e10, 0.0, 5e6, "N_opt");
    assert_close(o.tokens, 2.982e12, 0.0, 5e8, "D_opt");
    // §7 item 16 (Epoch): a = 0.5126; N = 7.225e10, D = 1.329e12, D/N = 18.39; C = 1e21 → D/N = 21.59.
    let r = ChinchillaAllocation::from_chinchilla_params(&EPOCH_ITEM16).unwrap();
    assert_close(r.a, 0.5126, 0.0, 5e-5, "Epoch a");
    let o = r.at(5.76e23).unwrap();
    assert_close(o.params, 7.225e10, 0.0, 5e6, "Epoch N_opt");
    assert_close(o.tokens, 1.329e12, 0.0, 5e8, "Epoch D_opt");
    assert_close(o.tokens_per_param, 18.39, 0.0, 5e-3, "Epoch D/N");
    assert_close(
        r.tokens_per_param(1e21),
        21.59,
        0.0,
        5e-3,
        "Epoch D/N at 1e21",
    );
    // The optimum minimises the law along the budget: nudging N either way raises L.
    let c = 1e23;
    let l = |n: f64| Chinchilla.eval(&[n, c / (6.0 * n)], &HOFFMANN_ROUNDED, None);
    let n = r.params(c);
    let r15 = ChinchillaAllocation::from_chinchilla_params(&HOFFMANN_ROUNDED).unwrap();
    let n15 = r15.params(c);
    assert!(
        l(n15) < l(n15 * 1.01) && l(n15) < l(n15 / 1.01),
        "optimum of the item-15 law"
    );
    assert!(n.is_finite());
}

#[test]
fn step_law_matches_science_item_20() {
    // Tolerances: half a unit of the fifth significant digit.
    assert_close(
        optimal_lr(1e9, 1e11).unwrap(),
        1.6325e-3,
        0.0,
        5e-8,
        "η(1e9, 1e11)",
    );
    assert_close(
        optimal_batch_tokens(1e11).unwrap(),
        1.1077e6,
        0.0,
        50.0,
        "B(1e11)",
    );
    let s = step_law(1e8, 1e10).unwrap();
    assert_close(s.lr, 4.1577e-3, 0.0, 5e-8, "η(1e8, 1e10)");
    assert_close(s.batch_tokens, 2.9746e5, 0.0, 5.0, "B(1e10)");
    assert!(matches!(
        optimal_lr(-1.0, 1.0),
        Err(CoreError::OutOfRange { .. })
    ));
    assert!(matches!(
        optimal_lr(1.0, f64::INFINITY),
        Err(CoreError::NonFinite { .. })
    ));
}

/// A short cosine schedule with warmup, as used by the multi-power-law tests.
fn small_schedule() -> Vec<f64> {
    cosine(240, 3e-4, 3e-5, 20).unwrap()
}

/// A model, an input `x` and parameters `θ`.
type GradientCase = (Box<dyn Model>, Vec<f64>, Vec<f64>);

/// Points `(model, x, θ)` at which every built-in model's gradient is checked.
fn gradient_cases() -> Vec<GradientCase> {
    let bnsl2 = [0.5, 2.0, 0.3, 0.4, 50.0, 0.7, -0.2, 5e3, 1.5];
    let bnsl3 = [0.5, 2.0, 0.3, 0.4, 50.0, 0.7, -0.2, 5e3, 1.5, 0.5, 1e6, 0.3];
    let mpl = MultiPowerLaw::new(&LrSchedule::new(small_schedule())).unwrap();
    let mpl_reference = MultiPowerLaw::new(&schedule_with(
        small_schedule(),
        WarmupConvention::ReferenceCode,
        0.999,
    ))
    .unwrap();
    let annealing = LrAnnealing::new(&LrSchedule::new(small_schedule())).unwrap();
    let mut mpl_theta = LUO_100M.to_vec();
    mpl_theta[3] = 400.0;
    let mut cases: Vec<GradientCase> = Vec::new();
    for x in [0.5, 3.0, 1e6] {
        cases.push((Box::new(PowerLaw), vec![x], vec![3.0, 0.3]));
        cases.push((Box::new(PowerLawPlusConstant), vec![x], vec![1.2, 3.0, 0.3]));
        cases.push((
            Box::new(BrokenPowerLaw::new(1).unwrap()),
            vec![x],
            vec![0.1, 1.0, 0.2, 0.3, 100.0, 0.5],
        ));
        cases.push((
            Box::new(BrokenPowerLaw::new(2).unwrap()),
            vec![x],
            bnsl2.to_vec(),
        ));
        cases.push((
            Box::new(BrokenPowerLaw::new(3).unwrap()),
            vec![x],
            bnsl3.to_vec(),
        ));
    }
    for (n, d) in [(1e8, 1e9), (7e10, 1.4e12), (1e6, 1e13)] {
        cases.push((Box::new(Chinchilla), vec![n, d], HOFFMANN_ROUNDED.to_vec()));
        cases.push((Box::new(Chinchilla), vec![n, d], EPOCH_ITEM16.to_vec()));
        cases.push((Box::new(Kaplan), vec![n, d], KAPLAN_TABLE2.to_vec()));
    }
    for step in [1.0, 10.0, 25.0, 150.0, 240.0] {
        cases.push((
            Box::new(annealing.clone()),
            vec![step],
            vec![2.0, 1.5, 0.5, 100.0],
        ));
        cases.push((Box::new(mpl.clone()), vec![step], mpl_theta.clone()));
        cases.push((
            Box::new(mpl_reference.clone()),
            vec![step],
            mpl_theta.clone(),
        ));
    }
    cases
}

#[test]
fn builtin_gradients_match_central_differences() {
    for (k, (model, x, theta)) in gradient_cases().iter().enumerate() {
        check_gradient(
            model.as_ref(),
            x,
            theta,
            &format!("case {k}: {} at {x:?}", model.formula()),
        );
    }
}

#[test]
fn builtin_formulas_parse_to_the_same_function() {
    // The formula text of every model except the multi-power law is valid input for FormulaModel,
    // an independent implementation (postfix code + forward-mode AD). Same values and gradients,
    // after matching parameters by name.
    for (k, (model, x, theta)) in gradient_cases().iter().enumerate() {
        let Some(builtin) = BuiltinModel::ALL.iter().find(|b| {
            let m = b.model();
            m.formula() == model.formula() && m.n_inputs() == model.n_inputs()
        }) else {
            continue;
        };
        if builtin.needs_schedule() {
            continue;
        }
        let parsed = FormulaModel::new(&model.formula(), builtin.input_names()).unwrap();
        let names = model.param_names();
        let perm: Vec<usize> = parsed
            .param_names()
            .iter()
            .map(|n| {
                names
                    .iter()
                    .position(|m| m == n)
                    .expect("same parameter names")
            })
            .collect();
        assert_eq!(perm.len(), names.len(), "{builtin}");
        let ptheta: Vec<f64> = perm.iter().map(|&j| theta[j]).collect();
        let mut g = vec![0.0; names.len()];
        let mut pg = vec![0.0; names.len()];
        let v = model.eval(x, theta, Some(&mut g));
        let pv = parsed.eval(x, &ptheta, Some(&mut pg));
        let ctx = format!("case {k}: {builtin} at {x:?}");
        assert_close(pv, v, 1e-13, 0.0, &ctx);
        // Relative to the largest gradient component: the formula evaluates (1 + q)^(−c·f) directly
        // and loses digits where q ≪ 1, which the built-in BNSL avoids with softplus.
        let scale = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (i, &j) in perm.iter().enumerate() {
            assert_close(
                pg[i],
                g[j],
                1e-11,
                1e-12 * scale,
                &format!("{ctx}: ∂/∂{}", names[j]),
            );
        }
    }
}

/// The multi-power law written out naively (O(s²) per step) in the reference code's 0-based
/// indexing, with the rate changes counted from index `from`:
/// `L = L0 + A·S1^(−α) + B·Σ_{m=from}^{s} (η_m − η_{m−1})(1 − (1 + C η_m^(−γ) Σ_{j=m}^{s} η_j)^(−β))`.
fn naive_mpl(lrs: &[f64], s: usize, t: &[f64], from: usize) -> f64 {
    let s1: f64 = lrs[..=s].iter().sum();
    let mut ld = 0.0;
    for m in from.max(1)..=s {
        let sk: f64 = lrs[m..=s].iter().sum();
        ld += (lrs[m] - lrs[m - 1]) * (1.0 - (1.0 + t[4] * lrs[m].powf(-t[6]) * sk).powf(-t[5]));
    }
    t[0] + t[1] * s1.powf(-t[2]) + t[3] * ld
}

#[test]
fn multi_power_law_matches_the_naive_definition() {
    for lrs in [
        small_schedule(),
        wsd(300, 1e-3, 1e-4, 30, 100).unwrap(),
        Schedule::Constant {
            steps: 50,
            lr: 2e-4,
        }
        .lrs()
        .unwrap(),
    ] {
        // Step s (after s updates) is the reference code's index s − 1. The papers' convention
        // counts changes after the warmup W only (index ≥ W); the reference code's all of them.
        let w = scalelab_core::fit::schedule::warmup_steps(&lrs);
        for (warmup, from) in [
            (WarmupConvention::ReferenceCode, 1),
            (WarmupConvention::Paper { warmup_steps: w }, w),
        ] {
            let m = MultiPowerLaw::new(&schedule_with(lrs.clone(), warmup, 0.999)).unwrap();
            for s in [1, 2, 8, w + 1, lrs.len() / 2, lrs.len()] {
                let want = naive_mpl(&lrs, s - 1, &LUO_100M, from);
                assert_close(
                    m.eval(&[s as f64], &LUO_100M, None),
                    want,
                    1e-12,
                    1e-14,
                    &format!("step {s}, {warmup:?}"),
                );
            }
        }
    }
}

#[test]
fn default_starts_have_the_right_length_and_never_panic() {
    let sane = Data {
        n_inputs: 1,
        x: vec![1e8, 1e9, 1e10],
        y: vec![3.0, 2.6, 2.3],
        weights: None,
    };
    let two = Data {
        n_inputs: 2,
        x: vec![1e8, 1e9, 1e9, 1e10, 1e10, 1e11, 1e8, 1e11],
        y: vec![3.2, 2.6, 2.2, 2.7],
        weights: None,
    };
    let broken = Data {
        n_inputs: 3,
        x: vec![1.0],
        y: vec![f64::NAN, 1.0],
        weights: None,
    };
    let empty = Data {
        n_inputs: 0,
        x: vec![],
        y: vec![],
        weights: None,
    };
    for b in BuiltinModel::ALL {
        let p = b.model().param_names().len();
        for data in [&sane, &two, &broken, &empty] {
            let s = b.default_start(data);
            assert_eq!(s.len(), p, "{b}");
            assert!(s.iter().all(|v| v.is_finite()), "{b}: {s:?}");
        }
    }
    // Data-driven starts land near the truth for clean data.
    let s = BuiltinModel::Chinchilla.default_start(&two);
    assert_eq!(s.len(), 5);
    let s = BuiltinModel::PowerLawPlusConstant.default_start(&sane);
    assert!(s[0] < 2.3 && s[1] > 0.0 && s[2] > 0.0, "{s:?}");
}

#[test]
fn registry_serialises_as_snake_case_names() {
    for b in BuiltinModel::ALL {
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, format!("\"{}\"", b.name()));
        assert_eq!(serde_json::from_str::<BuiltinModel>(&json).unwrap(), b);
        assert!(!b.label().is_empty());
    }
    assert_eq!(
        serde_json::to_string(&BuiltinModel::BrokenPowerLaw2).unwrap(),
        "\"broken_power_law_2\""
    );
    for b in [BuiltinModel::MultiPowerLaw, BuiltinModel::LrAnnealing] {
        assert!(b.needs_schedule());
        let m = b
            .model_with_schedule(&LrSchedule::new(small_schedule()))
            .unwrap();
        let theta = &LUO_100M[..m.param_names().len()];
        assert!(m.eval(&[100.0], theta, None).is_finite(), "{b}");
        assert!(b.model().eval(&[1.0], theta, None).is_nan(), "{b}");
        assert!(b.model_with_schedule(&LrSchedule::new(vec![])).is_err());
    }
    let s: Schedule = serde_json::from_str(
        r#"{"kind":"wsd","steps":10,"peak":1.0,"finalLr":0.0,"warmup":2,"decay":4}"#,
    )
    .unwrap();
    assert_eq!(s.lrs().unwrap().len(), 10);
}

#[test]
fn formula_gradients_match_central_differences() {
    type Case<'a> = (&'a str, &'a [&'a str], &'a [f64], &'a [f64]);
    let cases: [Case; 10] = [
        (
            "E + A/N^alpha + B/D^beta",
            &["N", "D"],
            &[7e10, 1.4e12],
            &[1.69, 406.4, 0.34, 410.7, 0.28],
        ),
        ("a*x^(-b) + c", &["x"], &[3.0], &[2.0, 0.5, 1.0]),
        (
            "L0 + A*S1^(-alpha) - C*S2",
            &["S1", "S2"],
            &[6.0, 0.95],
            &[2.0, 1.5, 0.5, 0.1],
        ),
        (
            "exp(a)*ln(x) + sqrt(b*x) - log10(c + x) / log2(x + d)",
            &["x"],
            &[5.0],
            &[0.3, 2.0, 1.5, 0.5],
        ),
        (
            "abs(a - x) * pow(b, 2) + min(a, x) * max(b, c*x)",
            &["x"],
            &[1.0],
            &[3.0, 0.7, 2.0],
        ),
        (
            "-a^2 + --b / (c * (x - 1)^2 + 1)",
            &["x"],
            &[0.0],
            &[1.5, 2.0, 3.0],
        ),
        ("y = a·x^(−α) + e*pi*β", &["x"], &[2.0], &[1.0, 0.3, 0.1]),
        (
            "L(N, D) = ((N_c/N)^(a_N/a_D) + D_c/D)^a_D",
            &["N", "D"],
            &[1e9, 1e10],
            &[6.4e13, 0.076, 0.103, 1.8e13],
        ),
        ("log(a) * x^x + 1e-3 * b ** 2", &["x"], &[1.5], &[2.0, 3.0]),
        (
            "a / (1 + exp(-b*(x - c)))",
            &["x"],
            &[0.2],
            &[1.0, 4.0, 0.5],
        ),
    ];
    for (text, inputs, x, theta) in cases {
        let m = FormulaModel::new(text, inputs).unwrap();
        assert_eq!(
            m.param_names().len(),
            theta.len(),
            "{text}: {:?}",
            m.param_names()
        );
        check_gradient(&m, x, theta, text);
    }
}

#[test]
fn formula_parameters_follow_first_appearance() {
    let m = FormulaModel::new("E + A/N^alpha + B/D^beta", &["N", "D"]).unwrap();
    assert_eq!(m.param_names(), ["E", "A", "alpha", "B", "beta"]);
    assert_eq!(m.n_inputs(), 2);
    assert_eq!(m.formula(), "E + A/N^alpha + B/D^beta");
    // Inputs win over constants; e and pi are constants otherwise.
    let m = FormulaModel::new("a*e", &["e"]).unwrap();
    assert_eq!(m.eval(&[2.0], &[3.0], None), 6.0);
    let m = FormulaModel::new("a*e", &[] as &[&str]).unwrap();
    assert_eq!(m.eval(&[], &[1.0], None), std::f64::consts::E);
    // Wrong lengths: NaN, never a panic.
    let m = FormulaModel::new("a*x", &["x"]).unwrap();
    let mut g = [0.0; 2];
    assert!(m.eval(&[1.0, 2.0], &[1.0], None).is_nan());
    assert!(m.eval(&[1.0], &[1.0], Some(&mut g)).is_nan());
    assert!(g.iter().all(|v| v.is_nan()));
}

#[test]
fn formula_errors_are_specific() {
    let cases: [(&str, usize, &str); 14] = [
        ("", 0, "empty"),
        ("y = ", 4, "empty"),
        ("a + sin(x)", 4, "unknown function “sin”"),
        ("a*(x + 1", 8, "unbalanced"),
        ("a*x + 1)", 7, "unbalanced ')'"),
        ("a x", 2, "missing operator"),
        ("3a + x", 0, "number directly followed"),
        ("a + * x", 4, "expected a number, name or '('"),
        ("x^2", 0, "no parameters"),
        ("a + x @ 2", 6, "unexpected character"),
        ("max(a)", 0, "takes 2 argument(s), got 1"),
        ("sqrt(a, x)", 0, "takes 1 argument(s), got 2"),
        ("a + ln", 4, "is a function"),
        ("a +", 3, "ends where"),
    ];
    for (text, pos, fragment) in cases {
        match FormulaModel::new(text, &["x"]) {
            Err(e @ CoreError::InvalidFormula { position, .. }) => {
                assert_eq!(e.code(), "InvalidFormula");
                assert_eq!(position, pos, "{text:?}: {e}");
                assert!(e.to_string().contains(fragment), "{text:?}: {e}");
            }
            other => panic!("{text:?}: expected InvalidFormula, got {other:?}"),
        }
    }
    // Nesting and length limits.
    let ok = format!("{}a{}", "(".repeat(150), ")".repeat(150));
    assert!(FormulaModel::new(&ok, &["x"]).is_ok());
    let deep = format!("{}a{}", "-".repeat(500), "");
    assert!(FormulaModel::new(&deep, &["x"])
        .unwrap_err()
        .to_string()
        .contains("nests deeper"));
    let many: String = (0..65).map(|i| format!("p{i}+")).collect::<String>() + "x";
    assert!(FormulaModel::new(&many, &["x"])
        .unwrap_err()
        .to_string()
        .contains("more than 64"));
    assert!(matches!(
        FormulaModel::new("a", &["2x"]),
        Err(CoreError::InvalidValue {
            what: "input name",
            ..
        })
    ));
}

/// `$SCALELAB_REFDATA/<rel>` (default `../shared/refdata` beside the workspace) as bytes, or
/// `None` after printing `SKIPPED` (a failure under `CI=true`).
pub fn refdata_bytes(rel: &str) -> Option<Vec<u8>> {
    let dir = match std::env::var_os("SCALELAB_REFDATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/refdata"
        )),
    };
    let path = dir.join(rel);
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(_) => {
            let msg = format!("SKIPPED (no refdata at {})", path.display());
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{msg}, and CI=true requires it"
            );
            println!("{msg}");
            eprintln!("{msg}");
            None
        }
    }
}

/// [`refdata_bytes`] as text.
pub fn refdata(rel: &str) -> Option<String> {
    refdata_bytes(rel).map(|b| String::from_utf8(b).expect("refdata text is UTF-8"))
}

/// The reference repository's per-step schedule for one curve file (refdata README §1): warmup
/// `linspace(0, 3e-4, 2160)`, then the named schedule.
fn luo_schedule(file: &str) -> Vec<f64> {
    let (peak, end, w) = (3e-4, 3e-5, 2160usize);
    let total = match file {
        f if f.ends_with("72000") => 72000,
        f if f.starts_with("wsdcon") => 16000,
        _ => 24000,
    };
    (0..total)
        .map(|s| {
            if s < w {
                return s as f64 * peak / (w - 1) as f64;
            }
            match file {
                f if f.starts_with("constant") => peak,
                f if f.starts_with("cosine") => {
                    let p = (s - w) as f64 / (total - w) as f64;
                    end + 0.5 * (peak - end) * (1.0 + (std::f64::consts::PI * p).cos())
                }
                "wsd_20000_24000" if s >= 20000 => {
                    let p = (s - 20000) as f64 / 4000.0;
                    peak.powf(1.0 - p) * end.powf(p)
                }
                "wsdld_20000_24000" if s >= 20000 => {
                    let p = (s - 20000) as f64 / 4000.0;
                    peak * (1.0 - p) + end * p
                }
                f if f.starts_with("wsdcon_") && s >= 8000 => {
                    f["wsdcon_".len()..].parse::<f64>().unwrap() * 1e-5
                }
                _ => peak,
            }
        })
        .collect()
}

#[test]
fn multi_power_law_reproduces_published_metrics_on_the_reference_curves() {
    // refdata curves/README §1: with the published 25M/100M/400M parameters, the mean over the nine
    // curves of R², MAE, RMSE, PredE (mean relative error) and WorstE (max relative error).
    let files = [
        "constant_24000",
        "constant_72000",
        "cosine_24000",
        "cosine_72000",
        "wsd_20000_24000",
        "wsdld_20000_24000",
        "wsdcon_3",
        "wsdcon_9",
        "wsdcon_18",
    ];
    let published: [(&str, [f64; 7], [f64; 5]); 3] = [
        (
            "25",
            [
                3.04045406,
                0.52468604,
                0.50786857,
                363.78751622,
                2.06560812,
                0.58279013,
                0.64142257,
            ],
            [0.9988, 0.00376, 0.00465, 0.00110, 0.00409],
        ),
        (
            "100",
            [
                2.6514477,
                0.60115152,
                0.45295811,
                437.9464276,
                2.13245612,
                0.59785199,
                0.65523644,
            ],
            [0.9983, 0.00435, 0.00592, 0.00142, 0.00583],
        ),
        (
            "400",
            [
                2.37474466,
                0.65421216,
                0.42878731,
                523.42464371,
                2.02462735,
                0.59350493,
                0.63472457,
            ],
            [0.9978, 0.00484, 0.00730, 0.00168, 0.00995],
        ),
    ];
    for (size, theta, metrics) in &published {
        let mut sums = [0.0; 5];
        for file in files {
            let Some(text) = refdata(&format!("curves/multipowerlaw/csv_{size}/{file}.csv")) else {
                return;
            };
            let table = read_table(&text, &CsvOptions::default()).unwrap();
            assert_eq!(table.columns, ["step", "lr", "loss"]);
            let lrs = luo_schedule(file);
            // The published parameters were fitted in the reference code's convention.
            let model = MultiPowerLaw::new(&schedule_with(
                lrs.clone(),
                WarmupConvention::ReferenceCode,
                0.999,
            ))
            .unwrap();
            let (mut sse, mut sae, mut sre, mut worst) = (0.0, 0.0, 0.0, 0.0f64);
            let ys: Vec<f64> = table.rows.iter().map(|r| r[2]).collect();
            let mean = ys.iter().sum::<f64>() / ys.len() as f64;
            let sst: f64 = ys.iter().map(|y| (y - mean).powi(2)).sum();
            for row in &table.rows {
                let (step, lr, y) = (row[0], row[1], row[2]);
                // Our regenerated schedule reproduces the file's lr column (README: ≤ 2e-15 relative).
                assert_close(
                    lrs[step as usize],
                    lr,
                    1e-13,
                    0.0,
                    &format!("{size}M {file} lr at {step}"),
                );
                // The reference code's step s (S1 = cumsum(lrs)[s]) is the state after s + 1 updates.
                let pred = model.eval(&[step + 1.0], theta, None);
                let e = (pred - y).abs();
                sse += e * e;
                sae += e;
                sre += e / y;
                worst = worst.max(e / y);
            }
            let n = ys.len() as f64;
            for (sum, v) in
                sums.iter_mut()
                    .zip([1.0 - sse / sst, sae / n, (sse / n).sqrt(), sre / n, worst])
            {
                *sum += v;
            }
        }
        let got = sums.map(|s| s / files.len() as f64);
        // The README expects agreement to about 1e-3: the published metrics come from the
        // repository's own pipeline, whose row selection is not documented. Measured deviations
        // (all three sizes): R² ≤ 3.1e-4, MAE ≤ 3.4e-4, RMSE ≤ 5.5e-4, PredE ≤ 1.2e-4, WorstE ≤ 1.2e-3.
        // The exact formula is checked by `multi_power_law_matches_the_naive_definition`.
        let tols = [5e-4, 5e-4, 8e-4, 2e-4, 1.5e-3];
        for ((name, tol), (g, want)) in ["R²", "MAE", "RMSE", "PredE", "WorstE"]
            .iter()
            .zip(tols)
            .zip(got.iter().zip(metrics))
        {
            assert_close(*g, *want, 0.0, tol, &format!("{size}M {name}"));
        }
    }
}

#[test]
fn schedules_feed_the_annealing_law() {
    let lrs = Schedule::Cosine {
        steps: 100,
        peak: 1e-3,
        final_lr: 1e-4,
        warmup: 10,
    }
    .lrs()
    .unwrap();
    let reference = schedule_with(lrs.clone(), WarmupConvention::ReferenceCode, 0.999);
    let areas: TissueAreas = tissue_areas(&reference).unwrap();
    assert_eq!(areas.s1.len(), 100);
    // science.md §4e's closed form: S2(s) = Σ_{i≤s} Σ_{f≤k≤i} (η_{k−1} − η_k)·λ^(i−k) (1-based),
    // from f = 2 (every change) or f = W + 1 (after the warmup).
    let closed_form = |s: usize, f: usize| {
        let mut want = 0.0;
        for i in 1..=s {
            for k in f..=i {
                want += (lrs[k - 2] - lrs[k - 1]) * 0.999f64.powi((i - k) as i32);
            }
        }
        want
    };
    let paper = tissue_areas(&LrSchedule::new(lrs.clone())).unwrap();
    for s in [1, 10, 11, 37, 100] {
        assert_close(
            areas.s2[s - 1],
            closed_form(s, 2),
            1e-12,
            1e-15,
            &format!("S2({s})"),
        );
        assert_close(
            paper.s2[s - 1],
            closed_form(s, 11),
            1e-12,
            1e-15,
            &format!("paper S2({s})"),
        );
    }
    assert_eq!(paper.s1, areas.s1);
    // With the warmup's rises counted, S2 is negative through the warmup and for a while after
    // it; in the papers' convention it is zero until the rate first falls.
    assert!(areas.s2[9] < 0.0 && areas.s2[10] < 0.0);
    assert_eq!(paper.s2[9], 0.0);
    assert!(paper.s2[20] > 0.0);
}

/// `tests/vectors/loss_curve_conventions.py`: both laws on the reference repository's
/// `cosine_24000` schedule (2160 warmup steps) in both warmup conventions, computed by numpy from
/// the reference code's formula and from the papers' post-warmup formulation.
#[derive(serde::Deserialize)]
struct Conventions {
    warmup_steps: usize,
    steps: Vec<f64>,
    lrs_at_steps: Vec<f64>,
    mpl_theta: Vec<f64>,
    mpl_reference: Vec<f64>,
    mpl_paper: Vec<f64>,
    tissue_theta: Vec<f64>,
    tissue_lambda: f64,
    tissue_reference: Vec<f64>,
    tissue_paper: Vec<f64>,
    tissue_reference_s2: Vec<f64>,
    tissue_paper_s2: Vec<f64>,
}

#[test]
fn loss_curve_laws_follow_the_papers_and_the_reference_code() {
    let v: Conventions = serde_json::from_str(include_str!(
        "../../../../tests/vectors/loss_curve_conventions.json"
    ))
    .unwrap();
    let lrs = luo_schedule("cosine_24000");
    for (s, want) in v.steps.iter().zip(&v.lrs_at_steps) {
        assert_close(lrs[*s as usize - 1], *want, 1e-15, 0.0, "the same schedule");
    }
    // The papers' convention, with the warmup found in the schedule, is the default.
    let paper = LrSchedule {
        momentum_decay: v.tissue_lambda,
        ..LrSchedule::new(lrs.clone())
    };
    assert_eq!(
        paper.warmup,
        WarmupConvention::Paper {
            warmup_steps: v.warmup_steps
        }
    );
    let reference = schedule_with(lrs, WarmupConvention::ReferenceCode, v.tissue_lambda);
    for (schedule, mpl, tissue, s2) in [
        (&paper, &v.mpl_paper, &v.tissue_paper, &v.tissue_paper_s2),
        (
            &reference,
            &v.mpl_reference,
            &v.tissue_reference,
            &v.tissue_reference_s2,
        ),
    ] {
        let m = MultiPowerLaw::new(schedule).unwrap();
        let t = LrAnnealing::new(schedule).unwrap();
        let areas = tissue_areas(schedule).unwrap();
        for (i, &s) in v.steps.iter().enumerate() {
            let ctx = format!("step {s}, {:?}", schedule.warmup);
            assert_close(m.eval(&[s], &v.mpl_theta, None), mpl[i], 1e-11, 0.0, &ctx);
            assert_close(
                t.eval(&[s], &v.tissue_theta, None),
                tissue[i],
                1e-11,
                0.0,
                &ctx,
            );
            assert_close(areas.s2[s as usize - 1], s2[i], 1e-9, 1e-15, &ctx);
        }
    }
    // The reference code's warmup adds ≈ 0.13 nats at the end of the 100M preset's cosine run.
    let last = v.steps.len() - 1;
    assert_close(
        v.mpl_reference[last] - v.mpl_paper[last],
        0.1303,
        0.0,
        1e-4,
        "warmup in LD",
    );
    // In the papers' convention S2 is zero through the warmup; counting it makes S2 negative.
    assert_eq!(v.tissue_paper_s2[2], 0.0);
    assert!(v.tissue_reference_s2[2] < 0.0);
}
