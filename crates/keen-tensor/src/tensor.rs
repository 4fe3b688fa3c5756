//! The [`Tensor`] type: constructors, accessors and raw views. Op bodies live in `ops/`.

use crate::dtype::{DType, Element};
use crate::error::{or_panic, ErrorKind, Result, TensorError};
use crate::shape::Shape;
use crate::storage::{Layout, Storage};
use ndarray::{ArrayD, ArrayViewD, IxDyn, ShapeBuilder};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A unique identity for each tensor value, used by tapes to connect ops. Clones share it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(u64);

impl TensorId {
    fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TensorId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The raw number, for diagnostics.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// An n-dimensional array with a runtime dtype and shape.
///
/// Storage is immutable and reference-counted: `clone` is an `Arc` bump, and views
/// (`transpose`, `broadcast_to`, `slice`, `reshape` of contiguous data) share the buffer.
/// Every op returns a new tensor at once, so values can be printed anywhere:
///
/// ```
/// use keen_tensor::Tensor;
/// let x = Tensor::from([[1, 2], [3, 4]]);
/// let y = x.matmul(&x.transpose(0, 1));
/// println!("{y}");
/// assert_eq!(y.to_vec::<i32>(), vec![5, 11, 11, 25]);
/// ```
#[derive(Clone)]
pub struct Tensor(Arc<TensorImpl>);

struct TensorImpl {
    id: TensorId,
    storage: Arc<Storage>,
    layout: Layout,
}

impl Tensor {
    /// Builds a tensor over existing storage with `layout`. Internal: callers uphold that the
    /// layout stays within the storage.
    pub(crate) fn from_parts(storage: Arc<Storage>, layout: Layout) -> Self {
        crate::memory::keep_freed_memory();
        crate::threads::adopt_main_thread();
        Tensor(Arc::new(TensorImpl {
            id: TensorId::fresh(),
            storage,
            layout,
        }))
    }

    /// Wraps a row-major `Vec` of exactly `shape.numel()` elements.
    pub(crate) fn from_vec_unchecked<T: Element>(data: Vec<T>, shape: Shape) -> Self {
        debug_assert_eq!(data.len(), shape.numel());
        Tensor::from_parts(Arc::new(T::into_storage(data)), Layout::contiguous(shape))
    }

    /// A tensor from a row-major `Vec` and a shape.
    ///
    /// # Panics
    /// `from_vec: 5 values do not fill shape (2, 3) (6 elements)`.
    #[track_caller]
    pub fn from_vec<T: Element>(data: Vec<T>, shape: impl Into<Shape>) -> Tensor {
        or_panic(Self::try_from_vec(data, shape))
    }

    /// Fallible [`from_vec`](Self::from_vec).
    pub fn try_from_vec<T: Element>(data: Vec<T>, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        let n = shape.checked_numel("from_vec")?;
        if n != data.len() {
            crate::bail!(
                Shape,
                "from_vec: {} values do not fill shape {shape} ({n} elements)",
                data.len()
            );
        }
        Ok(Self::from_vec_unchecked(data, shape))
    }

    /// A tensor from a slice and a shape (copies).
    #[track_caller]
    pub fn from_slice<T: Element>(data: &[T], shape: impl Into<Shape>) -> Tensor {
        or_panic(Self::try_from_slice(data, shape))
    }

    /// Fallible [`from_slice`](Self::from_slice).
    pub fn try_from_slice<T: Element>(data: &[T], shape: impl Into<Shape>) -> Result<Tensor> {
        Self::try_from_vec(data.to_vec(), shape)
    }

    /// A rank-0 tensor.
    pub fn scalar<T: Element>(v: T) -> Tensor {
        Self::from_vec_unchecked(vec![v], Shape::scalar())
    }

    /// A tensor from an ndarray array (copies into row-major order unless already so).
    pub fn from_ndarray<T: Element>(a: ArrayD<T>) -> Tensor {
        let shape = Shape::new(a.shape());
        let data = if a.is_standard_layout() {
            a.into_raw_vec_and_offset().0
        } else {
            a.iter().copied().collect()
        };
        Self::from_vec_unchecked(data, shape)
    }

