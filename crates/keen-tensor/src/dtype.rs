//! Element types: the runtime [`DType`] tag and the [`Element`] trait that ties it to Rust types.

use std::fmt;

/// The element type of a [`Tensor`](crate::Tensor), chosen at run time as in NumPy and TensorFlow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DType {
    /// 32-bit IEEE float, the default for real-valued data.
    Float32,
    /// 64-bit IEEE float, used by gradient checks.
    Float64,
    /// 32-bit signed integer, the default for integer literals.
    Int32,
    /// 64-bit signed integer.
    Int64,
    /// 8-bit unsigned integer (image pixels).
    UInt8,
    /// Boolean, the result of comparisons.
    Bool,
}

impl DType {
    /// NumPy's name for the type (`float32`, `int64`, `bool`, …).
    pub fn name(self) -> &'static str {
        match self {
            DType::Float32 => "float32",
            DType::Float64 => "float64",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::UInt8 => "uint8",
            DType::Bool => "bool",
        }
    }

    /// True for `float32` and `float64`, the only types that carry gradients.
    pub fn is_float(self) -> bool {
        matches!(self, DType::Float32 | DType::Float64)
    }

    /// True for the integer types (not `bool`).
    pub fn is_int(self) -> bool {
        matches!(self, DType::Int32 | DType::Int64 | DType::UInt8)
    }

    /// Size of one element in bytes.
    pub fn size_in_bytes(self) -> usize {
        match self {
            DType::Float32 | DType::Int32 => 4,
            DType::Float64 | DType::Int64 => 8,
            DType::UInt8 | DType::Bool => 1,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that can be stored in a tensor. Implemented for `f32`, `f64`, `i32`, `i64`, `u8`
/// and `bool`; sealed because every kernel dispatches over exactly these six.
pub trait Element:
    sealed::Sealed
    + crate::storage::StorageElement
    + Copy
    + Send
    + Sync
    + PartialEq
    + PartialOrd
    + fmt::Debug
    + Default
    + 'static
{
    /// The runtime tag of this type.
    const DTYPE: DType;
    /// Zero (`false` for bool).
    fn zero() -> Self;
    /// One (`true` for bool).
    fn one() -> Self;
    /// Lossy conversion to f64 (bool: 0 or 1).
    fn to_f64(self) -> f64;
    /// Conversion from f64 with Rust `as` semantics (saturating, truncating toward zero; bool: != 0).
    fn from_f64(v: f64) -> Self;
    /// Exact conversion to i64 for integer types, truncation for floats.
    fn to_i64(self) -> i64;
    /// Conversion from i64 with Rust `as` semantics.
    fn from_i64(v: i64) -> Self;
}

macro_rules! impl_element {
    ($t:ty, $dt:ident, $zero:expr, $one:expr) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$dt;
            #[inline(always)]
            fn zero() -> Self {
                $zero
            }
            #[inline(always)]
            fn one() -> Self {
                $one
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                v as $t
            }
        }
    };
}

impl_element!(f32, Float32, 0.0, 1.0);
impl_element!(f64, Float64, 0.0, 1.0);
impl_element!(i32, Int32, 0, 1);
impl_element!(i64, Int64, 0, 1);
impl_element!(u8, UInt8, 0, 1);

impl sealed::Sealed for bool {}
impl Element for bool {
    const DTYPE: DType = DType::Bool;
    #[inline(always)]
    fn zero() -> Self {
        false
    }
    #[inline(always)]
    fn one() -> Self {
        true
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self as i64
    }
    #[inline(always)]
    fn from_i64(v: i64) -> Self {
        v != 0
    }
}

/// Arithmetic shared by the numeric (non-bool) element types.
///
/// Kernels use the `wrapping_*` methods, not the operators: integers then wrap around on
/// overflow as in NumPy and TensorFlow (`uint8` 1 - 2 is 255), identically in debug and release
/// builds, where the operators would panic in debug. For floats they are the plain IEEE
/// operations, so float kernels compile exactly as before.
pub trait Num:
    Element
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::AddAssign
{
    /// `self + o`, wrapping for integers.
    fn wrapping_add(self, o: Self) -> Self;
    /// `self - o`, wrapping for integers.
    fn wrapping_sub(self, o: Self) -> Self;
    /// `self * o`, wrapping for integers.
    fn wrapping_mul(self, o: Self) -> Self;
    /// `self / o`; integers truncate toward zero, `MIN / -1` wraps to `MIN`, and a zero divisor
    /// gives 0 (the ops reject integer division by zero before reaching a kernel).
    fn wrapping_div(self, o: Self) -> Self;
    /// `-self`, wrapping for integers (`-3` as uint8 is 253, `-MIN` is `MIN`).
    fn wrapping_neg(self) -> Self;
}

