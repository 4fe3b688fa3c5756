//! Trains keen-zoo's small MNIST convnet (`mnist_classifier`) with `fit` and saves its weights:
//! the judge of the DCGAN's digits (`examples/dcgan` scores its samples with it).
//! See `examples/mnist_classifier/README.md`.
//!
//! ```text
//! cargo run --release -p keen --example mnist_classifier            # 3 epochs, ~98.9% test accuracy
//! cargo run --release -p keen --example mnist_classifier -- --quick # 1 epoch on 2,000 images
//! ```
//!
//! Writes `weights.safetensors` to `--out` (default `out/mnist_classifier`, where the DCGAN
//! program looks for it).

use keen::data::datasets::{self, mnist, Split};
use keen::prelude::*;
use keen::zoo::args::Parser;
use keen::zoo::mnist_classifier::{self, BATCH_SIZE};
use std::path::PathBuf;
use std::time::Instant;

/// Enough for ≥ 98.5% test accuracy (README).
const DEFAULT_EPOCHS: usize = 3;

struct Args {
    epochs: usize,
    seed: u64,
    quick: bool,
    out: PathBuf,
}

fn parse_args() -> Args {
    let args = Parser::new("mnist_classifier")
        .value(
            "--epochs",
            "N",
            format!("epochs over the 60,000 training images (default {DEFAULT_EPOCHS})"),
        )
        .value(
            "--seed",
            "S",
            "seed of the weights, shuffling and dropout (default 1)",
        )
        .switch(
            "--quick",
            "1 epoch on 2,000 training images, tested on 1,000, into out/mnist_classifier-quick",
        )
        .value(
            "--out",
            "DIR",
            "output folder (default out/mnist_classifier)",
        )
        .parse();
    let quick = args.switch("--quick");
    let default_out = if quick {
        "out/mnist_classifier-quick"
    } else {
        "out/mnist_classifier"
    };
    Args {
        epochs: args
            .number("--epochs")
            .unwrap_or(if quick { 1 } else { DEFAULT_EPOCHS }),
        seed: args.number("--seed").unwrap_or(1),
        quick,
        out: PathBuf::from(args.string("--out").unwrap_or_else(|| default_out.into())),
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    let args = parse_args();
    if let Err(e) = run(&args) {
        eprintln!("mnist_classifier: error: {e}");
        std::process::exit(1);
    }
}

/// Images `(n, 28, 28, 1)` in `[-1, 1]` (the DCGAN's scaling) and int64 labels of a split,
/// the first `limit` of them.
fn load(split: Split, limit: usize) -> Res<(Tensor, Tensor)> {
    if datasets::local("mnist").is_none() {
        println!(
            "MNIST is not in {}: fetching it (bash data/fetch.sh mnist)",
            datasets::data_dir().display()
        );
    }
    let dir = datasets::ensure("mnist").map_err(|e| {
        format!("could not fetch MNIST ({e}); run `bash data/fetch.sh mnist` by hand and try again")
    })?;
    let m = mnist::load_from(&dir, split)?;
    let n = limit.min(m.len());
    Ok((
        m.images_f32(-1.0, 1.0).narrow(0, 0, n),
        m.labels_i64().narrow(0, 0, n),
    ))
}

fn run(args: &Args) -> Res<()> {
    let started = Instant::now();
    let (train_limit, test_limit) = if args.quick {
        (2000, 1000)
    } else {
        (usize::MAX, usize::MAX)
    };
    let (x_train, y_train) = load(Split::Train, train_limit)?;
    let (x_test, y_test) = load(Split::Test, test_limit)?;
    println!(
        "MNIST classifier: {} training and {} test images in [-1, 1], batch {BATCH_SIZE}, {} epochs, {} threads",
        x_train.dim(0),
        x_test.dim(0),
        args.epochs,
        rayon::current_num_threads()
    );
    let trained = mnist_classifier::train(
        (&x_train, &y_train),
        (&x_test, &y_test),
        args.epochs,
        args.seed,
        Verbosity::Bar,
    );
    std::fs::create_dir_all(&args.out)?;
    let path = args.out.join("weights.safetensors");
    trained.model.save_weights(&path)?;
    let secs: Vec<String> = trained
        .epoch_seconds
        .iter()
        .map(|s| format!("{s:.0}"))
        .collect();
    println!(
        "test accuracy {:.2}% on {} images; epochs took {} s; weights in {}",
        100.0 * trained.test_accuracy,
        x_test.dim(0),
        secs.join(", "),
        path.display()
    );
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
