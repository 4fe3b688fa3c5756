//! Shapes: dimensions, element counts, axis normalisation and NumPy broadcasting.

use crate::error::{ErrorKind, Result, TensorError};
use smallvec::SmallVec;
use std::fmt;

/// Dimensions stored inline up to rank 6, which covers every model in the zoo without a heap
/// allocation per op.
pub type Dims = SmallVec<[usize; 6]>;

/// The dimensions of a tensor. Displays in Python tuple style: `(2, 3)`, `(5,)`, `()`.
#[derive(Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Shape(pub(crate) Dims);

impl Shape {
    /// A shape from a slice of dimensions.
    pub fn new(dims: &[usize]) -> Self {
        Shape(SmallVec::from_slice(dims))
    }

    /// The scalar shape `()`.
    pub fn scalar() -> Self {
        Shape(SmallVec::new())
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Number of elements (1 for a scalar). Every tensor's shape passed
    /// [`checked_numel`](Self::checked_numel) when the tensor was made, so for those this is
    /// exact. For a shape built by hand it saturates at `usize::MAX` instead of overflowing:
    /// validate such shapes with [`try_numel`](Self::try_numel) or `checked_numel`.
    pub fn numel(&self) -> usize {
        self.try_numel().unwrap_or(usize::MAX)
    }

    /// Number of elements, or `None` when it overflows `usize`.
    pub fn try_numel(&self) -> Option<usize> {
        if self.0.contains(&0) {
            return Some(0);
        }
        self.0.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
    }

    /// The largest element count a tensor may have, 2^48: no machine we target can allocate
    /// more, and it leaves room for index arithmetic (strides times sizes) in `isize`.
    pub const MAX_NUMEL: usize = 1 << 48;

    /// Element count, or an [`ErrorKind::Overflow`] error naming `op` when it overflows `usize`
    /// or exceeds [`MAX_NUMEL`](Self::MAX_NUMEL). Every op checks the shape of a new tensor
    /// (views included) with it, so that no size computation on a tensor can overflow.
    pub fn checked_numel(&self, op: &str) -> Result<usize> {
        // Row-major strides multiply the nonzero sizes, so those must fit even in an empty
        // shape (NumPy rejects `np.empty((0, 2**40, 2**40))` likewise).
        let nonzero = self
            .0
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d.max(1)))
            .filter(|&n| n <= isize::MAX as usize);
        let Some(nonzero) = nonzero else {
            let what = if self.0.contains(&0) {
                "is too large to lay out, although it has no elements"
            } else {
                "has more elements than fit in memory"
            };
            return Err(TensorError::new(
                ErrorKind::Overflow,
                format!("{op}: shape {self} {what}"),
            ));
        };
        let n = if self.0.contains(&0) { 0 } else { nonzero };
        if n > Self::MAX_NUMEL {
            return Err(TensorError::new(
                ErrorKind::Overflow,
                format!("{op}: shape {self} has {n} elements, more than fit in memory"),
            ));
        }
        Ok(n)
    }

    /// Element count of a new `dtype` tensor of this shape, about to be allocated:
    /// [`checked_numel`](Self::checked_numel), then an [`ErrorKind::Overflow`] error naming `op`
    /// when the allocator refuses that many bytes.
    ///
    /// Rust aborts the process when an allocation fails, so a large request is first tried with
    /// `try_reserve_exact` and given back: a result larger than memory (and swap) becomes an
    /// error instead of an abort. Below 1 GiB there is no probe; an allocation that succeeds
    /// here can still meet an out-of-memory killer later, which no check can prevent.
    pub fn checked_alloc(&self, op: &str, dtype: crate::DType) -> Result<usize> {
        const PROBE_BYTES: usize = 1 << 30;
        let n = self.checked_numel(op)?;
        // n <= 2^48 and elements are at most 8 bytes: no overflow.
        let bytes = n * dtype.size_in_bytes();
        if bytes >= PROBE_BYTES && Vec::<u8>::new().try_reserve_exact(bytes).is_err() {
            return Err(TensorError::new(
                ErrorKind::Overflow,
                format!("{op}: cannot allocate {bytes} bytes for a {dtype} tensor of shape {self}"),
            ));
        }
        Ok(n)
    }

    /// Row-major (C-order) strides in elements.
    pub fn contiguous_strides(&self) -> SmallVec<[isize; 6]> {
        let mut strides: SmallVec<[isize; 6]> = SmallVec::from_elem(0, self.rank());
        let mut acc: isize = 1;
        for i in (0..self.rank()).rev() {
            strides[i] = acc;
            acc *= self.0[i].max(1) as isize;
        }
        strides
    }

    /// Normalises a possibly negative axis against this rank, or errs naming `op`.
    pub fn axis(&self, op: &str, axis: isize) -> Result<usize> {
        normalize_axis(op, axis, self)
    }
}

