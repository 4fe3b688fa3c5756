//! Symbolic tensors: the placeholders a Functional model is wired from, and [`Apply`], which
//! connects a layer to them.

use crate::layer::Layer;
use keen_tensor::record::without_recording;
use keen_tensor::{DType, Tensor};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A layer as a graph holds it: shared, so that one layer called twice is one set of variables.
pub(crate) type SharedLayer = Arc<dyn Layer + Send + Sync>;

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A batch of tensors not computed yet: its shape (batch axis free) and dtype, and where it
/// comes from (an [`Input`] or a layer applied to other symbolic tensors). Keras'
/// `KerasTensor`. Cloning is cheap and keeps the identity.
#[derive(Clone)]
pub struct SymbolicTensor(pub(crate) Arc<SymInner>);

pub(crate) struct SymInner {
    pub(crate) dims: Vec<usize>,
    pub(crate) dtype: DType,
    pub(crate) source: Source,
}

pub(crate) enum Source {
    Input { id: u64, name: Option<String> },
    Call { call: Arc<Call>, index: usize },
}

/// One application of a layer to symbolic inputs (Keras' `Node`).
pub(crate) struct Call {
    pub(crate) id: u64,
    pub(crate) layer: SharedLayer,
    pub(crate) inputs: Vec<SymbolicTensor>,
    pub(crate) outputs: Vec<(Vec<usize>, DType)>,
}

impl SymbolicTensor {
    /// The shape without the batch axis (`[20]` for `(None, 20)`).
    pub fn dims(&self) -> &[usize] {
        &self.0.dims
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }

    /// A key unique to this tensor: the input's id, or the call's id with the output index.
    pub(crate) fn key(&self) -> (u64, usize) {
        match &self.0.source {
            Source::Input { id, .. } => (*id, 0),
            Source::Call { call, index } => (call.id, *index),
        }
    }
}

/// `(None, 20, 16)`: the batch axis is free.
pub(crate) fn fmt_shape(dims: &[usize]) -> String {
    let mut s = String::from("(None");
    for d in dims {
        s += &format!(", {d}");
    }
    s + ")"
}

impl fmt::Display for SymbolicTensor {
    /// `SymbolicTensor(shape=(None, 16), dtype=float32)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SymbolicTensor(shape={}, dtype={})",
            fmt_shape(&self.0.dims),
            self.0.dtype
        )
    }
}

impl fmt::Debug for SymbolicTensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A model input, as Keras' `keras.Input`: the shape of one sample (no batch axis), float32
/// unless [`dtype`](Self::dtype) says otherwise, optionally named. It is a
/// [`SymbolicTensor`] (through `Deref`), so layers apply to it directly.
///
/// ```
/// use keen_nn::functional::Input;
/// use keen_tensor::DType;
/// let ids = Input::new(&[20]).dtype(DType::Int64).name("text");
/// assert_eq!(ids.dims(), [20]);
/// assert_eq!(ids.to_string(), "SymbolicTensor(shape=(None, 20), dtype=int64)");
/// ```
#[derive(Clone, Debug)]
pub struct Input(SymbolicTensor);

impl Input {
    /// An input whose samples have shape `shape` (float32).
    pub fn new(shape: &[usize]) -> Self {
        Input(SymbolicTensor(Arc::new(SymInner {
            dims: shape.to_vec(),
            dtype: DType::Float32,
            source: Source::Input {
                id: next_id(),
                name: None,
            },
        })))
    }

    /// Names the input (Keras' `name=`; default `input_layer`, `input_layer_1`, …).
    ///
    /// # Panics
    /// When the input was already cloned or used (set the name first).
    #[track_caller]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        if let Source::Input { name: n, .. } = &mut self.inner_mut("name").source {
            *n = Some(name);
        }
        self
    }

    /// Sets the dtype (default float32; integer ids for an `Embedding`).
    ///
    /// # Panics
    /// When the input was already cloned or used (set the dtype first).
    #[track_caller]
    pub fn dtype(mut self, dtype: DType) -> Self {
        self.inner_mut("dtype").dtype = dtype;
        self
    }

    #[track_caller]
    fn inner_mut(&mut self, what: &str) -> &mut SymInner {
        match Arc::get_mut(&mut (self.0).0) {
            Some(inner) => inner,
            // A clone would keep the old setting under the same identity.
            None => panic!("Input: set the {what} before the input is cloned or used"),
        }
    }

    /// The name given with [`name`](Self::name), if any.
    pub fn get_name(&self) -> Option<&str> {
        match &self.0 .0.source {
            Source::Input { name, .. } => name.as_deref(),
            Source::Call { .. } => None,
        }
    }
}

impl std::ops::Deref for Input {
    type Target = SymbolicTensor;
    fn deref(&self) -> &SymbolicTensor {
        &self.0
    }
}

impl AsRef<SymbolicTensor> for Input {
    fn as_ref(&self) -> &SymbolicTensor {
        &self.0
    }
}

impl AsRef<SymbolicTensor> for SymbolicTensor {
    fn as_ref(&self) -> &SymbolicTensor {
        self
    }
}

impl From<Input> for SymbolicTensor {
    fn from(i: Input) -> Self {
        i.0
    }
}

/// What a layer can be applied to: one symbolic tensor (`&x`) or several (`&[a, b]`).
pub trait SymbolicInputs {
    /// The tensors, in order.
    fn into_symbolic(self) -> Vec<SymbolicTensor>;
}

impl SymbolicInputs for &SymbolicTensor {
    fn into_symbolic(self) -> Vec<SymbolicTensor> {
        vec![self.clone()]
    }
}

