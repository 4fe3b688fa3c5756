//! Slicing: `x.slice(s![.., 1..3, ..;2, 4, -1])` and `narrow`, zero-copy views (a new offset and
//! strides over the same storage), with the backward rule directly below.
//!
//! The adjoint of a slice places the gradient back into zeros of the input's shape; that is the
//! strided form of [`pad`](Tensor::pad), recorded with its own rule (a slice of the gradient),
//! so second-order gradients work.

use crate::error::{or_panic, Result};
use crate::record::{record, Backward};
use crate::shape::{normalize_axis, Shape};
use crate::storage::Layout;
use crate::tensor::Tensor;
use smallvec::SmallVec;
use std::fmt;

/// One entry of a slice: an index (drops the axis) or a range with a step. Built by [`s!`]
/// or from Rust ranges and integers: `SliceArg::from(1..3).step(2)`.
///
/// Negative positions count from the end of the axis (`-1` is the last element); a missing
/// bound means the start or the end of the axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceArg {
    /// One position; the axis is dropped from the result.
    Index(isize),
    /// `start..end` taking every `step`-th element (`step` ≥ 1).
    Range {
        /// First position (inclusive); `None` is 0.
        start: Option<isize>,
        /// Last position (exclusive); `None` is the axis' size.
        end: Option<isize>,
        /// Distance between taken elements.
        step: isize,
    },
}

impl SliceArg {
    /// The whole axis, `..`.
    pub const FULL: SliceArg = SliceArg::Range {
        start: None,
        end: None,
        step: 1,
    };

    /// This range taking every `step`-th element: `..;2` in [`s!`].
    ///
    /// # Panics
    /// `s!: a step applies to a range, not to the index 2` when called on an index.
    #[track_caller]
    pub fn step(self, step: isize) -> SliceArg {
        match self {
            SliceArg::Range { start, end, .. } => SliceArg::Range { start, end, step },
            SliceArg::Index(i) => panic!("s!: a step applies to a range, not to the index {i}"),
        }
    }
}

impl fmt::Display for SliceArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SliceArg::Index(i) => write!(f, "{i}"),
            SliceArg::Range { start, end, step } => {
                if let Some(s) = start {
                    write!(f, "{s}")?;
                }
                f.write_str("..")?;
                if let Some(e) = end {
                    write!(f, "{e}")?;
                }
                if step != 1 {
                    write!(f, ";{step}")?;
                }
                Ok(())
            }
        }
    }
}

macro_rules! slice_arg_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for SliceArg {
            fn from(i: $t) -> Self {
                SliceArg::Index(i as isize)
            }
        }
        impl From<std::ops::Range<$t>> for SliceArg {
            fn from(r: std::ops::Range<$t>) -> Self {
                SliceArg::Range { start: Some(r.start as isize), end: Some(r.end as isize), step: 1 }
            }
        }
        impl From<std::ops::RangeFrom<$t>> for SliceArg {
            fn from(r: std::ops::RangeFrom<$t>) -> Self {
                SliceArg::Range { start: Some(r.start as isize), end: None, step: 1 }
            }
        }
        impl From<std::ops::RangeTo<$t>> for SliceArg {
            fn from(r: std::ops::RangeTo<$t>) -> Self {
                SliceArg::Range { start: None, end: Some(r.end as isize), step: 1 }
            }
        }
        impl From<std::ops::RangeInclusive<$t>> for SliceArg {
            fn from(r: std::ops::RangeInclusive<$t>) -> Self {
                let end = *r.end() as isize;
                // `..=-1` means "through the last element": no end bound.
                let end = if end == -1 { None } else { Some(end + 1) };
                SliceArg::Range { start: Some(*r.start() as isize), end, step: 1 }
            }
        }
        impl From<std::ops::RangeToInclusive<$t>> for SliceArg {
            fn from(r: std::ops::RangeToInclusive<$t>) -> Self {
                let end = r.end as isize;
                let end = if end == -1 { None } else { Some(end + 1) };
                SliceArg::Range { start: None, end, step: 1 }
            }
        }
    )*};
}
slice_arg_from_int!(i32, i64, isize, usize, u32);

impl From<std::ops::RangeFull> for SliceArg {
    fn from(_: std::ops::RangeFull) -> Self {
        SliceArg::FULL
    }
}

