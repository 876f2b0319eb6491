//! What a training epoch reports, and the Fourier view of the first layer.

use serde::{Deserialize, Serialize};

use crate::gemm::Real;

/// Loss and accuracy on the test set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TestMetrics {
    /// Mean test loss (the training loss function).
    pub loss: f64,
    /// Fraction of test samples classified correctly.
    pub accuracy: f64,
}

/// The metrics of epoch `e` (1-based): everything describes the weights `θ_{e−1}` before the
/// epoch's step and the step taken from them, as the paper's logger does at its epochs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// The epoch (the number of steps taken once it is done).
    pub epoch: u64,
    /// Mean training loss.
    pub train_loss: f64,
    /// Fraction of training samples classified correctly (the first largest logit).
    pub train_accuracy: f64,
    /// Test loss and accuracy, at the evaluated epochs (every `eval_every`, and the first).
    pub test: Option<TestMetrics>,
    /// Softmax Collapse: the fraction of training samples whose shifted exp-sum is exactly 1 in
    /// the softmax precision (the logger's procedure on the training logits, in `f64` emulation).
    pub sc_fraction: f64,
    /// Fraction of training samples whose loss is exactly 0.
    pub zero_loss_fraction: f64,
    /// Mean L2 norm of the training samples' logit rows.
    pub logit_norm: f64,
    /// `‖w‖₂` of every parameter tensor (`W₁, [b₁,] W₂, …`).
    pub weight_norms: Vec<f64>,
    /// `cos(θ_e − θ_{e−1}, θ_{e−1})` of every tensor: 1 is a pure scaling of the weights, the
    /// naïve-loss-minimisation direction (Prieto et al., Def. 5 and Fig. 5).
    pub update_cosine: Vec<f64>,
}

/// `‖x‖₂` in `f64`.
pub(crate) fn norm<T: Real>(x: &[T]) -> f64 {
    x.iter().map(|&v| v.f64() * v.f64()).sum::<f64>().sqrt()
}

/// `cos(after − before, before)` in `f64`; 0 when either vector is 0.
pub(crate) fn update_cosine<T: Real>(after: &[T], before: &[T]) -> f64 {
    let (mut dot, mut dd, mut bb) = (0.0, 0.0, 0.0);
    for (&a, &b) in after.iter().zip(before) {
        let (a, b) = (a.f64(), b.f64());
        let d = a - b;
        dot += d * b;
        dd += d * d;
        bb += b * b;
    }
    if dd == 0.0 || bb == 0.0 {
        0.0
    } else {
        dot / (dd.sqrt() * bb.sqrt())
    }
}

/// The power spectrum of the first layer's embeddings of the two operands.
///
/// For operand `a` the embedding of the value `j ∈ [0, p)` is the weight column `W₁[:, j]` (for
/// `b`, `W₁[:, p + j]`). Over `j`, each hidden unit's row has the DFT
/// `F_h[k] = Σ_j W₁[h, j] e^{−2πi kj/p}`; the power of frequency `k` is `Σ_h |F_h[k]|²`, for
/// `k = 0 … ⌊p/2⌋` (the rest mirror these). A network that has grokked modular addition puts
/// most of it on a few key frequencies (Nanda et al. 2023).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fourier {
    /// Power per frequency of the first operand's embedding.
    pub first: Vec<f64>,
    /// Power per frequency of the second operand's embedding.
    pub second: Vec<f64>,
}

impl Fourier {
    /// The spectrum of `w` (column-major `hidden × 2p`, as the network holds it).
    pub(crate) fn of<T: Real>(w: &[T], hidden: usize, p: usize) -> Fourier {
        let half = p / 2;
        let angle =
            |k: usize, j: usize| 2.0 * std::f64::consts::PI * ((k * j) % p) as f64 / p as f64;
        let (cos, sin): (Vec<f64>, Vec<f64>) = (0..=half)
            .flat_map(|k| (0..p).map(move |j| (k, j)))
            .map(|(k, j)| (angle(k, j).cos(), angle(k, j).sin()))
            .unzip();
        let power = |offset: usize| -> Vec<f64> {
            let mut re = vec![0.0; (half + 1) * hidden];
            let mut im = vec![0.0; (half + 1) * hidden];
            for j in 0..p {
                let col = &w[(offset + j) * hidden..][..hidden];
                for k in 0..=half {
                    let (c, s) = (cos[k * p + j], sin[k * p + j]);
                    let (re_k, im_k) = (
                        &mut re[k * hidden..][..hidden],
                        &mut im[k * hidden..][..hidden],
                    );
                    for ((r, i), &x) in re_k.iter_mut().zip(im_k.iter_mut()).zip(col) {
                        let x = x.f64();
                        *r += x * c;
                        *i -= x * s;
                    }
                }
            }
            (0..=half)
                .map(|k| {
                    let r = &re[k * hidden..][..hidden];
                    let i = &im[k * hidden..][..hidden];
                    r.iter().zip(i).map(|(a, b)| a * a + b * b).sum()
                })
                .collect()
        };
        Fourier {
            first: power(0),
            second: power(p),
        }
    }
}
