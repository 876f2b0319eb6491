//! Multi-start fitting: run a local fit from many starting points and keep the best.
//!
//! A [`GridSpec`] produces the starts:
//! - [`GridSpec::Cartesian`]: the cartesian product of per-parameter value lists, with a chosen
//!   loop nesting (e.g. [`hoffmann_grid_spec`], Hoffmann et al.'s 4500 starts in Epoch's order);
//! - [`GridSpec::LatinHypercube`]: `samples` points, each parameter's range cut into `samples`
//!   equal strata with exactly one point per stratum, strata paired by independent random
//!   permutations and the point placed uniformly inside its stratum (McKay, Beckman & Conover 1979);
//! - [`GridSpec::Random`]: `samples` points uniform in the box.
//!
//! Random grids use ChaCha8 seeded with the given `seed` (`rand_chacha`), so the same spec gives the
//! same starts on every platform.
//!
//! [`multistart`] calls the caller's local fit (e.g. a closure over
//! [`crate::fit::least_squares::fit`]) from every start and keeps the **lowest cost among converged
//! fits** ([`crate::fit::Termination::converged`]), the earliest start on ties. When no start
//! converges it keeps the lowest finite cost and says so ([`MultiStartFit::best_converged`]).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::CoreError;
use crate::fit::hoffmann::{GRID_A, GRID_ALPHA, GRID_B, GRID_BETA, GRID_E};
use crate::fit::FitResult;

/// Most starts a [`GridSpec`] may produce (guards against a runaway cartesian product).
pub const MAX_STARTS: usize = 1_000_000;

/// How to generate the starting points of a multi-start fit.
#[derive(Debug, Clone, PartialEq)]
pub enum GridSpec {
    /// Every combination of `values[j]` (the candidate values of parameter `j`).
    Cartesian {
        /// Candidate values per parameter (each list non-empty).
        values: Vec<Vec<f64>>,
        /// Loop nesting, outermost first: a permutation of `0..values.len()`; the last parameter
        /// listed varies fastest. `None` = parameter order (the last parameter fastest).
        order: Option<Vec<usize>>,
    },
    /// Latin-hypercube sample of the box.
    LatinHypercube {
        /// `(lower, upper)` per parameter, finite, `lower ≤ upper`.
        bounds: Vec<(f64, f64)>,
        /// Number of starts.
        samples: usize,
        /// RNG seed.
        seed: u64,
    },
    /// Uniform random sample of the box.
    Random {
        /// `(lower, upper)` per parameter, finite, `lower ≤ upper`.
        bounds: Vec<(f64, f64)>,
        /// Number of starts.
        samples: usize,
        /// RNG seed.
        seed: u64,
    },
}

/// Hoffmann et al.'s 4500-start grid as a [`GridSpec`] over `(a, b, e, α, β)`, nested as Epoch's
/// `itertools.product(alpha, beta, e, a, b)`; its starts equal
/// [`crate::fit::hoffmann::hoffmann_grid`].
pub fn hoffmann_grid_spec() -> GridSpec {
    GridSpec::Cartesian {
        values: vec![
            GRID_A.to_vec(),
            GRID_B.to_vec(),
            GRID_E.to_vec(),
            GRID_ALPHA.to_vec(),
            GRID_BETA.to_vec(),
        ],
        order: Some(vec![3, 4, 2, 0, 1]),
    }
}

impl GridSpec {
    /// Number of parameters of each start.
    pub fn dimension(&self) -> usize {
        match self {
            GridSpec::Cartesian { values, .. } => values.len(),
            GridSpec::LatinHypercube { bounds, .. } | GridSpec::Random { bounds, .. } => {
                bounds.len()
            }
        }
    }

    /// The starts, each of length [`GridSpec::dimension`].
    ///
    /// # Errors
    /// [`CoreError::EmptyInput`] for no parameters, an empty value list or zero samples;
    /// [`CoreError::NonFinite`] for a non-finite value or bound; [`CoreError::InvalidValue`] for
    /// `lower > upper` or an `order` that is not a permutation; [`CoreError::OutOfRange`] for
    /// more than [`MAX_STARTS`] starts.
    pub fn starts(&self) -> Result<Vec<Vec<f64>>, CoreError> {
        match self {
            GridSpec::Cartesian { values, order } => cartesian(values, order.as_deref()),
            GridSpec::LatinHypercube {
                bounds,
                samples,
                seed,
            } => {
                check_box(bounds, *samples)?;
                let mut rng = ChaCha8Rng::seed_from_u64(*seed);
                let mut out = vec![vec![0.0; bounds.len()]; *samples];
                let mut perm: Vec<usize> = (0..*samples).collect();
                for (j, &(lo, hi)) in bounds.iter().enumerate() {
                    // Fisher–Yates shuffle of the strata.
                    for i in (1..perm.len()).rev() {
                        let k = rng.random_range(0..=i);
                        perm.swap(i, k);
                    }
                    for (i, row) in out.iter_mut().enumerate() {
                        let u: f64 = rng.random();
                        let t = (perm[i] as f64 + u) / *samples as f64;
                        row[j] = lo + t * (hi - lo);
                    }
                }
                Ok(out)
            }
            GridSpec::Random {
                bounds,
                samples,
                seed,
            } => {
                check_box(bounds, *samples)?;
                let mut rng = ChaCha8Rng::seed_from_u64(*seed);
                Ok((0..*samples)
                    .map(|_| {
                        bounds
                            .iter()
                            .map(|&(lo, hi)| {
                                let u: f64 = rng.random();
                                lo + u * (hi - lo)
                            })
                            .collect()
                    })
                    .collect())
            }
        }
    }
}

