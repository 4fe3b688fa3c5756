//! Slicing, joining, indexing and padding ops: values against NumPy (fixtures/gen_shape.py →
//! fixtures/shape.json), edge cases, error messages, and laws (proptest).

#![allow(clippy::reversed_empty_ranges)] // `s![1..-1]` counts from the end, as NumPy

use keen_tensor::{s, DType, Tensor};
use proptest::prelude::*;
use serde_json::Value;
use std::sync::OnceLock;

fn fixtures() -> &'static Value {
    static F: OnceLock<Value> = OnceLock::new();
    F.get_or_init(|| serde_json::from_str(include_str!("fixtures/shape.json")).unwrap())
}

fn tensor(v: &Value) -> Tensor {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"].as_array().unwrap();
    match v["dtype"].as_str().unwrap() {
        "float64" => Tensor::from_vec(data.iter().map(|x| x.as_f64().unwrap()).collect(), shape),
        "float32" => Tensor::from_vec(
            data.iter().map(|x| x.as_f64().unwrap() as f32).collect(),
            shape,
        ),
        "int64" => Tensor::from_vec(data.iter().map(|x| x.as_i64().unwrap()).collect(), shape),
        "int32" => Tensor::from_vec(
            data.iter().map(|x| x.as_i64().unwrap() as i32).collect(),
            shape,
        ),
        "bool" => Tensor::from_vec(data.iter().map(|x| x.as_bool().unwrap()).collect(), shape),
        d => panic!("fixture dtype {d}"),
    }
}

/// (inputs, expected outputs) of a fixture case.
fn case(name: &str) -> (Vec<Tensor>, Vec<Tensor>) {
    let c = &fixtures()[name];
    assert!(!c.is_null(), "no fixture {name}");
    let list = |k: &str| c[k].as_array().unwrap().iter().map(tensor).collect();
    (list("inputs"), list("outputs"))
}

#[track_caller]
fn assert_same(got: &Tensor, want: &Tensor) {
    assert_eq!(got.dims(), want.dims(), "shape");
    assert_eq!(got.dtype(), want.dtype(), "dtype");
    let (g, w) = (got.to_f64_vec(), want.to_f64_vec());
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - b).abs() <= 1e-12 * b.abs().max(1.0),
            "element {i}: {a} vs {b}"
        );
    }
}

#[track_caller]
fn check(name: &str, f: impl Fn(&[Tensor]) -> Vec<Tensor>) {
    let (inputs, want) = case(name);
    let got = f(&inputs);
    assert_eq!(got.len(), want.len(), "{name}: number of outputs");
    for (g, w) in got.iter().zip(&want) {
        assert_same(g, w);
    }
}

#[track_caller]
fn err(r: keen_tensor::Result<impl std::fmt::Debug>) -> String {
    r.expect_err("expected an error").message().to_string()
}

// ---- values against NumPy ----

#[test]
fn slicing_matches_numpy() {
    check("slice_range_step", |x| vec![x[0].slice(s![.., 1..3, ..;2])]);
    check("slice_index_neg", |x| vec![x[0].slice(s![-1, 0])]);
    check("slice_neg_bounds", |x| {
        vec![x[0].slice(s![1.., -2.., 1..-1])]
    });
    check("slice_incl", |x| vec![x[0].slice(s![.., 0..=1, 1..;3])]);
    check("slice_of_transpose", |x| {
        vec![x[0].permute(&[2, 0, 1]).slice(s![1..3, .., ..;2])]
    });
    check("slice_of_slice", |x| {
        vec![
            x[0].slice(s![.., ..;2]).slice(s![.., .., 1..3]),
            x[0].slice(s![.., ..;2, 1..3]),
        ]
    });
    check("narrow", |x| vec![x[0].narrow(1, 1, 2)]);
    check("slice_empty", |x| vec![x[0].slice(s![.., 3..3])]);
}

#[test]
fn joining_matches_numpy() {
    check("concat_axis1", |x| vec![Tensor::concat(x, 1)]);
    check("concat_last_int", |x| {
        vec![Tensor::concat(&[&x[0], &x[1]], -1)]
    });
    check("stack", |x| {
        vec![
            Tensor::stack(x, 0),
            Tensor::stack(x, 1),
            Tensor::stack(x, -1),
        ]
    });
    check("split", |x| x[0].split(&[1, 2, 1], 2));
    check("chunk", |x| x[0].chunk(3, 1));
}

