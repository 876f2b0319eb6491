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
