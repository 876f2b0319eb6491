//! The optimizers, stepping every parameter tensor in the training format as PyTorch's
//! single-tensor loops do (science.md §1.4):
//!
//! - AdamW (`torch.optim.AdamW`): `p ← p(1 − lr·λ)`, `m ← m + (1 − β₁)(g − m)`,
//!   `v ← β₂v + (1 − β₂)g²`, `p ← p − (lr/(1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)`;
//! - SGD (`torch.optim.SGD`, dampening 0): `g ← g + λp`, `b ← g` at the first step, then
//!   `b ← μb + g`; `p ← p − lr·b`;
//! - ⊥Grad before either (the reference `orthograd.py`, per tensor, flattened):
//!   `g⊥ = g − (w·g / (w·w + 1e-30)) w`, optionally `· ‖g‖/(‖g⊥‖ + 1e-30)`. The dot products
//!   and norms are accumulated in `f64` (PyTorch accumulates them in the tensor's format).

use super::config::{OptimizerConfig, OptimizerKind, Orthogonal};
use crate::gemm::Real;
use crate::ops::optim::ORTHO_EPS;
use crate::CoreError;

/// An optimizer's state over a list of tensors.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Optimizer<T> {
    config: OptimizerConfig,
    /// Steps taken.
    step: u64,
    /// AdamW's first moment, or SGD's momentum buffer.
    m: Vec<Vec<T>>,
    /// AdamW's second moment (empty for SGD).
    v: Vec<Vec<T>>,
}

fn dot(a: &[impl Real], b: &[impl Real]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x.f64() * y.f64()).sum()
}

/// ⊥Grad of one tensor, in place.
fn project<T: Real>(w: &[T], g: &mut [T], rescale: bool) {
    let wg = dot(w, g);
    let ww = dot(w, w) + ORTHO_EPS;
    let gg = if rescale { dot(g, g) } else { 0.0 };
    let proj = T::of(wg / ww);
    for (gi, &wi) in g.iter_mut().zip(w) {
        *gi -= proj * wi;
    }
    if rescale {
        let scale = T::of(gg.sqrt() / (dot(g, g).sqrt() + ORTHO_EPS));
        for gi in g.iter_mut() {
            *gi *= scale;
        }
    }
}

impl<T: Real> Optimizer<T> {
    /// A fresh optimizer for tensors of these lengths.
    pub fn new(config: OptimizerConfig, lengths: &[usize]) -> Optimizer<T> {
        let zeros = || lengths.iter().map(|&n| vec![T::zero(); n]).collect();
        Optimizer {
            config,
            step: 0,
            m: zeros(),
            v: match config.kind {
                OptimizerKind::Adamw => zeros(),
                OptimizerKind::Sgd => Vec::new(),
            },
        }
    }

    /// The state: AdamW's first and second moments (SGD: the momentum buffers, and no second).
    pub fn state(&self) -> (&[Vec<T>], &[Vec<T>]) {
        (&self.m, &self.v)
    }

    /// A step taken elsewhere (on a GPU): its state replaces this one's, and the step count
    /// advances. Errors: a tensor count or length that differs (`DimensionMismatch`).
    pub fn step_taken(&mut self, m: Vec<Vec<T>>, v: Vec<Vec<T>>) -> Result<(), CoreError> {
        for (what, ours, given) in [
            ("first moments", &self.m, &m),
            ("second moments", &self.v, &v),
        ] {
            let lengths = |x: &[Vec<T>]| x.iter().map(Vec::len).collect::<Vec<_>>();
            if lengths(ours) != lengths(given) {
                return Err(CoreError::DimensionMismatch {
                    what,
                    expected: ours.iter().map(Vec::len).sum(),
                    got: given.iter().map(Vec::len).sum(),
                });
            }
        }
        self.m = m;
        self.v = v;
        self.step += 1;
        Ok(())
    }

    /// One step of every tensor with its gradient (which ⊥Grad overwrites).
    pub fn step(&mut self, params: &mut [Vec<T>], grads: &mut [Vec<T>]) {
        self.step += 1;
        let c = self.config;
        match c.orthogonal {
            Orthogonal::Off => {}
            Orthogonal::Project | Orthogonal::ProjectRescale => {
                for (w, g) in params.iter().zip(grads.iter_mut()) {
                    project(w, g, c.orthogonal == Orthogonal::ProjectRescale);
                }
            }
        }
        match c.kind {
            OptimizerKind::Adamw => self.adamw(params, grads),
            OptimizerKind::Sgd => self.sgd(params, grads),
        }
    }

    fn adamw(&mut self, params: &mut [Vec<T>], grads: &[Vec<T>]) {
        let c = self.config;
        let (beta1, beta2, eps) = c.adam_constants();
        let t = self.step as f64;
        let decay = T::of(1.0 - c.lr * c.weight_decay);
        let step_size = T::of(c.lr / (1.0 - beta1.powf(t)));
        let bc2_sqrt = T::of((1.0 - beta2.powf(t)).sqrt());
        let (one_minus_b1, b2, one_minus_b2, eps) = (
            T::of(1.0 - beta1),
            T::of(beta2),
            T::of(1.0 - beta2),
            T::of(eps),
        );
        for (((p, g), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            for (((pi, &gi), mi), vi) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *pi *= decay;
                *mi += one_minus_b1 * (gi - *mi);
                *vi = *vi * b2 + one_minus_b2 * gi * gi;
                let denom = vi.sqrt() / bc2_sqrt + eps;
                *pi -= step_size * (*mi / denom);
            }
        }
    }

    fn sgd(&mut self, params: &mut [Vec<T>], grads: &[Vec<T>]) {
        let c = self.config;
        let (lr, mu, wd) = (T::of(c.lr), T::of(c.momentum), T::of(c.weight_decay));
        let first = self.step == 1;
        for ((p, g), b) in params.iter_mut().zip(grads).zip(&mut self.m) {
            for ((pi, &gi), bi) in p.iter_mut().zip(g).zip(b.iter_mut()) {
                let gi = gi + wd * *pi;
                *bi = if first { gi } else { mu * *bi + gi };
                *pi -= lr * *bi;
            }
        }
    }
}
