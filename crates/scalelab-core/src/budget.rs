//! How much of a long computation one slice may do.
//!
//! Long work (a multi-start fit, a bootstrap, a training run) advances in slices so that a worker
//! can read its messages (cancel, pause) between them. A [`Budget`] tells the work when to stop: a
//! caller-supplied check of the time left (this crate has no clock) and an optional cap on whole
//! units (a start, a resample, an epoch), which is how a "step" runs exactly one unit.

/// The budget of one slice (see the module docs).
pub struct Budget<'a> {
    time_left: &'a mut dyn FnMut() -> bool,
    units_left: Option<u64>,
    units_done: u64,
}

impl<'a> Budget<'a> {
    /// A slice that goes on while `time_left()` is `true` and, when `units` is given, until that
    /// many whole units are done.
    pub fn new(time_left: &'a mut dyn FnMut() -> bool, units: Option<u64>) -> Budget<'a> {
        Budget {
            time_left,
            units_left: units,
            units_done: 0,
        }
    }

    /// `true` while the slice may go on inside a unit (asked between solver iterations).
    pub fn has_time(&mut self) -> bool {
        (self.time_left)()
    }

    /// Records a finished unit; `true` when the slice may start another.
    pub fn unit_done(&mut self) -> bool {
        self.units_done += 1;
        if let Some(left) = self.units_left.as_mut() {
            *left = left.saturating_sub(1);
        }
        self.may_continue()
    }

    /// `true` when the slice may start another unit: units are left and so is time.
    pub fn may_continue(&mut self) -> bool {
        self.units_left != Some(0) && self.has_time()
    }

    /// `true` when the slice's cap on whole units is used up (work must not start another).
    pub fn units_exhausted(&self) -> bool {
        self.units_left == Some(0)
    }

    /// Whole units finished in this slice.
    pub fn units_done(&self) -> u64 {
        self.units_done
    }
}

/// Runs `advance` in one unlimited slice after another until it gives a result: the whole
/// computation at once, for callers without a time limit (the npm package, tests).
pub fn run_to_end<T, E>(
    mut advance: impl FnMut(&mut Budget<'_>) -> Result<Option<T>, E>,
) -> Result<T, E> {
    let mut always = || true;
    loop {
        let mut budget = Budget::new(&mut always, None);
        if let Some(out) = advance(&mut budget)? {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_cap_the_slice_and_time_ends_it() {
        let mut yes = || true;
        let mut b = Budget::new(&mut yes, Some(2));
        assert!(b.has_time());
        assert!(b.unit_done());
        assert!(!b.unit_done(), "the second unit ends a two-unit slice");
        assert_eq!(b.units_done(), 2);
        let mut calls = 0;
        let mut three = || {
            calls += 1;
            calls <= 3
        };
        let mut b = Budget::new(&mut three, None);
        assert!(b.unit_done() && b.unit_done() && b.unit_done());
        assert!(!b.unit_done(), "time ran out after three checks");
    }
}
