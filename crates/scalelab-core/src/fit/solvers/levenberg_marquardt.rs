//! Levenberg–Marquardt in the form of MINPACK's `lmder` (Moré, "The Levenberg–Marquardt algorithm:
//! implementation and theory", 1978; Moré, Garbow & Hillstrom, MINPACK-1, 1980), ported to Rust.
//!
//! Each iteration solves the trust-region subproblem
//! `min ½‖r̃ + J̃ p‖²  subject to ‖D p‖ ≤ Δ`
//! with `D = diag(d_j)`, `d_j` = the largest Euclidean norm column `j` of `J̃` has had (MINPACK `mode = 1`),
//! by QR with column pivoting of `J̃` (`qrfac`), Moré's safeguarded Newton iteration on the
//! Levenberg parameter `λ` (`lmpar`) and Givens updates for `(J̃ᵀJ̃ + λ D²) p = −J̃ᵀ r̃` (`qrsolv`). The
//! step is accepted when the actual over predicted cost reduction `ρ ≥ 10⁻⁴`; `Δ` shrinks when
//! `ρ ≤ ¼` and grows when `ρ ≥ ¾`.
//!
//! Additions to `lmder`:
//! - robust losses: `r̃, J̃` are the Triggs-corrected residuals and Jacobian of
//!   [`crate::fit::losses::robust_row_scaling`], and the cost in the acceptance test is
//!   `½ Σ ρ_c(r_i²)` (for L2, `r̃ = r`, `J̃ = J` and this is exactly `lmder`);
//! - bounds, by an active set plus projection: a parameter on a bound whose cost gradient
//!   `g = J̃ᵀ r̃` points outwards is held fixed for the iteration (its column of `J̃` is zeroed, so the
//!   subproblem gives it a zero step and the gradient test ignores it); the trial point is then
//!   clipped into the box and the predicted reduction recomputed for the clipped step
//!   `−gᵀp − ½‖J̃p‖²`. At an interior solution this is plain `lmder`;
//! - a trial point where the model is undefined (non-finite, or `f ≤ 0` in log space) counts as a
//!   failed step (`Δ ← Δ/10`), so the solver steps around holes in the model's domain;
//! - Gauss–Newton polishing: when the cost or step test fires at the rounding level (predicted
//!   relative reduction `≤ 100ε`, or `Δ ≤ xtol‖Dθ‖` after rejected steps), the cost can no longer tell
//!   better parameters from worse, so acceptance by cost ratio stalls up to ~√ε short of the
//!   minimiser. Up to 50 plain Gauss–Newton steps `p = −J̃⁺r̃` follow, each kept only while the next
//!   one contracts (`‖D p₊‖ ≤ 0.9 ‖D p‖`: the fixed-point iteration is converging) and the cost rises
//!   by at most `10⁻⁸` relative (a gross-error guard). On the NIST StRD problems this lifts the
//!   parameters' LRE from 6.4–9 to ≈ 10–11 for a few extra evaluations; the termination reason is
//!   the one that started the polish.
//!
//! Stopping rules (first that holds; `ε` = machine epsilon):
//! - `GradientConverged`: `max_j |J_jᵀ v| / (‖J_j‖ ‖v‖) ≤ gtol` (or `≤ ε`), `v = ρ_c'(r²) ⊙ r` (`= r` for L2);
//! - `CostConverged`: actual and predicted relative cost reductions `≤ ftol` (or `≤ ε`), with `ρ ≤ 2`;
//! - `StepConverged`: `Δ ≤ xtol · ‖D θ‖` (or `≤ ε ‖D θ‖`); reported as `NumericalFailure` instead when the
//!   last trial point was undefined;
//! - `MaxIterations`: `max_iterations` trial steps taken (one iteration = one trial step, accepted
//!   or not = one evaluation of residuals and Jacobian);
//! - `Cancelled`: the caller asked to stop after an accepted step ([`Control::Cancel`]).
//!
//! A [`Run`] can also be suspended after any accepted step and resumed later with identical
//! arithmetic (the worker's slices).

// A line-by-line port of MINPACK's index-based loops reads best (and is easiest to check against the
// Fortran) with explicit indices.
#![allow(clippy::needless_range_loop)]

use super::{Control, Progress};
use crate::fit::losses;
use crate::fit::{RobustLoss, Termination};

const P1: f64 = 0.1;
const P5: f64 = 0.5;
const P25: f64 = 0.25;
const P75: f64 = 0.75;
const P0001: f64 = 1.0e-4;
const P001: f64 = 1.0e-3;
const P05: f64 = 0.05;
/// Initial trust radius `Δ₀ = FACTOR · ‖D θ₀‖` (MINPACK's recommended `factor = 100`).
const FACTOR: f64 = 100.0;
const EPS: f64 = f64::EPSILON;

/// Stopping rules, loss and bounds of a [`Run`].
pub(crate) struct Settings<'a> {
    pub loss: RobustLoss,
    pub lower: &'a [f64],
    pub upper: &'a [f64],
    pub max_iterations: usize,
    pub ftol: f64,
    pub xtol: f64,
    pub gtol: f64,
}

