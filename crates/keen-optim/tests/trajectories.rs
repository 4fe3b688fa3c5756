//! 50-step trajectories of every optimizer and option combination against Keras 3's
//! algorithms, written out in PyTorch by `fixtures/gen_optim.py` (which also checks the
//! written-out rules against `torch.optim` where Keras and PyTorch agree).
//!
//! The problem: w (3, 2), b (2,), loss = mean((tanh(x·w + b) − y)²) on a fixed batch of 5,
//! gradients from `GradientTape`. Float64 runs must match to 1e-9, float32 runs to 1e-5
//! (each step rounds in float32; the fixture is float64).

use keen_optim::*;
use keen_tape::{GradientTape, Variable};
use keen_tensor::{DType, Tensor};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/trajectories.json");

/// The optimizer for each fixture case, spelled as a user would (the fixture's `keras` field
/// holds the Keras spelling of the same configuration).
fn optimizer(name: &str) -> Box<dyn Optimizer> {
    match name {
        "sgd" => Box::new(Sgd::new(0.1)),
        "sgd_momentum" => Box::new(Sgd::new(0.05).momentum(0.9)),
        "sgd_nesterov" => Box::new(Sgd::new(0.05).momentum(0.9).nesterov(true)),
        "sgd_weight_decay" => Box::new(Sgd::new(0.1).weight_decay(0.05)),
        "sgd_clipvalue" => Box::new(Sgd::new(0.1).clipvalue(0.05)),
        "sgd_momentum_exponential_decay" => {
            Box::new(Sgd::new(ExponentialDecay::new(0.1, 10, 0.5)).momentum(0.9))
        }
        "sgd_exponential_decay_staircase" => {
            Box::new(Sgd::new(ExponentialDecay::new(0.2, 7, 0.5).staircase(true)))
        }
        "sgd_piecewise_constant" => Box::new(Sgd::new(PiecewiseConstantDecay::new(
            vec![10, 30],
            vec![0.2, 0.05, 0.01],
        ))),
        "adam" => Box::new(Adam::new(0.01)),
        "adam_amsgrad" => Box::new(Adam::new(0.01).amsgrad(true)),
        "adam_betas" => Box::new(Adam::new(0.02).beta_1(0.5).beta_2(0.9).epsilon(1e-3)),
        "adam_clipnorm" => Box::new(Adam::new(0.01).clipnorm(0.1)),
        "adam_global_clipnorm" => Box::new(Adam::new(0.01).global_clipnorm(0.1)),
        "adam_cosine_decay_warmup" => Box::new(Adam::new(
            CosineDecay::new(0.0, 40)
                .alpha(0.1)
                .warmup_target(0.02)
                .warmup_steps(10),
        )),
        "adam_cosine_decay" => Box::new(Adam::new(CosineDecay::new(0.02, 30))),
        "adam_inverse_time_decay" => Box::new(Adam::new(
            InverseTimeDecay::new(0.02, 5, 0.5).staircase(true),
        )),
        "adamw" => Box::new(AdamW::new(0.01)),
        "adamw_amsgrad" => Box::new(AdamW::new(0.01).weight_decay(0.1).amsgrad(true)),
        "rmsprop" => Box::new(RmsProp::new(0.01)),
        "rmsprop_momentum" => Box::new(RmsProp::new(0.005).momentum(0.9)),
        "rmsprop_centered" => Box::new(RmsProp::new(0.01).centered(true)),
        "rmsprop_centered_momentum" => Box::new(
            RmsProp::new(0.01)
                .rho(0.8)
                .momentum(0.5)
                .epsilon(1e-4)
                .centered(true),
        ),
        "rmsprop_polynomial_decay" => Box::new(RmsProp::new(
            PolynomialDecay::new(0.02, 40, 0.001).power(2.0),
        )),
        "adagrad" => Box::new(Adagrad::new(0.1)),
        "adagrad_options" => Box::new(
            Adagrad::new(0.05)
                .initial_accumulator_value(0.0)
                .epsilon(1e-4)
                .clipnorm(0.2),
        ),
        "adadelta" => Box::new(Adadelta::new(1.0)),
        "adadelta_rho" => Box::new(Adadelta::new(0.5).rho(0.9).epsilon(1e-6)),
        "adamax" => Box::new(Adamax::new(0.02)),
        "adamax_betas" => Box::new(
            Adamax::new(0.02)
                .beta_1(0.8)
                .beta_2(0.99)
                .epsilon(1e-3)
                .global_clipnorm(0.05),
        ),
        "nadam" => Box::new(Nadam::new(0.01)),
        "nadam_clipvalue_weight_decay" => Box::new(
            Nadam::new(0.01)
                .beta_1(0.8)
                .beta_2(0.99)
                .clipvalue(0.05)
                .weight_decay(0.01),
        ),
        other => panic!("no optimizer for fixture case `{other}`"),
    }
}

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).expect("trajectories.json parses")
}

