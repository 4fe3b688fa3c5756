//! TensorBoard event files for scalars: the [`TensorBoard`] callback for `fit`, a
//! [`SummaryWriter`] for custom loops, and [`read_scalars`] to read such files back.
//!
//! An event file is a sequence of TFRecords (`u64` length, masked CRC-32C of the length, the
//! data, masked CRC-32C of the data), each holding an `Event` protobuf. Only the handful of
//! protobuf fields scalars need are written, by hand, so keen needs no protobuf dependency:
//! `Event { wall_time: double = 1, step: int64 = 2, file_version: string = 3, summary: Summary = 5 }`,
//! `Summary { value: repeated Value = 1 }`, `Value { tag: string = 1, simple_value: float = 2 }`.

use super::{Callback, Logs, TrainContext};
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The first event of every file names the format version, as TensorFlow and PyTorch write it.
const FILE_VERSION: &str = "brain.Event:2";

/// Writes scalars to a TensorBoard event file (the counterpart of `tf.summary.scalar` and
/// PyTorch's `SummaryWriter.add_scalar`), for custom training loops; `fit` has the
/// [`TensorBoard`] callback instead.
///
/// Events are buffered: call [`flush`](SummaryWriter::flush) (once per epoch, say) for
/// TensorBoard to see them while training runs; dropping the writer flushes too.
///
/// ```
/// use keen_nn::fit::{read_scalars, SummaryWriter};
///
/// let dir = std::env::temp_dir().join(format!("keen-doc-summary-{}", std::process::id()));
/// let mut writer = SummaryWriter::new(&dir)?;
/// for step in 0..3 {
///     writer.add_scalar("loss", 2.0 - 0.5 * step as f64, step)?;
/// }
/// writer.flush()?;
/// let scalars = read_scalars(writer.path())?;
/// assert_eq!(scalars.len(), 3);
/// assert_eq!((scalars[2].tag.as_str(), scalars[2].step, scalars[2].value), ("loss", 2, 1.0));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SummaryWriter {
    path: PathBuf,
    file: BufWriter<File>,
}

impl SummaryWriter {
    /// Creates `log_dir` when needed and a new event file in it, named as TensorFlow names
    /// them (`events.out.tfevents.<seconds>.<host>`, then the process id and a counter, as
    /// PyTorch does, so two writers started in the same second do not share a file).
    ///
    /// # Errors
    /// When the directory or the file cannot be created.
    pub fn new(log_dir: impl AsRef<Path>) -> io::Result<Self> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let log_dir = log_dir.as_ref();
        std::fs::create_dir_all(log_dir)?;
        let now = wall_time();
        let name = format!(
            "events.out.tfevents.{}.{}.{}.{}",
            now as u64,
            hostname(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = log_dir.join(name);
        let file = File::create_new(&path)?;
        let mut writer = SummaryWriter {
            path,
            file: BufWriter::new(file),
        };
        writer.write_event(&Event {
            wall_time: now,
            step: 0,
            what: What::FileVersion(FILE_VERSION),
        })?;
        writer.flush()?;
        Ok(writer)
    }

    /// The event file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records `value` under `tag` (`"loss"`, `"epoch_accuracy"`) at `step`, stamped now.
    /// TensorBoard stores scalars as 32-bit floats.
    ///
    /// # Errors
    /// When writing fails.
    pub fn add_scalar(&mut self, tag: &str, value: f64, step: i64) -> io::Result<()> {
        self.add_scalar_at(tag, value, step, wall_time())
    }

    /// [`add_scalar`](SummaryWriter::add_scalar) with the wall time (seconds since the Unix
    /// epoch) given, for reproducible files or replayed logs.
    ///
    /// # Errors
    /// When writing fails.
    pub fn add_scalar_at(
        &mut self,
        tag: &str,
        value: f64,
        step: i64,
        wall_time: f64,
    ) -> io::Result<()> {
        self.write_event(&Event {
            wall_time,
            step,
            what: What::Scalar(tag, value as f32),
        })
    }

    /// Writes the buffered events to the file.
    ///
    /// # Errors
    /// When writing fails.
    pub fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }

