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
//!
//! On small images a "same" window overhangs the border for many pixels: a 5×5 window on a
//! 7×7 image reads outside it for 31% of its taps, whose zeros im2col would copy and the GEMM
//! multiply. There the output pixels are cut into [`Class`]es, rectangles whose windows all
//! keep the same taps inside the image, and each class runs its own GEMM over those taps
//! only. On large images with stride 1 there is no im2col at all: a zero-padded copy of a
//! band's input lines (a slab) already holds every window of a kernel row at a fixed stride
//! ([`ConvGeom::slab_lines`]).

use crate::dtype::{Element, Num};
use crate::kernels::elementwise::written_by;
use crate::kernels::gemm::{GemmElem, Mat};
use rayon::prelude::*;
use std::borrow::Cow;
use std::ops::Range;

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

    /// All output pixels with all taps: the plain im2col, zeros included.
    fn whole(&self) -> Class {
        Class {
            y: Run {
                o: 0..self.oh,
                lo: 0,
                hi: self.kh,
            },
            x: Run {
                o: 0..self.ow,
                lo: 0,
                hi: self.kw,
            },
        }
    }

    /// Output lines per band of the slab path ([`slab_band`]), or `None` where it does not
    /// apply. With stride 1 and no dilation, the receptive fields of a band of output lines
    /// are windows into the input lines they read, zero-padded: for kernel row `ky`, pixel
    /// `(oy, ox)`'s `kw·c_in` values start `c_in` after pixel `(oy, ox − 1)`'s, so one padded
    /// copy of those lines (a slab) serves as the GEMM operand of every tap row at once, with
    /// rows `c_in` apart, where im2col would copy each input value `kh·kw` times. The rows
    /// also run through the padding columns between lines (`kw − 1` wasted rows a line), so
    /// it is used where those are few (a 3×3 "same" window on 64×64: 3%), and where a tap row
    /// is deep enough (`kw·c_in` ≥ 64) to be a GEMM of its own.
    fn slab_lines(&self) -> Option<usize> {
        let wp = self.slab_width();
        let applies = self.stride == [1, 1]
            && self.dilation == [1, 1]
            && !self.is_pointwise()
            && self.kw * self.c_in >= 64
            && (wp - self.ow) * 16 <= wp
            && self.pad[0] < self.kh
            && self.pad[1] < self.kw;
        applies.then(|| (BAND_ELEMS / (wp * self.k())).clamp(1, self.oh))
    }

    /// Pixels of a slab line: the output line and the window's overhang.
    fn slab_width(&self) -> usize {
        self.ow + self.kw - 1
    }

    /// Maximal runs of output positions along one axis with the same taps inside the image.
    fn runs(out: usize, taps: impl Fn(usize) -> Taps) -> Vec<Run> {
        let mut runs: Vec<Run> = Vec::new();
        for o in 0..out {
            let t = taps(o);
            match runs.last_mut() {
                Some(r) if (r.lo, r.hi) == (t.lo, t.hi) => r.o.end = o + 1,
                _ => runs.push(Run {
                    o: o..o + 1,
                    lo: t.lo,
                    hi: t.hi,
                }),
            }
        }
        runs
    }

    /// How the output pixels are cut for im2col: into exact classes (every pair of a row run
    /// and a column run) when the taps outside the image would be over 1/16 of the
    /// multiply-adds, else one [`whole`](Self::whole) class. Exact classes cost a gather or
    /// scatter of each output row and a GEMM per class, which pays only where the zeros are
    /// many (small images, large kernels) and each tap is worth a few channels: a 3×3 "same"
    /// window on a 64×64 image overhangs for 2% of its taps and stays whole, and so does a
    /// one-channel input, whose 25-tap windows cost less than moving their output rows
    /// (measured on DCGAN's first convolution, 28×28×1 → 14×14×64: 80 → 55 GFLOP/s in classes).
    fn classes(&self) -> Vec<Class> {
        if self.c_in < 8 {
            return vec![self.whole()];
        }
        let ys = Self::runs(self.oh, |o| self.taps_y(o));
        let xs = Self::runs(self.ow, |o| self.taps_x(o));
        let inside = |runs: &[Run]| runs.iter().map(|r| r.o.len() * r.taps()).sum::<usize>();
        let (all, valid) = (
            self.oh * self.kh * self.ow * self.kw,
            inside(&ys) * inside(&xs),
        );
        if (all - valid) * 16 <= all {
            return vec![self.whole()];
        }
        ys.iter()
            .flat_map(|y| {
                xs.iter().map(move |x| Class {
                    y: y.clone(),
                    x: x.clone(),
                })
            })
            .collect()
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

/// Output positions `o` along one axis whose windows read taps `lo..hi` of the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Run {
    o: Range<usize>,
    lo: usize,
    hi: usize,
}

