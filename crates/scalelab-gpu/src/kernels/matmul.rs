//! Register-blocked tiled matrix product with transposes and a fused bias + ReLU epilogue (`matmul.wgsl`).

use crate::context::GpuContext;
use crate::error::GpuError;
use crate::kernels::KernelSource;
use crate::launch::{check_finite, run_kernel, KernelLaunch};
use crate::limits::{check_buffer, KernelLimits};

/// The `matmul` kernel.
pub const SOURCE: KernelSource = KernelSource {
    name: "matmul",
    wgsl: include_str!("matmul.wgsl"),
    overrides: &[("tile", &[8.0, 16.0])],
};

/// Options of [`matmul`]: which operands are stored transposed, and the fused epilogue.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MatmulOptions<'a> {
    /// `a` holds `A` as `k × m` (row-major); the product uses `Aᵀ`.
    pub transpose_a: bool,
    /// `b` holds `B` as `n × k` (row-major); the product uses `Bᵀ`.
    pub transpose_b: bool,
    /// Added to every row of the product: `C[i, j] += bias[j]` (length `n`).
    pub bias: Option<&'a [f32]>,
    /// Applied last: `C[i, j] = max(C[i, j], 0)`.
    pub relu: bool,
}

/// Per-dispatch sizes, uploaded as a uniform (`struct MatmulParams` in `matmul.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MatmulParams {
    /// Rows of `op(A)` and `C`.
    pub m: u32,
    /// Columns of `op(A)`, rows of `op(B)`.
    pub k: u32,
    /// Columns of `op(B)` and `C`.
    pub n: u32,
    /// Bit 0: transpose A; bit 1: transpose B; bit 2: add bias; bit 3: ReLU.
    pub flags: u32,
}

/// How a [`matmul`] will be launched, once the sizes passed every check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatmulPlan {
    /// The uniform parameters (the `flags` are set by the launcher).
    pub params: MatmulParams,
    /// The `tile` override (invocations per workgroup side): 16, or 8 on devices with fewer than
    /// 256 invocations per workgroup. A workgroup computes a `4·tile × 4·tile` block of C.
    pub tile: u32,
    /// Workgroups along x (`ceil(n / (4·tile))`) and y (`ceil(m / (4·tile))`).
    pub workgroups: [u32; 2],
}

/// The inputs of an `m × k` by `k × n` product as [`matmul`] takes them (also the fast CPU path's
/// check): `a`, `b` and the bias of the stated row-major shapes (`InvalidInput` naming the rule) and
/// finite (`NonFinite`).
pub(crate) fn check_inputs(
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    options: MatmulOptions<'_>,
) -> Result<(), GpuError> {
    let check_len = |what, data: &[f32], rows: usize, cols: usize, rule: &str| {
        let expected = rows.checked_mul(cols);
        if expected == Some(data.len()) {
            Ok(())
        } else {
            Err(GpuError::InvalidInput {
                what,
                reason: format!(
                    "length {} is not {rule} = {rows} × {cols}; pass a row-major matrix of that shape",
                    data.len()
                ),
            })
        }
    };
    let (a_rows, a_cols) = if options.transpose_a { (k, m) } else { (m, k) };
    let (b_rows, b_cols) = if options.transpose_b { (n, k) } else { (k, n) };
    check_len(
        "a",
        a,
        a_rows,
        a_cols,
        if options.transpose_a { "k·m" } else { "m·k" },
    )?;
    check_len(
        "b",
        b,
        b_rows,
        b_cols,
        if options.transpose_b { "n·k" } else { "k·n" },
    )?;
    check_finite("a", a)?;
    check_finite("b", b)?;
    if let Some(bias) = options.bias {
        check_len("bias", bias, 1, n, "n")?;
        check_finite("bias", bias)?;
    }
    Ok(())
}

