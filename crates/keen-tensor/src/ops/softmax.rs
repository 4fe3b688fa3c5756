//! Softmax and log-softmax along one axis: fused, numerically stable forward kernels (the
//! maximum is subtracted before exponentiating) and backward rules written in tensor ops, so
//! second-order gradients work.

use crate::error::{or_panic, Result};
use crate::kernels::reduce as k;
use crate::record::{record, Backward};
use crate::tensor::Tensor;

impl Tensor {
    /// `exp(x) / sum(exp(x))` along `axis` (negative counts from the end), computed as
    /// `exp(x - max) / sum(exp(x - max))` so that large inputs do not overflow.
    /// d/dx (given the gradient `g` of the output `y`) = `y·(g - sum(g·y))`.
    ///
    /// A row whose elements are all -inf gives NaN, as in PyTorch.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1.0f64, 2.0, 3.0], [1000.0, 1000.0, 1000.0]]);
    /// let y = x.softmax(-1);
    /// println!("{y}");
    /// assert!((y.sum(&[-1], false).to_vec::<f64>()[1] - 1.0).abs() < 1e-12);
    /// ```
    /// # Panics
    /// `softmax: axis 2 out of range for rank-2 tensor of shape (2, 3) (valid: -2..=1)`, or
    /// `softmax: expected a float tensor, got int32`.
    #[track_caller]
    pub fn softmax(&self, axis: isize) -> Tensor {
        or_panic(self.try_softmax(axis))
    }

    /// Fallible [`softmax`](Self::softmax).
    #[track_caller]
    pub fn try_softmax(&self, axis: isize) -> Result<Tensor> {
        let a = self.shape().axis("softmax", axis)?;
        let out = crate::dispatch_float!(self.dtype(), "softmax", T, {
            Tensor::from_vec_unchecked(k::softmax::<T>(self, a, false), self.shape().clone())
        });
        record(&[self], &out, || SoftmaxBackward {
            out: out.clone(),
            axis: a as isize,
        });
        Ok(out)
    }

    /// `log(softmax(x))` along `axis`, computed as `x - max - log(sum(exp(x - max)))`: accurate
    /// where `softmax` underflows to 0. d/dx = `g - exp(y)·sum(g)`.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([0.0f64, -1000.0]);
    /// assert_eq!(x.log_softmax(0).to_vec::<f64>(), [0.0, -1000.0]);
    /// ```
    /// # Panics
    /// `log_softmax: axis 1 out of range for rank-1 tensor of shape (2,) (valid: -1..=0)`, or on
    /// non-float tensors.
    #[track_caller]
    pub fn log_softmax(&self, axis: isize) -> Tensor {
        or_panic(self.try_log_softmax(axis))
    }

    /// Fallible [`log_softmax`](Self::log_softmax).
    #[track_caller]
    pub fn try_log_softmax(&self, axis: isize) -> Result<Tensor> {
        let a = self.shape().axis("log_softmax", axis)?;
        let out = crate::dispatch_float!(self.dtype(), "log_softmax", T, {
            Tensor::from_vec_unchecked(k::softmax::<T>(self, a, true), self.shape().clone())
        });
        record(&[self], &out, || LogSoftmaxBackward {
            out: out.clone(),
            axis: a as isize,
        });
        Ok(out)
    }
}

struct SoftmaxBackward {
    out: Tensor,
    axis: isize,
}
impl Backward for SoftmaxBackward {
    fn name(&self) -> &'static str {
        "softmax"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let y = &self.out;
        let dot = g.mul(y).sum(&[self.axis], true);
        vec![Some(y.mul(&g.sub(&dot)))]
    }
}

struct LogSoftmaxBackward {
    out: Tensor,
    axis: isize,
}
impl Backward for LogSoftmaxBackward {
    fn name(&self) -> &'static str {
        "log_softmax"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let total = g.sum(&[self.axis], true);
        vec![Some(g.sub(&self.out.exp().mul(&total)))]
    }
}
