//! Training-mode batch normalisation over the last axis as one recorded op, with hand-written
//! single-pass kernels.
//!
//! Composed from tensor ops, a training step of `BatchNormalization` reads or writes the full
//! activation about five times forward and fifteen times backward (the moments, the affine map,
//! and each op's gradient with its broadcast reductions): about 20 ms for a `(64, 14, 14, 64)`
//! batch, a tenth of a transposed convolution on it. Here the forward pass is one sweep for the
//! per-channel sums and one for `y = x·s + t`; the backward pass is one sweep for
//! `Σ dy` and `Σ dy·x` and one for `dx = k·dy + a·x + c`, all per channel. The statistics are
//! accumulated in f64, so float32 batches lose nothing to the `E[x²] − E[x]²` form (Keras 3's
//! formula, kept so results match it).
//!
//! The backward rule is raw kernels, so it declares itself first-order only: a gradient of this
//! gradient is refused by the tape instead of being silently wrong. `BatchNormalization` uses
//! the composed ops when a tape would need more (see `normalization.rs`).

use keen_tensor::record::{record, Backward};
use keen_tensor::{DType, Float, Tensor};
use rayon::prelude::*;

/// Rows per parallel task: about 32K elements, enough work to amortise a task, and at least
/// 16 rows so that merging the per-task channel sums stays a small fraction of the sweep even
/// for a wide `(batch, features)` input.
fn rows_per_task(c: usize) -> usize {
    (32_768 / c.max(1)).max(16)
}

/// Per-channel `(Σ a, Σ a·b)` over the rows of `(rows, c)` slices (`b = a` when `b` is `None`).
fn channel_sums<T: Float>(a: &[T], b: Option<&[T]>, c: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = a.len() / c.max(1);
    let chunk = rows_per_task(c) * c;
    let partial = |(i, a_rows): (usize, &[T])| {
        let mut s = vec![0.0f64; c];
        let mut p = vec![0.0f64; c];
        let b_rows = b.map(|b| &b[i * chunk..i * chunk + a_rows.len()]);
        for (r, row) in a_rows.chunks_exact(c).enumerate() {
            let other = b_rows.map(|b| &b[r * c..(r + 1) * c]).unwrap_or(row);
            for ch in 0..c {
                let (u, v) = (row[ch].to_f64(), other[ch].to_f64());
                s[ch] += u;
                p[ch] += u * v;
            }
        }
        (s, p)
    };
    let merge = |(mut s1, mut p1): (Vec<f64>, Vec<f64>), (s2, p2): (Vec<f64>, Vec<f64>)| {
        for ch in 0..c {
            s1[ch] += s2[ch];
            p1[ch] += p2[ch];
        }
        (s1, p1)
    };
    let zero = || (vec![0.0; c], vec![0.0; c]);
    if rows <= rows_per_task(c) {
        return partial((0, a));
    }
    a.par_chunks(chunk)
        .enumerate()
        .map(partial)
        .reduce(zero, merge)
}

/// `out = x·k + y·a + c` per channel (`y` optional), over `(rows, c)` slices.
fn affine<T: Float>(x: &[T], k: &[f64], y: Option<(&[T], &[f64])>, c0: &[f64]) -> Vec<T> {
    let c = k.len();
    let (k, c0): (Vec<T>, Vec<T>) = (
        k.iter().map(|&v| T::from_f64(v)).collect(),
        c0.iter().map(|&v| T::from_f64(v)).collect(),
    );
    let a: Option<Vec<T>> = y.map(|(_, a)| a.iter().map(|&v| T::from_f64(v)).collect());
    let mut out = vec![T::zero(); x.len()];
    let chunk = rows_per_task(c) * c;
    let run = |(i, o): (usize, &mut [T])| {
        let start = i * chunk;
        let xs = &x[start..start + o.len()];
        match (y, &a) {
            (Some((y, _)), Some(a)) => {
                let ys = &y[start..start + o.len()];
                for ((o, x), y) in o
                    .chunks_exact_mut(c)
                    .zip(xs.chunks_exact(c))
                    .zip(ys.chunks_exact(c))
                {
                    for ch in 0..c {
                        o[ch] = x[ch] * k[ch] + y[ch] * a[ch] + c0[ch];
                    }
                }
            }
            _ => {
                for (o, x) in o.chunks_exact_mut(c).zip(xs.chunks_exact(c)) {
                    for ch in 0..c {
                        o[ch] = x[ch] * k[ch] + c0[ch];
                    }
                }
            }
        }
    };
    if x.len() <= chunk {
        run((0, &mut out));
    } else {
        out.par_chunks_mut(chunk).enumerate().for_each(run);
    }
    out
}

fn to_vec64(t: &Tensor) -> Vec<f64> {
    t.to_f64_vec()
}

fn from_vec64(v: Vec<f64>, dtype: DType) -> Tensor {
    let n = v.len();
    Tensor::from_vec(v, [n]).cast(dtype)
}

