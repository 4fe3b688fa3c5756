//! Joining and splitting: concat, stack, split, chunk, unbind.
//!
//! `concat` is the primitive (its rule slices the gradient back into pieces); `stack` is
//! expand_dims + concat; `split`, `chunk` and `unbind` return views made by `narrow`/`slice`,
//! so each piece records its own `slice` rule.

use crate::dtype::Element;
use crate::error::{or_panic, Result};
use crate::kernels::elementwise::fill_chunks_sized;
use crate::kernels::PAR_CHUNK;
use crate::ops::slice::AxisRange;
use crate::record::{record, Backward};
use crate::shape::{normalize_axis, Shape};
use crate::tensor::Tensor;

impl AsRef<Tensor> for Tensor {
    fn as_ref(&self) -> &Tensor {
        self
    }
}

impl Tensor {
    /// Joins tensors along an existing `axis`; all other dimensions and the dtype must agree.
    /// Accepts `&[Tensor]` or `&[&Tensor]`. d/dx_i is the gradient's slice where x_i landed.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let a = Tensor::from([[1, 2], [3, 4]]);
    /// let b = Tensor::from([[5], [6]]);
    /// assert_eq!(Tensor::concat(&[&a, &b], 1).to_vec::<i32>(), [1, 2, 5, 3, 4, 6]);
    /// ```
    /// # Panics
    /// `concat along axis 1: input 2 has shape (2, 5, 5) but input 0 has (2, 3, 4): axis 2
    /// differs (5 vs 4)`, on differing dtypes or ranks, and on an empty list.
    #[track_caller]
    pub fn concat<T: AsRef<Tensor>>(xs: &[T], axis: isize) -> Tensor {
        or_panic(Self::try_concat(xs, axis))
    }

    /// Fallible [`concat`](Self::concat).
    #[track_caller]
    pub fn try_concat<T: AsRef<Tensor>>(xs: &[T], axis: isize) -> Result<Tensor> {
        let xs: Vec<&Tensor> = xs.iter().map(|x| x.as_ref()).collect();
        let Some(&first) = xs.first() else {
            crate::bail!(Argument, "concat: no tensors to join");
        };
        if first.rank() == 0 {
            crate::bail!(
                Shape,
                "concat: cannot join scalars (rank 0) along an axis\n  hint: use Tensor::stack"
            );
        }
        let a = normalize_axis("concat", axis, first.shape())?;
        let mut total = 0usize;
        for (i, x) in xs.iter().enumerate() {
            if x.dtype() != first.dtype() {
                crate::bail!(
                    DType,
                    "concat along axis {axis}: input {i} is {} but input 0 is {}",
                    x.dtype(),
                    first.dtype()
                );
            }
            if x.rank() != first.rank() {
                crate::bail!(
                    Shape,
                    "concat along axis {axis}: input {i} has shape {} but input 0 has {}: ranks differ ({} vs {})",
                    x.shape(),
                    first.shape(),
                    x.rank(),
                    first.rank()
                );
            }
            for (d, (&p, &q)) in x.dims().iter().zip(first.dims()).enumerate() {
                if d != a && p != q {
                    crate::bail!(
                        Shape,
                        "concat along axis {axis}: input {i} has shape {} but input 0 has {}: axis {d} differs ({p} vs {q})",
                        x.shape(),
                        first.shape()
                    );
                }
            }
            total += x.dims()[a];
        }
        let mut dims = first.dims().to_vec();
        dims[a] = total;
        let shape = Shape::from(dims);
        shape.checked_alloc("concat", first.dtype())?;
        let out = if xs.len() == 1 {
            // A fresh value (not a clone sharing the input's id), so the tape sees an op.
            first.with_layout(first.layout().clone())
        } else {
            crate::dispatch_all!(first.dtype(), T, { concat_kernel::<T>(&xs, a, shape) })
        };
        let sizes: Vec<usize> = xs.iter().map(|x| x.dims()[a]).collect();
        record(&xs, &out, || ConcatBackward { axis: a, sizes });
        Ok(out)
    }

