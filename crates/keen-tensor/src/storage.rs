//! Storage: one immutable, reference-counted buffer per tensor family, and the strided layout
//! that makes views (transpose, broadcast, slices) free.

use crate::dtype::DType;
use crate::shape::Shape;
use smallvec::SmallVec;

/// A typed, immutable CPU buffer. `#[doc(hidden)]` plumbing for [`Element`]; users see
/// [`Tensor`](crate::Tensor) only. A device variant goes here when keen gains an accelerator.
#[doc(hidden)]
#[derive(Debug)]
pub enum Storage {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    Bool(Vec<bool>),
}

impl Storage {
    pub(crate) fn dtype(&self) -> DType {
        match self {
            Storage::F32(_) => DType::Float32,
            Storage::F64(_) => DType::Float64,
            Storage::I32(_) => DType::Int32,
            Storage::I64(_) => DType::Int64,
            Storage::U8(_) => DType::UInt8,
            Storage::Bool(_) => DType::Bool,
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Storage::F32(v) => v.len(),
            Storage::F64(v) => v.len(),
            Storage::I32(v) => v.len(),
            Storage::I64(v) => v.len(),
            Storage::U8(v) => v.len(),
            Storage::Bool(v) => v.len(),
        }
    }
}

/// Moves a `Vec` into storage and reads a typed slice back; implemented for every [`Element`].
#[doc(hidden)]
pub trait StorageElement: Sized {
    fn into_storage(v: Vec<Self>) -> Storage;
    fn slice(s: &Storage) -> Option<&[Self]>;
}

macro_rules! storage_elem {
    ($t:ty, $v:ident) => {
        impl StorageElement for $t {
            #[inline]
            fn into_storage(v: Vec<Self>) -> Storage {
                Storage::$v(v)
            }
            #[inline]
            fn slice(s: &Storage) -> Option<&[Self]> {
                match s {
                    Storage::$v(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}
storage_elem!(f32, F32);
storage_elem!(f64, F64);
storage_elem!(i32, I32);
storage_elem!(i64, I64);
storage_elem!(u8, U8);
storage_elem!(bool, Bool);

/// Shape, strides (in elements, never negative) and offset into the storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub(crate) shape: Shape,
    pub(crate) strides: SmallVec<[isize; 6]>,
    pub(crate) offset: usize,
}

impl Layout {
    /// The row-major layout of `shape` at offset 0.
    pub fn contiguous(shape: Shape) -> Self {
        let strides = shape.contiguous_strides();
        Layout {
            shape,
            strides,
            offset: 0,
        }
    }

    /// The dimensions.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// Strides in elements.
    pub fn strides(&self) -> &[isize] {
        &self.strides
    }

    /// Offset of the first element in the storage.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// True when the elements are laid out row-major without gaps (size-1 axes ignored).
    pub fn is_contiguous(&self) -> bool {
        // An empty tensor has no elements to lay out: any strides describe it.
        if self.shape.0.contains(&0) {
            return true;
        }
        let mut expected: isize = 1;
        for i in (0..self.shape.rank()).rev() {
            let d = self.shape.0[i];
            if d == 1 {
                continue;
            }
            if self.strides[i] != expected {
                return false;
            }
            expected *= d as isize;
        }
        true
    }
}
