//! `adamw_step` and `orthogonal_grad` (and their composition, ⊥AdamW) vs the f64 CPU oracles in
//! `scalelab_core::ops::optim`, on seeded inputs (the oracle runs on the f32-rounded input). The
//! launchers pre-fill the output with NaN; we assert none remains.
//!
//! Tolerances, from the condition of each formula with f32 unit roundoff u = 6e-8 and a margin:
//! - m' = β₁m + (1−β₁)g: |Δ| ≤ 1e-6 (β₁|m| + (1−β₁)|g|); v' likewise with v and g².
//! - p' = p(1−lr·λ) − lr·m̂/(√v̂+ε): |Δ| ≤ 1e-6 (|p| + lr·|m̂/(√v̂+ε)|) + 1e-9.
//! - g⊥: |Δ| ≤ 1e-5 (1 + |g⊥|)·κ (κ² with rescale), κ = ‖g‖/‖g⊥‖ per tensor (the f32 dot products
//!   have relative error ≲ 1e-6 at the sizes used; the cancellation in g − proj·w multiplies it by
//!   κ). Tensors with κ > 1e3 (e.g. every 1-element tensor) only get |out| ≤ ‖g‖.

use scalelab_core::ops::optim::{self as oracle, AdamW};
use scalelab_gpu::{to_f32, to_f64, xorshift_uniform, GpuContext, GpuError};

use crate::gpu::context;

fn uniform(seed: u64, n: usize, lo: f64, hi: f64) -> Vec<f32> {
    to_f32(&xorshift_uniform(seed, n, lo, hi))
}

fn no_nan(what: &str, xs: &[f32]) {
    if let Some(i) = xs.iter().position(|x| x.is_nan()) {
        panic!("{what}: element {i} left NaN (not written)");
    }
}

fn check_adamw(ctx: &GpuContext, n: usize, step: u64, seed: u64) {
    let cfg = AdamW {
        lr: 1e-2,
        beta1: 0.9,
        beta2: 0.98,
        eps: 1e-8,
        weight_decay: 1.0,
    };
    let p = uniform(seed, n, -1.0, 1.0);
    let g = uniform(seed + 1, n, -1.0, 1.0);
    let m = uniform(seed + 2, n, -0.1, 0.1);
    let v = uniform(seed + 3, n, 0.0, 0.01);
    let what = format!("adamw_step n = {n}, t = {step}");
    let gpu = pollster::block_on(scalelab_gpu::adamw_step(ctx, &p, &g, &m, &v, step, &cfg))
        .unwrap_or_else(|err| panic!("{what}: {err}"));
    let (p64, g64, m64, v64) = (to_f64(&p), to_f64(&g), to_f64(&m), to_f64(&v));
    let cpu = oracle::adamw_step(&p64, &g64, &m64, &v64, step, &cfg).unwrap();
    for (name, out) in [("param", &gpu.param), ("m", &gpu.m), ("v", &gpu.v)] {
        assert_eq!(out.len(), n, "{what} {name}: length");
        no_nan(&format!("{what} {name}"), out);
    }
    for i in 0..n {
        let tol_m = 1e-6 * (cfg.beta1 * m64[i].abs() + (1.0 - cfg.beta1) * g64[i].abs());
        let tol_v = 1e-6 * (cfg.beta2 * v64[i] + (1.0 - cfg.beta2) * g64[i] * g64[i]);
        let update = p64[i] * (1.0 - cfg.lr * cfg.weight_decay) - cpu.param[i];
        let tol_p = 1e-6 * (p64[i].abs() + update.abs()) + 1e-9;
        for (name, got, want, tol) in [
            ("m", gpu.m[i], cpu.m[i], tol_m),
            ("v", gpu.v[i], cpu.v[i], tol_v),
            ("param", gpu.param[i], cpu.param[i], tol_p),
        ] {
            let diff = (f64::from(got) - want).abs();
            assert!(
                diff <= tol,
                "{what} {name}[{i}]: gpu {got:e} vs cpu {want:e} (|diff| {diff:e} > {tol:e})"
            );
        }
    }
}

#[test]
fn adamw_matches_oracle() {
    let Some(ctx) = context("adamw_matches_oracle") else {
        return;
    };
    for (n, step) in [(1, 1), (63, 2), (64, 10), (65, 1000), (257, 3)] {
        check_adamw(ctx, n, step, n as u64);
    }
    // Large: more than one dispatch row of 256-wide workgroups.
    check_adamw(ctx, 300_000, 7, 300_000);
}

