//! Property tests ("fuzzing") of the two parsers of typed user input: the CSV reader and the formula
//! parser. Arbitrary strings, byte soup and structured near-misses must never panic; what parses
//! must be self-consistent.
//!
//! A normal `cargo test` runs [`CASES`] inputs per property. The long run (10⁶ inputs each, about
//! as many as `PROPTEST_CASES` says) is `#[ignore]`d:
//!
//! ```text
//! PROPTEST_CASES=1000000 cargo test --release -p scalelab-core --test it fuzz_ -- --ignored
//! ```

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

use scalelab_core::fit::formula::FormulaModel;
use scalelab_core::fit::Model;
use scalelab_core::io::csv::{read_table, CsvOptions, Delimiter, MAX_COLUMNS};

/// Inputs per property in a normal test run.
const CASES: u32 = 2000;

fn quick() -> Config {
    Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    }
}

/// `PROPTEST_CASES` (default 10⁶) inputs per property, for the ignored long run.
pub fn long() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

fn csv_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|v| v.to_string()),
        (-1e6f64..1e6).prop_map(|v| format!("{v:e}")),
        select(vec![
            "",
            " ",
            "NaN",
            "nan",
            "NA",
            "N/A",
            "null",
            "inf",
            "-inf",
            "Infinity",
            "∞",
            "-∞",
            "−3",
            "\"",
            "\"\"",
            "\"1,5\"",
            "\"a\"\"b\"",
            "2,5",
            "1,000,000",
            "70B",
            "1.4T",
            "3k",
            "B",
            "infB",
            "#",
            "# c",
            "\u{feff}",
            "loss",
            "Model Size",
            "step",
            "1e",
            "1e999",
            "-0",
            ".5",
            "5.",
            "0x10",
            "1_000",
            "é",
            "😀",
        ])
        .prop_map(String::from),
        "[a-zA-Z_ ]{0,8}",
        "[0-9.eE+-]{1,8}",
        "\\PC{0,4}",
    ]
}

fn csv_text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::collection::vec(csv_cell(), 0..8), 0..12),
        select(vec![",", ";", "\t", " ", "  ", ", "]),
        select(vec!["\n", "\r\n", "\r", "\n\n"]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(rows, sep, eol, bom, ragged_sep)| {
            let mut s = if bom {
                "\u{feff}".to_string()
            } else {
                String::new()
            };
            for (i, row) in rows.iter().enumerate() {
                let sep = if ragged_sep && i % 3 == 2 { ";" } else { sep };
                s.push_str(&row.join(sep));
                s.push_str(eol);
            }
            s
        })
}

fn csv_options() -> impl Strategy<Value = CsvOptions> {
    (
        select(vec![
            None,
            Some(Delimiter::Comma),
            Some(Delimiter::Semicolon),
            Some(Delimiter::Tab),
            Some(Delimiter::Whitespace),
        ]),
        select(vec![None, Some(true), Some(false)]),
    )
        .prop_map(|(delimiter, header)| CsvOptions { delimiter, header })
}

fn byte_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            any::<u8>(),
            select(vec![
                b',', b';', b'\t', b' ', b'\n', b'\r', b'"', b'#', b'1', b'.', b'e', b'-'
            ])
        ],
        0..200,
    )
    .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Reads `text`; on success the table must be rectangular, with one (ascending) line number per
