//! Batched Gaussian-mixture denoiser on the GPU (`gmm_denoiser.wgsl`), for the Guidance lab: the
//! posterior mean `E[x₀ | x_t]` of a mixture of isotropic Gaussians, one invocation per sample.

use crate::context::GpuContext;
use crate::error::GpuError;
use crate::kernels::elementwise::plan_elementwise;
use crate::kernels::KernelSource;
use crate::launch::{check_finite, run_kernel, KernelLaunch};
use crate::limits::check_buffer;

/// The `gmm_denoiser` kernel.
pub const SOURCE: KernelSource = KernelSource {
    name: "gmm_denoiser",
    wgsl: include_str!("gmm_denoiser.wgsl"),
    overrides: &[("workgroup_size", &[64.0, 256.0])],
};

/// Largest number of mixture components `K` [`gmm_denoiser`] accepts (each invocation keeps the
/// `K` log-weights in a private array of this size; `MAX_COMPONENTS` in the WGSL).
pub const MAX_GMM_COMPONENTS: usize = 64;

/// Largest magnitude the launcher lets `d·(max|x| + max|μ|)²` and the log-weights reach, so that
/// `‖x − μ‖²` and `log w_k` stay finite in f32 (`f32::MAX ≈ 3.4e38`).
const MAX_F32_MAGNITUDE: f64 = 1e37;

/// Per-dispatch sizes, uploaded as a uniform (`struct GmmParams` in `gmm_denoiser.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GmmParams {
    /// Number of samples (rows of `x`).
    pub batch: u32,
    /// Dimension `d` of each sample.
    pub dim: u32,
    /// Number of mixture components `K` (at most [`MAX_GMM_COMPONENTS`]).
    pub components: u32,
    /// Padding to the 16-byte size of a uniform struct.
    pub pad0: u32,
}

fn invalid(what: &'static str, reason: String) -> GpuError {
    GpuError::InvalidInput { what, reason }
}

