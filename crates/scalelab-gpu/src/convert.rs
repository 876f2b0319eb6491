//! The only place where numbers cross between the f64 world of `scalelab-core` and the f32 kernels.

/// Converts f64 values to f32 for upload: round to nearest (ties to even), as Rust's `as` does.
///
/// Magnitudes above `f32::MAX` (≈ 3.4e38) become ±∞ and magnitudes below the smallest f32
/// subnormal (≈ 1.4e-45) become ±0; the launchers reject non-finite values, so out-of-range
/// inputs are reported as [`crate::GpuError::InvalidInput`] rather than silently clamped.
pub fn to_f32(xs: &[f64]) -> Vec<f32> {
    xs.iter().map(|&x| x as f32).collect()
}

/// Converts f32 kernel results back to f64. Exact: every f32 is representable as an f64.
pub fn to_f64(xs: &[f32]) -> Vec<f64> {
    xs.iter().map(|&x| f64::from(x)).collect()
}

#[cfg(test)]
mod tests {
    use super::{to_f32, to_f64};

    #[test]
    fn round_trip_is_rounding_to_f32() {
        let xs = [0.1_f64, -80.0, 1e-50, 1e40, 0.0];
        let back = to_f64(&to_f32(&xs));
        assert_eq!(back[0], f64::from(0.1_f32));
        assert_eq!(back[1], -80.0);
        assert_eq!(back[2], 0.0);
        assert!(back[3].is_infinite());
        assert_eq!(back[4], 0.0);
    }
}
