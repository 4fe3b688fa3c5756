//! # keen
//!
//! Eager-execution deep learning in Rust. This facade re-exports the crates of the stack;
//! `use keen::prelude::*;` brings in what a training script needs.
//!
//! ```
//! use keen::prelude::*;
//! let x = Tensor::from([[1.0f32, 2.0], [3.0, 4.0]]);
//! println!("{}", x.matmul(&x));
//! ```

pub use keen_tensor as tensor;

/// The names a training script needs.
pub mod prelude {
    pub use keen_tape::{GradientTape, Variable};
    pub use keen_tensor::ops::slice::SliceArg;
    pub use keen_tensor::{s, DType, Shape, Tensor, TensorError};
}
