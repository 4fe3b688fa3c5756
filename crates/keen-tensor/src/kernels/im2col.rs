//! 2-D convolution on NHWC images lowered to the fast GEMM: im2col / col2im, and the three
//! products of a convolution (forward, input gradient, kernel gradient).
//!
//! With `K = kh·kw·c_in` and one row per output pixel (`M = n·oh·ow` rows), a convolution is
//! `y [M × c_out] = cols [M × K] · kernel [K × c_out]`, where row `r` of `cols` holds the
//! receptive field of pixel `r` (im2col). An HWIO kernel already *is* that `K × c_out`
//! matrix and an NHWC output already *is* `M × c_out`, so nothing is transposed or copied
//! besides `cols`. The other two products reuse the same matrices:
//!
//! - input gradient (= transposed convolution): `cols = gy · kernelᵀ`, then col2im adds every
//!   row of `cols` back into the pixels it was read from;
//! - kernel gradient: `dkernel = colsᵀ · gy`, summed over all rows.
//!
//! `cols` is never built whole (for a 32×64×64×64 batch and a 3×3 kernel it would take
//! 300 MB): rows are processed in bands of [`BAND_ELEMS`] elements that stay in cache, each
//! band one GEMM. The two cores split the bands between them and each GEMM runs
//! single-threaded, which beats one multi-threaded GEMM per band at these narrow shapes
//! (`c_out` = 64 columns). When a 1×1 kernel reads every pixel once (stride 1, no padding),
//! the input is the `cols` matrix itself and no copy is made.

use crate::dtype::{Element, Num};
use crate::kernels::elementwise::written_by;
use crate::kernels::gemm::{GemmElem, Mat};
use rayon::prelude::*;

/// Elements of one band of `cols` (512 KiB of f32): two bands plus the packed GEMM
/// operands fit in the 2 MiB L2 cache of each core.
const BAND_ELEMS: usize = 1 << 17;

/// Below this many multiply-adds a convolution stays on the calling thread.
const PAR_FLOPS: usize = 1 << 20;

/// The geometry of one convolution `x (n, h, w, c_in) ⋆ kernel (kh, kw, c_in, c_out) →
/// y (n, oh, ow, c_out)`: output pixel `(oy, ox)` reads input row `oy·stride[0] +
/// ky·dilation[0] − pad[0]` and column `ox·stride[1] + kx·dilation[1] − pad[1]`. Reads outside
/// the image are zeros, so only the top and left padding need storing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvGeom {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c_in: usize,
    pub oh: usize,
    pub ow: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    /// Top and left padding.
    pub pad: [usize; 2],
}

impl ConvGeom {
    /// Columns of `cols`: one receptive field.
    pub fn k(&self) -> usize {
        self.kh * self.kw * self.c_in
    }

    /// Rows of `cols`: output pixels of the whole batch.
    pub fn rows(&self) -> usize {
        self.n * self.oh * self.ow
    }

    /// Multiply-adds of one GEMM of the convolution.
    fn flops(&self) -> usize {
        self.rows() * self.k() * self.c_out
    }

