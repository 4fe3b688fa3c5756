//! Neural machine translation with attention (keen-zoo's `nmt`): an encoder-decoder with
//! Bahdanau attention, trained with teacher forcing in one tape. See
//! `examples/nmt_attention/README.md`.
//!
//! ```text
//! cargo run --release -p keen --example nmt_attention                    # dates → ISO 8601
//! cargo run --release -p keen --example nmt_attention -- --task wesnoth  # English → Spanish
//! cargo run --release -p keen --example nmt_attention -- --quick         # a smoke run
//! ```
//!
//! Writes to `--out` (default `out/nmt-<task>`): per epoch `attention-eEEE-N.png` (heat maps,
//! source words across, output words down) with `attention-eEEE-N.txt` (their words and
//! weights), `samples.txt` (the translations printed), `metrics.csv`, and
//! `checkpoints/ckpt-<epoch>.keen` (a rerun resumes from the latest).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use keen::prelude::Module;
use keen::zoo::args::Parser;
use keen::zoo::nmt::{
    bleu, clean, dates, exact_match, pad_batch, Nmt, NmtConfig, Translation, Vocab,
};
use keen_data::datasets::{self, sentences};
use keen_tape::checkpoint::{latest_checkpoint, load_state, save_checkpoint};
use keen_tensor::ops::random::{set_seed, Generator};
use keen_tensor::Tensor;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Task {
    Dates,
    Wesnoth,
}

struct Args {
    task: Task,
    epochs: Option<usize>,
    seed: u64,
    quick: bool,
    out: Option<PathBuf>,
    units: Option<usize>,
    batch: usize,
    examples: usize,
}

fn parse_args() -> Args {
    let args = Parser::new("nmt_attention")
        .value(
            "--task",
            "T",
            "dates (default): written dates to yyyy-mm-dd; wesnoth: English to Spanish",
        )
        .value(
            "--epochs",
            "N",
            "train until N epochs are done, resuming from DIR (dates 5, wesnoth 15)",
        )
        .value(
            "--seed",
            "S",
            "seed of the weights, the data split and the shuffling (default 1)",
        )
        .switch(
            "--quick",
            "a few steps on a small subset, 1 epoch unless --epochs, into DIR-quick",
        )
        .value("--out", "DIR", "output folder (default out/nmt-<task>)")
        .value(
            "--units",
            "U",
            "GRU and attention units (default 256, the post's)",
        )
        .value("--batch", "B", "batch size (default 64)")
        .value(
            "--examples",
            "N",
            "training dates generated (dates task; default 12000)",
        )
        .parse();
    let task = match args.string("--task").as_deref() {
        None | Some("dates") => Task::Dates,
        Some("wesnoth") => Task::Wesnoth,
        Some(other) => args.fail(&format!("--task is dates or wesnoth, got {other:?}")),
    };
    Args {
        task,
        epochs: args.number("--epochs"),
        seed: args.number("--seed").unwrap_or(1),
        quick: args.switch("--quick"),
        out: args.string("--out").map(PathBuf::from),
        units: args.number("--units"),
        batch: args.number("--batch").unwrap_or(64).max(1),
        examples: args.number("--examples").unwrap_or(12_000),
    }
}

fn main() {
    let args = parse_args();
    if let Err(e) = run(&args) {
        eprintln!("nmt_attention: error: {e}");
        std::process::exit(1);
    }
}

/// A pair as token ids (both wrapped in `<start>`…`<end>`) with what the reports need.
struct Example {
    src: Vec<i64>,
    tgt: Vec<i64>,
    src_words: Vec<String>,
    /// The reference as text, for BLEU and the printed samples.
    reference: String,
    /// Dates only: the source span each target token is read from.
    spans: Vec<Option<(usize, usize)>>,
}

struct Data {
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    train: Vec<Example>,
    test: Vec<Example>,
    /// How target words join into text (dates: no space, "2026-11-26").
    joiner: &'static str,
    max_out: usize,
    description: String,
}

