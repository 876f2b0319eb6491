// log_stablemax_rows: row-wise log-StableMax of a row-major rows x cols f32 matrix, stable form
// (Prieto et al. 2025, "Grokking at the edge of numerical stability").
//
//   s(x)      = x + 1        if x >= 0            log s(x) = log1p(x)    if x >= 0
//             = 1 / (1 - x)  if x <  0                     = -log1p(-x) if x <  0
//   M_r       = max_k x[r, k]            (s is increasing, so s(M_r) = max_k s(x[r, k]))
//   y[r, c]   = (log s(x[r, c]) - log s(M_r)) - log(sum_k s(x[r, k]) / s(M_r))
//
// Unlike the reference code's log(s / sum s), no probability is formed, so nothing underflows
// to log(0) = -inf; the sum of ratios lies in [1, cols], so its log is finite.
// One workgroup per row, strided over the columns, shared-memory reductions of max and sum.
// Launcher: src/kernels/log_stablemax_rows.rs.
// CPU oracle: scalelab_core::ops::cross_entropy::log_stablemax_rows.

struct RowParams {
    rows: u32,
    cols: u32,
    pad0: u32,
    pad1: u32,
}

// Invocations per workgroup, set per pipeline by the launcher (64 or 256).
override workgroup_size: u32 = 256u;

// Lowest finite f32: the identity of max for finite inputs (the launcher rejects non-finite ones).
const lowest_f32: f32 = -0x1.fffffep+127f;

@group(0) @binding(0) var<uniform> params: RowParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;

var<workgroup> scratch: array<f32, workgroup_size>;

fn s(x: f32) -> f32 {
    return select(1.0 / (1.0 - x), x + 1.0, x >= 0.0);
}

// log(1 + x) for x >= 0, accurate also for tiny x (WGSL has no log1p): with u = fl(1 + x),
// log(u) * x / (u - 1) cancels the rounding of u (Goldberg 1991, Thm. 4).
fn log1p_nonneg(x: f32) -> f32 {
    let u = 1.0 + x;
    if u == 1.0 {
        return x;
    }
    return log(u) * (x / (u - 1.0));
}

fn log_s(x: f32) -> f32 {
    return select(-log1p_nonneg(-x), log1p_nonneg(x), x >= 0.0);
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
fn log_stablemax_rows(
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

    var local_max = lowest_f32;
    for (var c = lane; c < cols; c += workgroup_size) {
        let i = start + c;
        if i < in_len {
            local_max = max(local_max, input[i]);
        }
    }
    let row_max = reduce_max(lane, local_max);
    let s_max = s(row_max);
    let log_s_max = log_s(row_max);

    var local_sum = 0.0;
    for (var c = lane; c < cols; c += workgroup_size) {
        let i = start + c;
        if i < in_len {
            local_sum += s(input[i]) / s_max;
        }
    }
    let log_sum = log(reduce_sum(lane, local_sum));

    for (var c = lane; c < cols; c += workgroup_size) {
        let i = start + c;
        if i < in_len && i < out_len {
            output[i] = (log_s(input[i]) - log_s_max) - log_sum;
        }
    }
}
