//! Keras-style training: `compile`, `fit`, `evaluate`, `predict`, `train_on_batch`.
//!
//! The custom loop (a tape, `gradient`, `apply_gradients`) stays first class; `fit` is that
//! same loop with batching, shuffling, metrics, validation, callbacks and a progress bar.
//!
//! ```
//! use keen_nn::prelude::*;
//! use keen_nn::fit::FitOptions;
//! use keen_nn::losses::MeanSquaredError;
//! use keen_optim::Adam;
//! use keen_tensor::{DType, Tensor};
//!
//! // y = 2x - 1 from 64 points.
//! let x = Tensor::linspace(-1.0, 1.0, 64, DType::Float32).reshape([64, 1]);
//! let y = x.mul(2.0).sub(1.0);
//! let model = Sequential::new().add(Dense::new(1));
//! let mut model = model.compile(Adam::new(0.1), MeanSquaredError::new()).metrics(["mae"]);
//! let history = model.fit(&x, &y, FitOptions::new().epochs(30).batch_size(16).verbose(Verbosity::Silent));
//! assert!(history.last("loss").unwrap() < 0.01);
//! let logs = model.evaluate(&x, &y, 32);
//! assert!(logs["mae"] < 0.1);
//! ```

mod callbacks;
mod progress;

pub use callbacks::{
    BackupAndRestore, Callback, CsvLogger, EarlyStopping, LearningRateScheduler, Mode,
    ModelCheckpoint, ReduceLrOnPlateau, TerminateOnNaN,
};
pub use progress::Verbosity;

use crate::losses::Loss;
use crate::metrics::{self, Mean, Metric};
use crate::Layer;
use keen_data::Dataset;
use keen_optim::Optimizer;
use keen_tape::GradientTape;
use keen_tensor::random::Generator;
use keen_tensor::record::without_recording;
use keen_tensor::{DType, Tensor};
use progress::Progress;
use std::collections::BTreeMap;
use std::fmt;

/// Named values of one step or epoch (`loss`, metrics, `val_loss`, ...), in the order
/// they were added, as Keras' `logs` dict.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logs(Vec<(String, f64)>);

impl Logs {
    /// Empty logs.
    pub fn new() -> Self {
        Logs(Vec::new())
    }

    /// Sets `name` (replacing an earlier value).
    pub fn set(&mut self, name: impl Into<String>, value: f64) {
        let name = name.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// The value of `name`, if logged.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(n, v)| (n.as_str(), *v))
    }
}

impl std::ops::Index<&str> for Logs {
    type Output = f64;
    #[track_caller]
    fn index(&self, name: &str) -> &f64 {
        match self.0.iter().find(|(n, _)| n == name) {
            Some((_, v)) => v,
            None => panic!(
                "logs: no value named `{name}`; logged: {}",
                self.0
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl fmt::Display for Logs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (n, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" - ")?;
            }
            write!(f, "{n}: {v:.4}")?;
        }
        Ok(())
    }
}

/// What `fit` returns: each logged value per epoch (Keras' `History.history`).
#[derive(Clone, Debug, Default)]
pub struct History {
    /// The epochs that ran (0-based; later than 0 first when resumed).
    pub epochs: Vec<usize>,
    names: Vec<String>,
    values: BTreeMap<String, Vec<f64>>,
}

impl History {
    fn push(&mut self, epoch: usize, logs: &Logs) {
        self.epochs.push(epoch);
        for (n, v) in logs.iter() {
            if !self.values.contains_key(n) {
                self.names.push(n.to_string());
            }
            self.values.entry(n.to_string()).or_default().push(v);
        }
    }

    /// The per-epoch values of `name` (`"loss"`, `"val_accuracy"`), if logged.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.values.get(name).map(Vec::as_slice)
    }

    /// The last epoch's value of `name`.
    pub fn last(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|v| v.last().copied())
    }

    /// The logged names, in first-logged order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// `fit`'s options, with Keras' defaults (1 epoch, batch 32, shuffle, verbose bar).
