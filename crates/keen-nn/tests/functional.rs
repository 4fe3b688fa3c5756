//! The Functional API: wiring, shared layers, sub-models, naming, freezing, weights, summary,
//! saving, and the errors a wrong wiring gives.

use keen_nn::prelude::*;
use keen_nn::WeightsError;
use keen_tape::GradientTape;
use keen_tensor::{DType, Tensor};
use std::sync::Arc;

fn ids(v: Vec<i64>, shape: [usize; 2]) -> Tensor {
    Tensor::from_vec(v, shape)
}

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "keen-functional-{name}-{}.safetensors",
        std::process::id()
    ))
}

/// Text ids through Embedding + GRU, features through Dense, concatenated; a price head and a
/// class head. `shared` is applied twice.
fn two_in_two_out() -> (Model, Arc<Dense>) {
    let text = Input::new(&[6]).dtype(DType::Int64).name("text");
    let feats = Input::new(&[4]).name("feats");
    let t = Embedding::new(10, 5).apply(&text);
    let t = Gru::new(8).apply(&t);
    let f = Dense::new(8).activation(Activation::Relu).apply(&feats);
    let h = Concatenate::new().apply(&[t, f]);
    let shared = Arc::new(Dense::new(16).activation(Activation::Tanh));
    let h1 = shared.apply(&h);
    let h2 = shared.apply(&Dense::new(16).apply(&h));
    let price = Dense::new(1).name("price").apply(&h1);
    let class = Dense::new(3)
        .activation(Activation::Softmax)
        .name("class")
        .apply(&Add::new().apply(&[h1, h2]));
    (Model::new(&[text, feats], &[price, class]), shared)
}

#[test]
fn a_two_input_two_output_model_runs_eagerly_and_is_built_at_construction() {
    let (model, _) = two_in_two_out();
    // Built at construction: embedding 50, gru 3·(5·8 + 8·8 + 2·8) = 360, dense 40, dense_1
    // (the shared one) 272, dense_2 272, price 17, class 51.
    assert_eq!(model.count_params(), 50 + 360 + 40 + 272 + 272 + 17 + 51);
    assert_eq!(
        model.layer_names(),
        [
            "embedding",
            "gru",
            "dense",
            "concatenate",
            "dense_1",
            "price",
            "dense_2",
            "add",
            "class"
        ]
    );
    assert_eq!(model.input_names(), ["text", "feats"]);
    assert_eq!(model.output_names(), ["price", "class"]);
    let text = ids((0..18).map(|i| i % 10).collect(), [3, 6]);
    let feats = Tensor::random_uniform([3, 4], -1.0, 1.0, DType::Float32);
    let out = model.call(&[text, feats], false);
    assert_eq!(out[0].dims(), [3, 1]);
    assert_eq!(out[1].dims(), [3, 3]);
    let rows = out[1].sum(&[-1], false).to_vec::<f32>();
    assert!(rows.iter().all(|s| (s - 1.0).abs() < 1e-5), "{rows:?}");
}

#[test]
fn a_shared_layer_is_one_set_of_variables_and_its_gradients_add_up() {
    // out = (a·K + b) + (c·K + b): one kernel and one bias used twice.
    let (a, c) = (Input::new(&[2]), Input::new(&[2]));
    let shared = Arc::new(Dense::new(3));
    let sum = Add::new().apply(&[shared.apply(&a), shared.apply(&c)]);
    let model = Model::new(&[a, c], &[sum]);

    let names: Vec<String> = model
        .named_variables()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(names, ["dense.kernel", "dense.bias"]);
    let kernel = shared.kernel().unwrap();
    assert_eq!(model.variables()[0].id(), kernel.id());

    kernel.assign(&Tensor::from_vec(
        vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0],
        [2, 3],
    ));
    let xa = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]);
    let xc = Tensor::from_vec(vec![-1.0f32, 0.5, 2.0, 1.0], [2, 2]);
    let tape = GradientTape::new();
    let loss = model.call(&[xa, xc], true)[0].sum_all();
    let grads = tape.gradient(&loss, &model.trainable_variables());
    // d loss / dK[i, j] = Σ_n (a[n, i] + c[n, i]): column sums of a + c = (1-1+3+2, 2+0.5+4+1)
    // = (5, 7.5), the same for each of the 3 units; d loss / d bias = 2 uses · 2 rows = 4.
    assert_eq!(
        grads[0].as_ref().unwrap().to_vec::<f32>(),
        [5.0, 5.0, 5.0, 7.5, 7.5, 7.5]
    );
    assert_eq!(grads[1].as_ref().unwrap().to_vec::<f32>(), [4.0, 4.0, 4.0]);
}

