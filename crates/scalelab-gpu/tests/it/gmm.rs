//! `gmm_denoiser` vs the f64 CPU oracle `scalelab_core::ops::gmm::gmm_denoiser`, on seeded inputs
//! (the oracle runs on the f32-rounded input). The launcher pre-fills the output with NaN; we
//! assert none remains.
//!
//! Tolerance per element, from the kernel docs with f32 unit roundoff u = 2⁻²⁴:
//! |Δ| ≤ 2u (d + 8)(1 + max_k E_k)(1 + S), `E_k = |c_k| + ‖x − μ_k‖²/(2(s_k² + σ²))` (the size of
//! log w_k, whose f32 relative error ≲ (d + 4)u moves the weights), `S = max(|x|, |μ|)` (the
//! weights mix component means at most 2S apart).

use scalelab_core::ops::gmm as oracle;
use scalelab_gpu::{to_f32, to_f64, xorshift_uniform, GpuContext, GpuError, MAX_GMM_COMPONENTS};

use crate::gpu::context;

const U: f64 = 1.0 / (1u64 << 24) as f64;

fn uniform(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f32> {
    to_f32(&xorshift_uniform(seed, n, lo, hi))
}

struct Mixture {
    sigma: f32,
    means: Vec<f32>,
    stds: Vec<f32>,
    weights: Vec<f32>,
}

fn mixture(seed: u64, d: usize, k: usize, sigma: f32) -> Mixture {
    Mixture {
        sigma,
        means: uniform(seed, k * d, -2.0, 2.0),
        stds: uniform(seed + 1, k, 0.2, 1.5),
        // Unnormalised on purpose.
        weights: uniform(seed + 2, k, 0.1, 2.0),
    }
}

fn run(ctx: &GpuContext, x: &[f32], d: usize, m: &Mixture) -> Result<Vec<f32>, GpuError> {
    pollster::block_on(scalelab_gpu::gmm_denoiser(
        ctx, x, d, m.sigma, &m.means, &m.stds, &m.weights,
    ))
}

/// The tolerance of every element of one sample (see the module docs).
fn tolerance(row: &[f64], d: usize, m: &Mixture) -> f64 {
    let sigma2 = f64::from(m.sigma).powi(2);
    let means = to_f64(&m.means);
    let mut e_max: f64 = 0.0;
    for ((mu, &s), &pi) in means.chunks_exact(d).zip(&m.stds).zip(&m.weights) {
        let var = f64::from(s).powi(2) + sigma2;
        let c = f64::from(pi).ln() - d as f64 / 2.0 * (2.0 * std::f64::consts::PI * var).ln();
        let dist2: f64 = row.iter().zip(mu).map(|(a, b)| (a - b) * (a - b)).sum();
        e_max = e_max.max(c.abs() + dist2 / (2.0 * var));
    }
    let s = row
        .iter()
        .chain(&means)
        .fold(0.0f64, |acc, v| acc.max(v.abs()));
    2.0 * U * (d as f64 + 8.0) * (1.0 + e_max) * (1.0 + s)
}

fn check(ctx: &GpuContext, batch: usize, d: usize, k: usize, sigma: f32, seed: u64) {
    let what = format!("gmm_denoiser batch = {batch}, d = {d}, K = {k}, σ = {sigma}");
    let m = mixture(seed, d, k, sigma);
    let x = uniform(seed + 3, batch * d, -3.0, 3.0);
    let gpu = run(ctx, &x, d, &m).unwrap_or_else(|err| panic!("{what}: {err}"));
    let x64 = to_f64(&x);
    let cpu = oracle::gmm_denoiser(
        &x64,
        d,
        f64::from(m.sigma),
        &to_f64(&m.means),
        &to_f64(&m.stds),
        &to_f64(&m.weights),
    )
    .unwrap();
    assert_eq!(gpu.len(), batch * d, "{what}: length");
    if let Some(i) = gpu.iter().position(|v| v.is_nan()) {
        panic!("{what}: element {i} left NaN (not written)");
    }
    for (r, row) in x64.chunks_exact(d).enumerate() {
        let tol = tolerance(row, d, &m);
        for j in 0..d {
            let i = r * d + j;
            let diff = (f64::from(gpu[i]) - cpu[i]).abs();
            assert!(
                diff <= tol,
                "{what} [{r}, {j}]: gpu {:e} vs cpu {:e} (|diff| {diff:e} > {tol:e})",
                gpu[i],
                cpu[i]
            );
        }
    }
}

#[test]
fn gmm_denoiser_matches_oracle() {
    let Some(ctx) = context("gmm_denoiser_matches_oracle") else {
        return;
    };
    let sigmas = [0.05, 0.5, 2.0];
    let mut case = 0;
    for batch in [0, 1, 63, 64, 65, 10_000] {
        for d in [1, 2, 16] {
            for k in [1, 3, 16] {
                check(ctx, batch, d, k, sigmas[case % 3], 1000 + case as u64);
                case += 1;
            }
        }
    }
    // The component cap itself.
    check(ctx, 65, 2, MAX_GMM_COMPONENTS, 0.5, 7);
}

/// Hand values (see the oracle tests): K = 1 is the Gaussian closed form; ±μ at x_t = 0 gives 0;
/// the 1-D pair π = (1, 3), μ = (−1, 2), s = 1, σ = 1 at x_t = 0.5 gives 0.875; a sample far
/// from both means keeps finite weights (max-shift) and takes the nearer component.
#[test]
fn gmm_denoiser_hand_values() {
    let Some(ctx) = context("gmm_denoiser_hand_values") else {
        return;
    };
    let call = |x: &[f32], d, sigma, means: &[f32], stds: &[f32], weights: &[f32]| {
        pollster::block_on(scalelab_gpu::gmm_denoiser(
            ctx, x, d, sigma, means, stds, weights,
        ))
        .unwrap()
    };
    let close = |got: &[f32], want: &[f64], tol: f64| {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((f64::from(*g) - w).abs() <= tol, "{got:?} vs {want:?}");
        }
    };
    // (0.25·x + 4·μ)/4.25
    let got = call(
        &[0.0, 4.0, 1.5, -10.0],
        2,
        2.0,
        &[1.0, -3.0],
        &[0.5],
        &[3.7],
    );
    let want: Vec<f64> = [0.0, 4.0, 1.5, -10.0]
        .iter()
        .enumerate()
        .map(|(i, &x)| (0.25 * x + 4.0 * [1.0, -3.0][i % 2]) / 4.25)
        .collect();
    close(&got, &want, 1e-6);
    let got = call(
        &[0.0; 3],
        3,
        0.7,
        &[1.5, -0.5, 2.0, -1.5, 0.5, -2.0],
        &[0.3, 0.3],
        &[2.0, 2.0],
    );
    close(&got, &[0.0; 3], 1e-6);
    let got = call(&[0.5], 1, 1.0, &[-1.0, 2.0], &[1.0, 1.0], &[1.0, 3.0]);
    close(&got, &[0.875], 1e-6);
    let got = call(&[1e3], 1, 0.1, &[-1.0, 1.0], &[0.1, 0.1], &[1.0, 1.0]);
    close(&got, &[(1e3 + 1.0) / 2.0], 1e-3);
}