/// Checks an `m × k` by `k × n` product against `limits` and plans the dispatch, without
/// touching a GPU. `m` and `n` must be at least 1 (the launcher returns early otherwise).
///
/// Errors with [`GpuError::TooLarge`] when an operand or the result exceeds the storage-binding
/// or buffer size or `u32::MAX` elements, when `ceil(m / (4·tile))` or `ceil(n / (4·tile))` exceeds the
/// workgroups per dimension, or when the device cannot run even an 8 × 8 workgroup.
pub fn plan_matmul(
    limits: &KernelLimits,
    m: usize,
    k: usize,
    n: usize,
) -> Result<MatmulPlan, GpuError> {
    let (m128, k128, n128) = (m as u128, k as u128, n as u128);
    check_buffer(limits, "a bytes", m128 * k128)?;
    check_buffer(limits, "b bytes", k128 * n128)?;
    check_buffer(limits, "c bytes", m128 * n128)?;
    let fits = |tile: u32| {
        tile * tile <= limits.max_compute_invocations_per_workgroup
            && tile * tile <= limits.max_compute_workgroup_size_x
            && 8 * tile * tile * 4 <= limits.max_compute_workgroup_storage_size
    };
    let tile = [16, 8]
        .into_iter()
        .find(|&t| fits(t))
        .ok_or(GpuError::TooLarge {
            what: "workgroup size",
            requested: 64,
            limit: u64::from(limits.max_compute_invocations_per_workgroup),
        })?;
    let max_groups = u64::from(limits.max_compute_workgroups_per_dimension);
    let groups = |what, len: usize| {
        let block = 4 * u64::from(tile);
        let count = (len as u64).div_ceil(block);
        if count > max_groups {
            Err(GpuError::TooLarge {
                what,
                requested: len as u64,
                limit: max_groups * block,
            })
        } else {
            Ok(count as u32)
        }
    };
    let workgroups = [groups("n (columns of C)", n)?, groups("m (rows of C)", m)?];
    // m, n ≥ 1, so each size divides a product checked against u32::MAX above.
    let to_u32 = |what, x: usize| {
        u32::try_from(x).map_err(|_| GpuError::TooLarge {
            what,
            requested: x as u64,
            limit: u64::from(u32::MAX),
        })
    };
    Ok(MatmulPlan {
        params: MatmulParams {
            m: to_u32("m", m)?,
            k: to_u32("k", k)?,
            n: to_u32("n", n)?,
            flags: 0,
        },
        tile,
        workgroups,
    })
}

/// The `m × n` row-major product `C = relu?(op(A) · op(B) + 1·biasᵀ)` in f32, i.e.
/// `C[i, j] = Σ_p op(A)[i, p] · op(B)[p, j] (+ bias[j]) (then max(·, 0))`.
///
/// `a` is `op(A)` as `m × k`, or with `transpose_a` `A` stored as `k × m`; `b` is `op(B)` as
/// `k × n`, or with `transpose_b` `B` stored as `n × k`. Each element is an f32 sum in order of
/// `p`, so `|C − C*| ≤ γ_{k+1} (Σ_p |op(A)[i,p]|·|op(B)[p,j]| + |bias[j]|)` with
/// `γ_j = j·2⁻²⁴/(1 − j·2⁻²⁴)`
/// against the exact result C* (`scalelab_core::ops::matmul::matmul` on the same inputs).
///
/// # Errors
/// [`GpuError::InvalidInput`] if `a.len() ≠ m·k`, `b.len() ≠ k·n`, `bias.len() ≠ n` or a value
/// is not finite; [`GpuError::TooLarge`] as [`plan_matmul`] (checked before any GPU work);
/// [`GpuError::Validation`], [`GpuError::Readback`] or [`GpuError::DeviceLost`] if the GPU fails.
/// `m = 0` or `n = 0` returns an empty vector without touching the GPU.
pub async fn matmul(
    ctx: &GpuContext,
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    options: MatmulOptions<'_>,
) -> Result<Vec<f32>, GpuError> {
    check_inputs(a, b, m, k, n, options)?;
    if m == 0 || n == 0 {
        return Ok(Vec::new());
    }
    let plan = plan_matmul(&ctx.limits(), m, k, n)?;
    let flags = u32::from(options.transpose_a)
        | u32::from(options.transpose_b) << 1
        | u32::from(options.bias.is_some()) << 2
        | u32::from(options.relu) << 3;
    let params = MatmulParams {
        flags,
        ..plan.params
    };
    // Without a bias the binding still gets a (one-zero) buffer; the kernel never reads it.
    let bias = options.bias.unwrap_or(&[]);
    run_kernel(
        ctx,
        KernelLaunch {
            kernel: &SOURCE,
            constant: ("tile", plan.tile),
            params: bytemuck::bytes_of(&params),
            inputs: &[a, b, bias],
            output_len: m * n,
            workgroups: [plan.workgroups[0], plan.workgroups[1], 1],
        },
    )
    .await
}
