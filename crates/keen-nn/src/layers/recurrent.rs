//! [`Rnn`]: a recurrent layer that loops a cell over time, as Keras' `RNN` base of `SimpleRNN`,
//! `GRU` and `LSTM` — and the three layers themselves as [`SimpleRnn`], [`Gru`], [`Lstm`].

use crate::layer::Layer;
use crate::layers::rnn_cells::{check_states, GruCell, LstmCell, RecurrentCell, SimpleRnnCell};
use crate::module::{Module, Walk};
use keen_tensor::Tensor;

/// A recurrent layer: the cell `C` applied to each time step of a `(batch, time, features)`
/// input, carrying its states forward. [`SimpleRnn`], [`Gru`] and [`Lstm`] are this type with
/// their cells; the cell's builder methods are forwarded (`Gru::new(64).reset_after(false)`).
///
/// Keras' arguments map as follows:
///
/// | Keras | keen |
/// | --- | --- |
/// | `return_sequences=True` | [`return_sequences(true)`](Self::return_sequences): output `(batch, time, units)` instead of the last step's `(batch, units)` |
/// | `return_state=True` | eagerly, [`call_with_state`](Self::call_with_state) / [`call_full`](Self::call_full), which always return the final states; in the Functional API, [`return_state(true)`](Self::return_state): `apply_multi` gives the output then the states |
/// | `initial_state=[h]` | eagerly, [`call_with_state(x, &[h])`](Self::call_with_state); in the Functional API, the states after the input: `gru.apply(&[x, h])` |
/// | `mask` (from `Embedding(mask_zero=True)`) | in the Functional API and `Sequential`, the mask of an `Embedding::mask_zero(true)` upstream arrives by itself (see [`Layer::forward_masked`]); eagerly, [`call_full(x, None, Some(&mask))`](Self::call_full): a bool `(batch, time)`; masked steps carry the previous output and states over |
/// | `go_backwards=True` | [`go_backwards(true)`](Self::go_backwards): reads time backwards; sequences come out in reading order, as Keras |
///
/// The loop computes `x · kernel` for every time step in one matrix product before it
/// starts, so each step costs one product with the recurrent kernel plus the gates.
///
/// ```
/// use keen_nn::layers::Gru;
/// use keen_tensor::{DType, Tensor};
/// // The seed's encoder: sequences and the final state, from a given initial state.
/// let gru = Gru::new(16).return_sequences(true);
/// let x = Tensor::random_normal([4, 7, 8], 0.0, 1.0, DType::Float32); // (batch, time, features)
/// let h0 = Tensor::zeros([4, 16], DType::Float32);
/// let (seq, states) = gru.call_with_state(&x, &[h0]);
/// assert_eq!(seq.dims(), [4, 7, 16]);
/// assert_eq!(states[0].dims(), [4, 16]);
/// ```
///
/// The same encoder-decoder wiring in the Functional API (Keras'
/// `out, h = GRU(16, return_sequences=True, return_state=True)(x)` then
/// `GRU(16)(y, initial_state=[h])`):
///
/// ```
/// use keen_nn::prelude::*;
/// let (x, y) = (Input::new(&[7, 8]), Input::new(&[5, 8]));
/// let outs = Gru::new(16).return_sequences(true).return_state(true).apply_multi(&x);
/// let (seq, h) = (&outs[0], &outs[1]);
/// assert_eq!((seq.dims(), h.dims()), (vec![7, 16], vec![16]));
/// let dec = Gru::new(16).apply(&[y.as_ref(), h]); // initial_state=[h]
/// let model = Model::new(&[x, y], &[dec]);
/// assert_eq!(model.num_outputs(), 1);
/// ```
pub struct Rnn<C> {
    cell: C,
    return_sequences: bool,
    return_state: bool,
    go_backwards: bool,
    zero_output_for_mask: bool,
    name: Option<String>,
}

/// Keras' `SimpleRNN`: a fully connected recurrence ([`SimpleRnnCell`]) looped over time.
///
/// ```
/// use keen_nn::layers::SimpleRnn;
/// use keen_tensor::{DType, Tensor};
/// let rnn = SimpleRnn::new(4);
/// assert_eq!(rnn.call(&Tensor::ones([2, 5, 3], DType::Float32)).dims(), [2, 4]);
/// ```
pub type SimpleRnn = Rnn<SimpleRnnCell>;

