//! The recurrent cells: [`SimpleRnnCell`], [`GruCell`] and [`LstmCell`], with Keras 3's gate
//! order, kernel layout, variable names and defaults, so Keras weights load one-to-one.
//!
//! A cell computes one time step. The layers in `recurrent.rs` loop a cell over time; a
//! decoder that feeds its own output back calls [`GruCell::step`] (or the others) directly.
//!
//! Each step is split in two halves so that the loop can hoist the input half out of time:
//! [`RecurrentCell::project_inputs`] (`x · kernel + input bias`, one GEMM for all steps at
//! once) and [`RecurrentCell::step_projected`] (one GEMM with the recurrent kernel and the
//! elementwise gates).

use crate::initializers::Initializer;
use crate::layers::rnn_kernels;
use crate::layers::Activation;
use crate::module::{Module, Walk};
use keen_tape::Variable;
use keen_tensor::{DType, Tensor};
use std::sync::OnceLock;

/// One time step of a recurrent layer; implemented by [`SimpleRnnCell`], [`GruCell`] and
/// [`LstmCell`], and looped over time by [`Rnn`](crate::layers::Rnn).
pub trait RecurrentCell: Module {
    /// The cell's type for messages (`"GruCell"`).
    fn type_name(&self) -> &'static str;
    /// The looping layer's type for messages (`"Gru"`).
    fn layer_type_name(&self) -> &'static str;
    /// Keras' snake-case name of the looping layer (`"gru"`).
    fn keras_name(&self) -> &'static str;
    /// The number of units (the size of the output and of each state).
    fn units(&self) -> usize;
    /// How many state tensors the cell carries (2 for LSTM: `[h, c]`).
    fn state_count(&self) -> usize;
    /// Creates the variables for inputs with `input_dim` features (no-op once built).
    fn build(&self, input_dim: usize, dtype: DType);
    /// The input size the cell was built for, once built.
    fn input_dim(&self) -> Option<usize>;
    /// The state-independent half of a step: `x · kernel + input bias`, `(n, input_dim)` →
    /// `(n, gates · units)`. The cell must be built.
    fn project_inputs(&self, x: &Tensor) -> Tensor;
    /// The rest of a step from projected inputs: returns `(output, new_states)`.
    fn step_projected(&self, projected: &Tensor, states: &[Tensor]) -> (Tensor, Vec<Tensor>);
    /// A cell with the same configuration and no variables (for `Bidirectional`'s backward
    /// layer).
    fn unbuilt_copy(&self) -> Self
    where
        Self: Sized;
    /// The name given with `name(..)`, if any.
    fn cell_name(&self) -> Option<&str>;
}

/// The configuration the three cells share, with Keras' defaults.
#[derive(Clone, Debug)]
struct CellConfig {
    units: usize,
    activation: Activation,
    recurrent_activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    recurrent_initializer: Initializer,
    bias_initializer: Initializer,
    name: Option<String>,
}

impl CellConfig {
    /// Whether the fused gate kernels apply: Keras' default activations, float32 or float64.
    fn fused(&self, dtype: DType) -> bool {
        self.activation == Activation::Tanh
            && self.recurrent_activation == Activation::Sigmoid
            && matches!(dtype, DType::Float32 | DType::Float64)
    }

    fn new(units: usize) -> Self {
        CellConfig {
            units,
            activation: Activation::Tanh,
            recurrent_activation: Activation::Sigmoid,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            recurrent_initializer: Initializer::Orthogonal { gain: 1.0 },
            bias_initializer: Initializer::Zeros,
            name: None,
        }
    }
}

/// A built cell's variables, in Keras' order.
struct CellVars {
    kernel: Variable,
    recurrent_kernel: Variable,
    bias: Option<Variable>,
}

impl CellVars {
    fn new(
        c: &CellConfig,
        input_dim: usize,
        gates: usize,
        bias: Option<Tensor>,
        dtype: DType,
    ) -> Self {
        let g = gates * c.units;
        CellVars {
            kernel: Variable::new("kernel", c.kernel_initializer.init([input_dim, g], dtype)),
            recurrent_kernel: Variable::new(
                "recurrent_kernel",
                c.recurrent_initializer.init([c.units, g], dtype),
            ),
            bias: bias.map(|b| Variable::new("bias", b)),
        }
    }

    fn visit(&self, walk: &mut Walk<'_>) {
        walk.variable("kernel", &self.kernel);
        walk.variable("recurrent_kernel", &self.recurrent_kernel);
        if let Some(b) = &self.bias {
            walk.variable("bias", b);
        }
    }
}