fn cartesian(values: &[Vec<f64>], order: Option<&[usize]>) -> Result<Vec<Vec<f64>>, CoreError> {
    let p = values.len();
    if p == 0 {
        return Err(CoreError::EmptyInput {
            what: "grid parameters",
        });
    }
    let mut total: usize = 1;
    for v in values {
        if v.is_empty() {
            return Err(CoreError::EmptyInput {
                what: "grid values",
            });
        }
        CoreError::check_finite("grid values", v)?;
        total = total.saturating_mul(v.len());
    }
    if total > MAX_STARTS {
        return Err(CoreError::OutOfRange {
            what: "number of grid starts",
            value: total as f64,
            min: 1.0,
            max: MAX_STARTS as f64,
        });
    }
    let order: Vec<usize> = match order {
        None => (0..p).collect(),
        Some(o) => {
            let mut seen = vec![false; p];
            if o.len() != p
                || o.iter()
                    .any(|&j| j >= p || std::mem::replace(&mut seen[j], true))
            {
                return Err(CoreError::InvalidValue {
                    what: "grid order",
                    reason: format!(
                        "give each parameter index 0..{p} exactly once, outermost loop first"
                    ),
                });
            }
            o.to_vec()
        }
    };
    // Odometer over the nesting order: the last entry of `order` turns fastest.
    let mut idx = vec![0usize; p];
    let mut out = Vec::with_capacity(total);
    for _ in 0..total {
        out.push((0..p).map(|j| values[j][idx[j]]).collect());
        for &j in order.iter().rev() {
            idx[j] += 1;
            if idx[j] < values[j].len() {
                break;
            }
            idx[j] = 0;
        }
    }
    Ok(out)
}

fn check_box(bounds: &[(f64, f64)], samples: usize) -> Result<(), CoreError> {
    if bounds.is_empty() {
        return Err(CoreError::EmptyInput {
            what: "grid bounds",
        });
    }
    if samples == 0 {
        return Err(CoreError::EmptyInput {
            what: "grid samples",
        });
    }
    if samples > MAX_STARTS {
        return Err(CoreError::OutOfRange {
            what: "number of grid starts",
            value: samples as f64,
            min: 1.0,
            max: MAX_STARTS as f64,
        });
    }
    for (j, &(lo, hi)) in bounds.iter().enumerate() {
        CoreError::check_finite("grid bounds", &[lo, hi]).map_err(|_| CoreError::NonFinite {
            what: "grid bounds",
            index: j,
            value: if lo.is_finite() { hi } else { lo },
        })?;
        if lo > hi {
            return Err(CoreError::InvalidValue {
                what: "grid bounds",
                reason: format!("parameter {j} (0-based) has lower {lo} > upper {hi}; swap them"),
            });
        }
    }
    Ok(())
}

/// The outcome of [`multistart`].
#[derive(Debug, Clone, PartialEq)]
pub struct MultiStartFit {
    /// The best fit: lowest cost among converged fits, or (when none converged) the lowest finite
    /// cost. `None` when no start gave a finite cost.
    pub best: Option<FitResult>,
    /// `true` when [`MultiStartFit::best`] converged.
    pub best_converged: bool,
    /// The start of the best fit.
    pub best_start: Option<Vec<f64>>,
    /// 0-based index of that start.
    pub best_index: Option<usize>,
    /// Starts whose fit converged.
    pub converged: usize,
    /// Starts whose fit returned an error (e.g. the model is undefined at that start).
    pub failed: usize,
    /// Starts run.
    pub run: usize,
    /// Starts requested.
    pub total: usize,
    /// `true` when the progress hook asked to stop early.
    pub cancelled: bool,
}