fn floats(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(floats).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("not a number: {other}"),
    }
}

fn tensor(v: &Value, shape: &[usize], dtype: DType) -> Tensor {
    Tensor::from_vec(floats(v), shape.to_vec()).cast(dtype)
}

/// The tiny regression problem of the fixture, in `dtype`.
struct Problem {
    x: Tensor,
    y: Tensor,
    w: Variable,
    b: Variable,
}

impl Problem {
    fn new(dtype: DType) -> Self {
        let f = fixture();
        let p = &f["problem"];
        Problem {
            x: tensor(&p["x"], &[5, 3], dtype),
            y: tensor(&p["y"], &[5, 2], dtype),
            w: Variable::new("dense.kernel", tensor(&p["w"], &[3, 2], dtype)),
            b: Variable::new("dense.bias", tensor(&p["b"], &[2], dtype)),
        }
    }

    /// One training step; returns the loss before the update.
    fn step(&self, opt: &mut dyn Optimizer) -> f64 {
        let vars = [self.w.clone(), self.b.clone()];
        let tape = GradientTape::new();
        let z = self.x.matmul(&self.w.value()).add(&self.b.value()).tanh();
        let loss = z.sub(&self.y).square().mean(&[], false);
        let grads = tape.gradient(&loss, &vars);
        opt.apply_gradients(&grads, &vars);
        loss.to_f64_vec()[0]
    }

    fn params(&self) -> Vec<f64> {
        let mut v = self.w.value().to_f64_vec();
        v.extend(self.b.value().to_f64_vec());
        v
    }
}

fn check_case(name: &str, dtype: DType, tol: f64) {
    let f = fixture();
    let case = f["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("fixture has no case `{name}`"));
    let problem = Problem::new(dtype);
    let mut opt = optimizer(name);
    let losses = floats(&case["losses"]);
    let records = case["record"].as_array().unwrap();
    let mut next = records.iter().peekable();
    for (i, want_loss) in losses.iter().enumerate() {
        let loss = problem.step(opt.as_mut());
        assert!(
            (loss - want_loss).abs() <= tol,
            "{name} ({dtype}): loss before step {} is {loss}, Keras' algorithm gives {want_loss}",
            i + 1
        );
        let step = i as u64 + 1;
        assert_eq!(opt.iterations(), step);
        if let Some(r) = next.next_if(|r| r["step"].as_u64() == Some(step)) {
            let mut want = floats(&r["w"]);
            want.extend(floats(&r["b"]));
            for (k, (got, want)) in problem.params().iter().zip(&want).enumerate() {
                assert!(
                    (got - want).abs() <= tol,
                    "{name} ({dtype}): parameter {k} after step {step} is {got}, Keras' algorithm gives {want} (|diff| {:.2e})",
                    (got - want).abs()
                );
            }
        }
    }
    assert!(next.peek().is_none(), "{name}: unchecked records left");
}

macro_rules! trajectory_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_case(stringify!($name), DType::Float64, 1e-9);
                check_case(stringify!($name), DType::Float32, 1e-5);
            }
        )*

        #[test]
        fn every_fixture_case_has_a_test() {
            let ours = [$(stringify!($name)),*];
            let f = fixture();
            for c in f["cases"].as_array().unwrap() {
                let n = c["name"].as_str().unwrap();
                assert!(ours.contains(&n), "fixture case `{n}` has no test");
            }
        }
    };
}

trajectory_tests!(
    sgd,
    sgd_momentum,
    sgd_nesterov,
    sgd_weight_decay,
    sgd_clipvalue,
    sgd_momentum_exponential_decay,
    sgd_exponential_decay_staircase,
    sgd_piecewise_constant,
    adam,
    adam_amsgrad,
    adam_betas,
    adam_clipnorm,
    adam_global_clipnorm,
    adam_cosine_decay_warmup,
    adam_cosine_decay,
    adam_inverse_time_decay,
    adamw,
    adamw_amsgrad,
    rmsprop,
    rmsprop_momentum,
    rmsprop_centered,
    rmsprop_centered_momentum,
    rmsprop_polynomial_decay,
    adagrad,
    adagrad_options,
    adadelta,
    adadelta_rho,
    adamax,
    adamax_betas,
    nadam,
    nadam_clipvalue_weight_decay,
);