    /// Joins tensors of one shape along a new `axis` (`-1` appends a last axis).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let (a, b) = (Tensor::from([1, 2]), Tensor::from([3, 4]));
    /// assert_eq!(Tensor::stack(&[&a, &b], 0).dims(), [2, 2]);
    /// assert_eq!(Tensor::stack(&[&a, &b], -1).to_vec::<i32>(), [1, 3, 2, 4]);
    /// ```
    /// # Panics
    /// `stack: input 1 has shape (3,) but input 0 has (2,)`, or an axis outside the result.
    #[track_caller]
    pub fn stack<T: AsRef<Tensor>>(xs: &[T], axis: isize) -> Tensor {
        or_panic(Self::try_stack(xs, axis))
    }

    /// Fallible [`stack`](Self::stack).
    #[track_caller]
    pub fn try_stack<T: AsRef<Tensor>>(xs: &[T], axis: isize) -> Result<Tensor> {
        let xs: Vec<&Tensor> = xs.iter().map(|x| x.as_ref()).collect();
        let Some(&first) = xs.first() else {
            crate::bail!(Argument, "stack: no tensors to join");
        };
        for (i, x) in xs.iter().enumerate() {
            if x.shape() != first.shape() {
                crate::bail!(
                    Shape,
                    "stack: input {i} has shape {} but input 0 has {}",
                    x.shape(),
                    first.shape()
                );
            }
        }
        let mut out_dims = first.dims().to_vec();
        out_dims.push(1);
        let a = normalize_axis("stack", axis, &Shape::from(out_dims))?;
        let mut dims = first.dims().to_vec();
        dims.insert(a, 1);
        let shape = Shape::from(dims);
        let parts: Vec<Tensor> = xs.iter().map(|x| x.reshape_to(shape.clone())).collect();
        Self::try_concat(&parts, a as isize)
    }

    /// Splits along `axis` into pieces of the given sizes (which must sum to the axis' size).
    /// The pieces are views.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([1, 2, 3, 4, 5]);
    /// let parts = x.split(&[2, 3], 0);
    /// assert_eq!(parts[1].to_vec::<i32>(), [3, 4, 5]);
    /// ```
    /// # Panics
    /// `split: sizes [2, 2] sum to 4 but axis 0 has size 5`.
    #[track_caller]
    pub fn split(&self, sizes: &[usize], axis: isize) -> Vec<Tensor> {
        or_panic(self.try_split(sizes, axis))
    }

    /// Fallible [`split`](Self::split).
    #[track_caller]
    pub fn try_split(&self, sizes: &[usize], axis: isize) -> Result<Vec<Tensor>> {
        let a = normalize_axis("split", axis, self.shape())?;
        let n = self.dims()[a];
        let sum = sizes.iter().try_fold(0usize, |s, &k| s.checked_add(k));
        if sum != Some(n) {
            crate::bail!(
                Shape,
                "split: sizes {sizes:?} sum to {} but axis {axis} has size {n}",
                sum.map_or("more than fits in usize".into(), |s| s.to_string())
            );
        }
        let mut start = 0;
        let mut out = Vec::with_capacity(sizes.len());
        for &k in sizes {
            out.push(self.narrow_at(a, start, k));
            start += k;
        }
        Ok(out)
    }

    /// Splits along `axis` into `n` pieces of equal size (views).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1, 2, 3, 4], [5, 6, 7, 8]]);
    /// let [a, b] = x.chunk(2, 1).try_into().unwrap();
    /// assert_eq!(b.to_vec::<i32>(), [3, 4, 7, 8]);
    /// ```
    /// # Panics
    /// `chunk: axis 1 with size 10 does not split into 3 equal parts` (hint: use `split`).
    #[track_caller]
    pub fn chunk(&self, n: usize, axis: isize) -> Vec<Tensor> {
        or_panic(self.try_chunk(n, axis))
    }