pub struct FitOptions {
    epochs: usize,
    initial_epoch: usize,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
    validation_split: f64,
    validation_data: Option<(Tensor, Tensor)>,
    class_weight: Option<BTreeMap<i64, f64>>,
    sample_weight: Option<Tensor>,
    callbacks: Vec<Box<dyn Callback>>,
    verbose: Verbosity,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            initial_epoch: 0,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            validation_split: 0.0,
            validation_data: None,
            class_weight: None,
            sample_weight: None,
            callbacks: Vec::new(),
            verbose: Verbosity::Bar,
        }
    }
}

impl FitOptions {
    /// Keras' defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// The epoch to stop before (Keras: `epochs` counts from 0, not from `initial_epoch`).
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = n;
        self
    }
    /// The epoch to start at (for a resumed run).
    pub fn initial_epoch(mut self, n: usize) -> Self {
        self.initial_epoch = n;
        self
    }
    /// Samples per gradient step (default 32).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }
    /// Whether to reshuffle the training samples each epoch (default true).
    pub fn shuffle(mut self, yes: bool) -> Self {
        self.shuffle = yes;
        self
    }
    /// The seed of the per-epoch shuffles.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Holds out this fraction of the samples, taken from the end before shuffling (Keras).
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = fraction;
        self
    }
    /// Validation inputs and targets, evaluated after each epoch.
    pub fn validation_data(mut self, x: &Tensor, y: &Tensor) -> Self {
        self.validation_data = Some((x.clone(), y.clone()));
        self
    }
    /// Weights of classes (by integer label, or arg-max of one-hot targets) in the loss.
    pub fn class_weight(mut self, weights: impl IntoIterator<Item = (i64, f64)>) -> Self {
        self.class_weight = Some(weights.into_iter().collect());
        self
    }
    /// One weight per training sample.
    pub fn sample_weight(mut self, w: &Tensor) -> Self {
        self.sample_weight = Some(w.clone());
        self
    }
    /// Adds a callback.
    pub fn callback(mut self, c: impl Callback + 'static) -> Self {
        self.callbacks.push(Box::new(c));
        self
    }
    /// How much to print (default a progress bar).
    pub fn verbose(mut self, v: Verbosity) -> Self {
        self.verbose = v;
        self
    }
}

/// What callbacks may look at and change while `fit` runs.
pub struct TrainContext<'a> {
    /// The model's variables by path (`dense.kernel`), trainable or not.
    pub variables: Vec<(String, keen_tape::Variable)>,
    /// The optimizer (its learning rate, its state for checkpoints).
    pub optimizer: &'a mut dyn Optimizer,
    /// Set to true to stop after this epoch.
    pub stop_training: bool,
}

/// `compile` for every model: a layer stack, a Functional model or a custom model that
/// implements [`Layer`].
pub trait Compile: Layer + Sized {
    /// Attaches an optimizer and a loss (Keras' `model.compile`).
    fn compile(
        self,
        optimizer: impl Optimizer + 'static,
        loss: impl Loss + 'static,
    ) -> Compiled<Self> {
        Compiled {
            model: self,
            optimizer: Box::new(optimizer),
            loss: Box::new(loss),
            metrics: Vec::new(),
        }
    }
}

impl<M: Layer + Sized> Compile for M {}

/// A model with its optimizer, loss and metrics: what `fit` trains.
pub struct Compiled<M> {
    model: M,
    optimizer: Box<dyn Optimizer>,
    loss: Box<dyn Loss>,
    metrics: Vec<Box<dyn Metric>>,
}

/// One batch: inputs, targets, optional per-sample weights.
type Batch = (Tensor, Tensor, Option<Tensor>);

