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
//! ([`ScoreSet::into_rows`], which keeps the probabilities for the metrics at `T = 1`); a
//! probability of 0 is the logit −∞, exactly, never a clipped ε, and a row whose own label has
//! probability 0 is refused ([`CoreError::ZeroLabelProbability`]).

use crate::calibrate::{logits_from_probabilities, ScoreRows, Scores, PROBABILITY_SUM_TOLERANCE};
use std::io::Cursor;

use crate::io::npy::{read_npy, NpyArray, NpyData, NpyStream, NpzStream};
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

    /// The scores as rows, taking the values (no copy for logits; probabilities kept beside
    /// their logits, [`ScoreRows::from_probabilities`]).
    ///
    /// Errors: as [`ScoreSet::logits`], and [`CoreError::ZeroLabelProbability`].
    pub fn into_rows(self) -> Result<ScoreRows, CoreError> {
        match self.kind {
            ScoreKind::Logits => ScoreRows::from_logits(self.values, self.classes, self.labels),
            ScoreKind::Probabilities => {
                ScoreRows::from_probabilities(self.values, self.classes, self.labels)
            }
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

/// Bytes shared without a copy (an uploaded file's, read a slice at a time by [`NumpyScores`]).
#[derive(Debug, Clone)]
pub struct SharedBytes(pub std::rc::Rc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A NumPy score file — an `.npz` archive or two `.npy` files in either order — read a slice of
/// values at a time ([`NumpyScores::read`]), so that a worker can show progress and stop between
/// slices; [`scores_from_npz`] and [`scores_from_npy_pair`] read one at once.
pub enum NumpyScores<'a, B> {
    /// An archive.
    Npz(NpzStream<'a, B>),
    /// Two arrays, read one after the other.
    NpyPair {
        /// The arrays still to read (the next last).
        streams: Vec<NpyStream<'a>>,
        /// The arrays read.
        arrays: Vec<NpyArray>,
        /// Value bytes of both arrays.
        total: u64,
    },
}

impl<'a, B: AsRef<[u8]> + Clone + 'a> NumpyScores<'a, B> {
    /// An `.npz` archive (its directory read; errors as [`NpzStream::new`]).
    pub fn npz(bytes: B) -> Result<Self, CoreError> {
        Ok(NumpyScores::Npz(NpzStream::new(bytes)?))
    }

    /// Two `.npy` files (their headers read; errors as [`NpyStream::new`]).
    pub fn npy_pair(a: B, b: B) -> Result<Self, CoreError> {
        let b = NpyStream::new("second NPY file", Cursor::new(b))?;
        let a = NpyStream::new("first NPY file", Cursor::new(a))?;
        let total = a.bytes_total() + b.bytes_total();
        Ok(NumpyScores::NpyPair {
            streams: vec![b, a],
            arrays: Vec::new(),
            total,
        })
    }

    /// Reads up to `values` more values; `true` once everything is read.
    ///
    /// Errors: as [`NpzStream::read`] and [`NpyStream::read`].
    pub fn read(&mut self, values: u64) -> Result<bool, CoreError> {
        match self {
            NumpyScores::Npz(z) => z.read(values),
            NumpyScores::NpyPair {
                streams, arrays, ..
            } => {
                let mut left = values;
                while let Some(s) = streams.last_mut() {
                    let before = s.values_read();
                    let done = s.read(left)?;
                    left -= s.values_read() - before;
                    if !done {
                        return Ok(false);
                    }
                    arrays.push(streams.pop().expect("last above").finish()?);
                    if left == 0 {
                        break;
                    }
                }
                Ok(streams.is_empty())
            }
        }
    }

    /// Value bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        match self {
            NumpyScores::Npz(z) => z.bytes_read(),
            NumpyScores::NpyPair { streams, total, .. } => {
                total
                    - streams
                        .iter()
                        .map(|s| s.bytes_total() - s.bytes_read())
                        .sum::<u64>()
            }
        }
    }

    /// Value bytes of the whole file.
    pub fn bytes_total(&self) -> u64 {
        match self {
            NumpyScores::Npz(z) => z.bytes_total(),
            NumpyScores::NpyPair { total, .. } => *total,
        }
    }

    /// The scores and labels (`kind` given, or detected).
    ///
    /// Errors: [`CoreError::InvalidArrayFile`] without the expected arrays (an archive's are
    /// named one of [`SCORE_ARRAY_NAMES`] and [`LABEL_ARRAY_NAMES`]), with the wrong shapes
    /// (of two `.npy` files one must be 2-D and the other 1-D), or not read yet; as
    /// [`ScoreSet::new`].
    pub fn finish(self, kind: Option<ScoreKind>) -> Result<ScoreSet, CoreError> {
        match self {
            NumpyScores::Npz(z) => {
                let arrays = z.finish()?;
                let scores = npz_array(&arrays, &SCORE_ARRAY_NAMES, "score")?;
                let labels = npz_array(&arrays, &LABEL_ARRAY_NAMES, "label")?;
                from_arrays(scores, labels, kind)
            }
            NumpyScores::NpyPair {
                streams, arrays, ..
            } => {
                let not_read = || CoreError::InvalidArrayFile {
                    what: "pair of NPY files",
                    reason: "the files are not read yet".into(),
                };
                if !streams.is_empty() {
                    return Err(not_read());
                }
                let [a, b]: [NpyArray; 2] = arrays.try_into().map_err(|_| not_read())?;
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
        }
    }
}

/// Reads scores and labels from a `.npz` archive (module docs) at once.
///
/// Errors: as [`NumpyScores::npz`], [`NumpyScores::read`] and [`NumpyScores::finish`].
pub fn scores_from_npz(bytes: &[u8], kind: Option<ScoreKind>) -> Result<ScoreSet, CoreError> {
    let mut r = NumpyScores::npz(bytes)?;
    r.read(u64::MAX)?;
    r.finish(kind)
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

/// Reads scores and labels from two `.npy` files given in either order at once: the 2-D array
/// is the scores, the 1-D one the labels (as a user drops `logits.npy` and `labels.npy`
/// together).
///
/// Errors: as [`NumpyScores::npy_pair`], [`NumpyScores::read`] and [`NumpyScores::finish`].
pub fn scores_from_npy_pair(
    a: &[u8],
    b: &[u8],
    kind: Option<ScoreKind>,
) -> Result<ScoreSet, CoreError> {
    let mut r = NumpyScores::npy_pair(a, b)?;
    r.read(u64::MAX)?;
    r.finish(kind)
}

/// The layout of a JSON score file, checked whole (the arrays' contents are read row by row
/// afterwards).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLayout {
    logits: Option<serde::de::IgnoredAny>,
    probabilities: Option<serde::de::IgnoredAny>,
    #[allow(dead_code)]
    labels: serde::de::IgnoredAny,
}

/// Where the value of the top-level key `key` of the JSON object `text` starts (`text` is valid
/// JSON, checked before): a scan that skips strings and tracks the depth of brackets.
fn top_level_value(text: &str, key: &str) -> Option<usize> {
    let b = text.as_bytes();
    let (mut depth, mut i, mut want_key) = (0usize, 0usize, false);
    while i < b.len() {
        match b[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 && want_key {
                    want_key = false;
                    if text.get(start..i) == Some(key) {
                        let rest = text.get(i + 1..)?.trim_start().strip_prefix(':')?;
                        let value = rest.trim_start();
                        return Some(text.len() - value.len());
                    }
                }
            }
            b'{' | b'[' => {
                depth += 1;
                want_key = depth == 1 && b[i] == b'{';
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => want_key = true,
            _ => {}
        }
        i += 1;
    }
    None
}

fn json_error(reason: String) -> CoreError {
    CoreError::InvalidValue {
        what: "JSON scores",
        reason,
    }
}

/// A JSON score file — `{"logits": [[…], …], "labels": […]}` or the same with
/// `"probabilities"` — read a number of rows at a time ([`JsonScores::read_rows`]) after one pass
/// that checks the whole text is JSON of that shape (serde_json); each row is parsed by
/// serde_json too. [`scores_from_json`] reads one at once.
#[derive(Debug, Clone)]
pub struct JsonScores {
    /// Where the label array's text starts.
    labels: usize,
    kind: ScoreKind,
    /// Where the next row starts looking.
    pos: usize,
    values: Vec<f64>,
    classes: Option<usize>,
    row: usize,
    done: bool,
}

impl JsonScores {
    /// Checks `text` and finds its arrays.
    ///
    /// Errors: [`CoreError::InvalidValue`] for JSON of another shape (serde's message), or with
    /// both or neither of `"logits"` and `"probabilities"`.
    pub fn new(text: &str) -> Result<JsonScores, CoreError> {
        let layout: JsonLayout = serde_json::from_str(text).map_err(|e| {
            json_error(format!(
                "{e} (expected {{\"logits\": [[…], …], \"labels\": […]}} or \"probabilities\" instead of \"logits\")"
            ))
        })?;
        let kind = match (layout.logits, layout.probabilities) {
            (Some(_), None) => ScoreKind::Logits,
            (None, Some(_)) => ScoreKind::Probabilities,
            _ => {
                return Err(json_error(
                    "give exactly one of \"logits\" and \"probabilities\"".into(),
                ))
            }
        };
        let find = |key: &str| {
            top_level_value(text, key).ok_or_else(|| {
                json_error(format!(
                    "cannot find the value of \"{key}\" (write the key without escapes)"
                ))
            })
        };
        let rows = find(kind.into())?;
        let labels = find("labels")?;
        if !text[rows..].starts_with('[') {
            return Err(json_error(format!(
                "\"{}\" must be an array of rows, e.g. [[0.1, 2.3], [1.0, -0.5]]",
                <&str>::from(kind)
            )));
        }
        Ok(JsonScores {
            pos: rows + 1,
            labels,
            kind,
            values: Vec::new(),
            classes: None,
            row: 0,
            done: false,
        })
    }

    /// Reads up to `rows` more rows of `text` (the same text as [`JsonScores::new`]'s); `true`
    /// once the last row is read.
    ///
    /// Errors: [`CoreError::InvalidValue`] for a row that is not an array of numbers (serde's
    /// message, with the row), [`CoreError::DimensionMismatch`] for ragged rows.
    pub fn read_rows(&mut self, text: &str, rows: usize) -> Result<bool, CoreError> {
        let body = text;
        for _ in 0..rows {
            if self.done {
                break;
            }
            let rest = &body[self.pos..];
            let skip = rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r', ',']).len();
            self.pos += skip;
            let rest = &body[self.pos..];
            if rest.starts_with(']') {
                self.done = true;
                break;
            }
            // The whole text is valid JSON, so a row of numbers ends at the next `]`; a row with
            // anything else (a nested array, a string) makes the slice fail to parse below.
            let end = if rest.starts_with('[') {
                rest.find(']').map(|e| e + 1)
            } else {
                None
            }
            .ok_or_else(|| {
                json_error(format!(
                    "row {} (0-based) of \"{}\" is not an array of numbers",
                    self.row,
                    <&str>::from(self.kind)
                ))
            })?;
            let row: Vec<f64> = serde_json::from_str(&rest[..end]).map_err(|e| {
                json_error(format!(
                    "row {} (0-based) of \"{}\" is not an array of numbers ({e})",
                    self.row,
                    <&str>::from(self.kind)
                ))
            })?;
            let classes = *self.classes.get_or_insert(row.len());
            if row.len() != classes {
                return Err(CoreError::DimensionMismatch {
                    what: "JSON score row (every row needs the first row's number of classes)",
                    expected: classes,
                    got: row.len(),
                });
            }
            self.values.extend_from_slice(&row);
            self.row += 1;
            self.pos += end;
        }
        Ok(self.done)
    }

    /// Bytes of the text read so far.
    pub fn bytes_read(&self) -> usize {
        self.pos
    }

    /// The scores, with the labels read from `text`.
    ///
    /// Errors: [`CoreError::InvalidValue`] before the last row is read or for labels that are
    /// not an array of numbers; as [`labels_from_values`] and [`ScoreSet::new`].
    pub fn finish(self, text: &str) -> Result<ScoreSet, CoreError> {
        if !self.done {
            return Err(json_error(format!(
                "only {} rows are read so far",
                self.row
            )));
        }
        // The first JSON value from the labels' start (what follows it is the rest of the object).
        let labels: Vec<f64> = serde_json::Deserializer::from_str(&text[self.labels..])
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(serde::de::Error::custom("no value")))
            .map_err(|e| {
                json_error(format!(
                    "\"labels\" must be an array of class indices ({e})"
                ))
            })?;
        let labels = labels_from_values(&labels)?;
        ScoreSet::new(
            self.values,
            self.classes.unwrap_or(0),
            labels,
            Some(self.kind),
        )
    }
}

/// Reads `{"logits": [[…]], "labels": […]}` or `{"probabilities": …, "labels": …}` at once.
///
/// Errors: as [`JsonScores::new`], [`JsonScores::read_rows`] and [`JsonScores::finish`].
pub fn scores_from_json(text: &str) -> Result<ScoreSet, CoreError> {
    let mut r = JsonScores::new(text)?;
    r.read_rows(text, usize::MAX)?;
    r.finish(text)
}
