//! `BatchNormalization` and `LayerNormalization`, with Keras 3's defaults and formulas.

use super::batch_norm_fused::{batch_norm_inference, batch_norm_train};
use super::{check_spec, label};
use crate::initializers::Initializer;
use crate::layer::Layer;
use crate::module::{Module, Walk};
use keen_tape::Variable;
use keen_tensor::record::without_recording;
use keen_tensor::{DType, Tensor};
use std::sync::OnceLock;

/// `(mean, variance)` over `axes`, kept as size-1 axes.
///
/// The variance is `E[x²] − E[x]²`, as Keras 3 computes it (`ops.moments`): two reductions
/// reading `x`, one temporary `x²`, where the two-pass `E[(x − E[x])²]` writes two full-size
/// temporaries. keen-tensor has no single-pass moments kernel yet; this is the cheapest
/// composition of its ops, and matches Keras to rounding.
fn moments(x: &Tensor, axes: &[isize]) -> (Tensor, Tensor) {
    let mean = x.mean(axes, true);
    let var = x.square().mean(axes, true).sub(&mean.square());
    (mean, var)
}

/// `(mean, variance)` over `axes` of the steps where `mask` is true, kept as size-1 axes: Keras
/// 3's masked moments, which weigh each step by its mask and add its `backend.epsilon()` (1e-7)
/// to the count so that a batch of padding alone gives zeros.
fn masked_moments(x: &Tensor, mask: &Tensor, axes: &[isize]) -> (Tensor, Tensor) {
    let w = mask.cast(x.dtype()).expand_dims(-1);
    let count = w.broadcast_to(x.dims()).sum(axes, true).add(1e-7);
    let weighted = x.mul(&w);
    let mean = weighted.sum(axes, true).div(&count);
    let var = weighted
        .sub(&mean)
        .square()
        .mul(&w)
        .sum(axes, true)
        .div(&count);
    (mean, var)
}

/// `x·s + t` with `s = γ / sqrt(var + ε)` and `t = β − mean·s`: the per-feature factors are
/// formed on the small statistics, so the full-size input is read by just two broadcast ops.
fn normalize(
    x: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
    epsilon: f64,
) -> Tensor {
    let mut s = var.add(epsilon).rsqrt();
    if let Some(g) = gamma {
        s = s.mul(g);
    }
    let mut t = mean.mul(&s).neg();
    if let Some(b) = beta {
        t = t.add(b);
    }
    x.mul(&s).add(&t)
}

/// Reshapes a per-feature vector so that it broadcasts along `axes` of a rank-`rank` input
/// (no-op for the last axis alone).
fn broadcastable(v: Tensor, rank: usize, axes: &[usize], dims: &[usize]) -> Tensor {
    if axes == [rank - 1] {
        return v;
    }
    let shape: Vec<isize> = (0..rank)
        .map(|i| {
            if axes.contains(&i) {
                dims[i] as isize
            } else {
                1
            }
        })
        .collect();
    v.reshape_dims(&shape)
}

#[track_caller]
fn resolve_axis(label: &str, axis: isize, rank: usize) -> usize {
    let r = rank as isize;
    if axis < -r || axis >= r {
        panic!("{label}: axis {axis} out of range for rank-{rank} input");
    }
    axis.rem_euclid(r) as usize
}

struct BnVars {
    gamma: Option<Variable>,
    beta: Option<Variable>,
    moving_mean: Variable,
    moving_variance: Variable,
}

