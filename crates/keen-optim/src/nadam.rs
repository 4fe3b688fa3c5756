//! [`Nadam`]: Adam with Nesterov momentum.

use crate::adam::{check_beta, check_epsilon};
use crate::{optimizer_common, LearningRate, OptimizerCore, UpdateRule};
use keen_tensor::Float;

/// Nadam (Keras `Nadam`, Dozat 2016).
///
/// ```text
/// t = iterations + 1
/// μₜ = β₁·(1 − ½·0.96ᵗ),  μₜ₊₁ = β₁·(1 − ½·0.96ᵗ⁺¹)
/// Πₜ = Πₜ₋₁·μₜ                                    (optimizer scalar `u_product`, starts at 1)
/// m ← m + (g − m)·(1 − β₁)                        (slot `momentum`)
/// v ← v + (g² − v)·(1 − β₂)                       (slot `velocity`)
/// m̂ = μₜ₊₁·m / (1 − Πₜ·μₜ₊₁) + (1 − μₜ)·g / (1 − Πₜ)
/// v̂ = v / (1 − β₂ᵗ)
/// w ← w − lr·m̂ / (√v̂ + ε)
/// ```
///
/// Keras' momentum schedule decays as 0.96ᵗ; PyTorch's `NAdam` uses 0.96^(0.004·t)
/// (`momentum_decay`), so the two differ from the first step. Defaults (Keras):
/// `learning_rate` 0.001, `beta_1` 0.9, `beta_2` 0.999, `epsilon` 1e-7.
///
/// ```
/// use keen_optim::{Nadam, Optimizer};
/// use keen_tape::Variable;
/// use keen_tensor::Tensor;
///
/// let w = Variable::new("w", Tensor::from([1.0f32, 2.0]));
/// let mut opt = Nadam::new(0.01);
/// opt.apply_gradients(&[Some(Tensor::from([1.0f32, -1.0]))], &[w.clone()]);
/// println!("{w}");
/// assert_eq!(opt.state().scalars[0].0, "u_product");
/// ```
#[derive(Debug)]
pub struct Nadam {
    core: OptimizerCore,
    rule: NadamRule,
}

#[derive(Clone, Debug)]
struct NadamRule {
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
    u_product: f64,
}

impl Nadam {
    /// Nadam at `learning_rate` (a number or a schedule) with Keras' other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        Nadam {
            core: OptimizerCore::new(learning_rate),
            rule: NadamRule {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                u_product: 1.0,
            },
        }
    }

    /// The first-moment decay β₁ in `[0, 1)` (default 0.9).
    ///
    /// # Panics
    /// `Nadam: beta_1 must be in [0, 1), got 1`.
    #[track_caller]
    pub fn beta_1(mut self, beta_1: f64) -> Self {
        check_beta("Nadam", "beta_1", beta_1);
        self.rule.beta_1 = beta_1;
        self
    }

    /// The second-moment decay β₂ in `[0, 1)` (default 0.999).
    ///
    /// # Panics
    /// `Nadam: beta_2 must be in [0, 1), got 1`.
    #[track_caller]
    pub fn beta_2(mut self, beta_2: f64) -> Self {
        check_beta("Nadam", "beta_2", beta_2);
        self.rule.beta_2 = beta_2;
        self
    }

    /// ε added to √v̂ (default 1e-7).
    ///
    /// # Panics
    /// `Nadam: epsilon must be non-negative, got -1`.
    #[track_caller]
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        check_epsilon("Nadam", epsilon);
        self.rule.epsilon = epsilon;
        self
    }
}

impl Default for Nadam {
    /// Keras' defaults: learning rate 0.001.
    fn default() -> Self {
        Nadam::new(0.001)
    }
}

optimizer_common!(Nadam);

/// Nadam's per-step scalars.
struct NadamStep {
    /// The coefficient of m in m̂.
    cm: f64,
    /// The coefficient of g in m̂.
    cg: f64,
    /// 1 / (1 − β₂ᵗ).
    cv: f64,
    lr: f64,
}

impl UpdateRule for NadamRule {
    type Step = NadamStep;

    fn name(&self) -> &'static str {
        "Nadam"
    }

    fn slot_names(&self) -> &'static [&'static str] {
        &["momentum", "velocity"]
    }

    fn begin_step(&mut self, step: u64, lr: f64) -> NadamStep {
        let t = step as f64;
        let u_t = self.beta_1 * (1.0 - 0.5 * 0.96f64.powf(t));
        let u_next = self.beta_1 * (1.0 - 0.5 * 0.96f64.powf(t + 1.0));
        self.u_product *= u_t;
        NadamStep {
            cm: u_next / (1.0 - self.u_product * u_next),
            cg: (1.0 - u_t) / (1.0 - self.u_product),
            cv: 1.0 / (1.0 - self.beta_2.powf(t)),
            lr,
        }
    }

    #[inline(always)]
    fn update<T: Float>(&self, s: &NadamStep, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let (cm, cg, cv, lr) = (
            T::from_f64(s.cm),
            T::from_f64(s.cg),
            T::from_f64(s.cv),
            T::from_f64(s.lr),
        );
        let c1 = T::from_f64(1.0 - self.beta_1);
        let c2 = T::from_f64(1.0 - self.beta_2);
        let eps = T::from_f64(self.epsilon);
        let [m, v] = slots else {
            unreachable!("Nadam keeps two slots")
        };
        for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m += (g - *m) * c1;
            *v += (g * g - *v) * c2;
            let m_hat = cm * *m + cg * g;
            *w = *w - lr * m_hat / ((*v * cv).sqrt() + eps);
        }
    }

    fn scalars(&self) -> Vec<(&'static str, f64)> {
        vec![("u_product", self.u_product)]
    }

    fn set_scalar(&mut self, name: &str, value: f64) -> bool {
        if name == "u_product" {
            self.u_product = value;
        }
        name == "u_product"
    }
}
