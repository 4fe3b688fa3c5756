//! The [`Optimizer`] trait and the [`OptimizerState`] a checkpoint saves.

use crate::error::bail;
use crate::OptimizerError;
use keen_tape::Variable;
use keen_tensor::Tensor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Something that updates variables from their gradients: the last line of a training step.
///
/// ```
/// use keen_optim::{Adam, Optimizer};
/// use keen_tape::{GradientTape, Variable};
/// use keen_tensor::Tensor;
///
/// let w = Variable::new("w", Tensor::from([1.0f32, -2.0]));
/// let mut opt = Adam::new(0.1);
/// for _ in 0..3 {
///     let tape = GradientTape::new();
///     let loss = w.value().square().sum_all();
///     let grads = tape.gradient(&loss, &[&w]);
///     opt.apply_gradients(&grads, &[w.clone()]);
/// }
/// assert_eq!(opt.iterations(), 3);
/// println!("{w}"); // both weights moved 0.3 towards zero
/// ```
///
/// Slots (Adam's moments, SGD's momentum) are created on the first `apply_gradients` that
/// sees a variable, keyed by its [`VariableId`](keen_tape::VariableId), and saved under its
/// name (Keras builds them lazily too, so the order of model building and optimizer creation
/// does not matter).
pub trait Optimizer: Send {
    /// The optimizer's name as Keras spells it (`"Adam"`, `"SGD"`, `"RMSprop"`).
    fn name(&self) -> &str;

    /// Updates each variable from its gradient and advances the step counter.
    ///
    /// `grads[i]` belongs to `vars[i]` (the order `tape.gradient(&loss, &vars)` returns).
    /// A `None` gradient skips its variable, with one warning on stderr naming the skipped
    /// variables (once per set of skipped variables).
    ///
    /// # Panics
    /// When every gradient is `None` (`apply_gradients: no gradients for any variable: is the
    /// loss connected to the model?`), when the lengths differ, when a gradient's shape or
    /// dtype differs from its variable's, or when a variable appears twice. See
    /// [`try_apply_gradients`](Self::try_apply_gradients).
    #[track_caller]
    fn apply_gradients(&mut self, grads: &[Option<Tensor>], vars: &[Variable]) {
        if let Err(e) = self.try_apply_gradients(grads, vars) {
            panic!("{e}");
        }
    }

    /// Fallible [`apply_gradients`](Self::apply_gradients). On an error nothing is updated.
    fn try_apply_gradients(
        &mut self,
        grads: &[Option<Tensor>],
        vars: &[Variable],
    ) -> Result<(), OptimizerError>;

    /// The learning rate the next step will use (a schedule evaluated at
    /// [`iterations`](Self::iterations)).
    fn learning_rate(&self) -> f64;

    /// Sets a constant learning rate from now on, replacing any schedule (what
    /// `ReduceLROnPlateau` does).
    fn set_learning_rate(&mut self, learning_rate: f64);

    /// The number of steps applied so far: the global step (Keras `optimizer.iterations`).
    fn iterations(&self) -> u64;

    /// A copy of everything needed to resume: the step, the learning rate, optimizer-wide
    /// scalars and every slot, named by variable.
    fn state(&self) -> OptimizerState;

    /// Restores a [`state`](Self::state). Slots are matched to variables by name on the next
    /// `apply_gradients`, so the model may be rebuilt (new [`VariableId`](keen_tape::VariableId)s)
    /// before or after loading.
    ///
    /// # Errors
    /// When the state was saved by another kind of optimizer or with other slot options
    /// (`load_state: variable \`w\` has slots (momentum) in the state, but this SGD keeps ()`).
    fn load_state(&mut self, state: &OptimizerState) -> Result<(), OptimizerError>;
}

