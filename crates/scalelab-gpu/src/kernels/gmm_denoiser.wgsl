// gmm_denoiser: posterior mean E[x0 | x_t] of a mixture of K isotropic Gaussians, one invocation
// per sample x_t (a row of d f32 values), in log space with max-shift:
//
//   v_k      = s_k^2 + sigma^2
//   log w_k  = c_k - ||x_t - mu_k||^2 * h_k,   c_k = ln pi_k - d/2 ln(2 pi v_k),  h_k = 1/(2 v_k)
//   e_k      = exp(log w_k - max_j log w_j),   Z = sum_k e_k  (>= 1: the max term is 1)
//   out_j    = (sum_k e_k (a_k x_j + b_k mu_kj)) / Z,   a_k = s_k^2 / v_k,  b_k = sigma^2 / v_k
//
// The per-component constants c, h, a, b are computed in f64 by the launcher and rounded once.
// Bindings: x (batch * d), mixture = [mu (K * d) | c (K) | h (K) | a (K) | b (K)],
// output (batch * d). K <= MAX_COMPONENTS (the launcher checks; the log-weights live in a private
// array). Samples are spread over a 2-D grid of workgroups.
// Launcher: src/kernels/gmm_denoiser.rs. CPU oracle: scalelab_core::ops::gmm::gmm_denoiser.

struct GmmParams {
    batch: u32,
    dim: u32,
    components: u32,
    pad0: u32,
}

// Largest K; keep in step with MAX_GMM_COMPONENTS in gmm_denoiser.rs.
const MAX_COMPONENTS: u32 = 64u;

// Invocations per workgroup, set per pipeline by the launcher (64 or 256).
override workgroup_size: u32 = 256u;

@group(0) @binding(0) var<uniform> params: GmmParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mixture: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;

@compute @workgroup_size(workgroup_size)
fn gmm_denoiser(
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let d = params.dim;
    let k_count = min(params.components, MAX_COMPONENTS);
    let i = (group.y * groups.x + group.x) * workgroup_size + lane;
    if i >= params.batch || d == 0u || k_count == 0u {
        return;
    }
    // No wrap: the launcher keeps batch * d and K * (d + 4) <= u32::MAX.
    let row = i * d;
    let c_off = k_count * d;
    let h_off = c_off + k_count;
    let a_off = h_off + k_count;
    let b_off = a_off + k_count;
    if row + d > arrayLength(&x) || row + d > arrayLength(&output)
        || b_off + k_count > arrayLength(&mixture) {
        return;
    }

    var log_w: array<f32, MAX_COMPONENTS>;
    var top = -0x1.fffffep+127f;
    for (var k = 0u; k < k_count; k++) {
        var dist2 = 0.0;
        let mu = k * d;
        for (var j = 0u; j < d; j++) {
            let diff = x[row + j] - mixture[mu + j];
            dist2 += diff * diff;
        }
        let lw = mixture[c_off + k] - dist2 * mixture[h_off + k];
        log_w[k] = lw;
        top = max(top, lw);
    }
    // e_k, Z and A = sum_k e_k a_k; then log_w[k] holds e_k b_k.
    var total = 0.0;
    var a_sum = 0.0;
    for (var k = 0u; k < k_count; k++) {
        let e = exp(log_w[k] - top);
        total += e;
        a_sum += e * mixture[a_off + k];
        log_w[k] = e * mixture[b_off + k];
    }
    for (var j = 0u; j < d; j++) {
        var acc = a_sum * x[row + j];
        for (var k = 0u; k < k_count; k++) {
            acc += log_w[k] * mixture[k * d + j];
        }
        output[row + j] = acc / total;
    }
}
