//! Pooling on NHWC images: `max_pool2d` and `avg_pool2d`, with Keras semantics. Global average
//! pooling is `x.mean(&[1, 2], false)`.
//!
//! Both are linear once the window choice is fixed, and their rules are their adjoints:
//! max pooling is a gather at the argmax positions (its gradient scatters back to them),
//! average pooling a separable linear map (its gradient is the transposed map, shared with
//! `resize`).

use super::conv::{nhwc, positive, Padding, Pair};
use crate::error::{or_panic, Result};
use crate::kernels::im2col::ConvGeom;
use crate::kernels::pool::{self, AxisMap};
use crate::record::{record, Backward};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::sync::Arc;

/// The window geometry of a pooling op (a convolution with `c_in == c_out` and no dilation).
fn pool_geom(
    op: &str,
    x: &Tensor,
    pool: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
) -> Result<ConvGeom> {
    let [n, h, w, c] = nhwc(op, x)?;
    positive(op, "pool_size", pool)?;
    positive(op, "strides", strides)?;
    if let Padding::Explicit(p) = padding
        && (p[0][0].max(p[0][1]) >= pool[0] || p[1][0].max(p[1][1]) >= pool[1])
    {
        crate::bail!(
            Argument,
            "{op}: padding {padding} must be smaller than the pool {}: a window would see only padding",
            Pair(pool)
        );
    }
    let (Some((oh, pt)), Some((ow, pl))) = (
        padding.resolve(0, h, pool[0], strides[0]),
        padding.resolve(1, w, pool[1], strides[1]),
    ) else {
        crate::bail!(
            Shape,
            "{op}: pool {} is larger than the input {} with {padding} padding",
            Pair(pool),
            Pair([h, w])
        );
    };
    Ok(ConvGeom {
        n,
        h,
        w,
        c_in: c,
        oh,
        ow,
        c_out: c,
        kh: pool[0],
        kw: pool[1],
        stride: strides,
        dilation: [1, 1],
        pad: [pt, pl],
    })
}

impl Tensor {
    /// Max pooling: the maximum of each `pool_size` window, per channel, as Keras'
    /// `MaxPooling2D` (padding is never chosen: `Same` windows cover fewer inputs at the
    /// borders).
    ///
    /// Gradient: each output's gradient goes to the input that was its maximum; where windows
    /// overlap, an input collects from every window it won. Ties go to the **first** maximum in
    /// row-major window order (as PyTorch; TensorFlow's CPU kernel does the same); a NaN counts
    /// as the maximum.
    ///
    /// # Shapes
    /// `(n, h, w, c)` → `(n, oh, ow, c)`, sizes as [`Padding`] says with the pool as window.
    ///
    /// ```
    /// use keen_tensor::{Tensor, ops::conv::Padding};
    /// let x = Tensor::from([1.0f32, 5.0, 2.0, 0.0, 3.0, 4.0, 9.0, 8.0, 7.0]).reshape([1, 3, 3, 1]);
    /// let y = x.max_pool2d([2, 2], [2, 2], Padding::Same);
    /// assert_eq!(y.dims(), [1, 2, 2, 1]);
    /// assert_eq!(y.to_vec::<f32>(), [5.0, 4.0, 9.0, 7.0]);
    /// ```
    /// # Panics
    /// `max_pool2d: expects rank-4 NHWC input, got shape (3, 3)`; also on zero pool sizes or
    /// strides, a pool larger than the input with `Valid`, explicit padding as large as the
    /// pool, or a non-float dtype.
    #[track_caller]
    pub fn max_pool2d(
        &self,
        pool_size: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    ) -> Tensor {
        or_panic(self.try_max_pool2d(pool_size, strides, padding))
    }

    /// Fallible [`max_pool2d`](Self::max_pool2d).
    #[track_caller]
    pub fn try_max_pool2d(
        &self,
        pool_size: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    ) -> Result<Tensor> {
        let op = "max_pool2d";
        let g = pool_geom(op, self, pool_size, strides, padding)?;
        let x = dense(self);
        let (out, idx) = crate::dispatch_float!(x.dtype(), op, T, {
            let (v, idx) = pool::max_pool(x.as_slice::<T>().expect("dense"), &g);
            (
                Tensor::from_vec_unchecked(v, Shape::new(&[g.n, g.oh, g.ow, g.c_out])),
                idx,
            )
        });
        let picked = Picked {
            idx: Arc::new(idx),
            n: g.n,
            inputs: self.shape().clone(),
            outputs: out.shape().clone(),
        };
        record(&[self], &out, || GatherBackward(picked));
        Ok(out)
    }
}

/// A contiguous version of `t` (itself when already contiguous).
fn dense(t: &Tensor) -> Tensor {
    if t.is_contiguous() {
        t.clone()
    } else {
        t.contiguous_unrecorded()
    }
}

/// The argmax positions of one max pooling: output `i` came from flat input `idx[i]`.
#[derive(Clone)]
struct Picked {
    idx: Arc<Vec<usize>>,
    n: usize,
    inputs: Shape,
    outputs: Shape,
}

