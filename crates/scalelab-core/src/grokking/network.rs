//! The MLP `2p → hidden… → p` (PyTorch `nn.Linear` layers, ReLU between them, none after the
//! last), its forward pass over a set of samples and its backward pass.
//!
//! Layout: a weight `W` of a layer `in → out` is column-major `out × in` (column `j` is the
//! weight of input `j`, contiguous); activations are column-major `width × samples` (one sample's
//! values contiguous). The one-hot input is never formed: the first layer's output for sample
//! `(a, b)` is `W[:, a] + W[:, p + b]`, which is exactly `W · x` (the other 2p − 2 terms are
//! exact zeros), and its weight gradient adds the output gradient to those two columns.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::task::Samples;
use crate::gemm::{gemm, Operand, Real};

/// The parameter tensors of the network in PyTorch's order (`W₁, [b₁,] W₂, [b₂,] …`) and the
/// layer sizes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Network<T> {
    /// `2p, hidden…, p`.
    pub sizes: Vec<usize>,
    /// Whether every layer has a bias.
    pub bias: bool,
    /// The tensors, weights column-major `out × in`.
    pub tensors: Vec<Vec<T>>,
}

impl<T: Real> Network<T> {
    /// PyTorch's default initialisation of `nn.Linear`: weights and biases `U(−1/√in, 1/√in)`
    /// (`kaiming_uniform_(a = √5)`), drawn in `f64` from ChaCha8 and rounded to `T`.
    pub fn init(sizes: &[usize], bias: bool, rng: &mut ChaCha8Rng) -> Network<T> {
        let mut tensors = Vec::new();
        for io in sizes.windows(2) {
            let bound = 1.0 / (io[0] as f64).sqrt();
            let mut draw = |len: usize| -> Vec<T> {
                (0..len)
                    .map(|_| T::of(rng.random_range(-bound..bound)))
                    .collect()
            };
            tensors.push(draw(io[0] * io[1]));
            if bias {
                tensors.push(draw(io[1]));
            }
        }
        Network {
            sizes: sizes.to_vec(),
            bias,
            tensors,
        }
    }

    /// Number of layers.
    pub fn layers(&self) -> usize {
        self.sizes.len() - 1
    }

    /// Index of layer `l`'s weight in [`Network::tensors`].
    pub fn weight_index(&self, l: usize) -> usize {
        l * (1 + usize::from(self.bias))
    }

    /// Shapes of the tensors in PyTorch's terms: `[out, in]` for weights, `[out]` for biases.
    pub fn shapes(&self) -> Vec<Vec<usize>> {
        let mut shapes = Vec::new();
        for io in self.sizes.windows(2) {
            shapes.push(vec![io[1], io[0]]);
            if self.bias {
                shapes.push(vec![io[1]]);
            }
        }
        shapes
    }

    /// Forward pass over `samples`: every layer's output (after the ReLU for hidden layers; the
    /// last is the logits, `p × n`) into `outputs`, which is resized as needed.
    pub fn forward(&self, samples: &Samples, outputs: &mut Vec<Vec<T>>) {
        let n = samples.len();
        let layers = self.layers();
        outputs.resize_with(layers, Vec::new);
        for l in 0..layers {
            let (n_in, n_out) = (self.sizes[l], self.sizes[l + 1]);
            let w = &self.tensors[self.weight_index(l)];
            let (before, rest) = outputs.split_at_mut(l);
            let out = &mut rest[0];
            out.clear();
            out.resize(n_out * n, T::zero());
            if l == 0 {
                let p = n_in / 2;
                for (i, col) in out.chunks_exact_mut(n_out).enumerate() {
                    let wa = &w[samples.a[i] as usize * n_out..][..n_out];
                    let wb = &w[(p + samples.b[i] as usize) * n_out..][..n_out];
                    for ((o, &x), &y) in col.iter_mut().zip(wa).zip(wb) {
                        *o = x + y;
                    }
                }
            } else {
                gemm(
                    out,
                    Operand::plain(w, n_out, n_in),
                    Operand::plain(&before[l - 1], n_in, n),
                    T::one(),
                    T::zero(),
                );
            }
            if self.bias {
                let b = &self.tensors[self.weight_index(l) + 1];
                for col in out.chunks_exact_mut(n_out) {
                    for (o, &bj) in col.iter_mut().zip(b) {
                        *o += bj;
                    }
                }
            }
            if l + 1 < layers {
                // A select, not a branch, so that it vectorises (NaN passes, as in PyTorch).
                for v in out.iter_mut() {
                    *v = if *v < T::zero() { T::zero() } else { *v };
                }
            }
        }
    }

    /// Backward pass: from the gradient of the loss with respect to the logits (`delta`, `p × n`,
    /// overwritten), the gradient of every tensor into `grads` (resized, overwritten), given the
    /// outputs of [`Network::forward`] on the same samples. `scratch` is working memory.
    pub fn backward(
        &self,
        samples: &Samples,
        outputs: &[Vec<T>],
        delta: &mut Vec<T>,
        scratch: &mut Vec<T>,
        grads: &mut Vec<Vec<T>>,
    ) {
        let n = samples.len();
        grads.resize_with(self.tensors.len(), Vec::new);
        for (g, t) in grads.iter_mut().zip(&self.tensors) {
            g.clear();
            g.resize(t.len(), T::zero());
        }
        for l in (0..self.layers()).rev() {
            let (n_in, n_out) = (self.sizes[l], self.sizes[l + 1]);
            let wi = self.weight_index(l);
            if self.bias {
                let gb = &mut grads[wi + 1];
                for col in delta.chunks_exact(n_out) {
                    for (g, &d) in gb.iter_mut().zip(col) {
                        *g += d;
                    }
                }
            }
            let gw = &mut grads[wi];
            if l == 0 {
                let p = n_in / 2;
                for (i, col) in delta.chunks_exact(n_out).enumerate() {
                    for column in [samples.a[i] as usize, p + samples.b[i] as usize] {
                        for (g, &d) in gw[column * n_out..][..n_out].iter_mut().zip(col) {
                            *g += d;
                        }
                    }
                }
            } else {
                let input = &outputs[l - 1];
                gemm(
                    gw,
                    Operand::plain(delta, n_out, n),
                    Operand::transposed(input, n_in, n),
                    T::one(),
                    T::zero(),
                );
                // The gradient of the previous layer's output, through its ReLU (a zero output
                // passes no gradient, as PyTorch's `threshold_backward`).
                scratch.clear();
                scratch.resize(n_in * n, T::zero());
                gemm(
                    scratch,
                    Operand::transposed(&self.tensors[wi], n_out, n_in),
                    Operand::plain(delta, n_out, n),
                    T::one(),
                    T::zero(),
                );
                for (g, &a) in scratch.iter_mut().zip(input) {
                    *g = if a > T::zero() { *g } else { T::zero() };
                }
                std::mem::swap(delta, scratch);
            }
        }
    }
}