    fn write_event(&mut self, event: &Event<'_>) -> io::Result<()> {
        let data = event.encode();
        let len = (data.len() as u64).to_le_bytes();
        self.file.write_all(&len)?;
        self.file.write_all(&masked_crc(&len).to_le_bytes())?;
        self.file.write_all(&data)?;
        self.file.write_all(&masked_crc(&data).to_le_bytes())
    }
}

impl fmt::Debug for SummaryWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SummaryWriter")
            .field("path", &self.path)
            .finish()
    }
}

/// Writes every epoch's logs (loss, metrics, learning rate) as TensorBoard scalars (Keras'
/// `TensorBoard` callback): training values to `<log_dir>/train`, validation values (`val_`
/// dropped from their names) to `<log_dir>/validation`, each tagged `epoch_<name>` at the
/// 0-based epoch as step, so TensorBoard draws the two runs on one chart.
///
/// Files are flushed after every epoch. Training never stops for TensorBoard: when a file
/// cannot be created or written, one line on stderr says so and that directory gets no more
/// events.
///
/// ```
/// use keen_nn::prelude::*;
/// use keen_nn::fit::{read_scalars, TensorBoard};
/// use keen_nn::losses::MeanSquaredError;
/// use keen_optim::Sgd;
/// use keen_tensor::{DType, Tensor};
///
/// let logs = std::env::temp_dir().join(format!("keen-doc-tensorboard-{}", std::process::id()));
/// let x = Tensor::linspace(-1.0, 1.0, 32, DType::Float32).reshape([32, 1]);
/// let mut model = Sequential::new()
///     .add(Dense::new(1))
///     .compile(Sgd::new(0.1), MeanSquaredError::new());
/// let options = FitOptions::new()
///     .epochs(2)
///     .validation_split(0.25)
///     .callback(TensorBoard::new(&logs))
///     .verbose(Verbosity::Silent);
/// model.fit(&x, &x.mul(3.0), options);
///
/// let file = std::fs::read_dir(logs.join("validation"))?.next().unwrap()?.path();
/// let tags: Vec<String> = read_scalars(file)?.into_iter().map(|s| s.tag).collect();
/// assert_eq!(tags, ["epoch_loss", "epoch_loss"]);
/// # std::fs::remove_dir_all(&logs)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TensorBoard {
    log_dir: PathBuf,
    train: Sink,
    validation: Sink,
}

/// One run's writer, opened on first use; `Failed` once an error was reported.
enum Sink {
    Closed,
    Open(SummaryWriter),
    Failed,
}

impl Sink {
    /// Writes `scalars` at `step` and flushes; reports the first error and then stays quiet.
    fn write(&mut self, dir: &Path, scalars: &[(String, f64)], step: i64) {
        if scalars.is_empty() || matches!(self, Sink::Failed) {
            return;
        }
        if matches!(self, Sink::Closed) {
            match SummaryWriter::new(dir) {
                Ok(w) => *self = Sink::Open(w),
                Err(e) => return self.fail(dir, e),
            }
        }
        let Sink::Open(w) = self else { return };
        let written = scalars
            .iter()
            .try_for_each(|(tag, v)| w.add_scalar(tag, *v, step))
            .and_then(|()| w.flush());
        if let Err(e) = written {
            let path = w.path().to_path_buf();
            self.fail(&path, e);
        }
    }

    fn fail(&mut self, path: &Path, e: io::Error) {
        eprintln!(
            "TensorBoard: writing to {} failed ({e}); its events stop here",
            path.display()
        );
        *self = Sink::Failed;
    }
}

impl TensorBoard {
    /// Logs under `log_dir` (created when needed), as `keras.callbacks.TensorBoard(log_dir)`.
    pub fn new(log_dir: impl AsRef<Path>) -> Self {
        TensorBoard {
            log_dir: log_dir.as_ref().to_path_buf(),
            train: Sink::Closed,
            validation: Sink::Closed,
        }
    }
}

