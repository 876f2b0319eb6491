//! Shared launch machinery for the row-wise kernels: input checks, limit checks, buffers,
//! dispatch inside an error scope, and async read-back.
//!
//! Every row kernel has the same bindings: `@binding(0)` a uniform [`RowParams`], `@binding(1)`
//! the input (`array<f32>`, read-only storage), `@binding(2)` the output (`array<f32>`,
//! read-write storage). One workgroup handles one row; rows are spread over a 2-D grid
//! `row = workgroup_id.y * num_workgroups.x + workgroup_id.x` so more than 65 535 rows fit.

use crate::context::{CachedPipeline, GpuContext};
use crate::error::GpuError;
use crate::kernels::KernelSource;
use crate::limits::KernelLimits;
use crate::resident::{Dispatch, View};

/// Per-dispatch sizes, uploaded as a uniform (`struct RowParams` in every row kernel's WGSL).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RowParams {
    /// Number of rows of the row-major matrix.
    pub rows: u32,
    /// Number of columns (elements per row).
    pub cols: u32,
    /// Padding to the 16-byte size of a uniform struct.
    pub pad0: u32,
    /// Padding to the 16-byte size of a uniform struct.
    pub pad1: u32,
}

/// How a row kernel will be launched, once the input passed every check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowDispatch {
    /// The uniform parameters.
    pub params: RowParams,
    /// Workgroups along x (`min(rows, max_compute_workgroups_per_dimension)`).
    pub workgroups_x: u32,
    /// Workgroups along y (`ceil(rows / workgroups_x)`).
    pub workgroups_y: u32,
    /// The `workgroup_size` override constant: 64 for rows of at most 64 columns, else 256,
    /// capped by the device limits.
    pub workgroup_size: u32,
    /// Size of the input (and output) buffer in bytes.
    pub bytes: u64,
}

/// Number of rows of a row-major `data` with `cols` columns, or [`GpuError::InvalidInput`] if
/// `cols == 0`, `data.len()` is not a multiple of `cols`, or some value is not finite.
pub fn row_count(data: &[f32], cols: usize) -> Result<usize, GpuError> {
    if cols == 0 {
        return Err(GpuError::InvalidInput {
            what: "cols",
            reason: "must be at least 1".to_owned(),
        });
    }
    if !data.len().is_multiple_of(cols) {
        return Err(GpuError::InvalidInput {
            what: "data",
            reason: format!(
                "length {} is not a multiple of cols = {cols} (ragged rows); pass a row-major matrix",
                data.len()
            ),
        });
    }
    if let Some(index) = data.iter().position(|x| !x.is_finite()) {
        return Err(GpuError::InvalidInput {
            what: "data",
            reason: format!(
                "element {index} (row {}, column {}) is {}; every value must be finite",
                index / cols,
                index % cols,
                data[index]
            ),
        });
    }
    Ok(data.len() / cols)
}

/// Checks a `rows × cols` launch against `limits` and plans the dispatch, without touching a GPU.
///
/// Errors with [`GpuError::TooLarge`] when the matrix exceeds the storage-binding or buffer size,
/// has more than `u32::MAX` elements, or more rows than a 2-D grid of workgroups can hold.
/// `rows` and `cols` must be at least 1 (see [`row_count`]).
pub fn plan_row_dispatch(
    limits: &KernelLimits,
    rows: usize,
    cols: usize,
) -> Result<RowDispatch, GpuError> {
    let too_large = |what, requested: u128, limit: u64| GpuError::TooLarge {
        what,
        requested: u64::try_from(requested).unwrap_or(u64::MAX),
        limit,
    };
    let elements = (rows as u128) * (cols as u128);
    let bytes = elements * 4;
    let byte_limit = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    if bytes > u128::from(byte_limit) {
        return Err(too_large("data bytes", bytes, byte_limit));
    }
    // Indices are u32 in WGSL.
    if elements > u128::from(u32::MAX) {
        return Err(too_large("elements", elements, u64::from(u32::MAX)));
    }
    let max_groups = limits.max_compute_workgroups_per_dimension;
    let max_rows = u64::from(max_groups) * u64::from(max_groups);
    if rows as u128 > u128::from(max_rows) {
        return Err(too_large("rows", rows as u128, max_rows));
    }
    let preferred = if cols <= 64 { 64 } else { 256 };
    let cap = limits
        .max_compute_invocations_per_workgroup
        .min(limits.max_compute_workgroup_size_x)
        .min(limits.max_compute_workgroup_storage_size / 4);
    if cap == 0 {
        return Err(too_large("workgroup size", 1, 0));
    }
    let workgroup_size = preferred.min(cap);
    // Both fit in u32: rows <= elements <= u32::MAX.
    let rows =
        u32::try_from(rows).map_err(|_| too_large("rows", rows as u128, u64::from(u32::MAX)))?;
    let cols =
        u32::try_from(cols).map_err(|_| too_large("cols", cols as u128, u64::from(u32::MAX)))?;
    let workgroups_x = rows.min(max_groups);
    let workgroups_y = rows.div_ceil(workgroups_x);
    Ok(RowDispatch {
        params: RowParams {
            rows,
            cols,
            pad0: 0,
            pad1: 0,
        },
        workgroups_x,
        workgroups_y,
        workgroup_size,
        bytes: bytes as u64,
    })
}

