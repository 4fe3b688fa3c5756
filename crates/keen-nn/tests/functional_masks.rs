//! Masks in the Functional API and `Sequential`: an `Embedding` with `mask_zero` masks the
//! padding, the mask flows through the layers that keep the time axis, and the recurrent
//! layers skip the masked steps — against Keras 3 (fixtures/functional_masks.json, made by
//! fixtures/gen_functional_masks.py) and against the eager layers given the mask by hand.

mod common;

use keen_nn::prelude::*;
use keen_tape::GradientTape;
use keen_tensor::{DType, Tensor};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let all: Value = serde_json::from_str(include_str!("fixtures/functional_masks.json"))
        .expect("fixture parses");
    all["cases"][name].clone()
}

fn tensor(v: &Value) -> Tensor {
    common::json_tensor(v, DType::Float64)
}

fn ids(v: &Value) -> Tensor {
    tensor(v).cast(DType::Int64)
}

/// Assigns every weight of the case to the model's variable of the same path.
fn load(model: &Functional, case: &Value) {
    let weights = case["weights"].as_object().unwrap();
    let vars = model.named_variables();
    assert_eq!(vars.len(), weights.len(), "variable count");
    for (path, var) in vars {
        let w = weights
            .get(&path)
            .unwrap_or_else(|| panic!("no Keras weight for {path}"));
        var.assign(&tensor(w));
    }
}

#[track_caller]
fn assert_close(what: &str, got: &Tensor, want: &Tensor, tol: f64) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    for (i, (a, b)) in got.to_f64_vec().iter().zip(want.to_f64_vec()).enumerate() {
        assert!(
            (a - b).abs() <= tol * (1.0 + b.abs()),
            "{what}: element {i} is {a}, Keras {b}"
        );
    }
}

/// Whether every element of `a` is within `tol` of `b`'s.
fn close(a: &Tensor, b: &Tensor, tol: f64) -> bool {
    a.dims() == b.dims()
        && a.to_f64_vec()
            .iter()
            .zip(b.to_f64_vec())
            .all(|(x, y)| (x - y).abs() <= tol)
}

/// The padded batch of the fixtures: padding at the end, in the middle and at the start.
fn padded() -> Tensor {
    Tensor::from_vec(vec![3i64, 7, 1, 0, 0, 5, 0, 2, 8, 0, 0, 0, 4, 4, 9], [3, 5])
}

#[test]
fn masked_embedding_gru_dense_lstm_matches_keras() {
    let case = fixture("gru_dense_lstm");
    let tokens = Input::new(&[5]).dtype(DType::Int64);
    let e = Embedding::new(10, 4)
        .mask_zero(true)
        .dtype(DType::Float64)
        .apply(&tokens);
    let e = Dropout::new(0.3).apply(&e);
    let seq = Gru::new(3).return_sequences(true).apply(&e);
    let h = Dense::new(3).activation(Activation::Tanh).apply(&seq);
    let last = Lstm::new(2).apply(&h);
    let model = Model::new(&[tokens], &[last, seq]);
    load(&model, &case);
    let out = model.call(&[ids(&case["ids"])], false);
    assert_close("lstm", &out[0], &tensor(&case["outputs"][0]), 1e-10);
    assert_close("gru", &out[1], &tensor(&case["outputs"][1]), 1e-10);
}

#[test]
fn masked_embedding_bidirectional_lstm_matches_keras() {
    let case = fixture("bidirectional_lstm");
    let tokens = Input::new(&[5]).dtype(DType::Int64);
    let e = Embedding::new(10, 4)
        .mask_zero(true)
        .dtype(DType::Float64)
        .apply(&tokens);
    let seq = Bidirectional::new(Lstm::new(2).return_sequences(true)).apply(&e);
    let out = SimpleRnn::new(3).apply(&seq);
    let model = Model::new(&[tokens], &[out]);
    load(&model, &case);
    let out = model.call(&[ids(&case["ids"])], false);
    assert_close("simple_rnn", &out[0], &tensor(&case["outputs"][0]), 1e-10);
}

