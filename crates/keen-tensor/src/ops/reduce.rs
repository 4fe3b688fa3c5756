//! Reductions over axes, with `keepdims`, and their backward rules.
//!
//! Every reduction takes `axes: &[isize]` (negative axes count from the end; an empty list
//! means all axes) and `keepdims` (keep each reduced axis as size 1, so the result broadcasts
//! against the input). The loops live in `kernels/reduce.rs`.
//!
//! | op | dtypes | result dtype | over an empty axis |
//! | --- | --- | --- | --- |
//! | sum, prod | numeric | the input's (integers wrap, as TensorFlow) | 0, 1 |
//! | mean, var, std, logsumexp | float | the input's | NaN, NaN, NaN, -inf |
//! | max, min | all | the input's | an error (no identity) |
//! | argmax, argmin | all | int64 | an error |
//! | all, any | all (nonzero is true) | bool | true, false |
//!
//! NaN propagates through max/min/logsumexp, and argmax/argmin point at the first NaN, as in
//! NumPy. Ties: argmax/argmin return the first occurrence; the gradient of max/min is split
//! equally among the tied elements (as TensorFlow and tinygrad).

use crate::dtype::DType;
use crate::error::{or_panic, Result};
use crate::kernels::reduce::{self as k, Reducer};
use crate::record::{record, Backward};
use crate::shape::{normalize_axes, Shape};
use crate::tensor::Tensor;

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

/// Axes to reduce, sorted and unique: all of them for an empty list.
pub(crate) fn resolve_axes(op: &str, x: &Tensor, axes: &[isize]) -> Result<Vec<usize>> {
    if axes.is_empty() {
        return Ok((0..x.rank()).collect());
    }
    Ok(normalize_axes(op, axes, x.shape())?.to_vec())
}

/// Runs reducer `r` over `ax` of `x` (element type `T`) into a tensor of the reduced shape.
fn run<T: crate::Element, R: Reducer<T>>(
    x: &Tensor,
    ax: &[usize],
    keepdims: bool,
    order_matters: bool,
    r: R,
) -> Tensor {
    let v = k::reduce::<T, R>(x, ax, order_matters, &r);
    Tensor::from_vec_unchecked(v, reduced_shape(x.shape(), ax, keepdims))
}

/// Errs when a reduction without an identity (max, argmax, …) would reduce an empty axis.
fn check_nonempty(op: &str, x: &Tensor, ax: &[usize]) -> Result<()> {
    let red: usize = ax.iter().map(|&a| x.dims()[a]).product();
    let out: usize = (0..x.rank())
        .filter(|a| !ax.contains(a))
        .map(|a| x.dims()[a])
        .product();
    if red == 0 && out > 0 {
        let a = ax
            .iter()
            .find(|&&a| x.dims()[a] == 0)
            .expect("an empty axis");
        crate::bail!(
            Shape,
            "{op}: cannot reduce axis {a} of shape {}: it is empty and {op} has no identity",
            x.shape()
        );
    }
    Ok(())
}

impl Tensor {
    /// Sum over `axes` (all axes when empty; negative axes count from the end).
    /// With `keepdims` the reduced axes stay as size 1. d/dx = 1, broadcast back.
    ///
    /// Floats are summed pairwise in blocks, so the error grows with log(n), not n.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1.0f32, 2.0], [3.0, 4.0]]);
    /// assert_eq!(x.sum(&[0], false).to_vec::<f32>(), [4.0, 6.0]);
    /// assert_eq!(x.sum(&[-1], true).dims(), [2, 1]);
    /// assert_eq!(x.sum(&[], false).item::<f32>(), 10.0);
    /// ```
    /// # Panics
    /// `sum: axis 3 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)`, or on
    /// bool tensors.
    #[track_caller]
    pub fn sum(&self, axes: &[isize], keepdims: bool) -> Tensor {
        or_panic(self.try_sum(axes, keepdims))
    }

