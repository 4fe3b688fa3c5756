//! `#[derive(Module)]`: variable paths from field names, containers, skipped fields, gradients.

use keen_nn::prelude::*;
use keen_tape::GradientTape;
use keen_tensor::{DType, Tensor};

#[derive(Module)]
struct Attention {
    w1: Dense,
    w2: Dense,
    v: Dense,
}

#[derive(Module)]
struct Decoder {
    attention: Attention,
    heads: Vec<Dense>,
    extra: Option<Dense>,
    absent: Option<Dense>,
    units: usize,
    #[module(skip)]
    _note: std::cell::Cell<u8>,
}

fn decoder() -> Decoder {
    Decoder {
        attention: Attention {
            w1: Dense::new(4),
            w2: Dense::new(4),
            v: Dense::new(1).use_bias(false),
        },
        heads: vec![Dense::new(2), Dense::new(3)],
        extra: Some(Dense::new(5)),
        absent: None,
        units: 4,
        _note: std::cell::Cell::new(0),
    }
}

impl Decoder {
    fn call(&self, x: &Tensor) -> Tensor {
        let a = &self.attention;
        let score = a.v.call(&a.w1.call(x).add(&a.w2.call(x)).tanh());
        let h = x.mul(&score);
        let outs: Vec<Tensor> = self.heads.iter().map(|d| d.call(&h).sum_all()).collect();
        let e = self.extra.as_ref().unwrap().call(&h).sum_all();
        outs.into_iter().fold(e, |acc, t| acc.add(&t))
    }
}

#[test]
fn paths_follow_field_names_and_containers() {
    let d = decoder();
    assert!(
        d.variables().is_empty(),
        "layers build lazily on first call"
    );
    let _ = d.call(&Tensor::ones([2, 3], DType::Float64));
    let names: Vec<String> = d.named_variables().into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        names,
        [
            "attention.w1.kernel",
            "attention.w1.bias",
            "attention.w2.kernel",
            "attention.w2.bias",
            "attention.v.kernel",
            "heads.0.kernel",
            "heads.0.bias",
            "heads.1.kernel",
            "heads.1.bias",
            "extra.kernel",
            "extra.bias",
        ]
    );
    assert_eq!(d.units, 4);
    assert_eq!(
        d.count_params(),
        (3 * 4 + 4) * 2 + 4 + (3 * 2 + 2) + (3 * 3 + 3) + (3 * 5 + 5)
    );
}

#[test]
fn every_trainable_variable_gets_a_gradient() {
    let d = decoder();
    let x = Tensor::random_normal([2, 3], 0.0, 1.0, DType::Float64);
    let _ = d.call(&x);
    let vars = d.trainable_variables();
    let tape = GradientTape::new();
    let loss = d.call(&x);
    let grads = tape.gradient(&loss, &vars);
    for ((name, _), g) in d.named_variables().iter().zip(&grads) {
        let g = g
            .as_ref()
            .unwrap_or_else(|| panic!("{name} got no gradient"));
        assert!(g.to_vec::<f64>().iter().all(|v| v.is_finite()), "{name}");
    }
}

#[test]
#[should_panic(expected = "Dense `fc`: built for inputs with last axis 3, got shape (2, 4)")]
fn a_built_layer_refuses_another_input_size() {
    let fc = Dense::new(2).name("fc");
    let _ = fc.call(&Tensor::ones([2, 3], DType::Float32));
    let _ = fc.call(&Tensor::ones([2, 4], DType::Float32));
}

#[test]
fn dense_matches_keras_on_a_fixed_kernel() {
    // keras.layers.Dense(2, activation="relu") with kernel [[1,-1],[2,0.5],[-1,1]], bias [0.5,-2]
    // on x = [[1, 2, 3]]: x·k + b = [1+4-3+0.5, -1+1+3-2] = [2.5, 1] -> relu -> [2.5, 1].
    let layer = Dense::new(2).activation(Activation::Relu);
    layer.build(3, DType::Float32);
    layer
        .kernel()
        .unwrap()
        .assign(&Tensor::from([[1.0f32, -1.0], [2.0, 0.5], [-1.0, 1.0]]));
    layer.bias().unwrap().assign(&Tensor::from([0.5f32, -2.0]));
    let y = layer.call(&Tensor::from([[1.0f32, 2.0, 3.0]]));
    assert_eq!(y.to_vec::<f32>(), [2.5, 1.0]);
    // Rank-3 input folds its leading axes.
    let y3 = layer.call(&Tensor::from([[[1.0f32, 2.0, 3.0]], [[0.0, 0.0, 0.0]]]));
    assert_eq!(y3.dims(), [2, 1, 2]);
    assert_eq!(y3.to_vec::<f32>(), [2.5, 1.0, 0.5, 0.0]);
}
