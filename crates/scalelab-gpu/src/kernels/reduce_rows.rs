//! Row-wise reductions (sum, max, argmax, mean) and the two-pass global reduction built on
//! them (`reduce_rows.wgsl`).

pub use scalelab_core::ops::reduce::ReduceOp;

use crate::context::GpuContext;
use crate::error::GpuError;
use crate::kernels::KernelSource;
use crate::launch::{plan_row_dispatch, row_count, run_kernel, KernelLaunch};
use crate::limits::KernelLimits;

/// The `reduce_rows` kernel.
pub const SOURCE: KernelSource = KernelSource {
    name: "reduce_rows",
    wgsl: include_str!("reduce_rows.wgsl"),
    overrides: &[("workgroup_size", &[64.0, 256.0])],
};

/// Elements per row of the first pass of [`reduce_all`].
pub const REDUCE_ALL_CHUNK: usize = 4096;

/// Largest number of columns (for [`reduce_rows`]) or elements (for [`reduce_all`]) an argmax
/// accepts: indices come back as f32, which holds every integer up to 2²⁴ exactly.
pub const MAX_ARGMAX_LEN: usize = 1 << 24;

/// Per-dispatch sizes, uploaded as a uniform (`struct ReduceParams` in `reduce_rows.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ReduceParams {
    /// Number of rows.
    pub rows: u32,
    /// Elements per row (the last row may hold fewer, see `len`).
    pub cols: u32,
    /// Total number of input elements.
    pub len: u32,
    /// 0 sum, 1 max, 2 argmax, 3 mean.
    pub op: u32,
}

fn op_code(op: ReduceOp) -> u32 {
    match op {
        ReduceOp::Sum => 0,
        ReduceOp::Max => 1,
        ReduceOp::ArgMax => 2,
        ReduceOp::Mean => 3,
    }
}

/// [`GpuError::TooLarge`] if an argmax over `len` elements could return an index that f32 does
/// not hold exactly.
fn check_argmax_len(op: ReduceOp, what: &'static str, len: usize) -> Result<(), GpuError> {
    if op == ReduceOp::ArgMax && len > MAX_ARGMAX_LEN {
        return Err(GpuError::TooLarge {
            what,
            requested: len as u64,
            limit: MAX_ARGMAX_LEN as u64,
        });
    }
    Ok(())
}

/// One pass of the kernel over `data` in rows of `cols` (the last row may be partial).
/// `data` is non-empty, finite, and was checked against the limits by the caller's plan.
async fn reduce_pass(
    ctx: &GpuContext,
    limits: &KernelLimits,
    data: &[f32],
    cols: usize,
    op: ReduceOp,
) -> Result<Vec<f32>, GpuError> {
    let rows = data.len().div_ceil(cols);
    // Plans a full rows × cols matrix: at most cols − 1 elements more than `data`, so the byte
    // check is conservative by less than one row.
    let plan = plan_row_dispatch(limits, rows, cols)?;
    let params = ReduceParams {
        rows: plan.params.rows,
        cols: plan.params.cols,
        // data.len() ≤ rows · cols ≤ u32::MAX (checked by the plan).
        len: data.len() as u32,
        op: op_code(op),
    };
    run_kernel(
        ctx,
        KernelLaunch {
            kernel: &SOURCE,
            constant: ("workgroup_size", plan.workgroup_size),
            params: bytemuck::bytes_of(&params),
            inputs: &[data],
            output_len: rows,
            workgroups: [plan.workgroups_x, plan.workgroups_y, 1],
        },
    )
    .await
}

