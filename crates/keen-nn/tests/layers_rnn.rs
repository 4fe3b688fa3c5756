//! Recurrent and attention layers against Keras 3 (fixtures/layers_rnn.json, made by
//! fixtures/gen_layers_rnn.py): outputs, final states and the gradients of
//! `Σ sum(output · cotangent)` with respect to every input and weight, in float64 (tight) and
//! float32 (1e-5 relative). Plus finite-difference checks, cell/layer agreement and messages.

use keen_nn::prelude::*;
mod common;

use common::{gradcheck_layer, json_tensor as tensor, LayerTest};
use keen_tape::{GradientTape, Variable};
use keen_tensor::{DType, Tensor};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn fixture() -> &'static Value {
    static F: OnceLock<Value> = OnceLock::new();
    F.get_or_init(|| {
        let text = include_str!("fixtures/layers_rnn.json");
        serde_json::from_str(text).expect("fixture parses")
    })
}

fn case(name: &str) -> &'static Value {
    &fixture()["cases"][name]
}

fn group(c: &Value, key: &str, dtype: DType) -> BTreeMap<String, Tensor> {
    c[key]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), tensor(v, dtype)))
        .collect()
}

/// Per-element `|got − want| ≤ atol + rtol·|want|`, reporting the worst element.
#[track_caller]
fn assert_close(what: &str, got: &Tensor, want: &Tensor, rtol: f64, atol: f64) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    let (g, w) = (got.to_f64_vec(), want.to_f64_vec());
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - b).abs() <= atol + rtol * b.abs(),
            "{what}: element {i} is {a}, Keras {b} (diff {:e})",
            (a - b).abs()
        );
    }
}

fn tolerances(dtype: DType) -> (f64, f64) {
    match dtype {
        DType::Float64 => (1e-9, 1e-11),
        _ => (1e-5, 2e-6),
    }
}

/// Loads a case's weights into `module` (built by one call), runs `run` under a tape, and
/// checks every output and every gradient against Keras.
fn check_case<M: Module>(
    name: &str,
    dtype: DType,
    module: &M,
    run: impl Fn(&BTreeMap<String, Tensor>, &BTreeMap<String, Tensor>) -> Vec<(String, Tensor)>,
) {
    let c = case(name);
    assert!(!c.is_null(), "no fixture case {name}");
    let inputs = group(c, "inputs", dtype);
    let masks = group(c, "masks", dtype);
    let _ = run(&inputs, &masks); // builds
    let weights = group(c, "weights", dtype);
    let named = module.named_variables();
    let paths: Vec<&String> = named.iter().map(|(p, _)| p).collect();
    let keras: Vec<&String> = weights.keys().collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(sorted, keras, "{name}: variable paths");
    for (p, v) in &named {
        v.assign(&weights[p]);
    }

    let (rtol, atol) = tolerances(dtype);
    let tape = GradientTape::persistent();
    for t in inputs.values() {
        tape.watch(t);
    }
    let outputs = run(&inputs, &masks);
    let cots = group(c, "cotangents", dtype);
    let want_out = group(c, "outputs", dtype);
    assert_eq!(outputs.len(), want_out.len(), "{name}: output count");
    let mut loss: Option<Tensor> = None;
    for (k, o) in &outputs {
        assert_close(
            &format!("{name} {dtype:?} output {k}"),
            o,
            &want_out[k],
            rtol,
            atol,
        );
        let term = o.mul(&cots[k]).sum_all();
        loss = Some(match loss {
            Some(l) => l.add(&term),
            None => term,
        });
    }
    let loss = loss.unwrap();
    let grads = group(c, "grads", dtype);
    let input_list: Vec<&Tensor> = inputs.values().collect();
    let gi = tape.gradient(&loss, &input_list);
    for ((k, _), g) in inputs.iter().zip(gi) {
        let g = g.unwrap_or_else(|| panic!("{name}: no gradient for input {k}"));
        assert_close(
            &format!("{name} {dtype:?} d/d{k}"),
            &g,
            &grads[k],
            rtol,
            atol,
        );
    }
    let vars: Vec<&Variable> = named.iter().map(|(_, v)| v).collect();
    let gv = tape.gradient(&loss, &vars);
    for ((p, _), g) in named.iter().zip(gv) {
        let g = g.unwrap_or_else(|| panic!("{name}: no gradient for {p}"));
        assert_close(
            &format!("{name} {dtype:?} d/d{p}"),
            &g,
            &grads[p],
            rtol,
            atol,
        );
    }
}