#[test]
fn masked_embedding_average_matches_keras() {
    let case = fixture("embedding_average");
    let tokens = Input::new(&[5]).dtype(DType::Int64);
    let e = Embedding::new(10, 4)
        .mask_zero(true)
        .dtype(DType::Float64)
        .apply(&tokens);
    let mean = GlobalAveragePooling1d::new().apply(&e);
    let probs = Dense::new(2).activation(Activation::Softmax).apply(&mean);
    let model = Model::new(&[tokens], &[probs]);
    load(&model, &case);
    let out = model.call(&[ids(&case["ids"])], false);
    assert_close("dense", &out[0], &tensor(&case["outputs"][0]), 1e-10);
}

#[test]
fn masking_lstm_average_matches_keras() {
    let case = fixture("masking_lstm_average");
    let x = Input::new(&[5, 2]).dtype(DType::Float64);
    let m = Masking::new().apply(&x);
    let seq = Lstm::new(3).return_sequences(true).apply(&m);
    let mean = GlobalAveragePooling1d::new().apply(&seq);
    let model = Model::new(&[x], &[mean, seq]);
    load(&model, &case);
    let out = model.call(&[tensor(&case["x"])], false);
    assert_close("average", &out[0], &tensor(&case["outputs"][0]), 1e-10);
    assert_close("lstm", &out[1], &tensor(&case["outputs"][1]), 1e-10);
}

/// In `Sequential` too the mask reaches the pooling, and the pooling stops it.
#[test]
fn sequential_average_pools_the_real_tokens() {
    let model = Sequential::new()
        .add(Embedding::new(10, 4).mask_zero(true))
        .add(GlobalAveragePooling1d::new());
    let x = padded();
    let got = model.call(&x, false);
    let (e, masks) = model.layers()[0].forward_masked(std::slice::from_ref(&x), &[None], false);
    let (e, mask) = (&e[0], masks[0].as_ref());
    let want = GlobalAveragePooling1d::new().call_masked(e, mask);
    assert!(close(&got, &want, 1e-6));
    assert!(!close(&got, &GlobalAveragePooling1d::new().call(e), 1e-3));
}

/// In training, BatchNormalization takes the batch statistics over the real steps alone:
/// output, moving statistics and gradients against Keras'.
#[test]
fn masked_batch_norm_matches_keras() {
    let case = fixture("batch_norm_masked");
    let x = tensor(&case["x"]);
    let mask = tensor(&case["mask"]).cast(DType::Bool);
    let bn = BatchNormalization::new().momentum(0.9);
    let _ = bn.call(&x, false); // builds
    for (path, var) in bn.named_variables() {
        var.assign(&tensor(&case["weights"][path.as_str()]));
    }
    let tape = GradientTape::persistent();
    tape.watch(&x);
    let (y, masks) = bn.forward_masked(std::slice::from_ref(&x), &[Some(mask.clone())], true);
    assert_eq!(
        masks[0].as_ref().unwrap().to_vec::<bool>(),
        mask.to_vec::<bool>()
    );
    let loss = y[0].mul(&tensor(&case["cot"])).sum_all();
    let gx = tape.gradient(&loss, &[&x]).remove(0).expect("gx");
    let gw = tape.gradient(&loss, &bn.trainable_variables());
    assert_close("y", &y[0], &tensor(&case["y"]), 1e-10);
    assert_close("gx", &gx, &tensor(&case["gx"]), 1e-9);
    assert_close(
        "gamma",
        gw[0].as_ref().unwrap(),
        &tensor(&case["ggamma"]),
        1e-9,
    );
    assert_close(
        "beta",
        gw[1].as_ref().unwrap(),
        &tensor(&case["gbeta"]),
        1e-9,
    );
    let moving = [bn.moving_mean().unwrap(), bn.moving_variance().unwrap()];
    assert_close(
        "moving_mean",
        &moving[0].value(),
        &tensor(&case["moving_mean"]),
        1e-10,
    );
    assert_close(
        "moving_variance",
        &moving[1].value(),
        &tensor(&case["moving_variance"]),
        1e-10,
    );
}