/// What a [`Run`] found.
pub(crate) struct Outcome {
    /// Parameters at the end.
    pub x: Vec<f64>,
    /// Raw (weighted, not robust-scaled) residuals at `x`.
    pub residuals: Vec<f64>,
    /// Raw residual Jacobian at `x`, column-major `m × n`.
    pub jacobian: Vec<f64>,
    /// `½ Σ ρ_c(r_i²)` at `x`.
    pub cost: f64,
    pub iterations: usize,
    pub evaluations: usize,
    pub termination: Termination,
}

/// Residuals `r(θ)` (length `m`) and their Jacobian (column-major `m × n`) at `θ`; `false` where the
/// model is undefined.
pub(crate) type Evaluate<'e> = dyn FnMut(&[f64], &mut [f64], &mut [f64]) -> bool + 'e;

/// Euclidean norm, scaled against overflow and underflow (NaN propagates).
fn enorm(v: &[f64]) -> f64 {
    let mut amax = 0.0_f64;
    for &x in v {
        let a = x.abs();
        if a.is_nan() {
            return f64::NAN;
        }
        amax = amax.max(a);
    }
    if amax == 0.0 || !amax.is_finite() {
        return amax;
    }
    if amax > 1e-100 && amax < 1e100 {
        return v.iter().map(|x| x * x).sum::<f64>().sqrt();
    }
    let s: f64 = v
        .iter()
        .map(|x| {
            let t = x / amax;
            t * t
        })
        .sum();
    amax * s.sqrt()
}

/// QR with column pivoting of the column-major `m × n` matrix `a` (`m ≥ n`), MINPACK `qrfac`:
/// `A P = Q R`. On return the strict upper triangle of `a` holds `R`'s, `rdiag` its diagonal, the
/// lower trapezoid the Householder vectors, `ipvt` the permutation (column `j` of `A P` is column
/// `ipvt[j]` of `A`) and `acnorm` the column norms of the input.
fn qrfac(
    m: usize,
    n: usize,
    a: &mut [f64],
    ipvt: &mut [usize],
    rdiag: &mut [f64],
    acnorm: &mut [f64],
    wa: &mut [f64],
) {
    for j in 0..n {
        acnorm[j] = enorm(&a[j * m..(j + 1) * m]);
        rdiag[j] = acnorm[j];
        wa[j] = rdiag[j];
        ipvt[j] = j;
    }
    for j in 0..m.min(n) {
        let mut kmax = j;
        for k in j..n {
            if rdiag[k] > rdiag[kmax] {
                kmax = k;
            }
        }
        if kmax != j {
            for i in 0..m {
                a.swap(i + j * m, i + kmax * m);
            }
            rdiag[kmax] = rdiag[j];
            wa[kmax] = wa[j];
            ipvt.swap(j, kmax);
        }
        let mut ajnorm = enorm(&a[j + j * m..(j + 1) * m]);
        if ajnorm != 0.0 {
            if a[j + j * m] < 0.0 {
                ajnorm = -ajnorm;
            }
            for i in j..m {
                a[i + j * m] /= ajnorm;
            }
            a[j + j * m] += 1.0;
            for k in j + 1..n {
                let mut sum = 0.0;
                for i in j..m {
                    sum += a[i + j * m] * a[i + k * m];
                }
                let temp = sum / a[j + j * m];
                for i in j..m {
                    a[i + k * m] -= temp * a[i + j * m];
                }
                if rdiag[k] != 0.0 {
                    let temp = a[j + k * m] / rdiag[k];
                    rdiag[k] *= (1.0 - temp * temp).max(0.0).sqrt();
                    let ratio = rdiag[k] / wa[k];
                    if P05 * ratio * ratio <= EPS {
                        rdiag[k] = enorm(&a[j + 1 + k * m..(k + 1) * m]);
                        wa[k] = rdiag[k];
                    }
                }
            }
        }
        rdiag[j] = -ajnorm;
    }
}

