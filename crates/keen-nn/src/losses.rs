//! Losses with Keras 3's definitions, defaults and reductions.
//!
//! A loss computes one value per sample (the mean or sum over the last axis, as Keras), then
//! reduces them with optional sample weights. Every loss is written in tensor ops, so it is
//! differentiable on a [`GradientTape`](keen_tape::GradientTape) like any other computation.
//!
//! ```
//! use keen_nn::losses::{Loss, MeanSquaredError, SparseCategoricalCrossentropy};
//! use keen_tensor::Tensor;
//!
//! let mse = MeanSquaredError::new();
//! let loss = mse.call(&Tensor::from([[0.0f32, 1.0], [0.0, 0.0]]), &Tensor::from([[1.0f32, 1.0], [1.0, 0.0]]));
//! assert_eq!(loss.to_f64_vec(), [0.5]);
//!
//! // The seed's translation loss: padding (id 0) does not count.
//! let scce = SparseCategoricalCrossentropy::new().from_logits(true).ignore_class(0);
//! let labels = Tensor::from([[3i64, 1, 0, 0]]);
//! let logits = Tensor::zeros([1, 4, 5], keen_tensor::DType::Float32);
//! let loss = scce.call(&labels, &logits);
//! assert!((loss.to_f64_vec()[0] - 5f64.ln()).abs() < 1e-6); // mean over the 2 real tokens
//! ```

use keen_tensor::{DType, Tensor};

/// Keras' `backend.epsilon()`: how far probabilities are kept from 0 and 1 before a log.
pub const EPSILON: f64 = 1e-7;

/// How the per-sample losses become the value a loss returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// Keras' default: the weighted sum divided by the number of per-sample values (of the
    /// unmasked ones when the loss has a mask).
    #[default]
    SumOverBatchSize,
    /// The weighted sum.
    Sum,
    /// The weighted sum divided by the sum of the weights.
    MeanWithSampleWeight,
    /// No reduction: the weighted per-sample values.
    None,
}

/// A loss function: per-sample values and their reduction.
///
/// Implement [`per_sample`](Loss::per_sample) (and [`name`](Loss::name)) for a custom loss;
/// [`call`](Loss::call) and [`call_weighted`](Loss::call_weighted) then work as for the
/// built-in ones.
pub trait Loss: Send + Sync {
    /// Keras' snake-case name (`"mean_squared_error"`), used in logs and error messages.
    fn name(&self) -> &str;

    /// The unreduced loss of each sample: usually `y_pred`'s shape without the last axis.
    ///
    /// # Panics
    /// If `y_true` and `y_pred` do not match (the message names the loss and both shapes).
    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Tensor;

    /// Which per-sample values count (bool, the shape of [`per_sample`](Loss::per_sample)'s
    /// result); `None` when all do.
    fn mask(&self, _y_true: &Tensor, _y_pred: &Tensor) -> Option<Tensor> {
        None
    }

    /// How the per-sample values are reduced.
    fn reduction(&self) -> Reduction {
        Reduction::SumOverBatchSize
    }

    /// The reduced loss (a scalar unless the reduction is [`Reduction::None`]).
    #[track_caller]
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Tensor {
        self.call_weighted(y_true, y_pred, None)
    }

    /// The reduced loss with per-sample weights (broadcast against the per-sample values:
    /// `(batch,)` weights weigh whole sequences).
    #[track_caller]
    fn call_weighted(
        &self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Tensor {
        let values = self.per_sample(y_true, y_pred);
        let mask = self.mask(y_true, y_pred);
        reduce_weighted(
            self.name(),
            &values,
            sample_weight,
            mask.as_ref(),
            self.reduction(),
        )
    }
}

impl<L: Loss + ?Sized> Loss for Box<L> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Tensor {
        (**self).per_sample(y_true, y_pred)
    }
    fn mask(&self, y_true: &Tensor, y_pred: &Tensor) -> Option<Tensor> {
        (**self).mask(y_true, y_pred)
    }
    fn reduction(&self) -> Reduction {
        (**self).reduction()
    }
}