    /// Fallible [`chunk`](Self::chunk).
    #[track_caller]
    pub fn try_chunk(&self, n: usize, axis: isize) -> Result<Vec<Tensor>> {
        let a = normalize_axis("chunk", axis, self.shape())?;
        let len = self.dims()[a];
        if n == 0 || !len.is_multiple_of(n) {
            crate::bail!(
                Shape,
                "chunk: axis {axis} with size {len} does not split into {n} equal parts\n  hint: give the sizes with split(&[..], {axis})"
            );
        }
        let k = len / n;
        Ok((0..n).map(|i| self.narrow_at(a, i * k, k)).collect())
    }

    /// The slices along `axis`, with that axis removed (views): a `(3, 4)` tensor unbinds along
    /// axis 0 into three `(4,)` tensors.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let rows = Tensor::from([[1, 2], [3, 4]]).unbind(0);
    /// assert_eq!(rows[1].to_vec::<i32>(), [3, 4]);
    /// ```
    #[track_caller]
    pub fn unbind(&self, axis: isize) -> Vec<Tensor> {
        or_panic(self.try_unbind(axis))
    }

    /// Fallible [`unbind`](Self::unbind).
    #[track_caller]
    pub fn try_unbind(&self, axis: isize) -> Result<Vec<Tensor>> {
        let a = normalize_axis("unbind", axis, self.shape())?;
        Ok((0..self.dims()[a])
            .map(|i| {
                let mut spec: Vec<AxisRange> =
                    self.dims().iter().map(|&d| AxisRange::full(d)).collect();
                spec[a] = AxisRange {
                    start: i,
                    len: 1,
                    step: 1,
                    keep: false,
                };
                self.slice_spec(spec)
            })
            .collect())
    }

    /// `narrow` on a validated axis.
    #[track_caller]
    fn narrow_at(&self, a: usize, start: usize, len: usize) -> Tensor {
        let mut spec: Vec<AxisRange> = self.dims().iter().map(|&d| AxisRange::full(d)).collect();
        spec[a].start = start;
        spec[a].len = len;
        self.slice_spec(spec)
    }
}

/// Copies each input's run for every outer index: the output is `outer` rows, each the inputs'
/// contiguous blocks side by side, written with `copy_from_slice`.
fn concat_kernel<T: Element>(xs: &[&Tensor], axis: usize, shape: Shape) -> Tensor {
    let n = shape.numel();
    if n == 0 {
        return Tensor::from_vec_unchecked(Vec::<T>::new(), shape);
    }
    let inner: usize = shape.dims()[axis + 1..].iter().product();
    // Empty inputs add nothing (and an empty layout need not count as contiguous).
    let owned: Vec<Tensor> = xs
        .iter()
        .filter(|x| x.numel() > 0)
        .map(|x| x.contiguous_view())
        .collect();
    let parts: Vec<(&[T], usize)> = owned
        .iter()
        .map(|x| {
            let s = x
                .as_slice::<T>()
                .expect("contiguous input of the checked dtype");
            (s, x.dims()[axis] * inner)
        })
        .collect();
    let row: usize = parts.iter().map(|p| p.1).sum();
    let rows_per_chunk = (PAR_CHUNK / row).max(1);
    let data = fill_chunks_sized(n, rows_per_chunk * row, |start, out| {
        for (k, dst) in out.chunks_mut(row).enumerate() {
            let o = start / row + k;
            let mut at = 0;
            for &(src, len) in &parts {
                dst[at..at + len].copy_from_slice(&src[o * len..(o + 1) * len]);
                at += len;
            }
        }
    });
    Tensor::from_vec_unchecked(data, shape)
}

impl Tensor {
    /// `self` when contiguous (at any offset), else a contiguous copy.
    pub(crate) fn contiguous_view(&self) -> Tensor {
        if self.is_contiguous() {
            self.clone()
        } else {
            self.contiguous_unrecorded()
        }
    }
}

/// d concat: each input's gradient is the slice of `g` where it was copied.
struct ConcatBackward {
    axis: usize,
    sizes: Vec<usize>,
}
impl Backward for ConcatBackward {
    fn name(&self) -> &'static str {
        "concat"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let mut start = 0;
        self.sizes
            .iter()
            .map(|&k| {
                let piece = g.narrow_at(self.axis, start, k);
                start += k;
                Some(piece)
            })
            .collect()
    }
}
