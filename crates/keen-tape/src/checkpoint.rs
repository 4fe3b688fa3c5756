//! Checkpoints: named tensors in safetensors files, and the whole training state in a bincode
//! file, with [`latest_checkpoint`] for a directory.
//!
//! Every write is atomic: the bytes go to a temporary file in the same directory, which is
//! flushed to disk and then renamed over the target, so a crash mid-save leaves the previous
//! checkpoint intact. Every read is checked: a truncated, corrupt or mismatched file is a
//! [`CheckpointError`] naming the problem, never a panic, and no allocation is sized by what a
//! header claims beyond the file's actual length.

use crate::variable::Variable;
use keen_tensor::{DType, Tensor};
use safetensors::tensor::{Dtype as StDtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What went wrong reading or writing a checkpoint.
#[derive(Debug)]
pub enum CheckpointError {
    /// The file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The bytes are not a valid file of the expected format (truncated, garbage, bad header).
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A name asked for is not in the file.
    Missing {
        /// The file.
        path: PathBuf,
        /// The tensor or variable name.
        name: String,
    },
    /// A stored tensor does not fit the variable it should restore.
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The tensor or variable name.
        name: String,
        /// What is wrong (`shape (2, 3) in the file, (3, 2) in the variable`).
        message: String,
    },
    /// A dtype keen does not have (`BF16`, `F16`, …).
    UnsupportedDType {
        /// The file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// The dtype as the file names it.
        dtype: String,
    },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Io { path, source } => {
                write!(f, "checkpoint {}: {source}", path.display())
            }
            CheckpointError::Corrupt { path, message } => {
                write!(f, "checkpoint {}: corrupt file: {message}", path.display())
            }
            CheckpointError::Missing { path, name } => {
                write!(f, "checkpoint {}: no tensor named `{name}`", path.display())
            }
            CheckpointError::Mismatch {
                path,
                name,
                message,
            } => write!(f, "checkpoint {}: `{name}`: {message}", path.display()),
            CheckpointError::UnsupportedDType { path, name, dtype } => write!(
                f,
                "checkpoint {}: `{name}` has dtype {dtype}, which keen does not support",
                path.display()
            ),
        }
    }
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckpointError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` atomically: temporary file in the same directory, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| CheckpointError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        })?
        .to_string_lossy()
        .into_owned();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{file_name}.tmp-{}-{n}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io(path))?;
        // Make the rename itself durable (best effort: not every platform opens directories).
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

// ---- raw bytes of a tensor, little-endian, row-major ----

/// The tensor's elements as little-endian bytes, row-major.
pub fn tensor_to_bytes(t: &Tensor) -> Vec<u8> {
    fn le<T: keen_tensor::Element, const N: usize>(
        t: &Tensor,
        f: impl Fn(T) -> [u8; N],
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(t.numel() * N);
        for v in t.to_vec::<T>() {
            out.extend_from_slice(&f(v));
        }
        out
    }
    match t.dtype() {
        DType::Float32 => le::<f32, 4>(t, f32::to_le_bytes),
        DType::Float64 => le::<f64, 8>(t, f64::to_le_bytes),
        DType::Int32 => le::<i32, 4>(t, i32::to_le_bytes),
        DType::Int64 => le::<i64, 8>(t, i64::to_le_bytes),
        DType::UInt8 => t.to_vec::<u8>(),
        DType::Bool => t.to_vec::<bool>().into_iter().map(u8::from).collect(),
    }
}

/// A tensor from little-endian bytes; `None` when the byte count does not fit the shape.
pub fn tensor_from_bytes(dtype: DType, shape: &[usize], bytes: &[u8]) -> Option<Tensor> {
    let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
    if numel.checked_mul(dtype.size_in_bytes())? != bytes.len() {
        return None;
    }
    fn chunks<T: keen_tensor::Element, const N: usize>(
        b: &[u8],
        shape: &[usize],
        f: impl Fn([u8; N]) -> T,
    ) -> Tensor {
        let v: Vec<T> = b
            .chunks_exact(N)
            .map(|c| f(c.try_into().expect("exact chunk")))
            .collect();
        Tensor::from_vec(v, shape.to_vec())
    }
    Some(match dtype {
        DType::Float32 => chunks(bytes, shape, f32::from_le_bytes),
        DType::Float64 => chunks(bytes, shape, f64::from_le_bytes),
        DType::Int32 => chunks(bytes, shape, i32::from_le_bytes),
        DType::Int64 => chunks(bytes, shape, i64::from_le_bytes),
        DType::UInt8 => Tensor::from_vec(bytes.to_vec(), shape.to_vec()),
        DType::Bool => Tensor::from_vec(
            bytes.iter().map(|&b| b != 0).collect::<Vec<bool>>(),
            shape.to_vec(),
        ),
    })
}

// ---- safetensors ----

fn to_st(d: DType) -> StDtype {
    match d {
        DType::Float32 => StDtype::F32,
        DType::Float64 => StDtype::F64,
        DType::Int32 => StDtype::I32,
        DType::Int64 => StDtype::I64,
        DType::UInt8 => StDtype::U8,
        DType::Bool => StDtype::BOOL,
    }
}

fn from_st(d: StDtype) -> Option<DType> {
    Some(match d {
        StDtype::F32 => DType::Float32,
        StDtype::F64 => DType::Float64,
        StDtype::I32 => DType::Int32,
        StDtype::I64 => DType::Int64,
        StDtype::U8 => DType::UInt8,
        StDtype::BOOL => DType::Bool,
        _ => return None,
    })
}

/// The bytes of a safetensors file holding `tensors` (names must be unique).
pub fn safetensors_bytes(tensors: &[(&str, &Tensor)]) -> Result<Vec<u8>, String> {
    let bytes: Vec<Vec<u8>> = tensors.iter().map(|(_, t)| tensor_to_bytes(t)).collect();
    let mut views = Vec::with_capacity(tensors.len());
    for ((name, t), b) in tensors.iter().zip(&bytes) {
        let v =
            TensorView::new(to_st(t.dtype()), t.dims().to_vec(), b).map_err(|e| e.to_string())?;
        views.push((name.to_string(), v));
    }
    safetensors::serialize(views, None).map_err(|e| e.to_string())
}

/// Saves named tensors as a safetensors file (readable by PyTorch and HuggingFace tools).
pub fn save_safetensors(
    path: impl AsRef<Path>,
    tensors: &[(&str, &Tensor)],
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let bytes = safetensors_bytes(tensors).map_err(|message| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        message,
    })?;
    write_atomic(path, &bytes)
}

/// Parses safetensors bytes into named tensors; `path` is for messages.
pub fn parse_safetensors(
    path: &Path,
    bytes: &[u8],
) -> Result<BTreeMap<String, Tensor>, CheckpointError> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        message: format!("not a valid safetensors file: {e}"),
    })?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        let Some(dtype) = from_st(view.dtype()) else {
            return Err(CheckpointError::UnsupportedDType {
                path: path.to_path_buf(),
                name,
                dtype: view.dtype().to_string(),
            });
        };
        let t = tensor_from_bytes(dtype, view.shape(), view.data()).ok_or_else(|| {
            CheckpointError::Corrupt {
                path: path.to_path_buf(),
                message: format!(
                    "`{name}`: {} bytes do not fill shape {:?} of {dtype}",
                    view.data().len(),
                    view.shape()
                ),
            }
        })?;
        out.insert(name, t);
    }
    Ok(out)
}

/// Loads every tensor of a safetensors file, by name.
pub fn load_safetensors(
    path: impl AsRef<Path>,
) -> Result<BTreeMap<String, Tensor>, CheckpointError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(io(path))?;
    parse_safetensors(path, &bytes)
}

/// Saves variables by name as a safetensors file.
pub fn save_variables(
    path: impl AsRef<Path>,
    variables: &[Variable],
) -> Result<(), CheckpointError> {
    let values: Vec<Tensor> = variables.iter().map(Variable::value_unwatched).collect();
    let named: Vec<(&str, &Tensor)> = variables.iter().map(Variable::name).zip(&values).collect();
    save_safetensors(path, &named)
}

/// Restores variables by name from `tensors`: all are checked first (missing names, shapes,
/// dtypes), then all are assigned, so a failed restore changes nothing.
pub fn restore_variables(
    path: &Path,
    tensors: &BTreeMap<String, Tensor>,
    variables: &[Variable],
) -> Result<(), CheckpointError> {
    for v in variables {
        let Some(t) = tensors.get(v.name()) else {
            return Err(CheckpointError::Missing {
                path: path.to_path_buf(),
                name: v.name().to_string(),
            });
        };
        let (shape, dtype) = (v.shape(), v.dtype());
        if t.shape() != &shape || t.dtype() != dtype {
            return Err(CheckpointError::Mismatch {
                path: path.to_path_buf(),
                name: v.name().to_string(),
                message: format!(
                    "the file has shape {} and dtype {}, the variable has {} and {}",
                    t.shape(),
                    t.dtype(),
                    shape,
                    dtype
                ),
            });
        }
    }
    for v in variables {
        v.assign(&tensors[v.name()]);
    }
    Ok(())
}

/// Loads variables by name from a safetensors file (extra tensors in the file are ignored).
pub fn load_variables(
    path: impl AsRef<Path>,
    variables: &[Variable],
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let tensors = load_safetensors(path)?;
    restore_variables(path, &tensors, variables)
}

// ---- training state (bincode) ----

/// The whole state of a training run: variables, optimizer slots (as named tensors) and the
/// step counter.
#[derive(Clone, Debug, Default)]
pub struct TrainingState {
    /// The step counter.
    pub step: u64,
    /// The model's variables, by name.
    pub variables: BTreeMap<String, Tensor>,
    /// The optimizer's slots (`dense/kernel/adam_m`, …), by name.
    pub slots: BTreeMap<String, Tensor>,
}

impl TrainingState {
    /// A state holding the current values of `variables`.
    pub fn from_variables(step: u64, variables: &[Variable]) -> Self {
        TrainingState {
            step,
            variables: variables
                .iter()
                .map(|v| (v.name().to_string(), v.value_unwatched()))
                .collect(),
            slots: BTreeMap::new(),
        }
    }

    /// Assigns the stored values to `variables` by name (all checked before any is assigned).
    pub fn restore(&self, variables: &[Variable]) -> Result<(), CheckpointError> {
        restore_variables(Path::new("<training state>"), &self.variables, variables)
    }
}

const MAGIC: &[u8; 8] = b"KEENSTAT";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Record {
    name: String,
    dtype: DType,
    shape: Vec<u64>,
    bytes: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    step: u64,
    variables: Vec<Record>,
    slots: Vec<Record>,
}

fn records(m: &BTreeMap<String, Tensor>) -> Vec<Record> {
    m.iter()
        .map(|(name, t)| Record {
            name: name.clone(),
            dtype: t.dtype(),
            shape: t.dims().iter().map(|&d| d as u64).collect(),
            bytes: tensor_to_bytes(t),
        })
        .collect()
}

fn bincode_options() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new().with_fixint_encoding()
}

/// The bytes of a training-state file: `KEENSTAT`, a u32 version, then bincode.
pub fn state_bytes(state: &TrainingState) -> Vec<u8> {
    use bincode::Options;
    let file = StateFile {
        step: state.step,
        variables: records(&state.variables),
        slots: records(&state.slots),
    };
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend(
        bincode_options()
            .serialize(&file)
            .expect("serialising to memory"),
    );
    out
}

/// Parses a training-state file's bytes; `path` is for messages.
pub fn parse_state(path: &Path, bytes: &[u8]) -> Result<TrainingState, CheckpointError> {
    use bincode::Options;
    let corrupt = |message: String| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(corrupt(
            "not a keen training-state file (no KEENSTAT header)".into(),
        ));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(corrupt(format!(
            "format version {version}, this keen reads version {VERSION}"
        )));
    }
    let body = &bytes[12..];
    // The limit bounds every allocation by the file's own length.
    let file: StateFile = bincode_options()
        .with_limit(body.len() as u64)
        .deserialize(body)
        .map_err(|e| corrupt(format!("truncated or corrupt state: {e}")))?;
    let decode = |recs: Vec<Record>| -> Result<BTreeMap<String, Tensor>, CheckpointError> {
        let mut m = BTreeMap::new();
        for r in recs {
            let shape: Option<Vec<usize>> =
                r.shape.iter().map(|&d| usize::try_from(d).ok()).collect();
            let t = shape
                .and_then(|s| tensor_from_bytes(r.dtype, &s, &r.bytes))
                .ok_or_else(|| {
                    corrupt(format!(
                        "`{}`: {} bytes do not fill shape {:?} of {}",
                        r.name,
                        r.bytes.len(),
                        r.shape,
                        r.dtype
                    ))
                })?;
            if m.insert(r.name.clone(), t).is_some() {
                return Err(corrupt(format!("`{}` appears twice", r.name)));
            }
        }
        Ok(m)
    };
    Ok(TrainingState {
        step: file.step,
        variables: decode(file.variables)?,
        slots: decode(file.slots)?,
    })
}

/// Saves a training state to `path` (atomically).
pub fn save_state(path: impl AsRef<Path>, state: &TrainingState) -> Result<(), CheckpointError> {
    write_atomic(path.as_ref(), &state_bytes(state))
}

/// Loads a training state from `path`.
pub fn load_state(path: impl AsRef<Path>) -> Result<TrainingState, CheckpointError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(io(path))?;
    parse_state(path, &bytes)
}

/// Saves `state` as `dir/ckpt-<step>.keen` (creating `dir`) and returns the path.
pub fn save_checkpoint(
    dir: impl AsRef<Path>,
    state: &TrainingState,
) -> Result<PathBuf, CheckpointError> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(format!("ckpt-{}.keen", state.step));
    save_state(&path, state)?;
    Ok(path)
}

/// The checkpoint with the highest step in `dir` (`ckpt-<step>.keen`), as TensorFlow's
/// `tf.train.latest_checkpoint`; `None` when there is none (or no such directory).
pub fn latest_checkpoint(dir: impl AsRef<Path>) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir.as_ref()).ok()?;
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let step: u64 = name
                .strip_prefix("ckpt-")?
                .strip_suffix(".keen")?
                .parse()
                .ok()?;
            Some((step, e.path()))
        })
        .max_by_key(|(step, _)| *step)
        .map(|(_, p)| p)
}
