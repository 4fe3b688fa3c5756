//! Movement ops: reshape, permute/transpose, broadcast_to, expand_dims, squeeze. Views wherever
//! the strides allow; each with its backward rule.

use crate::error::{or_panic, Result};
use crate::record::{record, Backward};
use crate::shape::{normalize_axis, Shape};
use crate::storage::Layout;
use crate::tensor::Tensor;
use smallvec::SmallVec;

impl Tensor {
    /// The same elements in a new shape; one dimension may be `-1` (inferred). A view when the
    /// tensor is contiguous, else a copy.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([1, 2, 3, 4, 5, 6]).reshape([2, -1]);
    /// assert_eq!(x.dims(), [2, 3]);
    /// ```
    /// # Panics
    /// `reshape: cannot reshape (6, 4) (24 elements) into (5, -1)`.
    #[track_caller]
    pub fn reshape<const N: usize>(&self, dims: [isize; N]) -> Tensor {
        or_panic(self.try_reshape(&dims))
    }

    /// [`reshape`](Self::reshape) with a slice of dimensions (for shapes built at run time).
    #[track_caller]
    pub fn reshape_dims(&self, dims: &[isize]) -> Tensor {
        or_panic(self.try_reshape(dims))
    }

    /// Fallible [`reshape`](Self::reshape).
    #[track_caller]
    pub fn try_reshape(&self, dims: &[isize]) -> Result<Tensor> {
        let shape = infer_shape(self, dims)?;
        // An empty tensor reshapes into any shape with a zero in it, even one whose other
        // sizes could not be laid out.
        shape.checked_numel("reshape")?;
        Ok(self.reshape_to(shape))
    }

    /// Reshape to an already validated shape of the same element count.
    #[track_caller]
    pub(crate) fn reshape_to(&self, shape: Shape) -> Tensor {
        if &shape == self.shape() {
            return self.clone();
        }
        let base = if self.is_contiguous() {
            self.clone()
        } else {
            self.contiguous_unrecorded()
        };
        let layout = Layout {
            strides: shape.contiguous_strides(),
            shape,
            offset: base.layout().offset,
        };
        let out = base.with_layout(layout);
        record(&[self], &out, || ReshapeBackward {
            shape: self.shape().clone(),
        });
        out
    }

    /// Flattens to one dimension.
    #[track_caller]
    pub fn flatten(&self) -> Tensor {
        self.reshape_to(Shape::new(&[self.numel()]))
    }

    /// Reorders the axes: output axis `i` is input axis `perm[i]`. Always a view.
    ///
    /// # Panics
    /// `permute: [0, 0, 1] is not a permutation of the 3 axes of shape (2, 3, 4)`.
    #[track_caller]
    pub fn permute(&self, perm: &[isize]) -> Tensor {
        or_panic(self.try_permute(perm))
    }

    /// Fallible [`permute`](Self::permute).
    #[track_caller]
    pub fn try_permute(&self, perm: &[isize]) -> Result<Tensor> {
        let rank = self.rank();
        let mut p: SmallVec<[usize; 6]> = SmallVec::new();
        let mut seen = [false; 64];
        for &a in perm {
            let a = normalize_axis("permute", a, self.shape())?;
            if seen[a] {
                crate::bail!(
                    Axis,
                    "permute: {perm:?} is not a permutation of the {rank} axes of shape {}",
                    self.shape()
                );
            }
            seen[a] = true;
            p.push(a);
        }
        if p.len() != rank {
            crate::bail!(
                Axis,
                "permute: {perm:?} is not a permutation of the {rank} axes of shape {}",
                self.shape()
            );
        }
        let l = self.layout();
        let layout = Layout {
            shape: Shape(p.iter().map(|&a| l.shape.0[a]).collect()),
            strides: p.iter().map(|&a| l.strides[a]).collect(),
            offset: l.offset,
        };
        let out = self.with_layout(layout);
        let mut inverse = vec![0isize; rank];
        for (i, &a) in p.iter().enumerate() {
            inverse[a] = i as isize;
        }
        record(&[self], &out, || PermuteBackward { inverse });
        Ok(out)
    }

    /// Swaps two axes (a view). `x.transpose(-2, -1)` transposes the last two axes.
    #[track_caller]
    pub fn transpose(&self, a: isize, b: isize) -> Tensor {
        or_panic(self.try_transpose(a, b))
    }

