//! DCGAN generating MNIST digits (keen-zoo's `dcgan`), the eager way: two models, two tapes,
//! two Adam optimizers. See `examples/dcgan/README.md`.
//!
//! ```text
//! cargo run --release -p keen --example dcgan                 # the default run (~15 min, 2 cores)
//! cargo run --release -p keen --example dcgan -- --epochs 30  # more epochs, resuming from out/dcgan
//! cargo run --release -p keen --example dcgan -- --quick      # a few steps on a small subset
//! ```
//!
//! Writes to `--out` (default `out/dcgan`): `epoch-NNN.png` (a 5×5 grid from a fixed noise after
//! each epoch), `losses.csv` (both losses per step), `losses.png` (their curves) and
//! `checkpoints/ckpt-<epoch>.keen` (the whole training state; a rerun resumes from the latest).
//!
//! At the end it scores 1000 generated digits with keen-zoo's MNIST classifier (the weights of
//! `examples/mnist_classifier`, trained here first if they are absent; `--no-score` skips this).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use keen::prelude::*;
use keen::zoo::args::Parser;
use keen::zoo::dcgan::{Dcgan, BATCH_SIZE, IMAGE_SIZE, LEARNING_RATE, NOISE_DIM};
use keen::zoo::mnist_classifier::{self, DigitScore, MnistClassifier};
use keen_data::datasets::{self, mnist, Split};
use keen_data::Dataset;
use keen_tape::checkpoint::{latest_checkpoint, load_state, save_checkpoint};
use keen_tensor::ops::random::set_seed;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Epochs of the default run: sized so that the run, with the classifier it trains for the
/// score when none is saved, finishes within ~15 minutes on 2 idle cores (README).
const DEFAULT_EPOCHS: usize = 7;
/// Training images of the default run (all of MNIST's 60,000).
const DEFAULT_IMAGES: usize = 60_000;

struct Args {
    epochs: usize,
    images: usize,
    seed: u64,
    quick: bool,
    timing: bool,
    out: PathBuf,
    score: bool,
    classifier: PathBuf,
    learning_rate: f64,
    beta_1: f64,
    score_raw: Option<PathBuf>,
}

fn parse_args() -> Args {
    let parser = Parser::new("dcgan")
        .value(
            "--epochs",
            "N",
            format!("train until N epochs are done, resuming from DIR (default {DEFAULT_EPOCHS})"),
        )
        .value(
            "--images",
            "N",
            format!("train on the first N MNIST images (default {DEFAULT_IMAGES})"),
        )
        .value(
            "--seed",
            "S",
            "seed of the weights, noise, shuffling and dropout (default 7777, the post's)",
        )
        .switch(
            "--quick",
            "3 steps per epoch on 512 images, 1 epoch unless --epochs, into out/dcgan-quick",
        )
        .value("--out", "DIR", "output folder (default out/dcgan)")
        .switch(
            "--no-score",
            "skip the digit score at the end (1000 samples judged by the MNIST classifier)",
        )
        .value(
            "--classifier",
            "FILE",
            format!(
                "the classifier's weights (default {}; trained first if absent)",
                mnist_classifier::DEFAULT_WEIGHTS
            ),
        )
        .value(
            "--learning-rate",
            "LR",
            format!("both Adams' learning rate (default {LEARNING_RATE}, the post's)"),
        )
        .value(
            "--beta1",
            "B",
            "both Adams' beta_1 (default 0.9, the post's; the DCGAN paper's 0.5 with --learning-rate 2e-4 learns faster)",
        )
        .value(
            "--score-raw",
            "FILE",
            "score the digits of FILE (raw little-endian float32 28x28 images in [-1, 1], e.g. torch_reference.py's) and exit",
        )
        .switch(
            "--timing",
            "time the step and each model's forward and backward on random data, then exit",
        );
    let args = parser.parse();
    let quick = args.switch("--quick");
    let default_out = if quick {
        "out/dcgan-quick"
    } else {
        "out/dcgan"
    };
    let epochs = args.number("--epochs");
    let images = args.number("--images").unwrap_or(DEFAULT_IMAGES);
    Args {
        epochs: epochs.unwrap_or(if quick { 1 } else { DEFAULT_EPOCHS }),
        images: if quick { images.min(512) } else { images },
        seed: args.number("--seed").unwrap_or(7777),
        quick,
        timing: args.switch("--timing"),
        out: PathBuf::from(args.string("--out").unwrap_or_else(|| default_out.into())),
        score: !args.switch("--no-score"),
        classifier: PathBuf::from(
            args.string("--classifier")
                .unwrap_or_else(|| mnist_classifier::DEFAULT_WEIGHTS.into()),
        ),
        learning_rate: args.number("--learning-rate").unwrap_or(LEARNING_RATE),
        beta_1: args.number("--beta1").unwrap_or(0.9),
        score_raw: args.string("--score-raw").map(PathBuf::from),
    }
}