fn check_orthogonal(ctx: &GpuContext, lengths: &[usize], seed: u64) {
    let n: usize = lengths.iter().sum();
    let w = uniform(seed, n, -1.0, 1.0);
    let g = uniform(seed + 1, n, -1.0, 1.0);
    let (w64, g64) = (to_f64(&w), to_f64(&g));
    // Per element: κ = ‖g‖/‖g⊥‖ of its tensor (f64, unrescaled). The cancellation in g − proj·w
    // grows the relative error of g⊥ like κ, and the rescale multiplies it by κ again.
    let plain = oracle::orthogonal_grad(&w64, &g64, lengths, false).unwrap();
    let mut kappa = Vec::with_capacity(n);
    let mut g_norm = Vec::with_capacity(n);
    let mut start = 0;
    for &len in lengths {
        let norm = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>().sqrt();
        let k = norm(&g64[start..start + len]) / norm(&plain[start..start + len]);
        kappa.extend(std::iter::repeat_n(k, len));
        g_norm.extend(std::iter::repeat_n(norm(&g64[start..start + len]), len));
        start += len;
    }
    for rescale in [true, false] {
        let what = format!(
            "orthogonal_grad ({} tensors, n = {n}) rescale = {rescale}",
            lengths.len()
        );
        let gpu = pollster::block_on(scalelab_gpu::orthogonal_grad(ctx, &w, &g, lengths, rescale))
            .unwrap_or_else(|err| panic!("{what}: {err}"));
        let cpu = oracle::orthogonal_grad(&w64, &g64, lengths, rescale).unwrap();
        assert_eq!(gpu.len(), n, "{what}: length");
        no_nan(&what, &gpu);
        for (i, (&got, &want)) in gpu.iter().zip(&cpu).enumerate() {
            // A 1-element tensor is always parallel to its weight (κ = ∞): g⊥ is round-off,
            // which the rescale blows up to |g| in f32 while f64 may give exactly 0 (the
            // reference quirk, science.md §1.2). There we only check |out| ≤ ‖g‖.
            if !kappa[i].is_finite() || kappa[i] > 1e3 {
                assert!(
                    f64::from(got.abs()) <= g_norm[i] * (1.0 + 1e-3),
                    "{what} [{i}]: {got}"
                );
                continue;
            }
            let cond = if rescale {
                kappa[i] * kappa[i]
            } else {
                kappa[i]
            };
            let tol = 1e-5 * (1.0 + want.abs()) * cond;
            let diff = (f64::from(got) - want).abs();
            assert!(
                diff <= tol,
                "{what} [{i}]: gpu {got:e} vs cpu {want:e}, κ = {}",
                kappa[i]
            );
        }
    }
}

#[test]
fn orthogonal_grad_matches_oracle() {
    let Some(ctx) = context("orthogonal_grad_matches_oracle") else {
        return;
    };
    check_orthogonal(ctx, &[1], 1);
    check_orthogonal(ctx, &[63], 63);
    check_orthogonal(ctx, &[64], 64);
    check_orthogonal(ctx, &[65], 65);
    // Several tensors in one dispatch, an empty one among them, and a large one.
    check_orthogonal(ctx, &[0, 1, 63, 64, 65, 0, 257, 3], 7);
    check_orthogonal(ctx, &[100_000, 5], 100_000);
    // Many small tensors: one workgroup each.
    check_orthogonal(ctx, &[2; 3000], 3000);
}

/// science.md §7 item 5, in f32: w=[1,0], g=[1,1] → [0, √2]; w=[3,4], g=[1,0] → [0.8, −0.6];
/// w=[3,4], g=[3,4] → [0, 0]; without rescale [0, 1] and [0.64, −0.48]. All three tensors go in
/// one call (the projection is per tensor).
#[test]
fn orthogonal_grad_science_values() {
    let Some(ctx) = context("orthogonal_grad_science_values") else {
        return;
    };
    let w = [1.0, 0.0, 3.0, 4.0, 3.0, 4.0];
    let g = [1.0, 1.0, 1.0, 0.0, 3.0, 4.0];
    let run = |rescale| {
        pollster::block_on(scalelab_gpu::orthogonal_grad(
            ctx,
            &w,
            &g,
            &[2, 2, 2],
            rescale,
        ))
        .unwrap()
    };
    let want = [0.0, std::f64::consts::SQRT_2, 0.8, -0.6, 0.0, 0.0];
    let got = run(true);
    for (a, b) in got.iter().zip(want) {
        assert!((f64::from(*a) - b).abs() < 1e-6, "{got:?}");
    }
    let want = [0.0, 1.0, 0.64, -0.48, 0.0, 0.0];
    let got = run(false);
    for (a, b) in got.iter().zip(want) {
        assert!((f64::from(*a) - b).abs() < 1e-6, "{got:?}");
    }
}

