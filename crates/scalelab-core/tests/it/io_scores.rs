//! Calibrate's inputs (`io::scores`): CSV, NPZ/NPY and JSON score files with their labels, every
//! malformed kind as a specific error, and a fuzz of the CSV path (quick here; the long run is
//! `PROPTEST_CASES=1000000 cargo test --release -p scalelab-core --test it fuzz_scores -- --ignored`).

use proptest::prelude::*;
use proptest::test_runner::Config;

use scalelab_core::io::scores::{
    scores_from_csv, scores_from_json, scores_from_npy, scores_from_npz, ScoreKind,
};
use scalelab_core::CoreError;

use crate::io_npy::{f64s, mutated_npy, npy, npz};

#[test]
fn csv_with_and_without_a_header() {
    let s = scores_from_csv("label,a,b,c\n2,0.5,-1,3\n0,1,2,3\n", None).unwrap();
    assert_eq!(
        (s.classes, s.labels.clone(), s.kind),
        (3, vec![2, 0], ScoreKind::Logits)
    );
    assert_eq!(s.values, vec![0.5, -1.0, 3.0, 1.0, 2.0, 3.0]);
    // The label column found by name anywhere; semicolons; probabilities detected.
    let s = scores_from_csv("p0;true_label;p1\n0.25;1;0.75\n1;0;0\n", None).unwrap();
    assert_eq!(
        (s.labels.clone(), s.kind),
        (vec![1, 0], ScoreKind::Probabilities)
    );
    assert_eq!(s.values, vec![0.25, 0.75, 1.0, 0.0]);
    // A zero probability has no logit: refused when the logits are asked for.
    assert!(s.logits().is_ok_and(|z| z[3] == f64::NEG_INFINITY));
    // No header, whitespace, a byte-order mark and a comment; the kind forced.
    let s = scores_from_csv(
        "\u{feff}# model A\n1 0.2 0.8\n0 0.6 0.4\n",
        Some(ScoreKind::Logits),
    )
    .unwrap();
    assert_eq!((s.labels.clone(), s.kind), (vec![1, 0], ScoreKind::Logits));
}

#[test]
fn bad_csv_is_a_specific_error() {
    let err = |t: &str| scores_from_csv(t, None).unwrap_err();
    assert!(matches!(
        err("label,a,b\n0,1,2\n1,2\n"),
        CoreError::InvalidCsv {
            row: 3,
            column: 0,
            ..
        }
    ));
    assert!(matches!(
        err("label,a,b\n0,1,x\n"),
        CoreError::InvalidCsv {
            row: 2,
            column: 3,
            ..
        }
    ));
    assert!(matches!(
        err("label,a,b\n0.5,1,2\n"),
        CoreError::InvalidCsv {
            row: 2,
            column: 1,
            ..
        }
    ));
    assert!(matches!(
        err("label,a,b\n-1,1,2\n"),
        CoreError::InvalidCsv {
            row: 2,
            column: 1,
            ..
        }
    ));
    assert!(matches!(
        err("label,a,b\n2,1,2\n"),
        CoreError::IndexOutOfRange {
            what: "label",
            index: 2,
            len: 2
        }
    ));
    assert!(matches!(
        err("label,a,b\n0,1,inf\n"),
        CoreError::NonFinite { index: 1, .. }
    ));
    assert!(matches!(
        err("label,a\n0,1\n"),
        CoreError::InvalidCsv { row: 2, .. }
    ));
    assert!(matches!(err("label,a,b\n"), CoreError::EmptyInput { .. }));
    // Files above the stated limit are refused before they are read.
    use scalelab_core::io::scores::{check_file_size, MAX_FILE_BYTES};
    assert_eq!(MAX_FILE_BYTES, 512 * 1024 * 1024);
    assert!(check_file_size(MAX_FILE_BYTES).is_ok());
    assert!(matches!(
        check_file_size(MAX_FILE_BYTES + 1),
        Err(CoreError::OutOfRange {
            what: "score file size in bytes",
            ..
        })
    ));
    assert!(matches!(err(""), CoreError::EmptyInput { .. }));
}

