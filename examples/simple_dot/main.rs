//! Collaborative filtering with embeddings on MovieLens 100k (keen-zoo's `recommender`): the
//! post's `simple_dot` and its better variant `dot_with_bias`, trained with `compile`/`fit`.
//! See `examples/simple_dot/README.md`.
//!
//! ```text
//! cargo run --release -p keen --example simple_dot               # both models
//! cargo run --release -p keen --example simple_dot -- --model bias --user 42 --movie 50
//! cargo run --release -p keen --example simple_dot -- --quick    # 2 epochs on 5,000 ratings
//! ```
//!
//! Writes to `--out` (default `out/simple_dot`), per model (`simple_dot/`, `dot_with_bias/`):
//! `history.csv` (loss, rmse, val_loss, val_rmse, learning rate per epoch), `history.png` (their
//! curves, from `History::plot`), `weights.safetensors`
//! (the best epoch's weights) and, while training, `backup/` (the last epoch's full state; an
//! interrupted run resumes from it, a finished one deletes it).

use keen::data::datasets::{self, movielens};
use keen::fit::{BackupAndRestore, CsvLogger, EarlyStopping};
use keen::prelude::*;
use keen::zoo::args::Parser;
use keen::zoo::recommender::{
    compile, nearest, recommend, DotWithBias, RatingSplit, SimpleDot, BATCH_SIZE, EMBEDDING_DIM,
};
use keen::zoo::EpochTimes;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

/// The post's `epochs = 10` (early stopping usually ends sooner).
const DEFAULT_EPOCHS: usize = 10;
/// Movies rated fewer times than this in training have vectors too noisy to show as
/// neighbours (the post lists movies rated more than 20 times).
const MIN_RATINGS: usize = 20;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Plain,
    Bias,
    Both,
}

struct Args {
    model: Which,
    epochs: usize,
    seed: u64,
    quick: bool,
    out: PathBuf,
    user: i32,
    movie: i32,
    top: usize,
    dropout: (f64, f64),
    learning_rate: f64,
}

