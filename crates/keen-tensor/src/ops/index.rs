//! Indexing with integer tensors: index_select/gather (embedding lookup) and their adjoint
//! index_add/scatter_add, take_along_axis and its adjoint, one_hot, masked_fill.
//!
//! Indices are int32 or int64; negative indices count from the end of the axis, as in NumPy.
//! An index outside the axis is an error naming the index and the axis size. The primitives
//! `index_select` ↔ `index_add` and `take_along_axis` ↔ `scatter_add_along_axis` carry rules
//! written in each other, so gradients of any order work; masked_fill is a `where_`.

use crate::dtype::{DType, Element, Num};
use crate::error::{or_panic, Result};
use crate::kernels::elementwise::fill_chunks_sized;
use crate::kernels::PAR_CHUNK;
use crate::record::{record, Backward};
use crate::shape::{broadcast_shapes, normalize_axis, Shape};
use crate::tensor::Tensor;

/// The indices of `idx` as positions in an axis of size `n`, row-major, checked once up front so
/// the copy loops do no bounds logic.
fn positions(op: &str, idx: &Tensor, axis: usize, n: usize) -> Result<Vec<usize>> {
    let raw: Vec<i64> = match idx.dtype() {
        DType::Int32 => idx.view::<i32>().iter().map(|&v| v as i64).collect(),
        DType::Int64 => match idx.as_slice::<i64>() {
            Some(s) => s.to_vec(),
            None => idx.view::<i64>().iter().copied().collect(),
        },
        other => crate::bail!(DType, "{op}: indices must be int32 or int64, got {other}"),
    };
    let ni = n as i64;
    raw.into_iter()
        .map(|i| {
            let j = if i < 0 { i + ni } else { i };
            if j < 0 || j >= ni {
                crate::bail!(
                    Index,
                    "{op}: index {i} is out of bounds for axis {axis} with size {n}"
                );
            }
            Ok(j as usize)
        })
        .collect()
}

/// `x.dims()[..axis] ++ mid ++ x.dims()[axis + 1..]`.
fn replace_axis(dims: &[usize], axis: usize, mid: &[usize]) -> Shape {
    let mut d = dims[..axis].to_vec();
    d.extend_from_slice(mid);
    d.extend_from_slice(&dims[axis + 1..]);
    Shape::from(d)
}

impl Tensor {
    /// The entries at `indices` along `axis` (NumPy's `take`): the axis is replaced by the
    /// indices' shape, so a `(5, 3)` tensor with `(2, 4)` indices along axis 0 gives
    /// `(2, 4, 3)`. d/dx adds the gradient rows back at the indices (`index_add` into zeros).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1, 2, 3], [4, 5, 6]]);
    /// assert_eq!(x.index_select(1, &Tensor::from([2, 0])).to_vec::<i32>(), [3, 1, 6, 4]);
    /// ```
    /// # Panics
    /// `index_select: index 3 is out of bounds for axis 1 with size 3`, or indices that are not
    /// int32/int64.
    #[track_caller]
    pub fn index_select(&self, axis: isize, indices: &Tensor) -> Tensor {
        or_panic(self.try_index_select(axis, indices))
    }

    /// Fallible [`index_select`](Self::index_select).
    #[track_caller]
    pub fn try_index_select(&self, axis: isize, indices: &Tensor) -> Result<Tensor> {
        self.take_impl("index_select", axis, indices)
    }

    /// Embedding lookup: the rows of this table at `ids`, for any shape of ids. A `(vocab, d)`
    /// table and `(batch, time)` ids give `(batch, time, d)`. Same as `index_select(0, ids)`;
    /// its adjoint is [`scatter_add`](Self::scatter_add).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let table = Tensor::from([[0.0f32, 0.0], [1.0, 1.5], [2.0, 2.5]]);
    /// let ids = Tensor::from([[2, 1], [1, 1]]);
    /// let e = table.gather(&ids);
    /// assert_eq!(e.dims(), [2, 2, 2]);
    /// assert_eq!(e.to_vec::<f32>()[..4], [2.0, 2.5, 1.0, 1.5]);
    /// ```
    /// # Panics
    /// `gather: index 7 is out of bounds for axis 0 with size 3`.
    #[track_caller]
    pub fn gather(&self, ids: &Tensor) -> Tensor {
        or_panic(self.try_gather(ids))
    }

    /// Fallible [`gather`](Self::gather).
    #[track_caller]
    pub fn try_gather(&self, ids: &Tensor) -> Result<Tensor> {
        self.take_impl("gather", 0, ids)
    }

