//! Learning-rate schedules: the learning rate as a function of the step counter (Keras
//! `keras.optimizers.schedules`).
//!
//! An optimizer evaluates its schedule at its step counter *before* the step is counted, so
//! the first step uses `schedule(0)`:
//!
//! ```
//! use keen_optim::{CosineDecay, LearningRateSchedule, Sgd, Optimizer};
//!
//! let s = CosineDecay::new(0.0, 100).warmup_target(0.1).warmup_steps(10);
//! assert_eq!(s.learning_rate(0), 0.0);
//! assert!((s.learning_rate(5) - 0.05).abs() < 1e-12);  // linear warmup
//! assert!((s.learning_rate(10) - 0.1).abs() < 1e-12);  // then cosine decay
//! let opt = Sgd::new(s);
//! assert_eq!(opt.learning_rate(), 0.0);
//! ```
//!
//! Reduce-on-plateau is not a schedule (it watches a metric): a callback calls
//! [`Optimizer::set_learning_rate`](crate::Optimizer::set_learning_rate).

use std::fmt;
use std::sync::Arc;

/// A learning rate that depends on the step counter.
pub trait LearningRateSchedule: Send + Sync + fmt::Debug {
    /// The learning rate for the step that follows `step` completed steps.
    fn learning_rate(&self, step: u64) -> f64;
}

/// An optimizer's learning rate: a constant or a schedule. Built from an `f64` or any schedule
/// (`Adam::new(1e-3)`, `Sgd::new(ExponentialDecay::new(0.1, 1000, 0.96))`).
#[derive(Clone, Debug)]
pub enum LearningRate {
    /// The same value at every step.
    Constant(f64),
    /// A schedule evaluated at the step counter.
    Schedule(Arc<dyn LearningRateSchedule>),
}

impl LearningRate {
    /// The learning rate after `step` completed steps.
    pub fn at(&self, step: u64) -> f64 {
        match self {
            LearningRate::Constant(lr) => *lr,
            LearningRate::Schedule(s) => s.learning_rate(step),
        }
    }

    /// A schedule from a closure of the step: `LearningRate::from_fn(|step| 0.1 / (1 + step) as f64)`.
    pub fn from_fn(f: impl Fn(u64) -> f64 + Send + Sync + 'static) -> Self {
        LearningRate::Schedule(Arc::new(FnSchedule(f)))
    }
}

impl From<f64> for LearningRate {
    fn from(lr: f64) -> Self {
        LearningRate::Constant(lr)
    }
}

impl From<Arc<dyn LearningRateSchedule>> for LearningRate {
    fn from(s: Arc<dyn LearningRateSchedule>) -> Self {
        LearningRate::Schedule(s)
    }
}

struct FnSchedule<F>(F);

impl<F: Fn(u64) -> f64 + Send + Sync> LearningRateSchedule for FnSchedule<F> {
    fn learning_rate(&self, step: u64) -> f64 {
        (self.0)(step)
    }
}

impl<F> fmt::Debug for FnSchedule<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnSchedule")
    }
}

macro_rules! into_learning_rate {
    ($($t:ty),*) => {$(
        impl From<$t> for LearningRate {
            fn from(s: $t) -> Self {
                LearningRate::Schedule(Arc::new(s))
            }
        }
    )*};
}
into_learning_rate!(
    ExponentialDecay,
    PiecewiseConstantDecay,
    InverseTimeDecay,
    PolynomialDecay,
    CosineDecay
);

/// `initial_learning_rate * decay_rate ^ (step / decay_steps)`, the exponent floored when
/// `staircase` (Keras `ExponentialDecay`).
#[derive(Clone, Debug)]
pub struct ExponentialDecay {
    initial_learning_rate: f64,
    decay_steps: u64,
    decay_rate: f64,
    staircase: bool,
}

impl ExponentialDecay {
    /// A continuous exponential decay.
    ///
    /// # Panics
    /// `ExponentialDecay: decay_steps must be positive` when it is 0.
    #[track_caller]
    pub fn new(initial_learning_rate: f64, decay_steps: u64, decay_rate: f64) -> Self {
        assert!(
            decay_steps > 0,
            "ExponentialDecay: decay_steps must be positive"
        );
        ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        }
    }

    /// Decay in whole steps of `decay_steps` (default `false`).
    pub fn staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }
}

