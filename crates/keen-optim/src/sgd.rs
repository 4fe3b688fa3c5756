//! [`Sgd`]: stochastic gradient descent, with momentum and Nesterov momentum.

use crate::{optimizer_common, LearningRate, OptimizerCore, UpdateRule};
use keen_tensor::Float;

/// Gradient descent with optional (Nesterov) momentum (Keras `SGD`).
///
/// ```text
/// momentum = 0:   w ← w − lr·g
/// momentum > 0:   m ← μ·m − lr·g                 (slot `momentum`, starts at 0)
///                 w ← w + m                       (nesterov: w ← w + μ·m − lr·g)
/// ```
///
/// Keras folds the learning rate into the momentum buffer; with a constant learning rate this
/// is PyTorch's `SGD` exactly (`b ← μ·b + g; w ← w − lr·b`), with a schedule it differs.
/// Defaults (Keras): `learning_rate` 0.01, `momentum` 0, `nesterov` false.
///
/// ```
/// use keen_optim::{Optimizer, Sgd};
/// use keen_tape::Variable;
/// use keen_tensor::Tensor;
///
/// let w = Variable::new("w", Tensor::from([1.0f32]));
/// let mut opt = Sgd::new(0.1).momentum(0.9);
/// opt.apply_gradients(&[Some(Tensor::from([1.0f32]))], &[w.clone()]);
/// opt.apply_gradients(&[Some(Tensor::from([1.0f32]))], &[w.clone()]);
/// // m = -0.1, then m = 0.9·(-0.1) - 0.1 = -0.19: w = 1 - 0.1 - 0.19
/// assert!((w.value().item::<f32>() - 0.71).abs() < 1e-6);
/// ```
#[derive(Debug)]
pub struct Sgd {
    pub(crate) core: OptimizerCore,
    rule: SgdRule,
}

#[derive(Clone, Debug)]
struct SgdRule {
    momentum: f64,
    nesterov: bool,
}

impl Sgd {
    /// Plain gradient descent at `learning_rate` (a number or a schedule).
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Sgd {
            core: OptimizerCore::new(learning_rate),
            rule: SgdRule {
                momentum: 0.0,
                nesterov: false,
            },
        }
    }

    /// The momentum μ in `[0, 1]` (default 0: none).
    ///
    /// # Panics
    /// `SGD: momentum must be in [0, 1], got 1.5`.
    #[track_caller]
    pub fn momentum(mut self, momentum: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&momentum),
            "SGD: momentum must be in [0, 1], got {momentum}"
        );
        self.rule.momentum = momentum;
        self
    }

    /// Nesterov momentum (default false).
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.rule.nesterov = nesterov;
        self
    }
}

impl Default for Sgd {
    /// Keras' defaults: learning rate 0.01, no momentum.
    fn default() -> Self {
        Sgd::new(0.01)
    }
}

optimizer_common!(Sgd);

impl UpdateRule for SgdRule {
    type Step = f64;

    fn name(&self) -> &'static str {
        "SGD"
    }

    fn slot_names(&self) -> &'static [&'static str] {
        if self.momentum != 0.0 {
            &["momentum"]
        } else {
            &[]
        }
    }

    fn begin_step(&mut self, _step: u64, learning_rate: f64) -> f64 {
        learning_rate
    }

    #[inline(always)]
    fn update<T: Float>(&self, lr: &f64, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let lr = T::from_f64(*lr);
        let mu = T::from_f64(self.momentum);
        match slots {
            [] => {
                for (w, &g) in w.iter_mut().zip(g) {
                    *w = *w - lr * g;
                }
            }
            [m] if self.nesterov => {
                for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                    *m = mu * *m - lr * g;
                    *w = *w + mu * *m - lr * g;
                }
            }
            [m] => {
                for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                    *m = mu * *m - lr * g;
                    *w += *m;
                }
            }
            _ => unreachable!("SGD keeps at most one slot"),
        }
    }
}
