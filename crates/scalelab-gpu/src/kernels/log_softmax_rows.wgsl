// log_softmax_rows: row-wise log-softmax of a row-major rows x cols f32 matrix.
//
//   m_r       = max_k x[r, k]
//   y[r, c]   = (x[r, c] - m_r) - log(sum_k exp(x[r, k] - m_r))
//
// The max shift keeps every exponent <= 0 (nothing overflows, the sum is >= 1, so its log is
// finite) and the result never passes through a probability that could underflow to 0: rows
// whose softmax underflows still get finite log-probabilities. One workgroup per row, strided
// over the columns, shared-memory reductions of max and sum.
// Launcher: src/kernels/log_softmax_rows.rs.
// CPU oracle: scalelab_core::ops::cross_entropy::log_softmax_rows.

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
fn log_softmax_rows(
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

    var local_sum = 0.0;
    for (var c = lane; c < cols; c += workgroup_size) {
        let i = start + c;
        if i < in_len {
            local_sum += exp(input[i] - row_max);
        }
    }
    let log_sum = log(reduce_sum(lane, local_sum));

    for (var c = lane; c < cols; c += workgroup_size) {
        let i = start + c;
        if i < in_len && i < out_len {
            output[i] = (input[i] - row_max) - log_sum;
        }
    }
}