/// What training-mode batch norm hands back: the output and the batch statistics (for the
/// moving averages), each `(c,)`.
pub(crate) struct BatchNormOutput {
    pub y: Tensor,
    pub mean: Tensor,
    pub var: Tensor,
}

/// `y = γ·(x − mean)/sqrt(var + ε) + β` with the batch's biased statistics over every axis but
/// the last, recorded as one op with inputs `[x, γ?, β?]`. `None` when `x` is not a float32 or
/// float64 tensor or is empty (the caller composes ops instead).
pub(crate) fn batch_norm_train(
    x: &Tensor,
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
    epsilon: f64,
) -> Option<BatchNormOutput> {
    if x.numel() == 0 {
        return None;
    }
    match x.dtype() {
        DType::Float32 => Some(train_typed::<f32>(x, gamma, beta, epsilon)),
        DType::Float64 => Some(train_typed::<f64>(x, gamma, beta, epsilon)),
        _ => None,
    }
}

fn train_typed<T: Float>(
    x: &Tensor,
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
    epsilon: f64,
) -> BatchNormOutput {
    let c = x.dim(-1);
    let xc = x.contiguous();
    let xs = xc.as_slice::<T>().expect("contiguous and of its dtype");
    let rows = (xs.len() / c.max(1)).max(1) as f64;
    let (sum, sumsq) = channel_sums(xs, None, c);
    let mean: Vec<f64> = sum.iter().map(|s| s / rows).collect();
    let var: Vec<f64> = sumsq
        .iter()
        .zip(&mean)
        .map(|(q, m)| q / rows - m * m)
        .collect();
    let inv: Vec<f64> = var.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
    let g = gamma.map(to_vec64);
    let b = beta.map(to_vec64);
    let k: Vec<f64> = (0..c)
        .map(|ch| inv[ch] * g.as_ref().map_or(1.0, |g| g[ch]))
        .collect();
    let t: Vec<f64> = (0..c)
        .map(|ch| b.as_ref().map_or(0.0, |b| b[ch]) - mean[ch] * k[ch])
        .collect();
    let y = Tensor::from_vec(affine(xs, &k, None, &t), x.shape().clone());
    let mut inputs: Vec<&Tensor> = vec![x];
    inputs.extend(gamma);
    inputs.extend(beta);
    record(&inputs, &y, || BatchNormGrad {
        x: xc.clone(),
        mean: mean.clone(),
        inv: inv.clone(),
        k: k.clone(),
        has_gamma: gamma.is_some(),
        has_beta: beta.is_some(),
    });
    BatchNormOutput {
        y,
        mean: from_vec64(mean, x.dtype()),
        var: from_vec64(var, x.dtype()),
    }
}

struct BatchNormGrad {
    x: Tensor,
    mean: Vec<f64>,
    inv: Vec<f64>,
    /// `γ·inv` per channel.
    k: Vec<f64>,
    has_gamma: bool,
    has_beta: bool,
}

impl BatchNormGrad {
    /// With `x̂ = (x − mean)·inv`: `∂β = Σ dy`, `∂γ = Σ dy·x̂`, and
    /// `dx = k·(dy − ∂β/N − x̂·∂γ/N)`, regrouped as `k·dy + a·x + c` per channel.
    fn grads<T: Float>(&self, dy: &Tensor) -> Vec<Option<Tensor>> {
        let c = self.k.len();
        let dyc = dy.contiguous();
        let dys = dyc.as_slice::<T>().expect("contiguous and of its dtype");
        let xs = self.x.as_slice::<T>().expect("saved contiguous");
        let rows = (xs.len() / c.max(1)).max(1) as f64;
        let (sum_dy, sum_dyx) = channel_sums(dys, Some(xs), c);
        let dgamma: Vec<f64> = (0..c)
            .map(|ch| self.inv[ch] * (sum_dyx[ch] - self.mean[ch] * sum_dy[ch]))
            .collect();
        let a: Vec<f64> = (0..c)
            .map(|ch| -self.k[ch] * self.inv[ch] * dgamma[ch] / rows)
            .collect();
        let c0: Vec<f64> = (0..c)
            .map(|ch| -self.k[ch] * sum_dy[ch] / rows - a[ch] * self.mean[ch])
            .collect();
        let dx = Tensor::from_vec(
            affine(dys, &self.k, Some((xs, &a)), &c0),
            self.x.shape().clone(),
        );
        let dtype = self.x.dtype();
        let mut out = vec![Some(dx)];
        if self.has_gamma {
            out.push(Some(from_vec64(dgamma, dtype)));
        }
        if self.has_beta {
            out.push(Some(from_vec64(sum_dy, dtype)));
        }
        out
    }
}

impl Backward for BatchNormGrad {
    fn name(&self) -> &'static str {
        "batch_norm"
    }

    fn backward(&self, grad: &Tensor) -> Vec<Option<Tensor>> {
        match self.x.dtype() {
            DType::Float32 => self.grads::<f32>(grad),
            _ => self.grads::<f64>(grad),
        }
    }

    fn supports_higher_order(&self) -> bool {
        false
    }
}
