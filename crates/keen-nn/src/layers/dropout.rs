//! `Dropout`: zeroes a random fraction of inputs while training.

use crate::layer::Layer;
use crate::module::{Module, Walk};
use keen_tensor::Tensor;

/// Keras' `Dropout`: while training, each element is zeroed with probability `rate` and the
/// survivors are scaled by `1 / (1 - rate)`; at inference it is the identity.
///
/// ```
/// use keen_nn::Dropout;
/// use keen_tensor::{DType, Tensor};
/// let d = Dropout::new(0.5);
/// let x = Tensor::ones([1000], DType::Float32);
/// assert_eq!(d.call(&x, false).to_vec::<f32>(), x.to_vec::<f32>());
/// let y = d.call(&x, true).to_vec::<f32>();
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
/// ```
#[derive(Clone, Debug)]
pub struct Dropout {
    rate: f64,
}

impl Dropout {
    /// Drops each element with probability `rate` (in `[0, 1)`).
    ///
    /// # Panics
    /// `Dropout: rate must be in [0, 1), got 1.5`.
    #[track_caller]
    pub fn new(rate: f64) -> Self {
        if !(0.0..1.0).contains(&rate) {
            panic!("Dropout: rate must be in [0, 1), got {rate}");
        }
        Dropout { rate }
    }

    /// Applies dropout when `training`.
    #[track_caller]
    pub fn call(&self, x: &Tensor, training: bool) -> Tensor {
        if !training || self.rate == 0.0 {
            return x.clone();
        }
        x.dropout(self.rate)
    }
}

impl Module for Dropout {
    fn visit(&self, _: &mut Walk<'_>) {}
}

impl Layer for Dropout {
    fn forward(&self, x: &Tensor, training: bool) -> Tensor {
        self.call(x, training)
    }
    fn type_name(&self) -> &'static str {
        "dropout"
    }
    crate::layer::keeps_mask!();
}
