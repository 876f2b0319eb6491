// reduce_rows: one value per row of a row-major f32 matrix; params.op selects
//
//   0 sum:    out[r] = sum_c x[r, c]
//   1 max:    out[r] = max_c x[r, c]
//   2 argmax: out[r] = smallest c with x[r, c] = max_c x[r, c], as f32 (exact for c < 2^24)
//   3 mean:   out[r] = (sum_c x[r, c]) / count_r
//
// Row r covers flat elements [r * cols, min((r + 1) * cols, len)), so the last row may be
// partial (count_r < cols): the global reduction uses that to reduce any length in two passes.
// One workgroup per row: each invocation strides over the row, then the workgroup combines the
// (value, index) pairs in a tree in shared memory.
// Launcher: src/kernels/reduce_rows.rs. CPU oracle: scalelab_core::ops::reduce::reduce_rows.

struct ReduceParams {
    rows: u32,
    cols: u32,
    len: u32,
    op: u32,
}

const OP_SUM: u32 = 0u;
const OP_MAX: u32 = 1u;
const OP_ARGMAX: u32 = 2u;
const OP_MEAN: u32 = 3u;

// Invocations per workgroup, set per pipeline by the launcher (64 or 256).
override workgroup_size: u32 = 256u;

// Lowest finite f32: the identity of max for finite inputs (the launcher rejects non-finite ones).
const lowest_f32: f32 = -0x1.fffffep+127f;
// Index of "no element yet": loses every tie against a real index.
const no_index: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> params: ReduceParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> output: array<f32>;

var<workgroup> scratch_value: array<f32, workgroup_size>;
var<workgroup> scratch_index: array<u32, workgroup_size>;

struct Partial {
    value: f32,
    index: u32,
}

// Combines two partial results; for max/argmax the larger value wins, ties go to the lower index.
fn combine(x: Partial, y: Partial) -> Partial {
    if params.op == OP_SUM || params.op == OP_MEAN {
        return Partial(x.value + y.value, 0u);
    }
    if y.value > x.value || (y.value == x.value && y.index < x.index) {
        return y;
    }
    return x;
}

@compute @workgroup_size(workgroup_size)
fn reduce_rows(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let row = group.y * groups.x + group.x;
    if row >= params.rows {
        return;
    }
    let start = row * params.cols;
    let end = min(min(start + params.cols, params.len), arrayLength(&input));

    var acc = Partial(0.0, no_index);
    if params.op == OP_MAX || params.op == OP_ARGMAX {
        acc.value = lowest_f32;
    }
    for (var i = start + lane; i < end; i += workgroup_size) {
        acc = combine(acc, Partial(input[i], i - start));
    }

    scratch_value[lane] = acc.value;
    scratch_index[lane] = acc.index;
    workgroupBarrier();
    var width = workgroup_size;
    while width > 1u {
        let upper = (width + 1u) / 2u;
        if lane + upper < width {
            let merged = combine(
                Partial(scratch_value[lane], scratch_index[lane]),
                Partial(scratch_value[lane + upper], scratch_index[lane + upper]),
            );
            scratch_value[lane] = merged.value;
            scratch_index[lane] = merged.index;
        }
        workgroupBarrier();
        width = upper;
    }

    if lane == 0u && row < arrayLength(&output) {
        var result = scratch_value[0];
        if params.op == OP_ARGMAX {
            result = f32(scratch_index[0]);
        } else if params.op == OP_MEAN {
            result = result / f32(max(end, start + 1u) - start);
        }
        output[row] = result;
    }
}