#[test]
fn a_layer_shared_by_two_models_is_updated_for_both() {
    let shared = Arc::new(Dense::new(2).name("shared"));
    let a = Input::new(&[3]);
    let first = Model::new(&[&a], &[shared.apply(&a)]);
    let b = Input::new(&[3]);
    let head = Dense::new(1).apply(&shared.apply(&b));
    let second = Model::new(&[b], &[head]);
    let id = |m: &Model| m.get_layer("shared").unwrap().variables()[0].id();
    assert_eq!(id(&first), id(&second));

    let x = Tensor::ones([1, 3], DType::Float32);
    let before = second.call(std::slice::from_ref(&x), false)[0].to_vec::<f32>();
    let k = shared.kernel().unwrap();
    k.assign(&k.value().add(1.0));
    let after = second.call(&[x], false)[0].to_vec::<f32>();
    assert_ne!(before, after, "second model sees the first's update");
}

#[test]
fn sub_models_are_layers_with_their_own_paths() {
    let encoder = Sequential::new()
        .add(Dense::new(4).activation(Activation::Relu))
        .add(Dense::new(2));
    let inner_in = Input::new(&[2]);
    let inner = Model::new(&[&inner_in], &[Dense::new(1).apply(&inner_in)]).name("head");

    let x = Input::new(&[3]);
    let z = encoder.apply(&x);
    let y = inner.apply(&z);
    let model = Model::new(&[x], &[y]);
    let names: Vec<String> = model
        .named_variables()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        names,
        [
            "sequential.dense.kernel",
            "sequential.dense.bias",
            "sequential.dense_1.kernel",
            "sequential.dense_1.bias",
            "head.dense.kernel",
            "head.dense.bias"
        ]
    );
    assert_eq!(model.layer_names(), ["sequential", "head"]);
    // One input and one output: a plain Layer, as fit and Sequential use it.
    let t = Tensor::ones([5, 3], DType::Float32);
    let y = model.forward(&t, false);
    assert_eq!(y.dims(), [5, 1]);
    let seq = model.get_layer("sequential").unwrap();
    let z = seq.forward(&t, false);
    let head = model.get_layer("head").unwrap();
    assert_eq!(head.forward(&z, false).to_vec::<f32>(), y.to_vec::<f32>());
}

#[test]
fn a_multi_output_sub_model_is_applied_with_apply_multi() {
    let x = Input::new(&[3]);
    let inner = Model::new(&[&x], &[Dense::new(2).apply(&x), Dense::new(5).apply(&x)]);
    let outer_in = Input::new(&[3]);
    let parts = inner.apply_multi(&outer_in);
    assert_eq!(parts.len(), 2);
    assert_eq!((parts[0].dims(), parts[1].dims()), (vec![2], vec![5]));
    let model = Model::new(&[outer_in], &[Concatenate::new().apply(&parts)]);
    let summary = model.summary();
    let row = summary
        .lines()
        .find(|l| l.starts_with("functional (Functional)"))
        .unwrap();
    assert!(row.contains("[(None, 2), (None, 5)]"), "{row}");
    assert!(
        summary.contains("functional[0][0], functional[0][1]"),
        "{summary}"
    );
    let y = model.call(&[Tensor::ones([2, 3], DType::Float32)], false);
    assert_eq!(y[0].dims(), [2, 7]);
}

#[test]
fn get_layer_finds_given_and_automatic_names() {
    let (model, shared) = two_in_two_out();
    let price = model.get_layer("price").unwrap();
    assert_eq!(price.type_name(), "dense");
    assert_eq!(price.count_params(), 17);
    let d1 = model.get_layer("dense_1").unwrap();
    assert_eq!(d1.variables()[0].id(), shared.kernel().unwrap().id());
    assert!(model.get_layer("nope").is_none());
}

#[test]
fn automatic_names_skip_names_the_user_took() {
    let x = Input::new(&[2]);
    let h = Dense::new(2).apply(&x);
    let y = Dense::new(2).name("dense").apply(&h);
    let model = Model::new(&[x], &[y]);
    assert_eq!(model.layer_names(), ["dense_1", "dense"]);
}

#[test]
#[should_panic(expected = "Model: the name `twin` is used by two layers")]
fn two_layers_with_one_name_are_refused() {
    let x = Input::new(&[2]);
    let h = Dense::new(2).name("twin").apply(&x);
    let y = Dense::new(2).name("twin").apply(&h);
    Model::new(&[x], &[y]);
}

