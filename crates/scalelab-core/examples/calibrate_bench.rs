//! The native side of the temperature-scaling benchmark (`cargo xtask bench calibrate`): reads
//! the 50 000 × 1000 logits that `bench/calibrate_peer.py` wrote (`DIR/logits.npy`,
//! `DIR/labels.npy`), times the certified temperature fit and every metric on one thread, checks
//! `T` and the metrics against the peers' `DIR/peer.json`, and prints the BENCHMARKS.md table.
//!
//! `cargo run --release -p scalelab-core --example calibrate_bench -- [DIR]` (`cargo xtask bench
//! calibrate` builds it with `-C target-cpu=native`, as numpy picks its AVX2/AVX-512 loops at
//! run time).

use std::time::Instant;

use scalelab_core::calibrate::binning::{Binning, EdgeConvention};
use scalelab_core::calibrate::metrics::{
    average_calibration_error, calibration_error, classwise_calibration_error, reliability,
    top_label_pass, Norm,
};
use scalelab_core::calibrate::temperature::fit_temperature;
use scalelab_core::calibrate::Scores;
use scalelab_core::io::npy::{read_npy, NpyData};

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (T, f64) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let v = f();
        best = best.min(start.elapsed().as_secs_f64());
        out = Some(v);
    }
    (out.expect("at least one run"), best)
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/bench-calibrate".into());
    let open =
        |name: &str| {
            std::io::BufReader::new(std::fs::File::open(format!("{dir}/{name}")).unwrap_or_else(
                |e| panic!("{dir}/{name}: {e} (run bench/calibrate_peer.py first)"),
            ))
        };
    let start = Instant::now();
    let logits = read_npy("logits", open("logits.npy")).expect("logits.npy");
    let labels = read_npy("labels", open("labels.npy")).expect("labels.npy");
    let read_s = start.elapsed().as_secs_f64();
    let (n, k) = (logits.shape[0], logits.shape[1]);
    let NpyData::Float(z) = logits.data else {
        panic!("logits are floats")
    };
    let NpyData::Int(y) = labels.data else {
        panic!("labels are integers")
    };
    let y: Vec<usize> = y.into_iter().map(|v| v as usize).collect();
    let s = Scores::new(&z, k, &y).expect("valid scores");

    let (fit, fit_s) = best_of(3, || fit_temperature(&s).expect("a temperature"));
    let t = fit.temperature;
    let guo = Binning::EqualWidth {
        bins: 15,
        edges: EdgeConvention::UpperClosed,
    };
    let (metrics, metrics_s) = best_of(3, || {
        let pass = top_label_pass(&s, t);
        let r = reliability(&pass.conf, &pass.correct, &guo).expect("bins");
        serde_json::json!({
            "accuracy": pass.correct.iter().sum::<f64>() / n as f64,
            "nll": pass.nll,
            "brier": pass.brier,
            "ece": calibration_error(&r, Norm::L1),
            "mce": calibration_error(&r, Norm::Max),
            "rmsce": calibration_error(&r, Norm::L2),
            "ace": average_calibration_error(&r),
            "classwise_ece": classwise_calibration_error(&s, t, &guo).expect("bins"),
        })
    });

    let peer: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/peer.json")).expect("peer.json"),
    )
    .expect("peer.json is JSON");
    let t_ref = peer["t_ref"].as_f64().expect("t_ref");
    println!("n = {n}, k = {k}; read {read_s:.2} s; T* = {t:.12} (certificate |∂NLL/∂β| = {:.1e}, {} steps)", fit.gradient, fit.iterations);
    println!(
        "reference T (scipy, xatol 1e-12) = {t_ref:.12}; relative difference {:.1e}",
        (t - t_ref).abs() / t_ref
    );
    // Every metric against numpy at the peer's T (the tight scipy fit).
    if let Some(tight) = peer["peers"].as_array().and_then(|p| {
        p.iter()
            .find(|p| p["name"].as_str().is_some_and(|n| n.contains("1e-12")))
    }) {
        for (name, ours) in metrics.as_object().expect("an object") {
            let theirs = tight["metrics"][name].as_f64().unwrap_or(f64::NAN);
            let ours = ours.as_f64().expect("a number");
            let rel = (ours - theirs).abs() / theirs.abs().max(1e-300);
            println!("  {name:>14}: ours {ours:.9}  numpy {theirs:.9}  rel {rel:.1e}");
        }
    }
    let ours_total = fit_s + metrics_s;
    println!();
    println!("| what | T | rel. error of T | fit s | fit + metrics s | ours faster |");
    println!("|---|---|---|---|---|---|");
    println!("| Scalelab (Newton on 1/T, f64, 1 thread) | {t:.9} | {:.1e} | {fit_s:.3} | {ours_total:.3} | — |", (t - t_ref).abs() / t_ref);
    for p in peer["peers"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or("?");
        let dtype = p["dtype"].as_str().unwrap_or("?");
        let pt = p["t"].as_f64().unwrap_or(f64::NAN);
        let pf = p["fit_s"].as_f64().unwrap_or(f64::NAN);
        let pm = p["fit_and_metrics_s"].as_f64().unwrap_or(pf);
        let early = if p["stopped_early"].as_bool() == Some(true) {
            " (stopped early)"
        } else {
            ""
        };
        println!(
            "| {name}, {dtype}{early} | {pt:.9} | {:.1e} | {pf:.3} | {pm:.3} | {:.1}× |",
            (pt - t_ref).abs() / t_ref,
            pm / ours_total
        );
    }
    let out = serde_json::json!({
        "n": n, "k": k, "read_s": read_s, "t": t, "gradient": fit.gradient,
        "fit_s": fit_s, "metrics_s": metrics_s, "metrics": metrics,
    });
    std::fs::write(
        format!("{dir}/ours.json"),
        serde_json::to_string_pretty(&out).expect("json"),
    )
    .expect("write ours.json");
}
