//! [`Adam`]: adaptive moment estimation, with the AMSGrad variant.

use crate::{optimizer_common, LearningRate, OptimizerCore, UpdateRule};
use keen_tensor::Float;

/// Adam (Keras `Adam`), optionally AMSGrad.
///
/// ```text
/// t  = iterations + 1
/// m ← m + (g − m)·(1 − β₁)                        (slot `momentum`)
/// v ← v + (g² − v)·(1 − β₂)                       (slot `velocity`)
/// amsgrad: v̂ ← max(v̂, v) and v̂ replaces v below  (slot `velocity_hat`)
/// α = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ)
/// w ← w − α·m / (√v + ε)
/// ```
///
/// ε is added to √v *before* the bias correction, as in Keras and TensorFlow ("epsilon hat");
/// PyTorch adds it after (`m̂/(√v̂ + ε)`), which differs when √v is near ε. Defaults (Keras):
/// `learning_rate` 0.001, `beta_1` 0.9, `beta_2` 0.999, `epsilon` 1e-7, `amsgrad` false.
///
/// ```
/// use keen_optim::{Adam, Optimizer};
/// use keen_tape::Variable;
/// use keen_tensor::Tensor;
///
/// let w = Variable::new("w", Tensor::from([1.0f64, -1.0]));
/// let mut opt = Adam::new(0.1).beta_1(0.9).amsgrad(true);
/// opt.apply_gradients(&[Some(Tensor::from([0.5f64, -2.0]))], &[w.clone()]);
/// // The first step moves every weight by about lr against the gradient's sign.
/// println!("{w}");
/// assert!((w.value().to_vec::<f64>()[0] - 0.9).abs() < 1e-6);
/// ```
#[derive(Debug)]
pub struct Adam {
    core: OptimizerCore,
    rule: AdamRule,
}

/// Adam's update, shared with [`AdamW`](crate::AdamW).
#[derive(Clone, Debug)]
pub(crate) struct AdamRule {
    pub(crate) name: &'static str,
    pub(crate) beta_1: f64,
    pub(crate) beta_2: f64,
    pub(crate) epsilon: f64,
    pub(crate) amsgrad: bool,
}

impl AdamRule {
    pub(crate) fn keras(name: &'static str) -> Self {
        AdamRule {
            name,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
        }
    }
}

/// Checks a decay rate: `Adam: beta_1 must be in [0, 1), got 1`.
#[track_caller]
pub(crate) fn check_beta(optimizer: &str, arg: &str, beta: f64) {
    assert!(
        (0.0..1.0).contains(&beta),
        "{optimizer}: {arg} must be in [0, 1), got {beta}"
    );
}

/// Checks ε: `Adam: epsilon must be non-negative, got -1`.
#[track_caller]
pub(crate) fn check_epsilon(optimizer: &str, epsilon: f64) {
    assert!(
        epsilon >= 0.0,
        "{optimizer}: epsilon must be non-negative, got {epsilon}"
    );
}

impl Adam {
    /// Adam at `learning_rate` (a number or a schedule) with Keras' other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Adam {
            core: OptimizerCore::new(learning_rate),
            rule: AdamRule::keras("Adam"),
        }
    }

    /// The first-moment decay β₁ in `[0, 1)` (default 0.9).
    ///
    /// # Panics
    /// `Adam: beta_1 must be in [0, 1), got 1`.
    #[track_caller]
    pub fn beta_1(mut self, beta_1: f64) -> Self {
        check_beta("Adam", "beta_1", beta_1);
        self.rule.beta_1 = beta_1;
        self
    }

    /// The second-moment decay β₂ in `[0, 1)` (default 0.999).
    ///
    /// # Panics
    /// `Adam: beta_2 must be in [0, 1), got 1`.
    #[track_caller]
    pub fn beta_2(mut self, beta_2: f64) -> Self {
        check_beta("Adam", "beta_2", beta_2);
        self.rule.beta_2 = beta_2;
        self
    }

    /// ε added to √v (default 1e-7).
    ///
    /// # Panics
    /// `Adam: epsilon must be non-negative, got -1`.
    #[track_caller]
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        check_epsilon("Adam", epsilon);
        self.rule.epsilon = epsilon;
        self
    }

    /// The AMSGrad variant: divide by the running maximum of v (default false).
    pub fn amsgrad(mut self, amsgrad: bool) -> Self {
        self.rule.amsgrad = amsgrad;
        self
    }
}

impl Default for Adam {
    /// Keras' defaults: learning rate 0.001.
    fn default() -> Self {
        Adam::new(0.001)
    }
}

optimizer_common!(Adam);

/// Adam's per-step scalars.
pub(crate) struct AdamStep {
    alpha: f64,
}

impl UpdateRule for AdamRule {
    type Step = AdamStep;

    fn name(&self) -> &'static str {
        self.name
    }

    fn slot_names(&self) -> &'static [&'static str] {
        if self.amsgrad {
            &["momentum", "velocity", "velocity_hat"]
        } else {
            &["momentum", "velocity"]
        }
    }

    fn begin_step(&mut self, step: u64, lr: f64) -> AdamStep {
        let t = step as f64;
        AdamStep {
            alpha: lr * (1.0 - self.beta_2.powf(t)).sqrt() / (1.0 - self.beta_1.powf(t)),
        }
    }

    #[inline(always)]
    fn update<T: Float>(&self, s: &AdamStep, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let c1 = T::from_f64(1.0 - self.beta_1);
        let c2 = T::from_f64(1.0 - self.beta_2);
        let alpha = T::from_f64(s.alpha);
        let eps = T::from_f64(self.epsilon);
        match slots {
            [m, v] => {
                for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    *m += (g - *m) * c1;
                    *v += (g * g - *v) * c2;
                    *w = *w - *m * alpha / (v.sqrt() + eps);
                }
            }
            [m, v, vhat] => {
                let it = w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut());
                for ((((w, &g), m), v), vhat) in it.zip(vhat.iter_mut()) {
                    *m += (g - *m) * c1;
                    *v += (g * g - *v) * c2;
                    *vhat = vhat.max(*v);
                    *w = *w - *m * alpha / (vhat.sqrt() + eps);
                }
            }
            _ => unreachable!("Adam keeps 2 or 3 slots"),
        }
    }
}
