//! # keen-tensor
//!
//! The eager tensor at the bottom of keen: one [`Tensor`] type with a runtime [`DType`] and
//! [`Shape`], immutable reference-counted storage, NumPy broadcasting, and fast kernels.
//! Every op runs at once and returns a value you can print:
//!
//! ```
//! use keen_tensor::{Tensor, DType};
//!
//! let a = Tensor::from([[1, 2], [3, 4]]);
//! let b = Tensor::from([[5, 6], [7, 8]]);
//! println!("{}", a.matmul(&b)); // Tensor([[19, 22], [43, 50]], shape=(2, 2), dtype=int32)
//!
//! let x = Tensor::linspace(-1.0, 1.0, 5, DType::Float32);
//! let y = (&x * 2.0).tanh().sum(&[], false);
//! println!("{y}");
//! ```
//!
//! Programmer errors panic at the caller's line with a message naming the op and operands;
//! every op has a `try_` twin returning [`TensorError`]. Automatic differentiation hooks in
//! through [`record`]: each op offers its backward rule to the active recorders (keen-tape).

pub mod dtype;
pub mod error;
pub mod kernels;
#[macro_use]
mod macros;
mod display;
mod memory;
pub mod ops;
pub mod record;
mod serde_impl;
pub mod shape;
pub mod storage;
mod tensor;
pub mod threads;

pub use dtype::{DType, Element, Float, Num};
pub use error::{ErrorKind, Result, TensorError};
pub use ops::binary::Operand;
/// `keen_tensor::random::set_seed(42)`, as `tf$random$set_seed`.
pub use ops::random;
pub use shape::Shape;
pub use tensor::{NestedArray, Tensor, TensorId};