    /// Fallible [`transpose`](Self::transpose).
    #[track_caller]
    pub fn try_transpose(&self, a: isize, b: isize) -> Result<Tensor> {
        let a = normalize_axis("transpose", a, self.shape())?;
        let b = normalize_axis("transpose", b, self.shape())?;
        let mut perm: Vec<isize> = (0..self.rank() as isize).collect();
        perm.swap(a, b);
        self.try_permute(&perm)
    }

    /// The matrix transpose of a rank-2 tensor, `.t()` as in PyTorch (a view).
    ///
    /// # Panics
    /// `t: expected a rank-2 tensor, got shape (2, 3, 4)`.
    #[track_caller]
    pub fn t(&self) -> Tensor {
        or_panic(self.try_t())
    }

    /// Fallible [`t`](Self::t).
    #[track_caller]
    pub fn try_t(&self) -> Result<Tensor> {
        if self.rank() != 2 {
            crate::bail!(
                Shape,
                "t: expected a rank-2 tensor, got shape {}",
                self.shape()
            );
        }
        self.try_transpose(0, 1)
    }

    /// Broadcasts to `shape` following NumPy's rules, as a view with zero strides.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1], [2]]).broadcast_to([3, 2, 4]);
    /// assert_eq!(x.dims(), [3, 2, 4]);
    /// ```
    /// # Panics
    /// `broadcast_to: cannot broadcast (3, 2) to (4, 3): axis 0 is 3 vs 4`, and on a target
    /// shape with more elements than fit in memory (a view that large could not be used).
    #[track_caller]
    pub fn broadcast_to(&self, shape: impl Into<Shape>) -> Tensor {
        or_panic(self.try_broadcast_to(shape))
    }

    /// Fallible [`broadcast_to`](Self::broadcast_to).
    #[track_caller]
    pub fn try_broadcast_to(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if &shape == self.shape() {
            return Ok(self.clone());
        }
        shape.checked_numel("broadcast_to")?;
        let l = self.layout();
        let (r, sr) = (shape.rank(), l.shape.rank());
        if sr > r {
            crate::bail!(
                Shape,
                "broadcast_to: cannot broadcast {} to {shape}: target has fewer axes",
                l.shape
            );
        }
        let mut strides: SmallVec<[isize; 6]> = SmallVec::from_elem(0, r);
        for i in 0..r {
            if i < r - sr {
                continue;
            }
            let j = i - (r - sr);
            let (from, to) = (l.shape.0[j], shape.0[i]);
            if from == to {
                strides[i] = l.strides[j];
            } else if from != 1 {
                crate::bail!(
                    Shape,
                    "broadcast_to: cannot broadcast {} to {shape}: axis {i} is {from} vs {to}",
                    l.shape
                );
            }
        }
        let out = self.with_layout(Layout {
            shape,
            strides,
            offset: l.offset,
        });
        record(&[self], &out, || BroadcastBackward {
            shape: self.shape().clone(),
        });
        Ok(out)
    }

    /// Inserts a size-1 axis at `axis` (negative counts from the end of the result). Always a
    /// view, also of a non-contiguous tensor.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1, 2, 3], [4, 5, 6]]);
    /// assert_eq!(x.expand_dims(1).dims(), [2, 1, 3]);
    /// assert_eq!(x.t().expand_dims(-1).dims(), [3, 2, 1]);
    /// ```
    /// # Panics
    /// `expand_dims: axis 4 out of range for a result of rank 4 (valid: -4..=3)`.
    #[track_caller]
    pub fn expand_dims(&self, axis: isize) -> Tensor {
        or_panic(self.try_expand_dims(axis))
    }

    /// Fallible [`expand_dims`](Self::expand_dims).
    #[track_caller]
    pub fn try_expand_dims(&self, axis: isize) -> Result<Tensor> {
        let r = self.rank() as isize + 1;
        let a = if axis < 0 { axis + r } else { axis };
        if a < 0 || a >= r {
            crate::bail!(
                Axis,
                "expand_dims: axis {axis} out of range for a result of rank {r} (valid: {}..={})",
                -r,
                r - 1
            );
        }
        let a = a as usize;
        let l = self.layout();
        let mut dims = l.shape.0.clone();
        let mut strides = l.strides.clone();
        // Any stride describes a size-1 axis; the one a row-major layout would give keeps
        // contiguous tensors looking contiguous to kernels that read strides.
        let stride = if a < dims.len() {
            strides[a] * dims[a] as isize
        } else {
            1
        };
        dims.insert(a, 1);
        strides.insert(a, stride);
        Ok(self.axes_view(Shape(dims), strides))
    }

