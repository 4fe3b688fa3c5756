//! Times recurrent layers at the seed NMT post's sizes (batch 32, 16 steps, 64 features,
//! 256 units): forward alone, and forward + backward under a tape. One JSON line per case.
//!
//! `cargo run --release -p keen-nn --example rnn_bench [gru|lstm|gru_step|lstm_step]...`

use keen_nn::prelude::*;
use keen_tape::GradientTape;
use keen_tensor::{DType, Tensor};
use std::time::Instant;

/// The median over samples of at least 0.2 s each, in milliseconds per call.
fn time_ms(mut f: impl FnMut()) -> f64 {
    let warm = Instant::now();
    while warm.elapsed().as_secs_f64() < 0.5 {
        f();
    }
    let mut samples = Vec::new();
    for _ in 0..7 {
        let (t0, mut n) = (Instant::now(), 0u32);
        while t0.elapsed().as_secs_f64() < 0.2 {
            f();
            n += 1;
        }
        samples.push(t0.elapsed().as_secs_f64() * 1e3 / n as f64);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn report(name: &str, ms: f64) {
    println!("{{\"workload\": \"{name}\", \"unit\": \"ms\", \"median\": {ms:.4}}}");
}

fn bench_layer<C: RecurrentCell>(name: &str, layer: Rnn<C>) {
    let (b, t, d) = (32, 16, 64);
    let x = Tensor::random_normal([b, t, d], 0.0, 1.0, DType::Float32);
    let _ = layer.call(&x);
    let vars = layer.trainable_variables();
    report(
        &format!("{name}_fwd"),
        time_ms(|| {
            let _ = layer.call(&x);
        }),
    );
    report(
        &format!("{name}_fwd_bwd"),
        time_ms(|| {
            let tape = GradientTape::new();
            let y = layer.call(&x).sum_all();
            let _ = tape.gradient(&y, &vars);
        }),
    );
}

fn bench_step<C: RecurrentCell>(
    name: &str,
    cell: C,
    step: impl Fn(&C, &Tensor, &[Tensor]) -> Tensor,
) {
    let (b, d) = (32, 320);
    let x = Tensor::random_normal([b, d], 0.0, 1.0, DType::Float32);
    let states: Vec<Tensor> = (0..cell.state_count())
        .map(|_| Tensor::random_normal([b, cell.units()], 0.0, 1.0, DType::Float32))
        .collect();
    let _ = step(&cell, &x, &states);
    let vars = cell.trainable_variables();
    report(
        &format!("{name}_fwd"),
        time_ms(|| {
            let _ = step(&cell, &x, &states);
        }),
    );
    report(
        &format!("{name}_fwd_bwd"),
        time_ms(|| {
            let tape = GradientTape::new();
            let y = step(&cell, &x, &states).sum_all();
            let _ = tape.gradient(&y, &vars);
        }),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = args.is_empty();
    let want = |n: &str| all || args.iter().any(|a| a == n);
    if want("gru") {
        bench_layer("gru", Gru::new(256));
    }
    if want("lstm") {
        bench_layer("lstm", Lstm::new(256));
    }
    if want("gru_step") {
        bench_step("gru_step", GruCell::new(256), |c, x, s| c.step(x, s).0);
    }
    if want("lstm_step") {
        bench_step("lstm_step", LstmCell::new(256), |c, x, s| c.step(x, s).0);
    }
}
