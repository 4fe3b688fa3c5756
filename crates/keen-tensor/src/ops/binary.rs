//! Elementwise binary ops with NumPy broadcasting, their backward rules, and operator overloads.
//!
//! Both operands must have the same dtype (as in TensorFlow); a Rust scalar operand takes the
//! tensor's dtype. Backward rules return gradients in the broadcast output shape: the tape's walk
//! sums them down to each input's shape.

use crate::dtype::{DType, Num};
use crate::error::{or_panic, Result};
use crate::kernels::elementwise;
use crate::record::{record, Backward};
use crate::shape::{broadcast_shapes, Shape};
use crate::tensor::Tensor;

/// Something that can stand on the right of a binary op: a tensor or a Rust scalar.
pub trait Operand {
    /// The operand as a tensor; scalars take `like`'s dtype.
    fn to_operand(&self, like: &Tensor) -> Tensor;
}

impl Operand for Tensor {
    fn to_operand(&self, _: &Tensor) -> Tensor {
        self.clone()
    }
}
impl Operand for &Tensor {
    fn to_operand(&self, _: &Tensor) -> Tensor {
        (*self).clone()
    }
}
macro_rules! scalar_operand {
    ($($t:ty),*) => {$(
        impl Operand for $t {
            fn to_operand(&self, like: &Tensor) -> Tensor {
                Tensor::full((), *self as f64, like.dtype())
            }
        }
    )*};
}
scalar_operand!(f32, f64, i32, i64, u8);
impl Operand for bool {
    fn to_operand(&self, like: &Tensor) -> Tensor {
        Tensor::full((), *self as u8 as f64, like.dtype())
    }
}

/// The first element of an integer tensor for which `pred` holds (None for other dtypes).
fn first_int(t: &Tensor, pred: impl Fn(i64) -> bool) -> Option<i64> {
    match t.dtype() {
        DType::Int32 => t.view::<i32>().iter().map(|&v| v as i64).find(|&v| pred(v)),
        DType::Int64 => t.view::<i64>().iter().copied().find(|&v| pred(v)),
        DType::UInt8 => t.view::<u8>().iter().map(|&v| v as i64).find(|&v| pred(v)),
        _ => None,
    }
}

/// Validates dtypes and broadcasting for a binary op and returns the output shape.
fn check(op: &str, a: &Tensor, b: &Tensor) -> Result<Shape> {
    if a.dtype() != b.dtype() {
        crate::bail!(
            DType,
            "{op}: dtypes differ: lhs {} vs rhs {}\n  hint: cast one side, e.g. rhs.cast(DType::{:?})",
            a.dtype(),
            b.dtype(),
            a.dtype()
        );
    }
    broadcast_shapes(op, a.shape(), b.shape())
}

fn arith<F>(op: &str, a: &Tensor, b: &Tensor, kernel: F) -> Result<Tensor>
where
    F: ArithKernel,
{
    let shape = check(op, a, b)?;
    shape.checked_alloc(op, a.dtype())?;
    crate::dispatch_num!(a.dtype(), op, T, {
        Ok(elementwise::binary::<T, T>(a, b, &shape, |x, y| {
            F::apply(&kernel, x, y)
        }))
    })
}

/// A binary numeric kernel generic over the element type.
trait ArithKernel: Sync + Send {
    fn apply<T: Num + NumExt>(&self, x: T, y: T) -> T;
}