#[test]
fn freezing_a_layer_removes_its_variables_from_training() {
    let x = Input::new(&[3]);
    let h = Dense::new(4).name("body").apply(&x);
    let h = BatchNormalization::new().name("bn").apply(&h);
    let y = Dense::new(1).name("head").apply(&h);
    let model = Model::new(&[x], &[y]);
    assert_eq!(model.trainable_variables().len(), 6); // body 2, bn gamma/beta, head 2
    model.get_layer("body").unwrap().set_trainable(false);
    model.get_layer("bn").unwrap().set_trainable(false);
    let trainable: Vec<String> = model
        .trainable_variables()
        .iter()
        .map(|v| v.name().to_string())
        .collect();
    assert_eq!(trainable, ["head.kernel", "head.bias"]);
    assert!(model
        .summary()
        .contains(" Non-trainable params: 32 (128.00 B)"));

    // A frozen variable gets no gradient and is not watched.
    let tape = GradientTape::new();
    let loss = model.call(&[Tensor::ones([2, 3], DType::Float32)], true)[0].sum_all();
    let body_kernel = model.get_layer("body").unwrap().variables()[0].clone();
    assert!(tape
        .gradient(&loss, &[body_kernel])
        .pop()
        .unwrap()
        .is_none());

    // Unfreezing restores each variable's own kind: moving statistics stay non-trainable.
    model.set_trainable(true);
    assert_eq!(model.trainable_variables().len(), 6);
    assert_eq!(model.non_trainable_variables().len(), 2);
}

#[test]
fn weights_come_in_keras_order_and_set_weights_checks_them() {
    let x = Input::new(&[2]);
    let y = Dense::new(1).apply(&Dense::new(3).apply(&x));
    let model = Model::new(&[x], &[y]);
    let w = model.get_weights();
    let shapes: Vec<Vec<usize>> = w.iter().map(|t| t.dims().to_vec()).collect();
    assert_eq!(shapes, [vec![2, 3], vec![3], vec![3, 1], vec![1]]);

    let ones: Vec<Tensor> = w.iter().map(Tensor::ones_like).collect();
    model.set_weights(&ones).unwrap();
    let out = model.call(&[Tensor::ones([1, 2], DType::Float32)], false);
    // h = 1+1+1 = 3 per unit, y = 3·3 + 1 = 10.
    assert_eq!(out[0].to_vec::<f32>(), [10.0]);

    assert_eq!(
        model.set_weights(&ones[..3]),
        Err(WeightsError::Count {
            expected: 4,
            got: 3
        })
    );
    let mut wrong = ones.clone();
    wrong[2] = Tensor::ones([1, 3], DType::Float32);
    let err = model.set_weights(&wrong).unwrap_err().to_string();
    assert_eq!(
        err,
        "set_weights: value 2 for `dense_1.kernel` is (1, 3) float32, the variable is (3, 1) float32"
    );
    assert_eq!(model.get_weights()[2].to_vec::<f32>(), [1.0, 1.0, 1.0]);
}

#[test]
fn summary_has_the_connected_to_column() {
    let (model, _) = two_in_two_out();
    let text = model.summary();
    print!("{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Model: \"functional\"");
    assert!(lines[2].starts_with("Layer (type)"));
    assert!(lines[2].ends_with("Connected to"));
    let row = |name: &str| {
        *lines
            .iter()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name}"))
    };
    assert!(row("text (InputLayer)").contains("(None, 6)"));
    assert!(row("embedding (Embedding)").ends_with("text[0][0]"));
    assert!(row("concatenate (Concatenate)").ends_with("gru[0][0], dense[0][0]"));
    // The shared layer: counted once, connected twice.
    let shared = row("dense_1 (Dense)");
    assert!(
        shared.contains("(None, 16)") && shared.contains(" 272 "),
        "{shared}"
    );
    assert!(
        shared.ends_with("concatenate[0][0], dense_2[0][0]"),
        "{shared}"
    );
    assert!(row("add (Add)").ends_with("dense_1[0][0], dense_1[1][0]"));
    assert!(text.contains(" Total params: 1,062 (4.15 KB)"));
    assert!(text.contains(" Non-trainable params: 0 (0.00 B)"));
}

#[test]
fn save_and_load_round_trip_by_path() {
    let (a, _) = two_in_two_out();
    let text = ids((0..12).map(|i| (i * 7) % 10).collect(), [2, 6]);
    let feats = Tensor::random_uniform([2, 4], -1.0, 1.0, DType::Float32);
    let xs = [text, feats];
    let ya = a.call(&xs, false);
    let path = tmp("round-trip");
    a.save_weights(&path).unwrap();
    let saved = keen_tape::checkpoint::load_safetensors(&path).unwrap();
    assert!(saved.contains_key("dense_1.kernel") && saved.contains_key("price.bias"));
    assert!(
        saved.contains_key("gru.recurrent_kernel"),
        "{:?}",
        saved.keys()
    );

    let (b, _) = two_in_two_out();
    assert_ne!(b.call(&xs, false)[0].to_vec::<f32>(), ya[0].to_vec::<f32>());
    b.load_weights(&path).unwrap();
    let yb = b.call(&xs, false);
    assert_eq!(yb[0].to_vec::<f32>(), ya[0].to_vec::<f32>());
    assert_eq!(yb[1].to_vec::<f32>(), ya[1].to_vec::<f32>());
    std::fs::remove_file(path).ok();
}

