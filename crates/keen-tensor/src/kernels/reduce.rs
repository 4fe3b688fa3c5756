//! Reduction loops. The input is seen as a contiguous `(outer, red, inner)` block and folded
//! along `red`, the product of the reduced axes. Two loops cover every case:
//!
//! - rows (`inner == 1`): each output folds one contiguous run (softmax rows, the mean over
//!   features, the sum of everything);
//! - columns (`inner > 1`): contiguous rows of `inner` elements are accumulated into a row of
//!   outputs (the sum over the batch, a bias gradient), a loop the compiler vectorises.
//!
//! A view whose axes are permuted but dense (a transpose) is walked in memory order without a
//! copy. Other layouts (broadcast or stepped views, reduced axes that are not adjacent in memory)
//! are first copied into `(kept..., reduced...)` order, which makes them rows.
//!
//! Large inputs are split over rayon: by output when there are many, else each long run is cut
//! into pieces whose folds are merged in order (so `argmax` still finds the first maximum).

use super::simd::vectorized;
use super::{PAR_CHUNK, PAR_MIN};
use crate::dtype::{Element, Float, Num};
use crate::tensor::Tensor;
use ndarray::{ArrayViewD, IxDyn};
use rayon::prelude::*;
use std::borrow::Cow;

/// A fold along the reduced axes: `finish(merge(fold(run_1), fold(run_2), …))`.
pub(crate) trait Reducer<T: Element>: Sync {
    /// The running state.
    type Acc: Copy + Send + Sync;
    /// The element type of the result.
    type Out: Element;
    /// The state before any element (the identity of `merge`).
    fn init(&self) -> Self::Acc;
    /// Folds `x`, the `i`-th element along the reduced axes (row-major over them).
    fn step(&self, acc: Self::Acc, x: T, i: usize) -> Self::Acc;
    /// Combines the states of two consecutive runs, `a` before `b`.
    fn merge(&self, a: Self::Acc, b: Self::Acc) -> Self::Acc;
    /// The result from the final state of a fold over `n` elements.
    fn finish(&self, acc: Self::Acc, n: usize) -> Self::Out;
    /// Folds a contiguous run whose first element has reduced index `i0`. Override for speed.
    #[inline]
    fn fold(&self, mut acc: Self::Acc, xs: &[T], i0: usize) -> Self::Acc {
        for (k, &x) in xs.iter().enumerate() {
            acc = self.step(acc, x, i0 + k);
        }
        acc
    }
}

/// The smallest and largest values of an element type: the identities of max and min.
pub(crate) trait Bounded: Element {
    fn lowest() -> Self;
    fn highest() -> Self;
}
macro_rules! bounded {
    ($($t:ty: $lo:expr, $hi:expr);*) => {$(
        impl Bounded for $t {
            #[inline(always)]
            fn lowest() -> Self { $lo }
            #[inline(always)]
            fn highest() -> Self { $hi }
        }
    )*};
}
bounded!(f32: f32::NEG_INFINITY, f32::INFINITY; f64: f64::NEG_INFINITY, f64::INFINITY;
    i32: i32::MIN, i32::MAX; i64: i64::MIN, i64::MAX; u8: u8::MIN, u8::MAX; bool: false, true);

/// `x` is NaN (always false for integers and bool).
#[inline(always)]
#[allow(clippy::eq_op)]
fn is_nan<T: PartialEq>(x: T) -> bool {
    x != x
}

