//! One value a job leaves in the worker for later jobs to read by number (a finished fit for its
//! downloads; a score set for the Calibrate lab's method comparison and sample lookup), so large
//! data cross to the worker once, not with every request.
//!
//! A slot holds at most one value: keeping a new one replaces (and frees) the old, and a request
//! for a number the slot no longer holds gets `None`, which the job reports as its "gone" error.
//! Used from `thread_local!` (the worker is one thread: no locking).

use std::cell::{Cell, RefCell};

/// A slot for one kept value, numbered from 1.
pub struct Kept<T> {
    next: Cell<u64>,
    value: RefCell<Option<(u64, T)>>,
}

impl<T> Kept<T> {
    /// An empty slot.
    pub const fn new() -> Self {
        Kept {
            next: Cell::new(1),
            value: RefCell::new(None),
        }
    }

    /// Keeps `value` (dropping the previous one); returns its number.
    pub fn keep(&self, value: T) -> u64 {
        let id = self.next.get();
        self.next.set(id + 1);
        *self.value.borrow_mut() = Some((id, value));
        id
    }

    /// Drops the kept value (before a job that will keep a new, large one).
    pub fn clear(&self) {
        *self.value.borrow_mut() = None;
    }

    /// `f` of the value numbered `id`, if the slot still holds it.
    pub fn with<R>(&self, id: u64, f: impl FnOnce(&T) -> R) -> Option<R> {
        match &*self.value.borrow() {
            Some((kept, value)) if *kept == id => Some(f(value)),
            _ => None,
        }
    }
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::Kept;

    #[test]
    fn a_slot_holds_the_last_value_by_number() {
        let slot = Kept::new();
        assert_eq!(slot.with(1, |v: &&str| *v), None);
        let a = slot.keep("a");
        assert_eq!(slot.with(a, |v| *v), Some("a"));
        let b = slot.keep("b");
        assert_eq!((a, b), (1, 2));
        assert_eq!(slot.with(a, |v| *v), None, "replaced");
        assert_eq!(slot.with(b, |v| *v), Some("b"));
        slot.clear();
        assert_eq!(slot.with(b, |v| *v), None, "cleared");
    }
}
