//! NumPy `.npy`/`.npz` reading: valid files written byte by byte as NumPy's format document
//! specifies (version 1.0: magic `\x93NUMPY`, version, little-endian u16 header length, a Python
//! dict literal padded with spaces and a newline to a multiple of 64 bytes), every kind of bad
//! file as a typed error, and a fuzz of both readers (quick here; the long run is
//! `PROPTEST_CASES=1000000 cargo test --release -p scalelab-core --test it fuzz_npy -- --ignored`).

use std::io::Write;

use proptest::prelude::*;
use proptest::test_runner::Config;

use scalelab_core::io::npy::{read_npy, read_npz, NpyData};
use scalelab_core::CoreError;

/// An `.npy` file (format 1.0) with `descr`, `fortran` order and `shape`, followed by `data`.
pub fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut dict = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(data);
    out
}

pub fn f64s(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn npz(members: &[(&str, Vec<u8>)], deflate: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    for (name, bytes) in members {
        w.start_file(
            *name,
            zip::write::SimpleFileOptions::default().compression_method(method),
        )
        .unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn reason(e: CoreError) -> String {
    match e {
        CoreError::InvalidArrayFile { reason, .. } => reason,
        other => panic!("not an array-file error: {other}"),
    }
}

#[test]
fn dtypes_orders_and_archives_read_back() {
    let a = read_npy(
        "NPY file",
        &npy(
            "<f8",
            false,
            "(2, 3)",
            &f64s(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        )[..],
    )
    .unwrap();
    assert_eq!(a.shape, vec![2, 3]);
    assert_eq!(a.data, NpyData::Float(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
    // Fortran order: column-major bytes, returned row-major.
    let f = read_npy(
        "NPY file",
        &npy(
            "<f8",
            true,
            "(2, 3)",
            &f64s(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]),
        )[..],
    )
    .unwrap();
    assert_eq!(f.data, a.data);
    let f4: Vec<u8> = [0.1f32, -2.5]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let b = read_npy("NPY file", &npy("<f4", false, "(2,)", &f4)[..]).unwrap();
    assert_eq!(b.data, NpyData::Float(vec![f64::from(0.1f32), -2.5]));
    let be: Vec<u8> = [7i32, -1].iter().flat_map(|x| x.to_be_bytes()).collect();
    assert_eq!(
        read_npy("NPY file", &npy(">i4", false, "(2,)", &be)[..])
            .unwrap()
            .data,
        NpyData::Int(vec![7, -1])
    );
    assert_eq!(
        read_npy("NPY file", &npy("|u1", false, "(3,)", &[0, 9, 255])[..])
            .unwrap()
            .data,
        NpyData::Int(vec![0, 9, 255])
    );
    assert_eq!(
        read_npy("NPY file", &npy("|b1", false, "(2,)", &[1, 0])[..])
            .unwrap()
            .data,
        NpyData::Int(vec![1, 0])
    );
    for deflate in [false, true] {
        let archive = npz(
            &[
                (
                    "logits.npy",
                    npy("<f8", false, "(1, 2)", &f64s(&[0.5, 1.5])),
                ),
                ("labels.npy", npy("<i8", false, "(1,)", &1i64.to_le_bytes())),
                ("README.txt", b"not an array".to_vec()),
            ],
            deflate,
        );
        let arrays = read_npz(&archive).unwrap();
        let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["logits", "labels"], "other members are skipped");
        assert_eq!(arrays[1].1.data, NpyData::Int(vec![1]));
    }
}

#[test]
fn bad_files_are_specific_errors() {
    assert!(
        reason(read_npy("NPY file", &b"PK\x03\x04 not numpy"[..]).unwrap_err())
            .contains("not a NumPy array file")
    );
    assert!(
        reason(read_npy("NPY file", &npy("<U3", false, "(2,)", &[0; 24])[..]).unwrap_err())
            .contains("not supported")
    );
    assert!(
        reason(read_npy("NPY file", &npy("<c16", false, "(1,)", &[0; 16])[..]).unwrap_err())
            .contains("not supported")
    );
    assert!(
        reason(read_npy("NPY file", &npy("|O", false, "(1,)", &[0; 8])[..]).unwrap_err()).len()
            > 10
    );
    assert!(reason(
        read_npy(
            "NPY file",
            &npy("<f8", false, "(4,)", &f64s(&[1.0, 2.0]))[..]
        )
        .unwrap_err()
    )
    .contains("cut short"));
    assert!(reason(
        read_npy("NPY file", &npy("<f8", false, "(100000, 100000)", &[])[..]).unwrap_err()
    )
    .contains("more than"));
    let mut broken = npy("<f8", false, "(1,)", &f64s(&[1.0]));
    broken[20] = b'#';
    assert!(matches!(
        read_npy("NPY file", &broken[..]),
        Err(CoreError::InvalidArrayFile { .. })
    ));
    assert!(reason(read_npz(b"\x93NUMPY not a zip").unwrap_err()).contains("not a zip archive"));
    let bad_member = npz(&[("x.npy", b"\x93NUMPY\x01\x00garbage".to_vec())], true);
    assert!(reason(read_npz(&bad_member).unwrap_err()).starts_with("x: "));
}

#[test]
fn a_damaged_stored_member_fails_its_checksum() {
    let good = npz(
        &[("x.npy", npy("<f8", false, "(2,)", &f64s(&[1.0, 2.0])))],
        false,
    );
    assert_eq!(
        read_npz(&good).unwrap()[0].1.data,
        NpyData::Float(vec![1.0, 2.0])
    );
    // The last value's last byte (the 8 bytes of 2.0 end where the member's data end).
    let at = good
        .windows(8)
        .position(|w| w == 2.0f64.to_le_bytes())
        .unwrap()
        + 7;
    let mut bad = good.clone();
    bad[at] ^= 0x01;
    assert!(reason(read_npz(&bad).unwrap_err()).contains("CRC-32"));
}

/// An `.npz` archive (stored and deflated) and a pair of `.npy` files read a few values at a
/// time give what reading at once gives, with the progress in bytes rising to the total.
#[test]
fn numpy_score_files_read_in_slices_equal_reading_at_once() {
    use scalelab_core::io::scores::{scores_from_npy_pair, scores_from_npz, NumpyScores};
    let logits: Vec<f64> = (0..60).map(|i| f64::from(i % 7) - 3.0).collect();
    let scores = npy("<f8", false, "(20, 3)", &f64s(&logits));
    let labels = npy(
        "<i8",
        false,
        "(20,)",
        &(0..20i64)
            .flat_map(|i| (i % 3).to_le_bytes())
            .collect::<Vec<u8>>(),
    );
    for deflate in [false, true] {
        let file = npz(
            &[
                ("logits.npy", scores.clone()),
                ("labels.npy", labels.clone()),
            ],
            deflate,
        );
        let mut r = NumpyScores::npz(&file[..]).unwrap();
        assert_eq!(r.bytes_total(), (scores.len() + labels.len()) as u64);
        let mut last = 0;
        let mut slices = 0;
        while !r.read(7).unwrap() {
            assert!(r.bytes_read() >= last && r.bytes_read() < r.bytes_total());
            last = r.bytes_read();
            slices += 1;
        }
        assert!(slices >= 80 / 7 - 1, "{slices} slices");
        let sliced = r.finish(None).unwrap();
        // The values written above (an independent expectation), and the same read at once.
        assert_eq!(sliced.values, logits);
        assert_eq!(
            sliced.labels,
            (0..20).map(|i| i % 3).collect::<Vec<usize>>()
        );
        assert_eq!(sliced, scores_from_npz(&file, None).unwrap());
    }
    let mut r = NumpyScores::npy_pair(&labels[..], &scores[..]).unwrap();
    assert_eq!(r.bytes_total(), 80 * 8);
    let mut slices = 0;
    while !r.read(7).unwrap() {
        slices += 1;
    }
    assert_eq!(slices, 80 / 7);
    let at_once = scores_from_npy_pair(&scores, &labels, None).unwrap();
    assert_eq!(r.finish(None).unwrap(), at_once);
    assert_eq!(at_once.values, logits);
}

pub fn mutated_npy() -> impl Strategy<Value = Vec<u8>> {
    let base = prop_oneof![
        Just(npy("<f8", false, "(2, 2)", &f64s(&[1.0, 2.0, 3.0, 4.0]))),
        Just(npy("<i8", true, "(3,)", &[1u8; 24])),
        Just(npy("<f4", false, "()", &[0, 0, 128, 63])),
    ];
    (
        base,
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        0usize..80,
    )
        .prop_map(|(mut b, edits, cut)| {
            for (i, v) in edits {
                let at = i.index(b.len());
                b[at] = v;
            }
            let keep = b.len().saturating_sub(cut % 40);
            b.truncate(keep);
            b
        })
}

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(a) = read_npy("NPY file", bytes) {
        let n: usize = a.shape.iter().product();
        let len = match &a.data {
            NpyData::Float(v) => v.len(),
            NpyData::Int(v) => v.len(),
        };
        prop_assert_eq!(n, len);
    }
    let _ = read_npz(bytes);
    Ok(())
}

proptest! {
    #![proptest_config(Config { cases: 2000, failure_persistence: None, ..Config::default() })]
    #[test]
    fn npy_and_npz_readers_never_panic(bytes in prop_oneof![mutated_npy(), prop::collection::vec(any::<u8>(), 0..200)]) {
        check(&bytes)?;
    }
}

proptest! {
    #![proptest_config(crate::fuzz_inputs::long())]
    #[test]
    #[ignore = "long fuzz run: PROPTEST_CASES=1000000 cargo test --release -p scalelab-core --test it fuzz_npy -- --ignored"]
    fn fuzz_npy(bytes in prop_oneof![mutated_npy(), prop::collection::vec(any::<u8>(), 0..200),
        mutated_npy().prop_map(|b| npz(&[("a.npy", b)], true))]) {
        check(&bytes)?;
    }
}
