//! Every `.wgsl` in `src/kernels` is listed in `KERNELS`, parses and validates with naga, exposes
//! its one-name entry point, and still validates with each override value the launcher may pick.
//! Plain CPU test: no GPU needed.

use std::collections::BTreeSet;
use std::path::PathBuf;

use scalelab_gpu::KERNELS;

fn kernels_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/kernels")
}

fn validator() -> naga::valid::Validator {
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
}

#[test]
fn kernel_list_matches_files_on_disk() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(kernels_dir())
        .expect("src/kernels exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wgsl"))
        .map(|path| {
            path.file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let listed: BTreeSet<String> = KERNELS.iter().map(|k| k.name.to_owned()).collect();
    assert_eq!(
        listed.len(),
        KERNELS.len(),
        "duplicate kernel names in KERNELS"
    );
    assert_eq!(on_disk, listed, "src/kernels/*.wgsl and KERNELS disagree");
    for kernel in KERNELS {
        let dir = kernels_dir();
        let wgsl =
            std::fs::read_to_string(dir.join(format!("{}.wgsl", kernel.name))).expect("wgsl");
        assert_eq!(
            wgsl, kernel.wgsl,
            "{}: embedded source is stale",
            kernel.name
        );
        assert!(
            dir.join(format!("{}.rs", kernel.name)).is_file(),
            "{}: launcher file missing",
            kernel.name
        );
    }
}

#[test]
fn every_kernel_parses_and_validates_with_naga() {
    for kernel in KERNELS {
        let module = naga::front::wgsl::parse_str(kernel.wgsl)
            .unwrap_or_else(|err| panic!("{}: {}", kernel.name, err.emit_to_string(kernel.wgsl)));
        let info = validator()
            .validate(&module)
            .unwrap_or_else(|err| panic!("{}: {}", kernel.name, err.emit_to_string(kernel.wgsl)));

        let entry_points: Vec<&str> = module
            .entry_points
            .iter()
            .map(|ep| ep.name.as_str())
            .collect();
        assert_eq!(
            entry_points,
            [kernel.name],
            "{}: one entry point, named after the kernel",
            kernel.name
        );
        assert_eq!(module.entry_points[0].stage, naga::ShaderStage::Compute);

        let overrides: BTreeSet<&str> = module
            .overrides
            .iter()
            .filter_map(|(_, o)| o.name.as_deref())
            .collect();
        let set: BTreeSet<&str> = kernel.overrides.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            overrides, set,
            "{}: overrides in WGSL vs KernelSource::overrides",
            kernel.name
        );

        for (name, values) in kernel.overrides {
            for &value in *values {
                let constants =
                    naga::back::PipelineConstants::from_iter([((*name).to_owned(), value)]);
                let (resolved, _) = naga::back::pipeline_constants::process_overrides(
                    &module,
                    &info,
                    Some((naga::ShaderStage::Compute, kernel.name)),
                    &constants,
                )
                .unwrap_or_else(|err| panic!("{}: {name} = {value}: {err}", kernel.name));
                validator()
                    .validate(&resolved)
                    .unwrap_or_else(|err| panic!("{}: {name} = {value}: {err}", kernel.name));
                // `workgroup_size` is the 1-D workgroup itself; `tile` (matmul) is the side of
                // a square tile run by tile² invocations.
                let expected = match *name {
                    "workgroup_size" => Some(value as u32),
                    "tile" => Some((value as u32).pow(2)),
                    _ => None,
                };
                if let Some(expected) = expected {
                    assert_eq!(
                        resolved.entry_points[0].workgroup_size,
                        [expected, 1, 1],
                        "{}: {name} drives @workgroup_size",
                        kernel.name
                    );
                }
            }
        }
    }
}

/// Browsers' WGSL compiler (Tint) rejects a decimal literal outside the f32 range, e.g.
/// `-3.4028235e38` (a hair above f32::MAX, which naga accepts and rounds): found by the
/// headless-Chromium kernel suite. Extremes must be written in hex (`-0x1.fffffep+127f`).
#[test]
fn decimal_float_literals_fit_in_f32() {
    for kernel in scalelab_gpu::KERNELS {
        let src = kernel.wgsl;
        let bytes = src.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let starts_number = bytes[i].is_ascii_digit()
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
            if !starts_number || src[i..].starts_with("0x") {
                i += 1;
                continue;
            }
            let end = src[i..]
                .find(|c: char| {
                    !(c.is_ascii_digit()
                        || c == '.'
                        || c == 'e'
                        || c == 'E'
                        || c == '-'
                        || c == '+')
                })
                .map_or(src.len(), |len| i + len);
            let token = &src[i..end];
            if let Ok(value) = token.trim_end_matches(['-', '+']).parse::<f64>() {
                assert!(
                    value <= f64::from(f32::MAX),
                    "{}: literal {token} exceeds f32::MAX; Tint rejects it (write it in hex)",
                    kernel.name
                );
            }
            i = end.max(i + 1);
        }
    }
}
