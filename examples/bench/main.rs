//! keen's side of the PyTorch comparison (`../shared/bench/`): the same workloads, sizes, units and
//! timing method as `torch_workloads.py`, one JSON object per line.
//!
//! ```text
//! cargo build --release -p keen --example bench
//! target/release/examples/bench matmul_512 add_tiny      # or `all`, or `list`
//! python3 ../shared/bench/compare.py --rounds 3 matmul_512 add_tiny
//! ```
//!
//! A workload that keen cannot run yet exits non-zero saying so: never a made-up figure.
//!
//! `BENCH_THREADS=n` sizes the thread pool (as torch_workloads.py). On a shared, overloaded
//! machine, `BENCH_CLOCK=thread` times single-threaded workloads (add_tiny, add_tiny_tape) by this
//! thread's CPU time instead of the wall clock, which other processes do not advance; do not use
//! it for workloads that run on the pool, whose work then happens on other threads.

use keen::prelude::*;
use keen_tape::GradientTape;
use std::hint::black_box;
use std::time::Instant;

/// A workload: its name and its runner, `None` while keen does not implement it yet.
type Workload = (&'static str, Option<fn()>);

/// Every workload of `torch_workloads.py`, in its order; `None` marks one not implemented yet.
const WORKLOADS: &[Workload] = &[
    ("matmul_256", Some(|| matmul(256))),
    ("matmul_512", Some(|| matmul(512))),
    ("matmul_1024", Some(|| matmul(1024))),
    ("matmul_2048", Some(|| matmul(2048))),
    ("add_tiny", Some(add_tiny)),
    ("add_tiny_tape", Some(add_tiny_tape)),
    ("add_1m", Some(add_1m)),
    ("conv_fwd_bwd", Some(conv_fwd_bwd)),
    ("mlp_step", Some(mlp_step)),
    ("dcgan_step", Some(dcgan_step)),
    ("seq2seq_step", Some(seq2seq_step)),
    ("caption_step", None),
    ("dot_step", Some(dot_step)),
    ("pix2pix_step", None),
    ("style_step", None),
];

/// keen-only workloads (no torch twin): how much `fit` adds to the custom loop's step,
/// and the DCGAN step's convolutions one by one.
const EXTRAS: &[Workload] = &[
    ("mlp_fit_step", Some(mlp_fit_step)),
    ("dcgan_convs", Some(dcgan_convs)),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        eprintln!("usage: bench WORKLOAD... | all | list");
        std::process::exit(2);
    }
    if let Ok(t) = std::env::var("BENCH_THREADS") {
        let t: usize = t.parse().expect("BENCH_THREADS must be a number");
        // As torch.set_num_threads: this thread is one of the t and works on every op.
        keen_tensor::threads::set_num_threads(t).expect("thread pool sized before any tensor");
    }
    let names: Vec<&str> = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["list"] => {
            for (name, _) in WORKLOADS {
                println!("{name}");
            }
            return;
        }
        ["all"] => WORKLOADS
            .iter()
            .filter(|(_, f)| f.is_some())
            .map(|(n, _)| *n)
            .collect(),
        ref names => names.to_vec(),
    };
    for name in names {
        match WORKLOADS.iter().chain(EXTRAS).find(|(n, _)| *n == name) {
            Some((_, Some(run))) => run(),
            Some((_, None)) => {
                eprintln!("bench: workload {name} is not implemented in keen yet");
                std::process::exit(1);
            }
            None => {
                eprintln!("bench: unknown workload {name} (try `bench list`)");
                std::process::exit(2);
            }
        }
    }
}

// --- measurement, as torch_workloads.py ---------------------------------------------------------

/// Number of timed samples (`SAMPLES`, default 7, as in torch_workloads.py).
fn samples() -> usize {
    std::env::var("SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7)
}

/// Median, min and max seconds per call after a warm-up of `warm_s`; each sample runs ≥ `sample_s`.
fn timeit(mut f: impl FnMut(), warm_s: f64, sample_s: f64) -> (f64, f64, f64) {
    let clock: fn() -> f64 = if std::env::var("BENCH_CLOCK").as_deref() == Ok("thread") {
        thread_cpu_s
    } else {
        wall_s
    };
    let t0 = clock();
    let mut n = 0u32;
    while clock() - t0 < warm_s || n < 2 {
        f();
        n += 1;
    }
    let per_call = (clock() - t0) / n as f64;
    let iters = ((sample_s / per_call).ceil() as u64).max(1);
    let mut out: Vec<f64> = (0..samples())
        .map(|_| {
            let t = clock();
            for _ in 0..iters {
                f();
            }
            (clock() - t) / iters as f64
        })
        .collect();
    out.sort_by(f64::total_cmp);
    (out[out.len() / 2], out[0], out[out.len() - 1])
}

/// Seconds on a monotonic wall clock since the first call.
fn wall_s() -> f64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// This thread's CPU time in seconds (Linux `/proc/thread-self/schedstat`).
fn thread_cpu_s() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("BENCH_CLOCK=thread needs Linux /proc/thread-self/schedstat");
    let ns: f64 = s
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("schedstat");
    ns * 1e-9
}

