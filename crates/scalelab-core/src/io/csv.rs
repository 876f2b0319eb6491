//! Reading run tables (model size, tokens, compute, loss, step, learning rate, …) pasted or loaded
//! as CSV, TSV or whitespace-aligned text, and guessing what each column means.
//!
//! [`read_table`] accepts:
//! - a header line or none (auto-detected, or set in [`CsvOptions::header`]);
//! - comma, semicolon, tab or whitespace delimiters (auto-detected, or [`CsvOptions::delimiter`]);
//! - quoted fields (`"1,5"`, `"a ""b"""`), CRLF or LF line ends, a UTF-8 byte-order mark, blank
//!   lines and `#` comment lines (both skipped);
//! - ragged rows: short rows are padded with NaN, long rows add columns;
//! - missing values: empty cells and `NA`, `N/A`, `NaN`, `null`, `none`, `?` (any case) read as NaN;
//!   `inf`, `-inf`, `infinity`, `∞` read as ±∞;
//! - numbers with a Unicode minus (`−5`), suffixes `k`/`K` (10³), `M` (10⁶), `B`/`G` (10⁹) and `T`
//!   (10¹²) as in `70B` or `1.4T`, and a decimal comma (`2,5`) in semicolon-, tab- or
//!   whitespace-delimited files (one comma, no point).
//!
//! A column whose cells are all non-numeric (a run name, a colour) is a *text column*: it is kept in
//! [`Table::columns`], listed in [`Table::text_columns`], and holds NaN. A non-number in a column that
//! also holds numbers is an error naming the line and column.

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// Most data rows a table may have.
pub const MAX_ROWS: usize = 1_000_000;
/// Most columns a table may have.
pub const MAX_COLUMNS: usize = 64;

/// How fields are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delimiter {
    /// `,`
    Comma,
    /// `;`
    Semicolon,
    /// A tab.
    Tab,
    /// Runs of spaces and tabs (aligned columns).
    Whitespace,
}

impl Delimiter {
    fn byte(self) -> Option<u8> {
        match self {
            Delimiter::Comma => Some(b','),
            Delimiter::Semicolon => Some(b';'),
            Delimiter::Tab => Some(b'\t'),
            Delimiter::Whitespace => None,
        }
    }
}

/// Options of [`read_table`]; the default detects everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvOptions {
    /// The delimiter, or `None` to detect it: the first of tab, semicolon, comma that occurs
    /// (outside quotes) in the first line and in more than half of the first 50 lines (so a short,
    /// ragged row does not change the delimiter), else whitespace.
    pub delimiter: Option<Delimiter>,
    /// Whether the first line is a header, or `None` to detect it: it is a header when one of its
    /// cells is not a number while the cell below it is (or, for a one-line table, when any of its
    /// cells is not a number).
    pub header: Option<bool>,
}

/// A numeric table, row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Column names: the header's (trimmed; empty or repeated names become `column k` / `name (2)`),
    /// or `column 1`, `column 2`, … without a header.
    pub columns: Vec<String>,
    /// Data rows, each with `columns.len()` values; NaN marks a missing value.
    pub rows: Vec<Vec<f64>>,
    /// The 1-based line in the file where each row starts (for messages and highlighting).
    pub lines: Vec<usize>,
    /// 0-based indices of text columns (no numeric cell; all NaN in `rows`).
    pub text_columns: Vec<usize>,
    /// The delimiter used (detected or given).
    pub delimiter: Delimiter,
    /// Whether the first line was read as a header.
    pub has_header: bool,
}

impl Table {
    /// Number of data rows.
    pub fn n_rows(&self) -> usize {
        self.rows.len()
    }

    /// The values of column `j` (0-based), or `None` if there is no such column.
    pub fn column(&self, j: usize) -> Option<Vec<f64>> {
        (j < self.columns.len()).then(|| {
            self.rows
                .iter()
                .map(|r| r.get(j).copied().unwrap_or(f64::NAN))
                .collect()
        })
    }

    /// The 0-based index of the first column named `name` (exact match after trimming).
    pub fn column_index(&self, name: &str) -> Option<usize> {
        let name = name.trim();
        self.columns.iter().position(|c| c == name)
    }
}

