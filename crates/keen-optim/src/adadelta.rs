//! [`Adadelta`]: step sizes from running averages of squared gradients and squared updates.

use crate::adam::{check_beta, check_epsilon};
use crate::{optimizer_common, LearningRate, OptimizerCore, UpdateRule};
use keen_tensor::Float;

/// Adadelta (Keras `Adadelta`, Zeiler 2012).
///
/// ```text
/// a ← ρ·a + (1 − ρ)·g²                            (slot `accumulated_grad`)
/// Δ = −√(d + ε) / √(a + ε) · g
/// d ← ρ·d + (1 − ρ)·Δ²                            (slot `accumulated_delta_var`)
/// w ← w + lr·Δ
/// ```
///
/// The same algorithm as PyTorch's `Adadelta`, but Keras' default learning rate is 0.001
/// where PyTorch's (and the paper's) is 1.0: pass `Adadelta::new(1.0)` for the paper's
/// behaviour. Defaults (Keras): `learning_rate` 0.001, `rho` 0.95, `epsilon` 1e-7.
///
/// ```
/// use keen_optim::{Adadelta, Optimizer};
/// use keen_tape::Variable;
/// use keen_tensor::Tensor;
///
/// let w = Variable::new("w", Tensor::from([1.0f32]));
/// let mut opt = Adadelta::new(1.0).rho(0.9).epsilon(1e-6);
/// opt.apply_gradients(&[Some(Tensor::from([1.0f32]))], &[w.clone()]);
/// println!("{w}"); // the first steps are about √ε / √(1 − ρ) in size
/// ```
#[derive(Debug)]
pub struct Adadelta {
    core: OptimizerCore,
    rule: AdadeltaRule,
}

#[derive(Clone, Debug)]
struct AdadeltaRule {
    rho: f64,
    epsilon: f64,
}

impl Adadelta {
    /// Adadelta at `learning_rate` (a number or a schedule) with Keras' other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Adadelta {
            core: OptimizerCore::new(learning_rate),
            rule: AdadeltaRule {
                rho: 0.95,
                epsilon: 1e-7,
            },
        }
    }

    /// The decay ρ of both running averages, in `[0, 1)` (default 0.95).
    ///
    /// # Panics
    /// `Adadelta: rho must be in [0, 1), got 1`.
    #[track_caller]
    pub fn rho(mut self, rho: f64) -> Self {
        check_beta("Adadelta", "rho", rho);
        self.rule.rho = rho;
        self
    }

    /// ε inside both square roots (default 1e-7).
    ///
    /// # Panics
    /// `Adadelta: epsilon must be non-negative, got -1`.
    #[track_caller]
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        check_epsilon("Adadelta", epsilon);
        self.rule.epsilon = epsilon;
        self
    }
}

impl Default for Adadelta {
    /// Keras' defaults: learning rate 0.001.
    fn default() -> Self {
        Adadelta::new(0.001)
    }
}

optimizer_common!(Adadelta);

impl UpdateRule for AdadeltaRule {
    type Step = f64;

    fn name(&self) -> &'static str {
        "Adadelta"
    }

    fn slot_names(&self) -> &'static [&'static str] {
        &["accumulated_grad", "accumulated_delta_var"]
    }

    fn begin_step(&mut self, _step: u64, learning_rate: f64) -> f64 {
        learning_rate
    }

    #[inline(always)]
    fn update<T: Float>(&self, lr: &f64, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let lr = T::from_f64(*lr);
        let rho = T::from_f64(self.rho);
        let c = T::from_f64(1.0 - self.rho);
        let eps = T::from_f64(self.epsilon);
        let [a, d] = slots else {
            unreachable!("Adadelta keeps two slots")
        };
        for (((w, &g), a), d) in w.iter_mut().zip(g).zip(a.iter_mut()).zip(d.iter_mut()) {
            *a = rho * *a + c * g * g;
            let delta = -((*d + eps).sqrt() * g / (*a + eps).sqrt());
            *d = rho * *d + c * delta * delta;
            *w += lr * delta;
        }
    }
}
