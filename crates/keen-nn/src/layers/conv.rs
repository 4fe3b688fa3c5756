//! `Conv2d`: 2-D convolution over NHWC images, Keras' `Conv2D`.

use super::{check_spec, label, nhwc, Activation, IntoPair, Padding};
use crate::initializers::Initializer;
use crate::layer::Layer;
use crate::module::{Module, Walk};
use keen_tape::Variable;
use keen_tensor::{DType, Tensor};
use std::sync::OnceLock;

/// A 2-D convolution, as Keras' `Conv2D`: `activation(conv2d(x, kernel) + bias)`.
///
/// Built on its first call (the kernel's input channels come from the input).
///
/// * Arguments: `filters`, `kernel_size` (`3` or `[3, 5]`), `strides` (1), `padding`
///   ([`Padding::Valid`], or `Same` with TensorFlow's odd pad at the bottom/right),
///   `dilation_rate` (1), `activation` (linear), `use_bias` (true), `kernel_initializer`
///   (glorot-uniform), `bias_initializer` (zeros).
/// * Variables: `kernel` `(kh, kw, in_channels, filters)` (Keras' layout, so Keras weights load
///   unchanged) and `bias` `(filters,)`.
/// * Input `(batch, h, w, in_channels)` → output `(batch, oh, ow, filters)`, with
///   `oh = ceil(h / stride)` for `Same` and `ceil((h − (kh − 1)·dilation) / stride)` for
///   `Valid`.
///
/// ```
/// use keen_nn::layers::{Conv2d, Padding};
/// use keen_nn::{Activation, Module};
/// use keen_tensor::{DType, Tensor};
/// let conv = Conv2d::new(8, 3).strides(2).padding(Padding::Same).activation(Activation::Relu);
/// let y = conv.call(&Tensor::ones([2, 28, 28, 1], DType::Float32));
/// assert_eq!(y.dims(), [2, 14, 14, 8]);
/// assert_eq!(conv.count_params(), 3 * 3 * 1 * 8 + 8);
/// ```
pub struct Conv2d {
    filters: usize,
    kernel_size: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
    dilation_rate: [usize; 2],
    activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    name: Option<String>,
    built: OnceLock<(Variable, Option<Variable>)>,
}

impl Conv2d {
    /// A convolution with `filters` output channels and a `kernel_size` window, stride 1,
    /// `Valid` padding, with bias.
    pub fn new(filters: usize, kernel_size: impl IntoPair) -> Self {
        Conv2d {
            filters,
            kernel_size: kernel_size.into_pair(),
            strides: [1, 1],
            padding: Padding::Valid,
            dilation_rate: [1, 1],
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            name: None,
            built: OnceLock::new(),
        }
    }

    /// Sets the strides (default 1).
    pub fn strides(mut self, s: impl IntoPair) -> Self {
        self.strides = s.into_pair();
        self
    }

    /// Sets the padding (default `Valid`).
    pub fn padding(mut self, p: Padding) -> Self {
        self.padding = p;
        self
    }

    /// Sets the dilation rate (default 1).
    pub fn dilation_rate(mut self, d: impl IntoPair) -> Self {
        self.dilation_rate = d.into_pair();
        self
    }

    /// Sets the activation applied to the output.
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }

    /// Whether to add a bias (default true).
    pub fn use_bias(mut self, b: bool) -> Self {
        self.use_bias = b;
        self
    }

    /// Sets the kernel initializer (default glorot-uniform).
    pub fn kernel_initializer(mut self, i: Initializer) -> Self {
        self.kernel_initializer = i;
        self
    }

    /// Sets the bias initializer (default zeros).
    pub fn bias_initializer(mut self, i: Initializer) -> Self {
        self.bias_initializer = i;
        self
    }

    /// Names the layer (used in error messages and summaries).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The kernel, once built.
    pub fn kernel(&self) -> Option<&Variable> {
        self.built.get().map(|(k, _)| k)
    }

    /// The bias, once built (and if `use_bias`).
    pub fn bias(&self) -> Option<&Variable> {
        self.built.get().and_then(|(_, b)| b.as_ref())
    }

    /// Creates the variables for inputs with `in_channels` channels (done by the first call).
    pub fn build(&self, in_channels: usize, dtype: DType) {
        self.built.get_or_init(|| {
            let [kh, kw] = self.kernel_size;
            let k = self
                .kernel_initializer
                .init([kh, kw, in_channels, self.filters], dtype);
            let b = self
                .use_bias
                .then(|| Variable::new("bias", self.bias_initializer.init([self.filters], dtype)));
            (Variable::new("kernel", k), b)
        });
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// `Conv2d: expects rank-4 NHWC input, got shape (64, 28, 28)`, or
    /// `Conv2d: built for input shape (None, None, None, 3), got (2, 5, 5, 4)`.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        let label = label("Conv2d", &self.name);
        let [.., c] = nhwc(&label, x);
        self.build(c, x.dtype());
        let (kernel, bias) = self.built.get().expect("built above");
        let k = kernel.value();
        check_spec(&label, &[None, None, None, Some(k.dims()[2])], x.shape());
        let (s, p, d) = (self.strides, self.padding, self.dilation_rate);
        let y = match bias {
            Some(b) => x.conv2d_with_bias(&k, &b.value(), s, p, d),
            None => x.conv2d(&k, s, p, d),
        };
        self.activation.call(&y)
    }
}

impl Module for Conv2d {
    fn visit(&self, walk: &mut Walk<'_>) {
        if let Some((k, b)) = self.built.get() {
            walk.variable("kernel", k);
            if let Some(b) = b {
                walk.variable("bias", b);
            }
        }
    }
}

impl Layer for Conv2d {
    fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
        self.call(x)
    }
    fn type_name(&self) -> &'static str {
        "conv2d"
    }
    fn layer_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}
