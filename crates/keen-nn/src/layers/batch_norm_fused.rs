//! Batch normalisation over the last axis as one recorded op (training and inference), with
//! hand-written single-pass kernels.
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
//! The backward rule is raw kernels, so its results cannot be differentiated again. It does not
//! declare itself first-order only (the tape would then refuse it whenever another tape is
//! alive, and a GAN step keeps the generator's and the discriminator's tapes alive together);
//! instead it records its outputs as an op, `batch_norm_grad`, whose rule gives no gradient.
//! A tape that merely records the backward pass is unaffected, and one that tries to
//! differentiate through it gets the tape's "has no gradient ... would be lost" error, never
//! a silently wrong result. `BatchNormalization::fused(false)` composes ops that differentiate
//! twice.

use keen_tensor::kernels::simd::{vectorized, vectorized_loop, Loop};
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
        vectorized(|| {
            for (r, row) in a_rows.chunks_exact(c).enumerate() {
                let other = b_rows.map(|b| &b[r * c..(r + 1) * c]).unwrap_or(row);
                // Zipped iterators, not indexing: no bounds checks, so the loop vectorises.
                for (((s, p), &u), &v) in s.iter_mut().zip(p.iter_mut()).zip(row).zip(other) {
                    let (u, v) = (u.to_f64(), v.to_f64());
                    *s += u;
                    *p += u * v;
                }
            }
        });
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
        let y = y
            .zip(a.as_deref())
            .map(|((y, _), a)| (&y[start..start + o.len()], a));
        vectorized_loop(Affine {
            out: o,
            x: xs,
            k: &k,
            y,
            c0: &c0,
        })
    };
    if x.len() <= chunk {
        run((0, &mut out));
    } else {
        out.par_chunks_mut(chunk).enumerate().for_each(run);
    }
    out
}

/// One task of [`affine`] as a [`Loop`]: as a closure the inliner left it in baseline SSE.
struct Affine<'a, T> {
    out: &'a mut [T],
    x: &'a [T],
    k: &'a [T],
    y: Option<(&'a [T], &'a [T])>,
    c0: &'a [T],
}

impl<T: Float> Loop for Affine<'_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Affine { out, x, k, y, c0 } = self;
        let c = k.len();
        match y {
            Some((y, a)) => {
                for ((o, x), y) in out
                    .chunks_exact_mut(c)
                    .zip(x.chunks_exact(c))
                    .zip(y.chunks_exact(c))
                {
                    let coef = k.iter().zip(a).zip(c0);
                    for ((o, (&x, &y)), ((&k, &a), &c0)) in
                        o.iter_mut().zip(x.iter().zip(y)).zip(coef)
                    {
                        *o = x * k + y * a + c0;
                    }
                }
            }
            None => {
                for (o, x) in out.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
                    for ((o, &x), (&k, &c0)) in o.iter_mut().zip(x).zip(k.iter().zip(c0)) {
                        *o = x * k + c0;
                    }
                }
            }
        }
    }
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
    let y = apply_typed::<T>(x, &xc, &mean, &var, gamma, beta, epsilon, true);
    BatchNormOutput {
        y,
        mean: from_vec64(mean, x.dtype()),
        var: from_vec64(var, x.dtype()),
    }
}

/// Inference-mode batch norm over the last axis with given statistics (the moving averages),
/// `y = x·k + t` in one sweep, recorded with inputs `[x, γ?, β?]`. `None` when `x` is not a
/// float32 or float64 tensor or is empty.
pub(crate) fn batch_norm_inference(
    x: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
    epsilon: f64,
) -> Option<Tensor> {
    if x.numel() == 0 {
        return None;
    }
    let (mean, var) = (to_vec64(mean), to_vec64(var));
    let xc = x.contiguous();
    match x.dtype() {
        DType::Float32 => Some(apply_typed::<f32>(
            x, &xc, &mean, &var, gamma, beta, epsilon, false,
        )),
        DType::Float64 => Some(apply_typed::<f64>(
            x, &xc, &mean, &var, gamma, beta, epsilon, false,
        )),
        _ => None,
    }
}

/// `y = x·k + t` per channel with `k = γ/sqrt(var + ε)`, `t = β − mean·k`, recorded as one op.
/// `batch_stats` says whether `mean` and `var` came from `x` (training: the gradient flows
/// through them too) or are constants (inference).
fn apply_typed<T: Float>(
    x: &Tensor,
    xc: &Tensor,
    mean: &[f64],
    var: &[f64],
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
    epsilon: f64,
    batch_stats: bool,
) -> Tensor {
    let c = mean.len();
    let xs = xc.as_slice::<T>().expect("contiguous and of its dtype");
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
        x_in: x.clone(),
        x: xc.clone(),
        mean: mean.to_vec(),
        inv,
        k,
        has_gamma: gamma.is_some(),
        has_beta: beta.is_some(),
        batch_stats,
    });
    y
}

struct BatchNormGrad {
    /// The op's input as given (what an outer tape tracks).
    x_in: Tensor,
    /// The same values, contiguous.
    x: Tensor,
    mean: Vec<f64>,
    inv: Vec<f64>,
    /// `γ·inv` per channel.
    k: Vec<f64>,
    has_gamma: bool,
    has_beta: bool,
    /// Whether mean and variance are functions of `x` (training) or constants (inference).
    batch_stats: bool,
}

impl BatchNormGrad {
    /// With `x̂ = (x − mean)·inv`: `∂β = Σ dy`, `∂γ = Σ dy·x̂`, and with batch statistics
    /// `dx = k·(dy − ∂β/N − x̂·∂γ/N)`, regrouped as `k·dy + a·x + c` per channel (with
    /// constant statistics just `k·dy`).
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
        let dx = if self.batch_stats {
            affine(dys, &self.k, Some((xs, &a)), &c0)
        } else {
            affine(dys, &self.k, None, &vec![0.0; c])
        };
        let dx = Tensor::from_vec(dx, self.x.shape().clone());
        let dtype = self.x.dtype();
        let mut out = vec![Some(dx)];
        if self.has_gamma {
            out.push(Some(from_vec64(dgamma, dtype)));
        }
        if self.has_beta {
            out.push(Some(from_vec64(sum_dy, dtype)));
        }
        // Mark the results as functions of `dy` and `x` for any tape recording this walk.
        for g in out.iter().flatten() {
            record(&[dy, &self.x_in], g, || NotDifferentiable);
        }
        out
    }
}

/// The rule of `batch_norm_grad`: no gradient, so that differentiating the fused backward pass
/// is the tape's clear error rather than a silently missing term.
struct NotDifferentiable;

impl Backward for NotDifferentiable {
    fn name(&self) -> &'static str {
        "batch_norm_grad (fused; BatchNormalization::fused(false) differentiates twice)"
    }

    fn backward(&self, _: &Tensor) -> Vec<Option<Tensor>> {
        vec![None, None]
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
}
