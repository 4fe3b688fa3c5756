//! Elementwise maps over one or two tensors, with NumPy broadcasting.

use super::simd::{vectorized, vectorized_loop, Loop};
use super::{PAR_CHUNK, PAR_MIN};
use crate::dtype::Element;
use crate::shape::Shape;
use crate::tensor::Tensor;
use ndarray::{IxDyn, Zip};
use rayon::prelude::*;

/// Fills a fresh `Vec` of `n` elements with `f(i)` over chunks, in parallel when large.
/// Skips zero-initialisation: every slot is written exactly once.
#[inline]
pub(crate) fn fill_chunks<U: Element>(
    n: usize,
    f: impl Fn(usize, &mut [U]) + Sync + Send,
) -> Vec<U> {
    fill_chunks_sized(n, PAR_CHUNK, f)
}

/// [`fill_chunks`] with an explicit chunk length (a multiple of the caller's row length).
pub(crate) fn fill_chunks_sized<U: Element>(
    n: usize,
    chunk: usize,
    f: impl Fn(usize, &mut [U]) + Sync + Send,
) -> Vec<U> {
    written_by(n, |slots| {
        if n >= PAR_MIN {
            slots
                .par_chunks_mut(chunk)
                .enumerate()
                .for_each(|(c, s)| f(c * chunk, s));
        } else {
            for (c, s) in slots.chunks_mut(chunk.max(1)).enumerate() {
                f(c * chunk, s);
            }
        }
    })
}

/// A `Vec` of `len` elements that `write` fills, every one of them, from uninitialised memory:
/// kernels that overwrite their whole output (elementwise maps, GEMMs without accumulate) skip
/// the zeroing pass.
pub(crate) fn written_by<T: Copy>(len: usize, write: impl FnOnce(&mut [T])) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(len);
    let spare = &mut v.spare_capacity_mut()[..len];
    // SAFETY: MaybeUninit<T> has T's layout; `write` stores every element before `set_len`
    // (callers' contract) and T: Copy has no destructor to run on overwritten garbage.
    let slots: &mut [T] = unsafe { &mut *(spare as *mut [std::mem::MaybeUninit<T>] as *mut [T]) };
    write(slots);
    // SAFETY: all `len` elements were written above.
    unsafe { v.set_len(len) };
    v
}

/// `f` applied to every element of `x`, row-major into a new contiguous tensor.
pub(crate) fn unary<T: Element, U: Element>(
    x: &Tensor,
    f: impl Fn(T) -> U + Sync + Send,
) -> Tensor {
    let n = x.numel();
    let data = match x.as_slice::<T>() {
        Some(s) => fill_chunks(n, |start, out| {
            let n = out.len();
            vectorized(|| {
                for (o, &v) in out.iter_mut().zip(&s[start..start + n]) {
                    *o = f(v);
                }
            })
        }),
        None => x.view::<T>().iter().map(|&v| f(v)).collect(),
    };
    Tensor::from_vec_unchecked(data, x.shape().clone())
}

