//! Numbers for people: the tables' and readouts' formatter.

/// A number for the tables: 12 significant digits, scientific outside [1e-4, 1e6), `0` for zero
/// and Rust's `inf`/`NaN` for the rest.
pub fn fmt(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return v.to_string();
    }
    if (1e-4..1e6).contains(&v.abs()) {
        let digits = (11 - v.abs().log10().floor() as i32).clamp(0, 15) as usize;
        let s = format!("{v:.digits$}");
        return if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
    }
    format!("{v:.6e}")
}

/// A bound for an input box: `inf` / `-inf` for infinite bounds, else [`fmt`].
pub fn fmt_bound(v: f64) -> String {
    if v == f64::INFINITY {
        "inf".into()
    } else if v == f64::NEG_INFINITY {
        "-inf".into()
    } else {
        fmt(v)
    }
}

/// `v` with `digits` significant digits in positional notation (a rate such as GFLOP/s: small
/// values keep their digits instead of rounding to `0.000`).
pub fn significant(v: f64, digits: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return fmt(v);
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (digits as i32 - 1 - magnitude).clamp(0, 17) as usize;
    format!("{v:.decimals$}")
}

/// Milliseconds with three decimals from seconds.
pub fn millis(seconds: f64) -> String {
    format!("{:.3}", seconds * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_significant_digits_and_scientific_outside_the_range() {
        assert_eq!(fmt(1.0 / 3.0), "0.333333333333");
        assert_eq!(fmt(1.0 / 6.0), "0.166666666667");
        assert_eq!(fmt(0.0), "0");
        assert_eq!(fmt(2.5e-7), "2.500000e-7");
        assert_eq!(fmt(123456789.0), "1.234568e8");
        assert_eq!(fmt(16.7), "16.7");
        assert_eq!(fmt_bound(f64::NEG_INFINITY), "-inf");
        assert_eq!(millis(0.0015), "1.500");
        assert_eq!(significant(0.00046, 3), "0.000460");
        assert_eq!(significant(2.3456, 3), "2.35");
        assert_eq!(significant(1234.6, 3), "1235");
    }
}