fn flag(c: &Value, k: &str) -> bool {
    c["config"][k].as_bool().unwrap_or(false)
}

/// The output and states of a recurrent layer, named as in the fixture.
fn rnn_outputs(out: Tensor, states: Vec<Tensor>, with_states: bool) -> Vec<(String, Tensor)> {
    let mut v = vec![("output".to_string(), out)];
    if with_states {
        v.extend(
            states
                .into_iter()
                .enumerate()
                .map(|(i, s)| (format!("state{i}"), s)),
        );
    }
    v
}

fn initial_states(inputs: &BTreeMap<String, Tensor>) -> Option<Vec<Tensor>> {
    let s: Vec<Tensor> = (0..4)
        .map_while(|i| inputs.get(&format!("state{i}")).cloned())
        .collect();
    (!s.is_empty()).then_some(s)
}

fn check_rnn<C: RecurrentCell>(name: &str, make: impl Fn() -> Rnn<C>) {
    let c = case(name);
    for dtype in [DType::Float64, DType::Float32] {
        let layer = make()
            .return_sequences(flag(c, "return_sequences"))
            .go_backwards(flag(c, "go_backwards"));
        check_case(name, dtype, &layer, |inp, masks| {
            let init = initial_states(inp);
            let (out, states) = layer.call_full(&inp["x"], init.as_deref(), masks.get("mask"));
            rnn_outputs(out, states, flag(c, "return_state"))
        });
    }
}

fn check_bidirectional<C: RecurrentCell>(name: &str, merge: MergeMode, make: impl Fn() -> Rnn<C>) {
    let c = case(name);
    for dtype in [DType::Float64, DType::Float32] {
        let layer = Bidirectional::new(make().return_sequences(flag(c, "return_sequences")))
            .merge_mode(merge);
        check_case(name, dtype, &layer, |inp, masks| {
            let init = initial_states(inp);
            let (out, states) = layer.call_full(&inp["x"], init.as_deref(), masks.get("mask"));
            rnn_outputs(out, states, flag(c, "return_state"))
        });
    }
}

#[test]
fn simple_rnn_matches_keras() {
    check_rnn("simple_rnn", || SimpleRnn::new(3));
    check_rnn("simple_rnn_backwards", || SimpleRnn::new(3));
}

#[test]
fn gru_matches_keras() {
    for name in ["gru", "gru_last", "gru_initial_state"] {
        check_rnn(name, || Gru::new(3));
    }
    check_rnn("gru_reset_before", || Gru::new(3).reset_after(false));
}

#[test]
fn gru_masking_matches_keras() {
    for name in ["gru_masked", "gru_masked_last", "gru_backwards_masked"] {
        check_rnn(name, || Gru::new(3));
    }
}

#[test]
fn lstm_matches_keras() {
    for name in [
        "lstm",
        "lstm_initial_state",
        "lstm_masked_backwards",
        "lstm_last",
    ] {
        check_rnn(name, || Lstm::new(3));
    }
}

/// Activations other than tanh/sigmoid take the composed path, not the fused gate kernels.
#[test]
fn composed_gates_match_keras() {
    check_rnn("gru_softplus", || {
        Gru::new(3).activation(Activation::Softplus)
    });
    check_rnn("lstm_softplus", || {
        Lstm::new(3).activation(Activation::Softplus)
    });
}