/// Posterior mean `E[x₀ | x_t]` of the mixture `Σ_k π_k N(μ_k, s_k² I)` for every sample of `x`
/// (row-major, `x.len() / d` samples of dimension `d`) at noise level `σ`, in f32:
/// `Σ_k w_k (s_k² x_t + σ² μ_k)/(s_k² + σ²)` with `w_k ∝ π_k N(x_t; μ_k, (s_k² + σ²) I)` taken in
/// log space with max-shift (formula in `scalelab_core::ops::gmm`). `means` is `K × d`
/// row-major, `stds[k] = s_k > 0`, `weights[k] = π_k > 0` (need not sum to 1). The per-component
/// constants are computed in f64 and rounded once to f32.
///
/// Matches `scalelab_core::ops::gmm::gmm_denoiser` on the same (f32-rounded) inputs to
/// |Δ| ≲ 2u (d + 8)(1 + max_k E_k)(1 + S) per element, u = 2⁻²⁴, where
/// `E_k = |c_k| + ‖x − μ_k‖²/(2(s_k² + σ²))` is the size of `log w_k` and `S` the largest |x|, |μ|
/// (the f32 log-weights carry a relative error ≲ (d + 4)u, which moves the output by at most
/// twice the spread of the component means).
///
/// # Errors
/// [`GpuError::InvalidInput`] if `d == 0` (`"d"`), `x.len()` is not a multiple of `d` (`"x"`),
/// there is no component or a `s_k ≤ 0` (`"stds"`), `weights.len() ≠ K` or a `π_k ≤ 0`
/// (`"weights"`), `means.len() ≠ K·d` (`"means"`), `σ ≤ 0` (`"sigma"`), a value is not
/// finite, `1/(2(s_k² + σ²))` overflows f32 (`"sigma"`), or the inputs are so large that
/// `‖x − μ‖²` could overflow f32 (`"x"`); [`GpuError::TooLarge`] if `K >`
/// [`MAX_GMM_COMPONENTS`] (`"components"`) or the buffers exceed the device limits (checked
/// before any GPU work); GPU failures as [`crate::softmax_rows`]. An empty batch returns an
/// empty vector without GPU work.
pub async fn gmm_denoiser(
    ctx: &GpuContext,
    x: &[f32],
    d: usize,
    sigma: f32,
    means: &[f32],
    stds: &[f32],
    weights: &[f32],
) -> Result<Vec<f32>, GpuError> {
    if d == 0 {
        return Err(invalid("d", "must be at least 1".to_owned()));
    }
    if !x.len().is_multiple_of(d) {
        return Err(invalid(
            "x",
            format!(
                "length {} is not a multiple of d = {d}; pass a row-major batch of samples",
                x.len()
            ),
        ));
    }
    let k_count = stds.len();
    if k_count == 0 {
        return Err(invalid(
            "stds",
            "the mixture needs at least one component".to_owned(),
        ));
    }
    if weights.len() != k_count {
        return Err(invalid(
            "weights",
            format!(
                "length {} differs from the {k_count} components (stds); give one weight each",
                weights.len()
            ),
        ));
    }
    let means_len = k_count.saturating_mul(d);
    if means.len() != means_len {
        return Err(invalid(
            "means",
            format!(
                "length {} is not components × d = {k_count} × {d}; pass one row-major mean per component",
                means.len()
            ),
        ));
    }
    check_finite("sigma", &[sigma])?;
    for (what, xs) in [
        ("x", x),
        ("means", means),
        ("stds", stds),
        ("weights", weights),
    ] {
        check_finite(what, xs)?;
    }
    if sigma <= 0.0 {
        return Err(invalid(
            "sigma",
            format!("is {sigma}; the noise level must be > 0"),
        ));
    }
    for (what, xs, rule) in [
        ("stds", stds, "standard deviations"),
        ("weights", weights, "mixture weights"),
    ] {
        if let Some(i) = xs.iter().position(|&v| v <= 0.0) {
            return Err(invalid(
                what,
                format!("element {i} is {}; {rule} must be > 0", xs[i]),
            ));
        }
    }
    if k_count > MAX_GMM_COMPONENTS {
        return Err(GpuError::TooLarge {
            what: "components",
            requested: k_count as u64,
            limit: MAX_GMM_COMPONENTS as u64,
        });
    }

    // [c | h | a | b] in f64, rounded once (see the WGSL header).
    let sigma2 = f64::from(sigma) * f64::from(sigma);
    let half_d = d as f64 / 2.0;
    let mut consts = vec![0.0f64; 4 * k_count];
    for (k, (&s, &pi)) in stds.iter().zip(weights).enumerate() {
        let s2 = f64::from(s) * f64::from(s);
        let var = s2 + sigma2;
        consts[k] = f64::from(pi).ln() - half_d * (2.0 * std::f64::consts::PI * var).ln();
        consts[k_count + k] = 1.0 / (2.0 * var);
        consts[2 * k_count + k] = s2 / var;
        consts[3 * k_count + k] = sigma2 / var;
        if consts[k_count + k] > f64::from(f32::MAX) {
            return Err(invalid(
                "sigma",
                format!(
                    "s² + σ² = {var:e} for component {k} is too small for f32 (1/(2(s² + σ²)) \
                     overflows); rescale the data"
                ),
            ));
        }
    }
    let max_abs = |xs: &[f32]| xs.iter().fold(0.0f64, |m, &v| m.max(f64::from(v).abs()));
    let reach = max_abs(x) + max_abs(means);
    let dist2_bound = d as f64 * reach * reach;
    let h_max = consts[k_count..2 * k_count]
        .iter()
        .fold(0.0f64, |m, &v| m.max(v));
    let c_max = consts[..k_count]
        .iter()
        .fold(0.0f64, |m, &v| m.max(v.abs()));
    if dist2_bound > MAX_F32_MAGNITUDE || dist2_bound * h_max + c_max > MAX_F32_MAGNITUDE {
        return Err(invalid(
            "x",
            format!(
                "values up to {reach:e} (|x| + |μ|) in d = {d} make ‖x − μ‖²/(2(s² + σ²)) overflow \
                 f32; rescale the data"
            ),
        ));
    }
    let batch = x.len() / d;
    if batch == 0 {
        return Ok(Vec::new());
    }

    let limits = ctx.limits();
    let plan = plan_elementwise(&limits, batch)?;
    check_buffer(&limits, "data bytes (x, output)", x.len() as u128)?;
    check_buffer(
        &limits,
        "mixture bytes (means and 4 constants per component)",
        (k_count as u128) * (d as u128 + 4),
    )?;
    // batch ≤ batch·d ≤ u32::MAX and K ≤ 64 were just checked; d ≤ batch·d.
    let params = GmmParams {
        batch: batch as u32,
        dim: d as u32,
        components: k_count as u32,
        pad0: 0,
    };
    let mixture: Vec<f32> = means
        .iter()
        .copied()
        .chain(consts.iter().map(|&v| v as f32))
        .collect();
    run_kernel(
        ctx,
        KernelLaunch {
            kernel: &SOURCE,
            constant: ("workgroup_size", plan.workgroup_size),
            params: bytemuck::bytes_of(&params),
            inputs: &[x, &mixture],
            output_len: x.len(),
            workgroups: [plan.workgroups[0], plan.workgroups[1], 1],
        },
    )
    .await
}