/// `out[i] = x[idx[i]]`: max pooling with its choice fixed (the rule of max pooling's rule).
#[track_caller]
fn gather(x: &Tensor, p: &Picked) -> Result<Tensor> {
    let xd = dense(x);
    let out = crate::dispatch_float!(xd.dtype(), "max_pool2d", T, {
        let v = pool::gather(xd.as_slice::<T>().expect("dense"), &p.idx);
        Tensor::from_vec_unchecked(v, p.outputs.clone())
    });
    record(&[x], &out, || GatherBackward(p.clone()));
    Ok(out)
}

/// `out[idx[i]] += g[i]`: max pooling's gradient, sending each output's gradient to its argmax.
#[track_caller]
fn scatter(g: &Tensor, p: &Picked) -> Result<Tensor> {
    let gd = dense(g);
    let out = crate::dispatch_float!(gd.dtype(), "max_pool2d", T, {
        let v = pool::scatter_add(
            gd.as_slice::<T>().expect("dense"),
            &p.idx,
            p.inputs.numel(),
            p.n,
        );
        Tensor::from_vec_unchecked(v, p.inputs.clone())
    });
    record(&[g], &out, || ScatterBackward(p.clone()));
    Ok(out)
}

/// The rule of max pooling (a gather at the argmax): scatter the gradient back.
struct GatherBackward(Picked);
impl Backward for GatherBackward {
    fn name(&self) -> &'static str {
        "max_pool2d"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(or_panic(scatter(g, &self.0)))]
    }
}

/// The rule of max pooling's gradient (a scatter to the argmax): gather at the argmax again.
/// Recorded under `max_pool2d` too: it is the same selection, transposed.
struct ScatterBackward(Picked);
impl Backward for ScatterBackward {
    fn name(&self) -> &'static str {
        "max_pool2d"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(or_panic(gather(g, &self.0)))]
    }
}

impl Tensor {
    /// Average pooling: the mean of each `pool_size` window, per channel, as Keras'
    /// `AveragePooling2D`. With `Same` (or explicit) padding a border window divides by the
    /// number of **input** elements it covers, not by the pool size (TensorFlow's rule;
    /// PyTorch's `count_include_pad=False`).
    ///
    /// Linear, so its gradient is its adjoint: each output's gradient spread evenly over its
    /// window.
    ///
    /// # Shapes
    /// `(n, h, w, c)` → `(n, oh, ow, c)`, sizes as [`Padding`] says with the pool as window.
    ///
    /// ```
    /// use keen_tensor::{Tensor, ops::conv::Padding};
    /// let x = Tensor::from([1.0f32, 5.0, 2.0, 0.0, 3.0, 4.0, 9.0, 8.0, 7.0]).reshape([1, 3, 3, 1]);
    /// let y = x.avg_pool2d([2, 2], [2, 2], Padding::Same);
    /// assert_eq!(y.to_vec::<f32>(), [2.25, 3.0, 8.5, 7.0]);
    /// ```
    /// # Panics
    /// As [`max_pool2d`](Self::max_pool2d), naming `avg_pool2d`.
    #[track_caller]
    pub fn avg_pool2d(
        &self,
        pool_size: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    ) -> Tensor {
        or_panic(self.try_avg_pool2d(pool_size, strides, padding))
    }

    /// Fallible [`avg_pool2d`](Self::avg_pool2d).
    #[track_caller]
    pub fn try_avg_pool2d(
        &self,
        pool_size: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    ) -> Result<Tensor> {
        let op = "avg_pool2d";
        let g = pool_geom(op, self, pool_size, strides, padding)?;
        self.expect_float(op)?;
        // The divisor of a window is rows × columns, so the map factors into one per axis.
        let axis = |out: usize, stride: usize, pad: usize, k: usize, len: usize| AxisMap {
            len,
            rows: (0..out)
                .map(|o| {
                    let (count, first) = pool::window(o, stride, pad, k, len);
                    (first..first + count)
                        .map(|i| (i, 1.0 / count as f64))
                        .collect()
                })
                .collect(),
        };
        let my = axis(g.oh, g.stride[0], g.pad[0], g.kh, g.h);
        let mx = axis(g.ow, g.stride[1], g.pad[1], g.kw, g.w);
        resample(self, Arc::new([my, mx]), "avg_pool2d")
    }
}

/// Applies a separable linear map (rows, then columns) to the NHWC `x` and records it under
/// `name`; its rule applies the transposed maps. `avg_pool2d` and `resize` are made of this.
#[track_caller]
pub(crate) fn resample(x: &Tensor, maps: Arc<[AxisMap; 2]>, name: &'static str) -> Result<Tensor> {
    let [n, _, _, c] = nhwc(name, x)?;
    let xd = dense(x);
    let shape = Shape::new(&[n, maps[0].rows.len(), maps[1].rows.len(), c]);
    let out = crate::dispatch_float!(xd.dtype(), name, T, {
        let v = pool::resample(xd.as_slice::<T>().expect("dense"), n, c, &maps[0], &maps[1]);
        Tensor::from_vec_unchecked(v, shape)
    });
    record(&[x], &out, || ResampleBackward { maps, name });
    Ok(out)
}

/// The rule of a separable linear map: the transposed map, recorded under the same name.
struct ResampleBackward {
    maps: Arc<[AxisMap; 2]>,
    name: &'static str,
}
impl Backward for ResampleBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let adjoint = Arc::new([self.maps[0].transpose(), self.maps[1].transpose()]);
        vec![Some(or_panic(resample(g, adjoint, self.name)))]
    }
}
