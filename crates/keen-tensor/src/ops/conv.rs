//! 2-D convolutions on NHWC images (Keras' `channels_last`) with HWIO kernels: `conv2d`,
//! `conv2d_transpose`, and the kernel gradient `conv2d_backprop_kernel`, all lowered to the
//! fast GEMM (`kernels/im2col.rs`).
//!
//! The three are one bilinear map read three ways. With `y = conv2d(x, k)` and an upstream
//! gradient `gy`: `∂⟨gy, y⟩/∂x = conv2d_transpose(gy, k)` and `∂⟨gy, y⟩/∂k =
//! conv2d_backprop_kernel(x, gy)`. Each rule below is written with the other two ops, so
//! gradients of any order stay on the GEMM path.

use crate::dtype::DType;
use crate::error::{or_panic, Result};
use crate::kernels::gemm::GemmElem;
use crate::kernels::im2col::{self, ConvGeom};
use crate::record::{record, Backward};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::fmt;

/// How a window op (convolution, pooling) pads its input, with Keras/TensorFlow semantics.
///
/// Along an axis of length `n`, with stride `s` and a window spanning `k` inputs (for a
/// dilated kernel `k = (kernel − 1)·dilation + 1`):
/// - `Valid`: no padding, every window inside the input: `ceil((n − k + 1) / s)` outputs.
/// - `Same`: `ceil(n / s)` outputs; the padding `max((out − 1)·s + k − n, 0)` is split in two
///   with the odd one at the bottom/right (TensorFlow's rule; PyTorch pads symmetrically).
/// - `Explicit([[top, bottom], [left, right]])`: zero padding of those sizes.
///
/// Padding is never read by pooling: max pooling ignores it and average pooling divides by the
/// number of input elements in each window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// No padding.
    Valid,
    /// Pad so that the output has `ceil(n / stride)` elements along each axis.
    Same,
    /// Explicit `[[top, bottom], [left, right]]` padding.
    Explicit([[usize; 2]; 2]),
}

impl Padding {
    /// For an axis (0: rows, 1: columns) of length `len`, a window spanning `span` inputs and
    /// `stride`: the number of outputs and the padding before the first input, or `None` when
    /// not even one window fits.
    pub(crate) fn resolve(
        self,
        axis: usize,
        len: usize,
        span: usize,
        stride: usize,
    ) -> Option<(usize, usize)> {
        match self {
            Padding::Valid => (len >= span).then(|| ((len - span) / stride + 1, 0)),
            Padding::Same => {
                let out = len.div_ceil(stride);
                let total = ((out.max(1) - 1) * stride + span).saturating_sub(len);
                Some((out, total / 2))
            }
            Padding::Explicit(p) => {
                let [before, after] = p[axis];
                let padded = len + before + after;
                (padded >= span).then(|| ((padded - span) / stride + 1, before))
            }
        }
    }
}

impl fmt::Display for Padding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Padding::Valid => f.write_str("valid"),
            Padding::Same => f.write_str("same"),
            Padding::Explicit([[t, b], [l, r]]) => write!(f, "[[{t}, {b}], [{l}, {r}]]"),
        }
    }
}

/// `(a, b)`, as shapes print.
pub(crate) struct Pair(pub [usize; 2]);
impl fmt::Display for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.0[0], self.0[1])
    }
}

/// The dimensions of a rank-4 NHWC input, or the error naming `op`.
pub(crate) fn nhwc(op: &str, x: &Tensor) -> Result<[usize; 4]> {
    match <[usize; 4]>::try_from(x.dims()) {
        Ok(d) => Ok(d),
        Err(_) => crate::bail!(
            Shape,
            "{op}: expects rank-4 NHWC input, got shape {}",
            x.shape()
        ),
    }
}

/// Checks that strides, pool sizes or dilations are positive.
pub(crate) fn positive(op: &str, what: &str, v: [usize; 2]) -> Result<()> {
    if v.contains(&0) {
        crate::bail!(Argument, "{op}: {what} must be positive, got {}", Pair(v));
    }
    Ok(())
}

