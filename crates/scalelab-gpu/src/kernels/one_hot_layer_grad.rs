//! The weight gradient of the one-hot first layer (`one_hot_layer_grad.wgsl`): each column's
//! samples summed in order from per-column sample lists, so no float atomics are needed. Bound
//! resident by the GPU trainer ([`crate::GpuTrainer`]), which checks it against the CPU trainer.

use crate::kernels::KernelSource;

/// The `one_hot_layer_grad` kernel.
pub const SOURCE: KernelSource = KernelSource {
    name: "one_hot_layer_grad",
    wgsl: include_str!("one_hot_layer_grad.wgsl"),
    overrides: &[("workgroup_size", &[64.0, 256.0])],
};

/// Per-dispatch sizes, uploaded as a uniform (`struct OneHotGradParams` in the WGSL).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct OneHotGradParams {
    /// Input columns of the layer (`2p`).
    pub columns: u32,
    /// Output width of the layer.
    pub width: u32,
    /// Padding to the 16-byte size of a uniform struct.
    pub pad0: u32,
    /// Padding to the 16-byte size of a uniform struct.
    pub pad1: u32,
}

/// The sample lists the kernel reads: `[offsets (columns + 1) | samples]`, where the samples of
/// column `c` are those with `a_s = c` or `p + b_s = c`, in increasing order, and offsets count
/// from the start of the returned vector.
pub fn column_lists(a: &[u32], b: &[u32], p: usize) -> Vec<u32> {
    let columns = 2 * p;
    let mut counts = vec![0u32; columns];
    for (&x, &y) in a.iter().zip(b) {
        counts[x as usize] += 1;
        counts[p + y as usize] += 1;
    }
    let mut lists = Vec::with_capacity(columns + 1 + 2 * a.len());
    let mut at = (columns + 1) as u32;
    for &count in &counts {
        lists.push(at);
        at += count;
    }
    lists.push(at);
    let mut next: Vec<u32> = lists[..columns].to_vec();
    lists.resize(at as usize, 0);
    for (s, (&x, &y)) in a.iter().zip(b).enumerate() {
        for c in [x as usize, p + y as usize] {
            lists[next[c] as usize] = s as u32;
            next[c] += 1;
        }
    }
    lists
}