/// Reads a numeric table from `text`; see the [module documentation](self) for what is accepted.
///
/// Errors:
/// - [`CoreError::EmptyInput`] when there is no data row;
/// - [`CoreError::InvalidCsv`] (1-based line and column) for a non-number in a numeric column, for
///   more than [`MAX_COLUMNS`] columns or [`MAX_ROWS`] rows, and when no column holds a number (the
///   message suggests checking the delimiter).
pub fn read_table(text: &str, opts: &CsvOptions) -> Result<Table, CoreError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let delimiter = opts.delimiter.unwrap_or_else(|| detect_delimiter(text));
    let mut builder = Builder::new(delimiter, opts.header);
    match delimiter.byte() {
        Some(b) => {
            let mut reader = ::csv::ReaderBuilder::new()
                .delimiter(b)
                .has_headers(false)
                .flexible(true)
                .comment(Some(b'#'))
                .from_reader(text.as_bytes());
            let mut record = ::csv::StringRecord::new();
            // The reader's own line count skips comment lines, so lines are counted from byte offsets.
            let mut lines = LineCounter::new(text);
            loop {
                match reader.read_record(&mut record) {
                    Ok(true) => {
                        let line =
                            lines.line_at(record.position().map_or(0, |p| p.byte() as usize));
                        builder.record(line, record.iter())?;
                    }
                    Ok(false) => break,
                    Err(e) => {
                        let line = lines.line_at(e.position().map_or(0, |p| p.byte() as usize));
                        return Err(CoreError::InvalidCsv {
                            row: line,
                            column: 0,
                            text: String::new(),
                            reason: format!("unreadable CSV ({e})"),
                        });
                    }
                }
            }
        }
        None => {
            for (k, line) in physical_lines(text) {
                if line.trim_start().starts_with('#') {
                    continue;
                }
                builder.record(k, line.split_whitespace().map(unquote))?;
            }
        }
    }
    builder.finish()
}

/// 1-based line numbers of ascending byte offsets, counted incrementally (O(length) in total).
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            bytes: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    /// The line where a record reported at byte `offset` starts. The reader reports the end of the
    /// previous record, so blank lines and `#` comment lines after `offset` are skipped first.
    /// (Offsets must not decrease; a smaller one restarts the count.)
    fn line_at(&mut self, offset: usize) -> usize {
        let mut offset = offset.min(self.bytes.len());
        while offset < self.bytes.len() {
            match self.bytes[offset] {
                b'\r' | b'\n' => offset += 1,
                b'#' => {
                    while offset < self.bytes.len() && !matches!(self.bytes[offset], b'\n' | b'\r')
                    {
                        offset += 1;
                    }
                }
                _ => break,
            }
        }
        if offset < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        // Line breaks: LF, CRLF (counted at its LF) and a lone CR.
        let next = self.bytes.get(offset).copied();
        let span = &self.bytes[self.offset..offset];
        self.line += span
            .iter()
            .enumerate()
            .filter(|&(i, &b)| {
                b == b'\n' || (b == b'\r' && span.get(i + 1).copied().or(next) != Some(b'\n'))
            })
            .count();
        self.offset = offset;
        self.line
    }
}

/// The lines of `text` with their 1-based numbers; LF, CRLF and a lone CR all end a line.
fn physical_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = text;
    let mut number = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        number += 1;
        let (line, next) = match rest.find(['\n', '\r']) {
            Some(i) => {
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                (&rest[..i], &rest[i + skip..])
            }
            None => (rest, ""),
        };
        rest = next;
        Some((number, line))
    })
}

/// `"abc"` → `abc` (whitespace mode only; the CSV reader unquotes itself).
fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(s)
}

/// Occurrences of `d` outside double quotes in `line`.
fn count_outside_quotes(line: &str, d: char) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for c in line.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if c == d && !quoted {
            n += 1;
        }
    }
    n
}

