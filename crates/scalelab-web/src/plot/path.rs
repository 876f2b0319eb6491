//! SVG path data for series of any length, in pixel coordinates: a line is reduced to at most four
//! points per pixel column (M4 aggregation: the first, lowest, highest and last point of each
//! column, Jugel et al., "M4: A Visualization-Oriented Time Series Data Aggregation", VLDB 2014),
//! which draws the same pixels as the whole series; dots that fall on the same tenth of a pixel
//! are drawn once. Coordinates are written as fixed-point decimals without `core::fmt` (whose float
//! formatting is the main cost of a 10⁵-point path in WebAssembly).

/// Appends `v` with `decimals` (≤ 3) digits after the point, rounded half away from zero.
pub fn push_fixed(out: &mut String, v: f64, decimals: u32) {
    let scale = 10_i64.pow(decimals);
    let n = (v * scale as f64).round() as i64;
    if n < 0 {
        out.push('-');
    }
    let n = n.unsigned_abs();
    let whole = n / scale as u64;
    let frac = n % scale as u64;
    push_int(out, whole);
    if decimals > 0 {
        out.push('.');
        let mut digits = [b'0'; 3];
        let mut f = frac;
        for i in (0..decimals as usize).rev() {
            digits[i] = b'0' + (f % 10) as u8;
            f /= 10;
        }
        for &d in &digits[..decimals as usize] {
            out.push(d as char);
        }
    }
}

fn push_int(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(b as char);
    }
}

/// The points of one pixel column of a line, by index in the series.
struct Column {
    x: i64,
    first: (usize, f64, f64),
    low: (usize, f64, f64),
    high: (usize, f64, f64),
    last: (usize, f64, f64),
}

impl Column {
    fn new(i: usize, p: (f64, f64)) -> Column {
        let q = (i, p.0, p.1);
        Column {
            x: p.0.floor() as i64,
            first: q,
            low: q,
            high: q,
            last: q,
        }
    }

    fn add(&mut self, i: usize, p: (f64, f64)) {
        let q = (i, p.0, p.1);
        if p.1 < self.low.2 {
            self.low = q;
        }
        if p.1 > self.high.2 {
            self.high = q;
        }
        self.last = q;
    }

    /// Its points in series order, each once.
    fn points(&self) -> impl Iterator<Item = (f64, f64)> {
        let mut p = [self.first, self.low, self.high, self.last];
        p.sort_by_key(|q| q.0);
        let mut seen = usize::MAX;
        p.into_iter().filter_map(move |q| {
            if q.0 == seen {
                return None;
            }
            seen = q.0;
            Some((q.1, q.2))
        })
    }
}

/// Path data of a polyline through `points` (pixel coordinates; `None` lifts the pen), reduced
/// to the first, lowest, highest and last point of each pixel column of each unbroken run.
pub fn line(points: impl IntoIterator<Item = Option<(f64, f64)>>) -> String {
    let mut d = String::new();
    let mut column: Option<Column> = None;
    let mut pen_down = false;
    let flush = |c: &Column, d: &mut String, pen_down: &mut bool| {
        for (x, y) in c.points() {
            d.push(if *pen_down { 'L' } else { 'M' });
            push_fixed(d, x, 2);
            d.push(',');
            push_fixed(d, y, 2);
            *pen_down = true;
        }
    };
    for (i, p) in points.into_iter().enumerate() {
        match p {
            Some(p) => match &mut column {
                Some(c) if c.x == p.0.floor() as i64 => c.add(i, p),
                _ => {
                    if let Some(c) = column.take() {
                        flush(&c, &mut d, &mut pen_down);
                    }
                    column = Some(Column::new(i, p));
                }
            },
            None => {
                if let Some(c) = column.take() {
                    flush(&c, &mut d, &mut pen_down);
                }
                pen_down = false;
            }
        }
    }
    if let Some(c) = column.take() {
        flush(&c, &mut d, &mut pen_down);
    }
    d
}

