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

pub use keen_data as data;
pub use keen_nn as nn;
pub use keen_nn::{fit, losses, metrics};
pub use keen_optim as optim;
pub use keen_tape as tape;
pub use keen_tensor as tensor;
pub use keen_zoo as zoo;

/// The names a training script needs.
pub mod prelude {
    pub use keen_data::{Dataset, Elem};
    pub use keen_nn::prelude::*;
    pub use keen_optim::{Adadelta, Adagrad, Adam, AdamW, Adamax, Nadam, Optimizer, RmsProp, Sgd};
    pub use keen_tape::{GradientTape, Variable};
    pub use keen_tensor::ops::slice::SliceArg;
    pub use keen_tensor::{s, DType, Shape, Tensor, TensorError};
}

/// The guide (`docs/guide/`): every Rust block in it runs as a doc test, so the guide cannot
/// drift from the API.
#[cfg(doctest)]
pub mod guide {
    #[doc = include_str!("../../../docs/guide/01-tensors.md")]
    pub struct Tensors;
    #[doc = include_str!("../../../docs/guide/02-gradient-tape.md")]
    pub struct GradientTape;
    #[doc = include_str!("../../../docs/guide/03-custom-models.md")]
    pub struct CustomModels;
    #[doc = include_str!("../../../docs/guide/04-datasets.md")]
    pub struct Datasets;
    #[doc = include_str!("../../../docs/guide/05-training-loop.md")]
    pub struct TrainingLoop;
    #[doc = include_str!("../../../docs/guide/06-fit.md")]
    pub struct Fit;
    #[doc = include_str!("../../../docs/guide/07-checkpoints.md")]
    pub struct Checkpoints;
    #[doc = include_str!("../../../docs/guide/08-debugging.md")]
    pub struct Debugging;
}