/// Keras' `reduce_weighted_values` with its mask handling: a masked value counts as weight 0
/// and `SumOverBatchSize` divides by the number of unmasked values.
#[track_caller]
pub fn reduce_weighted(
    name: &str,
    values: &Tensor,
    sample_weight: Option<&Tensor>,
    mask: Option<&Tensor>,
    reduction: Reduction,
) -> Tensor {
    let mut weight = sample_weight.map(|w| align_weight(name, w, values));
    if let Some(m) = mask {
        let m = m.cast(values.dtype());
        weight = Some(match weight {
            Some(w) => w.mul(&m),
            None => m,
        });
    }
    let weighted = match &weight {
        Some(w) => values.mul(w),
        None => values.clone(),
    };
    if values.rank() == 0 {
        return weighted;
    }
    match reduction {
        Reduction::None => weighted,
        Reduction::Sum => weighted.sum(&[], false),
        Reduction::SumOverBatchSize => {
            let total = weighted.sum(&[], false);
            let count = match mask {
                Some(m) => m.cast(DType::Float64).sum(&[], false).to_f64_vec()[0],
                None => values.numel() as f64,
            };
            // divide_no_nan: an all-masked batch contributes 0, not NaN.
            if count == 0.0 {
                total.mul(0.0)
            } else {
                total.div(count)
            }
        }
        Reduction::MeanWithSampleWeight => {
            let total = weighted.sum(&[], false);
            let count = match &weight {
                Some(w) => w.broadcast_to(values.shape().clone()).sum(&[], false),
                None => Tensor::full((), values.numel() as f64, values.dtype()),
            };
            let safe = count.eq(0.0);
            Tensor::where_(
                &safe,
                &total.mul(0.0),
                &total.div(&Tensor::where_(&safe, &count.add(1.0), &count)),
            )
        }
    }
}

/// Sample weights of shape `(batch,)` or `(batch, 1)` against values `(batch, time)`: Keras
/// squeezes or expands trailing axes until the ranks agree, then broadcasts.
#[track_caller]
fn align_weight(name: &str, w: &Tensor, values: &Tensor) -> Tensor {
    let mut w = w.cast(values.dtype());
    while w.rank() > values.rank() && w.dims().last() == Some(&1) {
        w = w.squeeze(&[-1]);
    }
    while w.rank() < values.rank() {
        w = w.expand_dims(-1);
    }
    let compatible = w.rank() == values.rank()
        && w.dims()
            .iter()
            .zip(values.dims())
            .all(|(&a, &b)| a == b || a == 1);
    if !compatible {
        panic!(
            "{name}: sample_weight of shape {} does not fit the per-sample losses of shape {}",
            w.shape(),
            values.shape()
        );
    }
    w
}

/// `y_true` cast to `y_pred`'s dtype and brought to its rank as Keras'
/// `squeeze_or_expand_to_same_rank` does (a trailing axis of size 1 may differ); any other
/// difference of shape is an error naming the loss.
#[track_caller]
fn same_shape(name: &str, y_true: &Tensor, y_pred: &Tensor) -> Tensor {
    if !y_pred.dtype().is_float() {
        panic!(
            "{name}: y_pred must be a float tensor, got {}",
            y_pred.dtype()
        );
    }
    let mut t = y_true.cast(y_pred.dtype());
    if t.rank() == y_pred.rank() + 1 && t.dims().last() == Some(&1) {
        t = t.squeeze(&[-1]);
    } else if t.rank() + 1 == y_pred.rank() && y_pred.dims().last() == Some(&1) {
        t = t.expand_dims(-1);
    }
    if t.dims() != y_pred.dims() {
        panic!(
            "{name}: y_true of shape {} does not match y_pred of shape {}",
            y_true.shape(),
            y_pred.shape()
        );
    }
    t
}

#[track_caller]
fn last_axis(name: &str, y_pred: &Tensor) {
    if y_pred.rank() == 0 {
        panic!("{name}: y_pred must have at least one axis, got a scalar");
    }
}

/// Mean squared error per sample: `mean((y_pred - y_true)², axis=-1)`.
#[track_caller]
pub fn mean_squared_error(y_true: &Tensor, y_pred: &Tensor) -> Tensor {
    last_axis("mean_squared_error", y_pred);
    let t = same_shape("mean_squared_error", y_true, y_pred);
    y_pred.sub(&t).square().mean(&[-1], false)
}

/// Mean absolute error per sample: `mean(|y_pred - y_true|, axis=-1)`.
#[track_caller]
pub fn mean_absolute_error(y_true: &Tensor, y_pred: &Tensor) -> Tensor {
    last_axis("mean_absolute_error", y_pred);
    let t = same_shape("mean_absolute_error", y_true, y_pred);
    y_pred.sub(&t).abs().mean(&[-1], false)
}