/// Source words, target words and (dates) the source span of each target word.
type WordPair = (Vec<String>, Vec<String>, Vec<Option<(usize, usize)>>);

fn encode(
    src_vocab: &Vocab,
    tgt_vocab: &Vocab,
    pairs: Vec<WordPair>,
    joiner: &str,
) -> Vec<Example> {
    pairs
        .into_iter()
        .map(|(s, t, spans)| Example {
            src: src_vocab.encode(&s, true),
            tgt: tgt_vocab.encode(&t, true),
            reference: t.join(joiner),
            src_words: s,
            spans,
        })
        .collect()
}

fn date_data(n_train: usize, n_test: usize, seed: u64) -> Data {
    let to_pairs = |ps: Vec<dates::DatePair>| {
        ps.into_iter()
            .map(|p| (p.source, p.target, p.spans))
            .collect::<Vec<_>>()
    };
    let train = to_pairs(dates::generate(n_train, seed, false));
    let test = to_pairs(dates::generate(n_test, seed, true));
    let src_vocab = Vocab::build(train.iter().map(|p| p.0.clone()));
    let tgt_vocab = Vocab::build(train.iter().map(|p| p.1.clone()));
    Data {
        description: format!(
            "{n_train} training dates and {n_test} held-out ones (never seen in training), {} spellings",
            dates::FORMATS
        ),
        train: encode(&src_vocab, &tgt_vocab, train, ""),
        test: encode(&src_vocab, &tgt_vocab, test, ""),
        src_vocab,
        tgt_vocab,
        joiner: "",
        max_out: 12,
    }
}

/// English lines of at most this many words (the post trains on short sentences).
const MAX_WORDS: usize = 15;

fn wesnoth_data(seed: u64, quick: bool) -> Res<Data> {
    if datasets::local("spa-eng").is_none() {
        println!(
            "the Wesnoth sentence pairs are not in {}: fetching them (bash data/fetch.sh spa-eng)",
            datasets::data_dir().display()
        );
    }
    let dir = datasets::ensure("spa-eng").map_err(|e| {
        format!(
            "no English-Spanish pairs ({e}); run `bash data/fetch.sh spa-eng` (needs apt-get) and try again"
        )
    })?;
    let raw = sentences::load_from(&dir, Some(MAX_WORDS))?;
    let mut pairs: Vec<(Vec<String>, Vec<String>)> = raw
        .iter()
        .map(|(en, es)| (clean(en), clean(es)))
        .filter(|(en, es)| {
            !en.is_empty()
                && !es.is_empty()
                && en.len() <= MAX_WORDS + 5
                && es.len() <= 2 * MAX_WORDS
        })
        .collect();
    // Fisher–Yates with the seed, then 90/10.
    let mut g = Generator::new(seed).with_stream(7);
    for i in (1..pairs.len()).rev() {
        let j = (g.next_u64() % (i as u64 + 1)) as usize;
        pairs.swap(i, j);
    }
    if quick {
        pairs.truncate(640);
    }
    let n_test = pairs.len() / 10;
    let test: Vec<_> = pairs.split_off(pairs.len() - n_test);
    let src_vocab = Vocab::build(pairs.iter().map(|p| p.0.clone()));
    let tgt_vocab = Vocab::build(pairs.iter().map(|p| p.1.clone()));
    let with_spans = |ps: Vec<(Vec<String>, Vec<String>)>| {
        ps.into_iter()
            .map(|(a, b)| (a, b, Vec::new()))
            .collect::<Vec<_>>()
    };
    Ok(Data {
        description: format!(
            "{} training and {} held-out English-Spanish pairs (Wesnoth campaigns, English <= {MAX_WORDS} words); vocabularies {} / {}",
            pairs.len(),
            test.len(),
            src_vocab.len(),
            tgt_vocab.len()
        ),
        train: encode(&src_vocab, &tgt_vocab, with_spans(pairs), " "),
        test: encode(&src_vocab, &tgt_vocab, with_spans(test), " "),
        src_vocab,
        tgt_vocab,
        joiner: " ",
        max_out: 2 * MAX_WORDS + 2,
    })
}

