//! [`AdamW`]: Adam with decoupled weight decay.

use crate::adam::{check_beta, check_epsilon, AdamRule};
use crate::{optimizer_common, LearningRate, OptimizerCore};

/// Adam with decoupled weight decay (Keras `AdamW`, Loshchilov & Hutter).
///
/// ```text
/// w ← w − w·weight_decay·lr                       (before the Adam step)
/// then Adam's update (see [`Adam`](crate::Adam)), ε added to √v before bias correction
/// ```
///
/// The same as [`Adam`](crate::Adam)`.weight_decay(..)`, with Keras' default decay 0.004.
/// PyTorch's `AdamW` decays the same way (`w ← w·(1 − lr·wd)`) but places ε after the bias
/// correction. Defaults (Keras): `learning_rate` 0.001, `weight_decay` 0.004, `beta_1` 0.9,
/// `beta_2` 0.999, `epsilon` 1e-7, `amsgrad` false.
///
/// ```
/// use keen_optim::{AdamW, Optimizer};
/// use keen_tape::Variable;
/// use keen_tensor::Tensor;
///
/// let w = Variable::new("w", Tensor::from([1.0f32]));
/// let b = Variable::new("b", Tensor::from([1.0f32]));
/// let mut opt = AdamW::new(0.1).weight_decay(0.5).exclude_from_weight_decay(&["b"]);
/// let zero = Some(Tensor::from([0.0f32]));
/// opt.apply_gradients(&[zero.clone(), zero], &[w.clone(), b.clone()]);
/// assert!((w.value().item::<f32>() - 0.95).abs() < 1e-6); // decayed by 0.5 · 0.1
/// assert_eq!(b.value().item::<f32>(), 1.0);               // excluded
/// ```
#[derive(Debug)]
pub struct AdamW {
    core: OptimizerCore,
    rule: AdamRule,
}

impl AdamW {
    /// AdamW at `learning_rate` (a number or a schedule) with Keras' other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        let mut core = OptimizerCore::new(learning_rate);
        core.set_weight_decay(0.004, "AdamW");
        AdamW {
            core,
            rule: AdamRule::keras("AdamW"),
        }
    }

    /// The first-moment decay β₁ in `[0, 1)` (default 0.9).
    ///
    /// # Panics
    /// `AdamW: beta_1 must be in [0, 1), got 1`.
    #[track_caller]
    pub fn beta_1(mut self, beta_1: f64) -> Self {
        check_beta("AdamW", "beta_1", beta_1);
        self.rule.beta_1 = beta_1;
        self
    }

    /// The second-moment decay β₂ in `[0, 1)` (default 0.999).
    ///
    /// # Panics
    /// `AdamW: beta_2 must be in [0, 1), got 1`.
    #[track_caller]
    pub fn beta_2(mut self, beta_2: f64) -> Self {
        check_beta("AdamW", "beta_2", beta_2);
        self.rule.beta_2 = beta_2;
        self
    }

    /// ε added to √v (default 1e-7).
    ///
    /// # Panics
    /// `AdamW: epsilon must be non-negative, got -1`.
    #[track_caller]
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        check_epsilon("AdamW", epsilon);
        self.rule.epsilon = epsilon;
        self
    }

    /// The AMSGrad variant (default false).
    pub fn amsgrad(mut self, amsgrad: bool) -> Self {
        self.rule.amsgrad = amsgrad;
        self
    }
}

impl Default for AdamW {
    /// Keras' defaults: learning rate 0.001, weight decay 0.004.
    fn default() -> Self {
        AdamW::new(0.001)
    }
}

optimizer_common!(AdamW);