#[test]
fn bidirectional_matches_keras() {
    check_bidirectional("bidirectional_gru_concat", MergeMode::Concat, || {
        Gru::new(3)
    });
    check_bidirectional("bidirectional_lstm_sum", MergeMode::Sum, || Lstm::new(3));
    check_bidirectional("bidirectional_simple_rnn_mul", MergeMode::Mul, || {
        SimpleRnn::new(3)
    });
    check_bidirectional("bidirectional_gru_ave", MergeMode::Ave, || {
        Gru::new(3).reset_after(false)
    });
}

fn attention_outputs((out, scores): (Tensor, Tensor)) -> Vec<(String, Tensor)> {
    vec![("output".into(), out), ("scores".into(), scores)]
}

#[test]
fn additive_attention_matches_keras() {
    for (name, scale) in [
        ("additive_attention", true),
        ("additive_attention_no_scale", false),
    ] {
        for dtype in [DType::Float64, DType::Float32] {
            let layer = AdditiveAttention::new().use_scale(scale);
            check_case(name, dtype, &layer, |i, m| {
                attention_outputs(layer.call_with(
                    &i["query"],
                    &i["value"],
                    i.get("key"),
                    m.get("query_mask"),
                    m.get("value_mask"),
                ))
            });
        }
    }
}

#[test]
fn dot_product_attention_matches_keras() {
    let cases = [
        ("attention_dot", Attention::new as fn() -> Attention),
        ("attention_scaled_key", || {
            Attention::new().use_scale(true).use_causal_mask(true)
        }),
        ("attention_concat", || {
            Attention::new()
                .use_scale(true)
                .score_mode(ScoreMode::Concat)
        }),
    ];
    for (name, make) in cases {
        for dtype in [DType::Float64, DType::Float32] {
            let layer = make();
            check_case(name, dtype, &layer, |i, m| {
                attention_outputs(layer.call_with(
                    &i["query"],
                    &i["value"],
                    i.get("key"),
                    m.get("query_mask"),
                    m.get("value_mask"),
                ))
            });
        }
    }
}

#[test]
fn multi_head_attention_matches_keras() {
    let cases = [
        (
            "mha",
            (|| MultiHeadAttention::new(2, 3)) as fn() -> MultiHeadAttention,
        ),
        ("mha_value_dim_output_shape", || {
            MultiHeadAttention::new(3, 2)
                .value_dim(3)
                .output_shape(5)
                .use_causal_mask(true)
        }),
        ("mha_no_bias", || {
            MultiHeadAttention::new(1, 3).use_bias(false)
        }),
    ];
    for (name, make) in cases {
        for dtype in [DType::Float64, DType::Float32] {
            let layer = make();
            check_case(name, dtype, &layer, |i, m| {
                attention_outputs(layer.call_with(
                    &i["query"],
                    &i["value"],
                    i.get("key"),
                    m.get("attention_mask"),
                ))
            });
        }
    }
}

#[test]
fn bahdanau_attention_matches_keras() {
    for name in ["bahdanau", "bahdanau_masked"] {
        for dtype in [DType::Float64, DType::Float32] {
            let layer = BahdanauAttention::new(4);
            check_case(name, dtype, &layer, |i, m| {
                let (context, weights) =
                    layer.call_masked(&i["query"], &i["values"], m.get("mask"));
                vec![("context".into(), context), ("weights".into(), weights)]
            });
        }
    }
}

/// A cell's `step` is one step of its layer: decoding token by token gives the layer's
/// sequence.
#[test]
fn cell_steps_equal_the_layer() {
    fn check<C: RecurrentCell>(
        layer: Rnn<C>,
        step: impl Fn(&C, &Tensor, &[Tensor]) -> (Tensor, Vec<Tensor>),
    ) {
        let layer = layer.return_sequences(true);
        let x = Tensor::random_normal([2, 5, 3], 0.0, 1.0, DType::Float64);
        let (seq, last) = layer.call_full(&x, None, None);
        let mut states: Vec<Tensor> = (0..layer.cell().state_count())
            .map(|_| Tensor::zeros([2, 4], DType::Float64))
            .collect();
        for t in 0..5 {
            let (y, s) = step(layer.cell(), &x.narrow(1, t, 1).squeeze(&[1]), &states);
            assert_close("step", &y, &seq.narrow(1, t, 1).squeeze(&[1]), 1e-12, 1e-14);
            states = s;
        }
        for (a, b) in states.iter().zip(&last) {
            assert_close("final state", a, b, 1e-12, 1e-14);
        }
    }
    check(SimpleRnn::new(4), |c, x, s| c.step(x, s));
    check(Gru::new(4), |c, x, s| c.step(x, s));
    check(Gru::new(4).reset_after(false), |c, x, s| c.step(x, s));
    check(Lstm::new(4), |c, x, s| c.step(x, s));
}