/// Prints one JSON record; `(median, min, max)` already in `unit`.
fn emit(workload: &str, unit: &str, better: &str, (med, lo, hi): (f64, f64, f64)) {
    println!(
        "{{\"workload\": \"{workload}\", \"unit\": \"{unit}\", \"better\": \"{better}\", \
         \"median\": {med:.6}, \"min\": {lo:.6}, \"max\": {hi:.6}, \"threads\": {}, \
         \"system\": \"keen {}\"}}",
        rayon::current_num_threads(),
        env!("CARGO_PKG_VERSION"),
    );
}

/// Times `f` and reports milliseconds per call.
fn ms(workload: &str, f: impl FnMut(), warm_s: f64, sample_s: f64) {
    let (med, lo, hi) = timeit(f, warm_s, sample_s);
    emit(workload, "ms", "lower", (med * 1e3, lo * 1e3, hi * 1e3));
}

/// Standard-normal float32 values from a fixed seed (Box–Muller over a 64-bit LCG), so the
/// bench needs no random-number API.
fn randn(dims: &[usize], seed: u64) -> Tensor {
    let n: usize = dims.iter().product();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let data: Vec<f32> = (0..n)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect();
    Tensor::from_vec(data, dims)
}

// --- kernels --------------------------------------------------------------------------------------

/// `n×n` float32 matmul (torch writes into a preallocated output; keen allocates its result).
fn matmul(n: usize) {
    let (a, b) = (randn(&[n, n], 1), randn(&[n, n], 2));
    let (med, lo, hi) = timeit(|| drop(black_box(a.matmul(&b))), 0.3, 0.1);
    let gflop = 2.0 * (n as f64).powi(3) / 1e9;
    emit(
        &format!("matmul_{n}"),
        "GFLOP/s",
        "higher",
        (gflop / med, gflop / hi, gflop / lo),
    );
}

/// Cost of one eager add of two 32-element tensors (a loop of 10k adds, per add).
fn add_tiny() {
    let a = Tensor::ones([32], DType::Float32);
    let b = Tensor::ones([32], DType::Float32);
    const N: usize = 10_000;
    let (med, lo, hi) = timeit(
        || {
            for _ in 0..N {
                black_box(black_box(&a).add(black_box(&b)));
            }
        },
        0.3,
        0.05,
    );
    let us = 1e6 / N as f64;
    emit("add_tiny", "us", "lower", (med * us, lo * us, hi * us));
}

/// The same add with both operands watched by a gradient tape (torch: `requires_grad=True`).
/// One tape records each loop of 10k adds and is dropped with its record, as torch frees each
/// graph node when its result dies.
fn add_tiny_tape() {
    let a = Tensor::ones([32], DType::Float32);
    let b = Tensor::ones([32], DType::Float32);
    const N: usize = 10_000;
    let (med, lo, hi) = timeit(
        || {
            let tape = GradientTape::new();
            tape.watch(&a);
            tape.watch(&b);
            for _ in 0..N {
                black_box(black_box(&a).add(black_box(&b)));
            }
        },
        0.3,
        0.05,
    );
    let us = 1e6 / N as f64;
    emit("add_tiny_tape", "us", "lower", (med * us, lo * us, hi * us));
}

/// Add of two 2^20-element float32 tensors.
fn add_1m() {
    let (a, b) = (randn(&[1 << 20], 1), randn(&[1 << 20], 2));
    ms("add_1m", || drop(black_box(a.add(&b))), 0.3, 0.1);
}

// --- training steps -------------------------------------------------------------------------------