/// Builds the argument of [`Tensor::slice`]: one entry per leading axis, separated by commas.
///
/// | entry | meaning |
/// | --- | --- |
/// | `2`, `-1` | that index; the axis is dropped (`-1` is the last) |
/// | `1..3`, `1..`, `..3`, `..=2` | that range (negative bounds count from the end) |
/// | `..` | the whole axis |
/// | `range;step` | every `step`-th element of the range, e.g. `..;2` (steps must be positive) |
///
/// Axes after the last entry are taken whole. Unlike NumPy, a bound outside the axis is an
/// error rather than silently clamped.
///
/// ```
/// use keen_tensor::{s, Tensor, DType};
/// let x = Tensor::arange(0.0, 24.0, 1.0, DType::Int32).reshape([2, 3, 4]);
/// let y = x.slice(s![.., 1..3, ..;2]);
/// assert_eq!(y.dims(), [2, 2, 2]);
/// assert_eq!(x.slice(s![-1, 0]).to_vec::<i32>(), [12, 13, 14, 15]);
/// ```
#[macro_export]
macro_rules! s {
    (@acc [$($out:expr,)*]) => { [$($out,)*] };
    (@acc [$($out:expr,)*] $r:expr ; $step:expr , $($rest:tt)*) => {
        $crate::s!(@acc [$($out,)* $crate::ops::slice::SliceArg::from($r).step(($step) as isize),] $($rest)*)
    };
    (@acc [$($out:expr,)*] $r:expr ; $step:expr) => {
        $crate::s!(@acc [$($out,)* $crate::ops::slice::SliceArg::from($r).step(($step) as isize),])
    };
    (@acc [$($out:expr,)*] $r:expr , $($rest:tt)*) => {
        $crate::s!(@acc [$($out,)* $crate::ops::slice::SliceArg::from($r),] $($rest)*)
    };
    (@acc [$($out:expr,)*] $r:expr) => {
        $crate::s!(@acc [$($out,)* $crate::ops::slice::SliceArg::from($r),])
    };
    ($($t:tt)*) => { $crate::s!(@acc [] $($t)*) };
}

/// What a slice takes from one input axis, after validation: `len` elements from `start` by
/// `step`; `keep == false` for an index, whose axis the result drops. Shared with `pad`, the
/// adjoint, which places values at exactly these positions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AxisRange {
    pub start: usize,
    pub len: usize,
    pub step: usize,
    pub keep: bool,
}

impl AxisRange {
    /// The whole of an axis of size `n`.
    pub fn full(n: usize) -> Self {
        AxisRange {
            start: 0,
            len: n,
            step: 1,
            keep: true,
        }
    }
}

/// Resolves one [`SliceArg`] against an axis of size `n`.
fn resolve(arg: SliceArg, axis: usize, n: usize) -> Result<AxisRange> {
    let ni = n as isize;
    match arg {
        SliceArg::Index(i) => {
            let j = if i < 0 { i + ni } else { i };
            if j < 0 || j >= ni {
                crate::bail!(
                    Index,
                    "slice: index {i} is out of bounds for axis {axis} with size {n}"
                );
            }
            Ok(AxisRange {
                start: j as usize,
                len: 1,
                step: 1,
                keep: false,
            })
        }
        SliceArg::Range { start, end, step } => {
            if step <= 0 {
                crate::bail!(
                    Argument,
                    "slice: step {step} on axis {axis} is not supported: steps must be positive \
                     (strides stay non-negative)\n  hint: reverse with flip(&[{axis}])"
                );
            }
            let fix = |b: isize| if b < 0 { b + ni } else { b };
            let (s, e) = (fix(start.unwrap_or(0)), fix(end.unwrap_or(ni)));
            if s < 0 || e < 0 || s > ni || e > ni {
                crate::bail!(
                    Index,
                    "slice: range {arg} is out of bounds for axis {axis} with size {n}"
                );
            }
            if s > e {
                crate::bail!(
                    Index,
                    "slice: range {arg} on axis {axis} with size {n} starts after it ends ({s} > {e})"
                );
            }
            let (s, e, step) = (s as usize, e as usize, step as usize);
            Ok(AxisRange {
                start: s,
                len: (e - s).div_ceil(step),
                step,
                keep: true,
            })
        }
    }
}