/// Keras' `BatchNormalization`: normalises each feature (channel) with the batch's statistics
/// while training and with moving averages of them at inference, then scales by `gamma` and
/// shifts by `beta`.
///
/// While training: `y = γ·(x − mean)/sqrt(var + ε) + β` with `mean`, `var` (biased) over every
/// axis but `axis`, and the moving statistics become `moving·momentum + batch·(1 − momentum)`
/// (assigned, not recorded by tapes). At inference the moving statistics replace the batch's.
///
/// * Arguments: `axis` (−1, the channels of NHWC), `momentum` (0.99), `epsilon` (1e-3),
///   `center` (true: learn `beta`), `scale` (true: learn `gamma`), the four initializers
///   (beta zeros, gamma ones, moving mean zeros, moving variance ones), `fused` (true: the last
///   axis is normalised by one op with single-pass kernels, whose gradient cannot itself be
///   differentiated).
/// * Variables: `gamma`, `beta` (trainable), `moving_mean`, `moving_variance`
///   (non-trainable), each `(features,)`.
/// * Input: any shape with `features` along `axis`; output: the same shape.
///
/// ```
/// use keen_nn::layers::BatchNormalization;
/// use keen_tensor::{DType, Tensor};
/// let bn = BatchNormalization::new();
/// let x = Tensor::random_normal([8, 4, 4, 3], 5.0, 2.0, DType::Float32);
/// let y = bn.call(&x, true);
/// let m = y.mean(&[0, 1, 2], false).to_vec::<f32>();
/// assert!(m.iter().all(|v| v.abs() < 1e-4));
/// let moved = bn.moving_mean().unwrap().value().to_vec::<f32>();
/// assert!(moved.iter().all(|&v| (v - 0.05).abs() < 0.01)); // 0.99·0 + 0.01·≈5
/// ```
pub struct BatchNormalization {
    axis: isize,
    momentum: f64,
    epsilon: f64,
    center: bool,
    scale: bool,
    beta_initializer: Initializer,
    gamma_initializer: Initializer,
    moving_mean_initializer: Initializer,
    moving_variance_initializer: Initializer,
    fused: bool,
    name: Option<String>,
    built: OnceLock<BnVars>,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchNormalization {
    /// Keras' defaults: axis −1, momentum 0.99, epsilon 1e-3, center and scale.
    pub fn new() -> Self {
        BatchNormalization {
            axis: -1,
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true,
            beta_initializer: Initializer::Zeros,
            gamma_initializer: Initializer::Ones,
            moving_mean_initializer: Initializer::Zeros,
            moving_variance_initializer: Initializer::Ones,
            fused: true,
            name: None,
            built: OnceLock::new(),
        }
    }

    /// The feature axis (default −1).
    pub fn axis(mut self, axis: isize) -> Self {
        self.axis = axis;
        self
    }

    /// The weight of the old value in the moving averages (default 0.99).
    pub fn momentum(mut self, m: f64) -> Self {
        self.momentum = m;
        self
    }

    /// Added to the variance before the square root (default 1e-3).
    pub fn epsilon(mut self, e: f64) -> Self {
        self.epsilon = e;
        self
    }

    /// Whether to learn the shift `beta` (default true).
    pub fn center(mut self, c: bool) -> Self {
        self.center = c;
        self
    }

    /// Whether to learn the scale `gamma` (default true).
    pub fn scale(mut self, s: bool) -> Self {
        self.scale = s;
        self
    }

    /// Sets the initializer of `beta` (default zeros).
    pub fn beta_initializer(mut self, i: Initializer) -> Self {
        self.beta_initializer = i;
        self
    }

    /// Sets the initializer of `gamma` (default ones).
    pub fn gamma_initializer(mut self, i: Initializer) -> Self {
        self.gamma_initializer = i;
        self
    }

    /// Sets the initializer of `moving_mean` (default zeros).
    pub fn moving_mean_initializer(mut self, i: Initializer) -> Self {
        self.moving_mean_initializer = i;
        self
    }

    /// Sets the initializer of `moving_variance` (default ones).
    pub fn moving_variance_initializer(mut self, i: Initializer) -> Self {
        self.moving_variance_initializer = i;
        self
    }

    /// Whether normalising over the last axis runs as one fused op with single-pass kernels
    /// (default true, as Keras 2's `fused`). The fused op's gradient cannot itself be
    /// differentiated (a tape that tries gets an error naming `batch_norm_grad`): turn it off to
    /// differentiate through a batch norm twice (a gradient penalty).
    pub fn fused(mut self, f: bool) -> Self {
        self.fused = f;
        self
    }

    /// Names the layer (used in error messages and summaries).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `gamma`, once built (and if `scale`).
    pub fn gamma(&self) -> Option<&Variable> {
        self.built.get().and_then(|v| v.gamma.as_ref())
    }

    /// `beta`, once built (and if `center`).
    pub fn beta(&self) -> Option<&Variable> {
        self.built.get().and_then(|v| v.beta.as_ref())
    }

    /// The moving mean, once built.
    pub fn moving_mean(&self) -> Option<&Variable> {
        self.built.get().map(|v| &v.moving_mean)
    }

    /// The moving variance, once built.
    pub fn moving_variance(&self) -> Option<&Variable> {
        self.built.get().map(|v| &v.moving_variance)
    }

    /// Creates the variables for `features` features (done by the first call).
    pub fn build(&self, features: usize, dtype: DType) {
        self.built.get_or_init(|| {
            let init = |i: &Initializer| i.init([features], dtype);
            BnVars {
                gamma: self
                    .scale
                    .then(|| Variable::new("gamma", init(&self.gamma_initializer))),
                beta: self
                    .center
                    .then(|| Variable::new("beta", init(&self.beta_initializer))),
                moving_mean: Variable::non_trainable(
                    "moving_mean",
                    init(&self.moving_mean_initializer),
                ),
                moving_variance: Variable::non_trainable(
                    "moving_variance",
                    init(&self.moving_variance_initializer),
                ),
            }
        });
    }

    /// Applies the layer: batch statistics (and a moving-average update) when `training`,
    /// moving statistics otherwise.
    ///
    /// # Panics
    /// `BatchNormalization: built for input shape (None, None, None, 3), got (2, 5, 5, 4)`.
    #[track_caller]
    pub fn call(&self, x: &Tensor, training: bool) -> Tensor {
        self.call_masked(x, training, None)
    }

    /// [`call`](Self::call) with a mask of the input's shape less the last axis (bool
    /// `(batch, steps)` for `(batch, steps, features)`, true at real steps), as the Functional
    /// API and `Sequential` pass it: in training the batch statistics are taken over the real
    /// steps only, so padding does not pull them towards zero; every step is then normalised
    /// (Keras' `call(inputs, training, mask)`).
    ///
    /// # Panics
    /// As [`call`](Self::call), and on a mask of another shape: `BatchNormalization: mask
    /// shape (2, 4) does not match input shape (2, 5, 3)`.
    #[track_caller]
    pub fn call_masked(&self, x: &Tensor, training: bool, mask: Option<&Tensor>) -> Tensor {
        let label = label("BatchNormalization", &self.name);
        let rank = x.rank();
        let axis = resolve_axis(&label, self.axis, rank);
        self.build(x.dims()[axis], x.dtype());
        let v = self.built.get().expect("built above");
        let features = v.moving_mean.shape().dims()[0];
        let spec: Vec<Option<usize>> = (0..rank).map(|i| (i == axis).then_some(features)).collect();
        check_spec(&label, &spec, x.shape());
        let dims = x.dims().to_vec();
        let bc = |t: Tensor| broadcastable(t, rank, &[axis], &dims);
        let gamma = v.gamma.as_ref().map(|g| bc(g.value()));
        let beta = v.beta.as_ref().map(|b| bc(b.value()));
        // rank ≥ 1 here: resolve_axis refused a scalar.
        if let Some(m) = mask
            && m.dims() != &x.dims()[..rank - 1]
        {
            panic!(
                "{label}: mask shape {} does not match input shape {}",
                m.shape(),
                x.shape()
            );
        }
        let fused = training && mask.is_none() && self.fused && axis == rank - 1;
        let fused = fused
            .then(|| batch_norm_train(x, gamma.as_ref(), beta.as_ref(), self.epsilon))
            .flatten();
        if let Some(out) = fused {
            self.update_moving(v, &out.mean, &out.var);
            return out.y;
        }
        if !training && self.fused && axis == rank - 1 {
            let (mm, mv) = (v.moving_mean.value(), v.moving_variance.value());
            let fused =
                batch_norm_inference(x, &mm, &mv, gamma.as_ref(), beta.as_ref(), self.epsilon);
            if let Some(y) = fused {
                return y;
            }
        }
        let (mean, var) = if training {
            let reduce: Vec<isize> = (0..rank as isize).filter(|&i| i != axis as isize).collect();
            let (mean, var) = match mask {
                Some(m) => masked_moments(x, m, &reduce),
                None => moments(x, &reduce),
            };
            self.update_moving(v, &mean, &var);
            (mean, var)
        } else {
            (bc(v.moving_mean.value()), bc(v.moving_variance.value()))
        };
        normalize(x, &mean, &var, gamma.as_ref(), beta.as_ref(), self.epsilon)
    }
}

impl BatchNormalization {
    /// `moving ← moving·momentum + batch·(1 − momentum)`, outside any tape.
    fn update_moving(&self, v: &BnVars, mean: &Tensor, var: &Tensor) {
        let features = v.moving_mean.shape().dims()[0] as isize;
        let m = self.momentum;
        without_recording(|| {
            for (moving, batch) in [(&v.moving_mean, mean), (&v.moving_variance, var)] {
                let batch = batch.reshape_dims(&[features]);
                moving.assign(&moving.value_unwatched().mul(m).add(&batch.mul(1.0 - m)));
            }
        });
    }
}

impl Module for BatchNormalization {
    fn visit(&self, walk: &mut Walk<'_>) {
        if let Some(v) = self.built.get() {
            if let Some(g) = &v.gamma {
                walk.variable("gamma", g);
            }
            if let Some(b) = &v.beta {
                walk.variable("beta", b);
            }
            walk.variable("moving_mean", &v.moving_mean);
            walk.variable("moving_variance", &v.moving_variance);
        }
    }
}

impl Layer for BatchNormalization {
    fn forward(&self, x: &Tensor, training: bool) -> Tensor {
        self.call(x, training)
    }
    fn type_name(&self) -> &'static str {
        "batch_normalization"
    }
    fn layer_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// Takes the batch statistics over the real steps and passes the mask on.
    #[track_caller]
    fn forward_masked(
        &self,
        xs: &[Tensor],
        masks: &[Option<Tensor>],
        training: bool,
    ) -> (Vec<Tensor>, Vec<Option<Tensor>>) {
        let x = crate::layer::only_input(self, xs);
        let mask = masks.first().and_then(Option::as_ref);
        (
            vec![self.call_masked(x, training, mask)],
            crate::layer::keep_mask(masks),
        )
    }
}

