//! General matrix multiply on strided operands: the `gemm` crate's AVX-512 kernels for floats
//! (measured fastest on our machine, see shared/research/perf-anchors.md), threaded by the crate
//! or, for mid-size f32 products, one crate call per thread on its own slice of the output; a
//! plain loop for integers.

use crate::dtype::{Element, Num};
use gemm::Parallelism;

/// Below this many multiply-adds a product runs on the calling thread.
const PAR_FLOPS: usize = 1 << 17;

/// f32 products with this many multiply-adds or more, and fewer than [`SPLIT_MAX`], run as one
/// single-threaded `gemm` call per thread, each on its own rows (or columns) of the output.
/// On these mid-size shapes the crate's own threading lost to that split, which costs each
/// thread a copy of the other operand's packing: measured with both kernels interleaved on
/// the MLP step's products, 2 threads, 128×784·784×256 134 → 148 GFLOP/s (×1.11),
/// 784×128·128×256 ×1.10, 256×128·128×256 ×1.07, 128×256·256×256 ×1.04–1.10, 256³ ×1.01.
/// Smaller products (128×256·256×10: ×0.6) keep the crate's threading.
const SPLIT_MIN: usize = 1 << 21;

/// From this size on (512³ and up) the crate's threads share one packed operand and stay.
const SPLIT_MAX: usize = 1 << 26;

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
    ($t:ty, $split:expr) => {
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
                let flops = m * n * k;
                let threads = if threads {
                    rayon::current_num_threads()
                } else {
                    1
                };
                if $split && threads > 1 && (SPLIT_MIN..SPLIT_MAX).contains(&flops) {
                    // SAFETY: forwarded from the caller's contract.
                    return unsafe { split(m, n, k, dst, accumulate, lhs, rhs, threads) };
                }
                let par = if threads > 1 && flops >= PAR_FLOPS {
                    Parallelism::Rayon(threads)
                } else {
                    Parallelism::None
                };
                // SAFETY: forwarded from the caller's contract.
                unsafe { serial_or(par, m, n, k, dst, n, accumulate, lhs, rhs) }
            }
        }
    };
}
// Only f32 was measured with the split; f64 keeps the crate's threading throughout.
float_gemm!(f32, true);
float_gemm!(f64, false);

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

/// One `gemm` crate call writing an m×n block of C with row stride `ldc`.
///
/// # Safety
/// As [`GemmElem::gemm`], with `dst` valid for the m×n block at row stride `ldc`.
#[allow(clippy::too_many_arguments)]
unsafe fn serial_or<T: Num>(
    par: Parallelism,
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    ldc: usize,
    accumulate: bool,
    lhs: Mat<T>,
    rhs: Mat<T>,
) {
    // SAFETY: forwarded from the caller's contract. alpha (dst's factor) is read only when
    // accumulating, and both factors are 1: dst = [dst +] lhs·rhs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            ldc as isize,
            accumulate,
            lhs.ptr,
            lhs.cs,
            lhs.rs,
            rhs.ptr,
            rhs.cs,
            rhs.rs,
            T::one(),
            T::one(),
            false,
            false,
            false,
            par,
        )
    }
}

/// The output pointer, handed to the threads of [`split`], which write disjoint blocks of it.
#[derive(Clone, Copy)]
struct Dst<T>(*mut T);
// SAFETY: each part of `split` writes only its own rows or columns of the output, and the
// caller keeps the output alive and unaliased until `rayon::scope` returns.
unsafe impl<T: Send> Send for Dst<T> {}
unsafe impl<T: Send> Sync for Dst<T> {}

/// Cuts the longer of m and n into `parts` slices (whole 16-wide vectors when cutting
/// columns) and runs one single-threaded `gemm` per slice on the rayon pool.
///
/// # Safety
/// As [`GemmElem::gemm`].
#[allow(clippy::too_many_arguments)]
unsafe fn split<T: Num>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    accumulate: bool,
    lhs: Mat<T>,
    rhs: Mat<T>,
    parts: usize,
) {
    let by_rows = m >= n;
    let long = if by_rows { m } else { n };
    let per = if by_rows {
        long.div_ceil(parts)
    } else {
        long.div_ceil(parts).next_multiple_of(16)
    };
    let dst = Dst(dst);
    let part = move |p: usize| {
        // Whole values, not fields: the closure must capture the Send wrappers.
        let (dst, lhs, rhs) = (dst, lhs, rhs);
        let start = p * per;
        if start >= long {
            return;
        }
        let len = per.min(long - start);
        // SAFETY: part p covers rows (or columns) start..start+len of the output, disjoint
        // from the other parts, with the matching rows of lhs (or columns of rhs); every
        // offset stays inside the operands the caller vouched for.
        unsafe {
            if by_rows {
                let lhs = Mat {
                    ptr: lhs.ptr.offset(start as isize * lhs.rs),
                    ..lhs
                };
                let c = dst.0.add(start * n);
                serial_or(Parallelism::None, len, n, k, c, n, accumulate, lhs, rhs);
            } else {
                let rhs = Mat {
                    ptr: rhs.ptr.offset(start as isize * rhs.cs),
                    ..rhs
                };
                let c = dst.0.add(start);
                serial_or(Parallelism::None, m, len, k, c, n, accumulate, lhs, rhs);
            }
        }
    };
    rayon::scope(|s| {
        for p in 1..parts {
            s.spawn(move |_| part(p));
        }
        part(0);
    });
}

#[allow(dead_code)]
fn _is_elem<T: GemmElem + Element>() {}