    /// True when im2col would copy the input unchanged (1×1 kernel, stride 1, no padding).
    fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.stride == [1, 1]
            && self.pad == [0, 0]
            && (self.oh, self.ow) == (self.h, self.w)
    }

    /// Rows per band: about [`BAND_ELEMS`] elements of `cols`, at least one row.
    fn band(&self) -> usize {
        (BAND_ELEMS / self.k().max(1)).clamp(1, self.rows().max(1))
    }

    /// With stride 1 the input gradient is itself a forward convolution: of `gy` with the
    /// kernel flipped in space and its channel axes swapped ([`flipped_taps`]), padded on top
    /// and left by what the forward window overhangs at the bottom and right. Run that way its
    /// GEMM has depth `kh·kw·c_out` instead of `c_out` and there is no col2im scatter: for a
    /// 3×3 64→64 conv the input gradient then costs what the forward costs. `None` where that
    /// does not hold (strides, 1×1 kernels, padding beyond the window).
    fn backprop_input_as_forward(&self) -> Option<ConvGeom> {
        let span = [
            (self.kh - 1) * self.dilation[0],
            (self.kw - 1) * self.dilation[1],
        ];
        let fits = self.pad[0] <= span[0] && self.pad[1] <= span[1];
        if self.stride != [1, 1] || self.is_pointwise() || !fits {
            return None;
        }
        Some(ConvGeom {
            h: self.oh,
            w: self.ow,
            c_in: self.c_out,
            oh: self.h,
            ow: self.w,
            c_out: self.c_in,
            pad: [span[0] - self.pad[0], span[1] - self.pad[1]],
            ..*self
        })
    }

    /// The valid taps `lo..hi` of a window along one axis: taps whose input index
    /// `o·stride + t·dilation − pad` lies in `0..len`, the first one at index `start`.
    #[inline]
    fn taps(o: usize, stride: usize, dil: usize, pad: usize, k: usize, len: usize) -> Taps {
        let origin = (o * stride) as isize - pad as isize;
        let d = dil as isize;
        // Smallest t with origin + t·d >= 0, and the first t with origin + t·d >= len.
        let lo = if origin >= 0 {
            0
        } else {
            ((-origin + d - 1) / d) as usize
        };
        let end = len as isize - origin;
        let hi = if end <= 0 {
            0
        } else {
            ((end + d - 1) / d) as usize
        };
        let (lo, hi) = (lo.min(k), hi.min(k));
        let hi = hi.max(lo);
        Taps {
            lo,
            hi,
            start: (origin + lo as isize * d).max(0) as usize,
        }
    }

    #[inline]
    fn taps_y(&self, oy: usize) -> Taps {
        Self::taps(
            oy,
            self.stride[0],
            self.dilation[0],
            self.pad[0],
            self.kh,
            self.h,
        )
    }

    #[inline]
    fn taps_x(&self, ox: usize) -> Taps {
        Self::taps(
            ox,
            self.stride[1],
            self.dilation[1],
            self.pad[1],
            self.kw,
            self.w,
        )
    }
}

/// The taps `lo..hi` of a window that land inside the image, the first at input index `start`.
#[derive(Clone, Copy)]
struct Taps {
    lo: usize,
    hi: usize,
    start: usize,
}

/// Writes the receptive fields of output pixels `r0..r0 + cols.len() / k` (flattened over
/// `(b, oy, ox)`) into `cols`, one row of `kh·kw·c_in` each, zeros where a window leaves
/// the image.
fn im2col<T: Element>(x: &[T], g: &ConvGeom, r0: usize, cols: &mut [T]) {
    let (c, k) = (g.c_in, g.k());
    let (img_len, line_len) = (g.h * g.w * c, g.w * c);
    for (i, row) in cols.chunks_exact_mut(k).enumerate() {
        let r = r0 + i;
        let (b, oy, ox) = (r / (g.oh * g.ow), r / g.ow % g.oh, r % g.ow);
        let img = &x[b * img_len..][..img_len];
        let (ty, tx) = (g.taps_y(oy), g.taps_x(ox));
        row[..ty.lo * g.kw * c].fill(T::zero());
        row[ty.hi * g.kw * c..].fill(T::zero());
        for (j, ky) in (ty.lo..ty.hi).enumerate() {
            let iy = ty.start + j * g.dilation[0];
            let line = &img[iy * line_len..][..line_len];
            let dst = &mut row[ky * g.kw * c..][..g.kw * c];
            dst[..tx.lo * c].fill(T::zero());
            dst[tx.hi * c..].fill(T::zero());
            if g.dilation[1] == 1 {
                // Adjacent taps read adjacent pixels: one run of (hi − lo)·c elements.
                let run = (tx.hi - tx.lo) * c;
                dst[tx.lo * c..][..run].copy_from_slice(&line[tx.start * c..][..run]);
            } else {
                for (j, kx) in (tx.lo..tx.hi).enumerate() {
                    let ix = tx.start + j * g.dilation[1];
                    dst[kx * c..][..c].copy_from_slice(&line[ix * c..][..c]);
                }
            }
        }
    }
}

