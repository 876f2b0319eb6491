//! The tolerance model: the largest allowed |GPU − oracle| of each output element
//! ([`Workload::tolerance`]), from the error analysis of each kernel.

use scalelab_core::ops;

use super::call::{ElementwiseKind, KernelCall, RowKernel};
use super::Workload;
use crate::convert::to_f64;
use crate::kernels::reduce_rows::ReduceOp;
use crate::probe::PROBE_TOLERANCE;

/// f32 unit roundoff 2⁻²⁴.
const U: f64 = 1.0 / (1u64 << 24) as f64;

impl Workload {
    /// The largest allowed |GPU − oracle| of each output element, from the error analysis of
    /// each kernel (f32 unit roundoff u = 2⁻²⁴; the same bounds as the native tests):
    /// matmul `γ_{k+1}(|A|·|B| + |bias|)`; probabilities and gradients 1e-6
    /// ([`PROBE_TOLERANCE`]); log-probabilities and losses `1e-5 + 1e-6·|want|`; max and argmax
    /// exact; sums `γ_n Σ|x|` (means that over n, plus u·|want|); axpy `2u(|αx| + |y|)`, scale
    /// `u|αx|`, ReLU exact; AdamW `1e-6` times the size of each update term; ⊥Grad
    /// `1e-5(1 + |want|)κ²` with κ = ‖g‖/‖g⊥‖; GMM `2u(d + 8)(1 + E)(1 + S)` (see the kernel).
    pub fn tolerance(&self, want: &[f64]) -> Vec<f64> {
        let gamma = |j: usize| j as f64 * U / (1.0 - j as f64 * U);
        match &self.call {
            KernelCall::Matmul {
                a,
                b,
                m,
                k,
                n,
                bias,
                transpose_a,
                transpose_b,
                ..
            } => {
                let abs = |xs: &[f32]| xs.iter().map(|x| f64::from(x.abs())).collect::<Vec<_>>();
                let bias = bias.as_deref().map(abs);
                let options = ops::matmul::MatmulOptions {
                    transpose_a: *transpose_a,
                    transpose_b: *transpose_b,
                    bias: bias.as_deref(),
                    relu: false,
                };
                let scale = ops::matmul::matmul(&abs(a), &abs(b), *m, *k, *n, options)
                    .unwrap_or_else(|_| vec![f64::INFINITY; want.len()]);
                scale.iter().map(|s| gamma(k + 1) * s).collect()
            }
            KernelCall::Rows { kind, .. } => match kind {
                RowKernel::Softmax | RowKernel::Stablemax => vec![PROBE_TOLERANCE; want.len()],
                _ => want.iter().map(|w| 1e-5 + 1e-6 * w.abs()).collect(),
            },
            KernelCall::CrossEntropy { labels, .. } => want
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    if i < labels.len() {
                        1e-5 + 1e-6 * w.abs()
                    } else {
                        PROBE_TOLERANCE
                    }
                })
                .collect(),
            KernelCall::Reduce { data, cols, op } => {
                let len = cols.unwrap_or(data.len());
                let rows: Vec<&[f32]> = data.chunks(len.max(1)).collect();
                rows.iter()
                    .zip(want)
                    .map(|(row, w)| {
                        let abs_sum: f64 = row.iter().map(|x| f64::from(x.abs())).sum();
                        match op {
                            ReduceOp::Max | ReduceOp::ArgMax => 0.0,
                            ReduceOp::Sum => gamma(len) * abs_sum,
                            ReduceOp::Mean => {
                                gamma(len) * abs_sum / len.max(1) as f64 + U * w.abs()
                            }
                        }
                    })
                    .collect()
            }
            KernelCall::Elementwise { kind, alpha, x, y } => {
                let alpha = f64::from(*alpha);
                x.iter()
                    .zip(y)
                    .map(|(&x, &y)| {
                        let (x, y) = (f64::from(x), f64::from(y));
                        match kind {
                            ElementwiseKind::Axpy => 2.0 * U * ((alpha * x).abs() + y.abs()),
                            ElementwiseKind::Scale => U * (alpha * x).abs(),
                            ElementwiseKind::Relu | ElementwiseKind::ReluGrad => 0.0,
                        }
                    })
                    .collect()
            }
            KernelCall::AdamW {
                param,
                grad,
                m,
                v,
                step,
                cfg,
            } => {
                let t = i32::try_from(*step).unwrap_or(i32::MAX);
                let e = param.len();
                let mut tol = vec![0.0; 3 * e];
                for i in 0..e {
                    let (p, g, m0, v0) = (
                        f64::from(param[i]),
                        f64::from(grad[i]),
                        f64::from(m[i]),
                        f64::from(v[i]),
                    );
                    let m_new = want.get(e + i).copied().unwrap_or(0.0);
                    let v_new = want.get(2 * e + i).copied().unwrap_or(0.0);
                    let m_hat = m_new / (1.0 - cfg.beta1.powi(t));
                    let v_hat = v_new / (1.0 - cfg.beta2.powi(t));
                    let update = cfg.lr * m_hat / (v_hat.sqrt() + cfg.eps);
                    tol[i] = 1e-6 * (p.abs() + update.abs()) + 1e-9;
                    tol[e + i] = 1e-6 * (cfg.beta1 * m0.abs() + (1.0 - cfg.beta1) * g.abs());
                    tol[2 * e + i] = 1e-6 * (cfg.beta2 * v0 + (1.0 - cfg.beta2) * g * g);
                }
                tol
            }
            KernelCall::Orthogonal {
                w,
                g,
                lengths,
                rescale,
            } => {
                // κ = ‖g‖/‖g⊥‖ per tensor, from the unrescaled projection.
                let perp = ops::optim::orthogonal_grad(&to_f64(w), &to_f64(g), lengths, false)
                    .unwrap_or_default();
                let mut tol = Vec::with_capacity(want.len());
                let mut start = 0;
                for &len in lengths {
                    let end = (start + len).min(want.len()).min(g.len()).min(perp.len());
                    let norm =
                        |xs: &mut dyn Iterator<Item = f64>| xs.map(|x| x * x).sum::<f64>().sqrt();
                    let g_norm = norm(&mut g[start..end].iter().map(|&x| f64::from(x)));
                    let kappa = g_norm / norm(&mut perp[start..end].iter().copied());
                    let cond = if *rescale { kappa * kappa } else { kappa };
                    tol.extend(want[start..end].iter().map(|w| {
                        if !kappa.is_finite() || kappa > 1e3 {
                            // g ∥ w (every 1-element tensor): g⊥ is round-off, rescaled to ‖g‖
                            // in f32 while f64 may give 0 (science.md §1.2); only |out| ≤ ‖g‖
                            // is meaningful.
                            g_norm * (1.0 + 1e-3) + w.abs()
                        } else {
                            1e-5 * (1.0 + w.abs()) * cond
                        }
                    }));
                    start = end;
                }
                tol.resize(want.len(), 0.0);
                tol
            }
            KernelCall::Gmm {
                x,
                d,
                sigma,
                means,
                stds,
                weights,
            } => {
                let d = (*d).max(1);
                let sigma2 = f64::from(*sigma).powi(2);
                let means = to_f64(means);
                let mut tol = Vec::with_capacity(x.len());
                for point in x.chunks_exact(d) {
                    let point = to_f64(point);
                    let mut e_max: f64 = 0.0;
                    for ((mu, &s), &pi) in means.chunks_exact(d).zip(stds).zip(weights) {
                        let var = f64::from(s).powi(2) + sigma2;
                        let c = f64::from(pi).ln()
                            - d as f64 / 2.0 * (2.0 * std::f64::consts::PI * var).ln();
                        let dist2: f64 = point.iter().zip(mu).map(|(a, b)| (a - b) * (a - b)).sum();
                        e_max = e_max.max(c.abs() + dist2 / (2.0 * var));
                    }
                    let s = point
                        .iter()
                        .chain(&means)
                        .fold(0.0f64, |acc, v| acc.max(v.abs()));
                    let t = 2.0 * U * (d as f64 + 8.0) * (1.0 + e_max) * (1.0 + s);
                    tol.extend(std::iter::repeat_n(t, d));
                }
                tol
            }
        }
    }
}
