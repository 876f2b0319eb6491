//! Classifier outputs for the Calibrate lab — one row of `k` logits or probabilities and a label
//! per sample — read from what users bring:
//!
//! - **CSV** ([`scores_from_csv`]): comma, semicolon, tab or whitespace delimited; an optional
//!   header; the label column is the one whose header is `label`, `labels`, `y`, `target`,
//!   `true_label` or `ground_truth` (any case), else the first column; every other column is a
//!   class score. Every row must have as many fields as the first (a ragged row is an error naming
//!   its line). At most [`MAX_CLASSES`] classes.
//! - **NumPy** ([`scores_from_npz`], [`scores_from_npy`]): a `.npz` holding a 2-D score array
//!   named one of [`SCORE_ARRAY_NAMES`] and a 1-D label array named one of [`LABEL_ARRAY_NAMES`]
//!   (netcal's example files use `predictions` and `ground_truth`), or two `.npy` files
//!   ([`scores_from_npy_pair`] takes them in either order).
//! - **JSON** ([`scores_from_json`]): `{"logits": [[…], …], "labels": […]}` or the same with
//!   `"probabilities"`.
//!
//! Labels must be integers in `0 .. k`. Whether the scores are logits or probabilities is given
//! ([`ScoreKind`]) or detected: probabilities when every value is in `[0, 1]` and every row sums
//! to 1 within [`PROBABILITY_SUM_TOLERANCE`]. Probabilities become logits `ln p` for the methods
//! ([`ScoreSet::logits`]); a zero probability is refused there, never replaced.

use crate::calibrate::{logits_from_probabilities, Scores, PROBABILITY_SUM_TOLERANCE};
use crate::io::npy::{read_npy, read_npz, NpyArray, NpyData};
use crate::CoreError;

/// Largest score file read (512 MiB: a 50 000 × 1000 float32 `.npy` is 200 MB, the same as text
/// about 500 MB).
pub const MAX_FILE_BYTES: usize = 512 << 20;

/// Errors: [`CoreError::OutOfRange`] for a file of more than [`MAX_FILE_BYTES`] bytes (checked
/// before reading it).
pub fn check_file_size(bytes: usize) -> Result<(), CoreError> {
    if bytes > MAX_FILE_BYTES {
        return Err(CoreError::OutOfRange {
            what: "score file size in bytes",
            value: bytes as f64,
            min: 0.0,
            max: MAX_FILE_BYTES as f64,
        });
    }
    Ok(())
}

/// Most classes a score table may have.
pub const MAX_CLASSES: usize = 100_000;

/// Most score values in one set (2²⁸, 2 GiB as `f64`).
pub const MAX_VALUES: usize = 1 << 28;

/// Names a `.npz` score array may have, in order of preference.
pub const SCORE_ARRAY_NAMES: [&str; 6] = [
    "logits",
    "probabilities",
    "probs",
    "predictions",
    "scores",
    "outputs",
];

/// Names a `.npz` label array may have, in order of preference.
pub const LABEL_ARRAY_NAMES: [&str; 6] =
    ["labels", "label", "ground_truth", "targets", "y", "y_true"];

/// Header names of a CSV label column (compared without case).
pub const LABEL_COLUMN_NAMES: [&str; 6] = [
    "label",
    "labels",
    "y",
    "target",
    "true_label",
    "ground_truth",
];

/// What the score values are.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ScoreKind {
    /// Unnormalised log-probabilities.
    Logits,
    /// Rows of probabilities summing to 1.
    Probabilities,
}

/// Scores read from a file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScoreSet {
    /// `n·k` values, row-major.
    pub values: Vec<f64>,
    /// `k`.
    pub classes: usize,
    /// `n` labels in `0 .. k`.
    pub labels: Vec<usize>,
    /// What the values are (given or detected).
    pub kind: ScoreKind,
}

