//! Times the `conv_fwd_bwd` workload piece by piece: a 3×3 convolution, 64 → 64 channels, on a
//! batch of 32 images of 64×64 (float32, NHWC) with a bias, forward and backward (input,
//! kernel and bias gradients). PyTorch: ~143 ms for the whole step on this machine class.
//!
//! `cargo run --release -p keen-tensor --example conv_timing [reps]`

use keen_tensor::ops::conv::Padding;
use keen_tensor::{DType, Tensor};
use std::time::Instant;

/// CPU time of this process (all threads), in milliseconds, from /proc (10 ms ticks).
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().map(|v| v.parse::<f64>().unwrap_or(0.0)).sum()
    });
    ticks * 10.0
}

/// The median wall time over `reps` runs of `f`, and the mean CPU time per run, in ms. On a
/// shared, busy machine the CPU time / threads is the better estimate of a quiet machine's wall
/// time.
fn time(reps: usize, mut f: impl FnMut() -> Tensor) -> (f64, f64) {
    let _ = f(); // warm up (page faults, rayon threads)
    let cpu0 = cpu_ms();
    let mut ms: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let cpu = (cpu_ms() - cpu0) / reps as f64;
    ms.sort_by(f64::total_cmp);
    (ms[reps / 2], cpu)
}

fn main() {
    let reps = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    let same = Padding::Same;
    let wave = |n: usize, f: f32| -> Vec<f32> { (0..n).map(|i| (i as f32 * f).sin()).collect() };
    let x = Tensor::from_vec(wave(32 * 64 * 64 * 64, 0.37), [32, 64, 64, 64]);
    let k = Tensor::from_vec(wave(3 * 3 * 64 * 64, 0.91), [3, 3, 64, 64]).mul(0.05);
    let bias = Tensor::zeros([64], DType::Float32);
    let gy = Tensor::from_vec(wave(32 * 64 * 64 * 64, 0.13), [32, 64, 64, 64]);
    let gflop = 2.0 * (32 * 64 * 64) as f64 * (9 * 64) as f64 * 64.0 / 1e9;

    let fwd = time(reps, || x.conv2d(&k, [1, 1], same, [1, 1]));
    let bias_add = {
        let y = x.conv2d(&k, [1, 1], same, [1, 1]);
        time(reps, || y.add(&bias))
    };
    let dx = time(reps, || gy.conv2d_transpose(&k, [1, 1], same, None, [1, 1]));
    let dk = time(reps, || {
        x.conv2d_backprop_kernel(&gy, [3, 3], [1, 1], same, [1, 1])
    });
    let db = time(reps, || gy.sum(&[0, 1, 2], false));
    // An eighth of the multiply-adds as one plain GEMM, for scale: (4·64·64) × 576 times 576 × 64
    // (times 8 below).
    let (a, b) = (
        Tensor::from_vec(wave(4 * 64 * 64 * 576, 0.3), [4 * 64 * 64, 576]),
        k.reshape([576, 64]),
    );
    let (mm_ms, mm_cpu) = time(reps, || a.matmul(&b));
    let mm = (mm_ms * 8.0, mm_cpu * 8.0);
    let threads = rayon::current_num_threads() as f64;
    let parts = [
        ("forward", fwd),
        ("bias add", bias_add),
        ("input grad", dx),
        ("kernel grad", dk),
        ("bias grad", db),
        ("matmul (x8)", mm),
    ];
    println!("conv 3x3 64->64, batch 32 of 64x64, float32, {threads} threads");
    println!("  {:12} {:>11} {:>11}", "", "wall median", "CPU/threads");
    for (what, (ms, cpu)) in parts {
        let rate = if what.contains("bias") {
            String::new()
        } else {
            format!("  {:.0} GFLOP per CPU-second", gflop / cpu * 1e3)
        };
        println!("  {what:12} {ms:8.2} ms {:8.2} ms{rate}", cpu / threads);
    }
    let total: f64 = parts[..5].iter().map(|p| p.1 .0).sum();
    let cpu: f64 = parts[..5].iter().map(|p| p.1 .1).sum();
    println!(
        "  {:12} {total:8.2} ms {:8.2} ms  (PyTorch ~143 ms)",
        "total",
        cpu / threads
    );
}
