//! Matrix multiplication with NumPy semantics: batched, broadcast, and vector cases.

use crate::error::{or_panic, Result};
use crate::kernels::gemm::{GemmElem, Mat};
use crate::record::{record, Backward};
use crate::shape::{broadcast_shapes, Shape};
use crate::tensor::Tensor;
use rayon::prelude::*;

impl Tensor {
    /// Matrix product, as NumPy's `matmul`: rank ≥ 2 operands multiply their last two axes and
    /// broadcast the rest; a rank-1 left (right) operand is a row (column) vector whose axis is
    /// dropped from the result. Transposed views multiply without a copy.
    ///
    /// d/dA = G·Bᵀ, d/dB = Aᵀ·G (batch axes summed back by the tape).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let a = Tensor::from([[1.0f32, 2.0], [3.0, 4.0]]);
    /// let b = Tensor::from([[5.0f32], [6.0]]);
    /// assert_eq!(a.matmul(&b).to_vec::<f32>(), [17.0, 39.0]);
    /// ```
    /// # Panics
    /// `matmul: inner dimensions differ: lhs (2, 3) vs rhs (4, 5)`.
    #[track_caller]
    pub fn matmul(&self, rhs: &Tensor) -> Tensor {
        or_panic(self.try_matmul(rhs))
    }

    /// Fallible [`matmul`](Self::matmul).
    #[track_caller]
    pub fn try_matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        if self.dtype() != rhs.dtype() {
            crate::bail!(
                DType,
                "matmul: dtypes differ: lhs {} vs rhs {}\n  hint: cast one side, e.g. rhs.cast(DType::{:?})",
                self.dtype(),
                rhs.dtype(),
                self.dtype()
            );
        }
        if self.rank() == 0 || rhs.rank() == 0 {
            crate::bail!(
                Shape,
                "matmul: operands must have rank >= 1: lhs {} vs rhs {}",
                self.shape(),
                rhs.shape()
            );
        }
        let k_l = self.dims()[self.rank() - 1];
        let k_r = if rhs.rank() == 1 {
            rhs.dims()[0]
        } else {
            rhs.dims()[rhs.rank() - 2]
        };
        if k_l != k_r {
            crate::bail!(
                Shape,
                "matmul: inner dimensions differ: lhs {} vs rhs {}",
                self.shape(),
                rhs.shape()
            );
        }
        // Vector cases go through views so that the rank >= 2 rule covers their gradients.
        match (self.rank(), rhs.rank()) {
            (1, 1) => {
                return Ok(self
                    .expand_dims(0)
                    .matmul2(&rhs.expand_dims(1))?
                    .reshape_to(Shape::scalar()))
            }
            (1, _) => {
                let out = self.expand_dims(0).matmul2(rhs)?;
                return out.try_squeeze(&[-2]);
            }
            (_, 1) => {
                let out = self.matmul2(&rhs.expand_dims(1))?;
                return out.try_squeeze(&[-1]);
            }
            _ => {}
        }
        self.matmul2(rhs)
    }

    /// The rank >= 2 case: both operands have their matrix axes last.
    #[track_caller]
    fn matmul2(&self, rhs: &Tensor) -> Result<Tensor> {
        let (ra, rb) = (self.rank(), rhs.rank());
        let (m, k) = (self.dims()[ra - 2], self.dims()[ra - 1]);
        let n = rhs.dims()[rb - 1];
        let batch = broadcast_shapes(
            "matmul",
            &Shape::new(&self.dims()[..ra - 2]),
            &Shape::new(&rhs.dims()[..rb - 2]),
        )?;
        let mut a_dims = batch.dims().to_vec();
        a_dims.extend([m, k]);
        let mut b_dims = batch.dims().to_vec();
        b_dims.extend([k, n]);
        let mut o_dims = batch.dims().to_vec();
        o_dims.extend([m, n]);
        let out_shape = Shape::from(o_dims);
        out_shape.checked_numel("matmul")?;
        let a = crate::record::without_recording(|| self.broadcast_to(Shape::from(a_dims)));
        let b = crate::record::without_recording(|| rhs.broadcast_to(Shape::from(b_dims)));
        let out = crate::dispatch_num!(self.dtype(), "matmul", T, {
            batched::<T>(&a, &b, m, n, k, &batch, out_shape)
        });
        record(&[self, rhs], &out, || MatmulBackward {
            a: self.clone(),
            b: rhs.clone(),
        });
        Ok(out)
    }
}

/// Runs one GEMM per batch entry. Large products parallelise inside the GEMM; many small ones
/// (attention scores, a batch of 16×16 products) parallelise across the batch instead.
fn batched<T: GemmElem>(
    a: &Tensor,
    b: &Tensor,
    m: usize,
    n: usize,
    k: usize,
    batch: &Shape,
    out_shape: Shape,
) -> Tensor {
    let nb = batch.numel();
    let mut out: Vec<T> = vec![T::zero(); nb * m * n];
    let (la, lb) = (a.layout(), b.layout());
    let r = la.shape().rank();
    let sa = T::slice(a.storage()).expect("dtype checked");
    let sb = T::slice(b.storage()).expect("dtype checked");
    let offset_of = |strides: &[isize], base: usize, mut idx: usize| -> isize {
        let mut off = base as isize;
        for ax in (0..batch.rank()).rev() {
            let d = batch.dims()[ax];
            off += (idx % d) as isize * strides[ax];
            idx /= d;
        }
        off
    };
    if m * n == 0 {
        return Tensor::from_vec_unchecked(out, out_shape);
    }
    let (a_rs, a_cs) = (la.strides()[r - 2], la.strides()[r - 1]);
    let (b_rs, b_cs) = (lb.strides()[r - 2], lb.strides()[r - 1]);
    let per = m * n * k;
    let across_batch = nb > 1 && per < (1 << 18);
    let run = |i: usize, dst: &mut [T], threads: bool| {
        // SAFETY: offsets come from the broadcast layouts, which keep every (batch, row, col)
        // index inside the operand storage; dst is this batch entry's m×n block.
        unsafe {
            let lhs = Mat {
                ptr: sa.as_ptr().offset(offset_of(la.strides(), la.offset(), i)),
                rs: a_rs,
                cs: a_cs,
            };
            let rhs = Mat {
                ptr: sb.as_ptr().offset(offset_of(lb.strides(), lb.offset(), i)),
                rs: b_rs,
                cs: b_cs,
            };
            T::gemm(m, n, k, dst.as_mut_ptr(), false, lhs, rhs, threads);
        }
    };
    if across_batch && nb * per >= (1 << 17) {
        out.par_chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, dst)| run(i, dst, false));
    } else {
        for (i, dst) in out.chunks_mut(m * n).enumerate() {
            run(i, dst, true);
        }
    }
    Tensor::from_vec_unchecked(out, out_shape)
}

struct MatmulBackward {
    a: Tensor,
    b: Tensor,
}
impl Backward for MatmulBackward {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let ga = g.matmul(&self.b.transpose(-2, -1));
        let gb = self.a.transpose(-2, -1).matmul(g);
        vec![Some(ga), Some(gb)]
    }
}
