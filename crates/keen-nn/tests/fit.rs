//! compile / fit / evaluate / predict and the callbacks.

use keen_nn::fit::{
    BackupAndRestore, Callback, CsvLogger, EarlyStopping, Logs, ModelCheckpoint, TerminateOnNaN,
    TrainContext,
};
use keen_nn::losses::{MeanSquaredError, SparseCategoricalCrossentropy};
use keen_nn::prelude::*;
use keen_optim::{Adam, Sgd};
use keen_tape::Variable;
use keen_tensor::random::Generator;
use keen_tensor::{DType, Tensor};

/// Two interleaved half-moons-like classes: label 1 when x0·x1 > 0 (XOR of signs).
fn xor_data(n: usize, seed: u64) -> (Tensor, Tensor) {
    let mut g = Generator::new(seed);
    let x = Tensor::random_uniform_with([n, 2], -1.0, 1.0, DType::Float32, &mut g);
    let prod = x.narrow(1, 0, 1).mul(&x.narrow(1, 1, 1)).reshape([-1]);
    let y = prod.gt(0.0).cast(DType::Int64);
    (x, y)
}

fn classifier() -> Sequential {
    Sequential::new()
        .add(Dense::new(32).activation(Activation::Relu))
        .add(Dense::new(32).activation(Activation::Relu))
        .add(Dense::new(2))
}

#[test]
fn fit_reaches_the_stated_accuracy() {
    keen_tensor::random::set_seed(1);
    let (x, y) = xor_data(1024, 3);
    let (xt, yt) = xor_data(512, 4);
    let mut model = classifier()
        .compile(
            Adam::new(0.01),
            SparseCategoricalCrossentropy::new().from_logits(true),
        )
        .metrics(["accuracy"]);
    let history = model.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(30)
            .batch_size(32)
            .validation_split(0.2)
            .seed(7)
            .verbose(Verbosity::Silent),
    );
    assert_eq!(history.epochs, (0..30).collect::<Vec<_>>());
    let loss = history.get("loss").unwrap();
    assert!(loss[29] < loss[0] * 0.5, "loss should fall: {loss:?}");
    assert!(history.get("val_accuracy").is_some());
    let logs = model.evaluate(&xt, &yt, 128);
    assert!(
        logs["accuracy"] >= 0.93,
        "held-out accuracy {}",
        logs["accuracy"]
    );
    let p = model.predict(&xt, 100);
    assert_eq!(p.dims(), [512, 2]);
}

#[test]
fn the_epoch_loss_is_the_mean_over_samples_and_train_on_batch_steps_once() {
    let x = Tensor::from([[1.0f64], [2.0], [3.0]]);
    let y = Tensor::from([[2.0f64], [4.0], [6.0]]);
    let model = Sequential::new().add(Dense::new(1).use_bias(false));
    let mut model = model.compile(Sgd::new(0.0), MeanSquaredError::new());
    let logs = model.train_on_batch(&x, &y);
    let w = model.model().trainable_variables()[0].value().to_f64_vec()[0];
    let want: f64 = [1.0, 2.0, 3.0]
        .iter()
        .map(|v| (v * w - 2.0 * v).powi(2))
        .sum::<f64>()
        / 3.0;
    assert!((logs["loss"] - want).abs() < 1e-9);
    assert_eq!(model.optimizer().iterations(), 1);
    // Batches of 2 and 1: the epoch loss weighs samples, not batches.
    let h = model.fit(
        &x,
        &y,
        FitOptions::new()
            .batch_size(2)
            .shuffle(false)
            .verbose(Verbosity::Silent),
    );
    assert!((h.last("loss").unwrap() - want).abs() < 1e-9);
}

#[test]
fn early_stopping_stops_and_restores_the_best_weights() {
    let w = Variable::new("w", Tensor::from([0.0f32]));
    let mut opt = Sgd::new(0.1);
    let mut es = EarlyStopping::new()
        .monitor("loss")
        .patience(1)
        .restore_best_weights(true);
    let mut ctx = TrainContext {
        variables: &[("w".into(), w.clone())],
        optimizer: &mut opt,
        stop_training: false,
    };
    es.on_train_begin(&mut ctx);
    for (epoch, loss) in [1.0, 0.5, 0.7, 0.8].into_iter().enumerate() {
        w.assign(&Tensor::from([epoch as f32]));
        let mut logs = Logs::new();
        logs.set("loss", loss);
        es.on_epoch_end(epoch, &logs, &mut ctx);
        // Patience 1: the first epoch without improvement (epoch 2) ends training, as Keras.
        assert_eq!(ctx.stop_training, epoch == 2, "epoch {epoch}");
        if ctx.stop_training {
            break;
        }
    }
    assert_eq!(es.stopped_epoch(), Some(2));
    assert_eq!(es.best_epoch(), Some(1));
    assert_eq!(w.value().to_vec::<f32>(), [1.0]);
}

