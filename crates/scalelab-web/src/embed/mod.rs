//! Embed mode: `?lab=…&embed=1` renders a lab with minimal chrome (no navigation or footer; the
//! backend chip, the theme button and an "Open in Scalelab" link carrying the same state) for an
//! `<iframe>` in a paper's or a blog's page. The frame reports its content height to the parent
//! and obeys the parent's theme, with the versioned messages of [`messages`]. Every lab's Embed
//! button ([`snippet`]) gives the `<iframe>` for its current state.

pub mod messages;

#[cfg(target_arch = "wasm32")]
pub mod frame;
#[cfg(target_arch = "wasm32")]
pub mod snippet;
