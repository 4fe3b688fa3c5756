//! Metrics with Keras 3's definitions: stateful accumulators over batches.
//!
//! A metric is updated once per batch ([`Metric::update_state`]) and read at any time
//! ([`Metric::result`]); [`Metric::reset_state`] starts a new epoch. The accumulation is in
//! float64 on the host and never recorded on a tape.
//!
//! ```
//! use keen_nn::metrics::{Metric, SparseCategoricalAccuracy};
//! use keen_tensor::Tensor;
//!
//! let mut acc = SparseCategoricalAccuracy::new();
//! acc.update_state(&Tensor::from([2i64, 0]), &Tensor::from([[0.1f32, 0.2, 0.7], [0.3, 0.6, 0.1]]), None);
//! assert_eq!(acc.result(), 0.5);
//! ```

use crate::losses::{self, sparse_labels};
use keen_tensor::record::without_recording;
use keen_tensor::{DType, Tensor};

/// A stateful metric.
pub trait Metric: Send {
    /// Keras' name (`"accuracy"`, `"auc"`), the key in logs and histories.
    fn name(&self) -> &str;
    /// Adds one batch.
    fn update_state(&mut self, y_true: &Tensor, y_pred: &Tensor, sample_weight: Option<&Tensor>);
    /// The value over everything since the last reset.
    fn result(&self) -> f64;
    /// Forgets everything.
    fn reset_state(&mut self);
}

impl<M: Metric + ?Sized> Metric for Box<M> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn update_state(&mut self, y_true: &Tensor, y_pred: &Tensor, sample_weight: Option<&Tensor>) {
        (**self).update_state(y_true, y_pred, sample_weight)
    }
    fn result(&self) -> f64 {
        (**self).result()
    }
    fn reset_state(&mut self) {
        (**self).reset_state()
    }
}

/// Per-sample weights as float64 values aligned with `n` per-sample values (a `(batch,)`
/// weight repeats over trailing axes).
#[track_caller]
fn weights(name: &str, sample_weight: Option<&Tensor>, values_shape: &[usize]) -> Option<Vec<f64>> {
    let w = sample_weight?;
    let n: usize = values_shape.iter().product();
    let mut w = w.cast(DType::Float64);
    while w.rank() > values_shape.len() && w.dims().last() == Some(&1) {
        w = w.squeeze(&[-1]);
    }
    while w.rank() < values_shape.len() {
        w = w.expand_dims(-1);
    }
    match w.try_broadcast_to(&keen_tensor::Shape::new(values_shape)) {
        Ok(b) if b.numel() == n => Some(b.to_f64_vec()),
        _ => panic!(
            "{name}: sample_weight of shape {} does not fit values of shape {}",
            w.shape(),
            keen_tensor::Shape::new(values_shape)
        ),
    }
}

/// A weighted running mean (Keras' `Mean`): `Σ wᵢ·vᵢ / Σ wᵢ`.
#[derive(Clone, Debug)]
pub struct Mean {
    name: String,
    total: f64,
    count: f64,
}

impl Mean {
    /// A mean named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Mean {
            name: name.into(),
            total: 0.0,
            count: 0.0,
        }
    }

    /// Adds values (any shape) with optional weights.
    pub fn update(&mut self, values: &Tensor, sample_weight: Option<&Tensor>) {
        let v = values.to_f64_vec();
        match weights(&self.name, sample_weight, values.dims()) {
            Some(w) => {
                self.total += v.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
                self.count += w.iter().sum::<f64>();
            }
            None => {
                self.total += v.iter().sum::<f64>();
                self.count += v.len() as f64;
            }
        }
    }

    /// Adds one value with weight `weight`.
    pub fn update_scalar(&mut self, value: f64, weight: f64) {
        self.total += value * weight;
        self.count += weight;
    }
}

impl Metric for Mean {
    fn name(&self) -> &str {
        &self.name
    }
    fn update_state(&mut self, _y_true: &Tensor, y_pred: &Tensor, sample_weight: Option<&Tensor>) {
        self.update(y_pred, sample_weight);
    }
    fn result(&self) -> f64 {
        if self.count == 0.0 {
            0.0
        } else {
            self.total / self.count
        }
    }
    fn reset_state(&mut self) {
        self.total = 0.0;
        self.count = 0.0;
    }
}