/// Keras' `LayerNormalization`: normalises each example over `axis` (the features), then
/// scales by `gamma` and shifts by `beta`: `y = γ·(x − mean)/sqrt(var + ε) + β`. The same in
/// training and inference.
///
/// * Arguments: `axis` (−1; several axes with [`axes`](Self::axes)), `epsilon` (1e-3, Keras'
///   default, not PyTorch's 1e-5), `center`, `scale` (true), `beta_initializer` (zeros),
///   `gamma_initializer` (ones).
/// * Variables: `gamma`, `beta`, shaped like the normalised axes.
/// * Input: any shape; output: the same shape.
///
/// ```
/// use keen_nn::layers::LayerNormalization;
/// use keen_tensor::{DType, Tensor};
/// let ln = LayerNormalization::new();
/// let y = ln.call(&Tensor::random_normal([2, 5, 16], 3.0, 2.0, DType::Float32));
/// let m = y.mean(&[-1], false).to_vec::<f32>();
/// assert!(m.iter().all(|v| v.abs() < 1e-4));
/// ```
pub struct LayerNormalization {
    axes: Vec<isize>,
    epsilon: f64,
    center: bool,
    scale: bool,
    beta_initializer: Initializer,
    gamma_initializer: Initializer,
    name: Option<String>,
    built: OnceLock<(Option<Variable>, Option<Variable>)>,
}

