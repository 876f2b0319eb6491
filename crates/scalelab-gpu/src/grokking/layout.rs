//! Where a run's tensors live on the device: every tensor back to back in one flat buffer, each
//! starting at a 256-byte boundary so that layers can bind their weight as a range of it.

use crate::resident::aligned;

/// The flat layout of the parameter tensors (and of their gradients and optimizer moments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TensorLayout {
    /// Start of each tensor, in f32 values (multiples of the binding alignment).
    pub(crate) offsets: Vec<usize>,
    /// Length of each tensor.
    pub(crate) lengths: Vec<usize>,
    /// Length of the flat buffer (the last tensor's end, aligned).
    pub(crate) total: usize,
}

impl TensorLayout {
    /// The layout of tensors of these lengths, in order.
    pub(crate) fn of(lengths: &[usize]) -> TensorLayout {
        let mut offsets = Vec::with_capacity(lengths.len());
        let mut at = 0;
        for &len in lengths {
            offsets.push(at);
            at += aligned(len);
        }
        TensorLayout {
            offsets,
            lengths: lengths.to_vec(),
            total: at.max(1),
        }
    }

    /// The tensors packed into the flat layout (the padding is zero).
    pub(crate) fn pack(&self, tensors: &[Vec<f32>]) -> Vec<f32> {
        let mut flat = vec![0.0; self.total];
        for ((t, &offset), &len) in tensors.iter().zip(&self.offsets).zip(&self.lengths) {
            flat[offset..offset + len].copy_from_slice(&t[..len]);
        }
        flat
    }

    /// The tensors read out of a flat buffer.
    pub(crate) fn unpack(&self, flat: &[f32]) -> Vec<Vec<f32>> {
        self.offsets
            .iter()
            .zip(&self.lengths)
            .map(|(&offset, &len)| flat[offset..offset + len].to_vec())
            .collect()
    }

    /// The ranges ⊥Grad projects, as `orthogonal_grad` takes them (`[start, end)` of range `r`
    /// is `offsets[r] .. offsets[r + 1]`): each tensor, then its padding as a range of its own, so
    /// the padding never enters a tensor's dot products.
    pub(crate) fn projection_bounds(&self) -> Vec<u32> {
        let mut bounds = Vec::with_capacity(2 * self.offsets.len() + 1);
        for (&offset, &len) in self.offsets.iter().zip(&self.lengths) {
            bounds.push(offset as u32);
            bounds.push((offset + len) as u32);
        }
        bounds.push(self.total as u32);
        bounds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_start_aligned_and_round_trip() {
        let layout = TensorLayout::of(&[3, 64, 65]);
        assert_eq!(layout.offsets, [0, 64, 128]);
        assert_eq!(layout.total, 256);
        let tensors = vec![vec![1.0; 3], vec![2.0; 64], vec![3.0; 65]];
        let flat = layout.pack(&tensors);
        assert_eq!(flat[3..64], [0.0; 61]);
        assert_eq!(layout.unpack(&flat), tensors);
        assert_eq!(layout.projection_bounds(), [0, 3, 64, 128, 128, 193, 256]);
    }
}
