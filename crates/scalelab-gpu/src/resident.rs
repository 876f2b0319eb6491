//! Resident dispatches: kernels bound once to buffers that stay on the device, recorded many
//! times into one compute pass (the GPU trainer's epoch), instead of [`crate::launch::run_kernel`]'s
//! upload → dispatch → read-back per call.
//!
//! A [`Dispatch`] uses the general binding layout of [`crate::launch::create_pipeline`] (a uniform,
//! read-only inputs, one read-write output), so every kernel of [`crate::kernels`] can be bound
//! this way; its operands are [`View`]s: whole buffers or 256-byte-aligned ranges of one.

use std::sync::Arc;

use crate::context::{CachedPipeline, GpuContext};
use crate::kernels::KernelSource;
use crate::launch::create_pipeline;

/// The offset alignment of storage-buffer bindings every device accepts (WebGPU's default
/// `minStorageBufferOffsetAlignment`), in f32 values.
pub(crate) const ALIGN_FLOATS: usize = 64;

/// `len` rounded up to a multiple of [`ALIGN_FLOATS`].
pub(crate) fn aligned(len: usize) -> usize {
    len.div_ceil(ALIGN_FLOATS) * ALIGN_FLOATS
}

/// A range of a device buffer, in f32 values (`offset` a multiple of [`ALIGN_FLOATS`]).
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) buffer: &'a wgpu::Buffer,
    pub(crate) offset: usize,
    /// At least 1 (WebGPU has no empty bindings).
    pub(crate) len: usize,
}

impl<'a> View<'a> {
    /// The whole of `buffer`.
    pub(crate) fn whole(buffer: &'a wgpu::Buffer) -> View<'a> {
        View {
            buffer,
            offset: 0,
            len: (buffer.size() / 4) as usize,
        }
    }

    /// `len` values of `buffer` from `offset`.
    pub(crate) fn range(buffer: &'a wgpu::Buffer, offset: usize, len: usize) -> View<'a> {
        debug_assert!(offset.is_multiple_of(ALIGN_FLOATS));
        View {
            buffer,
            offset,
            len: len.max(1),
        }
    }

    fn binding(self) -> wgpu::BindingResource<'a> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: self.buffer,
            offset: (self.offset * 4) as u64,
            size: wgpu::BufferSize::new((self.len * 4) as u64),
        })
    }
}

/// A storage buffer of `len` f32 values (at least one), zero-filled, that can also be copied
/// from and into.
pub(crate) fn storage(ctx: &GpuContext, label: &str, len: usize) -> wgpu::Buffer {
    ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (len.max(1) * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// A uniform buffer holding `bytes` (rewritten with `queue.write_buffer` when they change).
pub(crate) fn uniform(ctx: &GpuContext, label: &str, bytes: &[u8]) -> wgpu::Buffer {
    let buffer = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.len() as u64,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    ctx.queue().write_buffer(&buffer, 0, bytes);
    buffer
}

/// A buffer the CPU maps to read `len` f32 values.
pub(crate) fn staging(ctx: &GpuContext, label: &str, len: usize) -> wgpu::Buffer {
    ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (len.max(1) * 4) as u64,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// One kernel bound to its buffers, with its grid.
pub(crate) struct Dispatch {
    pipeline: Arc<CachedPipeline>,
    bind_group: wgpu::BindGroup,
    workgroups: [u32; 3],
}

impl Dispatch {
    /// `kernel` with its `override` set to `constant`, its parameters in the uniform `params`
    /// (`params_size` bytes), reading `inputs` and writing `output`.
    pub(crate) fn new(
        ctx: &GpuContext,
        kernel: &KernelSource,
        constant: (&'static str, u32),
        params: &wgpu::Buffer,
        inputs: &[View<'_>],
        output: View<'_>,
        workgroups: [u32; 3],
    ) -> Dispatch {
        let n_inputs = inputs.len() as u32;
        let pipeline = ctx.cached_pipeline((kernel.name, constant.1), |device| {
            create_pipeline(device, kernel, params.size(), n_inputs, constant)
        });
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: params.as_entire_binding(),
        }];
        entries.extend(
            inputs
                .iter()
                .zip(1..)
                .map(|(view, binding)| wgpu::BindGroupEntry {
                    binding,
                    resource: view.binding(),
                }),
        );
        entries.push(wgpu::BindGroupEntry {
            binding: n_inputs + 1,
            resource: output.binding(),
        });
        let bind_group = ctx.device().create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(kernel.name),
            layout: &pipeline.bind_group_layout,
            entries: &entries,
        });
        Dispatch {
            pipeline,
            bind_group,
            workgroups,
        }
    }

    /// Records the dispatch into `pass` (WebGPU orders it after the pass's earlier dispatches and
    /// makes their writes visible to it).
    pub(crate) fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        let [x, y, z] = self.workgroups;
        pass.dispatch_workgroups(x, y, z);
    }
}