impl LearningRateSchedule for ExponentialDecay {
    fn learning_rate(&self, step: u64) -> f64 {
        let mut p = step as f64 / self.decay_steps as f64;
        if self.staircase {
            p = p.floor();
        }
        self.initial_learning_rate * self.decay_rate.powf(p)
    }
}

/// `values[0]` while `step <= boundaries[0]`, `values[1]` while `step <= boundaries[1]`, …,
/// and the last value after the last boundary (Keras `PiecewiseConstantDecay`).
#[derive(Clone, Debug)]
pub struct PiecewiseConstantDecay {
    boundaries: Vec<u64>,
    values: Vec<f64>,
}

impl PiecewiseConstantDecay {
    /// Constant pieces between increasing `boundaries`.
    ///
    /// # Panics
    /// `PiecewiseConstantDecay: 2 boundaries need 3 values, got 2`, or when the boundaries do
    /// not increase.
    #[track_caller]
    pub fn new(boundaries: Vec<u64>, values: Vec<f64>) -> Self {
        assert!(
            values.len() == boundaries.len() + 1,
            "PiecewiseConstantDecay: {} boundaries need {} values, got {}",
            boundaries.len(),
            boundaries.len() + 1,
            values.len()
        );
        assert!(
            boundaries.windows(2).all(|w| w[0] < w[1]),
            "PiecewiseConstantDecay: boundaries must increase, got {boundaries:?}"
        );
        PiecewiseConstantDecay { boundaries, values }
    }
}

impl LearningRateSchedule for PiecewiseConstantDecay {
    fn learning_rate(&self, step: u64) -> f64 {
        let piece = self.boundaries.partition_point(|&b| b < step);
        self.values[piece]
    }
}

/// `initial_learning_rate / (1 + decay_rate * step / decay_steps)`, the ratio floored when
/// `staircase` (Keras `InverseTimeDecay`).
#[derive(Clone, Debug)]
pub struct InverseTimeDecay {
    initial_learning_rate: f64,
    decay_steps: u64,
    decay_rate: f64,
    staircase: bool,
}

impl InverseTimeDecay {
    /// A continuous inverse-time decay.
    ///
    /// # Panics
    /// `InverseTimeDecay: decay_steps must be positive` when it is 0.
    #[track_caller]
    pub fn new(initial_learning_rate: f64, decay_steps: u64, decay_rate: f64) -> Self {
        assert!(
            decay_steps > 0,
            "InverseTimeDecay: decay_steps must be positive"
        );
        InverseTimeDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        }
    }

    /// Decay in whole steps of `decay_steps` (default `false`).
    pub fn staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }
}

impl LearningRateSchedule for InverseTimeDecay {
    fn learning_rate(&self, step: u64) -> f64 {
        let mut p = step as f64 / self.decay_steps as f64;
        if self.staircase {
            p = p.floor();
        }
        self.initial_learning_rate / (1.0 + self.decay_rate * p)
    }
}

/// `(initial - end) * (1 - min(step, decay_steps) / decay_steps) ^ power + end`; with `cycle`
/// the decay restarts, `decay_steps` growing to the next multiple past `step` (Keras
/// `PolynomialDecay`).
#[derive(Clone, Debug)]
pub struct PolynomialDecay {
    initial_learning_rate: f64,
    decay_steps: u64,
    end_learning_rate: f64,
    power: f64,
    cycle: bool,
}

impl PolynomialDecay {
    /// A linear decay (power 1) from `initial_learning_rate` to `end_learning_rate`.
    ///
    /// # Panics
    /// `PolynomialDecay: decay_steps must be positive` when it is 0.
    #[track_caller]
    pub fn new(initial_learning_rate: f64, decay_steps: u64, end_learning_rate: f64) -> Self {
        assert!(
            decay_steps > 0,
            "PolynomialDecay: decay_steps must be positive"
        );
        PolynomialDecay {
            initial_learning_rate,
            decay_steps,
            end_learning_rate,
            power: 1.0,
            cycle: false,
        }
    }

    /// The polynomial's power (default 1).
    pub fn power(mut self, power: f64) -> Self {
        self.power = power;
        self
    }

    /// Restart the decay every `decay_steps`-multiple (default `false`).
    pub fn cycle(mut self, cycle: bool) -> Self {
        self.cycle = cycle;
        self
    }
}

impl LearningRateSchedule for PolynomialDecay {
    fn learning_rate(&self, step: u64) -> f64 {
        let mut steps = self.decay_steps as f64;
        let mut s = step as f64;
        if self.cycle {
            steps *= if step == 0 { 1.0 } else { (s / steps).ceil() };
        } else {
            s = s.min(steps);
        }
        let (a, b) = (self.initial_learning_rate, self.end_learning_rate);
        (a - b) * (1.0 - s / steps).powf(self.power) + b
    }
}