/// Checks that a kernel is rank 4 and returns its dimensions.
fn kernel_dims(op: &str, layout: &str, k: &Tensor) -> Result<[usize; 4]> {
    match <[usize; 4]>::try_from(k.dims()) {
        Ok(d) if d[0] > 0 && d[1] > 0 => Ok(d),
        Ok(_) => crate::bail!(Shape, "{op}: kernel {} has an empty window", k.shape()),
        Err(_) => crate::bail!(
            Shape,
            "{op}: expects a rank-4 {layout} kernel, got shape {}",
            k.shape()
        ),
    }
}

/// Checks that both operands are floats of one dtype.
fn same_float(op: &str, a: &Tensor, b: &Tensor) -> Result<()> {
    a.expect_float(op)?;
    if a.dtype() != b.dtype() {
        crate::bail!(
            DType,
            "{op}: dtypes differ: input {} vs kernel {}",
            a.dtype(),
            b.dtype()
        );
    }
    Ok(())
}

/// The geometry of a convolution of the NHWC `x` with a `window` kernel of `c_out` filters.
fn forward_geom(
    op: &str,
    [n, h, w, c_in]: [usize; 4],
    window: [usize; 2],
    c_out: usize,
    strides: [usize; 2],
    padding: Padding,
    dilation: [usize; 2],
) -> Result<ConvGeom> {
    positive(op, "strides", strides)?;
    positive(op, "dilation", dilation)?;
    let span = |a: usize| (window[a] - 1) * dilation[a] + 1;
    let (Some((oh, pt)), Some((ow, pl))) = (
        padding.resolve(0, h, span(0), strides[0]),
        padding.resolve(1, w, span(1), strides[1]),
    ) else {
        crate::bail!(
            Shape,
            "{op}: kernel {} with dilation {} spans {}, larger than the input {} with {padding} padding",
            Pair(window),
            Pair(dilation),
            Pair([span(0), span(1)]),
            Pair([h, w])
        );
    };
    let g = ConvGeom {
        n,
        h,
        w,
        c_in,
        oh,
        ow,
        c_out,
        kh: window[0],
        kw: window[1],
        stride: strides,
        dilation,
        pad: [pt, pl],
    };
    Shape::new(&[g.n, g.oh, g.ow, g.c_out]).checked_numel(op)?;
    Ok(g)
}

/// A contiguous version of `t` (itself when already contiguous).
fn dense(t: &Tensor) -> Tensor {
    if t.is_contiguous() {
        t.clone()
    } else {
        t.contiguous_unrecorded()
    }
}

/// Runs a conv kernel on contiguous copies of `a` and `b` (and the forward's `bias`) and wraps
/// the result in `shape`.
fn run(a: &Tensor, b: &Tensor, bias: Option<&Tensor>, shape: [usize; 4], f: Kernel) -> Tensor {
    let (a, b, bias) = (dense(a), dense(b), bias.map(dense));
    fn go<T: GemmElem>(
        a: &Tensor,
        b: &Tensor,
        bias: Option<&Tensor>,
        shape: [usize; 4],
        f: Kernel,
    ) -> Tensor {
        let (x, y) = (
            a.as_slice::<T>().expect("dense"),
            b.as_slice::<T>().expect("dense"),
        );
        let bias = bias.map(|t| t.as_slice::<T>().expect("dense"));
        let v = match f {
            Kernel::Forward(g) => im2col::conv2d(x, y, bias, &g),
            Kernel::BackpropInput(g) => im2col::conv2d_backprop_input(x, y, &g),
            Kernel::BackpropKernel(g) => im2col::conv2d_backprop_kernel(x, y, &g),
        };
        Tensor::from_vec_unchecked(v, Shape::new(&shape))
    }
    match a.dtype() {
        DType::Float32 => go::<f32>(&a, &b, bias.as_ref(), shape, f),
        DType::Float64 => go::<f64>(&a, &b, bias.as_ref(), shape, f),
        other => unreachable!("conv kernels run on floats, got {other}"),
    }
}