impl Run {
    fn taps(&self) -> usize {
        self.hi - self.lo
    }
}

/// A rectangle of output pixels, in every image of the batch, and the taps its im2col rows
/// hold: all of them for [`ConvGeom::whole`] (zeros where a window leaves the image), or
/// exactly those inside the image for every pixel of a class of [`ConvGeom::classes`].
#[derive(Clone, Debug, PartialEq, Eq)]
struct Class {
    y: Run,
    x: Run,
}

impl Class {
    /// Pixels of the class in one image.
    fn per_image(&self) -> usize {
        self.y.o.len() * self.x.o.len()
    }

    /// Columns of the class's im2col rows.
    fn k(&self, c_in: usize) -> usize {
        self.y.taps() * self.x.taps() * c_in
    }

    /// `(b, oy, ox)` of the class's `r`-th pixel, counted image by image, row by row.
    #[inline]
    fn pixel(&self, r: usize) -> (usize, usize, usize) {
        let (per, w) = (self.per_image(), self.x.o.len());
        let i = r % per;
        (r / per, self.y.o.start + i / w, self.x.o.start + i % w)
    }
}

/// Writes the receptive fields of pixels `r0..r0 + cols.len() / class.k(c_in)` of `class`
/// into `cols`: one row per pixel of taps `class.y.lo..hi` × `class.x.lo..hi`, each tap's
/// `c_in` channels, zeros where a window leaves the image.
fn im2col<T: Element>(x: &[T], g: &ConvGeom, class: &Class, r0: usize, cols: &mut [T]) {
    let (c, k) = (g.c_in, class.k(g.c_in));
    if k == 0 {
        return;
    }
    let (img_len, line_len) = (g.h * g.w * c, g.w * c);
    let row_len = class.x.taps() * c;
    // The taps of each window position inside both the image and the class (as offsets into
    // the class's taps) and the first one's input index, computed once per band: `taps`
    // divides, and a one-channel row is only 25 copies.
    let clip = |t: Taps, run: &Run, dil: usize| {
        let (lo, hi) = (t.lo.max(run.lo), t.hi.min(run.hi).max(t.lo.max(run.lo)));
        let start = t.start + (lo - t.lo) * dil;
        (lo - run.lo, hi - run.lo, start)
    };
    let ys: Vec<_> = (class.y.o.clone())
        .map(|oy| clip(g.taps_y(oy), &class.y, g.dilation[0]))
        .collect();
    let xs: Vec<_> = (class.x.o.clone())
        .map(|ox| clip(g.taps_x(ox), &class.x, g.dilation[1]))
        .collect();
    let (b0, oy0, ox0) = class.pixel(r0);
    // The position of the row's pixel: image, row and column within the class.
    let (mut b, mut py, mut px) = (b0, oy0 - class.y.o.start, ox0 - class.x.o.start);
    for row in cols.chunks_exact_mut(k) {
        let ((y0, y1, iy0), (x0, x1, ix0)) = (ys[py], xs[px]);
        let img = &x[b * img_len..][..img_len];
        (px, py) = if px + 1 < xs.len() {
            (px + 1, py)
        } else {
            (0, py + 1)
        };
        (py, b) = if py < ys.len() { (py, b) } else { (0, b + 1) };
        row[..y0 * row_len].fill(T::zero());
        row[y1 * row_len..].fill(T::zero());
        for j in y0..y1 {
            let iy = iy0 + (j - y0) * g.dilation[0];
            let line = &img[iy * line_len..][..line_len];
            let dst = &mut row[j * row_len..][..row_len];
            dst[..x0 * c].fill(T::zero());
            dst[x1 * c..].fill(T::zero());
            if g.dilation[1] == 1 {
                // Adjacent taps read adjacent pixels: one run of (x1 − x0)·c elements.
                let run = (x1 - x0) * c;
                dst[x0 * c..][..run].copy_from_slice(&line[ix0 * c..][..run]);
            } else {
                for (t, kx) in (x0..x1).enumerate() {
                    let ix = ix0 + t * g.dilation[1];
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
pub(crate) fn conv2d<T: GemmElem>(
    x: &[T],
    kernel: &[T],
    bias: Option<&[T]>,
    g: &ConvGeom,
) -> Vec<T> {
    let (m, n) = (g.rows(), g.c_out);
    if m * n == 0 {
        return Vec::new();
    }
    let par = g.flops() >= PAR_FLOPS;
    if let Some(lines) = g.slab_lines() {
        return conv2d_by_slabs(x, kernel, bias, g, lines);
    }
    let fw = Forward::new(kernel, *g);
    // Every pixel belongs to one class and every band's GEMM writes all of its rows (no
    // accumulate), so the output needs no zeroing.
    written_by(m * n, |out| {
        if fw.cut.is_whole() {
            // Bands are consecutive pixels: each GEMM writes straight into its rows of `out`.
            let band = fw.cut.band(0);
            let run = |i: usize, dst: &mut [T], cols: &mut Vec<T>| {
                fw.run(x, (0, i * band), cols, dst);
                add_bias(dst, bias);
            };
            if par {
                out.par_chunks_mut(band * n)
                    .enumerate()
                    .for_each_init(Vec::new, |cols, (i, dst)| run(i, dst, cols));
            } else {
                let mut cols = Vec::new();
                for (i, dst) in out.chunks_mut(band * n).enumerate() {
                    run(i, dst, &mut cols);
                }
            }
        } else {
            let dst = DisjointRows(out.as_mut_ptr());
            fw.for_each_band(x, par, bias, |p, row| {
                // SAFETY: each pixel is one class's, computed by one band.
                unsafe { dst.write(p * n, row) }
            });
        }
    })
}

/// The output pixels of a convolution cut into [`ConvGeom::classes`] and each class into bands
/// of about [`BAND_ELEMS`] elements of its `cols`.
struct Cut {
    g: ConvGeom,
    classes: Vec<Class>,
}

impl Cut {
    fn new(g: ConvGeom) -> Self {
        Cut {
            classes: g.classes(),
            g,
        }
    }

    /// True for one class of all pixels in order.
    fn is_whole(&self) -> bool {
        self.classes.len() == 1 && self.classes[0] == self.g.whole()
    }

    /// Rows of class `i`: its pixels in all images.
    fn class_rows(&self, i: usize) -> usize {
        self.g.n * self.classes[i].per_image()
    }

    /// Rows per band of class `i`, at least one.
    fn band(&self, i: usize) -> usize {
        let k = self.classes[i].k(self.g.c_in).max(1);
        (BAND_ELEMS / k).clamp(1, self.class_rows(i).max(1))
    }

    /// (class, first row) of every band, all classes'.
    fn bands(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.classes.len()).flat_map(move |i| {
            (0..self.class_rows(i))
                .step_by(self.band(i))
                .map(move |r0| (i, r0))
        })
    }

    /// The rows of band `(class, r0)`.
    fn rows(&self, (i, r0): (usize, usize)) -> usize {
        self.band(i).min(self.class_rows(i) - r0)
    }

    /// The flattened `(b, oy, ox)` index of pixel `r` of class `i`.
    fn pixel(&self, i: usize, r: usize) -> usize {
        let (b, oy, ox) = self.classes[i].pixel(r);
        (b * self.g.oh + oy) * self.g.ow + ox
    }
}

/// A forward convolution cut into bands of im2col + GEMM, each [`Class`] with the rows of
/// the kernel its taps read.
struct Forward<'a, T: Clone> {
    cut: Cut,
    kernels: Vec<Cow<'a, [T]>>,
}

impl<'a, T: GemmElem> Forward<'a, T> {
    fn new(kernel: &'a [T], g: ConvGeom) -> Self {
        let cut = Cut::new(g);
        let kernels = cut
            .classes
            .iter()
            .map(|class| class_kernel(kernel, &g, class))
            .collect();
        Forward { cut, kernels }
    }

    /// Computes band `(class, r0)` into `dst` (its rows × c_out): their receptive fields
    /// (im2col into `cols`, grown as needed, or the input itself for a pointwise kernel) times
    /// the class's kernel rows.
    fn run(&self, x: &[T], (i, r0): (usize, usize), cols: &mut Vec<T>, dst: &mut [T]) {
        let (g, class) = (&self.cut.g, &self.cut.classes[i]);
        let (k, n) = (class.k(g.c_in), g.c_out);
        let rows = dst.len() / n;
        let lhs = if g.is_pointwise() {
            x[r0 * k..].as_ptr()
        } else {
            grow(cols, rows * k);
            im2col(x, g, class, r0, &mut cols[..rows * k]);
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
                rows_of(self.kernels[i].as_ptr(), n),
                false,
            )
        }
    }

    /// Runs every band (in parallel when `par`) into a scratch buffer, adds `bias` to each
    /// row, and hands each output pixel's row to `put(pixel, row)`.
    fn for_each_band(
        &self,
        x: &[T],
        par: bool,
        bias: Option<&[T]>,
        put: impl Fn(usize, &[T]) + Sync,
    ) {
        let n = self.cut.g.c_out;
        let run = |(cols, out): &mut (Vec<T>, Vec<T>), band: (usize, usize)| {
            let rows = self.cut.rows(band);
            grow(out, rows * n);
            self.run(x, band, cols, &mut out[..rows * n]);
            add_bias(&mut out[..rows * n], bias);
            for (j, row) in out[..rows * n].chunks_exact(n).enumerate() {
                put(self.cut.pixel(band.0, band.1 + j), row);
            }
        };
        let bands: Vec<(usize, usize)> = self.cut.bands().collect();
        for_each_scratch(&bands, par, |scratch, &band| run(scratch, band));
    }
}

/// Runs `run(scratch, item)` for every item, in parallel when `par`, each thread with its
/// own scratch buffers.
fn for_each_scratch<I: Sync, S: Default + Send>(
    items: &[I],
    par: bool,
    run: impl Fn(&mut S, &I) + Sync,
) {
    if par {
        items
            .par_iter()
            .for_each_init(S::default, |s, item| run(s, item));
    } else {
        let mut scratch = S::default();
        items.iter().for_each(|item| run(&mut scratch, item));
    }
}

/// `Σ add(item)` over the items into a `len`-element accumulator, in parallel when `par`: each
/// worker adds its items into its own accumulator (with its own scratch), and the few
/// accumulators are then added.
fn sum_over<T: Num, I: Sync, S: Default + Send>(
    items: &[I],
    len: usize,
    par: bool,
    add: impl Fn(&mut Vec<T>, &mut S, &I) + Sync,
) -> Vec<T> {
    let zero = || (vec![T::zero(); len], S::default());
    let fold = |(mut acc, mut scratch): (Vec<T>, S), item: &I| {
        add(&mut acc, &mut scratch, item);
        (acc, scratch)
    };
    if !par {
        return items.iter().fold(zero(), fold).0;
    }
    items
        .par_iter()
        .fold(zero, fold)
        .map(|(acc, _)| acc)
        .reduce_with(|mut a, b| {
            add_into(&mut a, &b);
            a
        })
        .unwrap_or_else(|| vec![T::zero(); len])
}

/// (image, first output line, lines) of every band of `lines` output lines of every image.
fn slab_bands(g: &ConvGeom, lines: usize) -> Vec<(usize, usize, usize)> {
    (0..g.n)
        .flat_map(|b| {
            (0..g.oh)
                .step_by(lines)
                .map(move |oy| (b, oy, lines.min(g.oh - oy)))
        })
        .collect()
}

/// [`conv2d`] on slabs ([`ConvGeom::slab_lines`]): for each kernel row `ky`, the slab window
/// at line `ky` times the kernel's rows of that row, summed into a buffer laid out as the
/// window's rows are, whose real pixels are then copied out.
fn conv2d_by_slabs<T: GemmElem>(
    x: &[T],
    kernel: &[T],
    bias: Option<&[T]>,
    g: &ConvGeom,
    lines: usize,
) -> Vec<T> {
    let (n, wp, depth) = (g.c_out, g.slab_width(), g.kw * g.c_in);
    let bands = slab_bands(g, lines);
    written_by(g.rows() * n, |out| {
        let dst = DisjointRows(out.as_mut_ptr());
        let par = g.flops() >= PAR_FLOPS;
        for_each_scratch(
            &bands,
            par,
            |(slab, tmp): &mut (Vec<T>, Vec<T>), &(b, oy0, l)| {
                let rows = (l - 1) * wp + g.ow;
                slab_band(x, g, b, oy0, l, slab);
                grow(tmp, rows * n);
                for ky in 0..g.kh {
                    // SAFETY: the window rows × depth at rows c_in apart starts in the slab at
                    // line ky and ends inside it (slab_band's contract); kernel rows ky·depth.. are
                    // depth × n; tmp is rows × n.
                    unsafe {
                        T::gemm(
                            rows,
                            n,
                            depth,
                            tmp.as_mut_ptr(),
                            ky > 0,
                            Mat {
                                ptr: slab.as_ptr().add(ky * wp * g.c_in),
                                rs: g.c_in as isize,
                                cs: 1,
                            },
                            rows_of(kernel[ky * depth * n..].as_ptr(), n),
                            false,
                        )
                    };
                }
                for j in 0..l {
                    let line = &mut tmp[j * wp * n..][..g.ow * n];
                    add_bias(line, bias);
                    // SAFETY: output line (b, oy0 + j) belongs to this band alone.
                    unsafe { dst.write((b * g.oh + oy0 + j) * g.ow * n, line) };
                }
            },
        );
    })
}

/// Fills `slab` with the input lines that output lines `oy0..oy0 + l` of image `b` read,
/// zero-padded to `ow + kw − 1` pixels, `l + kh − 1` lines of them: slab pixel `(j, i)` is
/// input pixel `(oy0 + j − pad[0], i − pad[1])`, zero outside the image. Window row `ky` of
/// output pixel `(oy0 + j, ox)` is then the `kw·c_in` values from slab pixel `(j + ky, ox)` on.
fn slab_band<T: Num>(x: &[T], g: &ConvGeom, b: usize, oy0: usize, l: usize, slab: &mut Vec<T>) {
    let (c, wp) = (g.c_in, g.slab_width());
    let line_len = wp * c;
    grow(slab, (l + g.kh - 1) * line_len);
    let img = &x[b * g.h * g.w * c..][..g.h * g.w * c];
    // Image columns that land in the slab, and where.
    let (left, cols) = (g.pad[1], g.w.min(wp - g.pad[1]));
    for (j, line) in slab[..(l + g.kh - 1) * line_len]
        .chunks_exact_mut(line_len)
        .enumerate()
    {
        let iy = (oy0 + j) as isize - g.pad[0] as isize;
        if iy < 0 || iy >= g.h as isize {
            line.fill(T::zero());
            continue;
        }
        line[..left * c].fill(T::zero());
        line[(left + cols) * c..].fill(T::zero());
        line[left * c..][..cols * c].copy_from_slice(&img[iy as usize * g.w * c..][..cols * c]);
    }
}

/// The rows of an HWIO `kernel` that `class`'s taps read: the kernel itself for all taps, a
/// copy of the taps' `c_in × c_out` blocks otherwise.
fn class_kernel<'a, T: Copy>(kernel: &'a [T], g: &ConvGeom, class: &Class) -> Cow<'a, [T]> {
    if (class.y.taps(), class.x.taps()) == (g.kh, g.kw) {
        return Cow::Borrowed(kernel);
    }
    let tap = g.c_in * g.c_out;
    let mut out = Vec::with_capacity(class.k(g.c_in) * g.c_out);
    for ky in class.y.lo..class.y.hi {
        out.extend_from_slice(&kernel[(ky * g.kw + class.x.lo) * tap..][..class.x.taps() * tap]);
    }
    Cow::Owned(out)
}