/// The few numeric operations that differ between ints and floats.
#[doc(hidden)]
pub trait NumExt: Num {
    fn rem_floor(self, o: Self) -> Self;
    fn pow_any(self, o: Self) -> Self;
    fn max_nan(self, o: Self) -> Self;
    fn min_nan(self, o: Self) -> Self;
}
macro_rules! num_ext_float {
    ($($t:ty),*) => {$(
        impl NumExt for $t {
            #[inline(always)]
            fn rem_floor(self, o: Self) -> Self {
                // Python/NumPy semantics: the result has the divisor's sign.
                let r = self % o;
                if r != 0.0 && ((r < 0.0) != (o < 0.0)) { r + o } else { r }
            }
            #[inline(always)]
            fn pow_any(self, o: Self) -> Self {
                self.powf(o)
            }
            #[inline(always)]
            fn max_nan(self, o: Self) -> Self {
                if self.is_nan() || o.is_nan() { Self::NAN } else if self >= o { self } else { o }
            }
            #[inline(always)]
            fn min_nan(self, o: Self) -> Self {
                if self.is_nan() || o.is_nan() { Self::NAN } else if self <= o { self } else { o }
            }
        }
    )*};
}
num_ext_float!(f32, f64);
macro_rules! num_ext_int {
    ($($t:ty),*) => {$(
        impl NumExt for $t {
            #[inline(always)]
            fn rem_floor(self, o: Self) -> Self {
                if o == 0 { 0 } else {
                    let r = self.wrapping_rem(o);
                    #[allow(unused_comparisons)]
                    if r != 0 && ((r < 0) != (o < 0)) { r.wrapping_add(o) } else { r }
                }
            }
            #[inline(always)]
            fn pow_any(self, o: Self) -> Self {
                // Negative exponents are rejected by `try_pow`. Square-and-multiply over the
                // whole exponent: `wrapping_pow` takes a u32, and truncating a larger i64
                // exponent would give a wrong power, not the wrapped one.
                #[allow(unused_comparisons)]
                if o < 0 {
                    return 0;
                }
                let (mut base, mut e) = (self, o as u64);
                let mut acc: $t = 1;
                while e > 0 {
                    if e & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                acc
            }
            #[inline(always)]
            fn max_nan(self, o: Self) -> Self {
                std::cmp::max(self, o)
            }
            #[inline(always)]
            fn min_nan(self, o: Self) -> Self {
                std::cmp::min(self, o)
            }
        }
    )*};
}
num_ext_int!(i32, i64, u8);

macro_rules! kernel {
    ($name:ident, |$x:ident, $y:ident| $e:expr) => {
        struct $name;
        impl ArithKernel for $name {
            #[inline(always)]
            fn apply<T: Num + NumExt>(&self, $x: T, $y: T) -> T {
                $e
            }
        }
    };
}
kernel!(AddK, |x, y| x.wrapping_add(y));
kernel!(SubK, |x, y| x.wrapping_sub(y));
kernel!(MulK, |x, y| x.wrapping_mul(y));
kernel!(DivK, |x, y| x.wrapping_div(y));
kernel!(RemK, |x, y| x.rem_floor(y));
kernel!(PowK, |x, y| x.pow_any(y));
kernel!(MaxK, |x, y| x.max_nan(y));
kernel!(MinK, |x, y| x.min_nan(y));

impl Tensor {
    /// `self + rhs`, broadcasting. d/da = 1, d/db = 1.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1.0f32, 2.0], [3.0, 4.0]]);
    /// assert_eq!(x.add(&Tensor::from([10.0f32, 20.0])).to_vec::<f32>(), [11.0, 22.0, 13.0, 24.0]);
    /// assert_eq!(x.add(1.0).to_vec::<f32>(), [2.0, 3.0, 4.0, 5.0]);
    /// ```
    /// # Panics
    /// `add: shapes (2, 3) and (4, 3) cannot be broadcast: axis 0 is 2 vs 4`, or on dtypes that differ.
    #[track_caller]
    pub fn add(&self, rhs: impl Operand) -> Tensor {
        or_panic(self.try_add(rhs))
    }

    /// Fallible [`add`](Self::add).
    #[track_caller]
    pub fn try_add(&self, rhs: impl Operand) -> Result<Tensor> {
        let rhs = rhs.to_operand(self);
        let out = arith("add", self, &rhs, AddK)?;
        record(&[self, &rhs], &out, || AddBackward);
        Ok(out)
    }

    /// `self - rhs`, broadcasting. d/da = 1, d/db = -1.
    #[track_caller]
    pub fn sub(&self, rhs: impl Operand) -> Tensor {
        or_panic(self.try_sub(rhs))
    }

    /// Fallible [`sub`](Self::sub).
    #[track_caller]
    pub fn try_sub(&self, rhs: impl Operand) -> Result<Tensor> {
        let rhs = rhs.to_operand(self);
        let out = arith("sub", self, &rhs, SubK)?;
        record(&[self, &rhs], &out, || SubBackward);
        Ok(out)
    }

    /// `self * rhs`, broadcasting. d/da = b, d/db = a.
    #[track_caller]
    pub fn mul(&self, rhs: impl Operand) -> Tensor {
        or_panic(self.try_mul(rhs))
    }

    /// Fallible [`mul`](Self::mul).
    #[track_caller]
    pub fn try_mul(&self, rhs: impl Operand) -> Result<Tensor> {
        let rhs = rhs.to_operand(self);
        let out = arith("mul", self, &rhs, MulK)?;
        record(&[self, &rhs], &out, || MulBackward {
            a: self.clone(),
            b: rhs.clone(),
        });
        Ok(out)
    }

    /// `self / rhs`, broadcasting (integer division truncates toward zero, as in Rust).
    /// d/da = 1/b, d/db = -a/b².
    #[track_caller]
    pub fn div(&self, rhs: impl Operand) -> Tensor {
        or_panic(self.try_div(rhs))
    }

    /// Fallible [`div`](Self::div). Integer division by zero is an error.
    #[track_caller]
    pub fn try_div(&self, rhs: impl Operand) -> Result<Tensor> {
        let rhs = rhs.to_operand(self);
        check("div", self, &rhs)?;
        if first_int(&rhs, |v| v == 0).is_some() {
            crate::bail!(Argument, "div: integer division by zero");
        }
        let out = arith("div", self, &rhs, DivK)?;
        record(&[self, &rhs], &out, || DivBackward {
            a: self.clone(),
            b: rhs.clone(),
        });
        Ok(out)
    }

    /// Remainder with the divisor's sign (NumPy `mod`, Python `%`). d/da = 1, d/db = -floor(a/b).
    #[track_caller]
    pub fn rem(&self, rhs: impl Operand) -> Tensor {
        or_panic(self.try_rem(rhs))
    }

    /// Fallible [`rem`](Self::rem).
    #[track_caller]
    pub fn try_rem(&self, rhs: impl Operand) -> Result<Tensor> {
        let rhs = rhs.to_operand(self);
        let out = arith("rem", self, &rhs, RemK)?;
        record(&[self, &rhs], &out, || RemBackward {
            a: self.clone(),
            b: rhs.clone(),
        });
        Ok(out)
    }

    /// `self ** rhs`, broadcasting. d/da = b·a^(b-1), d/db = a^b·ln(a) (taken as 0 where a = 0).
    /// Integer powers wrap on overflow, as NumPy's.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// assert_eq!(Tensor::from([2, 3]).pow(3).to_vec::<i32>(), [8, 27]);
    /// ```
    /// # Panics
    /// On shapes that do not broadcast, and on an integer tensor raised to a negative power:
    /// `pow: integers to negative integer powers are not allowed (exponent -1)`, as NumPy.
    #[track_caller]
    pub fn pow(&self, rhs: impl Operand) -> Tensor {
        or_panic(self.try_pow(rhs))
    }

    /// Fallible [`pow`](Self::pow). As in NumPy, an integer tensor raised to a negative
    /// integer power is an error (the result would not be an integer).
    #[track_caller]
    pub fn try_pow(&self, rhs: impl Operand) -> Result<Tensor> {
        let rhs = rhs.to_operand(self);
        check("pow", self, &rhs)?;
        if let Some(e) = first_int(&rhs, |v| v < 0) {
            crate::bail!(
                Argument,
                "pow: integers to negative integer powers are not allowed (exponent {e})\n  hint: cast first, e.g. x.cast(DType::Float32)"
            );
        }
        let out = arith("pow", self, &rhs, PowK)?;
        record(&[self, &rhs], &out, || PowBackward {
            a: self.clone(),
            b: rhs.clone(),
            out: out.clone(),
        });
        Ok(out)
    }

    /// Elementwise maximum (NaN wins). The gradient goes to `self` where `self >= rhs`
    /// (ties go to the left operand, as in TensorFlow), else to `rhs`.
    #[track_caller]
    pub fn maximum(&self, rhs: impl Operand) -> Tensor {
        or_panic(self.try_maximum(rhs))
    }

    /// Fallible [`maximum`](Self::maximum).
    #[track_caller]
    pub fn try_maximum(&self, rhs: impl Operand) -> Result<Tensor> {
        let rhs = rhs.to_operand(self);
        let out = arith("maximum", self, &rhs, MaxK)?;
        record(&[self, &rhs], &out, || SelectBackward {
            name: "maximum",
            left: self.try_ge(&rhs).expect("checked"),
        });
        Ok(out)
    }

    /// Elementwise minimum (NaN wins). Ties send the gradient to the left operand.
    #[track_caller]
    pub fn minimum(&self, rhs: impl Operand) -> Tensor {
        or_panic(self.try_minimum(rhs))
    }

    /// Fallible [`minimum`](Self::minimum).
    #[track_caller]
    pub fn try_minimum(&self, rhs: impl Operand) -> Result<Tensor> {
        let rhs = rhs.to_operand(self);
        let out = arith("minimum", self, &rhs, MinK)?;
        record(&[self, &rhs], &out, || SelectBackward {
            name: "minimum",
            left: self.try_le(&rhs).expect("checked"),
        });
        Ok(out)
    }

    /// Picks `a` where `cond` is true, else `b`, broadcasting all three. `cond` must be bool.
    /// d/da = cond, d/db = !cond; no gradient for `cond`.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([1.0f32, -2.0, 3.0]);
    /// let y = Tensor::where_(&x.gt(0.0), &x, &Tensor::zeros_like(&x));
    /// assert_eq!(y.to_vec::<f32>(), [1.0, 0.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn where_(cond: &Tensor, a: &Tensor, b: &Tensor) -> Tensor {
        or_panic(Self::try_where(cond, a, b))
    }

    /// Fallible [`where_`](Self::where_).
    #[track_caller]
    pub fn try_where(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        if cond.dtype() != DType::Bool {
            crate::bail!(DType, "where: condition must be bool, got {}", cond.dtype());
        }
        let ab = check("where", a, b)?;
        let shape = broadcast_shapes("where", cond.shape(), &ab)?;
        shape.checked_alloc("where", a.dtype())?;
        let cond_b = cond.try_broadcast_to(&shape)?;
        let a_b = a.try_broadcast_to(&shape)?;
        let b_b = b.try_broadcast_to(&shape)?;
        let out = crate::dispatch_all!(a.dtype(), T, {
            // Activation gradients (elu, clip) select between same-shape dense tensors: one
            // pass over slices, split across the cores when large.
            let dense = (
                cond_b.as_slice::<bool>(),
                a_b.as_slice::<T>(),
                b_b.as_slice::<T>(),
            );
            let v: Vec<T> = if let (Some(c), Some(x), Some(y)) = dense {
                elementwise::fill_chunks(shape.numel(), |start, out: &mut [T]| {
                    let n = out.len();
                    let (c, x, y) = (&c[start..][..n], &x[start..][..n], &y[start..][..n]);
                    for (i, o) in out.iter_mut().enumerate() {
                        *o = if c[i] { x[i] } else { y[i] };
                    }
                })
            } else {
                let (c, x, y) = (cond_b.view::<bool>(), a_b.view::<T>(), b_b.view::<T>());
                ndarray::Zip::from(&c)
                    .and(&x)
                    .and(&y)
                    .map_collect(|&c, &x, &y| if c { x } else { y })
                    .into_iter()
                    .collect()
            };
            Tensor::from_vec_unchecked(v, shape.clone())
        });
        record(&[cond, a, b], &out, || WhereBackward { cond: cond.clone() });
        Ok(out)
    }
}

