//! Row-wise CPU oracles.

use scalelab_core::ops::{softmax_rows, stablemax_rows};
use scalelab_core::stablemax::{softmax, stablemax};

use crate::assert_all_close;

#[test]
fn stablemax_rows_match_science_items_2_and_3() {
    // science.md §7 items 2–3, one row each.
    let data = [0.0, 1.0, 2.0, -1.0, 0.0, 1.0, 5.0, -5.0, 0.0];
    let want = [
        1.0 / 6.0,
        1.0 / 3.0,
        0.5,
        1.0 / 7.0,
        2.0 / 7.0,
        4.0 / 7.0,
        36.0 / 43.0,
        1.0 / 43.0,
        6.0 / 43.0,
    ];
    assert_all_close(
        &stablemax_rows(&data, 3).unwrap(),
        &want,
        0.0,
        1e-9,
        "stablemax_rows",
    );
}

#[test]
fn softmax_rows_match_science_item_2_and_the_row_function() {
    // science.md §7 item 2 for the first row; shift invariance for the second.
    let data = [0.0, 1.0, 2.0, 100.0, 101.0, 102.0];
    let want = [0.0900305732, 0.2447284711, 0.6652409558];
    let out = softmax_rows(&data, 3).unwrap();
    assert_all_close(&out[..3], &want, 0.0, 1e-10, "row 0");
    assert_all_close(&out[3..], &want, 0.0, 1e-10, "row 1");
    // Bit-identical to the single-row functions.
    let data = [0.3, -2.0, 7.0, 1.5, 0.0, -0.25, 4.0, 4.0];
    for n_cols in [1, 2, 4, 8] {
        let rows = softmax_rows(&data, n_cols).unwrap();
        let st = stablemax_rows(&data, n_cols).unwrap();
        for (r, row) in data.chunks(n_cols).enumerate() {
            assert_eq!(
                &rows[r * n_cols..(r + 1) * n_cols],
                softmax(row).unwrap().as_slice()
            );
            assert_eq!(
                &st[r * n_cols..(r + 1) * n_cols],
                stablemax(row).unwrap().as_slice()
            );
        }
    }
}

#[test]
fn zero_rows_give_empty_output_and_one_column_gives_ones() {
    assert_eq!(softmax_rows(&[], 4).unwrap(), Vec::<f64>::new());
    assert_eq!(stablemax_rows(&[], 1).unwrap(), Vec::<f64>::new());
    // A single class has probability 1 whatever its logit (definition of both maps).
    assert_eq!(softmax_rows(&[-3.0, 0.0, 9.0], 1).unwrap(), vec![1.0; 3]);
    assert_eq!(stablemax_rows(&[-3.0, 0.0, 9.0], 1).unwrap(), vec![1.0; 3]);
}
