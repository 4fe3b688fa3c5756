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
        match xs {
            [x] => vec![self.forward(x, training)],
            _ => panic!(
                "{}: expects 1 input, got {}",
                crate::layers::label(
                    &crate::summary::class_name(self.type_name()),
                    &self.layer_name().map(str::to_string)
                ),
                xs.len()
            ),
        }
    }
}

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
}

impl Layer for crate::Activation {
    fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
        self.call(x)
    }
    fn type_name(&self) -> &'static str {
        "activation"
    }
}

impl Module for crate::Activation {
    fn visit(&self, _: &mut crate::Walk<'_>) {}
}
