//! `Bidirectional`: a recurrent layer run forwards and backwards, outputs merged.

use crate::layer::Layer;
use crate::layers::recurrent::Rnn;
use crate::layers::rnn_cells::RecurrentCell;
use crate::module::{Module, Walk};
use keen_tensor::Tensor;

/// How [`Bidirectional`] combines the forward and backward outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MergeMode {
    /// Concatenated along the last axis (Keras' default): `2·units` features.
    #[default]
    Concat,
    /// Summed.
    Sum,
    /// Multiplied elementwise.
    Mul,
    /// Averaged.
    Ave,
}

/// Keras' `Bidirectional`: a copy of the given recurrent layer reads the sequence backwards,
/// and the two outputs are merged ([`MergeMode::Concat`] by default).
///
/// * variables: `forward_layer.kernel`, … and `backward_layer.kernel`, … (independent weights).
/// * with `return_sequences`, the backward output is flipped back to input order before the
///   merge, and masked steps output zeros (Keras forces `zero_output_for_mask` there).
/// * [`call_full`](Self::call_full) returns the forward states then the backward ones;
///   `initial_state` takes them in the same order. In the Functional API, a wrapped layer with
///   [`return_state(true)`](Rnn::return_state) makes `apply_multi` give the merged output then
///   those states (Keras' `[output, h_fwd, c_fwd, h_bwd, c_bwd]` for an LSTM), and the initial
///   states follow the input: `bi.apply(&[x, h_fwd, h_bwd])`.
///
/// ```
/// use keen_nn::layers::{Bidirectional, Lstm};
/// use keen_tensor::{DType, Tensor};
/// let bi = Bidirectional::new(Lstm::new(4).return_sequences(true));
/// let y = bi.call(&Tensor::ones([2, 6, 3], DType::Float32));
/// assert_eq!(y.dims(), [2, 6, 8]); // concat of 4 + 4
/// ```
pub struct Bidirectional<C> {
    forward_layer: Rnn<C>,
    backward_layer: Rnn<C>,
    merge_mode: MergeMode,
    name: Option<String>,
}

impl<C: RecurrentCell> Bidirectional<C> {
    /// Wraps `layer`; the backward layer is an unbuilt copy reading the other way.
    pub fn new(layer: Rnn<C>) -> Self {
        let seq = layer.returns_sequences();
        let backward_layer = layer
            .unbuilt_copy()
            .go_backwards(!layer.is_backwards())
            .zero_output_for_mask(seq);
        Bidirectional {
            forward_layer: layer.zero_output_for_mask(seq),
            backward_layer,
            merge_mode: MergeMode::Concat,
            name: None,
        }
    }

    /// Sets how the two outputs combine (default concat).
    pub fn merge_mode(mut self, m: MergeMode) -> Self {
        self.merge_mode = m;
        self
    }

    /// Names the layer (used in error messages).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The layer reading forwards.
    pub fn forward_layer(&self) -> &Rnn<C> {
        &self.forward_layer
    }

    /// The layer reading backwards.
    pub fn backward_layer(&self) -> &Rnn<C> {
        &self.backward_layer
    }

    /// The merged output.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        self.call_full(x, None, None).0
    }

    /// The merged output and the states (forward's, then backward's), with optional initial
    /// states in the same order and an optional bool `(batch, time)` mask.
    ///
    /// # Panics
    /// As [`Rnn::call_full`], and `Bidirectional: initial_state needs 2 tensors (forward then
    /// backward), got 1`.
    #[track_caller]
    pub fn call_full(
        &self,
        x: &Tensor,
        initial_state: Option<&[Tensor]>,
        mask: Option<&Tensor>,
    ) -> (Tensor, Vec<Tensor>) {
        let (fwd_init, bwd_init) = match initial_state {
            Some(s) => {
                let n = 2 * self.forward_layer.cell().state_count();
                if s.len() != n {
                    let l = match &self.name {
                        Some(name) => format!("Bidirectional `{name}`"),
                        None => "Bidirectional".to_string(),
                    };
                    panic!(
                        "{l}: initial_state needs {n} tensors (forward then backward), got {}",
                        s.len()
                    );
                }
                let (f, b) = s.split_at(n / 2);
                (Some(f), Some(b))
            }
            None => (None, None),
        };
        let (y, mut states) = self.forward_layer.call_full(x, fwd_init, mask);
        let (mut y_rev, bwd_states) = self.backward_layer.call_full(x, bwd_init, mask);
        states.extend(bwd_states);
        if self.forward_layer.returns_sequences() {
            y_rev = y_rev.flip(&[1]);
        }
        let out = match self.merge_mode {
            MergeMode::Concat => Tensor::concat(&[y, y_rev], -1),
            MergeMode::Sum => y.add(&y_rev),
            MergeMode::Mul => y.mul(&y_rev),
            MergeMode::Ave => y.add(&y_rev).mul(0.5),
        };
        (out, states)
    }
}

impl<C: RecurrentCell> Module for Bidirectional<C> {
    fn visit(&self, walk: &mut Walk<'_>) {
        walk.field("forward_layer", &self.forward_layer);
        walk.field("backward_layer", &self.backward_layer);
    }
}

impl<C: RecurrentCell> Layer for Bidirectional<C> {
    fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
        self.call(x)
    }
    fn type_name(&self) -> &'static str {
        "bidirectional"
    }
    fn layer_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// `[x, forward states…, backward states…]` in; the merged output, then the states with
    /// the wrapped layer's `return_state`, out.
    #[track_caller]
    fn forward_many(&self, xs: &[Tensor], training: bool) -> Vec<Tensor> {
        self.forward_masked(xs, &[], training).0
    }
    /// Both directions skip the input's masked steps; the merged sequence output keeps the
    /// mask, the last step and the states are unmasked (Keras' `compute_mask`).
    #[track_caller]
    fn forward_masked(
        &self,
        xs: &[Tensor],
        masks: &[Option<Tensor>],
        _training: bool,
    ) -> (Vec<Tensor>, Vec<Option<Tensor>>) {
        let Some((x, init)) = xs.split_first() else {
            panic!("Bidirectional: expects an input, got none");
        };
        let mask = masks.first().cloned().flatten();
        let (y, states) = self.call_full(x, (!init.is_empty()).then_some(init), mask.as_ref());
        let out_mask = mask.filter(|_| self.forward_layer.returns_sequences());
        crate::layers::recurrent::functional_outputs(
            y,
            states,
            self.forward_layer.returns_state(),
            out_mask,
        )
    }
}
