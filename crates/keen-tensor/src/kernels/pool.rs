//! Pooling loops on NHWC images: max pooling with its argmax, the gather/scatter pair that
//! max pooling's gradients are made of, and separable linear resampling (average pooling,
//! nearest and bilinear resizing).

use super::PAR_MIN;
use crate::dtype::{Element, Num};
use crate::kernels::im2col::ConvGeom;
use rayon::prelude::*;

/// Max pooling over the windows of `g` (with `c_in == c_out`, one channel at a time): the
/// maxima and, for each, the flat index into `x` it came from. Ties go to the first maximum in
/// row-major window order; a NaN wins over numbers (the first NaN, if several).
pub(crate) fn max_pool<T: Element>(x: &[T], g: &ConvGeom) -> (Vec<T>, Vec<usize>) {
    let c = g.c_in;
    let len = g.rows() * c;
    let mut vals = vec![T::zero(); len];
    let mut idx = vec![0usize; len];
    // One output row (b, oy) at a time: ow·c maxima.
    let row = |r: usize, vals: &mut [T], idx: &mut [usize]| {
        let (b, oy) = (r / g.oh, r % g.oh);
        let (ty, base_y) = window(oy, g.stride[0], g.pad[0], g.kh, g.h);
        for ox in 0..g.ow {
            let (tx, base_x) = window(ox, g.stride[1], g.pad[1], g.kw, g.w);
            let (v, ix) = (&mut vals[ox * c..][..c], &mut idx[ox * c..][..c]);
            let mut first = true;
            for iy in base_y..base_y + ty {
                for jx in base_x..base_x + tx {
                    let at = ((b * g.h + iy) * g.w + jx) * c;
                    let src = &x[at..][..c];
                    for ch in 0..c {
                        let s = src[ch];
                        #[allow(clippy::eq_op)] // s != s is the generic NaN test
                        let wins = first || s > v[ch] || (s != s && v[ch] == v[ch]);
                        if wins {
                            v[ch] = s;
                            ix[ch] = at + ch;
                        }
                    }
                    first = false;
                }
            }
        }
    };
    let line = g.ow * c;
    if line == 0 {
        return (vals, idx);
    }
    if len >= PAR_MIN {
        vals.par_chunks_mut(line)
            .zip(idx.par_chunks_mut(line))
            .enumerate()
            .for_each(|(r, (v, i))| row(r, v, i));
    } else {
        for (r, (v, i)) in vals.chunks_mut(line).zip(idx.chunks_mut(line)).enumerate() {
            row(r, v, i);
        }
    }
    (vals, idx)
}

/// The input positions of one pooling window along an axis: `(count, first index)`, clipped to
/// `0..len` (padding is never read).
pub(crate) fn window(o: usize, stride: usize, pad: usize, k: usize, len: usize) -> (usize, usize) {
    let start = (o * stride) as isize - pad as isize;
    let lo = start.max(0) as usize;
    let hi = ((start + k as isize).max(0) as usize).min(len);
    (hi.saturating_sub(lo), lo)
}

/// `out[i] = x[idx[i]]`.
pub(crate) fn gather<T: Element>(x: &[T], idx: &[usize]) -> Vec<T> {
    idx.iter().map(|&i| x[i]).collect()
}

/// `out[idx[i]] += g[i]` into `len` zeros. Indices of image `b` (of `per_img` outputs) must lie
/// inside image `b` (of `len / n` inputs), which lets the images scatter in parallel.
pub(crate) fn scatter_add<T: Num>(g: &[T], idx: &[usize], len: usize, n: usize) -> Vec<T> {
    let mut out = vec![T::zero(); len];
    if n == 0 || len == 0 {
        return out;
    }
    let (img, per_img) = (len / n, g.len() / n);
    let image = |b: usize, dst: &mut [T]| {
        let base = b * img;
        for (&i, &v) in idx[b * per_img..][..per_img]
            .iter()
            .zip(&g[b * per_img..][..per_img])
        {
            dst[i - base] += v;
        }
    };
    if len >= PAR_MIN {
        out.par_chunks_mut(img)
            .enumerate()
            .for_each(|(b, d)| image(b, d));
    } else {
        for (b, d) in out.chunks_mut(img).enumerate() {
            image(b, d);
        }
    }
    out
}

/// A sparse linear map along one axis: output `o` is `Σ weight · input[i]` over `rows[o]`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AxisMap {
    /// The input length.
    pub len: usize,
    /// For each output index, its `(input index, weight)` taps.
    pub rows: Vec<Vec<(usize, f64)>>,
}

impl AxisMap {
    /// The adjoint map (the transposed matrix): from the outputs back to the inputs.
    pub fn transpose(&self) -> AxisMap {
        let mut rows = vec![Vec::new(); self.len];
        for (o, taps) in self.rows.iter().enumerate() {
            for &(i, wgt) in taps {
                rows[i].push((o, wgt));
            }
        }
        AxisMap {
            len: self.rows.len(),
            rows,
        }
    }
}

/// Applies `my` along the rows and `mx` along the columns of every (h, w) image of the NHWC
/// `x` (n, my.len, mx.len, c): `out[b, oy, ox, ch] = Σ my[oy]·mx[ox]·x[b, iy, ix, ch]`.
/// Each output row first sums its input rows (a few axpys of w·c contiguous elements), then
/// each output pixel sums its columns.
pub(crate) fn resample<T: Num>(x: &[T], n: usize, c: usize, my: &AxisMap, mx: &AxisMap) -> Vec<T> {
    let (h, w) = (my.len, mx.len);
    let (oh, ow) = (my.rows.len(), mx.rows.len());
    let line = ow * c;
    let mut out = vec![T::zero(); n * oh * line];
    if out.is_empty() {
        return out;
    }
    let row = |r: usize, dst: &mut [T], tmp: &mut [T]| {
        let (b, oy) = (r / oh, r % oh);
        tmp.fill(T::zero());
        for &(iy, a) in &my.rows[oy] {
            let a = T::from_f64(a);
            let src = &x[(b * h + iy) * w * c..][..w * c];
            for (t, &s) in tmp.iter_mut().zip(src) {
                *t += a * s;
            }
        }
        for (ox, d) in dst.chunks_exact_mut(c).enumerate() {
            for &(ix, a) in &mx.rows[ox] {
                let a = T::from_f64(a);
                for (o, &s) in d.iter_mut().zip(&tmp[ix * c..][..c]) {
                    *o += a * s;
                }
            }
        }
    };
    if out.len() >= PAR_MIN {
        out.par_chunks_mut(line)
            .enumerate()
            .for_each_init(|| vec![T::zero(); w * c], |tmp, (r, d)| row(r, d, tmp));
    } else {
        let mut tmp = vec![T::zero(); w * c];
        for (r, d) in out.chunks_mut(line).enumerate() {
            row(r, d, &mut tmp);
        }
    }
    out
}
