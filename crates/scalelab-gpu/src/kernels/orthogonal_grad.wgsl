// orthogonal_grad: the ⊥Grad projection of Prieto et al. 2025 (Def. 7 and the reference
// orthograd.py), done per parameter tensor. w and g hold the tensors back to back; tensor t is
// [offsets[t], offsets[t + 1]).
//
//   proj  = (w . g) / (w . w + 1e-30)
//   g_orth = g - proj * w
//   if rescale: g_orth *= |g| / (|g_orth| + 1e-30)     (the code's rescale to the original norm)
//
// One workgroup per tensor (a 2-D grid of them): pass 1 reduces w.w, w.g and g.g together in
// shared memory (a vec4 per lane), pass 2 reduces |g_orth|^2 (only with rescale), pass 3 writes.
// Launcher: src/kernels/orthogonal_grad.rs. CPU oracle: scalelab_core::ops::optim::orthogonal_grad.

struct OrthogonalGradParams {
    tensors: u32,
    len: u32,
    // 1: rescale to the original norm, 0: plain projection.
    rescale: u32,
    pad0: u32,
}

// Invocations per workgroup, set per pipeline by the launcher (64 or 256).
override workgroup_size: u32 = 256u;

// The reference code's epsilon (a normal f32).
const ortho_eps: f32 = 1e-30;

@group(0) @binding(0) var<uniform> params: OrthogonalGradParams;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> offsets: array<u32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

var<workgroup> scratch: array<vec4<f32>, workgroup_size>;

// Tree reduction of scratch[0..workgroup_size) with +; works for any workgroup size.
fn reduce_sum(lane: u32, value: vec4<f32>) -> vec4<f32> {
    scratch[lane] = value;
    workgroupBarrier();
    var width = workgroup_size;
    while width > 1u {
        let upper = (width + 1u) / 2u;
        if lane + upper < width {
            scratch[lane] = scratch[lane] + scratch[lane + upper];
        }
        workgroupBarrier();
        width = upper;
    }
    let total = scratch[0];
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(workgroup_size)
fn orthogonal_grad(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let t = group.y * groups.x + group.x;
    // Uniform per workgroup, so the early returns keep the barriers in uniform control flow.
    if t >= params.tensors || t + 1u >= arrayLength(&offsets) {
        return;
    }
    let start = offsets[t];
    // Clamp to every array's real length.
    let end = min(min(offsets[t + 1u], params.len),
                  min(min(arrayLength(&w), arrayLength(&g)), arrayLength(&output)));
    if start >= end {
        return;
    }

    var local = vec4<f32>(0.0);
    for (var i = start + lane; i < end; i += workgroup_size) {
        let wi = w[i];
        let gi = g[i];
        local += vec4<f32>(wi * wi, wi * gi, gi * gi, 0.0);
    }
    let dots = reduce_sum(lane, local);
    let proj = dots.y / (dots.x + ortho_eps);

    var scale = 1.0;
    if params.rescale == 1u {
        var local_norm = 0.0;
        for (var i = start + lane; i < end; i += workgroup_size) {
            let o = g[i] - proj * w[i];
            local_norm += o * o;
        }
        let orth_sq = reduce_sum(lane, vec4<f32>(local_norm, 0.0, 0.0, 0.0)).x;
        scale = sqrt(dots.z) / (sqrt(orth_sq) + ortho_eps);
    }

    for (var i = start + lane; i < end; i += workgroup_size) {
        output[i] = (g[i] - proj * w[i]) * scale;
    }
}
