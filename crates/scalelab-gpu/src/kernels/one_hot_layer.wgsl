// one_hot_layer: the first layer of the grokking MLP on one-hot inputs, without forming them.
// Sample s is the pair (a_s, b_s); its input is one-hot(a_s) ++ one-hot(b_s) (2p values), so
//
//   out[s, j] = relu?(W[a_s, j] + W[p + b_s, j]  (+ bias[j]))
//
// which is exactly (W x_s)[j]: the other 2p - 2 products are exact zeros. W is the weight stored
// row-major 2p x width (row c is the weight of input c), `operands` holds (a_s, b_s) as u32 pairs,
// out is row-major samples x width. One invocation per output element, workgroups folded into a
// 2-D grid as in elementwise.wgsl.
// Launcher: src/kernels/one_hot_layer.rs. CPU reference: the f32 and f64 CPU trainers of
// scalelab_core::grokking (the GPU trainer's tests compare whole epochs).

struct OneHotParams {
    samples: u32,
    width: u32,
    p: u32,
    // Bit 0: add the bias; bit 1: ReLU.
    flags: u32,
}

const FLAG_BIAS: u32 = 1u;
const FLAG_RELU: u32 = 2u;

// Invocations per workgroup, set per pipeline by the launcher (64 or 256).
override workgroup_size: u32 = 256u;

@group(0) @binding(0) var<uniform> params: OneHotParams;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> operands: array<u32>;
// Length width with FLAG_BIAS; otherwise a placeholder that is never read.
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(workgroup_size)
fn one_hot_layer(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * workgroup_size + lane;
    let width = params.width;
    if width == 0u || i >= params.samples * width || i >= arrayLength(&output) {
        return;
    }
    let s = i / width;
    let j = i % width;
    if 2u * s + 1u >= arrayLength(&operands) {
        return;
    }
    let a = operands[2u * s];
    let b = operands[2u * s + 1u];
    let wa = a * width + j;
    let wb = (params.p + b) * width + j;
    if wa >= arrayLength(&w) || wb >= arrayLength(&w) {
        return;
    }
    var z = w[wa] + w[wb];
    if (params.flags & FLAG_BIAS) != 0u && j < arrayLength(&bias) {
        z += bias[j];
    }
    if (params.flags & FLAG_RELU) != 0u {
        z = select(z, 0.0, z < 0.0);
    }
    output[i] = z;
}