impl Callback for TensorBoard {
    fn on_train_begin(&mut self, _ctx: &mut TrainContext<'_>) {
        // A new fit starts new files, as Keras does.
        self.train = Sink::Closed;
        self.validation = Sink::Closed;
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, _ctx: &mut TrainContext<'_>) {
        let (mut train, mut validation) = (Vec::new(), Vec::new());
        for (name, v) in logs.iter() {
            match name.strip_prefix("val_") {
                Some(name) => validation.push((format!("epoch_{name}"), v)),
                None => train.push((format!("epoch_{name}"), v)),
            }
        }
        let step = epoch as i64;
        self.train.write(&self.log_dir.join("train"), &train, step);
        self.validation
            .write(&self.log_dir.join("validation"), &validation, step);
    }

    fn on_train_end(&mut self, _ctx: &mut TrainContext<'_>) {
        // Dropping the writers flushes and closes the files.
        self.train = Sink::Closed;
        self.validation = Sink::Closed;
    }
}

/// One scalar read back from an event file.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    /// Its name (`"epoch_loss"`).
    pub tag: String,
    /// The step (the epoch, for the [`TensorBoard`] callback).
    pub step: i64,
    /// The value, stored as a 32-bit float.
    pub value: f64,
    /// When it was written, in seconds since the Unix epoch.
    pub wall_time: f64,
}

/// Reads the scalars (`simple_value` summaries) of a TensorBoard event file, in file order,
/// checking every record's framing and checksums. Events that are not scalars (the file
/// version, images, histograms) are skipped. It reads keen's files and those of TensorFlow
/// and PyTorch's `SummaryWriter`.
///
/// # Errors
/// When the file cannot be read, is cut short, or a checksum or protobuf field is wrong.
pub fn read_scalars(path: impl AsRef<Path>) -> io::Result<Vec<Scalar>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path)?;
    let bad = |offset: usize, why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: record at byte {offset}: {why}", path.display()),
        )
    };
    let mut scalars = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let record = at;
        let take = |at: &mut usize, n: usize| -> io::Result<&[u8]> {
            let s = bytes
                .get(*at..*at + n)
                .ok_or_else(|| bad(record, "the file ends inside it"))?;
            *at += n;
            Ok(s)
        };
        let len_bytes = take(&mut at, 8)?;
        let len_crc = u32::from_le_bytes(take(&mut at, 4)?.try_into().unwrap());
        if masked_crc(len_bytes) != len_crc {
            return Err(bad(record, "the length's checksum does not match"));
        }
        let len = u64::from_le_bytes(len_bytes.try_into().unwrap());
        let len = usize::try_from(len).map_err(|_| bad(record, "its length is too large"))?;
        let data = take(&mut at, len)?;
        let data_crc = u32::from_le_bytes(take(&mut at, 4)?.try_into().unwrap());
        if masked_crc(data) != data_crc {
            return Err(bad(record, "the data's checksum does not match"));
        }
        decode_event(data, &mut scalars).map_err(|why| bad(record, why))?;
    }
    Ok(scalars)
}

/// What an event carries besides its time and step.
enum What<'a> {
    FileVersion(&'a str),
    Scalar(&'a str, f32),
}

struct Event<'a> {
    wall_time: f64,
    step: i64,
    what: What<'a>,
}

// Protobuf wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

impl Event<'_> {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        key(&mut out, 1, FIXED64);
        out.extend_from_slice(&self.wall_time.to_le_bytes());
        if self.step != 0 {
            key(&mut out, 2, VARINT);
            varint(&mut out, self.step as u64);
        }
        match self.what {
            What::FileVersion(v) => bytes_field(&mut out, 3, v.as_bytes()),
            What::Scalar(tag, v) => {
                let mut value = Vec::with_capacity(tag.len() + 8);
                bytes_field(&mut value, 1, tag.as_bytes());
                key(&mut value, 2, FIXED32);
                value.extend_from_slice(&v.to_le_bytes());
                let mut summary = Vec::with_capacity(value.len() + 2);
                bytes_field(&mut summary, 1, &value);
                bytes_field(&mut out, 5, &summary);
            }
        }
        out
    }
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, u64::from((field << 3) | u32::from(wire)));
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    key(out, field, LEN);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A protobuf message's fields, one at a time: `(field number, value)`.
struct Fields<'a>(&'a [u8]);