#[test]
fn indexing_matches_numpy() {
    check("index_select_axis1", |x| vec![x[0].index_select(1, &x[1])]);
    check("gather", |x| vec![x[0].gather(&x[1])]);
    let (x, want) = case("gather");
    assert_same(&x[0].gather(&x[1].cast(DType::Int64)), &want[0]);
    check("scatter_add", |x| vec![x[0].scatter_add(&x[1], &x[2])]);
    check("index_add_axis1", |x| vec![x[0].index_add(1, &x[1], &x[2])]);
    check("take_along_axis1", |x| vec![x[0].take_along_axis(1, &x[1])]);
    check("scatter_add_along_axis1", |x| {
        vec![x[0].scatter_add_along_axis(1, &x[1], &x[2])]
    });
    check("one_hot", |x| vec![x[0].one_hot(4, DType::Float32)]);
    check("masked_fill", |x| vec![x[0].masked_fill(&x[1], -1e9)]);
}

#[test]
fn padding_matches_numpy() {
    check("pad", |x| vec![x[0].pad(&[(1, 0), (0, 2), (3, 1)], 0.5)]);
    check("tile", |x| {
        vec![x[0].tile(&[2, 3]), x[0].tile(&[2, 1, 2]), x[0].tile(&[3])]
    });
    check("repeat", |x| vec![x[0].repeat(2, 0), x[0].repeat(3, -1)]);
    check("flip", |x| {
        vec![x[0].flip(&[1]), x[0].flip(&[0, -1]), x[0].flip(&[])]
    });
    check("outer", |x| vec![x[0].outer(&x[1])]);
}

// ---- views, edge cases, dtypes ----

fn grid() -> Tensor {
    Tensor::arange(0.0, 24.0, 1.0, DType::Int32).reshape([2, 3, 4])
}

#[test]
fn slice_is_a_view() {
    let x = grid();
    let y = x.slice(s![1, 1..3, ..;2]);
    assert!(y.shares_storage(&x));
    assert_eq!(y.dims(), [2, 2]);
    assert_eq!(y.to_vec::<i32>(), [16, 18, 20, 22]);
    assert!(x.narrow(0, 1, 1).shares_storage(&x));
    assert!(x.narrow(0, 1, 1).is_contiguous());
    // Fewer entries than axes: the rest are whole.
    assert_eq!(x.slice(s![0]).dims(), [3, 4]);
    assert_eq!(x.slice(s![]).dims(), [2, 3, 4]);
    // `..=-1` reaches the end, `..=-2` stops before the last.
    assert_eq!(x.slice(s![0, 0, 1..=-1]).to_vec::<i32>(), [1, 2, 3]);
    assert_eq!(x.slice(s![0, 0, ..=-2]).to_vec::<i32>(), [0, 1, 2]);
    // Steps from variables of other integer types.
    let step: usize = 3;
    assert_eq!(x.slice(s![0, 0, ..;step]).to_vec::<i32>(), [0, 3]);
}

#[test]
fn slice_edge_cases() {
    let x = grid();
    // size-0 results, including starting at the end of an axis
    let e = x.slice(s![.., 3..]);
    assert_eq!(e.dims(), [2, 0, 4]);
    assert_eq!(e.to_vec::<i32>(), Vec::<i32>::new());
    assert_eq!(e.slice(s![1..]).dims(), [1, 0, 4]);
    assert_eq!(e.contiguous().dims(), [2, 0, 4]);
    // size-1 axes and picking a single element down to rank 0
    let one = x.slice(s![1, 2, 3]);
    assert_eq!(one.rank(), 0);
    assert_eq!(one.item::<i32>(), 23);
    // a rank-0 tensor slices with an empty spec
    let sc = Tensor::scalar(5.0f64);
    assert_eq!(sc.slice(s![]).item::<f64>(), 5.0);
    // a broadcast view
    let b = Tensor::from([1, 2, 3]).broadcast_to([4, 3]);
    assert_eq!(b.slice(s![1..3, ..;2]).to_vec::<i32>(), [1, 3, 1, 3]);
    // every dtype
    for dt in [
        DType::Float32,
        DType::Float64,
        DType::Int32,
        DType::Int64,
        DType::UInt8,
        DType::Bool,
    ] {
        let y = grid().cast(dt).slice(s![.., 1, 1..;2]);
        assert_eq!(y.dtype(), dt);
        assert_eq!(
            y.to_f64_vec(),
            grid().slice(s![.., 1, 1..;2]).cast(dt).to_f64_vec()
        );
    }
}

