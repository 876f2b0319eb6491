//! Built-in scaling-law models, each a [`Model`] with an exact analytic gradient, and the
//! [`BuiltinModel`] registry that the UI's model picker and the npm package use.
//!
//! | name | model | inputs | parameters |
//! |---|---|---|---|
//! | `power_law` | [`PowerLaw`]: `A·x^(−α)` | `x` | `A, alpha` |
//! | `power_law_plus_constant` | [`PowerLawPlusConstant`]: `E + A·x^(−α)` | `x` | `E, A, alpha` |
//! | `chinchilla` | [`Chinchilla`]: `E + A/N^α + B/D^β` | `N, D` | `E, A, B, alpha, beta` |
//! | `kaplan` | [`Kaplan`]: `[(N_c/N)^(α_N/α_D) + D_c/D]^α_D` | `N, D` | `N_c, D_c, alpha_N, alpha_D` |
//! | `broken_power_law_1..3` | [`BrokenPowerLaw`] (BNSL) | `x` | `a, b, c0, c1, d1, f1, …` |
//! | `lr_annealing` | [`LrAnnealing`]: `L0 + A·S1^(−α) − C·S2` (needs the LR schedule) | `step` | `L0, A, alpha, C` |
//! | `multi_power_law` | [`MultiPowerLaw`] (needs the LR schedule) | `step` | `L0, A, alpha, B, C, beta, gamma` |
//!
//! Every model returns NaN (and fills the gradient with NaN) when `x`, `θ` or the gradient slice
//! have the wrong length, and wherever the formula is undefined (e.g. `x ≤ 0` in a power law).
//! The formulas of all but the loss-curve laws parse with [`crate::fit::formula::FormulaModel`]
//! (same parameter names), which the tests use as an independent check; [`LrAnnealing`]'s does with
//! `S1`, `S2` as inputs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use super::{Data, Model};
use crate::fit::schedule::LrSchedule;
use crate::CoreError;

mod broken_power_law;
mod chinchilla;
mod kaplan;
mod lr_annealing;
mod multi_power_law;
mod power_law;

pub use broken_power_law::{BrokenPowerLaw, MAX_BREAKS};
pub use chinchilla::{Chinchilla, EPOCH_MLE, HOFFMANN_ROUNDED};
pub use kaplan::{Kaplan, KAPLAN_TABLE2};
pub use lr_annealing::LrAnnealing;
pub use multi_power_law::{MultiPowerLaw, LUO_100M};
pub use power_law::{PowerLaw, PowerLawPlusConstant};

/// The registry of built-in models. Serialised (and parsed by [`FromStr`]) as its snake-case
/// [`BuiltinModel::name`], e.g. `"chinchilla"`, `"broken_power_law_2"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinModel {
    /// [`PowerLaw`]: `y = A·x^(−α)`.
    PowerLaw,
    /// [`PowerLawPlusConstant`]: `y = E + A·x^(−α)`.
    PowerLawPlusConstant,
    /// [`Chinchilla`]: `L = E + A/N^α + B/D^β`.
    Chinchilla,
    /// [`Kaplan`]: `L = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D`.
    Kaplan,
    /// [`BrokenPowerLaw`] with one break.
    #[serde(rename = "broken_power_law_1")]
    BrokenPowerLaw1,
    /// [`BrokenPowerLaw`] with two breaks.
    #[serde(rename = "broken_power_law_2")]
    BrokenPowerLaw2,
    /// [`BrokenPowerLaw`] with three breaks.
    #[serde(rename = "broken_power_law_3")]
    BrokenPowerLaw3,
    /// [`LrAnnealing`]: `L = L0 + A·S1^(−α) − C·S2`; build it with
    /// [`BuiltinModel::model_with_schedule`].
    LrAnnealing,
    /// [`MultiPowerLaw`]; build it with [`BuiltinModel::model_with_schedule`].
    MultiPowerLaw,
}

