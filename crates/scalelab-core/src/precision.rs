//! Floating-point formats the StableMax explorer emulates, and the one place where values are
//! rounded to them.
//!
//! Emulation model: every value is held in an `f64` that is exactly representable in the chosen
//! format. An operation `a ∘ b` in that format is emulated as `round(a ∘ b)`, where `a ∘ b` is the
//! `f64` result. For `+ − × ÷` this is the correctly rounded result of the format, because `f64`
//! has at least `2p + 2` significand bits for every `p ≤ 24` (double rounding is innocuous). For
//! `exp`/`ln` it is the format's value nearest to the (faithful) `f64` result, i.e. within one
//! unit of the format's last place of what PyTorch/numpy compute (they evaluate `f16`/`bf16`
//! functions in `f32` and round).

use std::fmt;
use std::str::FromStr;

use crate::CoreError;

/// A floating-point format: IEEE binary16, bfloat16, IEEE binary32 or binary64.
///
/// Serialized (serde) as its [`Precision::name`]: `"f16"`, `"bf16"`, `"f32"`, `"f64"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// IEEE 754 binary16 (`torch.float16`): 11 significand bits, max 65504.
    F16,
    /// bfloat16 (`torch.bfloat16`): 8 significand bits, the exponent range of `f32`.
    BF16,
    /// IEEE 754 binary32 (`torch.float32`): 24 significand bits.
    F32,
    /// IEEE 754 binary64 (`torch.float64`): 53 significand bits; rounding is the identity.
    F64,
}

impl Precision {
    /// All formats, narrowest first.
    pub const ALL: [Precision; 4] = [
        Precision::F16,
        Precision::BF16,
        Precision::F32,
        Precision::F64,
    ];

    /// `x` rounded to the nearest value of this format, ties to even (IEEE 754
    /// roundTiesToEven); overflow gives ±inf, NaN stays NaN. The identity for [`Precision::F64`].
    ///
    /// `f32` uses Rust's `as f32` (correctly rounded). `f16`/`bf16` first round `x` to `f32`
    /// with round-to-odd, then use `half::f16::from_f32` / `half::bf16::from_f32` (correctly
    /// rounded from `f32`). Round-to-odd to 24 ≥ p + 2 bits makes the second rounding exact
    /// (Boldo & Melquiond 2008). `half`'s own `from_f64` is not used because it ignores the low
    /// 32 bits of the `f64` significand when breaking ties (e.g. it rounds `1 + 2⁻¹¹ + 2⁻²¹` down
    /// to `1` in `f16`, which matters exactly at the Softmax-Collapse threshold).
    pub fn round(self, x: f64) -> f64 {
        match self {
            Precision::F16 => half::f16::from_f32(f64_to_f32_round_to_odd(x)).to_f64(),
            Precision::BF16 => half::bf16::from_f32(f64_to_f32_round_to_odd(x)).to_f64(),
            Precision::F32 => f64::from(x as f32),
            Precision::F64 => x,
        }
    }

    /// Significand bits `p`, counting the implicit leading bit: 11, 8, 24, 53.
    ///
    /// `1 + ε` rounds to `1` exactly when `ε ≤ 2⁻ᵖ`, so a two-class softmax `[Δ, 0]` collapses
    /// once `e^{−Δ} ≤ 2⁻ᵖ`, i.e. `Δ ≥ p·ln 2` (science.md §1.3).
    pub fn significand_bits(self) -> u32 {
        match self {
            Precision::F16 => 11,
            Precision::BF16 => 8,
            Precision::F32 => 24,
            Precision::F64 => 53,
        }
    }

    /// Largest finite value of the format: 65504, ≈3.3895e38, ≈3.4028e38, ≈1.7977e308.
    pub fn max_finite(self) -> f64 {
        match self {
            Precision::F16 => half::f16::MAX.to_f64(),
            Precision::BF16 => half::bf16::MAX.to_f64(),
            Precision::F32 => f64::from(f32::MAX),
            Precision::F64 => f64::MAX,
        }
    }

    /// Short lower-case name: `"f16"`, `"bf16"`, `"f32"`, `"f64"` (also the serde form).
    pub fn name(self) -> &'static str {
        match self {
            Precision::F16 => "f16",
            Precision::BF16 => "bf16",
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }
}

/// `x` rounded to `f32` with round-to-odd: exact values stay, inexact ones go to the neighbour
/// (of the two `f32` values around `x`) whose last significand bit is 1. Finite `x` beyond the
/// `f32` range gives `±f32::MAX` (odd), so a later rounding to a narrower format still overflows.
fn f64_to_f32_round_to_odd(x: f64) -> f32 {
    let y = x as f32;
    if !x.is_finite() || f64::from(y) == x {
        return y;
    }
    if y.is_infinite() {
        return f32::MAX.copysign(y);
    }
    if y.to_bits() & 1 == 1 {
        return y;
    }
    if f64::from(y) < x {
        y.next_up()
    } else {
        y.next_down()
    }
}

impl fmt::Display for Precision {
    /// Writes [`Precision::name`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Precision {
    type Err = CoreError;

    /// Parses `f16|float16|half`, `bf16|bfloat16`, `f32|float32`, `f64|float64`, ignoring case
    /// and surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f16" | "float16" | "half" => Ok(Precision::F16),
            "bf16" | "bfloat16" => Ok(Precision::BF16),
            "f32" | "float32" => Ok(Precision::F32),
            "f64" | "float64" => Ok(Precision::F64),
            _ => Err(CoreError::InvalidValue {
                what: "precision",
                reason: format!(
                    "unknown precision {s:?}; use one of \"f16\", \"bf16\", \"f32\", \"f64\""
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_to_odd_marks_inexact_values() {
        // 1 + 2^-30 lies between f32 1 (even) and 1 + 2^-23 (odd): round-to-odd picks the odd one.
        let y = f64_to_f32_round_to_odd(1.0 + 2f64.powi(-30));
        assert_eq!(f64::from(y), 1.0 + 2f64.powi(-23));
        // Exact values are kept.
        assert_eq!(f64_to_f32_round_to_odd(0.5), 0.5);
        // Overflow saturates to the (odd) largest finite value.
        assert_eq!(f64_to_f32_round_to_odd(1e300), f32::MAX);
        assert_eq!(f64_to_f32_round_to_odd(-1e300), -f32::MAX);
        // Below the f32 subnormal range: the smallest subnormal, not zero.
        assert_eq!(f64_to_f32_round_to_odd(1e-300), f32::from_bits(1));
    }
}