#[test]
fn join_edge_cases() {
    // non-contiguous inputs: a transposed view and a broadcast view
    let a = Tensor::from([[1, 2], [3, 4]]).t();
    let b = Tensor::from([9, 8]).broadcast_to([2, 2]);
    let c = Tensor::concat(&[&a, &b], 1);
    assert_eq!(c.to_vec::<i32>(), [1, 3, 9, 8, 2, 4, 9, 8]);
    // one input gives an equal copy with a new identity
    let one = Tensor::concat(&[&a], 0);
    assert_eq!(one.to_vec::<i32>(), a.to_vec::<i32>());
    assert_ne!(one.id(), a.id());
    // split into pieces that include a size-0 one, then concat back
    let x = grid();
    let parts = x.split(&[0, 3, 1], -1);
    assert_eq!(parts[0].dims(), [2, 3, 0]);
    assert_eq!(
        Tensor::concat(&parts, -1).to_vec::<i32>(),
        x.to_vec::<i32>()
    );
    // unbind removes the axis; stack puts it back
    let rows = x.unbind(1);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2].dims(), [2, 4]);
    assert_eq!(Tensor::stack(&rows, 1).to_vec::<i32>(), x.to_vec::<i32>());
    // stack of scalars
    let s = Tensor::stack(&[Tensor::scalar(1.5f32), Tensor::scalar(2.5f32)], 0);
    assert_eq!(s.to_vec::<f32>(), [1.5, 2.5]);
    // bool and uint8 move like any other dtype
    let m = Tensor::from([true, false]);
    assert_eq!(
        Tensor::concat(&[&m, &m], 0).to_vec::<bool>(),
        [true, false, true, false]
    );
    let big = Tensor::ones([300, 200], DType::UInt8);
    let cat = Tensor::concat(&[&big, &big.slice(s![.., ..100])], 1);
    assert_eq!(cat.dims(), [300, 300]);
    assert_eq!(cat.cast(DType::Int64).sum(&[], false).item::<i64>(), 90000);
}