fn detect_delimiter(text: &str) -> Delimiter {
    // The first 50 records (a quoted field may span lines), without blank and comment lines.
    let mut sample: Vec<&str> = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => {
                let rec = text[start..i].trim();
                if !rec.is_empty() && !rec.starts_with('#') {
                    sample.push(rec);
                    if sample.len() == 50 {
                        break;
                    }
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    if sample.len() < 50 && start < text.len() {
        let rec = text[start..].trim();
        if !rec.is_empty() && !rec.starts_with('#') {
            sample.push(rec);
        }
    }
    let Some(first) = sample.first() else {
        return Delimiter::Comma;
    };
    for (d, c) in [
        (Delimiter::Tab, '\t'),
        (Delimiter::Semicolon, ';'),
        (Delimiter::Comma, ','),
    ] {
        let hits = sample
            .iter()
            .filter(|l| count_outside_quotes(l, c) > 0)
            .count();
        if count_outside_quotes(first, c) > 0 && hits * 2 > sample.len() {
            return d;
        }
    }
    Delimiter::Whitespace
}

/// `true` for the spellings of a missing value.
fn is_missing(s: &str) -> bool {
    s.is_empty()
        || ["na", "n/a", "nan", "null", "none", "?", "-nan", "+nan"]
            .iter()
            .any(|m| s.eq_ignore_ascii_case(m))
}

/// Parses one trimmed cell: `Some(value)` (NaN for missing), or `None` if it is not a number.
fn parse_cell(s: &str, decimal_comma: bool) -> Option<f64> {
    let s = s.trim();
    if is_missing(s) {
        return Some(f64::NAN);
    }
    let mut t: String = s.replace('\u{2212}', "-");
    if let Some(rest) = t.strip_suffix('∞') {
        return match rest.trim() {
            "" | "+" => Some(f64::INFINITY),
            "-" => Some(f64::NEG_INFINITY),
            _ => None,
        };
    }
    if decimal_comma && t.matches(',').count() == 1 && !t.contains('.') {
        t = t.replace(',', ".");
    }
    if let Ok(v) = t.parse::<f64>() {
        return Some(v);
    }
    let scale = match t.chars().last()? {
        'k' | 'K' => 1e3,
        'M' => 1e6,
        'B' | 'G' => 1e9,
        'T' => 1e12,
        _ => return None,
    };
    let body = &t[..t.len() - 1];
    // Only plain finite numbers take a suffix ("infB" is not a number).
    let v: f64 = body.trim_end().parse().ok()?;
    (v.is_finite()
        && body
            .trim_end()
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_digit() || c == '.'))
    .then_some(v * scale)
}

/// Per-column bookkeeping while reading.
#[derive(Debug, Clone, Default)]
struct ColumnStats {
    numbers: usize,
    /// First non-number: (line, column 1-based, text).
    first_bad: Option<(usize, String)>,
}

/// Accumulates records into a [`Table`].
struct Builder {
    delimiter: Delimiter,
    header: Option<bool>,
    /// The first record, kept until the second one decides whether it is a header.
    pending: Option<(usize, Vec<String>)>,
    decided: bool,
    names: Vec<String>,
    has_header: bool,
    rows: Vec<Vec<f64>>,
    lines: Vec<usize>,
    stats: Vec<ColumnStats>,
    width: usize,
}

impl Builder {
    fn new(delimiter: Delimiter, header: Option<bool>) -> Self {
        Builder {
            delimiter,
            header,
            pending: None,
            decided: false,
            names: Vec::new(),
            has_header: false,
            rows: Vec::new(),
            lines: Vec::new(),
            stats: Vec::new(),
            width: 0,
        }
    }

    fn decimal_comma(&self) -> bool {
        self.delimiter != Delimiter::Comma
    }

    fn record<'a>(
        &mut self,
        line: usize,
        fields: impl Iterator<Item = &'a str>,
    ) -> Result<(), CoreError> {
        let mut cells = Vec::new();
        for (k, f) in fields.enumerate() {
            if k >= MAX_COLUMNS {
                return Err(CoreError::InvalidCsv {
                    row: line,
                    column: k + 1,
                    text: clip(f),
                    reason: format!(
                        "more than {MAX_COLUMNS} columns; remove columns (or check the delimiter, read as {:?})",
                        self.delimiter
                    ),
                });
            }
            cells.push(f.trim().to_string());
        }
        // Trailing empty cells (a trailing delimiter) do not make a row longer.
        while cells.last().is_some_and(|c| c.is_empty()) {
            cells.pop();
        }
        if cells.is_empty() {
            return Ok(());
        }
        if self.decided {
            return self.data(line, &cells);
        }
        match (self.header, self.pending.take()) {
            (Some(h), _) => {
                self.decided = true;
                if h {
                    self.set_header(&cells);
                    Ok(())
                } else {
                    self.data(line, &cells)
                }
            }
            (None, None) => {
                self.pending = Some((line, cells));
                Ok(())
            }
            (None, Some((first_line, first))) => {
                self.decided = true;
                let dc = self.decimal_comma();
                let is_header = first.iter().enumerate().any(|(k, c)| {
                    parse_cell(c, dc).is_none()
                        && cells.get(k).is_some_and(|below| {
                            !below.is_empty() && parse_cell(below, dc).is_some_and(|v| !v.is_nan())
                        })
                });
                if is_header {
                    self.set_header(&first);
                } else {
                    self.data(first_line, &first)?;
                }
                self.data(line, &cells)
            }
        }
    }

    fn set_header(&mut self, cells: &[String]) {
        self.has_header = true;
        self.names = cells.to_vec();
        self.width = self.width.max(cells.len());
    }

    fn data(&mut self, line: usize, cells: &[String]) -> Result<(), CoreError> {
        if self.rows.len() >= MAX_ROWS {
            return Err(CoreError::InvalidCsv {
                row: line,
                column: 0,
                text: String::new(),
                reason: format!("more than {MAX_ROWS} data rows; split or thin the table"),
            });
        }
        self.width = self.width.max(cells.len());
        if self.stats.len() < self.width {
            self.stats.resize(self.width, ColumnStats::default());
        }
        let dc = self.decimal_comma();
        let mut row = Vec::with_capacity(cells.len());
        for (k, c) in cells.iter().enumerate() {
            match parse_cell(c, dc) {
                Some(v) => {
                    if !c.is_empty() && !v.is_nan() {
                        self.stats[k].numbers += 1;
                    }
                    row.push(v);
                }
                None => {
                    if self.stats[k].first_bad.is_none() {
                        self.stats[k].first_bad = Some((line, c.clone()));
                    }
                    row.push(f64::NAN);
                }
            }
        }
        self.rows.push(row);
        self.lines.push(line);
        Ok(())
    }

    fn finish(mut self) -> Result<Table, CoreError> {
        // A lone first record (one-line input) is a header if it has a non-number.
        if let Some((line, first)) = self.pending.take() {
            let dc = self.decimal_comma();
            if first.iter().any(|c| parse_cell(c, dc).is_none()) {
                self.set_header(&first);
            } else {
                self.data(line, &first)?;
            }
        }
        if self.rows.is_empty() {
            return Err(CoreError::EmptyInput {
                what: "CSV table (no data rows)",
            });
        }
        self.stats.resize(self.width, ColumnStats::default());
        // A non-number in a column that also holds numbers: report the earliest one.
        let mixed = self
            .stats
            .iter()
            .enumerate()
            .filter(|(_, s)| s.numbers > 0)
            .filter_map(|(k, s)| s.first_bad.as_ref().map(|(line, text)| (*line, k, text)))
            .min();
        if let Some((line, k, text)) = mixed {
            let others = [',', ';', '\t'].iter().any(|d| text.contains(*d));
            let hint = if others {
                format!(
                    "; it contains another delimiter: check the delimiter (read as {:?})",
                    self.delimiter
                )
            } else {
                String::new()
            };
            return Err(CoreError::InvalidCsv {
                row: line,
                column: k + 1,
                text: clip(text),
                reason: format!(
                    "not a number in column “{}”, which holds numbers elsewhere; fix the cell or leave \
                     it empty for a missing value{hint}",
                    self.name(k)
                ),
            });
        }
        let text_columns: Vec<usize> = (0..self.width)
            .filter(|&k| self.stats[k].numbers == 0 && self.stats[k].first_bad.is_some())
            .collect();
        if (0..self.width).all(|k| self.stats[k].numbers == 0) {
            let (line, text) = self
                .stats
                .iter()
                .find_map(|s| s.first_bad.clone())
                .unwrap_or((self.lines[0], String::new()));
            return Err(CoreError::InvalidCsv {
                row: line,
                column: 1,
                text: clip(&text),
                reason: format!(
                    "no column holds a number; check the delimiter (read as {:?}) and the header",
                    self.delimiter
                ),
            });
        }
        let columns = self.column_names();
        let width = self.width;
        for row in &mut self.rows {
            row.resize(width, f64::NAN);
        }
        Ok(Table {
            columns,
            rows: self.rows,
            lines: self.lines,
            text_columns,
            delimiter: self.delimiter,
            has_header: self.has_header,
        })
    }

    fn name(&self, k: usize) -> String {
        match self.names.get(k) {
            Some(n) if !n.is_empty() => n.clone(),
            _ => format!("column {}", k + 1),
        }
    }

    fn column_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(self.width);
        for k in 0..self.width {
            let base = self.name(k);
            let mut name = base.clone();
            let mut n = 2;
            while out.contains(&name) {
                name = format!("{base} ({n})");
                n += 1;
            }
            out.push(name);
        }
        out
    }
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// What a column of a run table holds, guessed from its name by [`guess_role`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnRole {
    /// Model size `N` (parameters).
    Params,
    /// Training tokens `D`.
    Tokens,
    /// Training compute `C` (FLOPs).
    Compute,
    /// Loss `L` (the fit target).
    Loss,
    /// Training step.
    Step,
    /// Learning rate `η`.
    LearningRate,
    /// Batch size.
    BatchSize,
    /// Anything else.
    Other,
}