impl BuiltinModel {
    /// Every built-in model, in the order a model picker lists them.
    pub const ALL: [BuiltinModel; 9] = [
        BuiltinModel::PowerLaw,
        BuiltinModel::PowerLawPlusConstant,
        BuiltinModel::Chinchilla,
        BuiltinModel::Kaplan,
        BuiltinModel::BrokenPowerLaw1,
        BuiltinModel::BrokenPowerLaw2,
        BuiltinModel::BrokenPowerLaw3,
        BuiltinModel::LrAnnealing,
        BuiltinModel::MultiPowerLaw,
    ];

    /// The stable snake-case name (as serialised): `"power_law"`, `"chinchilla"`, …
    pub fn name(&self) -> &'static str {
        match self {
            BuiltinModel::PowerLaw => "power_law",
            BuiltinModel::PowerLawPlusConstant => "power_law_plus_constant",
            BuiltinModel::Chinchilla => "chinchilla",
            BuiltinModel::Kaplan => "kaplan",
            BuiltinModel::BrokenPowerLaw1 => "broken_power_law_1",
            BuiltinModel::BrokenPowerLaw2 => "broken_power_law_2",
            BuiltinModel::BrokenPowerLaw3 => "broken_power_law_3",
            BuiltinModel::LrAnnealing => "lr_annealing",
            BuiltinModel::MultiPowerLaw => "multi_power_law",
        }
    }

    /// A short human label with the source, for pickers.
    pub fn label(&self) -> &'static str {
        match self {
            BuiltinModel::PowerLaw => "Power law",
            BuiltinModel::PowerLawPlusConstant => {
                "Power law + constant (Hestness 2017, Henighan 2020)"
            }
            BuiltinModel::Chinchilla => "Chinchilla L(N, D) (Hoffmann 2022)",
            BuiltinModel::Kaplan => "Kaplan L(N, D) (Kaplan 2020)",
            BuiltinModel::BrokenPowerLaw1 => "Broken power law, 1 break (Caballero 2023)",
            BuiltinModel::BrokenPowerLaw2 => "Broken power law, 2 breaks (Caballero 2023)",
            BuiltinModel::BrokenPowerLaw3 => "Broken power law, 3 breaks (Caballero 2023)",
            BuiltinModel::LrAnnealing => "LR annealing over an LR schedule (Tissue 2024)",
            BuiltinModel::MultiPowerLaw => "Multi-power law over an LR schedule (Luo 2025)",
        }
    }

    /// Names of the inputs of one observation, in order: `["x"]`, `["N", "D"]` or `["step"]`.
    pub fn input_names(&self) -> &'static [&'static str] {
        match self {
            BuiltinModel::Chinchilla | BuiltinModel::Kaplan => &["N", "D"],
            BuiltinModel::LrAnnealing | BuiltinModel::MultiPowerLaw => &["step"],
            _ => &["x"],
        }
    }

    /// `true` for the loss-curve laws, which need the learning-rate schedule
    /// ([`BuiltinModel::LrAnnealing`], [`BuiltinModel::MultiPowerLaw`]).
    pub fn needs_schedule(&self) -> bool {
        matches!(
            self,
            BuiltinModel::LrAnnealing | BuiltinModel::MultiPowerLaw
        )
    }

    /// The model. The loss-curve laws need a schedule: here they have none and evaluate to NaN;
    /// use [`BuiltinModel::model_with_schedule`].
    pub fn model(&self) -> Box<dyn Model> {
        match self {
            BuiltinModel::PowerLaw => Box::new(PowerLaw),
            BuiltinModel::PowerLawPlusConstant => Box::new(PowerLawPlusConstant),
            BuiltinModel::Chinchilla => Box::new(Chinchilla),
            BuiltinModel::Kaplan => Box::new(Kaplan),
            BuiltinModel::BrokenPowerLaw1 => Box::new(BrokenPowerLaw { breaks: 1 }),
            BuiltinModel::BrokenPowerLaw2 => Box::new(BrokenPowerLaw { breaks: 2 }),
            BuiltinModel::BrokenPowerLaw3 => Box::new(BrokenPowerLaw { breaks: 3 }),
            BuiltinModel::LrAnnealing => Box::new(LrAnnealing::default()),
            BuiltinModel::MultiPowerLaw => Box::new(MultiPowerLaw::default()),
        }
    }

    /// The model, with the learning-rate schedule for the loss-curve laws (other models ignore
    /// it). Errors as [`crate::fit::schedule::LrSchedule::check`].
    pub fn model_with_schedule(&self, schedule: &LrSchedule) -> Result<Box<dyn Model>, CoreError> {
        match self {
            BuiltinModel::LrAnnealing => Ok(Box::new(LrAnnealing::new(schedule)?)),
            BuiltinModel::MultiPowerLaw => Ok(Box::new(MultiPowerLaw::new(schedule)?)),
            other => Ok(other.model()),
        }
    }

    /// Data-driven starting values (see each model's `default_start`), with the schedule for the
    /// loss-curve laws. Without one (or with an invalid one) the multi-power law starts at
    /// [`LUO_100M`] with `L0` adapted, the LR-annealing law at `[0.9·min L, 1, 0.5, 1]`.
    pub fn default_start_with(&self, data: &Data, schedule: Option<&LrSchedule>) -> Vec<f64> {
        match (self, schedule) {
            (BuiltinModel::LrAnnealing, Some(s)) => {
                LrAnnealing::new(s).unwrap_or_default().default_start(data)
            }
            (BuiltinModel::MultiPowerLaw, Some(s)) => MultiPowerLaw::new(s)
                .unwrap_or_default()
                .default_start(data),
            _ => self.default_start(data),
        }
    }

    /// Data-driven starting values (see each model's `default_start`); the loss-curve laws
    /// without their schedule (see [`BuiltinModel::default_start_with`]).
    pub fn default_start(&self, data: &Data) -> Vec<f64> {
        match self {
            BuiltinModel::PowerLaw => PowerLaw.default_start(data),
            BuiltinModel::PowerLawPlusConstant => PowerLawPlusConstant.default_start(data),
            BuiltinModel::Chinchilla => Chinchilla.default_start(data),
            BuiltinModel::Kaplan => Kaplan.default_start(data),
            BuiltinModel::BrokenPowerLaw1 => BrokenPowerLaw { breaks: 1 }.default_start(data),
            BuiltinModel::BrokenPowerLaw2 => BrokenPowerLaw { breaks: 2 }.default_start(data),
            BuiltinModel::BrokenPowerLaw3 => BrokenPowerLaw { breaks: 3 }.default_start(data),
            BuiltinModel::LrAnnealing => LrAnnealing::default().default_start(data),
            BuiltinModel::MultiPowerLaw => MultiPowerLaw::default().default_start(data),
        }
    }

    /// Natural bounds `(lower, upper)` per parameter for a bounded fit: amplitudes, exponents,
    /// scales and break positions ≥ 0; constants and BNSL slope changes unbounded.
    pub fn suggested_bounds(&self) -> Vec<(f64, f64)> {
        const FREE: (f64, f64) = (f64::NEG_INFINITY, f64::INFINITY);
        const POS: (f64, f64) = (0.0, f64::INFINITY);
        match self {
            BuiltinModel::PowerLaw => vec![POS, POS],
            BuiltinModel::PowerLawPlusConstant => vec![FREE, POS, POS],
            BuiltinModel::Chinchilla => vec![POS; 5],
            BuiltinModel::Kaplan => vec![POS; 4],
            BuiltinModel::BrokenPowerLaw1
            | BuiltinModel::BrokenPowerLaw2
            | BuiltinModel::BrokenPowerLaw3 => {
                let breaks = match self {
                    BuiltinModel::BrokenPowerLaw1 => 1,
                    BuiltinModel::BrokenPowerLaw2 => 2,
                    _ => 3,
                };
                let mut b = vec![FREE, FREE, FREE];
                for _ in 0..breaks {
                    b.extend([FREE, POS, POS]);
                }
                b
            }
            BuiltinModel::LrAnnealing => vec![POS; 4],
            BuiltinModel::MultiPowerLaw => vec![POS; 7],
        }
    }
}

