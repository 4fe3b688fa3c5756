//! Layers that move or resize values without weights: `UpSampling2d`, `ZeroPadding2d`,
//! `Cropping2d`, `Flatten`, `Reshape`, `Permute`, `RepeatVector`.

use super::{nhwc, Interpolation, IntoMargins, IntoPair};
use keen_tensor::Tensor;

/// Keras' `UpSampling2D`: repeats rows and columns by integer factors (`Nearest`, the
/// default) or resizes bilinearly to the multiplied size (half-pixel centres, as Keras 3).
///
/// * Arguments: `size` (Keras' default `2`), `interpolation` (`Nearest`).
/// * Input `(batch, h, w, c)` → output `(batch, h·size₀, w·size₁, c)`.
///
/// ```
/// use keen_nn::layers::UpSampling2d;
/// use keen_tensor::Tensor;
/// let x = Tensor::from([1.0f32, 2.0]).reshape([1, 1, 2, 1]);
/// let y = UpSampling2d::new(2).call(&x);
/// assert_eq!(y.to_vec::<f32>(), [1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct UpSampling2d {
    size: [usize; 2],
    interpolation: Interpolation,
}

impl UpSampling2d {
    /// Upsamples by `size` (`2` or `[2, 3]`) with nearest-neighbour interpolation.
    pub fn new(size: impl IntoPair) -> Self {
        UpSampling2d {
            size: size.into_pair(),
            interpolation: Interpolation::Nearest,
        }
    }

    /// Sets the interpolation (default `Nearest`).
    pub fn interpolation(mut self, i: Interpolation) -> Self {
        self.interpolation = i;
        self
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// `UpSampling2d: expects rank-4 NHWC input, got shape (3, 3)`.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        nhwc("UpSampling2d", x);
        x.upsample2d(self.size, self.interpolation)
    }
}
stateless_layer!(UpSampling2d, "up_sampling2d");

/// Keras' `ZeroPadding2D`: adds rows and columns of zeros around each image.
///
/// * Arguments: `padding`: `1` (every side), `[rows, columns]` or
///   `[[top, bottom], [left, right]]`.
/// * Input `(batch, h, w, c)` → output `(batch, h + top + bottom, w + left + right, c)`.
///
/// ```
/// use keen_nn::layers::ZeroPadding2d;
/// use keen_tensor::{DType, Tensor};
/// let y = ZeroPadding2d::new([[1, 0], [2, 2]]).call(&Tensor::ones([1, 3, 3, 2], DType::Float32));
/// assert_eq!(y.dims(), [1, 4, 7, 2]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ZeroPadding2d {
    padding: [[usize; 2]; 2],
}

impl ZeroPadding2d {
    /// Pads by `padding` (Keras' default is `1`).
    pub fn new(padding: impl IntoMargins) -> Self {
        ZeroPadding2d {
            padding: padding.into_margins(),
        }
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// `ZeroPadding2d: expects rank-4 NHWC input, got shape (3, 3)`.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        nhwc("ZeroPadding2d", x);
        let [[t, b], [l, r]] = self.padding;
        x.pad(&[(0, 0), (t, b), (l, r), (0, 0)], 0.0)
    }
}
stateless_layer!(ZeroPadding2d, "zero_padding2d");

/// Keras' `Cropping2D`: removes rows and columns at the borders of each image (a view, no
/// copy).
///
/// * Arguments: `cropping`: `1` (every side), `[rows, columns]` or
///   `[[top, bottom], [left, right]]`.
/// * Input `(batch, h, w, c)` → output `(batch, h − top − bottom, w − left − right, c)`.
///
/// ```
/// use keen_nn::layers::Cropping2d;
/// use keen_tensor::{DType, Tensor};
/// let y = Cropping2d::new([[1, 0], [2, 2]]).call(&Tensor::ones([1, 5, 6, 2], DType::Float32));
/// assert_eq!(y.dims(), [1, 4, 2, 2]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Cropping2d {
    cropping: [[usize; 2]; 2],
}

impl Cropping2d {
    /// Crops by `cropping` (Keras' default crops nothing).
    pub fn new(cropping: impl IntoMargins) -> Self {
        Cropping2d {
            cropping: cropping.into_margins(),
        }
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// `Cropping2d: cropping [[3, 3], [0, 0]] leaves nothing of input shape (1, 5, 5, 2)`.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        let [_, h, w, _] = nhwc("Cropping2d", x);
        let [[t, b], [l, r]] = self.cropping;
        if t + b >= h || l + r >= w {
            panic!(
                "Cropping2d: cropping {:?} leaves nothing of input shape {}",
                self.cropping,
                x.shape()
            );
        }
        x.narrow(1, t, h - t - b).narrow(2, l, w - l - r)
    }
}
stateless_layer!(Cropping2d, "cropping2d");