struct AddBackward;
impl Backward for AddBackward {
    fn name(&self) -> &'static str {
        "add"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.clone()), Some(g.clone())]
    }
}

struct SubBackward;
impl Backward for SubBackward {
    fn name(&self) -> &'static str {
        "sub"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.clone()), Some(g.neg())]
    }
}

struct MulBackward {
    a: Tensor,
    b: Tensor,
}
impl Backward for MulBackward {
    fn name(&self) -> &'static str {
        "mul"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        self.backward_needed(g, &[true, true])
    }
    fn backward_needed(&self, g: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        vec![
            needed[0].then(|| g.mul(&self.b)),
            needed[1].then(|| g.mul(&self.a)),
        ]
    }
}

struct DivBackward {
    a: Tensor,
    b: Tensor,
}
impl Backward for DivBackward {
    fn name(&self) -> &'static str {
        "div"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        self.backward_needed(g, &[true, true])
    }
    fn backward_needed(&self, g: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        let ga = g.div(&self.b);
        let gb = needed[1].then(|| ga.mul(&self.a).div(&self.b).neg());
        vec![needed[0].then_some(ga), gb]
    }
}

struct RemBackward {
    a: Tensor,
    b: Tensor,
}
impl Backward for RemBackward {
    fn name(&self) -> &'static str {
        "rem"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let gb = g.mul(&self.a.div(&self.b).floor()).neg();
        vec![Some(g.clone()), Some(gb)]
    }
}

