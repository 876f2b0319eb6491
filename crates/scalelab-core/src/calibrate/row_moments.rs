//! The inner loop of temperature scaling and of the metrics: for one row of logits `z` with
//! maximum `m` and an inverse temperature `β ≥ 0`, the weights `w_j = exp(β (z_j − m))` and their
//! sums `Σ w`, `Σ w d`, `Σ w d²` with `d_j = z_j − m` — one pass, no allocation.
//!
//! `exp` here is [`exp_nonpositive`], written so that the compiler vectorises it (SSE2 on x86-64,
//! SIMD128 on wasm when enabled) instead of calling libm per element: Cody–Waite reduction
//! `x = k ln 2 + r`, `|r| ≤ ln 2 / 2`, with `k` rounded by the `1.5·2⁵²` trick, `exp(r)` by its
//! degree-13 Taylor polynomial by Estrin's scheme (truncation below 1e-17 relative), and `2ᵏ` assembled in the
//! exponent bits (8 independent lanes per row keep the pipeline full; built with
//! `-C target-cpu=native` the same code runs 4-wide on AVX2). Arguments below −708 are raised to −708 (`exp(−708) ≈ 3e-308`): a row's sum is
//! at least 1 (its maximum contributes `exp(0)`), so such terms are below the sum's rounding.
//! Within 2 ulp of `f64::exp` on `[−708, 0]` (tested).

const LOG2E: f64 = std::f64::consts::LOG2_E;
// fdlibm's split of ln 2: the high part has 32 trailing zero bits, so k·LN2_HI is exact.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52

/// `exp(x)` for `x ≤ 0` (module docs); `x < −708` gives `exp(−708)`, and `x = −∞` (a logit of
/// −∞, a probability of 0) gives exactly 0.
#[inline(always)]
pub fn exp_nonpositive(x: f64) -> f64 {
    if x == f64::NEG_INFINITY {
        0.0
    } else {
        exp_finite(x)
    }
}

/// [`exp_nonpositive`] for finite `x` (the hot loop of rows without −∞: no select, so that the
/// lanes vectorise).
#[inline(always)]
fn exp_finite(x_in: f64) -> f64 {
    let x = x_in.max(-708.0);
    let t = x * LOG2E + ROUND;
    let k = t - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // Σ_{i ≤ 13} r^i / i! by Estrin's scheme (a shallow dependency chain, so that the lanes of
    // `row_moments` overlap in the pipeline).
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let c = |i: f64, j: f64| i + j * r;
    let p01 = c(1.0, 1.0);
    let p23 = c(1.0 / 2.0, 1.0 / 6.0);
    let p45 = c(1.0 / 24.0, 1.0 / 120.0);
    let p67 = c(1.0 / 720.0, 1.0 / 5_040.0);
    let p89 = c(1.0 / 40_320.0, 1.0 / 362_880.0);
    let p1011 = c(1.0 / 3_628_800.0, 1.0 / 39_916_800.0);
    let p1213 = c(1.0 / 479_001_600.0, 1.0 / 6_227_020_800.0);
    let p03 = p01 + p23 * r2;
    let p47 = p45 + p67 * r2;
    let p811 = p89 + p1011 * r2;
    let p07 = p03 + p47 * r4;
    let p813 = p811 + p1213 * r4;
    let p = p07 + p813 * r8;
    // t's low mantissa bits hold k (two's complement around ROUND's bits).
    let kbits = t.to_bits().wrapping_sub(ROUND.to_bits());
    let scale = f64::from_bits(kbits.wrapping_add(1023) << 52);
    p * scale
}

/// `out_j = exp(β (z_j − m))`.
#[inline]
pub fn exp_shifted(z: &[f64], m: f64, beta: f64, out: &mut [f64]) {
    for (o, &v) in out.iter_mut().zip(z) {
        *o = exp_nonpositive(beta * (v - m));
    }
}

/// `(Σ w_j, Σ w_j d_j, Σ w_j d_j²)` for `d_j = z_j − m`, `w_j = exp(β d_j)` (module docs), summed
/// in eight interleaved lanes, for a row of finite logits.
#[inline]
pub fn row_moments(z: &[f64], m: f64, beta: f64) -> (f64, f64, f64) {
    moments(z, m, |d| (exp_finite(beta * d), d))
}