#[derive(Clone, Copy)]
#[allow(clippy::enum_variant_names)] // the three GEMM lowerings, named as in TensorFlow
enum Kernel {
    Forward(ConvGeom),
    BackpropInput(ConvGeom),
    BackpropKernel(ConvGeom),
}

impl Tensor {
    /// 2-D convolution (cross-correlation, as in every framework) of an NHWC input with an HWIO
    /// kernel, as Keras' `Conv2D` and `tf.nn.conv2d`:
    ///
    /// `y[b, i, j, o] = Σ_{p, q, c} x[b, i·sh + p·dh − pt, j·sw + q·dw − pl, c] · k[p, q, c, o]`
    ///
    /// with zeros outside the input; the padding `(pt, pl)` follows [`Padding`]. Gradients:
    /// `∂/∂x = conv2d_transpose(gy, k)`, `∂/∂k = conv2d_backprop_kernel(x, gy)`. For a bias,
    /// [`conv2d_with_bias`](Self::conv2d_with_bias) adds it as the output is made.
    ///
    /// # Shapes
    /// input `(n, h, w, c_in)`, kernel `(kh, kw, c_in, c_out)`, output `(n, oh, ow, c_out)`.
    ///
    /// ```
    /// use keen_tensor::{DType, Tensor, ops::conv::Padding};
    /// let x = Tensor::ones([1, 4, 4, 1], DType::Float32);
    /// let k = Tensor::ones([3, 3, 1, 2], DType::Float32);
    /// let y = x.conv2d(&k, [1, 1], Padding::Same, [1, 1]);
    /// assert_eq!(y.dims(), [1, 4, 4, 2]);
    /// // A 3×3 box sum: corners see 4 pixels, edges 6, the middle 9.
    /// assert_eq!(y.to_vec::<f32>()[..8], [4.0, 4.0, 6.0, 6.0, 6.0, 6.0, 4.0, 4.0]);
    /// let y = x.conv2d(&k, [2, 2], Padding::Valid, [1, 1]);
    /// assert_eq!(y.dims(), [1, 1, 1, 2]);
    /// ```
    /// # Panics
    /// `conv2d: expects rank-4 NHWC input, got shape (64, 28, 28)`; also on a kernel that is
    /// not rank 4, channels that differ (`conv2d: input has 3 channels but the kernel expects
    /// 64: input (2, 5, 5, 3) vs kernel (3, 3, 64, 8)`), zero strides or dilation, a window
    /// larger than the padded input, and non-float or mixed dtypes.
    #[track_caller]
    pub fn conv2d(
        &self,
        kernel: &Tensor,
        strides: [usize; 2],
        padding: Padding,
        dilation: [usize; 2],
    ) -> Tensor {
        or_panic(self.try_conv2d(kernel, strides, padding, dilation))
    }

    /// Fallible [`conv2d`](Self::conv2d).
    #[track_caller]
    pub fn try_conv2d(
        &self,
        kernel: &Tensor,
        strides: [usize; 2],
        padding: Padding,
        dilation: [usize; 2],
    ) -> Result<Tensor> {
        let g = self.conv2d_geom(kernel, strides, padding, dilation)?;
        Ok(conv2d_with(self, kernel, g))
    }

    /// Checks a conv2d's operands and gives its geometry.
    fn conv2d_geom(
        &self,
        kernel: &Tensor,
        strides: [usize; 2],
        padding: Padding,
        dilation: [usize; 2],
    ) -> Result<ConvGeom> {
        let op = "conv2d";
        let [kh, kw, kc, c_out] = kernel_dims(op, "HWIO", kernel)?;
        let g = forward_geom(
            op,
            nhwc(op, self)?,
            [kh, kw],
            c_out,
            strides,
            padding,
            dilation,
        )?;
        if kc != g.c_in {
            crate::bail!(
                Shape,
                "{op}: input has {} channels but the kernel expects {kc}: input {} vs kernel {}",
                g.c_in,
                self.shape(),
                kernel.shape()
            );
        }
        same_float(op, self, kernel)?;
        Ok(g)
    }

