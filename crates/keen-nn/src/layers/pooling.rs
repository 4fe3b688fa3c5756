//! Pooling layers: `MaxPooling2d`, `AveragePooling2d`, `GlobalAveragePooling2d` (NHWC).

use super::{nhwc, IntoPair, Padding};
use crate::layer::Layer;
use crate::module::{Module, Walk};
use keen_tensor::Tensor;

macro_rules! window_pool {
    ($(#[$doc:meta])* $name:ident, $keras:literal, $type_name:literal, $op:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            pool_size: [usize; 2],
            strides: Option<[usize; 2]>,
            padding: Padding,
        }

        impl $name {
            /// Pools over `pool_size` windows (Keras' default is `2`), with strides equal to
            /// the pool size and `Valid` padding.
            pub fn new(pool_size: impl IntoPair) -> Self {
                $name { pool_size: pool_size.into_pair(), strides: None, padding: Padding::Valid }
            }

            /// Sets the strides (default: the pool size).
            pub fn strides(mut self, s: impl IntoPair) -> Self {
                self.strides = Some(s.into_pair());
                self
            }

            /// Sets the padding (default `Valid`).
            pub fn padding(mut self, p: Padding) -> Self {
                self.padding = p;
                self
            }

            /// Applies the pooling.
            ///
            /// # Panics
            #[doc = concat!("`", $keras, ": expects rank-4 NHWC input, got shape (3, 3)`, or a pool")]
            /// larger than the input with `Valid` padding.
            #[track_caller]
            pub fn call(&self, x: &Tensor) -> Tensor {
                nhwc($keras, x);
                x.$op(self.pool_size, self.strides.unwrap_or(self.pool_size), self.padding)
            }
        }

        impl Module for $name {
            fn visit(&self, _: &mut Walk<'_>) {}
        }

        impl Layer for $name {
            fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
                self.call(x)
            }
            fn type_name(&self) -> &'static str {
                $type_name
            }
        }
    };
}

window_pool!(
    /// Keras' `MaxPooling2D`: the maximum of each `pool_size` window of every channel.
    ///
    /// * Arguments: `pool_size`, `strides` (default: the pool size), `padding` (`Valid`;
    ///   `Same` pads with values that never win).
    /// * Input `(batch, h, w, c)` → output `(batch, oh, ow, c)`.
    ///
    /// ```
    /// use keen_nn::layers::MaxPooling2d;
    /// use keen_tensor::Tensor;
    /// let x = Tensor::from([1.0f32, 5.0, 2.0, 0.0, 3.0, 4.0, 9.0, 8.0, 7.0]).reshape([1, 3, 3, 1]);
    /// let y = MaxPooling2d::new(2).strides(1).call(&x);
    /// assert_eq!(y.to_vec::<f32>(), [5.0, 5.0, 9.0, 8.0]);
    /// ```
    MaxPooling2d,
    "MaxPooling2d",
    "max_pooling2d",
    max_pool2d
);

window_pool!(
    /// Keras' `AveragePooling2D`: the mean of each `pool_size` window of every channel.
    ///
    /// * Arguments: `pool_size`, `strides` (default: the pool size), `padding` (`Valid`; with
    ///   `Same` each window's mean counts only the input elements it covers, as TensorFlow).
    /// * Input `(batch, h, w, c)` → output `(batch, oh, ow, c)`.
    ///
    /// ```
    /// use keen_nn::layers::AveragePooling2d;
    /// use keen_tensor::Tensor;
    /// let x = Tensor::from([1.0f32, 5.0, 2.0, 0.0]).reshape([1, 2, 2, 1]);
    /// assert_eq!(AveragePooling2d::new(2).call(&x).to_vec::<f32>(), [2.0]);
    /// ```
    AveragePooling2d,
    "AveragePooling2d",
    "average_pooling2d",
    avg_pool2d
);

/// Keras' `GlobalAveragePooling2D`: the mean of every channel over the whole image.
///
/// * Arguments: `keepdims` (false).
/// * Input `(batch, h, w, c)` → output `(batch, c)`, or `(batch, 1, 1, c)` with `keepdims`.
///
/// ```
/// use keen_nn::layers::GlobalAveragePooling2d;
/// use keen_tensor::{DType, Tensor};
/// let x = Tensor::ones([2, 4, 4, 3], DType::Float32);
/// assert_eq!(GlobalAveragePooling2d::new().call(&x).dims(), [2, 3]);
/// assert_eq!(GlobalAveragePooling2d::new().keepdims(true).call(&x).dims(), [2, 1, 1, 3]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GlobalAveragePooling2d {
    keepdims: bool,
}

impl GlobalAveragePooling2d {
    /// Pools to one value per channel, dropping the spatial axes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the spatial axes as size 1 (default false).
    pub fn keepdims(mut self, k: bool) -> Self {
        self.keepdims = k;
        self
    }

    /// Applies the pooling.
    ///
    /// # Panics
    /// `GlobalAveragePooling2d: expects rank-4 NHWC input, got shape (3, 3)`.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        nhwc("GlobalAveragePooling2d", x);
        x.mean(&[1, 2], self.keepdims)
    }
}

impl Module for GlobalAveragePooling2d {
    fn visit(&self, _: &mut Walk<'_>) {}
}

impl Layer for GlobalAveragePooling2d {
    fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
        self.call(x)
    }
    fn type_name(&self) -> &'static str {
        "global_average_pooling2d"
    }
}
