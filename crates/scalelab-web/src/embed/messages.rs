//! The embed message schema, version 1 (also documented in `ARCHITECTURE.md`).
//!
//! Frame → parent (`window.parent.postMessage(msg, "*")`; heights are not secret):
//! `{ "source": "scalelab", "version": 1, "type": "ready" | "resize", "lab": "<key>", "height": <px> }`
//! — `ready` once when the lab has rendered, `resize` whenever the content height changes.
//!
//! Parent → frame (`iframe.contentWindow.postMessage(msg, "*")`):
//! `{ "source": "scalelab-host", "version": 1, "type": "set-theme", "theme": "light" | "dark" | "system" }`.
//! Messages with another source or version are ignored.

use serde::{Deserialize, Serialize};

/// `source` of the frame's messages.
pub const FRAME_SOURCE: &str = "scalelab";
/// `source` of the parent's messages.
pub const HOST_SOURCE: &str = "scalelab-host";
/// The schema version.
pub const VERSION: u32 = 1;

/// What the frame tells its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrameEvent {
    /// The lab has rendered.
    Ready,
    /// The content height changed.
    Resize,
}

/// A message from the frame to its parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameMessage {
    /// Always [`FRAME_SOURCE`].
    pub source: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// What happened.
    #[serde(rename = "type")]
    pub event: FrameEvent,
    /// The lab's key.
    pub lab: String,
    /// The content height in CSS pixels.
    pub height: u32,
}

impl FrameMessage {
    /// `event` of `lab` at `height`.
    pub fn new(event: FrameEvent, lab: &str, height: u32) -> FrameMessage {
        FrameMessage {
            source: FRAME_SOURCE.into(),
            version: VERSION,
            event,
            lab: lab.into(),
            height,
        }
    }
}

/// What the parent asks of the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostRequest {
    /// Use the theme in `theme`.
    SetTheme,
}

/// A message from the parent to the frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostMessage {
    /// Must be [`HOST_SOURCE`].
    pub source: String,
    /// Must be [`VERSION`].
    pub version: u32,
    /// The request.
    #[serde(rename = "type")]
    pub request: HostRequest,
    /// For `set-theme`: `"light"`, `"dark"` or `"system"`.
    pub theme: String,
}

impl HostMessage {
    /// `true` for a message of this schema (source and version match).
    pub fn is_ours(&self) -> bool {
        self.source == HOST_SOURCE && self.version == VERSION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_the_documented_shape() {
        let m = FrameMessage::new(FrameEvent::Resize, "fit", 812);
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            serde_json::json!({"source": "scalelab", "version": 1, "type": "resize", "lab": "fit", "height": 812})
        );
        let host: HostMessage = serde_json::from_value(serde_json::json!(
            {"source": "scalelab-host", "version": 1, "type": "set-theme", "theme": "dark"}
        ))
        .unwrap();
        assert!(host.is_ours());
        assert_eq!(host.request, HostRequest::SetTheme);
        let other: HostMessage = serde_json::from_value(serde_json::json!(
            {"source": "someone", "version": 1, "type": "set-theme", "theme": "dark"}
        ))
        .unwrap();
        assert!(!other.is_ours());
    }
}
