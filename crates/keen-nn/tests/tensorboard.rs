//! TensorBoard event files: keen's writer against the `tensorboard` package's reader, and
//! keen's reader against PyTorch's `SummaryWriter` (fixtures by `fixtures/gen_tensorboard.py`).

use keen_nn::fit::{read_scalars, FitOptions, Scalar, SummaryWriter, TensorBoard, Verbosity};
use keen_nn::losses::MeanSquaredError;
use keen_nn::prelude::*;
use keen_optim::Sgd;
use keen_tensor::{DType, Tensor};
use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tensorboard");

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keen-tb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The one event file in `dir`.
fn event_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("events.out.tfevents."), "{name}");
    files[0].clone()
}

/// The scalars of the keen fixture: a few tags, negative and large steps, values that are
/// not exact in float32, and a wall time per event. Steps never go back: TensorBoard's
/// `EventAccumulator` drops earlier events when they do (it takes it for a restarted run).
fn keen_fixture_scalars() -> Vec<(&'static str, f64, i64, f64)> {
    vec![
        ("negative_step", -7.5, -3, 1_700_000_000.125),
        ("loss", 2.5, 0, 1_700_000_000.25),
        ("loss", 1.25, 1, 1_700_000_001.5),
        ("loss", 0.1, 2, 1_700_000_002.75),
        ("accuracy", 0.333_333_333, 2, 1_700_000_003.0),
        ("epoch_learning_rate", 1e-3, 1_000_000, 1_700_000_004.0),
        ("big", 3.0e38, 1 << 40, 1_700_000_006.0),
    ]
}

/// The JSON fixture's scalars as keen's `Scalar`s.
fn json_scalars(v: &serde_json::Value) -> Vec<Scalar> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| Scalar {
            tag: s["tag"].as_str().unwrap().to_string(),
            step: s["step"].as_i64().unwrap(),
            // The float32's bits: exact whatever the JSON float parsing.
            value: f64::from(f32::from_bits(s["value_f32_bits"].as_u64().unwrap() as u32)),
            wall_time: s["wall_time"].as_f64().unwrap(),
        })
        .collect()
}

