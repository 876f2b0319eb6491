//! Widgets shared by the labs: number fields, the job status line, the backend chip.

pub mod field;

#[cfg(target_arch = "wasm32")]
pub mod backend_chip;
#[cfg(target_arch = "wasm32")]
pub mod file_input;
#[cfg(target_arch = "wasm32")]
pub mod job_status;
pub mod text_box;
