//! Padding and repetition: pad (constant), tile, repeat, flip, outer.
//!
//! `pad` is the adjoint of `slice`: both are primitives with rules written in each other, so
//! gradients of any order work. `flip` is a primitive (its own adjoint); tile, repeat and outer
//! are compositions of reshape, broadcast_to and mul, and take their gradients from those.

use crate::dtype::Element;
use crate::error::{or_panic, Result};
use crate::ops::slice::AxisRange;
use crate::record::{record, Backward};
use crate::shape::{normalize_axes, normalize_axis, Shape};
use crate::tensor::Tensor;
use ndarray::{ArrayViewMutD, Axis, IxDyn, Slice};

impl Tensor {
    /// Pads with the constant `value`: `pads[i] = (before, after)` elements around axis `i`,
    /// one pair per axis. d/dx is the gradient's slice at the original positions.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1, 2], [3, 4]]);
    /// let y = x.pad(&[(0, 1), (1, 0)], 0.0);
    /// assert_eq!(y.to_vec::<i32>(), [0, 1, 2, 0, 3, 4, 0, 0, 0]);
    /// ```
    /// # Panics
    /// `pad: 1 (before, after) pairs for a rank-2 tensor of shape (2, 2): give one per axis`.
    #[track_caller]
    pub fn pad(&self, pads: &[(usize, usize)], value: f64) -> Tensor {
        or_panic(self.try_pad(pads, value))
    }

    /// Fallible [`pad`](Self::pad).
    #[track_caller]
    pub fn try_pad(&self, pads: &[(usize, usize)], value: f64) -> Result<Tensor> {
        if pads.len() != self.rank() {
            crate::bail!(
                Shape,
                "pad: {} (before, after) pairs for a rank-{} tensor of shape {}: give one per axis",
                pads.len(),
                self.rank(),
                self.shape()
            );
        }
        let mut dims = Vec::with_capacity(self.rank());
        let mut spec = Vec::with_capacity(self.rank());
        for (&n, &(b, a)) in self.dims().iter().zip(pads) {
            let Some(d) = n.checked_add(b).and_then(|d| d.checked_add(a)) else {
                crate::bail!(Overflow, "pad: padded size of {} overflows", self.shape());
            };
            dims.push(d);
            spec.push(AxisRange {
                start: b,
                len: n,
                step: 1,
                keep: true,
            });
        }
        let shape = Shape::from(dims);
        shape.checked_alloc("pad", self.dtype())?;
        Ok(self.place(&shape, spec, value))
    }

    /// A tensor of `shape` filled with `fill`, with `self` written at the positions `spec`
    /// selects (the inverse of `slice_spec`), recorded as `pad`. `self`'s shape is the spec's
    /// kept lengths.
    #[track_caller]
    pub(crate) fn place(&self, shape: &Shape, spec: Vec<AxisRange>, fill: f64) -> Tensor {
        let out = crate::dispatch_all!(self.dtype(), T, {
            place_kernel::<T>(self, shape, &spec, T::from_f64(fill))
        });
        record(&[self], &out, || PadBackward { spec });
        out
    }
}

fn place_kernel<T: Element>(x: &Tensor, shape: &Shape, spec: &[AxisRange], fill: T) -> Tensor {
    let mut data = vec![fill; shape.numel()];
    if x.numel() > 0 {
        let mut out = ArrayViewMutD::from_shape(IxDyn(shape.dims()), &mut data).expect("shape");
        out.slice_each_axis_inplace(|ax| {
            let r = &spec[ax.axis.index()];
            let end = r.start + (r.len - 1) * r.step + 1;
            Slice::new(r.start as isize, Some(end as isize), r.step as isize)
        });
        let mut src = x.view::<T>();
        for (i, r) in spec.iter().enumerate() {
            if !r.keep {
                src = src.insert_axis(Axis(i));
            }
        }
        out.assign(&src);
    }
    Tensor::from_vec_unchecked(data, shape.clone())
}

/// d pad: the slice of the gradient at the positions the input was placed.
struct PadBackward {
    spec: Vec<AxisRange>,
}
impl Backward for PadBackward {
    fn name(&self) -> &'static str {
        "pad"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.slice_spec(self.spec.clone()))]
    }
}

impl Tensor {
    /// Reverses the order of elements along `axes` (all axes when empty). A copy.
    /// d/dx = flip of the gradient along the same axes.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1, 2, 3], [4, 5, 6]]);
    /// assert_eq!(x.flip(&[1]).to_vec::<i32>(), [3, 2, 1, 6, 5, 4]);
    /// assert_eq!(x.flip(&[]).to_vec::<i32>(), [6, 5, 4, 3, 2, 1]);
    /// ```
    /// # Panics
    /// `flip: axis 2 out of range for rank-2 tensor of shape (2, 3) (valid: -2..=1)`.
    #[track_caller]
    pub fn flip(&self, axes: &[isize]) -> Tensor {
        or_panic(self.try_flip(axes))
    }

