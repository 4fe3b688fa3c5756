//! Copies out of strided views.

use crate::dtype::Element;
use ndarray::ArrayViewD;

/// Collects a (possibly strided, possibly broadcast) view into a row-major `Vec`.
pub(crate) fn strided_to_vec<T: Element>(v: &ArrayViewD<'_, T>) -> Vec<T> {
    let n = v.len();
    let mut out = Vec::with_capacity(n);
    // Copy the last axis as runs when it is contiguous, the common case for slices and permutes
    // that keep the innermost axis.
    let rank = v.ndim();
    if rank >= 1 && v.strides()[rank - 1] == 1 {
        for lane in v.lanes(ndarray::Axis(rank - 1)) {
            out.extend_from_slice(lane.as_slice().expect("unit-stride lane"));
        }
    } else {
        out.extend(v.iter().copied());
    }
    out
}
