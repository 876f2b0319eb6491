//! Axis scales and tick placement for the SVG charts (pure layout arithmetic, testable natively).

/// How data values map onto an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleKind {
    /// Equal distances for equal differences.
    Linear,
    /// Equal distances for equal ratios; only positive values can be shown.
    Log,
}

/// One labelled tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Position in data units.
    pub value: f64,
    /// Text shown beside the tick.
    pub label: String,
}

/// A data interval mapped onto the unit interval `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axis {
    /// Linear or logarithmic.
    pub kind: ScaleKind,
    /// Smallest value shown (positive for `Log`).
    pub min: f64,
    /// Largest value shown (greater than `min`).
    pub max: f64,
}

impl Axis {
    /// An axis over `[min, max]`; a degenerate or reversed interval is widened so that it can be drawn,
    /// and a log axis drops to a decade around its positive bound.
    pub fn new(kind: ScaleKind, min: f64, max: f64) -> Axis {
        let (mut lo, mut hi) = if min <= max { (min, max) } else { (max, min) };
        if !lo.is_finite() || !hi.is_finite() {
            return Axis::fallback(kind);
        }
        match kind {
            ScaleKind::Linear => {
                if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
                    let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
                    lo -= pad;
                    hi += pad;
                }
            }
            ScaleKind::Log => {
                if hi <= 0.0 {
                    return Axis::fallback(kind);
                }
                if lo <= 0.0 {
                    lo = hi / 10.0;
                }
                if hi / lo < 1.0 + 1e-9 {
                    lo /= 10f64.sqrt();
                    hi *= 10f64.sqrt();
                }
            }
        }
        Axis {
            kind,
            min: lo,
            max: hi,
        }
    }

    fn fallback(kind: ScaleKind) -> Axis {
        match kind {
            ScaleKind::Linear => Axis {
                kind,
                min: 0.0,
                max: 1.0,
            },
            ScaleKind::Log => Axis {
                kind,
                min: 1.0,
                max: 10.0,
            },
        }
    }

    /// The smallest axis holding every finite value (every positive one for `Log`), rounded out to
    /// tick-friendly bounds; `None` when no value can be shown.
    pub fn fit(kind: ScaleKind, values: impl IntoIterator<Item = f64>) -> Option<Axis> {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for v in values {
            if v.is_finite() && (kind == ScaleKind::Linear || v > 0.0) {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if lo > hi {
            return None;
        }
        let raw = Axis::new(kind, lo, hi);
        Some(match kind {
            ScaleKind::Linear => {
                let step = nice_step((raw.max - raw.min) / 5.0);
                Axis::new(
                    kind,
                    (raw.min / step).floor() * step,
                    (raw.max / step).ceil() * step,
                )
            }
            ScaleKind::Log => Axis::new(
                kind,
                10f64.powf(raw.min.log10().floor()),
                10f64.powf(raw.max.log10().ceil()),
            ),
        })
    }

    /// Position of `v` on the axis as a fraction in `[0, 1]` (outside for values beyond the bounds;
    /// non-positive values on a log axis map below 0).
    pub fn to_unit(&self, v: f64) -> f64 {
        match self.kind {
            ScaleKind::Linear => (v - self.min) / (self.max - self.min),
            ScaleKind::Log => {
                if v <= 0.0 {
                    return -1.0;
                }
                (v.ln() - self.min.ln()) / (self.max.ln() - self.min.ln())
            }
        }
    }

    /// The data value at fraction `u` of the axis (inverse of [`Axis::to_unit`]).
    pub fn from_unit(&self, u: f64) -> f64 {
        match self.kind {
            ScaleKind::Linear => self.min + u * (self.max - self.min),
            ScaleKind::Log => (self.min.ln() + u * (self.max.ln() - self.min.ln())).exp(),
        }
    }

    /// About `target` ticks at round values inside the axis: 1, 2 or 5 times a power of ten apart on a
    /// linear axis; decades on a log axis (with 2 and 5 between them when the axis spans under two
    /// decades, and every n-th decade when it spans many).
    pub fn ticks(&self, target: usize) -> Vec<Tick> {
        let target = target.max(2);
        let inside = |v: f64| {
            v >= self.min * (1.0 - 1e-12) - 1e-300 && v <= self.max * (1.0 + 1e-12) + 1e-300
        };
        match self.kind {
            ScaleKind::Linear => {
                let step = nice_step((self.max - self.min) / target as f64);
                let first = (self.min / step).ceil() as i64;
                let last = (self.max / step).floor() as i64;
                (first..=last)
                    .map(|i| {
                        let v = i as f64 * step;
                        let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
                        Tick {
                            value: v,
                            label: format_tick(v, step),
                        }
                    })
                    .collect()
            }
            ScaleKind::Log => {
                let lo = self.min.log10().floor() as i32;
                let hi = self.max.log10().ceil() as i32;
                let decades = (hi - lo).max(1) as usize;
                let mut ticks = Vec::new();
                if decades < 2 {
                    for e in lo..=hi {
                        for m in [1.0, 2.0, 5.0] {
                            let v = m * 10f64.powi(e);
                            if inside(v) {
                                ticks.push(Tick {
                                    value: v,
                                    label: format_log_tick(m, e),
                                });
                            }
                        }
                    }
                } else {
                    let every = decades.div_ceil(target).max(1) as i32;
                    let mut e =
                        lo + (lo.rem_euclid(every) != 0) as i32 * (every - lo.rem_euclid(every));
                    while e <= hi {
                        let v = 10f64.powi(e);
                        if inside(v) {
                            ticks.push(Tick {
                                value: v,
                                label: format_log_tick(1.0, e),
                            });
                        }
                        e += every;
                    }
                }
                ticks
            }
        }
    }
}

/// The round step (1, 2 or 5 × 10^k) nearest to `raw` on a log scale (thresholds √2, √10, √50), so
/// that about the asked-for number of ticks results.
pub fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let base = 10f64.powf(raw.log10().floor());
    let frac = raw / base;
    let m = if frac >= 50f64.sqrt() {
        10.0
    } else if frac >= 10f64.sqrt() {
        5.0
    } else if frac >= 2f64.sqrt() {
        2.0
    } else {
        1.0
    };
    m * base
}

