//! The run-table reader: headers, delimiters, quoting, ragged rows, missing values, errors that
//! name the line and column, limits, and the reference tables in `$SCALELAB_REFDATA`.

use scalelab_core::io::csv::{
    column_mapping, column_roles, read_table, ColumnRole, CsvOptions, Delimiter, MAX_COLUMNS,
    MAX_ROWS,
};
use scalelab_core::CoreError;

use crate::fit_models::refdata;

fn read(text: &str) -> scalelab_core::io::csv::Table {
    read_table(text, &CsvOptions::default()).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// `(line, column, text)` of an `InvalidCsv` error, or a panic.
#[track_caller]
fn csv_err(text: &str, opts: CsvOptions) -> (usize, usize, String, String) {
    match read_table(text, &opts) {
        Err(e @ CoreError::InvalidCsv { .. }) => {
            let msg = e.to_string();
            match e {
                CoreError::InvalidCsv {
                    row, column, text, ..
                } => (row, column, text, msg),
                _ => unreachable!(),
            }
        }
        other => panic!("{text:?}: expected InvalidCsv, got {other:?}"),
    }
}

#[test]
fn header_is_detected_or_forced() {
    let t = read("N,D,loss\n1e9,2e10,2.5\n2e9,4e10,2.3\n");
    assert!(t.has_header);
    assert_eq!(t.columns, ["N", "D", "loss"]);
    assert_eq!(t.rows, vec![vec![1e9, 2e10, 2.5], vec![2e9, 4e10, 2.3]]);
    assert_eq!(t.lines, [2, 3]);
    assert_eq!(t.delimiter, Delimiter::Comma);

    let t = read("1e9,2e10,2.5\n2e9,4e10,2.3");
    assert!(!t.has_header);
    assert_eq!(t.columns, ["column 1", "column 2", "column 3"]);
    assert_eq!(t.lines, [1, 2]);

    // Forced: a numeric first line read as a header.
    let t = read_table(
        "1,2\n3,4",
        &CsvOptions {
            header: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        (t.columns.clone(), t.rows.clone()),
        (vec!["1".to_string(), "2".into()], vec![vec![3.0, 4.0]])
    );
    // Forced off: a text first line is then a text... mixed column error, naming line 1.
    let (line, col, text, _) = csv_err(
        "N,loss\n1,2",
        CsvOptions {
            header: Some(false),
            ..Default::default()
        },
    );
    assert_eq!((line, col, text.as_str()), (1, 1, "N"));
}

#[test]
fn delimiters_are_detected_or_given() {
    let semi = read("N;loss\n1,5e9;2,5\n3e9;2,25\n");
    assert_eq!(semi.delimiter, Delimiter::Semicolon);
    assert_eq!(
        semi.rows,
        vec![vec![1.5e9, 2.5], vec![3e9, 2.25]],
        "decimal comma"
    );
    let tab = read("step\tlr\tloss\n1\t0.001\t3.2\n");
    assert_eq!(tab.delimiter, Delimiter::Tab);
    assert_eq!(tab.rows, vec![vec![1.0, 0.001, 3.2]]);
    let ws = read("  N      D     loss\n  1e9   2e10   2.5\n  2e9   4e10   2.3\n");
    assert_eq!(ws.delimiter, Delimiter::Whitespace);
    assert_eq!(ws.columns, ["N", "D", "loss"]);
    assert_eq!(ws.rows[1], vec![2e9, 4e10, 2.3]);
    let one = read("loss\n3.0\n2.5\n");
    assert_eq!(one.columns, ["loss"]);
    assert_eq!(one.rows, vec![vec![3.0], vec![2.5]]);
    // Explicit override: whitespace-delimited, "2;3" is then text.
    let t = read_table(
        "a b;c\n1 2;3",
        &CsvOptions {
            delimiter: Some(Delimiter::Whitespace),
            header: None,
        },
    )
    .unwrap();
    assert_eq!(
        (t.columns.clone(), t.text_columns.clone()),
        (vec!["a".to_string(), "b;c".into()], vec![1])
    );
}

#[test]
fn wrong_delimiter_is_reported_with_a_hint() {
    // A comma file read as semicolon-delimited: every cell is "1,2,3"-like text.
    let (line, col, _, msg) = csv_err(
        "N,D,loss\n1,2,3\n4,5,6\n",
        CsvOptions {
            delimiter: Some(Delimiter::Semicolon),
            header: None,
        },
    );
    assert_eq!((line, col), (1, 1));
    assert!(msg.contains("check the delimiter"), "{msg}");
    // A semicolon inside a comma file's numeric column.
    let (line, col, text, msg) = csv_err("N,loss\n1,2\n3,4;5\n", CsvOptions::default());
    assert_eq!((line, col, text.as_str()), (3, 2, "4;5"));
    assert!(msg.contains("another delimiter"), "{msg}");
}

#[test]
fn quotes_crlf_bom_comments_and_blank_lines() {
    let text = "\u{feff}# exported run table\r\n\"N\",\"D, tokens\",loss\r\n\r\n\"1e9\",\"2e10\",2.5\r\n# a comment\r\n2e9,4e10,\"2.3\"\r\n";
    let t = read(text);
    assert_eq!(t.columns, ["N", "D, tokens", "loss"]);
    assert_eq!(t.rows, vec![vec![1e9, 2e10, 2.5], vec![2e9, 4e10, 2.3]]);
    assert_eq!(
        t.lines,
        [4, 6],
        "lines count comments and blank lines, as an editor shows them"
    );
    // A quoted field spanning two lines: the next record's line is still right.
    let t = read("name,loss\n\"two\nlines\",1\nx,2\nz,3\n");
    assert_eq!(t.lines, [2, 4, 5]);
    assert_eq!(t.text_columns, [0]);
    let (line, col, text, _) = csv_err(
        "name,loss\n\"two\nlines\",1\nx,2\ny,oops\n",
        CsvOptions::default(),
    );
    assert_eq!((line, col, text.as_str()), (5, 2, "oops"));
}

#[test]
fn ragged_rows_and_missing_values() {
    let t = read("N,D,loss\n1,2\n3,4,5,6\n7,,NA\n8,N/A,nan\n9,inf,-inf\n10,∞,−2\n,,\n");
    assert_eq!(t.columns, ["N", "D", "loss", "column 4"]);
    assert_eq!(t.n_rows(), 6, "an all-empty line is skipped");
    assert!(t.rows.iter().all(|r| r.len() == 4));
    assert!(t.rows[0][2].is_nan() && t.rows[0][3].is_nan());
    assert_eq!(t.rows[1], vec![3.0, 4.0, 5.0, 6.0]);
    assert!(t.rows[2][1].is_nan() && t.rows[2][2].is_nan());
    assert!(t.rows[3][1].is_nan() && t.rows[3][2].is_nan());
    assert_eq!(&t.rows[4][1..3], &[f64::INFINITY, f64::NEG_INFINITY]);
    assert_eq!(&t.rows[5][1..3], &[f64::INFINITY, -2.0]);
    assert_eq!(t.column(0).unwrap(), vec![1.0, 3.0, 7.0, 8.0, 9.0, 10.0]);
    assert_eq!(t.column(9), None);
    assert_eq!(t.column_index(" loss "), Some(2));
    // Size suffixes as typed in papers.
    let t = read("model,N,D\nchinchilla,70B,1.4T\ngopher,280B,300B\n");
    assert_eq!(t.text_columns, [0]);
    assert_eq!(t.rows[0][1..], [7e10, 1.4e12]);
    // Duplicate and empty header names get distinct names.
    let t = read("x,,x\n1,2,3\n");
    assert_eq!(t.columns, ["x", "column 2", "x (2)"]);
}

#[test]
fn errors_name_line_column_and_text() {
    let (line, col, text, msg) = csv_err("N,D,loss\n1,2,3\n4,5,six\n", CsvOptions::default());
    assert_eq!((line, col, text.as_str()), (3, 3, "six"));
    assert!(
        msg.contains("CSV line 3, column 3") && msg.contains("“loss”"),
        "{msg}"
    );
    // The earliest offending line wins across columns.
    let (line, col, _, _) = csv_err("a,b\n1,2\n3,x\ny,4\n", CsvOptions::default());
    assert_eq!((line, col), (3, 2));
    // Empty input and header-only input.
    for text in [
        "",
        "   \n\n",
        "\u{feff}",
        "N,D,loss\n",
        "# only a comment\n",
    ] {
        assert!(
            matches!(
                read_table(text, &CsvOptions::default()),
                Err(CoreError::EmptyInput { .. })
            ),
            "{text:?}"
        );
    }
}

#[test]
fn limits_are_errors() {
    let wide = (0..=MAX_COLUMNS)
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let (line, col, _, msg) = csv_err(&wide, CsvOptions::default());
    assert_eq!((line, col), (1, MAX_COLUMNS + 1));
    assert!(msg.contains("more than 64 columns"), "{msg}");
    let ws_wide = (0..=MAX_COLUMNS)
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(csv_err(&ws_wide, CsvOptions::default()).1, MAX_COLUMNS + 1);
    // MAX_ROWS data rows are fine; one more is an error naming its line.
    let mut tall = String::with_capacity(3 * (MAX_ROWS + 2));
    tall.push_str("y\n");
    for _ in 0..MAX_ROWS {
        tall.push_str("1\n");
    }
    assert_eq!(read(&tall).n_rows(), MAX_ROWS);
    tall.push_str("1\n");
    let (line, _, _, msg) = csv_err(&tall, CsvOptions::default());
    assert_eq!(line, MAX_ROWS + 2);
    assert!(msg.contains("more than 1000000 data rows"), "{msg}");
}

#[test]
fn column_roles_are_guessed_from_names() {
    let cols = [
        "Step",
        "learning_rate",
        "val/loss",
        "N (params)",
        "tokens",
        "FLOPs",
        "bs",
        "seed",
    ];
    assert_eq!(
        column_roles(&cols),
        [
            ColumnRole::Step,
            ColumnRole::LearningRate,
            ColumnRole::Loss,
            ColumnRole::Params,
            ColumnRole::Tokens,
            ColumnRole::Compute,
            ColumnRole::BatchSize,
            ColumnRole::Other,
        ]
    );
    // A bare symbol loses to a keyword, whatever the order.
    let m = column_mapping(&["y", "N", "D", "loss", "C"]);
    assert_eq!(
        (m.loss, m.params, m.tokens, m.compute),
        (Some(3), Some(1), Some(2), Some(4))
    );
    assert_eq!(column_mapping(&["a", "z"]), Default::default());
}

#[test]
fn reads_the_reference_tables() {
    // Epoch AI's Chinchilla table (refdata chinchilla/README): 245 rows, two colour text columns.
    if let Some(text) = refdata("chinchilla/svg_extracted_data.csv") {
        let t = read(&text);
        assert_eq!(
            t.columns,
            [
                "x",
                "y",
                "color",
                "Model Size",
                "Training FLOP",
                "hex_color",
                "loss"
            ]
        );
        assert_eq!(t.n_rows(), 245);
        assert_eq!(t.text_columns, [2, 5]);
        assert_eq!(t.rows[0][3], 6795600349.289497);
        assert_eq!(t.rows[0][4], 9.993852799709755e18);
        assert_eq!(t.rows[0][6], 5.005581996196243);
        let m = column_mapping(&t.columns);
        assert_eq!((m.params, m.compute, m.loss), (Some(3), Some(4), Some(6)));
    }
    // Step Law's dense sweep (refdata curves/README §2): 1911 runs, `exp_name` is text.
    if let Some(text) = refdata("curves/steplaw/dense_lr_bs_loss.csv") {
        let t = read(&text);
        assert_eq!(t.n_rows(), 1911);
        let m = column_mapping(&t.columns);
        let name = |i: Option<usize>| i.map(|i| t.columns[i].as_str());
        assert_eq!(name(m.lr), Some("lr"));
        assert_eq!(name(m.batch_size), Some("bs"));
        assert_eq!(name(m.loss), Some("loss"));
        assert_eq!(name(m.params), Some("N"));
        assert_eq!(name(m.tokens), Some("D"));
        let ti = t.column_index("exp_name").unwrap();
        assert!(t.text_columns.contains(&ti));
    }
}