fn parse_args() -> Args {
    let args = Parser::new("simple_dot")
        .value("--model", "M", "plain (simple_dot), bias (dot_with_bias) or both (default)")
        .value("--epochs", "N", format!("at most N epochs; early stopping (patience 2) ends sooner (default {DEFAULT_EPOCHS})"))
        .value("--seed", "S", "seed of the split, the weights, shuffling and dropout (default 1)")
        .switch("--quick", "2 epochs on the first 5,000 ratings, into out/simple_dot-quick")
        .value("--out", "DIR", "output folder (default out/simple_dot)")
        .value("--user", "ID", "the MovieLens user to recommend movies to (default 1)")
        .value("--movie", "ID", "the MovieLens movie whose nearest movies to list (default 50, Star Wars)")
        .value("--top", "N", "how many recommendations and neighbours (default 10)")
        .value("--dropout", "U,M", "dot_with_bias' dropout on user and movie vectors (default 0.3,0.6, the post's)")
        .value("--lr", "RATE", "Adam's learning rate (default 0.001, Keras')")
        .parse();
    let model = match args.string("--model").as_deref() {
        None | Some("both") => Which::Both,
        Some("plain" | "simple_dot") => Which::Plain,
        Some("bias" | "dot_with_bias") => Which::Bias,
        Some(other) => args.fail(&format!("--model takes plain, bias or both, got {other:?}")),
    };
    let dropout = match args.string("--dropout") {
        None => (0.3, 0.6),
        Some(v) => {
            let parts: Vec<f64> = v.split(',').filter_map(|p| p.parse().ok()).collect();
            match parts[..] {
                [u, m] if (0.0..1.0).contains(&u) && (0.0..1.0).contains(&m) => (u, m),
                _ => args.fail(&format!(
                    "--dropout takes two rates in [0, 1) as U,M, got {v:?}"
                )),
            }
        }
    };
    let quick = args.switch("--quick");
    let default_out = if quick {
        "out/simple_dot-quick"
    } else {
        "out/simple_dot"
    };
    Args {
        model,
        epochs: args
            .number("--epochs")
            .unwrap_or(if quick { 2 } else { DEFAULT_EPOCHS }),
        seed: args.number("--seed").unwrap_or(1),
        quick,
        out: PathBuf::from(args.string("--out").unwrap_or_else(|| default_out.into())),
        user: args.number("--user").unwrap_or(1),
        movie: args.number("--movie").unwrap_or(50),
        top: args.number("--top").unwrap_or(10),
        dropout,
        learning_rate: args.number("--lr").unwrap_or(1e-3),
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    let args = parse_args();
    if let Err(e) = run(&args) {
        eprintln!("simple_dot: error: {e}");
        std::process::exit(1);
    }
}

/// The MovieLens folder, fetching it on first use.
fn movielens_dir() -> Res<PathBuf> {
    if datasets::local("movielens").is_none() {
        println!(
            "MovieLens is not in {}: fetching it (bash data/fetch.sh movielens)",
            datasets::data_dir().display()
        );
    }
    Ok(datasets::ensure("movielens").map_err(|e| {
        format!(
            "could not fetch MovieLens ({e}); run `bash data/fetch.sh movielens` by hand and try again"
        )
    })?)
}

/// What one model's training gave.
struct Outcome {
    name: &'static str,
    val_rmse: f64,
    best_epoch: Option<usize>,
    epochs_run: usize,
    epoch_seconds: Vec<f64>,
}

fn run(args: &Args) -> Res<()> {
    let started = Instant::now();
    let dir = movielens_dir()?;
    let ratings = movielens::load_from(&dir)?;
    let movies = movielens::load_movies_from(&dir)?;
    let titles: HashMap<i32, String> = movies
        .iter()
        .map(|m| {
            let t = match m.year {
                Some(y) => format!("{} ({y})", m.title),
                None => m.title.clone(),
            };
            (m.id, t)
        })
        .collect();
    let n = if args.quick {
        ratings.len().min(5000)
    } else {
        ratings.len()
    };
    let users = &ratings.users.to_vec::<i32>()[..n];
    let items = &ratings.items.to_vec::<i32>()[..n];
    let values = &ratings.ratings.to_vec::<f32>()[..n];
    let data = RatingSplit::new(users, items, values, 0.2, args.seed)?;
    println!(
        "MovieLens 100k: {n} ratings by {} users of {} movies; {} for training, {} for validation (seed {})",
        data.n_users(),
        data.n_movies(),
        data.y_train.dim(0),
        data.y_val.dim(0),
        args.seed
    );
    let user = data.user_index(args.user).ok_or_else(|| {
        format!(
            "--user {}: no such user in the ratings (ids run from 1 to {})",
            args.user, ratings.n_users
        )
    })?;
    let movie = data.movie_index(args.movie).ok_or_else(|| {
        format!(
            "--movie {}: no such movie in the ratings (ids run from 1 to {})",
            args.movie, ratings.n_items
        )
    })?;
    std::fs::create_dir_all(&args.out)?;

    let mut outcomes = Vec::new();
    if args.model != Which::Bias {
        keen::tensor::random::set_seed(args.seed);
        let model = SimpleDot::new(data.n_users(), data.n_movies(), EMBEDDING_DIM);
        let (model, o) = train(model, "simple_dot", &data, args)?;
        show(
            &model,
            &model.movie_embedding,
            &data,
            &titles,
            user,
            movie,
            args,
        );
        outcomes.push(o);
    }
    if args.model != Which::Plain {
        keen::tensor::random::set_seed(args.seed);
        let (lo, hi) = data.rating_range;
        let model = DotWithBias::new(data.n_users(), data.n_movies(), EMBEDDING_DIM, lo, hi)
            .dropout(args.dropout.0, args.dropout.1);
        let (model, o) = train(model, "dot_with_bias", &data, args)?;
        show(
            &model,
            &model.movie_embedding,
            &data,
            &titles,
            user,
            movie,
            args,
        );
        outcomes.push(o);
    }

    println!("\nsummary (validation RMSE of the weights kept: the best epoch's when early stopping ended the run):");
    for o in &outcomes {
        let secs = &o.epoch_seconds;
        let mean = secs.iter().sum::<f64>() / secs.len().max(1) as f64;
        println!(
            "  {:<14} val RMSE {:.4}  best epoch {}  {} epochs run  {:.1} s per epoch",
            o.name,
            o.val_rmse,
            o.best_epoch
                .map_or("-".to_string(), |e| (e + 1).to_string()),
            o.epochs_run,
            mean
        );
    }
    println!(
        "done in {:.1} s; histories and weights in {}",
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

/// Trains one model with `fit` (resuming from its backup if an earlier run was interrupted),
/// saves the best epoch's weights, and measures the validation RMSE.
fn train<M: Layer>(
    model: M,
    name: &'static str,
    data: &RatingSplit,
    args: &Args,
) -> Res<(M, Outcome)> {
    println!("\n== {name} ({} parameters) ==", model.count_params());
    let dir = args.out.join(name);
    let backup = dir.join("backup");
    std::fs::create_dir_all(&dir)?;
    let mut model = compile(model, args.learning_rate);
    let done = BackupAndRestore::restore(&backup, &mut model)
        .map_err(|e| format!("{name}: cannot resume from {}: {e}", backup.display()))?;
    if done > 0 {
        println!(
            "resuming after epoch {done} from {} (early stopping starts afresh)",
            backup.display()
        );
    }
    let timer = EpochTimes::new();
    let history = model.fit(
        &data.x_train,
        &data.y_train,
        FitOptions::new()
            .epochs(args.epochs)
            .initial_epoch(done)
            .batch_size(BATCH_SIZE)
            .seed(args.seed)
            .validation_data(&data.x_val, &data.y_val)
            .callback(
                EarlyStopping::new()
                    .monitor("val_loss")
                    .patience(2)
                    .restore_best_weights(true),
            )
            .callback(CsvLogger::new(dir.join("history.csv")).append(done > 0))
            .callback(BackupAndRestore::new(&backup))
            .callback(timer.clone()),
    );
    history.plot(dir.join("history.png"))?;
    let val = model.evaluate(&data.x_val, &data.y_val, 1024);
    let weights = dir.join("weights.safetensors");
    model.model().save_weights(&weights)?;
    // A finished run needs no backup: a rerun starts afresh instead of resuming a done run.
    let _ = std::fs::remove_dir_all(&backup);
    // The restored weights are those of the epoch with the lowest val_loss.
    let best_epoch = history.get("val_loss").and_then(|v| {
        let i = (0..v.len()).min_by(|&a, &b| v[a].total_cmp(&v[b]))?;
        Some(history.epochs[i])
    });
    let outcome = Outcome {
        name,
        val_rmse: val["rmse"],
        best_epoch,
        epochs_run: history.epochs.len(),
        epoch_seconds: timer.seconds(),
    };
    println!(
        "{name}: validation RMSE {:.4} (loss {:.4}); weights in {}",
        outcome.val_rmse,
        val["loss"],
        weights.display()
    );
    Ok((model.into_model(), outcome))
}

/// Prints the top recommendations for `user` and the nearest movies of `movie`.
fn show(
    model: &dyn Layer,
    table: &Embedding,
    data: &RatingSplit,
    titles: &HashMap<i32, String>,
    user: usize,
    movie: usize,
    args: &Args,
) {
    let title = |dense: usize| {
        let id = data.movie_ids[dense];
        titles
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("movie {id}"))
    };
    let counts = data.train_counts();
    let often: Vec<bool> = counts.iter().map(|&c| c >= MIN_RATINGS).collect();
    let seen = data.train_movies_of(user);
    println!(
        "\ntop {} for user {} (who rated {} movies in training; those are left out):",
        args.top,
        args.user,
        seen.len()
    );
    for (rank, (m, r)) in recommend(model, user, data.n_movies(), &seen, args.top)
        .into_iter()
        .enumerate()
    {
        println!(
            "  {:>2}. {:.2}  {}  ({} ratings)",
            rank + 1,
            r,
            title(m),
            counts[m]
        );
    }
    let table = table
        .embeddings()
        .expect("built in new()")
        .value_unwatched();
    println!(
        "\nnearest to {} by cosine of the movie vectors (movies with at least {MIN_RATINGS} training ratings):",
        title(movie)
    );
    for (m, sim) in nearest(&table, movie, args.top, Some(&often)) {
        println!("  {sim:.3}  {}", title(m));
    }
}