/// `f(y_true, y_pred)` giving one value per sample.
type PerSample = dyn Fn(&Tensor, &Tensor) -> Tensor + Send;

/// A per-sample function averaged over samples (Keras' `MeanMetricWrapper`): the base of the
/// accuracies and of losses used as metrics.
pub struct MeanMetricWrapper {
    mean: Mean,
    f: Box<PerSample>,
}

impl MeanMetricWrapper {
    /// Averages `f(y_true, y_pred)` (per-sample values) under `name`.
    pub fn new(
        name: impl Into<String>,
        f: impl Fn(&Tensor, &Tensor) -> Tensor + Send + 'static,
    ) -> Self {
        MeanMetricWrapper {
            mean: Mean::new(name),
            f: Box::new(f),
        }
    }
}

impl Metric for MeanMetricWrapper {
    fn name(&self) -> &str {
        self.mean.name()
    }
    fn update_state(&mut self, y_true: &Tensor, y_pred: &Tensor, sample_weight: Option<&Tensor>) {
        let values = without_recording(|| (self.f)(y_true, y_pred));
        self.mean.update(&values, sample_weight);
    }
    fn result(&self) -> f64 {
        self.mean.result()
    }
    fn reset_state(&mut self) {
        self.mean.reset_state();
    }
}

