// cross_entropy_rows: per-row cross-entropy and its gradient w.r.t. the logits, for a row-major
// rows x cols f32 matrix of logits z and one integer label y per row, with softmax (loss_kind 0)
// or StableMax (loss_kind 1) probabilities (Prieto et al. 2025).
//
//   M_r = max_k z[r, k]
//   softmax:   loss_r = log(sum_k exp(z_k - M_r)) - (z_y - M_r)
//              grad_i = exp(z_i - M_r) / sum_k exp(z_k - M_r) - 1{i = y}
//   StableMax: s(x) = x + 1 (x >= 0), 1 / (1 - x) (x < 0);  s'(x) = 1 (x >= 0), s(x)^2 (x < 0)
//              S_r = sum_k s(z_k) / s(M_r)     (in [1, cols]: s is increasing, s(M_r) = max s)
//              loss_r = (log s(M_r) - log s(z_y)) + log(S_r)
//              grad_i = s'(z_i) / sum_k s(z_k) - 1{i = y} s'(z_y) / s(z_y)
//                     = (1 / s(M_r)) / S_r                (z_i >= 0)
//                     = s(z_i) * (s(z_i) / s(M_r)) / S_r  (z_i <  0)
//                     - 1{i = y} * (1 / s(z_y) if z_y >= 0, s(z_y) if z_y < 0)
//
// Output layout: grad in output[0 .. rows*cols) (same layout as the logits), then the losses in
// output[rows*cols + r]. One workgroup per row, strided over the columns.
// Launcher: src/kernels/cross_entropy_rows.rs.
// CPU oracle: scalelab_core::ops::cross_entropy::cross_entropy_rows.

struct CrossEntropyParams {
    rows: u32,
    cols: u32,
    // 0: softmax cross-entropy, 1: StableMax cross-entropy.
    loss_kind: u32,
    pad0: u32,
}

// Invocations per workgroup, set per pipeline by the launcher (64 or 256).
override workgroup_size: u32 = 256u;

// Lowest finite f32: the identity of max for finite inputs (the launcher rejects non-finite ones).
const lowest_f32: f32 = -0x1.fffffep+127f;

@group(0) @binding(0) var<uniform> params: CrossEntropyParams;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;

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

// The row's term of the normaliser, relative to its largest term.
fn term(x: f32, row_max: f32, s_max: f32, stable: bool) -> f32 {
    if stable {
        return s(x) / s_max;
    }
    return exp(x - row_max);
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
fn cross_entropy_rows(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let row = group.y * groups.x + group.x;
    // Uniform per workgroup, so the early return keeps the barriers below in uniform control flow.
    if row >= params.rows || row >= arrayLength(&labels) {
        return;
    }
    let cols = params.cols;
    let y = labels[row];
    if y >= cols {
        return;
    }
    let stable = params.loss_kind == 1u;
    let start = row * cols;
    let in_len = arrayLength(&logits);
    let out_len = arrayLength(&output);

    var local_max = lowest_f32;
    for (var c = lane; c < cols; c += workgroup_size) {
        let i = start + c;
        if i < in_len {
            local_max = max(local_max, logits[i]);
        }
    }
    let row_max = reduce_max(lane, local_max);
    let s_max = s(row_max);

    var local_sum = 0.0;
    for (var c = lane; c < cols; c += workgroup_size) {
        let i = start + c;
        if i < in_len {
            local_sum += term(logits[i], row_max, s_max, stable);
        }
    }
    let row_sum = reduce_sum(lane, local_sum);

    for (var c = lane; c < cols; c += workgroup_size) {
        let i = start + c;
        if i < in_len && i < out_len {
            let z = logits[i];
            var g: f32;
            if stable {
                if z >= 0.0 {
                    g = (1.0 / s_max) / row_sum;
                } else {
                    let sz = s(z);
                    g = sz * (sz / s_max) / row_sum;
                }
                if c == y {
                    // s'(z_y) / s(z_y): 1 / s(z_y) for z_y >= 0, s(z_y)^2 / s(z_y) = s(z_y) below.
                    g -= select(s(z), 1.0 / s(z), z >= 0.0);
                }
            } else {
                g = exp(z - row_max) / row_sum;
                if c == y {
                    g -= 1.0;
                }
            }
            output[i] = g;
        }
    }

    let loss_index = params.rows * cols + row;
    if lane == 0u && start + y < in_len && loss_index < out_len {
        let z_y = logits[start + y];
        if stable {
            output[loss_index] = (log_s(row_max) - log_s(z_y)) + log(row_sum);
        } else {
            output[loss_index] = log(row_sum) - (z_y - row_max);
        }
    }
}

