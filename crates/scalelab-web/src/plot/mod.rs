//! Reusable SVG charts: line, scatter, band and bar series on linear or log axes, with a legend, a
//! hover (and keyboard) readout, and export as SVG or PNG.

pub mod axis;
pub mod path;

#[cfg(target_arch = "wasm32")]
mod chart;
#[cfg(target_arch = "wasm32")]
mod export;

#[cfg(target_arch = "wasm32")]
pub use chart::Chart;

pub use axis::{Axis, ScaleKind};

/// How one series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesKind {
    /// Points joined by straight segments (non-finite or off-axis points break the line).
    Line,
    /// Separate markers.
    Scatter,
    /// A shaded region between `y` (lower) and `y2` (upper).
    Band,
    /// Bars from the baseline to `y`; several bar series are grouped side by side.
    Bars,
}

/// One named data series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Drawing style.
    pub kind: SeriesKind,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates (lower edge for a band).
    pub y: Vec<f64>,
    /// Upper edge of a band; empty otherwise.
    pub y2: Vec<f64>,
    /// CSS colour.
    pub color: String,
}

impl Series {
    /// A series of `kind` with no band edge.
    pub fn new(
        name: impl Into<String>,
        kind: SeriesKind,
        x: Vec<f64>,
        y: Vec<f64>,
        color: &str,
    ) -> Series {
        Series {
            name: name.into(),
            kind,
            x,
            y,
            y2: Vec::new(),
            color: color.to_string(),
        }
    }

    /// A shaded band between `lower` and `upper`.
    pub fn band(
        name: impl Into<String>,
        x: Vec<f64>,
        lower: Vec<f64>,
        upper: Vec<f64>,
        color: &str,
    ) -> Series {
        Series {
            name: name.into(),
            kind: SeriesKind::Band,
            x,
            y: lower,
            y2: upper,
            color: color.to_string(),
        }
    }
}

/// Everything a chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    /// Title above the plot (also the export file name).
    pub title: String,
    /// Label of the horizontal axis.
    pub x_label: String,
    /// Label of the vertical axis.
    pub y_label: String,
    /// Horizontal scale.
    pub x_scale: ScaleKind,
    /// Vertical scale.
    pub y_scale: ScaleKind,
    /// Fixed horizontal range, or `None` to fit the data.
    pub x_range: Option<(f64, f64)>,
    /// Fixed vertical range, or `None` to fit the data.
    pub y_range: Option<(f64, f64)>,
    /// Category names for bar charts: x = 0, 1, … are labelled with them.
    pub categories: Vec<String>,
    /// The series, drawn in order.
    pub series: Vec<Series>,
    /// What to do to get data, shown instead of an empty frame while `series` is empty.
    pub placeholder: String,
}

impl ChartSpec {
    /// A chart of `series` with labelled axes (no fixed ranges, no categories).
    pub fn new(
        title: impl Into<String>,
        (x_label, x_scale): (&str, ScaleKind),
        (y_label, y_scale): (&str, ScaleKind),
        series: Vec<Series>,
    ) -> ChartSpec {
        ChartSpec {
            title: title.into(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            x_scale,
            y_scale,
            x_range: None,
            y_range: None,
            categories: Vec::new(),
            series,
            placeholder: String::new(),
        }
    }

    /// A chart with a title and no data yet: it shows `placeholder` (what to run to draw it)
    /// instead of axes.
    pub fn pending(title: &str, placeholder: &str) -> ChartSpec {
        ChartSpec {
            title: title.to_string(),
            placeholder: placeholder.to_string(),
            x_label: String::new(),
            y_label: String::new(),
            x_scale: ScaleKind::Linear,
            y_scale: ScaleKind::Linear,
            x_range: None,
            y_range: None,
            categories: Vec::new(),
            series: Vec::new(),
        }
    }

    /// `true` while there is nothing to draw.
    pub fn is_pending(&self) -> bool {
        self.series.is_empty()
    }
}

/// Series colours that read on light and dark backgrounds (Okabe–Ito, colour-blind safe).
pub const PALETTE: [&str; 6] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
];
