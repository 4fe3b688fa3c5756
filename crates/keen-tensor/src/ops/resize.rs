//! Resizing NHWC images: `resize` (nearest or bilinear, any size) and `upsample2d` (Keras'
//! `UpSampling2D`, an integer factor), matching TensorFlow 2's `tf.image.resize`.
//!
//! Both interpolations are separable linear maps of the pixels (one along the rows, one along
//! the columns), so the op and its gradient are the same kernel: the gradient applies the
//! transposed maps (see `ops/pool.rs`, `resample`).

use super::conv::Pair;
use super::pool::resample;
use crate::error::{or_panic, Result};
use crate::kernels::pool::AxisMap;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::sync::Arc;

/// How [`Tensor::resize`] reads between pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    /// The nearest input pixel: output `o` reads input `min(floor((o + ½)·in/out), in − 1)`.
    Nearest,
    /// A weighted mean of the two nearest input pixels along each axis, sampled at
    /// `(o + ½)·in/out − ½` and clamped to the border.
    Bilinear,
}

impl Interpolation {
    /// The map from `len` inputs to `out` outputs along one axis (half-pixel centres).
    fn axis_map(self, len: usize, out: usize) -> AxisMap {
        let scale = len as f64 / out as f64;
        let rows = (0..out)
            .map(|o| match self {
                Interpolation::Nearest => {
                    let i = (((o as f64 + 0.5) * scale).floor() as usize).min(len - 1);
                    vec![(i, 1.0)]
                }
                Interpolation::Bilinear => {
                    let src = (o as f64 + 0.5) * scale - 0.5;
                    let lo = src.floor();
                    let t = src - lo;
                    let (i0, i1) = (
                        lo.max(0.0) as usize,
                        (src.ceil().max(0.0) as usize).min(len - 1),
                    );
                    let i0 = i0.min(len - 1);
                    if i0 == i1 || t == 0.0 {
                        vec![(i0, 1.0)]
                    } else {
                        vec![(i0, 1.0 - t), (i1, t)]
                    }
                }
            })
            .collect();
        AxisMap { len, rows }
    }
}

impl Tensor {
    /// Resizes each image of an NHWC batch to `size = [height, width]`, as TensorFlow 2's
    /// `tf.image.resize(x, size, method)` with its defaults (`antialias=False`): half-pixel
    /// centres, output pixel `o` centred on input coordinate `(o + ½)·in/out − ½`. `Nearest`
    /// takes the pixel that coordinate falls in; `Bilinear` mixes its two neighbours along
    /// each axis, clamped at the border (PyTorch's `interpolate(mode="bilinear",
    /// align_corners=False)` and `mode="nearest-exact"` agree). Downsizing does not
    /// antialias: it samples.
    ///
    /// Linear in the input, so the gradient is the transposed map: each output's gradient
    /// goes back to the pixels it was read from, with the same weights.
    ///
    /// # Shapes
    /// `(n, h, w, c)` → `(n, height, width, c)`.
    ///
    /// ```
    /// use keen_tensor::{Tensor, ops::resize::Interpolation};
    /// let x = Tensor::from([0.0f32, 4.0]).reshape([1, 1, 2, 1]);
    /// let y = x.resize([1, 4], Interpolation::Bilinear);
    /// assert_eq!(y.to_vec::<f32>(), [0.0, 1.0, 3.0, 4.0]);
    /// let y = x.resize([1, 4], Interpolation::Nearest);
    /// assert_eq!(y.to_vec::<f32>(), [0.0, 0.0, 4.0, 4.0]);
    /// ```
    /// # Panics
    /// `resize: expects rank-4 NHWC input, got shape (4, 4)`; also when resizing an empty
    /// image to a non-empty one, or on a non-float dtype.
    #[track_caller]
    pub fn resize(&self, size: [usize; 2], method: Interpolation) -> Tensor {
        or_panic(self.try_resize(size, method))
    }

    /// Fallible [`resize`](Self::resize).
    #[track_caller]
    pub fn try_resize(&self, size: [usize; 2], method: Interpolation) -> Result<Tensor> {
        let op = "resize";
        let [n, h, w, c] = super::conv::nhwc(op, self)?;
        // Before the axis maps, which are as long as the output's sides.
        Shape::new(&[n, size[0], size[1], c]).checked_numel(op)?;
        if (h == 0 && size[0] > 0) || (w == 0 && size[1] > 0) {
            crate::bail!(
                Shape,
                "{op}: cannot resize an empty {} image to {}",
                Pair([h, w]),
                Pair(size)
            );
        }
        self.expect_float(op)?;
        let maps = [method.axis_map(h, size[0]), method.axis_map(w, size[1])];
        resample(self, Arc::new(maps), op)
    }

    /// Upsamples each image of an NHWC batch by the integer factors `size = [rows, columns]`,
    /// as Keras' `UpSampling2D(size, interpolation)`: `Nearest` repeats every pixel into a
    /// `rows × columns` block; `Bilinear` is [`resize`](Self::resize) to `(h·rows, w·columns)`.
    /// The gradient of `Nearest` sums each block.
    ///
    /// ```
    /// use keen_tensor::{Tensor, ops::resize::Interpolation};
    /// let x = Tensor::from([[1.0f32, 2.0]]).reshape([1, 1, 2, 1]);
    /// let y = x.upsample2d([2, 2], Interpolation::Nearest);
    /// assert_eq!(y.dims(), [1, 2, 4, 1]);
    /// assert_eq!(y.to_vec::<f32>(), [1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
    /// ```
    /// # Panics
    /// `upsample2d: expects rank-4 NHWC input, …`, zero factors, or a non-float dtype.
    #[track_caller]
    pub fn upsample2d(&self, size: [usize; 2], method: Interpolation) -> Tensor {
        or_panic(self.try_upsample2d(size, method))
    }

    /// Fallible [`upsample2d`](Self::upsample2d).
    #[track_caller]
    pub fn try_upsample2d(&self, size: [usize; 2], method: Interpolation) -> Result<Tensor> {
        let op = "upsample2d";
        let [_, h, w, _] = super::conv::nhwc(op, self)?;
        super::conv::positive(op, "size", size)?;
        let (Some(oh), Some(ow)) = (h.checked_mul(size[0]), w.checked_mul(size[1])) else {
            crate::bail!(
                Overflow,
                "{op}: upsampling {} by {} gives sides that overflow",
                self.shape(),
                Pair(size)
            );
        };
        self.try_resize([oh, ow], method)
    }
}
