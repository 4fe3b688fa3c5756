//! The core ops (unary, binary, creation, movement, matmul, sum/mean, printing) against NumPy.
//!
//! Most values come from `tests/fixtures/core.json`, written by `tests/fixtures/gen_core.py`
//! (see its docstring for the command): each case names an op, its inputs (some of them
//! non-contiguous views: transposed or broadcast) and NumPy's result. Each family below runs its
//! cases and reports every failing case by name. Tiny cases are literal, with the NumPy snippet
//! that produced them as a comment.

use keen_tensor::{DType, Shape, Tensor};
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

/// Cases that expose bugs in the ops under test, with the reason; they run in
/// `known_bugs_still_fail` (ignored) instead of their family's test.
const KNOWN_BUGS: &[(&str, &str)] = &[];

fn cases() -> &'static [Value] {
    static CASES: OnceLock<Value> = OnceLock::new();
    CASES.get_or_init(|| {
        let text = include_str!("fixtures/core.json");
        serde_json::from_str(text).expect("core.json parses")
    })["cases"]
        .as_array()
        .expect("cases")
}

fn dtype(s: &str) -> DType {
    match s {
        "float32" => DType::Float32,
        "float64" => DType::Float64,
        "int32" => DType::Int32,
        "int64" => DType::Int64,
        "uint8" => DType::UInt8,
        "bool" => DType::Bool,
        other => panic!("unknown dtype {other}"),
    }
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().expect("number"),
        Value::Bool(b) => *b as u8 as f64,
        Value::String(s) => match s.as_str() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            _ => panic!("bad number {s}"),
        },
        _ => panic!("bad value {v}"),
    }
}

fn dims(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("dims")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect()
}

fn isizes(v: &Value) -> Vec<isize> {
    v.as_array()
        .expect("axes")
        .iter()
        .map(|d| d.as_i64().expect("axis") as isize)
        .collect()
}

/// Builds a fixture tensor, applying its view (transpose or broadcast) if any.
fn tensor(spec: &Value) -> Tensor {
    let shape = dims(&spec["shape"]);
    let data = spec["data"].as_array().expect("data");
    let t = match dtype(spec["dtype"].as_str().unwrap()) {
        DType::Float32 => Tensor::from_vec(data.iter().map(|v| num(v) as f32).collect(), shape),
        DType::Float64 => Tensor::from_vec(data.iter().map(num).collect(), shape),
        DType::Int32 => Tensor::from_vec(
            data.iter().map(|v| v.as_i64().unwrap() as i32).collect(),
            shape,
        ),
        DType::Int64 => Tensor::from_vec(data.iter().map(|v| v.as_i64().unwrap()).collect(), shape),
        DType::UInt8 => Tensor::from_vec(
            data.iter().map(|v| v.as_u64().unwrap() as u8).collect(),
            shape,
        ),
        DType::Bool => Tensor::from_vec(data.iter().map(|v| v.as_bool().unwrap()).collect(), shape),
    };
    match spec.get("view") {
        None => t,
        Some(v) if v.get("transpose").is_some() => {
            let ab = isizes(&v["transpose"]);
            t.transpose(ab[0], ab[1])
        }
        Some(v) => t.broadcast_to(dims(&v["broadcast_to"])),
    }
}

