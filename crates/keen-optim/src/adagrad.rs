//! [`Adagrad`]: per-element learning rates from the sum of squared gradients.

use crate::adam::check_epsilon;
use crate::{optimizer_common, LearningRate, OptimizerCore, UpdateRule};
use keen_tensor::Float;

/// Adagrad (Keras `Adagrad`).
///
/// ```text
/// s ← s + g²                                      (slot `accumulator`, starts at 0.1)
/// w ← w − lr·g / √(s + ε)
/// ```
///
/// Keras starts the accumulator at `initial_accumulator_value` (0.1) and puts ε inside the
/// root; PyTorch starts at 0 and adds ε outside. Defaults (Keras): `learning_rate` 0.001,
/// `initial_accumulator_value` 0.1, `epsilon` 1e-7.
///
/// ```
/// use keen_optim::{Adagrad, Optimizer};
/// use keen_tape::Variable;
/// use keen_tensor::Tensor;
///
/// let w = Variable::new("w", Tensor::from([1.0f64]));
/// let mut opt = Adagrad::new(0.1).initial_accumulator_value(0.0).epsilon(0.0);
/// opt.apply_gradients(&[Some(Tensor::from([3.0f64]))], &[w.clone()]);
/// assert!((w.value().item::<f64>() - 0.9).abs() < 1e-12); // 1 − 0.1·3/√9
/// ```
#[derive(Debug)]
pub struct Adagrad {
    core: OptimizerCore,
    rule: AdagradRule,
}

#[derive(Clone, Debug)]
struct AdagradRule {
    initial_accumulator_value: f64,
    epsilon: f64,
}

impl Adagrad {
    /// Adagrad at `learning_rate` (a number or a schedule) with Keras' other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Adagrad {
            core: OptimizerCore::new(learning_rate),
            rule: AdagradRule {
                initial_accumulator_value: 0.1,
                epsilon: 1e-7,
            },
        }
    }

    /// The accumulator's starting value (default 0.1).
    ///
    /// # Panics
    /// `Adagrad: initial_accumulator_value must be non-negative, got -1`.
    #[track_caller]
    pub fn initial_accumulator_value(mut self, value: f64) -> Self {
        assert!(
            value >= 0.0,
            "Adagrad: initial_accumulator_value must be non-negative, got {value}"
        );
        self.rule.initial_accumulator_value = value;
        self
    }

    /// ε inside the square root (default 1e-7).
    ///
    /// # Panics
    /// `Adagrad: epsilon must be non-negative, got -1`.
    #[track_caller]
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        check_epsilon("Adagrad", epsilon);
        self.rule.epsilon = epsilon;
        self
    }
}

impl Default for Adagrad {
    /// Keras' defaults: learning rate 0.001.
    fn default() -> Self {
        Adagrad::new(0.001)
    }
}

optimizer_common!(Adagrad);

impl UpdateRule for AdagradRule {
    type Step = f64;

    fn name(&self) -> &'static str {
        "Adagrad"
    }

    fn slot_names(&self) -> &'static [&'static str] {
        &["accumulator"]
    }

    fn slot_initial_value(&self, _slot: usize) -> f64 {
        self.initial_accumulator_value
    }

    fn begin_step(&mut self, _step: u64, learning_rate: f64) -> f64 {
        learning_rate
    }

    #[inline(always)]
    fn update<T: Float>(&self, lr: &f64, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let lr = T::from_f64(*lr);
        let eps = T::from_f64(self.epsilon);
        let [s] = slots else {
            unreachable!("Adagrad keeps one slot")
        };
        for ((w, &g), s) in w.iter_mut().zip(g).zip(s.iter_mut()) {
            *s += g * g;
            *w = *w - lr * g / (*s + eps).sqrt();
        }
    }
}
