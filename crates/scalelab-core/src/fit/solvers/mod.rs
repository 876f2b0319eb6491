//! The solvers behind the fits: [`levenberg_marquardt`] (MINPACK `lmder` with robust losses and
//! bounds, for least squares; driven by [`crate::fit::least_squares`]) and [`lbfgs`] (for Hoffmann
//! et al.'s Huber objective). Both can be advanced in slices: after every accepted step the caller
//! answers with a [`Control`], and a suspended run resumes with identical arithmetic.

pub mod lbfgs;
pub mod levenberg_marquardt;

/// The state reported to a monitor after every accepted step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress<'a> {
    /// Trial steps taken so far (accepted or not).
    pub iteration: usize,
    /// Evaluations of residuals and Jacobian so far.
    pub evaluations: usize,
    /// Cost `½ Σ ρ_c(r_i²)` at `params`.
    pub cost: f64,
    /// The parameters just accepted.
    pub params: &'a [f64],
}

/// The control of a solver run inside a slice: go on while `budget` has time, else suspend.
pub fn within<'b, 'c>(
    budget: &'b mut crate::Budget<'c>,
) -> impl FnMut(&Progress<'_>) -> Control + use<'b, 'c> {
    |_| {
        if budget.has_time() {
            Control::Continue
        } else {
            Control::Suspend
        }
    }
}

/// What a solver's caller asks for after an accepted step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Take the next step.
    Continue,
    /// Stop here; advancing the run again goes on exactly where it stopped.
    Suspend,
    /// End the run with [`crate::fit::Termination::Cancelled`].
    Cancel,
}