/// The role of a column name and how sure the guess is (2: a keyword such as "loss" or "flop";
/// 1: a bare symbol such as "N", "y"; 0: no idea).
fn role_score(name: &str) -> (ColumnRole, u8) {
    let n: String = name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let has = |k: &str| n.contains(k);
    if has("loss") || n == "nll" || n == "xent" || n == "crossentropy" {
        (ColumnRole::Loss, 2)
    } else if has("flop") || has("compute") || n == "pfdays" || n == "pfday" {
        (ColumnRole::Compute, 2)
    } else if has("token") || n == "data" || n == "datasize" || n == "dataset" {
        (ColumnRole::Tokens, 2)
    } else if has("param") || n == "modelsize" || n == "nparams" || n == "numparams" {
        (ColumnRole::Params, 2)
    } else if n == "lr"
        || n.starts_with("lr")
        || n.ends_with("lr")
        || has("learningrate")
        || n == "eta"
        || n == "η"
    {
        (ColumnRole::LearningRate, 2)
    } else if has("batch") || n == "bs" || n == "bsz" {
        (ColumnRole::BatchSize, 2)
    } else if has("step") || has("iter") {
        (ColumnRole::Step, 2)
    } else {
        match n.as_str() {
            "l" | "y" | "ce" => (ColumnRole::Loss, 1),
            "c" => (ColumnRole::Compute, 1),
            "d" => (ColumnRole::Tokens, 1),
            "n" | "size" | "model" => (ColumnRole::Params, 1),
            "t" | "s" => (ColumnRole::Step, 1),
            "b" => (ColumnRole::BatchSize, 1),
            _ => (ColumnRole::Other, 0),
        }
    }
}