/// Runs a row kernel on a row-major `rows × cols` matrix and reads the result back.
///
/// Order: input checks → 0 rows returns `Ok(vec![])` with no GPU work → limit checks → device
/// alive → (error scope: pipeline, buffers, dispatch, copy, submit) → wait → scope result →
/// mapped read-back. The output buffer starts as NaN, so an element the kernel fails to write
/// shows up as NaN.
pub(crate) async fn run_row_kernel(
    ctx: &GpuContext,
    kernel: &KernelSource,
    data: &[f32],
    cols: usize,
) -> Result<Vec<f32>, GpuError> {
    let rows = row_count(data, cols)?;
    if rows == 0 {
        return Ok(Vec::new());
    }
    let plan = plan_row_dispatch(&ctx.limits(), rows, cols)?;
    run_kernel(
        ctx,
        KernelLaunch {
            kernel,
            constant: ("workgroup_size", plan.workgroup_size),
            params: bytemuck::bytes_of(&plan.params),
            inputs: &[data],
            output_len: data.len(),
            workgroups: [plan.workgroups_x, plan.workgroups_y, 1],
        },
    )
    .await
}

/// One dispatch of a kernel with the general binding layout: `@binding(0)` a uniform params
/// struct, `@binding(1..=inputs.len())` the inputs (`array<f32>`, read-only storage, in order),
/// and the last binding the output (`array<f32>`, read-write storage, pre-filled with NaN).
pub(crate) struct KernelLaunch<'a> {
    /// The kernel (its name is the entry point and every label).
    pub(crate) kernel: &'a KernelSource,
    /// The one `override` the pipeline is built with, and its value (part of the cache key).
    pub(crate) constant: (&'static str, u32),
    /// The bytes of the `#[repr(C)]` params struct.
    pub(crate) params: &'a [u8],
    /// The read-only inputs. An empty input is uploaded as one `0.0` (WebGPU has no empty
    /// bindings); kernels take lengths from the params and guard with `arrayLength`.
    pub(crate) inputs: &'a [&'a [f32]],
    /// Number of output elements (at least 1; callers return early for empty outputs).
    pub(crate) output_len: usize,
    /// Workgroups along x, y, z (already checked against the device limits).
    pub(crate) workgroups: [u32; 3],
}

/// Builds the pipeline of a kernel with the general binding layout (a uniform, `n_inputs`
/// read-only storage buffers, one read-write output), called once per cache key.
pub(crate) fn create_pipeline(
    device: &wgpu::Device,
    kernel: &KernelSource,
    params_size: u64,
    n_inputs: u32,
    constant: (&'static str, u32),
) -> CachedPipeline {
    let name = kernel.name;
    let storage = |read_only| wgpu::BindingType::Buffer {
        ty: wgpu::BufferBindingType::Storage { read_only },
        has_dynamic_offset: false,
        min_binding_size: None,
    };
    let entry = |binding, ty| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty,
        count: None,
    };
    let mut entries = vec![entry(
        0,
        wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: wgpu::BufferSize::new(params_size),
        },
    )];
    entries.extend((1..=n_inputs).map(|binding| entry(binding, storage(true))));
    entries.push(entry(n_inputs + 1, storage(false)));
    let bind_group_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(name),
        entries: &entries,
    });
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(name),
        bind_group_layouts: &[Some(&bind_group_layout)],
        immediate_size: 0,
    });
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name),
        source: wgpu::ShaderSource::Wgsl(kernel.wgsl.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(name),
        layout: Some(&layout),
        module: &module,
        entry_point: Some(name),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants: &[(constant.0, f64::from(constant.1))],
            // Every workgroup variable is written before it is read.
            zero_initialize_workgroup_memory: false,
        },
        cache: None,
    });
    CachedPipeline {
        pipeline,
        bind_group_layout,
    }
}

