//! Losses and metrics against Keras 3 (fixtures/losses.json, made by fixtures/gen_losses.py):
//! values and gradients (float64 inputs; Keras 3's loss objects reduce in float32 on the torch
//! backend, hence the 1e-6 tolerance), metric results after each of two batches.

use keen_nn::losses::{self, Loss, Reduction};
use keen_nn::metrics::{self, Metric};
use keen_tape::{gradcheck, GradientTape};
use keen_tensor::{DType, Tensor};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/losses.json")).expect("losses.json parses")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn dims(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("shape")
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn tensor(data: &Value, shape: &Value) -> Tensor {
    Tensor::from_vec(floats(data), dims(shape))
}

fn loss_for(name: &str) -> Box<dyn Loss> {
    let parts: Vec<&str> = name.split('/').collect();
    let reduction = match parts.get(1).copied() {
        Some("sum") => Reduction::Sum,
        Some("none") => Reduction::None,
        Some("mean_with_sample_weight") => Reduction::MeanWithSampleWeight,
        _ => Reduction::SumOverBatchSize,
    };
    let logits = parts.contains(&"logits");
    match parts[0] {
        "mse" => Box::new(losses::MeanSquaredError::new().reduction(reduction)),
        "mae" => Box::new(losses::MeanAbsoluteError::new()),
        "huber" if name.ends_with("delta=0.5") => Box::new(losses::Huber::new().delta(0.5)),
        "huber" => Box::new(losses::Huber::new()),
        "bce" => Box::new(
            losses::BinaryCrossentropy::new()
                .from_logits(logits)
                .label_smoothing(if parts.contains(&"smoothing") {
                    0.1
                } else {
                    0.0
                }),
        ),
        "cce" => Box::new(
            losses::CategoricalCrossentropy::new()
                .from_logits(logits)
                .label_smoothing(if parts.contains(&"smoothing") {
                    0.2
                } else {
                    0.0
                }),
        ),
        "scce" if name.ends_with("ignore_class=0") => Box::new(
            losses::SparseCategoricalCrossentropy::new()
                .from_logits(logits)
                .ignore_class(0),
        ),
        "scce" => Box::new(losses::SparseCategoricalCrossentropy::new().from_logits(logits)),
        "kld" => Box::new(losses::KlDivergence::new()),
        "cosine" => Box::new(losses::CosineSimilarity::new()),
        other => panic!("no loss for fixture case {other}"),
    }
}

fn assert_close(what: &str, got: &[f64], want: &[f64], rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= rtol * w.abs().max(1e-3),
            "{what}[{i}]: keen {g} vs keras {w}\n  keen:  {got:?}\n  keras: {want:?}"
        );
    }
}

#[test]
fn losses_match_keras_values_and_gradients() {
    let f = fixture();
    let cases = f["losses"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let loss = loss_for(name);
        let mut y_true = tensor(&case["y_true"], &case["y_true_shape"]);
        if case["y_true_dtype"] == "int64" {
            y_true = y_true.cast(DType::Int64);
        }
        let y_pred = tensor(&case["y_pred"], &case["y_pred_shape"]);
        let sw = case["sample_weight"]
            .as_array()
            .map(|_| tensor(&case["sample_weight"], &case["sample_weight_shape"]));

        let tape = GradientTape::new();
        tape.watch(&y_pred);
        let value = loss.call_weighted(&y_true, &y_pred, sw.as_ref());
        assert_eq!(value.dims(), dims(&case["value_shape"]), "{name}: shape");
        let target = if value.rank() == 0 {
            value.clone()
        } else {
            value.sum(&[], false)
        };
        let grad = tape
            .gradient(&target, std::slice::from_ref(&y_pred))
            .remove(0)
            .expect("connected");
        assert_close(
            &format!("{name} value"),
            &value.to_f64_vec(),
            &floats(&case["value"]),
            1e-6,
        );
        assert_close(
            &format!("{name} grad"),
            &grad.to_f64_vec(),
            &floats(&case["grad"]),
            1e-6,
        );
    }
}

#[test]
fn losses_pass_finite_difference_checks() {
    let y = Tensor::from([[0.2f64, 0.5, 0.3], [0.1, 0.1, 0.8]]);
    let x = Tensor::from([[0.3f64, -1.2, 0.4], [2.0, 0.7, -0.5]]);
    let p = x.softmax(-1);
    let labels = Tensor::from([2i64, 0]);
    let all: Vec<(Box<dyn Loss>, bool)> = vec![
        (Box::new(losses::MeanSquaredError::new()), false),
        (Box::new(losses::MeanAbsoluteError::new()), false),
        (Box::new(losses::Huber::new().delta(0.7)), false),
        (
            Box::new(losses::BinaryCrossentropy::new().from_logits(true)),
            false,
        ),
        (Box::new(losses::BinaryCrossentropy::new()), true),
        (
            Box::new(losses::CategoricalCrossentropy::new().from_logits(true)),
            false,
        ),
        (Box::new(losses::CategoricalCrossentropy::new()), true),
        (Box::new(losses::KlDivergence::new()), true),
        (Box::new(losses::CosineSimilarity::new()), false),
    ];
    for (loss, on_probabilities) in &all {
        let input = if *on_probabilities {
            p.clone()
        } else {
            x.clone()
        };
        gradcheck(&|t| loss.call(&y, &t[0]), &[input])
            .unwrap_or_else(|e| panic!("{}: {e}", loss.name()));
    }
    let scce = losses::SparseCategoricalCrossentropy::new().from_logits(true);
    gradcheck(&|t| scce.call(&labels, &t[0]), &[x]).unwrap();
}