/// Guesses what a column holds from its name, ignoring case, spaces and punctuation:
/// `loss`, `val_loss`, `L`, `y` → [`ColumnRole::Loss`]; `FLOPs`, `compute`, `C` →
/// [`ColumnRole::Compute`]; `tokens`, `D` → [`ColumnRole::Tokens`]; `params`, `Model Size`, `N` →
/// [`ColumnRole::Params`]; `lr`, `learning_rate`, `η` → [`ColumnRole::LearningRate`]; `bs`,
/// `batch_size` → [`ColumnRole::BatchSize`]; `step`, `iteration`, `t` → [`ColumnRole::Step`].
pub fn guess_role(name: &str) -> ColumnRole {
    role_score(name).0
}

/// Which table column (0-based) plays each role; `None` = not in the table. [`column_mapping`]
/// guesses it from the names, [`Columns::guess`] from a table (with the fit's defaults).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Columns {
    /// The single input `x` of one-input laws.
    pub x: Option<usize>,
    /// Model size `N`.
    pub params: Option<usize>,
    /// Training tokens `D`.
    pub tokens: Option<usize>,
    /// Training compute `C` (FLOPs); gives `D = C/(6N)` when there is no tokens column.
    pub compute: Option<usize>,
    /// Training step (loss curves).
    pub step: Option<usize>,
    /// Learning rate at each step (loss curves).
    pub lr: Option<usize>,
    /// The target (loss).
    pub loss: Option<usize>,
    /// Batch size.
    pub batch_size: Option<usize>,
}

