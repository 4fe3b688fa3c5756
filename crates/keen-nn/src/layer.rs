//! The [`Layer`] trait: what `Sequential` (and later the Functional API) needs from a layer.

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
        self.apply(x)
    }
    fn type_name(&self) -> &'static str {
        "activation"
    }
}

impl Module for crate::Activation {
    fn visit(&self, _: &mut crate::Walk<'_>) {}
}