/// MINPACK `qrsolv`: given `A P = Q R` (upper triangle of `r`, leading dimension `ldr`), `diag = D`
/// and `qtb = Qᵀ b`, solves `min ‖(A; D) x − (b; 0)‖` by Givens rotations. On return the strict lower
/// triangle of `r` holds `Sᵀ` and `sdiag` the diagonal of `S`, where `Pᵀ(AᵀA + D D)P = SᵀS`.
#[allow(clippy::too_many_arguments)]
fn qrsolv(
    n: usize,
    r: &mut [f64],
    ldr: usize,
    ipvt: &[usize],
    diag: &[f64],
    qtb: &[f64],
    x: &mut [f64],
    sdiag: &mut [f64],
    wa: &mut [f64],
) {
    for j in 0..n {
        for i in j..n {
            r[i + j * ldr] = r[j + i * ldr];
        }
        x[j] = r[j + j * ldr];
        wa[j] = qtb[j];
    }
    for j in 0..n {
        let l = ipvt[j];
        if diag[l] != 0.0 {
            for s in sdiag.iter_mut().take(n).skip(j) {
                *s = 0.0;
            }
            sdiag[j] = diag[l];
            let mut qtbpj = 0.0;
            for k in j..n {
                if sdiag[k] == 0.0 {
                    continue;
                }
                let rkk = r[k + k * ldr];
                let (sin, cos) = if rkk.abs() < sdiag[k].abs() {
                    let cotan = rkk / sdiag[k];
                    let sin = P5 / (P25 + P25 * cotan * cotan).sqrt();
                    (sin, sin * cotan)
                } else {
                    let tan = sdiag[k] / rkk;
                    let cos = P5 / (P25 + P25 * tan * tan).sqrt();
                    (cos * tan, cos)
                };
                r[k + k * ldr] = cos * rkk + sin * sdiag[k];
                let temp = cos * wa[k] + sin * qtbpj;
                qtbpj = -sin * wa[k] + cos * qtbpj;
                wa[k] = temp;
                for i in k + 1..n {
                    let temp = cos * r[i + k * ldr] + sin * sdiag[i];
                    sdiag[i] = -sin * r[i + k * ldr] + cos * sdiag[i];
                    r[i + k * ldr] = temp;
                }
            }
        }
        sdiag[j] = r[j + j * ldr];
        r[j + j * ldr] = x[j];
    }
    let mut nsing = n;
    for j in 0..n {
        if sdiag[j] == 0.0 && nsing == n {
            nsing = j;
        }
        if nsing < n {
            wa[j] = 0.0;
        }
    }
    for j in (0..nsing).rev() {
        let mut sum = 0.0;
        for i in j + 1..nsing {
            sum += r[i + j * ldr] * wa[i];
        }
        wa[j] = (wa[j] - sum) / sdiag[j];
    }
    for j in 0..n {
        x[ipvt[j]] = wa[j];
    }
}

/// `‖D v‖`, using `wa` as scratch.
fn scaled_norm(diag: &[f64], v: &[f64], wa: &mut [f64]) -> f64 {
    for ((w, d), x) in wa.iter_mut().zip(diag).zip(v) {
        *w = d * x;
    }
    enorm(wa)
}

/// Work vectors of [`lmpar`].
struct LmparWork {
    sdiag: Vec<f64>,
    wa1: Vec<f64>,
    wa2: Vec<f64>,
}

/// MINPACK `lmpar`: finds `λ = par ≥ 0` such that the solution `x` of
/// `(AᵀA + λ D²) x = Aᵀ b` has `‖D x‖` within 10% of `delta` (or `λ = 0` with `‖D x‖ ≤ 1.1 δ`).
/// `r`, `ipvt`, `qtb` come from [`qrfac`] of `A` (with `Qᵀb`); `x` receives the solution.
#[allow(clippy::too_many_arguments)]
fn lmpar(
    n: usize,
    r: &mut [f64],
    ldr: usize,
    ipvt: &[usize],
    diag: &[f64],
    qtb: &[f64],
    delta: f64,
    par: &mut f64,
    x: &mut [f64],
    w: &mut LmparWork,
) {
    let dwarf = f64::MIN_POSITIVE;
    let LmparWork { sdiag, wa1, wa2 } = w;
    // Gauss–Newton direction (least-squares solution on the numerically nonsingular part).
    let mut nsing = n;
    for j in 0..n {
        wa1[j] = qtb[j];
        if r[j + j * ldr] == 0.0 && nsing == n {
            nsing = j;
        }
        if nsing < n {
            wa1[j] = 0.0;
        }
    }
    for j in (0..nsing).rev() {
        wa1[j] /= r[j + j * ldr];
        let temp = wa1[j];
        for i in 0..j {
            wa1[i] -= r[i + j * ldr] * temp;
        }
    }
    for j in 0..n {
        x[ipvt[j]] = wa1[j];
    }
    for j in 0..n {
        wa2[j] = diag[j] * x[j];
    }
    let mut dxnorm = enorm(&wa2[..n]);
    let mut fp = dxnorm - delta;
    if fp <= P1 * delta || !dxnorm.is_finite() {
        *par = 0.0;
        if !dxnorm.is_finite() {
            // Cannot happen with a finite R; keep the caller safe anyway.
            x.iter_mut().for_each(|v| *v = 0.0);
        }
        return;
    }
    // Lower bound parl from the Newton step (only when the Jacobian has full rank).
    let mut parl = 0.0;
    if nsing >= n {
        for j in 0..n {
            let l = ipvt[j];
            wa1[j] = diag[l] * (wa2[l] / dxnorm);
        }
        for j in 0..n {
            let mut sum = 0.0;
            for i in 0..j {
                sum += r[i + j * ldr] * wa1[i];
            }
            wa1[j] = (wa1[j] - sum) / r[j + j * ldr];
        }
        let temp = enorm(&wa1[..n]);
        parl = ((fp / delta) / temp) / temp;
    }
    // Upper bound paru.
    for j in 0..n {
        let mut sum = 0.0;
        for i in 0..=j {
            sum += r[i + j * ldr] * qtb[i];
        }
        wa1[j] = sum / diag[ipvt[j]];
    }
    let gnorm = enorm(&wa1[..n]);
    let mut paru = gnorm / delta;
    if paru == 0.0 {
        paru = dwarf / delta.min(P1);
    }
    *par = par.max(parl).min(paru);
    if *par == 0.0 {
        *par = gnorm / dxnorm;
    }
    let mut iter = 0;
    loop {
        iter += 1;
        if *par == 0.0 {
            *par = dwarf.max(P001 * paru);
        }
        let temp = par.sqrt();
        for j in 0..n {
            wa1[j] = temp * diag[j];
        }
        qrsolv(n, r, ldr, ipvt, wa1, qtb, x, sdiag, wa2);
        for j in 0..n {
            wa2[j] = diag[j] * x[j];
        }
        dxnorm = enorm(&wa2[..n]);
        let temp = fp;
        fp = dxnorm - delta;
        if fp.abs() <= P1 * delta
            || (parl == 0.0 && fp <= temp && temp < 0.0)
            || iter == 10
            || dxnorm == 0.0
            || !dxnorm.is_finite()
        {
            break;
        }
        // Newton correction.
        for j in 0..n {
            let l = ipvt[j];
            wa1[j] = diag[l] * (wa2[l] / dxnorm);
        }
        for j in 0..n {
            wa1[j] /= sdiag[j];
            let temp = wa1[j];
            for i in j + 1..n {
                wa1[i] -= r[i + j * ldr] * temp;
            }
        }
        let temp = enorm(&wa1[..n]);
        let parc = ((fp / delta) / temp) / temp;
        if fp > 0.0 {
            parl = parl.max(*par);
        }
        if fp < 0.0 {
            paru = paru.min(*par);
        }
        *par = parl.max(*par + parc);
        if !par.is_finite() {
            *par = paru;
        }
    }
}

