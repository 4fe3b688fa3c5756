//! [`Variable`]: a named, mutable, trainable tensor with a stable identity.

use crate::tape::announce_read;
use keen_tensor::record::{is_recording, without_recording};
use keen_tensor::{Operand, Tensor, TensorError};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

/// The stable identity of a variable (shared by clones of the handle, kept across `assign`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VariableId(u64);

impl VariableId {
    /// The raw number, for diagnostics.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

struct Inner {
    id: VariableId,
    name: String,
    /// The path a model reported it under, set once (see [`Variable::set_path`]).
    path: OnceLock<String>,
    trainable: bool,
    /// Set by freezing a layer (Keras' `layer.trainable = False`). Kept apart from `trainable`
    /// so that unfreezing restores each variable's own kind: a batch-norm moving mean never
    /// becomes trainable.
    frozen: AtomicBool,
    value: RwLock<Tensor>,
}

/// A named tensor that can be updated in place: the weights of a model.
///
/// `Variable` is a cheap, shareable handle (clones refer to the same variable). Reading it with
/// [`value`](Self::value) under a [`GradientTape`](crate::GradientTape) watches it (when it is
/// trainable). [`assign`](Self::assign) and friends swap in a new tensor and never write into
/// the old one's storage, so a tape that saved the old value still sees it.
///
/// ```
/// use keen_tape::Variable;
/// use keen_tensor::Tensor;
/// let w = Variable::new("w", Tensor::from([1.0f32, 2.0]));
/// w.assign_sub(&Tensor::from([0.5f32, 0.5]));
/// assert_eq!(w.value().to_vec::<f32>(), [0.5, 1.5]);
/// let y = Tensor::from([2.0f32, 2.0]).mul(&w); // a variable is an operand
/// assert_eq!(y.to_vec::<f32>(), [1.0, 3.0]);
/// ```
#[derive(Clone)]
pub struct Variable(Arc<Inner>);

impl Variable {
    /// A trainable variable holding `value`.
    pub fn new(name: impl Into<String>, value: Tensor) -> Self {
        Self::with_trainable(name, value, true)
    }

    /// A variable that tapes do not watch automatically (batch-norm statistics, counters).
    pub fn non_trainable(name: impl Into<String>, value: Tensor) -> Self {
        Self::with_trainable(name, value, false)
    }

    /// A variable that is trainable or not.
    pub fn with_trainable(name: impl Into<String>, value: Tensor, trainable: bool) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Variable(Arc::new(Inner {
            id: VariableId(NEXT.fetch_add(1, Ordering::Relaxed)),
            name: name.into(),
            path: OnceLock::new(),
            trainable,
            frozen: AtomicBool::new(false),
            value: RwLock::new(value),
        }))
    }

    /// The stable identity.
    pub fn id(&self) -> VariableId {
        self.0.id
    }

    /// The variable's name: its path in a model (`decoder.attention.w1.kernel`) once a model
    /// has reported it (see [`set_path`](Self::set_path)), the name given at creation before.
    ///
    /// Optimizer slots and checkpoints are keyed by this name, so within a model it is unique
    /// even though every layer calls its weights `kernel` and `bias`.
    pub fn name(&self) -> &str {
        self.0.path.get().unwrap_or(&self.0.name)
    }

    /// The name given at creation (`kernel`), whatever the path.
    pub fn local_name(&self) -> &str {
        &self.0.name
    }

    /// Records the path under which a model holds this variable; it becomes the
    /// [`name`](Self::name). Only the first path counts: a layer shared by two models keeps
    /// the path of the model that reported it first. Called by keen-nn's module walk.
    pub fn set_path(&self, path: &str) {
        if path != self.0.name {
            let _ = self.0.path.set(path.to_string());
        }
    }

    /// Whether tapes watch this variable when it is read and optimizers update it: created
    /// trainable and not [frozen](Self::set_frozen).
    pub fn trainable(&self) -> bool {
        self.0.trainable && !self.is_frozen()
    }

