//! The modular-arithmetic task (the paper's `AlgorithmicDataset`): every pair `(a, b)` with
//! `a, b ∈ [0, p)`, sample `i = a·p + b`, target `(a ∘ b) mod p`, input the concatenation of the
//! one-hot codes of `a` and `b` (`2p` values, never stored: the first layer reads two columns).
//! The split takes `⌊fraction · p²⌋` samples for training (the paper's `int(frac · len)`), drawn by
//! a seeded ChaCha8 shuffle (not PyTorch's `random_split`, whose generator is not reproduced); the
//! test samples are the rest in increasing order.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::CoreError;

/// The operation `∘` of the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModOp {
    /// `(a + b) mod p`.
    Add,
    /// `(a − b) mod p`, in `[0, p)`.
    Subtract,
    /// `(a · b) mod p`.
    Multiply,
}

impl ModOp {
    /// `(a ∘ b) mod p` for `a, b < p`.
    pub fn apply(self, a: usize, b: usize, p: usize) -> usize {
        match self {
            ModOp::Add => (a + b) % p,
            ModOp::Subtract => (a + p - b) % p,
            ModOp::Multiply => (a * b) % p,
        }
    }

    /// The key used in URLs and the npm package.
    pub fn key(self) -> &'static str {
        match self {
            ModOp::Add => "add",
            ModOp::Subtract => "subtract",
            ModOp::Multiply => "multiply",
        }
    }
}

/// Samples of one side of the split: the two operands and the target of each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Samples {
    /// First operand `a` of each sample.
    pub a: Vec<u32>,
    /// Second operand `b` of each sample.
    pub b: Vec<u32>,
    /// Target `(a ∘ b) mod p`.
    pub target: Vec<u32>,
}

impl Samples {
    /// The samples with these indices `i = a·p + b`, in the order given.
    pub fn of_indices(indices: &[usize], p: usize, op: ModOp) -> Samples {
        let mut s = Samples::default();
        for &i in indices {
            let (a, b) = (i / p, i % p);
            s.a.push(a as u32);
            s.b.push(b as u32);
            s.target.push(op.apply(a, b, p) as u32);
        }
        s
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.target.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.target.is_empty()
    }
}

/// Number of training samples for a fraction of `p²` pairs: `⌊fraction · p²⌋`.
pub fn train_count(p: usize, fraction: f64) -> usize {
    ((p * p) as f64 * fraction).floor() as usize
}

/// The sample indices of a split: `train` in the drawn order, `test` the rest in increasing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training indices.
    pub train: Vec<usize>,
    /// Test indices.
    pub test: Vec<usize>,
}

impl Split {
    /// The seeded split of `p²` samples with `⌊fraction · p²⌋` for training (Fisher–Yates with
    /// ChaCha8 seeded by `seed`).
    pub fn seeded(p: usize, fraction: f64, seed: u64) -> Split {
        let n = p * p;
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for i in (1..n).rev() {
            let j = rng.random_range(0..=i);
            order.swap(i, j);
        }
        let k = train_count(p, fraction).min(n);
        Split::from_train(order[..k].to_vec(), p)
    }

    /// A split given by its training indices (each `< p²`, none twice); the test set is the rest.
    pub fn from_train(train: Vec<usize>, p: usize) -> Split {
        let mut in_train = vec![false; p * p];
        for &i in &train {
            in_train[i] = true;
        }
        let test = (0..p * p).filter(|&i| !in_train[i]).collect();
        Split { train, test }
    }

    /// Checks training indices given from outside: each `< p²` (`IndexOutOfRange`), none twice
    /// (`InvalidValue`), at least one (`EmptyInput`) and not all (`InvalidValue`).
    pub fn check_train(train: &[usize], p: usize) -> Result<(), CoreError> {
        let n = p * p;
        if train.is_empty() {
            return Err(CoreError::EmptyInput {
                what: "training indices",
            });
        }
        let mut seen = vec![false; n];
        for &i in train {
            if i >= n {
                return Err(CoreError::IndexOutOfRange {
                    what: "training sample",
                    index: i,
                    len: n,
                });
            }
            if std::mem::replace(&mut seen[i], true) {
                return Err(CoreError::InvalidValue {
                    what: "training indices",
                    reason: format!("sample {i} is listed twice; list each sample once"),
                });
            }
        }
        if train.len() == n {
            return Err(CoreError::InvalidValue {
                what: "training indices",
                reason: "every sample is a training sample; leave some for the test set".into(),
            });
        }
        Ok(())
    }
}