/// The Functional model gives what the eager layers give with the mask passed by hand, and
/// not what they give without it.
#[test]
fn functional_gru_gets_the_embedding_mask() {
    let emb = std::sync::Arc::new(Embedding::new(10, 4).mask_zero(true));
    let gru = std::sync::Arc::new(Gru::new(3).return_sequences(true));
    let tokens = Input::new(&[None]).dtype(DType::Int64);
    let y = gru.apply(&emb.apply(&tokens));
    let model = Model::new(&[tokens], &[y]);

    let x = padded();
    let got = model.call(std::slice::from_ref(&x), false).remove(0);
    let mask = emb.compute_mask(&x).expect("mask_zero");
    let (masked, _) = gru.call_full(&emb.call(&x), None, Some(&mask));
    let unmasked = gru.call(&emb.call(&x));
    assert!(close(&got, &masked, 1e-6));
    assert!(
        !close(&got, &unmasked, 1e-3),
        "padding must change the unmasked GRU"
    );
}

#[test]
fn sequential_passes_the_mask_too() {
    let model = Sequential::new()
        .add(Embedding::new(10, 4).mask_zero(true))
        .add(Dropout::new(0.5))
        .add(Gru::new(3));
    let short = Tensor::from_vec(vec![3i64, 7, 1], [1, 3]);
    let long = Tensor::from_vec(vec![3i64, 7, 1, 0, 0, 0], [1, 6]);
    let (a, b) = (model.call(&short, false), model.call(&long, false));
    assert!(close(&a, &b, 1e-6), "trailing padding is skipped");
}

#[test]
fn a_layer_without_mask_support_stops_the_mask() {
    // Flatten is not `supports_masking` in Keras: after it, nothing is masked.
    let x = Tensor::ones([2, 3, 4], DType::Float32);
    let mask = Tensor::from_vec(vec![true, true, false, true, false, false], [2, 3]);
    let (_, masks) =
        Flatten::new().forward_masked(std::slice::from_ref(&x), &[Some(mask.clone())], false);
    assert!(masks.iter().all(Option::is_none));
    let (_, masks) =
        Dense::new(2).forward_masked(std::slice::from_ref(&x), &[Some(mask.clone())], false);
    assert_eq!(
        masks[0].as_ref().unwrap().to_vec::<bool>(),
        mask.to_vec::<bool>()
    );
}

#[test]
fn merges_combine_masks_as_keras() {
    let x = Tensor::ones([1, 3, 2], DType::Float32);
    let a = Tensor::from_vec(vec![true, false, false], [1, 3]);
    let b = Tensor::from_vec(vec![false, true, false], [1, 3]);
    let xs = [x.clone(), x.clone()];
    // Add and Multiply: the union when every input is masked, else no mask.
    let (_, m) = Add::new().forward_masked(&xs, &[Some(a.clone()), Some(b.clone())], false);
    assert_eq!(m[0].as_ref().unwrap().to_vec::<bool>(), [true, true, false]);
    let (_, m) = Multiply::new().forward_masked(&xs, &[Some(a.clone()), None], false);
    assert!(m[0].is_none());
    // Concatenate on features: an unmasked input counts as real everywhere.
    let (_, m) = Concatenate::new().forward_masked(&xs, &[Some(a.clone()), None], false);
    assert_eq!(m[0].as_ref().unwrap().to_vec::<bool>(), [true, true, true]);
    let (_, m) = Concatenate::new().forward_masked(&xs, &[Some(a.clone()), Some(b)], false);
    assert_eq!(m[0].as_ref().unwrap().to_vec::<bool>(), [true, true, false]);
    // Along time, the masks follow each other.
    let (y, m) = Concatenate::new()
        .axis(1)
        .forward_masked(&xs, &[Some(a), None], false);
    assert_eq!(y[0].dims(), [1, 6, 2]);
    assert_eq!(
        m[0].as_ref().unwrap().to_vec::<bool>(),
        [true, false, false, true, true, true]
    );
}

#[test]
fn recurrent_layers_pass_the_mask_on_only_with_sequences() {
    let x = Tensor::ones([1, 3, 2], DType::Float32);
    let mask = Tensor::from_vec(vec![true, true, false], [1, 3]);
    let xs = std::slice::from_ref(&x);
    let (outs, m) = Gru::new(2)
        .return_sequences(true)
        .return_state(true)
        .forward_masked(xs, &[Some(mask.clone())], false);
    assert_eq!((outs.len(), m.len()), (2, 2));
    assert_eq!(m[0].as_ref().unwrap().to_vec::<bool>(), [true, true, false]);
    assert!(m[1].is_none(), "states are unmasked");
    let (_, m) = Lstm::new(2).forward_masked(xs, &[Some(mask)], false);
    assert!(m[0].is_none(), "the last step is unmasked");
}