    /// This value's identity (shared by clones, fresh for every op result).
    pub fn id(&self) -> TensorId {
        self.0.id
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        self.0.storage.dtype()
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.0.layout.shape
    }

    /// The dimensions as a slice.
    pub fn dims(&self) -> &[usize] {
        self.0.layout.shape.dims()
    }

    /// The number of axes.
    pub fn rank(&self) -> usize {
        self.0.layout.shape.rank()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.0.layout.shape.numel()
    }

    /// The size of `axis` (negative counts from the end).
    ///
    /// # Panics
    /// `dim: axis -4 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)`.
    #[track_caller]
    pub fn dim(&self, axis: isize) -> usize {
        or_panic(self.try_dim(axis))
    }

    /// Fallible [`dim`](Self::dim).
    pub fn try_dim(&self, axis: isize) -> Result<usize> {
        let a = self.shape().axis("dim", axis)?;
        Ok(self.dims()[a])
    }

    /// The layout (strides and offset), for kernels written outside keen.
    pub fn layout(&self) -> &Layout {
        &self.0.layout
    }

    /// True when the elements are row-major without gaps.
    pub fn is_contiguous(&self) -> bool {
        self.0.layout.is_contiguous()
    }

    /// True when both tensors view the same buffer.
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0.storage, &other.0.storage)
    }

    pub(crate) fn storage(&self) -> &Arc<Storage> {
        &self.0.storage
    }

    /// A new view of the same storage with `layout`. Internal: callers keep it in bounds.
    pub(crate) fn with_layout(&self, layout: Layout) -> Tensor {
        Tensor::from_parts(self.0.storage.clone(), layout)
    }

    /// The elements as a row-major slice, when the tensor is contiguous and of type `T`.
    pub fn as_slice<T: Element>(&self) -> Option<&[T]> {
        if !self.is_contiguous() {
            return None;
        }
        let s = T::slice(&self.0.storage)?;
        let off = self.0.layout.offset;
        // `get`, not indexing: an empty view may sit at the very end of its storage.
        s.get(off..off + self.numel())
    }

    /// The elements as a strided ndarray view (no copy).
    ///
    /// # Panics
    /// `view: tensor is float32, asked for int32`.
    #[track_caller]
    pub fn view<T: Element>(&self) -> ArrayViewD<'_, T> {
        or_panic(self.try_view())
    }

    /// Fallible [`view`](Self::view).
    pub fn try_view<T: Element>(&self) -> Result<ArrayViewD<'_, T>> {
        let Some(s) = T::slice(&self.0.storage) else {
            crate::bail!(
                DType,
                "view: tensor is {}, asked for {}",
                self.dtype(),
                T::DTYPE
            );
        };
        let l = &self.0.layout;
        let strides: Vec<usize> = l.strides.iter().map(|&s| s as usize).collect();
        let dims = IxDyn(l.shape.dims());
        if self.numel() == 0 {
            return Ok(ArrayViewD::from_shape(dims, &[]).expect("empty view"));
        }
        // SAFETY: layouts are built only by keen's ops, which keep every index of the view inside
        // the storage; strides are non-negative (zero for broadcast axes), which views allow.
        Ok(unsafe {
            ArrayViewD::from_shape_ptr(dims.strides(IxDyn(&strides)), s.as_ptr().add(l.offset))
        })
    }

    /// Copies the elements out in row-major order.
    ///
    /// # Panics
    /// If `T` is not the tensor's dtype (`to_vec: tensor is float32, asked for int32`).
    #[track_caller]
    pub fn to_vec<T: Element>(&self) -> Vec<T> {
        or_panic(self.try_to_vec())
    }

    /// Fallible [`to_vec`](Self::to_vec).
    pub fn try_to_vec<T: Element>(&self) -> Result<Vec<T>> {
        if T::DTYPE != self.dtype() {
            crate::bail!(
                DType,
                "to_vec: tensor is {}, asked for {}",
                self.dtype(),
                T::DTYPE
            );
        }
        if let Some(s) = self.as_slice::<T>() {
            return Ok(s.to_vec());
        }
        Ok(self.try_view::<T>()?.iter().copied().collect())
    }

    /// Copies the elements into an owned ndarray array.
    ///
    /// # Panics
    /// If `T` is not the tensor's dtype (`view: tensor is float32, asked for int32`).
    #[track_caller]
    pub fn to_ndarray<T: Element>(&self) -> ArrayD<T> {
        or_panic(self.try_to_ndarray())
    }

    /// Fallible [`to_ndarray`](Self::to_ndarray).
    pub fn try_to_ndarray<T: Element>(&self) -> Result<ArrayD<T>> {
        Ok(self.try_view::<T>()?.to_owned())
    }

    /// The value of a one-element tensor, converted to `T` with `as` semantics.
    ///
    /// # Panics
    /// `item: tensor of shape (2, 3) has 6 elements, expected exactly one`.
    #[track_caller]
    pub fn item<T: Element>(&self) -> T {
        or_panic(self.try_item())
    }

    /// Fallible [`item`](Self::item).
    pub fn try_item<T: Element>(&self) -> Result<T> {
        if self.numel() != 1 {
            crate::bail!(
                Shape,
                "item: tensor of shape {} has {} elements, expected exactly one",
                self.shape(),
                self.numel()
            );
        }
        Ok(T::from_f64(self.get_f64(0)))
    }

    /// Element `flat` (row-major logical index) as f64, whatever the dtype. For printing and tests.
    pub(crate) fn get_f64(&self, flat: usize) -> f64 {
        let l = &self.0.layout;
        let mut rem = flat;
        let mut pos = l.offset as isize;
        for i in (0..l.shape.rank()).rev() {
            let d = l.shape.0[i];
            pos += (rem % d) as isize * l.strides[i];
            rem /= d;
        }
        let p = pos as usize;
        match &*self.0.storage {
            Storage::F32(v) => v[p] as f64,
            Storage::F64(v) => v[p],
            Storage::I32(v) => v[p] as f64,
            Storage::I64(v) => v[p] as f64,
            Storage::U8(v) => v[p] as f64,
            Storage::Bool(v) => v[p] as u8 as f64,
        }
    }

    /// All elements converted to f64, row-major. Convenient in tests and printing.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        crate::dispatch_all!(self.dtype(), T, {
            self.view::<T>().iter().map(|v| v.to_f64()).collect()
        })
    }

    /// A contiguous tensor with the same values: `self` when already contiguous, else a copy.
    /// The copy is recorded (an identity rule: the gradient passes through unchanged).
    #[track_caller]
    pub fn contiguous(&self) -> Tensor {
        let out = self.contiguous_unrecorded();
        if !Arc::ptr_eq(&out.0, &self.0) {
            crate::record::record(&[self], &out, || crate::ops::movement::ContiguousBackward);
        }
        out
    }

    /// [`contiguous`](Self::contiguous) without recording: for internal uses whose caller
    /// records its own rule (or works on values no tape sees).
    pub(crate) fn contiguous_unrecorded(&self) -> Tensor {
        if self.is_contiguous() && self.0.layout.offset == 0 && self.numel() == self.0.storage.len()
        {
            return self.clone();
        }
        crate::dispatch_all!(self.dtype(), T, {
            let data: Vec<T> = match self.as_slice::<T>() {
                Some(s) => s.to_vec(),
                None => crate::kernels::copy::strided_to_vec(&self.view::<T>()),
            };
            Tensor::from_vec_unchecked(data, self.shape().clone())
        })
    }

    /// Rank checks for model code: `let [b, h, w, c] = x.dims4();`.
    ///
    /// # Panics
    /// `dims4: expected a rank-4 tensor, got shape (2, 3)`.
    #[track_caller]
    pub fn dims4(&self) -> [usize; 4] {
        self.dims_n::<4>("dims4")
    }

    /// `let [b, t, c] = x.dims3();`
    #[track_caller]
    pub fn dims3(&self) -> [usize; 3] {
        self.dims_n::<3>("dims3")
    }

    /// `let [rows, cols] = x.dims2();`
    #[track_caller]
    pub fn dims2(&self) -> [usize; 2] {
        self.dims_n::<2>("dims2")
    }

    #[track_caller]
    fn dims_n<const N: usize>(&self, op: &str) -> [usize; N] {
        match <[usize; N]>::try_from(self.dims()) {
            Ok(d) => d,
            Err(_) => panic!(
                "{op}: expected a rank-{N} tensor, got shape {}",
                self.shape()
            ),
        }
    }

    /// Checks that the dtype is a float, naming `op` otherwise.
    pub(crate) fn expect_float(&self, op: &str) -> Result<()> {
        if !self.dtype().is_float() {
            return Err(TensorError::new(
                ErrorKind::DType,
                format!("{op}: expected a float tensor, got {}", self.dtype()),
            ));
        }
        Ok(())
    }
}

