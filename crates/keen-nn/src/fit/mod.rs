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
mod plot;
mod progress;
mod tensorboard;

pub use callbacks::{
    BackupAndRestore, Callback, CsvLogger, EarlyStopping, LearningRateScheduler, Mode,
    ModelCheckpoint, ReduceLrOnPlateau, TerminateOnNaN,
};
pub use plot::{heat_map, PlotError};
pub use progress::Verbosity;
pub use tensorboard::{read_scalars, Scalar, SummaryWriter, TensorBoard};

use crate::losses::Loss;
use crate::metrics::{self, Metric};
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
    validation_data: Option<(Vec<Tensor>, Vec<Tensor>)>,
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
    /// Validation inputs and targets, evaluated after each epoch (a tensor each, or one per
    /// model input and output).
    pub fn validation_data(mut self, x: impl IntoTensors, y: impl IntoTensors) -> Self {
        self.validation_data = Some((x.into_tensors(), y.into_tensors()));
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
    pub variables: &'a [(String, keen_tape::Variable)],
    /// The optimizer (its learning rate, its state for checkpoints).
    pub optimizer: &'a mut dyn Optimizer,
    /// Set to true to stop after this epoch.
    pub stop_training: bool,
}

/// `compile` for every model: a layer stack, a Functional model or a custom model that
/// implements [`Layer`].
pub trait Compile: Layer + Sized {
    /// Attaches an optimizer and a loss (Keras' `model.compile`). A model with several
    /// outputs takes one loss per output as a tuple (`(MeanSquaredError::new(),
    /// SparseCategoricalCrossentropy::new())`), or one loss for all outputs.
    ///
    /// # Panics
    /// When the number of losses is neither 1 nor the number of outputs.
    #[track_caller]
    fn compile(self, optimizer: impl Optimizer + 'static, loss: impl IntoLosses) -> Compiled<Self> {
        let losses = loss.into_losses();
        let output_names = match self.output_names() {
            names if names.len() > 1 => names,
            _ => vec![String::new()],
        };
        let n = output_names.len();
        if losses.len() != 1 && losses.len() != n {
            panic!(
                "compile: {} losses for a model with {n} outputs ({}); give one loss per output or one for all",
                losses.len(),
                output_names.join(", ")
            );
        }
        Compiled {
            model: self,
            optimizer: Box::new(optimizer),
            losses,
            loss_weights: vec![1.0; n],
            metrics: Vec::new(),
            output_names,
        }
    }
}

/// Inputs or targets for `fit`, `evaluate` and `predict`: one tensor (`&x`), or one per model
/// input or output (`&[text, features]`), samples along axis 0.
pub trait IntoTensors {
    /// The tensors, in the model's input (or output) order.
    fn into_tensors(self) -> Vec<Tensor>;
}

impl IntoTensors for &Tensor {
    fn into_tensors(self) -> Vec<Tensor> {
        vec![self.clone()]
    }
}

impl IntoTensors for &[Tensor] {
    fn into_tensors(self) -> Vec<Tensor> {
        self.to_vec()
    }
}

impl<const N: usize> IntoTensors for &[Tensor; N] {
    fn into_tensors(self) -> Vec<Tensor> {
        self.to_vec()
    }
}

impl IntoTensors for &Vec<Tensor> {
    fn into_tensors(self) -> Vec<Tensor> {
        self.clone()
    }
}

/// The losses given to [`compile`](Compile::compile): one loss, or a tuple of one per output
/// (Keras' `loss=[...]`).
pub trait IntoLosses {
    /// The losses, in output order.
    fn into_losses(self) -> Vec<Box<dyn Loss>>;
}

impl<L: Loss + 'static> IntoLosses for L {
    fn into_losses(self) -> Vec<Box<dyn Loss>> {
        vec![Box::new(self)]
    }
}

impl IntoLosses for Vec<Box<dyn Loss>> {
    fn into_losses(self) -> Vec<Box<dyn Loss>> {
        self
    }
}

macro_rules! tuple_losses {
    ($($t:ident),*) => {
        impl<$($t: Loss + 'static),*> IntoLosses for ($($t,)*) {
            #[allow(non_snake_case)]
            fn into_losses(self) -> Vec<Box<dyn Loss>> {
                let ($($t,)*) = self;
                vec![$(Box::new($t)),*]
            }
        }
    };
}
tuple_losses!(A, B);
tuple_losses!(A, B, C);
tuple_losses!(A, B, C, D);

