//! General matrix multiply on strided operands: the `gemm` crate's AVX-512 kernels for floats
//! (measured fastest on our machine, see shared/research/perf-anchors.md) and a plain loop for
//! integers.

use crate::dtype::{Element, Num};
use gemm::Parallelism;

/// Below this many multiply-adds a product runs on the calling thread.
const PAR_FLOPS: usize = 1 << 17;

/// A strided matrix operand: element (i, j) lives at `ptr[i*rs + j*cs]`.
#[derive(Clone, Copy)]
pub struct Mat<T> {
    /// Pointer to element (0, 0).
    pub ptr: *const T,
    /// Row stride in elements.
    pub rs: isize,
    /// Column stride in elements.
    pub cs: isize,
}

// SAFETY: a Mat is a read-only window into an immutable tensor buffer.
unsafe impl<T: Sync> Send for Mat<T> {}
unsafe impl<T: Sync> Sync for Mat<T> {}

/// Element types with a GEMM kernel.
pub trait GemmElem: Num {
    /// `dst (m×n, row-major, contiguous) = [dst +] lhs (m×k) · rhs (k×n)`. Without
    /// `accumulate`, `dst` is only written, every element of it (zeros when k = 0), so it may
    /// start uninitialised.
    ///
    /// # Safety
    /// `lhs` and `rhs` must address valid m×k and k×n matrices with their strides, and `dst`
    /// must be valid for m·n writes, not overlapping the operands.
    unsafe fn gemm(
        m: usize,
        n: usize,
        k: usize,
        dst: *mut Self,
        accumulate: bool,
        lhs: Mat<Self>,
        rhs: Mat<Self>,
        threads: bool,
    );
}

macro_rules! float_gemm {
    ($t:ty) => {
        impl GemmElem for $t {
            unsafe fn gemm(
                m: usize,
                n: usize,
                k: usize,
                dst: *mut Self,
                accumulate: bool,
                lhs: Mat<Self>,
                rhs: Mat<Self>,
                threads: bool,
            ) {
                let par = if threads && m * n * k >= PAR_FLOPS {
                    Parallelism::Rayon(rayon::current_num_threads())
                } else {
                    Parallelism::None
                };
                // SAFETY: forwarded from the caller's contract.
                unsafe {
                    gemm::gemm(
                        m, n, k, dst, 1, n as isize, accumulate, lhs.ptr, lhs.cs, lhs.rs, rhs.ptr,
                        rhs.cs, rhs.rs, 1.0, 1.0, false, false, false, par,
                    )
                }
            }
        }
    };
}
float_gemm!(f32);
float_gemm!(f64);

macro_rules! int_gemm {
    ($t:ty) => {
        impl GemmElem for $t {
            unsafe fn gemm(
                m: usize,
                n: usize,
                k: usize,
                dst: *mut Self,
                accumulate: bool,
                lhs: Mat<Self>,
                rhs: Mat<Self>,
                _threads: bool,
            ) {
                for i in 0..m {
                    for j in 0..n {
                        // SAFETY: indices stay within the m×k, k×n and m×n extents.
                        unsafe {
                            let mut acc: $t = if accumulate { *dst.add(i * n + j) } else { 0 };
                            for p in 0..k {
                                let a = *lhs.ptr.offset(i as isize * lhs.rs + p as isize * lhs.cs);
                                let b = *rhs.ptr.offset(p as isize * rhs.rs + j as isize * rhs.cs);
                                acc = acc.wrapping_add(a.wrapping_mul(b));
                            }
                            *dst.add(i * n + j) = acc;
                        }
                    }
                }
            }
        }
    };
}
int_gemm!(i32);
int_gemm!(i64);
int_gemm!(u8);

#[allow(dead_code)]
fn _is_elem<T: GemmElem + Element>() {}