fn label(type_name: &str, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("{type_name} `{n}`"),
        None => type_name.to_string(),
    }
}

/// Checks a step's arguments and builds the cell; shared by the cells' `step` methods.
#[track_caller]
fn check_step<C: RecurrentCell>(cell: &C, x: &Tensor, states: &[Tensor]) {
    let l = label(cell.type_name(), cell.cell_name());
    if x.rank() != 2 {
        panic!(
            "{l}: expects input of shape (batch, features), got {}",
            x.shape()
        );
    }
    cell.build(x.dim(1), x.dtype());
    let want = cell.input_dim().expect("built above");
    if x.dim(1) != want {
        panic!(
            "{l}: built for inputs with {want} features, got shape {}",
            x.shape()
        );
    }
    check_states(&l, cell, x.dim(0), states);
}

/// Checks that `states` are `state_count` tensors of shape `(batch, units)`.
#[track_caller]
pub(crate) fn check_states<C: RecurrentCell>(
    label: &str,
    cell: &C,
    batch: usize,
    states: &[Tensor],
) {
    if states.len() != cell.state_count() {
        panic!(
            "{label}: expects {} state tensor(s), got {}",
            cell.state_count(),
            states.len()
        );
    }
    for (i, s) in states.iter().enumerate() {
        if s.dims() != [batch, cell.units()] {
            panic!(
                "{label}: state {i} must have shape ({batch}, {}), got {}",
                cell.units(),
                s.shape()
            );
        }
    }
}

/// Builder methods and accessors every cell has.
macro_rules! cell_common {
    ($cell:ident) => {
        impl $cell {
            /// Sets the output activation (default tanh).
            pub fn activation(mut self, a: Activation) -> Self {
                self.config.activation = a;
                self
            }

            /// Whether to add biases (default true).
            pub fn use_bias(mut self, b: bool) -> Self {
                self.config.use_bias = b;
                self
            }

            /// Sets the initializer of `kernel` (default glorot-uniform).
            pub fn kernel_initializer(mut self, i: Initializer) -> Self {
                self.config.kernel_initializer = i;
                self
            }

            /// Sets the initializer of `recurrent_kernel` (default orthogonal).
            pub fn recurrent_initializer(mut self, i: Initializer) -> Self {
                self.config.recurrent_initializer = i;
                self
            }

            /// Sets the initializer of `bias` (default zeros).
            pub fn bias_initializer(mut self, i: Initializer) -> Self {
                self.config.bias_initializer = i;
                self
            }

            /// Names the cell (used in error messages).
            pub fn name(mut self, name: impl Into<String>) -> Self {
                self.config.name = Some(name.into());
                self
            }

            /// The kernel `(input_dim, gates · units)`, once built.
            pub fn kernel(&self) -> Option<&Variable> {
                self.vars.get().map(|v| &v.kernel)
            }

            /// The recurrent kernel `(units, gates · units)`, once built.
            pub fn recurrent_kernel(&self) -> Option<&Variable> {
                self.vars.get().map(|v| &v.recurrent_kernel)
            }

            /// The bias, once built (and if `use_bias`).
            pub fn bias(&self) -> Option<&Variable> {
                self.vars.get().and_then(|v| v.bias.as_ref())
            }

            /// Zero states for a batch: what a layer starts from without `initial_state`.
            pub fn zero_state(&self, batch: usize, dtype: DType) -> Vec<Tensor> {
                (0..self.state_count())
                    .map(|_| Tensor::zeros([batch, self.config.units], dtype))
                    .collect()
            }

            /// One time step: `x_t (batch, features)` and the states (each `(batch, units)`)
            /// give `(output, new_states)`. Builds the cell on first use.
            ///
            /// # Panics
            /// When `x_t` is not rank 2 or has another feature size than the cell was built
            /// for, or the states have the wrong count or shape (the message names the cell).
            #[track_caller]
            pub fn step(&self, x_t: &Tensor, states: &[Tensor]) -> (Tensor, Vec<Tensor>) {
                check_step(self, x_t, states);
                self.step_projected(&self.project_inputs(x_t), states)
            }
        }

        impl Module for $cell {
            fn visit(&self, walk: &mut Walk<'_>) {
                if let Some(v) = self.vars.get() {
                    v.visit(walk);
                }
            }
        }
    };
}

fn input_projection(vars: &CellVars, x: &Tensor, input_bias: Option<Tensor>) -> Tensor {
    let p = x.matmul(&vars.kernel.value());
    match input_bias {
        Some(b) => p.add(&b),
        None => p,
    }
}