/// The sum of a run: eight independent accumulators (which the compiler turns into SIMD lanes)
/// inside blocks of 1024 elements combined pairwise, so float error grows with log(n).
pub(crate) fn sum_slice<T: Num>(xs: &[T]) -> T {
    const BLOCK: usize = 1024;
    if xs.len() > BLOCK {
        let (a, b) = xs.split_at((xs.len() / 2).next_multiple_of(8));
        return sum_slice(a).wrapping_add(sum_slice(b));
    }
    let mut l = [T::zero(); 8];
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for k in 0..8 {
            l[k] = l[k].wrapping_add(c[k]);
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(T::zero(), |a, &b| a.wrapping_add(b));
    let half = [
        l[0].wrapping_add(l[4]),
        l[1].wrapping_add(l[5]),
        l[2].wrapping_add(l[6]),
        l[3].wrapping_add(l[7]),
    ];
    (half[0].wrapping_add(half[2]))
        .wrapping_add(half[1].wrapping_add(half[3]))
        .wrapping_add(tail)
}

/// Sum; integers keep their dtype and wrap.
pub(crate) struct Sum;
impl<T: Num> Reducer<T> for Sum {
    type Acc = T;
    type Out = T;
    fn init(&self) -> T {
        T::zero()
    }
    #[inline(always)]
    fn step(&self, acc: T, x: T, _: usize) -> T {
        acc.wrapping_add(x)
    }
    fn merge(&self, a: T, b: T) -> T {
        a.wrapping_add(b)
    }
    fn finish(&self, acc: T, _: usize) -> T {
        acc
    }
    fn fold(&self, acc: T, xs: &[T], _: usize) -> T {
        acc.wrapping_add(sum_slice(xs))
    }
}

/// Product; integers wrap.
pub(crate) struct Prod;
impl<T: Num> Reducer<T> for Prod {
    type Acc = T;
    type Out = T;
    fn init(&self) -> T {
        T::one()
    }
    #[inline(always)]
    fn step(&self, acc: T, x: T, _: usize) -> T {
        acc.wrapping_mul(x)
    }
    fn merge(&self, a: T, b: T) -> T {
        a.wrapping_mul(b)
    }
    fn finish(&self, acc: T, _: usize) -> T {
        acc
    }
}

/// Maximum (`MAX`) or minimum; NaN wins, as in NumPy.
pub(crate) struct Extreme<const MAX: bool>;
impl<const MAX: bool, T: Bounded> Reducer<T> for Extreme<MAX> {
    type Acc = T;
    type Out = T;
    fn init(&self) -> T {
        if MAX {
            T::lowest()
        } else {
            T::highest()
        }
    }
    #[inline(always)]
    fn step(&self, acc: T, x: T, _: usize) -> T {
        let better = if MAX { x > acc } else { x < acc };
        if better || is_nan(x) {
            x
        } else {
            acc
        }
    }
    fn merge(&self, a: T, b: T) -> T {
        self.step(a, b, 0)
    }
    fn finish(&self, acc: T, _: usize) -> T {
        acc
    }
}

/// Index of the first maximum (`MAX`) or minimum; the first NaN wins, as in NumPy.
pub(crate) struct ArgExtreme<const MAX: bool>;
impl<const MAX: bool> ArgExtreme<MAX> {
    #[inline(always)]
    fn better<T: Element>(x: T, best: T) -> bool {
        let strictly = if MAX { x > best } else { x < best };
        strictly || (is_nan(x) && !is_nan(best))
    }
}
impl<const MAX: bool, T: Element> Reducer<T> for ArgExtreme<MAX> {
    /// (best value, its index); index `usize::MAX` before the first element.
    type Acc = (T, usize);
    type Out = i64;
    fn init(&self) -> (T, usize) {
        (T::zero(), usize::MAX)
    }
    #[inline(always)]
    fn step(&self, acc: (T, usize), x: T, i: usize) -> (T, usize) {
        if acc.1 == usize::MAX || Self::better(x, acc.0) {
            (x, i)
        } else {
            acc
        }
    }
    fn merge(&self, a: (T, usize), b: (T, usize)) -> (T, usize) {
        if a.1 == usize::MAX || (b.1 != usize::MAX && Self::better(b.0, a.0)) {
            b
        } else {
            a
        }
    }
    fn finish(&self, acc: (T, usize), _: usize) -> i64 {
        acc.1 as i64
    }
}

/// `all` (`ALL`) or `any` of `x != 0`.
pub(crate) struct Truth<const ALL: bool>;
impl<const ALL: bool, T: Element> Reducer<T> for Truth<ALL> {
    type Acc = bool;
    type Out = bool;
    fn init(&self) -> bool {
        ALL
    }
    #[inline(always)]
    fn step(&self, acc: bool, x: T, _: usize) -> bool {
        let nz = x != T::zero();
        if ALL {
            acc && nz
        } else {
            acc || nz
        }
    }
    fn merge(&self, a: bool, b: bool) -> bool {
        if ALL {
            a && b
        } else {
            a || b
        }
    }
    fn finish(&self, acc: bool, _: usize) -> bool {
        acc
    }
}

/// `log(sum(exp(x)))` in one pass: the state is the running maximum `m` and `s = sum(exp(x - m))`,
/// rescaled when a larger element arrives (the "online softmax" recurrence), so nothing overflows.
pub(crate) struct LogSumExp;
impl<T: Float> Reducer<T> for LogSumExp {
    type Acc = (T, T);
    type Out = T;
    fn init(&self) -> (T, T) {
        (T::from_f64(f64::NEG_INFINITY), T::zero())
    }
    #[inline(always)]
    fn step(&self, (m, s): (T, T), x: T, _: usize) -> (T, T) {
        if x > m {
            (x, s * (m - x).exp() + T::one())
        } else if x == m {
            // Also covers x = m = ±inf, where exp(x - m) would be NaN.
            (m, s + T::one())
        } else {
            (m, s + (x - m).exp())
        }
    }
    fn merge(&self, a: (T, T), b: (T, T)) -> (T, T) {
        let (hi, lo) = if b.0 > a.0 { (b, a) } else { (a, b) };
        if hi.0 == lo.0 {
            (hi.0, hi.1 + lo.1)
        } else {
            (hi.0, hi.1 + lo.1 * (lo.0 - hi.0).exp())
        }
    }
    fn finish(&self, (m, s): (T, T), _: usize) -> T {
        if s.is_nan() {
            s
        } else if m == T::from_f64(f64::INFINITY) || m == T::from_f64(f64::NEG_INFINITY) {
            m
        } else {
            m + s.ln()
        }
    }
}

/// The input of a reduction as a contiguous `(outer, red, inner)` block.
struct Plan<'a, T: Clone> {
    data: Cow<'a, [T]>,
    outer: usize,
    red: usize,
    inner: usize,
    /// When the kept axes are walked in another order than the output's: the dimensions in
    /// walk order and the permutation that restores the output's order.
    reorder: Option<(Vec<usize>, Vec<usize>)>,
}