/// Runs one [`KernelLaunch`] and reads its output back, with the same order and guarantees as
/// [`run_row_kernel`]: device alive → (error scope: pipeline, buffers, dispatch, copy, submit) →
/// wait → scope result → mapped read-back. Input and limit checks are the caller's.
pub(crate) async fn run_kernel(
    ctx: &GpuContext,
    launch: KernelLaunch<'_>,
) -> Result<Vec<f32>, GpuError> {
    ctx.ensure_alive()?;
    let name = launch.kernel.name;
    let device = ctx.device();
    let bytes = (launch.output_len * 4) as u64;

    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    // Buffers are created unmapped and filled through the queue: `create_buffer_init` maps at
    // creation and panics natively when the device is already lost; `write_buffer` only reports.
    let upload = |contents: &[u8], usage: wgpu::BufferUsages| {
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(name),
            size: contents.len() as u64,
            usage: usage | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        ctx.queue().write_buffer(&buffer, 0, contents);
        buffer
    };
    let params = upload(launch.params, wgpu::BufferUsages::UNIFORM);
    let inputs: Vec<wgpu::Buffer> = launch
        .inputs
        .iter()
        .map(|data| {
            let data: &[f32] = if data.is_empty() { &[0.0] } else { data };
            upload(bytemuck::cast_slice(data), wgpu::BufferUsages::STORAGE)
        })
        .collect();
    let output = upload(
        bytemuck::cast_slice(&vec![f32::NAN; launch.output_len]),
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    );
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(name),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let views: Vec<View<'_>> = inputs.iter().map(View::whole).collect();
    let dispatch = Dispatch::new(
        ctx,
        launch.kernel,
        launch.constant,
        &params,
        &views,
        View::whole(&output),
        launch.workgroups,
    );
    let mut encoder =
        device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(name) });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(name),
            timestamp_writes: None,
        });
        for _ in 0..ctx.dispatch_repeats() {
            dispatch.record(&mut pass);
        }
    }
    encoder.copy_buffer_to_buffer(&output, 0, &staging, 0, bytes);
    submit_and_read(ctx, encoder, scope, &staging).await
}

/// Submits `encoder` (whose commands end by copying into the `MAP_READ` buffer `staging`) and reads
/// `staging` back as f32: map on submit → wait (natively) → the error scope's result → mapped
/// read-back. `scope` is the validation scope pushed before the commands were recorded.
///
/// Submitting and popping the scope happen when this is called; the returned future waits and
/// reads (it holds no error-scope guard, so it is `Send` natively).
pub(crate) fn submit_and_read<'a>(
    ctx: &'a GpuContext,
    encoder: wgpu::CommandEncoder,
    scope: wgpu::ErrorScopeGuard,
    staging: &'a wgpu::Buffer,
) -> impl std::future::Future<Output = Result<Vec<f32>, GpuError>> + 'a {
    let (sender, receiver) = futures_channel::oneshot::channel();
    encoder.map_buffer_on_submit(staging, wgpu::MapMode::Read, .., move |result| {
        // The receiver is only gone if the launch future was dropped; nothing to report then.
        let _ = sender.send(result);
    });
    ctx.queue().submit([encoder.finish()]);
    let scope_result = scope.pop();
    read_submitted(ctx, scope_result, receiver, staging)
}

/// The waiting half of [`submit_and_read`].
async fn read_submitted(
    ctx: &GpuContext,
    scope_result: impl std::future::Future<Output = Option<wgpu::Error>>,
    receiver: futures_channel::oneshot::Receiver<Result<(), wgpu::BufferAsyncError>>,
    staging: &wgpu::Buffer,
) -> Result<Vec<f32>, GpuError> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Err(err) = ctx.device().poll(wgpu::PollType::wait_indefinitely()) {
        ctx.ensure_alive()?;
        return Err(GpuError::Readback {
            reason: format!("waiting for the GPU failed: {err}"),
        });
    }

    if let Some(err) = scope_result.await {
        return Err(GpuError::Validation {
            message: err.to_string(),
        });
    }
    let mapped = receiver.await.map_err(|_| GpuError::Readback {
        reason: "the map callback was dropped without being called".to_owned(),
    })?;
    if let Err(err) = mapped {
        ctx.ensure_alive()?;
        return Err(GpuError::Readback {
            reason: format!("mapping the result buffer failed: {err}"),
        });
    }
    let result = {
        let view = staging
            .get_mapped_range(..)
            .map_err(|err| GpuError::Readback {
                reason: format!("the mapped range is not accessible: {err}"),
            })?;
        // The web backend copies into a byte buffer that may not be 4-byte aligned.
        match bytemuck::try_cast_slice::<u8, f32>(&view) {
            Ok(floats) => floats.to_vec(),
            Err(_) => view
                .chunks_exact(4)
                .map(bytemuck::pod_read_unaligned::<f32>)
                .collect(),
        }
    };
    staging.unmap();
    ctx.ensure_alive()?;
    Ok(result)
}

/// [`GpuError::InvalidInput`] naming the first non-finite element of `data`, if any.
pub(crate) fn check_finite(what: &'static str, data: &[f32]) -> Result<(), GpuError> {
    match data.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(GpuError::InvalidInput {
            what,
            reason: format!(
                "element {index} is {}; every value must be finite",
                data[index]
            ),
        }),
        None => Ok(()),
    }
}
