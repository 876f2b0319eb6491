// sgd_step: one SGD step with momentum and weight decay (PyTorch torch.optim.SGD, dampening 0,
// nesterov = false), elementwise over n f32 parameters:
//
//   g' = g + weight_decay * p
//   b' = g'                      at the first step (first = 1)
//   b' = momentum * b + g'       afterwards
//   p' = p - lr * b'
//
// Bindings: param, grad, buf (the momentum buffer b), output = [p' | b'] (2n).
// One invocation per element, workgroups folded into a 2-D grid.
// Launcher: src/kernels/sgd_step.rs. CPU reference: scalelab_core::grokking's optimizer.

struct SgdParams {
    len: u32,
    first: u32,
    pad0: u32,
    pad1: u32,
    lr: f32,
    momentum: f32,
    weight_decay: f32,
    pad2: f32,
}

// Invocations per workgroup, set per pipeline by the launcher (64 or 256).
override workgroup_size: u32 = 256u;

@group(0) @binding(0) var<uniform> params: SgdParams;
@group(0) @binding(1) var<storage, read> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> buf: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(workgroup_size)
fn sgd_step(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let n = params.len;
    let i = (group.y * groups.x + group.x) * workgroup_size + lane;
    if i >= n || i >= arrayLength(&param) || i >= arrayLength(&grad) || i >= arrayLength(&buf) {
        return;
    }
    // n + i cannot wrap: the launcher keeps 2n <= u32::MAX.
    if n + i >= arrayLength(&output) {
        return;
    }
    let p = param[i];
    let g = grad[i] + params.weight_decay * p;
    var b = g;
    if params.first == 0u {
        b = params.momentum * buf[i] + g;
    }
    output[i] = p - params.lr * b;
    output[n + i] = b;
}