/// Lays `x` out for reducing `axes` (sorted). With `order_matters` (argmax), the reduced axes
/// must be walked in their logical order, so a view that would reorder them is copied.
fn plan<'a, T: Element>(x: &'a Tensor, axes: &[usize], order_matters: bool) -> Plan<'a, T> {
    let l = x.layout();
    let dims = x.dims();
    if x.numel() > 0 {
        // (size, stride, reduced, logical axis) of the axes that are not size 1, in memory order.
        let mut ax: Vec<(usize, isize, bool, usize)> = (0..x.rank())
            .filter(|&i| dims[i] != 1)
            .map(|i| (dims[i], l.strides()[i], axes.contains(&i), i))
            .collect();
        ax.sort_by_key(|a| std::cmp::Reverse(a.1));
        let mut expected = 1isize;
        let dense = ax.iter().rev().all(|&(d, s, _, _)| {
            let ok = s == expected;
            expected *= d as isize;
            ok
        });
        let reduced: Vec<usize> = ax.iter().filter(|a| a.2).map(|a| a.3).collect();
        let in_order = !order_matters || reduced.windows(2).all(|w| w[0] < w[1]);
        // Runs of reduced axes in memory order: one run is a single (outer, red, inner) block.
        let red_runs = usize::from(ax.first().is_some_and(|a| a.2))
            + ax.windows(2).filter(|w| !w[0].2 && w[1].2).count();
        if dense && in_order && red_runs <= 1 {
            let s = T::slice(x.storage()).expect("dtype checked by the caller");
            let data = &s[l.offset()..l.offset() + x.numel()];
            let first = ax.iter().position(|a| a.2).unwrap_or(ax.len());
            let last = ax.iter().rposition(|a| a.2).map_or(first, |p| p + 1);
            let prod = |r: &[(usize, isize, bool, usize)]| r.iter().map(|a| a.0).product();
            let kept: Vec<(usize, usize)> =
                ax.iter().filter(|a| !a.2).map(|a| (a.0, a.3)).collect();
            let reorder = if kept.windows(2).all(|w| w[0].1 < w[1].1) {
                None
            } else {
                let mut order: Vec<usize> = (0..kept.len()).collect();
                order.sort_by_key(|&k| kept[k].1);
                Some((kept.iter().map(|k| k.0).collect(), order))
            };
            return Plan {
                data: Cow::Borrowed(data),
                outer: prod(&ax[..first]),
                red: prod(&ax[first..last]),
                inner: prod(&ax[last..]),
                reorder,
            };
        }
    }
    // Copy into (kept..., reduced...) order: one run per output.
    let kept: Vec<usize> = (0..x.rank()).filter(|i| !axes.contains(i)).collect();
    let perm: Vec<usize> = kept.iter().chain(axes).copied().collect();
    let v = x.view::<T>().permuted_axes(IxDyn(&perm));
    let red: usize = axes.iter().map(|&a| dims[a]).product();
    let outer: usize = kept.iter().map(|&a| dims[a]).product();
    Plan {
        data: Cow::Owned(v.iter().copied().collect()),
        outer,
        red,
        inner: 1,
        reorder: None,
    }
}

