//! One module per lab page.

pub mod field;
pub mod fit;
pub mod home;
pub mod kernels;
pub mod stablemax;
