//! The device limits the launchers check their inputs against ([`KernelLimits`]), and the
//! buffer-size check shared by the kernels.

use crate::error::GpuError;

/// The device limits that bound a row-kernel launch (a subset of `wgpu::Limits`).
///
/// Build one by hand to check sizes against other devices with
/// [`plan_row_dispatch`](crate::plan_row_dispatch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelLimits {
    /// Largest storage-buffer binding, in bytes.
    pub max_storage_buffer_binding_size: u64,
    /// Largest buffer, in bytes.
    pub max_buffer_size: u64,
    /// Largest number of workgroups along one dispatch dimension.
    pub max_compute_workgroups_per_dimension: u32,
    /// Largest number of invocations in one workgroup.
    pub max_compute_invocations_per_workgroup: u32,
    /// Largest workgroup size along x.
    pub max_compute_workgroup_size_x: u32,
    /// Largest workgroup (shared) memory, in bytes.
    pub max_compute_workgroup_storage_size: u32,
}

impl KernelLimits {
    pub(crate) fn from_wgpu(limits: &wgpu::Limits) -> KernelLimits {
        KernelLimits {
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_compute_workgroup_size_x: limits.max_compute_workgroup_size_x,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
        }
    }

    /// The WebGPU default limits (what every WebGPU adapter offers at least).
    pub fn webgpu_defaults() -> KernelLimits {
        KernelLimits::from_wgpu(&wgpu::Limits::defaults())
    }
}

/// [`GpuError::TooLarge`] if a buffer of `elements` f32 values exceeds the storage-binding or
/// buffer size of `limits`, or `elements` exceeds `u32::MAX` (indices are u32 in WGSL).
pub(crate) fn check_buffer(
    limits: &KernelLimits,
    what: &'static str,
    elements: u128,
) -> Result<(), GpuError> {
    let byte_limit = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    let bytes = elements * 4;
    if bytes > u128::from(byte_limit) {
        return Err(GpuError::TooLarge {
            what,
            requested: u64::try_from(bytes).unwrap_or(u64::MAX),
            limit: byte_limit,
        });
    }
    if elements > u128::from(u32::MAX) {
        return Err(GpuError::TooLarge {
            what: "elements",
            requested: u64::try_from(elements).unwrap_or(u64::MAX),
            limit: u64::from(u32::MAX),
        });
    }
    Ok(())
}