/// [`row_moments`] for a row that may hold logits of −∞: such a logit has `w_j = 0` and adds
/// nothing (its `d_j` is raised to −`f64::MAX` so that `0 · d_j` is 0, not NaN). A separate loop,
/// so that rows without −∞ keep the vectorised one.
#[inline]
pub fn row_moments_with_zeros(z: &[f64], m: f64, beta: f64) -> (f64, f64, f64) {
    moments(z, m, |d| (exp_nonpositive(beta * d), d.max(-f64::MAX)))
}

#[inline(always)]
fn moments(z: &[f64], m: f64, wd: impl Fn(f64) -> (f64, f64)) -> (f64, f64, f64) {
    let mut s0 = [0.0; 8];
    let mut s1 = [0.0; 8];
    let mut s2 = [0.0; 8];
    let chunks = z.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..8 {
            let (w, d) = wd(c[l] - m);
            s0[l] += w;
            s1[l] += w * d;
            s2[l] += w * d * d;
        }
    }
    for &v in tail {
        let (w, d) = wd(v - m);
        s0[0] += w;
        s1[0] += w * d;
        s2[0] += w * d * d;
    }
    let sum = |s: [f64; 8]| ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    (sum(s0), sum(s1), sum(s2))
}

/// `Σ v` in eight interleaved lanes (so the additions overlap).
#[inline]
pub fn lane_sum(v: &[f64]) -> f64 {
    let mut s = [0.0; 8];
    let chunks = v.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().sum();
    for c in chunks {
        for l in 0..8 {
            s[l] += c[l];
        }
    }
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail
}

/// The largest value of `z` (−∞ for an empty row).
#[inline]
pub fn row_max(z: &[f64]) -> f64 {
    let mut m = [f64::NEG_INFINITY; 4];
    let chunks = z.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..4 {
            m[l] = m[l].max(c[l]);
        }
    }
    tail.iter()
        .fold(m[0].max(m[1]).max(m[2].max(m[3])), |a, &b| a.max(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the standard library's `exp` (libm) on a million points of `[−708, 0]` and at
    /// the ends: within 2 ulp.
    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        let mut worst = 0.0f64;
        for i in 0..=1_000_000u32 {
            let x = -708.0 * f64::from(i) / 1e6;
            let want = x.exp();
            let got = exp_nonpositive(x);
            let ulp = f64::from_bits(want.to_bits() + 1) - want;
            worst = worst.max((got - want).abs() / ulp);
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-1e6), exp_nonpositive(-708.0));
        let (s0, s1, s2) = row_moments(&[0.0, -1.0, -2.0, -3.0, -4.0], 0.0, 1.0);
        let e: Vec<f64> = (0..5).map(|j| (-(j as f64)).exp()).collect();
        let w0: f64 = e.iter().sum();
        let w1: f64 = e.iter().enumerate().map(|(j, w)| -(j as f64) * w).sum();
        let w2: f64 = e.iter().enumerate().map(|(j, w)| (j * j) as f64 * w).sum();
        assert!((s0 - w0).abs() < 1e-15 && (s1 - w1).abs() < 1e-15 && (s2 - w2).abs() < 1e-14);
        assert_eq!(row_max(&[1.0, 5.0, -2.0, 3.0, 7.0, 0.0]), 7.0);
        // A logit of −∞ has weight exactly 0 and adds nothing to the sums.
        assert_eq!(exp_nonpositive(f64::NEG_INFINITY), 0.0);
        let z = [0.0, -1.0, f64::NEG_INFINITY, -2.0, -3.0, -4.0];
        let finite = [0.0, -1.0, -2.0, -3.0, -4.0];
        assert_eq!(
            row_moments_with_zeros(&z, 0.0, 1.0),
            row_moments_with_zeros(&finite, 0.0, 1.0)
        );
        assert_eq!(row_moments_with_zeros(&finite, 0.0, 1.0), (s0, s1, s2));
    }
}