impl<M: Layer + Sized> Compile for M {}

/// A model with its optimizer, loss and metrics: what `fit` trains.
///
/// With several outputs (a Functional model), each output has its loss (one for all if one
/// was given) and weight, the logged `loss` is the weighted sum, and each output's loss and
/// metrics are logged under its name as Keras does: `price_loss`, `class_accuracy`.
pub struct Compiled<M> {
    model: M,
    optimizer: Box<dyn Optimizer>,
    losses: Vec<Box<dyn Loss>>,
    loss_weights: Vec<f64>,
    /// Each metric with the output it watches.
    metrics: Vec<(usize, Box<dyn Metric>)>,
    /// `[""]` for a single output, else the model's output names.
    output_names: Vec<String>,
}

/// One batch: inputs, targets (one per model input and output), optional per-sample weights.
type Batch = (Vec<Tensor>, Vec<Tensor>, Option<Tensor>);

impl<M: Layer> Compiled<M> {
    /// Adds metrics by Keras name (`"accuracy"` picks the accuracy that fits the loss), logged
    /// under that name; with several outputs, to every output, logged as `<output>_<name>`.
    ///
    /// # Panics
    /// On an unknown name.
    #[track_caller]
    pub fn metrics<'a>(mut self, names: impl IntoIterator<Item = &'a str>) -> Self {
        let names: Vec<&str> = names.into_iter().collect();
        for output in 0..self.output_names.len() {
            self = self.add_metrics(output, &names);
        }
        self
    }

    /// Adds metrics by Keras name to the output named `output` (Keras' `metrics={"price":
    /// ["mae"]}`), logged as `<output>_<name>`.
    ///
    /// # Panics
    /// On an unknown metric or output name.
    #[track_caller]
    pub fn output_metrics<'a>(
        self,
        output: &str,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let Some(i) = self.output_names.iter().position(|n| n == output) else {
            panic!(
                "compile: no output named `{output}`; the outputs are {}",
                self.output_names.join(", ")
            );
        };
        let names: Vec<&str> = names.into_iter().collect();
        self.add_metrics(i, &names)
    }

    #[track_caller]
    fn add_metrics(mut self, output: usize, names: &[&str]) -> Self {
        for &name in names {
            let m = metrics::get(name, Some(self.loss(output).name()))
                .unwrap_or_else(|| panic!("compile: unknown metric `{name}`"));
            // Keras logs a metric under the string it was asked for (`mae`, not
            // `mean_absolute_error`), prefixed by the output's name when there are several.
            let logged = self.prefixed(output, name);
            self.metrics
                .push((output, Box::new(metrics::renamed(m, logged))));
        }
        self
    }

    /// Adds a metric object (for the first output).
    pub fn metric(mut self, m: impl Metric + 'static) -> Self {
        self.metrics.push((0, Box::new(m)));
        self
    }

    /// Weighs each output's loss in the total (Keras' `loss_weights`; default all 1).
    ///
    /// # Panics
    /// When the number of weights differs from the number of outputs.
    #[track_caller]
    pub fn loss_weights(mut self, weights: impl IntoIterator<Item = f64>) -> Self {
        let w: Vec<f64> = weights.into_iter().collect();
        if w.len() != self.output_names.len() {
            panic!(
                "compile: {} loss weights for a model with {} outputs",
                w.len(),
                self.output_names.len()
            );
        }
        self.loss_weights = w;
        self
    }

    fn loss(&self, output: usize) -> &dyn Loss {
        self.losses[output.min(self.losses.len() - 1)].as_ref()
    }

    /// `name`, or `<output>_name` when the model has several outputs.
    fn prefixed(&self, output: usize, name: &str) -> String {
        match self.output_names.len() {
            1 => name.to_string(),
            _ => format!("{}_{name}", self.output_names[output]),
        }
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
    pub fn train_on_batch(&mut self, x: impl IntoTensors, y: impl IntoTensors) -> Logs {
        let (x, y) = (x.into_tensors(), y.into_tensors());
        check_lengths("train_on_batch", &x, &y, None);
        self.reset_metrics();
        let (sums, n) = self.step(&x, &y, None, &mut None);
        self.logs(&sums.iter().map(|s| s / n).collect::<Vec<_>>())
    }

    /// Loss and metrics over `x`, `y` in batches, in inference mode.
    #[track_caller]
    pub fn evaluate(
        &mut self,
        x: impl IntoTensors,
        y: impl IntoTensors,
        batch_size: usize,
    ) -> Logs {
        let (x, y) = (x.into_tensors(), y.into_tensors());
        check_lengths("evaluate", &x, &y, None);
        let n = x[0].dim(0);
        let batches: Vec<Batch> = (0..n.div_ceil(batch_size.max(1)))
            .map(|b| {
                let r = b * batch_size..((b + 1) * batch_size).min(n);
                (all_rows(&x, r.clone()), all_rows(&y, r), None)
            })
            .collect();
        self.evaluate_batches(batches.into_iter())
    }

    /// The model's output for `x`, in batches, in inference mode.
    ///
    /// # Panics
    /// For a model with several outputs (use [`predict_multi`](Self::predict_multi)).
    #[track_caller]
    pub fn predict(&self, x: impl IntoTensors, batch_size: usize) -> Tensor {
        let mut out = self.predict_multi(x, batch_size);
        if out.len() != 1 {
            panic!(
                "predict: the model has {} outputs; use predict_multi",
                out.len()
            );
        }
        out.pop().expect("one output")
    }

    /// The model's outputs for `x` (one tensor per output), in batches, in inference mode.
    pub fn predict_multi(&self, x: impl IntoTensors, batch_size: usize) -> Vec<Tensor> {
        let x = x.into_tensors();
        let n = x[0].dim(0);
        let parts: Vec<Vec<Tensor>> = without_recording(|| {
            (0..n.div_ceil(batch_size.max(1)))
                .map(|b| {
                    let r = b * batch_size..((b + 1) * batch_size).min(n);
                    self.model.forward_many(&all_rows(&x, r), false)
                })
                .collect()
        });
        (0..parts.first().map_or(0, Vec::len))
            .map(|o| {
                let refs: Vec<&Tensor> = parts.iter().map(|p| &p[o]).collect();
                Tensor::concat(&refs, 0)
            })
            .collect()
    }

    /// Trains on `x`, `y` (in-memory tensors, one per model input and output; samples along
    /// axis 0).
    ///
    /// # Panics
    /// Before training starts, when `x` and `y` (or the sample weights) differ in length, when
    /// `y` does not have one tensor per output, or when a loss does not accept its output and
    /// target (the message names the loss and both shapes).
    #[track_caller]
    pub fn fit(
        &mut self,
        x: impl IntoTensors,
        y: impl IntoTensors,
        mut options: FitOptions,
    ) -> History {
        let (x, y) = (x.into_tensors(), y.into_tensors());
        check_lengths("fit", &x, &y, options.sample_weight.as_ref());
        let n = x[0].dim(0);
        let (x, y, sw, validation) = if options.validation_split > 0.0 {
            let split = options.validation_split;
            assert!(
                split < 1.0,
                "fit: validation_split must be in [0, 1), got {split}"
            );
            let n_val = (n as f64 * split).round() as usize;
            let n_train = n - n_val;
            let val = (all_rows(&x, n_train..n), all_rows(&y, n_train..n));
            let sw = options.sample_weight.as_ref().map(|w| rows(w, 0..n_train));
            (
                all_rows(&x, 0..n_train),
                all_rows(&y, 0..n_train),
                sw,
                Some(val),
            )
        } else {
            (
                x,
                y,
                options.sample_weight.clone(),
                options.validation_data.take(),
            )
        };
        let sw = self.with_class_weight(&y, sw, options.class_weight.as_ref());
        let n = x[0].dim(0);
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
                (
                    x.iter().map(take).collect(),
                    y.iter().map(take).collect(),
                    sw.as_ref().map(take),
                )
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
        validation: Option<(Vec<Tensor>, Vec<Tensor>)>,
    ) -> History {
        let mut history = History::default();
        let mut progress = Progress::new(options.verbose, options.epochs, steps);
        let mut callbacks = std::mem::take(&mut options.callbacks);
        let mut stop = false;
        // The variable walks are cached so a step costs what the custom loop costs: the named
        // list for callbacks once the model is built (after the first step), the trainable
        // list once per epoch (a callback may freeze layers between epochs).
        let mut named: Option<Vec<(String, keen_tape::Variable)>> = None;
        with_context(self, &mut named, &mut stop, |ctx| {
            callbacks.iter_mut().for_each(|c| c.on_train_begin(ctx))
        });
        let mut built = false;
        for epoch in options.initial_epoch..options.epochs {
            let mut trainable = None;
            with_context(self, &mut named, &mut stop, |ctx| {
                callbacks
                    .iter_mut()
                    .for_each(|c| c.on_epoch_begin(epoch, ctx))
            });
            progress.epoch_begin(epoch);
            self.reset_metrics();
            let mut loss_sums = vec![0.0; self.output_names.len() + 1];
            let mut loss_count = 0.0;
            for (x, y, sw) in epoch_batches(epoch) {
                let (sums, count) = self.step(&x, &y, sw.as_ref(), &mut trainable);
                if !built {
                    // A lazily built model has its variables only now.
                    (named, built) = (None, true);
                }
                loss_sums.iter_mut().zip(&sums).for_each(|(a, s)| *a += s);
                loss_count += count;
                let logs = self.logs(&means(&loss_sums, loss_count));
                progress.batch_end(&logs);
                if !callbacks.is_empty() {
                    with_context(self, &mut named, &mut stop, |ctx| {
                        callbacks
                            .iter_mut()
                            .for_each(|c| c.on_train_batch_end(epoch, &logs, ctx))
                    });
                }
                if stop {
                    break;
                }
            }
            let mut logs = self.logs(&means(&loss_sums, loss_count.max(1.0)));
            if let Some((vx, vy)) = &validation {
                let val = self.evaluate(vx, vy, options.batch_size);
                for (n, v) in val.iter() {
                    logs.set(format!("val_{n}"), v);
                }
            }
            logs.set("learning_rate", self.optimizer.learning_rate());
            with_context(self, &mut named, &mut stop, |ctx| {
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
        with_context(self, &mut named, &mut stop, |ctx| {
            callbacks.iter_mut().for_each(|c| c.on_train_end(ctx))
        });
        options.callbacks = callbacks;
        history
    }

    /// The weighted total loss (a scalar tensor) and each output's loss value.
    fn losses_of(&self, y: &[Tensor], pred: &[Tensor], sw: Option<&Tensor>) -> (Tensor, Vec<f64>) {
        let mut total: Option<Tensor> = None;
        let mut each = Vec::with_capacity(pred.len());
        for (i, (y, p)) in y.iter().zip(pred).enumerate() {
            let l = self.loss(i).call_weighted(y, p, sw);
            each.push(l.to_f64_vec()[0]);
            let w = self.loss_weights[i];
            let term = if w == 1.0 { l } else { l.mul(w) };
            total = Some(match total {
                Some(t) => t.add(&term),
                None => term,
            });
        }
        (total.expect("at least one output"), each)
    }

    /// One training step; returns the total loss and each output's loss summed over the
    /// batch's samples, and their count, so that the epoch's losses are means over samples
    /// (as Keras reports them).
    ///
    /// `vars` caches the trainable variables between steps; it is filled after the forward
    /// pass, when a lazily built model has its variables.
    fn step(
        &mut self,
        x: &[Tensor],
        y: &[Tensor],
        sw: Option<&Tensor>,
        vars: &mut Option<Vec<keen_tape::Variable>>,
    ) -> (Vec<f64>, f64) {
        let tape = GradientTape::new();
        let pred = self.model.forward_many(x, true);
        let (loss, each) = self.losses_of(y, &pred, sw);
        let vars = vars.get_or_insert_with(|| self.model.trainable_variables());
        let grads = tape.gradient(&loss, vars);
        self.optimizer.apply_gradients(&grads, vars);
        for (o, m) in &mut self.metrics {
            m.update_state(&y[*o], &pred[*o], sw);
        }
        let n = x[0].dim(0) as f64;
        let mut sums = vec![loss.to_f64_vec()[0] * n];
        sums.extend(each.iter().map(|l| l * n));
        (sums, n)
    }

    fn evaluate_batches(&mut self, batches: impl Iterator<Item = Batch>) -> Logs {
        self.reset_metrics();
        let mut sums = vec![0.0; self.output_names.len() + 1];
        let mut count = 0.0;
        without_recording(|| {
            for (x, y, sw) in batches {
                let pred = self.model.forward_many(&x, false);
                let (total, each) = self.losses_of(&y, &pred, sw.as_ref());
                let n = x[0].dim(0) as f64;
                sums[0] += total.to_f64_vec()[0] * n;
                sums[1..]
                    .iter_mut()
                    .zip(&each)
                    .for_each(|(s, l)| *s += l * n);
                count += n;
                for (o, m) in &mut self.metrics {
                    m.update_state(&y[*o], &pred[*o], sw.as_ref());
                }
            }
        });
        self.logs(&means(&sums, count.max(1.0)))
    }

    /// `loss` (the total), each output's `<output>_loss` when there are several, the metrics.
    fn logs(&self, losses: &[f64]) -> Logs {
        let mut logs = Logs::new();
        logs.set("loss", losses[0]);
        if self.output_names.len() > 1 {
            for (name, l) in self.output_names.iter().zip(&losses[1..]) {
                logs.set(format!("{name}_loss"), *l);
            }
        }
        for (_, m) in &self.metrics {
            logs.set(m.name(), m.result());
        }
        logs
    }

    fn reset_metrics(&mut self) {
        self.metrics.iter_mut().for_each(|(_, m)| m.reset_state());
    }

    /// A forward pass and the losses on two samples, so that a model/loss/target mismatch
    /// fails before any training (Keras builds the model and checks the loss in `fit` too).
    #[track_caller]
    fn dry_run(&self, x: &[Tensor], y: &[Tensor]) {
        if x[0].dim(0) == 0 {
            panic!("fit: no training samples");
        }
        let k = x[0].dim(0).min(2);
        without_recording(|| {
            let pred = self.model.forward_many(&all_rows(x, 0..k), false);
            if pred.len() != y.len() {
                panic!(
                    "fit: the model has {} outputs but y has {} tensors",
                    pred.len(),
                    y.len()
                );
            }
            self.losses_of(&all_rows(y, 0..k), &pred, None);
        });
    }

    #[track_caller]
    fn with_class_weight(
        &self,
        y: &[Tensor],
        sw: Option<Tensor>,
        cw: Option<&BTreeMap<i64, f64>>,
    ) -> Option<Tensor> {
        let Some(cw) = cw else { return sw };
        if y.len() != 1 {
            panic!(
                "fit: class_weight needs a single output, the model has {}",
                y.len()
            );
        }
        let y = &y[0];
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

fn means(sums: &[f64], count: f64) -> Vec<f64> {
    sums.iter().map(|s| s / count).collect()
}

/// Runs `f` with the training context; `named` caches the model's named variables (reset it
/// while the model may still be unbuilt).
fn with_context<M: Layer, R>(
    c: &mut Compiled<M>,
    named: &mut Option<Vec<(String, keen_tape::Variable)>>,
    stop: &mut bool,
    f: impl FnOnce(&mut TrainContext<'_>) -> R,
) -> R {
    let variables = named.get_or_insert_with(|| c.model.named_variables());
    let mut ctx = TrainContext {
        variables,
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

/// Rows `r` of each tensor.
fn all_rows(ts: &[Tensor], r: std::ops::Range<usize>) -> Vec<Tensor> {
    ts.iter().map(|t| rows(t, r.clone())).collect()
}

#[track_caller]
fn check_lengths(op: &str, x: &[Tensor], y: &[Tensor], sw: Option<&Tensor>) {
    if x.is_empty() || y.is_empty() {
        panic!(
            "{op}: x and y need at least one tensor each, got {} and {}",
            x.len(),
            y.len()
        );
    }
    let n = |t: &Tensor| (t.rank() > 0).then(|| t.dim(0));
    for t in x.iter().chain(y) {
        if n(t).is_none() {
            panic!(
                "{op}: x and y need a sample axis, got a tensor of shape {}",
                t.shape()
            );
        }
    }
    let (x0, samples) = (&x[0], x[0].dim(0));
    for (what, ts) in [("x", x), ("y", y)] {
        for (i, t) in ts.iter().enumerate() {
            if t.dim(0) != samples {
                let which = if ts.len() == 1 {
                    what.to_string()
                } else {
                    format!("{what}[{i}]")
                };
                let first = if x.len() == 1 { "x" } else { "x[0]" };
                panic!(
                    "{op}: x and y have different numbers of samples: {first} {} has {samples}, {which} {} has {}",
                    x0.shape(),
                    t.shape(),
                    t.dim(0)
                );
            }
        }
    }
    if let Some(w) = sw
        && (w.rank() == 0 || w.dim(0) != samples)
    {
        panic!(
            "{op}: sample_weight {} does not have one weight per sample ({samples})",
            w.shape(),
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
        2 => (vec![tensor(0)], vec![tensor(1)], None),
        3 => (vec![tensor(0)], vec![tensor(1)], Some(tensor(2))),
        _ => panic!(
            "fit: dataset elements must be (x, y) or (x, y, sample_weight), got {}",
            e.describe()
        ),
    }
}