fn fixture_json() -> serde_json::Value {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join("scalars.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// keen writes, byte for byte, the file the `tensorboard` package read in the fixture script,
/// and reads it back to what that package read. Set `KEEN_REGEN_FIXTURES=1` to rewrite
/// `keen.tfevents` (then rerun the Python script).
#[test]
fn keen_files_are_what_tensorboard_reads() {
    let dir = scratch("keen-fixture");
    let mut w = SummaryWriter::new(&dir).unwrap();
    for (tag, value, step, time) in keen_fixture_scalars() {
        w.add_scalar_at(tag, value, step, time).unwrap();
    }
    w.flush().unwrap();
    let path = w.path().to_path_buf();
    drop(w);
    let mut bytes = std::fs::read(&path).unwrap();
    let fixture = Path::new(FIXTURES).join("keen.tfevents");
    // The first record (the file version) carries the creation time: compare the rest, and
    // the version record's payload apart from its time.
    let first = 8 + 4 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize + 4;
    if std::env::var_os("KEEN_REGEN_FIXTURES").is_some() {
        // A fixed time in the version record too, so the fixture is reproducible.
        let rewritten = rewrite_first_time(&bytes, 1_700_000_000.0);
        std::fs::write(&fixture, rewritten).unwrap();
    }
    let expected = std::fs::read(&fixture).unwrap();
    assert_eq!(
        &bytes[first..],
        &expected[first..],
        "the scalar records differ"
    );
    bytes = rewrite_first_time(&bytes, 1_700_000_000.0);
    assert_eq!(
        bytes[..first],
        expected[..first],
        "the version record differs"
    );

    let read = read_scalars(&fixture).unwrap();
    let by_tensorboard = json_scalars(&fixture_json()["keen_read_by_tensorboard"]);
    assert_eq!(read, by_tensorboard);
    // And the values are the float32 roundings of what was written.
    for (s, (tag, value, step, time)) in read.iter().zip(keen_fixture_scalars()) {
        assert_eq!((s.tag.as_str(), s.step, s.wall_time), (tag, step, time));
        assert_eq!(s.value, f64::from(value as f32));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Replaces the wall time of the first record (its first field, a double right after the
/// 1-byte key) and recomputes that record's data checksum.
fn rewrite_first_time(bytes: &[u8], time: f64) -> Vec<u8> {
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut out = bytes.to_vec();
    assert_eq!(out[12], 0x09, "the first field is the wall time");
    out[13..21].copy_from_slice(&time.to_le_bytes());
    let crc = masked_crc32c(&out[12..12 + len]);
    out[12 + len..16 + len].copy_from_slice(&crc.to_le_bytes());
    out
}

/// An independent bitwise CRC-32C, so the test does not trust the writer's table.
fn masked_crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    (!crc).rotate_right(15).wrapping_add(0xa282_ead8)
}

/// The framing of every record checked by hand: lengths, both masked checksums, and the
/// file version in the first record.
#[test]
fn records_are_framed_with_masked_crc32c() {
    let bytes = std::fs::read(Path::new(FIXTURES).join("keen.tfevents")).unwrap();
    let mut at = 0;
    let mut records = 0;
    while at < bytes.len() {
        let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
        let len_crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        assert_eq!(len_crc, masked_crc32c(&bytes[at..at + 8]));
        let data = &bytes[at + 12..at + 12 + len];
        let data_crc = u32::from_le_bytes(bytes[at + 12 + len..at + 16 + len].try_into().unwrap());
        assert_eq!(data_crc, masked_crc32c(data));
        if records == 0 {
            let version = b"brain.Event:2";
            assert!(data.windows(version.len()).any(|w| w == version));
        }
        at += 16 + len;
        records += 1;
    }
    assert_eq!(at, bytes.len());
    assert_eq!(records, 1 + keen_fixture_scalars().len());
}

/// A flipped byte or a cut-short file is an error naming the record, not garbage.
#[test]
fn corrupt_files_are_errors() {
    let dir = scratch("corrupt");
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(Path::new(FIXTURES).join("keen.tfevents")).unwrap();
    let flipped = dir.join("flipped");
    let mut b = bytes.clone();
    let last = b.len() - 6;
    b[last] ^= 1;
    std::fs::write(&flipped, &b).unwrap();
    let e = read_scalars(&flipped).unwrap_err().to_string();
    assert!(e.contains("the data's checksum does not match"), "{e}");

    let short = dir.join("short");
    std::fs::write(&short, &bytes[..bytes.len() - 3]).unwrap();
    let e = read_scalars(&short).unwrap_err().to_string();
    assert!(e.contains("the file ends inside it"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// PyTorch's `SummaryWriter.add_scalar` file reads to the scalars it was given.
#[test]
fn torch_files_read_to_their_scalars() {
    let read = read_scalars(Path::new(FIXTURES).join("torch.tfevents")).unwrap();
    let json = fixture_json();
    let written = json_scalars(&json["torch_written"]);
    assert_eq!(read.len(), written.len());
    for (r, w) in read.iter().zip(&written) {
        assert_eq!((&r.tag, r.step), (&w.tag, w.step));
        assert_eq!(r.value, f64::from(w.value as f32), "{}", r.tag);
        assert_eq!(r.wall_time, w.wall_time, "{}", r.tag);
    }
    // And to what the tensorboard package read from it.
    assert_eq!(read, json_scalars(&json["torch_read_by_tensorboard"]));
}

/// `fit` with the callback: train and validation runs, Keras' tags, one event per epoch,
/// values equal to the history's.
#[test]
fn the_callback_logs_every_epoch_as_keras_does() {
    let dir = scratch("fit");
    let x = Tensor::linspace(-1.0, 1.0, 40, DType::Float32).reshape([40, 1]);
    let y = x.mul(2.0).add(0.5);
    let mut model = Sequential::new()
        .add(Dense::new(1))
        .compile(Sgd::new(0.05), MeanSquaredError::new())
        .metrics(["mae"]);
    let history = model.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(4)
            .batch_size(8)
            .validation_split(0.25)
            .callback(TensorBoard::new(&dir))
            .verbose(Verbosity::Silent),
    );
    let train = read_scalars(event_file(&dir.join("train"))).unwrap();
    let validation = read_scalars(event_file(&dir.join("validation"))).unwrap();
    let series = |scalars: &[Scalar], tag: &str| -> Vec<(i64, f64)> {
        scalars
            .iter()
            .filter(|s| s.tag == tag)
            .map(|s| (s.step, s.value))
            .collect()
    };
    let expected = |name: &str| -> Vec<(i64, f64)> {
        history
            .get(name)
            .unwrap()
            .iter()
            .enumerate()
            .map(|(e, v)| (e as i64, f64::from(*v as f32)))
            .collect()
    };
    assert_eq!(series(&train, "epoch_loss"), expected("loss"));
    assert_eq!(series(&train, "epoch_mae"), expected("mae"));
    assert_eq!(series(&validation, "epoch_loss"), expected("val_loss"));
    assert_eq!(series(&validation, "epoch_mae"), expected("val_mae"));
    let lr: Vec<(i64, f64)> = (0..4).map(|e| (e, f64::from(0.05f32))).collect();
    assert_eq!(series(&train, "epoch_learning_rate"), lr);
    assert_eq!(train.len(), 3 * 4);
    assert_eq!(validation.len(), 2 * 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A log directory that cannot be created does not stop training.
#[test]
fn an_unwritable_log_dir_does_not_stop_training() {
    let dir = scratch("unwritable");
    std::fs::create_dir_all(&dir).unwrap();
    // A file where the directory should be.
    let blocked = dir.join("blocked");
    std::fs::write(&blocked, b"not a directory").unwrap();
    let x = Tensor::linspace(-1.0, 1.0, 16, DType::Float32).reshape([16, 1]);
    let mut model = Sequential::new()
        .add(Dense::new(1))
        .compile(Sgd::new(0.05), MeanSquaredError::new());
    let history = model.fit(
        &x,
        &x,
        FitOptions::new()
            .epochs(3)
            .callback(TensorBoard::new(&blocked))
            .verbose(Verbosity::Silent),
    );
    assert_eq!(history.epochs, [0, 1, 2]);
    std::fs::remove_dir_all(&dir).unwrap();
}
