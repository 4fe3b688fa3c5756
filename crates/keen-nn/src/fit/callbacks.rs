//! Callbacks: code that `fit` runs at the start and end of training, epochs and batches.

use super::{Logs, TrainContext};
use keen_tape::checkpoint::{self, TrainingState};
use keen_tensor::Tensor;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Hooks into `fit`. Every method has an empty default: implement the ones you need.
///
/// ```
/// use keen_nn::fit::{Callback, Logs, TrainContext};
///
/// /// Stops once the training loss is below a target.
/// struct StopBelow(f64);
///
/// impl Callback for StopBelow {
///     fn on_epoch_end(&mut self, _epoch: usize, logs: &Logs, ctx: &mut TrainContext<'_>) {
///         if logs["loss"] < self.0 {
///             ctx.stop_training = true;
///         }
///     }
/// }
/// ```
pub trait Callback {
    /// Before the first epoch.
    fn on_train_begin(&mut self, _ctx: &mut TrainContext<'_>) {}
    /// At the start of each epoch (0-based).
    fn on_epoch_begin(&mut self, _epoch: usize, _ctx: &mut TrainContext<'_>) {}
    /// After each training batch, with the running loss and metrics of the epoch.
    fn on_train_batch_end(&mut self, _epoch: usize, _logs: &Logs, _ctx: &mut TrainContext<'_>) {}
    /// After each epoch, with its loss, metrics and validation values.
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &Logs, _ctx: &mut TrainContext<'_>) {}
    /// After the last epoch.
    fn on_train_end(&mut self, _ctx: &mut TrainContext<'_>) {}
}

/// Whether a monitored value improves by going down or up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Down for losses and errors, up for accuracies, AUC, precision and recall (Keras).
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

/// A monitored value and its best so far.
#[derive(Clone, Debug)]
struct Monitor {
    name: String,
    min_delta: f64,
    higher_is_better: bool,
    best: Option<f64>,
}

impl Monitor {
    fn new(name: &str, mode: Mode, min_delta: f64) -> Self {
        let higher_is_better = match mode {
            Mode::Max => true,
            Mode::Min => false,
            Mode::Auto => ["acc", "auc", "precision", "recall"]
                .iter()
                .any(|k| name.contains(k)),
        };
        Monitor {
            name: name.to_string(),
            min_delta: min_delta.abs(),
            higher_is_better,
            best: None,
        }
    }

    /// The monitored value in `logs`; a missing one is an error naming what was logged.
    #[track_caller]
    fn value(&self, who: &str, logs: &Logs) -> f64 {
        logs.get(&self.name).unwrap_or_else(|| {
            panic!(
                "{who}: monitors `{}`, which is not logged; logged: {}",
                self.name,
                logs.iter().map(|(n, _)| n).collect::<Vec<_>>().join(", ")
            )
        })
    }

    /// Whether `v` beats the best by more than `min_delta`; records it if so.
    fn improved(&mut self, v: f64) -> bool {
        let better = match self.best {
            None => !v.is_nan(),
            Some(b) if self.higher_is_better => v - self.min_delta > b,
            Some(b) => v + self.min_delta < b,
        };
        if better {
            self.best = Some(v);
        }
        better
    }
}

/// Stops training when a monitored value has stopped improving (Keras' `EarlyStopping`).
pub struct EarlyStopping {
    monitor: Monitor,
    patience: usize,
    restore_best_weights: bool,
    wait: usize,
    best_weights: Option<BTreeMap<String, Tensor>>,
    best_epoch: Option<usize>,
    stopped_epoch: Option<usize>,
}

impl EarlyStopping {
    /// Monitors `val_loss` with patience 0 (Keras' defaults).
    pub fn new() -> Self {
        EarlyStopping {
            monitor: Monitor::new("val_loss", Mode::Auto, 0.0),
            patience: 0,
            restore_best_weights: false,
            wait: 0,
            best_weights: None,
            best_epoch: None,
            stopped_epoch: None,
        }
    }
    /// The logged value to watch.
    pub fn monitor(mut self, name: &str) -> Self {
        self.monitor = Monitor::new(name, Mode::Auto, self.monitor.min_delta);
        self
    }
    /// Whether lower or higher is better.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.monitor = Monitor::new(&self.monitor.name, mode, self.monitor.min_delta);
        self
    }
    /// The smallest change that counts as an improvement.
    pub fn min_delta(mut self, d: f64) -> Self {
        self.monitor.min_delta = d.abs();
        self
    }
    /// How many epochs in a row without improvement stop training (Keras: after the
    /// `patience`-th such epoch; 0 acts as 1).
    pub fn patience(mut self, n: usize) -> Self {
        self.patience = n;
        self
    }
    /// Whether to put back the weights of the best epoch when stopping.
    pub fn restore_best_weights(mut self, yes: bool) -> Self {
        self.restore_best_weights = yes;
        self
    }
    /// The epoch training stopped after, if it stopped early.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }
    /// The epoch with the best monitored value.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }
}

impl Default for EarlyStopping {
    fn default() -> Self {
        Self::new()
    }
}

fn snapshot(ctx: &TrainContext<'_>) -> BTreeMap<String, Tensor> {
    ctx.variables
        .iter()
        .map(|(p, v)| (p.clone(), v.value_unwatched()))
        .collect()
}

fn restore(ctx: &TrainContext<'_>, values: &BTreeMap<String, Tensor>) {
    for (p, v) in ctx.variables {
        if let Some(t) = values.get(p) {
            v.assign(t);
        }
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _ctx: &mut TrainContext<'_>) {
        self.wait = 0;
        self.monitor.best = None;
        self.best_weights = None;
        self.stopped_epoch = None;
    }

    #[track_caller]
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, ctx: &mut TrainContext<'_>) {
        let v = self.monitor.value("EarlyStopping", logs);
        if self.monitor.improved(v) {
            self.wait = 0;
            self.best_epoch = Some(epoch);
            if self.restore_best_weights {
                self.best_weights = Some(snapshot(ctx));
            }
            return;
        }
        self.wait += 1;
        // Keras stops once `patience` epochs in a row brought no improvement (so patience 2
        // ends a run two epochs after its best one; 0 and 1 both stop at the first miss).
        if self.wait >= self.patience {
            ctx.stop_training = true;
            self.stopped_epoch = Some(epoch);
            if let Some(best) = &self.best_weights {
                restore(ctx, best);
            }
        }
    }
}

/// Saves the model's weights after epochs (Keras' `ModelCheckpoint`), as a safetensors file
/// keyed by variable path, written atomically (a crash mid-save keeps the previous file).
///
/// The path may contain `{epoch}` (1-based, as Keras), e.g. `"ckpt/weights-{epoch}.safetensors"`.
pub struct ModelCheckpoint {
    path: String,
    monitor: Monitor,
    save_best_only: bool,
    saved: Vec<PathBuf>,
}

impl ModelCheckpoint {
    /// Saves after every epoch to `path`.
    pub fn new(path: impl Into<String>) -> Self {
        ModelCheckpoint {
            path: path.into(),
            monitor: Monitor::new("val_loss", Mode::Auto, 0.0),
            save_best_only: false,
            saved: Vec::new(),
        }
    }
    /// The value that decides "best" (default `val_loss`).
    pub fn monitor(mut self, name: &str) -> Self {
        self.monitor = Monitor::new(name, Mode::Auto, 0.0);
        self
    }
    /// Whether lower or higher is better.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.monitor = Monitor::new(&self.monitor.name, mode, 0.0);
        self
    }
    /// Only save when the monitored value improved.
    pub fn save_best_only(mut self, yes: bool) -> Self {
        self.save_best_only = yes;
        self
    }
    /// The files written so far, in order.
    pub fn saved(&self) -> &[PathBuf] {
        &self.saved
    }
}

impl Callback for ModelCheckpoint {
    #[track_caller]
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, ctx: &mut TrainContext<'_>) {
        if self.save_best_only {
            let v = self.monitor.value("ModelCheckpoint", logs);
            if !self.monitor.improved(v) {
                return;
            }
        }
        let path = PathBuf::from(self.path.replace("{epoch}", &(epoch + 1).to_string()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| {
                panic!("ModelCheckpoint: cannot create {}: {e}", dir.display())
            });
        }
        let values = snapshot(ctx);
        let named: Vec<(&str, &Tensor)> = values.iter().map(|(p, t)| (p.as_str(), t)).collect();
        checkpoint::save_safetensors(&path, &named)
            .unwrap_or_else(|e| panic!("ModelCheckpoint: {e}"));
        self.saved.push(path);
    }
}

