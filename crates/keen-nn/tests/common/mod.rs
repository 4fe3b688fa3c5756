//! The shared layer test harness, Keras' `run_layer_test` in Rust form.
//!
//! Use it from an integration test with `mod common;` and
//!
//! ```ignore
//! let x = Tensor::random_normal([2, 5, 5, 3], 0.0, 1.0, DType::Float32);
//! LayerTest::new(x)
//!     .output_shape(&[2, 5, 5, 8])
//!     .trainable(&["kernel", "bias"])
//!     .run(|| Conv2d::new(8, [3, 3]).padding(Padding::Same));
//! ```
//!
//! `run` checks, for a layer made fresh by the constructor:
//! * the output shape in both training modes (and that both modes run);
//! * the variables' paths, split into trainable and non-trainable, in declaration order;
//! * that every trainable variable (and every float input) receives a finite gradient of
//!   `sum(output * cotangent)` in both modes, shaped like what it is the gradient of;
//! * that saving the variables by path (safetensors bytes) and assigning them into a second
//!   freshly built layer reproduces the inference output bit for bit.
//!
//! [`gradcheck_layer`] adds a float64 finite-difference check with respect to the inputs and
//! every trainable variable. Layers with several inputs or a call other than
//! `Layer::forward` use [`LayerTest::run_with`] / a custom `call` closure.

// Each test binary uses a different subset of the harness.
#![allow(dead_code)]

use keen_nn::{Layer, Module};
use keen_tape::checkpoint::{parse_safetensors, safetensors_bytes};
use keen_tape::gradcheck::{gradcheck_with, GradcheckOptions};
use keen_tape::{GradientTape, Variable};
use keen_tensor::{DType, Tensor};
use std::path::Path;

/// Expectations for one layer, checked by [`run`](Self::run) / [`run_with`](Self::run_with).
#[derive(Clone, Debug)]
pub struct LayerTest {
    inputs: Vec<Tensor>,
    output_shape: Option<Vec<usize>>,
    trainable: Vec<String>,
    non_trainable: Vec<String>,
    input_gradients: bool,
}

fn is_float(t: &Tensor) -> bool {
    matches!(t.dtype(), DType::Float32 | DType::Float64)
}

