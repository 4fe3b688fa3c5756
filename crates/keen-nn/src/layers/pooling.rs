//! Pooling layers: `MaxPooling2d`, `AveragePooling2d` and the global poolings over an image
//! (NHWC) or over time steps.

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

macro_rules! global_pool {
    (
        $(#[$doc:meta])* $name:ident, $keras:literal, $rank:literal, $layout:literal, $axes:expr, $op:ident
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name {
            keepdims: bool,
        }

        impl $name {
            /// Pools to one value per channel, dropping the pooled axes.
            pub fn new() -> Self {
                Self::default()
            }

            /// Keeps the pooled axes as size 1 (default false).
            pub fn keepdims(mut self, k: bool) -> Self {
                self.keepdims = k;
                self
            }

            /// Applies the pooling.
            ///
            /// # Panics
            #[doc = concat!("`", $keras, ": expects rank-", $rank, " ", $layout, " input, got shape (3, 3)`.")]
            #[track_caller]
            pub fn call(&self, x: &Tensor) -> Tensor {
                expect_rank($keras, $rank, $layout, x);
                x.$op(&$axes, self.keepdims)
            }
        }

        impl Module for $name {
            fn visit(&self, _: &mut Walk<'_>) {}
        }
    };
}

#[track_caller]
fn expect_rank(label: &str, rank: usize, layout: &str, x: &Tensor) {
    if x.rank() != rank {
        panic!(
            "{label}: expects rank-{rank} {layout} input, got shape {}",
            x.shape()
        );
    }
}

global_pool!(
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
    GlobalAveragePooling2d,
    "GlobalAveragePooling2d",
    4,
    "NHWC",
    [1, 2],
    mean
);

global_pool!(
    /// Keras' `GlobalMaxPooling2D`: the largest value of every channel over the whole image.
    /// The gradient goes to the maximum (split equally among ties).
    ///
    /// * Arguments: `keepdims` (false).
    /// * Input `(batch, h, w, c)` → output `(batch, c)`, or `(batch, 1, 1, c)` with `keepdims`.
    ///
    /// ```
    /// use keen_nn::layers::GlobalMaxPooling2d;
    /// use keen_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 9.0, 4.0, 2.0], [1, 2, 2, 1]);
    /// assert_eq!(GlobalMaxPooling2d::new().call(&x).to_vec::<f32>(), [9.0]);
    /// ```
    GlobalMaxPooling2d,
    "GlobalMaxPooling2d",
    4,
    "NHWC",
    [1, 2],
    max
);

global_pool!(
    /// Keras' `GlobalAveragePooling1D`: the mean of every feature over the time steps. With a
    /// mask (from `Embedding::mask_zero` or `Masking`, through the Functional API or
    /// `Sequential`, or given to [`call_masked`](Self::call_masked)) it is the mean over the
    /// real steps only, and the mask stops here. As in Keras, a row whose steps are all masked
    /// gives NaN (0 / 0).
    ///
    /// * Arguments: `keepdims` (false).
    /// * Input `(batch, steps, features)` → output `(batch, features)`, or
    ///   `(batch, 1, features)` with `keepdims`.
    ///
    /// ```
    /// use keen_nn::layers::GlobalAveragePooling1d;
    /// use keen_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 3.0, 8.0], [1, 3, 1]);
    /// let pool = GlobalAveragePooling1d::new();
    /// assert_eq!(pool.call(&x).to_vec::<f32>(), [4.0]);
    /// let real = Tensor::from_vec(vec![true, true, false], [1, 3]); // the last step is padding
    /// assert_eq!(pool.call_masked(&x, Some(&real)).to_vec::<f32>(), [2.0]);
    /// ```
    GlobalAveragePooling1d,
    "GlobalAveragePooling1d",
    3,
    "(batch, steps, features)",
    [1],
    mean
);

global_pool!(
    /// Keras' `GlobalMaxPooling1D`: the largest value of every feature over the time steps.
    /// Like Keras' it does not take a mask: padding steps take part in the maximum.
    ///
    /// * Arguments: `keepdims` (false).
    /// * Input `(batch, steps, features)` → output `(batch, features)`, or
    ///   `(batch, 1, features)` with `keepdims`.
    ///
    /// ```
    /// use keen_nn::layers::GlobalMaxPooling1d;
    /// use keen_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, -3.0, 8.0, 0.5], [1, 2, 2]);
    /// assert_eq!(GlobalMaxPooling1d::new().call(&x).to_vec::<f32>(), [8.0, 0.5]);
    /// ```
    GlobalMaxPooling1d,
    "GlobalMaxPooling1d",
    3,
    "(batch, steps, features)",
    [1],
    max
);

impl GlobalAveragePooling1d {
    /// Applies the pooling over the steps where `mask` (bool, `(batch, steps)`) is true: Keras'
    /// `call(inputs, mask)`. `None` is [`call`](Self::call).
    ///
    /// # Panics
    /// On a mask of another shape: `GlobalAveragePooling1d: mask shape (2, 4) does not match
    /// input shape (2, 5, 3)`.
    #[track_caller]
    pub fn call_masked(&self, x: &Tensor, mask: Option<&Tensor>) -> Tensor {
        let Some(mask) = mask else {
            return self.call(x);
        };
        expect_rank("GlobalAveragePooling1d", 3, "(batch, steps, features)", x);
        if mask.dims() != &x.dims()[..2] {
            panic!(
                "GlobalAveragePooling1d: mask shape {} does not match input shape {}",
                mask.shape(),
                x.shape()
            );
        }
        let weight = mask.cast(x.dtype()).expand_dims(-1);
        x.mul(&weight)
            .sum(&[1], self.keepdims)
            .div(weight.sum(&[1], self.keepdims))
    }
}

macro_rules! maskless_layer {
    ($($name:ident, $type_name:literal;)*) => {$(
        impl Layer for $name {
            fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
                self.call(x)
            }
            fn type_name(&self) -> &'static str {
                $type_name
            }
        }
    )*};
}

maskless_layer!(
    GlobalAveragePooling2d, "global_average_pooling2d";
    GlobalMaxPooling2d, "global_max_pooling2d";
    GlobalMaxPooling1d, "global_max_pooling1d";
);

impl Layer for GlobalAveragePooling1d {
    fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
        self.call(x)
    }
    fn type_name(&self) -> &'static str {
        "global_average_pooling1d"
    }
    /// Pools over the real steps and, as Keras' `compute_mask`, gives no mask.
    #[track_caller]
    fn forward_masked(
        &self,
        xs: &[Tensor],
        masks: &[Option<Tensor>],
        _training: bool,
    ) -> (Vec<Tensor>, Vec<Option<Tensor>>) {
        let x = crate::layer::only_input(self, xs);
        let mask = masks.first().and_then(Option::as_ref);
        (vec![self.call_masked(x, mask)], Vec::new())
    }
}