    #[track_caller]
    fn take_impl(&self, op: &str, axis: isize, indices: &Tensor) -> Result<Tensor> {
        let a = normalize_axis(op, axis, self.shape())?;
        let pos = positions(op, indices, a, self.dims()[a])?;
        let shape = replace_axis(self.dims(), a, indices.dims());
        shape.checked_alloc(op, self.dtype())?;
        let out = crate::dispatch_all!(self.dtype(), T, {
            index_select_kernel::<T>(self, a, &pos, shape)
        });
        record(&[self, indices], &out, || IndexSelectBackward {
            axis: a,
            indices: indices.clone(),
            in_shape: self.shape().clone(),
        });
        Ok(out)
    }

    /// `self` with the slices of `src` added at `indices` along `axis`; duplicate indices
    /// accumulate. `src` has `self`'s shape with the axis replaced by the indices' shape (the
    /// output shape of [`index_select`](Self::index_select), whose adjoint this is).
    /// d/dself = g, d/dsrc = g.index_select(axis, indices).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let acc = Tensor::zeros([3], keen_tensor::DType::Float32);
    /// let y = acc.index_add(0, &Tensor::from([0, 2, 0]), &Tensor::from([1.0f32, 2.0, 3.0]));
    /// assert_eq!(y.to_vec::<f32>(), [4.0, 0.0, 2.0]);
    /// ```
    /// # Panics
    /// `index_add: src has shape (2, 3) but indices of shape (4,) along axis 0 of (5, 3) need
    /// (4, 3)`, an index out of bounds, or dtypes that differ.
    #[track_caller]
    pub fn index_add(&self, axis: isize, indices: &Tensor, src: &Tensor) -> Tensor {
        or_panic(self.try_index_add(axis, indices, src))
    }

    /// Fallible [`index_add`](Self::index_add).
    #[track_caller]
    pub fn try_index_add(&self, axis: isize, indices: &Tensor, src: &Tensor) -> Result<Tensor> {
        self.put_impl("index_add", axis, indices, src)
    }

    /// The adjoint of [`gather`](Self::gather): `self` with each row of `updates` added at the
    /// row `ids` names (duplicates accumulate). `updates` has shape `ids.shape ++ self.shape[1..]`.
    /// This is the gradient of an embedding table.
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// let grad = Tensor::zeros([3, 2], DType::Float32)
    ///     .scatter_add(&Tensor::from([2, 2]), &Tensor::from([[1.0f32, 1.0], [0.5, 0.5]]));
    /// assert_eq!(grad.to_vec::<f32>(), [0.0, 0.0, 0.0, 0.0, 1.5, 1.5]);
    /// ```
    /// # Panics
    /// As [`index_add`](Self::index_add), naming `scatter_add`.
    #[track_caller]
    pub fn scatter_add(&self, ids: &Tensor, updates: &Tensor) -> Tensor {
        or_panic(self.try_scatter_add(ids, updates))
    }

    /// Fallible [`scatter_add`](Self::scatter_add).
    #[track_caller]
    pub fn try_scatter_add(&self, ids: &Tensor, updates: &Tensor) -> Result<Tensor> {
        self.put_impl("scatter_add", 0, ids, updates)
    }

    #[track_caller]
    fn put_impl(&self, op: &str, axis: isize, indices: &Tensor, src: &Tensor) -> Result<Tensor> {
        let a = normalize_axis(op, axis, self.shape())?;
        if src.dtype() != self.dtype() {
            crate::bail!(
                DType,
                "{op}: src is {} but the tensor is {}",
                src.dtype(),
                self.dtype()
            );
        }
        let want = replace_axis(self.dims(), a, indices.dims());
        if src.shape() != &want {
            crate::bail!(
                Shape,
                "{op}: src has shape {} but indices of shape {} along axis {axis} of {} need {want}",
                src.shape(),
                indices.shape(),
                self.shape()
            );
        }
        let pos = positions(op, indices, a, self.dims()[a])?;
        let out = crate::dispatch_num!(self.dtype(), op, T, {
            index_add_kernel::<T>(self, a, &pos, src)
        });
        record(&[self, indices, src], &out, || IndexAddBackward {
            axis: a,
            indices: indices.clone(),
        });
        Ok(out)
    }
}

