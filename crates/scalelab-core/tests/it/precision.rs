//! `Precision`: names, parsing, format constants and round-to-nearest-even.

use std::str::FromStr;

use scalelab_core::{CoreError, Precision};

#[test]
fn names_parse_display_and_serde_agree() {
    for p in Precision::ALL {
        assert_eq!(p.to_string(), p.name());
        assert_eq!(Precision::from_str(p.name()), Ok(p));
        assert_eq!(Precision::from_str(&p.name().to_uppercase()), Ok(p));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, format!("\"{}\"", p.name()));
        assert_eq!(serde_json::from_str::<Precision>(&json).unwrap(), p);
    }
    let aliases = [
        ("float16", Precision::F16),
        ("Half", Precision::F16),
        ("BFLOAT16", Precision::BF16),
        ("float32", Precision::F32),
        (" float64 ", Precision::F64),
    ];
    for (text, p) in aliases {
        assert_eq!(text.parse::<Precision>(), Ok(p), "{text}");
    }
    let err = "f8".parse::<Precision>().unwrap_err();
    assert!(matches!(
        err,
        CoreError::InvalidValue {
            what: "precision",
            ..
        }
    ));
    assert!(err.to_string().contains("\"bf16\""), "{err}");
}

#[test]
fn format_constants_match_the_definitions() {
    // IEEE 754-2008 binary16/32/64 and Google bfloat16: significand bits incl. the implicit one.
    let bits: Vec<u32> = Precision::ALL
        .iter()
        .map(|p| p.significand_bits())
        .collect();
    assert_eq!(bits, [11, 8, 24, 53]);
    // Largest finite values: (2 − 2^(1−p)) · 2^e_max with e_max = 15, 127, 127, 1023.
    assert_eq!(Precision::F16.max_finite(), 65504.0);
    assert_eq!(
        Precision::BF16.max_finite(),
        (2.0 - 2f64.powi(-7)) * 2f64.powi(127)
    );
    assert_eq!(
        Precision::F32.max_finite(),
        (2.0 - 2f64.powi(-23)) * 2f64.powi(127)
    );
    assert_eq!(Precision::F64.max_finite(), f64::MAX);
}

#[test]
fn f64_is_identity_and_f32_is_the_ieee_cast() {
    let xs = [0.1, -1.0 / 3.0, 1e-40, 1e300, 16.7, -0.0];
    for x in xs {
        assert_eq!(Precision::F64.round(x).to_bits(), x.to_bits());
        assert_eq!(Precision::F32.round(x), f64::from(x as f32));
    }
    assert!(Precision::F16.round(f64::NAN).is_nan());
    assert_eq!(Precision::BF16.round(f64::INFINITY), f64::INFINITY);
}

/// Ties and near-ties, worked out from the RNE definition: in f16 the spacing at 1 is 2^-10,
/// so 1 + 2^-11 is a tie (→ 1, even) and anything above it rounds up; in bf16 the spacing is
/// 2^-7. `half::f16::from_f64` gets the first case wrong (it ignores the low 32 bits).
#[test]
fn reduced_precision_rounds_to_nearest_even() {
    let cases = [
        (Precision::F16, 1.0 + 2f64.powi(-11), 1.0),
        (
            Precision::F16,
            1.0 + 2f64.powi(-11) + 2f64.powi(-21),
            1.0 + 2f64.powi(-10),
        ),
        (
            Precision::F16,
            1.0 + 2f64.powi(-11) + 2f64.powi(-45),
            1.0 + 2f64.powi(-10),
        ),
        (
            Precision::F16,
            1.0 + 3.0 * 2f64.powi(-11),
            1.0 + 2f64.powi(-9),
        ),
        (Precision::F16, 65519.99, 65504.0),
        (Precision::F16, 65520.0, f64::INFINITY),
        (Precision::F16, 2f64.powi(-25), 0.0),
        (
            Precision::F16,
            2f64.powi(-25) + 2f64.powi(-70),
            2f64.powi(-24),
        ),
        (Precision::BF16, 1.0 + 2f64.powi(-8), 1.0),
        (
            Precision::BF16,
            1.0 + 2f64.powi(-8) + 2f64.powi(-40),
            1.0 + 2f64.powi(-7),
        ),
        (
            Precision::BF16,
            -(1.0 + 3.0 * 2f64.powi(-8)),
            -(1.0 + 2f64.powi(-6)),
        ),
        (Precision::F32, 1.0 + 2f64.powi(-24), 1.0),
        (
            Precision::F32,
            1.0 + 2f64.powi(-24) + 2f64.powi(-52),
            1.0 + 2f64.powi(-23),
        ),
    ];
    for (p, x, want) in cases {
        assert_eq!(p.round(x), want, "{p} round({x:e})");
    }
}

/// Brute force against the definition: the result is a value of the format (found by walking
/// the `half` bit patterns), no other value is nearer, and ties go to the even pattern.
#[test]
fn round_is_nearest_even_on_pseudo_random_inputs() {
    // Deterministic xorshift64 so failures reproduce.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let r = next();
        // Magnitudes from 2^-30 to 2^17 (across f16 subnormals, normals and overflow).
        let exp = (r % 48) as i32 - 30;
        let mantissa = 1.0 + (next() >> 11) as f64 / (1u64 << 53) as f64;
        let sign = if r & (1 << 40) == 0 { 1.0 } else { -1.0 };
        let x = sign * mantissa * 2f64.powi(exp);

        let h = Precision::F16.round(x);
        check_nearest_even(x, h, 65520.0, |v| {
            let b = half::f16::from_f64(v).to_bits();
            (
                half::f16::from_bits(b.wrapping_sub(1)).to_f64(),
                half::f16::from_bits(b.wrapping_add(1)).to_f64(),
                b,
            )
        });
        let b = Precision::BF16.round(x);
        check_nearest_even(x, b, f64::INFINITY, |v| {
            let bits = half::bf16::from_f64(v).to_bits();
            (
                half::bf16::from_bits(bits.wrapping_sub(1)).to_f64(),
                half::bf16::from_bits(bits.wrapping_add(1)).to_f64(),
                bits,
            )
        });
    }
}

/// `neighbours(r)` gives the format values just below/above `|r|` (by bit pattern) and `r`'s
/// pattern. Infinite `r` must come from `|x| ≥ overflow` (f16: 65520, the midpoint between
/// 65504 and 2^16).
#[track_caller]
fn check_nearest_even(x: f64, r: f64, overflow: f64, neighbours: impl Fn(f64) -> (f64, f64, u16)) {
    if r.is_infinite() {
        assert!(x.abs() >= overflow, "{x:e} overflowed to {r}");
        return;
    }
    assert!(x.abs() < overflow, "{x:e} should overflow, got {r:e}");
    let (below, above, bits) = neighbours(r);
    let d = (x - r).abs();
    for n in [below, above] {
        if n.is_finite() && n.signum() == r.signum() {
            let dn = (x - n).abs();
            assert!(
                d < dn || (d == dn && bits % 2 == 0),
                "round({x:e}) = {r:e}, but {n:e} is nearer or the even tie"
            );
        }
    }
}
