//! Row-wise and global reductions (sum, max, argmax, mean): the oracles of the `reduce_rows`
//! kernel in `scalelab-gpu` and of its two-pass global reduction `reduce_all`.

use crate::CoreError;

/// What a reduction computes over a row `x[0..n)` (or the whole input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// `Σ_c x[c]`.
    Sum,
    /// `max_c x[c]`.
    Max,
    /// The smallest `c` with `x[c] = max x` (first index among ties), as an `f64`.
    ArgMax,
    /// `(Σ_c x[c]) / n`.
    Mean,
}

impl ReduceOp {
    /// Every op, in declaration order.
    pub const ALL: [ReduceOp; 4] = [
        ReduceOp::Sum,
        ReduceOp::Max,
        ReduceOp::ArgMax,
        ReduceOp::Mean,
    ];
}

/// Reduces one non-empty slice (summed in index order).
fn reduce(values: &[f64], op: ReduceOp) -> f64 {
    match op {
        ReduceOp::Sum => values.iter().sum(),
        ReduceOp::Mean => values.iter().sum::<f64>() / values.len() as f64,
        ReduceOp::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ReduceOp::ArgMax => {
            let mut best = 0;
            for (c, &x) in values.iter().enumerate() {
                if x > values[best] {
                    best = c;
                }
            }
            best as f64
        }
    }
}

/// One value per row of a row-major batch with `n_cols` columns: `out[r] = op(x[r, 0..n_cols))`
/// (see [`ReduceOp`]; argmax gives the 0-based column of the first maximum).
///
/// Zero rows give an empty vector. Errors: `n_cols == 0` (`InvalidValue`), `data.len()` not a
/// multiple of `n_cols` (`DimensionMismatch`), NaN/±inf (`NonFinite`, flat index).
pub fn reduce_rows(data: &[f64], n_cols: usize, op: ReduceOp) -> Result<Vec<f64>, CoreError> {
    CoreError::check_rows("data", data, n_cols)?;
    Ok(data
        .chunks_exact(n_cols)
        .map(|row| reduce(row, op))
        .collect())
}

/// `op` over all of `data` (argmax: the flat 0-based index of the first maximum).
///
/// Errors: empty `data` (`EmptyInput`), NaN/±inf (`NonFinite`, index).
pub fn reduce_all(data: &[f64], op: ReduceOp) -> Result<f64, CoreError> {
    CoreError::check_finite_nonempty("data", data)?;
    Ok(reduce(data, op))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_by_hand() {
        let data = [1.0, 5.0, 5.0, -2.0, -7.0, -3.0, -3.0, -8.0];
        assert_eq!(reduce_rows(&data, 4, ReduceOp::Sum).unwrap(), [9.0, -21.0]);
        assert_eq!(
            reduce_rows(&data, 4, ReduceOp::Mean).unwrap(),
            [2.25, -5.25]
        );
        assert_eq!(reduce_rows(&data, 4, ReduceOp::Max).unwrap(), [5.0, -3.0]);
        // Ties go to the first index: 5 at columns 1 and 2, -3 at columns 1 and 2.
        assert_eq!(reduce_rows(&data, 4, ReduceOp::ArgMax).unwrap(), [1.0, 1.0]);
        assert_eq!(
            reduce_rows(&data, 2, ReduceOp::ArgMax).unwrap(),
            [1.0, 0.0, 1.0, 0.0]
        );
        assert!(reduce_rows(&[], 3, ReduceOp::Sum).unwrap().is_empty());
    }

    #[test]
    fn all_by_hand() {
        let data = [1.0, 5.0, 5.0, -2.0, -7.0, -3.0, -3.0, -8.0];
        assert_eq!(reduce_all(&data, ReduceOp::Sum).unwrap(), -12.0);
        assert_eq!(reduce_all(&data, ReduceOp::Mean).unwrap(), -1.5);
        assert_eq!(reduce_all(&data, ReduceOp::Max).unwrap(), 5.0);
        assert_eq!(reduce_all(&data, ReduceOp::ArgMax).unwrap(), 1.0);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            reduce_rows(&[1.0], 0, ReduceOp::Sum),
            Err(CoreError::InvalidValue { .. })
        ));
        assert!(matches!(
            reduce_rows(&[1.0; 5], 2, ReduceOp::Max),
            Err(CoreError::DimensionMismatch { .. })
        ));
        assert!(matches!(
            reduce_rows(&[1.0, f64::INFINITY], 2, ReduceOp::Max),
            Err(CoreError::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            reduce_all(&[], ReduceOp::Sum),
            Err(CoreError::EmptyInput { .. })
        ));
    }
}
