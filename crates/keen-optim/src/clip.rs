//! Gradient clipping: by value, by norm, by global norm (Keras' `clipvalue`, `clipnorm`,
//! `global_clipnorm`, and TensorFlow's `clip_by_*` functions for custom loops).
//!
//! As optimizer options the clipping is fused into the update (no clipped copy of the
//! gradients is made); the free functions here return new tensors.
//!
//! ```
//! use keen_optim::clip::{clip_by_global_norm, clip_by_norm};
//! use keen_tensor::Tensor;
//!
//! let g = Tensor::from([3.0f32, 4.0]);                      // norm 5
//! assert_eq!(clip_by_norm(&g, 1.0).to_vec::<f32>(), [0.6, 0.8]);
//! let (clipped, norm) = clip_by_global_norm(&[Some(g), None], 2.5);
//! assert_eq!(norm, 5.0);
//! assert_eq!(clipped[0].as_ref().unwrap().to_vec::<f32>(), [1.5, 2.0]);
//! ```

use crate::PAR_MIN;
use keen_tensor::{DType, Element, Tensor};
use rayon::prelude::*;

/// How an optimizer clips gradients before its update. At most one kind per optimizer, as in
/// Keras.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Clip {
    /// No clipping (the default).
    #[default]
    None,
    /// Each element to `[-c, c]` (Keras `clipvalue`).
    Value(f64),
    /// Each gradient to L2 norm at most `c`: `g * c / max(‖g‖, c)` (Keras `clipnorm`).
    Norm(f64),
    /// All gradients together to global norm at most `c`: `g * min(1, c / ‖(g₁, …, gₙ)‖)`
    /// (Keras `global_clipnorm`). A non-finite global norm makes the update NaN, as in Keras.
    GlobalNorm(f64),
}

impl Clip {
    /// The Keras argument name.
    pub(crate) fn keras_name(&self) -> &'static str {
        match self {
            Clip::None => "no clipping",
            Clip::Value(_) => "clipvalue",
            Clip::Norm(_) => "clipnorm",
            Clip::GlobalNorm(_) => "global_clipnorm",
        }
    }
}

/// Elements clamped to `[min, max]` (TensorFlow `clip_by_value`).
///
/// # Panics
/// As [`Tensor::clip`].
#[track_caller]
pub fn clip_by_value(t: &Tensor, min: f64, max: f64) -> Tensor {
    t.clip(min, max)
}

/// `t * clip_norm / max(‖t‖₂, clip_norm)`: `t` rescaled to L2 norm at most `clip_norm`
/// (TensorFlow `clip_by_norm`; the norm is accumulated in float64).
///
/// # Panics
/// `clip_by_norm: expected a float tensor, got int32`.
#[track_caller]
pub fn clip_by_norm(t: &Tensor, clip_norm: f64) -> Tensor {
    let norm = sum_of_squares(t, "clip_by_norm").sqrt();
    // In TF's order (multiply, then divide), so that e.g. [3, -4] clips to exactly [0.6, -0.8].
    t.mul(clip_norm).div(norm.max(clip_norm))
}

/// The L2 norm of all the given tensors together: `sqrt(Σᵢ ‖tᵢ‖²)`, skipping `None`s.
///
/// # Panics
/// `global_norm: expected a float tensor, got int32`.
#[track_caller]
pub fn global_norm(tensors: &[Option<Tensor>]) -> f64 {
    tensors
        .iter()
        .flatten()
        .map(|t| sum_of_squares(t, "global_norm"))
        .sum::<f64>()
        .sqrt()
}

/// Every tensor scaled by `min(1, clip_norm / global_norm)`, and the global norm before
/// clipping (TensorFlow `clip_by_global_norm`). `None`s stay `None`.
///
/// # Panics
/// `global_norm: expected a float tensor, got int32`.
#[track_caller]
pub fn clip_by_global_norm(
    tensors: &[Option<Tensor>],
    clip_norm: f64,
) -> (Vec<Option<Tensor>>, f64) {
    let norm = global_norm(tensors);
    let scale = global_scale(norm, clip_norm);
    let out = tensors
        .iter()
        .map(|t| t.as_ref().map(|t| t.mul(scale)))
        .collect();
    (out, norm)
}

/// Keras' `clip_norm * min(1 / norm, 1 / clip_norm)`, NaN for a non-finite norm.
pub(crate) fn global_scale(norm: f64, clip_norm: f64) -> f64 {
    if !norm.is_finite() {
        return f64::NAN;
    }
    clip_norm * (1.0 / norm).min(1.0 / clip_norm)
}

/// `Σ t²` in float64. Parallel over fixed chunks for large tensors, summed in chunk order, so
/// the result does not depend on the number of threads.
#[track_caller]
pub(crate) fn sum_of_squares(t: &Tensor, op: &str) -> f64 {
    match t.dtype() {
        DType::Float32 => slice_sum_of_squares(&contiguous::<f32>(t)),
        DType::Float64 => slice_sum_of_squares(&contiguous::<f64>(t)),
        other => panic!("{op}: expected a float tensor, got {other}"),
    }
}

fn contiguous<T: Element>(t: &Tensor) -> std::borrow::Cow<'_, [T]> {
    match t.as_slice::<T>() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(t.to_vec::<T>()),
    }
}

pub(crate) fn slice_sum_of_squares<T: Element>(s: &[T]) -> f64 {
    const CHUNK: usize = 1 << 14;
    let part = |c: &[T]| c.iter().map(|v| v.to_f64() * v.to_f64()).sum::<f64>();
    if s.len() < PAR_MIN {
        return s.chunks(CHUNK).map(part).sum();
    }
    let parts: Vec<f64> = s.par_chunks(CHUNK).map(part).collect();
    parts.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_by_norm_leaves_small_tensors_alone() {
        let g = Tensor::from([0.3f64, 0.4]);
        assert_eq!(clip_by_norm(&g, 1.0).to_vec::<f64>(), [0.3, 0.4]);
    }

    #[test]
    fn global_norm_skips_none_and_nan_propagates() {
        let (out, norm) = clip_by_global_norm(&[None, Some(Tensor::from([f64::INFINITY]))], 1.0);
        assert!(norm.is_infinite());
        assert!(out[1].as_ref().unwrap().to_vec::<f64>()[0].is_nan());
        assert!(out[0].is_none());
    }

    #[test]
    fn chunked_sum_matches_in_any_thread_count() {
        let v: Vec<f32> = (0..200_000)
            .map(|i| ((i % 97) as f32 - 48.0) * 1e-3)
            .collect();
        let a = slice_sum_of_squares(&v);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let b = pool.install(|| slice_sum_of_squares(&v));
        assert_eq!(a.to_bits(), b.to_bits());
    }
}
