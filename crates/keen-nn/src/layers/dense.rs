//! `Dense`: the fully connected layer, `activation(x · kernel + bias)`.

use crate::initializers::Initializer;
use crate::layers::Activation;
use crate::module::{Module, Walk};
use keen_tape::Variable;
use keen_tensor::{Shape, Tensor};
use std::sync::OnceLock;

/// A fully connected layer, as Keras' `Dense`: `activation(x · kernel + bias)` over the last
/// axis of any-rank input.
///
/// Built on its first call: the kernel's input size comes from the input's last axis, so
/// `Dense::new(64)` needs no input dimension.
///
/// * kernel: `(input_dim, units)`, glorot-uniform by default; bias: `(units,)`, zeros.
/// * input `(..., input_dim)` → output `(..., units)`.
///
/// ```
/// use keen_nn::{Dense, Activation, Module};
/// use keen_tensor::{DType, Tensor};
/// let layer = Dense::new(3).activation(Activation::Relu);
/// let y = layer.call(&Tensor::ones([2, 5], DType::Float32));
/// assert_eq!(y.dims(), [2, 3]);
/// assert_eq!(layer.count_params(), 5 * 3 + 3);
/// ```
pub struct Dense {
    units: usize,
    activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    name: Option<String>,
    built: OnceLock<(Variable, Option<Variable>)>,
}

impl Dense {
    /// A layer with `units` outputs, no activation, with bias.
    pub fn new(units: usize) -> Self {
        Dense {
            units,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            name: None,
            built: OnceLock::new(),
        }
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

    /// The name given with [`name`](Self::name), if any.
    pub fn get_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The number of output units.
    pub fn units(&self) -> usize {
        self.units
    }

    /// The kernel, once built.
    pub fn kernel(&self) -> Option<&Variable> {
        self.built.get().map(|(k, _)| k)
    }

    /// The bias, once built (and if `use_bias`).
    pub fn bias(&self) -> Option<&Variable> {
        self.built.get().and_then(|(_, b)| b.as_ref())
    }

    /// Creates the variables for inputs whose last axis is `input_dim` (called by the first
    /// `call`; call it yourself to build before use).
    pub fn build(&self, input_dim: usize, dtype: keen_tensor::DType) {
        self.built.get_or_init(|| {
            let k = self
                .kernel_initializer
                .init(Shape::new(&[input_dim, self.units]), dtype);
            let b = self
                .use_bias
                .then(|| Variable::new("bias", self.bias_initializer.init([self.units], dtype)));
            (Variable::new("kernel", k), b)
        });
    }

    fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("Dense `{n}`"),
            None => "Dense".to_string(),
        }
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// `Dense: built for inputs with last axis 512, got shape (64, 1, 1024)`.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        if x.rank() == 0 {
            panic!(
                "{}: expects inputs of rank >= 1, got a scalar",
                self.label()
            );
        }
        let in_dim = x.dim(-1);
        self.build(in_dim, x.dtype());
        let (kernel, bias) = self.built.get().expect("built above");
        let k = kernel.value();
        if k.dims()[0] != in_dim {
            panic!(
                "{}: built for inputs with last axis {}, got shape {}",
                self.label(),
                k.dims()[0],
                x.shape()
            );
        }
        // Fold leading axes into one so the product is a single GEMM.
        let lead: Vec<usize> = x.dims()[..x.rank() - 1].to_vec();
        let x2 = if x.rank() == 2 {
            x.clone()
        } else {
            x.reshape_dims(&[-1, in_dim as isize])
        };
        let mut y = x2.matmul(&k);
        if let Some(b) = bias {
            y = y.add(&b.value());
        }
        if x.rank() != 2 {
            let mut d: Vec<isize> = lead.iter().map(|&v| v as isize).collect();
            d.push(self.units as isize);
            y = y.reshape_dims(&d);
        }
        self.activation.call(&y)
    }
}

impl Module for Dense {
    fn visit(&self, walk: &mut Walk<'_>) {
        if let Some((k, b)) = self.built.get() {
            walk.variable("kernel", k);
            if let Some(b) = b {
                walk.variable("bias", b);
            }
        }
    }
}
