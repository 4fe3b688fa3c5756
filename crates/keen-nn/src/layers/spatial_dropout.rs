//! `SpatialDropout1d` and `SpatialDropout2d`: dropout of whole feature maps.

use crate::layer::Layer;
use crate::module::{Module, Walk};
use keen_tensor::Tensor;

macro_rules! spatial_dropout {
    (
        $(#[$doc:meta])* $name:ident, $keras:literal, $type_name:literal, $rank:literal,
        $layout:literal
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            rate: f64,
        }

        impl $name {
            /// Drops each channel with probability `rate` (in `[0, 1)`).
            ///
            /// # Panics
            #[doc = concat!("`", $keras, ": rate must be in [0, 1), got 1.5`.")]
            #[track_caller]
            pub fn new(rate: f64) -> Self {
                if !(0.0..1.0).contains(&rate) {
                    panic!("{}: rate must be in [0, 1), got {rate}", $keras);
                }
                $name { rate }
            }

            /// Applies dropout when `training`.
            ///
            /// # Panics
            #[doc = concat!("`", $keras, ": expects rank-", $rank, " ", $layout, " input, got shape (3, 3)`.")]
            #[track_caller]
            pub fn call(&self, x: &Tensor, training: bool) -> Tensor {
                if x.rank() != $rank {
                    panic!(
                        "{}: expects rank-{} {} input, got shape {}",
                        $keras,
                        $rank,
                        $layout,
                        x.shape()
                    );
                }
                drop_channels(x, self.rate, training)
            }
        }

        impl Module for $name {
            fn visit(&self, _: &mut Walk<'_>) {}
        }

        impl Layer for $name {
            fn forward(&self, x: &Tensor, training: bool) -> Tensor {
                self.call(x, training)
            }
            fn type_name(&self) -> &'static str {
                $type_name
            }
            crate::layer::keeps_mask!();
        }
    };
}

/// Zeroes each (example, channel) with probability `rate` and scales the rest by
/// `1 / (1 − rate)`: one draw per channel of each example, broadcast over the other axes
/// (the mask is `(batch, 1, …, 1, channels)`, never expanded).
fn drop_channels(x: &Tensor, rate: f64, training: bool) -> Tensor {
    if !training || rate == 0.0 {
        return x.clone();
    }
    let dims = x.dims();
    let mut noise = vec![1; dims.len()];
    noise[0] = dims[0];
    noise[dims.len() - 1] = dims[dims.len() - 1];
    let keep = Tensor::bernoulli(noise.as_slice(), 1.0 - rate, x.dtype());
    x.mul(&keep.mul(1.0 / (1.0 - rate)))
}

spatial_dropout!(
    /// Keras' `SpatialDropout2D`: while training, zeroes whole channels of each image with
    /// probability `rate` and scales the survivors by `1 / (1 − rate)`; the identity at
    /// inference. Neighbouring pixels of a feature map are strongly correlated, so dropping
    /// single pixels (plain [`Dropout`](crate::Dropout)) barely regularises a convolutional
    /// network.
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
    SpatialDropout2d,
    "SpatialDropout2d",
    "spatial_dropout2d",
    4,
    "NHWC"
);

spatial_dropout!(
    /// Keras' `SpatialDropout1D`: while training, zeroes whole feature channels of each
    /// sequence (the same features at every step) with probability `rate` and scales the
    /// survivors by `1 / (1 − rate)`; the identity at inference. After an `Embedding` it drops
    /// embedding dimensions for the whole sentence, where plain
    /// [`Dropout`](crate::Dropout) drops single values that the next steps make up for. The
    /// mask of padded steps passes on.
    ///
    /// Input `(batch, steps, features)` → the same shape; the mask has shape
    /// `(batch, 1, features)`.
    ///
    /// ```
    /// use keen_nn::layers::SpatialDropout1d;
    /// use keen_tensor::{DType, Tensor};
    /// let d = SpatialDropout1d::new(0.5);
    /// let y = d.call(&Tensor::ones([4, 6, 8], DType::Float32), true);
    /// // every feature of every sequence is 0 at all steps or 2 at all steps
    /// let v = y.to_vec::<f32>();
    /// for (b, f) in (0..4).flat_map(|b| (0..8).map(move |f| (b, f))) {
    ///     let first = v[b * 48 + f];
    ///     assert!((0..6).all(|t| v[b * 48 + t * 8 + f] == first));
    /// }
    /// ```
    SpatialDropout1d,
    "SpatialDropout1d",
    "spatial_dropout1d",
    3,
    "(batch, steps, features)"
);
