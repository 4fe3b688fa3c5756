//! # keen-optim
//!
//! Optimizers, learning-rate schedules and gradient clipping for keen, with Keras 3's
//! algorithms, argument names and defaults.
//!
//! ```
//! use keen_optim::{Adam, CosineDecay, Optimizer};
//! use keen_tape::{GradientTape, Variable};
//! use keen_tensor::Tensor;
//!
//! let w = Variable::new("dense.kernel", Tensor::from([[0.5f32, -0.5], [1.0, 0.0]]));
//! let x = Tensor::from([[1.0f32, 2.0]]);
//! let vars = vec![w.clone()];
//! let schedule = CosineDecay::new(0.0, 100).warmup_target(1e-2).warmup_steps(10);
//! let mut opt = Adam::new(schedule).clipnorm(1.0);
//! for _ in 0..20 {
//!     let tape = GradientTape::new();
//!     let loss = x.matmul(&w.value()).square().mean(&[], false);
//!     let grads = tape.gradient(&loss, &vars);
//!     opt.apply_gradients(&grads, &vars);
//! }
//! println!("step {} at lr {:.4}: {w}", opt.iterations(), opt.learning_rate());
//! ```
//!
//! | optimizer | slots | differs from PyTorch in |
//! |---|---|---|
//! | [`Sgd`] | `momentum` | the momentum buffer holds `lr·g` (same result at constant lr) |
//! | [`Adam`], [`AdamW`] | `momentum`, `velocity`, (`velocity_hat`) | ε added before bias correction |
//! | [`RmsProp`] | `velocity`, (`momentum`), (`average_gradient`) | ε inside the root |
//! | [`Adagrad`] | `accumulator` (starts at 0.1) | ε inside the root, initial accumulator |
//! | [`Adadelta`] | `accumulated_grad`, `accumulated_delta_var` | default lr 0.001 (PyTorch 1.0) |
//! | [`Adamax`] | `momentum`, `norm` | ε added to the norm, not inside the max |
//! | [`Nadam`] | `momentum`, `velocity` | momentum schedule 0.96ᵗ |
//!
//! Every optimizer takes Keras' shared options as builder methods: `clipvalue`, `clipnorm`,
//! `global_clipnorm`, `weight_decay` (decoupled), `exclude_from_weight_decay`. Updates are
//! fused: one pass over each variable's data updates its slots and writes its new value (see
//! [`core`]). An optimizer written outside this crate implements [`UpdateRule`] and uses
//! [`OptimizerCore`] and [`optimizer_common!`] exactly as the built-in ones do.

pub mod clip;
pub mod core;
mod error;
pub mod optimizer;
pub mod schedule;

mod adadelta;
mod adagrad;
mod adam;
mod adamax;
mod adamw;
mod nadam;
mod rmsprop;
mod sgd;

pub use crate::core::{OptimizerCore, UpdateRule};
pub use adadelta::Adadelta;
pub use adagrad::Adagrad;
pub use adam::Adam;
pub use adamax::Adamax;
pub use adamw::AdamW;
pub use clip::Clip;
pub use error::OptimizerError;
pub use nadam::Nadam;
pub use optimizer::{Optimizer, OptimizerState};
pub use rmsprop::RmsProp;
pub use schedule::{
    CosineDecay, ExponentialDecay, InverseTimeDecay, LearningRate, LearningRateSchedule,
    PiecewiseConstantDecay, PolynomialDecay,
};
pub use sgd::Sgd;

/// Paths [`optimizer_common!`] uses, so it works in crates that do not name keen-tape.
#[doc(hidden)]
pub mod __private {
    pub use keen_tape::Variable;
    pub use keen_tensor::Tensor;
}

/// Below this many elements an update stays on the calling thread (keen-tensor's threshold).
pub(crate) const PAR_MIN: usize = 1 << 16;