/// Keras' `Flatten`: folds every axis but the batch into one.
///
/// Input `(batch, d1, …, dk)` → output `(batch, d1·…·dk)`; a `(batch,)` input gives
/// `(batch, 1)`.
///
/// ```
/// use keen_nn::layers::Flatten;
/// use keen_tensor::{DType, Tensor};
/// assert_eq!(Flatten::new().call(&Tensor::ones([2, 3, 4, 5], DType::Float32)).dims(), [2, 60]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flatten;

impl Flatten {
    /// The layer.
    pub fn new() -> Self {
        Flatten
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// `Flatten: expects inputs with a batch axis, got a scalar`.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        if x.rank() == 0 {
            panic!("Flatten: expects inputs with a batch axis, got a scalar");
        }
        let rest: usize = x.dims()[1..].iter().product();
        x.reshape_dims(&[x.dims()[0] as isize, rest as isize])
    }
}
stateless_layer!(Flatten, "flatten");

/// Keras' `Reshape`: gives each example the shape `target_shape` (the batch axis is kept; one
/// entry may be `-1`, inferred).
///
/// Input `(batch, …)` → output `(batch, *target_shape)`.
///
/// ```
/// use keen_nn::layers::Reshape;
/// use keen_tensor::{DType, Tensor};
/// let y = Reshape::new(&[-1, 4]).call(&Tensor::ones([2, 3, 8], DType::Float32));
/// assert_eq!(y.dims(), [2, 6, 4]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Reshape {
    target_shape: Vec<isize>,
}

impl Reshape {
    /// Reshapes each example to `target_shape` (without the batch axis).
    pub fn new(target_shape: &[isize]) -> Self {
        Reshape {
            target_shape: target_shape.to_vec(),
        }
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// `Reshape: expects inputs with a batch axis, got a scalar`, or the element count does not
    /// fit (`reshape: cannot reshape (2, 24) (48 elements) into (2, 5, -1)`).
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        if x.rank() == 0 {
            panic!("Reshape: expects inputs with a batch axis, got a scalar");
        }
        let mut dims = Vec::with_capacity(self.target_shape.len() + 1);
        dims.push(x.dims()[0] as isize);
        dims.extend_from_slice(&self.target_shape);
        x.reshape_dims(&dims)
    }
}
stateless_layer!(Reshape, "reshape");

/// Keras' `Permute`: reorders the axes of each example. `dims` is 1-based and leaves out the
/// batch axis, as Keras: `Permute::new(&[2, 1])` swaps the two axes after the batch.
///
/// Input `(batch, d1, …, dk)` → output `(batch, d_dims[0], …)`. The result is a view.
///
/// ```
/// use keen_nn::layers::Permute;
/// use keen_tensor::{DType, Tensor};
/// let y = Permute::new(&[2, 1]).call(&Tensor::ones([4, 10, 64], DType::Float32));
/// assert_eq!(y.dims(), [4, 64, 10]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Permute {
    dims: Vec<usize>,
}

impl Permute {
    /// Permutes the non-batch axes by the 1-based `dims`.
    ///
    /// # Panics
    /// `Permute: dims must be a permutation of 1..=3, got [1, 1, 3]`.
    #[track_caller]
    pub fn new(dims: &[usize]) -> Self {
        let mut sorted = dims.to_vec();
        sorted.sort_unstable();
        if sorted.iter().enumerate().any(|(i, &d)| d != i + 1) {
            panic!(
                "Permute: dims must be a permutation of 1..={}, got {dims:?}",
                dims.len()
            );
        }
        Permute {
            dims: dims.to_vec(),
        }
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// `Permute: dims [2, 1] need rank-3 inputs, got shape (4, 10)`.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        if x.rank() != self.dims.len() + 1 {
            panic!(
                "Permute: dims {:?} need rank-{} inputs, got shape {}",
                self.dims,
                self.dims.len() + 1,
                x.shape()
            );
        }
        let perm: Vec<isize> = std::iter::once(0)
            .chain(self.dims.iter().map(|&d| d as isize))
            .collect();
        x.permute(&perm)
    }
}
stateless_layer!(Permute, "permute");

/// Keras' `RepeatVector`: repeats each example's vector `n` times along a new axis 1.
///
/// Input `(batch, features)` → output `(batch, n, features)`. The result is a broadcast view:
/// nothing is copied until an op writes a new tensor.
///
/// ```
/// use keen_nn::layers::RepeatVector;
/// use keen_tensor::Tensor;
/// let y = RepeatVector::new(3).call(&Tensor::from([[1.0f32, 2.0]]));
/// assert_eq!(y.dims(), [1, 3, 2]);
/// assert_eq!(y.to_vec::<f32>(), [1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RepeatVector {
    n: usize,
}

impl RepeatVector {
    /// Repeats `n` times.
    pub fn new(n: usize) -> Self {
        RepeatVector { n }
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// `RepeatVector: expects rank-2 inputs (batch, features), got shape (2, 3, 4)`.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        let &[b, f] = x.dims() else {
            panic!(
                "RepeatVector: expects rank-2 inputs (batch, features), got shape {}",
                x.shape()
            );
        };
        x.expand_dims(1).broadcast_to([b, self.n, f])
    }
}
stateless_layer!(RepeatVector, "repeat_vector");