/// Maps a negative axis to its positive twin (`-1` is the last axis).
pub fn normalize_axis(op: &str, axis: isize, shape: &Shape) -> Result<usize> {
    let rank = shape.rank() as isize;
    let a = if axis < 0 { axis + rank } else { axis };
    if a < 0 || a >= rank {
        let valid = if rank == 0 {
            "none: the tensor is a scalar".to_string()
        } else {
            format!("{}..={}", -rank, rank - 1)
        };
        return Err(TensorError::new(
            ErrorKind::Axis,
            format!(
                "{op}: axis {axis} out of range for rank-{rank} tensor of shape {shape} (valid: {valid})"
            ),
        ));
    }
    Ok(a as usize)
}

/// Normalises a list of axes (sorted, no repeats); an empty list means "all axes" when `all_if_empty`.
pub fn normalize_axes(op: &str, axes: &[isize], shape: &Shape) -> Result<SmallVec<[usize; 6]>> {
    let mut out: SmallVec<[usize; 6]> = SmallVec::new();
    for &a in axes {
        let n = normalize_axis(op, a, shape)?;
        if out.contains(&n) {
            return Err(TensorError::new(
                ErrorKind::Axis,
                format!("{op}: axis {a} repeated in {axes:?} for shape {shape}"),
            ));
        }
        out.push(n);
    }
    out.sort_unstable();
    Ok(out)
}

/// The NumPy broadcast of two shapes, or an error naming `op`, both shapes and the failing axis.
/// Two shapes that fit in memory can broadcast to one that does not (`(n, 1)` and `(1, n)`):
/// that is an [`ErrorKind::Overflow`] error.
pub fn broadcast_shapes(op: &str, a: &Shape, b: &Shape) -> Result<Shape> {
    if a == b {
        return Ok(a.clone());
    }
    let rank = a.rank().max(b.rank());
    let mut dims: Dims = SmallVec::from_elem(0, rank);
    for i in 0..rank {
        let da = if i + a.rank() >= rank {
            a.0[i + a.rank() - rank]
        } else {
            1
        };
        let db = if i + b.rank() >= rank {
            b.0[i + b.rank() - rank]
        } else {
            1
        };
        dims[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(TensorError::new(
                ErrorKind::Shape,
                format!("{op}: shapes {a} and {b} cannot be broadcast: axis {i} is {da} vs {db}"),
            ));
        };
    }
    let out = Shape(dims);
    out.checked_numel(op)?;
    Ok(out)
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() == 1 {
            f.write_str(",")?;
        }
        f.write_str(")")
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Self {
        Shape::new(d)
    }
}
impl From<Vec<usize>> for Shape {
    fn from(d: Vec<usize>) -> Self {
        Shape(SmallVec::from_vec(d))
    }
}
impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Self {
        Shape::new(&d)
    }
}
impl<const N: usize> From<&[usize; N]> for Shape {
    fn from(d: &[usize; N]) -> Self {
        Shape::new(d)
    }
}
impl From<()> for Shape {
    fn from(_: ()) -> Self {
        Shape::scalar()
    }
}
impl From<&Shape> for Shape {
    fn from(s: &Shape) -> Self {
        s.clone()
    }
}
impl From<usize> for Shape {
    fn from(d: usize) -> Self {
        Shape::new(&[d])
    }
}