impl SymbolicInputs for &Input {
    fn into_symbolic(self) -> Vec<SymbolicTensor> {
        vec![self.0.clone()]
    }
}

impl<T: AsRef<SymbolicTensor>> SymbolicInputs for &[T] {
    fn into_symbolic(self) -> Vec<SymbolicTensor> {
        self.iter().map(|t| t.as_ref().clone()).collect()
    }
}

impl<T: AsRef<SymbolicTensor>, const N: usize> SymbolicInputs for &[T; N] {
    fn into_symbolic(self) -> Vec<SymbolicTensor> {
        self.as_slice().into_symbolic()
    }
}

impl<T: AsRef<SymbolicTensor>> SymbolicInputs for &Vec<T> {
    fn into_symbolic(self) -> Vec<SymbolicTensor> {
        self.as_slice().into_symbolic()
    }
}

/// Applies a layer to symbolic tensors, as calling a layer on `KerasTensor`s does in Keras:
/// `let h = Dense::new(64).apply(&x)`.
///
/// The layer runs once on zeros (a batch of one, inference mode, not recorded): that builds
/// its variables and gives the output's shape, so a shape that does not fit is an error here,
/// at the line that wires the layer, not when the model first runs.
///
/// `apply` takes the layer by value: the graph owns it. To use one layer twice (shared
/// variables, Keras' `shared = Dense(64); shared(a); shared(b)`), put it in an `Arc` and apply
/// the `Arc` — every application is the same layer:
///
/// ```
/// use keen_nn::prelude::*;
/// use std::sync::Arc;
/// let (a, b) = (Input::new(&[8]), Input::new(&[8]));
/// let shared = Arc::new(Dense::new(4));
/// let (ha, hb) = (shared.apply(&a), shared.apply(&b));
/// let sum = Add::new().apply(&[ha, hb]);
/// let model = Model::new(&[a, b], &[sum]);
/// assert_eq!(model.count_params(), 8 * 4 + 4); // one kernel, one bias
/// ```
pub trait Apply {
    /// Applies the layer and returns its single output.
    ///
    /// # Panics
    /// When the layer fails on the inputs' shapes (the message names the layer, the input
    /// shapes and the layer's own complaint), or gives several outputs (use
    /// [`apply_multi`](Self::apply_multi)).
    #[track_caller]
    fn apply(self, inputs: impl SymbolicInputs) -> SymbolicTensor
    where
        Self: Sized,
    {
        let mut outs = self.apply_multi(inputs);
        match outs.len() {
            1 => outs.pop().expect("one output"),
            n => panic!("apply: the layer gives {n} outputs; use apply_multi to get them all"),
        }
    }

    /// Applies the layer and returns all its outputs (a recurrent layer with its states, a
    /// model with several outputs).
    ///
    /// # Panics
    /// As [`apply`](Self::apply), except for the number of outputs.
    #[track_caller]
    fn apply_multi(self, inputs: impl SymbolicInputs) -> Vec<SymbolicTensor>;
}

impl<L: Layer + Send + Sync + 'static> Apply for L {
    #[track_caller]
    fn apply_multi(self, inputs: impl SymbolicInputs) -> Vec<SymbolicTensor> {
        connect(Arc::new(self), inputs.into_symbolic())
    }
}

impl<L: Layer + Send + Sync + 'static> Apply for &Arc<L> {
    #[track_caller]
    fn apply_multi(self, inputs: impl SymbolicInputs) -> Vec<SymbolicTensor> {
        connect(self.clone(), inputs.into_symbolic())
    }
}

/// `Dense` or ``Dense `price` ``.
pub(crate) fn layer_label(l: &dyn Layer) -> String {
    crate::layers::label(
        &crate::sequential::class_name(l.type_name()),
        &l.layer_name().map(str::to_string),
    )
}

#[track_caller]
fn connect(layer: SharedLayer, inputs: Vec<SymbolicTensor>) -> Vec<SymbolicTensor> {
    let label = layer_label(&*layer);
    if inputs.is_empty() {
        panic!("apply: {label} needs at least 1 input, got none");
    }
    let probes: Vec<Tensor> = inputs
        .iter()
        .map(|s| {
            let mut dims = vec![1];
            dims.extend_from_slice(&s.0.dims);
            Tensor::zeros(dims, s.0.dtype)
        })
        .collect();
    // The layer's own panic carries the precise complaint (built for which shape); catching
    // it lets the message also name the symbolic shapes and point at the caller's line. The
    // default hook has already printed the inner message by then, which is noise but harmless.
    let result =
        without_recording(|| catch_unwind(AssertUnwindSafe(|| layer.forward_many(&probes, false))));
    let outs = match result {
        Ok(outs) => outs,
        Err(payload) => {
            let why = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            let shapes: Vec<String> = inputs.iter().map(|s| fmt_shape(&s.0.dims)).collect();
            panic!(
                "apply: {label} cannot take input shape {}: {why}",
                shapes.join(" and ")
            );
        }
    };
    let call = Arc::new(Call {
        id: next_id(),
        layer,
        inputs,
        outputs: outs
            .iter()
            .map(|t| (t.dims().get(1..).unwrap_or(&[]).to_vec(), t.dtype()))
            .collect(),
    });
    (0..call.outputs.len())
        .map(|index| {
            SymbolicTensor(Arc::new(SymInner {
                dims: call.outputs[index].0.clone(),
                dtype: call.outputs[index].1,
                source: Source::Call {
                    call: call.clone(),
                    index,
                },
            }))
        })
        .collect()
}