/// Fills the Triggs-corrected residuals `rt` and Jacobian `jt` (column-major `m × n`) from the raw
/// ones, and the row factors `k` (`J̃_i = k_i J_i`; `ρ_c'(r_i²) r_i = k_i r̃_i`).
fn robust_scale(
    loss: RobustLoss,
    m: usize,
    r: &[f64],
    jac: &[f64],
    rt: &mut [f64],
    jt: &mut [f64],
    k: &mut [f64],
) {
    if loss == RobustLoss::L2 {
        rt.copy_from_slice(r);
        jt.copy_from_slice(jac);
        k.iter_mut().for_each(|v| *v = 1.0);
        return;
    }
    for i in 0..m {
        let (ri, ki) = losses::robust_row_scaling(loss, r[i]);
        rt[i] = ri;
        k[i] = ki;
    }
    for (jcol, col) in jt.chunks_exact_mut(m).zip(jac.chunks_exact(m)) {
        for i in 0..m {
            jcol[i] = col[i] * k[i];
        }
    }
}

/// The factored Jacobian at the current point and the work space of one solve.
struct Work {
    m: usize,
    n: usize,
    /// Robust-scaled residuals `r̃` at the current point.
    rt: Vec<f64>,
    /// Triggs row factors `k_i`.
    k: Vec<f64>,
    /// `J̃` (active columns zeroed), overwritten by [`qrfac`]: `R` in its upper triangle.
    fjac: Vec<f64>,
    /// Unfactored copy of `J̃` for clipped steps (bounded problems only).
    jt_copy: Vec<f64>,
    ipvt: Vec<usize>,
    rdiag: Vec<f64>,
    acnorm: Vec<f64>,
    qtf: Vec<f64>,
    wa_m: Vec<f64>,
    wa_n: Vec<f64>,
    jp: Vec<f64>,
    lw: LmparWork,
}

impl Work {
    fn new(m: usize, n: usize, bounded: bool) -> Self {
        Work {
            m,
            n,
            rt: vec![0.0; m],
            k: vec![0.0; m],
            fjac: vec![0.0; m * n],
            jt_copy: if bounded {
                vec![0.0; m * n]
            } else {
                Vec::new()
            },
            ipvt: vec![0; n],
            rdiag: vec![0.0; n],
            acnorm: vec![0.0; n],
            qtf: vec![0.0; n],
            wa_m: vec![0.0; m],
            wa_n: vec![0.0; n],
            jp: vec![0.0; m.max(n)],
            lw: LmparWork {
                sdiag: vec![0.0; n],
                wa1: vec![0.0; n],
                wa2: vec![0.0; n],
            },
        }
    }