#[test]
#[should_panic(
    expected = "apply: Dense `shared` cannot take input shape (None, 32): Dense `shared`: built for inputs with last axis 64, got shape (1, 32)"
)]
fn a_wrong_shape_fails_at_construction_naming_the_layer_and_both_shapes() {
    let x = Input::new(&[64]);
    let shared = Arc::new(Dense::new(16).name("shared"));
    shared.apply(&x);
    let narrow = Dense::new(32).apply(&x);
    shared.apply(&narrow);
}

#[test]
#[should_panic(expected = "apply: Concatenate cannot take input shape (None, 6, 2) and (None, 3)")]
fn a_merge_of_incompatible_shapes_fails_at_construction() {
    let (a, b) = (Input::new(&[6, 2]), Input::new(&[3]));
    Concatenate::new().apply(&[a, b]);
}

#[test]
#[should_panic(expected = "Model: an output depends on input `stray` (None, 2) that is not among")]
fn an_output_needing_an_unlisted_input_is_refused() {
    let (a, b) = (Input::new(&[2]), Input::new(&[2]).name("stray"));
    let y = Add::new().apply(&[&*a, &*b]);
    Model::new(&[a], &[y]);
}

#[test]
#[should_panic(
    expected = "Model `functional`: input 1 (feats) expects shape (None, 4), got (2, 5)"
)]
fn calling_with_a_wrong_input_shape_names_the_input() {
    let (model, _) = two_in_two_out();
    model.call(
        &[
            Tensor::zeros([2, 6], DType::Int64),
            Tensor::zeros([2, 5], DType::Float32),
        ],
        false,
    );
}

#[test]
#[should_panic(expected = "Model `functional` has 2 inputs and 2 outputs")]
fn a_multi_input_model_is_not_a_single_tensor_layer() {
    let (model, _) = two_in_two_out();
    model.forward(&Tensor::zeros([2, 6], DType::Int64), false);
}

/// 128 samples: price = half the feature sum plus a fifth of the ids' centred mean (both
/// inputs matter); class = which third of [-1, 1] the first feature falls in.
fn toy_data() -> ([Tensor; 2], [Tensor; 2]) {
    keen_tensor::random::set_seed(7);
    let n = 128;
    let text = Tensor::random_uniform([n, 6], 0.0, 10.0, DType::Float32)
        .floor()
        .cast(DType::Int64);
    let feats = Tensor::random_uniform([n, 4], -1.0, 1.0, DType::Float32);
    let id_mean = text.cast(DType::Float32).mean(&[-1], true).sub(4.5);
    let price = feats.sum(&[-1], true).mul(0.5).add(&id_mean.mul(0.2));
    let f = feats.to_vec::<f32>();
    let class: Vec<i64> = (0..n)
        .map(|i| (((f[i * 4] + 1.0) * 1.5).floor() as i64).clamp(0, 2))
        .collect();
    ([text, feats], [price, Tensor::from_vec(class, [n])])
}

fn compiled(model: Model) -> keen_nn::fit::Compiled<Model> {
    use keen_nn::losses::{MeanSquaredError, SparseCategoricalCrossentropy};
    model
        .compile(
            keen_optim::Adam::new(0.01),
            (
                MeanSquaredError::new(),
                SparseCategoricalCrossentropy::new(),
            ),
        )
        .loss_weights([1.0, 0.5])
        .output_metrics("price", ["mae"])
        .output_metrics("class", ["accuracy"])
}