/// Huber loss per sample: quadratic for errors up to `delta`, linear beyond.
#[track_caller]
pub fn huber(y_true: &Tensor, y_pred: &Tensor, delta: f64) -> Tensor {
    last_axis("huber", y_pred);
    let t = same_shape("huber", y_true, y_pred);
    let err = y_pred.sub(&t);
    let abs = err.abs();
    let quadratic = err.square().mul(0.5);
    let linear = abs.mul(delta).sub(0.5 * delta * delta);
    Tensor::where_(&abs.le(delta), &quadratic, &linear).mean(&[-1], false)
}

/// Binary cross-entropy per sample (mean over the last axis), from probabilities clipped to
/// `[ε, 1-ε]` or from logits (computed stably as `max(x, 0) - x·z + log(1 + e^-|x|)`).
#[track_caller]
pub fn binary_crossentropy(
    y_true: &Tensor,
    y_pred: &Tensor,
    from_logits: bool,
    label_smoothing: f64,
) -> Tensor {
    last_axis("binary_crossentropy", y_pred);
    let mut t = same_shape("binary_crossentropy", y_true, y_pred);
    if label_smoothing != 0.0 {
        t = t.mul(1.0 - label_smoothing).add(0.5 * label_smoothing);
    }
    let per_element = if from_logits {
        y_pred
            .relu()
            .sub(&y_pred.mul(&t))
            .add(&y_pred.abs().neg().exp().log1p())
    } else {
        let p = y_pred.clip(EPSILON, 1.0 - EPSILON);
        let one_minus_t = t.neg().add(1.0);
        t.mul(&p.log())
            .add(&one_minus_t.mul(&p.neg().add(1.0).log()))
            .neg()
    };
    per_element.mean(&[-1], false)
}

/// `log p` along the class axis: `log_softmax` of logits, or the log of probabilities
/// renormalised to sum to one and clipped to `[ε, 1-ε]` (Keras).
fn log_probabilities(y_pred: &Tensor, from_logits: bool) -> Tensor {
    if from_logits {
        y_pred.log_softmax(-1)
    } else {
        y_pred
            .div(&y_pred.sum(&[-1], true))
            .clip(EPSILON, 1.0 - EPSILON)
            .log()
    }
}

/// Categorical cross-entropy per sample, `-Σ y_true·log p` over the last axis, for one-hot
/// (or soft) labels.
#[track_caller]
pub fn categorical_crossentropy(
    y_true: &Tensor,
    y_pred: &Tensor,
    from_logits: bool,
    label_smoothing: f64,
) -> Tensor {
    last_axis("categorical_crossentropy", y_pred);
    let mut t = same_shape("categorical_crossentropy", y_true, y_pred);
    if label_smoothing != 0.0 {
        let classes = y_pred.dim(-1) as f64;
        t = t.mul(1.0 - label_smoothing).add(label_smoothing / classes);
    }
    t.mul(&log_probabilities(y_pred, from_logits))
        .sum(&[-1], false)
        .neg()
}

/// Integer labels for sparse losses and metrics: `y_pred`'s shape without its last axis (a
/// trailing axis of size 1 is dropped, as Keras), as int64.
#[track_caller]
pub(crate) fn sparse_labels(name: &str, y_true: &Tensor, y_pred: &Tensor) -> Tensor {
    if y_true.dtype() == DType::Bool {
        panic!("{name}: labels must be integer class ids, got a bool tensor");
    }
    let mut t = y_true.clone();
    if t.rank() == y_pred.rank() && t.dims().last() == Some(&1) && y_pred.dim(-1) != 1 {
        t = t.squeeze(&[-1]);
    }
    if t.rank() + 1 != y_pred.rank() || t.dims() != &y_pred.dims()[..y_pred.rank() - 1] {
        panic!(
            "{name}: labels of shape {} do not match predictions of shape {}: expected labels of shape {}",
            y_true.shape(),
            y_pred.shape(),
            keen_tensor::Shape::new(&y_pred.dims()[..y_pred.rank().saturating_sub(1)])
        );
    }
    t.cast(DType::Int64)
}