#[test]
fn variables_follow_keras_names_and_shapes() {
    let gru = Gru::new(4);
    let _ = gru.call(&Tensor::ones([1, 2, 3], DType::Float32));
    let shapes: Vec<(String, Vec<usize>)> = gru
        .named_variables()
        .into_iter()
        .map(|(p, v)| (p, v.shape().dims().to_vec()))
        .collect();
    assert_eq!(
        shapes,
        [
            ("kernel".to_string(), vec![3, 12]),
            ("recurrent_kernel".to_string(), vec![4, 12]),
            ("bias".to_string(), vec![2, 12]),
        ]
    );
    let lstm = Lstm::new(2);
    let _ = lstm.call(&Tensor::ones([1, 2, 3], DType::Float32));
    // unit_forget_bias: the forget gate's slice starts at one.
    assert_eq!(
        lstm.cell().bias().unwrap().value().to_vec::<f32>(),
        [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    );
    let bi = Bidirectional::new(SimpleRnn::new(2));
    let _ = bi.call(&Tensor::ones([1, 2, 3], DType::Float32));
    let names: Vec<String> = bi.named_variables().into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        names,
        [
            "forward_layer.kernel",
            "forward_layer.recurrent_kernel",
            "forward_layer.bias",
            "backward_layer.kernel",
            "backward_layer.recurrent_kernel",
            "backward_layer.bias"
        ]
    );
    let mha = MultiHeadAttention::new(2, 3);
    let x = Tensor::ones([1, 2, 5], DType::Float32);
    let _ = mha.call(&x, &x);
    let shapes: Vec<(String, Vec<usize>)> = mha
        .named_variables()
        .into_iter()
        .map(|(p, v)| (p, v.shape().dims().to_vec()))
        .collect();
    assert_eq!(shapes[0], ("query.kernel".to_string(), vec![5, 2, 3]));
    assert_eq!(shapes[1], ("query.bias".to_string(), vec![2, 3]));
    assert_eq!(
        shapes[6],
        ("attention_output.kernel".to_string(), vec![2, 3, 5])
    );
    assert_eq!(shapes[7], ("attention_output.bias".to_string(), vec![5]));
}

fn weighted_sum(t: &Tensor, seed: f64) -> Tensor {
    // A fixed, non-uniform cotangent so that errors cannot cancel.
    let w = Tensor::linspace(-1.0, 1.0, t.numel(), DType::Float64)
        .add(seed)
        .reshape_dims(&t.dims().iter().map(|&d| d as isize).collect::<Vec<_>>());
    t.mul(&w).sum_all()
}

fn mask_2x4() -> Tensor {
    Tensor::from([[true, true, false, true], [true, false, true, true]])
}

