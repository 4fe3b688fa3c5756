//! # keen-tape
//!
//! Automatic differentiation for keen: [`Variable`], [`GradientTape`], the backward walk,
//! [`gradcheck`], and checkpoints.
//!
//! ```
//! use keen_tape::{GradientTape, Variable};
//! use keen_tensor::Tensor;
//!
//! let w = Variable::new("w", Tensor::from([[0.5f64, -1.0], [2.0, 0.0]]));
//! let x = Tensor::from([[1.0f64, 2.0]]);
//! let tape = GradientTape::new();
//! let loss = x.matmul(&w.value()).tanh().sum_all();
//! let grads = tape.gradient(&loss, &[&w]);
//! println!("{}", grads[0].as_ref().unwrap());
//! ```

pub mod checkpoint;
pub mod gradcheck;
mod tape;
mod variable;

pub use gradcheck::{
    gradcheck, gradcheck_with, gradgradcheck, gradgradcheck_with, GradcheckError, GradcheckOptions,
    GradcheckProblem,
};
pub use tape::{stop_gradient, GradientTape, Source, TapeError, TapeOptions};
pub use variable::{Variable, VariableId};