/// Conv 3×3, 64→64 channels, batch 32 of 64×64 (NHWC here, NCHW in torch: the same work),
/// forward and backward for the input, kernel and bias gradients.
fn conv_fwd_bwd() {
    let x = randn(&[32, 64, 64, 64], 1);
    let k = randn(&[3, 3, 64, 64], 2).mul(0.05);
    let b = randn(&[64], 3);
    let cotangent = randn(&[32, 64, 64, 64], 4);
    ms(
        "conv_fwd_bwd",
        || {
            let tape = GradientTape::new();
            tape.watch(&x);
            tape.watch(&k);
            tape.watch(&b);
            let same = keen::tensor::ops::conv::Padding::Same;
            let y = x.conv2d_with_bias(&k, &b, [1, 1], same, [1, 1]);
            let g = tape.gradient_with(&y, &[x.clone(), k.clone(), b.clone()], &cotangent);
            black_box(g);
        },
        1.0,
        0.3,
    );
}

/// 784-256-256-10 ReLU MLP, batch 128, softmax cross-entropy, Adam: one full step through
/// the custom loop (tape, gradient, apply_gradients).
fn mlp_step() {
    use keen::losses::{Loss, SparseCategoricalCrossentropy};
    let model = Sequential::new()
        .add(Dense::new(256).activation(Activation::Relu))
        .add(Dense::new(256).activation(Activation::Relu))
        .add(Dense::new(10));
    let x = randn(&[128, 784], 1);
    let y = Tensor::from_vec((0..128).map(|i| (i * 7 % 10) as i64).collect(), [128]);
    let loss = SparseCategoricalCrossentropy::new().from_logits(true);
    let mut opt = Adam::new(1e-3);
    model.call(&x, true);
    let vars = model.trainable_variables();
    ms(
        "mlp_step",
        || {
            let tape = GradientTape::new();
            let l = loss.call(&y, &model.call(&x, true));
            let g = tape.gradient(&l, &vars);
            opt.apply_gradients(&g, &vars);
        },
        1.0,
        0.1,
    );
}

/// The R post's DCGAN (keen-zoo's, as examples/dcgan trains it): generator forward, the
/// discriminator on real and fake, both gradients from two live tapes, two Adam updates.
fn dcgan_step() {
    let mut gan = keen::zoo::dcgan::Dcgan::new();
    let real = Tensor::random_uniform([256, 28, 28, 1], -1.0, 1.0, DType::Float32);
    black_box(gan.train_step(&real));
    ms(
        "dcgan_step",
        || {
            black_box(gan.train_step(&real));
        },
        2.0,
        0.5,
    );
}

/// mlp_step's model, loss and Adam trained by `compile`/`fit` (silent, no shuffle) over 16
/// batches of 128 per call: milliseconds per step, to set beside mlp_step (the custom loop).
fn mlp_fit_step() {
    use keen::fit::{FitOptions, Verbosity};
    use keen::losses::SparseCategoricalCrossentropy;
    const STEPS: usize = 16;
    let model = Sequential::new()
        .add(Dense::new(256).activation(Activation::Relu))
        .add(Dense::new(256).activation(Activation::Relu))
        .add(Dense::new(10));
    let mut fitted = model.compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::new().from_logits(true),
    );
    let x = randn(&[128 * STEPS, 784], 1);
    let y = Tensor::from_vec(
        (0..128 * STEPS).map(|i| (i * 7 % 10) as i64).collect(),
        [128 * STEPS],
    );
    let options = || {
        FitOptions::new()
            .epochs(1)
            .batch_size(128)
            .shuffle(false)
            .verbose(Verbosity::Silent)
    };
    fitted.fit(&x, &y, options());
    let (med, lo, hi) = timeit(
        || {
            black_box(fitted.fit(&x, &y, options()));
        },
        1.0,
        0.2,
    );
    let per_step = 1e3 / STEPS as f64;
    emit(
        "mlp_fit_step",
        "ms",
        "lower",
        (med * per_step, lo * per_step, hi * per_step),
    );
}