struct PowBackward {
    a: Tensor,
    b: Tensor,
    out: Tensor,
}
impl Backward for PowBackward {
    fn name(&self) -> &'static str {
        "pow"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        self.backward_needed(g, &[true, true])
    }
    fn backward_needed(&self, g: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        let ga = needed[0].then(|| g.mul(&self.b).mul(&self.a.pow(&self.b.sub(1.0))));
        let gb = needed[1].then(|| {
            // ln(a) is undefined at a <= 0; follow PyTorch and give 0 where a == 0.
            let safe_log =
                Tensor::where_(&self.a.eq(0.0), &Tensor::zeros_like(&self.a), &self.a.log());
            g.mul(&self.out).mul(&safe_log)
        });
        vec![ga, gb]
    }
}

struct SelectBackward {
    name: &'static str,
    left: Tensor,
}
impl Backward for SelectBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let zero = Tensor::zeros((), g.dtype());
        vec![
            Some(Tensor::where_(&self.left, g, &zero)),
            Some(Tensor::where_(&self.left, &zero, g)),
        ]
    }
}

struct WhereBackward {
    cond: Tensor,
}
impl Backward for WhereBackward {
    fn name(&self) -> &'static str {
        "where"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let zero = Tensor::zeros((), g.dtype());
        vec![
            None,
            Some(Tensor::where_(&self.cond, g, &zero)),
            Some(Tensor::where_(&self.cond, &zero, g)),
        ]
    }
}

