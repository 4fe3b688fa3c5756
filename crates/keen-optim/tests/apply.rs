//! `apply_gradients`' contract: missing gradients, misuse messages, dtypes, threads.

use keen_optim::*;
use keen_tape::{GradientTape, Variable};
use keen_tensor::{DType, Tensor};

fn vars() -> Vec<Variable> {
    vec![
        Variable::new("encoder.kernel", Tensor::from([1.0f32, 2.0])),
        Variable::new("decoder.attention.v.kernel", Tensor::from([3.0f32])),
        Variable::new("decoder.attention.v.bias", Tensor::from([4.0f32])),
    ]
}

#[test]
fn none_gradients_are_skipped() {
    let v = vars();
    let mut opt = Sgd::new(0.5);
    let grads = vec![Some(Tensor::from([1.0f32, 1.0])), None, None];
    opt.apply_gradients(&grads, &v);
    opt.apply_gradients(&grads, &v);
    assert_eq!(v[0].value().to_vec::<f32>(), [0.0, 1.0]);
    assert_eq!(v[1].value().to_vec::<f32>(), [3.0]);
    assert_eq!(opt.iterations(), 2);
    // Skipped variables get no slots.
    let mut adam = Adam::new(0.1);
    adam.apply_gradients(&grads, &v);
    assert_eq!(adam.state().slots.len(), 2);
}

#[test]
fn a_loss_from_a_tape_that_misses_a_variable() {
    let v = vars();
    let tape = GradientTape::new();
    let loss = v[0].value().square().sum_all();
    let grads = tape.gradient(&loss, &v);
    assert!(grads[1].is_none());
    let mut opt = Adam::new(0.1);
    opt.apply_gradients(&grads, &v); // warns on stderr, updates `encoder.kernel`
    assert_ne!(v[0].value().to_vec::<f32>(), [1.0, 2.0]);
}

#[test]
#[should_panic(
    expected = "apply_gradients: no gradients for any variable: is the loss connected to the model? (variables: `encoder.kernel`, `decoder.attention.v.kernel`, `decoder.attention.v.bias`)"
)]
fn all_none_is_an_error() {
    Adam::new(0.1).apply_gradients(&[None, None, None], &vars());
}

#[test]
fn all_none_changes_nothing() {
    let v = vars();
    let mut opt = Adam::new(0.1);
    assert!(opt.try_apply_gradients(&[None, None, None], &v).is_err());
    assert_eq!(opt.iterations(), 0);
}

#[test]
fn misuse_reads_like_a_sentence() {
    let v = vars();
    let mut opt = Sgd::new(0.1);
    let msg = |r: Result<(), OptimizerError>| r.unwrap_err().message().to_string();
    assert_eq!(
        msg(opt.try_apply_gradients(&[None], &v)),
        "apply_gradients: 1 gradients for 3 variables"
    );
    assert_eq!(
        msg(opt.try_apply_gradients(&[], &[])),
        "apply_gradients: no variables to update (a model creates its variables on its first call; call it once before collecting them)"
    );
    let g = vec![Some(Tensor::from([1.0f32, 2.0, 3.0])), None, None];
    assert_eq!(
        msg(opt.try_apply_gradients(&g, &v)),
        "apply_gradients: the gradient for `encoder.kernel` has shape (3,) and dtype float32, but the variable has (2,) and float32"
    );
    let g = vec![Some(Tensor::from([1.0f64, 2.0])), None, None];
    assert_eq!(
        msg(opt.try_apply_gradients(&g, &v)),
        "apply_gradients: the gradient for `encoder.kernel` has shape (2,) and dtype float64, but the variable has (2,) and float32"
    );
    let twice = [v[0].clone(), v[0].clone()];
    let g = vec![Some(Tensor::from([1.0f32, 2.0])); 2];
    assert_eq!(
        msg(opt.try_apply_gradients(&g, &twice)),
        "apply_gradients: variable `encoder.kernel` appears twice (positions 0 and 1)"
    );
    let counter = Variable::non_trainable("step", Tensor::from([1i32]));
    assert_eq!(
        msg(opt.try_apply_gradients(&[Some(Tensor::from([1i32]))], &[counter])),
        "apply_gradients: variable `step` is int32; only float32 and float64 variables can be trained"
    );
    assert_eq!(opt.iterations(), 0);
}

#[test]
#[should_panic(expected = "Adam: clipvalue and clipnorm cannot both be set")]
fn two_clippings_are_refused() {
    let _ = Adam::new(0.1).clipnorm(1.0).clipvalue(0.5);
}

#[test]
#[should_panic(expected = "Adam: beta_1 must be in [0, 1), got 1")]
fn bad_hyperparameters_are_refused() {
    let _ = Adam::new(0.1).beta_1(1.0);
}

#[test]
fn float64_variables_get_float64_updates() {
    let w = Variable::new("w", Tensor::from([1.0f64]));
    let mut opt = Sgd::new(1e-10);
    opt.apply_gradients(&[Some(Tensor::from([1.0f64]))], std::slice::from_ref(&w));
    assert_eq!(w.value().dtype(), DType::Float64);
    assert_eq!(w.value().item::<f64>(), 1.0 - 1e-10); // lost in float32
}

#[test]
fn the_old_value_is_never_written() {
    let w = Variable::new("w", Tensor::from([1.0f32, 2.0]));
    let before = w.value();
    Adam::new(0.1).apply_gradients(
        &[Some(Tensor::from([1.0f32, 1.0]))],
        std::slice::from_ref(&w),
    );
    assert_eq!(before.to_vec::<f32>(), [1.0, 2.0]);
    assert!(!before.shares_storage(&w.value()));
}

#[test]
fn non_contiguous_gradients_are_fine() {
    let w = Variable::new("w", Tensor::from([[1.0f32, 2.0], [3.0, 4.0]]));
    let g = Tensor::from([[1.0f32, 0.0], [0.0, 2.0]]).transpose(0, 1);
    Sgd::new(1.0).apply_gradients(&[Some(g)], std::slice::from_ref(&w));
    assert_eq!(w.value().to_vec::<f32>(), [0.0, 2.0, 3.0, 2.0]);
}

/// Large variables are split across threads; the result must not depend on how many.
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let n = 300_001;
    let init: Vec<f32> = (0..n)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.01)
        .collect();
    let grad: Vec<f32> = (0..n)
        .map(|i| ((i * 13 % 97) as f32 - 48.0) * 0.003)
        .collect();
    let run = || {
        let w = Variable::new("w", Tensor::from_vec(init.clone(), [n]));
        let mut opt = Adam::new(0.01)
            .amsgrad(true)
            .global_clipnorm(1.0)
            .weight_decay(0.1);
        for _ in 0..3 {
            opt.apply_gradients(
                &[Some(Tensor::from_vec(grad.clone(), [n]))],
                std::slice::from_ref(&w),
            );
        }
        w.value().to_vec::<f32>()
    };
    let many = run();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(run);
    assert!(many
        .iter()
        .zip(&one)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn free_clipping_functions() {
    let g = Tensor::from([3.0f64, -4.0]);
    assert_eq!(
        clip::clip_by_value(&g, -1.0, 1.0).to_vec::<f64>(),
        [1.0, -1.0]
    );
    assert_eq!(clip::clip_by_norm(&g, 1.0).to_vec::<f64>(), [0.6, -0.8]);
    assert_eq!(
        clip::global_norm(&[Some(g.clone()), Some(Tensor::from([12.0f64]))]),
        13.0
    );
}