impl ScoreSet {
    /// Checks the values and labels and settles the kind (`None`: detect, module docs).
    ///
    /// Errors: [`CoreError::EmptyInput`], [`CoreError::DimensionMismatch`] (values not `n·k`),
    /// [`CoreError::NonFinite`], [`CoreError::IndexOutOfRange`] (a label ≥ `k`),
    /// [`CoreError::OutOfRange`] (fewer than 2 or more than [`MAX_CLASSES`] classes).
    pub fn new(
        values: Vec<f64>,
        classes: usize,
        labels: Vec<usize>,
        kind: Option<ScoreKind>,
    ) -> Result<ScoreSet, CoreError> {
        // Rows, dimensions, finiteness and labels: the checks every method's input gets.
        Scores::new(&values, classes, &labels)?;
        if classes > MAX_CLASSES {
            return Err(CoreError::OutOfRange {
                what: "number of classes",
                value: classes as f64,
                min: 2.0,
                max: MAX_CLASSES as f64,
            });
        }
        let kind = kind.unwrap_or_else(|| {
            let probabilities = values.chunks_exact(classes).all(|row| {
                row.iter().all(|p| (0.0..=1.0).contains(p))
                    && (row.iter().sum::<f64>() - 1.0).abs() <= PROBABILITY_SUM_TOLERANCE
            });
            if probabilities {
                ScoreKind::Probabilities
            } else {
                ScoreKind::Logits
            }
        });
        Ok(ScoreSet {
            values,
            classes,
            labels,
            kind,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Never true (a set has a sample).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The logits: the values themselves, or `ln p` of probabilities (checked as
    /// [`logits_from_probabilities`] checks them).
    pub fn logits(&self) -> Result<std::borrow::Cow<'_, [f64]>, CoreError> {
        match self.kind {
            ScoreKind::Logits => Ok(std::borrow::Cow::Borrowed(&self.values)),
            ScoreKind::Probabilities => {
                logits_from_probabilities(&self.values, self.classes).map(std::borrow::Cow::Owned)
            }
        }
    }

    /// The logits, taking the values (no copy for logits).
    ///
    /// Errors: as [`ScoreSet::logits`].
    pub fn into_logits(self) -> Result<Vec<f64>, CoreError> {
        match self.kind {
            ScoreKind::Logits => Ok(self.values),
            ScoreKind::Probabilities => logits_from_probabilities(&self.values, self.classes),
        }
    }
}

fn label_of(value: f64, what: &'static str, index: usize) -> Result<usize, CoreError> {
    if !value.is_finite() {
        return Err(CoreError::NonFinite { what, index, value });
    }
    if value < 0.0 || value.fract() != 0.0 || value > MAX_CLASSES as f64 {
        return Err(CoreError::OutOfRange {
            what: "label (a class index 0, 1, 2, …)",
            value,
            min: 0.0,
            max: MAX_CLASSES as f64,
        });
    }
    Ok(value as usize)
}

/// Labels given as numbers (a JS array, a float `.npy`): each must be a whole number in
/// `0 ..= MAX_CLASSES` (the class count is checked later, by [`ScoreSet::new`]).
///
/// Errors: [`CoreError::NonFinite`], [`CoreError::OutOfRange`] naming the first bad label.
pub fn labels_from_values(values: &[f64]) -> Result<Vec<usize>, CoreError> {
    values
        .iter()
        .enumerate()
        .map(|(i, &l)| label_of(l, "labels", i))
        .collect()
}

fn csv_error(row: usize, column: usize, text: &str, reason: impl Into<String>) -> CoreError {
    CoreError::InvalidCsv {
        row,
        column,
        text: text.chars().take(40).collect(),
        reason: reason.into(),
    }
}

/// Detects the delimiter from the first line that is not blank: tab, semicolon, comma, else
/// whitespace (`None`).
fn delimiter_of(text: &str) -> Option<u8> {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    [b'\t', b';', b',']
        .into_iter()
        .find(|&d| first.as_bytes().contains(&d))
}

/// Reads scores and labels from CSV text (module docs), `kind` given or detected.
///
/// Errors: [`CoreError::InvalidCsv`] (1-based line and column) for a cell that is not a number,
/// a ragged row, or more than [`MAX_CLASSES`] classes; as [`ScoreSet::new`] otherwise.
pub fn scores_from_csv(text: &str, kind: Option<ScoreKind>) -> Result<ScoreSet, CoreError> {
    let mut reader = CsvScores::new(text);
    while !reader.read_lines(text, usize::MAX)? {}
    reader.finish(kind)
}

/// A CSV score file read a few lines at a time ([`CsvScores::read_lines`]), so a worker can show
/// its progress through a large file and stay responsive; [`scores_from_csv`] reads it at once.
/// The reader keeps only its position: the text is passed to every call.
#[derive(Debug, Clone)]
pub struct CsvScores {
    delimiter: Option<u8>,
    /// Byte offset of the next line.
    offset: usize,
    values: Vec<f64>,
    labels: Vec<usize>,
    width: Option<usize>,
    label_column: usize,
    line_number: usize,
    first_data: bool,
}

impl CsvScores {
    /// A reader at the start of `text` (a byte-order mark skipped, the delimiter detected).
    pub fn new(text: &str) -> CsvScores {
        let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
        CsvScores {
            delimiter: delimiter_of(&text[bom..]),
            offset: bom,
            values: Vec::new(),
            labels: Vec::new(),
            width: None,
            label_column: 0,
            line_number: 0,
            first_data: true,
        }
    }

    /// Bytes of the text read so far.
    pub fn bytes_read(&self) -> usize {
        self.offset
    }

    /// Reads up to `lines` more lines of `text` (the same text as [`CsvScores::new`]'s); `true`
    /// once the text is read to its end.
    ///
    /// Errors: as [`scores_from_csv`], for the first bad line.
    pub fn read_lines(&mut self, text: &str, lines: usize) -> Result<bool, CoreError> {
        for _ in 0..lines {
            let Some(rest) = text.get(self.offset..).filter(|r| !r.is_empty()) else {
                return Ok(true);
            };
            let end = rest.find('\n').map_or(rest.len(), |i| i + 1);
            self.offset += end;
            let line = rest[..end].trim_end_matches(['\n', '\r']);
            self.line(line)?;
        }
        Ok(text.len() <= self.offset)
    }

    fn line(&mut self, line: &str) -> Result<(), CoreError> {
        self.line_number += 1;
        let line_number = self.line_number;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return Ok(());
        }
        let cells: Vec<&str> = match self.delimiter {
            Some(d) => trimmed.split(d as char).map(str::trim).collect(),
            None => trimmed.split_whitespace().collect(),
        };
        if cells.len() > MAX_CLASSES + 1 {
            return Err(csv_error(
                line_number,
                0,
                trimmed,
                format!("more than {} columns", MAX_CLASSES + 1),
            ));
        }
        let numbers: Vec<Option<f64>> = cells
            .iter()
            .map(|c| c.replace('\u{2212}', "-").parse::<f64>().ok())
            .collect();
        if self.first_data {
            self.first_data = false;
            if numbers.iter().any(Option::is_none) {
                // A header: find the label column by name.
                self.label_column = cells
                    .iter()
                    .position(|c| {
                        LABEL_COLUMN_NAMES
                            .iter()
                            .any(|n| c.trim_matches('"').eq_ignore_ascii_case(n))
                    })
                    .unwrap_or(0);
                self.width = Some(cells.len());
                return Ok(());
            }
        }
        let w = *self.width.get_or_insert(cells.len());
        if cells.len() != w {
            return Err(csv_error(
                line_number,
                0,
                trimmed,
                format!(
                    "this row has {} fields, the first row {w} (every row needs a label and the same number of class scores)",
                    cells.len()
                ),
            ));
        }
        if w < 3 {
            return Err(csv_error(
                line_number,
                0,
                trimmed,
                "a row needs a label and at least two class scores",
            ));
        }
        if self.values.len() + w > MAX_VALUES {
            return Err(csv_error(
                line_number,
                0,
                trimmed,
                format!("more than {MAX_VALUES} scores"),
            ));
        }
        for (j, (cell, number)) in cells.iter().zip(&numbers).enumerate() {
            let Some(v) = *number else {
                return Err(csv_error(line_number, j + 1, cell, "not a number"));
            };
            if j == self.label_column {
                self.labels.push(
                    label_of(v, "labels", self.labels.len())
                        .map_err(|e| csv_error(line_number, j + 1, cell, e.to_string()))?,
                );
            } else {
                self.values.push(v);
            }
        }
        Ok(())
    }

    /// The scores read, `kind` given or detected.
    ///
    /// Errors: as [`ScoreSet::new`].
    pub fn finish(self, kind: Option<ScoreKind>) -> Result<ScoreSet, CoreError> {
        let classes = self.width.map_or(0, |w| w.saturating_sub(1));
        ScoreSet::new(self.values, classes, self.labels, kind)
    }
}

fn npz_array<'a>(
    arrays: &'a [(String, NpyArray)],
    names: &[&str],
    role: &str,
) -> Result<&'a NpyArray, CoreError> {
    names
        .iter()
        .find_map(|want| arrays.iter().find(|(n, _)| n == want).map(|(_, a)| a))
        .ok_or_else(|| CoreError::InvalidArrayFile {
            what: "NPZ file",
            reason: format!(
                "no {role} array: name it one of {} (the file has: {})",
                names.join(", "),
                if arrays.is_empty() {
                    "no arrays".to_string()
                } else {
                    arrays
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        })
}

fn from_arrays(
    scores: &NpyArray,
    labels: &NpyArray,
    kind: Option<ScoreKind>,
) -> Result<ScoreSet, CoreError> {
    if scores.shape.len() != 2 {
        return Err(CoreError::InvalidArrayFile {
            what: "score array",
            reason: format!(
                "must be 2-D (samples × classes), this one has shape {:?}",
                scores.shape
            ),
        });
    }
    if labels.shape.len() != 1 {
        return Err(CoreError::InvalidArrayFile {
            what: "label array",
            reason: format!(
                "must be 1-D (one class index per sample), this one has shape {:?}",
                labels.shape
            ),
        });
    }
    let label_values: Vec<usize> = match &labels.data {
        NpyData::Int(v) => v
            .iter()
            .enumerate()
            .map(|(i, &l)| label_of(l as f64, "labels", i))
            .collect::<Result<_, _>>()?,
        NpyData::Float(v) => labels_from_values(v)?,
    };
    ScoreSet::new(scores.to_f64(), scores.shape[1], label_values, kind)
}

/// Reads scores and labels from a `.npz` archive (module docs).
///
/// Errors: as [`read_npz`], [`CoreError::InvalidArrayFile`] without the expected arrays or with
/// the wrong shapes, and as [`ScoreSet::new`].
pub fn scores_from_npz(bytes: &[u8], kind: Option<ScoreKind>) -> Result<ScoreSet, CoreError> {
    let arrays = read_npz(bytes)?;
    let scores = npz_array(&arrays, &SCORE_ARRAY_NAMES, "score")?;
    let labels = npz_array(&arrays, &LABEL_ARRAY_NAMES, "label")?;
    from_arrays(scores, labels, kind)
}

/// Reads scores and labels from two `.npy` files.
///
/// Errors: as [`read_npy`], [`CoreError::InvalidArrayFile`] for the wrong shapes, and as
/// [`ScoreSet::new`].
pub fn scores_from_npy(
    scores: &[u8],
    labels: &[u8],
    kind: Option<ScoreKind>,
) -> Result<ScoreSet, CoreError> {
    let s = read_npy("score NPY file", scores)?;
    let l = read_npy("label NPY file", labels)?;
    from_arrays(&s, &l, kind)
}

/// Reads scores and labels from two `.npy` files given in either order: the 2-D array is the
/// scores, the 1-D one the labels (as a user drops `logits.npy` and `labels.npy` together).
///
/// Errors: as [`read_npy`]; [`CoreError::InvalidArrayFile`] unless one array is 2-D and the
/// other 1-D (naming both shapes); as [`ScoreSet::new`].
pub fn scores_from_npy_pair(
    a: &[u8],
    b: &[u8],
    kind: Option<ScoreKind>,
) -> Result<ScoreSet, CoreError> {
    let a = read_npy("first NPY file", a)?;
    let b = read_npy("second NPY file", b)?;
    match (a.shape.len(), b.shape.len()) {
        (2, 1) => from_arrays(&a, &b, kind),
        (1, 2) => from_arrays(&b, &a, kind),
        _ => Err(CoreError::InvalidArrayFile {
            what: "pair of NPY files",
            reason: format!(
                "one must be 2-D (samples × classes) and the other 1-D (labels); these have shapes {:?} and {:?}",
                a.shape, b.shape
            ),
        }),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonScores {
    logits: Option<Vec<Vec<f64>>>,
    probabilities: Option<Vec<Vec<f64>>>,
    labels: Vec<f64>,
}

/// Reads `{"logits": [[…]], "labels": […]}` or `{"probabilities": …, "labels": …}`.
///
/// Errors: [`CoreError::InvalidValue`] for JSON of another shape (serde's message), ragged rows
/// ([`CoreError::DimensionMismatch`]) and as [`ScoreSet::new`].
pub fn scores_from_json(text: &str) -> Result<ScoreSet, CoreError> {
    let parsed: JsonScores = serde_json::from_str(text).map_err(|e| CoreError::InvalidValue {
        what: "JSON scores",
        reason: format!(
            "{e} (expected {{\"logits\": [[…], …], \"labels\": […]}} or \"probabilities\" instead of \"logits\")"
        ),
    })?;
    let (rows, kind) = match (parsed.logits, parsed.probabilities) {
        (Some(rows), None) => (rows, ScoreKind::Logits),
        (None, Some(rows)) => (rows, ScoreKind::Probabilities),
        _ => {
            return Err(CoreError::InvalidValue {
                what: "JSON scores",
                reason: "give exactly one of \"logits\" and \"probabilities\"".into(),
            })
        }
    };
    let classes = rows.first().map_or(0, Vec::len);
    if let Some(bad) = rows.iter().position(|r| r.len() != classes) {
        return Err(CoreError::DimensionMismatch {
            what: "JSON score row (every row needs the first row's number of classes)",
            expected: classes,
            got: rows[bad].len(),
        });
    }
    let labels = labels_from_values(&parsed.labels)?;
    ScoreSet::new(rows.concat(), classes, labels, Some(kind))
}
