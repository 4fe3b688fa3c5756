//! `Lambda` (a closure as a layer) and the `LeakyRelu` layer.

use crate::layer::Layer;
use crate::module::{Module, Walk};
use keen_tensor::Tensor;
use std::fmt;

/// Keras' `Lambda`: any function of a tensor (or of several, with [`many`](Self::many)), as a
/// layer (for `Sequential`). It holds no variables; a function that needs weights belongs in a
/// custom layer.
///
/// ```
/// use keen_nn::layers::{Dense, Lambda};
/// use keen_nn::Sequential;
/// use keen_tensor::{DType, Tensor};
/// let model = Sequential::new()
///     .add(Dense::new(4))
///     .add(Lambda::new(|x: &Tensor| x.mul(2.0).tanh()));
/// assert_eq!(model.call(&Tensor::ones([3, 2], DType::Float32), false).dims(), [3, 4]);
///
/// // Several inputs: a batched dot product of two embeddings, as in a recommender.
/// let dot = Lambda::many(|xs: &[Tensor]| xs[0].mul(&xs[1]).sum(&[-1], true));
/// let (u, m) = (Tensor::ones([5, 8], DType::Float32), Tensor::ones([5, 8], DType::Float32));
/// assert_eq!(dot.call_many(&[u, m]).dims(), [5, 1]);
/// ```
pub struct Lambda {
    f: LambdaFn,
    name: Option<String>,
}

type OneFn = Box<dyn Fn(&Tensor) -> Tensor + Send + Sync>;
type ManyFn = Box<dyn Fn(&[Tensor]) -> Tensor + Send + Sync>;

enum LambdaFn {
    One(OneFn),
    Many(ManyFn),
}

impl Lambda {
    /// Wraps `f`.
    pub fn new(f: impl Fn(&Tensor) -> Tensor + Send + Sync + 'static) -> Self {
        Lambda {
            f: LambdaFn::One(Box::new(f)),
            name: None,
        }
    }

    /// Wraps `f` of several inputs (call it with [`call_many`](Self::call_many)).
    pub fn many(f: impl Fn(&[Tensor]) -> Tensor + Send + Sync + 'static) -> Self {
        Lambda {
            f: LambdaFn::Many(Box::new(f)),
            name: None,
        }
    }

    /// Names the layer (used in summaries).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Applies the function to one input (a [`many`](Self::many) function gets `&[x]`).
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        match &self.f {
            LambdaFn::One(f) => f(x),
            LambdaFn::Many(f) => f(std::slice::from_ref(x)),
        }
    }

    /// Applies the function to several inputs.
    ///
    /// # Panics
    /// `Lambda: a one-input function was called with 2 inputs` (use [`many`](Self::many)).
    #[track_caller]
    pub fn call_many(&self, xs: &[Tensor]) -> Tensor {
        match (&self.f, xs) {
            (LambdaFn::Many(f), _) => f(xs),
            (LambdaFn::One(f), [x]) => f(x),
            (LambdaFn::One(_), _) => panic!(
                "Lambda: a one-input function was called with {} inputs",
                xs.len()
            ),
        }
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
    #[track_caller]
    fn forward_many(&self, xs: &[Tensor], _training: bool) -> Vec<Tensor> {
        vec![self.call_many(xs)]
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
stateless_layer!(LeakyRelu, "leaky_re_lu", keeps_mask);