    /// [`conv2d`](Self::conv2d) plus a bias: `y[b, i, j, o] = conv2d(x, k)[b, i, j, o] +
    /// bias[o]`, as Keras' `Conv2D` and PyTorch's `conv2d(x, w, b)`. The same values as
    /// `x.conv2d(k, ..).add(&bias)`, without a second pass over the output: the bias is added
    /// to each band of output pixels while it is still in cache. `∂/∂bias` is `gy` summed
    /// over every axis but the channels.
    ///
    /// ```
    /// use keen_tensor::{DType, Tensor, ops::conv::Padding};
    /// let x = Tensor::ones([1, 4, 4, 1], DType::Float32);
    /// let k = Tensor::ones([3, 3, 1, 2], DType::Float32);
    /// let b = Tensor::from([0.5f32, -1.0]);
    /// let y = x.conv2d_with_bias(&k, &b, [1, 1], Padding::Same, [1, 1]);
    /// assert_eq!(y.to_vec::<f32>()[..4], [4.5, 3.0, 6.5, 5.0]);
    /// ```
    /// # Panics
    /// As [`conv2d`](Self::conv2d), and on a bias that is not `(c_out,)` of the kernel's dtype:
    /// `conv2d: bias must have shape (8,) for a kernel of 8 filters, got (3,)`.
    #[track_caller]
    pub fn conv2d_with_bias(
        &self,
        kernel: &Tensor,
        bias: &Tensor,
        strides: [usize; 2],
        padding: Padding,
        dilation: [usize; 2],
    ) -> Tensor {
        or_panic(self.try_conv2d_with_bias(kernel, bias, strides, padding, dilation))
    }

    /// Fallible [`conv2d_with_bias`](Self::conv2d_with_bias).
    #[track_caller]
    pub fn try_conv2d_with_bias(
        &self,
        kernel: &Tensor,
        bias: &Tensor,
        strides: [usize; 2],
        padding: Padding,
        dilation: [usize; 2],
    ) -> Result<Tensor> {
        let op = "conv2d";
        let g = self.conv2d_geom(kernel, strides, padding, dilation)?;
        let c_out = g.c_out;
        if bias.dims() != [c_out] {
            crate::bail!(
                Shape,
                "{op}: bias must have shape ({c_out},) for a kernel of {c_out} filters, got {}",
                bias.shape()
            );
        }
        if bias.dtype() != kernel.dtype() {
            crate::bail!(
                DType,
                "{op}: dtypes differ: bias {} vs kernel {}",
                bias.dtype(),
                kernel.dtype()
            );
        }
        Ok(biased_conv2d_with(self, kernel, Some(bias), g))
    }
}

/// `conv2d` with a resolved geometry: the op the rules call.
#[track_caller]
fn conv2d_with(x: &Tensor, k: &Tensor, g: ConvGeom) -> Tensor {
    biased_conv2d_with(x, k, None, g)
}

/// `conv2d` plus an optional bias, with a resolved geometry.
#[track_caller]
fn biased_conv2d_with(x: &Tensor, k: &Tensor, bias: Option<&Tensor>, g: ConvGeom) -> Tensor {
    let out = run(x, k, bias, [g.n, g.oh, g.ow, g.c_out], Kernel::Forward(g));
    let backward = || Conv2dBackward {
        x: x.clone(),
        k: k.clone(),
        g,
        bias: bias.is_some(),
    };
    match bias {
        Some(b) => record(&[x, k, b], &out, backward),
        None => record(&[x, k], &out, backward),
    }
    out
}

struct Conv2dBackward {
    x: Tensor,
    k: Tensor,
    g: ConvGeom,
    /// Whether a bias is the third input.
    bias: bool,
}
impl Backward for Conv2dBackward {
    fn name(&self) -> &'static str {
        "conv2d"
    }
    fn backward(&self, gy: &Tensor) -> Vec<Option<Tensor>> {
        self.backward_needed(gy, &[true; 3][..2 + usize::from(self.bias)])
    }
    fn backward_needed(&self, gy: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        let mut grads = vec![
            needed[0].then(|| conv2d_transpose_with(gy, &self.k, self.g)),
            needed[1].then(|| backprop_kernel_with(&self.x, gy, self.g)),
        ];
        if self.bias {
            grads.push(needed[2].then(|| gy.sum(&[0, 1, 2], false)));
        }
        grads
    }
}

