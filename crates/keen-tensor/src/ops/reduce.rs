//! Reductions over axes, with `keepdims`, and their backward rules.

use crate::dtype::Element;
use crate::error::{or_panic, Result};
use crate::record::{record, Backward};
use crate::shape::{normalize_axes, Shape};
use crate::tensor::Tensor;
use ndarray::Axis;

/// The shape after reducing `axes` (sorted, unique) of `shape`.
pub(crate) fn reduced_shape(shape: &Shape, axes: &[usize], keepdims: bool) -> Shape {
    let mut d: Vec<usize> = Vec::with_capacity(shape.rank());
    for (i, &n) in shape.dims().iter().enumerate() {
        if axes.contains(&i) {
            if keepdims {
                d.push(1);
            }
        } else {
            d.push(n);
        }
    }
    Shape::from(d)
}

/// Axes to reduce: all of them for an empty list.
pub(crate) fn resolve_axes(op: &str, x: &Tensor, axes: &[isize]) -> Result<Vec<usize>> {
    if axes.is_empty() {
        return Ok((0..x.rank()).collect());
    }
    Ok(normalize_axes(op, axes, x.shape())?.to_vec())
}

/// Sums `axes` of a typed tensor. Reduces the innermost contiguous run with a straight loop
/// when it can, else folds axis by axis with ndarray.
fn sum_kernel<T: Element + std::ops::Add<Output = T>>(
    x: &Tensor,
    axes: &[usize],
    out_shape: Shape,
) -> Tensor {
    let r = x.rank();
    // Fast path: contiguous input, reducing a trailing block of axes (softmax, mean over features).
    if let Some(s) = x.as_slice::<T>() {
        let k = axes.len();
        if k > 0 && axes.iter().enumerate().all(|(i, &a)| a == r - k + i) {
            let inner: usize = x.dims()[r - k..].iter().product();
            let outer = if inner == 0 {
                out_shape.numel()
            } else {
                s.len() / inner
            };
            let mut v = Vec::with_capacity(outer);
            for o in 0..outer {
                let row = &s[o * inner..(o + 1) * inner];
                v.push(row.iter().fold(T::zero(), |a, &b| a + b));
            }
            return Tensor::from_vec_unchecked(v, out_shape);
        }
    }
    let mut a = x.view::<T>().to_owned();
    for &ax in axes.iter().rev() {
        a = a.map_axis(Axis(ax), |lane| {
            lane.iter().fold(T::zero(), |acc, &v| acc + v)
        });
    }
    let v: Vec<T> = a.iter().copied().collect();
    Tensor::from_vec_unchecked(v, out_shape)
}

impl Tensor {
    /// Sum over `axes` (all axes when empty; negative axes count from the end).
    /// With `keepdims` the reduced axes stay as size 1. d/dx = 1, broadcast back.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1.0f32, 2.0], [3.0, 4.0]]);
    /// assert_eq!(x.sum(&[0], false).to_vec::<f32>(), [4.0, 6.0]);
    /// assert_eq!(x.sum(&[], false).item::<f32>(), 10.0);
    /// ```
    /// # Panics
    /// `sum: axis 3 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)`.
    #[track_caller]
    pub fn sum(&self, axes: &[isize], keepdims: bool) -> Tensor {
        or_panic(self.try_sum(axes, keepdims))
    }

    /// Fallible [`sum`](Self::sum).
    #[track_caller]
    pub fn try_sum(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        let ax = resolve_axes("sum", self, axes)?;
        let shape = reduced_shape(self.shape(), &ax, keepdims);
        let out = crate::dispatch_num!(self.dtype(), "sum", T, {
            sum_kernel::<T>(self, &ax, shape)
        });
        record(&[self], &out, || SumBackward {
            keep_shape: reduced_shape(self.shape(), &ax, true),
            in_shape: self.shape().clone(),
        });
        Ok(out)
    }

    /// Sum of all elements, as a scalar tensor.
    #[track_caller]
    pub fn sum_all(&self) -> Tensor {
        self.sum(&[], false)
    }

    /// Sums a broadcast gradient back down to `shape`: leading axes and axes where `shape` has
    /// size 1. The one place where broadcasting is undone (the tape's walk calls it).
    ///
    /// # Panics
    /// `sum_to_shape: (2, 3) does not broadcast to (4, 3)` when `shape` could not have been
    /// broadcast to this tensor's shape.
    #[track_caller]
    pub fn sum_to_shape(&self, shape: &Shape) -> Tensor {
        or_panic(self.try_sum_to_shape(shape))
    }

    /// Fallible [`sum_to_shape`](Self::sum_to_shape).
    #[track_caller]
    pub fn try_sum_to_shape(&self, shape: &Shape) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let (r, sr) = (self.rank(), shape.rank());
        let bad = || {
            crate::TensorError::new(
                crate::ErrorKind::Shape,
                format!(
                    "sum_to_shape: {shape} does not broadcast to {}",
                    self.shape()
                ),
            )
        };
        if sr > r {
            return Err(bad());
        }
        let mut axes: Vec<isize> = (0..(r - sr) as isize).collect();
        for j in 0..sr {
            let i = j + r - sr;
            let (from, to) = (self.dims()[i], shape.dims()[j]);
            if to == 1 && from != 1 {
                axes.push(i as isize);
            } else if to != from {
                return Err(bad());
            }
        }
        let s = if axes.is_empty() {
            self.clone()
        } else {
            self.try_sum(&axes, true)?
        };
        Ok(s.reshape_to(shape.clone()))
    }

    /// Mean over `axes` (all when empty). d/dx = 1/n, broadcast back.
    #[track_caller]
    pub fn mean(&self, axes: &[isize], keepdims: bool) -> Tensor {
        or_panic(self.try_mean(axes, keepdims))
    }

    /// Fallible [`mean`](Self::mean). Float tensors only.
    #[track_caller]
    pub fn try_mean(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.expect_float("mean")?;
        let ax = resolve_axes("mean", self, axes)?;
        let n: usize = ax.iter().map(|&a| self.dims()[a]).product();
        self.try_sum(axes, keepdims)?.try_div(n as f64)
    }
}

struct SumBackward {
    keep_shape: Shape,
    in_shape: Shape,
}
impl Backward for SumBackward {
    fn name(&self) -> &'static str {
        "sum"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(
            g.reshape_to(self.keep_shape.clone())
                .broadcast_to(&self.in_shape),
        )]
    }
}
