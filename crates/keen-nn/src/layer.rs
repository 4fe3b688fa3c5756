//! The [`Layer`] trait: what `Sequential` and the Functional API need from a layer.

use crate::module::Module;
use keen_tensor::Tensor;

/// A module that maps one tensor to one tensor. `training` selects training behaviour
/// (dropout active, batch statistics) and is ignored by layers without such behaviour.
pub trait Layer: Module {
    /// Applies the layer.
    fn forward(&self, x: &Tensor, training: bool) -> Tensor;

    /// Keras' snake-case class name (`"dense"`, `"dropout"`), the default layer name.
    fn type_name(&self) -> &'static str;

    /// The name given by the user, if any.
    fn layer_name(&self) -> Option<&str> {
        None
    }

    /// The names of the outputs, under which `fit` logs each output's loss and metrics
    /// (`price_loss`); empty for a single-output layer.
    fn output_names(&self) -> Vec<String> {
        Vec::new()
    }

    /// Applies the layer to several inputs, giving several outputs: the Functional API's view
    /// of a layer. Merge layers take their inputs here, a recurrent layer its initial states,
    /// a Functional model all its inputs. The default takes exactly one input.
    ///
    /// # Panics
    /// `Dense: expects 1 input, got 2` from the default.
    #[track_caller]
    fn forward_many(&self, xs: &[Tensor], training: bool) -> Vec<Tensor> {
        vec![self.forward(only_input(self, xs), training)]
    }

    /// Applies the layer to inputs that may carry masks, and gives the outputs with their
    /// masks: Keras' `call(..., mask=)` and `compute_mask` in one, as the Functional API and
    /// `Sequential` run a layer. `masks` has one entry per input (`None` where unmasked); the
    /// second vector has one entry per output, or is empty when no output is masked.
    ///
    /// A mask is a bool `(batch, time)` tensor, true at real steps and false at padding. It
    /// starts at a layer that makes one (`Embedding` with `mask_zero`, `Masking`), passes
    /// through layers that keep the time axis as is (Keras' `supports_masking`: `Dense`,
    /// `Dropout`, the activations, `LayerNormalization`, `BatchNormalization`, whose batch
    /// statistics leave the padding out, the merges) and is used by the layers that consume it
    /// (the recurrent layers skip masked steps, `GlobalAveragePooling1d` averages the real
    /// ones). The default ignores the masks and gives none,
    /// as a Keras layer without `supports_masking` stops a mask; a layer that passes it on
    /// returns [`keep_mask`] of its inputs' masks.
    ///
    /// ```
    /// use keen_nn::prelude::*;
    /// use keen_tensor::Tensor;
    /// let ids = Tensor::from_vec(vec![3i64, 5, 0, 0], [1, 4]); // two real tokens, two padding
    /// let emb = Embedding::new(10, 4).mask_zero(true);
    /// let (x, masks) = emb.forward_masked(&[ids], &[None], false);
    /// let mask = masks[0].clone().expect("mask_zero makes a mask");
    /// let (_, masks) = Dropout::new(0.5).forward_masked(&x, &[Some(mask.clone())], false);
    /// assert_eq!(masks[0].as_ref().unwrap().to_vec::<bool>(), mask.to_vec::<bool>());
    /// ```
    #[track_caller]
    fn forward_masked(
        &self,
        xs: &[Tensor],
        masks: &[Option<Tensor>],
        training: bool,
    ) -> (Vec<Tensor>, Vec<Option<Tensor>>) {
        let _ = masks;
        (self.forward_many(xs, training), Vec::new())
    }
}

/// The input of a one-input layer given `xs` through [`Layer::forward_many`] or
/// [`Layer::forward_masked`].
///
/// # Panics
/// `Dense: expects 1 input, got 2`, with the layer's name where it has one.
#[track_caller]
pub(crate) fn only_input<'a, L: Layer + ?Sized>(layer: &L, xs: &'a [Tensor]) -> &'a Tensor {
    match xs {
        [x] => x,
        _ => panic!(
            "{}: expects 1 input, got {}",
            crate::layers::label(
                &crate::summary::class_name(layer.type_name()),
                &layer.layer_name().map(str::to_string)
            ),
            xs.len()
        ),
    }
}

/// The output mask of a layer that keeps its input's time axis (Keras' `supports_masking`
/// with the default `compute_mask`): the first input's mask, unchanged.
pub fn keep_mask(masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
    vec![masks.first().cloned().flatten()]
}

/// `forward_masked` for a one-input layer that passes its input's mask on unchanged.
macro_rules! keeps_mask {
    () => {
        #[track_caller]
        fn forward_masked(
            &self,
            xs: &[keen_tensor::Tensor],
            masks: &[Option<keen_tensor::Tensor>],
            training: bool,
        ) -> (Vec<keen_tensor::Tensor>, Vec<Option<keen_tensor::Tensor>>) {
            (
                self.forward_many(xs, training),
                $crate::layer::keep_mask(masks),
            )
        }
    };
}
pub(crate) use keeps_mask;

impl Layer for crate::Dense {
    fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
        self.call(x)
    }
    fn type_name(&self) -> &'static str {
        "dense"
    }
    fn layer_name(&self) -> Option<&str> {
        self.get_name()
    }
    keeps_mask!();
}

impl Layer for crate::Activation {
    fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
        self.call(x)
    }
    fn type_name(&self) -> &'static str {
        "activation"
    }
    keeps_mask!();
}

impl Module for crate::Activation {
    fn visit(&self, _: &mut crate::Walk<'_>) {}
}
