// one_hot_layer_grad: the weight gradient of one_hot_layer, without atomics. Input column c of
// the first layer is read by the samples with a_s = c (c < p) or p + b_s = c, so
//
//   grad[c, j] = sum over those samples s, in increasing order, of delta[s, j]
//
// (the order in which the CPU trainer adds them, sample by sample). The host lists the samples of
// every column once per run: `lists` = [offsets (columns + 1 values) | sample indices], the
// samples of column c at lists[offsets[c] .. offsets[c + 1]] (offsets count from the start of
// `lists`). delta is row-major samples x width, grad row-major columns x width. One invocation per
// gradient element; neighbouring invocations read neighbouring j.
// Launcher: src/kernels/one_hot_layer_grad.rs. CPU reference: the CPU trainers of
// scalelab_core::grokking (the GPU trainer's tests compare whole epochs).

struct OneHotGradParams {
    columns: u32,
    width: u32,
    pad0: u32,
    pad1: u32,
}

// Invocations per workgroup, set per pipeline by the launcher (64 or 256).
override workgroup_size: u32 = 256u;

@group(0) @binding(0) var<uniform> params: OneHotGradParams;
@group(0) @binding(1) var<storage, read> delta: array<f32>;
@group(0) @binding(2) var<storage, read> lists: array<u32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(workgroup_size)
fn one_hot_layer_grad(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * workgroup_size + lane;
    let width = params.width;
    if width == 0u || i >= params.columns * width || i >= arrayLength(&output) {
        return;
    }
    let c = i / width;
    let j = i % width;
    if c + 1u >= arrayLength(&lists) {
        return;
    }
    let end = min(lists[c + 1u], arrayLength(&lists));
    var sum = 0.0;
    for (var t = lists[c]; t < end; t++) {
        let d = lists[t] * width + j;
        if d < arrayLength(&delta) {
            sum += delta[d];
        }
    }
    output[i] = sum;
}
