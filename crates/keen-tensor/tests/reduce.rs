//! Reductions, softmax and log_softmax: values against NumPy (fixtures/reduce.json, made by
//! fixtures/gen_reduce.py), edge cases, strided views, the parallel paths and error messages.

use keen_tensor::{DType, ErrorKind, Tensor};
use serde_json::Value;

fn fixtures() -> Value {
    let text = include_str!("fixtures/reduce.json");
    serde_json::from_str(text).expect("valid fixture JSON")
}

fn dtype_of(name: &str) -> DType {
    match name {
        "float32" => DType::Float32,
        "float64" => DType::Float64,
        "int32" => DType::Int32,
        "int64" => DType::Int64,
        "bool" => DType::Bool,
        other => panic!("fixture dtype {other}"),
    }
}

/// A tensor from a fixture's `{dtype, shape, data}`.
fn decode(v: &Value) -> Tensor {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"].as_array().unwrap();
    match dtype_of(v["dtype"].as_str().unwrap()) {
        DType::Bool => Tensor::from_vec(data.iter().map(|x| x.as_bool().unwrap()).collect(), shape),
        DType::Int32 => Tensor::from_vec(
            data.iter().map(|x| x.as_i64().unwrap() as i32).collect(),
            shape,
        ),
        DType::Int64 => Tensor::from_vec(data.iter().map(|x| x.as_i64().unwrap()).collect(), shape),
        DType::Float32 => Tensor::from_vec(
            data.iter().map(|x| x.as_f64().unwrap() as f32).collect(),
            shape,
        ),
        _ => Tensor::from_vec(data.iter().map(|x| x.as_f64().unwrap()).collect(), shape),
    }
}

fn apply(op: &str, x: &Tensor, axes: &[isize], keepdims: bool) -> Tensor {
    match op {
        "sum" => x.sum(axes, keepdims),
        "mean" => x.mean(axes, keepdims),
        "prod" => x.prod(axes, keepdims),
        "max" => x.max(axes, keepdims),
        "min" => x.min(axes, keepdims),
        "argmax" => x.argmax(axes, keepdims),
        "argmin" => x.argmin(axes, keepdims),
        "var" => x.var(axes, keepdims),
        "var_ddof1" => x.var_ddof(axes, keepdims, 1),
        "std" => x.std(axes, keepdims),
        "std_ddof1" => x.std_ddof(axes, keepdims, 1),
        "logsumexp" => x.logsumexp(axes, keepdims),
        "all" => x.all(axes, keepdims),
        "any" => x.any(axes, keepdims),
        "softmax" => x.softmax(axes[0]),
        "log_softmax" => x.log_softmax(axes[0]),
        other => panic!("unknown fixture op {other}"),
    }
}

/// Asserts `got` equals `want` in shape, dtype and values (floats to a relative tolerance).
fn assert_matches(got: &Tensor, want: &Tensor, what: &str) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    let tol = match got.dtype() {
        DType::Float32 => 2e-6,
        DType::Float64 => 1e-12,
        _ => 0.0,
    };
    for (i, (g, w)) in got.to_f64_vec().iter().zip(want.to_f64_vec()).enumerate() {
        let ok = g == &w || (g - w).abs() <= tol * (1.0 + w.abs());
        assert!(ok, "{what}: element {i} is {g}, NumPy says {w}");
    }
}

/// The same values with other strides: every axis reversed in memory.
fn strided(x: &Tensor) -> Tensor {
    let rev: Vec<isize> = (0..x.rank() as isize).rev().collect();
    let y = x.permute(&rev).contiguous().permute(&rev);
    assert!(x.rank() < 2 || !y.is_contiguous());
    y
}

#[test]
fn values_match_numpy() {
    let fx = fixtures();
    let inputs = &fx["inputs"];
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() > 400);
    for c in cases {
        let op = c["op"].as_str().unwrap();
        let name = c["input"].as_str().unwrap();
        let axes: Vec<isize> = c["axes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_i64().unwrap() as isize)
            .collect();
        let keepdims = c["keepdims"].as_bool().unwrap();
        let x = decode(&inputs[name]);
        let want = decode(&c["expected"]);
        let what = format!("{op}({name}, axes={axes:?}, keepdims={keepdims})");
        assert_matches(&apply(op, &x, &axes, keepdims), &want, &what);
        let what = format!("{what} on a strided view");
        assert_matches(&apply(op, &strided(&x), &axes, keepdims), &want, &what);
    }
}

