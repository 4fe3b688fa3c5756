//! `Conv2dTranspose`: the transposed 2-D convolution (the adjoint of `Conv2d`), Keras'
//! `Conv2DTranspose`.

use super::{check_spec, label, nhwc, Activation, IntoPair, Padding};
use crate::initializers::Initializer;
use crate::layer::Layer;
use crate::module::{Module, Walk};
use keen_tape::Variable;
use keen_tensor::{DType, Tensor};
use std::sync::OnceLock;

/// A transposed 2-D convolution, as Keras' `Conv2DTranspose`: the gradient of a `Conv2d` with
/// respect to its input, used to upsample (DCGAN generators, decoders).
///
/// Built on its first call (the kernel's input channels come from the input).
///
/// * Arguments: `filters`, `kernel_size`, `strides` (1), `padding` (`Valid`),
///   `output_padding` (none), `dilation_rate` (1; with strides 1 only, as Keras),
///   `activation`, `use_bias`, `kernel_initializer` (glorot-uniform), `bias_initializer`
///   (zeros).
/// * Variables: `kernel` `(kh, kw, filters, in_channels)` (Keras' layout: output channels
///   before input channels) and `bias` `(filters,)`.
/// * Input `(batch, h, w, in_channels)` → output `(batch, oh, ow, filters)` with
///   `oh = h·stride` for `Same` and `(h − 1)·stride + kh` for `Valid` (plus `output_padding`
///   when given, as Keras computes it); with dilation the window's span `(kh − 1)·dilation + 1`
///   stands for `kh`.
///
/// ```
/// use keen_nn::layers::{Conv2dTranspose, Padding};
/// use keen_nn::Module;
/// use keen_tensor::{DType, Tensor};
/// let up = Conv2dTranspose::new(16, 4).strides(2).padding(Padding::Same);
/// let y = up.call(&Tensor::ones([2, 7, 7, 32], DType::Float32));
/// assert_eq!(y.dims(), [2, 14, 14, 16]);
/// assert_eq!(up.kernel().unwrap().shape().dims(), [4, 4, 16, 32]);
/// // A dilated 3×3 kernel spans 5×5: valid padding grows each side by 4.
/// let wide = Conv2dTranspose::new(8, 3).dilation_rate(2);
/// assert_eq!(wide.call(&Tensor::ones([1, 6, 6, 4], DType::Float32)).dims(), [1, 10, 10, 8]);
/// ```
pub struct Conv2dTranspose {
    filters: usize,
    kernel_size: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
    output_padding: Option<[usize; 2]>,
    dilation_rate: [usize; 2],
    activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    name: Option<String>,
    built: OnceLock<(Variable, Option<Variable>)>,
}

impl Conv2dTranspose {
    /// A transposed convolution with `filters` output channels and a `kernel_size` window,
    /// stride 1, `Valid` padding, with bias.
    pub fn new(filters: usize, kernel_size: impl IntoPair) -> Self {
        Conv2dTranspose {
            filters,
            kernel_size: kernel_size.into_pair(),
            strides: [1, 1],
            padding: Padding::Valid,
            output_padding: None,
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
    ///
    /// # Panics
    /// With a stride above 1 when the dilation rate is above 1 (Keras refuses the pair).
    #[track_caller]
    pub fn strides(mut self, s: impl IntoPair) -> Self {
        self.strides = s.into_pair();
        self.check_strides_and_dilation();
        self
    }

    /// Sets the dilation rate (default 1): the kernel's taps are spread this far apart, so a
    /// small kernel covers a wide window (the adjoint of a dilated [`Conv2d`](super::Conv2d)).
    ///
    /// # Panics
    /// With a rate above 1 when a stride is above 1: `Conv2dTranspose: strides > 1 are not
    /// supported with dilation_rate > 1 (as in Keras), got strides (2, 2) and dilation_rate
    /// (2, 2)`, and with a zero rate.
    #[track_caller]
    pub fn dilation_rate(mut self, d: impl IntoPair) -> Self {
        let d = d.into_pair();
        if d.contains(&0) {
            panic!(
                "{}: dilation_rate must be positive, got ({}, {})",
                label("Conv2dTranspose", &self.name),
                d[0],
                d[1]
            );
        }
        self.dilation_rate = d;
        self.check_strides_and_dilation();
        self
    }

    #[track_caller]
    fn check_strides_and_dilation(&self) {
        let (s, d) = (self.strides, self.dilation_rate);
        if s.iter().max() > Some(&1) && d.iter().max() > Some(&1) {
            panic!(
                "{}: strides > 1 are not supported with dilation_rate > 1 (as in Keras), got \
                 strides ({}, {}) and dilation_rate ({}, {})",
                label("Conv2dTranspose", &self.name),
                s[0],
                s[1],
                d[0],
                d[1]
            );
        }
    }

    /// Sets the padding (default `Valid`).
    pub fn padding(mut self, p: Padding) -> Self {
        self.padding = p;
        self
    }

    /// Sets the extra rows/columns added at the bottom/right of the output (each smaller than
    /// the stride), to pick among the output sizes that a strided convolution maps back from.
    pub fn output_padding(mut self, p: impl IntoPair) -> Self {
        self.output_padding = Some(p.into_pair());
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
                .init([kh, kw, self.filters, in_channels], dtype);
            let b = self
                .use_bias
                .then(|| Variable::new("bias", self.bias_initializer.init([self.filters], dtype)));
            (Variable::new("kernel", k), b)
        });
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// `Conv2dTranspose: expects rank-4 NHWC input, got shape (64, 28, 28)`, or
    /// `Conv2dTranspose: built for input shape (None, None, None, 3), got (2, 5, 5, 4)`.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        let label = label("Conv2dTranspose", &self.name);
        let [.., c] = nhwc(&label, x);
        self.build(c, x.dtype());
        let (kernel, bias) = self.built.get().expect("built above");
        let k = kernel.value();
        check_spec(&label, &[None, None, None, Some(k.dims()[3])], x.shape());
        let mut y = x.conv2d_transpose(
            &k,
            self.strides,
            self.padding,
            self.output_padding,
            self.dilation_rate,
        );
        if let Some(b) = bias {
            y = y.add(&b.value());
        }
        self.activation.call(&y)
    }
}

impl Module for Conv2dTranspose {
    fn visit(&self, walk: &mut Walk<'_>) {
        if let Some((k, b)) = self.built.get() {
            walk.variable("kernel", k);
            if let Some(b) = b {
                walk.variable("bias", b);
            }
        }
    }
}

impl Layer for Conv2dTranspose {
    fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
        self.call(x)
    }
    fn type_name(&self) -> &'static str {
        "conv2d_transpose"
    }
    fn layer_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}
