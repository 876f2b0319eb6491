//! One GPU context shared by every test in this binary.

use std::io::Write as _;
use std::sync::OnceLock;

use scalelab_gpu::{GpuContext, GpuError};

static CONTEXT: OnceLock<Result<GpuContext, GpuError>> = OnceLock::new();

/// The shared context, or `None` (after printing a visible SKIPPED line) when there is no adapter.
///
/// Panics when `SCALELAB_REQUIRE_GPU=1` and there is no adapter, and on any other context error.
pub fn context(test: &str) -> Option<&'static GpuContext> {
    match CONTEXT.get_or_init(|| pollster::block_on(GpuContext::new())) {
        Ok(ctx) => Some(ctx),
        Err(GpuError::NoAdapter { reason }) => {
            assert!(
                std::env::var("SCALELAB_REQUIRE_GPU").as_deref() != Ok("1"),
                "SCALELAB_REQUIRE_GPU=1 but there is no GPU adapter: {reason}"
            );
            // Written to the real stderr, past libtest's output capture, so it is always visible.
            let _ = writeln!(
                std::io::stderr(),
                "{test}: SKIPPED (no GPU adapter): {reason}"
            );
            None
        }
        Err(err) => panic!("creating the GPU context failed: {err}"),
    }
}

#[test]
fn context_describes_its_adapter() {
    let Some(ctx) = context("context_describes_its_adapter") else {
        return;
    };
    let _ = writeln!(
        std::io::stderr(),
        "GPU adapter: {} | backend {} | {} | {:?}",
        ctx.adapter_name(),
        ctx.backend_name(),
        ctx.device_type(),
        ctx.limits()
    );
    assert!(!ctx.adapter_name().is_empty());
    assert_eq!(ctx.backend_name(), "Vulkan");
    assert!(ctx.lost_reason().is_none());
    let limits = ctx.limits();
    assert!(limits.max_storage_buffer_binding_size >= 128 << 20);
    assert!(limits.max_compute_workgroups_per_dimension >= 65_535);
}

#[test]
fn probe_passes() {
    let Some(ctx) = context("probe_passes") else {
        return;
    };
    let report = pollster::block_on(scalelab_gpu::probe(ctx)).expect("probe runs");
    let _ = writeln!(std::io::stderr(), "probe: {report:?}");
    assert!(report.passed, "{report:?}");
    assert!(report.softmax_max_abs_err <= scalelab_gpu::PROBE_TOLERANCE);
    assert!(report.stablemax_max_abs_err <= scalelab_gpu::PROBE_TOLERANCE);
}

/// Natively the context can live in a `static` and the launch futures can move between threads.
#[test]
fn context_and_launch_futures_are_send_natively() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>(_: &T) {}
    assert_send_sync::<GpuContext>();
    assert_send_sync::<GpuError>();
    if let Some(ctx) = context("context_and_launch_futures_are_send_natively") {
        let data = [0.0f32; 4];
        let softmax = scalelab_gpu::softmax_rows(ctx, &data, 2);
        assert_send(&softmax);
        let stablemax = scalelab_gpu::stablemax_rows(ctx, &data, 2);
        assert_send(&stablemax);
        let probe = scalelab_gpu::probe(ctx);
        assert_send(&probe);
        assert_eq!(pollster::block_on(softmax).unwrap(), [0.5; 4]);
        assert_eq!(pollster::block_on(stablemax).unwrap(), [0.5; 4]);
        assert!(pollster::block_on(probe).unwrap().passed);
    }
}

/// A destroyed device (what a driver reset looks like) turns every later launch into the typed
/// `DeviceLost` error, never a panic or a hang. Uses its own context: the shared one must live on.
#[test]
fn destroyed_device_gives_device_lost() {
    if context("destroyed_device_gives_device_lost").is_none() {
        return;
    }
    let ctx = pollster::block_on(GpuContext::new()).expect("second context");
    assert_eq!(
        pollster::block_on(scalelab_gpu::softmax_rows(&ctx, &[0.0, 0.0], 2)).unwrap(),
        [0.5, 0.5]
    );
    ctx.destroy();
    for _ in 0..2 {
        match pollster::block_on(scalelab_gpu::softmax_rows(&ctx, &[0.0, 0.0], 2)) {
            Err(GpuError::DeviceLost { reason }) => assert!(!reason.is_empty()),
            other => panic!("expected DeviceLost, got {other:?}"),
        }
    }
    assert!(ctx.lost_reason().is_some());
}

/// Repeated dispatches (the timing aid) leave results unchanged: softmax([0, ln 3]) = [1/4, 3/4].
#[test]
fn repeated_dispatches_give_the_same_result() {
    if context("repeated_dispatches_give_the_same_result").is_none() {
        return;
    }
    let ctx = pollster::block_on(GpuContext::new()).expect("second context");
    ctx.set_dispatch_repeats(0);
    assert_eq!(ctx.dispatch_repeats(), 1);
    ctx.set_dispatch_repeats(5);
    assert_eq!(ctx.dispatch_repeats(), 5);
    let x = [0.0, 3.0f32.ln()];
    let p = pollster::block_on(scalelab_gpu::softmax_rows(&ctx, &x, 2)).unwrap();
    assert!(
        (p[0] - 0.25).abs() < 1e-6 && (p[1] - 0.75).abs() < 1e-6,
        "{p:?}"
    );
    let c = pollster::block_on(scalelab_gpu::matmul(
        &ctx,
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        &[1.0, 0.0, 0.0, 1.0, 1.0, -1.0],
        2,
        3,
        2,
        scalelab_gpu::MatmulOptions::default(),
    ))
    .unwrap();
    assert_eq!(c, [4.0, -1.0, 10.0, -1.0]);
}
