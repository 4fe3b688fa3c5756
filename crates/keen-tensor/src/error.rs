//! Errors. Programmer errors panic at the caller's line; every op also has a `try_` twin that
//! returns [`TensorError`] so a library or a server can recover.

use std::fmt;

/// What went wrong, for code that wants to match on it; the message says the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Shapes that do not fit the op (broadcasting, matmul, reshape, concat, …).
    Shape,
    /// A dtype the op does not accept, or two operands of different dtypes.
    DType,
    /// An axis out of range or repeated.
    Axis,
    /// An index out of bounds (gather, slicing, one_hot, …).
    Index,
    /// A size that would overflow `usize` or exhaust memory.
    Overflow,
    /// An argument out of its domain (a negative count, a zero step, …).
    Argument,
    /// Bytes that do not decode into a tensor.
    Decode,
}

/// An error from a tensor op, reading like a sentence: `op: what is wrong: the operands`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorError {
    kind: ErrorKind,
    message: String,
}

impl TensorError {
    /// A new error of `kind` with the full message (which starts with the op's name).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        TensorError {
            kind,
            message: message.into(),
        }
    }

    /// The category of the error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without a trailing newline.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TensorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TensorError {}

/// `Result` with [`TensorError`].
pub type Result<T, E = TensorError> = std::result::Result<T, E>;

/// Returns early with a [`TensorError`] of the given kind and a `format!` message.
#[macro_export]
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::TensorError::new($crate::ErrorKind::$kind, format!($($arg)*)))
    };
}

/// Unwraps a `Result<T, TensorError>` or panics with its message at the caller's line.
///
/// A function, not `unwrap_or_else`, because `#[track_caller]` does not see through closures.
#[track_caller]
#[inline]
pub fn or_panic<T>(r: Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}