#[test]
fn gmm_denoiser_errors() {
    let Some(ctx) = context("gmm_denoiser_errors") else {
        return;
    };
    let call = |x: &[f32], d, sigma, means: &[f32], stds: &[f32], weights: &[f32]| {
        pollster::block_on(scalelab_gpu::gmm_denoiser(
            ctx, x, d, sigma, means, stds, weights,
        ))
    };
    let what = |r: Result<Vec<f32>, GpuError>| match r {
        Err(GpuError::InvalidInput { what, .. }) => what,
        other => panic!("{other:?}"),
    };
    let (m2, one, two) = ([0.0f32, 1.0], [1.0f32], [1.0f32, 1.0]);
    assert!(call(&[], 1, 1.0, &m2, &two, &two).unwrap().is_empty());
    assert_eq!(what(call(&[1.0], 0, 1.0, &m2, &two, &two)), "d");
    assert_eq!(what(call(&[1.0, 2.0, 3.0], 2, 1.0, &m2, &one, &one)), "x");
    assert_eq!(what(call(&[1.0], 1, 1.0, &[], &[], &[])), "stds");
    assert_eq!(what(call(&[1.0], 1, 1.0, &m2, &two, &one)), "weights");
    assert_eq!(what(call(&[1.0], 1, 1.0, &m2, &one, &one)), "means");
    assert_eq!(what(call(&[1.0], 1, 0.0, &m2, &two, &two)), "sigma");
    assert_eq!(what(call(&[1.0], 1, -1.0, &m2, &two, &two)), "sigma");
    assert_eq!(what(call(&[1.0], 1, f32::NAN, &m2, &two, &two)), "sigma");
    assert_eq!(what(call(&[1.0], 1, 1.0, &m2, &[1.0, 0.0], &two)), "stds");
    assert_eq!(what(call(&[1.0], 1, 1.0, &m2, &[1.0, -2.0], &two)), "stds");
    assert_eq!(
        what(call(&[1.0], 1, 1.0, &m2, &two, &[1.0, -0.5])),
        "weights"
    );
    assert_eq!(
        what(call(&[1.0], 1, 1.0, &m2, &two, &[0.0, 1.0])),
        "weights"
    );
    assert_eq!(what(call(&[f32::INFINITY], 1, 1.0, &m2, &two, &two)), "x");
    assert_eq!(
        what(call(&[1.0], 1, 1.0, &[0.0, f32::NAN], &two, &two)),
        "means"
    );
    // 1/(2(s² + σ²)) overflows f32; ‖x − μ‖² overflows f32.
    assert_eq!(
        what(call(&[0.0], 1, 1e-20, &m2, &[1e-20, 1.0], &two)),
        "sigma"
    );
    assert_eq!(what(call(&[1e30], 1, 1.0, &m2, &two, &two)), "x");
    // More components than the cap: TooLarge, also for an empty batch, before any GPU work.
    let k = MAX_GMM_COMPONENTS + 1;
    let ones = vec![1.0f32; k];
    for x in [&[0.5f32][..], &[]] {
        match call(x, 1, 1.0, &ones, &ones, &ones) {
            Err(GpuError::TooLarge {
                what: "components",
                requested,
                limit,
            }) => {
                assert_eq!(requested, k as u64);
                assert_eq!(limit, MAX_GMM_COMPONENTS as u64);
            }
            other => panic!("{other:?}"),
        }
    }
}