    /// Robust scaling, active set, QR and `Qᵀ r̃` at `x`; returns the scaled gradient norm over the
    /// free columns: `max_j |J_jᵀ v| / (‖J_j‖ ‖v‖)` with `v = ρ_c'(r²) ⊙ r` (for L2 `v = r`, MINPACK's).
    fn factor(&mut self, settings: &Settings<'_>, x: &[f64], r: &[f64], jac: &[f64]) -> f64 {
        let (m, n) = (self.m, self.n);
        robust_scale(
            settings.loss,
            m,
            r,
            jac,
            &mut self.rt,
            &mut self.fjac,
            &mut self.k,
        );
        if !self.jt_copy.is_empty() {
            for j in 0..n {
                let col = &mut self.fjac[j * m..(j + 1) * m];
                let g: f64 = col.iter().zip(&self.rt).map(|(a, b)| a * b).sum();
                let pinned = (x[j] <= settings.lower[j] && g > 0.0)
                    || (x[j] >= settings.upper[j] && g < 0.0);
                if pinned {
                    col.iter_mut().for_each(|v| *v = 0.0);
                }
            }
            self.jt_copy.copy_from_slice(&self.fjac);
        }
        let rtnorm = enorm(&self.rt);
        qrfac(
            m,
            n,
            &mut self.fjac,
            &mut self.ipvt,
            &mut self.rdiag,
            &mut self.acnorm,
            &mut self.wa_n,
        );
        // qtf = first n components of Qᵀ r̃; then R's diagonal goes back into fjac.
        let fjac = &mut self.fjac;
        self.wa_m.copy_from_slice(&self.rt);
        for j in 0..n {
            let ajj = fjac[j + j * m];
            if ajj != 0.0 {
                let mut sum = 0.0;
                for i in j..m {
                    sum += fjac[i + j * m] * self.wa_m[i];
                }
                let temp = -sum / ajj;
                for i in j..m {
                    self.wa_m[i] += fjac[i + j * m] * temp;
                }
            }
            fjac[j + j * m] = self.rdiag[j];
            self.qtf[j] = self.wa_m[j];
        }
        let mut gnorm: f64 = 0.0;
        if settings.loss == RobustLoss::L2 {
            // MINPACK: from R and Qᵀr.
            if rtnorm != 0.0 {
                for j in 0..n {
                    let l = self.ipvt[j];
                    if self.acnorm[l] != 0.0 {
                        let mut sum = 0.0;
                        for i in 0..=j {
                            sum += fjac[i + j * m] * (self.qtf[i] / rtnorm);
                        }
                        gnorm = gnorm.max((sum / self.acnorm[l]).abs());
                    }
                }
            }
        } else {
            // Robust: the cosine between v = ρ'(r²) ⊙ r and the raw columns J_j (free ones only), whose
            // product is the exact gradient. (r̃ itself would be misleading: Triggs's clipped factors
            // k_i = √ε on Huber's linear part blow r̃_i up by 1/√ε.)
            for (v, (rt, k)) in self.wa_m.iter_mut().zip(self.rt.iter().zip(&self.k)) {
                *v = rt * k;
            }
            let vnorm = enorm(&self.wa_m);
            if vnorm != 0.0 {
                for j in 0..n {
                    if self.acnorm[j] == 0.0 {
                        continue; // pinned (or a zero column)
                    }
                    let col = &jac[j * m..(j + 1) * m];
                    let cnorm = enorm(col);
                    if cnorm != 0.0 {
                        let g: f64 = col.iter().zip(&self.wa_m).map(|(a, b)| a * b).sum();
                        gnorm = gnorm.max((g / (cnorm * vnorm)).abs());
                    }
                }
            }
        }
        gnorm
    }

    /// The Levenberg–Marquardt step for trust radius `delta` (updating `par`), clipped into the bounds:
    /// fills `trial = x + p` and `step = p` (the step actually taken); returns `true` if it was clipped.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        settings: &Settings<'_>,
        diag: &[f64],
        delta: f64,
        par: &mut f64,
        x: &[f64],
        step: &mut [f64],
        trial: &mut [f64],
    ) -> bool {
        let (m, n) = (self.m, self.n);
        lmpar(
            n,
            &mut self.fjac,
            m,
            &self.ipvt,
            diag,
            &self.qtf,
            delta,
            par,
            step,
            &mut self.lw,
        );
        let mut clipped = false;
        for j in 0..n {
            let t = x[j] - step[j];
            let c = t.clamp(settings.lower[j], settings.upper[j]);
            // (A NaN step is no clip: without bounds there is nothing to clip into.)
            clipped |= c != t && !t.is_nan();
            trial[j] = c;
            step[j] = c - x[j];
        }
        clipped
    }

    /// Predicted relative cost reduction and directional derivative of `step` (MINPACK's `prered`,
    /// `dirder`), for the unclipped LM step with parameter `par` or, when `clipped`, recomputed as
    /// `(−2gᵀp − ‖J̃p‖²)/f²` and `gᵀp/f²`, with `f² = 2 · cost`.
    fn predicted(
        &mut self,
        step: &[f64],
        clipped: bool,
        par: f64,
        pnorm: f64,
        fnorm: f64,
    ) -> (f64, f64) {
        let (m, n) = (self.m, self.n);
        let jp = &mut self.jp;
        if !clipped {
            jp[..n].iter_mut().for_each(|v| *v = 0.0);
            for j in 0..n {
                let temp = step[self.ipvt[j]];
                for i in 0..=j {
                    jp[i] += self.fjac[i + j * m] * temp;
                }
            }
            let temp1 = enorm(&jp[..n]) / fnorm;
            let temp2 = par.sqrt() * pnorm / fnorm;
            (
                temp1 * temp1 + temp2 * temp2 / P5,
                -(temp1 * temp1 + temp2 * temp2),
            )
        } else {
            jp[..m].iter_mut().for_each(|v| *v = 0.0);
            for (j, s) in step.iter().enumerate() {
                if *s != 0.0 {
                    for i in 0..m {
                        jp[i] += self.jt_copy[i + j * m] * s;
                    }
                }
            }
            let gtp: f64 = self.rt.iter().zip(&jp[..m]).map(|(a, b)| a * b).sum();
            let jpn = enorm(&jp[..m]) / fnorm;
            let f2 = fnorm * fnorm;
            (-2.0 * gtp / f2 - jpn * jpn, gtp / f2)
        }
    }
}