impl Tensor {
    /// A view of part of the tensor, described by [`s!`]: integers pick one position and drop
    /// the axis, ranges keep it, `range;step` takes every step-th element. No copy: the result
    /// shares storage with `self`. d/dx places the gradient back into zeros of `x`'s shape.
    ///
    /// ```
    /// use keen_tensor::{s, Tensor};
    /// let x = Tensor::from([[1, 2, 3, 4], [5, 6, 7, 8]]);
    /// assert_eq!(x.slice(s![.., 1..3]).to_vec::<i32>(), [2, 3, 6, 7]);
    /// assert_eq!(x.slice(s![1, ..;2]).to_vec::<i32>(), [5, 7]);
    /// assert_eq!(x.slice(s![.., -1]).to_vec::<i32>(), [4, 8]);
    /// ```
    /// # Panics
    /// `slice: index 5 is out of bounds for axis 1 with size 4`, `slice: range 1..7 is out of
    /// bounds for axis 0 with size 2`, `slice: step -1 on axis 0 is not supported: …`, or
    /// `slice: 3 entries for a rank-2 tensor of shape (2, 4)`.
    #[track_caller]
    pub fn slice(&self, args: impl AsRef<[SliceArg]>) -> Tensor {
        or_panic(self.try_slice(args))
    }

    /// Fallible [`slice`](Self::slice).
    #[track_caller]
    pub fn try_slice(&self, args: impl AsRef<[SliceArg]>) -> Result<Tensor> {
        let args = args.as_ref();
        if args.len() > self.rank() {
            crate::bail!(
                Index,
                "slice: {} entries for a rank-{} tensor of shape {}",
                args.len(),
                self.rank(),
                self.shape()
            );
        }
        let mut spec = Vec::with_capacity(self.rank());
        for (axis, &n) in self.dims().iter().enumerate() {
            spec.push(match args.get(axis) {
                Some(&a) => resolve(a, axis, n)?,
                None => AxisRange::full(n),
            });
        }
        Ok(self.slice_spec(spec))
    }

    /// `len` elements of `axis` starting at `start`, as a view (PyTorch's `narrow`).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1, 2, 3], [4, 5, 6]]);
    /// assert_eq!(x.narrow(1, 1, 2).to_vec::<i32>(), [2, 3, 5, 6]);
    /// ```
    /// # Panics
    /// `narrow: start 2 + length 3 exceeds axis 1 with size 3`.
    #[track_caller]
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Tensor {
        or_panic(self.try_narrow(axis, start, len))
    }

    /// Fallible [`narrow`](Self::narrow).
    #[track_caller]
    pub fn try_narrow(&self, axis: isize, start: usize, len: usize) -> Result<Tensor> {
        let a = normalize_axis("narrow", axis, self.shape())?;
        let n = self.dims()[a];
        if start.checked_add(len).is_none_or(|e| e > n) {
            crate::bail!(
                Index,
                "narrow: start {start} + length {len} exceeds axis {axis} with size {n}"
            );
        }
        let mut spec: Vec<AxisRange> = self.dims().iter().map(|&d| AxisRange::full(d)).collect();
        spec[a] = AxisRange {
            start,
            len,
            step: 1,
            keep: true,
        };
        Ok(self.slice_spec(spec))
    }

    /// The view described by a validated spec (one entry per axis), recorded as `slice`.
    #[track_caller]
    pub(crate) fn slice_spec(&self, spec: Vec<AxisRange>) -> Tensor {
        let l = self.layout();
        if spec
            .iter()
            .zip(l.shape.dims())
            .all(|(r, &n)| r.keep && r.start == 0 && r.len == n)
        {
            return self.clone();
        }
        let mut offset = l.offset as isize;
        let mut dims: SmallVec<[usize; 6]> = SmallVec::new();
        let mut strides: SmallVec<[isize; 6]> = SmallVec::new();
        for (r, &st) in spec.iter().zip(l.strides.iter()) {
            offset += r.start as isize * st;
            if r.keep {
                dims.push(r.len);
                strides.push(st * r.step as isize);
            }
        }
        let shape = Shape(dims);
        // An empty view may start one past the end of the storage; keep its offset in bounds.
        let offset = if shape.numel() == 0 {
            l.offset
        } else {
            offset as usize
        };
        let out = self.with_layout(Layout {
            shape,
            strides,
            offset,
        });
        record(&[self], &out, || SliceBackward {
            in_shape: self.shape().clone(),
            spec,
        });
        out
    }
}

/// d slice: the gradient placed at the sliced positions of zeros shaped like the input.
struct SliceBackward {
    in_shape: Shape,
    spec: Vec<AxisRange>,
}
impl Backward for SliceBackward {
    fn name(&self) -> &'static str {
        "slice"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.place(&self.in_shape, self.spec.clone(), 0.0))]
    }
}
