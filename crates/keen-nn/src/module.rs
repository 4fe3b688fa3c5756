//! The [`Module`] trait: how a model tells the world which variables it holds, by path.

use keen_tape::checkpoint::{self, CheckpointError};
use keen_tape::Variable;

/// Something that holds variables, directly or through sub-modules.
///
/// Implemented by every layer, by `#[derive(Module)]` for custom models (visiting each field
/// under its name), and by containers (`Vec`, `Option`, arrays, `Box`) of modules.
pub trait Module {
    /// Shows every variable to `walk`, each under its local name (`walk.variable("kernel", ..)`)
    /// and each sub-module under its field name (`walk.field("encoder", &self.encoder)`).
    fn visit(&self, walk: &mut Walk<'_>);

    /// Every variable with its path, in declaration order (`decoder.attention.w1.kernel`).
    /// A variable reached twice (a layer shared by two fields) is listed once, under its
    /// first path, so an optimizer never updates it twice per step.
    fn named_variables(&self) -> Vec<(String, Variable)> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        self.visit(&mut Walk::new(&mut |path, v| {
            if seen.insert(v.id()) {
                out.push((path.to_string(), v.clone()))
            }
        }));
        out
    }

    /// Every variable, trainable or not.
    fn variables(&self) -> Vec<Variable> {
        self.named_variables().into_iter().map(|(_, v)| v).collect()
    }

    /// The variables an optimizer updates.
    fn trainable_variables(&self) -> Vec<Variable> {
        self.variables()
            .into_iter()
            .filter(|v| v.trainable())
            .collect()
    }

    /// The variables that are saved but not trained (batch-norm moving statistics).
    fn non_trainable_variables(&self) -> Vec<Variable> {
        self.variables()
            .into_iter()
            .filter(|v| !v.trainable())
            .collect()
    }

    /// The number of scalars in all variables.
    fn count_params(&self) -> usize {
        self.variables().iter().map(|v| v.shape().numel()).sum()
    }

    /// Freezes (`false`) or unfreezes (`true`) every variable, as Keras' `layer.trainable =
    /// False`: a frozen layer or sub-model keeps its variables (they are saved and used) but
    /// leaves [`trainable_variables`](Module::trainable_variables), so `fit` and optimizers do
    /// not change them. Variables that are never trainable (batch-norm moving statistics) stay
    /// non-trainable when unfrozen. Only variables that exist are frozen: build a lazy layer
    /// (call it once) before freezing it.
    fn set_trainable(&self, trainable: bool) {
        for v in self.variables() {
            v.set_frozen(!trainable);
        }
    }

    /// The variables' current values, in [`variables`](Module::variables) order (Keras'
    /// `get_weights()`: layer by layer, each layer's variables in creation order).
    fn get_weights(&self) -> Vec<keen_tensor::Tensor> {
        self.variables()
            .iter()
            .map(Variable::value_unwatched)
            .collect()
    }

    /// Assigns `weights` to the variables in [`variables`](Module::variables) order (Keras'
    /// `set_weights()`). Every value is checked (count, shape, dtype) before any is assigned,
    /// so a list that does not fit changes nothing.
    ///
    /// # Errors
    /// A count that differs from the number of variables, or a value whose shape or dtype
    /// differs from its variable's (the error names the variable's path and both shapes).
    fn set_weights(&self, weights: &[keen_tensor::Tensor]) -> Result<(), WeightsError> {
        let vars = self.named_variables();
        if vars.len() != weights.len() {
            return Err(WeightsError::Count {
                expected: vars.len(),
                got: weights.len(),
            });
        }
        for (index, ((path, v), w)) in vars.iter().zip(weights).enumerate() {
            if v.shape() != *w.shape() || v.dtype() != w.dtype() {
                return Err(WeightsError::Mismatch {
                    index,
                    path: path.clone(),
                    expected: format!("{} {}", v.shape(), v.dtype()),
                    got: format!("{} {}", w.shape(), w.dtype()),
                });
            }
        }
        for ((_, v), w) in vars.iter().zip(weights) {
            v.assign(w);
        }
        Ok(())
    }

    /// Saves every variable under its path as a safetensors file, atomically (a crash
    /// mid-save keeps the previous file). Readable by Python's `safetensors` too.
    ///
    /// # Errors
    /// When the model has no variables yet (layers build on their first call) or the file
    /// cannot be written.
    fn save_weights(&self, path: impl AsRef<std::path::Path>) -> Result<(), CheckpointError>
    where
        Self: Sized,
    {
        let vars = built_variables(self, "save_weights", path.as_ref())?;
        checkpoint::save_variables(path, &vars)
    }

