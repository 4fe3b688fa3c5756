//! `Masking`: padding marked by a value instead of by a token id.

use crate::layer::Layer;
use crate::module::{Module, Walk};
use keen_tensor::Tensor;

/// Keras' `Masking`: a time step whose features all equal `mask_value` is padding. The layer
/// zeroes those steps and gives the mask (bool `(batch, steps)`, true at real steps) to the
/// layers after it in the Functional API and `Sequential`, so that recurrent layers skip the
/// padding and `GlobalAveragePooling1d` averages over the real steps only. It is the
/// `Embedding::mask_zero` of sequences of feature vectors.
///
/// * Arguments: `mask_value` (0.0).
/// * Input `(batch, steps, features)` (any rank ≥ 2: the last axis is the features) → output of
///   the same shape, and a mask without the last axis.
///
/// ```
/// use keen_nn::layers::Masking;
/// use keen_tensor::Tensor;
/// // Two steps of two features; the second step is padding.
/// let x = Tensor::from_vec(vec![1.0f32, 0.0, 0.0, 0.0], [1, 2, 2]);
/// let masking = Masking::new();
/// assert_eq!(masking.compute_mask(&x).to_vec::<bool>(), [true, false]);
///
/// let masking = Masking::new().mask_value(1.0);
/// assert_eq!(masking.call(&x).to_vec::<f32>(), [1.0, 0.0, 0.0, 0.0]);
/// assert_eq!(masking.compute_mask(&x).to_vec::<bool>(), [true, true]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Masking {
    mask_value: f64,
}

impl Masking {
    /// Masks the steps whose features are all 0.0 (Keras' default).
    pub fn new() -> Self {
        Self::default()
    }

    /// Masks the steps whose features all equal `v` instead.
    pub fn mask_value(mut self, v: f64) -> Self {
        self.mask_value = v;
        self
    }

    /// The input with its padding steps zeroed.
    ///
    /// # Panics
    /// `Masking: expects input of rank ≥ 2 (batch, …, features), got shape (4,)`.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        x.mul(self.compute_mask(x).expand_dims(-1).cast(x.dtype()))
    }

    /// The mask: true where a step has a feature other than `mask_value`. Never
    /// differentiated.
    ///
    /// # Panics
    /// As [`call`](Self::call).
    #[track_caller]
    pub fn compute_mask(&self, x: &Tensor) -> Tensor {
        if x.rank() < 2 {
            panic!(
                "Masking: expects input of rank ≥ 2 (batch, …, features), got shape {}",
                x.shape()
            );
        }
        x.ne(self.mask_value).any(&[-1], false)
    }
}

impl Module for Masking {
    fn visit(&self, _: &mut Walk<'_>) {}
}

impl Layer for Masking {
    fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
        self.call(x)
    }
    fn type_name(&self) -> &'static str {
        "masking"
    }
    /// Makes its own mask, whatever the input's (as Keras' `compute_mask`).
    #[track_caller]
    fn forward_masked(
        &self,
        xs: &[Tensor],
        _masks: &[Option<Tensor>],
        _training: bool,
    ) -> (Vec<Tensor>, Vec<Option<Tensor>>) {
        let x = crate::layer::only_input(self, xs);
        (vec![self.call(x)], vec![Some(self.compute_mask(x))])
    }
}