/// The three products (forward, input gradient, kernel gradient) of each convolution in
/// dcgan_step at batch 256, in GFLOP/s: where its time goes. The generator's transposed
/// convolutions are the input gradients of the convolutions listed for them.
fn dcgan_convs() {
    use keen::tensor::ops::conv::Padding;
    // (name, input (h, c_in), output (oh, c_out), stride) of a 5×5 "same" convolution.
    let convs = [
        ("g_deconv1", (7, 64), (7, 64), 1),
        ("g_deconv2", (14, 32), (7, 64), 2),
        ("g_deconv3", (28, 1), (14, 32), 2),
        ("d_conv1", (28, 1), (14, 64), 2),
        ("d_conv2", (14, 64), (7, 128), 2),
    ];
    for (name, (h, ci), (oh, co), s) in convs {
        let x = randn(&[256, h, h, ci], 1);
        let k = randn(&[5, 5, ci, co], 2).mul(0.05);
        let gy = randn(&[256, oh, oh, co], 3);
        let flops = 2.0 * (256 * oh * oh * 25 * ci * co) as f64;
        let same = Padding::Same;
        let report = |what: &str, f: &mut dyn FnMut()| {
            let (med, lo, hi) = timeit(f, 0.3, 0.1);
            let gflops = |t: f64| flops / t / 1e9;
            emit(
                &format!("{name}_{what}"),
                "GFLOP/s",
                "higher",
                (gflops(med), gflops(hi), gflops(lo)),
            );
        };
        report("fwd", &mut || {
            black_box(x.conv2d(&k, [s, s], same, [1, 1]));
        });
        report("input", &mut || {
            black_box(gy.conv2d_transpose(&k, [s, s], same, None, [1, 1]));
        });
        report("kernel", &mut || {
            black_box(x.conv2d_backprop_kernel(&gy, [5, 5], [s, s], same, [1, 1]));
        });
    }
}

/// simple_dot: two 64-dim embeddings (943 users, 1682 movies), batch dot product, MSE, Adam.
fn dot_step() {
    use keen::losses::{Loss, MeanSquaredError};
    let users = Embedding::new(943, 64);
    let movies = Embedding::new(1682, 64);
    let u = Tensor::from_vec((0..32).map(|i| (i * 97 % 943) as i64).collect(), [32]);
    let m = Tensor::from_vec((0..32).map(|i| (i * 389 % 1682) as i64).collect(), [32]);
    let r = Tensor::from_vec((0..32).map(|i| (1 + i % 5) as f32).collect(), [32]);
    let mse = MeanSquaredError::new();
    let mut opt = Adam::new(1e-3);
    users.call(&u);
    movies.call(&m);
    let vars = [users.trainable_variables(), movies.trainable_variables()].concat();
    let (med, lo, hi) = timeit(
        || {
            let tape = GradientTape::new();
            let pred = users.call(&u).mul(&movies.call(&m)).sum(&[-1], false);
            let l = mse.call(&r, &pred);
            let g = tape.gradient(&l, &vars);
            opt.apply_gradients(&g, &vars);
        },
        0.5,
        0.2,
    );
    emit("dot_step", "us", "lower", (med * 1e6, lo * 1e6, hi * 1e6));
}

/// The R NMT post's training step (keen-zoo's `nmt`): Embedding 64 + GRU 256 encoder, Bahdanau
/// attention 256, a GRU 256 decoder stepping 15 times under teacher forcing, Dense to 5000
/// words, the masked cross-entropy, Adam; batch 32, T = 16. As torch_workloads.py: token ids
/// in 3..5000, lengths 8..=16 padded with 0, `<start>` = 1 first, padding not masked in the
/// encoder or attention (torch does not mask it), the decoder state carried between steps.
/// One difference in the work, not the result: keen-zoo's decoder projects the encoder outputs
/// (`W1(enc_output)`) once per batch, where torch_workloads.py projects them again at each of
/// the 15 steps; the values and gradients are the same.
fn seq2seq_step() {
    use keen::zoo::nmt::{Nmt, NmtConfig};
    const VOCAB: usize = 5000;
    let tokens = |seed: u64| {
        let (b, t) = (32usize, 16usize);
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move |n: u64| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 33) % n
        };
        let mut ids = vec![0i64; b * t];
        for r in 0..b {
            let len = t / 2 + next((t / 2 + 1) as u64) as usize;
            for c in 0..len {
                ids[r * t + c] = if c == 0 {
                    1
                } else {
                    3 + next(VOCAB as u64 - 3) as i64
                };
            }
        }
        Tensor::from_vec(ids, [b, t])
    };
    let (src, tgt) = (tokens(1), tokens(2));
    let mut config = NmtConfig::new(VOCAB, VOCAB);
    config.mask_padding = false;
    let mut model = Nmt::new(config);
    ms(
        "seq2seq_step",
        || {
            black_box(model.train_step(&src, &tgt));
        },
        2.0,
        0.5,
    );
}
