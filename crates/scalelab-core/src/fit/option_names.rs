//! The names of a fit's options, as the Fit page's menus and links and the npm package's
//! `fitScalingLaw` spell them: one mapping from names to enums that both use.

use crate::fit::analysis::{Method, Starts};
use crate::fit::{ResidualSpace, RobustLoss};

/// An option with a fixed set of named values.
pub trait Named: Sized + Copy + PartialEq + 'static {
    /// Every value, in menu order.
    const ALL: &'static [Self];
    /// The value's name.
    fn name(self) -> &'static str;
    /// The value named `name`, if any.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == name)
    }
    /// Every name, quoted and comma-separated (for error messages).
    fn names() -> String {
        Self::ALL
            .iter()
            .map(|v| format!("\"{}\"", v.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Named for ResidualSpace {
    const ALL: &'static [Self] = &[ResidualSpace::Log, ResidualSpace::Linear];
    fn name(self) -> &'static str {
        match self {
            ResidualSpace::Linear => "linear",
            ResidualSpace::Log => "log",
        }
    }
}

/// The kind of a robust loss without its scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    /// [`RobustLoss::L2`].
    L2,
    /// [`RobustLoss::Huber`].
    Huber,
    /// [`RobustLoss::SoftL1`].
    SoftL1,
    /// [`RobustLoss::Cauchy`].
    Cauchy,
}

impl Named for LossKind {
    const ALL: &'static [Self] = &[
        LossKind::L2,
        LossKind::Huber,
        LossKind::SoftL1,
        LossKind::Cauchy,
    ];
    fn name(self) -> &'static str {
        match self {
            LossKind::L2 => "l2",
            LossKind::Huber => "huber",
            LossKind::SoftL1 => "soft_l1",
            LossKind::Cauchy => "cauchy",
        }
    }
}

impl LossKind {
    /// The loss with scale (Huber threshold) `scale`.
    pub fn with_scale(self, scale: f64) -> RobustLoss {
        match self {
            LossKind::L2 => RobustLoss::L2,
            LossKind::Huber => RobustLoss::Huber { delta: scale },
            LossKind::SoftL1 => RobustLoss::SoftL1 { scale },
            LossKind::Cauchy => RobustLoss::Cauchy { scale },
        }
    }

    /// Whether the loss uses a scale.
    pub fn has_scale(self) -> bool {
        self != LossKind::L2
    }
}

/// The kind of [`Method`] without its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    /// [`Method::LeastSquares`].
    LeastSquares,
    /// [`Method::Hoffmann`].
    Hoffmann,
}

impl Named for MethodKind {
    const ALL: &'static [Self] = &[MethodKind::LeastSquares, MethodKind::Hoffmann];
    fn name(self) -> &'static str {
        match self {
            MethodKind::LeastSquares => "least_squares",
            MethodKind::Hoffmann => "hoffmann",
        }
    }
}

impl MethodKind {
    /// The method, with Huber threshold `delta` for Hoffmann's.
    pub fn with_delta(self, delta: f64) -> Method {
        match self {
            MethodKind::LeastSquares => Method::LeastSquares,
            MethodKind::Hoffmann => Method::Hoffmann { delta },
        }
    }
}

/// The kind of [`Starts`] without its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartsKind {
    /// [`Starts::Single`].
    Single,
    /// [`Starts::Hoffmann4500`].
    Hoffmann4500,
    /// [`Starts::Random`].
    Random,
}

impl Named for StartsKind {
    const ALL: &'static [Self] = &[
        StartsKind::Single,
        StartsKind::Hoffmann4500,
        StartsKind::Random,
    ];
    fn name(self) -> &'static str {
        match self {
            StartsKind::Single => "single",
            StartsKind::Hoffmann4500 => "hoffmann4500",
            StartsKind::Random => "random",
        }
    }
}

impl StartsKind {
    /// The starts, with `samples` and `seed` for random ones.
    pub fn with(self, samples: usize, seed: u64) -> Starts {
        match self {
            StartsKind::Single => Starts::Single,
            StartsKind::Hoffmann4500 => Starts::Hoffmann4500,
            StartsKind::Random => Starts::Random { samples, seed },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Named + std::fmt::Debug>() {
        for &v in T::ALL {
            assert_eq!(T::from_name(v.name()), Some(v));
        }
        assert_eq!(T::from_name("nope"), None);
    }

    #[test]
    fn names_round_trip() {
        round_trip::<ResidualSpace>();
        round_trip::<LossKind>();
        round_trip::<MethodKind>();
        round_trip::<StartsKind>();
        assert_eq!(
            LossKind::names(),
            "\"l2\", \"huber\", \"soft_l1\", \"cauchy\""
        );
    }
}
