//! [`OptimizerError`]: what `try_apply_gradients` and `load_state` report.

use keen_tensor::TensorError;
use std::fmt;

/// An optimizer misuse or a state that does not fit, as one sentence:
/// `apply_gradients: no gradients for any variable: is the loss connected to the model?`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptimizerError {
    message: String,
}

impl OptimizerError {
    /// An error with the full message (which starts with the method's name).
    pub fn new(message: impl Into<String>) -> Self {
        OptimizerError {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for OptimizerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OptimizerError {}

impl From<TensorError> for OptimizerError {
    fn from(e: TensorError) -> Self {
        OptimizerError::new(e.message())
    }
}

/// Returns early with an [`OptimizerError`] built by `format!`.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::OptimizerError::new(format!($($arg)*)))
    };
}
pub(crate) use bail;