/// Float64 finite differences through the loops (with masks and initial states), with
/// respect to the inputs, the states and every weight.
#[test]
fn recurrent_gradients_match_finite_differences() {
    let x = Tensor::random_normal([2, 4, 3], 0.0, 1.0, DType::Float64);
    let h = Tensor::random_normal([2, 3], 0.0, 0.5, DType::Float64);
    let c = Tensor::random_normal([2, 3], 0.0, 0.5, DType::Float64);
    gradcheck_layer(
        || Gru::new(3).return_sequences(true),
        |l: &Gru, xs: &[Tensor], _| {
            let (y, s) = l.call_full(&xs[0], Some(&xs[1..]), Some(&mask_2x4()));
            weighted_sum(&y, 0.1).add(&weighted_sum(&s[0], 0.3))
        },
        &[x.clone(), h.clone()],
        false,
    );
    gradcheck_layer(
        || Lstm::new(3).go_backwards(true),
        |l: &Lstm, xs: &[Tensor], _| {
            let (y, s) = l.call_full(&xs[0], Some(&xs[1..]), Some(&mask_2x4()));
            weighted_sum(&y, 0.2).add(&weighted_sum(&s[1], -0.4))
        },
        &[x.clone(), h.clone(), c],
        false,
    );
    gradcheck_layer(
        || Gru::new(3).reset_after(false),
        |l: &Gru, xs: &[Tensor], _| weighted_sum(&l.call(&xs[0]), 0.5),
        std::slice::from_ref(&x),
        false,
    );
    gradcheck_layer(
        || Bidirectional::new(SimpleRnn::new(2).return_sequences(true)),
        |l: &Bidirectional<SimpleRnnCell>, xs: &[Tensor], _| {
            weighted_sum(&l.call_full(&xs[0], None, Some(&mask_2x4())).0, -0.2)
        },
        &[x],
        false,
    );
}

#[test]
fn attention_gradients_match_finite_differences() {
    let q = Tensor::random_normal([2, 3, 4], 0.0, 1.0, DType::Float64);
    let v = Tensor::random_normal([2, 5, 4], 0.0, 1.0, DType::Float64);
    let h = Tensor::random_normal([2, 6], 0.0, 1.0, DType::Float64);
    let vmask = || {
        Tensor::from([
            [true, true, true, false, false],
            [true, true, true, true, true],
        ])
    };
    gradcheck_layer(
        AdditiveAttention::new,
        |l: &AdditiveAttention, xs: &[Tensor], _| {
            let (o, w) = l.call_with(&xs[0], &xs[1], None, None, Some(&vmask()));
            weighted_sum(&o, 0.1).add(&weighted_sum(&w, 0.2))
        },
        &[q.clone(), v.clone()],
        false,
    );
    gradcheck_layer(
        || {
            Attention::new()
                .use_scale(true)
                .score_mode(ScoreMode::Concat)
        },
        |l: &Attention, xs: &[Tensor], _| weighted_sum(&l.call(&xs[0], &xs[1]), 0.3),
        &[q.clone(), v.clone()],
        false,
    );
    gradcheck_layer(
        || MultiHeadAttention::new(2, 3).use_causal_mask(true),
        |l: &MultiHeadAttention, xs: &[Tensor], _| {
            let (o, w) = l.call_with(&xs[0], &xs[1], None, None);
            weighted_sum(&o, -0.1).add(&weighted_sum(&w, 0.4))
        },
        &[q, v.clone()],
        false,
    );
    gradcheck_layer(
        || BahdanauAttention::new(3),
        |l: &BahdanauAttention, xs: &[Tensor], _| {
            let (c, w) = l.call_masked(&xs[0], &xs[1], Some(&vmask()));
            weighted_sum(&c, 0.2).add(&weighted_sum(&w, -0.3))
        },
        &[h, v],
        false,
    );
}

/// The shared harness: shapes, paths, a gradient for every variable, save/load round trip.
#[test]
fn recurrent_layers_pass_the_harness() {
    let x = Tensor::random_normal([2, 5, 3], 0.0, 1.0, DType::Float32);
    let rnn_vars = ["kernel", "recurrent_kernel", "bias"];
    LayerTest::new(x.clone())
        .output_shape(&[2, 4])
        .trainable(&rnn_vars)
        .run(|| SimpleRnn::new(4));
    LayerTest::new(x.clone())
        .output_shape(&[2, 5, 4])
        .trainable(&rnn_vars)
        .run(|| Gru::new(4).return_sequences(true));
    LayerTest::new(x.clone())
        .output_shape(&[2, 4])
        .trainable(&rnn_vars)
        .run(|| Gru::new(4).reset_after(false).go_backwards(true));
    LayerTest::new(x.clone())
        .output_shape(&[2, 5, 4])
        .trainable(&rnn_vars)
        .run(|| Lstm::new(4).return_sequences(true));
    LayerTest::new(x.clone())
        .output_shape(&[2, 4])
        .trainable(&["kernel", "recurrent_kernel"])
        .run(|| Lstm::new(4).use_bias(false));
    LayerTest::new(x)
        .output_shape(&[2, 5, 8])
        .trainable(&[
            "forward_layer.kernel",
            "forward_layer.recurrent_kernel",
            "forward_layer.bias",
            "backward_layer.kernel",
            "backward_layer.recurrent_kernel",
            "backward_layer.bias",
        ])
        .run(|| Bidirectional::new(Gru::new(4).return_sequences(true)));
}

