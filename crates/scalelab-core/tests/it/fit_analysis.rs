//! The Fit page's pipeline: presets → table → observations → analysis.
//! Reference values: the published law constants the data are generated from (Hoffmann et al. 2022
//! E = 1.69, A = 406.4, B = 410.7, α = 0.34, β = 0.28; Kaplan et al. 2020 Table 2), science.md §7
//! items 15 and 21, and exact recovery of a known law from noise-free data.

use scalelab_core::fit::analysis::{
    analyse, Analysis, BandKind, CurveAxis, FitRequest, Method, ModelChoice, Stage, Starts,
};
use scalelab_core::fit::dataset::{observations, CurveOptions, ScheduleSource};
use scalelab_core::fit::models::BuiltinModel;
use scalelab_core::fit::presets::Preset;
use scalelab_core::fit::schedule::{LrSchedule, Schedule, WarmupChoice};
use scalelab_core::fit::{Data, FitOptions, Model, ResidualSpace};
use scalelab_core::io::csv::Columns;
use scalelab_core::io::csv::{read_table, CsvOptions};
use scalelab_core::Budget;
use scalelab_core::CoreError;

fn rel(a: f64, b: f64) -> f64 {
    ((a - b) / b).abs()
}

fn request(model: BuiltinModel, data: Data, schedule: Option<LrSchedule>) -> FitRequest {
    FitRequest {
        start: model.default_start_with(&data, schedule.as_ref()),
        model: ModelChoice::Builtin { model },
        data,
        schedule,
        options: FitOptions {
            residual: ResidualSpace::Log,
            ..FitOptions::default()
        },
        method: Method::LeastSquares,
        starts: Starts::Single,
        bootstrap: 0,
        seed: 0,
        curve_inputs: vec![],
        extrapolate: 10.0,
        holdout: 0,
    }
}

fn preset_observations(p: Preset) -> (FitRequest, Vec<String>) {
    let table = read_table(&p.csv(0), &CsvOptions::default()).expect("preset CSV parses");
    let inputs: Vec<String> = p
        .model()
        .input_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let obs = observations(
        &table,
        &inputs,
        &Columns::guess(&table),
        &CurveOptions::default(),
        true,
    )
    .expect("observations");
    (request(p.model(), obs.data, obs.schedule), table.columns)
}

#[test]
fn every_preset_fits_its_own_law() {
    for p in Preset::ALL {
        let (req, _) = preset_observations(p);
        let r = analyse(&req).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        assert!(
            r.fit.termination.converged(),
            "{p:?}: {:?}",
            r.fit.termination
        );
        // The generated noise is ≤ 1 %: the fit's relative residuals stay within a few %.
        let worst = r
            .residuals
            .iter()
            .zip(&req.data.y)
            .map(|(e, y)| (e / y).abs())
            .fold(0.0, f64::max);
        assert!(worst < 0.05, "{p:?}: worst relative residual {worst}");
    }
}

#[test]
fn chinchilla_preset_recovers_hoffmanns_constants_and_allocation() {
    let (req, columns) = preset_observations(Preset::Chinchilla);
    assert_eq!(columns, ["params", "tokens", "loss"]);
    let r = analyse(&req).unwrap();
    let p = &r.fit.params;
    assert!(
        (p[3] - 0.34).abs() < 0.03 && (p[4] - 0.28).abs() < 0.03,
        "{p:?}"
    );
    assert!((p[0] - 1.69).abs() < 0.1, "{p:?}");
    let a = r.allocation.expect("Chinchilla fits report the allocation");
    // a = β/(α+β), b = α/(α+β) (science.md §4a): check the rule against the fitted exponents.
    assert!(rel(a.rule.a, p[4] / (p[3] + p[4])) < 1e-12);
    assert_eq!(r.curve.axis, CurveAxis::ComputeOptimal);
    // The prediction band (with the residual variance) contains the confidence band of the mean curve.
    let c = &r.curve;
    for i in 0..c.mean.len() {
        assert!(
            c.prediction_lower[i] < c.lower[i] && c.lower[i] <= c.mean[i],
            "{i}"
        );
        assert!(
            c.mean[i] <= c.upper[i] && c.upper[i] < c.prediction_upper[i],
            "{i}"
        );
    }
    assert!(r.curve.at.last().unwrap() > &(6.0 * 3e9 * 1e11));
}

