//! Reductions, softmax and log_softmax. Samples use distinct values (no max/min ties) and, for
//! prod, no zeros: those non-smooth points have their own tests at the bottom, which check
//! the conventions first-order only (a tie's gradient jumps, so no second order exists there).

use crate::OpInfo;
use keen_tape::{gradcheck, GradientTape};
use keen_tensor::{DType, Tensor};

/// Distinct float64 values in about [-2, 2], none near zero, in no particular order.
fn t(dims: &[usize]) -> Tensor {
    let n: usize = dims.iter().product();
    assert!(n <= 101, "t: distinct values only up to 101 elements");
    let v: Vec<f64> = (0..n)
        .map(|i| {
            let k = ((i * 37 + 11) % 101) as f64;
            let x = k / 25.0 - 2.02;
            if x.abs() < 0.1 {
                x + 0.25
            } else {
                x
            }
        })
        .collect();
    Tensor::from_vec(v, dims.to_vec())
}

/// Values in ±[0.5, 1.5] with mixed signs: products stay moderate and far from zero.
fn t_prod(dims: &[usize]) -> Tensor {
    let n: usize = dims.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|i| {
            let m = 0.5 + ((i * 37 + 11) % 101) as f64 / 101.0;
            if i % 3 == 1 {
                -m
            } else {
                m
            }
        })
        .collect();
    Tensor::from_vec(v, dims.to_vec())
}

type Reduce = fn(&Tensor, &[isize], bool) -> Tensor;

/// Entries for one reduction over a spread of axes: all, one, several, negative, keepdims,
/// a size-1 axis, a rank-0 input and a transposed (non-contiguous) input.
fn reduction(name: &'static str, op: Reduce, data: fn(&[usize]) -> Tensor) -> Vec<OpInfo> {
    let configs: [(&str, &[isize], bool, &[usize]); 7] = [
        ("all axes", &[], false, &[2, 3, 4]),
        ("axis 1, keepdims", &[1], true, &[2, 3, 4]),
        ("axes 0 and 2", &[0, 2], false, &[2, 3, 4]),
        ("axis -1", &[-1], false, &[2, 3, 4]),
        ("axes -1 and -3, keepdims", &[-1, -3], true, &[2, 3, 4]),
        ("size-1 axis", &[1], false, &[3, 1, 2]),
        ("rank 0", &[], false, &[]),
    ];
    let mut out: Vec<OpInfo> = configs
        .iter()
        .map(|&(label, axes, keep, dims)| {
            let axes = axes.to_vec();
            OpInfo::new(name, move |x| op(&x[0], &axes, keep)).sample(label, vec![data(dims)])
        })
        .collect();
    // Reducing a transposed view walks it in memory order without a copy.
    out.push(
        OpInfo::new(name, move |x| op(&x[0].transpose(0, 2), &[0], false))
            .sample("axis 0 of a transposed view", vec![data(&[2, 3, 4])]),
    );
    out
}

