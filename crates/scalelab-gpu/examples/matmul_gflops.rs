//! Native matmul throughput on this machine's Vulkan adapter (lavapipe without a GPU), measured the
//! way the Kernels page and `bench/kernels` measure it in the browser: per-dispatch time
//! `(t(R) − t(1)) / (R − 1)` from `scalelab_gpu::workload::time_gpu`, GFLOP/s = 2n³ / time.
//!
//! `cargo run --release -p scalelab-gpu --example matmul_gflops [-- sizes...]` prints one line per
//! size: `n GFLOP/s seconds end-to-end-seconds`, after the adapter name. `bench/sgemm_numpy.py`
//! measures numpy's sgemm at the same sizes; `cargo xtask bench` runs both.

use scalelab_gpu::workload::{now_ms, time_gpu, KernelOp, Workload};
use scalelab_gpu::GpuContext;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes: Vec<usize> = match std::env::args().skip(1).map(|a| a.parse()).collect() {
        Ok(v) if !Vec::<usize>::is_empty(&v) => v,
        Ok(_) => vec![256, 512, 1024],
        Err(e) => return Err(format!("sizes must be whole numbers: {e}").into()),
    };
    let ctx = pollster::block_on(GpuContext::new())?;
    println!("adapter: {} ({})", ctx.adapter_name(), ctx.backend_name());
    for n in sizes {
        let w = Workload::new(KernelOp::Matmul, n, 1);
        // About 1 s of repeated dispatches at 5 GFLOP/s, at least 4.
        let repeats = ((5e9 / w.flops()) as u32).clamp(4, 64);
        let t = pollster::block_on(time_gpu(&ctx, &w, repeats, &now_ms))?;
        println!(
            "{n} {:.3} {:.6} {:.6}",
            t.gflops(&w),
            t.seconds,
            t.end_to_end_seconds
        );
    }
    Ok(())
}