fn main() {
    let args = parse_args();
    if args.timing {
        timing();
        return;
    }
    let result = match &args.score_raw {
        Some(file) => score_raw(file, &args),
        None => run(&args),
    };
    if let Err(e) = result {
        eprintln!("dcgan: error: {e}");
        std::process::exit(1);
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// MNIST's training images `(n, 28, 28, 1)` in `[-1, 1]`, fetching MNIST on first use.
fn load_images(n: usize) -> Res<Tensor> {
    if datasets::local("mnist").is_none() {
        println!(
            "MNIST is not in {}: fetching it (bash data/fetch.sh mnist)",
            datasets::data_dir().display()
        );
    }
    let dir = datasets::ensure("mnist").map_err(|e| {
        format!("could not fetch MNIST ({e}); run `bash data/fetch.sh mnist` by hand and try again")
    })?;
    let m = mnist::load_from(&dir, Split::Train)?;
    let all = m.images_f32(-1.0, 1.0);
    let n = n.min(m.len());
    Ok(all.slice(s![0..n as isize]))
}

fn run(args: &Args) -> Res<()> {
    let started = Instant::now();
    let images = load_images(args.images)?;
    let n = images.dims()[0];
    let steps_per_epoch = n.div_ceil(BATCH_SIZE);
    let max_steps = if args.quick { 3 } else { steps_per_epoch };
    let data = Dataset::from_tensor_slices(images)?
        .shuffle(n, args.seed)
        .batch(BATCH_SIZE, false);

    set_seed(args.seed);
    let mut gan = Dcgan::with_adam(args.learning_rate, args.beta_1);
    // One fixed noise for every epoch's grid, as the post's `random_vector_for_generation`.
    let grid_noise = Tensor::random_normal([25, NOISE_DIM], 0.0, 1.0, DType::Float32);

    std::fs::create_dir_all(&args.out)?;
    let ckpt_dir = args.out.join("checkpoints");
    let mut done = 0usize;
    if let Some(path) = latest_checkpoint(&ckpt_dir) {
        let state = load_state(&path)?;
        gan.restore(&state)?;
        done = state.step as usize;
        println!("resuming after epoch {done} from {}", path.display());
    }
    let csv_path = args.out.join("losses.csv");
    let mut rows = read_rows(&csv_path, done);
    if done >= args.epochs {
        println!(
            "{done} epochs already done (see {}); ask for more with --epochs",
            args.out.display()
        );
        return match judge(args)? {
            Some(c) => digit_score(&gan, &c, args.seed),
            None => Ok(()),
        };
    }
    println!(
        "DCGAN on {n} MNIST images, batch {BATCH_SIZE}, {steps_per_epoch} steps per epoch, epochs {}..={}, {} threads",
        done + 1,
        args.epochs,
        rayon::current_num_threads()
    );

    let scorer = judge(args)?;
    for epoch in done..args.epochs {
        // Reseeding per epoch makes a resumed run draw the same noise and dropout as an
        // uninterrupted one.
        set_seed(args.seed.wrapping_add(1_000_003 * (epoch as u64 + 1)));
        let bar = progress_bar(max_steps as u64);
        let t0 = Instant::now();
        let (mut g_sum, mut d_sum, mut steps) = (0.0f64, 0.0f64, 0usize);
        for batch in data.iter_epoch(epoch as u64).take(max_steps) {
            let real = batch?.into_tensor()?;
            let l = gan.train_step(&real);
            if !l.generator.is_finite() || !l.discriminator.is_finite() {
                return Err(format!("epoch {}: a loss is not finite ({l:?})", epoch + 1).into());
            }
            steps += 1;
            g_sum += l.generator as f64;
            d_sum += l.discriminator as f64;
            rows.push([
                (epoch + 1) as f64,
                (epoch * steps_per_epoch + steps) as f64,
                l.generator as f64,
                l.discriminator as f64,
            ]);
            bar.set_message(format!(
                "epoch {}/{}  gen {:.4}  disc {:.4}",
                epoch + 1,
                args.epochs,
                l.generator,
                l.discriminator
            ));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let secs = t0.elapsed().as_secs_f64();
        let png = args.out.join(format!("epoch-{:03}.png", epoch + 1));
        save_grid(&gan.generate(&grid_noise), &png)?;
        write_rows(&csv_path, &rows)?;
        plot_losses(&rows, &args.out.join("losses.png"))?;
        save_checkpoint(&ckpt_dir, &gan.training_state(epoch as u64 + 1))?;
        prune_checkpoints(&ckpt_dir, epoch + 1);
        println!(
            "epoch {:>3}/{}: gen {:.4}  disc {:.4}  {steps} steps in {secs:.1} s ({:.2} steps/s)  -> {}",
            epoch + 1,
            args.epochs,
            g_sum / steps as f64,
            d_sum / steps as f64,
            steps as f64 / secs,
            png.display()
        );
        // Scored every epoch: GAN quality does not rise monotonically, and the curve of this
        // score says more than its last value (1000 digits take ~2 s).
        if let Some(c) = &scorer {
            digit_score(&gan, c, args.seed)?;
        }
    }
    println!(
        "done in {:.1} s; grids, losses.csv, losses.png and checkpoints in {}",
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

/// Epochs of the classifier trained here when its weights are absent (as
/// `examples/mnist_classifier`'s default).
const CLASSIFIER_EPOCHS: usize = 3;
/// Generated digits the score judges (issue 7's figure).
const SCORED_DIGITS: usize = 1000;

/// Prints how keen-zoo's MNIST classifier labels 1000 digits from fixed noise (drawn from
/// `--seed`, so two runs of the same model are scored on the same digits).
fn digit_score(gan: &Dcgan, classifier: &MnistClassifier, seed: u64) -> Res<()> {
    set_seed(seed.wrapping_add(0x5c0_12e));
    // 250 at a time: the generator's activations for 1000 images at once are ~100 MB.
    let parts: Vec<Tensor> = (0..SCORED_DIGITS / 250)
        .map(|_| gan.generate(&Dcgan::noise(250)))
        .collect();
    let refs: Vec<&Tensor> = parts.iter().collect();
    let score = DigitScore::of(classifier, &Tensor::concat(&refs, 0));
    println!("{score}");
    Ok(())
}

/// The digit score of images another program drew (raw little-endian float32, 28×28 each).
fn score_raw(file: &Path, args: &Args) -> Res<()> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let image_bytes = 4 * IMAGE_SIZE * IMAGE_SIZE;
    if bytes.is_empty() || bytes.len() % image_bytes != 0 {
        return Err(format!(
            "{}: {} bytes is not a whole number of 28x28 float32 images ({image_bytes} bytes each)",
            file.display(),
            bytes.len()
        )
        .into());
    }
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let n = values.len() / (IMAGE_SIZE * IMAGE_SIZE);
    let images = Tensor::from_vec(values, [n, IMAGE_SIZE, IMAGE_SIZE, 1]);
    println!("{}: {n} images", file.display());
    println!("{}", DigitScore::of(&classifier(args)?, &images));
    Ok(())
}

/// The judge of the digit score: `None` with `--no-score`.
fn judge(args: &Args) -> Res<Option<MnistClassifier>> {
    if args.score {
        classifier(args).map(Some)
    } else {
        Ok(None)
    }
}

/// The classifier of `--classifier`, or one trained now (and saved there) when the file is
/// absent. A `--quick` run trains a quick one on 2,000 images and keeps it to itself, so that
/// its weak weights never stand in for the real ones.
fn classifier(args: &Args) -> Res<MnistClassifier> {
    if args.classifier.is_file() {
        return MnistClassifier::load(&args.classifier).map_err(|e| {
            format!("{e}; delete the file (it is retrained) or pass --no-score").into()
        });
    }
    let (limit, epochs) = if args.quick {
        (2000, 1)
    } else {
        (usize::MAX, CLASSIFIER_EPOCHS)
    };
    println!(
        "no MNIST classifier at {}: training one ({epochs} epoch(s) on {} images; as examples/mnist_classifier)",
        args.classifier.display(),
        limit.min(60_000)
    );
    let dir = datasets::ensure("mnist")?;
    let (train, test) = (
        mnist::load_from(&dir, Split::Train)?,
        mnist::load_from(&dir, Split::Test)?,
    );
    let take = |m: &mnist::Mnist| {
        let n = limit.min(m.len());
        (
            m.images_f32(-1.0, 1.0).narrow(0, 0, n),
            m.labels_i64().narrow(0, 0, n),
        )
    };
    let (train, test) = (take(&train), take(&test));
    let t = mnist_classifier::train(
        (&train.0, &train.1),
        (&test.0, &test.1),
        epochs,
        args.seed,
        Verbosity::Line,
    );
    println!(
        "classifier: test accuracy {:.2}% on {} images, {:.0} s per epoch",
        100.0 * t.test_accuracy,
        test.0.dim(0),
        t.epoch_seconds.iter().sum::<f64>() / epochs as f64
    );
    if !args.quick {
        if let Some(dir) = args.classifier.parent() {
            std::fs::create_dir_all(dir)?;
        }
        t.model.save_weights(&args.classifier)?;
        println!("classifier weights saved to {}", args.classifier.display());
    }
    Ok(t.model)
}

fn progress_bar(len: u64) -> ProgressBar {
    // stderr, so that the per-epoch lines on stdout stay clean when piped; hidden off a terminal.
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{msg}  [{bar:30}] {pos}/{len}  {elapsed}<{eta}")
        .expect("a valid template")
        .progress_chars("=> ");
    bar.set_style(style);
    bar
}

/// The per-step rows `(epoch, step, generator, discriminator)` of `losses.csv` up to `epochs_done`
/// epochs' worth of steps (rows of an epoch that did not reach its checkpoint are dropped).
fn read_rows(path: &Path, epochs_done: usize) -> Vec<[f64; 4]> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<f64> = line.split(',').filter_map(|x| x.parse().ok()).collect();
            (f.len() == 4 && (f[0] as usize) <= epochs_done).then(|| [f[0], f[1], f[2], f[3]])
        })
        .collect()
}

fn write_rows(path: &Path, rows: &[[f64; 4]]) -> Res<()> {
    // The epoch column lets a resumed run drop the steps of an epoch that was not checkpointed.
    let mut out = String::from("epoch,step,generator_loss,discriminator_loss\n");
    for r in rows {
        out.push_str(&format!("{},{},{},{}\n", r[0], r[1], r[2], r[3]));
    }
    let tmp = path.with_extension("csv.tmp");
    std::fs::File::create(&tmp)?.write_all(out.as_bytes())?;
    std::fs::rename(tmp, path)?;
    Ok(())
}

fn prune_checkpoints(dir: &Path, keep_from: usize) {
    // Two are kept: the newest, and the one before in case the newest is being read.
    for e in 1..keep_from.saturating_sub(1) {
        let _ = std::fs::remove_file(dir.join(format!("ckpt-{e}.keen")));
    }
}

/// A 5×5 grid of images `(25, 28, 28, 1)` in `[-1, 1]`, each pixel drawn 2×2, 2-pixel gaps.
fn save_grid(images: &Tensor, path: &Path) -> Res<()> {
    const SCALE: usize = 2;
    const GAP: usize = 2;
    let s = IMAGE_SIZE;
    let cells = 5;
    let side = cells * s * SCALE + (cells + 1) * GAP;
    let px = images.to_vec::<f32>();
    let mut img = image::GrayImage::from_pixel(side as u32, side as u32, image::Luma([128]));
    for k in 0..cells * cells {
        let (oy, ox) = (
            GAP + (k / cells) * (s * SCALE + GAP),
            GAP + (k % cells) * (s * SCALE + GAP),
        );
        for y in 0..s * SCALE {
            for x in 0..s * SCALE {
                let v = px[k * s * s + (y / SCALE) * s + x / SCALE];
                let g = (v * 127.5 + 127.5).clamp(0.0, 255.0) as u8;
                img.put_pixel((ox + x) as u32, (oy + y) as u32, image::Luma([g]));
            }
        }
    }
    img.save(path)?;
    Ok(())
}

/// Both losses per step (light) and their 50-step moving averages (dark): generator in red,
/// discriminator in blue, on a common y axis from 0 to the largest average.
fn plot_losses(rows: &[[f64; 4]], path: &Path) -> Res<()> {
    let (w, h, pad) = (800u32, 400u32, 20u32);
    let mut img = image::RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255]));
    if rows.len() < 2 {
        img.save(path)?;
        return Ok(());
    }
    let smooth = |col: usize| -> Vec<f64> {
        (0..rows.len())
            .map(|i| {
                let lo = i.saturating_sub(49);
                rows[lo..=i].iter().map(|r| r[col]).sum::<f64>() / (i + 1 - lo) as f64
            })
            .collect()
    };
    let (g, d) = (smooth(2), smooth(3));
    let top = g.iter().chain(&d).cloned().fold(0.0, f64::max).max(1e-6) * 1.2;
    let n = rows.len();
    let to_px = |i: usize, v: f64| -> (u32, u32) {
        let x = pad + ((w - 2 * pad - 1) as f64 * i as f64 / (n - 1) as f64) as u32;
        let y = (v / top).clamp(0.0, 1.0);
        (x, h - pad - 1 - ((h - 2 * pad - 1) as f64 * y) as u32)
    };
    for y in [pad, h - pad - 1] {
        for x in pad..w - pad {
            img.put_pixel(x, y, image::Rgb([200, 200, 200]));
        }
    }
    let series = [
        (2, &g, [255, 190, 190], [200, 0, 0]),
        (3, &d, [190, 190, 255], [0, 0, 200]),
    ];
    for (col, _, light, _) in &series {
        for (i, r) in rows.iter().enumerate() {
            let (x, y) = to_px(i, r[*col]);
            img.put_pixel(x, y, image::Rgb(*light));
        }
    }
    for (_, avg, _, dark) in &series {
        for (i, &v) in avg.iter().enumerate() {
            let (x, y) = to_px(i, v);
            img.put_pixel(x, y, image::Rgb(*dark));
            img.put_pixel(x, y.saturating_sub(1), image::Rgb(*dark));
        }
    }
    img.save(path)?;
    Ok(())
}