impl<M: Layer> Compiled<M> {
    /// Adds metrics by Keras name (`"accuracy"` picks the accuracy that fits the loss), logged
    /// under that name.
    ///
    /// # Panics
    /// On an unknown name.
    #[track_caller]
    pub fn metrics<'a>(mut self, names: impl IntoIterator<Item = &'a str>) -> Self {
        for name in names {
            let m = metrics::get(name, Some(self.loss.name()))
                .unwrap_or_else(|| panic!("compile: unknown metric `{name}`"));
            // Keras logs a metric under the string it was asked for (`mae`, not
            // `mean_absolute_error`).
            self.metrics.push(Box::new(metrics::renamed(m, name)));
        }
        self
    }

    /// Adds a metric object.
    pub fn metric(mut self, m: impl Metric + 'static) -> Self {
        self.metrics.push(Box::new(m));
        self
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The optimizer.
    pub fn optimizer(&mut self) -> &mut dyn Optimizer {
        self.optimizer.as_mut()
    }

    /// Gives back the model.
    pub fn into_model(self) -> M {
        self.model
    }

    /// One gradient step on one batch; returns the batch's loss and metrics.
    #[track_caller]
    pub fn train_on_batch(&mut self, x: &Tensor, y: &Tensor) -> Logs {
        check_lengths("train_on_batch", x, y, None);
        self.reset_metrics();
        let loss = self.step(x, y, None);
        self.logs(loss.0 / loss.1)
    }

    /// Loss and metrics over `x`, `y` in batches, in inference mode.
    #[track_caller]
    pub fn evaluate(&mut self, x: &Tensor, y: &Tensor, batch_size: usize) -> Logs {
        check_lengths("evaluate", x, y, None);
        let n = x.dim(0);
        let batches: Vec<Batch> = (0..n.div_ceil(batch_size.max(1)))
            .map(|b| {
                let r = b * batch_size..((b + 1) * batch_size).min(n);
                (rows(x, r.clone()), rows(y, r), None)
            })
            .collect();
        self.evaluate_batches(batches.into_iter())
    }

    /// The model's outputs for `x`, in batches, in inference mode.
    pub fn predict(&self, x: &Tensor, batch_size: usize) -> Tensor {
        let n = x.dim(0);
        let parts: Vec<Tensor> = without_recording(|| {
            (0..n.div_ceil(batch_size.max(1)))
                .map(|b| {
                    self.model.forward(
                        &rows(x, b * batch_size..((b + 1) * batch_size).min(n)),
                        false,
                    )
                })
                .collect()
        });
        let refs: Vec<&Tensor> = parts.iter().collect();
        Tensor::concat(&refs, 0)
    }

    /// Trains on `x`, `y` (in-memory tensors; samples along axis 0).
    ///
    /// # Panics
    /// Before training starts, when `x` and `y` (or the sample weights) differ in length, or
    /// when the loss does not accept the model's output and `y` (the message names the loss
    /// and both shapes).
    #[track_caller]
    pub fn fit(&mut self, x: &Tensor, y: &Tensor, mut options: FitOptions) -> History {
        check_lengths("fit", x, y, options.sample_weight.as_ref());
        let n = x.dim(0);
        let (x, y, sw, validation) = if options.validation_split > 0.0 {
            let split = options.validation_split;
            assert!(
                split < 1.0,
                "fit: validation_split must be in [0, 1), got {split}"
            );
            let n_val = (n as f64 * split).round() as usize;
            let n_train = n - n_val;
            let val = (rows(x, n_train..n), rows(y, n_train..n));
            let sw = options.sample_weight.as_ref().map(|w| rows(w, 0..n_train));
            (rows(x, 0..n_train), rows(y, 0..n_train), sw, Some(val))
        } else {
            (
                x.clone(),
                y.clone(),
                options.sample_weight.clone(),
                options.validation_data.take(),
            )
        };
        let sw = self.with_class_weight(&y, sw, options.class_weight.as_ref());
        let n = x.dim(0);
        let batch = options.batch_size.max(1);
        let steps = n.div_ceil(batch);
        self.dry_run(&x, &y);
        let seed = options.seed;
        let shuffle = options.shuffle;
        let epoch_batches = move |epoch: usize| -> Box<dyn Iterator<Item = Batch>> {
            let order = shuffle.then(|| {
                let mut g = Generator::new(seed).with_stream(epoch as u32);
                Tensor::random_permutation_with(n, &mut g)
            });
            let (x, y, sw) = (x.clone(), y.clone(), sw.clone());
            Box::new((0..steps).map(move |b| {
                let r = b * batch..((b + 1) * batch).min(n);
                let take = |t: &Tensor| match &order {
                    Some(o) => t.index_select(0, &rows(o, r.clone())),
                    None => rows(t, r.clone()),
                };
                (take(&x), take(&y), sw.as_ref().map(take))
            }))
        };
        self.run(&mut options, Some(steps), &epoch_batches, validation)
    }

    /// Trains on a dataset of `(x, y)` or `(x, y, sample_weight)` batches (already batched),
    /// one pass per epoch.
    #[track_caller]
    pub fn fit_dataset(&mut self, data: &Dataset, mut options: FitOptions) -> History {
        let validation = options.validation_data.take();
        let data = data.clone();
        let epoch_batches = move |epoch: usize| -> Box<dyn Iterator<Item = Batch>> {
            Box::new(data.iter_epoch(epoch as u64).map(|e| {
                let e = e.unwrap_or_else(|err| panic!("fit: reading the dataset failed: {err}"));
                batch_of(&e)
            }))
        };
        self.run(&mut options, None, &epoch_batches, validation)
    }

    fn run(
        &mut self,
        options: &mut FitOptions,
        steps: Option<usize>,
        epoch_batches: &dyn Fn(usize) -> Box<dyn Iterator<Item = Batch>>,
        validation: Option<(Tensor, Tensor)>,
    ) -> History {
        let mut history = History::default();
        let mut progress = Progress::new(options.verbose, options.epochs, steps);
        let mut callbacks = std::mem::take(&mut options.callbacks);
        let mut stop = false;
        with_context(self, &mut stop, |ctx| {
            callbacks.iter_mut().for_each(|c| c.on_train_begin(ctx))
        });
        for epoch in options.initial_epoch..options.epochs {
            with_context(self, &mut stop, |ctx| {
                callbacks
                    .iter_mut()
                    .for_each(|c| c.on_epoch_begin(epoch, ctx))
            });
            progress.epoch_begin(epoch);
            self.reset_metrics();
            let (mut loss_sum, mut loss_count) = (0.0, 0.0);
            for (x, y, sw) in epoch_batches(epoch) {
                let (sum, count) = self.step(&x, &y, sw.as_ref());
                loss_sum += sum;
                loss_count += count;
                let logs = self.logs(loss_sum / loss_count);
                progress.batch_end(&logs);
                with_context(self, &mut stop, |ctx| {
                    callbacks
                        .iter_mut()
                        .for_each(|c| c.on_train_batch_end(epoch, &logs, ctx))
                });
                if stop {
                    break;
                }
            }
            let mut logs = self.logs(loss_sum / loss_count.max(1.0));
            if let Some((vx, vy)) = &validation {
                let val = self.evaluate(vx, vy, options.batch_size);
                for (n, v) in val.iter() {
                    logs.set(format!("val_{n}"), v);
                }
            }
            logs.set("learning_rate", self.optimizer.learning_rate());
            with_context(self, &mut stop, |ctx| {
                callbacks
                    .iter_mut()
                    .for_each(|c| c.on_epoch_end(epoch, &logs, ctx))
            });
            progress.epoch_end(epoch, &logs);
            history.push(epoch, &logs);
            if stop {
                break;
            }
        }
        with_context(self, &mut stop, |ctx| {
            callbacks.iter_mut().for_each(|c| c.on_train_end(ctx))
        });
        options.callbacks = callbacks;
        history
    }

    /// One training step; returns the loss summed over the batch's samples and their count,
    /// so that the epoch's loss is the mean over samples (as Keras reports it).
    fn step(&mut self, x: &Tensor, y: &Tensor, sw: Option<&Tensor>) -> (f64, f64) {
        let tape = GradientTape::new();
        let pred = self.model.forward(x, true);
        let loss = self.loss.call_weighted(y, &pred, sw);
        let vars = self.model.trainable_variables();
        let grads = tape.gradient(&loss, &vars);
        self.optimizer.apply_gradients(&grads, &vars);
        for m in &mut self.metrics {
            m.update_state(y, &pred, sw);
        }
        let n = x.dim(0) as f64;
        (loss.to_f64_vec()[0] * n, n)
    }

    fn evaluate_batches(&mut self, batches: impl Iterator<Item = Batch>) -> Logs {
        self.reset_metrics();
        let mut loss = Mean::new("loss");
        without_recording(|| {
            for (x, y, sw) in batches {
                let pred = self.model.forward(&x, false);
                let l = self.loss.call_weighted(&y, &pred, sw.as_ref());
                loss.update_scalar(l.to_f64_vec()[0], x.dim(0) as f64);
                for m in &mut self.metrics {
                    m.update_state(&y, &pred, sw.as_ref());
                }
            }
        });
        self.logs(loss.result())
    }

    fn logs(&self, loss: f64) -> Logs {
        let mut logs = Logs::new();
        logs.set("loss", loss);
        for m in &self.metrics {
            logs.set(m.name(), m.result());
        }
        logs
    }

    fn reset_metrics(&mut self) {
        self.metrics.iter_mut().for_each(|m| m.reset_state());
    }

    /// A forward pass and the loss on two samples, so that a model/loss/target mismatch
    /// fails before any training (Keras builds the model and checks the loss in `fit` too).
    #[track_caller]
    fn dry_run(&self, x: &Tensor, y: &Tensor) {
        if x.dim(0) == 0 {
            panic!("fit: no training samples");
        }
        let k = x.dim(0).min(2);
        without_recording(|| {
            let pred = self.model.forward(&rows(x, 0..k), false);
            self.loss.call(&rows(y, 0..k), &pred);
        });
    }

    #[track_caller]
    fn with_class_weight(
        &self,
        y: &Tensor,
        sw: Option<Tensor>,
        cw: Option<&BTreeMap<i64, f64>>,
    ) -> Option<Tensor> {
        let Some(cw) = cw else { return sw };
        let labels = if y.rank() >= 2 && y.dim(-1) > 1 {
            y.argmax(&[-1], false).cast(DType::Int64).to_vec::<i64>()
        } else {
            y.cast(DType::Int64).reshape([-1]).to_vec::<i64>()
        };
        let w: Vec<f64> = labels
            .iter()
            .map(|l| {
                *cw.get(l)
                    .unwrap_or_else(|| panic!("fit: class_weight has no weight for class {l}"))
            })
            .collect();
        let w = Tensor::from_vec(w, [labels.len()]);
        Some(match sw {
            Some(s) => s.cast(DType::Float64).mul(&w),
            None => w,
        })
    }
}

