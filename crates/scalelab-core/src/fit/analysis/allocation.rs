//! The allocation stage: for a Chinchilla fit, the compute-optimal rule `N_opt = G (C/6)^a`,
//! `D_opt = G⁻¹ (C/6)^b` and the frontier at budgets 10¹⁸ … 10²⁶ FLOPs (half-decade steps).

use super::{Allocation, FitRequest};
use crate::fit::allocation::ChinchillaAllocation;
use crate::fit::models::BuiltinModel;

/// The allocation of a Chinchilla fit with valid exponents; `None` otherwise.
pub(super) fn allocation(req: &FitRequest, params: &[f64]) -> Option<Allocation> {
    if !req.model.is(BuiltinModel::Chinchilla) {
        return None;
    }
    let rule = ChinchillaAllocation::from_chinchilla_params(params).ok()?;
    Some(Allocation {
        rule,
        frontier: (0..=16)
            .filter_map(|i| rule.at(10f64.powf(18.0 + 0.5 * i as f64)).ok())
            .collect(),
    })
}
