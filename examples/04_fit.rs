//! The eager guide's small regression, trained twice: with a custom loop (a tape,
//! `gradient`, `apply_gradients`, a step counter) and with `compile`/`fit`; then a checkpoint
//! saved, restored into a fresh model, and checked. `fit` also logs its epochs for
//! TensorBoard (`tensorboard --logdir out/04_fit/logs`).
//!
//! The R guide predicts iris' sepal width from three other measurements; here the three
//! inputs and the target come from a fixed linear rule plus noise, so the example needs no
//! download and the fitted error can be compared with the noise level.
//!
//! ```text
//! cargo run --release -p keen --example 04_fit
//! ```

use keen::fit::TensorBoard;
use keen::losses::{Loss, MeanSquaredError};
use keen::prelude::*;
use keen::tensor::random::Generator;

/// `Dense(32) → Dropout(0.5) → Dense(1)`, as the guide's `keras_model_custom`.
#[derive(Module)]
struct Regressor {
    hidden: Dense,
    dropout: Dropout,
    out: Dense,
}

impl Regressor {
    fn new() -> Self {
        Regressor {
            hidden: Dense::new(32),
            dropout: Dropout::new(0.5),
            out: Dense::new(1),
        }
    }

    fn call(&self, x: &Tensor, training: bool) -> Tensor {
        self.out
            .call(&self.dropout.call(&self.hidden.call(x), training))
    }
}

// `fit` trains anything that implements `Layer`.
impl Layer for Regressor {
    fn forward(&self, x: &Tensor, training: bool) -> Tensor {
        self.call(x, training)
    }
    fn type_name(&self) -> &'static str {
        "regressor"
    }
}

/// 150 rows of three measurements and a target `0.5·a - 0.3·b + 0.8·c + 1 + noise(0.1)`.
fn data() -> (Tensor, Tensor) {
    let mut g = Generator::new(2018);
    let x = Tensor::random_uniform_with([150, 3], 0.0, 3.0, DType::Float32, &mut g);
    let w = Tensor::from([[0.5f32], [-0.3], [0.8]]);
    let noise = Tensor::random_normal_with([150, 1], 0.0, 0.1, DType::Float32, &mut g);
    let y = x.matmul(&w).add(1.0).add(&noise);
    (x, y)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    keen::tensor::random::set_seed(1);
    let (x, y) = data();
    // Rows 1–120 train, 121–150 test, as the guide.
    let (x_train, y_train) = (x.narrow(0, 0, 120), y.narrow(0, 0, 120));
    let (x_test, y_test) = (x.narrow(0, 120, 30), y.narrow(0, 120, 30));

    // Layers build on the first call: a dummy batch shows the untrained outputs.
    let model = Regressor::new();
    println!(
        "untrained: {}",
        model.call(&Tensor::from([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]), false)
    );

    // ---- the custom loop ----
    let train = Dataset::from_tensor_slices((x_train.clone(), y_train.clone()))?.batch(10, false);
    let mse = MeanSquaredError::new();
    let mut optimizer = Adam::new(0.01);
    for epoch in 0..30 {
        let mut total = 0.0;
        let mut batches = 0;
        for batch in &train {
            let (xb, yb) = batch?.pair()?;
            let tape = GradientTape::new();
            let loss = mse.call(&yb, &model.call(&xb, true));
            let vars = model.trainable_variables();
            let grads = tape.gradient(&loss, &vars);
            optimizer.apply_gradients(&grads, &vars);
            total += loss.item::<f32>() as f64;
            batches += 1;
        }
        if epoch % 10 == 9 {
            println!(
                "custom loop: epoch {:>2}, step {:>3}, loss {:.4}",
                epoch + 1,
                optimizer.iterations(),
                total / batches as f64
            );
        }
    }
    let test_loss = mse.call(&y_test, &model.call(&x_test, false));
    println!("custom loop: test mse {:.4}", test_loss.item::<f32>());

    // ---- the same with compile / fit ----
    let mut fitted = Regressor::new()
        .compile(Adam::new(0.01), MeanSquaredError::new())
        .metrics(["mae"]);
    let history = fitted.fit(
        &x_train,
        &y_train,
        FitOptions::new()
            .epochs(30)
            .batch_size(10)
            .validation_data(&x_test, &y_test)
            .callback(TensorBoard::new("out/04_fit/logs"))
            .verbose(Verbosity::Line),
    );
    println!(
        "fit: final loss {:.4}, val_mae {:.4}",
        history.last("loss").unwrap(),
        history.last("val_mae").unwrap()
    );
    std::fs::create_dir_all("out/04_fit")?;
    history.plot("out/04_fit/history.png")?;
    println!("loss and mae curves: out/04_fit/history.png");
    println!("TensorBoard scalars: tensorboard --logdir out/04_fit/logs");
    println!(
        "predictions: {}",
        fitted.predict(&x_test.narrow(0, 0, 5), 5).reshape([-1])
    );
    println!("targets:     {}", y_test.narrow(0, 0, 5).reshape([-1]));

    // ---- checkpoint: save, restore into a fresh model, compare ----
    let dir = std::env::temp_dir().join("keen-04-fit");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("regressor.safetensors");
    fitted.model().save_weights(&path)?;
    let restored = Regressor::new();
    restored.call(&x_test, false); // build, then overwrite the fresh weights
    restored.load_weights(&path)?;
    let a = fitted.predict(&x_test, 30);
    let b = restored.call(&x_test, false);
    assert_eq!(a.to_vec::<f32>(), b.to_vec::<f32>());
    println!(
        "restored from {}: identical predictions on the test rows",
        path.display()
    );
    Ok(())
}
