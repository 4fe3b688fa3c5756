//! `SpatialDropout2d`: dropout of whole feature maps.

use super::nhwc;
use crate::layer::Layer;
use crate::module::{Module, Walk};
use keen_tensor::Tensor;

/// Keras' `SpatialDropout2D`: while training, zeroes whole channels of each image with
/// probability `rate` and scales the survivors by `1 / (1 − rate)`; the identity at inference.
/// Neighbouring pixels of a feature map are strongly correlated, so dropping single pixels
/// (plain [`Dropout`](crate::Dropout)) barely regularises a convolutional network.
///
/// Input `(batch, h, w, c)` → the same shape; the mask has shape `(batch, 1, 1, c)` and is
/// broadcast, never expanded.
///
/// ```
/// use keen_nn::layers::SpatialDropout2d;
/// use keen_tensor::{DType, Tensor};
/// let d = SpatialDropout2d::new(0.5);
/// let y = d.call(&Tensor::ones([4, 3, 3, 8], DType::Float32), true);
/// // every channel of every image is all 0 or all 2
/// let v = y.to_vec::<f32>();
/// for (b, c) in (0..4).flat_map(|b| (0..8).map(move |c| (b, c))) {
///     let first = v[b * 72 + c];
///     assert!((0..9).all(|p| v[b * 72 + p * 8 + c] == first));
/// }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SpatialDropout2d {
    rate: f64,
}

impl SpatialDropout2d {
    /// Drops each channel with probability `rate` (in `[0, 1)`).
    ///
    /// # Panics
    /// `SpatialDropout2d: rate must be in [0, 1), got 1.5`.
    #[track_caller]
    pub fn new(rate: f64) -> Self {
        if !(0.0..1.0).contains(&rate) {
            panic!("SpatialDropout2d: rate must be in [0, 1), got {rate}");
        }
        SpatialDropout2d { rate }
    }

    /// Applies dropout when `training`.
    ///
    /// # Panics
    /// `SpatialDropout2d: expects rank-4 NHWC input, got shape (3, 3)`.
    #[track_caller]
    pub fn call(&self, x: &Tensor, training: bool) -> Tensor {
        let [n, _, _, c] = nhwc("SpatialDropout2d", x);
        if !training || self.rate == 0.0 {
            return x.clone();
        }
        let keep = Tensor::bernoulli([n, 1, 1, c], 1.0 - self.rate, x.dtype());
        x.mul(&keep.mul(1.0 / (1.0 - self.rate)))
    }
}

impl Module for SpatialDropout2d {
    fn visit(&self, _: &mut Walk<'_>) {}
}

impl Layer for SpatialDropout2d {
    fn forward(&self, x: &Tensor, training: bool) -> Tensor {
        self.call(x, training)
    }
    fn type_name(&self) -> &'static str {
        "spatial_dropout2d"
    }
}