#[test]
fn a_two_input_two_output_model_trains_with_fit() {
    let (x, y) = toy_data();
    let (model, shared) = two_in_two_out();
    let mut model = compiled(model);
    let before = model.evaluate(&x, &y, 64);
    let history = model.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(25)
            .batch_size(16)
            .verbose(Verbosity::Silent),
    );
    assert_eq!(
        history.names(),
        [
            "loss",
            "price_loss",
            "class_loss",
            "price_mae",
            "class_accuracy",
            "learning_rate"
        ]
    );
    let loss = history.get("loss").unwrap();
    let after = model.evaluate(&x, &y, 64);
    println!(
        "before {before}\nepoch 1 loss {:.4}\nafter {after}",
        loss[0]
    );
    // Seen (this test alone, seed 7): before loss 0.95 (price 0.41, class 1.07, accuracy
    // 0.47), epoch 1 0.80; after 25 epochs loss 0.016 (price 0.009, class 0.014), accuracy 1.0.
    // Other tests drawing from the global generator meanwhile shift these a little.
    assert!(loss[loss.len() - 1] < 0.3 * loss[0], "{loss:?}");
    assert!(after["loss"] < 0.2 * before["loss"], "{before} -> {after}");
    assert!(
        after["price_loss"] < 0.05 && after["class_accuracy"] > 0.9,
        "{after}"
    );
    // The total is the weighted sum of the outputs' losses, as Keras logs it.
    let total = after["price_loss"] + 0.5 * after["class_loss"];
    assert!((after["loss"] - total).abs() < 1e-5, "{after}");
    // The shared layer was trained through the model (it is the same Variable).
    let k = shared.kernel().unwrap();
    let trained = model.model().get_layer("dense_1").unwrap().variables()[0].clone();
    assert_eq!(k.id(), trained.id());

    let out = model.predict_multi(&x, 50);
    assert_eq!(
        (out[0].dims(), out[1].dims()),
        ([128, 1].as_slice(), [128, 3].as_slice())
    );
}

#[test]
fn a_frozen_layer_is_not_changed_by_fit() {
    let (x, y) = toy_data();
    let (model, shared) = two_in_two_out();
    model.get_layer("embedding").unwrap().set_trainable(false);
    shared.set_trainable(false);
    let frozen_before = (
        shared.get_weights(),
        model.get_layer("embedding").unwrap().get_weights(),
    );
    let price_before = model.get_layer("price").unwrap().get_weights();
    let mut model = compiled(model);
    model.fit(
        &x,
        &y,
        FitOptions::new().epochs(2).verbose(Verbosity::Silent),
    );
    let m = model.model();
    let frozen_after = (
        shared.get_weights(),
        m.get_layer("embedding").unwrap().get_weights(),
    );
    let same = |a: &[Tensor], b: &[Tensor]| {
        a.iter()
            .zip(b)
            .all(|(a, b)| a.to_vec::<f32>() == b.to_vec::<f32>())
    };
    assert!(same(&frozen_before.0, &frozen_after.0));
    assert!(same(&frozen_before.1, &frozen_after.1));
    assert!(!same(
        &price_before,
        &m.get_layer("price").unwrap().get_weights()
    ));
}

#[test]
fn one_loss_applies_to_every_output() {
    let x = Input::new(&[2]);
    let (a, b) = (
        Dense::new(1).name("a").apply(&x),
        Dense::new(1).name("b").apply(&x),
    );
    let model = Model::new(&[x], &[a, b]);
    let mut model = model
        .compile(
            keen_optim::Sgd::new(0.1),
            keen_nn::losses::MeanSquaredError::new(),
        )
        .metrics(["mae"]);
    let xs = Tensor::ones([4, 2], DType::Float32);
    let logs = model.train_on_batch(
        &xs,
        &[
            Tensor::zeros([4, 1], DType::Float32),
            Tensor::ones([4, 1], DType::Float32),
        ],
    );
    let names: Vec<&str> = logs.iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["loss", "a_loss", "b_loss", "a_mae", "b_mae"]);
    assert!((logs["loss"] - logs["a_loss"] - logs["b_loss"]).abs() < 1e-6);
}

#[test]
#[should_panic(expected = "compile: 3 losses for a model with 2 outputs (price, class)")]
fn a_loss_count_that_fits_no_output_count_is_refused() {
    use keen_nn::losses::MeanSquaredError;
    let (model, _) = two_in_two_out();
    let _ = model.compile(
        keen_optim::Adam::new(0.01),
        (
            MeanSquaredError::new(),
            MeanSquaredError::new(),
            MeanSquaredError::new(),
        ),
    );
}

#[test]
#[should_panic(expected = "fit: the model has 2 outputs but y has 1 tensors")]
fn fit_needs_one_target_per_output() {
    let (x, y) = toy_data();
    let (model, _) = two_in_two_out();
    compiled(model).fit(&x, &y[..1], FitOptions::new().verbose(Verbosity::Silent));
}

/// The largest absolute difference between two float32 tensors of one shape.
fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    a.to_vec::<f32>()
        .iter()
        .zip(b.to_vec::<f32>())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The seed's encoder-decoder as Keras writes it: the encoder GRU returns its sequences and
/// state (`return_state=True`), the decoder GRU starts from that state (`initial_state=[h]`).
/// The layers are kept (`Arc`s) to run the same computation eagerly.
struct Seq2Seq {
    model: Model,
    enc_emb: Arc<Embedding>,
    enc: Arc<Gru>,
    dec_emb: Arc<Embedding>,
    dec: Arc<Gru>,
    head: Arc<Dense>,
}