/// `h_t = activation(x_t · kernel + h_{t-1} · recurrent_kernel + bias)`, as Keras'
/// `SimpleRNNCell`.
///
/// * kernel `(input_dim, units)`, recurrent_kernel `(units, units)`, bias `(units,)`.
/// * one state `h`; the output is `h`.
///
/// ```
/// use keen_nn::layers::SimpleRnnCell;
/// use keen_tensor::{DType, Tensor};
/// let cell = SimpleRnnCell::new(4);
/// let x = Tensor::ones([2, 3], DType::Float32);
/// let (y, states) = cell.step(&x, &cell.zero_state(2, DType::Float32));
/// assert_eq!(y.dims(), [2, 4]);
/// assert_eq!(states[0].dims(), [2, 4]);
/// ```
pub struct SimpleRnnCell {
    config: CellConfig,
    vars: OnceLock<CellVars>,
}

impl SimpleRnnCell {
    /// A cell with `units` units, tanh activation and bias.
    pub fn new(units: usize) -> Self {
        SimpleRnnCell {
            config: CellConfig::new(units),
            vars: OnceLock::new(),
        }
    }
}

cell_common!(SimpleRnnCell);

impl RecurrentCell for SimpleRnnCell {
    fn type_name(&self) -> &'static str {
        "SimpleRnnCell"
    }
    fn layer_type_name(&self) -> &'static str {
        "SimpleRnn"
    }
    fn keras_name(&self) -> &'static str {
        "simple_rnn"
    }
    fn units(&self) -> usize {
        self.config.units
    }
    fn state_count(&self) -> usize {
        1
    }
    fn build(&self, input_dim: usize, dtype: DType) {
        self.vars.get_or_init(|| {
            let c = &self.config;
            let b = c
                .use_bias
                .then(|| c.bias_initializer.init([c.units], dtype));
            CellVars::new(c, input_dim, 1, b, dtype)
        });
    }
    fn input_dim(&self) -> Option<usize> {
        self.vars.get().map(|v| v.kernel.shape().dims()[0])
    }
    fn project_inputs(&self, x: &Tensor) -> Tensor {
        let v = self
            .vars
            .get()
            .expect("SimpleRnnCell: build before project_inputs");
        input_projection(v, x, v.bias.as_ref().map(|b| b.value()))
    }
    fn step_projected(&self, xp: &Tensor, states: &[Tensor]) -> (Tensor, Vec<Tensor>) {
        let v = self
            .vars
            .get()
            .expect("SimpleRnnCell: build before step_projected");
        let h = self
            .config
            .activation
            .call(&xp.add(&states[0].matmul(&v.recurrent_kernel.value())));
        (h.clone(), vec![h])
    }
    fn unbuilt_copy(&self) -> Self {
        SimpleRnnCell {
            config: self.config.clone(),
            vars: OnceLock::new(),
        }
    }
    fn cell_name(&self) -> Option<&str> {
        self.config.name.as_deref()
    }
}

/// A gated recurrent unit, as Keras 3's `GRUCell`: gates in the order z (update), r (reset),
/// h (candidate).
///
/// ```text
/// z = σ(x·Wz + bz + h·Uz + b'z)          r = σ(x·Wr + br + h·Ur + b'r)
/// reset_after (default):  ĥ = tanh(x·Wh + bh + r ⊙ (h·Uh + b'h))
/// reset_after = false:    ĥ = tanh(x·Wh + bh + (r ⊙ h)·Uh)
/// h' = z ⊙ h + (1 − z) ⊙ ĥ
/// ```
///
/// * kernel `(input_dim, 3·units)`, recurrent_kernel `(units, 3·units)`; bias `(2, 3·units)`
///   with `reset_after` (row 0 the input bias, row 1 the recurrent bias), else `(3·units,)`.
/// * one state `h`; the output is `h`.
///
/// ```
/// use keen_nn::layers::GruCell;
/// use keen_tensor::{DType, Tensor};
/// let cell = GruCell::new(8);
/// let h = Tensor::zeros([1, 8], DType::Float32);
/// let (y, states) = cell.step(&Tensor::ones([1, 5], DType::Float32), &[h]);
/// assert_eq!(y.dims(), [1, 8]);
/// assert_eq!(cell.bias().unwrap().shape().dims(), [2, 24]);
/// ```
pub struct GruCell {
    config: CellConfig,
    reset_after: bool,
    vars: OnceLock<CellVars>,
}

impl GruCell {
    /// A cell with `units` units, Keras 3's defaults (tanh, sigmoid, `reset_after = true`).
    pub fn new(units: usize) -> Self {
        GruCell {
            config: CellConfig::new(units),
            reset_after: true,
            vars: OnceLock::new(),
        }
    }

