//! Matrix multiplication with NumPy semantics: batched, broadcast, and vector cases.

use crate::error::{or_panic, ErrorKind, Result};
use crate::kernels::gemm::{GemmElem, Mat};
use crate::record::{record, Backward};
use crate::shape::{broadcast_shapes, Shape};
use crate::tensor::Tensor;
use rayon::prelude::*;
use std::mem::MaybeUninit;

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
    /// `matmul: inner dimensions differ: lhs (2, 3) vs rhs (4, 5)`, or batch axes that do not
    /// broadcast: `matmul: batch dimensions (2, 3) and (4, 3) cannot be broadcast: lhs
    /// (2, 3, 5, 6) vs rhs (4, 3, 6, 7)`.
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
        let (batch_a, batch_b) = (
            Shape::new(&self.dims()[..ra - 2]),
            Shape::new(&rhs.dims()[..rb - 2]),
        );
        // Not `broadcast_shapes`' message: the batch shapes alone would hide which operand is
        // which and where the matrix axes went.
        let batch = match broadcast_shapes("matmul", &batch_a, &batch_b) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::Shape => crate::bail!(
                Shape,
                "matmul: batch dimensions {batch_a} and {batch_b} cannot be broadcast: lhs {} vs rhs {}",
                self.shape(),
                rhs.shape()
            ),
            Err(e) => return Err(e),
        };
        let mut a_dims = batch.dims().to_vec();
        a_dims.extend([m, k]);
        let mut b_dims = batch.dims().to_vec();
        b_dims.extend([k, n]);
        let mut o_dims = batch.dims().to_vec();
        o_dims.extend([m, n]);
        let out_shape = Shape::from(o_dims);
        out_shape.checked_alloc("matmul", self.dtype())?;
        let (a_shape, b_shape) = (Shape::from(a_dims), Shape::from(b_dims));
        // The broadcast operands are views, but their sizes must still be representable.
        a_shape.checked_numel("matmul")?;
        b_shape.checked_numel("matmul")?;
        let a = crate::record::without_recording(|| self.try_broadcast_to(a_shape))?;
        let b = crate::record::without_recording(|| rhs.try_broadcast_to(b_shape))?;
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
    // Every GEMM below overwrites its whole block (with zeros when k = 0), so the output starts
    // uninitialised: zero-filling a large result first costs a full extra pass over memory.
    let mut out: Vec<T> = Vec::with_capacity(nb * m * n);
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
    let slots = &mut out.spare_capacity_mut()[..nb * m * n];
    let (a_rs, a_cs) = (la.strides()[r - 2], la.strides()[r - 1]);
    let (b_rs, b_cs) = (lb.strides()[r - 2], lb.strides()[r - 1]);
    let per = m * n * k;
    let across_batch = nb > 1 && per < (1 << 18);
    let run = |i: usize, dst: &mut [MaybeUninit<T>], threads: bool| {
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
            T::gemm(m, n, k, dst.as_mut_ptr().cast(), false, lhs, rhs, threads);
        }
    };
    if across_batch && nb * per >= (1 << 17) {
        slots
            .par_chunks_mut(m * n)
            .enumerate()
            .for_each(|(i, dst)| run(i, dst, false));
    } else {
        for (i, dst) in slots.chunks_mut(m * n).enumerate() {
            run(i, dst, true);
        }
    }
    // SAFETY: each GEMM above wrote its whole m×n block (`GemmElem::gemm` with
    // `accumulate = false` overwrites every element, with zeros when k = 0).
    unsafe { out.set_len(nb * m * n) };
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
        self.backward_needed(g, &[true, true])
    }
    fn backward_needed(&self, g: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        let ga = needed[0].then(|| g.matmul(&self.b.transpose(-2, -1)));
        let gb = needed[1].then(|| self.a.transpose(-2, -1).matmul(g));
        vec![ga, gb]
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    /// Values in [-1, 1) from a fixed seed, exact in f32 (multiples of 1/256).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((s >> 56) as f32 - 128.0) / 128.0
            })
            .collect()
    }

    /// The textbook triple loop in f64 on row-major `a` (m×k) and `b` (k×n).
    fn reference(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for p in 0..k {
                for j in 0..n {
                    out[i * n + j] += a[i * k + p] as f64 * b[p * n + j] as f64;
                }
            }
        }
        out
    }

    fn assert_close(got: &Tensor, want: &[f64], what: &str) {
        let got = got.to_f64_vec();
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "{what}: element {i}: {g} vs {w}"
            );
        }
    }

    /// Sizes on both sides of the threading threshold, tall and wide (the split cuts the larger
    /// output dimension), sizes that are not multiples of the register tiles, and k = 0.
    #[test]
    fn matches_reference_across_sizes_and_layouts() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 2),
            (17, 33, 9),
            (130, 70, 50),
            (257, 64, 31),
            (40, 100, 301),
            (300, 200, 190),
            (5, 0, 7),
        ] {
            let (a, b) = (values(m * k, 1), values(k * n, 2));
            let want = reference(&a, &b, m, k, n);
            let (ta, tb) = (
                Tensor::from_vec(a.clone(), [m, k]),
                Tensor::from_vec(b.clone(), [k, n]),
            );
            assert_close(&ta.matmul(&tb), &want, &format!("({m}, {k}) @ ({k}, {n})"));
            // Transposed views: the same product through other strides, without a copy.
            let at = Tensor::from_vec(a, [m, k]).t().contiguous().t();
            let bt = Tensor::from_vec(b, [k, n]).t().contiguous().t();
            assert_close(
                &at.matmul(&bt),
                &want,
                &format!("transposed ({m}, {k}) @ ({k}, {n})"),
            );
        }
    }

    #[test]
    fn batched_products_match_each_matrix() {
        let (nb, m, k, n) = (6, 40, 30, 50);
        let (a, b) = (values(nb * m * k, 3), values(nb * k * n, 4));
        let out = Tensor::from_vec(a.clone(), [nb, m, k])
            .matmul(&Tensor::from_vec(b.clone(), [nb, k, n]));
        let mut want = Vec::new();
        for i in 0..nb {
            want.extend(reference(
                &a[i * m * k..][..m * k],
                &b[i * k * n..][..k * n],
                m,
                k,
                n,
            ));
        }
        assert_close(&out, &want, "batched");
    }

    #[test]
    fn integer_products_are_exact() {
        let a = Tensor::from([[1i64, 2, 3], [4, 5, 6]]);
        let b = Tensor::from([[7i64, 8], [9, 10], [11, 12]]);
        assert_eq!(a.matmul(&b).to_vec::<i64>(), [58, 64, 139, 154]);
        let empty = Tensor::from_vec(Vec::<i32>::new(), [2, 0])
            .matmul(&Tensor::from_vec(Vec::<i32>::new(), [0, 3]));
        assert_eq!(empty.to_vec::<i32>(), [0; 6]);
    }
}