/// Runs the op a case names.
fn run(case: &Value) -> Tensor {
    let x: Vec<Tensor> = case["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(tensor)
        .collect();
    let a = &case["args"];
    let f = |k: &str| num(&a[k]);
    let dt = || dtype(a["dtype"].as_str().unwrap());
    let op = case["op"].as_str().unwrap();
    match op {
        "exp" => x[0].exp(),
        "log" => x[0].log(),
        "log1p" => x[0].log1p(),
        "expm1" => x[0].expm1(),
        "sqrt" => x[0].sqrt(),
        "rsqrt" => x[0].rsqrt(),
        "sin" => x[0].sin(),
        "cos" => x[0].cos(),
        "tanh" => x[0].tanh(),
        "sigmoid" => x[0].sigmoid(),
        "softplus" => x[0].softplus(),
        "relu" => x[0].relu(),
        "gelu" => x[0].gelu(),
        "erf" => x[0].erf(),
        "floor" => x[0].floor(),
        "ceil" => x[0].ceil(),
        "round" => x[0].round(),
        "neg" => x[0].neg(),
        "abs" => x[0].abs(),
        "sign" => x[0].sign(),
        "square" => x[0].square(),
        "leaky_relu" => x[0].leaky_relu(f("alpha")),
        "elu" => x[0].elu(f("alpha")),
        "clip" => x[0].clip(f("min"), f("max")),
        "add" => x[0].add(&x[1]),
        "sub" => x[0].sub(&x[1]),
        "mul" => x[0].mul(&x[1]),
        "div" => x[0].div(&x[1]),
        "rem" => x[0].rem(&x[1]),
        "pow" => x[0].pow(&x[1]),
        "maximum" => x[0].maximum(&x[1]),
        "minimum" => x[0].minimum(&x[1]),
        "eq" => x[0].eq(&x[1]),
        "ne" => x[0].ne(&x[1]),
        "lt" => x[0].lt(&x[1]),
        "le" => x[0].le(&x[1]),
        "gt" => x[0].gt(&x[1]),
        "ge" => x[0].ge(&x[1]),
        "logical_and" => x[0].logical_and(&x[1]),
        "logical_or" => x[0].logical_or(&x[1]),
        "logical_not" => x[0].logical_not(),
        "where" => Tensor::where_(&x[0], &x[1], &x[2]),
        "full" => Tensor::full(dims(&a["shape"]), f("value"), dt()),
        "zeros" => Tensor::zeros(dims(&a["shape"]), dt()),
        "ones" => Tensor::ones(dims(&a["shape"]), dt()),
        "eye" => Tensor::eye(a["n"].as_u64().unwrap() as usize, dt()),
        "zeros_like" => Tensor::zeros_like(&x[0]),
        "ones_like" => Tensor::ones_like(&x[0]),
        "full_like" => Tensor::full_like(&x[0], f("value")),
        "arange" => Tensor::arange(f("start"), f("end"), f("step"), dt()),
        "linspace" => Tensor::linspace(
            f("start"),
            f("end"),
            a["num"].as_u64().unwrap() as usize,
            dt(),
        ),
        "cast" => x[0].cast(dt()),
        "reshape" => x[0].reshape_dims(&isizes(&a["dims"])),
        "flatten" => x[0].flatten(),
        "permute" => x[0].permute(&isizes(&a["perm"])),
        "transpose" => x[0].transpose(
            a["a"].as_i64().unwrap() as isize,
            a["b"].as_i64().unwrap() as isize,
        ),
        "t" => x[0].t(),
        "broadcast_to" => x[0].broadcast_to(dims(&a["shape"])),
        "expand_dims" => x[0].expand_dims(a["axis"].as_i64().unwrap() as isize),
        "squeeze" => x[0].squeeze(&isizes(&a["axes"])),
        "matmul" => x[0].matmul(&x[1]),
        "sum" => x[0].sum(&isizes(&a["axes"]), a["keepdims"].as_bool().unwrap()),
        "mean" => x[0].mean(&isizes(&a["axes"]), a["keepdims"].as_bool().unwrap()),
        "sum_to_shape" => x[0].sum_to_shape(&Shape::from(dims(&a["shape"]))),
        other => panic!("no runner for op {other}"),
    }
}

/// Compares dtype, shape and values (floats within `atol + rtol·|expected|`, NaN equal to NaN).
fn compare(got: &Tensor, want: &Tensor, rtol: f64, atol: f64) -> Result<(), String> {
    if got.dtype() != want.dtype() || got.shape() != want.shape() {
        return Err(format!(
            "got {} {} want {} {}",
            got.dtype(),
            got.shape(),
            want.dtype(),
            want.shape()
        ));
    }
    for (i, (g, w)) in got
        .to_f64_vec()
        .into_iter()
        .zip(want.to_f64_vec())
        .enumerate()
    {
        let ok = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= atol + rtol * w.abs();
        if !ok {
            return Err(format!(
                "element {i}: got {g} want {w}\n  got  {got}\n  want {want}"
            ));
        }
    }
    Ok(())
}

fn check_case(case: &Value) -> Result<(), String> {
    let want = tensor(&case["expected"]);
    let (rtol, atol) = (num(&case["rtol"]), num(&case["atol"]));
    match catch_unwind(AssertUnwindSafe(|| run(case))) {
        Ok(got) => compare(&got, &want, rtol, atol),
        Err(p) => Err(format!(
            "panicked: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

/// Runs every fixture case of `ops` (except known bugs) and fails listing each failing case.
fn run_family(ops: &[&str]) {
    let mut failures = Vec::new();
    let mut n = 0;
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        if !ops.contains(&case["op"].as_str().unwrap())
            || KNOWN_BUGS.iter().any(|(b, _)| *b == name)
        {
            continue;
        }
        n += 1;
        if let Err(e) = check_case(case) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(n > 0, "no cases for {ops:?}");
    assert!(
        failures.is_empty(),
        "{} of {n} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fixture_op_has_a_family() {
    let all: Vec<&str> = [
        UNARY,
        BINARY,
        LOGIC,
        CREATION,
        MOVEMENT,
        &["matmul"],
        REDUCE,
    ]
    .concat();
    for case in cases() {
        assert!(
            all.contains(&case["op"].as_str().unwrap()),
            "{}",
            case["name"]
        );
    }
}

const UNARY: &[&str] = &[
    "exp",
    "log",
    "log1p",
    "expm1",
    "sqrt",
    "rsqrt",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "softplus",
    "relu",
    "gelu",
    "erf",
    "floor",
    "ceil",
    "round",
    "neg",
    "abs",
    "sign",
    "square",
    "leaky_relu",
    "elu",
    "clip",
];
const BINARY: &[&str] = &[
    "add", "sub", "mul", "div", "rem", "pow", "maximum", "minimum",
];
const LOGIC: &[&str] = &[
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "logical_and",
    "logical_or",
    "logical_not",
    "where",
];
const CREATION: &[&str] = &[
    "full",
    "zeros",
    "ones",
    "eye",
    "zeros_like",
    "ones_like",
    "full_like",
    "arange",
    "linspace",
    "cast",
];
const MOVEMENT: &[&str] = &[
    "reshape",
    "flatten",
    "permute",
    "transpose",
    "t",
    "broadcast_to",
    "expand_dims",
    "squeeze",
];
const REDUCE: &[&str] = &["sum", "mean", "sum_to_shape"];

#[test]
fn unary_ops_match_numpy() {
    run_family(UNARY);
}

#[test]
fn binary_ops_match_numpy() {
    run_family(BINARY);
}

#[test]
fn comparisons_logic_and_where_match_numpy() {
    run_family(LOGIC);
}

#[test]
fn creation_ops_match_numpy() {
    run_family(CREATION);
}

#[test]
fn movement_ops_match_numpy() {
    run_family(MOVEMENT);
}

#[test]
fn matmul_matches_numpy() {
    run_family(&["matmul"]);
}

#[test]
fn sum_mean_and_sum_to_shape_match_numpy() {
    run_family(REDUCE);
}

#[test]
#[ignore = "bugs in the ops under test; see KNOWN_BUGS"]
fn known_bugs_still_fail() {
    for (name, why) in KNOWN_BUGS {
        let case = cases()
            .iter()
            .find(|c| c["name"] == *name)
            .expect("case exists");
        assert!(check_case(case).is_ok(), "{name} ({why})");
    }
}

// ---- literal cases ----

#[test]
fn operators_on_owned_and_borrowed_tensors_and_scalars() {
    // a = np.array([[1., 2.], [3., 4.]], np.float32); b = np.array([10., 20.], np.float32)
    let a = Tensor::from([[1.0f32, 2.0], [3.0, 4.0]]);
    let b = Tensor::from([10.0f32, 20.0]);
    let v = |t: Tensor| t.to_vec::<f32>();
    assert_eq!(v(&a + &b), [11.0, 22.0, 13.0, 24.0]); // a + b
    assert_eq!(v(a.clone() + b.clone()), [11.0, 22.0, 13.0, 24.0]);
    assert_eq!(v(&a + b.clone()), [11.0, 22.0, 13.0, 24.0]);
    assert_eq!(v(a.clone() + &b), [11.0, 22.0, 13.0, 24.0]);
    assert_eq!(v(&a - &b), [-9.0, -18.0, -7.0, -16.0]); // a - b
    assert_eq!(v(&a * &b), [10.0, 40.0, 30.0, 80.0]); // a * b
    assert_eq!(v(&b / &a), [10.0, 10.0, 10.0 / 3.0, 5.0]); // b / a
    assert_eq!(v(&b % &a), [0.0, 0.0, 1.0, 0.0]); // b % a
    assert_eq!(v(-&a), [-1.0, -2.0, -3.0, -4.0]);
    assert_eq!(v(-a.clone()), [-1.0, -2.0, -3.0, -4.0]);
    // scalars on either side take the tensor's dtype
    assert_eq!(v(&a + 1.0), [2.0, 3.0, 4.0, 5.0]);
    assert_eq!(v(&a * 2), [2.0, 4.0, 6.0, 8.0]);
    assert_eq!(v(2.0 - &a), [1.0, 0.0, -1.0, -2.0]); // 2 - a
    assert_eq!(v(12.0f32 / a.clone()), [12.0, 6.0, 4.0, 3.0]); // 12 / a
    assert_eq!(v(3i32 * &a), [3.0, 6.0, 9.0, 12.0]);
    assert_eq!(v(1i64 + a.clone()), [2.0, 3.0, 4.0, 5.0]);
    assert_eq!(v(a.clone() % 3.0), [1.0, 2.0, 0.0, 1.0]);
    assert_eq!(v(-7.0 % &a), [0.0, 1.0, 2.0, 1.0]); // np.mod(-7, a)
                                                    // integer tensors with integer scalars: 7 // 2 truncated, as in Rust
    let i = Tensor::from([7, -7]);
    assert_eq!((&i / 2).to_vec::<i32>(), [3, -3]);
    assert_eq!((&i % 2).to_vec::<i32>(), [1, 1]); // np.mod([7, -7], 2)
    assert_eq!((&i + 1u8).to_vec::<i32>(), [8, -6]);
    assert_eq!((&i * true).to_vec::<i32>(), [7, -7]);
    // chains read like math
    let y = (&a * 2.0 + 1.0) / &b;
    assert_eq!(v(y), [0.3, 0.25, 0.7, 0.45]);
}

#[test]
fn scalar_rhs_methods_and_dtype_of_results() {
    let x = Tensor::from([1.5f64, -2.5]);
    assert_eq!(x.add(1).to_vec::<f64>(), [2.5, -1.5]);
    assert_eq!(x.gt(0.0).to_vec::<bool>(), [true, false]);
    assert_eq!(x.gt(0.0).dtype(), DType::Bool);
    assert_eq!(x.maximum(0.0).to_vec::<f64>(), [1.5, 0.0]);
    assert_eq!(x.pow(2.0).to_vec::<f64>(), [2.25, 6.25]);
    let u = Tensor::from([200u8, 3]);
    assert_eq!(u.sub(3u8).to_vec::<u8>(), [197, 0]);
    assert_eq!(u.div(2).to_vec::<u8>(), [100, 1]);
    assert_eq!(u.clip(5.0, 100.0).to_vec::<u8>(), [100, 5]);
}

#[test]
fn cast_follows_rust_as_semantics() {
    // NumPy leaves these undefined (NaN -> int, out of range); keen documents Rust's `as`:
    // truncation toward zero, saturation, NaN to 0.
    let x = Tensor::from([f32::NAN, 1e10, -1e10, -1.5, 2.9, f32::INFINITY]);
    assert_eq!(
        x.cast(DType::Int32).to_vec::<i32>(),
        [0, i32::MAX, i32::MIN, -1, 2, i32::MAX]
    );
    assert_eq!(x.cast(DType::UInt8).to_vec::<u8>(), [0, 255, 0, 0, 2, 255]);
    assert_eq!(
        x.cast(DType::Bool).to_vec::<bool>(),
        [true, true, true, true, true, true]
    );
    // int64 -> int32 wraps as NumPy does: np.array([2**31 + 5]).astype(np.int32) == -2147483643
    let big = Tensor::from([(1i64 << 31) + 5, i64::MAX]);
    assert_eq!(big.cast(DType::Int32).to_vec::<i32>(), [-2147483643, -1]);
    // large int64 values stay exact through int64 -> float64 -> int64 where representable
    let exact = Tensor::from([(1i64 << 53) - 1]);
    assert_eq!(
        exact
            .cast(DType::Float64)
            .cast(DType::Int64)
            .to_vec::<i64>(),
        [(1 << 53) - 1]
    );
    // a cast to the same dtype is the same tensor
    let same = Tensor::from([1.0f32]);
    assert_eq!(same.cast(DType::Float32).id(), same.id());
}

#[test]
fn special_float_values() {
    // np.sign(np.nan) is nan; np.floor(-0.5) is -0.0
    let x = Tensor::from([f64::NAN, -0.5, f64::INFINITY, f64::NEG_INFINITY]);
    assert!(x.sign().to_vec::<f64>()[0].is_nan());
    assert_eq!(x.sign().to_vec::<f64>()[1..], [-1.0, 1.0, -1.0]);
    assert_eq!(x.exp().to_vec::<f64>()[2..], [f64::INFINITY, 0.0]);
    assert_eq!(x.tanh().to_vec::<f64>()[2..], [1.0, -1.0]);
    assert_eq!(x.sigmoid().to_vec::<f64>()[2..], [1.0, 0.0]);
    assert_eq!(x.softplus().to_vec::<f64>()[2..], [f64::INFINITY, 0.0]);
    assert_eq!(
        Tensor::from([0.0f32, -1.0]).log().to_vec::<f32>()[0],
        f32::NEG_INFINITY
    );
    assert!(Tensor::from([-1.0f32]).sqrt().to_vec::<f32>()[0].is_nan());
    // large |x| stays finite and exact where the naive formula overflows
    let big = Tensor::from([-1000.0f32, 1000.0]);
    assert_eq!(big.sigmoid().to_vec::<f32>(), [0.0, 1.0]);
    assert_eq!(big.softplus().to_vec::<f32>(), [0.0, 1000.0]);
}

#[test]
fn relu_propagates_nan() {
    // torch.relu(torch.tensor([float('nan')])) -> tensor([nan])
    assert!(Tensor::from([f32::NAN]).relu().to_vec::<f32>()[0].is_nan());
}

#[test]
fn integer_arithmetic_wraps_like_numpy() {
    // np.array([1], np.uint8) - np.array([2], np.uint8) -> [255]; -np.array([3], np.uint8) -> [253]
    assert_eq!(Tensor::from([1u8]).sub(2u8).to_vec::<u8>(), [255]);
    assert_eq!(Tensor::from([3u8]).neg().to_vec::<u8>(), [253]);
    // np.array([2**31 - 1], np.int32) + 1 -> [-2147483648]
    assert_eq!(Tensor::from([i32::MAX]).add(1).to_vec::<i32>(), [i32::MIN]);
    assert_eq!(Tensor::from([i32::MIN]).abs().to_vec::<i32>(), [i32::MIN]);
    assert_eq!(Tensor::from([100u8, 100]).mul(3u8).to_vec::<u8>(), [44, 44]);
    // tf.reduce_sum(tf.constant([200, 100], tf.uint8)) -> 44 (NumPy widens to uint64 instead)
    assert_eq!(
        Tensor::from([200u8, 100]).sum(&[], false).to_vec::<u8>(),
        [44]
    );
}

#[test]
fn integer_overflow_wraps_in_every_op() {
    // np.array([2**63 - 1], np.int64) + 1 -> [-9223372036854775808]
    assert_eq!(
        Tensor::from([i64::MAX]).add(1i64).to_vec::<i64>(),
        [i64::MIN]
    );
    // np.array([-2**31], np.int32) - 1 -> [2147483647]
    assert_eq!(Tensor::from([i32::MIN]).sub(1).to_vec::<i32>(), [i32::MAX]);
    // -np.array([-2**31], np.int32) -> [-2147483648]
    assert_eq!(Tensor::from([i32::MIN]).neg().to_vec::<i32>(), [i32::MIN]);
    // np.array([-2**31], np.int32) // -1 -> [-2147483648] (a warning in NumPy)
    assert_eq!(Tensor::from([i32::MIN]).div(-1).to_vec::<i32>(), [i32::MIN]);
    // np.square(np.array([16, 255], np.uint8)) -> [0, 1]
    assert_eq!(Tensor::from([16u8, 255]).square().to_vec::<u8>(), [0, 1]);
    // np.array([2, 3], np.uint8) ** np.uint8(8) -> [0, 161]; np.int32(3) ** np.int32(40) -> 689956897
    assert_eq!(Tensor::from([2u8, 3]).pow(8u8).to_vec::<u8>(), [0, 161]);
    assert_eq!(Tensor::from([3]).pow(40).to_vec::<i32>(), [689956897]);
    // an exponent beyond u32 is not truncated:
    // np.array([3, -1, 1, 0], np.int64) ** np.int64(2**32 + 1) -> [7473929035676909571, -1, 1, 0]
    assert_eq!(
        Tensor::from([3i64, -1, 1, 0])
            .pow((1i64 << 32) + 1)
            .to_vec::<i64>(),
        [7473929035676909571, -1, 1, 0]
    );
    // np.prod(np.array([16, 16, 3], np.uint8)) wraps to 0 in uint8 (TensorFlow keeps the dtype)
    assert_eq!(
        Tensor::from([16u8, 16, 3]).prod(&[], false).to_vec::<u8>(),
        [0]
    );
    assert_eq!(
        Tensor::from([[i32::MAX, 1], [2, 3]])
            .sum(&[0], false)
            .to_vec::<i32>(),
        [i32::MIN + 1, 4]
    );
    // integer matmul and index_add accumulate with wrapping too
    let m = Tensor::from([[200u8, 100]]).matmul(&Tensor::from([[1u8], [1]]));
    assert_eq!(m.to_vec::<u8>(), [44]);
    let acc = Tensor::from([250u8, 0]);
    let y = acc.index_add(0, &Tensor::from([0, 0]), &Tensor::from([5u8, 6]));
    assert_eq!(y.to_vec::<u8>(), [5, 0]);
    // abs of a uint8 is itself; sign of int32 MIN is -1
    assert_eq!(Tensor::from([255u8]).abs().to_vec::<u8>(), [255]);
    assert_eq!(
        Tensor::from([i32::MIN, 0, 7]).sign().to_vec::<i32>(),
        [-1, 0, 1]
    );
}

#[test]
fn integer_pow_with_a_negative_exponent_is_an_error() {
    // np.array([2], np.int32) ** -1 -> ValueError: Integers to negative integer powers are not allowed.
    let x = Tensor::from([2, 3]);
    assert!(x.try_pow(Tensor::from([1, -1])).is_err());
    assert!(x.try_pow(-2).is_err());
    // zero and positive exponents are fine, floats take any exponent
    assert_eq!(x.pow(Tensor::from([0, 2])).to_vec::<i32>(), [1, 9]);
    assert_eq!(Tensor::from([2.0f32]).pow(-1.0).to_vec::<f32>(), [0.5]);
}

#[test]
fn size0_tensors_are_contiguous() {
    assert!(Tensor::zeros([2, 0, 3], DType::Float32).is_contiguous());
    assert!(Tensor::zeros([2, 0], DType::Float32)
        .as_slice::<f32>()
        .is_some());
}

#[test]
fn integer_division_and_remainder_by_zero() {
    // keen: integer division by zero is an error; remainder by zero is 0 (NumPy: 0 with a warning)
    let x = Tensor::from([5, -5]);
    assert_eq!(
        x.try_div(0).unwrap_err().to_string(),
        "div: integer division by zero"
    );
    assert_eq!(x.rem(0).to_vec::<i32>(), [0, 0]);
    // float division by zero follows IEEE
    let f = Tensor::from([1.0f32, -1.0, 0.0]).div(0.0).to_vec::<f32>();
    assert_eq!(f[..2], [f32::INFINITY, f32::NEG_INFINITY]);
    assert!(f[2].is_nan());
}

#[test]
fn views_share_storage_and_copies_do_not() {
    let x = Tensor::arange(0.0, 24.0, 1.0, DType::Float32).reshape([2, 3, 4]);
    assert!(x.transpose(0, 2).shares_storage(&x));
    assert!(x.permute(&[2, 0, 1]).shares_storage(&x));
    assert!(x.reshape([6, 4]).shares_storage(&x));
    assert!(x.expand_dims(1).shares_storage(&x));
    assert!(!x.transpose(0, 2).is_contiguous());
    // reshaping a transposed view must copy, in the transposed order
    let r = x.transpose(0, 2).reshape([-1]);
    assert_eq!(r.to_vec::<f32>()[..4], [0.0, 12.0, 4.0, 16.0]);
    assert!(x.broadcast_to([5, 2, 3, 4]).shares_storage(&x));
}

#[test]
fn expand_dims_and_squeeze_are_views_of_any_layout() {
    // x = np.arange(24.).reshape(2, 3, 4); np.expand_dims(x.transpose(2, 0, 1), 1).ravel()[:4]
    // -> [0., 4., 8., 12.]
    let x = Tensor::arange(0.0, 24.0, 1.0, DType::Float32).reshape([2, 3, 4]);
    let t = x.permute(&[2, 0, 1]); // (4, 2, 3), not contiguous
    for axis in [0, 1, 2, 3, -1, -4] {
        let e = t.expand_dims(axis);
        assert!(e.shares_storage(&x), "expand_dims({axis})");
        assert_eq!(e.to_vec::<f32>(), t.to_vec::<f32>(), "expand_dims({axis})");
    }
    let e = t.expand_dims(1);
    assert_eq!(e.dims(), [4, 1, 2, 3]);
    assert_eq!(e.to_vec::<f32>()[..4], [0.0, 4.0, 8.0, 12.0]);
    let s = e.squeeze(&[1]);
    assert!(s.shares_storage(&x));
    assert_eq!(s.dims(), [4, 2, 3]);
    assert_eq!(s.to_vec::<f32>(), t.to_vec::<f32>());
    // a stepped slice and a broadcast view
    let stepped = x.slice(keen_tensor::s![.., 0..1, ..;2]); // (2, 1, 2)
    let sq = stepped.squeeze(&[]);
    assert!(sq.shares_storage(&x));
    assert_eq!(sq.dims(), [2, 2]);
    assert_eq!(sq.to_vec::<f32>(), [0.0, 2.0, 12.0, 14.0]);
    let b = Tensor::from([1.0f32, 2.0]).broadcast_to([3, 1, 2]);
    let bs = b.squeeze(&[-2]).expand_dims(0);
    assert!(bs.shares_storage(&b));
    assert_eq!(bs.dims(), [1, 3, 2]);
    assert_eq!(bs.to_vec::<f32>(), [1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
    // contiguous inputs stay contiguous
    assert!(x.expand_dims(3).is_contiguous());
    assert!(x.expand_dims(0).squeeze(&[]).is_contiguous());
}

#[test]
fn matmul_of_views_and_vector_shapes() {
    // a = np.arange(6.).reshape(2, 3); a @ a.T == [[5, 14], [14, 50]]
    let a = Tensor::arange(0.0, 6.0, 1.0, DType::Float64).reshape([2, 3]);
    assert_eq!(a.matmul(&a.t()).to_vec::<f64>(), [5.0, 14.0, 14.0, 50.0]);
    // a.T @ a == [[9, 12, 15], [12, 17, 22], [15, 22, 29]]
    assert_eq!(
        a.t().matmul(&a).to_vec::<f64>(),
        [9.0, 12.0, 15.0, 12.0, 17.0, 22.0, 15.0, 22.0, 29.0]
    );
    // np.arange(3) @ np.arange(3) == 5, a scalar
    let v = Tensor::arange(0.0, 3.0, 1.0, DType::Int64);
    let s = v.matmul(&v);
    assert_eq!((s.dims(), s.item::<i64>()), ([].as_slice(), 5));
    // np.ones((2, 1, 3, 4)) @ np.ones((5, 4, 2)) has shape (2, 5, 3, 2), all 4
    let p = Tensor::ones([2, 1, 3, 4], DType::Int32).matmul(&Tensor::ones([5, 4, 2], DType::Int32));
    assert_eq!(p.dims(), [2, 5, 3, 2]);
    assert!(p.to_vec::<i32>().iter().all(|&x| x == 4));
    // a large product through the parallel GEMM path, checked against a naive triple loop
    let m = Tensor::arange(0.0, 300.0 * 200.0, 1.0, DType::Float64)
        .reshape([300, 200])
        .rem(7.0);
    let n = Tensor::arange(0.0, 200.0 * 100.0, 1.0, DType::Float64)
        .reshape([200, 100])
        .rem(5.0);
    let got = m.matmul(&n).to_vec::<f64>();
    let (mv, nv) = (m.to_vec::<f64>(), n.to_vec::<f64>());
    for (i, j) in [(0, 0), (17, 3), (299, 99), (150, 50)] {
        let want: f64 = (0..200).map(|k| mv[i * 200 + k] * nv[k * 100 + j]).sum();
        assert_eq!(got[i * 100 + j], want);
    }
}

#[test]
fn printing_values_shape_and_dtype() {
    // np.array([[50, 114], [60, 140]], np.int32)
    assert_eq!(
        Tensor::from([[50, 114], [60, 140]]).to_string(),
        "Tensor([[ 50, 114], [ 60, 140]], shape=(2, 2), dtype=int32)"
    );
    assert_eq!(
        format!("{:?}", Tensor::from([[50, 114], [60, 140]])),
        "Tensor([[ 50, 114], [ 60, 140]], shape=(2, 2), dtype=int32)"
    );
    assert_eq!(
        Tensor::scalar(7i64).to_string(),
        "Tensor(7, shape=(), dtype=int64)"
    );
    assert_eq!(
        Tensor::from([0.5f32, -1.25, 3.0]).to_string(),
        "Tensor([ 0.50, -1.25,  3.00], shape=(3,), dtype=float32)"
    );
    assert_eq!(
        Tensor::from([1u8, 255]).to_string(),
        "Tensor([  1, 255], shape=(2,), dtype=uint8)"
    );
    assert_eq!(
        Tensor::zeros([0], DType::Float32).to_string(),
        "Tensor([], shape=(0,), dtype=float32)"
    );
    assert_eq!(
        Tensor::from([f64::NAN, f64::NEG_INFINITY, 1.0]).to_string(),
        "Tensor([ nan, -inf,   1.], shape=(3,), dtype=float64)"
    );
    // views print their logical values
    assert_eq!(
        Tensor::from([[1, 2], [3, 4]]).t().to_string(),
        "Tensor([[1, 3], [2, 4]], shape=(2, 2), dtype=int32)"
    );
    assert_eq!(
        Tensor::from([1, 2]).broadcast_to([2, 2]).to_string(),
        "Tensor([[1, 2], [1, 2]], shape=(2, 2), dtype=int32)"
    );
    // summarised: np.arange(2000) prints [   0    1    2 ... 1997 1998 1999]
    let big = Tensor::arange(0.0, 2000.0, 1.0, DType::Int64).reshape([2, 1000]);
    assert_eq!(
        big.to_string(),
        "Tensor([[   0,    1,    2, ...,  997,  998,  999], [1000, 1001, 1002, ..., 1997, 1998, 1999]], shape=(2, 1000), dtype=int64)"
    );
}

// ---- serde ----

#[test]
fn serde_json_layout_is_dtype_shape_data() {
    let t = Tensor::from([[1, 2], [3, 4]]).transpose(0, 1);
    assert_eq!(
        serde_json::to_string(&t).unwrap(),
        r#"{"dtype":"Int32","shape":[2,2],"data":[1,3,2,4]}"#
    );
    assert_eq!(
        serde_json::to_string(&Tensor::scalar(true)).unwrap(),
        r#"{"dtype":"Bool","shape":[],"data":[true]}"#
    );
}

#[test]
fn serde_round_trips_every_dtype_and_view() {
    let big = (1i64 << 62) + 1; // not representable in f64: must survive exactly
    let tensors = [
        Tensor::from([[1.5f32, -2.25], [3.0, 1e-30]]),
        Tensor::from([0.1f64, std::f64::consts::PI, -1e300]),
        Tensor::from([[1, -2, 3]]),
        Tensor::from([big, -big, i64::MIN]),
        Tensor::from([0u8, 255, 7]),
        Tensor::from([true, false]),
        Tensor::scalar(2.5f64),
        Tensor::zeros([2, 0, 3], DType::Float32),
        Tensor::arange(0.0, 6.0, 1.0, DType::Float64)
            .reshape([2, 3])
            .t(),
        Tensor::from([1.0f32, 2.0]).broadcast_to([3, 2]),
    ];
    for t in tensors {
        let json = serde_json::to_string(&t).unwrap();
        let back: Tensor = serde_json::from_str(&json).unwrap();
        assert_eq!(
            (back.dtype(), back.shape()),
            (t.dtype(), t.shape()),
            "{json}"
        );
        assert!(back.is_contiguous() || back.numel() == 0); // see size0_tensors_are_contiguous
        match t.dtype() {
            DType::Int64 => assert_eq!(back.to_vec::<i64>(), t.to_vec::<i64>()),
            DType::Float32 => assert_eq!(back.to_vec::<f32>(), t.to_vec::<f32>()),
            _ => assert_eq!(back.to_f64_vec(), t.to_f64_vec()),
        }
    }
    // field order of a hand-written document does not matter as long as dtype precedes data
    let t: Tensor =
        serde_json::from_str(r#"{"shape":[2],"dtype":"Float64","data":[1,2.5]}"#).unwrap();
    assert_eq!(t.to_vec::<f64>(), [1.0, 2.5]);
}

#[test]
fn serde_rejects_data_that_does_not_fill_the_shape() {
    let e = |s: &str| serde_json::from_str::<Tensor>(s).unwrap_err().to_string();
    assert_eq!(
        e(r#"{"dtype":"Float32","shape":[2,3],"data":[1,2,3,4,5]}"#),
        "tensor: 5 values do not fill shape (2, 3) (6 elements) at line 1 column 52"
    );
    assert_eq!(
        e(r#"{"dtype":"Int32","shape":[1099511627776,1099511627776],"data":[]}"#),
        "tensor: shape (1099511627776, 1099511627776) has more elements than fit in memory at line 1 column 65"
    );
    assert_eq!(
        e(r#"{"shape":[1],"data":[1],"dtype":"Int32"}"#),
        "tensor: field `dtype` must come before `data` at line 1 column 19"
    );
    assert_eq!(
        e(r#"{"dtype":"UInt8","shape":[1],"data":[256]}"#),
        "invalid value: integer `256`, expected u8 at line 1 column 40"
    );
    assert_eq!(
        e(r#"{"dtype":"Bool","shape":[1]}"#),
        "missing field `data` at line 1 column 28"
    );
    assert_eq!(
        e(r#"{"dtype":"Float16","shape":[1],"data":[1]}"#),
        "unknown variant `Float16`, expected one of `Float32`, `Float64`, `Int32`, `Int64`, `UInt8`, `Bool` at line 1 column 18"
    );
}