impl Tensor {
    /// Transposed 2-D convolution ("deconvolution"), as Keras' `Conv2DTranspose` with the
    /// TensorFlow backend: the adjoint of [`conv2d`](Self::conv2d) with respect to its input,
    /// so `⟨conv2d_transpose(a, k), x⟩ = ⟨a, conv2d(x, k)⟩` for the conv2d that maps the
    /// output's shape back to `a`'s. Each input pixel scatters `k`, scaled, into a window of
    /// the output; windows overlap and add.
    ///
    /// The kernel is `(kh, kw, c_out, c_in)`, Keras' layout (the conv2d kernel that this op
    /// transposes). With `dilation` the kernel's taps are spread `dilation` apart (the adjoint
    /// of a dilated conv2d), so its window spans `k = (kernel − 1)·dilation + 1`; Keras'
    /// `Conv2DTranspose(dilation_rate=…)`. Output size per axis: without `output_padding`,
    /// `Same` gives `in·stride` and `Valid` gives `in·stride + max(k − stride, 0)`; with
    /// `output_padding = p` (each `< stride`) it is `(in − 1)·stride + k − 2·pad + p` with
    /// `pad = k / 2` for `Same` and 0 for `Valid`. `Explicit` padding crops the full output:
    /// `(in − 1)·stride + k − top − bottom + p`. Where the windows are placed then follows from
    /// the conv2d of that size (so `Same` crops the odd row at the bottom/right, as TensorFlow;
    /// PyTorch's `ConvTranspose2d(padding=2, output_padding=1)` of a 5×5 kernel crops the other
    /// side).
    ///
    /// Gradients: `∂/∂a = conv2d(gy, k)`, `∂/∂k = conv2d_backprop_kernel(gy, a)`.
    ///
    /// # Shapes
    /// input `(n, ih, iw, c_in)`, kernel `(kh, kw, c_out, c_in)`, output `(n, oh, ow, c_out)`.
    ///
    /// ```
    /// use keen_tensor::{DType, Tensor, ops::conv::Padding};
    /// let a = Tensor::ones([1, 2, 2, 1], DType::Float32);
    /// let k = Tensor::ones([3, 3, 1, 1], DType::Float32);
    /// let y = a.conv2d_transpose(&k, [2, 2], Padding::Valid, None, [1, 1]);
    /// assert_eq!(y.dims(), [1, 5, 5, 1]);
    /// // Two 3×3 stamps 2 apart overlap on the middle row and column.
    /// assert_eq!(y.to_vec::<f32>()[..5], [1.0, 1.0, 2.0, 1.0, 1.0]);
    /// let same = a.conv2d_transpose(&k, [2, 2], Padding::Same, None, [1, 1]);
    /// assert_eq!(same.dims(), [1, 4, 4, 1]);
    /// // Dilation 2: the 3×3 taps land two apart, a 5×5 window per input pixel.
    /// let one = Tensor::ones([1, 1, 1, 1], DType::Float32);
    /// let d = one.conv2d_transpose(&k, [1, 1], Padding::Valid, None, [2, 2]);
    /// assert_eq!(d.dims(), [1, 5, 5, 1]);
    /// assert_eq!(d.to_vec::<f32>()[..5], [1.0, 0.0, 1.0, 0.0, 1.0]);
    /// ```
    /// # Panics
    /// As [`conv2d`](Self::conv2d) (`conv2d_transpose: expects rank-4 NHWC input, …`, zero
    /// strides or dilation), and when `output_padding` is not smaller than the strides.
    #[track_caller]
    pub fn conv2d_transpose(
        &self,
        kernel: &Tensor,
        strides: [usize; 2],
        padding: Padding,
        output_padding: Option<[usize; 2]>,
        dilation: [usize; 2],
    ) -> Tensor {
        or_panic(self.try_conv2d_transpose(kernel, strides, padding, output_padding, dilation))
    }