fn shape_str(d: &[usize]) -> String {
    match d {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            d.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl LayerTest {
    /// A test feeding `input` to a one-input layer.
    pub fn new(input: Tensor) -> Self {
        Self::inputs(vec![input])
    }

    /// A test feeding several inputs (for `run_with`).
    pub fn inputs(inputs: Vec<Tensor>) -> Self {
        LayerTest {
            inputs,
            output_shape: None,
            trainable: Vec::new(),
            non_trainable: Vec::new(),
            input_gradients: true,
        }
    }

    /// The expected output shape.
    pub fn output_shape(mut self, dims: &[usize]) -> Self {
        self.output_shape = Some(dims.to_vec());
        self
    }

    /// The expected trainable variable paths, in declaration order.
    pub fn trainable(mut self, paths: &[&str]) -> Self {
        self.trainable = paths.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The expected non-trainable variable paths, in declaration order.
    pub fn non_trainable(mut self, paths: &[&str]) -> Self {
        self.non_trainable = paths.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Do not require a gradient with respect to the float inputs (a layer that ignores an
    /// input, or one whose output is a constant of it).
    pub fn no_input_gradient(mut self) -> Self {
        self.input_gradients = false;
        self
    }

    /// Runs every check on a one-input [`Layer`] through `Layer::forward`; returns the layer
    /// it tested (built, after one training call).
    #[track_caller]
    pub fn run<L: Layer>(&self, make: impl Fn() -> L) -> L {
        assert_eq!(
            self.inputs.len(),
            1,
            "LayerTest::run feeds one input; use run_with for {}",
            self.inputs.len()
        );
        self.run_with(make, |l: &L, xs: &[Tensor], training| {
            l.forward(&xs[0], training)
        })
    }

    /// Runs every check with an explicit `call(layer, inputs, training)`.
    #[track_caller]
    pub fn run_with<L: Module>(
        &self,
        make: impl Fn() -> L,
        call: impl Fn(&L, &[Tensor], bool) -> Tensor,
    ) -> L {
        let layer = make();
        let name = std::any::type_name::<L>()
            .rsplit("::")
            .next()
            .unwrap_or("layer");
        for training in [false, true] {
            let y = call(&layer, &self.inputs, training);
            if let Some(want) = &self.output_shape {
                assert_eq!(
                    y.dims(),
                    want.as_slice(),
                    "{name}: output shape with training={training} is {}, expected {}",
                    shape_str(y.dims()),
                    shape_str(want)
                );
            }
        }
        self.check_paths(name, &layer);
        for training in [false, true] {
            self.check_gradients(name, &layer, &call, training);
        }
        self.check_round_trip(name, &layer, &make, &call);
        layer
    }

    fn check_paths<L: Module>(&self, name: &str, layer: &L) {
        let split = |trainable: bool| -> Vec<String> {
            layer
                .named_variables()
                .into_iter()
                .filter(|(_, v)| v.trainable() == trainable)
                .map(|(p, _)| p)
                .collect()
        };
        assert_eq!(
            split(true),
            self.trainable,
            "{name}: trainable variable paths"
        );
        assert_eq!(
            split(false),
            self.non_trainable,
            "{name}: non-trainable variable paths"
        );
    }

    fn check_gradients<L: Module>(
        &self,
        name: &str,
        layer: &L,
        call: &impl Fn(&L, &[Tensor], bool) -> Tensor,
        training: bool,
    ) {
        let named: Vec<(String, Variable)> = layer
            .named_variables()
            .into_iter()
            .filter(|(_, v)| v.trainable())
            .collect();
        let vars: Vec<Variable> = named.iter().map(|(_, v)| v.clone()).collect();
        let tape = GradientTape::persistent();
        for x in self.inputs.iter().filter(|x| is_float(x)) {
            tape.watch(x);
        }
        let y = call(layer, &self.inputs, training);
        // A random cotangent rather than ones: with ones, a normalisation layer's scale would
        // get an exact zero gradient and mask a disconnected one.
        let cot = Tensor::random_normal(y.shape().clone(), 0.0, 1.0, y.dtype());
        let loss = y.mul(&cot).sum_all();
        let sources: Vec<Tensor> = if self.input_gradients {
            self.inputs
                .iter()
                .filter(|x| is_float(x))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let input_grads = tape.gradient(&loss, &sources);
        let var_grads = tape.gradient(&loss, &vars);
        for (i, g) in input_grads.iter().enumerate() {
            let g = g.as_ref().unwrap_or_else(|| {
                panic!("{name}: input {i} got no gradient (training={training})")
            });
            check_grad(name, &format!("input {i}"), g, &sources[i], training);
        }
        for ((path, v), g) in named.iter().zip(&var_grads) {
            let g = g.as_ref().unwrap_or_else(|| {
                panic!("{name}: trainable variable `{path}` got no gradient (training={training})")
            });
            check_grad(
                name,
                &format!("`{path}`"),
                g,
                &v.value_unwatched(),
                training,
            );
        }
    }

    fn check_round_trip<L: Module>(
        &self,
        name: &str,
        layer: &L,
        make: &impl Fn() -> L,
        call: &impl Fn(&L, &[Tensor], bool) -> Tensor,
    ) {
        let y = call(layer, &self.inputs, false);
        let named = layer.named_variables();
        let values: Vec<Tensor> = named.iter().map(|(_, v)| v.value_unwatched()).collect();
        let pairs: Vec<(&str, &Tensor)> =
            named.iter().map(|(p, _)| p.as_str()).zip(&values).collect();
        let bytes = safetensors_bytes(&pairs).expect("variables serialise");
        let saved = parse_safetensors(Path::new("<memory>"), &bytes).expect("bytes parse back");
        let fresh = make();
        let _ = call(&fresh, &self.inputs, false); // builds the variables
        let fresh_named = fresh.named_variables();
        assert_eq!(
            fresh_named.len(),
            named.len(),
            "{name}: a fresh layer has another number of variables"
        );
        for (path, v) in &fresh_named {
            let t = saved
                .get(path)
                .unwrap_or_else(|| panic!("{name}: `{path}` is not in the saved variables"));
            v.assign(t);
        }
        let y2 = call(&fresh, &self.inputs, false);
        assert_eq!(
            y.to_f64_vec(),
            y2.to_f64_vec(),
            "{name}: output changed after a save/load round trip"
        );
    }
}

fn check_grad(name: &str, what: &str, g: &Tensor, like: &Tensor, training: bool) {
    assert_eq!(
        (g.dims(), g.dtype()),
        (like.dims(), like.dtype()),
        "{name}: gradient of {what} has the wrong shape or dtype (training={training})"
    );
    assert!(
        g.to_f64_vec().iter().all(|v| v.is_finite()),
        "{name}: gradient of {what} is not finite (training={training})"
    );
}

/// Float64 finite-difference check of a layer's gradients with respect to its float inputs and
/// every trainable variable (PyTorch's tolerances; `inputs` must be float64 where float).
///
/// The layer is made by `make` and built by one call on `inputs`; the variables are then
/// treated as extra inputs of the checked function (assigned before each evaluation) and
/// restored afterwards.
#[track_caller]
pub fn gradcheck_layer<L: Module>(
    make: impl Fn() -> L,
    call: impl Fn(&L, &[Tensor], bool) -> Tensor,
    inputs: &[Tensor],
    training: bool,
) -> L {
    let layer = make();
    let _ = call(&layer, inputs, training);
    let named: Vec<(String, Variable)> = layer
        .named_variables()
        .into_iter()
        .filter(|(_, v)| v.trainable())
        .collect();
    for (path, v) in &named {
        assert_eq!(
            v.dtype(),
            DType::Float64,
            "gradcheck_layer: `{path}` is not float64; build the layer with float64 inputs"
        );
    }
    let saved: Vec<Tensor> = named.iter().map(|(_, v)| v.value_unwatched()).collect();
    let n_in = inputs.len();
    let mut all: Vec<Tensor> = inputs.to_vec();
    all.extend(saved.iter().cloned());
    let f = |ts: &[Tensor]| -> Tensor {
        for ((_, v), t) in named.iter().zip(&ts[n_in..]) {
            v.assign(t);
        }
        call(&layer, &ts[..n_in], training)
    };
    let result = gradcheck_with(&f, &all, GradcheckOptions::default());
    for ((_, v), t) in named.iter().zip(&saved) {
        v.assign(t);
    }
    if let Err(e) = result {
        let labels: Vec<String> = (0..n_in)
            .map(|i| format!("input {i} = x{i}"))
            .chain(
                named
                    .iter()
                    .enumerate()
                    .map(|(i, (p, _))| format!("input {} = `{p}`", n_in + i)),
            )
            .collect();
        panic!("gradcheck_layer: {e}\n  ({})", labels.join(", "));
    }
    layer
}

/// Asserts `got` equals `want` elementwise to `rtol` relative (with an absolute floor `atol`
/// for values near zero), naming the first element that differs.
#[track_caller]
pub fn assert_close(what: &str, got: &Tensor, want: &Tensor, rtol: f64, atol: f64) {
    assert_eq!(
        got.dims(),
        want.dims(),
        "{what}: shape {} vs expected {}",
        shape_str(got.dims()),
        shape_str(want.dims())
    );
    let (g, w) = (got.to_f64_vec(), want.to_f64_vec());
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - b).abs() <= atol + rtol * b.abs(),
            "{what}: element {i} is {a} but expected {b} (|diff| {:e})",
            (a - b).abs()
        );
    }
}

/// A fixture tensor `{"shape": [...], "data": [...]}` (bools stay bool, numbers become `dtype`).
pub fn json_tensor(v: &serde_json::Value, dtype: DType) -> Tensor {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"].as_array().unwrap();
    if data.first().is_some_and(|d| d.is_boolean()) {
        let b: Vec<bool> = data.iter().map(|d| d.as_bool().unwrap()).collect();
        return Tensor::from_vec(b, shape);
    }
    let d: Vec<f64> = data.iter().map(|d| d.as_f64().unwrap()).collect();
    Tensor::from_vec(d, shape).cast(dtype)
}