#[test]
fn attention_layers_pass_the_harness() {
    let q = Tensor::random_normal([2, 3, 4], 0.0, 1.0, DType::Float32);
    let v = Tensor::random_normal([2, 5, 4], 0.0, 1.0, DType::Float32);
    let qv = LayerTest::inputs(vec![q, v.clone()]).output_shape(&[2, 3, 4]);
    qv.clone()
        .trainable(&["scale"])
        .run_with(AdditiveAttention::new, |l: &AdditiveAttention, xs, _| {
            l.call(&xs[0], &xs[1])
        });
    qv.clone()
        .trainable(&["scale", "concat_score_weight"])
        .run_with(
            || {
                Attention::new()
                    .use_scale(true)
                    .score_mode(ScoreMode::Concat)
            },
            |l: &Attention, xs, _| l.call(&xs[0], &xs[1]),
        );
    qv.trainable(&[
        "query.kernel",
        "query.bias",
        "key.kernel",
        "key.bias",
        "value.kernel",
        "value.bias",
        "attention_output.kernel",
        "attention_output.bias",
    ])
    .run_with(
        || MultiHeadAttention::new(2, 3),
        |l: &MultiHeadAttention, xs, _| l.call(&xs[0], &xs[1]),
    );
    let h = Tensor::random_normal([2, 6], 0.0, 1.0, DType::Float32);
    LayerTest::inputs(vec![h, v])
        .output_shape(&[2, 4])
        .trainable(&[
            "w1.kernel",
            "w1.bias",
            "w2.kernel",
            "w2.bias",
            "v.kernel",
            "v.bias",
        ])
        .run_with(
            || BahdanauAttention::new(3),
            |l: &BahdanauAttention, xs, _| l.call(&xs[0], &xs[1]).0,
        );
}

#[test]
#[should_panic(
    expected = "Gru `encoder`: expects input of shape (batch, time, features) with time >= 1, got (2, 3)"
)]
fn rnn_names_itself_on_a_bad_rank() {
    let _ = Gru::new(4)
        .name("encoder")
        .call(&Tensor::ones([2, 3], DType::Float32));
}

#[test]
#[should_panic(expected = "Lstm: built for inputs with 3 features, got shape (2, 5, 4)")]
fn rnn_refuses_another_feature_size() {
    let lstm = Lstm::new(4);
    let _ = lstm.call(&Tensor::ones([2, 5, 3], DType::Float32));
    let _ = lstm.call(&Tensor::ones([2, 5, 4], DType::Float32));
}

#[test]
#[should_panic(expected = "Gru: initial_state: state 0 must have shape (2, 4), got (2, 3)")]
fn rnn_names_a_bad_initial_state() {
    let h = Tensor::zeros([2, 3], DType::Float32);
    let _ = Gru::new(4).call_with_state(&Tensor::ones([2, 5, 3], DType::Float32), &[h]);
}

#[test]
#[should_panic(
    expected = "Gru: mask must be bool of shape (2, 5) for input (2, 5, 3), got bool (2, 4)"
)]
fn rnn_names_a_bad_mask() {
    let m = Tensor::full([2, 4], 1.0, DType::Bool);
    let _ = Gru::new(4).call_full(&Tensor::ones([2, 5, 3], DType::Float32), None, Some(&m));
}

