//! One module per lab page.

pub mod home;
pub mod stablemax;
