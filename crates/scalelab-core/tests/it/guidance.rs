//! The Guidance lab's core: science.md §7 items 7–10 (APG on 2-vectors, recomputed from the
//! paper's listing and diffusers' `normalized_guidance`), the identity APG(η = 1, r = 0, β = 0)
//! = CFG, the denoiser against Tweedie's formula on the mixture's own log density (a separate
//! computation: `D = x + σ² ∇ log p_σ(x)`) and against the `gmm_denoiser` oracle, the prediction
//! conversions, the schedules' closed forms, instability reported as such, and the paper's
//! phenomenon on the 2-D toy.

use scalelab_core::guidance::*;
use scalelab_core::ops::gmm::gmm_denoiser;
use scalelab_core::CoreError;

use crate::assert_close;

fn apg(w: f64, eta: f64, r: f64, beta: f64, form: ApgForm) -> Guidance {
    Guidance::Apg(Apg {
        w,
        eta,
        r,
        beta,
        form,
        reset_on_sigma_increase: false,
    })
}

fn guide(g: &Guidance, c: &[f64], u: &[f64], state: &mut GuidanceState) -> Vec<f64> {
    let mut out = vec![0.0; c.len()];
    g.apply(c, u, c.len(), 1.0, state, &mut out);
    out
}

fn close_all(actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        assert_close(*a, *e, tol, tol, "");
    }
}

#[test]
fn science_md_checks_7_to_10() {
    let (c, u) = ([1.0, 0.0], [0.0, 1.0]);
    let mut s = GuidanceState::new();
    // Item 7.
    close_all(
        &guide(&apg(5.0, 0.0, 0.0, 0.0, ApgForm::Paper), &c, &u, &mut s),
        &[1.0, -4.0],
        1e-12,
    );
    close_all(
        &guide(&apg(5.0, 0.0, 0.0, 0.0, ApgForm::Diffusers), &c, &u, &mut s),
        &[0.0, -4.0],
        1e-12,
    );
    close_all(
        &guide(
            &apg(5.0, 0.0, 0.0, 0.0, ApgForm::DiffusersOriginal),
            &c,
            &u,
            &mut s,
        ),
        &[1.0, -5.0],
        1e-12,
    );
    for form in [ApgForm::Paper, ApgForm::Diffusers] {
        close_all(
            &guide(&apg(5.0, 1.0, 0.0, 0.0, form), &c, &u, &mut s),
            &[5.0, -4.0],
            1e-12,
        );
    }
    close_all(
        &guide(&Guidance::Cfg { w: 5.0 }, &c, &u, &mut s),
        &[5.0, -4.0],
        1e-12,
    );
    // Item 8.
    close_all(
        &guide(&apg(5.0, 0.0, 1.0, 0.0, ApgForm::Paper), &c, &u, &mut s),
        &[1.0, -2.8284271247],
        1e-9,
    );
    // Item 9: momentum −0.5 over two steps.
    let g = apg(5.0, 0.0, 0.0, -0.5, ApgForm::Paper);
    let mut s = GuidanceState::new();
    guide(&g, &c, &u, &mut s);
    let out = guide(&g, &[2.0, 0.0], &[0.0, 0.0], &mut s);
    close_all(&s.running, &[1.5, 0.5], 1e-12);
    close_all(&out, &[2.0, 2.0], 1e-12);
    // Item 10: cond ∥ diff.
    let (c, u) = ([3.0, 4.0], [0.0, 0.0]);
    close_all(
        &guide(&apg(5.0, 0.0, 0.0, 0.0, ApgForm::Paper), &c, &u, &mut s),
        &[3.0, 4.0],
        1e-12,
    );
    close_all(
        &guide(&apg(5.0, 0.0, 0.0, 0.0, ApgForm::Diffusers), &c, &u, &mut s),
        &[0.0, 0.0],
        1e-12,
    );
}