#[test]
fn padding_does_not_count_in_the_mean() {
    let loss = losses::SparseCategoricalCrossentropy::new()
        .from_logits(true)
        .ignore_class(0);
    let logits = Tensor::zeros([1, 4, 3], DType::Float32);
    // Ids past the vocabulary in padded positions are ignored, not an error.
    let v = loss.call(&Tensor::from([[1i64, 2, 0, 0]]), &logits);
    assert!((v.to_f64_vec()[0] - 3f64.ln()).abs() < 1e-6);
    let all_padding = loss.call(
        &Tensor::from([[0i64, 0]]),
        &Tensor::zeros([1, 2, 3], DType::Float32),
    );
    assert_eq!(all_padding.to_f64_vec(), [0.0]);
}

#[test]
fn losses_by_name() {
    for name in [
        "mse",
        "mae",
        "huber",
        "binary_crossentropy",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "kld",
        "cosine_similarity",
    ] {
        assert!(losses::get(name).is_some(), "{name}");
    }
    assert!(losses::get("nope").is_none());
}

#[test]
#[should_panic(
    expected = "mean_squared_error: y_true of shape (32, 10) does not match y_pred of shape (32, 1)"
)]
fn a_loss_that_does_not_match_the_output_is_an_error() {
    losses::MeanSquaredError::new().call(
        &Tensor::zeros([32, 10], DType::Float32),
        &Tensor::zeros([32, 1], DType::Float32),
    );
}

#[test]
#[should_panic(
    expected = "sparse_categorical_crossentropy: labels of shape (4, 3) do not match predictions of shape (4, 3): expected labels of shape (4,)"
)]
fn one_hot_labels_for_a_sparse_loss_are_an_error() {
    losses::SparseCategoricalCrossentropy::new().call(
        &Tensor::zeros([4, 3], DType::Float32),
        &Tensor::ones([4, 3], DType::Float32),
    );
}

#[test]
#[should_panic(expected = "sparse_categorical_crossentropy: label 5 is out of range for 3 classes")]
fn labels_out_of_range_are_an_error() {
    losses::SparseCategoricalCrossentropy::new().call(
        &Tensor::from([0i64, 5]),
        &Tensor::ones([2, 3], DType::Float32),
    );
}

#[test]
#[should_panic(expected = "binary_crossentropy: y_pred must be a float tensor, got int64")]
fn integer_predictions_are_an_error() {
    losses::BinaryCrossentropy::new().call(&Tensor::from([1i64]), &Tensor::from([1i64]));
}

fn metric_for(name: &str) -> Box<dyn Metric> {
    match name {
        "top_k_categorical_accuracy/k=2" => Box::new(metrics::TopKCategoricalAccuracy::k(2)),
        "sparse_top_k_categorical_accuracy/k=3" => {
            Box::new(metrics::SparseTopKCategoricalAccuracy::k(3))
        }
        "auc/pr" => Box::new(metrics::Auc::with(metrics::Curve::Pr, 200)),
        other => metrics::get(other, None).unwrap_or_else(|| panic!("no metric {other}")),
    }
}

#[test]
fn metrics_match_keras() {
    let f = fixture();
    for case in f["metrics"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut m = metric_for(name);
        for (b, want) in case["batches"]
            .as_array()
            .unwrap()
            .iter()
            .zip(floats(&case["results"]))
        {
            let mut y_true = tensor(&b["y_true"], &b["y_true_shape"]);
            if name.starts_with("sparse") {
                y_true = y_true.cast(DType::Int64);
            }
            let y_pred = tensor(&b["y_pred"], &b["y_pred_shape"]);
            let sw = b["sample_weight"]
                .as_array()
                .map(|_| Tensor::from_vec(floats(&b["sample_weight"]), [y_pred.dims()[0]]));
            m.update_state(&y_true, &y_pred, sw.as_ref());
            let got = m.result();
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1e-3),
                "{name}: keen {got} vs keras {want}"
            );
        }
        m.reset_state();
        assert_eq!(m.result(), 0.0, "{name} after reset");
    }
}

#[test]
fn accuracy_follows_the_loss_as_in_keras_compile() {
    let mut acc = metrics::get("accuracy", Some("sparse_categorical_crossentropy")).unwrap();
    assert_eq!(acc.name(), "accuracy");
    acc.update_state(
        &Tensor::from([1i64, 0]),
        &Tensor::from([[0.2f32, 0.8], [0.9, 0.1]]),
        None,
    );
    assert_eq!(acc.result(), 1.0);
}