fn with_context<M: Layer, R>(
    c: &mut Compiled<M>,
    stop: &mut bool,
    f: impl FnOnce(&mut TrainContext<'_>) -> R,
) -> R {
    let mut ctx = TrainContext {
        variables: c.model.named_variables(),
        optimizer: c.optimizer.as_mut(),
        stop_training: *stop,
    };
    let r = f(&mut ctx);
    *stop = ctx.stop_training;
    r
}

/// Rows `r` of `t` along axis 0 (a view).
fn rows(t: &Tensor, r: std::ops::Range<usize>) -> Tensor {
    t.narrow(0, r.start, r.end - r.start)
}

#[track_caller]
fn check_lengths(op: &str, x: &Tensor, y: &Tensor, sw: Option<&Tensor>) {
    if x.rank() == 0 || y.rank() == 0 {
        panic!(
            "{op}: x and y need a sample axis, got x {} and y {}",
            x.shape(),
            y.shape()
        );
    }
    if x.dim(0) != y.dim(0) {
        panic!(
            "{op}: x and y have different numbers of samples: x {} has {}, y {} has {}",
            x.shape(),
            x.dim(0),
            y.shape(),
            y.dim(0)
        );
    }
    if let Some(w) = sw
        && (w.rank() == 0 || w.dim(0) != x.dim(0))
    {
        panic!(
            "{op}: sample_weight {} does not have one weight per sample ({})",
            w.shape(),
            x.dim(0)
        );
    }
}

#[track_caller]
fn batch_of(e: &keen_data::Elem) -> Batch {
    let parts = match e {
        keen_data::Elem::Tuple(v) => v,
        other => panic!(
            "fit: dataset elements must be (x, y) or (x, y, sample_weight), got {}",
            other.describe()
        ),
    };
    let tensor = |i: usize| {
        parts[i].tensor().cloned().unwrap_or_else(|_| {
            panic!(
                "fit: dataset elements must be tuples of tensors, got {}",
                e.describe()
            )
        })
    };
    match parts.len() {
        2 => (tensor(0), tensor(1), None),
        3 => (tensor(0), tensor(1), Some(tensor(2))),
        _ => panic!(
            "fit: dataset elements must be (x, y) or (x, y, sample_weight), got {}",
            e.describe()
        ),
    }
}