/// Runs `fit_fn` from every start of `grid` and keeps the best (see the module docs).
/// `progress(done, total)` is called after each start and returns `false` to stop early.
///
/// # Errors
/// The errors of [`GridSpec::starts`]; when **every** start's fit fails, the first start's error
/// (e.g. invalid data), since no start can succeed.
pub fn multistart(
    fit_fn: &dyn Fn(&[f64]) -> Result<FitResult, CoreError>,
    grid: &GridSpec,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<MultiStartFit, CoreError> {
    let starts = grid.starts()?;
    multistart_from(fit_fn, &starts, progress)
}

/// [`multistart`] over explicit starts.
///
/// # Errors
/// [`CoreError::EmptyInput`] for no starts; when every start's fit fails, the first error.
pub fn multistart_from(
    fit_fn: &dyn Fn(&[f64]) -> Result<FitResult, CoreError>,
    starts: &[Vec<f64>],
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<MultiStartFit, CoreError> {
    if starts.is_empty() {
        return Err(CoreError::EmptyInput { what: "starts" });
    }
    let total = starts.len();
    let mut best = BestOf::default();
    let mut first_error = None;
    let mut cancelled = false;
    for (index, start) in starts.iter().enumerate() {
        match fit_fn(start) {
            Ok(r) => {
                best.offer(index, r.cost, r.termination.converged(), r);
            }
            Err(e) => {
                best.fail();
                first_error.get_or_insert(e);
            }
        }
        if !progress(index + 1, total) {
            cancelled = index + 1 < total;
            break;
        }
    }
    match first_error {
        Some(e) if best.failed == best.run => Err(e),
        _ => {
            let (converged, failed, run, best_converged) =
                (best.converged, best.failed, best.run, best.best_converged());
            let best = best.into_best();
            Ok(MultiStartFit {
                best_start: best.as_ref().map(|(i, _)| starts[*i].clone()),
                best_index: best.as_ref().map(|(i, _)| *i),
                best: best.map(|(_, r)| r),
                best_converged,
                converged,
                failed,
                run,
                total,
                cancelled,
            })
        }
    }
}

/// What a multi-start reports after each finished start (the worker streams these to the page).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StartOutcome {
    /// 0-based index of the start.
    pub index: usize,
    /// The cost its fit reached (NaN when the fit failed with an error).
    pub cost: f64,
    /// Whether its fit converged.
    pub converged: bool,
    /// The best cost over the starts finished so far.
    pub best_cost: Option<f64>,
    /// Converged starts so far.
    pub converged_so_far: usize,
}

/// Keeps the best of several fits (see the module docs): the lowest finite cost among converged
/// fits, the earliest on ties; while none has converged, the lowest finite cost. Shared by every
/// multi-start (least squares, Hoffmann's L-BFGS, sliced or not).
#[derive(Debug, Clone)]
pub struct BestOf<T> {
    best: Option<(usize, T)>,
    best_cost: f64,
    best_converged: bool,
    /// Fits offered that converged.
    pub converged: usize,
    /// Starts whose fit failed with an error.
    pub failed: usize,
    /// Starts run (offered or failed).
    pub run: usize,
}

impl<T> Default for BestOf<T> {
    fn default() -> Self {
        BestOf {
            best: None,
            best_cost: f64::INFINITY,
            best_converged: false,
            converged: 0,
            failed: 0,
            run: 0,
        }
    }
}

impl<T> BestOf<T> {
    /// Records the fit from start `index` with its cost; `true` when it became the best.
    pub fn offer(&mut self, index: usize, cost: f64, converged: bool, fit: T) -> bool {
        self.run += 1;
        self.converged += usize::from(converged);
        if !cost.is_finite() {
            return false;
        }
        let better = match &self.best {
            None => true,
            Some(_) => {
                (converged && !self.best_converged)
                    || (converged == self.best_converged && cost < self.best_cost)
            }
        };
        if better {
            self.best = Some((index, fit));
            self.best_cost = cost;
            self.best_converged = converged;
        }
        better
    }

    /// Records a start whose fit failed with an error.
    pub fn fail(&mut self) {
        self.run += 1;
        self.failed += 1;
    }

    /// The best cost so far, if any start gave a finite one.
    pub fn best_cost(&self) -> Option<f64> {
        self.best.as_ref().map(|_| self.best_cost)
    }

    /// `true` when the best fit converged.
    pub fn best_converged(&self) -> bool {
        self.best_converged
    }

    /// The best fit and its start's index.
    pub fn into_best(self) -> Option<(usize, T)> {
        self.best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::hoffmann::hoffmann_grid;
    use crate::fit::Termination;

    fn result(params: Vec<f64>, cost: f64, termination: Termination) -> FitResult {
        FitResult {
            params,
            cost,
            rss: 2.0 * cost,
            iterations: 1,
            evaluations: 1,
            termination,
            std_errors: None,
            covariance: None,
        }
    }

    #[test]
    fn hoffmann_preset_equals_the_grid() {
        let starts = hoffmann_grid_spec().starts().unwrap();
        let grid = hoffmann_grid();
        assert_eq!(starts.len(), 4500);
        for (s, g) in starts.iter().zip(&grid) {
            assert_eq!(s.as_slice(), g.as_slice());
        }
    }

    #[test]
    fn cartesian_default_order_turns_the_last_parameter_fastest() {
        let spec = GridSpec::Cartesian {
            values: vec![vec![1.0, 2.0], vec![10.0, 20.0, 30.0]],
            order: None,
        };
        let s = spec.starts().unwrap();
        assert_eq!(
            s,
            vec![
                vec![1.0, 10.0],
                vec![1.0, 20.0],
                vec![1.0, 30.0],
                vec![2.0, 10.0],
                vec![2.0, 20.0],
                vec![2.0, 30.0]
            ]
        );
        let spec = GridSpec::Cartesian {
            values: vec![vec![1.0, 2.0], vec![10.0, 20.0, 30.0]],
            order: Some(vec![1, 0]),
        };
        assert_eq!(
            spec.starts().unwrap()[..3],
            [vec![1.0, 10.0], vec![2.0, 10.0], vec![1.0, 20.0]]
        );
        let bad = GridSpec::Cartesian {
            values: vec![vec![1.0], vec![2.0]],
            order: Some(vec![0, 0]),
        };
        assert_eq!(bad.starts().unwrap_err().code(), "InvalidValue");
    }

    #[test]
    fn latin_hypercube_has_one_point_per_stratum_and_is_seeded() {
        let spec = GridSpec::LatinHypercube {
            bounds: vec![(0.0, 1.0), (-5.0, 5.0)],
            samples: 16,
            seed: 7,
        };
        let a = spec.starts().unwrap();
        assert_eq!(a, spec.starts().unwrap());
        for (j, &(lo, hi)) in [(0.0, 1.0), (-5.0, 5.0)].iter().enumerate() {
            let mut strata: Vec<usize> = a
                .iter()
                .map(|s| (((s[j] - lo) / (hi - lo)) * 16.0).floor() as usize)
                .collect();
            strata.sort_unstable();
            assert_eq!(strata, (0..16).collect::<Vec<_>>());
        }
        let other = GridSpec::LatinHypercube {
            bounds: vec![(0.0, 1.0), (-5.0, 5.0)],
            samples: 16,
            seed: 8,
        };
        assert_ne!(a, other.starts().unwrap());
        let r = GridSpec::Random {
            bounds: vec![(2.0, 3.0)],
            samples: 50,
            seed: 1,
        }
        .starts()
        .unwrap();
        assert!(r.iter().all(|s| (2.0..3.0).contains(&s[0])));
        let bad = GridSpec::Random {
            bounds: vec![(3.0, 2.0)],
            samples: 5,
            seed: 1,
        };
        assert_eq!(bad.starts().unwrap_err().code(), "InvalidValue");
    }

    #[test]
    fn keeps_the_best_converged_and_can_cancel() {
        // cost = (x − 3)² + 1; starts at x ≥ 4 "do not converge" but reach a lower fake cost.
        let fit = |x: &[f64]| -> Result<FitResult, CoreError> {
            if x[0] < 0.0 {
                return Err(CoreError::InvalidValue {
                    what: "x",
                    reason: "negative".into(),
                });
            }
            if x[0] >= 4.0 {
                Ok(result(x.to_vec(), 0.5, Termination::MaxIterations))
            } else {
                Ok(result(
                    x.to_vec(),
                    (x[0] - 3.0).powi(2) + 1.0,
                    Termination::CostConverged,
                ))
            }
        };
        let spec = GridSpec::Cartesian {
            values: vec![vec![-1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]],
            order: None,
        };
        let out = multistart(&fit, &spec, &mut |_, _| true).unwrap();
        assert!(out.best_converged);
        assert_eq!(out.best_start, Some(vec![3.0]));
        assert_eq!(out.best_index, Some(4));
        assert_eq!(
            (out.converged, out.failed, out.run, out.total),
            (4, 1, 7, 7)
        );

        let out = multistart(&fit, &spec, &mut |done, _| done < 3).unwrap();
        assert!(out.cancelled);
        assert_eq!(out.run, 3);
        assert_eq!(out.best_start, Some(vec![1.0]));

        let only_bad = GridSpec::Cartesian {
            values: vec![vec![-1.0, -2.0]],
            order: None,
        };
        assert_eq!(
            multistart(&fit, &only_bad, &mut |_, _| true)
                .unwrap_err()
                .code(),
            "InvalidValue"
        );

        let none_converge = GridSpec::Cartesian {
            values: vec![vec![4.0, 5.0]],
            order: None,
        };
        let out = multistart(&fit, &none_converge, &mut |_, _| true).unwrap();
        assert!(!out.best_converged);
        assert_eq!(out.best_index, Some(0));
    }
}
