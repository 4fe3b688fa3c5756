//! Errors of the data pipeline: fallible input (files, user data) is a [`DataError`], never a panic.

use std::fmt;
use std::path::Path;

/// What went wrong, for code that wants to match on it; the message says the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataErrorKind {
    /// A file that is missing or cannot be read or written.
    Io,
    /// Bytes that do not decode: an image, an IDX or `.mo` file, a cache file.
    Decode,
    /// A CSV or TSV row with the wrong number of columns or a value that does not parse.
    Parse,
    /// Elements whose shapes, dtypes or structure do not fit together (batching ragged rows, zip).
    Shape,
    /// A bad argument (a zero batch size, an unknown dataset name).
    Argument,
    /// A tensor op failed inside a transform.
    Tensor,
    /// A dataset could not be fetched (a missing client, a failed download).
    Fetch,
}

/// An error from a dataset source or transform, reading like a sentence that names the file, row
/// or element: `csv data/x.csv: row 3: expected 4 columns, found 3`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataError {
    kind: DataErrorKind,
    message: String,
}

impl DataError {
    /// A new error of `kind` with the full message.
    pub fn new(kind: DataErrorKind, message: impl Into<String>) -> Self {
        DataError {
            kind,
            message: message.into(),
        }
    }

    /// An I/O error on `path`, with what was being done.
    pub fn io(what: &str, path: &Path, e: std::io::Error) -> Self {
        DataError::new(DataErrorKind::Io, format!("{what} {}: {e}", path.display()))
    }

    /// The category of the error.
    pub fn kind(&self) -> DataErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with `context: ` in front of its message.
    pub fn context(self, context: impl fmt::Display) -> Self {
        DataError {
            kind: self.kind,
            message: format!("{context}: {}", self.message),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DataError {}

impl From<keen_tensor::TensorError> for DataError {
    fn from(e: keen_tensor::TensorError) -> Self {
        DataError::new(DataErrorKind::Tensor, e.message())
    }
}

/// `Result` with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;

/// Returns early with a [`DataError`] of the given kind and a `format!` message.
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::error::DataError::new($crate::error::DataErrorKind::$kind, format!($($arg)*)))
    };
}
pub(crate) use bail;