pub fn entries() -> Vec<OpInfo> {
    let mut e = Vec::new();
    e.extend(reduction("sum", |x, a, k| x.sum(a, k), t));
    e.extend(reduction("prod", |x, a, k| x.prod(a, k), t_prod));
    e.extend(reduction("max", |x, a, k| x.max(a, k), t));
    e.extend(reduction("min", |x, a, k| x.min(a, k), t));
    e.extend(reduction("logsumexp", |x, a, k| x.logsumexp(a, k), t));
    // Compositions: mean is sum/n, var and std are built from mean, sub, square, sum, sqrt.
    e.push(
        OpInfo::new("sum", |x| x[0].mean(&[-1, 0], true))
            .sample("mean over axes -1 and 0", vec![t(&[2, 3, 4])]),
    );
    e.push(
        OpInfo::new("sum", |x| x[0].var(&[1], false))
            .sample("var over axis 1", vec![t(&[2, 3, 4])]),
    );
    e.push(
        OpInfo::new("sum", |x| x[0].var_ddof(&[], false, 1))
            .sample("var with ddof 1", vec![t(&[3, 4])]),
    );
    e.push(
        OpInfo::new("sqrt", |x| x[0].std(&[0, 2], true))
            .sample("std over axes 0 and 2", vec![t(&[2, 3, 4])]),
    );
    for (name, log) in [("softmax", false), ("log_softmax", true)] {
        let f = move |x: &Tensor, axis: isize| {
            if log {
                x.log_softmax(axis)
            } else {
                x.softmax(axis)
            }
        };
        e.push(
            OpInfo::new(name, move |x| f(&x[0], -1))
                .sample("last axis", vec![t(&[2, 3, 4])])
                .sample("rows", vec![t(&[4, 5])])
                .sample("size-1 axis", vec![t(&[3, 1])]),
        );
        e.push(OpInfo::new(name, move |x| f(&x[0], 0)).sample("axis 0", vec![t(&[2, 3, 4])]));
        e.push(OpInfo::new(name, move |x| f(&x[0], -2)).sample("axis -2", vec![t(&[2, 3, 4])]));
        e.push(
            OpInfo::new(name, move |x| f(&x[0].transpose(0, 1), 1))
                .sample("axis 1 of a transposed view", vec![t(&[3, 4])]),
        );
    }
    let labels = |v: Vec<i64>, dims: &[usize]| Tensor::from_vec(v, dims.to_vec());
    e.push(
        OpInfo::new("sparse_softmax_cross_entropy", |x| {
            x[0].sparse_softmax_cross_entropy(&x[1])
        })
        .sample("rows", vec![t(&[4, 5]), labels(vec![0, 4, 2, 2], &[4])])
        .sample(
            "rank 3, int64 labels",
            vec![t(&[2, 3, 4]), labels(vec![3, 0, 1, 1, 2, 3], &[2, 3])],
        )
        .sample("one row", vec![t(&[5]), labels(vec![1], &[])])
        .sample(
            "int32 labels",
            vec![t(&[2, 3]), Tensor::from_vec(vec![2i32, 0], [2])],
        )
        .first_order_only(),
    );
    e.push(
        OpInfo::new("sparse_softmax_cross_entropy", |x| {
            x[0].transpose(0, 1).sparse_softmax_cross_entropy(&x[1])
        })
        .sample(
            "transposed view",
            vec![t(&[4, 3]), labels(vec![1, 3, 0], &[3])],
        )
        .first_order_only(),
    );
    e
}

/// The tape's gradient of `sum(f(x) * w)` for a fixed weighting `w` of the outputs.
fn grad_of(f: impl Fn(&Tensor) -> Tensor, x: &Tensor) -> Vec<f64> {
    let tape = GradientTape::new();
    tape.watch(x);
    let y = f(x);
    let w = Tensor::arange(1.0, 1.0 + y.numel() as f64, 1.0, DType::Float64)
        .reshape_dims(&y.dims().iter().map(|&d| d as isize).collect::<Vec<_>>());
    let loss = y.mul(&w).sum(&[], false);
    tape.gradient(&loss, std::slice::from_ref(x))[0]
        .as_ref()
        .expect("connected")
        .to_f64_vec()
}

#[test]
fn max_and_min_split_the_gradient_equally_among_ties() {
    let x = Tensor::from([
        [1.0f64, 3.0, 3.0, 0.0],
        [2.0, 2.0, 2.0, 2.0],
        [-1.0, 5.0, 0.0, 5.0],
    ]);
    // Row weights 1, 2, 3: two ties share 1/2 each, four share 1/4 each.
    assert_eq!(
        grad_of(|x| x.max(&[1], false), &x),
        [0.0, 0.5, 0.5, 0.0, 0.5, 0.5, 0.5, 0.5, 0.0, 1.5, 0.0, 1.5]
    );
    assert_eq!(
        grad_of(|x| x.min(&[1], false), &x),
        [0.0, 0.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5, 3.0, 0.0, 0.0, 0.0]
    );
    // Central differences at a pair of ties see exactly the half-half split.
    let pairs = Tensor::from([[1.0f64, 3.0, 3.0, 0.0], [-1.0, 5.0, 0.0, 5.0]]);
    gradcheck(&|x| x[0].max(&[1], false), std::slice::from_ref(&pairs)).unwrap();
    gradcheck(&|x| x[0].min(&[0], true), &[pairs.neg().transpose(0, 1)]).unwrap();
}

#[test]
fn prod_gradient_is_exact_at_zeros() {
    // One zero in a row: only it gets the product of the others; two zeros: all get 0.
    let x = Tensor::from([[2.0f64, 0.0, 3.0], [0.0, 4.0, 0.0], [1.0, 2.0, 5.0]]);
    assert_eq!(
        grad_of(|x| x.prod(&[1], false), &x),
        [
            0.0,
            6.0,
            0.0,
            0.0,
            0.0,
            0.0,
            10.0 * 3.0,
            5.0 * 3.0,
            2.0 * 3.0
        ]
    );
    // prod is linear in each element, so central differences are exact here too.
    gradcheck(&|x| x[0].prod(&[1], false), std::slice::from_ref(&x)).unwrap();
    gradcheck(&|x| x[0].prod(&[], false), &[x]).unwrap();
}