/// Sparse categorical cross-entropy per sample: `-log p[label]` for integer labels.
///
/// # Panics
/// If a label is outside `0..classes`: `sparse_categorical_crossentropy: label 7 is out of
/// range for 5 classes`.
#[track_caller]
pub fn sparse_categorical_crossentropy(
    y_true: &Tensor,
    y_pred: &Tensor,
    from_logits: bool,
) -> Tensor {
    let name = "sparse_categorical_crossentropy";
    last_axis(name, y_pred);
    let labels = sparse_labels(name, y_true, y_pred);
    check_label_range(name, &labels, y_pred.dim(-1));
    if from_logits {
        // One fused op with a one-pass gradient: the loss of a large vocabulary's logits.
        return y_pred.sparse_softmax_cross_entropy(&labels);
    }
    log_probabilities(y_pred, false)
        .take_along_axis(-1, &labels.expand_dims(-1))
        .squeeze(&[-1])
        .neg()
}

/// Two reductions and two scalars to the host instead of a copy of every label: this runs on
/// every batch. The label named is the smallest when one is negative, else the largest.
#[track_caller]
fn check_label_range(name: &str, labels: &Tensor, classes: usize) {
    if labels.numel() == 0 {
        return;
    }
    let low = labels.min(&[], false).item::<i64>();
    let high = labels.max(&[], false).item::<i64>();
    let bad = if low < 0 { low } else { high };
    if bad < 0 || bad as u64 >= classes as u64 {
        panic!("{name}: label {bad} is out of range for {classes} classes");
    }
}

/// Kullback–Leibler divergence per sample: `Σ y_true·log(y_true / y_pred)`, both clipped to
/// `[ε, 1]`.
#[track_caller]
pub fn kl_divergence(y_true: &Tensor, y_pred: &Tensor) -> Tensor {
    last_axis("kl_divergence", y_pred);
    let t = same_shape("kl_divergence", y_true, y_pred).clip(EPSILON, 1.0);
    let p = y_pred.clip(EPSILON, 1.0);
    t.mul(&t.div(&p).log()).sum(&[-1], false)
}

/// Negative cosine similarity per sample along the last axis (−1 for identical directions).
#[track_caller]
pub fn cosine_similarity(y_true: &Tensor, y_pred: &Tensor) -> Tensor {
    last_axis("cosine_similarity", y_pred);
    let t = same_shape("cosine_similarity", y_true, y_pred);
    l2_normalize(&t)
        .mul(&l2_normalize(y_pred))
        .sum(&[-1], false)
        .neg()
}

/// `x / max(‖x‖₂, ε)` along the last axis.
fn l2_normalize(x: &Tensor) -> Tensor {
    x.div(&x.square().sum(&[-1], true).sqrt().maximum(EPSILON))
}

macro_rules! loss_struct {
    ($(#[$doc:meta])* $name:ident { $($field:ident : $ty:ty = $default:expr),* }) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name {
            reduction: Reduction,
            $($field: $ty,)*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { reduction: Reduction::SumOverBatchSize, $($field: $default,)* }
            }
        }

        impl $name {
            /// The loss with Keras' defaults.
            pub fn new() -> Self {
                Self::default()
            }

            /// Sets the reduction (default [`Reduction::SumOverBatchSize`]).
            pub fn reduction(mut self, r: Reduction) -> Self {
                self.reduction = r;
                self
            }
        }
    };
}

macro_rules! impl_loss {
    ($name:ident, $keras:literal, |$s:ident, $t:ident, $p:ident| $body:expr) => {
        impl Loss for $name {
            fn name(&self) -> &str {
                $keras
            }
            #[track_caller]
            fn per_sample(&self, $t: &Tensor, $p: &Tensor) -> Tensor {
                let $s = self;
                $body
            }
            fn reduction(&self) -> Reduction {
                self.reduction
            }
        }
    };
}

loss_struct!(
    /// Keras' `MeanSquaredError`.
    MeanSquaredError {}
);
impl_loss!(MeanSquaredError, "mean_squared_error", |_s, t, p| {
    mean_squared_error(t, p)
});

loss_struct!(
    /// Keras' `MeanAbsoluteError`.
    MeanAbsoluteError {}
);
impl_loss!(MeanAbsoluteError, "mean_absolute_error", |_s, t, p| {
    mean_absolute_error(t, p)
});

loss_struct!(
    /// Keras' `Huber` (default `delta` 1).
    Huber { delta: f64 = 1.0 }
);
impl Huber {
    /// Where the loss turns from quadratic to linear.
    pub fn delta(mut self, delta: f64) -> Self {
        self.delta = delta;
        self
    }
}
impl_loss!(Huber, "huber", |s, t, p| huber(t, p, s.delta));