/// The input gradient of a convolution, which is also the transposed convolution: `gy`
/// (n, oh, ow, c_out) and `kernel` (kh, kw, c_in, c_out), both contiguous, into a new
/// (n, h, w, c_in) buffer.
pub(crate) fn conv2d_backprop_input<T: GemmElem>(gy: &[T], kernel: &[T], g: &ConvGeom) -> Vec<T> {
    if g.rows() == 0 {
        return backprop_input_scatter(gy, kernel, g);
    }
    if let Some(fg) = g.backprop_input_as_forward() {
        return conv2d(
            gy,
            &flipped_taps(kernel, g, [0, 0], [g.kh, g.kw]),
            None,
            &fg,
        );
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
    let forwards: Vec<(&Phase, Forward<T>)> = live
        .iter()
        .map(|(p, taps)| (*p, Forward::new(taps, p.g)))
        .collect();
    // (phase, part, first row) of every band; a band never spans two phases or classes.
    let bands: Vec<(usize, (usize, usize))> = forwards
        .iter()
        .enumerate()
        .flat_map(|(i, (_, fw))| fw.cut.bands().map(move |band| (i, band)))
        .collect();
    let run = |dx: &DisjointRows<T>,
               (cols, out): &mut (Vec<T>, Vec<T>),
               (i, band): (usize, (usize, usize))| {
        let (p, fw) = &forwards[i];
        let rows = fw.cut.rows(band);
        grow(out, rows * c);
        fw.run(gy, band, cols, &mut out[..rows * c]);
        for (j, px) in out[..rows * c].chunks_exact(c).enumerate() {
            let (b, qy, qx) = fw.cut.classes[band.0].pixel(band.1 + j);
            let (iy, ix) = (qy * g.stride[0] + p.r[0], qx * g.stride[1] + p.r[1]);
            // SAFETY: pixel (b, iy, ix) belongs to this phase's pixel (b, qy, qx) alone.
            unsafe { dx.write(((b * g.h + iy) * g.w + ix) * c, px) };
        }
    };
    let fill = |dx: &mut [T]| {
        let dx = DisjointRows(dx.as_mut_ptr());
        for_each_scratch(&bands, g.flops() >= PAR_FLOPS, |scratch, &band| {
            run(&dx, scratch, band)
        });
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
/// A band of an exact class adds into the rows of its taps only, with its rows of `gy`
/// gathered beside its `cols`.
pub(crate) fn conv2d_backprop_kernel<T: GemmElem>(x: &[T], gy: &[T], g: &ConvGeom) -> Vec<T> {
    let (k, n, c) = (g.k(), g.c_out, g.c_in);
    if k * n == 0 || g.rows() == 0 {
        return vec![T::zero(); k * n];
    }
    if let Some(lines) = g.slab_lines() {
        return backprop_kernel_by_slabs(x, gy, g, lines);
    }
    let cut = Cut::new(*g);
    let whole = cut.is_whole();
    // Adds band (i, r0)'s contribution colsᵀ · gy_band into acc (k × n).
    let add_band =
        |acc: &mut Vec<T>, (cols, gyt): &mut (Vec<T>, Vec<T>), &band: &(usize, usize)| {
            let ((i, r0), rows) = (band, cut.rows(band));
            let class = &cut.classes[i];
            let kc = class.k(c);
            if kc == 0 {
                return;
            }
            let lhs = if g.is_pointwise() {
                x[r0 * k..].as_ptr()
            } else {
                grow(cols, rows * kc);
                im2col(x, g, class, r0, &mut cols[..rows * kc]);
                cols.as_ptr()
            };
            let rhs = if whole {
                gy[r0 * n..].as_ptr()
            } else {
                grow(gyt, rows * n);
                for (j, dst) in gyt[..rows * n].chunks_exact_mut(n).enumerate() {
                    dst.copy_from_slice(&gy[cut.pixel(i, r0 + j) * n..][..n]);
                }
                gyt.as_ptr()
            };
            // The class's taps are `ny` runs of `nx·c` rows of the kernel, one per tap row, and
            // one run when they span whole tap rows.
            let (ny, nx) = (class.y.taps(), class.x.taps());
            let (runs, run) = if nx == g.kw { (1, kc) } else { (ny, nx * c) };
            for j in 0..runs {
                let row0 = (class.y.lo + j) * g.kw * c + class.x.lo * c;
                // SAFETY: lhsᵀ's rows j·run.. are `run` columns of the band's cols (or of x),
                // rows × kc; rhs is rows × n of gy (or its gathered copy); acc's rows row0.. are
                // `run` rows of the k × n accumulator.
                unsafe {
                    T::gemm(
                        run,
                        n,
                        rows,
                        acc.as_mut_ptr().add(row0 * n),
                        true,
                        transposed(lhs.add(j * run), kc),
                        rows_of(rhs, n),
                        false,
                    )
                };
            }
        };
    let bands: Vec<(usize, usize)> = cut.bands().collect();
    sum_over(&bands, k * n, g.flops() >= PAR_FLOPS, add_band)
}

/// [`conv2d_backprop_kernel`] on slabs ([`ConvGeom::slab_lines`]): kernel row `ky`'s gradient
/// is the slab window at line `ky` (transposed) times the band's `gy` rows, laid out as the
/// window's rows are (`ow + kw − 1` a line, zeros for the rows that run through padding).
fn backprop_kernel_by_slabs<T: GemmElem>(x: &[T], gy: &[T], g: &ConvGeom, lines: usize) -> Vec<T> {
    let (n, wp, depth) = (g.c_out, g.slab_width(), g.kw * g.c_in);
    let add_band = |acc: &mut Vec<T>,
                    (slab, gyt): &mut (Vec<T>, Vec<T>),
                    &(b, oy0, l): &(usize, usize, usize)| {
        let rows = (l - 1) * wp + g.ow;
        slab_band(x, g, b, oy0, l, slab);
        grow(gyt, rows * n);
        for (j, line) in gyt[..rows * n].chunks_mut(wp * n).enumerate() {
            line[..g.ow * n].copy_from_slice(&gy[((b * g.oh + oy0 + j) * g.ow) * n..][..g.ow * n]);
            line[g.ow * n..].fill(T::zero());
        }
        for ky in 0..g.kh {
            // SAFETY: the slab window at line ky is rows × depth at rows c_in apart
            // (slab_band's contract), read transposed; gyt is rows × n; the accumulator's
            // rows ky·depth.. are depth × n.
            unsafe {
                T::gemm(
                    depth,
                    n,
                    rows,
                    acc.as_mut_ptr().add(ky * depth * n),
                    true,
                    Mat {
                        ptr: slab.as_ptr().add(ky * wp * g.c_in),
                        rs: 1,
                        cs: g.c_in as isize,
                    },
                    rows_of(gyt.as_ptr(), n),
                    false,
                )
            };
        }
    };
    let bands = slab_bands(g, lines);
    sum_over(&bands, g.k() * n, g.flops() >= PAR_FLOPS, add_band)
}

/// Adds `bias` (one value per output channel) to every row of `rows`, while a band's output
/// is still in cache: the bias costs no pass over the whole output of its own.
fn add_bias<T: Num>(rows: &mut [T], bias: Option<&[T]>) {
    if let Some(bias) = bias {
        // Compiled for the widest vectors: in baseline x86-64 this loop cost 7% of a 3×3
        // 64→64 forward.
        crate::kernels::simd::vectorized(|| {
            for row in rows.chunks_exact_mut(bias.len()) {
                for (v, b) in row.iter_mut().zip(bias) {
                    *v += *b;
                }
            }
        });
    }
}

/// Grows a scratch buffer to at least `len` elements.
fn grow<T: Num>(buf: &mut Vec<T>, len: usize) {
    if buf.len() < len {
        buf.resize(len, T::zero());
    }
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

    /// The geometry of `case` with `c_in` and `c_out` channels.
    fn square(case: Case, c_in: usize, c_out: usize) -> ConvGeom {
        let (h, w, k, s, d, p, oh, ow) = case;
        ConvGeom {
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
        }
    }

    /// The fast input gradient (whatever path `conv2d_backprop_input` takes for `case`) equals
    /// the col2im scatter, which handles every geometry.
    fn matches_the_scatter(case: Case, c_in: usize, c_out: usize) -> ConvGeom {
        let g = square(case, c_in, c_out);
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
        // DCGAN's first transposed convolution: the forward conv runs in exact classes.
        let g = matches_the_scatter((7, 7, 5, 1, 1, 2, 7, 7), 4, 8);
        assert!(g.backprop_input_as_forward().unwrap().classes().len() > 1);
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
        let phases = g.backprop_input_phases().unwrap();
        assert!(g.flops() >= PAR_FLOPS && phases.iter().any(|p| p.g.classes().len() > 1));
        // Phase 2 would read gy one row ahead of its output (negative padding): the scatter.
        let g = matches_the_scatter((10, 11, 3, 3, 1, 1, 4, 4), 8, 3);
        assert!(g.backprop_input_phases().is_none());
    }

    /// The forward convolution and its kernel gradient by the definition, one multiply-add at a
    /// time: `(y, dkernel)` for `gy`.
    fn by_definition(x: &[f64], kernel: &[f64], gy: &[f64], g: &ConvGeom) -> (Vec<f64>, Vec<f64>) {
        let mut y = vec![0.0; g.rows() * g.c_out];
        let mut dk = vec![0.0; kernel.len()];
        for b in 0..g.n {
            for (oy, ox) in (0..g.oh).flat_map(|oy| (0..g.ow).map(move |ox| (oy, ox))) {
                let p = (b * g.oh + oy) * g.ow + ox;
                for (ky, kx) in (0..g.kh).flat_map(|ky| (0..g.kw).map(move |kx| (ky, kx))) {
                    let iy = (oy * g.stride[0] + ky * g.dilation[0]) as isize - g.pad[0] as isize;
                    let ix = (ox * g.stride[1] + kx * g.dilation[1]) as isize - g.pad[1] as isize;
                    if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                        continue;
                    }
                    let px = ((b * g.h + iy as usize) * g.w + ix as usize) * g.c_in;
                    for ci in 0..g.c_in {
                        for co in 0..g.c_out {
                            let t = ((ky * g.kw + kx) * g.c_in + ci) * g.c_out + co;
                            y[p * g.c_out + co] += x[px + ci] * kernel[t];
                            dk[t] += x[px + ci] * gy[p * g.c_out + co];
                        }
                    }
                }
            }
        }
        (y, dk)
    }

    #[test]
    fn classes_cover_every_pixel_once_with_only_taps_inside() {
        // A 5×5 "same" window on 7×7 (DCGAN's first transposed conv) overhangs for 31% of its
        // taps: 5 runs a side.
        let g = ConvGeom {
            n: 1,
            c_in: 8,
            c_out: 2,
            ..geom(7, 5, 1, 1, 2, 7)
        };
        let classes = g.classes();
        assert_eq!(classes.len(), 25);
        let mut seen = [0; 49];
        for class in &classes {
            for r in 0..class.per_image() {
                let (_, oy, ox) = class.pixel(r);
                seen[oy * 7 + ox] += 1;
                let (ty, tx) = (g.taps_y(oy), g.taps_x(ox));
                assert_eq!(
                    (ty.lo, ty.hi, tx.lo, tx.hi),
                    (class.y.lo, class.y.hi, class.x.lo, class.x.hi)
                );
            }
        }
        assert!(seen.iter().all(|&s| s == 1));
        // A 3×3 window on 64×64 overhangs for 2%: one whole class.
        assert_eq!(
            geom(64, 3, 1, 1, 1, 64).classes(),
            vec![geom(64, 3, 1, 1, 1, 64).whole()]
        );
    }

    #[test]
    fn forward_and_kernel_gradient_by_classes_equal_the_definition() {
        // (h, w, k, stride, dilation, pad, oh, ow, c_in, c_out, exact classes): DCGAN's
        // convolutions (one channel: whole), dilation, 'valid', a 3×3 on 32×32 (whole), and
        // channels wide enough for the parallel loops.
        let cases = [
            (7, 7, 5, 1, 1, 2, 7, 7, 8, 4, true),
            (14, 14, 5, 2, 1, 1, 7, 7, 9, 3, true),
            (28, 28, 5, 2, 1, 1, 14, 14, 1, 5, false),
            (9, 8, 3, 1, 2, 2, 9, 8, 8, 3, true),
            (9, 9, 3, 2, 1, 0, 4, 4, 8, 3, false),
            (32, 32, 3, 1, 1, 1, 32, 32, 8, 2, false),
            (7, 7, 5, 1, 1, 2, 7, 7, 32, 32, true),
        ];
        for (h, w, k, s, d, p, oh, ow, c_in, c_out, exact) in cases {
            let g = ConvGeom {
                n: 3,
                ..square((h, w, k, s, d, p, oh, ow), c_in, c_out)
            };
            assert_eq!(g.classes().len() > 1, exact, "{g:?}");
            agrees_with_the_definition(&g, |x, gy| conv2d_backprop_kernel(x, gy, &g));
        }
    }

    /// Checks [`conv2d`] and `kernel_grad(x, gy)` against [`by_definition`] on formula-filled
    /// operands.
    fn agrees_with_the_definition(g: &ConvGeom, kernel_grad: impl Fn(&[f64], &[f64]) -> Vec<f64>) {
        let fill =
            |len: usize, f: f64| -> Vec<f64> { (0..len).map(|i| (i as f64 * f).sin()).collect() };
        let x = fill(g.n * g.h * g.w * g.c_in, 0.37);
        let kernel = fill(g.k() * g.c_out, 0.13);
        let gy = fill(g.rows() * g.c_out, 0.29);
        let (y, dk) = by_definition(&x, &kernel, &gy, g);
        for (got, want) in [
            (conv2d(&x, &kernel, None, g), y),
            (kernel_grad(&x, &gy), dk),
        ] {
            assert_eq!(got.len(), want.len());
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-10, "{g:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn slabs_equal_the_definition() {
        // (h, k, pad, oh, c_in, c_out, lines per band): 'same' 3×3 (one line per band, and
        // bands that end mid-image), 'valid', and a 4×4 'same' window (pad 1 before, 2 after).
        for (h, k, p, oh, c_in, c_out, lines) in [
            (32, 3, 1, 32, 32, 5, 1),
            (32, 3, 1, 32, 32, 5, 5),
            (40, 3, 0, 38, 32, 3, 38),
            (48, 4, 1, 48, 16, 3, 3),
        ] {
            let g = ConvGeom {
                n: 2,
                c_in,
                c_out,
                ..geom(h, k, 1, 1, p, oh)
            };
            assert!(g.slab_lines().is_some(), "{g:?}");
            agrees_with_the_definition(&g, |x, gy| backprop_kernel_by_slabs(x, gy, &g, lines));
        }
        // The stride-1 input gradient runs as a forward convolution on slabs.
        let g = matches_the_scatter((34, 34, 3, 1, 1, 1, 34, 34), 4, 32);
        assert!(g
            .backprop_input_as_forward()
            .unwrap()
            .slab_lines()
            .is_some());
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
        im2col(&x, &g, &g.whole(), 0, &mut cols);
        let c: Vec<f64> = (0..cols.len()).map(|i| (i as f64 * 0.11).cos()).collect();
        let mut back = vec![0.0; x.len()];
        col2im_add(&c, &g, 0, &mut back);
        let lhs: f64 = cols.iter().zip(&c).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-12, "{lhs} vs {rhs}");
    }
}