    /// Removes size-1 axes: all of them when `axes` is empty, else exactly those listed.
    /// Always a view, also of a non-contiguous tensor.
    ///
    /// # Panics
    /// `squeeze: axis 0 of shape (2, 1) has size 2, not 1`.
    #[track_caller]
    pub fn squeeze(&self, axes: &[isize]) -> Tensor {
        or_panic(self.try_squeeze(axes))
    }

    /// Fallible [`squeeze`](Self::squeeze).
    #[track_caller]
    pub fn try_squeeze(&self, axes: &[isize]) -> Result<Tensor> {
        let mut drop = vec![false; self.rank()];
        if axes.is_empty() {
            for (i, &d) in self.dims().iter().enumerate() {
                drop[i] = d == 1;
            }
        }
        for &a in axes {
            let i = normalize_axis("squeeze", a, self.shape())?;
            if self.dims()[i] != 1 {
                crate::bail!(
                    Shape,
                    "squeeze: axis {a} of shape {} has size {}, not 1",
                    self.shape(),
                    self.dims()[i]
                );
            }
            drop[i] = true;
        }
        let l = self.layout();
        let keep = |i: &usize| !drop[*i];
        let dims = (0..self.rank())
            .filter(keep)
            .map(|i| l.shape.0[i])
            .collect();
        let strides = (0..self.rank())
            .filter(keep)
            .map(|i| l.strides[i])
            .collect();
        Ok(self.axes_view(Shape(dims), strides))
    }

    /// A view with size-1 axes inserted or removed (same elements, same order), recorded as a
    /// reshape so its gradient is the gradient reshaped back.
    fn axes_view(&self, shape: Shape, strides: SmallVec<[isize; 6]>) -> Tensor {
        if &shape == self.shape() {
            return self.clone();
        }
        let out = self.with_layout(Layout {
            shape,
            strides,
            offset: self.layout().offset,
        });
        record(&[self], &out, || ReshapeBackward {
            shape: self.shape().clone(),
        });
        out
    }
}

/// Resolves a `-1` in a requested shape against the element count of `x`.
fn infer_shape(x: &Tensor, dims: &[isize]) -> Result<Shape> {
    let n = x.numel();
    let fail = || {
        let want: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
        let want = if want.len() == 1 {
            format!("({},)", want[0])
        } else {
            format!("({})", want.join(", "))
        };
        crate::TensorError::new(
            crate::ErrorKind::Shape,
            format!(
                "reshape: cannot reshape {} ({n} elements) into {want}",
                x.shape()
            ),
        )
    };
    let mut known: usize = 1;
    let mut infer = None;
    for (i, &d) in dims.iter().enumerate() {
        if d == -1 {
            if infer.replace(i).is_some() {
                return Err(fail());
            }
        } else if d < 0 {
            return Err(fail());
        } else {
            known = known.checked_mul(d as usize).ok_or_else(fail)?;
        }
    }
    let mut out: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
    match infer {
        Some(i) => {
            if known == 0 || !n.is_multiple_of(known) {
                return Err(fail());
            }
            out[i] = n / known;
        }
        None if known != n => return Err(fail()),
        None => {}
    }
    Ok(Shape::from(out))
}

struct ReshapeBackward {
    shape: Shape,
}
impl Backward for ReshapeBackward {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.reshape_to(self.shape.clone()))]
    }
}

/// The rule of a recorded `contiguous` copy: the gradient passes through unchanged.
pub(crate) struct ContiguousBackward;
impl Backward for ContiguousBackward {
    fn name(&self) -> &'static str {
        "contiguous"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.clone())]
    }
}

struct PermuteBackward {
    inverse: Vec<isize>,
}
impl Backward for PermuteBackward {
    fn name(&self) -> &'static str {
        "permute"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.permute(&self.inverse))]
    }
}

struct BroadcastBackward {
    shape: Shape,
}
impl Backward for BroadcastBackward {
    fn name(&self) -> &'static str {
        "broadcast_to"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.sum_to_shape(&self.shape))]
    }
}