/// The key under which [`BackupAndRestore`] keeps the number of finished epochs.
const EPOCH_KEY: &str = "fit/epochs_done";

/// Saves the whole training state (weights, optimizer slots and step, epochs done) after
/// every epoch, so that an interrupted `fit` resumes where it stopped (Keras'
/// `BackupAndRestore`). Pass the epoch from [`BackupAndRestore::restore`] as `initial_epoch`.
pub struct BackupAndRestore {
    dir: PathBuf,
}

impl BackupAndRestore {
    /// Backs up into `dir` (created when needed).
    pub fn new(dir: impl AsRef<Path>) -> Self {
        BackupAndRestore {
            dir: dir.as_ref().to_path_buf(),
        }
    }

    /// Loads the latest backup in `dir` into the model's variables and the optimizer, and
    /// returns the number of finished epochs (0 when there is no backup).
    ///
    /// # Errors
    /// A corrupt or truncated backup, or one that does not fit the model.
    pub fn restore<M: crate::Layer>(
        dir: impl AsRef<Path>,
        model: &mut super::Compiled<M>,
    ) -> Result<usize, Box<dyn std::error::Error>> {
        let Some(path) = checkpoint::latest_checkpoint(dir) else {
            return Ok(0);
        };
        let state = checkpoint::load_state(&path)?;
        let variables = model.model().named_variables();
        // Check every variable before assigning any, so a backup that does not fit changes
        // nothing.
        for (p, v) in &variables {
            let Some(t) = state.variables.get(p) else {
                return Err(format!("{}: no value for `{p}`", path.display()).into());
            };
            if *t.shape() != v.shape() || t.dtype() != v.dtype() {
                return Err(format!(
                    "{}: `{p}` is {} {} in the backup but {} {} in the model",
                    path.display(),
                    t.shape(),
                    t.dtype(),
                    v.shape(),
                    v.dtype()
                )
                .into());
            }
        }
        for (p, v) in &variables {
            v.assign(&state.variables[p]);
        }
        let mut slots = state.slots.clone();
        let epochs = slots
            .remove(EPOCH_KEY)
            .map(|t| t.to_f64_vec()[0] as usize)
            .unwrap_or(0);
        let opt_state = keen_optim::OptimizerState::from_named_tensors(&slots)?;
        model.optimizer().load_state(&opt_state)?;
        Ok(epochs)
    }
}