/// The adjoint of [`im2col`] for the pixels of one image: adds each row of `cols` (output
/// pixels `p0..` of image `img`) into the input pixels its window reads.
fn col2im_add<T: Num>(cols: &[T], g: &ConvGeom, p0: usize, img: &mut [T]) {
    let (c, k) = (g.c_in, g.k());
    let line_len = g.w * c;
    for (i, row) in cols.chunks_exact(k).enumerate() {
        let p = p0 + i;
        let (oy, ox) = (p / g.ow, p % g.ow);
        let (ty, tx) = (g.taps_y(oy), g.taps_x(ox));
        for (j, ky) in (ty.lo..ty.hi).enumerate() {
            let iy = ty.start + j * g.dilation[0];
            let line = &mut img[iy * line_len..][..line_len];
            let src = &row[ky * g.kw * c..][..g.kw * c];
            if g.dilation[1] == 1 {
                let run = (tx.hi - tx.lo) * c;
                add_into(&mut line[tx.start * c..][..run], &src[tx.lo * c..][..run]);
            } else {
                for (j, kx) in (tx.lo..tx.hi).enumerate() {
                    let ix = tx.start + j * g.dilation[1];
                    add_into(&mut line[ix * c..][..c], &src[kx * c..][..c]);
                }
            }
        }
    }
}

