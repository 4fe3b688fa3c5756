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
    /// `None` where the axis is free (Keras' `None` in `Input(shape=(None, 8))`).
    pub(crate) dims: Vec<Option<usize>>,
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
    pub(crate) outputs: Vec<(Vec<Option<usize>>, DType)>,
}

impl SymbolicTensor {
    /// The shape without the batch axis, `None` where the axis is free (`[None, Some(8)]` for
    /// Keras' `(None, None, 8)`).
    pub fn shape(&self) -> &[Option<usize>] {
        &self.0.dims
    }

    /// The shape without the batch axis (`[20]` for `(None, 20)`), when every axis is known.
    ///
    /// # Panics
    /// When an axis is free (use [`shape`](Self::shape)).
    #[track_caller]
    pub fn dims(&self) -> Vec<usize> {
        match self.0.dims.iter().copied().collect::<Option<Vec<usize>>>() {
            Some(d) => d,
            None => panic!(
                "SymbolicTensor::dims: shape {} has a free axis (None); use shape()",
                fmt_shape(&self.0.dims)
            ),
        }
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

/// `(None, 20, 16)`: the batch axis is free, and so is any axis given as `None`.
pub(crate) fn fmt_shape(dims: &[Option<usize>]) -> String {
    let mut s = String::from("(None");
    for d in dims {
        match d {
            Some(d) => s += &format!(", {d}"),
            None => s += ", None",
        }
    }
    s + ")"
}

/// A shape with every axis known, as `fmt_shape` takes it.
pub(crate) fn known(dims: &[usize]) -> Vec<Option<usize>> {
    dims.iter().map(|&d| Some(d)).collect()
}

/// The shape of one sample, as [`Input::new`] takes it: sizes (`&[20, 8]`), or options where
/// an axis is free (`&[None, Some(8)]`, Keras' `shape=(None, 8)`).
pub trait InputShape {
    /// The sizes, `None` where free.
    fn to_input_shape(&self) -> Vec<Option<usize>>;
}

impl InputShape for [usize] {
    fn to_input_shape(&self) -> Vec<Option<usize>> {
        known(self)
    }
}

impl InputShape for [Option<usize>] {
    fn to_input_shape(&self) -> Vec<Option<usize>> {
        self.to_vec()
    }
}

impl<const N: usize> InputShape for [usize; N] {
    fn to_input_shape(&self) -> Vec<Option<usize>> {
        known(self)
    }
}

impl<const N: usize> InputShape for [Option<usize>; N] {
    fn to_input_shape(&self) -> Vec<Option<usize>> {
        self.to_vec()
    }
}

impl InputShape for Vec<usize> {
    fn to_input_shape(&self) -> Vec<Option<usize>> {
        known(self)
    }
}

impl InputShape for Vec<Option<usize>> {
    fn to_input_shape(&self) -> Vec<Option<usize>> {
        self.clone()
    }
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
/// An axis given as `None` is free, as in Keras' `Input(shape=(None,))`: token sequences of
/// any length go through one model, each batch with its own length. Layers carry the free axis
/// through (an `Embedding` gives `(None, None, 16)`), and a layer that needs its size (a
/// `Dense` on it, a `Flatten` before a `Dense`) is refused where it is applied.
///
/// ```
/// use keen_nn::functional::Input;
/// use keen_tensor::DType;
/// let ids = Input::new(&[20]).dtype(DType::Int64).name("text");
/// assert_eq!(ids.dims(), [20]);
/// assert_eq!(ids.to_string(), "SymbolicTensor(shape=(None, 20), dtype=int64)");
/// let any_length = Input::new(&[None, Some(8)]);
/// assert_eq!(any_length.shape(), [None, Some(8)]);
/// assert_eq!(any_length.to_string(), "SymbolicTensor(shape=(None, None, 8), dtype=float32)");
/// ```
#[derive(Clone, Debug)]
pub struct Input(SymbolicTensor);

impl Input {
    /// An input whose samples have shape `shape` (float32); `None` marks a free axis.
    pub fn new<S: InputShape + ?Sized>(shape: &S) -> Self {
        Input(SymbolicTensor(Arc::new(SymInner {
            dims: shape.to_input_shape(),
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
        &crate::summary::class_name(l.type_name()),
        &l.layer_name().map(str::to_string),
    )
}

/// The sizes a free axis is probed with: two, so that an output axis that follows a free input
/// axis shows up as differing between the runs.
const FREE_PROBES: [usize; 2] = [2, 3];

/// Runs `layer` on zeros of the inputs' shapes (batch of one, free axes of size `free`),
/// inference mode, not recorded; the layer's panic message on failure.
fn probe(
    layer: &SharedLayer,
    inputs: &[SymbolicTensor],
    free: usize,
) -> Result<Vec<Tensor>, String> {
    let probes: Vec<Tensor> = inputs
        .iter()
        .map(|s| {
            let mut dims = vec![1];
            dims.extend(s.0.dims.iter().map(|d| d.unwrap_or(free)));
            Tensor::zeros(dims, s.0.dtype)
        })
        .collect();
    // The layer's own panic carries the precise complaint (built for which shape); catching
    // it lets the message also name the symbolic shapes and point at the caller's line. The
    // default hook has already printed the inner message by then, which is noise but harmless.
    without_recording(|| catch_unwind(AssertUnwindSafe(|| layer.forward_many(&probes, false))))
        .map_err(|payload| {
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(no message)".to_string())
        })
}

#[track_caller]
fn connect(layer: SharedLayer, inputs: Vec<SymbolicTensor>) -> Vec<SymbolicTensor> {
    let label = layer_label(&*layer);
    if inputs.is_empty() {
        panic!("apply: {label} needs at least 1 input, got none");
    }
    let shapes = || {
        let s: Vec<String> = inputs.iter().map(|s| fmt_shape(&s.0.dims)).collect();
        s.join(" and ")
    };
    let has_free = inputs.iter().any(|s| s.0.dims.contains(&None));
    let outs = match probe(&layer, &inputs, FREE_PROBES[0]) {
        Ok(outs) => outs,
        Err(why) if has_free => panic!(
            "apply: {label} cannot take input shape {}: {why} (a free axis, None, was tried \
             with size {})",
            shapes(),
            FREE_PROBES[0]
        ),
        Err(why) => panic!("apply: {label} cannot take input shape {}: {why}", shapes()),
    };
    let mut outputs: Vec<(Vec<Option<usize>>, DType)> = outs
        .iter()
        .map(|t| (known(t.dims().get(1..).unwrap_or(&[])), t.dtype()))
        .collect();
    if has_free {
        // An output axis whose size changes with the free input axes is free too.
        let again = match probe(&layer, &inputs, FREE_PROBES[1]) {
            Ok(again) if again.len() == outs.len() => again,
            _ => panic!(
                "apply: {label} cannot take input shape {}: it needs the size of an axis that \
                 is free (None) there; give that axis a size in the Input",
                shapes()
            ),
        };
        for ((dims, _), t) in outputs.iter_mut().zip(&again) {
            let other = t.dims().get(1..).unwrap_or(&[]);
            if other.len() != dims.len() {
                panic!(
                    "apply: {label} gives outputs of different ranks for different sizes of the \
                     free axes of input shape {}",
                    shapes()
                );
            }
            for (d, &o) in dims.iter_mut().zip(other) {
                if *d != Some(o) {
                    *d = None;
                }
            }
        }
    }
    let call = Arc::new(Call {
        id: next_id(),
        layer,
        inputs,
        outputs,
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
