//! Softmax and log-softmax along one axis: fused, numerically stable forward kernels (the
//! maximum is subtracted before exponentiating) and backward rules written in tensor ops, so
//! second-order gradients work.

use crate::error::{or_panic, Result};
use crate::kernels::reduce as k;
use crate::record::{record, Backward};
use crate::tensor::Tensor;
use crate::DType;

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

impl Tensor {
    /// The cross-entropy of integer class `labels` under `softmax(self)` along the last axis,
    /// one value per row: `logsumexp(x) − x[label]` (TensorFlow's
    /// `sparse_softmax_cross_entropy_with_logits`, PyTorch's `cross_entropy` without the
    /// reduction). The same numbers as `-log_softmax(x)` picked at the labels, in one op: the
    /// forward pass exponentiates each logit once and keeps the exponentials, and the gradient
    /// `(softmax(x) − one_hot(label))·g` is one pass over them. Composed of log_softmax, a
    /// gather and their rules it was seven passes over the logits, which for a language model's
    /// output layer (rows × vocabulary) cost as much as the output GEMM.
    ///
    /// `labels` has the shape of `self` without its last axis and holds int32 or int64 class
    /// ids in `0..classes`. The gradient is first-order only.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let logits = Tensor::from([[2.0f64, 0.0, 0.0], [0.0, 0.0, 0.0]]);
    /// let loss = logits.sparse_softmax_cross_entropy(&Tensor::from([0i64, 2]));
    /// let want = logits.log_softmax(-1).neg().to_vec::<f64>();
    /// assert!((loss.to_vec::<f64>()[0] - want[0]).abs() < 1e-12);
    /// assert!((loss.to_vec::<f64>()[1] - 3f64.ln()).abs() < 1e-12);
    /// ```
    /// # Panics
    /// `sparse_softmax_cross_entropy: labels of shape (3,) do not match logits of shape (2, 5):
    /// expected (2,)`, `sparse_softmax_cross_entropy: label 7 is out of range for 5 classes`,
    /// or on non-float logits and non-integer labels.
    #[track_caller]
    pub fn sparse_softmax_cross_entropy(&self, labels: &Tensor) -> Tensor {
        or_panic(self.try_sparse_softmax_cross_entropy(labels))
    }

    /// Fallible [`sparse_softmax_cross_entropy`](Self::sparse_softmax_cross_entropy).
    #[track_caller]
    pub fn try_sparse_softmax_cross_entropy(&self, labels: &Tensor) -> Result<Tensor> {
        const OP: &str = "sparse_softmax_cross_entropy";
        let (rank, dims) = (self.rank(), self.dims());
        if rank == 0 || labels.dims() != &dims[..rank - 1] {
            crate::bail!(
                Shape,
                "{OP}: labels of shape {} do not match logits of shape {}: expected {}",
                labels.shape(),
                self.shape(),
                crate::Shape::new(&dims[..rank.saturating_sub(1)])
            );
        }
        let classes = dims[rank - 1];
        let ids: Vec<i64> = match labels.dtype() {
            DType::Int32 => labels.view::<i32>().iter().map(|&v| v as i64).collect(),
            DType::Int64 => labels.view::<i64>().iter().copied().collect(),
            other => crate::bail!(DType, "{OP}: labels must be int32 or int64, got {other}"),
        };
        if let Some(&bad) = ids.iter().find(|&&i| i < 0 || i as u64 >= classes as u64) {
            crate::bail!(
                Index,
                "{OP}: label {bad} is out of range for {classes} classes"
            );
        }
        let ids: Vec<usize> = ids.into_iter().map(|i| i as usize).collect();
        let (out, saved) = crate::dispatch_float!(self.dtype(), OP, T, {
            self.shape().checked_alloc(OP, self.dtype())?;
            let x = self.contiguous_unrecorded();
            let s = x.as_slice::<T>().unwrap_or(&[]);
            let (exps, loss, inv) = k::softmax_xent::<T>(s, &ids, classes);
            let out = Tensor::from_vec_unchecked(loss, labels.shape().clone());
            let inv = Tensor::from_vec_unchecked(inv, labels.shape().clone());
            (
                out,
                (Tensor::from_vec_unchecked(exps, self.shape().clone()), inv),
            )
        });
        record(&[self, labels], &out, || SoftmaxXentBackward {
            exps: saved.0,
            inv_sums: saved.1,
            labels: ids,
        });
        Ok(out)
    }
}

/// Keeps `exp(x − max)` and `1 / Σ exp(x − max)` per row from the forward pass, so the
/// gradient is `exps·(g·inv) − one_hot·g` with no second exponential.
struct SoftmaxXentBackward {
    exps: Tensor,
    inv_sums: Tensor,
    labels: Vec<usize>,
}
impl Backward for SoftmaxXentBackward {
    fn name(&self) -> &'static str {
        "sparse_softmax_cross_entropy"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        fn grad<T: crate::dtype::Float>(s: &SoftmaxXentBackward, g: &Tensor) -> Tensor {
            let g = g.contiguous_unrecorded();
            let data = k::softmax_xent_grad::<T>(
                s.exps.as_slice::<T>().unwrap_or(&[]),
                s.inv_sums.as_slice::<T>().unwrap_or(&[]),
                &s.labels,
                g.as_slice::<T>().unwrap_or(&[]),
            );
            Tensor::from_vec_unchecked(data, s.exps.shape().clone())
        }
        let grad = match g.dtype() {
            DType::Float32 => grad::<f32>(self, g),
            _ => grad::<f64>(self, g),
        };
        vec![Some(grad), None]
    }
    fn supports_higher_order(&self) -> bool {
        false
    }
}