/// Rows of `inner` contiguous elements copied with `copy_from_slice`: output row `(o, j)` is
/// input row `(o, pos[j])`.
fn index_select_kernel<T: Element>(x: &Tensor, a: usize, pos: &[usize], shape: Shape) -> Tensor {
    let total = shape.numel();
    if total == 0 {
        return Tensor::from_vec_unchecked(Vec::<T>::new(), shape);
    }
    let x = x.contiguous_view();
    let s = x.as_slice::<T>().expect("contiguous");
    let n = x.dims()[a];
    let inner: usize = x.dims()[a + 1..].iter().product();
    let k = pos.len();
    let rows_per_chunk = (PAR_CHUNK / inner).max(1);
    let data = fill_chunks_sized(total, rows_per_chunk * inner, |start, out| {
        let first = start / inner;
        for (r, dst) in out.chunks_mut(inner).enumerate() {
            let (o, j) = ((first + r) / k, (first + r) % k);
            let at = (o * n + pos[j]) * inner;
            dst.copy_from_slice(&s[at..at + inner]);
        }
    });
    Tensor::from_vec_unchecked(data, shape)
}

/// A copy of `x` with row `(o, j)` of `src` added to row `(o, pos[j])`, one vectorised row at a
/// time, in order (so duplicates accumulate deterministically).
fn index_add_kernel<T: Num>(x: &Tensor, a: usize, pos: &[usize], src: &Tensor) -> Tensor {
    let mut data = x.to_vec::<T>();
    if src.numel() == 0 {
        return Tensor::from_vec_unchecked(data, x.shape().clone());
    }
    let src = src.contiguous_view();
    let s = src.as_slice::<T>().expect("contiguous");
    let n = x.dims()[a];
    let inner: usize = x.dims()[a + 1..].iter().product();
    let outer: usize = x.dims()[..a].iter().product();
    let k = pos.len();
    if inner > 0 {
        for o in 0..outer {
            for (j, &p) in pos.iter().enumerate() {
                let at = (o * n + p) * inner;
                let from = (o * k + j) * inner;
                for (d, &v) in data[at..at + inner].iter_mut().zip(&s[from..from + inner]) {
                    *d = d.wrapping_add(v);
                }
            }
        }
    }
    Tensor::from_vec_unchecked(data, x.shape().clone())
}

/// d index_select: the gradient rows added back at the indices of zeros shaped like the input.
struct IndexSelectBackward {
    axis: usize,
    indices: Tensor,
    in_shape: Shape,
}
impl Backward for IndexSelectBackward {
    fn name(&self) -> &'static str {
        "index_select"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let zeros = Tensor::zeros(&self.in_shape, g.dtype());
        let gx = zeros.index_add(self.axis as isize, &self.indices, g);
        vec![Some(gx), None]
    }
}

/// d index_add: the gradient itself for the base, its rows at the indices for `src`.
struct IndexAddBackward {
    axis: usize,
    indices: Tensor,
}
impl Backward for IndexAddBackward {
    fn name(&self) -> &'static str {
        "index_add"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let gs = g.index_select(self.axis as isize, &self.indices);
        vec![Some(g.clone()), None, Some(gs)]
    }
}

impl Tensor {
    /// Picks one entry along `axis` for every position of `indices` (NumPy's
    /// `take_along_axis`, PyTorch's `gather(dim, index)`): `indices` has `self`'s rank and
    /// dimensions except along `axis`, and so does the result.
    /// `out[i, j] = x[i, indices[i, j]]` for `axis = 1`. Picking each row's label from
    /// log-probabilities is `logp.take_along_axis(1, &labels.reshape([-1, 1]))`.
    /// d/dx scatters the gradient back (`scatter_add_along_axis` into zeros).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[10, 11, 12], [20, 21, 22]]);
    /// let y = x.take_along_axis(1, &Tensor::from([[2], [0]]));
    /// assert_eq!(y.to_vec::<i32>(), [12, 20]);
    /// ```
    /// # Panics
    /// `take_along_axis: indices of shape (2, 1, 1) must have the tensor's rank 2`, or
    /// `take_along_axis: index 3 is out of bounds for axis 1 with size 3`.
    #[track_caller]
    pub fn take_along_axis(&self, axis: isize, indices: &Tensor) -> Tensor {
        or_panic(self.try_take_along_axis(axis, indices))
    }