fn batch(examples: &[&Example]) -> (Tensor, Tensor) {
    let s: Vec<&[i64]> = examples.iter().map(|e| e.src.as_slice()).collect();
    let t: Vec<&[i64]> = examples.iter().map(|e| e.tgt.as_slice()).collect();
    (pad_batch(&s, None), pad_batch(&t, None))
}

fn run(args: &Args) -> Res<()> {
    let started = Instant::now();
    let name = match args.task {
        Task::Dates => "dates",
        Task::Wesnoth => "wesnoth",
    };
    let out_dir = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(if args.quick {
            format!("out/nmt-{name}-quick")
        } else {
            format!("out/nmt-{name}")
        })
    });
    let epochs = args.epochs.unwrap_or(match (args.quick, args.task) {
        (true, _) => 1,
        (false, Task::Dates) => 5,
        (false, Task::Wesnoth) => 15,
    });
    let data = match args.task {
        Task::Dates => {
            let (n, t) = if args.quick {
                (640, 64)
            } else {
                (args.examples, 1000)
            };
            date_data(n, t, args.seed)
        }
        Task::Wesnoth => wesnoth_data(args.seed, args.quick)?,
    };
    let units = args.units.unwrap_or(if args.quick { 32 } else { 256 });
    let mut config = NmtConfig::new(data.src_vocab.len(), data.tgt_vocab.len());
    config.units = units;
    set_seed(args.seed);
    let mut model = Nmt::new(config);

    std::fs::create_dir_all(&out_dir)?;
    let ckpt_dir = out_dir.join("checkpoints");
    let mut done = 0usize;
    if let Some(path) = latest_checkpoint(&ckpt_dir) {
        let state = load_state(&path)?;
        model.restore(&state).map_err(|e| {
            format!(
                "{e} (was {} written with other sizes or data? remove it to start over)",
                path.display()
            )
        })?;
        done = state.step as usize;
        println!("resuming after epoch {done} from {}", path.display());
    }
    if done >= epochs {
        println!(
            "{done} epochs already done (see {}); ask for more with --epochs",
            out_dir.display()
        );
        return Ok(());
    }
    let steps_per_epoch = data.train.len().div_ceil(args.batch);
    let max_steps = if args.quick { 5 } else { steps_per_epoch };
    println!(
        "task {name}: {}\nmodel: embedding 64, GRU {units}, attention {units}; {} parameters; batch {}, {max_steps} steps per epoch, epochs {}..={epochs}, {} threads",
        data.description,
        model.count_params(),
        args.batch,
        done + 1,
        rayon::current_num_threads()
    );
    let metrics_path = out_dir.join("metrics.csv");
    if args.task == Task::Wesnoth && done == 0 {
        report_baseline(&data);
    }

    for epoch in done..epochs {
        // The order depends on the seed and the epoch only, so a resumed run sees the batches
        // an uninterrupted one would have.
        let mut order: Vec<usize> = (0..data.train.len()).collect();
        let mut g = Generator::new(args.seed).with_stream(100 + epoch as u32);
        for i in (1..order.len()).rev() {
            let j = (g.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let bar = progress_bar(max_steps as u64);
        let t0 = Instant::now();
        let (mut sum, mut steps) = (0.0f64, 0usize);
        for idx in order.chunks(args.batch).take(max_steps) {
            let ex: Vec<&Example> = idx.iter().map(|&i| &data.train[i]).collect();
            let (s, t) = batch(&ex);
            let loss = model.train_step(&s, &t);
            if !loss.is_finite() {
                return Err(format!("epoch {}: the loss is not finite ({loss})", epoch + 1).into());
            }
            sum += loss as f64;
            steps += 1;
            bar.set_message(format!(
                "epoch {}/{epochs}  loss {loss:.4}  mean {:.4}",
                epoch + 1,
                sum / steps as f64
            ));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let train_s = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let eval = evaluate(&model, &data, args.batch.max(64));
        let eval_s = t1.elapsed().as_secs_f64();
        let summary = match args.task {
            Task::Dates => format!(
                "held-out exact match {:.2}%  attention on the right source field {:.1}% (uniform: {:.1}%)",
                100.0 * eval.exact,
                100.0 * eval.aligned,
                100.0 * eval.aligned_chance
            ),
            Task::Wesnoth => format!(
                "held-out {}  exact {:.2}%",
                eval.bleu, 100.0 * eval.exact
            ),
        };
        println!(
            "epoch {:>3}/{epochs}: loss {:.4}  {steps} steps in {train_s:.1} s ({:.1} ms/step), eval {eval_s:.1} s  {summary}",
            epoch + 1,
            sum / steps as f64,
            1e3 * train_s / steps as f64,
        );
        write_samples(&model, &data, &out_dir, epoch + 1)?;
        append_metrics(
            &metrics_path,
            &format!(
                "{},{:.5},{:.2},{:.2},{:.5},{:.5},{:.3}",
                epoch + 1,
                sum / steps as f64,
                train_s,
                eval_s,
                eval.exact,
                eval.aligned,
                eval.bleu.score
            ),
        )?;
        save_checkpoint(&ckpt_dir, &model.training_state(epoch as u64 + 1))?;
        // Two are kept: the newest, and the one before in case the newest is being read.
        for e in 1..epoch {
            let _ = std::fs::remove_file(ckpt_dir.join(format!("ckpt-{e}.keen")));
        }
    }
    println!(
        "done in {:.1} s; samples, attention maps, metrics.csv and checkpoints in {}",
        started.elapsed().as_secs_f64(),
        out_dir.display()
    );
    Ok(())
}

fn progress_bar(len: u64) -> ProgressBar {
    // stderr, so the per-epoch lines on stdout stay clean when piped; hidden off a terminal.
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{msg}  [{bar:30}] {pos}/{len}  {elapsed}<{eta}")
        .expect("a valid template")
        .progress_chars("=> ");
    bar.set_style(style);
    bar
}

struct Eval {
    exact: f64,
    aligned: f64,
    aligned_chance: f64,
    bleu: bleu::Bleu,
}

fn translate_all(
    model: &Nmt,
    data: &Data,
    examples: &[&Example],
    batch_size: usize,
) -> Vec<Translation> {
    let mut out = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(batch_size) {
        let (s, _) = batch(chunk);
        out.extend(model.translate(
            &s,
            data.tgt_vocab.start(),
            data.tgt_vocab.end(),
            data.max_out,
        ));
    }
    out
}

fn text(data: &Data, ids: &[i64]) -> String {
    data.tgt_vocab.decode(ids).join(data.joiner)
}

/// Exact match, BLEU and (dates) the mean attention weight on the source field (year, month or
/// day tokens) each output digit is read from, with what uniform attention would give.
fn evaluate(model: &Nmt, data: &Data, batch_size: usize) -> Eval {
    let examples: Vec<&Example> = data.test.iter().collect();
    let tr = translate_all(model, data, &examples, batch_size);
    let want: Vec<Vec<i64>> = examples
        .iter()
        .map(|e| e.tgt[1..e.tgt.len() - 1].to_vec())
        .collect();
    let exact = exact_match(&tr, &want);
    let hyps: Vec<String> = tr.iter().map(|t| text(data, &t.ids)).collect();
    let refs: Vec<&str> = examples.iter().map(|e| e.reference.as_str()).collect();
    let bleu = bleu::corpus_bleu(&hyps, &refs);
    let (mut mass, mut chance, mut n) = (0.0f64, 0.0f64, 0usize);
    for (t, e) in tr.iter().zip(&examples) {
        for (i, span) in e.spans.iter().enumerate() {
            let (Some((s, end)), Some(row)) = (span, t.attention.get(i)) else {
                continue;
            };
            // Position 0 is <start>: source token k sits at k + 1.
            mass += row[s + 1..=*end].iter().map(|&w| w as f64).sum::<f64>();
            chance += (end - s) as f64 / t.source_len as f64;
            n += 1;
        }
    }
    Eval {
        exact,
        aligned: mass / n.max(1) as f64,
        aligned_chance: chance / n.max(1) as f64,
        bleu,
    }
}

/// Wesnoth: BLEU of two trivial systems on the held-out split, the floor a model must beat.
fn report_baseline(data: &Data) {
    let refs: Vec<&str> = data.test.iter().map(|e| e.reference.as_str()).collect();
    let copy: Vec<String> = data.test.iter().map(|e| e.src_words.join(" ")).collect();
    println!(
        "baseline, copying the English source: {}",
        bleu::corpus_bleu(&copy, &refs)
    );
    // The most frequent Spanish words of training, as many as the source has words.
    let mut counts = std::collections::HashMap::<i64, usize>::new();
    for e in &data.train {
        for &w in &e.tgt[1..e.tgt.len() - 1] {
            *counts.entry(w).or_default() += 1;
        }
    }
    let mut top: Vec<(i64, usize)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let frequent: Vec<String> = data
        .test
        .iter()
        .map(|e| {
            let ids: Vec<i64> = top.iter().take(e.src_words.len()).map(|p| p.0).collect();
            text(data, &ids)
        })
        .collect();
    println!(
        "baseline, the most frequent Spanish words (as many as the source has): {}",
        bleu::corpus_bleu(&frequent, &refs)
    );
}

/// Prints and saves translations of 4 training and 4 held-out examples, and the attention
/// maps of the first 3 held-out ones.
fn write_samples(model: &Nmt, data: &Data, dir: &Path, epoch: usize) -> Res<()> {
    let picks: Vec<(&str, &Example)> = data
        .train
        .iter()
        .take(4)
        .map(|e| ("train", e))
        .chain(data.test.iter().take(4).map(|e| ("held-out", e)))
        .collect();
    let ex: Vec<&Example> = picks.iter().map(|p| p.1).collect();
    let tr = translate_all(model, data, &ex, 64);
    let mut log = format!("epoch {epoch}\n");
    for ((kind, e), t) in picks.iter().zip(&tr) {
        let got = text(data, &t.ids);
        let mark = if got == e.reference { "ok" } else { "  " };
        let _ = writeln!(
            log,
            "  {mark} {kind:<8} {}  ->  {got}   (reference: {})",
            e.src_words.join(" "),
            e.reference
        );
    }
    print!("{log}");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("samples.txt"))?;
    f.write_all(log.as_bytes())?;
    for (k, (t, e)) in tr.iter().zip(&ex).skip(4).take(3).enumerate() {
        let mut src_words = vec!["<start>".to_string()];
        src_words.extend(e.src_words.iter().cloned());
        src_words.push("<end>".into());
        let out_words = data.tgt_vocab.decode(&t.ids);
        let stem = dir.join(format!("attention-e{epoch:03}-{}", k + 1));
        // One row per output token, one column per source token (padding cut off).
        let cols = t.source_len.min(src_words.len());
        let rows = out_words.len().min(t.attention.len());
        keen::fit::heat_map(
            stem.with_extension("png"),
            &t.attention[..rows],
            &src_words[..cols],
            &out_words[..rows],
            &format!("attention, epoch {epoch}, held-out example {}", k + 1),
        )?;
        let mut txt = format!(
            "columns (source): {}\nrows (output): {}\n",
            src_words.join(" "),
            out_words.join(" ")
        );
        for (w, row) in out_words.iter().zip(&t.attention) {
            let cells: Vec<String> = row[..t.source_len]
                .iter()
                .map(|v| format!("{v:.2}"))
                .collect();
            let _ = writeln!(txt, "{w:>12} {}", cells.join(" "));
        }
        std::fs::write(stem.with_extension("txt"), txt)?;
    }
    Ok(())
}

fn append_metrics(path: &Path, row: &str) -> Res<()> {
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    if new {
        writeln!(
            f,
            "epoch,loss,train_s,eval_s,exact_match,attention_aligned,bleu"
        )?;
    }
    writeln!(f, "{row}")?;
    Ok(())
}