#[test]
fn apg_with_eta_1_and_no_threshold_or_momentum_is_cfg() {
    let toy = Toy::Pixels { side: 4 };
    for prediction in [Prediction::X0, Prediction::Eps, Prediction::V] {
        for w in [0.0, 1.0, 2.5, 15.0] {
            let run = |guidance| {
                let run = GuidanceRun {
                    toy,
                    class: 2,
                    particles: 8,
                    seed: 3,
                    sampler: SamplerConfig {
                        schedule: Schedule::EDM_DEFAULT,
                        steps: 12,
                        sampler: SamplerKind::Heun,
                        prediction,
                        guidance,
                    },
                };
                let (m, mut s) = run.start().unwrap();
                s.run(&m, run.class).unwrap();
                s.x().to_vec()
            };
            let cfg = run(Guidance::Cfg { w });
            let paper = run(apg(w, 1.0, 0.0, 0.0, ApgForm::Paper));
            let scale = cfg.iter().fold(1.0f64, |a, v| a.max(v.abs()));
            for (a, b) in cfg.iter().zip(&paper) {
                assert!(
                    (a - b).abs() <= 1e-12 * scale,
                    "{prediction:?} w {w}: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn the_denoiser_is_tweedie_on_the_log_density() {
    // D(x; σ) = x + σ² ∇ₓ log p_σ(x) (Tweedie / Miyasawa), ∇ by central differences of the
    // mixture's own log density at σ, a different computation from the posterior mean.
    let mixture = Mixture::new(
        3,
        vec![0.2, -0.4, 0.1, -0.6, 0.3, 0.5, 0.7, 0.7, -0.2],
        vec![0.02, 0.05, 0.01, 0.03, 0.03, 0.03, 0.1, 0.02, 0.04],
        vec![1.0, 2.0, 0.5],
        vec![0, 0, 1],
    )
    .unwrap();
    for model in [Model::Class(0), Model::Class(1), Model::Unconditional] {
        for sigma in [0.05, 0.3, 2.0] {
            let x = [0.1, 0.2, -0.3, 0.9, -0.8, 0.4];
            let d = mixture.denoiser(model, sigma).unwrap().denoise(&x).unwrap();
            let h = 1e-5;
            for row in 0..2 {
                for j in 0..3 {
                    let mut plus = x[row * 3..row * 3 + 3].to_vec();
                    let mut minus = plus.clone();
                    plus[j] += h;
                    minus[j] -= h;
                    let lp = mixture.log_density(model, sigma, &plus).unwrap()[0];
                    let lm = mixture.log_density(model, sigma, &minus).unwrap()[0];
                    let tweedie = x[row * 3 + j] + sigma * sigma * (lp - lm) / (2.0 * h);
                    assert_close(
                        d[row * 3 + j],
                        tweedie,
                        1e-7,
                        1e-6,
                        &format!("{model:?} σ {sigma}"),
                    );
                }
            }
        }
    }
}

#[test]
fn isotropic_denoiser_matches_the_gmm_kernel_oracle() {
    let mixture = Toy::Clusters.mixture().unwrap();
    let x = [0.3, -0.2, 5.0, 5.0, -0.9, 0.1, 0.0, 0.0];
    for sigma in [0.002, 0.1, 1.0, 80.0] {
        let ours = mixture
            .denoiser(Model::Unconditional, sigma)
            .unwrap()
            .denoise(&x)
            .unwrap();
        let stds: Vec<f64> = mixture.variances().chunks(2).map(|v| v[0].sqrt()).collect();
        let oracle = gmm_denoiser(&x, 2, sigma, mixture.means(), &stds, mixture.weights()).unwrap();
        close_all(&ours, &oracle, 1e-12);
    }
}

#[test]
fn prediction_conversions_round_trip_and_match_their_definitions() {
    let x = [0.7, -2.0, 3.5];
    let d0 = [0.1, -0.5, 0.9];
    let sigma = 1.7;
    let (alpha, s_vp) = (
        1.0 / (1.0f64 + sigma * sigma).sqrt(),
        sigma / (1.0f64 + sigma * sigma).sqrt(),
    );
    for p in [Prediction::X0, Prediction::Eps, Prediction::V] {
        let mut v = d0.to_vec();
        p.from_denoised(&x, sigma, &mut v);
        for j in 0..3 {
            let eps = (x[j] - d0[j]) / sigma;
            let expected = match p {
                Prediction::X0 => d0[j],
                Prediction::Eps => eps,
                // v = α ε − σ_VP x₀ (Salimans & Ho 2022).
                Prediction::V => alpha * eps - s_vp * d0[j],
            };
            assert_close(v[j], expected, 1e-14, 1e-14, &format!("{p:?}"));
        }
        p.to_denoised(&x, sigma, &mut v);
        close_all(&v, &d0, 1e-13);
    }
}

#[test]
fn schedules_follow_their_closed_forms() {
    let edm = Schedule::EDM_DEFAULT.sigmas(3).unwrap();
    // (80^(1/7) + i/2 (0.002^(1/7) − 80^(1/7)))^7 at i = 1, computed by hand.
    let mid = ((80f64.powf(1.0 / 7.0) + 0.002f64.powf(1.0 / 7.0)) / 2.0).powi(7);
    close_all(&edm, &[80.0, mid, 0.002, 0.0], 1e-12);
    assert_eq!(Schedule::EDM_DEFAULT.sigmas(1).unwrap(), vec![80.0, 0.0]);
    let vp = Schedule::VP_DEFAULT.sigmas(2).unwrap();
    // σ(1) = √(e^{0.1 + 9.95} − 1); σ(10⁻³) = √(e^{10⁻⁴ + 9.95·10⁻⁶} − 1).
    close_all(
        &vp,
        &[
            (10.05f64.exp() - 1.0).sqrt(),
            (1e-4f64 + 9.95e-6).exp_m1().sqrt(),
            0.0,
        ],
        1e-12,
    );
    for bad in [
        Schedule::Edm {
            sigma_min: 0.0,
            sigma_max: 80.0,
            rho: 7.0,
        },
        Schedule::Edm {
            sigma_min: 1.0,
            sigma_max: 0.5,
            rho: 7.0,
        },
        Schedule::Vp {
            beta_min: 0.1,
            beta_max: 20.0,
            t_min: f64::NAN,
        },
    ] {
        assert!(bad.sigmas(10).is_err(), "{bad:?}");
    }
    assert!(matches!(
        Schedule::EDM_DEFAULT.sigmas(0),
        Err(CoreError::OutOfRange { .. })
    ));
}

fn run_of(guidance: Guidance, particles: usize) -> GuidanceRun {
    GuidanceRun {
        toy: Toy::Clusters,
        class: 0,
        particles,
        seed: 7,
        sampler: SamplerConfig {
            schedule: Schedule::EDM_DEFAULT,
            steps: 32,
            sampler: SamplerKind::Heun,
            prediction: Prediction::X0,
            guidance,
        },
    }
}

#[test]
fn cfg_oversaturates_and_apg_does_not_on_the_2d_toy() {
    // No guidance: exact samples' statistics (sampling error only).
    let plain = sweep::evaluate(&run_of(Guidance::Cfg { w: 1.0 }, 1000)).unwrap();
    let m = plain.metrics.unwrap();
    assert!(
        m.mean_error < 0.02 && (m.diversity - 1.0).abs() < 0.1,
        "{m:?}"
    );
    assert!(m.precision > 0.9 && m.recall > 0.9, "{m:?}");
    let cfg = sweep::evaluate(&run_of(Guidance::Cfg { w: 15.0 }, 1000))
        .unwrap()
        .metrics
        .unwrap();
    let apg = sweep::evaluate(&run_of(apg(15.0, 0.0, 15.0, -0.5, ApgForm::Paper), 1000))
        .unwrap()
        .metrics
        .unwrap();
    assert!(cfg.saturation_fraction > 0.05, "{cfg:?}");
    assert!(cfg.diversity < 0.2 && cfg.recall < 0.05, "{cfg:?}");
    assert_eq!(apg.saturation_fraction, 0.0, "{apg:?}");
    assert!(
        apg.recall > 10.0 * cfg.recall && apg.mean_error < cfg.mean_error / 2.0,
        "{apg:?}"
    );
}

#[test]
fn extreme_momentum_is_reported_unstable_not_nan() {
    let run = run_of(apg(30.0, 1.0, 0.0, -1.5, ApgForm::Paper), 50);
    let point = sweep::evaluate(&run).unwrap();
    match point.outcome {
        Outcome::Unstable { max_abs, .. } => assert!(max_abs > UNSTABLE_LIMIT),
        other => panic!("expected an unstable run, got {other:?}"),
    }
    assert!(point.metrics.is_none());
    // A threshold keeps the same momentum bounded.
    let bounded = sweep::evaluate(&run_of(apg(30.0, 1.0, 1.0, -1.5, ApgForm::Paper), 50)).unwrap();
    assert_eq!(bounded.outcome, Outcome::Finished);
}

#[test]
fn bad_settings_name_their_field() {
    let base = run_of(Guidance::Cfg { w: 2.0 }, 10);
    let field = |run: GuidanceRun| run.check().unwrap_err().field;
    let with = |g| sweep::with_guidance(&base, g);
    assert_eq!(
        field(with(Guidance::Cfg { w: f64::NAN })),
        GuidanceField::Scale
    );
    assert_eq!(
        field(with(Guidance::Cfg { w: 101.0 })),
        GuidanceField::Scale
    );
    assert_eq!(
        field(with(apg(2.0, 1.5, 0.0, 0.0, ApgForm::Paper))),
        GuidanceField::Eta
    );
    assert_eq!(
        field(with(apg(2.0, 0.0, -1.0, 0.0, ApgForm::Paper))),
        GuidanceField::Threshold
    );
    assert_eq!(
        field(with(apg(2.0, 0.0, 0.0, 1.0, ApgForm::Paper))),
        GuidanceField::Momentum
    );
    let mut r = base;
    r.sampler.steps = 0;
    assert_eq!(field(r), GuidanceField::Steps);
    r = base;
    r.particles = MAX_PARTICLES + 1;
    assert_eq!(field(r), GuidanceField::Particles);
    r = base;
    r.toy = Toy::Pixels { side: 32 };
    r.particles = 1000; // 3·32²·1000 > 2²¹ values
    assert_eq!(field(r), GuidanceField::Particles);
    r.toy = Toy::Pixels { side: 33 };
    assert_eq!(field(r), GuidanceField::Side);
    r = base;
    r.class = 3;
    assert_eq!(field(r), GuidanceField::Class);
    // Mixtures.
    assert!(matches!(
        Mixture::new(2, vec![], vec![], vec![], vec![]),
        Err(CoreError::EmptyInput { .. })
    ));
    assert!(matches!(
        Mixture::new(1, vec![0.0], vec![0.0], vec![1.0], vec![0]),
        Err(CoreError::OutOfRange { .. })
    ));
    assert!(matches!(
        Mixture::new(1, vec![0.0], vec![1.0], vec![-1.0], vec![0]),
        Err(CoreError::OutOfRange { .. })
    ));
}