#[test]
fn npz_and_npy_files() {
    let scores = npy(
        "<f4",
        false,
        "(2, 2)",
        &[0.25f32, 0.75, 0.5, 0.5].map(f32::to_le_bytes).concat(),
    );
    let labels = npy(
        "<i8",
        false,
        "(2,)",
        &[1i64, 0].map(i64::to_le_bytes).concat(),
    );
    let file = npz(
        &[
            ("predictions.npy", scores.clone()),
            ("ground_truth.npy", labels.clone()),
        ],
        true,
    );
    let s = scores_from_npz(&file, None).unwrap();
    assert_eq!(
        (s.classes, s.labels.clone(), s.kind),
        (2, vec![1, 0], ScoreKind::Probabilities)
    );
    let s = scores_from_npy(&scores, &labels, Some(ScoreKind::Logits)).unwrap();
    assert_eq!(s.kind, ScoreKind::Logits);
    // Without the expected names: the message lists what the file has.
    let wrong = npz(
        &[
            ("x.npy", scores.clone()),
            ("ground_truth.npy", labels.clone()),
        ],
        false,
    );
    match scores_from_npz(&wrong, None) {
        Err(CoreError::InvalidArrayFile { reason, .. }) => {
            assert!(
                reason.contains("logits") && reason.contains("the file has: x"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    // A 1-D score array, float labels that are not integers.
    let flat = npy("<f8", false, "(4,)", &f64s(&[0.1, 0.9, 0.5, 0.5]));
    assert!(matches!(
        scores_from_npy(&flat, &labels, None),
        Err(CoreError::InvalidArrayFile {
            what: "score array",
            ..
        })
    ));
    let fractional = npy("<f8", false, "(2,)", &f64s(&[0.5, 1.0]));
    assert!(matches!(
        scores_from_npy(&scores, &fractional, None),
        Err(CoreError::OutOfRange { .. })
    ));
    // Mismatched counts.
    let three = npy(
        "<i8",
        false,
        "(3,)",
        &[0i64, 1, 0].map(i64::to_le_bytes).concat(),
    );
    assert!(matches!(
        scores_from_npy(&scores, &three, None),
        Err(CoreError::DimensionMismatch { .. })
    ));
}

#[test]
fn json_files() {
    let s = scores_from_json(r#"{"logits": [[1, 2], [3, 4]], "labels": [1, 0]}"#).unwrap();
    assert_eq!(
        (s.values.clone(), s.kind),
        (vec![1.0, 2.0, 3.0, 4.0], ScoreKind::Logits)
    );
    let s = scores_from_json(r#"{"probabilities": [[0.5, 0.5]], "labels": [1]}"#).unwrap();
    assert_eq!(s.kind, ScoreKind::Probabilities);
    // Read a row at a time: the same values, the position rising through the text.
    let text = r#"{"labels": [0, 1, 1], "logits": [ [1, 2] ,[3, 4],[5,6] ]}"#;
    let mut r = scalelab_core::io::scores::JsonScores::new(text).unwrap();
    let mut at = vec![r.bytes_read()];
    while !r.read_rows(text, 1).unwrap() {
        at.push(r.bytes_read());
    }
    assert!(
        at.windows(2).all(|w| w[0] < w[1]) && at.len() == 4,
        "{at:?}"
    );
    let s = r.finish(text).unwrap();
    assert_eq!(
        (s.values, s.labels),
        (vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], vec![0, 1, 1])
    );
    for bad in [
        r#"{"logits": [[1, 2]], "probabilities": [[0.5, 0.5]], "labels": [0]}"#,
        r#"{"labels": [0]}"#,
        r#"{"logits": [[1, 2]], "labels": [0], "extra": 1}"#,
        "[1, 2]",
        r#"{"logits": [1, 2], "labels": [0]}"#,
        r#"{"logits": [[1, "2]"]], "labels": [0]}"#,
        r#"{"logits": [[1, [2]]], "labels": [0]}"#,
        r#"{"logits": [[1, 2]], "labels": ["a"]}"#,
    ] {
        assert!(
            matches!(scores_from_json(bad), Err(CoreError::InvalidValue { .. })),
            "{bad}"
        );
    }
    assert!(matches!(
        scores_from_json(r#"{"logits": [[1, 2], [3]], "labels": [0, 1]}"#),
        Err(CoreError::DimensionMismatch {
            expected: 2,
            got: 1,
            ..
        })
    ));
}

fn csv_like() -> impl Strategy<Value = String> {
    let cell = prop_oneof![
        Just("0".to_string()),
        Just("1".to_string()),
        Just("-2.5".to_string()),
        Just("0.25".to_string()),
        Just("nan".to_string()),
        Just("1e308".to_string()),
        Just("label".to_string()),
        Just("\"x\"".to_string()),
        Just("".to_string()),
        Just("\u{2212}3".to_string()),
    ];
    let sep = prop_oneof![Just(","), Just(";"), Just("\t"), Just(" ")];
    (
        prop::collection::vec(prop::collection::vec(cell, 0..6), 0..6),
        sep,
    )
        .prop_map(|(rows, sep)| {
            rows.iter()
                .map(|r| r.join(sep))
                .collect::<Vec<_>>()
                .join("\n")
        })
}

/// The readers never panic; a CSV read three lines at a time gives what it gives at once.
fn check(text: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let whole = scores_from_csv(text, None);
    if let Ok(s) = &whole {
        prop_assert_eq!(s.values.len(), s.labels.len() * s.classes);
        prop_assert!(s.labels.iter().all(|&l| l < s.classes));
    }
    let mut r = scalelab_core::io::scores::CsvScores::new(text);
    let stepped = loop {
        match r.read_lines(text, 3) {
            Ok(false) => {}
            Ok(true) => break r.finish(None),
            Err(e) => break Err(e),
        }
    };
    prop_assert_eq!(format!("{stepped:?}"), format!("{whole:?}"));
    // JSON read three rows at a time equals JSON read at once.
    let whole = scores_from_json(text);
    let stepped = scalelab_core::io::scores::JsonScores::new(text).and_then(|mut r| loop {
        if r.read_rows(text, 3)? {
            break r.finish(text);
        }
    });
    prop_assert_eq!(format!("{stepped:?}"), format!("{whole:?}"));
    let _ = scores_from_npz(bytes, None);
    let _ = scalelab_core::io::scores::scores_from_npy_pair(bytes, bytes, None);
    Ok(())
}

proptest! {
    #![proptest_config(Config { cases: 2000, failure_persistence: None, ..Config::default() })]
    #[test]
    fn score_readers_never_panic(text in prop_oneof![csv_like(), any::<String>()], bytes in mutated_npy()) {
        check(&text, &bytes)?;
    }
}

proptest! {
    #![proptest_config(crate::fuzz_inputs::long())]
    #[test]
    #[ignore = "long fuzz run: PROPTEST_CASES=1000000 cargo test --release -p scalelab-core --test it fuzz_scores -- --ignored"]
    fn fuzz_scores(text in prop_oneof![csv_like(), any::<String>()],
        bytes in prop_oneof![mutated_npy().prop_map(|b| npz(&[("logits.npy", b.clone()), ("labels.npy", b)], true)), mutated_npy()]) {
        check(&text, &bytes)?;
    }
}

/// Read a line at a time, a CSV file gives what it gives at once — a byte-order mark, CRLF line
/// ends, a header, comments and blank lines included — with the bytes read rising to the length;
/// an error names the same line either way.
#[test]
fn a_csv_read_a_line_at_a_time_equals_the_csv_read_at_once() {
    use scalelab_core::io::scores::CsvScores;
    let text = "\u{feff}label,a,b\r\n# a comment\r\n0,0.7,0.3\r\n\r\n1,0.2,0.8\r\n1,0.4,0.6";
    let whole = scores_from_csv(text, None).unwrap();
    let mut r = CsvScores::new(text);
    let mut seen = vec![r.bytes_read()];
    while !r.read_lines(text, 1).unwrap() {
        seen.push(r.bytes_read());
    }
    assert_eq!(seen, vec![3, 14, 27, 38, 40, 51]);
    assert_eq!(r.bytes_read(), text.len());
    let stepped = r.finish(None).unwrap();
    assert_eq!(stepped, whole);
    assert_eq!(
        (whole.len(), whole.classes, whole.labels.clone()),
        (3, 2, vec![0, 1, 1])
    );
    let bad = "label,a,b\n0,1,2\n1,3\n";
    let at_once = scores_from_csv(bad, None).unwrap_err();
    let mut r = CsvScores::new(bad);
    let stepped = loop {
        match r.read_lines(bad, 1) {
            Ok(false) => continue,
            Ok(true) => panic!("the ragged row was read"),
            Err(e) => break e,
        }
    };
    assert_eq!(stepped, at_once);
    assert!(
        matches!(at_once, CoreError::InvalidCsv { row: 3, .. }),
        "{at_once:?}"
    );
}

/// Two `.npy` files in either order: the 2-D one is read as the scores, the 1-D one as the labels;
/// two arrays of the same rank are refused with both shapes named.
#[test]
fn a_pair_of_npy_files_reads_in_either_order() {
    use scalelab_core::io::scores::scores_from_npy_pair;
    let scores = npy("<f8", false, "(2, 2)", &f64s(&[3.0, 0.0, 0.0, 3.0]));
    let labels = npy(
        "<i8",
        false,
        "(2,)",
        &[0i64, 1]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>(),
    );
    let ab = scores_from_npy_pair(&scores, &labels, None).unwrap();
    let ba = scores_from_npy_pair(&labels, &scores, None).unwrap();
    assert_eq!(ab, ba);
    assert_eq!(
        (ab.values.clone(), ab.labels.clone(), ab.classes),
        (vec![3.0, 0.0, 0.0, 3.0], vec![0, 1], 2)
    );
    match scores_from_npy_pair(&scores, &scores, None) {
        Err(CoreError::InvalidArrayFile { reason, .. }) => {
            assert!(reason.contains("[2, 2] and [2, 2]"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}