    /// Sets the gate activation (default sigmoid).
    pub fn recurrent_activation(mut self, a: Activation) -> Self {
        self.config.recurrent_activation = a;
        self
    }

    /// Whether the reset gate applies after the recurrent product (Keras 3 and cuDNN: true,
    /// the default) or before it (the original GRU, Keras 2's R default).
    pub fn reset_after(mut self, b: bool) -> Self {
        self.reset_after = b;
        self
    }
}

cell_common!(GruCell);

impl RecurrentCell for GruCell {
    fn type_name(&self) -> &'static str {
        "GruCell"
    }
    fn layer_type_name(&self) -> &'static str {
        "Gru"
    }
    fn keras_name(&self) -> &'static str {
        "gru"
    }
    fn units(&self) -> usize {
        self.config.units
    }
    fn state_count(&self) -> usize {
        1
    }
    fn build(&self, input_dim: usize, dtype: DType) {
        self.vars.get_or_init(|| {
            let c = &self.config;
            let b = c.use_bias.then(|| {
                if self.reset_after {
                    c.bias_initializer.init([2, 3 * c.units], dtype)
                } else {
                    c.bias_initializer.init([3 * c.units], dtype)
                }
            });
            CellVars::new(c, input_dim, 3, b, dtype)
        });
    }
    fn input_dim(&self) -> Option<usize> {
        self.vars.get().map(|v| v.kernel.shape().dims()[0])
    }
    fn project_inputs(&self, x: &Tensor) -> Tensor {
        let v = self
            .vars
            .get()
            .expect("GruCell: build before project_inputs");
        let b = v.bias.as_ref().map(|b| {
            let b = b.value();
            if self.reset_after {
                b.narrow(0, 0, 1).squeeze(&[0])
            } else {
                b
            }
        });
        input_projection(v, x, b)
    }
    fn step_projected(&self, xp: &Tensor, states: &[Tensor]) -> (Tensor, Vec<Tensor>) {
        let v = self
            .vars
            .get()
            .expect("GruCell: build before step_projected");
        let u = self.config.units;
        let h = &states[0];
        let rk = v.recurrent_kernel.value();
        if self.reset_after && self.config.fused(h.dtype()) {
            let rb = v
                .bias
                .as_ref()
                .map(|b| b.value().narrow(0, 1, 1).squeeze(&[0]));
            let h_new = rnn_kernels::gru_reset_after(xp, &h.matmul(&rk), rb.as_ref(), h);
            return (h_new.clone(), vec![h_new]);
        }
        let x_zr = xp.narrow(1, 0, 2 * u);
        let x_h = xp.narrow(1, 2 * u, u);
        let (zr, rec_h) = if self.reset_after {
            let mut inner = h.matmul(&rk);
            if let Some(b) = &v.bias {
                inner = inner.add(&b.value().narrow(0, 1, 1));
            }
            let zr = self
                .config
                .recurrent_activation
                .call(&x_zr.add(&inner.narrow(1, 0, 2 * u)));
            let r = zr.narrow(1, u, u);
            (zr.clone(), r.mul(&inner.narrow(1, 2 * u, u)))
        } else {
            // The candidate's product needs r first, so the recurrent GEMM splits in two.
            let inner = h.matmul(&rk.narrow(1, 0, 2 * u));
            let zr = self.config.recurrent_activation.call(&x_zr.add(&inner));
            let r = zr.narrow(1, u, u);
            let rec_h = r.mul(h).matmul(&rk.narrow(1, 2 * u, u));
            (zr, rec_h)
        };
        let z = zr.narrow(1, 0, u);
        let hh = self.config.activation.call(&x_h.add(&rec_h));
        // z·h + (1 − z)·ĥ, written with one product fewer.
        let h_new = hh.add(&z.mul(&h.sub(&hh)));
        (h_new.clone(), vec![h_new])
    }
    fn unbuilt_copy(&self) -> Self {
        GruCell {
            config: self.config.clone(),
            reset_after: self.reset_after,
            vars: OnceLock::new(),
        }
    }
    fn cell_name(&self) -> Option<&str> {
        self.config.name.as_deref()
    }
}