enum Field<'a> {
    Varint(u64),
    Fixed64([u8; 8]),
    Bytes(&'a [u8]),
    Fixed32([u8; 4]),
}

impl<'a> Fields<'a> {
    fn read_varint(&mut self) -> Result<u64, &'static str> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first().ok_or("a varint is cut short")?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("a varint is longer than 10 bytes")
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("a field is cut short");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn next_field(&mut self) -> Result<Option<(u64, Field<'a>)>, &'static str> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let k = self.read_varint()?;
        let field = match (k & 7) as u8 {
            VARINT => Field::Varint(self.read_varint()?),
            FIXED64 => Field::Fixed64(self.take(8)?.try_into().unwrap()),
            LEN => {
                let n =
                    usize::try_from(self.read_varint()?).map_err(|_| "a length is too large")?;
                Field::Bytes(self.take(n)?)
            }
            FIXED32 => Field::Fixed32(self.take(4)?.try_into().unwrap()),
            _ => return Err("a field has an unknown wire type"),
        };
        Ok(Some((k >> 3, field)))
    }
}

/// Appends the scalars of one `Event` to `out`.
fn decode_event(data: &[u8], out: &mut Vec<Scalar>) -> Result<(), &'static str> {
    let (mut wall_time, mut step) = (0.0, 0);
    let mut summaries = Vec::new();
    let mut event = Fields(data);
    while let Some((number, field)) = event.next_field()? {
        match (number, field) {
            (1, Field::Fixed64(b)) => wall_time = f64::from_le_bytes(b),
            (2, Field::Varint(v)) => step = v as i64,
            (5, Field::Bytes(b)) => summaries.push(b),
            _ => {}
        }
    }
    for summary in summaries {
        let mut summary = Fields(summary);
        while let Some((number, field)) = summary.next_field()? {
            let (1, Field::Bytes(value)) = (number, field) else {
                continue;
            };
            let (mut tag, mut simple) = (String::new(), None);
            let mut value = Fields(value);
            while let Some((number, field)) = value.next_field()? {
                match (number, field) {
                    (1, Field::Bytes(b)) => tag = String::from_utf8_lossy(b).into_owned(),
                    (2, Field::Fixed32(b)) => simple = Some(f32::from_le_bytes(b)),
                    _ => {}
                }
            }
            if let Some(v) = simple {
                out.push(Scalar {
                    tag,
                    step,
                    value: f64::from(v),
                    wall_time,
                });
            }
        }
    }
    Ok(())
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven, one byte at a time:
/// event files are small, so the few lines beat a dependency.
fn crc32c(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0x82F6_3B78
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !data.iter().fold(!0u32, |crc, &b| {
        TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8)
    })
}

/// TFRecord's masked CRC (a checksum of data that holds checksums is weak unmasked).
fn masked_crc(data: &[u8]) -> u32 {
    crc32c(data).rotate_right(15).wrapping_add(0xa282_ead8)
}

fn wall_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The machine's name for file names; std has no portable call, so the usual places.
fn hostname() -> String {
    let name = std::env::var("HOSTNAME")
        .or_else(|_| std::env::var("COMPUTERNAME"))
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if name.is_empty() {
        "localhost".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        // The check value of CRC-32C (RFC 3720, appendix B.4).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
    }

    #[test]
    fn events_round_trip_through_the_decoder() {
        let event = Event {
            wall_time: 1.5,
            step: 300,
            what: What::Scalar("epoch_loss", 0.25),
        };
        let mut out = Vec::new();
        decode_event(&event.encode(), &mut out).unwrap();
        assert_eq!(
            out,
            [Scalar {
                tag: "epoch_loss".into(),
                step: 300,
                value: 0.25,
                wall_time: 1.5
            }]
        );
    }
}
