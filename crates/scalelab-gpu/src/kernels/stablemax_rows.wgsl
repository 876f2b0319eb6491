// stablemax_rows: row-wise StableMax of a row-major rows x cols f32 matrix
// (Prieto et al. 2025, "Grokking at the edge of numerical stability").
//
//   s(x)      = x + 1        if x >= 0
//             = 1 / (1 - x)  if x <  0
//   y[r, c]   = s(x[r, c]) / sum_k s(x[r, k])
//
// s is positive and grows linearly, so there is no exp to overflow; to keep the f32 sum finite
// even for |x| near f32::MAX, every s is first divided by the row maximum M_r = max_k s(x[r, k])
// (the ratio is unchanged): y = (s / M_r) / sum_k (s_k / M_r).
// One workgroup per row, strided over the columns, shared-memory reductions of max and sum.
// Launcher: src/kernels/stablemax_rows.rs. CPU oracle: scalelab_core::ops::stablemax_rows.

struct RowParams {
    rows: u32,
    cols: u32,
    pad0: u32,
    pad1: u32,
}

// Invocations per workgroup, set per pipeline by the launcher (64 or 256).
override workgroup_size: u32 = 256u;

@group(0) @binding(0) var<uniform> params: RowParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;

var<workgroup> scratch: array<f32, workgroup_size>;

fn s(x: f32) -> f32 {
    return select(1.0 / (1.0 - x), x + 1.0, x >= 0.0);
}

// Tree reduction of scratch[0..workgroup_size) with max; works for any workgroup size.
fn reduce_max(lane: u32, value: f32) -> f32 {
    scratch[lane] = value;
    workgroupBarrier();
    var width = workgroup_size;
    while width > 1u {
        let upper = (width + 1u) / 2u;
        if lane + upper < width {
            scratch[lane] = max(scratch[lane], scratch[lane + upper]);
        }
        workgroupBarrier();
        width = upper;
    }
    let total = scratch[0];
    workgroupBarrier();
    return total;
}

// Tree reduction of scratch[0..workgroup_size) with +; works for any workgroup size.
fn reduce_sum(lane: u32, value: f32) -> f32 {
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
fn stablemax_rows(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let row = group.y * groups.x + group.x;
    if row >= params.rows {
        return;
    }
    let cols = params.cols;
    let start = row * cols;
    let in_len = arrayLength(&input);
    let out_len = arrayLength(&output);

    // s > 0, so 0 is the identity of max here.
    var local_max = 0.0;
    for (var c = lane; c < cols; c += workgroup_size) {
        let i = start + c;
        if i < in_len {
            local_max = max(local_max, s(input[i]));
        }
    }
    let row_max = reduce_max(lane, local_max);

    var local_sum = 0.0;
    for (var c = lane; c < cols; c += workgroup_size) {
        let i = start + c;
        if i < in_len {
            local_sum += s(input[i]) / row_max;
        }
    }
    let row_sum = reduce_sum(lane, local_sum);

    for (var c = lane; c < cols; c += workgroup_size) {
        let i = start + c;
        if i < in_len && i < out_len {
            output[i] = (s(input[i]) / row_max) / row_sum;
        }
    }
}