/// An optimizer's state as named tensors and scalars, for checkpoints (serde: JSON, bincode).
///
/// Slots are named `<variable name>/<slot name>` with Keras' slot names
/// (`dense.kernel/momentum`, `dense.kernel/velocity`), each a tensor of the variable's shape
/// and dtype.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OptimizerState {
    /// The optimizer's [`name`](Optimizer::name); loading into another kind is an error.
    pub optimizer: String,
    /// The step counter.
    pub iterations: u64,
    /// The learning rate in use when the state was taken (restored only when the optimizer
    /// has a constant learning rate; a schedule recomputes it from `iterations`).
    pub learning_rate: f64,
    /// Optimizer-wide numbers besides the step (Nadam's `u_product`).
    pub scalars: Vec<(String, f64)>,
    /// One entry per slot per variable: `(variable/slot, value)`.
    pub slots: Vec<(String, Tensor)>,
}

/// The prefix of the entries [`OptimizerState::to_named_tensors`] adds besides the slots.
const META: &str = "optimizer:";

impl OptimizerState {
    /// The state as one map of named tensors, for a checkpoint that stores tensors by name
    /// (`keen_tape::checkpoint::TrainingState::slots`, safetensors): every slot under its
    /// `variable/slot` name, plus `optimizer:name` (the name's UTF-8 bytes, uint8),
    /// `optimizer:iterations` (int64), `optimizer:learning_rate` and one
    /// `optimizer:<scalar>` per scalar (float64, rank 0).
    pub fn to_named_tensors(&self) -> BTreeMap<String, Tensor> {
        let mut m: BTreeMap<String, Tensor> = self.slots.iter().cloned().collect();
        let name = self.optimizer.as_bytes().to_vec();
        let n = name.len();
        m.insert(format!("{META}name"), Tensor::from_vec(name, [n]));
        m.insert(
            format!("{META}iterations"),
            Tensor::scalar(self.iterations as i64),
        );
        m.insert(
            format!("{META}learning_rate"),
            Tensor::scalar(self.learning_rate),
        );
        for (k, v) in &self.scalars {
            m.insert(format!("{META}{k}"), Tensor::scalar(*v));
        }
        m
    }

    /// The inverse of [`to_named_tensors`](Self::to_named_tensors).
    ///
    /// # Errors
    /// When an `optimizer:` entry is missing or of the wrong type.
    pub fn from_named_tensors(tensors: &BTreeMap<String, Tensor>) -> Result<Self, OptimizerError> {
        let get = |k: &str| {
            tensors.get(&format!("{META}{k}")).ok_or_else(|| {
                OptimizerError::new(format!("optimizer state: no entry `{META}{k}`"))
            })
        };
        let name = get("name")?;
        let optimizer = match name.try_to_vec::<u8>().map(String::from_utf8) {
            Ok(Ok(s)) => s,
            _ => bail!("optimizer state: `{META}name` is not a uint8 string"),
        };
        let number = |k: &str| -> Result<f64, OptimizerError> {
            let t = get(k)?;
            if t.numel() != 1 {
                bail!(
                    "optimizer state: `{META}{k}` has shape {}, expected a scalar",
                    t.shape()
                );
            }
            Ok(t.to_f64_vec()[0])
        };
        let iterations = get("iterations")?
            .try_to_vec::<i64>()
            .ok()
            .and_then(|v| v.first().copied())
            .filter(|&i| i >= 0);
        let Some(iterations) = iterations else {
            bail!("optimizer state: `{META}iterations` is not a non-negative int64 scalar");
        };
        let learning_rate = number("learning_rate")?;
        let mut scalars = Vec::new();
        let mut slots = Vec::new();
        for (k, t) in tensors {
            match k.strip_prefix(META) {
                Some("name" | "iterations" | "learning_rate") => {}
                Some(s) => scalars.push((s.to_string(), number(s)?)),
                None => slots.push((k.clone(), t.clone())),
            }
        }
        Ok(OptimizerState {
            optimizer,
            iterations: iterations as u64,
            learning_rate,
            scalars,
            slots,
        })
    }
}