    /// Fallible [`take_along_axis`](Self::take_along_axis).
    #[track_caller]
    pub fn try_take_along_axis(&self, axis: isize, indices: &Tensor) -> Result<Tensor> {
        let op = "take_along_axis";
        let a = normalize_axis(op, axis, self.shape())?;
        check_along(op, self.shape(), indices.shape(), a)?;
        let pos = positions(op, indices, a, self.dims()[a])?;
        let out = crate::dispatch_all!(self.dtype(), T, {
            let x = self.contiguous_view();
            let s = x.as_slice::<T>().unwrap_or(&[]); // None only when empty
            let (n, inner, m) = along_dims(self.dims(), indices.dims(), a);
            let data: Vec<T> = pos
                .iter()
                .enumerate()
                .map(|(f, &p)| {
                    let (o, i) = (f / (m * inner), f % inner);
                    s[(o * n + p) * inner + i]
                })
                .collect();
            Tensor::from_vec_unchecked(data, indices.shape().clone())
        });
        record(&[self, indices], &out, || TakeAlongBackward {
            axis: a,
            indices: indices.clone(),
            in_shape: self.shape().clone(),
        });
        Ok(out)
    }

    /// `self` with each entry of `src` added at the position `indices` names along `axis`; the
    /// adjoint of [`take_along_axis`](Self::take_along_axis) (PyTorch's `scatter_add(dim, ..)`).
    /// `indices` and `src` share a shape. d/dself = g, d/dsrc = g.take_along_axis(axis, indices).
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// let y = Tensor::zeros([2, 3], DType::Int32)
    ///     .scatter_add_along_axis(1, &Tensor::from([[2, 2], [0, 1]]), &Tensor::from([[1, 2], [3, 4]]));
    /// assert_eq!(y.to_vec::<i32>(), [0, 0, 3, 3, 4, 0]);
    /// ```
    /// # Panics
    /// As [`take_along_axis`](Self::take_along_axis), or
    /// `scatter_add_along_axis: src has shape (2, 3) but indices have (2, 2)`.
    #[track_caller]
    pub fn scatter_add_along_axis(&self, axis: isize, indices: &Tensor, src: &Tensor) -> Tensor {
        or_panic(self.try_scatter_add_along_axis(axis, indices, src))
    }

    /// Fallible [`scatter_add_along_axis`](Self::scatter_add_along_axis).
    #[track_caller]
    pub fn try_scatter_add_along_axis(
        &self,
        axis: isize,
        indices: &Tensor,
        src: &Tensor,
    ) -> Result<Tensor> {
        let op = "scatter_add_along_axis";
        let a = normalize_axis(op, axis, self.shape())?;
        check_along(op, self.shape(), indices.shape(), a)?;
        if src.shape() != indices.shape() {
            crate::bail!(
                Shape,
                "{op}: src has shape {} but indices have {}",
                src.shape(),
                indices.shape()
            );
        }
        if src.dtype() != self.dtype() {
            crate::bail!(
                DType,
                "{op}: src is {} but the tensor is {}",
                src.dtype(),
                self.dtype()
            );
        }
        let pos = positions(op, indices, a, self.dims()[a])?;
        let out = crate::dispatch_num!(self.dtype(), op, T, {
            let mut data = self.to_vec::<T>();
            let (n, inner, m) = along_dims(self.dims(), indices.dims(), a);
            let v = src.to_vec::<T>();
            for (f, (&p, &u)) in pos.iter().zip(&v).enumerate() {
                let (o, i) = (f / (m * inner), f % inner);
                let d = &mut data[(o * n + p) * inner + i];
                *d = d.wrapping_add(u);
            }
            Tensor::from_vec_unchecked(data, self.shape().clone())
        });
        record(&[self, indices, src], &out, || ScatterAlongBackward {
            axis: a,
            indices: indices.clone(),
        });
        Ok(out)
    }
}

/// Checks that `idx` has `x`'s rank and dimensions except along `axis`.
fn check_along(op: &str, x: &Shape, idx: &Shape, axis: usize) -> Result<()> {
    if idx.rank() != x.rank() {
        crate::bail!(
            Shape,
            "{op}: indices of shape {idx} must have the tensor's rank {} (tensor shape {x})",
            x.rank()
        );
    }
    for (d, (&p, &q)) in idx.dims().iter().zip(x.dims()).enumerate() {
        if d != axis && p != q {
            crate::bail!(
                Shape,
                "{op}: indices of shape {idx} differ from the tensor's shape {x} on axis {d} ({p} vs {q}); only axis {axis} may differ"
            );
        }
    }
    Ok(())
}

/// (size of the axis in `x`, product of the trailing axes, size of the axis in the indices).
fn along_dims(x: &[usize], idx: &[usize], a: usize) -> (usize, usize, usize) {
    (x[a], x[a + 1..].iter().product(), idx[a])
}

