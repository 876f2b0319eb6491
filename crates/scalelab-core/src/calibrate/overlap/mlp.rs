//! A fully connected ReLU network with biases (PyTorch `nn.Linear` layers and their default
//! initialisation `U(−1/√fan_in, 1/√fan_in)` for weights and biases), trained by Adam (Kingma & Ba
//! 2015, PyTorch's defaults β = (0.9, 0.999), ε = 1e-8, no weight decay) on the mean
//! cross-entropy against soft targets — one-hot labels for ERM, the Dirichlet-weighted label
//! mixture for Mixup. No hidden layer is softmax regression. Products go through nalgebra's
//! matrix multiply (matrixmultiply's blocked GEMM).

use nalgebra::{DMatrix, DVector};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, PartialEq)]
struct Layer {
    /// `out × in`.
    w: DMatrix<f64>,
    b: DVector<f64>,
}

/// The network.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    layers: Vec<Layer>,
}

/// Gradients of every layer, in the network's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradients(Vec<Layer>);

impl Mlp {
    /// Layers of sizes `sizes[0] → sizes[1] → … → sizes[last]` (inputs, hidden widths, classes).
    pub fn new(sizes: &[usize], rng: &mut ChaCha8Rng) -> Mlp {
        let layers = sizes
            .windows(2)
            .map(|io| {
                let bound = 1.0 / (io[0] as f64).sqrt();
                let mut u = || rng.random_range(-bound..bound);
                Layer {
                    w: DMatrix::from_fn(io[1], io[0], |_, _| u()),
                    b: DVector::from_fn(io[1], |_, _| u()),
                }
            })
            .collect();
        Mlp { layers }
    }

    /// Number of parameters.
    pub fn parameters(&self) -> usize {
        self.layers.iter().map(|l| l.w.len() + l.b.len()).sum()
    }

    /// Pre-activations of every layer for inputs `x` (`rows × in`); the last are the logits.
    fn forward(&self, x: &DMatrix<f64>) -> Vec<DMatrix<f64>> {
        let mut out: Vec<DMatrix<f64>> = Vec::with_capacity(self.layers.len());
        for (l, layer) in self.layers.iter().enumerate() {
            let h = if l == 0 {
                x * layer.w.transpose()
            } else {
                out[l - 1].map(|v| v.max(0.0)) * layer.w.transpose()
            };
            let mut a = h;
            for mut row in a.row_iter_mut() {
                row += layer.b.transpose();
            }
            out.push(a);
        }
        out
    }

    /// The logits of inputs `x` (`rows × in`), `rows × classes`.
    pub fn logits(&self, x: &DMatrix<f64>) -> DMatrix<f64> {
        self.forward(x).pop().expect("at least one layer")
    }

    /// The mean cross-entropy of the logits of `x` against the soft `targets` (rows summing to
    /// 1) and its gradient.
    pub fn loss_and_gradient(&self, x: &DMatrix<f64>, targets: &DMatrix<f64>) -> (f64, Gradients) {
        let acts = self.forward(x);
        let rows = x.nrows() as f64;
        let logits = &acts[acts.len() - 1];
        let mut delta = logits.clone();
        let mut loss = 0.0;
        for (i, mut row) in delta.row_iter_mut().enumerate() {
            let m = row.max();
            let sum: f64 = row.iter().map(|&v| (v - m).exp()).sum();
            let lse = m + sum.ln();
            for (j, v) in row.iter_mut().enumerate() {
                let t = targets[(i, j)];
                loss -= t * (*v - lse);
                *v = ((*v - lse).exp() - t) / rows;
            }
        }
        let mut grads = Vec::with_capacity(self.layers.len());
        for l in (0..self.layers.len()).rev() {
            let input = if l == 0 {
                x.clone()
            } else {
                acts[l - 1].map(|v| v.max(0.0))
            };
            let w = delta.transpose() * &input;
            let b = DVector::from_iterator(delta.ncols(), delta.column_iter().map(|c| c.sum()));
            if l > 0 {
                let mut back = &delta * &self.layers[l].w;
                back.zip_apply(&acts[l - 1], |d, a| {
                    if a <= 0.0 {
                        *d = 0.0
                    }
                });
                delta = back;
            }
            grads.push(Layer { w, b });
        }
        grads.reverse();
        (loss / rows, Gradients(grads))
    }
}

/// Adam's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    lr: f64,
    step: i32,
    m: Vec<Layer>,
    v: Vec<Layer>,
}

impl Adam {
    /// Zero moments for `net`, learning rate `lr`.
    pub fn new(net: &Mlp, lr: f64) -> Adam {
        let zeros: Vec<Layer> = net
            .layers
            .iter()
            .map(|l| Layer {
                w: DMatrix::zeros(l.w.nrows(), l.w.ncols()),
                b: DVector::zeros(l.b.len()),
            })
            .collect();
        Adam {
            lr,
            step: 0,
            m: zeros.clone(),
            v: zeros,
        }
    }

    /// One Adam step of `net` along `grads`.
    pub fn step(&mut self, net: &mut Mlp, grads: &Gradients) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        const EPS: f64 = 1e-8;
        self.step += 1;
        let c1 = 1.0 - B1.powi(self.step);
        let c2 = 1.0 - B2.powi(self.step);
        let lr = self.lr;
        let update = |p: &mut [f64], g: &[f64], m: &mut [f64], v: &mut [f64]| {
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = B1 * *m + (1.0 - B1) * g;
                *v = B2 * *v + (1.0 - B2) * g * g;
                *p -= lr * (*m / c1) / ((*v / c2).sqrt() + EPS);
            }
        };
        for (((layer, g), m), v) in net
            .layers
            .iter_mut()
            .zip(&grads.0)
            .zip(self.m.iter_mut())
            .zip(self.v.iter_mut())
        {
            update(
                layer.w.as_mut_slice(),
                g.w.as_slice(),
                m.w.as_mut_slice(),
                v.w.as_mut_slice(),
            );
            update(
                layer.b.as_mut_slice(),
                g.b.as_slice(),
                m.b.as_mut_slice(),
                v.b.as_mut_slice(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The analytic gradient against central differences of the loss (step 1e-6) on a 2-hidden-
    /// layer network with soft targets.
    #[test]
    fn gradient_matches_central_differences() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let net = Mlp::new(&[3, 5, 4, 3], &mut rng);
        let x = DMatrix::from_fn(6, 3, |i, j| ((i * 3 + j) as f64 * 0.37).sin() * 2.0);
        let t = DMatrix::from_fn(6, 3, |i, j| [[0.2, 0.5, 0.3], [1.0, 0.0, 0.0]][i % 2][j]);
        let (_, Gradients(g)) = net.loss_and_gradient(&x, &t);
        let h = 1e-6;
        for (l, gl) in g.iter().enumerate() {
            for idx in 0..gl.w.len() + gl.b.len() {
                let bump = |d: f64| {
                    let mut n = net.clone();
                    let nw = n.layers[l].w.len();
                    if idx < nw {
                        n.layers[l].w.as_mut_slice()[idx] += d;
                    } else {
                        n.layers[l].b.as_mut_slice()[idx - nw] += d;
                    }
                    n.loss_and_gradient(&x, &t).0
                };
                let numeric = (bump(h) - bump(-h)) / (2.0 * h);
                let nw = gl.w.len();
                let analytic = if idx < nw {
                    gl.w.as_slice()[idx]
                } else {
                    gl.b.as_slice()[idx - nw]
                };
                assert!(
                    (numeric - analytic).abs() < 1e-7,
                    "layer {l} parameter {idx}: {analytic} vs {numeric}"
                );
            }
        }
    }
}