/// One value per row of a row-major matrix with `cols` columns, in f32:
/// `out[r] = op(x[r, 0..cols))` (see [`ReduceOp`]). Argmax returns the 0-based column of the
/// first maximum as an exact f32 (so `cols ≤ 2²⁴`).
///
/// Sums are f32 tree sums: |out − out*| ≤ γ_cols Σ_c |x[r, c]| (γ_j = j·2⁻²⁴/(1 − j·2⁻²⁴)) against
/// the exact `scalelab_core::ops::reduce::reduce_rows` on the same inputs; the mean adds one
/// rounding. Max and argmax are exact.
///
/// # Errors
/// [`GpuError::InvalidInput`] as [`crate::softmax_rows`]; [`GpuError::TooLarge`] as
/// [`crate::plan_row_dispatch`], or an argmax over more than 2²⁴ columns; GPU failures as
/// [`crate::softmax_rows`]. 0 rows return an empty vector without touching the GPU.
pub async fn reduce_rows(
    ctx: &GpuContext,
    data: &[f32],
    cols: usize,
    op: ReduceOp,
) -> Result<Vec<f32>, GpuError> {
    let rows = row_count(data, cols)?;
    if rows == 0 {
        return Ok(Vec::new());
    }
    check_argmax_len(op, "cols (argmax)", cols)?;
    reduce_pass(ctx, &ctx.limits(), data, cols, op).await
}

/// `op` over all of `data`, in f32, as two passes of the `reduce_rows` kernel: rows of
/// [`REDUCE_ALL_CHUNK`] elements, then one row of their results. Argmax returns the flat
/// 0-based index of the first maximum as an exact f32 (so `data.len() ≤ 2²⁴`); it runs the
/// first pass twice (max and argmax), picks the chunk with the first largest maximum, and adds
/// its offset. The mean is the two-pass sum divided by `data.len()` (rounded once to f32).
///
/// Error bound of sums and means: as [`reduce_rows`] with `cols = data.len()`.
///
/// # Errors
/// [`GpuError::InvalidInput`] if `data` is empty or not finite; [`GpuError::TooLarge`] if it
/// exceeds the device limits or (argmax) 2²⁴ elements; GPU failures as [`crate::softmax_rows`].
pub async fn reduce_all(ctx: &GpuContext, data: &[f32], op: ReduceOp) -> Result<f32, GpuError> {
    if data.is_empty() {
        return Err(GpuError::InvalidInput {
            what: "data",
            reason: "is empty; a global reduction needs at least one value".to_owned(),
        });
    }
    row_count(data, 1)?;
    check_argmax_len(op, "data length (argmax)", data.len())?;
    let limits = ctx.limits();
    let chunk = REDUCE_ALL_CHUNK.min(data.len());
    let unwrap_one = |values: Vec<f32>| {
        values.first().copied().ok_or_else(|| GpuError::Readback {
            reason: "the second pass returned no value".to_owned(),
        })
    };
    match op {
        ReduceOp::Sum | ReduceOp::Max => {
            let partial = reduce_pass(ctx, &limits, data, chunk, op).await?;
            if partial.len() == 1 {
                return unwrap_one(partial);
            }
            unwrap_one(reduce_pass(ctx, &limits, &partial, partial.len(), op).await?)
        }
        ReduceOp::Mean => {
            let partial = reduce_pass(ctx, &limits, data, chunk, ReduceOp::Sum).await?;
            let sum = if partial.len() == 1 {
                unwrap_one(partial)?
            } else {
                let cols = partial.len();
                unwrap_one(reduce_pass(ctx, &limits, &partial, cols, ReduceOp::Sum).await?)?
            };
            Ok(crate::to_f32(&[f64::from(sum) / data.len() as f64])[0])
        }
        ReduceOp::ArgMax => {
            let index = reduce_pass(ctx, &limits, data, chunk, ReduceOp::ArgMax).await?;
            if index.len() == 1 {
                return unwrap_one(index);
            }
            let maxima = reduce_pass(ctx, &limits, data, chunk, ReduceOp::Max).await?;
            let best = unwrap_one(
                reduce_pass(ctx, &limits, &maxima, maxima.len(), ReduceOp::ArgMax).await?,
            )?;
            // `best` and `index[best]` are exact small integers (≤ 2²⁴).
            let row = best as usize;
            let local = index.get(row).copied().ok_or_else(|| GpuError::Readback {
                reason: format!("argmax chunk {row} is out of range"),
            })?;
            Ok((row * chunk + local as usize) as f32)
        }
    }
}
