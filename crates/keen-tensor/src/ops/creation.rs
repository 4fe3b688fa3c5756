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
        fill("full", shape.into(), value, dtype)
    }

    /// Zeros of `shape` and `dtype`.
    ///
    /// # Panics
    /// `zeros: shape (1099511627776, 1099511627776) has more elements than fit in memory`.
    #[track_caller]
    pub fn zeros(shape: impl Into<Shape>, dtype: DType) -> Tensor {
        or_panic(Self::try_zeros(shape, dtype))
    }

    /// Fallible [`zeros`](Self::zeros).
    pub fn try_zeros(shape: impl Into<Shape>, dtype: DType) -> Result<Tensor> {
        fill("zeros", shape.into(), 0.0, dtype)
    }

    /// Ones of `shape` and `dtype`.
    ///
    /// # Panics
    /// When the shape has more elements than fit in memory, as [`zeros`](Self::zeros).
    #[track_caller]
    pub fn ones(shape: impl Into<Shape>, dtype: DType) -> Tensor {
        or_panic(Self::try_ones(shape, dtype))
    }

    /// Fallible [`ones`](Self::ones).
    pub fn try_ones(shape: impl Into<Shape>, dtype: DType) -> Result<Tensor> {
        fill("ones", shape.into(), 1.0, dtype)
    }

    /// Zeros with the shape and dtype of `like`.
    ///
    /// # Panics
    /// Only when the result cannot be allocated (`like` a broadcast view larger than memory).
    #[track_caller]
    pub fn zeros_like(like: &Tensor) -> Tensor {
        or_panic(Self::try_zeros_like(like))
    }

    /// Fallible [`zeros_like`](Self::zeros_like).
    pub fn try_zeros_like(like: &Tensor) -> Result<Tensor> {
        fill("zeros_like", like.shape().clone(), 0.0, like.dtype())
    }

    /// Ones with the shape and dtype of `like`.
    ///
    /// # Panics
    /// As [`zeros_like`](Self::zeros_like).
    #[track_caller]
    pub fn ones_like(like: &Tensor) -> Tensor {
        or_panic(Self::try_ones_like(like))
    }

    /// Fallible [`ones_like`](Self::ones_like).
    pub fn try_ones_like(like: &Tensor) -> Result<Tensor> {
        fill("ones_like", like.shape().clone(), 1.0, like.dtype())
    }

    /// `value` with the shape and dtype of `like`.
    ///
    /// # Panics
    /// As [`zeros_like`](Self::zeros_like).
    #[track_caller]
    pub fn full_like(like: &Tensor, value: f64) -> Tensor {
        or_panic(Self::try_full_like(like, value))
    }

    /// Fallible [`full_like`](Self::full_like).
    pub fn try_full_like(like: &Tensor, value: f64) -> Result<Tensor> {
        fill("full_like", like.shape().clone(), value, like.dtype())
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
        Shape::new(&[n]).checked_alloc("arange", dtype)?;
        Ok(crate::dispatch_all!(dtype, T, {
            let v: Vec<T> = (0..n)
                .map(|i| T::from_f64(start + i as f64 * step))
                .collect();
            Tensor::from_vec_unchecked(v, Shape::new(&[n]))
        }))
    }

    /// `num` evenly spaced values from `start` to `end` inclusive, as NumPy's `linspace`.
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// assert_eq!(Tensor::linspace(0.0, 1.0, 5, DType::Float64).to_vec::<f64>(), [0.0, 0.25, 0.5, 0.75, 1.0]);
    /// ```
    /// # Panics
    /// `linspace: shape (1125899906842624,) has 1125899906842624 elements, more than fit in
    /// memory`.
    #[track_caller]
    pub fn linspace(start: f64, end: f64, num: usize, dtype: DType) -> Tensor {
        or_panic(Self::try_linspace(start, end, num, dtype))
    }

    /// Fallible [`linspace`](Self::linspace).
    pub fn try_linspace(start: f64, end: f64, num: usize, dtype: DType) -> Result<Tensor> {
        let shape = Shape::new(&[num]);
        shape.checked_alloc("linspace", dtype)?;
        let step = if num > 1 {
            (end - start) / (num - 1) as f64
        } else {
            0.0
        };
        Ok(crate::dispatch_all!(dtype, T, {
            let v: Vec<T> = (0..num)
                .map(|i| {
                    T::from_f64(if i + 1 == num && num > 1 {
                        end
                    } else {
                        start + i as f64 * step
                    })
                })
                .collect();
            Tensor::from_vec_unchecked(v, shape)
        }))
    }

    /// The `n × n` identity matrix.
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// assert_eq!(Tensor::eye(2, DType::Int32).to_vec::<i32>(), [1, 0, 0, 1]);
    /// ```
    /// # Panics
    /// `eye: shape (4294967296, 4294967296) has more elements than fit in memory`.
    #[track_caller]
    pub fn eye(n: usize, dtype: DType) -> Tensor {
        or_panic(Self::try_eye(n, dtype))
    }

    /// Fallible [`eye`](Self::eye).
    pub fn try_eye(n: usize, dtype: DType) -> Result<Tensor> {
        let shape = Shape::new(&[n, n]);
        let len = shape.checked_alloc("eye", dtype)?;
        Ok(crate::dispatch_all!(dtype, T, {
            let mut v = vec![T::zero(); len];
            for i in 0..n {
                v[i * n + i] = T::one();
            }
            Tensor::from_vec_unchecked(v, shape)
        }))
    }

    /// Converts to `dtype` with Rust `as` semantics (floats to ints truncate toward zero and
    /// saturate; nonzero becomes `true`). Differentiable between float types.
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// let t = Tensor::from([1.7f32, -2.2]).cast(DType::Int32);
    /// assert_eq!(t.to_vec::<i32>(), [1, -2]);
    /// ```
    /// # Panics
    /// Only when the result cannot be allocated (a broadcast view larger than memory).
    #[track_caller]
    pub fn cast(&self, dtype: DType) -> Tensor {
        or_panic(self.try_cast(dtype))
    }

    /// Fallible [`cast`](Self::cast).
    #[track_caller]
    pub fn try_cast(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype() {
            return Ok(self.clone());
        }
        self.shape().checked_alloc("cast", dtype)?;
        let out = crate::dispatch_all!(self.dtype(), S, {
            crate::dispatch_all!(dtype, D, {
                elementwise::unary::<S, D>(self, cast_one::<S, D>)
            })
        });
        // Recorded whatever the dtypes: a tape tracks a float cast to an integer so that a
        // gradient reaching it is a clear error rather than silently lost.
        let from = self.dtype();
        record(&[self], &out, || CastBackward { from });
        Ok(out)
    }
}

/// `shape` filled with `value`; errors name `op`.
fn fill(op: &str, shape: Shape, value: f64, dtype: DType) -> Result<Tensor> {
    let n = shape.checked_alloc(op, dtype)?;
    Ok(crate::dispatch_all!(dtype, T, {
        Tensor::from_vec_unchecked(vec![T::from_f64(value); n], shape)
    }))
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
