// adamw_step: one AdamW step (PyTorch torch.optim.AdamW, amsgrad = false), elementwise over n
// f32 parameters, with the step-dependent scalars precomputed in f64 by the launcher:
//
//   decay      = 1 - lr * weight_decay                (decoupled weight decay)
//   step_size  = lr / (1 - beta1^t)
//   bc2_sqrt   = sqrt(1 - beta2^t)
//
//   m'  = beta1 * m + (1 - beta1) * g
//   v'  = beta2 * v + (1 - beta2) * g^2
//   p'  = p * decay - step_size * m' / (sqrt(v') / bc2_sqrt + eps)
//
// (= p(1 - lr wd) - lr m_hat / (sqrt(v_hat) + eps) with m_hat = m'/(1 - beta1^t),
// v_hat = v'/(1 - beta2^t), PyTorch's order of operations.)
// Bindings: param, grad, moments = [m | v] (2n), output = [p' | m' | v'] (3n).
// One invocation per element, workgroups folded into a 2-D grid.
// Launcher: src/kernels/adamw_step.rs. CPU oracle: scalelab_core::ops::optim::adamw_step.

struct AdamWParams {
    len: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    eps: f32,
    decay: f32,
    step_size: f32,
    bc2_sqrt: f32,
}

// Invocations per workgroup, set per pipeline by the launcher (64 or 256).
override workgroup_size: u32 = 256u;

@group(0) @binding(0) var<uniform> params: AdamWParams;
@group(0) @binding(1) var<storage, read> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> moments: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(workgroup_size)
fn adamw_step(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let n = params.len;
    let i = (group.y * groups.x + group.x) * workgroup_size + lane;
    if i >= n || i >= arrayLength(&param) || i >= arrayLength(&grad) {
        return;
    }
    // n + i and 2n + i cannot wrap: the launcher keeps 3n <= u32::MAX.
    if n + i >= arrayLength(&moments) || 2u * n + i >= arrayLength(&output) {
        return;
    }
    let g = grad[i];
    let m = params.beta1 * moments[i] + params.one_minus_beta1 * g;
    let v = params.beta2 * moments[n + i] + params.one_minus_beta2 * (g * g);
    let denom = sqrt(v) / params.bc2_sqrt + params.eps;
    output[i] = param[i] * params.decay - params.step_size * (m / denom);
    output[n + i] = m;
    output[2u * n + i] = v;
}