fn seq2seq() -> Seq2Seq {
    let source = Input::new(&[6]).dtype(DType::Int64).name("source");
    let target = Input::new(&[5]).dtype(DType::Int64).name("target_in");
    let enc_emb = Arc::new(Embedding::new(10, 8).name("source_emb"));
    let enc = Arc::new(
        Gru::new(16)
            .return_sequences(true)
            .return_state(true)
            .name("encoder"),
    );
    let dec_emb = Arc::new(Embedding::new(10, 8).name("target_emb"));
    let dec = Arc::new(Gru::new(16).return_sequences(true).name("decoder"));
    let head = Arc::new(Dense::new(10).name("logits"));
    let enc_out = enc.apply_multi(&enc_emb.apply(&source));
    assert_eq!(enc_out.len(), 2, "sequences and state");
    assert_eq!(
        (enc_out[0].dims(), enc_out[1].dims()),
        (vec![6, 16], vec![16])
    );
    let d = dec.apply(&[dec_emb.apply(&target), enc_out[1].clone()]);
    let logits = head.apply(&d);
    Seq2Seq {
        model: Model::new(&[source, target], &[logits]),
        enc_emb,
        enc,
        dec_emb,
        dec,
        head,
    }
}

/// A copy task only the encoder's state can solve: the decoder reads the source shifted by
/// one (teacher forcing, start token 0) and must output the source's first five tokens.
fn copy_data(n: usize) -> ([Tensor; 2], Tensor) {
    keen_tensor::random::set_seed(11);
    let src = Tensor::random_uniform([n, 6], 1.0, 10.0, DType::Float32)
        .floor()
        .cast(DType::Int64);
    let s = src.to_vec::<i64>();
    let mut tin = Vec::new();
    let mut tout = Vec::new();
    for row in s.chunks(6) {
        tin.push(0);
        tin.extend_from_slice(&row[..4]);
        tout.extend_from_slice(&row[..5]);
    }
    ([src, ids(tin, [n, 5])], ids(tout, [n, 5]))
}

#[test]
fn an_encoder_decoder_passes_the_state_through_the_functional_api() {
    let s = seq2seq();
    let text = s.model.summary();
    print!("{text}");
    let row = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name}"))
            .to_string()
    };
    // The encoder's row lists both outputs; the decoder is connected to its embedding's
    // output and to the encoder's second output, its state.
    let enc_row = row("encoder (GRU)");
    assert!(enc_row.contains("[(None, 6, 16), (None, 16)]"), "{enc_row}");
    assert!(enc_row.ends_with("source_emb[0][0]"), "{enc_row}");
    let dec_row = row("decoder (GRU)");
    assert!(dec_row.contains("(None, 5, 16)"), "{dec_row}");
    assert!(
        dec_row.ends_with("target_emb[0][0], encoder[0][1]"),
        "{dec_row}"
    );

    // The model computes what the same layers compute eagerly.
    let ([src, tin], _) = copy_data(4);
    let out = s.model.call(&[src.clone(), tin.clone()], false).remove(0);
    assert_eq!(out.dims(), [4, 5, 10]);
    let (_, h) = s.enc.call_full(&s.enc_emb.call(&src), None, None);
    let (dseq, _) = s.dec.call_with_state(&s.dec_emb.call(&tin), &h);
    let want = s.head.call(&dseq);
    assert!(max_diff(&out, &want) < 1e-6, "{}", max_diff(&out, &want));
    // Without the state the decoder gives something else: the state is really used.
    let (zero_start, _) = s.dec.call_full(&s.dec_emb.call(&tin), None, None);
    assert!(max_diff(&out, &s.head.call(&zero_start)) > 1e-3);
}

#[test]
fn an_encoder_decoder_trains_with_fit_through_the_state() {
    use keen_nn::losses::SparseCategoricalCrossentropy;
    let (x, y) = copy_data(96);
    let s = seq2seq();
    let enc_before = s.enc.get_weights();
    let mut model = s.model.compile(
        keen_optim::Adam::new(0.02),
        SparseCategoricalCrossentropy::new().from_logits(true),
    );
    let history = model.fit(
        &x,
        &[y],
        FitOptions::new()
            .epochs(20)
            .batch_size(16)
            .verbose(Verbosity::Silent),
    );
    let loss = history.get("loss").unwrap();
    println!("loss {:.4} -> {:.4}", loss[0], loss[loss.len() - 1]);
    // Seen: 2.28 -> 1.12 in 20 epochs (ln 9 = 2.20 is chance).
    assert!(loss[loss.len() - 1] < 0.5 * loss[0], "{loss:?}");
    // The loss reached the encoder through the decoder's initial state.
    let moved = enc_before
        .iter()
        .zip(s.enc.get_weights())
        .any(|(a, b)| max_diff(a, &b) > 1e-3);
    assert!(moved, "the encoder was not trained");
}