/// Where a step's time goes: each part timed over a few repetitions on random data of the
/// training batch size (the median is printed).
fn timing() {
    set_seed(1);
    let mut gan = Dcgan::new();
    let real = Tensor::random_uniform(
        [BATCH_SIZE, IMAGE_SIZE, IMAGE_SIZE, 1],
        -1.0,
        1.0,
        DType::Float32,
    );
    let noise = Dcgan::noise(BATCH_SIZE);
    let time = |name: &str, f: &mut dyn FnMut()| {
        f();
        let mut t: Vec<f64> = (0..5)
            .map(|_| {
                let t0 = Instant::now();
                f();
                t0.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        t.sort_by(f64::total_cmp);
        println!("{name:<40} {:>8.1} ms (median of 5; min {:.1})", t[2], t[0]);
    };
    let gvars = gan.generator.trainable_variables();
    let dvars = gan.discriminator.trainable_variables();
    time("generator forward", &mut || {
        let _ = gan.generator.call(&noise, true);
    });
    time("generator forward + backward", &mut || {
        let tape = GradientTape::new();
        let loss = gan.generator.call(&noise, true).sum_all();
        let _ = tape.gradient(&loss, &gvars);
    });
    time("discriminator forward (one batch)", &mut || {
        let _ = gan.discriminator.call(&real, true);
    });
    time("discriminator forward + backward (one batch)", &mut || {
        let tape = GradientTape::new();
        let loss = gan.discriminator.call(&real, true).sum_all();
        let _ = tape.gradient(&loss, &dvars);
    });
    time("gradients (both tapes, no update)", &mut || {
        let _ = gan.gradients(&real, &noise);
    });
    time("train_step (batch 256)", &mut || {
        let _ = gan.train_step(&real);
    });
}