#[test]
fn exact_data_are_recovered_with_backtest_and_bootstrap() {
    // y = 0.5 + 3·x^(−0.4): a known law, noise-free.
    let xs: Vec<f64> = (0..20).map(|i| 10f64.powf(1.0 + 0.2 * i as f64)).collect();
    let ys: Vec<f64> = xs.iter().map(|x| 0.5 + 3.0 * x.powf(-0.4)).collect();
    let data = Data {
        n_inputs: 1,
        x: xs,
        y: ys,
        weights: None,
    };
    let mut req = request(BuiltinModel::PowerLawPlusConstant, data, None);
    req.bootstrap = 50;
    req.seed = 7;
    req.holdout = 4;
    let r = analyse(&req).unwrap();
    for (got, want) in r.fit.params.iter().zip([0.5, 3.0, 0.4]) {
        assert!(rel(*got, want) < 1e-8, "{:?}", r.fit.params);
    }
    let b = r.backtest.unwrap();
    assert_eq!(
        b.indices,
        vec![16, 17, 18, 19],
        "the largest runs are held out"
    );
    assert!(b.relative_error.iter().all(|e| e.abs() < 1e-8));
    let boot = r.bootstrap.unwrap();
    assert!(boot.successful >= 45);
    assert!(boot.lower95[2] <= 0.4 + 1e-9 && boot.upper95[2] >= 0.4 - 1e-9);
    assert_eq!(r.curve.band, BandKind::DeltaMethod);
    assert_eq!(r.curve.at.len(), 200);
}

#[test]
fn tokens_come_from_compute_and_schedules_give_tissue_areas() {
    let table = read_table(
        "params,compute,loss\n1e9,6e19,3.0\n2e9,2.4e20,2.8\n",
        &CsvOptions::default(),
    )
    .unwrap();
    let inputs = vec!["N".to_string(), "D".to_string()];
    let obs = observations(
        &table,
        &inputs,
        &Columns::guess(&table),
        &CurveOptions::default(),
        true,
    )
    .unwrap();
    // D = C/(6N): 6e19/(6·1e9) = 1e10, 2.4e20/(6·2e9) = 2e10.
    assert_eq!(obs.data.x, vec![1e9, 1e10, 2e9, 2e10]);

    // science.md §7 item 21: schedule [1,1,1,1,1,0.5,…], λ = 0.9.
    let mut csv = String::from("step,lr,loss\n");
    for (k, lr) in [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5]
        .iter()
        .enumerate()
    {
        csv.push_str(&format!(
            "{},{lr},{}\n",
            k + 1,
            if k % 3 == 2 {
                "2.5".to_string()
            } else {
                String::new()
            }
        ));
    }
    let table = read_table(&csv, &CsvOptions::default()).unwrap();
    let inputs = vec!["S1".to_string(), "S2".to_string()];
    let curve = CurveOptions {
        momentum_decay: 0.9,
        ..CurveOptions::default()
    };
    let obs = observations(&table, &inputs, &Columns::guess(&table), &curve, true).unwrap();
    assert_eq!(
        obs.rows,
        vec![2, 5, 8],
        "rows without a loss count for the schedule only"
    );
    let expect = [(3.0, 0.0), (5.5, 0.5), (7.0, 1.7195)];
    for (k, (s1, s2)) in expect.iter().enumerate() {
        assert!(
            (obs.data.x[2 * k] - s1).abs() < 1e-12 && (obs.data.x[2 * k + 1] - s2).abs() < 1e-12,
            "{:?}",
            obs.data.x
        );
    }
}