/// row, valid text-column indices and at most [`MAX_COLUMNS`] columns; errors must be the
/// documented variants.
fn check_csv(text: &str, opts: &CsvOptions) -> Result<(), TestCaseError> {
    match read_table(text, opts) {
        Ok(t) => {
            prop_assert!(!t.columns.is_empty() && t.columns.len() <= MAX_COLUMNS);
            prop_assert!(!t.rows.is_empty());
            prop_assert!(t.rows.iter().all(|r| r.len() == t.columns.len()));
            prop_assert_eq!(t.lines.len(), t.rows.len());
            prop_assert!(
                t.lines.windows(2).all(|w| w[0] < w[1]),
                "lines {:?}",
                t.lines
            );
            prop_assert!(t
                .lines
                .iter()
                .all(|&l| l >= 1
                    && l <= text.split('\n').count().max(1) + text.matches('\r').count()));
            prop_assert!(t.text_columns.iter().all(|&k| k < t.columns.len()));
            for &k in &t.text_columns {
                prop_assert!(t.rows.iter().all(|r| r[k].is_nan()));
            }
        }
        Err(e) => prop_assert!(matches!(e.code(), "InvalidCsv" | "EmptyInput"), "{e:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(quick())]

    #[test]
    fn csv_arbitrary_strings_never_panic(text in any::<String>(), opts in csv_options()) {
        check_csv(&text, &opts)?;
    }

    #[test]
    fn csv_byte_soup_never_panics(text in byte_soup(), opts in csv_options()) {
        check_csv(&text, &opts)?;
    }

    #[test]
    fn csv_near_miss_tables_never_panic(text in csv_text(), opts in csv_options()) {
        check_csv(&text, &opts)?;
    }
}

proptest! {
    #![proptest_config(long())]

    #[test]
    #[ignore = "long fuzz run: PROPTEST_CASES=1000000 cargo test --release -p scalelab-core --test it fuzz_ -- --ignored"]
    fn fuzz_csv(text in prop_oneof![any::<String>(), byte_soup(), csv_text()], opts in csv_options()) {
        check_csv(&text, &opts)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Formulas

const VALID: [&str; 8] = [
    "E + A/N^alpha + B/D^beta",
    "a*x^(-b) + c",
    "L0 + A*S1^(-alpha) - C*S2",
    "y = exp(a)*ln(x) + sqrt(b*x) - log10(c + x)",
    "((N_c/N)^(a_N/a_D) + D_c/D)^a_D",
    "a + b·x^(−c0)·(1 + (x/d1)^(1/f1))^(−c1·f1)",
    "max(a, min(b, x)) * pow(abs(c), 2) ** 0.5",
    "-a^-b^-c + --x / (1e-3 + p)",
];

fn formula_tokens() -> impl Strategy<Value = String> {
    prop::collection::vec(
        select(vec![
            "a", "b", "x", "N", "D", "S1", "alpha", "α", "L₀", "_", "(", ")", "((", "+", "-", "−",
            "*", "·", "/", "^", "**", ",", "=", "exp", "ln", "log", "log10", "sqrt", "abs", "pow",
            "min", "max", "foo", "e", "pi", "π", "2", ".5", "1e-3", "1e", "1e999", "0", "3a", " ",
            "$", "\u{0}", "[", "é", "😀",
        ]),
        0..24,
    )
    .prop_map(|t| t.concat())
}

fn mutated_formula() -> impl Strategy<Value = String> {
    (
        select(VALID.to_vec()),
        any::<prop::sample::Index>(),
        any::<char>(),
        0..3u8,
    )
        .prop_map(|(f, at, c, what)| {
            let mut chars: Vec<char> = f.chars().collect();
            let i = at.index(chars.len() + 1);
            match what {
                0 => chars.insert(i, c),
                1 if i < chars.len() => {
                    chars.remove(i);
                }
                _ if i < chars.len() => chars[i] = c,
                _ => chars.push(c),
            }
            chars.into_iter().collect()
        })
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        -10.0f64..10.0,
        1e-3f64..1e13,
        select(vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-300,
            1e300
        ]),
        any::<f64>(),
    ]
}

fn inputs() -> impl Strategy<Value = Vec<&'static str>> {
    select(vec![
        vec!["x"],
        vec!["N", "D"],
        vec!["S1", "S2"],
        vec![],
        vec!["e"],
        vec!["x", "a"],
    ])
}

/// Parses `text`; errors must be `InvalidFormula`; a parsed formula must re-parse from its own
/// text to the same parameters and evaluate (with and without gradient) to the same value — finite
/// or NaN/±∞, never a panic.
fn check_formula(text: &str, names: &[&str], values: &[f64]) -> Result<(), TestCaseError> {
    match FormulaModel::new(text, names) {
        Ok(m) => {
            let again = FormulaModel::new(&m.formula(), names);
            prop_assert!(again.is_ok(), "{:?} does not re-parse", m.formula());
            prop_assert_eq!(again.unwrap().param_names(), m.param_names());
            let p = m.param_names().len();
            prop_assert!(p >= 1);
            let x: Vec<f64> = (0..names.len()).map(|i| values[i % values.len()]).collect();
            let theta: Vec<f64> = (0..p).map(|j| values[(j + 3) % values.len()]).collect();
            let mut g = vec![0.0; p];
            let v = m.eval(&x, &theta, None);
            let vg = m.eval(&x, &theta, Some(&mut g));
            prop_assert!(
                v.to_bits() == vg.to_bits() || (v.is_nan() && vg.is_nan()),
                "{} vs {}",
                v,
                vg
            );
            // Wrong lengths are NaN.
            prop_assert!(m.eval(&x, &theta[..p - 1], None).is_nan());
        }
        Err(e) => prop_assert!(
            matches!(e.code(), "InvalidFormula" | "InvalidValue"),
            "{e:?}"
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(quick())]

    #[test]
    fn formula_arbitrary_strings_never_panic(text in any::<String>(), names in inputs(), v in prop::collection::vec(number(), 1..6)) {
        check_formula(&text, &names, &v)?;
    }

    #[test]
    fn formula_token_soup_never_panics(text in formula_tokens(), names in inputs(), v in prop::collection::vec(number(), 1..6)) {
        check_formula(&text, &names, &v)?;
    }

    #[test]
    fn formula_mutations_never_panic(text in mutated_formula(), names in inputs(), v in prop::collection::vec(number(), 1..6)) {
        check_formula(&text, &names, &v)?;
    }
}

proptest! {
    #![proptest_config(long())]

    #[test]
    #[ignore = "long fuzz run: PROPTEST_CASES=1000000 cargo test --release -p scalelab-core --test it fuzz_ -- --ignored"]
    fn fuzz_formula(
        text in prop_oneof![any::<String>(), formula_tokens(), mutated_formula()],
        names in inputs(),
        v in prop::collection::vec(number(), 1..6),
    ) {
        check_formula(&text, &names, &v)?;
    }
}

#[test]
fn deep_and_long_inputs_are_errors_not_stack_overflows() {
    for depth in [199, 200, 201, 1000] {
        let f = format!("{}a{}", "(".repeat(depth), ")".repeat(depth));
        let _ = FormulaModel::new(&f, &["x"]);
        let f = format!("{}a", "-".repeat(depth));
        let _ = FormulaModel::new(&f, &["x"]);
        let f = format!("{}a", "x^".repeat(depth));
        let _ = FormulaModel::new(&f, &["x"]);
        let f = format!("{}a{}", "exp(".repeat(depth), ")".repeat(depth));
        let _ = FormulaModel::new(&f, &["x"]);
    }
    // A long flat chain parses (no recursion per term) and evaluates on the explicit stack.
    let chain = "a".to_string() + &"+x".repeat(999);
    let m = FormulaModel::new(&chain, &["x"]).unwrap();
    assert_eq!(m.eval(&[1.0], &[1.0], None), 1000.0);
    let mut g = [0.0];
    m.eval(&[1.0], &[1.0], Some(&mut g));
    assert_eq!(g, [1.0]);
    // Many pending operands: a stack deeper than the small buffer.
    let wide = "a*(x+".repeat(150) + "x" + &")".repeat(150);
    let m = FormulaModel::new(&wide, &["x"]).unwrap();
    assert!(m.eval(&[0.0], &[1.0], None).is_finite());
    let _ = read_table(&"\"".repeat(100_000), &CsvOptions::default());
    let _ = read_table(&",".repeat(100_000), &CsvOptions::default());
}