#[test]
fn early_stopping_ends_fit() {
    let (x, y) = xor_data(64, 1);
    let mut model = classifier().compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::new().from_logits(true),
    );
    // Nothing counts as an improvement after the first epoch.
    let es = EarlyStopping::new()
        .monitor("loss")
        .min_delta(1e9)
        .patience(2);
    let h = model.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(50)
            .callback(es)
            .verbose(Verbosity::Silent),
    );
    // Patience 2: epochs 1 and 2 bring no improvement, so training ends after epoch 2 (Keras
    // runs the same three epochs).
    assert_eq!(h.epochs, [0, 1, 2]);
}

#[test]
fn a_checkpoint_is_written_per_epoch_and_loads_back() {
    let dir = tempdir("ckpt");
    let (x, y) = xor_data(64, 2);
    let mut model = classifier().compile(
        Adam::new(1e-2),
        SparseCategoricalCrossentropy::new().from_logits(true),
    );
    let pattern = dir.join("weights-{epoch}.safetensors");
    let cb = ModelCheckpoint::new(pattern.to_str().unwrap())
        .monitor("loss")
        .save_best_only(true);
    model.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(3)
            .callback(cb)
            .verbose(Verbosity::Silent),
    );
    let last = dir.join("weights-3.safetensors");
    assert!(
        last.exists(),
        "{:?}",
        std::fs::read_dir(&dir).unwrap().collect::<Vec<_>>()
    );
    // No temporary files are left behind by the atomic writes.
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(
            name.starts_with("weights-") && name.ends_with(".safetensors"),
            "{name}"
        );
    }
    let saved = keen_tape::checkpoint::load_safetensors(&last).unwrap();
    for (path, v) in model.model().named_variables() {
        assert_eq!(
            saved[&path].to_vec::<f32>(),
            v.value().to_vec::<f32>(),
            "{path}"
        );
    }
    assert_eq!(saved.len(), 6);
}

#[test]
fn an_interrupted_fit_resumes_on_the_same_trajectory() {
    let (x, y) = xor_data(96, 5);
    let loss = || SparseCategoricalCrossentropy::new().from_logits(true);
    let options = || {
        FitOptions::new()
            .batch_size(16)
            .seed(3)
            .verbose(Verbosity::Silent)
    };

    keen_tensor::random::set_seed(11);
    let mut straight = classifier().compile(Adam::new(1e-2), loss());
    straight.fit(&x, &y, options().epochs(4));

    let dir = tempdir("backup");
    keen_tensor::random::set_seed(11);
    let mut first = classifier().compile(Adam::new(1e-2), loss());
    first.fit(
        &x,
        &y,
        options().epochs(2).callback(BackupAndRestore::new(&dir)),
    );

    // A new process: a fresh model (other initial weights), a fresh optimizer.
    keen_tensor::random::set_seed(99);
    let mut resumed = classifier().compile(Adam::new(1e-2), loss());
    resumed.predict(&x.narrow(0, 0, 1), 1); // builds the layers
    let done = BackupAndRestore::restore(&dir, &mut resumed).unwrap();
    assert_eq!(done, 2);
    assert_eq!(resumed.optimizer().iterations(), 12);
    resumed.fit(&x, &y, options().epochs(4).initial_epoch(done));

    for ((p, a), (_, b)) in straight
        .model()
        .named_variables()
        .iter()
        .zip(resumed.model().named_variables())
    {
        assert_eq!(a.value().to_vec::<f32>(), b.value().to_vec::<f32>(), "{p}");
    }
}

#[test]
fn a_corrupt_backup_is_an_error() {
    let dir = tempdir("corrupt");
    std::fs::write(dir.join("ckpt-5.keen"), b"not a checkpoint").unwrap();
    let mut model = classifier().compile(Adam::new(1e-2), MeanSquaredError::new());
    assert!(BackupAndRestore::restore(&dir, &mut model).is_err());
}

#[test]
fn csv_logger_and_terminate_on_nan() {
    let dir = tempdir("csv");
    let (x, y) = xor_data(32, 6);
    let mut model = classifier()
        .compile(
            Adam::new(1e-2),
            SparseCategoricalCrossentropy::new().from_logits(true),
        )
        .metrics(["accuracy"]);
    let csv = dir.join("log.csv");
    model.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(2)
            .callback(CsvLogger::new(&csv))
            .verbose(Verbosity::Silent),
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "epoch,loss,accuracy,learning_rate");
    assert_eq!(lines.len(), 3);
    assert!(lines[2].starts_with("1,"));

    let huge = x.mul(1e30);
    let mut model = Sequential::new()
        .add(Dense::new(1))
        .compile(Sgd::new(1e10), MeanSquaredError::new());
    let h = model.fit(
        &huge,
        &y.cast(DType::Float32).reshape([-1, 1]),
        FitOptions::new()
            .epochs(5)
            .callback(TerminateOnNaN)
            .verbose(Verbosity::Silent),
    );
    assert_eq!(h.epochs.len(), 1);
}

