//! `Lambda` (a closure as a layer) and the `LeakyRelu` layer.

use crate::layer::Layer;
use crate::module::{Module, Walk};
use keen_tensor::Tensor;
use std::fmt;

/// Keras' `Lambda`: any function of a tensor, as a layer (for `Sequential`). It holds no
/// variables; a function that needs weights belongs in a custom layer.
///
/// ```
/// use keen_nn::layers::{Dense, Lambda};
/// use keen_nn::Sequential;
/// use keen_tensor::{DType, Tensor};
/// let model = Sequential::new()
///     .add(Dense::new(4))
///     .add(Lambda::new(|x: &Tensor| x.mul(2.0).tanh()));
/// assert_eq!(model.call(&Tensor::ones([3, 2], DType::Float32), false).dims(), [3, 4]);
/// ```
pub struct Lambda {
    f: Box<dyn Fn(&Tensor) -> Tensor + Send + Sync>,
    name: Option<String>,
}

impl Lambda {
    /// Wraps `f`.
    pub fn new(f: impl Fn(&Tensor) -> Tensor + Send + Sync + 'static) -> Self {
        Lambda {
            f: Box::new(f),
            name: None,
        }
    }

    /// Names the layer (used in summaries).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Applies the function.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        (self.f)(x)
    }
}

impl fmt::Debug for Lambda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lambda({:?})", self.name)
    }
}

impl Module for Lambda {
    fn visit(&self, _: &mut Walk<'_>) {}
}

impl Layer for Lambda {
    fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
        self.call(x)
    }
    fn type_name(&self) -> &'static str {
        "lambda"
    }
    fn layer_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// Keras 3's `LeakyReLU` layer: `x` for `x > 0`, else `negative_slope·x`, with Keras'
/// default slope 0.3 (PyTorch's is 0.01).
///
/// ```
/// use keen_nn::layers::LeakyRelu;
/// use keen_tensor::Tensor;
/// let y = LeakyRelu::new().call(&Tensor::from([-1.0f32, 2.0]));
/// assert_eq!(y.to_vec::<f32>(), [-0.3, 2.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LeakyRelu {
    negative_slope: f64,
}

impl Default for LeakyRelu {
    fn default() -> Self {
        Self::new()
    }
}

impl LeakyRelu {
    /// Slope 0.3 below zero.
    pub fn new() -> Self {
        LeakyRelu {
            negative_slope: 0.3,
        }
    }

    /// Sets the slope below zero (default 0.3).
    pub fn negative_slope(mut self, s: f64) -> Self {
        self.negative_slope = s;
        self
    }

    /// Applies the activation.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        x.leaky_relu(self.negative_slope)
    }
}
stateless_layer!(LeakyRelu, "leaky_re_lu");