/// Nested Rust arrays, `Vec`s and slices that convert into a tensor of any rank.
pub trait NestedArray {
    /// The element type at the leaves.
    type Elem: Element;
    /// Appends this level's dimensions.
    fn push_dims(&self, dims: &mut Vec<usize>);
    /// Appends the leaves row-major, checking each sub-array has dimensions `dims`.
    fn flatten_into(&self, dims: &[usize], out: &mut Vec<Self::Elem>) -> Result<()>;
}

macro_rules! leaf {
    ($($t:ty),*) => {$(
        impl NestedArray for $t {
            type Elem = $t;
            fn push_dims(&self, _: &mut Vec<usize>) {}
            fn flatten_into(&self, _: &[usize], out: &mut Vec<$t>) -> Result<()> {
                out.push(*self);
                Ok(())
            }
        }
    )*};
}
leaf!(f32, f64, i32, i64, u8, bool);

fn flatten_seq<A: NestedArray>(items: &[A], dims: &[usize], out: &mut Vec<A::Elem>) -> Result<()> {
    if dims.first() != Some(&items.len()) {
        crate::bail!(
            Shape,
            "from: ragged nested array: expected {} items at this level, found {}",
            dims.first().copied().unwrap_or(0),
            items.len()
        );
    }
    for it in items {
        it.flatten_into(&dims[1..], out)?;
    }
    Ok(())
}