// ---- comparisons and logic: bool results, never differentiated ----

macro_rules! comparison {
    ($name:ident, $try_name:ident, $op:literal, $doc:literal, |$x:ident, $y:ident| $e:expr) => {
        impl Tensor {
            #[doc = $doc]
            #[track_caller]
            pub fn $name(&self, rhs: impl Operand) -> Tensor {
                or_panic(self.$try_name(rhs))
            }

            #[doc = concat!("Fallible [`", stringify!($name), "`](Self::", stringify!($name), ").")]
            #[allow(clippy::bool_comparison)] // bool tensors compare with false < true
            pub fn $try_name(&self, rhs: impl Operand) -> Result<Tensor> {
                let rhs = rhs.to_operand(self);
                let shape = check($op, self, &rhs)?;
                shape.checked_alloc($op, DType::Bool)?;
                Ok(crate::dispatch_all!(self.dtype(), T, {
                    elementwise::binary::<T, bool>(self, &rhs, &shape, |$x, $y| $e)
                }))
            }
        }
    };
}
comparison!(
    eq,
    try_eq,
    "eq",
    "`self == rhs` elementwise, as a bool tensor.",
    |x, y| x == y
);
comparison!(
    ne,
    try_ne,
    "ne",
    "`self != rhs` elementwise, as a bool tensor.",
    |x, y| x != y
);
comparison!(
    lt,
    try_lt,
    "lt",
    "`self < rhs` elementwise, as a bool tensor.",
    |x, y| x < y
);
comparison!(
    le,
    try_le,
    "le",
    "`self <= rhs` elementwise, as a bool tensor.",
    |x, y| x <= y
);
comparison!(
    gt,
    try_gt,
    "gt",
    "`self > rhs` elementwise, as a bool tensor.",
    |x, y| x > y
);
comparison!(
    ge,
    try_ge,
    "ge",
    "`self >= rhs` elementwise, as a bool tensor.",
    |x, y| x >= y
);