#[test]
fn index_edge_cases() {
    let table = Tensor::from([[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    // scalar id: a row, rank reduced
    assert_eq!(
        table.gather(&Tensor::scalar(2i64)).to_vec::<f32>(),
        [5.0, 6.0]
    );
    // empty ids
    let none = table.gather(&Tensor::zeros([0, 4], DType::Int32));
    assert_eq!(none.dims(), [0, 4, 2]);
    // negative index counts from the end
    assert_eq!(
        table.gather(&Tensor::from([-1])).to_vec::<f32>(),
        [5.0, 6.0]
    );
    // non-contiguous table and ids
    let tt = table.t(); // (2, 3)
    let ids = Tensor::from([[0, 2], [1, 1]]).t();
    assert_eq!(
        tt.index_select(1, &ids).to_vec::<f32>(),
        [1.0, 3.0, 5.0, 3.0, 2.0, 4.0, 6.0, 4.0]
    );
    // a large gather takes the parallel path and keeps order
    let big = Tensor::arange(0.0, 2000.0 * 64.0, 1.0, DType::Float32).reshape([2000, 64]);
    let ids = Tensor::arange(1999.0, -1.0, -1.0, DType::Int64);
    let g = big.gather(&ids);
    assert_eq!(g.to_vec::<f32>(), big.flip(&[0]).to_vec::<f32>());
    // scatter_add accumulates duplicates, int dtypes too
    let acc = Tensor::zeros([2], DType::Int64)
        .scatter_add(&Tensor::from([1, 1, 1, 0]), &Tensor::from([1i64, 2, 3, 4]));
    assert_eq!(acc.to_vec::<i64>(), [4, 6]);
    // one_hot of int64 ids, int dtype out, rank 0 ids
    assert_eq!(
        Tensor::from([1i64, 0])
            .one_hot(2, DType::Int32)
            .to_vec::<i32>(),
        [0, 1, 1, 0]
    );
    assert_eq!(Tensor::scalar(1i32).one_hot(3, DType::Float64).dims(), [3]);
    // masked_fill with a rank-0 mask and with -inf
    let x = Tensor::from([1.0f32, 2.0]);
    assert_eq!(
        x.masked_fill(&Tensor::scalar(true), f64::NEG_INFINITY)
            .to_vec::<f32>(),
        [f32::NEG_INFINITY; 2]
    );
}

#[test]
fn pad_edge_cases() {
    // rank 0: nothing to pad
    assert_eq!(Tensor::scalar(3i32).pad(&[], 0.0).item::<i32>(), 3);
    // a size-0 axis padded becomes all fill
    let e = Tensor::zeros([0, 2], DType::Float32).pad(&[(1, 1), (0, 0)], 7.0);
    assert_eq!(e.to_vec::<f32>(), [7.0; 4]);
    // a transposed input, int fill
    let x = Tensor::from([[1, 2], [3, 4]]).t();
    assert_eq!(
        x.pad(&[(0, 0), (1, 0)], -1.0).to_vec::<i32>(),
        [-1, 1, 3, -1, 2, 4]
    );
    // bool pads with the truth of the value
    let b = Tensor::from([true]).pad(&[(1, 0)], 0.0);
    assert_eq!(b.to_vec::<bool>(), [false, true]);
    // flip of a broadcast view and of a rank-0 tensor
    let v = Tensor::from([1, 2]).broadcast_to([2, 2]);
    assert_eq!(v.flip(&[-1]).to_vec::<i32>(), [2, 1, 2, 1]);
    assert_eq!(Tensor::scalar(4u8).flip(&[]).item::<u8>(), 4);
    // tile/repeat with zero copies and rank 0
    assert_eq!(Tensor::from([1, 2]).tile(&[0]).dims(), [0]);
    assert_eq!(Tensor::scalar(2i32).tile(&[3]).to_vec::<i32>(), [2, 2, 2]);
    assert_eq!(Tensor::from([1, 2]).repeat(0, 0).dims(), [0]);
}

// ---- error messages (the full text, reviewed as a diff) ----

#[test]
fn error_messages() {
    let x = grid();
    let cases: Vec<(String, &str)> =
        vec![
        (
            err(x.try_slice(s![.., 5])),
            "slice: index 5 is out of bounds for axis 1 with size 3",
        ),
        (
            err(x.try_slice(s![-3])),
            "slice: index -3 is out of bounds for axis 0 with size 2",
        ),
        (
            err(x.try_slice(s![.., .., 1..7])),
            "slice: range 1..7 is out of bounds for axis 2 with size 4",
        ),
        (
            err(x.try_slice(s![.., 2..1])),
            "slice: range 2..1 on axis 1 with size 3 starts after it ends (2 > 1)",
        ),
        (
            err(x.try_slice(s![.., ..;-1])),
            "slice: step -1 on axis 1 is not supported: steps must be positive (strides stay \
             non-negative)\n  hint: reverse with flip(&[1])",
        ),
        (
            err(x.try_slice(s![.., 1..;0])),
            "slice: step 0 on axis 1 is not supported: steps must be positive (strides stay \
             non-negative)\n  hint: reverse with flip(&[1])",
        ),
        (
            err(x.try_slice(s![0, 0, 0, 0])),
            "slice: 4 entries for a rank-3 tensor of shape (2, 3, 4)",
        ),
        (
            err(x.try_narrow(-1, 2, 3)),
            "narrow: start 2 + length 3 exceeds axis -1 with size 4",
        ),
        (
            err(Tensor::try_concat(
                &[
                    Tensor::zeros([2, 3, 4], DType::Float32),
                    Tensor::zeros([2, 3, 4], DType::Float32),
                    Tensor::zeros([2, 5, 5], DType::Float32),
                ],
                1,
            )),
            "concat along axis 1: input 2 has shape (2, 5, 5) but input 0 has (2, 3, 4): axis 2 \
             differs (5 vs 4)",
        ),
        (
            err(Tensor::try_concat(&[&x, &x.slice(s![0])], 0)),
            "concat along axis 0: input 1 has shape (3, 4) but input 0 has (2, 3, 4): ranks \
             differ (2 vs 3)",
        ),
        (
            err(Tensor::try_concat(&[&x, &x.cast(DType::Float32)], 0)),
            "concat along axis 0: input 1 is float32 but input 0 is int32",
        ),
        (
            err(Tensor::try_concat(&[] as &[Tensor], 0)),
            "concat: no tensors to join",
        ),
        (
            err(Tensor::try_concat(&[Tensor::scalar(1i32)], 0)),
            "concat: cannot join scalars (rank 0) along an axis\n  hint: use Tensor::stack",
        ),
        (
            err(Tensor::try_concat(&[&x], 3)),
            "concat: axis 3 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)",
        ),
        (
            err(Tensor::try_stack(&[Tensor::from([1, 2]), Tensor::from([1, 2, 3])], 0)),
            "stack: input 1 has shape (3,) but input 0 has (2,)",
        ),
        (
            err(x.try_split(&[2, 2], 0)),
            "split: sizes [2, 2] sum to 4 but axis 0 has size 2",
        ),
        (
            err(x.try_chunk(3, -1)),
            "chunk: axis -1 with size 4 does not split into 3 equal parts\n  hint: give the \
             sizes with split(&[..], -1)",
        ),
        (
            err(x.try_index_select(1, &Tensor::from([0, 3]))),
            "index_select: index 3 is out of bounds for axis 1 with size 3",
        ),
        (
            err(x.try_gather(&Tensor::from([[0i64, -3]]))),
            "gather: index -3 is out of bounds for axis 0 with size 2",
        ),
        (
            err(x.try_gather(&Tensor::from([0.0f32]))),
            "gather: indices must be int32 or int64, got float32",
        ),
        (
            err(Tensor::zeros([5, 3], DType::Float32).try_scatter_add(
                &Tensor::from([1, 2, 3, 4]),
                &Tensor::zeros([2, 3], DType::Float32),
            )),
            "scatter_add: src has shape (2, 3) but indices of shape (4,) along axis 0 of (5, 3) \
             need (4, 3)",
        ),
        (
            err(Tensor::zeros([5], DType::Float32).try_index_add(
                0,
                &Tensor::from([1]),
                &Tensor::zeros([1], DType::Float64),
            )),
            "index_add: src is float64 but the tensor is float32",
        ),
        (
            err(Tensor::zeros([2], DType::Bool).try_index_add(
                0,
                &Tensor::from([1]),
                &Tensor::zeros([1], DType::Bool),
            )),
            "index_add: not defined for bool tensors",
        ),
        (
            err(x.try_take_along_axis(1, &Tensor::from([[0]]))),
            "take_along_axis: indices of shape (1, 1) must have the tensor's rank 3 (tensor \
             shape (2, 3, 4))",
        ),
        (
            err(x.try_take_along_axis(1, &Tensor::zeros([2, 1, 3], DType::Int32))),
            "take_along_axis: indices of shape (2, 1, 3) differ from the tensor's shape (2, 3, \
             4) on axis 2 (3 vs 4); only axis 1 may differ",
        ),
        (
            err(Tensor::from([3]).try_one_hot(3, DType::Float32)),
            "one_hot: index 3 is out of bounds for depth 3",
        ),
        (
            err(Tensor::from([-1i64]).try_one_hot(3, DType::Float32)),
            "one_hot: index -1 is out of bounds for depth 3",
        ),
        (
            err(Tensor::from([1.0f32]).try_one_hot(3, DType::Float32)),
            "one_hot: ids must be int32 or int64, got float32",
        ),
        (
            err(x.try_masked_fill(&Tensor::from([true, false]), 0.0)),
            "masked_fill: mask of shape (2,) does not broadcast to the tensor's shape (2, 3, 4)",
        ),
        (
            err(x.try_masked_fill(&Tensor::zeros([2, 3, 4, 1], DType::Bool), 0.0)),
            "masked_fill: mask of shape (2, 3, 4, 1) does not broadcast to the tensor's shape \
             (2, 3, 4)",
        ),
        (
            err(x.try_masked_fill(&Tensor::from([1]), 0.0)),
            "masked_fill: mask must be bool, got int32",
        ),
        (
            err(x.try_pad(&[(1, 1)], 0.0)),
            "pad: 1 (before, after) pairs for a rank-3 tensor of shape (2, 3, 4): give one per \
             axis",
        ),
        (
            err(x.try_flip(&[3])),
            "flip: axis 3 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)",
        ),
        (
            err(x.try_repeat(2, -4)),
            "repeat: axis -4 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)",
        ),
        (
            err(x.try_outer(&Tensor::from([1]))),
            "outer: expected two vectors, got shapes (2, 3, 4) and (1,)",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

#[test]
#[should_panic(expected = "s!: a step applies to a range, not to the index 2")]
fn step_on_index_panics() {
    let _ = grid().slice(s![2;2]);
}

// ---- laws ----

fn small_tensor() -> impl Strategy<Value = Tensor> {
    prop::collection::vec(0usize..4, 1..4).prop_map(|dims| {
        let n: usize = dims.iter().product();
        Tensor::arange(0.0, n as f64, 1.0, DType::Int64)
            .reshape_dims(&dims.iter().map(|&d| d as isize).collect::<Vec<_>>())
    })
}

proptest! {
    #[test]
    fn concat_then_split_is_identity(x in small_tensor(), cut in 0usize..4, axis in 0usize..3) {
        let axis = axis % x.rank();
        let n = x.dims()[axis];
        let cut = cut.min(n);
        let parts = x.split(&[cut, n - cut], axis as isize);
        let back = Tensor::concat(&parts, axis as isize);
        prop_assert_eq!(back.dims(), x.dims());
        prop_assert_eq!(back.to_vec::<i64>(), x.to_vec::<i64>());
    }

    #[test]
    fn slice_of_slice_is_one_slice(
        n in 1usize..12, a in 0usize..12, b in 0usize..12, s1 in 1usize..4, c in 0usize..12,
        d in 0usize..12, s2 in 1usize..4,
    ) {
        let x = Tensor::arange(0.0, n as f64, 1.0, DType::Int64);
        let (a, b) = (a.min(n), b.min(n));
        let (a, b) = (a.min(b), a.max(b));
        let y = x.slice(s![a..b;s1]);
        let m = y.dims()[0];
        let (c, d) = (c.min(m), d.min(m));
        let (c, d) = (c.min(d), d.max(c));
        let z = y.slice(s![c..d;s2]);
        // one slice: start a + c·s1, step s1·s2, same count
        let k = z.dims()[0];
        if k > 0 {
            let (start, step) = (a + c * s1, s1 * s2);
            let one = x.slice(s![start..start + (k - 1) * step + 1;step]);
            prop_assert_eq!(z.to_vec::<i64>(), one.to_vec::<i64>());
        }
        let want: Vec<i64> = (a..b).step_by(s1).skip(c).take(d - c).step_by(s2)
            .map(|v| v as i64).collect();
        prop_assert_eq!(z.to_vec::<i64>(), want);
    }

    #[test]
    fn gather_then_scatter_add_counts_rows(ids in prop::collection::vec(0i64..5, 0..20)) {
        let table = Tensor::ones([5, 2], DType::Float64);
        let ids = Tensor::from(ids.clone());
        let rows = table.gather(&ids);
        let counts = Tensor::zeros([5, 2], DType::Float64).scatter_add(&ids, &rows);
        let mut want = vec![0.0; 10];
        for &i in ids.to_vec::<i64>().iter() {
            want[2 * i as usize] += 1.0;
            want[2 * i as usize + 1] += 1.0;
        }
        prop_assert_eq!(counts.to_vec::<f64>(), want);
    }

    #[test]
    fn pad_then_slice_is_identity(x in small_tensor(), p in prop::collection::vec((0usize..3, 0usize..3), 3)) {
        let pads = &p[..x.rank()];
        let y = x.pad(pads, -1.0);
        let spec: Vec<keen_tensor::ops::slice::SliceArg> = pads
            .iter()
            .zip(x.dims())
            .map(|(&(b, _), &n)| (b..b + n).into())
            .collect();
        prop_assert_eq!(y.slice(spec).to_vec::<i64>(), x.to_vec::<i64>());
    }
}