/// Reduces `axes` (sorted, unique) of `x` with `r`; the results in row-major output order.
/// The caller has checked the dtype and, for reducers without an identity, that `red > 0`.
pub(crate) fn reduce<T: Element, R: Reducer<T>>(
    x: &Tensor,
    axes: &[usize],
    order_matters: bool,
    r: &R,
) -> Vec<R::Out> {
    let p = plan::<T>(x, axes, order_matters);
    let accs = if p.inner == 1 {
        rows(&p.data, p.outer, p.red, r)
    } else {
        cols(&p.data, p.outer, p.red, p.inner, r)
    };
    let out: Vec<R::Out> = accs.into_iter().map(|a| r.finish(a, p.red)).collect();
    match p.reorder {
        None => out,
        Some((dims, order)) => ArrayViewD::from_shape(IxDyn(&dims), &out)
            .expect("one output per kept index")
            .permuted_axes(IxDyn(&order))
            .iter()
            .copied()
            .collect(),
    }
}

/// One fold per contiguous run of `red` elements.
fn rows<T: Element, R: Reducer<T>>(s: &[T], outer: usize, red: usize, r: &R) -> Vec<R::Acc> {
    let run = |o: usize| &s[o * red..(o + 1) * red];
    if outer * red < PAR_MIN {
        return (0..outer).map(|o| r.fold(r.init(), run(o), 0)).collect();
    }
    if red <= PAR_CHUNK {
        return (0..outer)
            .into_par_iter()
            .map(|o| r.fold(r.init(), run(o), 0))
            .collect();
    }
    // Few long runs: cut each into pieces folded in parallel and merged in order.
    (0..outer)
        .map(|o| {
            run(o)
                .par_chunks(PAR_CHUNK)
                .enumerate()
                .map(|(c, xs)| r.fold(r.init(), xs, c * PAR_CHUNK))
                .reduce_with(|a, b| r.merge(a, b))
                .unwrap_or_else(|| r.init())
        })
        .collect()
}

