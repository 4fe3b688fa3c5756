//! [`Adamax`]: Adam with the infinity norm in place of the second moment.

use crate::adam::{check_beta, check_epsilon};
use crate::{optimizer_common, LearningRate, OptimizerCore, UpdateRule};
use keen_tensor::Float;

/// Adamax (Keras `Adamax`, Kingma & Ba section 7).
///
/// ```text
/// t = iterations + 1
/// m ← m + (g − m)·(1 − β₁)                        (slot `momentum`)
/// u ← max(β₂·u, |g|)                              (slot `norm`)
/// w ← w − lr·m / ((1 − β₁ᵗ)·(u + ε))
/// ```
///
/// Keras adds ε to u in the denominator; PyTorch adds it inside the max
/// (`max(β₂·u, |g| + ε)`). Defaults (Keras): `learning_rate` 0.001, `beta_1` 0.9,
/// `beta_2` 0.999, `epsilon` 1e-7.
///
/// ```
/// use keen_optim::{Adamax, Optimizer};
/// use keen_tape::Variable;
/// use keen_tensor::Tensor;
///
/// let w = Variable::new("w", Tensor::from([1.0f64]));
/// let mut opt = Adamax::new(0.1).epsilon(0.0);
/// opt.apply_gradients(&[Some(Tensor::from([-4.0f64]))], &[w.clone()]);
/// assert!((w.value().item::<f64>() - 1.1).abs() < 1e-12); // first step: lr·sign(−g)
/// ```
#[derive(Debug)]
pub struct Adamax {
    core: OptimizerCore,
    rule: AdamaxRule,
}

#[derive(Clone, Debug)]
struct AdamaxRule {
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
}

impl Adamax {
    /// Adamax at `learning_rate` (a number or a schedule) with Keras' other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Adamax {
            core: OptimizerCore::new(learning_rate),
            rule: AdamaxRule {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
            },
        }
    }

    /// The first-moment decay β₁ in `[0, 1)` (default 0.9).
    ///
    /// # Panics
    /// `Adamax: beta_1 must be in [0, 1), got 1`.
    #[track_caller]
    pub fn beta_1(mut self, beta_1: f64) -> Self {
        check_beta("Adamax", "beta_1", beta_1);
        self.rule.beta_1 = beta_1;
        self
    }

    /// The infinity-norm decay β₂ in `[0, 1)` (default 0.999).
    ///
    /// # Panics
    /// `Adamax: beta_2 must be in [0, 1), got 1`.
    #[track_caller]
    pub fn beta_2(mut self, beta_2: f64) -> Self {
        check_beta("Adamax", "beta_2", beta_2);
        self.rule.beta_2 = beta_2;
        self
    }

    /// ε added to u (default 1e-7).
    ///
    /// # Panics
    /// `Adamax: epsilon must be non-negative, got -1`.
    #[track_caller]
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        check_epsilon("Adamax", epsilon);
        self.rule.epsilon = epsilon;
        self
    }
}

impl Default for Adamax {
    /// Keras' defaults: learning rate 0.001.
    fn default() -> Self {
        Adamax::new(0.001)
    }
}

optimizer_common!(Adamax);

impl UpdateRule for AdamaxRule {
    /// `lr / (1 − β₁ᵗ)`.
    type Step = f64;

    fn name(&self) -> &'static str {
        "Adamax"
    }

    fn slot_names(&self) -> &'static [&'static str] {
        &["momentum", "norm"]
    }

    fn begin_step(&mut self, step: u64, lr: f64) -> f64 {
        lr / (1.0 - self.beta_1.powf(step as f64))
    }

    #[inline(always)]
    fn update<T: Float>(&self, a: &f64, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let a = T::from_f64(*a);
        let c1 = T::from_f64(1.0 - self.beta_1);
        let b2 = T::from_f64(self.beta_2);
        let eps = T::from_f64(self.epsilon);
        let [m, u] = slots else {
            unreachable!("Adamax keeps two slots")
        };
        for (((w, &g), m), u) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(u.iter_mut()) {
            *m += (g - *m) * c1;
            *u = (b2 * *u).max(g.abs());
            *w = *w - a * *m / (*u + eps);
        }
    }
}
