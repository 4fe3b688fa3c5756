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

    /// Number of elements (1 for a scalar). Shapes are validated on construction of a tensor,
    /// so this cannot overflow for a shape that belongs to one.
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }

    /// Element count, or an overflow error naming `op`.
    pub fn checked_numel(&self, op: &str) -> Result<usize> {
        let mut n: usize = 1;
        for &d in self.0.iter() {
            n = match n.checked_mul(d) {
                Some(n) => n,
                None => {
                    return Err(TensorError::new(
                        ErrorKind::Overflow,
                        format!("{op}: shape {self} has more elements than fit in memory"),
                    ))
                }
            };
        }
        // Element counts above 2^48 cannot be allocated on any machine we target.
        if n > (1usize << 48) {
            return Err(TensorError::new(
                ErrorKind::Overflow,
                format!("{op}: shape {self} has {n} elements, more than fit in memory"),
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
    Ok(Shape(dims))
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