/// `inner` folds per outer index, fed one contiguous row of `inner` elements at a time.
fn cols<T: Element, R: Reducer<T>>(
    s: &[T],
    outer: usize,
    red: usize,
    inner: usize,
    r: &R,
) -> Vec<R::Acc> {
    let big = outer * red * inner >= PAR_MIN;
    let block = |o: usize, from: usize, to: usize| -> Vec<R::Acc> {
        let mut acc = vec![r.init(); inner];
        for i in from..to {
            let row = &s[(o * red + i) * inner..][..inner];
            for (a, &x) in acc.iter_mut().zip(row) {
                *a = r.step(*a, x, i);
            }
        }
        acc
    };
    // Rows per piece: pieces bound the float error (blocked summation) and split the work.
    let piece = (PAR_CHUNK / inner).max(1);
    let merge = |mut a: Vec<R::Acc>, b: Vec<R::Acc>| {
        for (x, y) in a.iter_mut().zip(b) {
            *x = r.merge(*x, y);
        }
        a
    };
    let one = |o: usize| -> Vec<R::Acc> {
        if red <= piece {
            return block(o, 0, red);
        }
        let f = |p: usize| block(o, p * piece, ((p + 1) * piece).min(red));
        let pieces = red.div_ceil(piece);
        let acc = if big {
            (0..pieces).into_par_iter().map(f).reduce_with(merge)
        } else {
            (0..pieces).map(f).reduce(merge)
        };
        acc.expect("red > piece, so at least one piece")
    };
    if big && outer > 1 {
        (0..outer).into_par_iter().flat_map_iter(one).collect()
    } else {
        (0..outer).flat_map(one).collect()
    }
}

/// Softmax (or log-softmax) of `x` along `axis`, row-major. Each `(n, inner)` block is
/// independent: subtract the maximum along the axis, exponentiate, normalise.
pub(crate) fn softmax<T: Float>(x: &Tensor, axis: usize, log: bool) -> Vec<T> {
    if x.numel() == 0 {
        return Vec::new();
    }
    let x = x.contiguous_unrecorded();
    let s = x.as_slice::<T>().expect("contiguous of its own dtype");
    let dims = x.dims();
    let n = dims[axis];
    let inner: usize = dims[axis + 1..].iter().product();
    let block = n * inner;
    let per_chunk = (PAR_CHUNK / block).max(1) * block;
    super::elementwise::fill_chunks_sized(s.len(), per_chunk, |start, out| {
        vectorized(|| {
            for (k, o) in out.chunks_mut(block).enumerate() {
                let src = &s[start + k * block..][..block];
                if inner == 1 {
                    softmax_row(src, o, log);
                } else {
                    softmax_cols(src, o, inner, log);
                }
            }
        })
    })
}

/// Lanes of the partial maxima and sums of [`max_of`] and [`sum_of`]: a fixed count, so that
/// a sum's rounding does not depend on the CPU's vector width.
const LANES: usize = 16;

/// The largest element (NaNs skipped, −inf when empty), in `LANES` independent lanes so the
/// loop vectorises.
#[inline(always)]
fn max_of<T: Float>(x: &[T]) -> T {
    let mut acc = [T::from_f64(f64::NEG_INFINITY); LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            if v > *a {
                *a = v;
            }
        }
    }
    acc.iter().chain(rest).fold(
        T::from_f64(f64::NEG_INFINITY),
        |a, &b| if b > a { b } else { a },
    )
}

/// The sum of `x` in `LANES` independent partial sums, so the loop vectorises.
#[inline(always)]
fn sum_of<T: Float>(x: &[T]) -> T {
    let mut acc = [T::zero(); LANES];
    let chunks = x.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().chain(rest).fold(T::zero(), |a, &b| a + b)
}

#[inline(always)]
fn softmax_row<T: Float>(x: &[T], out: &mut [T], log: bool) {
    let m = max_of(x);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = (v - m).exp();
    }
    let sum = sum_of(out);
    if log {
        let ls = sum.ln();
        for (o, &v) in out.iter_mut().zip(x) {
            *o = (v - m) - ls;
        }
    } else {
        let inv = T::one() / sum;
        for o in out.iter_mut() {
            *o = *o * inv;
        }
    }
}