/// Path data of round dots at `dots` (zero-length segments, drawn with a round line cap), one per
/// tenth of a pixel.
pub fn dots(dots: &[(f64, f64)]) -> String {
    // Sorted and deduplicated in tenths of a pixel (no hash set: it would add its hasher to every
    // bundle that draws a chart).
    let mut cells: Vec<(i64, i64)> = dots
        .iter()
        .map(|&(x, y)| ((x * 10.0).round() as i64, (y * 10.0).round() as i64))
        .collect();
    cells.sort_unstable();
    cells.dedup();
    let mut d = String::with_capacity(cells.len() * 14);
    for (x, y) in cells {
        d.push('M');
        push_fixed(&mut d, x as f64 / 10.0, 1);
        d.push(' ');
        push_fixed(&mut d, y as f64 / 10.0, 1);
        d.push_str("h0");
    }
    d
}

/// Path data of the closed region between `upper` and `lower` (pixel coordinates, same length,
/// left to right).
pub fn band(points: &[(f64, f64, f64)]) -> String {
    let mut d = String::with_capacity(points.len() * 26);
    for (i, &(x, _, u)) in points.iter().enumerate() {
        d.push(if i == 0 { 'M' } else { 'L' });
        push_fixed(&mut d, x, 2);
        d.push(',');
        push_fixed(&mut d, u, 2);
    }
    for &(x, l, _) in points.iter().rev() {
        d.push('L');
        push_fixed(&mut d, x, 2);
        d.push(',');
        push_fixed(&mut d, l, 2);
    }
    if !points.is_empty() {
        d.push('Z');
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(v: f64, decimals: u32) -> String {
        let mut s = String::new();
        push_fixed(&mut s, v, decimals);
        s
    }

    #[test]
    fn fixed_point_matches_rounding_by_hand() {
        assert_eq!(fixed(0.0, 2), "0.00");
        assert_eq!(fixed(1.23456, 2), "1.23");
        assert_eq!(fixed(2.675, 1), "2.7");
        assert_eq!(fixed(-0.004, 2), "0.00");
        assert_eq!(fixed(-0.006, 2), "-0.01");
        assert_eq!(fixed(-12.5, 1), "-12.5");
        assert_eq!(fixed(640.0, 2), "640.00");
        assert_eq!(fixed(9.999, 2), "10.00");
        assert_eq!(fixed(1234.5678, 3), "1234.568");
        assert_eq!(fixed(7.0, 0), "7");
    }

    #[test]
    fn a_line_keeps_the_first_lowest_highest_and_last_point_of_each_column() {
        // Column 10: five points; column 11: one point.
        let pts = [
            (10.1, 5.0),
            (10.2, 1.0),
            (10.3, 3.0),
            (10.4, 9.0),
            (10.5, 4.0),
            (11.0, 2.0),
        ];
        let d = line(pts.iter().map(|&p| Some(p)));
        assert_eq!(d, "M10.10,5.00L10.20,1.00L10.40,9.00L10.50,4.00L11.00,2.00");
    }

    #[test]
    fn a_gap_lifts_the_pen_and_a_lone_point_is_drawn_once() {
        let d = line([Some((1.0, 1.0)), Some((1.5, 1.0)), None, Some((5.0, 2.0))]);
        assert_eq!(d, "M1.00,1.00L1.50,1.00M5.00,2.00");
        assert_eq!(line(std::iter::empty()), "");
    }

    #[test]
    fn a_long_line_is_at_most_four_points_a_column() {
        // 10⁵ points across 554 columns.
        let n = 100_000;
        let d = line((0..n).map(|i| {
            let x = 70.0 + 554.0 * i as f64 / n as f64;
            Some((x, 200.0 + 100.0 * (i as f64 * 0.01).sin()))
        }));
        let points = d.matches(['M', 'L']).count();
        assert!(points <= 4 * 555, "{points} points");
        assert!(points >= 2 * 554, "{points} points");
    }

    #[test]
    fn dots_on_the_same_tenth_of_a_pixel_are_drawn_once() {
        let d = dots(&[(1.2, 2.0), (1.0, 2.0), (1.04, 2.0)]);
        assert_eq!(d, "M1.0 2.0h0M1.2 2.0h0");
    }

    #[test]
    fn a_band_is_closed_through_the_upper_edge_then_the_lower() {
        let d = band(&[(1.0, 5.0, 3.0), (2.0, 6.0, 2.0)]);
        assert_eq!(d, "M1.00,3.00L2.00,2.00L2.00,6.00L1.00,5.00Z");
        assert_eq!(band(&[]), "");
    }
}
