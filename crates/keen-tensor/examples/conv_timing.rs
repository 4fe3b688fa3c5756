//! Times the `conv_fwd_bwd` workload piece by piece: a 3×3 convolution, 64 → 64 channels, on a
//! batch of 32 images of 64×64 (float32, NHWC) with a bias, forward and backward (input,
//! kernel and bias gradients). PyTorch: ~143 ms for the whole step on this machine class.
//!
//! `cargo run --release -p keen-tensor --example conv_timing [reps]`

use keen_tensor::ops::conv::Padding;
use keen_tensor::{DType, Tensor};
use std::time::Instant;

/// The median over `reps` runs of `f`, in milliseconds.
fn time(reps: usize, mut f: impl FnMut() -> Tensor) -> f64 {
    let _ = f(); // warm up (page faults, rayon threads)
    let mut ms: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms[reps / 2]
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
    let dx = time(reps, || gy.conv2d_transpose(&k, [1, 1], same, None));
    let dk = time(reps, || {
        x.conv2d_backprop_kernel(&gy, [3, 3], [1, 1], same, [1, 1])
    });
    let db = time(reps, || gy.sum(&[0, 1, 2], false));
    let total = fwd + bias_add + dx + dk + db;
    println!(
        "conv 3x3 64->64, batch 32 of 64x64, float32, {} threads:",
        rayon::current_num_threads()
    );
    for (what, ms) in [
        ("forward", fwd),
        ("bias add", bias_add),
        ("input grad", dx),
        ("kernel grad", dk),
        ("bias grad", db),
    ] {
        let rate = if what.contains("bias") {
            String::new()
        } else {
            format!("  {:.0} GFLOP/s", gflop / ms * 1e3)
        };
        println!("  {what:12} {ms:8.2} ms{rate}");
    }
    println!("  {:12} {total:8.2} ms  (PyTorch ~143 ms)", "total");
}
