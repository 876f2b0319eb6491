//! The one error type of this crate.

/// Everything that can go wrong when creating a [`crate::GpuContext`] or launching a kernel.
///
/// Each variant name is a stable code (see [`GpuError::code`]); the npm package turns it into the
/// `name` of a JS `Error`. Callers that get [`GpuError::NoAdapter`], [`GpuError::RequestDevice`] or
/// [`GpuError::DeviceLost`] should fall back to the CPU oracles in `scalelab_core::ops`.
///
/// [`GpuErrorCode`] is the same list of variants without their fields (the stable codes).
#[derive(Debug, Clone, thiserror::Error, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(GpuErrorCode),
    derive(
        strum::IntoStaticStr,
        strum::VariantArray,
        Hash,
        serde::Serialize,
        serde::Deserialize
    )
)]
pub enum GpuError {
    /// No usable GPU adapter: no WebGPU in this browser, or no Vulkan driver natively.
    #[error("no GPU adapter: {reason}; the CPU path will be used instead")]
    NoAdapter {
        /// Human-readable cause and, where known, what the user can do about it.
        reason: String,
    },
    /// An adapter exists but refused to create a device with the limits we need.
    #[error(
        "the GPU adapter refused to create a device: {reason}; the CPU path will be used instead"
    )]
    RequestDevice {
        /// The message reported by wgpu / the browser.
        reason: String,
    },
    /// The input does not fit the device limits; split it or use the CPU path.
    #[error("{what} is too large for this GPU: {requested} requested, the device allows at most {limit}; split the input or use the CPU path")]
    TooLarge {
        /// Which quantity exceeds the limit (e.g. `"data bytes"`, `"rows"`).
        what: &'static str,
        /// The requested amount, in the unit of `what`.
        requested: u64,
        /// The device limit, in the unit of `what`.
        limit: u64,
    },
    /// The caller's input is malformed (zero columns, ragged rows, non-finite values, …).
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// Which argument is wrong (e.g. `"cols"`, `"data"`).
        what: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// wgpu / WebGPU rejected a command (a bug in this crate, or a limit we failed to check).
    #[error("GPU validation error: {message}")]
    Validation {
        /// The validation message reported by wgpu / the browser.
        message: String,
    },
    /// Mapping the result buffer back to the CPU failed.
    #[error("reading the result back from the GPU failed: {reason}")]
    Readback {
        /// Why the read-back failed.
        reason: String,
    },
    /// The GPU device was lost (driver reset, tab in the background too long, …).
    #[error("the GPU device was lost: {reason}; create a new GpuContext or use the CPU path")]
    DeviceLost {
        /// The reason reported by wgpu / the browser.
        reason: String,
    },
}

impl GpuError {
    /// The variant name, a stable machine-readable code (`"NoAdapter"`, `"TooLarge"`, …).
    pub fn code(&self) -> &'static str {
        GpuErrorCode::from(self).into()
    }
}

impl GpuErrorCode {
    /// The code as text: the variant's name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::{GpuError, GpuErrorCode};
    use strum::VariantArray;

    #[test]
    fn codes_are_variant_names() {
        let all = [
            GpuError::NoAdapter { reason: "r".into() },
            GpuError::RequestDevice { reason: "r".into() },
            GpuError::TooLarge {
                what: "rows",
                requested: 2,
                limit: 1,
            },
            GpuError::InvalidInput {
                what: "cols",
                reason: "r".into(),
            },
            GpuError::Validation {
                message: "m".into(),
            },
            GpuError::Readback { reason: "r".into() },
            GpuError::DeviceLost { reason: "r".into() },
        ];
        assert_eq!(all.len(), GpuErrorCode::VARIANTS.len());
        for (err, code) in all.iter().zip(GpuErrorCode::VARIANTS) {
            let code = code.as_str();
            assert_eq!(err.code(), code);
            assert!(format!("{err:?}").starts_with(code));
            assert!(!err.to_string().is_empty());
        }
    }
}