/// ⊥AdamW = orthogonal_grad, then adamw_step, vs `oracle::orthogonal_adamw_step`; and AdamW's
/// first two steps by hand (see `scalelab_core::ops::optim` tests): p = 1 → 0.899000002 →
/// 0.9347113542385653 with g = 0.5, −1.
#[test]
fn orthogonal_adamw_and_two_hand_steps() {
    let Some(ctx) = context("orthogonal_adamw_and_two_hand_steps") else {
        return;
    };
    let cfg = AdamW {
        lr: 0.1,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.01,
    };
    let s1 = pollster::block_on(scalelab_gpu::adamw_step(
        ctx,
        &[1.0],
        &[0.5],
        &[0.0],
        &[0.0],
        1,
        &cfg,
    ))
    .unwrap();
    assert!(
        (f64::from(s1.param[0]) - 0.899000002).abs() < 1e-6,
        "{s1:?}"
    );
    let s2 = pollster::block_on(scalelab_gpu::adamw_step(
        ctx,
        &s1.param,
        &[-1.0],
        &s1.m,
        &s1.v,
        2,
        &cfg,
    ))
    .unwrap();
    assert!(
        (f64::from(s2.param[0]) - 0.9347113542385653).abs() < 1e-6,
        "{s2:?}"
    );

    let lengths = [40, 90];
    let p = uniform(11, 130, -1.0, 1.0);
    let g = uniform(12, 130, -1.0, 1.0);
    let zeros = vec![0.0f32; 130];
    let g_orth =
        pollster::block_on(scalelab_gpu::orthogonal_grad(ctx, &p, &g, &lengths, true)).unwrap();
    let gpu = pollster::block_on(scalelab_gpu::adamw_step(
        ctx, &p, &g_orth, &zeros, &zeros, 5, &cfg,
    ))
    .unwrap();
    let z64 = vec![0.0; 130];
    let cpu = oracle::orthogonal_adamw_step(
        &to_f64(&p),
        &to_f64(&g),
        &z64,
        &z64,
        &lengths,
        true,
        5,
        &cfg,
    )
    .unwrap();
    for (a, b) in gpu.param.iter().zip(&cpu.param) {
        assert!((f64::from(*a) - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn optimizer_errors_and_empty_input() {
    let Some(ctx) = context("optimizer_errors_and_empty_input") else {
        return;
    };
    let cfg = AdamW::default();
    let adamw = |p: &[f32], g: &[f32], m: &[f32], v: &[f32], step, cfg: &AdamW| {
        pollster::block_on(scalelab_gpu::adamw_step(ctx, p, g, m, v, step, cfg))
    };
    let empty = adamw(&[], &[], &[], &[], 1, &cfg).unwrap();
    assert!(empty.param.is_empty() && empty.m.is_empty() && empty.v.is_empty());
    let what = |r: Result<scalelab_gpu::AdamWOutput, GpuError>| match r {
        Err(GpuError::InvalidInput { what, .. }) => what,
        other => panic!("{other:?}"),
    };
    let one = [1.0f32];
    assert_eq!(what(adamw(&one, &one, &one, &one, 0, &cfg)), "adamw");
    assert_eq!(
        what(adamw(&one, &one, &one, &one, 1, &AdamW { eps: 0.0, ..cfg })),
        "adamw"
    );
    assert_eq!(what(adamw(&one, &[], &one, &one, 1, &cfg)), "grad");
    assert_eq!(what(adamw(&one, &one, &one, &[-1.0], 1, &cfg)), "v");
    assert_eq!(what(adamw(&[f32::NAN], &one, &one, &one, 1, &cfg)), "param");

    let og = |w: &[f32], g: &[f32], lengths: &[usize]| {
        pollster::block_on(scalelab_gpu::orthogonal_grad(ctx, w, g, lengths, true))
    };
    assert!(og(&[], &[], &[]).unwrap().is_empty());
    assert!(og(&[], &[], &[0, 0]).unwrap().is_empty());
    let code = |r: Result<Vec<f32>, GpuError>| match r {
        Err(GpuError::InvalidInput { what, .. }) => what,
        other => panic!("{other:?}"),
    };
    assert_eq!(code(og(&[1.0, 2.0], &[1.0], &[2])), "g");
    assert_eq!(code(og(&[1.0, 2.0], &[1.0, 2.0], &[1])), "lengths");
    assert_eq!(
        code(og(&[1.0, 2.0], &[1.0, 2.0], &[usize::MAX, 3])),
        "lengths"
    );
    assert_eq!(code(og(&[1.0, 2.0], &[1.0, f32::INFINITY], &[2])), "g");
}