    /// Fallible [`sum`](Self::sum).
    #[track_caller]
    pub fn try_sum(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        let ax = resolve_axes("sum", self, axes)?;
        let out = crate::dispatch_num!(self.dtype(), "sum", T, {
            run::<T, _>(self, &ax, keepdims, false, k::Sum)
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
        or_panic(self.try_sum_all())
    }

    /// Fallible [`sum_all`](Self::sum_all).
    pub fn try_sum_all(&self) -> Result<Tensor> {
        self.try_sum(&[], false)
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

    /// Mean over `axes` (all when empty): `sum / n`. d/dx = 1/n, broadcast back.
    /// The mean over an empty axis is NaN.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1.0f32, 2.0], [3.0, 4.0]]);
    /// assert_eq!(x.mean(&[-1], false).to_vec::<f32>(), [1.5, 3.5]);
    /// ```
    /// # Panics
    /// On axes out of range, or `mean: expected a float tensor, got int32`.
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

    /// Product over `axes` (all when empty); 1 over an empty axis.
    /// d/dx_i = prod of the other elements, exact also where elements are zero
    /// (one zero: only it gets a gradient; two or more: all get 0).
    /// Second-order gradients are exact away from zeros.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1, 2, 3], [4, 5, 6]]);
    /// assert_eq!(x.prod(&[1], false).to_vec::<i32>(), [6, 120]);
    /// ```
    /// # Panics
    /// On axes out of range, or on bool tensors.
    #[track_caller]
    pub fn prod(&self, axes: &[isize], keepdims: bool) -> Tensor {
        or_panic(self.try_prod(axes, keepdims))
    }

    /// Fallible [`prod`](Self::prod).
    #[track_caller]
    pub fn try_prod(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        let ax = resolve_axes("prod", self, axes)?;
        let out = crate::dispatch_num!(self.dtype(), "prod", T, {
            run::<T, _>(self, &ax, keepdims, false, k::Prod)
        });
        record(&[self], &out, || ProdBackward {
            x: self.clone(),
            axes: ax.iter().map(|&a| a as isize).collect(),
            keep_shape: reduced_shape(self.shape(), &ax, true),
        });
        Ok(out)
    }

    /// Maximum over `axes` (all when empty). NaN wins.
    /// The gradient is split equally among the elements equal to the maximum
    /// (`[1, 3, 3]` gets `[0, g/2, g/2]`), as in TensorFlow.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1.0f32, 5.0], [7.0, 2.0]]);
    /// assert_eq!(x.max(&[1], false).to_vec::<f32>(), [5.0, 7.0]);
    /// ```
    /// # Panics
    /// On axes out of range, or over an empty axis:
    /// `max: cannot reduce axis 1 of shape (2, 0): it is empty and max has no identity`.
    #[track_caller]
    pub fn max(&self, axes: &[isize], keepdims: bool) -> Tensor {
        or_panic(self.try_max(axes, keepdims))
    }

    /// Fallible [`max`](Self::max).
    #[track_caller]
    pub fn try_max(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.extreme::<true>("max", axes, keepdims)
    }

    /// Minimum over `axes` (all when empty). NaN wins; the gradient is split equally among
    /// ties, as for [`max`](Self::max).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1.0f32, 5.0], [7.0, 2.0]]);
    /// assert_eq!(x.min(&[0], false).to_vec::<f32>(), [1.0, 2.0]);
    /// ```
    /// # Panics
    /// On axes out of range, or over an empty axis (`min: cannot reduce axis 0 of shape (0,): …`).
    #[track_caller]
    pub fn min(&self, axes: &[isize], keepdims: bool) -> Tensor {
        or_panic(self.try_min(axes, keepdims))
    }

    /// Fallible [`min`](Self::min).
    #[track_caller]
    pub fn try_min(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.extreme::<false>("min", axes, keepdims)
    }

    #[track_caller]
    fn extreme<const MAX: bool>(
        &self,
        op: &'static str,
        axes: &[isize],
        keepdims: bool,
    ) -> Result<Tensor> {
        let ax = resolve_axes(op, self, axes)?;
        check_nonempty(op, self, &ax)?;
        let out = crate::dispatch_all!(self.dtype(), T, {
            run::<T, _>(self, &ax, keepdims, false, k::Extreme::<MAX>)
        });
        record(&[self], &out, || ExtremeBackward {
            name: op,
            x: self.clone(),
            out: out.clone(),
            axes: ax.iter().map(|&a| a as isize).collect(),
            keep_shape: reduced_shape(self.shape(), &ax, true),
        });
        Ok(out)
    }

    /// Index of the maximum over `axes`, as int64; the first one on ties (and the first NaN),
    /// as NumPy. With several axes (or none, meaning all) the index counts row-major through
    /// the reduced axes, like NumPy's `argmax` of the flattened tensor. Not differentiable.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1.0f32, 5.0, 5.0], [7.0, 2.0, 7.0]]);
    /// assert_eq!(x.argmax(&[1], false).to_vec::<i64>(), [1, 0]);
    /// assert_eq!(x.argmax(&[], false).item::<i64>(), 3);
    /// ```
    /// # Panics
    /// On axes out of range, or over an empty axis (`argmax: cannot reduce axis 1 of shape (2, 0): …`).
    #[track_caller]
    pub fn argmax(&self, axes: &[isize], keepdims: bool) -> Tensor {
        or_panic(self.try_argmax(axes, keepdims))
    }

    /// Fallible [`argmax`](Self::argmax).
    #[track_caller]
    pub fn try_argmax(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.arg_extreme::<true>("argmax", axes, keepdims)
    }

    /// Index of the minimum over `axes`, as int64; the first one on ties. See
    /// [`argmax`](Self::argmax).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[3, 1, 1], [0, 2, 0]]);
    /// assert_eq!(x.argmin(&[-1], false).to_vec::<i64>(), [1, 0]);
    /// ```
    /// # Panics
    /// On axes out of range, or over an empty axis.
    #[track_caller]
    pub fn argmin(&self, axes: &[isize], keepdims: bool) -> Tensor {
        or_panic(self.try_argmin(axes, keepdims))
    }

    /// Fallible [`argmin`](Self::argmin).
    #[track_caller]
    pub fn try_argmin(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.arg_extreme::<false>("argmin", axes, keepdims)
    }

    fn arg_extreme<const MAX: bool>(
        &self,
        op: &str,
        axes: &[isize],
        keepdims: bool,
    ) -> Result<Tensor> {
        let ax = resolve_axes(op, self, axes)?;
        check_nonempty(op, self, &ax)?;
        Ok(crate::dispatch_all!(self.dtype(), T, {
            run::<T, _>(self, &ax, keepdims, true, k::ArgExtreme::<MAX>)
        }))
    }

    /// Population variance over `axes` (all when empty): `mean((x - mean(x))²)`, the default of
    /// NumPy and TensorFlow. For the sample variance use [`var_ddof`](Self::var_ddof) with
    /// `ddof = 1` (PyTorch's default). Written as a composition of mean, sub, square and sum,
    /// so its gradient, `2(x - mean)/n`, comes from theirs. NaN over an empty axis.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1.0f64, 3.0], [2.0, 2.0]]);
    /// assert_eq!(x.var(&[1], false).to_vec::<f64>(), [1.0, 0.0]);
    /// ```
    /// # Panics
    /// On axes out of range, or `var: expected a float tensor, got int32`.
    #[track_caller]
    pub fn var(&self, axes: &[isize], keepdims: bool) -> Tensor {
        or_panic(self.try_var(axes, keepdims))
    }

    /// Fallible [`var`](Self::var).
    pub fn try_var(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.try_var_ddof(axes, keepdims, 0)
    }

    /// Variance with `ddof` "delta degrees of freedom": `sum((x - mean(x))²) / (n - ddof)`, as
    /// NumPy's `ddof` (`ddof = 1` is the unbiased sample variance). `n <= ddof` gives inf or NaN.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([1.0f64, 3.0]);
    /// assert_eq!(x.var_ddof(&[], false, 1).item::<f64>(), 2.0);
    /// ```
    #[track_caller]
    pub fn var_ddof(&self, axes: &[isize], keepdims: bool, ddof: usize) -> Tensor {
        or_panic(self.try_var_ddof(axes, keepdims, ddof))
    }

    /// Fallible [`var_ddof`](Self::var_ddof) (and [`var`](Self::var) with `ddof = 0`).
    #[track_caller]
    pub fn try_var_ddof(&self, axes: &[isize], keepdims: bool, ddof: usize) -> Result<Tensor> {
        self.expect_float("var")?;
        let ax = resolve_axes("var", self, axes)?;
        let n: usize = ax.iter().map(|&a| self.dims()[a]).product();
        let dev = self.try_sub(&self.try_mean(axes, true)?)?;
        dev.try_square()?
            .try_sum(axes, keepdims)?
            .try_div(n.saturating_sub(ddof) as f64)
    }

    /// Population standard deviation over `axes`: `sqrt(var(x))`. Its gradient,
    /// `(x - mean)/(n·std)`, is NaN where the standard deviation is 0 (as PyTorch).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1.0f64, 3.0], [2.0, 2.0]]);
    /// assert_eq!(x.std(&[1], false).to_vec::<f64>(), [1.0, 0.0]);
    /// ```
    /// # Panics
    /// On axes out of range, or `std: expected a float tensor, got int32`.
    #[track_caller]
    pub fn std(&self, axes: &[isize], keepdims: bool) -> Tensor {
        or_panic(self.try_std(axes, keepdims))
    }

    /// Fallible [`std`](Self::std).
    pub fn try_std(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        self.try_std_ddof(axes, keepdims, 0)
    }

    /// Standard deviation with `ddof` delta degrees of freedom: `sqrt(var_ddof(x, ddof))`.
    #[track_caller]
    pub fn std_ddof(&self, axes: &[isize], keepdims: bool, ddof: usize) -> Tensor {
        or_panic(self.try_std_ddof(axes, keepdims, ddof))
    }

    /// Fallible [`std_ddof`](Self::std_ddof) (and [`std`](Self::std) with `ddof = 0`).
    #[track_caller]
    pub fn try_std_ddof(&self, axes: &[isize], keepdims: bool, ddof: usize) -> Result<Tensor> {
        self.expect_float("std")?;
        resolve_axes("std", self, axes)?;
        self.try_var_ddof(axes, keepdims, ddof)?.try_sqrt()
    }

    /// `log(sum(exp(x)))` over `axes`, computed without overflow (the running maximum is
    /// subtracted before exponentiating). -inf over an empty axis.
    /// d/dx = exp(x - logsumexp(x)), the softmax over `axes`.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([1000.0f64, 1000.0]);
    /// let y = x.logsumexp(&[0], false).item::<f64>();
    /// assert!((y - (1000.0 + 2f64.ln())).abs() < 1e-12);
    /// ```
    /// # Panics
    /// On axes out of range, or `logsumexp: expected a float tensor, got int32`.
    #[track_caller]
    pub fn logsumexp(&self, axes: &[isize], keepdims: bool) -> Tensor {
        or_panic(self.try_logsumexp(axes, keepdims))
    }

    /// Fallible [`logsumexp`](Self::logsumexp).
    #[track_caller]
    pub fn try_logsumexp(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        let ax = resolve_axes("logsumexp", self, axes)?;
        let out = crate::dispatch_float!(self.dtype(), "logsumexp", T, {
            run::<T, _>(self, &ax, keepdims, false, k::LogSumExp)
        });
        record(&[self], &out, || LogSumExpBackward {
            x: self.clone(),
            out: out.clone(),
            keep_shape: reduced_shape(self.shape(), &ax, true),
        });
        Ok(out)
    }

    /// True where every element over `axes` is nonzero (true over an empty axis). Any dtype;
    /// the result is bool.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[true, false], [true, true]]);
    /// assert_eq!(x.all(&[1], false).to_vec::<bool>(), [false, true]);
    /// ```
    /// # Panics
    /// On axes out of range.
    #[track_caller]
    pub fn all(&self, axes: &[isize], keepdims: bool) -> Tensor {
        or_panic(self.try_all(axes, keepdims))
    }

    /// Fallible [`all`](Self::all).
    pub fn try_all(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        let ax = resolve_axes("all", self, axes)?;
        Ok(crate::dispatch_all!(self.dtype(), T, {
            run::<T, _>(self, &ax, keepdims, false, k::Truth::<true>)
        }))
    }

    /// True where some element over `axes` is nonzero (false over an empty axis). Any dtype;
    /// the result is bool.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[0, 0], [0, 3]]);
    /// assert_eq!(x.any(&[], false).item::<bool>(), true);
    /// ```
    /// # Panics
    /// On axes out of range.
    #[track_caller]
    pub fn any(&self, axes: &[isize], keepdims: bool) -> Tensor {
        or_panic(self.try_any(axes, keepdims))
    }

    /// Fallible [`any`](Self::any).
    pub fn try_any(&self, axes: &[isize], keepdims: bool) -> Result<Tensor> {
        let ax = resolve_axes("any", self, axes)?;
        Ok(crate::dispatch_all!(self.dtype(), T, {
            run::<T, _>(self, &ax, keepdims, false, k::Truth::<false>)
        }))
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

/// d prod / dx_i = prod_{j != i} x_j, computed from the product of the nonzero elements so that
/// zeros need no division: with no zero it is p/x_i, with one zero only that element gets p,
/// with two or more every derivative is 0.
struct ProdBackward {
    x: Tensor,
    axes: Vec<isize>,
    keep_shape: Shape,
}
impl Backward for ProdBackward {
    fn name(&self) -> &'static str {
        "prod"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let x = &self.x;
        let zero = x.eq(0.0);
        let zeros = zero.cast(DType::Int64).sum(&self.axes, true);
        let safe = Tensor::where_(&zero, &Tensor::ones((), x.dtype()), x);
        let p = safe.prod(&self.axes, true); // product of the nonzero elements
        let others = Tensor::where_(&zero, &p, &p.div(&safe));
        let exact = zeros
            .eq(0i64)
            .logical_or(&zeros.eq(1i64).logical_and(&zero));
        let d = Tensor::where_(&exact, &others, &Tensor::zeros((), x.dtype()));
        vec![Some(g.reshape_to(self.keep_shape.clone()).mul(&d))]
    }
}

/// The gradient of max/min flows to the elements equal to the result, split equally on ties.
struct ExtremeBackward {
    name: &'static str,
    x: Tensor,
    out: Tensor,
    axes: Vec<isize>,
    keep_shape: Shape,
}
impl Backward for ExtremeBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let hit = self
            .x
            .eq(&self.out.reshape_to(self.keep_shape.clone()))
            .cast(g.dtype());
        let share = hit.div(&hit.sum(&self.axes, true));
        vec![Some(g.reshape_to(self.keep_shape.clone()).mul(&share))]
    }
}

struct LogSumExpBackward {
    x: Tensor,
    out: Tensor,
    keep_shape: Shape,
}
impl Backward for LogSumExpBackward {
    fn name(&self) -> &'static str {
        "logsumexp"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let soft = self
            .x
            .sub(&self.out.reshape_to(self.keep_shape.clone()))
            .exp();
        vec![Some(g.reshape_to(self.keep_shape.clone()).mul(&soft))]
    }
}
