//! The fast CPU matrix product in `f32` and `f64`: nalgebra's `gemm`, which is matrixmultiply's
//! blocked SGEMM/DGEMM with its SIMD kernels (AVX/FMA and AVX-512 natively, SIMD128 in
//! WebAssembly built with `+simd128`), on column-major slices used as they are or transposed.
//! The grokking trainer and the npm package's CPU backend multiply through it; the `f64` oracles
//! of the GPU kernels (`ops`) stay sequential sums.

use nalgebra::{DMatrixView, DMatrixViewMut, Dyn};

/// A format the product runs in: `f32` or `f64`.
pub trait Real: nalgebra::RealField + Copy + Default + Send + Sync + 'static {
    /// `x` rounded to this format.
    fn of(x: f64) -> Self;
    /// The value as `f64` (exact).
    fn f64(self) -> f64;
}

impl Real for f32 {
    fn of(x: f64) -> f32 {
        x as f32
    }
    fn f64(self) -> f64 {
        f64::from(self)
    }
}

impl Real for f64 {
    fn of(x: f64) -> f64 {
        x
    }
    fn f64(self) -> f64 {
        self
    }
}

/// A column-major matrix held in a slice (`rows × cols`, column stride `rows`; a row-major
/// matrix is its transpose), used as it is or transposed.
#[derive(Clone, Copy)]
pub struct Operand<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    transposed: bool,
}

impl<'a, T: Real> Operand<'a, T> {
    /// The stored matrix `rows × cols`.
    pub fn plain(data: &'a [T], rows: usize, cols: usize) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "an operand's slice holds rows × cols values"
        );
        Operand {
            data,
            rows,
            cols,
            transposed: false,
        }
    }

    /// The transpose of the stored matrix `rows × cols` (a view: nothing is copied).
    pub fn transposed(data: &'a [T], rows: usize, cols: usize) -> Self {
        Operand {
            transposed: true,
            ..Operand::plain(data, rows, cols)
        }
    }

    /// Rows and columns of the operand as used.
    fn shape(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// Element `(i, j)` of the operand as used.
    fn at(&self, i: usize, j: usize) -> T {
        if self.transposed {
            self.data[j + i * self.rows]
        } else {
            self.data[i + j * self.rows]
        }
    }

    fn view(&self) -> DMatrixView<'a, T, Dyn, Dyn> {
        let (r, c) = self.shape();
        let (rs, cs) = if self.transposed {
            (self.rows, 1)
        } else {
            (1, self.rows)
        };
        DMatrixView::from_slice_with_strides_generic(self.data, Dyn(r), Dyn(c), Dyn(rs), Dyn(cs))
    }
}

/// `c ← α · a · b + β · c`, `c` column-major `a.rows × b.cols` in a slice (with `β = 0`, `c` is
/// not read).
///
/// # Panics
/// If the shapes disagree (callers check sizes first).
pub fn gemm<T: Real>(c: &mut [T], a: Operand<'_, T>, b: Operand<'_, T>, alpha: T, beta: T) {
    let (m, k) = a.shape();
    let (k2, n) = b.shape();
    assert_eq!(k, k2, "the inner dimensions agree");
    assert_eq!(c.len(), m * n, "c holds a.rows × b.cols values");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for v in c.iter_mut() {
            *v = if beta == T::zero() {
                T::zero()
            } else {
                beta * *v
            };
        }
        return;
    }
    if m.min(n).min(k) <= NALGEBRA_SMALL_DIM {
        // nalgebra multiplies small matrices column by column, and that path mishandles views
        // whose rows are strided (it reads past the column); matrixmultiply is no faster here.
        for j in 0..n {
            for i in 0..m {
                let mut acc = T::zero();
                for l in 0..k {
                    acc += a.at(i, l) * b.at(l, j);
                }
                let cij = &mut c[i + j * m];
                *cij = alpha * acc
                    + if beta == T::zero() {
                        T::zero()
                    } else {
                        beta * *cij
                    };
            }
        }
        return;
    }
    let mut cv = DMatrixViewMut::from_slice_generic(c, Dyn(m), Dyn(n));
    cv.gemm(alpha, &a.view(), &b.view(), beta);
}

/// At or below this size in any dimension nalgebra's `gemm` does not call matrixmultiply.
const NALGEBRA_SMALL_DIM: usize = 5;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::matmul::{matmul, MatmulOptions};

    /// Seeded values in [−1, 1).
    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
            })
            .collect()
    }

    /// Against the f64 oracle `ops::matmul` (row-major, sequential sums) in every transpose
    /// combination, at sizes on both sides of nalgebra's small-matrix path.
    #[test]
    fn gemm_matches_the_matmul_oracle() {
        for (m, k, n) in [(2, 3, 4), (7, 9, 11), (5, 40, 6), (33, 17, 64)] {
            // A (m × k) and B (k × n), row-major for the oracle.
            let a = values(m * k, 1);
            let b = values(k * n, 2);
            let oracle = matmul(&a, &b, m, k, n, MatmulOptions::default()).unwrap();
            // Row-major m × k is column-major k × m: the stored matrix is Aᵀ.
            let (at, bt) = (Operand::transposed(&a, k, m), Operand::transposed(&b, n, k));
            // The same matrices stored column-major.
            let col = |x: &[f64], r: usize, c: usize| -> Vec<f64> {
                (0..r * c).map(|i| x[(i % r) * c + i / r]).collect()
            };
            let (ac, bc) = (col(&a, m, k), col(&b, k, n));
            let (ap, bp) = (Operand::plain(&ac, m, k), Operand::plain(&bc, k, n));
            for (x, y) in [(ap, bp), (at, bp), (ap, bt), (at, bt)] {
                let mut c = vec![0.5; m * n];
                gemm(&mut c, x, y, 1.0, 0.0);
                for i in 0..m {
                    for j in 0..n {
                        let d = (c[i + j * m] - oracle[i * n + j]).abs();
                        assert!(d < 1e-12, "{m}×{k}×{n} at ({i}, {j}): {d}");
                    }
                }
                // β = 1 adds to what is there.
                let mut c2 = c.clone();
                gemm(&mut c2, x, y, 2.0, 1.0);
                for (v2, v) in c2.iter().zip(&c) {
                    assert!((v2 - 3.0 * v).abs() < 1e-12);
                }
            }
        }
    }
}