macro_rules! num_float {
    ($($t:ty),*) => {$(
        impl Num for $t {
            #[inline(always)]
            fn wrapping_add(self, o: Self) -> Self {
                self + o
            }
            #[inline(always)]
            fn wrapping_sub(self, o: Self) -> Self {
                self - o
            }
            #[inline(always)]
            fn wrapping_mul(self, o: Self) -> Self {
                self * o
            }
            #[inline(always)]
            fn wrapping_div(self, o: Self) -> Self {
                self / o
            }
            #[inline(always)]
            fn wrapping_neg(self) -> Self {
                -self
            }
        }
    )*};
}
num_float!(f32, f64);

macro_rules! num_int {
    ($($t:ty),*) => {$(
        impl Num for $t {
            #[inline(always)]
            fn wrapping_add(self, o: Self) -> Self {
                <$t>::wrapping_add(self, o)
            }
            #[inline(always)]
            fn wrapping_sub(self, o: Self) -> Self {
                <$t>::wrapping_sub(self, o)
            }
            #[inline(always)]
            fn wrapping_mul(self, o: Self) -> Self {
                <$t>::wrapping_mul(self, o)
            }
            #[inline(always)]
            fn wrapping_div(self, o: Self) -> Self {
                if o == 0 {
                    0
                } else {
                    <$t>::wrapping_div(self, o)
                }
            }
            #[inline(always)]
            fn wrapping_neg(self) -> Self {
                <$t>::wrapping_neg(self)
            }
        }
    )*};
}
num_int!(i32, i64, u8);

/// A float element type: the ones with transcendental functions and gradients (`f32`, `f64`).
#[allow(missing_docs)]
pub trait Float: Num + std::ops::Neg<Output = Self> {
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn ln_1p(self) -> Self;
    fn exp_m1(self) -> Self;
    fn sqrt(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tanh(self) -> Self;
    fn powf(self, e: Self) -> Self;
    fn floor(self) -> Self;
    fn ceil(self) -> Self;
    fn round_ties_even(self) -> Self;
    fn abs(self) -> Self;
    fn max(self, o: Self) -> Self;
    fn min(self, o: Self) -> Self;
    fn is_nan(self) -> bool;
    fn erf(self) -> Self;
    fn from_f32(v: f32) -> Self;
    /// The logistic function 1/(1 + e^−x). e = e^−|x| never overflows; the sign picks 1/(1+e)
    /// or e/(1+e) without a branch, so loops over it vectorise (float32's exp is inline).
    #[inline(always)]
    fn sigmoid(self) -> Self {
        let e = (-self.abs()).exp();
        let s = Self::one() / (Self::one() + e);
        if self >= Self::zero() {
            s
        } else {
            e * s
        }
    }
}

macro_rules! impl_float {
    ($t:ty, $exp:path, $tanh:path) => {
        impl Float for $t {
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            #[inline(always)]
            fn exp_m1(self) -> Self {
                <$t>::exp_m1(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            #[inline(always)]
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $tanh(self)
            }
            #[inline(always)]
            fn powf(self, e: Self) -> Self {
                <$t>::powf(self, e)
            }
            #[inline(always)]
            fn floor(self) -> Self {
                <$t>::floor(self)
            }
            #[inline(always)]
            fn ceil(self) -> Self {
                <$t>::ceil(self)
            }
            #[inline(always)]
            fn round_ties_even(self) -> Self {
                <$t>::round_ties_even(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn max(self, o: Self) -> Self {
                <$t>::max(self, o)
            }
            #[inline(always)]
            fn min(self, o: Self) -> Self {
                <$t>::min(self, o)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline(always)]
            fn erf(self) -> Self {
                crate::kernels::special::erf(self as f64) as $t
            }
            #[inline(always)]
            fn from_f32(v: f32) -> Self {
                v as $t
            }
        }
    };
}
impl_float!(
    f32,
    crate::kernels::special::exp_f32,
    crate::kernels::special::tanh_f32
);
impl_float!(f64, f64::exp, f64::tanh);