fn logical(
    op: &str,
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(bool, bool) -> bool + Sync + Send,
) -> Result<Tensor> {
    if a.dtype() != DType::Bool || b.dtype() != DType::Bool {
        crate::bail!(
            DType,
            "{op}: expected bool tensors, got {} and {}",
            a.dtype(),
            b.dtype()
        );
    }
    let shape = broadcast_shapes(op, a.shape(), b.shape())?;
    shape.checked_alloc(op, DType::Bool)?;
    Ok(elementwise::binary::<bool, bool>(a, b, &shape, f))
}

impl Tensor {
    /// Elementwise logical and of two bool tensors, broadcasting.
    ///
    /// # Panics
    /// `logical_and: expected bool tensors, got float32 and bool`, or shapes that do not
    /// broadcast.
    #[track_caller]
    pub fn logical_and(&self, rhs: &Tensor) -> Tensor {
        or_panic(self.try_logical_and(rhs))
    }

    /// Fallible [`logical_and`](Self::logical_and).
    pub fn try_logical_and(&self, rhs: &Tensor) -> Result<Tensor> {
        logical("logical_and", self, rhs, |a, b| a && b)
    }

    /// Elementwise logical or of two bool tensors, broadcasting.
    ///
    /// # Panics
    /// As [`logical_and`](Self::logical_and).
    #[track_caller]
    pub fn logical_or(&self, rhs: &Tensor) -> Tensor {
        or_panic(self.try_logical_or(rhs))
    }

    /// Fallible [`logical_or`](Self::logical_or).
    pub fn try_logical_or(&self, rhs: &Tensor) -> Result<Tensor> {
        logical("logical_or", self, rhs, |a, b| a || b)
    }

    /// Elementwise logical not of a bool tensor.
    #[track_caller]
    pub fn logical_not(&self) -> Tensor {
        or_panic(self.try_logical_not())
    }

    /// Fallible [`logical_not`](Self::logical_not).
    pub fn try_logical_not(&self) -> Result<Tensor> {
        if self.dtype() != DType::Bool {
            crate::bail!(
                DType,
                "logical_not: expected a bool tensor, got {}",
                self.dtype()
            );
        }
        self.shape().checked_alloc("logical_not", DType::Bool)?;
        Ok(elementwise::unary::<bool, bool>(self, |a| !a))
    }
}

// ---- operator overloading: owned and borrowed tensors, tensors and scalars ----

macro_rules! overload {
    ($trait:ident, $method:ident, $op:ident) => {
        impl<R: Operand> std::ops::$trait<R> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: R) -> Tensor {
                self.$op(rhs)
            }
        }
        impl<R: Operand> std::ops::$trait<R> for Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: R) -> Tensor {
                (&self).$op(rhs)
            }
        }
        overload!(@scalar $trait, $method, $op, f32, f64, i32, i64);
    };
    (@scalar $trait:ident, $method:ident, $op:ident, $($t:ty),*) => {$(
        impl std::ops::$trait<&Tensor> for $t {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                self.to_operand(rhs).$op(rhs)
            }
        }
        impl std::ops::$trait<Tensor> for $t {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: Tensor) -> Tensor {
                self.to_operand(&rhs).$op(&rhs)
            }
        }
    )*};
}
overload!(Add, add, add);
overload!(Sub, sub, sub);
overload!(Mul, mul, mul);
overload!(Div, div, div);
overload!(Rem, rem, rem);

impl std::ops::Neg for &Tensor {
    type Output = Tensor;
    #[track_caller]
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}
impl std::ops::Neg for Tensor {
    type Output = Tensor;
    #[track_caller]
    fn neg(self) -> Tensor {
        Tensor::neg(&self)
    }
}
