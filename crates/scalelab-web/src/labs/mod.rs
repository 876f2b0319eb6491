//! One module per lab page.

pub mod fit;
pub mod home;
pub mod stablemax;