impl Columns {
    /// [`column_mapping`] of the table's header, then the fit's defaults: the loss is the last
    /// column when no name says so, and `x` the first of params, compute, tokens, step (else
    /// column 0 of a table with more than one column).
    pub fn guess(table: &Table) -> Columns {
        let mut c = column_mapping(&table.columns);
        if c.loss.is_none() && !table.columns.is_empty() {
            c.loss = Some(table.columns.len() - 1);
        }
        c.x = c
            .params
            .or(c.compute)
            .or(c.tokens)
            .or(c.step)
            .or_else(|| (table.columns.len() > 1).then_some(0));
        c
    }
}

/// Picks one column per role: the first column with a keyword name for that role (e.g. `loss`)
/// wins over a bare symbol (e.g. `y`), which wins over nothing. So Epoch AI's Chinchilla table
/// `x, y, color, Model Size, Training FLOP, hex_color, loss` maps `N` → 3, `C` → 4, loss → 6.
pub fn column_mapping<S: AsRef<str>>(columns: &[S]) -> Columns {
    let mut best: [(u8, Option<usize>); 7] = [(0, None); 7];
    for (k, name) in columns.iter().enumerate() {
        let (role, score) = role_score(name.as_ref());
        let slot = match role {
            ColumnRole::Params => 0,
            ColumnRole::Tokens => 1,
            ColumnRole::Compute => 2,
            ColumnRole::Loss => 3,
            ColumnRole::Step => 4,
            ColumnRole::LearningRate => 5,
            ColumnRole::BatchSize => 6,
            ColumnRole::Other => continue,
        };
        if score > best[slot].0 {
            best[slot] = (score, Some(k));
        }
    }
    Columns {
        x: None,
        params: best[0].1,
        tokens: best[1].1,
        compute: best[2].1,
        loss: best[3].1,
        step: best[4].1,
        lr: best[5].1,
        batch_size: best[6].1,
    }
}

/// The guessed role of every column, in order ([`guess_role`] per name).
pub fn column_roles<S: AsRef<str>>(columns: &[S]) -> Vec<ColumnRole> {
    columns.iter().map(|c| guess_role(c.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells() {
        assert_eq!(parse_cell("70B", false), Some(7e10));
        assert_eq!(parse_cell("1.4T", false), Some(1.4e12));
        assert_eq!(parse_cell("−2", false), Some(-2.0));
        assert_eq!(parse_cell("2,5", true), Some(2.5));
        assert_eq!(parse_cell("2,5", false), None);
        assert_eq!(parse_cell("-∞", false), Some(f64::NEG_INFINITY));
        assert!(parse_cell("N/A", false).unwrap().is_nan());
        assert_eq!(parse_cell("infB", false), None);
        assert_eq!(parse_cell("B", false), None);
        assert_eq!(parse_cell("abc", false), None);
    }

    #[test]
    fn roles() {
        let cols = [
            "x",
            "y",
            "color",
            "Model Size",
            "Training FLOP",
            "hex_color",
            "loss",
        ];
        let m = column_mapping(&cols);
        assert_eq!(
            (m.params, m.compute, m.loss, m.tokens),
            (Some(3), Some(4), Some(6), None)
        );
        assert_eq!(guess_role("learning_rate"), ColumnRole::LearningRate);
        assert_eq!(guess_role("peak LR"), ColumnRole::LearningRate);
        assert_eq!(guess_role("Step"), ColumnRole::Step);
        assert_eq!(guess_role("n_params"), ColumnRole::Params);
        assert_eq!(guess_role("D"), ColumnRole::Tokens);
        assert_eq!(guess_role("exp_name"), ColumnRole::Other);
    }
}
