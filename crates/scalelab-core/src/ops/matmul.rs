//! Dense matrix product with optional transposes, bias and ReLU: the oracle of the `matmul`
//! kernel in `scalelab-gpu`.
//!
//! `C = relu?(op(A) · op(B) + 1·biasᵀ)` where `op(A)` is `m × k` and `op(B)` is `k × n`, all
//! row-major. With `transpose_a`, `a` holds `A` as a `k × m` matrix and `op(A) = Aᵀ`; with
//! `transpose_b`, `b` holds `B` as an `n × k` matrix and `op(B) = Bᵀ`. These are the three
//! products of a dense layer's forward and backward pass: `X·W`, `Xᵀ·G` and `G·Wᵀ`.

use crate::CoreError;

/// Options of [`matmul`]: which operands are stored transposed, and the fused epilogue.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MatmulOptions<'a> {
    /// `a` holds `A` as `k × m` (row-major); the product uses `Aᵀ`.
    pub transpose_a: bool,
    /// `b` holds `B` as `n × k` (row-major); the product uses `Bᵀ`.
    pub transpose_b: bool,
    /// Added to every row of the product: `C[i, j] += bias[j]` (length `n`).
    pub bias: Option<&'a [f64]>,
    /// Applied last: `C[i, j] = max(C[i, j], 0)`.
    pub relu: bool,
}

/// `C[i, j] = relu?(Σ_p op(A)[i, p] · op(B)[p, j] + bias[j])`, an `m × n` row-major matrix,
/// summed in `f64` in the order `p = 0, 1, …, k − 1` (see the module docs for the layouts).
///
/// `k = 0` gives the bias (or zeros); `m = 0` or `n = 0` gives an empty matrix.
///
/// Errors: `a.len() ≠ m·k`, `b.len() ≠ k·n` or `bias.len() ≠ n` (`DimensionMismatch`), a
/// NaN/±inf in `a`, `b` or `bias` (`NonFinite`, flat index), `m·k`, `k·n` or `m·n` overflowing
/// `usize` (`InvalidValue`).
pub fn matmul(
    a: &[f64],
    b: &[f64],
    m: usize,
    k: usize,
    n: usize,
    options: MatmulOptions<'_>,
) -> Result<Vec<f64>, CoreError> {
    let size = |what: &'static str, rows: usize, cols: usize| {
        rows.checked_mul(cols)
            .ok_or_else(|| CoreError::InvalidValue {
                what,
                reason: format!(
                    "{rows} × {cols} elements overflow the address space; give smaller sizes"
                ),
            })
    };
    let check_len = |what: &'static str, data: &[f64], expected: usize| {
        if data.len() == expected {
            Ok(())
        } else {
            Err(CoreError::DimensionMismatch {
                what,
                expected,
                got: data.len(),
            })
        }
    };
    check_len("a length (must be m·k)", a, size("a", m, k)?)?;
    check_len("b length (must be k·n)", b, size("b", k, n)?)?;
    let out_len = size("c", m, n)?;
    CoreError::check_finite("a", a)?;
    CoreError::check_finite("b", b)?;
    if let Some(bias) = options.bias {
        check_len("bias length (must be n)", bias, n)?;
        CoreError::check_finite("bias", bias)?;
    }
    let a_at = |i: usize, p: usize| {
        if options.transpose_a {
            a[p * m + i]
        } else {
            a[i * k + p]
        }
    };
    let b_at = |p: usize, j: usize| {
        if options.transpose_b {
            b[j * k + p]
        } else {
            b[p * n + j]
        }
    };
    let mut c = Vec::with_capacity(out_len);
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0;
            for p in 0..k {
                acc += a_at(i, p) * b_at(p, j);
            }
            if let Some(bias) = options.bias {
                acc += bias[j];
            }
            if options.relu {
                acc = acc.max(0.0);
            }
            c.push(acc);
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A = [[1, 2, 3], [4, 5, 6]] (2 × 3), B = [[1, 0], [0, 1], [1, -1]] (3 × 2).
    const A: [f64; 6] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    const AT: [f64; 6] = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
    const B: [f64; 6] = [1.0, 0.0, 0.0, 1.0, 1.0, -1.0];
    const BT: [f64; 6] = [1.0, 0.0, 1.0, 0.0, 1.0, -1.0];
    // A·B by hand: [[1+3, 2-3], [4+6, 5-6]] = [[4, -1], [10, -1]].
    const AB: [f64; 4] = [4.0, -1.0, 10.0, -1.0];

    #[test]
    fn every_transpose_gives_the_hand_computed_product() {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = if ta { &AT } else { &A };
            let b = if tb { &BT } else { &B };
            let options = MatmulOptions {
                transpose_a: ta,
                transpose_b: tb,
                ..MatmulOptions::default()
            };
            assert_eq!(matmul(a, b, 2, 3, 2, options).unwrap(), AB, "{ta} {tb}");
        }
    }

    #[test]
    fn bias_then_relu() {
        let bias = [-5.0, 2.0];
        let options = MatmulOptions {
            bias: Some(&bias),
            ..MatmulOptions::default()
        };
        // [[4-5, -1+2], [10-5, -1+2]] = [[-1, 1], [5, 1]].
        assert_eq!(
            matmul(&A, &B, 2, 3, 2, options).unwrap(),
            [-1.0, 1.0, 5.0, 1.0]
        );
        let options = MatmulOptions {
            relu: true,
            ..options
        };
        assert_eq!(
            matmul(&A, &B, 2, 3, 2, options).unwrap(),
            [0.0, 1.0, 5.0, 1.0]
        );
    }

    #[test]
    fn empty_shapes() {
        let d = MatmulOptions::default();
        assert!(matmul(&[], &[1.0, 2.0], 0, 1, 2, d).unwrap().is_empty());
        assert!(matmul(&[1.0, 2.0], &[], 2, 1, 0, d).unwrap().is_empty());
        let bias = [1.5, -2.0];
        let options = MatmulOptions {
            bias: Some(&bias),
            relu: true,
            ..d
        };
        assert_eq!(
            matmul(&[], &[], 2, 0, 2, options).unwrap(),
            [1.5, 0.0, 1.5, 0.0]
        );
    }

    #[test]
    fn bad_sizes_and_values_are_errors() {
        let d = MatmulOptions::default();
        assert!(matches!(
            matmul(&A, &B, 2, 2, 2, d),
            Err(CoreError::DimensionMismatch {
                expected: 4,
                got: 6,
                ..
            })
        ));
        assert!(matches!(
            matmul(&A, &B[..4], 2, 3, 2, d),
            Err(CoreError::DimensionMismatch {
                expected: 6,
                got: 4,
                ..
            })
        ));
        let bias = [1.0];
        let options = MatmulOptions {
            bias: Some(&bias),
            ..d
        };
        assert!(matches!(
            matmul(&A, &B, 2, 3, 2, options),
            Err(CoreError::DimensionMismatch {
                expected: 2,
                got: 1,
                ..
            })
        ));
        let mut bad = B;
        bad[3] = f64::NAN;
        assert!(matches!(
            matmul(&A, &bad, 2, 3, 2, d),
            Err(CoreError::NonFinite {
                what: "b",
                index: 3,
                ..
            })
        ));
        assert!(matches!(
            matmul(&[], &[], usize::MAX, 2, 0, d),
            Err(CoreError::InvalidValue { what: "a", .. })
        ));
    }
}
