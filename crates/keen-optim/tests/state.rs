//! Saving and restoring an optimizer mid-trajectory changes nothing; bad states are refused.

use keen_optim::*;
use keen_tape::{GradientTape, Variable};
use keen_tensor::{DType, Tensor};

/// w (3, 2) and b (2,) trained on mean((x·w + b − y)²).
struct Toy {
    x: Tensor,
    y: Tensor,
    w: Variable,
    b: Variable,
}

impl Toy {
    fn new(dtype: DType) -> Self {
        let x = Tensor::from([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-1.0, 1.0, 0.0]]).cast(dtype);
        let y = Tensor::from([[1.0, 0.0], [0.0, 1.0], [0.5, -0.5]]).cast(dtype);
        let w = Tensor::from([[0.1, -0.2], [0.3, 0.0], [-0.1, 0.2]]).cast(dtype);
        Toy {
            x,
            y,
            w: Variable::new("dense.kernel", w),
            b: Variable::new("dense.bias", Tensor::zeros([2], dtype)),
        }
    }

    fn vars(&self) -> Vec<Variable> {
        vec![self.w.clone(), self.b.clone()]
    }

    fn step(&self, opt: &mut dyn Optimizer) {
        let vars = self.vars();
        let tape = GradientTape::new();
        let pred = self.x.matmul(&self.w.value()).add(&self.b.value());
        let loss = pred.sub(&self.y).square().mean(&[], false);
        opt.apply_gradients(&tape.gradient(&loss, &vars), &vars);
    }

    fn params(&self) -> Vec<f64> {
        [self.w.value().to_f64_vec(), self.b.value().to_f64_vec()].concat()
    }

    fn copy(&self) -> Toy {
        Toy {
            x: self.x.clone(),
            y: self.y.clone(),
            w: Variable::new("dense.kernel", self.w.value()),
            b: Variable::new("dense.bias", self.b.value()),
        }
    }
}

type MakeOptimizer = fn() -> Box<dyn Optimizer>;

fn all_optimizers() -> Vec<(&'static str, MakeOptimizer)> {
    vec![
        ("sgd", || {
            Box::new(Sgd::new(0.05).momentum(0.9).nesterov(true))
        }),
        ("adam", || {
            Box::new(Adam::new(0.01).amsgrad(true).clipnorm(0.5))
        }),
        ("adamw", || {
            Box::new(AdamW::new(
                CosineDecay::new(0.02, 20)
                    .warmup_target(0.05)
                    .warmup_steps(3),
            ))
        }),
        ("rmsprop", || {
            Box::new(RmsProp::new(0.01).momentum(0.5).centered(true))
        }),
        ("adagrad", || {
            Box::new(Adagrad::new(0.1).global_clipnorm(0.3))
        }),
        ("adadelta", || Box::new(Adadelta::new(1.0))),
        ("adamax", || Box::new(Adamax::new(0.02).weight_decay(0.01))),
        ("nadam", || Box::new(Nadam::new(0.01).clipvalue(0.2))),
    ]
}

/// Runs 20 steps straight, and 10 steps + save (through bincode bytes) + restore into a fresh
/// optimizer and fresh variables + 10 steps: the results are bit-identical.
fn round_trip(dtype: DType, encode: fn(&OptimizerState) -> OptimizerState) {
    for (name, make) in all_optimizers() {
        let straight = Toy::new(dtype);
        let mut opt = make();
        for _ in 0..20 {
            straight.step(opt.as_mut());
        }

        let first = Toy::new(dtype);
        let mut opt = make();
        for _ in 0..10 {
            first.step(opt.as_mut());
        }
        let state = encode(&opt.state());
        // A new process: new variables (new ids, same names), a new optimizer.
        let resumed = first.copy();
        let mut opt = make();
        opt.load_state(&state).unwrap();
        assert_eq!(opt.iterations(), 10, "{name}");
        for _ in 0..10 {
            resumed.step(opt.as_mut());
        }
        assert_eq!(opt.iterations(), 20, "{name}");
        let (a, b) = (straight.params(), resumed.params());
        assert!(
            a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{name} ({dtype}): resumed run differs: {a:?} vs {b:?}"
        );
    }
}

fn through_bincode(s: &OptimizerState) -> OptimizerState {
    let bytes = bincode::serialize(s).unwrap();
    bincode::deserialize(&bytes).unwrap()
}

#[test]
fn save_and_restore_mid_trajectory_changes_nothing_f32() {
    round_trip(DType::Float32, through_bincode);
}