/// A long short-term memory cell, as Keras' `LSTMCell`: gates in the order i (input),
/// f (forget), c (candidate), o (output).
///
/// ```text
/// [i, f, ĉ, o] = x·W + h·U + b
/// c' = σ(f) ⊙ c + σ(i) ⊙ tanh(ĉ)        h' = σ(o) ⊙ tanh(c')
/// ```
///
/// * kernel `(input_dim, 4·units)`, recurrent_kernel `(units, 4·units)`, bias `(4·units,)`
///   (the forget gate's part starts at one with `unit_forget_bias`, the default).
/// * states `[h, c]`; the output is `h`.
///
/// ```
/// use keen_nn::layers::LstmCell;
/// use keen_tensor::{DType, Tensor};
/// let cell = LstmCell::new(4);
/// let (h, states) = cell.step(&Tensor::ones([2, 3], DType::Float32), &cell.zero_state(2, DType::Float32));
/// assert_eq!(h.dims(), [2, 4]);
/// assert_eq!(states.len(), 2); // [h, c]
/// ```
pub struct LstmCell {
    config: CellConfig,
    unit_forget_bias: bool,
    vars: OnceLock<CellVars>,
}

impl LstmCell {
    /// A cell with `units` units and Keras' defaults (tanh, sigmoid, `unit_forget_bias`).
    pub fn new(units: usize) -> Self {
        LstmCell {
            config: CellConfig::new(units),
            unit_forget_bias: true,
            vars: OnceLock::new(),
        }
    }

    /// Sets the gate activation (default sigmoid).
    pub fn recurrent_activation(mut self, a: Activation) -> Self {
        self.config.recurrent_activation = a;
        self
    }

    /// Whether the forget gate's bias starts at one (default true, as Keras).
    pub fn unit_forget_bias(mut self, b: bool) -> Self {
        self.unit_forget_bias = b;
        self
    }
}

cell_common!(LstmCell);

impl RecurrentCell for LstmCell {
    fn type_name(&self) -> &'static str {
        "LstmCell"
    }
    fn layer_type_name(&self) -> &'static str {
        "Lstm"
    }
    fn keras_name(&self) -> &'static str {
        "lstm"
    }
    fn units(&self) -> usize {
        self.config.units
    }
    fn state_count(&self) -> usize {
        2
    }
    fn build(&self, input_dim: usize, dtype: DType) {
        self.vars.get_or_init(|| {
            let c = &self.config;
            let u = c.units;
            let b = c.use_bias.then(|| {
                if self.unit_forget_bias {
                    Tensor::concat(
                        &[
                            c.bias_initializer.init([u], dtype),
                            Tensor::ones([u], dtype),
                            c.bias_initializer.init([2 * u], dtype),
                        ],
                        0,
                    )
                } else {
                    c.bias_initializer.init([4 * u], dtype)
                }
            });
            CellVars::new(c, input_dim, 4, b, dtype)
        });
    }
    fn input_dim(&self) -> Option<usize> {
        self.vars.get().map(|v| v.kernel.shape().dims()[0])
    }
    fn project_inputs(&self, x: &Tensor) -> Tensor {
        let v = self
            .vars
            .get()
            .expect("LstmCell: build before project_inputs");
        input_projection(v, x, v.bias.as_ref().map(|b| b.value()))
    }
    fn step_projected(&self, xp: &Tensor, states: &[Tensor]) -> (Tensor, Vec<Tensor>) {
        let v = self
            .vars
            .get()
            .expect("LstmCell: build before step_projected");
        let u = self.config.units;
        let (h, c) = (&states[0], &states[1]);
        let hr = h.matmul(&v.recurrent_kernel.value());
        if self.config.fused(h.dtype()) {
            let hc = rnn_kernels::lstm(xp, &hr, c);
            let h_new = hc.narrow(1, 0, u);
            return (h_new.clone(), vec![h_new, hc.narrow(1, u, u)]);
        }
        let z = xp.add(&hr);
        let (act, rec) = (self.config.activation, self.config.recurrent_activation);
        // i and f are adjacent: one activation call covers both.
        let if_ = rec.call(&z.narrow(1, 0, 2 * u));
        let i = if_.narrow(1, 0, u);
        let f = if_.narrow(1, u, u);
        let g = act.call(&z.narrow(1, 2 * u, u));
        let o = rec.call(&z.narrow(1, 3 * u, u));
        let c_new = f.mul(c).add(&i.mul(&g));
        let h_new = o.mul(&act.call(&c_new));
        (h_new.clone(), vec![h_new, c_new])
    }
    fn unbuilt_copy(&self) -> Self {
        LstmCell {
            config: self.config.clone(),
            unit_forget_bias: self.unit_forget_bias,
            vars: OnceLock::new(),
        }
    }
    fn cell_name(&self) -> Option<&str> {
        self.config.name.as_deref()
    }
}