loss_struct!(
    /// Keras' `BinaryCrossentropy` (probabilities by default; `from_logits(true)` for logits).
    BinaryCrossentropy { from_logits: bool = false, label_smoothing: f64 = 0.0 }
);
loss_struct!(
    /// Keras' `CategoricalCrossentropy`, for one-hot labels.
    CategoricalCrossentropy { from_logits: bool = false, label_smoothing: f64 = 0.0 }
);
macro_rules! logits_and_smoothing {
    ($($name:ident),*) => {$(
        impl $name {
            /// Whether `y_pred` holds logits rather than probabilities (default false).
            pub fn from_logits(mut self, yes: bool) -> Self {
                self.from_logits = yes;
                self
            }
            /// Moves labels towards uniform by this fraction (default 0).
            pub fn label_smoothing(mut self, amount: f64) -> Self {
                self.label_smoothing = amount;
                self
            }
        }
    )*};
}
logits_and_smoothing!(BinaryCrossentropy, CategoricalCrossentropy);
impl_loss!(BinaryCrossentropy, "binary_crossentropy", |s, t, p| {
    binary_crossentropy(t, p, s.from_logits, s.label_smoothing)
});
impl_loss!(
    CategoricalCrossentropy,
    "categorical_crossentropy",
    |s, t, p| categorical_crossentropy(t, p, s.from_logits, s.label_smoothing)
);

loss_struct!(
    /// Keras' `SparseCategoricalCrossentropy`, for integer labels; `ignore_class` masks a
    /// label (padding) out of the loss and out of the mean.
    SparseCategoricalCrossentropy { from_logits: bool = false, ignore_class: Option<i64> = None }
);
impl SparseCategoricalCrossentropy {
    /// Whether `y_pred` holds logits rather than probabilities (default false).
    pub fn from_logits(mut self, yes: bool) -> Self {
        self.from_logits = yes;
        self
    }
    /// A label that does not count (e.g. the padding id 0).
    pub fn ignore_class(mut self, class: i64) -> Self {
        self.ignore_class = Some(class);
        self
    }
}
impl Loss for SparseCategoricalCrossentropy {
    fn name(&self) -> &str {
        "sparse_categorical_crossentropy"
    }
    #[track_caller]
    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Tensor {
        let Some(ignore) = self.ignore_class else {
            return sparse_categorical_crossentropy(y_true, y_pred, self.from_logits);
        };
        // Ignored positions may hold any id (padding past the vocabulary): read class 0 there
        // and zero the result.
        let name = self.name();
        last_axis(name, y_pred);
        let labels = sparse_labels(name, y_true, y_pred);
        let valid = labels.ne(ignore);
        let safe = Tensor::where_(&valid, &labels, &Tensor::zeros((), DType::Int64));
        let values = sparse_categorical_crossentropy(&safe, y_pred, self.from_logits);
        Tensor::where_(&valid, &values, &values.mul(0.0))
    }
    fn mask(&self, y_true: &Tensor, y_pred: &Tensor) -> Option<Tensor> {
        let ignore = self.ignore_class?;
        Some(sparse_labels(self.name(), y_true, y_pred).ne(ignore))
    }
    fn reduction(&self) -> Reduction {
        self.reduction
    }
}

loss_struct!(
    /// Keras' `KLDivergence`.
    KlDivergence {}
);
impl_loss!(KlDivergence, "kl_divergence", |_s, t, p| kl_divergence(
    t, p
));

loss_struct!(
    /// Keras' `CosineSimilarity` (its negative, so that minimising aligns the vectors).
    CosineSimilarity {}
);
impl_loss!(CosineSimilarity, "cosine_similarity", |_s, t, p| {
    cosine_similarity(t, p)
});

/// A loss by its Keras name or alias (`"mse"`, `"binary_crossentropy"`, ...), with defaults.
pub fn get(name: &str) -> Option<Box<dyn Loss>> {
    Some(match name {
        "mean_squared_error" | "mse" => Box::new(MeanSquaredError::new()),
        "mean_absolute_error" | "mae" => Box::new(MeanAbsoluteError::new()),
        "huber" => Box::new(Huber::new()),
        "binary_crossentropy" => Box::new(BinaryCrossentropy::new()),
        "categorical_crossentropy" => Box::new(CategoricalCrossentropy::new()),
        "sparse_categorical_crossentropy" => Box::new(SparseCategoricalCrossentropy::new()),
        "kl_divergence" | "kld" => Box::new(KlDivergence::new()),
        "cosine_similarity" => Box::new(CosineSimilarity::new()),
        _ => return None,
    })
}