#[test]
fn lstm_and_bidirectional_give_their_states_in_keras_order() {
    let x = Input::new(&[4, 3]);
    let lstm = Arc::new(Lstm::new(5).return_state(true));
    let outs = lstm.apply_multi(&x);
    let dims: Vec<Vec<usize>> = outs.iter().map(|o| o.dims()).collect();
    assert_eq!(dims, [vec![5], vec![5], vec![5]]); // output, h, c
                                                   // Bidirectional: merged output, then forward h and c, then backward h and c; initial
                                                   // states go after the input in the same order.
    let bi = Arc::new(Bidirectional::new(
        Lstm::new(5).return_sequences(true).return_state(true),
    ));
    let bi_outs = bi.apply_multi(&x);
    let dims: Vec<Vec<usize>> = bi_outs.iter().map(|o| o.dims()).collect();
    assert_eq!(dims, [vec![4, 10], vec![5], vec![5], vec![5], vec![5]]);
    let restarted = bi.apply_multi(&[&*x, &bi_outs[1], &bi_outs[2], &bi_outs[3], &bi_outs[4]]);
    let model = Model::new(
        &[x],
        &[outs[1].clone(), outs[2].clone(), restarted[0].clone()],
    );
    assert_eq!(model.output_names(), ["lstm", "lstm_1", "bidirectional"]);
    let summary = model.summary();
    print!("{summary}");
    assert!(summary.contains(
        "input_layer[0][0], bidirectional[0][1], bidirectional[0][2], bidirectional[0][3], \
         bidirectional[0][4]"
    ));

    keen_tensor::random::set_seed(3);
    let xs = Tensor::random_normal([2, 4, 3], 0.0, 1.0, DType::Float32);
    let got = model.call(std::slice::from_ref(&xs), false);
    let (_, hc) = lstm.call_full(&xs, None, None);
    let (_, s0) = bi.call_full(&xs, None, None);
    let (again, _) = bi.call_full(&xs, Some(&s0), None);
    assert!(max_diff(&got[0], &hc[0]) < 1e-6);
    assert!(max_diff(&got[1], &hc[1]) < 1e-6);
    assert!(max_diff(&got[2], &again) < 1e-6);
}

#[test]
fn the_eager_layer_api_takes_initial_states_and_returns_states_as_keras() {
    // Keras eagerly: `out, h, c = LSTM(5, return_state=True)(x, initial_state=[h0, c0])`.
    keen_tensor::random::set_seed(4);
    let x = Tensor::random_normal([2, 4, 3], 0.0, 1.0, DType::Float32);
    let h0 = Tensor::random_normal([2, 5], 0.0, 1.0, DType::Float32);
    let c0 = Tensor::random_normal([2, 5], 0.0, 1.0, DType::Float32);
    let lstm = Lstm::new(5).return_state(true);
    let outs = lstm.forward_many(&[x.clone(), h0.clone(), c0.clone()], false);
    assert_eq!(outs.len(), 3);
    let (y, states) = lstm.call_with_state(&x, &[h0.clone(), c0.clone()]);
    assert!(max_diff(&outs[0], &y) < 1e-7);
    assert!(max_diff(&outs[1], &states[0]) < 1e-7);
    assert!(max_diff(&outs[2], &states[1]) < 1e-7);
    // The output of the last step is h.
    assert!(max_diff(&y, &states[0]) < 1e-7);
    // The initial state matters; without return_state there is one output.
    let (y0, _) = lstm.call_full(&x, None, None);
    assert!(max_diff(&y, &y0) > 1e-3);
    let plain = Lstm::new(5);
    assert_eq!(plain.forward_many(&[x.clone(), h0, c0], false).len(), 1);
}

#[test]
#[should_panic(expected = "Gru: initial_state: state 0 must have shape (1, 4), got (1, 3)")]
fn a_functional_initial_state_of_the_wrong_size_is_refused_where_it_is_wired() {
    let (x, h) = (Input::new(&[5, 2]), Input::new(&[3]));
    let _ = Gru::new(4).apply(&[x, h]);
}

/// A sentiment-style model over token sequences of any length (Keras' `Input(shape=(None,))`).
fn any_length_model() -> Model {
    let tokens = Input::new(&[None]).dtype(DType::Int64).name("tokens");
    let e = Embedding::new(20, 8).apply(&tokens);
    assert_eq!(e.shape(), [None, Some(8)]);
    let h = Gru::new(16).apply(&e);
    assert_eq!(h.shape(), [Some(16)]);
    let y = Dense::new(1).apply(&h);
    Model::new(&[tokens], &[y])
}

