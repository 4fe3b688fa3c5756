//! Constructors: constant fills, ranges, identity, and dtype casts.

use crate::dtype::{DType, Element};
use crate::error::{or_panic, Result};
use crate::kernels::elementwise;
use crate::record::{record, Backward};
use crate::shape::Shape;
use crate::tensor::Tensor;

impl Tensor {
    /// A tensor of `shape` filled with `value` (converted to `dtype` with `as` semantics).
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// let t = Tensor::full([2, 2], 7.0, DType::Int32);
    /// assert_eq!(t.to_vec::<i32>(), [7, 7, 7, 7]);
    /// ```
    #[track_caller]
    pub fn full(shape: impl Into<Shape>, value: f64, dtype: DType) -> Tensor {
        or_panic(Self::try_full(shape, value, dtype))
    }

    /// Fallible [`full`](Self::full): errs when the shape's size would overflow memory.
    pub fn try_full(shape: impl Into<Shape>, value: f64, dtype: DType) -> Result<Tensor> {
        let shape = shape.into();
        let n = shape.checked_numel("full")?;
        Ok(crate::dispatch_all!(dtype, T, {
            Tensor::from_vec_unchecked(vec![T::from_f64(value); n], shape)
        }))
    }

    /// Zeros of `shape` and `dtype`.
    #[track_caller]
    pub fn zeros(shape: impl Into<Shape>, dtype: DType) -> Tensor {
        Self::full(shape, 0.0, dtype)
    }

    /// Ones of `shape` and `dtype`.
    #[track_caller]
    pub fn ones(shape: impl Into<Shape>, dtype: DType) -> Tensor {
        Self::full(shape, 1.0, dtype)
    }

    /// Zeros with the shape and dtype of `like`.
    pub fn zeros_like(like: &Tensor) -> Tensor {
        Self::full(like.shape(), 0.0, like.dtype())
    }

    /// Ones with the shape and dtype of `like`.
    pub fn ones_like(like: &Tensor) -> Tensor {
        Self::full(like.shape(), 1.0, like.dtype())
    }

    /// `value` with the shape and dtype of `like`.
    pub fn full_like(like: &Tensor, value: f64) -> Tensor {
        Self::full(like.shape(), value, like.dtype())
    }

    /// `start, start + step, …` up to but excluding `end`, as NumPy's `arange`.
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// assert_eq!(Tensor::arange(0.0, 5.0, 2.0, DType::Int64).to_vec::<i64>(), [0, 2, 4]);
    /// ```
    /// # Panics
    /// `arange: step must be non-zero`.
    #[track_caller]
    pub fn arange(start: f64, end: f64, step: f64, dtype: DType) -> Tensor {
        or_panic(Self::try_arange(start, end, step, dtype))
    }

    /// Fallible [`arange`](Self::arange).
    pub fn try_arange(start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            crate::bail!(
                Argument,
                "arange: step must be non-zero and bounds finite (got {start}, {end}, {step})"
            );
        }
        let n = ((end - start) / step).ceil().max(0.0);
        if n > (1u64 << 40) as f64 {
            crate::bail!(Overflow, "arange: {n} elements would exhaust memory");
        }
        let n = n as usize;
        Ok(crate::dispatch_all!(dtype, T, {
            let v: Vec<T> = (0..n)
                .map(|i| T::from_f64(start + i as f64 * step))
                .collect();
            Tensor::from_vec_unchecked(v, Shape::new(&[n]))
        }))
    }

    /// `num` evenly spaced values from `start` to `end` inclusive, as NumPy's `linspace`.
    #[track_caller]
    pub fn linspace(start: f64, end: f64, num: usize, dtype: DType) -> Tensor {
        let step = if num > 1 {
            (end - start) / (num - 1) as f64
        } else {
            0.0
        };
        crate::dispatch_all!(dtype, T, {
            let v: Vec<T> = (0..num)
                .map(|i| {
                    T::from_f64(if i + 1 == num && num > 1 {
                        end
                    } else {
                        start + i as f64 * step
                    })
                })
                .collect();
            Tensor::from_vec_unchecked(v, Shape::new(&[num]))
        })
    }

    /// The `n × n` identity matrix.
    pub fn eye(n: usize, dtype: DType) -> Tensor {
        crate::dispatch_all!(dtype, T, {
            let mut v = vec![T::zero(); n * n];
            for i in 0..n {
                v[i * n + i] = T::one();
            }
            Tensor::from_vec_unchecked(v, Shape::new(&[n, n]))
        })
    }

    /// Converts to `dtype` with Rust `as` semantics (floats to ints truncate toward zero and
    /// saturate; nonzero becomes `true`). Differentiable between float types.
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// let t = Tensor::from([1.7f32, -2.2]).cast(DType::Int32);
    /// assert_eq!(t.to_vec::<i32>(), [1, -2]);
    /// ```
    #[track_caller]
    pub fn cast(&self, dtype: DType) -> Tensor {
        if dtype == self.dtype() {
            return self.clone();
        }
        let out = crate::dispatch_all!(self.dtype(), S, {
            crate::dispatch_all!(dtype, D, {
                elementwise::unary::<S, D>(self, cast_one::<S, D>)
            })
        });
        if self.dtype().is_float() {
            let from = self.dtype();
            record(&[self], &out, || CastBackward { from });
        }
        out
    }
}

#[inline(always)]
fn cast_one<S: Element, D: Element>(v: S) -> D {
    // Integers go through i64 so that large values are exact; floats through f64.
    if S::DTYPE.is_float() || D::DTYPE.is_float() {
        D::from_f64(v.to_f64())
    } else {
        D::from_i64(v.to_i64())
    }
}

struct CastBackward {
    from: DType,
}
impl Backward for CastBackward {
    fn name(&self) -> &'static str {
        "cast"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.cast(self.from))]
    }
}