#[test]
fn class_weights_scale_the_loss() {
    let x = Tensor::from([[0.0f32], [0.0]]);
    let y = Tensor::from([0i64, 1]);
    let mut plain = Sequential::new().add(Dense::new(2)).compile(
        Sgd::new(0.0),
        SparseCategoricalCrossentropy::new().from_logits(true),
    );
    plain.predict(&x, 2);
    let h1 = plain.fit(&x, &y, FitOptions::new().verbose(Verbosity::Silent));
    let h2 = plain.fit(
        &x,
        &y,
        FitOptions::new()
            .class_weight([(0, 0.0), (1, 3.0)])
            .verbose(Verbosity::Silent),
    );
    // Zero input: both logits are the bias (zeros), so each sample's loss is ln 2.
    assert!((h1.last("loss").unwrap() - 2f64.ln()).abs() < 1e-6);
    assert!((h2.last("loss").unwrap() - 1.5 * 2f64.ln()).abs() < 1e-6);
}

#[test]
#[should_panic(
    expected = "fit: x and y have different numbers of samples: x (10, 2) has 10, y (9,) has 9"
)]
fn x_and_y_of_different_lengths_are_an_error() {
    let mut m = classifier().compile(Adam::new(1e-3), MeanSquaredError::new());
    m.fit(
        &Tensor::zeros([10, 2], DType::Float32),
        &Tensor::zeros([9], DType::Int64),
        FitOptions::new(),
    );
}

#[test]
#[should_panic(
    expected = "sparse_categorical_crossentropy: labels must be integer class ids, got a bool tensor"
)]
fn a_wrong_label_dtype_is_an_error_before_training() {
    let mut m = classifier().compile(Adam::new(1e-3), SparseCategoricalCrossentropy::new());
    m.fit(
        &Tensor::zeros([10, 2], DType::Float32),
        &Tensor::zeros([10], DType::Bool),
        FitOptions::new(),
    );
}

#[test]
fn a_loss_that_does_not_match_the_output_fails_before_any_step() {
    let mut m = classifier().compile(Adam::new(1e-3), MeanSquaredError::new());
    let x = Tensor::zeros([10, 2], DType::Float32);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        m.fit(
            &x,
            &Tensor::zeros([10, 3], DType::Float32),
            FitOptions::new().verbose(Verbosity::Silent),
        );
    }));
    let msg = r.unwrap_err().downcast::<String>().unwrap();
    assert!(
        msg.contains(
            "mean_squared_error: y_true of shape (2, 3) does not match y_pred of shape (2, 2)"
        ),
        "{msg}"
    );
    assert_eq!(m.optimizer().iterations(), 0);
}

#[test]
fn fit_on_a_dataset() {
    let (x, y) = xor_data(128, 8);
    let ds = keen_data::Dataset::from_tensor_slices((x.clone(), y.clone()))
        .unwrap()
        .shuffle(128, 1)
        .batch(32, false);
    let mut m = classifier()
        .compile(
            Adam::new(1e-2),
            SparseCategoricalCrossentropy::new().from_logits(true),
        )
        .metrics(["accuracy"]);
    let h = m.fit_dataset(
        &ds,
        FitOptions::new()
            .epochs(3)
            .validation_data(&x, &y)
            .verbose(Verbosity::Silent),
    );
    assert_eq!(h.epochs.len(), 3);
    assert_eq!(m.optimizer().iterations(), 12);
    assert!(h.get("val_loss").is_some());
}

/// A user callback sees every epoch.
#[test]
fn user_callbacks_run() {
    struct Count(std::rc::Rc<std::cell::Cell<usize>>);
    impl Callback for Count {
        fn on_epoch_end(&mut self, _e: usize, _l: &Logs, _c: &mut TrainContext<'_>) {
            self.0.set(self.0.get() + 1);
        }
    }
    let n = std::rc::Rc::new(std::cell::Cell::new(0));
    let (x, y) = xor_data(16, 9);
    let mut m = classifier().compile(
        Adam::new(1e-3),
        SparseCategoricalCrossentropy::new().from_logits(true),
    );
    m.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(3)
            .callback(Count(n.clone()))
            .verbose(Verbosity::Silent),
    );
    assert_eq!(n.get(), 3);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("keen-fit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