/// Largest cost increase, relative, that a polishing step may cause (rounding noise of the cost).
/// A cost test that fires with a predicted relative reduction at or below this (rounding level) is
/// followed by Gauss–Newton polishing.
const POLISH_BELOW: f64 = 100.0 * EPS;
/// Largest relative cost increase a polishing step may cause: a guard against gross errors only, far
/// above the cost's rounding noise (about `2ε‖y‖/‖r‖`, ~1e-11 for the near-zero-residual Lanczos data).
const POLISH_SLACK: f64 = 1e-8;
/// Most polishing steps.
const POLISH_STEPS: usize = 50;
/// Each polishing step must be at most this fraction of the previous one.
const POLISH_CONTRACTION: f64 = 0.9;

/// One Levenberg–Marquardt run that can stop after any accepted step and go on later (the worker
/// runs long fits in slices of a few milliseconds this way). Every local of MINPACK's `lmder` loop
/// lives here, and a suspended run resumes at the top of the outer iteration, where `lmder` itself
/// recomputes the QR factorisation: a run advanced in slices takes exactly the steps of one run to
/// the end.
pub(crate) struct Run {
    x: Vec<f64>,
    r: Vec<f64>,
    jac: Vec<f64>,
    evaluations: usize,
    iterations: usize,
    cost: f64,
    fnorm: f64,
    w: Work,
    r_new: Vec<f64>,
    jac_new: Vec<f64>,
    diag: Vec<f64>,
    step: Vec<f64>,
    trial: Vec<f64>,
    wa_n: Vec<f64>,
    par: f64,
    delta: f64,
    xnorm: f64,
    first: bool,
    /// Set when the model is undefined at the start: the run ends at once.
    undefined_start: bool,
}

impl Run {
    /// Evaluates at `x0` (finite, inside the bounds) and prepares the run; `m ≥ n = x0.len()`.
    pub(crate) fn new(
        eval: &mut Evaluate<'_>,
        m: usize,
        x0: Vec<f64>,
        settings: &Settings<'_>,
    ) -> Run {
        let n = x0.len();
        let bounded = settings
            .lower
            .iter()
            .chain(settings.upper)
            .any(|b| b.is_finite());
        let mut r = vec![0.0; m];
        let mut jac = vec![0.0; m * n];
        let undefined_start = !eval(&x0, &mut r, &mut jac);
        let cost = losses::cost(settings.loss, &r);
        Run {
            x: x0,
            r,
            jac,
            evaluations: 1,
            iterations: 0,
            cost,
            fnorm: (2.0 * cost).sqrt(),
            w: Work::new(m, n, bounded),
            r_new: vec![0.0; m],
            jac_new: vec![0.0; m * n],
            diag: vec![0.0; n],
            step: vec![0.0; n],
            trial: vec![0.0; n],
            wa_n: vec![0.0; n],
            par: 0.0,
            delta: 0.0,
            xnorm: 0.0,
            first: true,
            undefined_start,
        }
    }