    /// Fallible [`conv2d_transpose`](Self::conv2d_transpose).
    #[track_caller]
    pub fn try_conv2d_transpose(
        &self,
        kernel: &Tensor,
        strides: [usize; 2],
        padding: Padding,
        output_padding: Option<[usize; 2]>,
        dilation: [usize; 2],
    ) -> Result<Tensor> {
        let op = "conv2d_transpose";
        let [n, ih, iw, c] = nhwc(op, self)?;
        let [kh, kw, c_out, kc] = kernel_dims(op, "HWOI", kernel)?;
        positive(op, "strides", strides)?;
        positive(op, "dilation", dilation)?;
        if kc != c {
            crate::bail!(
                Shape,
                "{op}: input has {c} channels but the kernel expects {kc}: input {} vs kernel {}",
                self.shape(),
                kernel.shape()
            );
        }
        let p = output_padding.unwrap_or([0, 0]);
        if p[0] >= strides[0] || p[1] >= strides[1] {
            crate::bail!(
                Argument,
                "{op}: output_padding {} must be smaller than strides {}",
                Pair(p),
                Pair(strides)
            );
        }
        same_float(op, self, kernel)?;
        let (window, input) = ([kh, kw], [ih, iw]);
        let mut out = [0usize; 2];
        for a in 0..2 {
            // The dilated window's span takes the kernel size's place, as in Keras'
            // `deconv_output_length`.
            let (s, k, len) = (strides[a], (window[a] - 1) * dilation[a] + 1, input[a]);
            let full = (len.max(1) - 1) * s + k;
            let len_out = match (padding, output_padding) {
                (Padding::Same, None) => Some(len * s),
                (Padding::Valid, None) => Some(len * s + k.saturating_sub(s)),
                (Padding::Same, Some(p)) => (full + p[a]).checked_sub(k / 2 * 2),
                (Padding::Valid, Some(p)) => Some(full + p[a]),
                (Padding::Explicit(pad), p) => {
                    (full + p.map_or(0, |p| p[a])).checked_sub(pad[a][0] + pad[a][1])
                }
            };
            out[a] = match len_out {
                Some(v) if len > 0 => v,
                Some(_) => 0,
                None => crate::bail!(
                    Shape,
                    "{op}: padding {padding} crops more than the whole output along axis {}",
                    a + 1
                ),
            };
        }
        // The conv2d that maps the output back onto this input fixes where the windows sit.
        let g = forward_geom(
            op,
            [n, out[0], out[1], c_out],
            window,
            c,
            strides,
            padding,
            dilation,
        )?;
        if (g.oh, g.ow) != (ih, iw) {
            crate::bail!(
                Shape,
                "{op}: output {} with {padding} padding and output_padding {} does not map back \
                 onto the input {}",
                Pair(out),
                Pair(output_padding.unwrap_or([0, 0])),
                Pair([ih, iw])
            );
        }
        Ok(conv2d_transpose_with(self, kernel, g))
    }
}

/// The input gradient of the convolution `g` applied to `gy`: the op the rules call.
#[track_caller]
fn conv2d_transpose_with(gy: &Tensor, k: &Tensor, g: ConvGeom) -> Tensor {
    let out = run(
        gy,
        k,
        None,
        [g.n, g.h, g.w, g.c_in],
        Kernel::BackpropInput(g),
    );
    record(&[gy, k], &out, || Conv2dTransposeBackward {
        gy: gy.clone(),
        k: k.clone(),
        g,
    });
    out
}

struct Conv2dTransposeBackward {
    gy: Tensor,
    k: Tensor,
    g: ConvGeom,
}
impl Backward for Conv2dTransposeBackward {
    fn name(&self) -> &'static str {
        "conv2d_transpose"
    }
    fn backward(&self, dx: &Tensor) -> Vec<Option<Tensor>> {
        self.backward_needed(dx, &[true, true])
    }
    fn backward_needed(&self, dx: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        vec![
            needed[0].then(|| conv2d_with(dx, &self.k, self.g)),
            needed[1].then(|| backprop_kernel_with(dx, &self.gy, self.g)),
        ]
    }
}