macro_rules! wrapper_metric {
    ($(#[$doc:meta])* $name:ident, $keras:literal, |$s:ident, $t:ident, $p:ident| $body:expr $(, $field:ident : $ty:ty = $default:expr)*) => {
        $(#[$doc])*
        pub struct $name {
            inner: MeanMetricWrapper,
        }

        impl $name {
            /// The metric with Keras' defaults.
            pub fn new() -> Self {
                Self::with($($default),*)
            }

            #[allow(unused_variables)]
            fn with($($field: $ty),*) -> Self {
                let $s = ($($field,)*);
                $name {
                    inner: MeanMetricWrapper::new($keras, move |$t: &Tensor, $p: &Tensor| {
                        #[allow(unused_variables)]
                        let ($($field,)*) = $s;
                        $body
                    }),
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl Metric for $name {
            fn name(&self) -> &str {
                self.inner.name()
            }
            fn update_state(&mut self, y_true: &Tensor, y_pred: &Tensor, sample_weight: Option<&Tensor>) {
                self.inner.update_state(y_true, y_pred, sample_weight)
            }
            fn result(&self) -> f64 {
                self.inner.result()
            }
            fn reset_state(&mut self) {
                self.inner.reset_state()
            }
        }
    };
}

/// 1.0 where equal, as y_pred's dtype.
fn matches(a: &Tensor, b: &Tensor) -> Tensor {
    a.eq(b).cast(DType::Float32)
}

wrapper_metric!(
    /// Keras' `Accuracy`: how often `y_pred` equals `y_true` exactly.
    Accuracy, "accuracy", |_s, t, p| matches(&t.cast(p.dtype()), p)
);

wrapper_metric!(
    /// Keras' `BinaryAccuracy`: how often `y_pred > threshold` matches the 0/1 label.
    BinaryAccuracy, "binary_accuracy", |s, t, p| {
        let pred = p.gt(threshold).cast(DType::Float32);
        matches(&t.cast(DType::Float32), &pred).mean(&[-1], false)
    }, threshold: f64 = 0.5
);
impl BinaryAccuracy {
    /// The accuracy with another decision threshold.
    pub fn threshold(threshold: f64) -> Self {
        Self::with(threshold)
    }
}

wrapper_metric!(
    /// Keras' `CategoricalAccuracy`: the arg-max of one-hot labels against the arg-max of
    /// `y_pred`.
    CategoricalAccuracy, "categorical_accuracy", |_s, t, p| matches(&t.argmax(&[-1], false), &p.argmax(&[-1], false))
);

wrapper_metric!(
    /// Keras' `SparseCategoricalAccuracy`: integer labels against the arg-max of `y_pred`.
    SparseCategoricalAccuracy, "sparse_categorical_accuracy", |_s, t, p| {
        let labels = sparse_labels("sparse_categorical_accuracy", t, p);
        matches(&labels, &p.argmax(&[-1], false).cast(DType::Int64))
    }
);

/// Whether the label's score is among the `k` largest (ties count in its favour, as
/// TensorFlow's `in_top_k`): fewer than `k` classes score strictly higher.
fn in_top_k(labels: &Tensor, p: &Tensor, k: usize) -> Tensor {
    let label_score = p.take_along_axis(-1, &labels.expand_dims(-1));
    let higher = p.gt(&label_score).cast(DType::Int64).sum(&[-1], false);
    higher.lt(k as i64).cast(DType::Float32)
}

wrapper_metric!(
    /// Keras' `TopKCategoricalAccuracy` (default k = 5), for one-hot labels.
    TopKCategoricalAccuracy, "top_k_categorical_accuracy", |s, t, p| in_top_k(&t.argmax(&[-1], false), p, k), k: usize = 5
);
impl TopKCategoricalAccuracy {
    /// The accuracy for another `k`.
    pub fn k(k: usize) -> Self {
        Self::with(k)
    }
}

wrapper_metric!(
    /// Keras' `SparseTopKCategoricalAccuracy` (default k = 5), for integer labels.
    SparseTopKCategoricalAccuracy, "sparse_top_k_categorical_accuracy", |s, t, p| {
        in_top_k(&sparse_labels("sparse_top_k_categorical_accuracy", t, p), p, k)
    }, k: usize = 5
);
impl SparseTopKCategoricalAccuracy {
    /// The accuracy for another `k`.
    pub fn k(k: usize) -> Self {
        Self::with(k)
    }
}

wrapper_metric!(
    /// Mean squared error as a metric.
    MeanSquaredError, "mean_squared_error", |_s, t, p| losses::mean_squared_error(t, p)
);
wrapper_metric!(
    /// Mean absolute error as a metric.
    MeanAbsoluteError, "mean_absolute_error", |_s, t, p| losses::mean_absolute_error(t, p)
);

/// Keras' `RootMeanSquaredError`: `sqrt(Σ w·(y_pred - y_true)² / Σ w)` over all elements.
pub struct RootMeanSquaredError {
    mean: Mean,
}

impl RootMeanSquaredError {
    /// The metric.
    pub fn new() -> Self {
        RootMeanSquaredError {
            mean: Mean::new("root_mean_squared_error"),
        }
    }
}

impl Default for RootMeanSquaredError {
    fn default() -> Self {
        Self::new()
    }
}

impl Metric for RootMeanSquaredError {
    fn name(&self) -> &str {
        self.mean.name()
    }
    fn update_state(&mut self, y_true: &Tensor, y_pred: &Tensor, sample_weight: Option<&Tensor>) {
        let sq = without_recording(|| {
            let t = y_true.cast(y_pred.dtype());
            y_pred.sub(&t).square()
        });
        self.mean.update(&sq, sample_weight);
    }
    fn result(&self) -> f64 {
        self.mean.result().sqrt()
    }
    fn reset_state(&mut self) {
        self.mean.reset_state();
    }
}

/// Counts of a binary classifier at several thresholds (`y_pred > threshold` is positive).
#[derive(Clone, Debug)]
struct Confusion {
    thresholds: Vec<f64>,
    tp: Vec<f64>,
    fp: Vec<f64>,
    tn: Vec<f64>,
    fn_: Vec<f64>,
}

impl Confusion {
    fn new(thresholds: Vec<f64>) -> Self {
        let n = thresholds.len();
        Confusion {
            thresholds,
            tp: vec![0.0; n],
            fp: vec![0.0; n],
            tn: vec![0.0; n],
            fn_: vec![0.0; n],
        }
    }

    #[track_caller]
    fn update(
        &mut self,
        name: &str,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) {
        if y_true.dims() != y_pred.dims() {
            panic!(
                "{name}: y_true of shape {} does not match y_pred of shape {}",
                y_true.shape(),
                y_pred.shape()
            );
        }
        let t = y_true.to_f64_vec();
        let p = y_pred.to_f64_vec();
        let w = weights(name, sample_weight, y_pred.dims());
        for (i, (&ti, &pi)) in t.iter().zip(&p).enumerate() {
            let wi = w.as_ref().map_or(1.0, |w| w[i]);
            let positive = ti > 0.5;
            for (j, &th) in self.thresholds.iter().enumerate() {
                match (positive, pi > th) {
                    (true, true) => self.tp[j] += wi,
                    (true, false) => self.fn_[j] += wi,
                    (false, true) => self.fp[j] += wi,
                    (false, false) => self.tn[j] += wi,
                }
            }
        }
    }

    fn reset(&mut self) {
        for v in [&mut self.tp, &mut self.fp, &mut self.tn, &mut self.fn_] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
    }
}

fn divide_no_nan(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// A metric that is one ratio of a [`Confusion`] at one threshold (Keras' `Precision` and
/// `Recall` differ only in the ratio).
macro_rules! threshold_ratio_metric {
    ($(#[$doc:meta])* $ty:ident, $name:literal, |$c:ident| $ratio:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $ty(Confusion);

        impl $ty {
            #[doc = concat!("`", $name, "` at threshold 0.5.")]
            pub fn new() -> Self {
                Self::threshold(0.5)
            }
            #[doc = concat!("`", $name, "` at another threshold.")]
            pub fn threshold(t: f64) -> Self {
                $ty(Confusion::new(vec![t]))
            }
        }

        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }

        impl Metric for $ty {
            fn name(&self) -> &str {
                $name
            }
            fn update_state(
                &mut self,
                y_true: &Tensor,
                y_pred: &Tensor,
                sample_weight: Option<&Tensor>,
            ) {
                self.0.update($name, y_true, y_pred, sample_weight);
            }
            fn result(&self) -> f64 {
                let $c = &self.0;
                $ratio
            }
            fn reset_state(&mut self) {
                self.0.reset();
            }
        }
    };
}

threshold_ratio_metric!(
    /// Keras' `Precision` at a threshold (default 0.5): `tp / (tp + fp)`.
    Precision,
    "precision",
    |c| divide_no_nan(c.tp[0], c.tp[0] + c.fp[0])
);

threshold_ratio_metric!(
    /// Keras' `Recall` at a threshold (default 0.5): `tp / (tp + fn)`.
    Recall,
    "recall",
    |c| divide_no_nan(c.tp[0], c.tp[0] + c.fn_[0])
);

/// Which curve [`Auc`] integrates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// Receiver operating characteristic: true-positive rate over false-positive rate.
    Roc,
    /// Precision over recall, with Davis & Goadrich's interpolation (as Keras).
    Pr,
}

/// Keras' `AUC`: the area under the ROC (default) or PR curve, from confusion counts at
/// `num_thresholds` evenly spaced thresholds (default 200), trapezoidal for ROC.
#[derive(Clone, Debug)]
pub struct Auc {
    curve: Curve,
    counts: Confusion,
}

impl Auc {
    /// ROC AUC with 200 thresholds.
    pub fn new() -> Self {
        Self::with(Curve::Roc, 200)
    }

    /// AUC of `curve` with `num_thresholds` thresholds (at least 2).
    ///
    /// # Panics
    /// If `num_thresholds < 2`.
    pub fn with(curve: Curve, num_thresholds: usize) -> Self {
        assert!(
            num_thresholds >= 2,
            "auc: num_thresholds must be at least 2, got {num_thresholds}"
        );
        // Keras: the end points sit just outside [0, 1] so that predictions of exactly 0 or
        // 1 fall on the right side.
        let n = num_thresholds;
        let thresholds = (0..n)
            .map(|i| match i {
                0 => -EPS_THRESHOLD,
                i if i == n - 1 => 1.0 + EPS_THRESHOLD,
                i => i as f64 / (n - 1) as f64,
            })
            .collect();
        Auc {
            curve,
            counts: Confusion::new(thresholds),
        }
    }
}

/// Keras' `backend.epsilon()` for the AUC end thresholds.
const EPS_THRESHOLD: f64 = 1e-7;

impl Default for Auc {
    fn default() -> Self {
        Self::new()
    }
}

impl Metric for Auc {
    fn name(&self) -> &str {
        "auc"
    }
    fn update_state(&mut self, y_true: &Tensor, y_pred: &Tensor, sample_weight: Option<&Tensor>) {
        self.counts.update("auc", y_true, y_pred, sample_weight);
    }
    fn result(&self) -> f64 {
        let c = &self.counts;
        let n = c.thresholds.len();
        match self.curve {
            Curve::Roc => (0..n - 1)
                .map(|i| {
                    let tpr = |j: usize| divide_no_nan(c.tp[j], c.tp[j] + c.fn_[j]);
                    let fpr = |j: usize| divide_no_nan(c.fp[j], c.fp[j] + c.tn[j]);
                    (fpr(i) - fpr(i + 1)) * (tpr(i) + tpr(i + 1)) / 2.0
                })
                .sum(),
            Curve::Pr => (0..n - 1)
                .map(|i| {
                    let dtp = c.tp[i] - c.tp[i + 1];
                    let p0 = c.tp[i] + c.fp[i];
                    let p1 = c.tp[i + 1] + c.fp[i + 1];
                    let slope = divide_no_nan(dtp, (p0 - p1).max(0.0));
                    let intercept = c.tp[i + 1] - slope * p1;
                    let ratio = if p0 > 0.0 && p1 > 0.0 {
                        divide_no_nan(p0, p1.max(0.0))
                    } else {
                        1.0
                    };
                    divide_no_nan(
                        slope * (dtp + intercept * ratio.ln()),
                        (c.tp[i + 1] + c.fn_[i + 1]).max(0.0),
                    )
                })
                .sum(),
        }
    }
    fn reset_state(&mut self) {
        self.counts.reset();
    }
}

/// A metric by its Keras name (`"accuracy"`, `"auc"`, `"mae"`, ...). `"accuracy"` and
/// `"acc"` pick the accuracy that fits `loss` (sparse, categorical or binary), as Keras'
/// `compile` does.
pub fn get(name: &str, loss: Option<&str>) -> Option<Box<dyn Metric>> {
    Some(match name {
        "accuracy" | "acc" => match loss {
            Some("sparse_categorical_crossentropy") => {
                Box::new(renamed(SparseCategoricalAccuracy::new(), name))
            }
            Some("categorical_crossentropy") => Box::new(renamed(CategoricalAccuracy::new(), name)),
            Some("binary_crossentropy") => Box::new(renamed(BinaryAccuracy::new(), name)),
            _ => Box::new(Accuracy::new()),
        },
        "binary_accuracy" => Box::new(BinaryAccuracy::new()),
        "categorical_accuracy" => Box::new(CategoricalAccuracy::new()),
        "sparse_categorical_accuracy" => Box::new(SparseCategoricalAccuracy::new()),
        "top_k_categorical_accuracy" => Box::new(TopKCategoricalAccuracy::new()),
        "sparse_top_k_categorical_accuracy" => Box::new(SparseTopKCategoricalAccuracy::new()),
        "mean_squared_error" | "mse" => Box::new(MeanSquaredError::new()),
        "mean_absolute_error" | "mae" => Box::new(MeanAbsoluteError::new()),
        "root_mean_squared_error" | "rmse" => Box::new(RootMeanSquaredError::new()),
        "precision" => Box::new(Precision::new()),
        "recall" => Box::new(Recall::new()),
        "auc" => Box::new(Auc::new()),
        _ => return None,
    })
}

/// A metric reported under another name (`"accuracy"` for the sparse accuracy, as Keras).
pub struct Renamed<M> {
    name: String,
    inner: M,
}

/// `inner`, reported as `name`.
pub fn renamed<M: Metric>(inner: M, name: impl Into<String>) -> Renamed<M> {
    Renamed {
        name: name.into(),
        inner,
    }
}

impl<M: Metric> Metric for Renamed<M> {
    fn name(&self) -> &str {
        &self.name
    }
    fn update_state(&mut self, y_true: &Tensor, y_pred: &Tensor, sample_weight: Option<&Tensor>) {
        self.inner.update_state(y_true, y_pred, sample_weight)
    }
    fn result(&self) -> f64 {
        self.inner.result()
    }
    fn reset_state(&mut self) {
        self.inner.reset_state()
    }
}
