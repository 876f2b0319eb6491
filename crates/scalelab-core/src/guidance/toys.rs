//! The lab's procedural mixtures, data in `[−1, 1]`.
//!
//! - [`Toy::Clusters`]: 2-D, three classes of three isotropic components each (std 0.07), class
//!   centres on a circle of radius 0.5 at 90°, 210° and 330°, each class's components 0.2 from
//!   its centre at the class angle and ± 120°.
//! - [`Toy::Pixels`]: RGB images `side × side` (`d = 3 side²`, values channel-major `C, H, W`):
//!   four classes of patterns — horizontal stripes, vertical stripes, a checkerboard (period
//!   `side/2`) and a centred disc (radius 0.35·side) — each in three colour components (red,
//!   green, blue foreground on a dark background): mean `bg + pattern · (fg − bg)` with
//!   `bg = (−0.6, −0.6, −0.6)` and `fg` 0.8 in its channel and −0.6 elsewhere, isotropic
//!   std 0.1 (about 0.5 % of exact values leave `[−1, 1]`), equal weights.

use serde::{Deserialize, Serialize};

use super::mixture::Mixture;
use crate::CoreError;

/// The largest image side of [`Toy::Pixels`].
pub const MAX_SIDE: usize = 32;

/// A procedural class-conditional mixture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Toy {
    /// Three 2-D classes of three clusters.
    #[default]
    Clusters,
    /// Pattern images of `side × side` RGB pixels.
    Pixels {
        /// Image side (1 … [`MAX_SIDE`]).
        side: usize,
    },
}

/// Names of the [`Toy::Pixels`] classes.
pub const PIXEL_CLASSES: [&str; 4] = [
    "horizontal stripes",
    "vertical stripes",
    "checkerboard",
    "disc",
];

/// Names of the [`Toy::Clusters`] classes.
pub const CLUSTER_CLASSES: [&str; 3] = ["top", "lower left", "lower right"];

impl Toy {
    /// The data range `(lo, hi)`.
    pub fn data_range(&self) -> (f64, f64) {
        (-1.0, 1.0)
    }

    /// The dimension of a sample.
    pub fn dim(&self) -> usize {
        match self {
            Self::Clusters => 2,
            Self::Pixels { side } => 3 * side * side,
        }
    }

    /// The class names.
    pub fn class_names(&self) -> &'static [&'static str] {
        match self {
            Self::Clusters => &CLUSTER_CLASSES,
            Self::Pixels { .. } => &PIXEL_CLASSES,
        }
    }

    /// The mixture. Errors: a side of 0 or above [`MAX_SIDE`] (`OutOfRange`).
    pub fn mixture(&self) -> Result<Mixture, CoreError> {
        match *self {
            Self::Clusters => {
                let mut means = Vec::new();
                let mut classes = Vec::new();
                for c in 0..3 {
                    let angle = (90.0 + 120.0 * c as f64).to_radians();
                    let (cx, cy) = (0.5 * angle.cos(), 0.5 * angle.sin());
                    for offset in [0.0f64, 120.0, -120.0] {
                        let a = angle + offset.to_radians();
                        means.extend([cx + 0.2 * a.cos(), cy + 0.2 * a.sin()]);
                        classes.push(c);
                    }
                }
                Mixture::new(2, means, vec![0.07 * 0.07; 9], vec![1.0; 9], classes)
            }
            Self::Pixels { side } => {
                if side == 0 || side > MAX_SIDE {
                    return Err(CoreError::OutOfRange {
                        what: "image side",
                        value: side as f64,
                        min: 1.0,
                        max: MAX_SIDE as f64,
                    });
                }
                let mut means = Vec::new();
                let mut classes = Vec::new();
                for c in 0..PIXEL_CLASSES.len() {
                    for colour in 0..3 {
                        for channel in 0..3 {
                            let (bg, fg) = (-0.6, if channel == colour { 0.8 } else { -0.6 });
                            for y in 0..side {
                                for x in 0..side {
                                    let on = pattern(c, side, y, x);
                                    means.push(bg + on * (fg - bg));
                                }
                            }
                        }
                        classes.push(c);
                    }
                }
                let k = classes.len();
                Mixture::new(3 * side * side, means, vec![0.01; k], vec![1.0; k], classes)
            }
        }
    }
}

/// A class's pattern at pixel `(y, x)`: 0 or 1.
fn pattern(class: usize, side: usize, y: usize, x: usize) -> f64 {
    let band = |v: usize| (4 * v / side) % 2;
    let on = match class {
        0 => band(y) == 1,
        1 => band(x) == 1,
        2 => (band(y) + band(x)) % 2 == 1,
        _ => {
            let c = side as f64 / 2.0;
            let (dy, dx) = (y as f64 + 0.5 - c, x as f64 + 0.5 - c);
            dy * dy + dx * dx <= (0.35 * side as f64).powi(2)
        }
    };
    f64::from(u8::from(on))
}