    /// Fallible [`flip`](Self::flip).
    #[track_caller]
    pub fn try_flip(&self, axes: &[isize]) -> Result<Tensor> {
        let ax: Vec<usize> = if axes.is_empty() {
            (0..self.rank()).collect()
        } else {
            normalize_axes("flip", axes, self.shape())?.to_vec()
        };
        let out = crate::dispatch_all!(self.dtype(), T, {
            let mut v = self.view::<T>();
            for &a in &ax {
                v.invert_axis(Axis(a));
            }
            Tensor::from_vec_unchecked(v.iter().copied().collect(), self.shape().clone())
        });
        let axes: Vec<isize> = ax.iter().map(|&a| a as isize).collect();
        record(&[self], &out, || FlipBackward { axes });
        Ok(out)
    }

    /// Repeats the whole tensor `reps[i]` times along axis `i` (NumPy's `tile`, PyTorch's
    /// `repeat`). With more reps than axes, leading size-1 axes are added; with fewer, the reps
    /// apply to the trailing axes. Gradients flow through `broadcast_to` (a sum over the copies).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1, 2], [3, 4]]);
    /// assert_eq!(x.tile(&[1, 2]).to_vec::<i32>(), [1, 2, 1, 2, 3, 4, 3, 4]);
    /// assert_eq!(Tensor::from([1, 2]).tile(&[2, 1]).dims(), [2, 2]);
    /// ```
    #[track_caller]
    pub fn tile(&self, reps: &[usize]) -> Tensor {
        or_panic(self.try_tile(reps))
    }

    /// Fallible [`tile`](Self::tile).
    #[track_caller]
    pub fn try_tile(&self, reps: &[usize]) -> Result<Tensor> {
        let rank = self.rank().max(reps.len());
        let mut dims = vec![1usize; rank - self.rank()];
        dims.extend_from_slice(self.dims());
        let mut r = vec![1usize; rank - reps.len()];
        r.extend_from_slice(reps);
        // (d0, d1, …) -> (1, d0, 1, d1, …) -> (r0, d0, r1, d1, …) -> (r0·d0, r1·d1, …)
        let spread: Vec<usize> = dims.iter().flat_map(|&d| [1, d]).collect();
        let big: Vec<usize> = dims.iter().zip(&r).flat_map(|(&d, &k)| [k, d]).collect();
        let out: Vec<usize> = dims.iter().zip(&r).map(|(&d, &k)| d * k).collect();
        Shape::from(big.clone()).checked_alloc("tile", self.dtype())?;
        Ok(self
            .reshape_to(Shape::from(spread))
            .try_broadcast_to(Shape::from(big))?
            .reshape_to(Shape::from(out)))
    }

    /// Repeats each element `repeats` times along `axis` (NumPy's `repeat`, PyTorch's
    /// `repeat_interleave`). Gradients flow through `broadcast_to`.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1, 2], [3, 4]]);
    /// assert_eq!(x.repeat(2, 1).to_vec::<i32>(), [1, 1, 2, 2, 3, 3, 4, 4]);
    /// assert_eq!(x.repeat(2, 0).to_vec::<i32>(), [1, 2, 1, 2, 3, 4, 3, 4]);
    /// ```
    /// # Panics
    /// `repeat: axis 2 out of range for rank-2 tensor of shape (2, 2) (valid: -2..=1)`.
    #[track_caller]
    pub fn repeat(&self, repeats: usize, axis: isize) -> Tensor {
        or_panic(self.try_repeat(repeats, axis))
    }

    /// Fallible [`repeat`](Self::repeat).
    #[track_caller]
    pub fn try_repeat(&self, repeats: usize, axis: isize) -> Result<Tensor> {
        let a = normalize_axis("repeat", axis, self.shape())?;
        let mut spread = self.dims().to_vec();
        spread.insert(a + 1, 1);
        let mut big = spread.clone();
        big[a + 1] = repeats;
        let mut out = self.dims().to_vec();
        out[a] *= repeats;
        Shape::from(big.clone()).checked_alloc("repeat", self.dtype())?;
        Ok(self
            .reshape_to(Shape::from(spread))
            .try_broadcast_to(Shape::from(big))?
            .reshape_to(Shape::from(out)))
    }

    /// The outer product of two vectors: `out[i, j] = a[i] * b[j]`.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let o = Tensor::from([1, 2]).outer(&Tensor::from([3, 4, 5]));
    /// assert_eq!(o.to_vec::<i32>(), [3, 4, 5, 6, 8, 10]);
    /// ```
    /// # Panics
    /// `outer: expected two vectors, got shapes (2, 2) and (3,)`.
    #[track_caller]
    pub fn outer(&self, rhs: &Tensor) -> Tensor {
        or_panic(self.try_outer(rhs))
    }

    /// Fallible [`outer`](Self::outer).
    #[track_caller]
    pub fn try_outer(&self, rhs: &Tensor) -> Result<Tensor> {
        if self.rank() != 1 || rhs.rank() != 1 {
            crate::bail!(
                Shape,
                "outer: expected two vectors, got shapes {} and {}",
                self.shape(),
                rhs.shape()
            );
        }
        let a = self.reshape_to(Shape::new(&[self.numel(), 1]));
        let b = rhs.reshape_to(Shape::new(&[1, rhs.numel()]));
        a.try_mul(&b)
    }
}

struct FlipBackward {
    axes: Vec<isize>,
}
impl Backward for FlipBackward {
    fn name(&self) -> &'static str {
        "flip"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.flip(&self.axes))]
    }
}