impl Callback for BackupAndRestore {
    #[track_caller]
    fn on_epoch_end(&mut self, epoch: usize, _logs: &Logs, ctx: &mut TrainContext<'_>) {
        let mut slots = ctx.optimizer.state().to_named_tensors();
        slots.insert(EPOCH_KEY.into(), Tensor::scalar((epoch + 1) as i64));
        let state = TrainingState {
            step: ctx.optimizer.iterations(),
            variables: snapshot(ctx),
            slots,
        };
        checkpoint::save_checkpoint(&self.dir, &state)
            .unwrap_or_else(|e| panic!("BackupAndRestore: {e}"));
    }
}

/// Multiplies the learning rate by `factor` when a monitored value stops improving (Keras'
/// `ReduceLROnPlateau`).
pub struct ReduceLrOnPlateau {
    monitor: Monitor,
    factor: f64,
    patience: usize,
    cooldown: usize,
    min_lr: f64,
    wait: usize,
    cooldown_left: usize,
}

impl ReduceLrOnPlateau {
    /// Keras' defaults: `val_loss`, factor 0.1, patience 10, min_delta 1e-4.
    pub fn new() -> Self {
        ReduceLrOnPlateau {
            monitor: Monitor::new("val_loss", Mode::Auto, 1e-4),
            factor: 0.1,
            patience: 10,
            cooldown: 0,
            min_lr: 0.0,
            wait: 0,
            cooldown_left: 0,
        }
    }
    /// The logged value to watch.
    pub fn monitor(mut self, name: &str) -> Self {
        self.monitor = Monitor::new(name, Mode::Auto, self.monitor.min_delta);
        self
    }
    /// The multiplier (below 1).
    pub fn factor(mut self, f: f64) -> Self {
        assert!(
            f < 1.0,
            "ReduceLrOnPlateau: factor must be below 1, got {f}"
        );
        self.factor = f;
        self
    }
    /// Epochs without improvement before reducing.
    pub fn patience(mut self, n: usize) -> Self {
        self.patience = n;
        self
    }
    /// Epochs to wait after a reduction before counting again.
    pub fn cooldown(mut self, n: usize) -> Self {
        self.cooldown = n;
        self
    }
    /// The learning rate never goes below this.
    pub fn min_lr(mut self, lr: f64) -> Self {
        self.min_lr = lr;
        self
    }
    /// The smallest change that counts as an improvement.
    pub fn min_delta(mut self, d: f64) -> Self {
        self.monitor.min_delta = d.abs();
        self
    }
}