    /// Iterates until a stopping rule holds (`Some(outcome)`) or `on_step`, called after every
    /// accepted step that ends no test, answers [`Control::Suspend`] (`None`; call again with the
    /// same `eval` and `settings` to go on).
    pub(crate) fn advance(
        &mut self,
        eval: &mut Evaluate<'_>,
        settings: &Settings<'_>,
        on_step: &mut dyn FnMut(&Progress<'_>) -> Control,
    ) -> Option<Outcome> {
        if self.undefined_start {
            return Some(self.finish(Termination::NumericalFailure {
                detail: "the model or its gradient is not finite at the start values".into(),
            }));
        }
        let n = self.x.len();
        let loss = settings.loss;
        let (termination, polish) = 'outer: loop {
            let gnorm = self.w.factor(settings, &self.x, &self.r, &self.jac);
            if self.first {
                for j in 0..n {
                    self.diag[j] = if self.w.acnorm[j] == 0.0 {
                        1.0
                    } else {
                        self.w.acnorm[j]
                    };
                    self.wa_n[j] = self.diag[j] * self.x[j];
                }
                self.xnorm = enorm(&self.wa_n);
                self.delta = FACTOR * self.xnorm;
                if self.delta == 0.0 {
                    self.delta = FACTOR;
                }
            }
            if gnorm <= settings.gtol || self.fnorm == 0.0 {
                break (Termination::GradientConverged, false);
            }
            for j in 0..n {
                self.diag[j] = self.diag[j].max(self.w.acnorm[j]);
            }

            // Inner loop: trial steps until one is accepted.
            loop {
                if self.iterations >= settings.max_iterations {
                    break 'outer (Termination::MaxIterations, false);
                }
                let clipped = self.w.step(
                    settings,
                    &self.diag,
                    self.delta,
                    &mut self.par,
                    &self.x,
                    &mut self.step,
                    &mut self.trial,
                );
                for j in 0..n {
                    self.wa_n[j] = self.diag[j] * self.step[j];
                }
                let pnorm = enorm(&self.wa_n);
                if self.first {
                    self.delta = self.delta.min(pnorm);
                }
                self.iterations += 1;
                self.evaluations += 1;
                let ok = eval(&self.trial, &mut self.r_new, &mut self.jac_new);
                let cost_new = if ok {
                    losses::cost(loss, &self.r_new)
                } else {
                    f64::INFINITY
                };
                let failed = !cost_new.is_finite();
                let fnorm1 = if failed {
                    f64::INFINITY
                } else {
                    (2.0 * cost_new).sqrt()
                };
                let fnorm = self.fnorm;
                let actred = if P1 * fnorm1 < fnorm {
                    1.0 - (fnorm1 / fnorm) * (fnorm1 / fnorm)
                } else {
                    -1.0
                };
                let (prered, dirder) = self
                    .w
                    .predicted(&self.step, clipped, self.par, pnorm, fnorm);
                let ratio = if prered != 0.0 { actred / prered } else { 0.0 };
                // Update the trust radius and the Levenberg parameter.
                if ratio <= P25 {
                    let mut temp = if actred >= 0.0 {
                        P5
                    } else {
                        P5 * dirder / (dirder + P5 * actred)
                    };
                    if P1 * fnorm1 >= fnorm || temp < P1 || !temp.is_finite() {
                        temp = P1;
                    }
                    self.delta = temp * self.delta.min(pnorm / P1);
                    self.par /= temp;
                } else if self.par == 0.0 || ratio >= P75 {
                    self.delta = pnorm / P5;
                    self.par *= P5;
                }
                let accepted = ratio >= P0001;
                if accepted {
                    std::mem::swap(&mut self.x, &mut self.trial);
                    std::mem::swap(&mut self.r, &mut self.r_new);
                    std::mem::swap(&mut self.jac, &mut self.jac_new);
                    for j in 0..n {
                        self.wa_n[j] = self.diag[j] * self.x[j];
                    }
                    self.xnorm = enorm(&self.wa_n);
                    self.fnorm = fnorm1;
                    self.cost = cost_new;
                    self.first = false;
                }
                // Convergence tests (MINPACK info 1–3), then the machine-precision ones (6–8).
                let cost_small =
                    actred.abs() <= settings.ftol && prered <= settings.ftol && P5 * ratio <= 1.0;
                let step_small = self.delta <= settings.xtol * self.xnorm;
                let cost_eps = actred.abs() <= EPS && prered <= EPS && P5 * ratio <= 1.0;
                let step_eps = self.delta <= EPS * self.xnorm;
                if cost_small || cost_eps {
                    break 'outer (Termination::CostConverged, prered <= POLISH_BELOW);
                } else if step_small || step_eps {
                    break 'outer (
                        if failed {
                            Termination::NumericalFailure {
                                detail: format!(
                                    "the model is not finite (or not > 0 in log space) at every step tried near θ = {:?}",
                                    self.x
                                ),
                            }
                        } else {
                            Termination::StepConverged
                        },
                        !failed,
                    );
                } else if gnorm <= EPS {
                    break 'outer (Termination::GradientConverged, false);
                }
                if accepted {
                    let progress = Progress {
                        iteration: self.iterations,
                        evaluations: self.evaluations,
                        cost: self.cost,
                        params: &self.x,
                    };
                    match on_step(&progress) {
                        Control::Continue => break,
                        Control::Suspend => return None,
                        Control::Cancel => break 'outer (Termination::Cancelled, false),
                    }
                }
            }
        };
        if polish {
            self.polish(eval, settings);
        }
        Some(self.finish(termination))
    }

    /// Gauss–Newton polishing (see the module docs): near the minimum the cost tests work at the
    /// rounding level of the cost, but the Gauss–Newton step, computed from r̃ and J̃ rather than
    /// from cost differences, still carries information. A step is kept while the next one
    /// contracts (‖D p₊‖ ≤ 0.9 ‖D p‖, the fixed-point test) and the cost does not rise by more
    /// than a gross-error guard.
    fn polish(&mut self, eval: &mut Evaluate<'_>, settings: &Settings<'_>) {
        let n = self.x.len();
        let mut step2 = vec![0.0; n];
        let mut trial2 = vec![0.0; n];
        let mut gnorm = self.w.factor(settings, &self.x, &self.r, &self.jac);
        let mut gn_par = 0.0;
        self.w.step(
            settings,
            &self.diag,
            f64::MAX,
            &mut gn_par,
            &self.x,
            &mut self.step,
            &mut self.trial,
        );
        let mut pnorm = scaled_norm(&self.diag, &self.step, &mut self.wa_n);
        for _ in 0..POLISH_STEPS {
            if gnorm == 0.0
                || self.iterations >= settings.max_iterations
                || pnorm.is_nan()
                || pnorm <= settings.xtol.max(EPS) * self.xnorm
            {
                break;
            }
            self.iterations += 1;
            self.evaluations += 1;
            if !eval(&self.trial, &mut self.r_new, &mut self.jac_new) {
                break;
            }
            let cost_new = losses::cost(settings.loss, &self.r_new);
            if cost_new.is_nan() || cost_new > self.cost * (1.0 + POLISH_SLACK) {
                break;
            }
            let gnorm_new = self
                .w
                .factor(settings, &self.trial, &self.r_new, &self.jac_new);
            let mut gn_par = 0.0;
            self.w.step(
                settings,
                &self.diag,
                f64::MAX,
                &mut gn_par,
                &self.trial,
                &mut step2,
                &mut trial2,
            );
            let pnorm_new = scaled_norm(&self.diag, &step2, &mut self.wa_n);
            if pnorm_new.is_nan() || pnorm_new > POLISH_CONTRACTION * pnorm {
                break;
            }
            std::mem::swap(&mut self.x, &mut self.trial);
            std::mem::swap(&mut self.r, &mut self.r_new);
            std::mem::swap(&mut self.jac, &mut self.jac_new);
            std::mem::swap(&mut self.trial, &mut trial2);
            std::mem::swap(&mut self.step, &mut step2);
            self.cost = cost_new;
            self.xnorm = scaled_norm(&self.diag, &self.x, &mut self.wa_n);
            pnorm = pnorm_new;
            gnorm = gnorm_new;
        }
    }

    /// The outcome; the run's buffers move into it.
    fn finish(&mut self, termination: Termination) -> Outcome {
        Outcome {
            x: std::mem::take(&mut self.x),
            residuals: std::mem::take(&mut self.r),
            jacobian: std::mem::take(&mut self.jac),
            cost: self.cost,
            iterations: self.iterations,
            evaluations: self.evaluations,
            termination,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enorm_survives_extreme_magnitudes() {
        assert_eq!(enorm(&[3.0, 4.0]), 5.0);
        assert!((enorm(&[3e200, 4e200]) / 5e200 - 1.0).abs() < 1e-15);
        assert!((enorm(&[3e-200, 4e-200]) / 5e-200 - 1.0).abs() < 1e-15);
        assert!(enorm(&[1.0, f64::NAN]).is_nan());
        assert_eq!(enorm(&[]), 0.0);
    }

    #[test]
    fn qrfac_then_qrsolv_solves_least_squares() {
        // A = [[1, 0], [1, 1], [1, 2]], b = [1, 2, 4]: normal equations [[3, 3], [3, 5]] x = [7, 10]
        // → x = [5/6, 3/2]. With D = 0 qrsolv gives the plain least-squares solution.
        let m = 3;
        let n = 2;
        let mut a = vec![1.0, 1.0, 1.0, 0.0, 1.0, 2.0];
        let b = [1.0, 2.0, 4.0];
        let (mut ipvt, mut rdiag, mut acnorm, mut wa) =
            (vec![0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        qrfac(m, n, &mut a, &mut ipvt, &mut rdiag, &mut acnorm, &mut wa);
        let mut qtb = b.to_vec();
        for j in 0..n {
            let ajj = a[j + j * m];
            let sum: f64 = (j..m).map(|i| a[i + j * m] * qtb[i]).sum();
            let t = -sum / ajj;
            for i in j..m {
                qtb[i] += a[i + j * m] * t;
            }
            a[j + j * m] = rdiag[j];
        }
        let (mut x, mut sdiag, mut w) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        qrsolv(
            n,
            &mut a,
            m,
            &ipvt,
            &[0.0, 0.0],
            &qtb[..n],
            &mut x,
            &mut sdiag,
            &mut w,
        );
        assert!(
            (x[0] - 5.0 / 6.0).abs() < 1e-14 && (x[1] - 1.5).abs() < 1e-14,
            "{x:?}"
        );
        // With D = diag(1, 1)·√λ, λ = 1: (AᵀA + I) x = Aᵀb → [[4, 3], [3, 6]] x = [7, 10] → x = [4/5, 19/15].
        qrsolv(
            n,
            &mut a,
            m,
            &ipvt,
            &[1.0, 1.0],
            &qtb[..n],
            &mut x,
            &mut sdiag,
            &mut w,
        );
        assert!(
            (x[0] - 0.8).abs() < 1e-14 && (x[1] - 19.0 / 15.0).abs() < 1e-14,
            "{x:?}"
        );
    }
}