/// `f(a, b)` elementwise over the broadcast of `a` and `b` to `out_shape` (already validated).
pub(crate) fn binary<T: Element, U: Element>(
    a: &Tensor,
    b: &Tensor,
    out_shape: &Shape,
    f: impl Fn(T, T) -> U + Sync + Send,
) -> Tensor {
    let n = out_shape.numel();
    if let (Some(x), Some(y)) = (a.as_slice::<T>(), b.as_slice::<T>()) {
        // Same-shape and tensor-with-scalar cases: straight loops the compiler vectorises.
        if x.len() == n && y.len() == n {
            if n < PAR_MIN {
                // The per-op floor for small tensors: one allocation, one vectorised loop.
                let data: Vec<U> = vectorized(|| x.iter().zip(y).map(|(&a, &b)| f(a, b)).collect());
                return Tensor::from_vec_unchecked(data, out_shape.clone());
            }
            let data = fill_chunks(n, |s, out| {
                let (x, y) = (&x[s..s + out.len()], &y[s..s + out.len()]);
                vectorized(|| {
                    for i in 0..out.len() {
                        out[i] = f(x[i], y[i]);
                    }
                })
            });
            return Tensor::from_vec_unchecked(data, out_shape.clone());
        }
        if x.len() == n && y.len() == 1 {
            let c = y[0];
            let data = fill_chunks(n, |s, out| {
                let len = out.len();
                vectorized(|| {
                    for (o, &v) in out.iter_mut().zip(&x[s..s + len]) {
                        *o = f(v, c);
                    }
                })
            });
            return Tensor::from_vec_unchecked(data, out_shape.clone());
        }
        if y.len() == n && x.len() == 1 {
            let c = x[0];
            let data = fill_chunks(n, |s, out| {
                let len = out.len();
                vectorized(|| {
                    for (o, &v) in out.iter_mut().zip(&y[s..s + len]) {
                        *o = f(c, v);
                    }
                })
            });
            return Tensor::from_vec_unchecked(data, out_shape.clone());
        }
        // Row broadcast (a bias added to every row): the inner runs are contiguous.
        let m = y.len();
        if x.len() == n && m > 0 && is_trailing(b.dims(), out_shape.dims()) {
            let data = fill_rows(n, m, |row, out| {
                for i in 0..m {
                    out[i] = f(x[row + i], y[i]);
                }
            });
            return Tensor::from_vec_unchecked(data, out_shape.clone());
        }
        let m = x.len();
        if y.len() == n && m > 0 && is_trailing(a.dims(), out_shape.dims()) {
            let data = fill_rows(n, m, |row, out| {
                for i in 0..m {
                    out[i] = f(x[i], y[row + i]);
                }
            });
            return Tensor::from_vec_unchecked(data, out_shape.clone());
        }
    }
    let dims = IxDyn(out_shape.dims());
    let av = a.view::<T>();
    let bv = b.view::<T>();
    let av = av.broadcast(dims.clone()).expect("validated broadcast");
    let bv = bv.broadcast(dims).expect("validated broadcast");
    let z = Zip::from(&av).and(&bv);
    let arr = if n >= PAR_MIN {
        z.par_map_collect(|&x, &y| f(x, y))
    } else {
        z.map_collect(|&x, &y| f(x, y))
    };
    if arr.is_standard_layout() {
        Tensor::from_vec_unchecked(arr.into_raw_vec_and_offset().0, out_shape.clone())
    } else {
        Tensor::from_vec_unchecked(arr.iter().copied().collect(), out_shape.clone())
    }
}

/// True when `small`, without its leading 1s, equals the trailing axes of `full`.
fn is_trailing(small: &[usize], full: &[usize]) -> bool {
    let first = small.iter().position(|&d| d != 1).unwrap_or(small.len());
    let core = &small[first..];
    core.len() <= full.len() && full.ends_with(core)
}

/// Like [`fill_chunks`] but hands out whole rows of length `m` (`n` is a multiple of `m`).
fn fill_rows<U: Element>(n: usize, m: usize, f: impl Fn(usize, &mut [U]) + Sync + Send) -> Vec<U> {
    let rows_per_chunk = (PAR_CHUNK / m).max(1);
    fill_chunks_sized(n, rows_per_chunk * m, |start, out| {
        vectorized_loop(Rows {
            start,
            m,
            out,
            f: &f,
        })
    })
}

/// `f(start + k·m, row k)` for each row of `out`: a [`Loop`], because as a closure it was
/// too long for the inliner to compile into the vector variants.
struct Rows<'a, U, F> {
    start: usize,
    m: usize,
    out: &'a mut [U],
    f: &'a F,
}

impl<U, F: Fn(usize, &mut [U])> Loop for Rows<'_, U, F> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        for (k, row) in self.out.chunks_mut(self.m).enumerate() {
            (self.f)(self.start + k * self.m, row);
        }
    }
}