#[test]
fn bad_rows_are_named_by_line_and_column() {
    let table = read_table(
        "params,tokens,loss\n1e9,1e10,3\n-2e9,2e10,2.9\n",
        &CsvOptions::default(),
    )
    .unwrap();
    let inputs = vec!["N".to_string(), "D".to_string()];
    match observations(
        &table,
        &inputs,
        &Columns::guess(&table),
        &CurveOptions::default(),
        true,
    ) {
        Err(CoreError::InvalidCsv { row, column, .. }) => assert_eq!((row, column), (3, 1)),
        other => panic!("{other:?}"),
    }
    let table = read_table("x,y\n1,2\n2,0\n", &CsvOptions::default()).unwrap();
    match observations(
        &table,
        &["x".to_string()],
        &Columns::guess(&table),
        &CurveOptions::default(),
        true,
    ) {
        Err(CoreError::InvalidCsv {
            row,
            column,
            reason,
            ..
        }) => {
            assert_eq!((row, column), (3, 2));
            assert!(reason.contains("positive"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let table = read_table("step,lr,loss\n1,1,3\n1,1,2.9\n", &CsvOptions::default()).unwrap();
    let err = observations(
        &table,
        &["S1".to_string(), "S2".to_string()],
        &Columns::guess(&table),
        &CurveOptions::default(),
        true,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::InvalidCsv {
                row: 3,
                column: 1,
                ..
            }
        ),
        "duplicate step: {err:?}"
    );
}

#[test]
fn repeated_x_values_and_wrong_methods_are_refused() {
    let data = Data {
        n_inputs: 1,
        x: vec![1.0, 1.0, 2.0, 2.0],
        y: vec![3.0, 3.1, 2.0, 2.1],
        weights: None,
    };
    let err = analyse(&request(
        BuiltinModel::PowerLawPlusConstant,
        data.clone(),
        None,
    ))
    .unwrap_err();
    assert!(err.to_string().contains("distinct"), "{err}");
    let mut req = request(BuiltinModel::PowerLaw, data, None);
    req.method = Method::Hoffmann { delta: 1e-3 };
    assert!(matches!(
        analyse(&req),
        Err(CoreError::InvalidValue { what: "method", .. })
    ));
}

#[test]
fn a_formula_model_fits_like_the_builtin() {
    let xs: Vec<f64> = (0..15).map(|i| 10f64.powf(0.5 + 0.25 * i as f64)).collect();
    let ys: Vec<f64> = xs.iter().map(|x| 1.2 + 5.0 * x.powf(-0.3)).collect();
    let mut req = request(
        BuiltinModel::PowerLawPlusConstant,
        Data {
            n_inputs: 1,
            x: xs,
            y: ys,
            weights: None,
        },
        None,
    );
    req.model = ModelChoice::Formula {
        text: "E + A*x^(-alpha)".into(),
        inputs: vec!["x".into()],
    };
    req.start = vec![1.0, 1.0, 0.5];
    let r = analyse(&req).unwrap();
    assert_eq!(r.names, ["E", "A", "alpha"]);
    for (got, want) in r.fit.params.iter().zip([1.2, 5.0, 0.3]) {
        assert!(rel(*got, want) < 1e-8, "{:?}", r.fit.params);
    }
}

/// Runs `req` in slices of `steps` solver steps each (a deterministic stand-in for a worker's
/// 20 ms slices) and returns the report, the number of slices and the starts streamed.
fn sliced(
    req: &FitRequest,
    steps: usize,
) -> (
    scalelab_core::fit::analysis::FitReport,
    usize,
    Vec<scalelab_core::fit::multistart::StartOutcome>,
) {
    let mut analysis = Analysis::new(req.clone()).unwrap();
    let (mut slices, mut starts) = (0, Vec::new());
    loop {
        slices += 1;
        let mut left = steps;
        let mut time_left = || {
            left = left.saturating_sub(1);
            left > 0
        };
        let mut budget = Budget::new(&mut time_left, None);
        let out = analysis.advance(&mut budget).unwrap();
        starts.extend(analysis.take_starts());
        if let Some(report) = out {
            return (report, slices, starts);
        }
    }
}

#[test]
fn a_fit_advanced_in_slices_equals_the_fit_at_once() {
    // Least squares from 12 random starts with a bootstrap and a backtest; and Hoffmann's method
    // from random starts with a bootstrap (its report has no covariance, so the band comes from
    // the bootstrap at the curve's own inputs).
    let (mut ls, _) = preset_observations(Preset::Chinchilla);
    ls.starts = Starts::Random {
        samples: 12,
        seed: 3,
    };
    ls.bootstrap = 25;
    ls.holdout = 3;
    let mut hoffmann = ls.clone();
    hoffmann.method = Method::Hoffmann { delta: 1e-3 };
    hoffmann.holdout = 0;
    for req in [ls, hoffmann] {
        let whole = analyse(&req).unwrap();
        let (parts, slices, starts) = sliced(&req, 3);
        // Debug prints every float's shortest round-trip form (and NaN equal to NaN).
        assert_eq!(
            format!("{parts:?}"),
            format!("{whole:?}"),
            "bit for bit ({:?})",
            req.method
        );
        assert!(slices > 40, "the budget cut the work into {slices} slices");
        assert_eq!(starts.len(), 12);
        assert_eq!(
            starts.iter().map(|s| s.index).collect::<Vec<_>>(),
            (0..12).collect::<Vec<_>>()
        );
        assert_eq!(
            starts.last().unwrap().converged_so_far,
            whole.starts_converged
        );
        // The best cost streamed never rises and ends at the reported cost.
        let best: Vec<f64> = starts.iter().filter_map(|s| s.best_cost).collect();
        assert!(best.windows(2).all(|w| w[1] <= w[0]), "{best:?}");
        assert_eq!(*best.last().unwrap(), whole.fit.cost);
        assert_eq!(
            whole.curve.band,
            if req.method == Method::LeastSquares {
                BandKind::DeltaMethod
            } else {
                BandKind::Bootstrap
            }
        );
        assert!(
            whole.curve.lower.iter().all(|v| v.is_finite()),
            "{:?}",
            whole.curve.band
        );
    }
}

#[test]
fn a_one_unit_budget_runs_exactly_one_start() {
    let (mut req, _) = preset_observations(Preset::Chinchilla);
    req.starts = Starts::Random {
        samples: 5,
        seed: 1,
    };
    let mut analysis = Analysis::new(req).unwrap();
    for done in 1..5 {
        let mut always = || true;
        let mut budget = Budget::new(&mut always, Some(1));
        assert!(analysis.advance(&mut budget).unwrap().is_none());
        assert_eq!(budget.units_done(), 1);
        assert_eq!(analysis.take_starts().len(), 1);
        let p = analysis.progress();
        assert_eq!((p.stage, p.done, p.total), (Stage::Fit, done, 5));
    }
    let mut always = || true;
    let mut budget = Budget::new(&mut always, Some(1));
    assert!(
        analysis.advance(&mut budget).unwrap().is_some(),
        "the last start ends the fit"
    );
}

#[test]
fn settings_out_of_range_are_errors_not_replaced() {
    let (req, _) = preset_observations(Preset::Chinchilla);
    let cases = [
        (
            FitRequest {
                extrapolate: 0.5,
                ..req.clone()
            },
            "extrapolation factor",
        ),
        (
            FitRequest {
                extrapolate: f64::NAN,
                ..req.clone()
            },
            "extrapolation factor",
        ),
        (
            FitRequest {
                starts: Starts::Random {
                    samples: 100_001,
                    seed: 0,
                },
                ..req.clone()
            },
            "random starts",
        ),
        (
            FitRequest {
                starts: Starts::Random {
                    samples: 0,
                    seed: 0,
                },
                ..req.clone()
            },
            "random starts",
        ),
    ];
    for (bad, what) in cases {
        match Analysis::new(bad) {
            Err(CoreError::OutOfRange { what: w, .. }) => assert_eq!(w, what),
            other => panic!("{what}: {:?}", other.map(|_| ())),
        }
    }
}

/// A `step,lr,loss` table of a law's exact values at `steps` under `rates` (η_s in the lr column).
fn curve_csv(law: &dyn Model, theta: &[f64], rates: &[f64], steps: &[usize]) -> String {
    let mut csv = String::from("step,lr,loss\n");
    for &s in steps {
        let y = law.eval(&[s as f64], theta, None);
        csv.push_str(&format!("{s},{:e},{y:e}\n", rates[s - 1]));
    }
    csv
}

fn curve_fit(
    model: BuiltinModel,
    csv: &str,
    curve: &CurveOptions,
    start: &[f64],
) -> Result<Vec<f64>, CoreError> {
    let table = read_table(csv, &CsvOptions::default())?;
    let inputs = vec!["step".to_string()];
    let obs = observations(&table, &inputs, &Columns::guess(&table), curve, true)?;
    let mut req = request(model, obs.data, obs.schedule);
    req.start = start.to_vec();
    req.options.residual = ResidualSpace::Linear;
    Ok(analyse(&req)?.fit.params)
}

#[test]
fn a_curve_logged_every_100_steps_fits_like_every_step() {
    // A 2000-step cosine run with 100 warmup steps; the laws' exact values (no noise), so both
    // tables must give the generating parameters back.
    let schedule = Schedule::Cosine {
        steps: 2000,
        peak: 3e-4,
        final_lr: 3e-5,
        warmup: 100,
    };
    let rates = schedule.lrs().unwrap();
    let every_step: Vec<usize> = (1..=2000).collect();
    let every_100: Vec<usize> = (1..=20).map(|k| 100 * k).collect();
    let cases: [(BuiltinModel, Vec<f64>); 2] = [
        (
            BuiltinModel::MultiPowerLaw,
            scalelab_core::fit::models::LUO_100M.to_vec(),
        ),
        (BuiltinModel::LrAnnealing, vec![2.6, 0.6, 0.45, 1.0]),
    ];
    for (model, truth) in cases {
        let law = model
            .model_with_schedule(&schedule.lr_schedule().unwrap())
            .unwrap();
        let start: Vec<f64> = truth
            .iter()
            .enumerate()
            .map(|(i, v)| v * if i % 2 == 0 { 1.01 } else { 0.99 })
            .collect();
        // Every step: the learning-rate column is the schedule.
        let full = curve_fit(
            model,
            &curve_csv(law.as_ref(), &truth, &rates, &every_step),
            &CurveOptions::default(),
            &start,
        )
        .unwrap();
        // Every 100 steps: the named schedule gives the rates in between; the column must agree.
        let named = CurveOptions {
            source: ScheduleSource::Named {
                schedule: schedule.clone(),
            },
            ..CurveOptions::default()
        };
        let sparse_csv = curve_csv(law.as_ref(), &truth, &rates, &every_100);
        let sparse = curve_fit(model, &sparse_csv, &named, &start).unwrap();
        for (i, t) in truth.iter().enumerate() {
            assert!(rel(full[i], *t) < 1e-6, "{model} every step: {full:?}");
            assert!(rel(sparse[i], *t) < 1e-6, "{model} every 100: {sparse:?}");
        }
        // The same sparse table read as one row per step is refused, not summed row by row.
        match curve_fit(model, &sparse_csv, &CurveOptions::default(), &start) {
            Err(CoreError::InvalidCsv { row, reason, .. }) => {
                assert_eq!(row, 2, "{reason}");
                assert!(reason.contains("one row per step"), "{reason}");
            }
            other => panic!("{model}: {other:?}"),
        }
    }
}

#[test]
fn steps_follow_one_convention() {
    let rates = vec![1e-3; 30];
    let law = BuiltinModel::MultiPowerLaw
        .model_with_schedule(&LrSchedule::new(rates.clone()))
        .unwrap();
    let theta = scalelab_core::fit::models::LUO_100M;
    let start = theta.to_vec();
    // Steps 1 … n with n rates: the last row is the state after all n updates.
    let steps: Vec<usize> = (1..=30).collect();
    let csv = curve_csv(law.as_ref(), &theta, &rates, &steps);
    let ok = curve_fit(
        BuiltinModel::LrAnnealing,
        &csv,
        &CurveOptions::default(),
        &[2.6, 0.6, 0.45, 1.0],
    );
    assert!(ok.is_ok(), "{ok:?}");
    // A row at step 0 (before any update) is named by line and column.
    let with_zero = csv.replacen("step,lr,loss\n", "step,lr,loss\n0,1e-3,9.0\n", 1);
    match curve_fit(
        BuiltinModel::MultiPowerLaw,
        &with_zero,
        &CurveOptions::default(),
        &start,
    ) {
        Err(CoreError::InvalidCsv {
            row,
            column,
            reason,
            ..
        }) => {
            assert_eq!((row, column), (2, 1));
            assert!(reason.contains("step 0"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // A named schedule shorter than the logged steps is its own error.
    let short = CurveOptions {
        source: ScheduleSource::Named {
            schedule: Schedule::Constant {
                steps: 20,
                lr: 1e-3,
            },
        },
        warmup: WarmupChoice::Detected,
        ..CurveOptions::default()
    };
    match curve_fit(BuiltinModel::MultiPowerLaw, &csv, &short, &start) {
        Err(
            e @ CoreError::StepOutsideSchedule {
                index: 20,
                steps: 20,
                ..
            },
        ) => {
            assert!(e.to_string().contains("too short"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // A learning-rate column that disagrees with the named schedule names its cell.
    let wrong = CurveOptions {
        source: ScheduleSource::Named {
            schedule: Schedule::Constant {
                steps: 30,
                lr: 2e-3,
            },
        },
        ..CurveOptions::default()
    };
    match curve_fit(BuiltinModel::MultiPowerLaw, &csv, &wrong, &start) {
        Err(CoreError::InvalidCsv { row, column, .. }) => assert_eq!((row, column), (2, 2)),
        other => panic!("{other:?}"),
    }
    // Through the request: a step past the schedule is a typed error, not a NaN at the start.
    let mut req = request(
        BuiltinModel::MultiPowerLaw,
        Data {
            n_inputs: 1,
            x: vec![10.0, 20.0, 31.0, 5.0, 6.0, 7.0, 8.0, 9.0],
            y: vec![3.0; 8],
            weights: None,
        },
        Some(LrSchedule::new(rates)),
    );
    req.start = start;
    assert!(matches!(
        analyse(&req),
        Err(CoreError::StepOutsideSchedule {
            what: "observation",
            index: 2,
            steps: 30,
            ..
        })
    ));
}
