//! [`RmsProp`]: gradient descent scaled by a running RMS of the gradient.

use crate::adam::check_epsilon;
use crate::{optimizer_common, LearningRate, OptimizerCore, UpdateRule};
use keen_tensor::Float;

/// RMSprop, optionally with momentum and centred (Keras `RMSprop`).
///
/// ```text
/// v ← ρ·v + (1 − ρ)·g²                            (slot `velocity`)
/// centered: a ← ρ·a + (1 − ρ)·g                   (slot `average_gradient`)
///           d = v − a² + ε
/// else:     d = v + ε
/// Δ = lr·g / √d
/// momentum > 0: p ← μ·p + Δ;  w ← w − p           (slot `momentum`)
/// else:         w ← w − Δ
/// ```
///
/// ε sits inside the square root, as in Keras; PyTorch adds it outside (`g/(√v + ε)`), and
/// its momentum buffer leaves the learning rate out. Defaults (Keras): `learning_rate` 0.001,
/// `rho` 0.9, `momentum` 0, `epsilon` 1e-7, `centered` false.
///
/// ```
/// use keen_optim::{Optimizer, RmsProp};
/// use keen_tape::Variable;
/// use keen_tensor::Tensor;
///
/// let w = Variable::new("w", Tensor::from([1.0f64]));
/// let mut opt = RmsProp::new(0.01).momentum(0.9).centered(true);
/// opt.apply_gradients(&[Some(Tensor::from([2.0f64]))], &[w.clone()]);
/// // v = 0.4, a = 0.2, Δ = 0.01·2/√(0.4 − 0.04)
/// assert!((w.value().item::<f64>() - (1.0 - 0.02 / 0.36f64.sqrt())).abs() < 1e-6);
/// ```
#[derive(Debug)]
pub struct RmsProp {
    core: OptimizerCore,
    rule: RmsPropRule,
}

#[derive(Clone, Debug)]
struct RmsPropRule {
    rho: f64,
    momentum: f64,
    epsilon: f64,
    centered: bool,
}

impl RmsProp {
    /// RMSprop at `learning_rate` (a number or a schedule) with Keras' other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        RmsProp {
            core: OptimizerCore::new(learning_rate),
            rule: RmsPropRule {
                rho: 0.9,
                momentum: 0.0,
                epsilon: 1e-7,
                centered: false,
            },
        }
    }

    /// The decay ρ of the running mean of g² in `[0, 1)` (default 0.9).
    ///
    /// # Panics
    /// `RMSprop: rho must be in [0, 1), got 1`.
    #[track_caller]
    pub fn rho(mut self, rho: f64) -> Self {
        crate::adam::check_beta("RMSprop", "rho", rho);
        self.rule.rho = rho;
        self
    }

    /// The momentum μ in `[0, 1)` (default 0: none).
    ///
    /// # Panics
    /// `RMSprop: momentum must be in [0, 1), got 1`.
    #[track_caller]
    pub fn momentum(mut self, momentum: f64) -> Self {
        crate::adam::check_beta("RMSprop", "momentum", momentum);
        self.rule.momentum = momentum;
        self
    }

    /// ε inside the square root (default 1e-7).
    ///
    /// # Panics
    /// `RMSprop: epsilon must be non-negative, got -1`.
    #[track_caller]
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        check_epsilon("RMSprop", epsilon);
        self.rule.epsilon = epsilon;
        self
    }

    /// Normalise by the gradient's estimated variance instead of its second moment
    /// (default false).
    pub fn centered(mut self, centered: bool) -> Self {
        self.rule.centered = centered;
        self
    }
}

impl Default for RmsProp {
    /// Keras' defaults: learning rate 0.001.
    fn default() -> Self {
        RmsProp::new(0.001)
    }
}

optimizer_common!(RmsProp);

impl UpdateRule for RmsPropRule {
    type Step = f64;

    fn name(&self) -> &'static str {
        "RMSprop"
    }

    fn slot_names(&self) -> &'static [&'static str] {
        match (self.momentum > 0.0, self.centered) {
            (false, false) => &["velocity"],
            (true, false) => &["velocity", "momentum"],
            (false, true) => &["velocity", "average_gradient"],
            (true, true) => &["velocity", "momentum", "average_gradient"],
        }
    }

    fn begin_step(&mut self, _step: u64, learning_rate: f64) -> f64 {
        learning_rate
    }

    #[inline(always)]
    fn update<T: Float>(&self, lr: &f64, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let lr = T::from_f64(*lr);
        let rho = T::from_f64(self.rho);
        let c = T::from_f64(1.0 - self.rho);
        let mu = T::from_f64(self.momentum);
        let eps = T::from_f64(self.epsilon);
        match slots {
            [v] => {
                for ((w, &g), v) in w.iter_mut().zip(g).zip(v.iter_mut()) {
                    *v = rho * *v + c * g * g;
                    *w = *w - lr * g / (*v + eps).sqrt();
                }
            }
            [v, p] if self.momentum > 0.0 => {
                for (((w, &g), v), p) in w.iter_mut().zip(g).zip(v.iter_mut()).zip(p.iter_mut()) {
                    *v = rho * *v + c * g * g;
                    *p = mu * *p + lr * g / (*v + eps).sqrt();
                    *w = *w - *p;
                }
            }
            [v, a] => {
                for (((w, &g), v), a) in w.iter_mut().zip(g).zip(v.iter_mut()).zip(a.iter_mut()) {
                    *v = rho * *v + c * g * g;
                    *a = rho * *a + c * g;
                    *w = *w - lr * g / (*v - *a * *a + eps).sqrt();
                }
            }
            [v, p, a] => {
                let it = w.iter_mut().zip(g).zip(v.iter_mut()).zip(p.iter_mut());
                for ((((w, &g), v), p), a) in it.zip(a.iter_mut()) {
                    *v = rho * *v + c * g * g;
                    *a = rho * *a + c * g;
                    *p = mu * *p + lr * g / (*v - *a * *a + eps).sqrt();
                    *w = *w - *p;
                }
            }
            _ => unreachable!("RMSprop keeps 1 to 3 slots"),
        }
    }
}