impl Default for ReduceLrOnPlateau {
    fn default() -> Self {
        Self::new()
    }
}

impl Callback for ReduceLrOnPlateau {
    #[track_caller]
    fn on_epoch_end(&mut self, _epoch: usize, logs: &Logs, ctx: &mut TrainContext<'_>) {
        let v = self.monitor.value("ReduceLrOnPlateau", logs);
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.wait = 0;
        }
        if self.monitor.improved(v) {
            self.wait = 0;
        } else if self.cooldown_left == 0 {
            self.wait += 1;
            if self.wait >= self.patience {
                let lr = ctx.optimizer.learning_rate();
                let new = (lr * self.factor).max(self.min_lr);
                if new < lr {
                    ctx.optimizer.set_learning_rate(new);
                    self.cooldown_left = self.cooldown;
                }
                self.wait = 0;
            }
        }
    }
}

/// Sets the learning rate at the start of each epoch from `f(epoch, current_lr)` (Keras'
/// `LearningRateScheduler`).
pub struct LearningRateScheduler<F>(pub F);

impl<F: FnMut(usize, f64) -> f64> Callback for LearningRateScheduler<F> {
    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut TrainContext<'_>) {
        let lr = (self.0)(epoch, ctx.optimizer.learning_rate());
        ctx.optimizer.set_learning_rate(lr);
    }
}

/// Appends each epoch's logs to a CSV file (Keras' `CSVLogger`): a header `epoch,loss,...`,
/// then one row per epoch, flushed after each.
pub struct CsvLogger {
    path: PathBuf,
    append: bool,
    file: Option<std::fs::File>,
    columns: Vec<String>,
}

impl CsvLogger {
    /// Logs to `path`, replacing it.
    pub fn new(path: impl AsRef<Path>) -> Self {
        CsvLogger {
            path: path.as_ref().to_path_buf(),
            append: false,
            file: None,
            columns: Vec::new(),
        }
    }
    /// Appends to an existing file instead (for resumed runs).
    pub fn append(mut self, yes: bool) -> Self {
        self.append = yes;
        self
    }
}

impl Callback for CsvLogger {
    #[track_caller]
    fn on_train_begin(&mut self, _ctx: &mut TrainContext<'_>) {
        let existing = self.append && self.path.exists();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(self.append)
            .truncate(!self.append)
            .open(&self.path)
            .unwrap_or_else(|e| panic!("CsvLogger: cannot open {}: {e}", self.path.display()));
        self.file = Some(file);
        self.columns.clear();
        if existing {
            // Keep the columns of the file being continued.
            if let Ok(text) = std::fs::read_to_string(&self.path)
                && let Some(header) = text.lines().next()
            {
                self.columns = header.split(',').skip(1).map(String::from).collect();
            }
        }
    }

    #[track_caller]
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, _ctx: &mut TrainContext<'_>) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let write = |file: &mut std::fs::File, line: String| {
            file.write_all(line.as_bytes())
                .and_then(|_| file.flush())
                .unwrap_or_else(|e| {
                    panic!("CsvLogger: writing {} failed: {e}", self.path.display())
                });
        };
        if self.columns.is_empty() {
            self.columns = logs.iter().map(|(n, _)| n.to_string()).collect();
            write(file, format!("epoch,{}\n", self.columns.join(",")));
        }
        let row: Vec<String> = self
            .columns
            .iter()
            .map(|c| logs.get(c).map_or(String::new(), |v| v.to_string()))
            .collect();
        write(file, format!("{epoch},{}\n", row.join(",")));
    }

    fn on_train_end(&mut self, _ctx: &mut TrainContext<'_>) {
        self.file = None;
    }
}

/// Stops training as soon as the loss becomes NaN or infinite (Keras' `TerminateOnNaN`).
#[derive(Default)]
pub struct TerminateOnNaN;

impl Callback for TerminateOnNaN {
    fn on_train_batch_end(&mut self, epoch: usize, logs: &Logs, ctx: &mut TrainContext<'_>) {
        if logs.get("loss").is_some_and(|l| !l.is_finite()) {
            eprintln!("epoch {}: invalid loss, terminating training", epoch + 1);
            ctx.stop_training = true;
        }
    }
}