/// A tick label with just enough decimals for ticks `step` apart; scientific notation for very large
/// or very small magnitudes.
pub fn format_tick(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let mag = v.abs();
    if !(1e-3..1e6).contains(&mag) {
        let s = format!("{v:.1e}");
        return s.replace(".0e", "e");
    }
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

fn superscript(n: i32) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut s = String::new();
    if n < 0 {
        s.push('⁻');
    }
    for c in n.unsigned_abs().to_string().chars() {
        s.push(DIGITS[c.to_digit(10).unwrap_or(0) as usize]);
    }
    s
}

/// `m × 10^e` as a label: plain decimals between 0.001 and 10⁴, powers of ten otherwise.
pub fn format_log_tick(m: f64, e: i32) -> String {
    if (-3..=4).contains(&e) {
        let v = m * 10f64.powi(e);
        let decimals = (-e).max(0) as usize;
        return format!("{v:.decimals$}");
    }
    if m == 1.0 {
        format!("10{}", superscript(e))
    } else {
        format!("{m}·10{}", superscript(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: &[Tick]) -> Vec<f64> {
        t.iter().map(|t| t.value).collect()
    }

    #[test]
    fn nice_steps_are_one_two_five() {
        assert_eq!(nice_step(0.13), 0.1);
        assert_eq!(nice_step(0.2), 0.2);
        assert_eq!(nice_step(3.0), 2.0);
        assert_eq!(nice_step(4.0), 5.0);
        assert_eq!(nice_step(7.0), 5.0);
        assert_eq!(nice_step(8.0), 10.0);
        assert_eq!(nice_step(1.0), 1.0);
        assert_eq!(nice_step(0.0), 1.0);
    }

    #[test]
    fn linear_ticks_cover_the_axis_at_round_values() {
        let a = Axis::new(ScaleKind::Linear, 0.0, 1.0);
        assert_eq!(
            values(&a.ticks(5)),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        let labels: Vec<String> = a.ticks(5).into_iter().map(|t| t.label).collect();
        assert_eq!(labels, ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        let b = Axis::new(ScaleKind::Linear, -3.2, 7.9);
        assert_eq!(values(&b.ticks(5)), vec![-2.0, 0.0, 2.0, 4.0, 6.0]);
    }

    #[test]
    fn log_ticks_are_decades_or_one_two_five() {
        let a = Axis::new(ScaleKind::Log, 1.0, 1000.0);
        assert_eq!(values(&a.ticks(5)), vec![1.0, 10.0, 100.0, 1000.0]);
        let b = Axis::new(ScaleKind::Log, 1.0, 9.0);
        assert_eq!(values(&b.ticks(5)), vec![1.0, 2.0, 5.0]);
        let c = Axis::new(ScaleKind::Log, 1e-30, 1.0);
        let t = c.ticks(5);
        assert!(t.len() <= 6 && t.len() >= 3, "{t:?}");
        assert_eq!(t.last().map(|t| t.value), Some(1.0));
        assert_eq!(t[0].label, "10⁻³⁰");
    }

    #[test]
    fn degenerate_and_invalid_domains_still_draw() {
        let a = Axis::new(ScaleKind::Linear, 2.0, 2.0);
        assert!(a.min < 2.0 && a.max > 2.0);
        let b = Axis::new(ScaleKind::Log, -1.0, -0.5);
        assert!(b.min > 0.0 && b.max > b.min);
        assert!(Axis::fit(ScaleKind::Log, [0.0, -1.0, f64::NAN]).is_none());
        let c = Axis::fit(ScaleKind::Log, [3e-5, 0.7, 0.0]).expect("positive values");
        assert_eq!((c.min, c.max), (1e-5, 1.0));
    }

    #[test]
    fn unit_mapping_round_trips() {
        for a in [
            Axis::new(ScaleKind::Linear, -2.0, 6.0),
            Axis::new(ScaleKind::Log, 1e-3, 1e3),
        ] {
            for u in [0.0, 0.25, 0.5, 1.0] {
                assert!((a.to_unit(a.from_unit(u)) - u).abs() < 1e-12);
            }
        }
        assert_eq!(Axis::new(ScaleKind::Log, 1.0, 100.0).to_unit(10.0), 0.5);
    }

    #[test]
    fn labels_switch_to_scientific_for_extremes() {
        assert_eq!(format_tick(2e-5, 1e-5), "2e-5");
        assert_eq!(format_tick(2.5e7, 5e6), "2.5e7");
        assert_eq!(format_log_tick(1.0, -2), "0.01");
        assert_eq!(format_log_tick(5.0, 6), "5·10⁶");
    }
}