#[test]
fn save_and_restore_mid_trajectory_changes_nothing_f64() {
    round_trip(DType::Float64, through_bincode);
}

#[test]
fn state_survives_json_too() {
    round_trip(DType::Float64, |s| {
        serde_json::from_str(&serde_json::to_string(s).unwrap()).unwrap()
    });
}

#[test]
fn state_names_slots_by_variable() {
    let toy = Toy::new(DType::Float32);
    let mut opt = Adam::new(0.01);
    toy.step(&mut opt);
    let s = opt.state();
    let keys: Vec<&str> = s.slots.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "dense.kernel/momentum",
            "dense.kernel/velocity",
            "dense.bias/momentum",
            "dense.bias/velocity"
        ]
    );
    assert_eq!(s.optimizer, "Adam");
    assert_eq!(s.iterations, 1);
    assert_eq!(s.slots[0].1.dims(), [3, 2]);
    assert_eq!(s.slots[0].1.dtype(), DType::Float32);
    assert_eq!(
        opt.slot(&toy.w, "velocity").unwrap().to_vec::<f32>(),
        s.slots[1].1.to_vec::<f32>()
    );
}

#[test]
fn a_state_saved_before_its_variables_are_seen_again_is_kept() {
    let toy = Toy::new(DType::Float64);
    let mut opt = Sgd::new(0.1).momentum(0.9);
    toy.step(&mut opt);
    let mut fresh = Sgd::new(0.1).momentum(0.9);
    fresh.load_state(&opt.state()).unwrap();
    // Not applied yet: the pending slots are still part of the state.
    assert_eq!(fresh.state().slots.len(), 2);
}

#[test]
fn loading_into_another_optimizer_is_refused() {
    let toy = Toy::new(DType::Float64);
    let mut adam = Adam::new(0.01);
    toy.step(&mut adam);
    let e = Sgd::new(0.1).load_state(&adam.state()).unwrap_err();
    assert_eq!(
        e.message(),
        "load_state: the state was saved by Adam, this optimizer is SGD"
    );
    let e = Adam::new(0.01)
        .amsgrad(true)
        .load_state(&adam.state())
        .unwrap_err();
    assert_eq!(
        e.message(),
        "load_state: variable `dense.kernel` has slots (momentum, velocity) in the state, but this Adam keeps (momentum, velocity, velocity_hat)"
    );
}

#[test]
fn a_restored_slot_of_the_wrong_shape_is_an_error_not_a_crash() {
    let toy = Toy::new(DType::Float64);
    let mut opt = Adam::new(0.01);
    toy.step(&mut opt);
    let mut state = opt.state();
    state.slots[0].1 = Tensor::zeros([2, 3], DType::Float64);
    state.slots[1].1 = Tensor::zeros([2, 3], DType::Float64);
    let mut fresh = Adam::new(0.01);
    fresh.load_state(&state).unwrap();
    let grads = vec![Some(Tensor::ones([3, 2], DType::Float64)), None];
    let e = fresh.try_apply_gradients(&grads, &toy.vars()).unwrap_err();
    assert_eq!(
        e.message(),
        "apply_gradients: the restored slot `dense.kernel/momentum` has shape (2, 3) and dtype float64, but the variable has (3, 2) and float64"
    );
}

#[test]
fn a_schedule_survives_restore_and_set_learning_rate_replaces_it() {
    let toy = Toy::new(DType::Float64);
    let schedule = ExponentialDecay::new(0.1, 1, 0.5);
    let mut opt = Sgd::new(schedule.clone());
    toy.step(&mut opt);
    toy.step(&mut opt);
    assert_eq!(opt.learning_rate(), 0.025);
    let mut fresh = Sgd::new(schedule);
    fresh.load_state(&opt.state()).unwrap();
    assert_eq!(fresh.learning_rate(), 0.025);
    fresh.set_learning_rate(0.5);
    toy.step(&mut fresh);
    assert_eq!(fresh.learning_rate(), 0.5);
    // A constant learning rate (as a plateau callback leaves it) is restored from the state.
    let mut other = Sgd::new(0.1);
    other.load_state(&fresh.state()).unwrap();
    assert_eq!(other.learning_rate(), 0.5);
}

#[test]
fn save_and_restore_through_named_tensors() {
    // A sorted map of named tensors, as a checkpoint keeps slots: slot order is restored.
    round_trip(DType::Float32, |s| {
        OptimizerState::from_named_tensors(&s.to_named_tensors()).unwrap()
    });
}