impl Default for LayerNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerNormalization {
    /// Keras' defaults: the last axis, epsilon 1e-3, center and scale.
    pub fn new() -> Self {
        LayerNormalization {
            axes: vec![-1],
            epsilon: 1e-3,
            center: true,
            scale: true,
            beta_initializer: Initializer::Zeros,
            gamma_initializer: Initializer::Ones,
            name: None,
            built: OnceLock::new(),
        }
    }

    /// Normalises over one axis (default −1).
    pub fn axis(self, axis: isize) -> Self {
        self.axes(&[axis])
    }

    /// Normalises over several axes (`gamma` and `beta` get their sizes).
    pub fn axes(mut self, axes: &[isize]) -> Self {
        self.axes = axes.to_vec();
        self
    }

    /// Added to the variance before the square root (default 1e-3).
    pub fn epsilon(mut self, e: f64) -> Self {
        self.epsilon = e;
        self
    }

    /// Whether to learn the shift `beta` (default true).
    pub fn center(mut self, c: bool) -> Self {
        self.center = c;
        self
    }

    /// Whether to learn the scale `gamma` (default true).
    pub fn scale(mut self, s: bool) -> Self {
        self.scale = s;
        self
    }

    /// Sets the initializer of `beta` (default zeros).
    pub fn beta_initializer(mut self, i: Initializer) -> Self {
        self.beta_initializer = i;
        self
    }

