//! The shared layer harness (`tests/common`) on the core layers, and that it catches what it
//! claims to catch.

mod common;

use common::{gradcheck_layer, LayerTest};
use keen_nn::prelude::*;
use keen_tape::Variable;
use keen_tensor::{DType, Tensor};

#[test]
fn dense_passes_the_harness() {
    let x = Tensor::random_normal([4, 3], 0.0, 1.0, DType::Float32);
    LayerTest::new(x)
        .output_shape(&[4, 2])
        .trainable(&["kernel", "bias"])
        .run(|| Dense::new(2).activation(Activation::Tanh));
}

#[test]
fn dropout_passes_the_harness() {
    let x = Tensor::random_normal([4, 3], 0.0, 1.0, DType::Float32);
    LayerTest::new(x)
        .output_shape(&[4, 3])
        .run(|| Dropout::new(0.5));
}

#[test]
fn dense_gradcheck_in_float64() {
    let x = Tensor::random_normal([3, 4], 0.0, 1.0, DType::Float64);
    gradcheck_layer(
        || Dense::new(2).activation(Activation::Tanh),
        |l: &Dense, xs: &[Tensor], _| l.call(&xs[0]),
        &[x],
        false,
    );
}

/// A layer whose second variable never reaches the output.
struct Detached {
    dense: Dense,
    unused: std::sync::OnceLock<Variable>,
}

impl Module for Detached {
    fn visit(&self, walk: &mut Walk<'_>) {
        walk.field("dense", &self.dense);
        if let Some(v) = self.unused.get() {
            walk.variable("unused", v);
        }
    }
}

#[test]
#[should_panic(expected = "trainable variable `unused` got no gradient")]
fn a_disconnected_variable_fails_the_harness() {
    let x = Tensor::random_normal([4, 3], 0.0, 1.0, DType::Float32);
    LayerTest::new(x)
        .output_shape(&[4, 2])
        .trainable(&["dense.kernel", "dense.bias", "unused"])
        .run_with(
            || Detached {
                dense: Dense::new(2),
                unused: std::sync::OnceLock::new(),
            },
            |l: &Detached, xs: &[Tensor], _| {
                l.unused
                    .get_or_init(|| Variable::new("unused", Tensor::zeros([2], DType::Float32)));
                l.dense.call(&xs[0])
            },
        );
}

#[test]
#[should_panic(expected = "trainable variable paths")]
fn wrong_paths_fail_the_harness() {
    let x = Tensor::random_normal([4, 3], 0.0, 1.0, DType::Float32);
    LayerTest::new(x)
        .trainable(&["kernel"])
        .run(|| Dense::new(2));
}