/// Cosine decay with an optional linear warmup (Keras `CosineDecay`).
///
/// Without warmup: `initial * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) /
/// decay_steps)) + alpha)`. With `warmup_target` and `warmup_steps`, the rate first goes
/// linearly from `initial` to `warmup_target` over `warmup_steps`, then decays from
/// `warmup_target` over the next `decay_steps`.
#[derive(Clone, Debug)]
pub struct CosineDecay {
    initial_learning_rate: f64,
    decay_steps: u64,
    alpha: f64,
    warmup_target: Option<f64>,
    warmup_steps: u64,
}

impl CosineDecay {
    /// A cosine decay from `initial_learning_rate` to `alpha * initial` over `decay_steps`.
    ///
    /// # Panics
    /// `CosineDecay: decay_steps must be positive` when it is 0.
    #[track_caller]
    pub fn new(initial_learning_rate: f64, decay_steps: u64) -> Self {
        assert!(decay_steps > 0, "CosineDecay: decay_steps must be positive");
        CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha: 0.0,
            warmup_target: None,
            warmup_steps: 0,
        }
    }

    /// The final rate as a fraction of the decay's starting rate (default 0).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// The rate reached at the end of the warmup (default: no warmup).
    pub fn warmup_target(mut self, warmup_target: f64) -> Self {
        self.warmup_target = Some(warmup_target);
        self
    }

    /// The number of warmup steps (default 0).
    pub fn warmup_steps(mut self, warmup_steps: u64) -> Self {
        self.warmup_steps = warmup_steps;
        self
    }

    fn decay(&self, step: f64, from: f64) -> f64 {
        let cos = 0.5 * (1.0 + (std::f64::consts::PI * step / self.decay_steps as f64).cos());
        from * ((1.0 - self.alpha) * cos + self.alpha)
    }
}

impl LearningRateSchedule for CosineDecay {
    fn learning_rate(&self, step: u64) -> f64 {
        let Some(target) = self.warmup_target else {
            return self.decay(
                step.min(self.decay_steps) as f64,
                self.initial_learning_rate,
            );
        };
        let s = step.min(self.decay_steps + self.warmup_steps);
        if s < self.warmup_steps {
            let done = s as f64 / self.warmup_steps as f64;
            return (target - self.initial_learning_rate) * done + self.initial_learning_rate;
        }
        self.decay((s - self.warmup_steps) as f64, target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piecewise_constant_boundaries_are_inclusive() {
        let s = PiecewiseConstantDecay::new(vec![10, 20], vec![1.0, 0.5, 0.1]);
        let got: Vec<f64> = [0, 10, 11, 20, 21, 1000].map(|t| s.learning_rate(t)).into();
        assert_eq!(got, [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]);
    }

    #[test]
    fn exponential_and_inverse_time_staircase() {
        let e = ExponentialDecay::new(1.0, 10, 0.5).staircase(true);
        assert_eq!([9, 10, 25].map(|t| e.learning_rate(t)), [1.0, 0.5, 0.25]);
        let i = InverseTimeDecay::new(1.0, 10, 1.0);
        assert_eq!(i.learning_rate(5), 1.0 / 1.5);
    }

    #[test]
    fn polynomial_decay_cycles() {
        let p = PolynomialDecay::new(1.0, 10, 0.0).cycle(true);
        assert_eq!(p.learning_rate(0), 1.0);
        assert_eq!(p.learning_rate(10), 0.0);
        assert!((p.learning_rate(15) - 0.25).abs() < 1e-12); // decay_steps becomes 20
        let q = PolynomialDecay::new(1.0, 10, 0.1);
        assert_eq!(q.learning_rate(100), 0.1);
    }

    #[test]
    fn cosine_decay_ends_at_alpha() {
        let c = CosineDecay::new(2.0, 10).alpha(0.1);
        assert!((c.learning_rate(10) - 0.2).abs() < 1e-12);
        assert!((c.learning_rate(1000) - 0.2).abs() < 1e-12);
    }

    #[test]
    #[should_panic(expected = "PiecewiseConstantDecay: 1 boundaries need 2 values, got 1")]
    fn piecewise_constant_checks_lengths() {
        PiecewiseConstantDecay::new(vec![3], vec![1.0]);
    }
}