/// Softmax along the first axis of an `(n, inner)` block, vectorised across `inner`.
fn softmax_cols<T: Float>(x: &[T], out: &mut [T], inner: usize, log: bool) {
    let mut m = vec![T::from_f64(f64::NEG_INFINITY); inner];
    for row in x.chunks_exact(inner) {
        for (a, &b) in m.iter_mut().zip(row) {
            if b > *a {
                *a = b;
            }
        }
    }
    let mut sum = vec![T::zero(); inner];
    for (orow, row) in out.chunks_exact_mut(inner).zip(x.chunks_exact(inner)) {
        for j in 0..inner {
            let e = (row[j] - m[j]).exp();
            orow[j] = e;
            sum[j] += e;
        }
    }
    if log {
        let ls: Vec<T> = sum.iter().map(|s| s.ln()).collect();
        for (orow, row) in out.chunks_exact_mut(inner).zip(x.chunks_exact(inner)) {
            for j in 0..inner {
                orow[j] = (row[j] - m[j]) - ls[j];
            }
        }
    } else {
        let inv: Vec<T> = sum.iter().map(|&s| T::one() / s).collect();
        for orow in out.chunks_exact_mut(inner) {
            for j in 0..inner {
                orow[j] = orow[j] * inv[j];
            }
        }
    }
}

/// The forward pass of `sparse_softmax_cross_entropy` over rows of `classes` logits:
/// `exp(x − max)` for every logit, and per row the loss `ln Σ + max − x[label]` and `1 / Σ`.
/// Rows are independent and run in parallel.
pub(crate) fn softmax_xent<T: Float>(
    x: &[T],
    labels: &[usize],
    classes: usize,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    let rows = labels.len();
    let mut loss = vec![T::zero(); rows];
    let mut inv = vec![T::zero(); rows];
    if classes == 0 {
        return (Vec::new(), loss, inv);
    }
    let per = (PAR_CHUNK / classes).max(1);
    let exps = super::elementwise::written_by(x.len(), |exps: &mut [T]| {
        let run = |c: usize, (e, (l, v)): (&mut [T], (&mut [T], &mut [T]))| {
            for (r, row) in e.chunks_mut(classes).enumerate() {
                let i = c * per + r;
                let src = &x[i * classes..][..classes];
                let m = max_of(src);
                for (o, &s) in row.iter_mut().zip(src) {
                    *o = (s - m).exp();
                }
                let sum = sum_of(row);
                l[r] = sum.ln() + m - src[labels[i]];
                v[r] = T::one() / sum;
            }
        };
        let chunks = exps
            .par_chunks_mut(per * classes)
            .zip(loss.par_chunks_mut(per).zip(inv.par_chunks_mut(per)));
        if x.len() >= PAR_MIN {
            chunks
                .enumerate()
                .for_each(|(c, t)| vectorized(|| run(c, t)));
        } else {
            vectorized(|| {
                for (c, t) in exps
                    .chunks_mut(per * classes)
                    .zip(loss.chunks_mut(per).zip(inv.chunks_mut(per)))
                    .enumerate()
                {
                    run(c, t);
                }
            })
        }
    });
    (exps, loss, inv)
}

/// The gradient of `sparse_softmax_cross_entropy`: `exps·(g·inv) − one_hot(label)·g` per row.
pub(crate) fn softmax_xent_grad<T: Float>(
    exps: &[T],
    inv: &[T],
    labels: &[usize],
    g: &[T],
) -> Vec<T> {
    let classes = exps.len().checked_div(labels.len()).unwrap_or(0);
    if classes == 0 {
        return Vec::new();
    }
    let per_chunk = (PAR_CHUNK / classes).max(1) * classes;
    super::elementwise::fill_chunks_sized(exps.len(), per_chunk, |start, out| {
        vectorized(|| {
            for (r, o) in out.chunks_mut(classes).enumerate() {
                let i = start / classes + r;
                let scale = g[i] * inv[i];
                for (o, &e) in o.iter_mut().zip(&exps[i * classes..][..classes]) {
                    *o = e * scale;
                }
                o[labels[i]] = o[labels[i]] - g[i];
            }
        })
    })
}