/// Reference reduction in f64 through `to_f64_vec` and index arithmetic.
fn naive_sum_axis(x: &Tensor, axis: usize) -> Vec<f64> {
    let d = x.dims().to_vec();
    let v = x.to_f64_vec();
    let outer: usize = d[..axis].iter().product();
    let inner: usize = d[axis + 1..].iter().product();
    let mut out = vec![0.0; outer * inner];
    for o in 0..outer {
        for r in 0..d[axis] {
            for i in 0..inner {
                out[o * inner + i] += v[(o * d[axis] + r) * inner + i];
            }
        }
    }
    out
}

fn close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}: element {i} is {g}, expected {w}"
        );
    }
}

fn ramp(n: usize, dtype: DType) -> Tensor {
    // Distinct values, not sorted, so that max/argmax are not at an end.
    let v: Vec<f64> = (0..n)
        .map(|i| ((i * 7919) % 10007) as f64 / 1000.0 - 5.0)
        .collect();
    Tensor::from_vec(v, [n]).cast(dtype)
}

#[test]
fn every_layout_of_a_rank_3_tensor_agrees_with_the_contiguous_one() {
    let x = ramp(60, DType::Float64).reshape([3, 4, 5]);
    let perms: [[isize; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let axes: [&[isize]; 8] = [&[], &[0], &[1], &[2], &[0, 1], &[0, 2], &[1, 2], &[0, 1, 2]];
    for p in perms {
        // A dense view in another memory order, and a contiguous tensor with the same values.
        let view = x.permute(&p);
        let dense = view.contiguous();
        for a in axes {
            for op in ["sum", "max", "argmax", "argmin", "logsumexp", "prod"] {
                let what = format!("{op} over {a:?} of permute {p:?}");
                let want = apply(op, &dense, a, false);
                assert_matches(&apply(op, &view, a, false), &want, &what);
            }
        }
        for axis in 0..3 {
            let what = format!("softmax({axis}) of permute {p:?}");
            assert_matches(&view.softmax(axis), &dense.softmax(axis), &what);
        }
    }
}

#[test]
fn broadcast_and_stepped_views_are_reduced_correctly() {
    let row = Tensor::from([1.0f32, 2.0, 3.0]);
    let b = row.broadcast_to([4, 3]);
    assert_eq!(b.sum(&[0], false).to_vec::<f32>(), [4.0, 8.0, 12.0]);
    assert_eq!(b.sum(&[1], false).to_vec::<f32>(), [6.0; 4]);
    assert_eq!(b.argmax(&[], false).item::<i64>(), 2);
    assert_eq!(b.max(&[0], true).dims(), [1, 3]);
    let col = Tensor::from([[1.0f64], [5.0]]).broadcast_to([2, 3]);
    assert_eq!(col.softmax(1).to_vec::<f64>(), [1.0 / 3.0; 6]);
}

#[test]
fn rank_0() {
    let x = Tensor::scalar(2.5f64);
    for op in ["sum", "mean", "prod", "max", "min", "logsumexp"] {
        let y = apply(op, &x, &[], false);
        assert_eq!(y.dims(), [] as [usize; 0], "{op}");
        assert_eq!(y.item::<f64>(), 2.5, "{op}");
        assert_eq!(apply(op, &x, &[], true).dims(), [] as [usize; 0], "{op}");
    }
    assert_eq!(x.argmax(&[], false).item::<i64>(), 0);
    assert_eq!(x.var(&[], false).item::<f64>(), 0.0);
    assert!(x.all(&[], false).item::<bool>());
    let e = x.try_sum(&[0], false).unwrap_err();
    assert_eq!(
        e.message(),
        "sum: axis 0 out of range for rank-0 tensor of shape () (valid: none: the tensor is a scalar)"
    );
}

#[test]
fn size_0_axes() {
    let x = Tensor::zeros([2, 0], DType::Float32);
    assert_eq!(x.sum(&[1], false).to_vec::<f32>(), [0.0, 0.0]);
    assert_eq!(x.sum(&[0], false).dims(), [0]);
    assert_eq!(x.sum(&[], false).item::<f32>(), 0.0);
    assert_eq!(x.prod(&[1], true).to_vec::<f32>(), [1.0, 1.0]);
    assert!(x
        .mean(&[1], false)
        .to_vec::<f32>()
        .iter()
        .all(|v| v.is_nan()));
    assert_eq!(
        x.logsumexp(&[1], false).to_vec::<f32>(),
        [f32::NEG_INFINITY; 2]
    );
    assert_eq!(x.all(&[1], false).to_vec::<bool>(), [true, true]);
    assert_eq!(x.any(&[1], false).to_vec::<bool>(), [false, false]);
    // Nothing to reduce per output when the output itself is empty: fine for max too.
    assert_eq!(x.max(&[0], false).dims(), [0]);
    assert_eq!(x.argmax(&[0], true).dims(), [1, 0]);
    assert_eq!(x.softmax(1).dims(), [2, 0]);
    assert_eq!(x.softmax(0).dims(), [2, 0]);
    let e = x.try_max(&[1], false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
    assert_eq!(
        e.message(),
        "max: cannot reduce axis 1 of shape (2, 0): it is empty and max has no identity"
    );
    let e = Tensor::zeros([0], DType::Int32)
        .try_argmin(&[], false)
        .unwrap_err();
    assert_eq!(
        e.message(),
        "argmin: cannot reduce axis 0 of shape (0,): it is empty and argmin has no identity"
    );
}

#[test]
#[should_panic(expected = "min: cannot reduce axis 0 of shape (0, 3): it is empty")]
fn min_of_empty_panics() {
    Tensor::zeros([0, 3], DType::Float64).min(&[], false);
}

#[test]
fn size_1_axes_and_negative_axes() {
    let x = ramp(6, DType::Float32).reshape([2, 1, 3]);
    assert_eq!(x.sum(&[1], false).to_vec::<f32>(), x.to_vec::<f32>());
    assert_eq!(x.max(&[-2], true).dims(), [2, 1, 3]);
    assert_eq!(x.argmax(&[1], false).to_vec::<i64>(), [0; 6]);
    assert_eq!(x.var(&[1], false).to_vec::<f32>(), [0.0; 6]);
    assert_eq!(x.softmax(1).to_vec::<f32>(), [1.0; 6]);
    assert_eq!(x.log_softmax(-2).to_vec::<f32>(), [0.0; 6]);
    assert_eq!(
        x.sum(&[-1, -3], false).to_vec::<f32>(),
        x.sum(&[2, 0], false).to_vec::<f32>()
    );
    assert_eq!(x.sum(&[-1, 0], true).dims(), [1, 1, 1]);
}

#[test]
fn ties_nan_and_infinities() {
    let x = Tensor::from([[3.0f64, 1.0, 3.0], [-1.0, -1.0, -2.0]]);
    assert_eq!(x.argmax(&[1], false).to_vec::<i64>(), [0, 0]);
    assert_eq!(x.argmin(&[1], false).to_vec::<i64>(), [1, 2]);
    let n = Tensor::from([1.0f64, f64::NAN, 5.0, f64::NAN]);
    assert!(n.max(&[], false).item::<f64>().is_nan());
    assert!(n.min(&[], false).item::<f64>().is_nan());
    assert_eq!(n.argmax(&[], false).item::<i64>(), 1);
    assert_eq!(n.argmin(&[], false).item::<i64>(), 1);
    assert!(n.logsumexp(&[], false).item::<f64>().is_nan());
    let inf = Tensor::from([[f64::INFINITY, 1.0], [f64::NEG_INFINITY, f64::NEG_INFINITY]]);
    assert_eq!(
        inf.logsumexp(&[1], false).to_vec::<f64>(),
        [f64::INFINITY, f64::NEG_INFINITY]
    );
    let m = Tensor::from([f64::NEG_INFINITY, 0.0]);
    assert_eq!(m.logsumexp(&[], false).item::<f64>(), 0.0);
    assert_eq!(m.softmax(0).to_vec::<f64>(), [0.0, 1.0]);
    assert_eq!(m.log_softmax(0).to_vec::<f64>(), [f64::NEG_INFINITY, 0.0]);
}

#[test]
fn softmax_is_stable_for_large_inputs() {
    let x = Tensor::from([[1000.0f32, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0]]);
    let y = x.softmax(-1).to_vec::<f32>();
    let w = [0.090_030_57f32, 0.244_728_48, 0.665_240_94];
    close(
        &y.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        &[w[0], w[1], w[2], w[2], w[1], w[0]].map(|v| v as f64),
        1e-6,
        "softmax",
    );
    let l = x.log_softmax(-1).to_vec::<f32>();
    assert!((l[0] - (-2.407_605_6)).abs() < 1e-5, "{l:?}");
    assert!(x.logsumexp(&[1], false).to_vec::<f32>()[0].is_finite());
}

#[test]
fn integer_and_bool_dtypes() {
    let x = Tensor::from([[1i64, -2, 3], [4, 5, -6]]);
    assert_eq!(x.sum(&[0], false).to_vec::<i64>(), [5, 3, -3]);
    assert_eq!(x.prod(&[], false).item::<i64>(), 720);
    assert_eq!(x.max(&[1], false).to_vec::<i64>(), [3, 5]);
    assert_eq!(x.min(&[], false).item::<i64>(), -6);
    let u = Tensor::from([200u8, 100]);
    assert_eq!(u.sum(&[], false).item::<u8>(), 44, "u8 sums wrap");
    assert_eq!(u.max(&[], false).dtype(), DType::UInt8);
    let b = Tensor::from([false, true, true]);
    assert!(b.max(&[], false).item::<bool>());
    assert_eq!(b.argmax(&[], false).item::<i64>(), 1);
    assert!(!b.all(&[], false).item::<bool>());
    assert!(Tensor::from([0.0f32, 0.5]).any(&[], false).item::<bool>());
}

#[test]
fn dtype_and_axis_errors() {
    let i = Tensor::from([[1, 2], [3, 4]]);
    let msg = |r: keen_tensor::Result<Tensor>| r.unwrap_err().message().to_string();
    assert_eq!(
        msg(i.try_mean(&[], false)),
        "mean: expected a float tensor, got int32"
    );
    assert_eq!(
        msg(i.try_var_ddof(&[], false, 0)),
        "var: expected a float tensor, got int32"
    );
    assert_eq!(
        msg(i.try_std_ddof(&[], false, 0)),
        "std: expected a float tensor, got int32"
    );
    assert!(msg(i.try_logsumexp(&[], false))
        .starts_with("logsumexp: expected a float tensor, got int32"));
    assert!(msg(i.try_softmax(0)).starts_with("softmax: expected a float tensor, got int32"));
    assert!(msg(i.try_log_softmax(0)).starts_with("log_softmax: expected a float tensor"));
    let b = Tensor::from([true]);
    assert_eq!(
        msg(b.try_sum(&[], false)),
        "sum: not defined for bool tensors"
    );
    assert_eq!(
        msg(b.try_prod(&[], false)),
        "prod: not defined for bool tensors"
    );
    let x = Tensor::zeros([2, 3, 4], DType::Float32);
    assert_eq!(
        msg(x.try_sum(&[3], false)),
        "sum: axis 3 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)"
    );
    assert_eq!(
        msg(x.try_argmax(&[-4], false)),
        "argmax: axis -4 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)"
    );
    assert_eq!(
        msg(x.try_max(&[1, -2], false)),
        "max: axis -2 repeated in [1, -2] for shape (2, 3, 4)"
    );
    assert_eq!(
        msg(x.try_softmax(3)),
        "softmax: axis 3 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)"
    );
    for (r, op) in [
        (x.try_var_ddof(&[5], false, 0), "var"),
        (x.try_std_ddof(&[5], false, 1), "std"),
        (x.try_mean(&[5], false), "mean"),
        (x.try_logsumexp(&[5], false), "logsumexp"),
        (x.try_all(&[5], false), "all"),
        (x.try_any(&[5], false), "any"),
        (x.try_prod(&[5], false), "prod"),
        (x.try_min(&[5], false), "min"),
        (x.try_argmin(&[5], false), "argmin"),
        (x.try_log_softmax(5), "log_softmax"),
    ] {
        assert!(
            msg(r).starts_with(&format!("{op}: axis 5 out of range")),
            "{op}"
        );
    }
}

#[test]
#[should_panic(
    expected = "sum: axis 3 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)"
)]
fn sum_axis_out_of_range_panics() {
    Tensor::zeros([2, 3, 4], DType::Float32).sum(&[3], false);
}

#[test]
fn var_and_std_ddof() {
    let x = Tensor::from([[1.0f64, 2.0, 3.0, 4.0]]);
    assert_eq!(x.var(&[1], false).to_vec::<f64>(), [1.25]);
    assert_eq!(x.var_ddof(&[1], true, 1).to_vec::<f64>(), [5.0 / 3.0]);
    assert_eq!(
        x.std_ddof(&[], false, 1).item::<f64>(),
        (5.0f64 / 3.0).sqrt()
    );
    // n - ddof = 0: 0/0, as NumPy.
    assert!(x.var_ddof(&[0], false, 1).to_vec::<f64>()[0].is_nan());
}

// ---- large inputs: the parallel paths and summation accuracy ----

#[test]
fn large_row_and_column_reductions_match_a_naive_loop() {
    // (rows, cols) with rows*cols above the parallel threshold, reduced both ways, and a
    // leading-axis reduction with one output row (the bias gradient of a big batch).
    for (r, c) in [(300, 1000), (100_000, 3), (3, 100_000), (1, 200_000)] {
        let x = ramp(r * c, DType::Float64).reshape_dims(&[r as isize, c as isize]);
        for axis in [0usize, 1] {
            let what = format!("sum over axis {axis} of ({r}, {c})");
            close(
                &x.sum(&[axis as isize], false).to_vec::<f64>(),
                &naive_sum_axis(&x, axis),
                1e-9,
                &what,
            );
        }
        let x3 = x
            .reshape_dims(&[1, r as isize, c as isize])
            .broadcast_to([2, r, c]);
        close(
            &x3.sum(&[1], false).to_vec::<f64>(),
            &[naive_sum_axis(&x, 0), naive_sum_axis(&x, 0)].concat(),
            1e-9,
            "sum over the middle axis of a broadcast view",
        );
    }
}

#[test]
fn large_argmax_finds_the_first_maximum_across_chunks() {
    let n = 300_000;
    let mut v = vec![0.0f32; n];
    v[70_000] = 2.0;
    v[250_000] = 2.0;
    v[5] = -1.0;
    v[260_000] = -1.0;
    let x = Tensor::from_vec(v, [n]);
    assert_eq!(x.argmax(&[], false).item::<i64>(), 70_000);
    assert_eq!(x.argmin(&[], false).item::<i64>(), 5);
    assert_eq!(x.max(&[], false).item::<f32>(), 2.0);
    let cols = x.reshape([1000, 300]);
    let am = cols.argmax(&[0], false).to_vec::<i64>();
    assert_eq!(am[70_000 % 300], (70_000 / 300) as i64);
    assert_eq!(
        cols.argmax(&[1], false).to_vec::<i64>()[70_000 / 300],
        (70_000 % 300) as i64
    );
}

#[test]
fn float32_sum_is_accurate() {
    // Naive left-to-right f32 accumulation of 2^20 values of 0.1 is off by about 1e-3
    // relative; blocked pairwise summation keeps it near f32 epsilon.
    let n = 1 << 20;
    let x = Tensor::full([n], 0.1, DType::Float32);
    let exact = n as f64 * 0.1f32 as f64;
    let got = x.sum(&[], false).item::<f32>() as f64;
    assert!((got - exact).abs() / exact < 1e-6, "{got} vs {exact}");
    let rows = x.reshape([1024, 1024]).sum(&[0], false).to_vec::<f32>();
    assert!(rows.iter().all(|&v| ((v as f64) - 102.4).abs() < 1e-3));
}

#[test]
fn large_softmax_and_logsumexp() {
    let x = ramp(200 * 1000, DType::Float32).reshape([200, 1000]);
    let s = x.softmax(-1);
    let sums = s.sum(&[-1], false).to_vec::<f32>();
    assert!(sums.iter().all(|v| (v - 1.0).abs() < 1e-5));
    let l = x.log_softmax(1);
    let lse = x.logsumexp(&[1], true);
    close(
        &l.to_f64_vec(),
        &x.sub(&lse).to_f64_vec(),
        1e-5,
        "log_softmax = x - logsumexp",
    );
    let s0 = x.softmax(0).sum(&[0], false).to_vec::<f32>();
    assert!(s0.iter().all(|v| (v - 1.0).abs() < 1e-5));
}

#[test]
fn sparse_softmax_cross_entropy_is_minus_log_softmax_at_the_label() {
    // 96 rows of 1000 classes: the parallel path; logits far apart so no row overflows.
    let (rows, classes) = (96usize, 1000usize);
    let v: Vec<f32> = (0..rows * classes)
        .map(|i| ((i * 7919 % 4001) as f32 - 2000.0) / 40.0)
        .collect();
    let x = Tensor::from_vec(v, [rows, classes]);
    let ids: Vec<i64> = (0..rows).map(|r| (r * 37 % classes) as i64).collect();
    let labels = Tensor::from_vec(ids.clone(), [rows]);
    let got = x.sparse_softmax_cross_entropy(&labels).to_vec::<f32>();
    let logp = x.log_softmax(-1).to_vec::<f32>();
    let want: Vec<f64> = (0..rows)
        .map(|r| -logp[r * classes + ids[r] as usize] as f64)
        .collect();
    close(
        &got.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        &want,
        1e-5,
        "sparse_softmax_cross_entropy",
    );
    // Large logits neither overflow nor lose the label's term; a transposed view is read as such.
    let big = Tensor::from([[1000.0f64, 0.0], [-1000.0, 1000.0]]);
    let l = big
        .sparse_softmax_cross_entropy(&Tensor::from([1i32, 0]))
        .to_vec::<f64>();
    assert_eq!(l, [1000.0, 2000.0]);
    let t = big.transpose(0, 1);
    let l = t
        .sparse_softmax_cross_entropy(&Tensor::from([0i64, 0]))
        .to_vec::<f64>();
    assert_eq!(l, [0.0, 1000.0]);
}