/// d take_along_axis: the gradient scattered back into zeros shaped like the input.
struct TakeAlongBackward {
    axis: usize,
    indices: Tensor,
    in_shape: Shape,
}
impl Backward for TakeAlongBackward {
    fn name(&self) -> &'static str {
        "take_along_axis"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let zeros = Tensor::zeros(&self.in_shape, g.dtype());
        let gx = zeros.scatter_add_along_axis(self.axis as isize, &self.indices, g);
        vec![Some(gx), None]
    }
}

/// d scatter_add_along_axis: g for the base, g taken at the indices for `src`.
struct ScatterAlongBackward {
    axis: usize,
    indices: Tensor,
}
impl Backward for ScatterAlongBackward {
    fn name(&self) -> &'static str {
        "scatter_add_along_axis"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let gs = g.take_along_axis(self.axis as isize, &self.indices);
        vec![Some(g.clone()), None, Some(gs)]
    }
}

impl Tensor {
    /// One-hot encoding of integer class ids: shape `ids.shape ++ (depth,)`, 1 at each id and 0
    /// elsewhere, in `dtype` (usually `DType::Float32`). Not differentiable (ids are integers).
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// let y = Tensor::from([2, 0]).one_hot(3, DType::Float32);
    /// assert_eq!(y.to_vec::<f32>(), [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    /// ```
    /// # Panics
    /// `one_hot: index 3 is out of bounds for depth 3` (negative ids too), or ids that are not
    /// int32/int64.
    #[track_caller]
    pub fn one_hot(&self, depth: usize, dtype: DType) -> Tensor {
        or_panic(self.try_one_hot(depth, dtype))
    }

    /// Fallible [`one_hot`](Self::one_hot).
    pub fn try_one_hot(&self, depth: usize, dtype: DType) -> Result<Tensor> {
        let raw: Vec<i64> = match self.dtype() {
            DType::Int32 => self.view::<i32>().iter().map(|&v| v as i64).collect(),
            DType::Int64 => self.view::<i64>().iter().copied().collect(),
            other => crate::bail!(DType, "one_hot: ids must be int32 or int64, got {other}"),
        };
        let mut dims = self.dims().to_vec();
        dims.push(depth);
        let shape = Shape::from(dims);
        let n = shape.checked_alloc("one_hot", dtype)?;
        for &i in &raw {
            if i < 0 || i as u64 >= depth as u64 {
                crate::bail!(
                    Index,
                    "one_hot: index {i} is out of bounds for depth {depth}"
                );
            }
        }
        Ok(crate::dispatch_all!(dtype, T, {
            let mut v = vec![T::zero(); n];
            for (row, &i) in raw.iter().enumerate() {
                v[row * depth + i as usize] = T::one();
            }
            Tensor::from_vec_unchecked(v, shape)
        }))
    }

    /// `value` where the bool `mask` is true, `self` elsewhere; the mask broadcasts to `self`'s
    /// shape. Attention masks: `scores.masked_fill(&future, f64::NEG_INFINITY)`.
    /// d/dx = g where the mask is false, 0 where it is true (through `where_`).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1.0f32, 2.0], [3.0, 4.0]]);
    /// let m = Tensor::from([false, true]);
    /// assert_eq!(x.masked_fill(&m, -1.0).to_vec::<f32>(), [1.0, -1.0, 3.0, -1.0]);
    /// ```
    /// # Panics
    /// `masked_fill: mask of shape (3,) does not broadcast to the tensor's shape (2, 2)`, or a
    /// mask that is not bool.
    #[track_caller]
    pub fn masked_fill(&self, mask: &Tensor, value: f64) -> Tensor {
        or_panic(self.try_masked_fill(mask, value))
    }

    /// Fallible [`masked_fill`](Self::masked_fill).
    #[track_caller]
    pub fn try_masked_fill(&self, mask: &Tensor, value: f64) -> Result<Tensor> {
        if mask.dtype() != DType::Bool {
            crate::bail!(
                DType,
                "masked_fill: mask must be bool, got {}",
                mask.dtype()
            );
        }
        let fits = broadcast_shapes("masked_fill", mask.shape(), self.shape());
        if fits.as_ref().ok() != Some(self.shape()) {
            crate::bail!(
                Shape,
                "masked_fill: mask of shape {} does not broadcast to the tensor's shape {}",
                mask.shape(),
                self.shape()
            );
        }
        let fill = Tensor::full((), value, self.dtype());
        Tensor::try_where(mask, &fill, self)
    }
}