    /// Loads the variables saved by [`save_weights`](Module::save_weights), by path. Every
    /// variable is checked (present, same shape and dtype) before any is assigned, so a file
    /// that does not fit changes nothing.
    ///
    /// # Errors
    /// A missing, corrupt or truncated file, a missing variable, a shape or dtype mismatch,
    /// or a model that is not built yet.
    fn load_weights(&self, path: impl AsRef<std::path::Path>) -> Result<(), CheckpointError>
    where
        Self: Sized,
    {
        let vars = built_variables(self, "load_weights", path.as_ref())?;
        checkpoint::load_variables(path, &vars)
    }
}

/// Why [`Module::set_weights`] refused a list of values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WeightsError {
    /// Not one value per variable.
    Count {
        /// The number of variables.
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// A value does not fit its variable.
    Mismatch {
        /// The value's position in the list.
        index: usize,
        /// The variable's path (`dense_1.kernel`).
        path: String,
        /// The variable's shape and dtype (`(3, 4) float32`).
        expected: String,
        /// The value's shape and dtype.
        got: String,
    },
}

impl std::fmt::Display for WeightsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WeightsError::Count { expected, got } => write!(
                f,
                "set_weights: the model has {expected} variables, got {got} values"
            ),
            WeightsError::Mismatch {
                index,
                path,
                expected,
                got,
            } => write!(
                f,
                "set_weights: value {index} for `{path}` is {got}, the variable is {expected}"
            ),
        }
    }
}

impl std::error::Error for WeightsError {}

/// The variables of a model (their names set to their paths), or an error for a model that
/// has not been built.
fn built_variables(
    m: &dyn Module,
    op: &str,
    path: &std::path::Path,
) -> Result<Vec<Variable>, CheckpointError> {
    let vars = m.variables();
    if vars.is_empty() {
        return Err(CheckpointError::Mismatch {
            path: path.to_path_buf(),
            name: "(model)".into(),
            message: format!(
                "{op}: the model has no variables yet; call it once on an input to build its layers"
            ),
        });
    }
    Ok(vars)
}

/// A depth-first walk over a module tree that keeps the current path.
pub struct Walk<'a> {
    path: String,
    f: &'a mut dyn FnMut(&str, &Variable),
}

impl<'a> Walk<'a> {
    /// A walk calling `f(path, variable)` for each variable.
    pub fn new(f: &'a mut dyn FnMut(&str, &Variable)) -> Self {
        Walk {
            path: String::new(),
            f,
        }
    }

    /// Visits a sub-module under `name`.
    pub fn field(&mut self, name: &str, module: &dyn Module) {
        let len = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(name);
        module.visit(self);
        self.path.truncate(len);
    }

    /// Reports a variable held directly, under its local name. The first path a variable is
    /// reported under becomes its [`name`](Variable::name), so that optimizer slots and
    /// checkpoints tell `encoder.kernel` from `decoder.kernel`.
    pub fn variable(&mut self, name: &str, v: &Variable) {
        let full = if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        };
        v.set_path(&full);
        (self.f)(&full, v);
    }

    /// The path of the module being visited (`""` at the root).
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl Module for Variable {
    fn visit(&self, walk: &mut Walk<'_>) {
        // A bare variable field is reported under the field's name.
        let path = walk.path().to_string();
        self.set_path(&path);
        (walk.f)(&path, self);
    }
}

impl<M: Module> Module for Vec<M> {
    fn visit(&self, walk: &mut Walk<'_>) {
        for (i, m) in self.iter().enumerate() {
            walk.field(&i.to_string(), m);
        }
    }
}

impl<M: Module, const N: usize> Module for [M; N] {
    fn visit(&self, walk: &mut Walk<'_>) {
        for (i, m) in self.iter().enumerate() {
            walk.field(&i.to_string(), m);
        }
    }
}

impl<M: Module> Module for Option<M> {
    fn visit(&self, walk: &mut Walk<'_>) {
        if let Some(m) = self {
            m.visit(walk);
        }
    }
}

impl<M: Module + ?Sized> Module for Box<M> {
    fn visit(&self, walk: &mut Walk<'_>) {
        (**self).visit(walk);
    }
}

impl<M: Module + ?Sized> Module for std::sync::Arc<M> {
    fn visit(&self, walk: &mut Walk<'_>) {
        (**self).visit(walk);
    }
}

impl<M: Module + ?Sized> Module for std::rc::Rc<M> {
    fn visit(&self, walk: &mut Walk<'_>) {
        (**self).visit(walk);
    }
}

macro_rules! leaf_module {
    ($($t:ty),*) => {$(
        impl Module for $t {
            fn visit(&self, _: &mut Walk<'_>) {}
        }
    )*};
}
// Configuration fields of a model need no `#[module(skip)]`.
leaf_module!(
    bool,
    u8,
    u16,
    u32,
    u64,
    usize,
    i8,
    i16,
    i32,
    i64,
    isize,
    f32,
    f64,
    String,
    keen_tensor::Tensor
);