#[test]
#[should_panic(expected = "LstmCell: expects 2 state tensor(s), got 1")]
fn cell_names_a_missing_state() {
    let h = Tensor::zeros([2, 4], DType::Float32);
    let _ = LstmCell::new(4).step(&Tensor::ones([2, 3], DType::Float32), &[h]);
}

#[test]
#[should_panic(
    expected = "Attention: query (2, 3, 4) and key (2, 5, 6) must have the same last axis"
)]
fn attention_names_both_shapes() {
    let _ = Attention::new().call(
        &Tensor::ones([2, 3, 4], DType::Float32),
        &Tensor::ones([2, 5, 6], DType::Float32),
    );
}

#[test]
#[should_panic(
    expected = "MultiHeadAttention `self_attn`: attention_mask must be bool of shape (2, 3, 3), got bool (2, 3)"
)]
fn mha_names_a_bad_mask() {
    let x = Tensor::ones([2, 3, 4], DType::Float32);
    let m = Tensor::full([2, 3], 1.0, DType::Bool);
    let _ = MultiHeadAttention::new(2, 2)
        .name("self_attn")
        .call_with(&x, &x, None, Some(&m));
}

/// With Keras' default activations a GRU or LSTM step's gates are one fused tape node.
#[test]
fn default_gates_take_the_fused_kernels() {
    let x = Tensor::ones([2, 3], DType::Float32);
    let h = Tensor::zeros([2, 4], DType::Float32);
    let gru = GruCell::new(4);
    let lstm = LstmCell::new(4);
    let _ = gru.step(&x, std::slice::from_ref(&h));
    let _ = lstm.step(&x, &[h.clone(), h.clone()]);
    let tape = GradientTape::new();
    let _ = gru.step(&x, std::slice::from_ref(&h));
    let _ = lstm.step(&x, &[h.clone(), h.clone()]);
    let ops = tape.op_names();
    assert!(ops.contains(&"gru_gates"), "{ops:?}");
    assert!(ops.contains(&"lstm_gates"), "{ops:?}");
    assert!(!ops.contains(&"sigmoid"), "{ops:?}");
}

/// Two models trained against each other keep two tapes alive around one forward pass; the
/// fused GRU/LSTM rules are first order only, which must not get in the way of either tape's
/// first-order gradient, while a real gradient of a gradient through them is a clear error.
#[test]
fn fused_recurrent_rules_under_two_live_tapes() {
    let x = Tensor::random_normal([4, 5, 3], 0.0, 1.0, DType::Float32);
    for lstm in [false, true] {
        let rnn: Box<dyn Layer> = if lstm {
            Box::new(Lstm::new(6))
        } else {
            Box::new(Gru::new(6))
        };
        let head = Dense::new(1);
        let _ = head.call(&rnn.forward(&x, true));
        let rnn_vars = rnn.trainable_variables();
        let head_vars = head.trainable_variables();

        let rnn_tape = GradientTape::new();
        let head_tape = GradientTape::new();
        let out = head.call(&rnn.forward(&x, true)).square().sum_all();
        // The recurrent tape walks first, while the head's tape still records.
        let gr = rnn_tape.gradient(&out, &rnn_vars);
        let gh = head_tape.gradient(&out, &head_vars);
        assert!(gh.iter().chain(&gr).all(Option::is_some), "lstm={lstm}");

        // A gradient penalty differentiates the inner gradient: refused, naming the fused rule.
        let outer = GradientTape::new();
        let inner = GradientTape::new();
        let out = head.call(&rnn.forward(&x, true)).square().sum_all();
        let g = inner.gradient(&out, &rnn_vars)[0].clone().unwrap();
        let err = outer
            .try_gradient(&g.square().sum_all(), &rnn_vars)
            .expect_err("second order through a fused recurrent rule");
        let name = if lstm { "lstm_gates" } else { "gru_gates" };
        assert!(err.message().contains(name), "{err}");
        assert!(err.message().contains("first-order-only"), "{err}");
    }
}