impl Tensor {
    /// The gradient of [`conv2d`](Self::conv2d) with respect to its kernel (TensorFlow's
    /// `conv2d_backprop_filter`): for this input `x` and the output gradient `grad`,
    ///
    /// `dk[p, q, c, o] = Σ_{b, i, j} x[b, i·sh + p·dh − pt, j·sw + q·dw − pl, c] · grad[b, i, j, o]`
    ///
    /// one GEMM summed over the whole batch. Gradients: `∂/∂x = conv2d_transpose(grad, dk')`
    /// and `∂/∂grad = conv2d(x, dk')` for an upstream `dk'`.
    ///
    /// # Shapes
    /// input `(n, h, w, c_in)`, grad `(n, oh, ow, c_out)` (the conv2d's output shape), result
    /// `(kh, kw, c_in, c_out)` for `kernel_size = [kh, kw]`.
    ///
    /// ```
    /// use keen_tensor::{DType, Tensor, ops::conv::Padding};
    /// let x = Tensor::ones([2, 3, 3, 1], DType::Float64);
    /// let gy = Tensor::ones([2, 3, 3, 4], DType::Float64);
    /// let dk = x.conv2d_backprop_kernel(&gy, [3, 3], [1, 1], Padding::Same, [1, 1]);
    /// assert_eq!(dk.dims(), [3, 3, 1, 4]);
    /// assert_eq!(dk.to_vec::<f64>()[16], 18.0); // the centre tap sees every pixel of both images
    /// ```
    /// # Panics
    /// As [`conv2d`](Self::conv2d), and when `grad` does not have the conv2d's output shape.
    #[track_caller]
    pub fn conv2d_backprop_kernel(
        &self,
        grad: &Tensor,
        kernel_size: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
        dilation: [usize; 2],
    ) -> Tensor {
        or_panic(self.try_conv2d_backprop_kernel(grad, kernel_size, strides, padding, dilation))
    }

    /// Fallible [`conv2d_backprop_kernel`](Self::conv2d_backprop_kernel).
    #[track_caller]
    pub fn try_conv2d_backprop_kernel(
        &self,
        grad: &Tensor,
        kernel_size: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
        dilation: [usize; 2],
    ) -> Result<Tensor> {
        let op = "conv2d_backprop_kernel";
        positive(op, "kernel_size", kernel_size)?;
        let [_, _, _, c_out] = nhwc(op, grad)?;
        let g = forward_geom(
            op,
            nhwc(op, self)?,
            kernel_size,
            c_out,
            strides,
            padding,
            dilation,
        )?;
        if grad.dims() != [g.n, g.oh, g.ow, g.c_out] {
            crate::bail!(
                Shape,
                "{op}: grad has shape {} but the convolution of input {} gives ({}, {}, {}, {c_out})",
                grad.shape(),
                self.shape(),
                g.n,
                g.oh,
                g.ow
            );
        }
        same_float(op, self, grad)?;
        Ok(backprop_kernel_with(self, grad, g))
    }
}

/// The kernel gradient of the convolution `g`: the op the rules call.
#[track_caller]
fn backprop_kernel_with(x: &Tensor, gy: &Tensor, g: ConvGeom) -> Tensor {
    let out = run(
        x,
        gy,
        None,
        [g.kh, g.kw, g.c_in, g.c_out],
        Kernel::BackpropKernel(g),
    );
    record(&[x, gy], &out, || BackpropKernelBackward {
        x: x.clone(),
        gy: gy.clone(),
        g,
    });
    out
}

struct BackpropKernelBackward {
    x: Tensor,
    gy: Tensor,
    g: ConvGeom,
}
impl Backward for BackpropKernelBackward {
    fn name(&self) -> &'static str {
        "conv2d_backprop_kernel"
    }
    fn backward(&self, dk: &Tensor) -> Vec<Option<Tensor>> {
        self.backward_needed(dk, &[true, true])
    }
    fn backward_needed(&self, dk: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        vec![
            needed[0].then(|| conv2d_transpose_with(&self.gy, dk, self.g)),
            needed[1].then(|| conv2d_with(&self.x, dk, self.g)),
        ]
    }
}
