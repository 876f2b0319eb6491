//! Elementwise maps used by training (axpy, scale, ReLU and its gradient): the oracle of the
//! `elementwise` kernel in `scalelab-gpu`.

use crate::CoreError;

/// One elementwise operation and its operands (all slices of one length `len`), over the scalar
/// `T`: `f64` here, `f32` for the GPU kernel (`scalelab_gpu::ElementwiseOp` is this type at `f32`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ElementwiseOp<'a, T = f64> {
    /// `out[i] = alpha · x[i] + y[i]` (the BLAS axpy, `y ← αx + y`, returned as a new vector).
    Axpy {
        /// The scale α.
        alpha: T,
        /// The scaled operand.
        x: &'a [T],
        /// The added operand.
        y: &'a [T],
    },
    /// `out[i] = alpha · x[i]`.
    Scale {
        /// The scale α.
        alpha: T,
        /// The operand.
        x: &'a [T],
    },
    /// `out[i] = max(x[i], 0)`.
    Relu {
        /// The pre-activation.
        x: &'a [T],
    },
    /// `out[i] = grad[i] · 1[x[i] > 0]`: back-propagates `grad` through `relu(x)` (the
    /// subgradient at `x = 0` is taken as 0).
    ReluGrad {
        /// The upstream gradient ∂L/∂relu(x).
        grad: &'a [T],
        /// The pre-activation x.
        x: &'a [T],
    },
}

/// Applies `op` elementwise (see [`ElementwiseOp`] for each formula). Empty operands give an
/// empty vector.
///
/// Errors: the two operands of `Axpy`/`ReluGrad` differ in length (`DimensionMismatch`), a
/// NaN/±inf operand or `alpha` (`NonFinite`; index 0 for `alpha`).
pub fn elementwise(op: ElementwiseOp<'_>) -> Result<Vec<f64>, CoreError> {
    let same_len = |what: &'static str, first: &[f64], second: &[f64]| {
        if first.len() == second.len() {
            Ok(())
        } else {
            Err(CoreError::DimensionMismatch {
                what,
                expected: first.len(),
                got: second.len(),
            })
        }
    };
    match op {
        ElementwiseOp::Axpy { alpha, x, y } => {
            same_len("y length (must equal x length)", x, y)?;
            CoreError::check_finite("alpha", &[alpha])?;
            CoreError::check_finite("x", x)?;
            CoreError::check_finite("y", y)?;
            Ok(x.iter().zip(y).map(|(x, y)| alpha * x + y).collect())
        }
        ElementwiseOp::Scale { alpha, x } => {
            CoreError::check_finite("alpha", &[alpha])?;
            CoreError::check_finite("x", x)?;
            Ok(x.iter().map(|x| alpha * x).collect())
        }
        ElementwiseOp::Relu { x } => {
            CoreError::check_finite("x", x)?;
            Ok(x.iter().map(|x| x.max(0.0)).collect())
        }
        ElementwiseOp::ReluGrad { grad, x } => {
            same_len("x length (must equal grad length)", grad, x)?;
            CoreError::check_finite("grad", grad)?;
            CoreError::check_finite("x", x)?;
            Ok(grad
                .iter()
                .zip(x)
                .map(|(g, x)| if *x > 0.0 { *g } else { 0.0 })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        let x = [1.0, -2.0, 0.0, 3.5];
        let y = [0.5, 0.5, -1.0, 1.0];
        assert_eq!(
            elementwise(ElementwiseOp::Axpy {
                alpha: 2.0,
                x: &x,
                y: &y
            })
            .unwrap(),
            [2.5, -3.5, -1.0, 8.0]
        );
        assert_eq!(
            elementwise(ElementwiseOp::Scale { alpha: -0.5, x: &x }).unwrap(),
            [-0.5, 1.0, 0.0, -1.75]
        );
        assert_eq!(
            elementwise(ElementwiseOp::Relu { x: &x }).unwrap(),
            [1.0, 0.0, 0.0, 3.5]
        );
        assert_eq!(
            elementwise(ElementwiseOp::ReluGrad { grad: &y, x: &x }).unwrap(),
            [0.5, 0.0, 0.0, 1.0]
        );
        assert!(elementwise(ElementwiseOp::Relu { x: &[] })
            .unwrap()
            .is_empty());
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            elementwise(ElementwiseOp::Axpy {
                alpha: 1.0,
                x: &[1.0],
                y: &[1.0, 2.0]
            }),
            Err(CoreError::DimensionMismatch {
                expected: 1,
                got: 2,
                ..
            })
        ));
        assert!(matches!(
            elementwise(ElementwiseOp::ReluGrad {
                grad: &[1.0, 2.0],
                x: &[1.0]
            }),
            Err(CoreError::DimensionMismatch { .. })
        ));
        assert!(matches!(
            elementwise(ElementwiseOp::Scale {
                alpha: f64::NAN,
                x: &[1.0]
            }),
            Err(CoreError::NonFinite { what: "alpha", .. })
        ));
        assert!(matches!(
            elementwise(ElementwiseOp::Relu {
                x: &[0.0, f64::NEG_INFINITY]
            }),
            Err(CoreError::NonFinite {
                what: "x",
                index: 1,
                ..
            })
        ));
    }
}