    /// Freezes (or unfreezes) the variable: while frozen it is not [`trainable`](Self::trainable),
    /// so tapes do not watch it and models leave it out of their trainable variables. A
    /// variable created non-trainable stays so when unfrozen. Every handle sees the change, so
    /// freezing a layer shared by two models freezes it in both (as Keras).
    ///
    /// ```
    /// use keen_tape::Variable;
    /// use keen_tensor::Tensor;
    /// let w = Variable::new("w", Tensor::from([1.0f32]));
    /// w.set_frozen(true);
    /// assert!(!w.trainable());
    /// w.set_frozen(false);
    /// assert!(w.trainable());
    /// ```
    pub fn set_frozen(&self, frozen: bool) {
        self.0.frozen.store(frozen, Ordering::Relaxed);
    }

    /// Whether the variable is frozen (see [`set_frozen`](Self::set_frozen)).
    pub fn is_frozen(&self) -> bool {
        self.0.frozen.load(Ordering::Relaxed)
    }

    /// The current value. Under a tape, reading a trainable variable watches it.
    pub fn value(&self) -> Tensor {
        let v = self.value_unwatched();
        if is_recording() {
            announce_read(self, &v);
        }
        v
    }

    /// The current value, without telling any tape.
    pub fn value_unwatched(&self) -> Tensor {
        self.0
            .value
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The shape of the current value.
    pub fn shape(&self) -> keen_tensor::Shape {
        self.value_unwatched().shape().clone()
    }

    /// The dtype of the current value.
    pub fn dtype(&self) -> keen_tensor::DType {
        self.value_unwatched().dtype()
    }

    /// Replaces the value with `value` (same shape and dtype). Never recorded by a tape.
    ///
    /// # Panics
    /// `assign: variable \`w\` has shape (2, 3) and dtype float32, the new value has (3, 2) and float32`.
    #[track_caller]
    pub fn assign(&self, value: &Tensor) {
        if let Err(e) = self.try_assign(value) {
            panic!("{e}");
        }
    }

    /// Fallible [`assign`](Self::assign).
    pub fn try_assign(&self, value: &Tensor) -> Result<(), TensorError> {
        let mut slot = self.0.value.write().unwrap_or_else(|e| e.into_inner());
        if slot.shape() != value.shape() || slot.dtype() != value.dtype() {
            return Err(TensorError::new(
                keen_tensor::ErrorKind::Shape,
                format!(
                    "assign: variable `{}` has shape {} and dtype {}, the new value has {} and {}",
                    self.0.name,
                    slot.shape(),
                    slot.dtype(),
                    value.shape(),
                    value.dtype()
                ),
            ));
        }
        *slot = value.clone();
        Ok(())
    }

    /// `self += delta` (a new tensor is swapped in; not recorded).
    ///
    /// # Panics
    /// When `delta` does not broadcast to the variable's shape or its dtype differs.
    #[track_caller]
    pub fn assign_add(&self, delta: &Tensor) {
        let v = without_recording(|| self.value_unwatched().add(delta));
        self.assign(&v);
    }

    /// `self -= delta` (a new tensor is swapped in; not recorded).
    ///
    /// # Panics
    /// When `delta` does not broadcast to the variable's shape or its dtype differs.
    #[track_caller]
    pub fn assign_sub(&self, delta: &Tensor) {
        let v = without_recording(|| self.value_unwatched().sub(delta));
        self.assign(&v);
    }
}

impl Operand for Variable {
    fn to_operand(&self, _: &Tensor) -> Tensor {
        self.value()
    }
}

impl Operand for &Variable {
    fn to_operand(&self, _: &Tensor) -> Tensor {
        self.value()
    }
}

impl fmt::Display for Variable {
    /// `Variable 'w' (trainable): Tensor([1, 2], shape=(2,), dtype=float32)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Variable '{}'{}: {}",
            self.name(),
            match (self.0.trainable, self.is_frozen()) {
                (true, false) => "",
                (true, true) => " (frozen)",
                (false, _) => " (non-trainable)",
            },
            self.value_unwatched()
        )
    }
}

impl fmt::Debug for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