impl<A: NestedArray, const N: usize> NestedArray for [A; N] {
    type Elem = A::Elem;
    fn push_dims(&self, dims: &mut Vec<usize>) {
        dims.push(N);
        if let Some(f) = self.first() {
            f.push_dims(dims);
        }
    }
    fn flatten_into(&self, dims: &[usize], out: &mut Vec<A::Elem>) -> Result<()> {
        flatten_seq(self, dims, out)
    }
}

impl<A: NestedArray> NestedArray for Vec<A> {
    type Elem = A::Elem;
    fn push_dims(&self, dims: &mut Vec<usize>) {
        dims.push(self.len());
        if let Some(f) = self.first() {
            f.push_dims(dims);
        }
    }
    fn flatten_into(&self, dims: &[usize], out: &mut Vec<A::Elem>) -> Result<()> {
        flatten_seq(self, dims, out)
    }
}

impl<A: NestedArray> NestedArray for &[A] {
    type Elem = A::Elem;
    fn push_dims(&self, dims: &mut Vec<usize>) {
        dims.push(self.len());
        if let Some(f) = self.first() {
            f.push_dims(dims);
        }
    }
    fn flatten_into(&self, dims: &[usize], out: &mut Vec<A::Elem>) -> Result<()> {
        flatten_seq(self, dims, out)
    }
}

impl Tensor {
    /// Fallible conversion from nested arrays/`Vec`s; errs on ragged input.
    pub fn try_from_nested<A: NestedArray>(a: A) -> Result<Tensor> {
        let mut dims = Vec::new();
        a.push_dims(&mut dims);
        let shape = Shape::from(dims);
        let n = shape.checked_numel("from")?;
        let mut out = Vec::with_capacity(n);
        a.flatten_into(shape.dims(), &mut out)?;
        Ok(Tensor::from_vec_unchecked(out, shape))
    }
}

impl<A: NestedArray> From<A> for Tensor {
    /// `Tensor::from([[1, 2], [3, 4]])`, `Tensor::from(vec![1.0f32, 2.0])`, `Tensor::from(3.5)`.
    ///
    /// # Panics
    /// On ragged nested `Vec`s.
    #[track_caller]
    fn from(a: A) -> Tensor {
        or_panic(Tensor::try_from_nested(a))
    }
}

impl<T: Element> From<ArrayD<T>> for Tensor {
    fn from(a: ArrayD<T>) -> Tensor {
        Tensor::from_ndarray(a)
    }
}
