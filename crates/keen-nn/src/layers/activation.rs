//! Activation functions as a value a layer can hold (`Dense::new(64).activation(Activation::Relu)`).

use keen_tensor::Tensor;

/// An elementwise activation, with Keras' names and defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Activation {
    /// The identity (Keras' `"linear"`, the default).
    #[default]
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `x` for x > 0, else `alpha·x` (Keras' LeakyReLU layer default alpha is 0.3).
    LeakyRelu(f64),
    /// `x` for x > 0, else `e^x - 1` (alpha 1).
    Elu,
    /// Exact GELU `x·Φ(x)`.
    Gelu,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// Softmax over the last axis.
    Softmax,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x·σ(x)` (also called SiLU).
    Swish,
}

impl Activation {
    /// Applies the activation.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        match *self {
            Activation::Linear => x.clone(),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(alpha) => x.leaky_relu(alpha),
            Activation::Elu => x.elu(1.0),
            Activation::Gelu => x.gelu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Softmax => x.softmax(-1),
            Activation::Softplus => x.softplus(),
            Activation::Swish => x.mul(&x.sigmoid()),
        }
    }

    /// Keras' name for the activation (`"relu"`, `"linear"`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Elu => "elu",
            Activation::Gelu => "gelu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Softmax => "softmax",
            Activation::Softplus => "softplus",
            Activation::Swish => "swish",
        }
    }
}