impl fmt::Display for BuiltinModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BuiltinModel {
    type Err = CoreError;

    /// Parses a [`BuiltinModel::name`], ignoring case, surrounding spaces, and `-`/space versus `_`
    /// (so `"Broken-Power-Law-2"` works). Also accepts `"bnsl"` (= `broken_power_law_1`),
    /// `"bnsl_1".."bnsl_3"`, `"hoffmann"`, `"tissue"` and `"mpl"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .trim()
            .chars()
            .map(|c| match c {
                '-' | ' ' => '_',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        if let Some(m) = BuiltinModel::ALL.iter().find(|m| m.name() == key) {
            return Ok(*m);
        }
        match key.as_str() {
            "bnsl" | "bnsl_1" | "bnsl1" => Ok(BuiltinModel::BrokenPowerLaw1),
            "bnsl_2" | "bnsl2" => Ok(BuiltinModel::BrokenPowerLaw2),
            "bnsl_3" | "bnsl3" => Ok(BuiltinModel::BrokenPowerLaw3),
            "hoffmann" => Ok(BuiltinModel::Chinchilla),
            "tissue" => Ok(BuiltinModel::LrAnnealing),
            "mpl" => Ok(BuiltinModel::MultiPowerLaw),
            _ => Err(CoreError::InvalidValue {
                what: "model name",
                reason: format!(
                    "“{}” is not a built-in model; use one of {}",
                    s.chars().take(40).collect::<String>(),
                    BuiltinModel::ALL.map(|m| m.name()).join(", ")
                ),
            }),
        }
    }
}

/// `true` when `x`, `θ` and the gradient slice have the lengths the model needs.
pub(crate) fn args_ok(
    x: &[f64],
    n_inputs: usize,
    theta: &[f64],
    n_params: usize,
    grad: Option<&[f64]>,
) -> bool {
    x.len() == n_inputs && theta.len() == n_params && grad.is_none_or(|g| g.len() == n_params)
}

/// Fills a gradient slice (if any) with NaN.
pub(crate) fn fill_nan(grad: Option<&mut [f64]>) {
    if let Some(g) = grad {
        g.fill(f64::NAN);
    }
}

/// The rows of `data` with exactly `n_inputs` inputs, all finite, and a finite target; empty when
/// the data set is inconsistent (never panics).
pub(crate) fn valid_rows(data: &Data, n_inputs: usize) -> impl Iterator<Item = (&[f64], f64)> {
    let consistent =
        data.n_inputs == n_inputs && n_inputs > 0 && data.x.len() == data.y.len() * n_inputs;
    let (x, y): (&[f64], &[f64]) = if consistent {
        (&data.x, &data.y)
    } else {
        (&[], &[])
    };
    x.chunks_exact(n_inputs.max(1))
        .zip(y.iter().copied())
        .filter(|(r, y)| y.is_finite() && r.iter().all(|v| v.is_finite()))
}

/// `(x, y)` of the single-input rows with `x > 0` and `y > y_floor`.
pub(crate) fn positive_pairs(data: &Data, y_floor: f64) -> Vec<(f64, f64)> {
    valid_rows(data, 1)
        .filter(|(x, y)| x[0] > 0.0 && *y > y_floor)
        .map(|(x, y)| (x[0], y))
        .collect()
}

/// Least-squares line `ln y = intercept + slope·ln x` through positive pairs: `Some((intercept,
/// slope))`, or `None` with fewer than two distinct `x` or a non-finite result.
pub(crate) fn log_log_line(pairs: &[(f64, f64)]) -> Option<(f64, f64)> {
    let design: Vec<Vec<f64>> = pairs.iter().map(|p| vec![1.0, p.0.ln()]).collect();
    let targets: Vec<f64> = pairs.iter().map(|p| p.1.ln()).collect();
    let c = linear_least_squares(&design, &targets)?;
    Some((c[0], c[1]))
}

/// Solves the linear least-squares problem `min ‖X c − t‖²` through the normal equations
/// (`XᵀX c = Xᵀt`, Gaussian elimination with partial pivoting and column scaling). `None` when
/// there are fewer rows than unknowns, the system is (numerically) singular, or the result is not
/// finite. Only used for starting values, where its accuracy is ample.
pub(crate) fn linear_least_squares(design: &[Vec<f64>], targets: &[f64]) -> Option<Vec<f64>> {
    let k = design.first()?.len();
    if k == 0
        || design.len() < k
        || design.len() != targets.len()
        || design.iter().any(|r| r.len() != k)
    {
        return None;
    }
    // Scale columns to unit max-abs for conditioning.
    let mut scale = vec![0.0f64; k];
    for row in design {
        for (s, v) in scale.iter_mut().zip(row) {
            *s = s.max(v.abs());
        }
    }
    if scale.iter().any(|s| !(*s > 0.0 && s.is_finite())) {
        return None;
    }
    let mut a = vec![vec![0.0; k + 1]; k];
    for (row, &t) in design.iter().zip(targets) {
        for i in 0..k {
            let ri = row[i] / scale[i];
            for j in 0..k {
                a[i][j] += ri * row[j] / scale[j];
            }
            a[i][k] += ri * t;
        }
    }
    let norm = a
        .iter()
        .flat_map(|r| r[..k].iter())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    for col in 0..k {
        let pivot = (col..k).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        let size = a[pivot][col].abs();
        if size.is_nan() || size <= 1e-12 * norm {
            return None;
        }
        a.swap(col, pivot);
        let (done, rest) = a.split_at_mut(col + 1);
        let pivot_row = &done[col];
        for row in rest {
            let f = row[col] / pivot_row[col];
            for (x, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
        }
    }
    let mut c = vec![0.0; k];
    for i in (0..k).rev() {
        let mut v = a[i][k];
        for j in i + 1..k {
            v -= a[i][j] * c[j];
        }
        c[i] = v / a[i][i];
    }
    for (ci, s) in c.iter_mut().zip(&scale) {
        *ci /= s;
    }
    c.iter().all(|v| v.is_finite()).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_fromstr_and_serde() {
        for m in BuiltinModel::ALL {
            assert_eq!(m.name().parse::<BuiltinModel>(), Ok(m));
            assert_eq!(m.to_string(), m.name());
            assert_eq!(
                m.model().param_names().len(),
                m.suggested_bounds().len(),
                "{m}"
            );
            assert_eq!(m.model().n_inputs(), m.input_names().len(), "{m}");
        }
        assert_eq!(
            " Broken-Power-Law-2 ".parse(),
            Ok(BuiltinModel::BrokenPowerLaw2)
        );
        assert_eq!("BNSL".parse(), Ok(BuiltinModel::BrokenPowerLaw1));
        let err = "chinchila".parse::<BuiltinModel>().unwrap_err();
        assert_eq!(err.code(), "InvalidValue");
        assert!(err.to_string().contains("chinchilla"), "{err}");
    }

    #[test]
    fn least_squares_solves_exact_systems_and_rejects_singular_ones() {
        let design = vec![vec![1.0, 0.0], vec![1.0, 1.0], vec![1.0, 2.0]];
        let c = linear_least_squares(&design, &[1.0, 3.0, 5.0]).unwrap();
        assert!((c[0] - 1.0).abs() < 1e-12 && (c[1] - 2.0).abs() < 1e-12);
        let singular = vec![vec![1.0, 2.0], vec![2.0, 4.0]];
        assert_eq!(linear_least_squares(&singular, &[1.0, 2.0]), None);
        assert_eq!(linear_least_squares(&[], &[]), None);
    }
}