#[inline]
fn add_into<T: Num>(dst: &mut [T], src: &[T]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// A row-major matrix with `cols` columns starting at `ptr`.
fn rows_of<T>(ptr: *const T, cols: usize) -> Mat<T> {
    Mat {
        ptr,
        rs: cols as isize,
        cs: 1,
    }
}

/// The transpose of a row-major matrix with `cols` columns.
fn transposed<T>(ptr: *const T, cols: usize) -> Mat<T> {
    Mat {
        ptr,
        rs: 1,
        cs: cols as isize,
    }
}

/// The forward convolution: `x` (n, h, w, c_in) and `kernel` (kh, kw, c_in, c_out), both
/// contiguous, into a new (n, oh, ow, c_out) buffer.
pub(crate) fn conv2d<T: GemmElem>(x: &[T], kernel: &[T], g: &ConvGeom) -> Vec<T> {
    let (m, k, n) = (g.rows(), g.k(), g.c_out);
    if m * n == 0 {
        return Vec::new();
    }
    let band = g.band();
    let run = |r0: usize, dst: &mut [T], cols: &mut [T]| forward_band(x, kernel, g, r0, dst, cols);
    let cols_len = if g.is_pointwise() { 0 } else { band * k };
    // Every band's GEMM writes all of its rows (no accumulate), so the output needs no zeroing.
    written_by(m * n, |out| {
        if g.flops() < PAR_FLOPS {
            let mut cols = vec![T::zero(); cols_len];
            for (i, dst) in out.chunks_mut(band * n).enumerate() {
                run(i * band, dst, &mut cols);
            }
        } else {
            out.par_chunks_mut(band * n).enumerate().for_each_init(
                || vec![T::zero(); cols_len],
                |cols, (i, dst)| run(i * band, dst, cols),
            );
        }
    })
}

/// One band of the forward convolution: the output rows `r0..r0 + dst.len() / c_out`, as
/// their receptive fields (im2col into `cols`, or the input itself for a pointwise kernel)
/// times the kernel, written straight into `dst`.
fn forward_band<T: GemmElem>(
    x: &[T],
    kernel: &[T],
    g: &ConvGeom,
    r0: usize,
    dst: &mut [T],
    cols: &mut [T],
) {
    let (k, n) = (g.k(), g.c_out);
    let rows = dst.len() / n;
    let lhs = if g.is_pointwise() {
        x[r0 * k..].as_ptr()
    } else {
        im2col(x, g, r0, &mut cols[..rows * k]);
        cols.as_ptr()
    };
    // SAFETY: lhs addresses rows × k elements (a band of cols or of x), the kernel k × n,
    // dst rows × n; dst is the caller's buffer, which overlaps neither.
    unsafe {
        T::gemm(
            rows,
            n,
            k,
            dst.as_mut_ptr(),
            false,
            rows_of(lhs, k),
            rows_of(kernel.as_ptr(), n),
            false,
        )
    }
}

/// The input gradient of a convolution, which is also the transposed convolution: `gy`
/// (n, oh, ow, c_out) and `kernel` (kh, kw, c_in, c_out), both contiguous, into a new
/// (n, h, w, c_in) buffer.
pub(crate) fn conv2d_backprop_input<T: GemmElem>(gy: &[T], kernel: &[T], g: &ConvGeom) -> Vec<T> {
    if g.rows() == 0 {
        return backprop_input_scatter(gy, kernel, g);
    }
    if let Some(fg) = g.backprop_input_as_forward() {
        return conv2d(gy, &flipped_taps(kernel, g, [0, 0], [g.kh, g.kw]), &fg);
    }
    match g.backprop_input_phases() {
        Some(phases) => backprop_input_by_phases(gy, kernel, g, &phases),
        None => backprop_input_scatter(gy, kernel, g),
    }
}

/// One of the `stride²` phases of [`backprop_input_by_phases`]: the input pixels `iy ≡ ry`,
/// `ix ≡ rx` (mod stride) and the forward convolution over `gy` that computes them.
struct Phase {
    /// First input row and column of the phase.
    r: [usize; 2],
    /// The phase's taps along each axis: `k0, k0 + stride, …` (count `t`).
    k0: [usize; 2],
    t: [usize; 2],
    /// The sub-convolution: `gy` (n, oh, ow, c_out) → (n, ⌈(h − ry)/s⌉, ⌈(w − rx)/s⌉, c_in).
    g: ConvGeom,
}

impl ConvGeom {
    /// With stride `s` > 1, input pixel `iy = s·q + r` receives only the taps `ky ≡ r + pad
    /// (mod s)`, from output rows `q + c − t`: each of the `s²` phases `(r_y, r_x)` is a stride-1
    /// forward convolution of `gy` with a flipped sub-kernel of about `(kh/s)·(kw/s)` taps. Run
    /// that way every GEMM has depth `taps·c_out` instead of `c_out` and there is no col2im
    /// scatter (the transposed convolutions of a DCGAN generator, the input gradients of its
    /// discriminator). `None` without stride, with dilation, with padding that would start a
    /// phase's window past its first output, or when `c_in` (the GEMM's width) is too narrow
    /// for the phases to pay.
    fn backprop_input_phases(&self) -> Option<Vec<Phase>> {
        let s = self.stride;
        if s == [1, 1] || self.dilation != [1, 1] || self.c_in < 8 {
            return None;
        }
        let k = [self.kh, self.kw];
        let len = [self.h, self.w];
        let mut phases = Vec::with_capacity(s[0] * s[1]);
        for ry in 0..s[0].min(self.h) {
            for rx in 0..s[1].min(self.w) {
                let r = [ry, rx];
                let (mut k0, mut t, mut pad, mut out) = ([0; 2], [0; 2], [0; 2], [0; 2]);
                for a in 0..2 {
                    k0[a] = (r[a] + self.pad[a]) % s[a];
                    t[a] = k[a].saturating_sub(k0[a]).div_ceil(s[a]);
                    // Output row q reads gy rows q + c − (t − 1) … q + c.
                    let c = (r[a] + self.pad[a] - k0[a]) / s[a];
                    pad[a] = (t[a].max(1) - 1).checked_sub(c)?;
                    out[a] = (len[a] - r[a]).div_ceil(s[a]);
                }
                let g = ConvGeom {
                    n: self.n,
                    h: self.oh,
                    w: self.ow,
                    c_in: self.c_out,
                    oh: out[0],
                    ow: out[1],
                    c_out: self.c_in,
                    kh: t[0],
                    kw: t[1],
                    stride: [1, 1],
                    dilation: [1, 1],
                    pad,
                };
                phases.push(Phase { r, k0, t, g });
            }
        }
        Some(phases)
    }
}

/// The kernel of an input gradient run as a forward conv: the taps `k0 + s·j` (`t` of them
/// along each axis, `s` the stride), in reverse order, with channels swapped to
/// `(t_y, t_x, c_out, c_in)`. All taps with `k0 = 0` for stride 1
/// ([`ConvGeom::backprop_input_as_forward`]), one phase's otherwise.
fn flipped_taps<T: Copy>(kernel: &[T], g: &ConvGeom, k0: [usize; 2], t: [usize; 2]) -> Vec<T> {
    let (ci, co) = (g.c_in, g.c_out);
    let mut out = Vec::with_capacity(t[0] * t[1] * ci * co);
    for j in (0..t[0]).rev() {
        let ky = k0[0] + g.stride[0] * j;
        for i in (0..t[1]).rev() {
            let kx = k0[1] + g.stride[1] * i;
            let tap = &kernel[(ky * g.kw + kx) * ci * co..][..ci * co];
            for o in 0..co {
                out.extend((0..ci).map(|c| tap[c * co + o]));
            }
        }
    }
    out
}

/// [`conv2d_backprop_input`] for strided convolutions, phase by phase
/// ([`ConvGeom::backprop_input_phases`]). The bands of all phases' forward convolutions are
/// one parallel loop; each band's GEMM lands in a small buffer whose rows are then copied,
/// still in cache, to the input pixels they belong to (a phase's pixels are `stride` apart).
/// Every pixel belongs to exactly one phase, so `dx` is zeroed only where a phase has no taps.
fn backprop_input_by_phases<T: GemmElem>(
    gy: &[T],
    kernel: &[T],
    g: &ConvGeom,
    phases: &[Phase],
) -> Vec<T> {
    let c = g.c_in;
    let live: Vec<(&Phase, Vec<T>)> = phases
        .iter()
        .filter(|p| p.t[0] > 0 && p.t[1] > 0)
        .map(|p| (p, flipped_taps(kernel, g, p.k0, p.t)))
        .collect();
    // (phase, first row) of every band; a band never spans two phases.
    let bands: Vec<(usize, usize)> = live
        .iter()
        .enumerate()
        .flat_map(|(i, (p, _))| (0..p.g.rows()).step_by(p.g.band()).map(move |r0| (i, r0)))
        .collect();
    let cols_len = live
        .iter()
        .map(|(p, _)| p.g.band() * p.g.k())
        .max()
        .unwrap_or(0);
    let out_len = live.iter().map(|(p, _)| p.g.band() * c).max().unwrap_or(0);
    let run = |dx: &DisjointRows<T>, cols: &mut [T], out: &mut [T], (i, r0): (usize, usize)| {
        let (p, taps) = (&live[i].0, &live[i].1);
        let pg = &p.g;
        let rows = pg.band().min(pg.rows() - r0);
        forward_band(gy, taps, pg, r0, &mut out[..rows * c], cols);
        let (qh, qw) = (pg.oh, pg.ow);
        for (j, px) in out[..rows * c].chunks_exact(c).enumerate() {
            let q = r0 + j;
            let (b, qy, qx) = (q / (qh * qw), q / qw % qh, q % qw);
            let (iy, ix) = (qy * g.stride[0] + p.r[0], qx * g.stride[1] + p.r[1]);
            // SAFETY: pixel (b, iy, ix) belongs to this phase's row q alone.
            unsafe { dx.write(((b * g.h + iy) * g.w + ix) * c, px) };
        }
    };
    let fill = |dx: &mut [T]| {
        let dx = DisjointRows(dx.as_mut_ptr());
        if g.flops() < PAR_FLOPS {
            let (mut cols, mut out) = (vec![T::zero(); cols_len], vec![T::zero(); out_len]);
            for &band in &bands {
                run(&dx, &mut cols, &mut out, band);
            }
        } else {
            bands.par_iter().for_each_init(
                || (vec![T::zero(); cols_len], vec![T::zero(); out_len]),
                |(cols, out), &band| run(&dx, cols, out, band),
            );
        }
    };
    let len = g.n * g.h * g.w * c;
    if live.len() == phases.len() {
        // The phases partition the pixels, so each is written exactly once.
        written_by(len, fill)
    } else {
        let mut dx = vec![T::zero(); len];
        fill(&mut dx);
        dx
    }
}

/// A buffer that threads write in disjoint runs through a raw pointer.
struct DisjointRows<T>(*mut T);

// SAFETY: writers promise disjoint runs (see `write`); T is plain data.
unsafe impl<T: Send> Sync for DisjointRows<T> {}

impl<T: Copy> DisjointRows<T> {
    /// Copies `src` to `at..at + src.len()`.
    ///
    /// # Safety
    /// The run must lie inside the buffer, and no other thread may touch it meanwhile.
    unsafe fn write(&self, at: usize, src: &[T]) {
        // SAFETY: forwarded from the caller.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.0.add(at), src.len()) }
    }
}

/// [`conv2d_backprop_input`] for any geometry: `cols = gy · kernelᵀ` band by band, each band
/// scattered back into the pixels its windows read (col2im).
fn backprop_input_scatter<T: GemmElem>(gy: &[T], kernel: &[T], g: &ConvGeom) -> Vec<T> {
    let (k, n) = (g.k(), g.c_out);
    let img_len = g.h * g.w * g.c_in;
    let mut dx = vec![T::zero(); g.n * img_len];
    if dx.is_empty() || g.rows() == 0 {
        return dx;
    }
    let wt = transposed(kernel.as_ptr(), n);
    if g.is_pointwise() {
        // dx = gy · kernelᵀ, row for row: no scatter needed.
        // SAFETY: gy is rows × n, kernelᵀ n × k (k = c_in), dx rows × k; dx is fresh.
        unsafe {
            T::gemm(
                g.rows(),
                k,
                n,
                dx.as_mut_ptr(),
                false,
                rows_of(gy.as_ptr(), n),
                wt,
                true,
            )
        };
        return dx;
    }
    let per_img = g.oh * g.ow;
    let band = g.band().min(per_img);
    // All bands of image b, in order: cols = gy_band · kernelᵀ, then scatter-add cols into img.
    let image = |b: usize, img: &mut [T], cols: &mut [T], threads: bool| {
        for p0 in (0..per_img).step_by(band) {
            let rows = band.min(per_img - p0);
            let src = gy[(b * per_img + p0) * n..].as_ptr();
            // SAFETY: src addresses rows × n elements of gy, kernelᵀ n × k, cols rows × k.
            unsafe {
                T::gemm(
                    rows,
                    k,
                    n,
                    cols.as_mut_ptr(),
                    false,
                    rows_of(src, n),
                    wt,
                    threads,
                )
            };
            col2im_add(&cols[..rows * k], g, p0, img);
        }
    };
    // Images are independent (each scatters only into itself), so the cores take whole images;
    // a batch smaller than the thread count parallelises inside the GEMM instead.
    let threads = rayon::current_num_threads();
    if g.flops() < PAR_FLOPS || g.n < threads {
        let mut cols = vec![T::zero(); band * k];
        for (b, img) in dx.chunks_mut(img_len).enumerate() {
            image(b, img, &mut cols, g.flops() >= PAR_FLOPS);
        }
    } else {
        dx.par_chunks_mut(img_len).enumerate().for_each_init(
            || vec![T::zero(); band * k],
            |cols, (b, img)| image(b, img, cols, false),
        );
    }
    dx
}

/// The kernel gradient of a convolution: `x` (n, h, w, c_in) and `gy` (n, oh, ow, c_out), both
/// contiguous, into a new (kh, kw, c_in, c_out) buffer: `colsᵀ · gy` summed over all bands.
pub(crate) fn conv2d_backprop_kernel<T: GemmElem>(x: &[T], gy: &[T], g: &ConvGeom) -> Vec<T> {
    let (m, k, n) = (g.rows(), g.k(), g.c_out);
    let band = g.band();
    let cols_len = if g.is_pointwise() { 0 } else { band * k };
    // Adds band i's contribution colsᵀ · gy_band into acc (k × n).
    let add_band = |acc: &mut [T], cols: &mut [T], i: usize| {
        let r0 = i * band;
        let rows = band.min(m - r0);
        let lhs = if g.is_pointwise() {
            x[r0 * k..].as_ptr()
        } else {
            im2col(x, g, r0, &mut cols[..rows * k]);
            cols.as_ptr()
        };
        let rhs = rows_of(gy[r0 * n..].as_ptr(), n);
        // SAFETY: lhsᵀ is k × rows over a band of cols (or x), rhs rows × n of gy, acc k × n.
        unsafe {
            T::gemm(
                k,
                n,
                rows,
                acc.as_mut_ptr(),
                true,
                transposed(lhs, k),
                rhs,
                false,
            )
        };
    };
    let bands = m.div_ceil(band);
    if k * n == 0 || m == 0 {
        return vec![T::zero(); k * n];
    }
    if g.flops() < PAR_FLOPS {
        let (mut acc, mut cols) = (vec![T::zero(); k * n], vec![T::zero(); cols_len]);
        for i in 0..bands {
            add_band(&mut acc, &mut cols, i);
        }
        return acc;
    }
    // Each worker sums its bands into its own accumulator; the few accumulators are then added.
    (0..bands)
        .into_par_iter()
        .fold(
            || (vec![T::zero(); k * n], vec![T::zero(); cols_len]),
            |(mut acc, mut cols), i| {
                add_band(&mut acc, &mut cols, i);
                (acc, cols)
            },
        )
        .map(|(acc, _)| acc)
        .reduce_with(|mut a, b| {
            add_into(&mut a, &b);
            a
        })
        .expect("at least one band")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(h: usize, k: usize, s: usize, d: usize, p: usize, oh: usize) -> ConvGeom {
        ConvGeom {
            n: 1,
            h,
            w: h,
            c_in: 1,
            oh,
            ow: oh,
            c_out: 1,
            kh: k,
            kw: k,
            stride: [s, s],
            dilation: [d, d],
            pad: [p, p],
        }
    }

    #[test]
    fn taps_clip_to_the_image() {
        // 5 wide, kernel 3, stride 2, pad 1: output 0 reads -1, 0, 1 → taps 1..3 from index 0.
        let g = geom(5, 3, 2, 1, 1, 3);
        let t = g.taps_x(0);
        assert_eq!((t.lo, t.hi, t.start), (1, 3, 0));
        let t = g.taps_x(2); // reads 3, 4, 5
        assert_eq!((t.lo, t.hi, t.start), (0, 2, 3));
        // Dilation 2, pad 2: output 0 reads -2, 0, 2.
        let g = geom(5, 3, 1, 2, 2, 5);
        let t = g.taps_x(0);
        assert_eq!((t.lo, t.hi, t.start), (1, 3, 0));
        let t = g.taps_x(4); // reads 2, 4, 6
        assert_eq!((t.lo, t.hi, t.start), (0, 2, 2));
    }

    /// A square-kernel geometry of two images: (h, w, k, stride, dilation, pad, oh, ow).
    type Case = (usize, usize, usize, usize, usize, usize, usize, usize);

    /// The fast input gradient (whatever path `conv2d_backprop_input` takes for `case`) equals
    /// the col2im scatter, which handles every geometry.
    fn matches_the_scatter(case: Case, c_in: usize, c_out: usize) -> ConvGeom {
        let (h, w, k, s, d, p, oh, ow) = case;
        let g = ConvGeom {
            n: 2,
            h,
            w,
            c_in,
            oh,
            ow,
            c_out,
            kh: k,
            kw: k,
            stride: [s, s],
            dilation: [d, d],
            pad: [p, p],
        };
        let gy: Vec<f64> = (0..g.rows() * c_out)
            .map(|i| (i as f64 * 0.37).sin())
            .collect();
        let kernel: Vec<f64> = (0..g.k() * c_out)
            .map(|i| (i as f64 * 0.13).cos())
            .collect();
        let fast = conv2d_backprop_input(&gy, &kernel, &g);
        let slow = backprop_input_scatter(&gy, &kernel, &g);
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() < 1e-12, "{g:?}: {a} vs {b}");
        }
        g
    }

    #[test]
    fn stride_one_input_gradient_as_a_forward_conv_equals_the_scatter() {
        // 'same', 'valid', dilated, asymmetric overhang.
        for case in [
            (6, 5, 3, 1, 1, 1, 6, 5),
            (6, 5, 3, 1, 1, 0, 4, 3),
            (7, 7, 3, 1, 2, 2, 7, 7),
            (5, 6, 2, 1, 1, 0, 4, 5),
            (5, 5, 4, 1, 1, 1, 4, 4),
        ] {
            let g = matches_the_scatter(case, 3, 4);
            assert!(g.backprop_input_as_forward().is_some());
        }
    }

    #[test]
    fn strided_input_gradient_by_phases_equals_the_scatter() {
        // DCGAN's 5/2 'same' both ways, 'valid', 4/2 (pix2pix), 3/3 with ragged edges, and a
        // kernel smaller than the stride (phases without taps).
        for case in [
            (14, 14, 5, 2, 1, 1, 7, 7),
            (28, 28, 5, 2, 1, 2, 14, 14),
            (9, 8, 3, 2, 1, 0, 4, 3),
            (8, 8, 4, 2, 1, 1, 4, 4),
            (10, 11, 3, 3, 1, 0, 3, 3),
            (7, 7, 1, 2, 1, 0, 4, 4),
        ] {
            let g = matches_the_scatter(case, 8, 3);
            assert!(g.backprop_input_phases().is_some());
        }
        // Wide enough for the parallel loop, with several bands per phase.
        let g = matches_the_scatter((14, 14, 5, 2, 1, 1, 7, 7), 64, 64);
        assert!(g.flops() >= PAR_FLOPS && g.backprop_input_phases().is_some());
        // Phase 2 would read gy one row ahead of its output (negative padding): the scatter.
        let g = matches_the_scatter((10, 11, 3, 3, 1, 1, 4, 4), 8, 3);
        assert!(g.backprop_input_phases().is_none());
    }

    #[test]
    fn im2col_and_col2im_are_adjoint() {
        let g = ConvGeom {
            c_in: 2,
            ..geom(5, 3, 2, 2, 2, 3)
        };
        let x: Vec<f64> = (0..50).map(|i| (i as f64 * 0.37).sin()).collect();
        let k = g.k();
        let mut cols = vec![0.0; g.rows() * k];
        im2col(&x, &g, 0, &mut cols);
        let c: Vec<f64> = (0..cols.len()).map(|i| (i as f64 * 0.11).cos()).collect();
        let mut back = vec![0.0; x.len()];
        col2im_add(&c, &g, 0, &mut back);
        let lhs: f64 = cols.iter().zip(&c).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-12, "{lhs} vs {rhs}");
    }
}
