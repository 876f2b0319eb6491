//! Invalid input → `InvalidInput`; inputs beyond the device limits → `TooLarge`, checked before
//! any GPU work (the planner is tested with fake limits, so no huge buffers are needed).

use scalelab_gpu::{plan_row_dispatch, row_count, GpuError, KernelLimits};

use crate::gpu::context;

fn limits() -> KernelLimits {
    KernelLimits::webgpu_defaults()
}

#[test]
fn zero_cols_is_invalid() {
    for data in [&[][..], &[1.0, 2.0][..]] {
        match row_count(data, 0) {
            Err(GpuError::InvalidInput { what: "cols", .. }) => {}
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn ragged_rows_are_invalid() {
    let err = row_count(&[1.0; 7], 3).unwrap_err();
    assert!(
        matches!(err, GpuError::InvalidInput { what: "data", .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("not a multiple of cols = 3"),
        "{err}"
    );
}

#[test]
fn non_finite_values_are_invalid() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let err = row_count(&[0.0, 1.0, 2.0, bad], 2).unwrap_err();
        assert!(
            matches!(err, GpuError::InvalidInput { what: "data", .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("element 3 (row 1, column 1)"),
            "{err}"
        );
    }
}

#[test]
fn shapes_count_rows() {
    assert_eq!(row_count(&[], 5).unwrap(), 0);
    assert_eq!(row_count(&[0.0; 12], 4).unwrap(), 3);
}

#[test]
fn launchers_reject_invalid_input() {
    let Some(ctx) = context("launchers_reject_invalid_input") else {
        return;
    };
    for (data, cols) in [
        (&[1.0f32, 2.0, 3.0][..], 0),
        (&[1.0, 2.0, 3.0][..], 2),
        (&[1.0, f32::NAN][..], 2),
    ] {
        for result in [
            pollster::block_on(scalelab_gpu::softmax_rows(ctx, data, cols)),
            pollster::block_on(scalelab_gpu::stablemax_rows(ctx, data, cols)),
        ] {
            let err = result.unwrap_err();
            assert_eq!(err.code(), "InvalidInput", "{err}");
        }
    }
}

#[test]
fn too_many_bytes_is_too_large() {
    let small = KernelLimits {
        max_storage_buffer_binding_size: 1024,
        ..limits()
    };
    assert!(plan_row_dispatch(&small, 16, 16).is_ok()); // exactly 1024 bytes
    match plan_row_dispatch(&small, 16, 17) {
        Err(GpuError::TooLarge {
            what: "data bytes",
            requested: 1088,
            limit: 1024,
        }) => {}
        other => panic!("{other:?}"),
    }
    let small_buffer = KernelLimits {
        max_buffer_size: 512,
        ..limits()
    };
    assert!(matches!(
        plan_row_dispatch(&small_buffer, 16, 16),
        Err(GpuError::TooLarge { limit: 512, .. })
    ));
}

#[test]
fn too_many_elements_is_too_large() {
    let huge = KernelLimits {
        max_storage_buffer_binding_size: u64::MAX,
        max_buffer_size: u64::MAX,
        ..limits()
    };
    match plan_row_dispatch(&huge, 1 << 16, 1 << 16) {
        Err(GpuError::TooLarge {
            what: "elements", ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn too_many_rows_is_too_large_and_rows_fold_into_2d() {
    let few_groups = KernelLimits {
        max_compute_workgroups_per_dimension: 4,
        ..limits()
    };
    let plan = plan_row_dispatch(&few_groups, 16, 3).unwrap();
    assert_eq!((plan.workgroups_x, plan.workgroups_y), (4, 4));
    let plan = plan_row_dispatch(&few_groups, 5, 3).unwrap();
    assert_eq!((plan.workgroups_x, plan.workgroups_y), (4, 2));
    match plan_row_dispatch(&few_groups, 17, 3) {
        Err(GpuError::TooLarge {
            what: "rows",
            requested: 17,
            limit: 16,
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn workgroup_size_follows_cols_and_limits() {
    assert_eq!(
        plan_row_dispatch(&limits(), 3, 64).unwrap().workgroup_size,
        64
    );
    assert_eq!(
        plan_row_dispatch(&limits(), 3, 65).unwrap().workgroup_size,
        256
    );
    let narrow = KernelLimits {
        max_compute_invocations_per_workgroup: 128,
        ..limits()
    };
    assert_eq!(
        plan_row_dispatch(&narrow, 3, 1000).unwrap().workgroup_size,
        128
    );
    let plan = plan_row_dispatch(&limits(), 3, 1000).unwrap();
    assert_eq!(
        (plan.params.rows, plan.params.cols, plan.bytes),
        (3, 1000, 12_000)
    );
}

#[test]
fn error_messages_say_what_to_do() {
    let err = plan_row_dispatch(
        &KernelLimits {
            max_storage_buffer_binding_size: 4,
            ..limits()
        },
        1,
        2,
    )
    .unwrap_err();
    assert_eq!(err.code(), "TooLarge");
    assert!(err.to_string().contains("split the input"), "{err}");
}