/// Keras' `GRU`: a [`GruCell`] looped over time (`reset_after = true` by default, as Keras 3).
///
/// ```
/// use keen_nn::layers::Gru;
/// use keen_tensor::{DType, Tensor};
/// let gru = Gru::new(4).reset_after(false).return_sequences(true);
/// assert_eq!(gru.call(&Tensor::ones([2, 5, 3], DType::Float32)).dims(), [2, 5, 4]);
/// ```
pub type Gru = Rnn<GruCell>;

/// Keras' `LSTM`: an [`LstmCell`] looped over time; its states are `[h, c]`.
///
/// ```
/// use keen_nn::layers::Lstm;
/// use keen_tensor::{DType, Tensor};
/// let lstm = Lstm::new(4);
/// let (y, states) = lstm.call_full(&Tensor::ones([2, 5, 3], DType::Float32), None, None);
/// assert_eq!(y.dims(), [2, 4]);
/// assert_eq!(states.len(), 2);
/// ```
pub type Lstm = Rnn<LstmCell>;

macro_rules! forward_to_cell {
    ($cell:ident, $($(#[$doc:meta])* $method:ident($t:ty)),* $(,)?) => {
        impl Rnn<$cell> {
            /// A layer with `units` units and Keras' defaults.
            pub fn new(units: usize) -> Self {
                Rnn::from_cell($cell::new(units))
            }
            $(
                $(#[$doc])*
                pub fn $method(mut self, v: $t) -> Self {
                    self.cell = self.cell.$method(v);
                    self
                }
            )*
        }
    };
}

forward_to_cell!(SimpleRnnCell,
    /// Sets the output activation (default tanh).
    activation(crate::layers::Activation),
    /// Whether to add biases (default true).
    use_bias(bool),
    /// Sets the kernel initializer (default glorot-uniform).
    kernel_initializer(crate::initializers::Initializer),
    /// Sets the recurrent kernel initializer (default orthogonal).
    recurrent_initializer(crate::initializers::Initializer),
    /// Sets the bias initializer (default zeros).
    bias_initializer(crate::initializers::Initializer),
);
forward_to_cell!(GruCell,
    /// Sets the output activation (default tanh).
    activation(crate::layers::Activation),
    /// Sets the gate activation (default sigmoid).
    recurrent_activation(crate::layers::Activation),
    /// Whether to add biases (default true).
    use_bias(bool),
    /// Sets the kernel initializer (default glorot-uniform).
    kernel_initializer(crate::initializers::Initializer),
    /// Sets the recurrent kernel initializer (default orthogonal).
    recurrent_initializer(crate::initializers::Initializer),
    /// Sets the bias initializer (default zeros).
    bias_initializer(crate::initializers::Initializer),
    /// Whether the reset gate applies after the recurrent product (default true, as Keras 3).
    reset_after(bool),
);
forward_to_cell!(LstmCell,
    /// Sets the output activation (default tanh).
    activation(crate::layers::Activation),
    /// Sets the gate activation (default sigmoid).
    recurrent_activation(crate::layers::Activation),
    /// Whether to add biases (default true).
    use_bias(bool),
    /// Sets the kernel initializer (default glorot-uniform).
    kernel_initializer(crate::initializers::Initializer),
    /// Sets the recurrent kernel initializer (default orthogonal).
    recurrent_initializer(crate::initializers::Initializer),
    /// Sets the bias initializer (default zeros).
    bias_initializer(crate::initializers::Initializer),
    /// Whether the forget gate's bias starts at one (default true).
    unit_forget_bias(bool),
);

impl<C: RecurrentCell> Rnn<C> {
    /// A layer looping `cell`; the cell's variables are the layer's, and `layer.cell().step(..)`
    /// runs one step with them (token-by-token decoding with the weights the layer trained).
    pub fn from_cell(cell: C) -> Self {
        Rnn {
            cell,
            return_sequences: false,
            return_state: false,
            go_backwards: false,
            zero_output_for_mask: false,
            name: None,
        }
    }

    /// Whether to return the output of every step (default false: the last step only).
    pub fn return_sequences(mut self, b: bool) -> Self {
        self.return_sequences = b;
        self
    }

    /// Whether the layer's Functional outputs are the output followed by the final states
    /// (default false: the output alone), as Keras' `return_state=True`; an LSTM's states are
    /// `h` then `c`. Eager calls get the states from [`call_with_state`](Self::call_with_state)
    /// and [`call_full`](Self::call_full) whatever this says.
    pub fn return_state(mut self, b: bool) -> Self {
        self.return_state = b;
        self
    }

    /// Whether to read the sequence backwards (default false).
    pub fn go_backwards(mut self, b: bool) -> Self {
        self.go_backwards = b;
        self
    }

    /// Whether masked steps output zeros instead of repeating the previous output (default
    /// false; `Bidirectional` sets it with `return_sequences`, as Keras).
    pub fn zero_output_for_mask(mut self, b: bool) -> Self {
        self.zero_output_for_mask = b;
        self
    }

    /// Names the layer (used in error messages).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The name given with [`name`](Self::name), if any.
    pub fn get_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The cell (its variables are the layer's).
    pub fn cell(&self) -> &C {
        &self.cell
    }

    /// Whether every step's output is returned.
    pub fn returns_sequences(&self) -> bool {
        self.return_sequences
    }

    /// Whether the Functional outputs include the final states.
    pub fn returns_state(&self) -> bool {
        self.return_state
    }

    /// Whether the layer reads time backwards.
    pub fn is_backwards(&self) -> bool {
        self.go_backwards
    }

    /// The number of units.
    pub fn units(&self) -> usize {
        self.cell.units()
    }

    /// A layer with the same configuration and no variables.
    pub fn unbuilt_copy(&self) -> Self {
        Rnn {
            cell: self.cell.unbuilt_copy(),
            return_sequences: self.return_sequences,
            return_state: self.return_state,
            go_backwards: self.go_backwards,
            zero_output_for_mask: self.zero_output_for_mask,
            name: self.name.clone(),
        }
    }

    fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{} `{n}`", self.cell.layer_type_name()),
            None => self.cell.layer_type_name().to_string(),
        }
    }

    /// The output: `(batch, time, units)` with `return_sequences`, else `(batch, units)`.
    ///
    /// # Panics
    /// `Gru: expects input of shape (batch, time, features), got (2, 3)`, and a built layer
    /// given another feature size.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        self.call_full(x, None, None).0
    }

    /// The output and the final states, starting from `initial_state` (Keras'
    /// `return_state=True` with `initial_state`).
    #[track_caller]
    pub fn call_with_state(&self, x: &Tensor, initial_state: &[Tensor]) -> (Tensor, Vec<Tensor>) {
        self.call_full(x, Some(initial_state), None)
    }

    /// The output and the final states, with optional initial states (zeros when `None`) and
    /// an optional bool `(batch, time)` mask: where the mask is false the step is skipped, its
    /// output repeats the previous one (zeros with `zero_output_for_mask`) and the states carry
    /// over.
    ///
    /// # Panics
    /// On an input that is not `(batch, time, features)` with at least one step, states of the
    /// wrong count or shape, or a mask that is not bool `(batch, time)`; the message names the
    /// layer and the shapes.
    #[track_caller]
    pub fn call_full(
        &self,
        x: &Tensor,
        initial_state: Option<&[Tensor]>,
        mask: Option<&Tensor>,
    ) -> (Tensor, Vec<Tensor>) {
        let l = self.label();
        if x.rank() != 3 || x.dim(1) == 0 {
            panic!(
                "{l}: expects input of shape (batch, time, features) with time >= 1, got {}",
                x.shape()
            );
        }
        let [b, t, d] = x.dims3();
        self.cell.build(d, x.dtype());
        let built = self.cell.input_dim().expect("built above");
        if built != d {
            panic!(
                "{l}: built for inputs with {built} features, got shape {}",
                x.shape()
            );
        }
        let mut states: Vec<Tensor> = match initial_state {
            Some(s) => s.to_vec(),
            None => (0..self.cell.state_count())
                .map(|_| Tensor::zeros([b, self.cell.units()], x.dtype()))
                .collect(),
        };
        check_states(&format!("{l}: initial_state"), &self.cell, b, &states);
        let mask_steps = mask.map(|m| {
            if m.dtype() != keen_tensor::DType::Bool || m.dims() != [b, t] {
                panic!(
                    "{l}: mask must be bool of shape ({b}, {t}) for input {}, got {} {}",
                    x.shape(),
                    m.dtype(),
                    m.shape()
                );
            }
            m.unbind(1)
                .into_iter()
                .map(|c| c.expand_dims(1))
                .collect::<Vec<_>>()
        });

        // Time-major so that each step's slice of the projection is contiguous.
        let xt = x
            .permute(&[1, 0, 2])
            .reshape([(t * b) as isize, d as isize]);
        let projected = self.cell.project_inputs(&xt);
        let g = projected.dim(1);
        let steps = projected
            .reshape([t as isize, b as isize, g as isize])
            .unbind(0);

        let order: Vec<usize> = if self.go_backwards {
            (0..t).rev().collect()
        } else {
            (0..t).collect()
        };
        let mut outputs = Vec::with_capacity(if self.return_sequences { t } else { 0 });
        let mut last = None;
        let zeros = Tensor::zeros([b, self.cell.units()], x.dtype());
        for i in order {
            let (mut out, mut new_states) = self.cell.step_projected(&steps[i], &states);
            if let Some(ms) = &mask_steps {
                let m = &ms[i];
                let fallback = if self.zero_output_for_mask {
                    &zeros
                } else {
                    last.as_ref().unwrap_or(&zeros)
                };
                out = Tensor::where_(m, &out, fallback);
                new_states = new_states
                    .iter()
                    .zip(&states)
                    .map(|(n, o)| Tensor::where_(m, n, o))
                    .collect();
            }
            states = new_states;
            if self.return_sequences {
                outputs.push(out.clone());
            }
            last = Some(out);
        }
        let output = if self.return_sequences {
            Tensor::stack(&outputs, 1)
        } else {
            last.expect("at least one step")
        };
        (output, states)
    }
}

impl<C: RecurrentCell> Module for Rnn<C> {
    // The cell's variables are the layer's own: `encoder.gru.kernel`, not `….gru.cell.kernel`.
    fn visit(&self, walk: &mut Walk<'_>) {
        self.cell.visit(walk);
    }
}

impl<C: RecurrentCell> Layer for Rnn<C> {
    fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
        self.call(x)
    }
    fn type_name(&self) -> &'static str {
        self.cell.keras_name()
    }
    fn layer_name(&self) -> Option<&str> {
        self.get_name()
    }
    /// `[x, initial states…]` in; the output, then the final states with `return_state`, out.
    #[track_caller]
    fn forward_many(&self, xs: &[Tensor], training: bool) -> Vec<Tensor> {
        self.forward_masked(xs, &[], training).0
    }
    /// The input's mask skips steps (the states' masks are ignored, as Keras); the sequence
    /// output keeps it, the last step and the states are unmasked.
    #[track_caller]
    fn forward_masked(
        &self,
        xs: &[Tensor],
        masks: &[Option<Tensor>],
        _training: bool,
    ) -> (Vec<Tensor>, Vec<Option<Tensor>>) {
        let Some((x, init)) = xs.split_first() else {
            panic!("{}: expects an input, got none", self.label());
        };
        let mask = masks.first().cloned().flatten();
        let (y, states) = self.call_full(x, (!init.is_empty()).then_some(init), mask.as_ref());
        let out_mask = mask.filter(|_| self.return_sequences);
        functional_outputs(y, states, self.return_state, out_mask)
    }
}

/// The Functional outputs of a recurrent layer and their masks: the output (with `out_mask`),
/// then the states if asked for (never masked).
pub(crate) fn functional_outputs(
    y: Tensor,
    states: Vec<Tensor>,
    return_state: bool,
    out_mask: Option<Tensor>,
) -> (Vec<Tensor>, Vec<Option<Tensor>>) {
    let mut outs = vec![y];
    if return_state {
        outs.extend(states);
    }
    let mut masks = vec![out_mask];
    masks.resize(outs.len(), None);
    (outs, masks)
}