/// `n` sequences of length `len`; the target is the share of tokens above 9.
fn any_length_data(n: usize, len: usize) -> (Tensor, Tensor) {
    let x = Tensor::random_uniform([n, len], 0.0, 20.0, DType::Float32)
        .floor()
        .cast(DType::Int64);
    let y = x
        .cast(DType::Float32)
        .gt(9.5)
        .cast(DType::Float32)
        .mean(&[-1], true);
    (x, y)
}

#[test]
fn an_input_with_a_free_axis_takes_sequences_of_any_length() {
    keen_tensor::random::set_seed(5);
    let model = any_length_model();
    let summary = model.summary();
    print!("{summary}");
    assert!(summary.contains("(None, None, 8)"), "{summary}");
    let (x5, y5) = any_length_data(64, 5);
    let (x9, y9) = any_length_data(64, 9);
    // Calls of either length give what the layers give eagerly.
    for x in [&x5, &x9] {
        let out = model.call(std::slice::from_ref(x), false).remove(0);
        assert_eq!(out.dims(), [64, 1]);
        let emb = model.get_layer("embedding").unwrap().forward(x, false);
        let h = model.get_layer("gru").unwrap().forward(&emb, false);
        let want = model.get_layer("dense").unwrap().forward(&h, false);
        assert!(max_diff(&out, &want) < 1e-6);
    }
    let mut model = model.compile(
        keen_optim::Adam::new(0.01),
        keen_nn::losses::MeanSquaredError::new(),
    );
    let before = [
        model.evaluate(&x5, &y5, 64)["loss"],
        model.evaluate(&x9, &y9, 64)["loss"],
    ];
    let opts = || {
        FitOptions::new()
            .epochs(10)
            .batch_size(16)
            .verbose(Verbosity::Silent)
    };
    for _ in 0..2 {
        model.fit(&x5, &y5, opts());
        model.fit(&x9, &y9, opts());
    }
    let after = [
        model.evaluate(&x5, &y5, 64)["loss"],
        model.evaluate(&x9, &y9, 64)["loss"],
    ];
    println!("before {before:?} after {after:?}");
    assert!(after[0] < 0.5 * before[0] && after[1] < 0.5 * before[1]);
    assert_eq!(model.predict(&x5, 16).dims(), [64, 1]);
    assert_eq!(model.predict(&x9, 16).dims(), [64, 1]);
}

#[test]
fn free_axes_are_carried_through_and_known_axes_still_checked() {
    let x = Input::new(&[None, Some(8)]);
    let seq = Gru::new(6).return_sequences(true).apply(&x);
    assert_eq!(seq.shape(), [None, Some(6)]);
    // Dense needs only the last axis.
    let y = Dense::new(4).apply(&seq);
    assert_eq!(y.shape(), [None, Some(4)]);
    assert_eq!(
        y.to_string(),
        "SymbolicTensor(shape=(None, None, 4), dtype=float32)"
    );
    let model = Model::new(&[x], &[y]);
    assert!(model.summary().contains("(None, None, 4)"));
    for t in [3, 7] {
        let out = model.call(&[Tensor::ones([2, t, 8], DType::Float32)], false);
        assert_eq!(out[0].dims(), [2, t, 4]);
    }
    let wrong = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        model.call(&[Tensor::ones([2, 3, 7], DType::Float32)], false)
    }));
    let msg = *wrong.unwrap_err().downcast::<String>().unwrap();
    assert!(
        msg.contains("expects shape (None, None, 8), got (2, 3, 7)"),
        "{msg}"
    );
}

#[test]
#[should_panic(
    expected = "apply: Dense `head` cannot take input shape (None, None): it needs the size of an axis that is free (None) there"
)]
fn a_dense_on_a_free_axis_is_refused_naming_the_layer() {
    let x = Input::new(&[None]);
    let _ = Dense::new(3).name("head").apply(&x);
}

#[test]
#[should_panic(
    expected = "apply: Dense cannot take input shape (None, None): it needs the size of an axis that is free (None) there"
)]
fn flatten_of_a_free_axis_leaves_it_free_and_a_dense_after_it_is_refused() {
    let x = Input::new(&[None, Some(4)]);
    let flat = Flatten::new().apply(&x);
    assert_eq!(flat.shape(), [None]);
    let _ = Dense::new(3).apply(&flat);
}

#[test]
#[should_panic(
    expected = "SymbolicTensor::dims: shape (None, None, 8) has a free axis (None); use shape()"
)]
fn dims_of_a_free_shape_points_to_shape() {
    let _ = Input::new(&[None, Some(8)]).dims();
}