    /// Sets the initializer of `gamma` (default ones).
    pub fn gamma_initializer(mut self, i: Initializer) -> Self {
        self.gamma_initializer = i;
        self
    }

    /// Names the layer (used in error messages and summaries).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// `gamma`, once built (and if `scale`).
    pub fn gamma(&self) -> Option<&Variable> {
        self.built.get().and_then(|(g, _)| g.as_ref())
    }

    /// `beta`, once built (and if `center`).
    pub fn beta(&self) -> Option<&Variable> {
        self.built.get().and_then(|(_, b)| b.as_ref())
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// `LayerNormalization: built for input shape (None, None, 16), got (2, 5, 8)`, or an axis
    /// out of range.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        let label = label("LayerNormalization", &self.name);
        let rank = x.rank();
        let mut axes: Vec<usize> = self
            .axes
            .iter()
            .map(|&a| resolve_axis(&label, a, rank))
            .collect();
        axes.sort_unstable();
        let dims = x.dims().to_vec();
        let param: Vec<usize> = axes.iter().map(|&a| dims[a]).collect();
        let (gamma, beta) = self.built.get_or_init(|| {
            let init = |i: &Initializer| i.init(param.as_slice(), x.dtype());
            (
                self.scale
                    .then(|| Variable::new("gamma", init(&self.gamma_initializer))),
                self.center
                    .then(|| Variable::new("beta", init(&self.beta_initializer))),
            )
        });
        let built = gamma.as_ref().or(beta.as_ref()).map(|v| v.shape());
        if let Some(s) = built {
            let mut spec = vec![None; rank];
            for (&a, &d) in axes.iter().zip(s.dims()) {
                spec[a] = Some(d);
            }
            check_spec(&label, &spec, x.shape());
        }
        let bc = |t: Tensor| broadcastable(t, rank, &axes, &dims);
        let axes_i: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        let (mean, var) = moments(x, &axes_i);
        let g = gamma.as_ref().map(|g| bc(g.value()));
        let b = beta.as_ref().map(|b| bc(b.value()));
        normalize(x, &mean, &var, g.as_ref(), b.as_ref(), self.epsilon)
    }
}

impl Module for LayerNormalization {
    fn visit(&self, walk: &mut Walk<'_>) {
        if let Some((g, b)) = self.built.get() {
            if let Some(g) = g {
                walk.variable("gamma", g);
            }
            if let Some(b) = b {
                walk.variable("beta", b);
            }
        }
    }
}

impl Layer for LayerNormalization {
    fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
        self.call(x)
    }
    fn type_name(&self) -> &'static str {
        "layer_normalization"
    }
    fn layer_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    crate::layer::keeps_mask!();
}
