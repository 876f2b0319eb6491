// elementwise: one f32 map over flat vectors of length params.len; params.op selects
//
//   0 axpy:      out[i] = alpha * x[i] + y[i]
//   1 scale:     out[i] = alpha * x[i]           (y unused)
//   2 relu:      out[i] = max(x[i], 0)           (y unused)
//   3 relu_grad: out[i] = x[i] if y[i] > 0 else 0   (x = upstream gradient, y = pre-activation)
//
// One invocation per element; workgroups are spread over a 2-D grid
// (i = (workgroup_id.y * num_workgroups.x + workgroup_id.x) * workgroup_size + lane) so more than
// 65 535 workgroups fit.
// Launcher: src/kernels/elementwise.rs. CPU oracle: scalelab_core::ops::elementwise::elementwise.

struct ElementwiseParams {
    len: u32,
    op: u32,
    alpha: f32,
    pad0: u32,
}

const OP_AXPY: u32 = 0u;
const OP_SCALE: u32 = 1u;
const OP_RELU: u32 = 2u;
const OP_RELU_GRAD: u32 = 3u;

// Invocations per workgroup, set per pipeline by the launcher (64 or 256).
override workgroup_size: u32 = 256u;

@group(0) @binding(0) var<uniform> params: ElementwiseParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
// Length len for axpy and relu_grad; otherwise a placeholder that is never read.
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(workgroup_size)
fn elementwise(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let i = (group.y * groups.x + group.x) * workgroup_size + lane;
    if i >= params.len || i >= arrayLength(&x) || i >= arrayLength(&output) {
        return;
    }
    let xi = x[i];
    var result = 0.0;
    switch params.op {
        case OP_AXPY: {
            if i < arrayLength(&y) {
                result = params.alpha * xi + y[i];
            }
        }
        case OP_SCALE: {
            result = params.alpha * xi;
        }
        case OP_RELU: {
            result = max(xi, 0.0);
        }
        case OP_RELU_GRAD: {
            if i < arrayLength(&y) && y[i] > 0.0 {
                result = xi;
            }
        }
        default: {
            // Unknown op: leave the NaN the launcher pre-filled, so the error is visible.
            return;
        }
    }
    output[i] = result;
}
