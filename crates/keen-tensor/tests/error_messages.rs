//! Every error message of the core ops, whole, in one file: a change of wording shows up here as
//! a diff to review. Also checks that panics point at the caller's line (`#[track_caller]`) and
//! that sizes beyond memory are errors, not crashes.

use keen_tensor::ops::random::Generator;
use keen_tensor::{DType, ErrorKind, Shape, Tensor};
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

fn f32s(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape.to_vec(), DType::Float32)
}

fn i32s(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape.to_vec(), DType::Int32)
}

fn bools(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape.to_vec(), DType::Bool)
}

/// The message of an error result.
fn err(r: keen_tensor::Result<Tensor>) -> String {
    match r {
        Ok(t) => panic!("expected an error, got {t}"),
        Err(e) => e.to_string(),
    }
}

thread_local! {
    static LAST_PANIC: RefCell<Option<(String, String, u32)>> = const { RefCell::new(None) };
}

/// Runs `f`, which must panic, and returns the message and the file and line it reported.
fn panic_of<R>(f: impl FnOnce() -> R) -> (String, String, u32) {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default(info); // still printed (shown only for failing tests)
            let msg = info
                .payload()
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let (file, line) = info
                .location()
                .map(|l| (l.file().to_string(), l.line()))
                .unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some((msg, file, line)));
        }))
    });
    LAST_PANIC.with(|p| p.borrow_mut().take());
    let r = catch_unwind(AssertUnwindSafe(f));
    assert!(r.is_err(), "expected a panic");
    LAST_PANIC
        .with(|p| p.borrow_mut().take())
        .expect("hook saw the panic")
}

/// `panics_here!(expr)`: the panic message of `expr`, asserting it points at this line.
macro_rules! panics_here {
    ($e:expr) => {{
        let (msg, file, line) = panic_of(|| $e);
        assert_eq!(
            (file.as_str(), line),
            (file!(), line!()),
            "location of: {msg}"
        );
        msg
    }};
}

#[test]
fn matmul() {
    assert_eq!(
        err(f32s(&[2, 3]).try_matmul(&f32s(&[4, 5]))),
        "matmul: inner dimensions differ: lhs (2, 3) vs rhs (4, 5)"
    );
    assert_eq!(
        err(f32s(&[3]).try_matmul(&f32s(&[4, 5]))),
        "matmul: inner dimensions differ: lhs (3,) vs rhs (4, 5)"
    );
    assert_eq!(
        err(f32s(&[2, 3]).try_matmul(&i32s(&[3, 5]))),
        "matmul: dtypes differ: lhs float32 vs rhs int32\n  hint: cast one side, e.g. rhs.cast(DType::Float32)"
    );
    assert_eq!(
        err(f32s(&[]).try_matmul(&f32s(&[3]))),
        "matmul: operands must have rank >= 1: lhs () vs rhs (3,)"
    );
    assert_eq!(
        err(f32s(&[2, 2, 3]).try_matmul(&f32s(&[3, 3, 4]))),
        "matmul: batch dimensions (2,) and (3,) cannot be broadcast: lhs (2, 2, 3) vs rhs (3, 3, 4)"
    );
    assert_eq!(
        err(f32s(&[2, 3, 5, 6]).try_matmul(&f32s(&[4, 3, 6, 7]))),
        "matmul: batch dimensions (2, 3) and (4, 3) cannot be broadcast: lhs (2, 3, 5, 6) vs rhs (4, 3, 6, 7)"
    );
    assert_eq!(
        err(bools(&[2, 2]).try_matmul(&bools(&[2, 2]))),
        "matmul: not defined for bool tensors"
    );
}

#[test]
fn binary_ops() {
    for (op, r) in [
        ("add", f32s(&[2, 3]).try_add(f32s(&[4, 3]))),
        ("sub", f32s(&[2, 3]).try_sub(f32s(&[4, 3]))),
        ("mul", f32s(&[2, 3]).try_mul(f32s(&[4, 3]))),
        ("div", f32s(&[2, 3]).try_div(f32s(&[4, 3]))),
        ("rem", f32s(&[2, 3]).try_rem(f32s(&[4, 3]))),
        ("pow", f32s(&[2, 3]).try_pow(f32s(&[4, 3]))),
        ("maximum", f32s(&[2, 3]).try_maximum(f32s(&[4, 3]))),
        ("minimum", f32s(&[2, 3]).try_minimum(f32s(&[4, 3]))),
        ("eq", f32s(&[2, 3]).try_eq(f32s(&[4, 3]))),
        ("ne", f32s(&[2, 3]).try_ne(f32s(&[4, 3]))),
        ("lt", f32s(&[2, 3]).try_lt(f32s(&[4, 3]))),
        ("le", f32s(&[2, 3]).try_le(f32s(&[4, 3]))),
        ("gt", f32s(&[2, 3]).try_gt(f32s(&[4, 3]))),
        ("ge", f32s(&[2, 3]).try_ge(f32s(&[4, 3]))),
    ] {
        assert_eq!(
            err(r),
            format!("{op}: shapes (2, 3) and (4, 3) cannot be broadcast: axis 0 is 2 vs 4")
        );
    }
    assert_eq!(
        err(f32s(&[5]).try_add(f32s(&[2, 1, 4]))),
        "add: shapes (5,) and (2, 1, 4) cannot be broadcast: axis 2 is 5 vs 4"
    );
    assert_eq!(
        err(f32s(&[2]).try_add(i32s(&[2]))),
        "add: dtypes differ: lhs float32 vs rhs int32\n  hint: cast one side, e.g. rhs.cast(DType::Float32)"
    );
    assert_eq!(
        err(i32s(&[2]).try_lt(Tensor::from([1i64, 2]))),
        "lt: dtypes differ: lhs int32 vs rhs int64\n  hint: cast one side, e.g. rhs.cast(DType::Int32)"
    );
    assert_eq!(
        err(bools(&[2]).try_add(bools(&[2]))),
        "add: not defined for bool tensors"
    );
    assert_eq!(
        err(bools(&[2]).try_pow(true)),
        "pow: not defined for bool tensors"
    );
    assert_eq!(err(i32s(&[2]).try_div(0)), "div: integer division by zero");
    assert_eq!(
        err(Tensor::from([2, 3]).try_pow(Tensor::from([2, -1]))),
        "pow: integers to negative integer powers are not allowed (exponent -1)\n  hint: cast first, e.g. x.cast(DType::Float32)"
    );
    assert_eq!(
        panics_here!(Tensor::from([2i64]).pow(-3i64)),
        "pow: integers to negative integer powers are not allowed (exponent -3)\n  hint: cast first, e.g. x.cast(DType::Float32)"
    );
    assert_eq!(
        err(Tensor::try_where(&f32s(&[2]), &f32s(&[2]), &f32s(&[2]))),
        "where: condition must be bool, got float32"
    );
    assert_eq!(
        err(Tensor::try_where(&bools(&[2]), &f32s(&[2]), &f32s(&[3]))),
        "where: shapes (2,) and (3,) cannot be broadcast: axis 0 is 2 vs 3"
    );
    assert_eq!(
        err(Tensor::try_where(&bools(&[4]), &f32s(&[2, 3]), &f32s(&[3]))),
        "where: shapes (4,) and (2, 3) cannot be broadcast: axis 1 is 4 vs 3"
    );
    assert_eq!(
        err(Tensor::try_where(&bools(&[3]), &f32s(&[3]), &i32s(&[3]))),
        "where: dtypes differ: lhs float32 vs rhs int32\n  hint: cast one side, e.g. rhs.cast(DType::Float32)"
    );
    assert_eq!(
        err(i32s(&[2]).try_logical_not()),
        "logical_not: expected a bool tensor, got int32"
    );
    assert_eq!(
        err(f32s(&[2]).try_logical_and(&bools(&[2]))),
        "logical_and: expected bool tensors, got float32 and bool"
    );
    assert_eq!(
        err(bools(&[2]).try_logical_or(&bools(&[3]))),
        "logical_or: shapes (2,) and (3,) cannot be broadcast: axis 0 is 2 vs 3"
    );
    assert_eq!(
        panics_here!(f32s(&[2]).logical_and(&bools(&[2]))),
        "logical_and: expected bool tensors, got float32 and bool"
    );
    assert_eq!(
        panics_here!(bools(&[2]).logical_or(&i32s(&[2]))),
        "logical_or: expected bool tensors, got bool and int32"
    );
}

#[test]
fn unary_ops() {
    for (op, r) in [
        ("exp", i32s(&[2]).try_exp()),
        ("log", i32s(&[2]).try_log()),
        ("log1p", i32s(&[2]).try_log1p()),
        ("expm1", i32s(&[2]).try_expm1()),
        ("sqrt", i32s(&[2]).try_sqrt()),
        ("rsqrt", i32s(&[2]).try_rsqrt()),
        ("sin", i32s(&[2]).try_sin()),
        ("cos", i32s(&[2]).try_cos()),
        ("tanh", i32s(&[2]).try_tanh()),
        ("sigmoid", i32s(&[2]).try_sigmoid()),
        ("softplus", i32s(&[2]).try_softplus()),
        ("relu", i32s(&[2]).try_relu()),
        ("gelu", i32s(&[2]).try_gelu()),
        ("erf", i32s(&[2]).try_erf()),
        ("floor", i32s(&[2]).try_floor()),
        ("ceil", i32s(&[2]).try_ceil()),
        ("round", i32s(&[2]).try_round()),
        ("leaky_relu", i32s(&[2]).try_leaky_relu(0.2)),
        ("elu", i32s(&[2]).try_elu(1.0)),
        (
            "leaky_relu_backward",
            i32s(&[2]).try_leaky_relu_backward(&i32s(&[2]), 0.2),
        ),
    ] {
        assert_eq!(
            err(r),
            format!(
                "{op}: expected a float tensor, got int32\n  hint: cast first, e.g. x.cast(DType::Float32)"
            )
        );
    }
    let x = Tensor::zeros([2, 3], DType::Float32);
    assert_eq!(
        err(x.try_leaky_relu_backward(&Tensor::zeros([3], DType::Float32), 0.2)),
        "leaky_relu_backward: x (2, 3) float32 and g (3,) float32 differ in shape or dtype"
    );
    for (op, r) in [
        ("neg", bools(&[2]).try_neg()),
        ("abs", bools(&[2]).try_abs()),
        ("sign", bools(&[2]).try_sign()),
        ("square", bools(&[2]).try_square()),
        ("clip", bools(&[2]).try_clip(0.0, 1.0)),
    ] {
        assert_eq!(err(r), format!("{op}: not defined for bool tensors"));
    }
    assert_eq!(
        err(f32s(&[2]).try_clip(2.0, 1.0)),
        "clip: min 2 is greater than max 1"
    );
}

#[test]
fn creation_and_access() {
    assert_eq!(
        err(Tensor::try_from_vec(vec![1.0f32; 5], [2, 3])),
        "from_vec: 5 values do not fill shape (2, 3) (6 elements)"
    );
    assert_eq!(
        err(Tensor::try_from_nested(vec![vec![1, 2], vec![3]])),
        "from: ragged nested array: expected 2 items at this level, found 1"
    );
    assert_eq!(
        err(Tensor::try_arange(0.0, 1.0, 0.0, DType::Float32)),
        "arange: step must be non-zero and bounds finite (got 0, 1, 0)"
    );
    assert_eq!(
        err(Tensor::try_arange(0.0, f64::INFINITY, 1.0, DType::Float32)),
        "arange: step must be non-zero and bounds finite (got 0, inf, 1)"
    );
    let x = f32s(&[2, 3]);
    assert_eq!(
        x.try_view::<i32>().unwrap_err().to_string(),
        "view: tensor is float32, asked for int32"
    );
    assert_eq!(
        x.try_to_vec::<i64>().unwrap_err().to_string(),
        "to_vec: tensor is float32, asked for int64"
    );
    assert_eq!(
        x.try_item::<f32>().unwrap_err().to_string(),
        "item: tensor of shape (2, 3) has 6 elements, expected exactly one"
    );
    assert_eq!(
        x.try_to_ndarray::<u8>().unwrap_err().to_string(),
        "view: tensor is float32, asked for uint8"
    );
    assert_eq!(
        err(Tensor::try_from_slice(&[1u8, 2], [3])),
        "from_vec: 2 values do not fill shape (3,) (3 elements)"
    );
}

#[test]
fn movement() {
    let x = f32s(&[6, 4]);
    assert_eq!(
        err(x.try_reshape(&[5, -1])),
        "reshape: cannot reshape (6, 4) (24 elements) into (5, -1)"
    );
    assert_eq!(
        err(x.try_reshape(&[-1, -1])),
        "reshape: cannot reshape (6, 4) (24 elements) into (-1, -1)"
    );
    assert_eq!(
        err(x.try_reshape(&[25])),
        "reshape: cannot reshape (6, 4) (24 elements) into (25,)"
    );
    assert_eq!(
        err(x.try_reshape(&[-2, -12])),
        "reshape: cannot reshape (6, 4) (24 elements) into (-2, -12)"
    );
    let y = f32s(&[2, 3, 4]);
    assert_eq!(
        err(y.try_permute(&[0, 0, 1])),
        "permute: [0, 0, 1] is not a permutation of the 3 axes of shape (2, 3, 4)"
    );
    assert_eq!(
        err(y.try_permute(&[0, 1])),
        "permute: [0, 1] is not a permutation of the 3 axes of shape (2, 3, 4)"
    );
    assert_eq!(
        err(y.try_permute(&[0, 1, 3])),
        "permute: axis 3 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)"
    );
    assert_eq!(
        err(x.try_transpose(0, 2)),
        "transpose: axis 2 out of range for rank-2 tensor of shape (6, 4) (valid: -2..=1)"
    );
    assert_eq!(
        err(f32s(&[3, 2]).try_broadcast_to([4, 3])),
        "broadcast_to: cannot broadcast (3, 2) to (4, 3): axis 0 is 3 vs 4"
    );
    assert_eq!(
        err(f32s(&[2, 3]).try_broadcast_to([3])),
        "broadcast_to: cannot broadcast (2, 3) to (3,): target has fewer axes"
    );
    assert_eq!(
        err(f32s(&[2, 1]).try_squeeze(&[0])),
        "squeeze: axis 0 of shape (2, 1) has size 2, not 1"
    );
    assert_eq!(
        err(f32s(&[2, 1]).try_squeeze(&[2])),
        "squeeze: axis 2 out of range for rank-2 tensor of shape (2, 1) (valid: -2..=1)"
    );
    assert_eq!(
        err(y.try_t()),
        "t: expected a rank-2 tensor, got shape (2, 3, 4)"
    );
    assert_eq!(
        panics_here!(y.t()),
        "t: expected a rank-2 tensor, got shape (2, 3, 4)"
    );
    assert_eq!(
        err(y.try_expand_dims(4)),
        "expand_dims: axis 4 out of range for a result of rank 4 (valid: -4..=3)"
    );
    assert_eq!(
        err(y.try_expand_dims(-5)),
        "expand_dims: axis -5 out of range for a result of rank 4 (valid: -4..=3)"
    );
    assert_eq!(
        panics_here!(y.expand_dims(4)),
        "expand_dims: axis 4 out of range for a result of rank 4 (valid: -4..=3)"
    );
    assert_eq!(
        y.try_dim(-4).unwrap_err().to_string(),
        "dim: axis -4 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)"
    );
    assert_eq!(
        panics_here!(y.dim(-4)),
        "dim: axis -4 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)"
    );
}

#[test]
fn reductions() {
    let x = f32s(&[2, 3, 4]);
    assert_eq!(
        err(x.try_sum(&[3], false)),
        "sum: axis 3 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)"
    );
    assert_eq!(
        err(x.try_sum(&[2, -1], false)),
        "sum: axis -1 repeated in [2, -1] for shape (2, 3, 4)"
    );
    assert_eq!(
        err(f32s(&[]).try_sum(&[0], false)),
        "sum: axis 0 out of range for rank-0 tensor of shape () (valid: none: the tensor is a scalar)"
    );
    assert_eq!(
        err(bools(&[2]).try_sum(&[], false)),
        "sum: not defined for bool tensors"
    );
    assert_eq!(
        err(x.try_mean(&[-4], true)),
        "mean: axis -4 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)"
    );
    assert_eq!(
        err(i32s(&[2]).try_mean(&[], false)),
        "mean: expected a float tensor, got int32"
    );
    assert_eq!(
        err(i32s(&[2]).try_var(&[], false)),
        "var: expected a float tensor, got int32"
    );
    assert_eq!(
        err(x.try_std(&[3], false)),
        "std: axis 3 out of range for rank-3 tensor of shape (2, 3, 4) (valid: -3..=2)"
    );
    assert_eq!(
        err(bools(&[2]).try_sum_all()),
        "sum: not defined for bool tensors"
    );
    assert_eq!(
        err(f32s(&[2, 3]).try_sum_to_shape(&Shape::from([4, 3]))),
        "sum_to_shape: (4, 3) does not broadcast to (2, 3)"
    );
    assert_eq!(
        err(f32s(&[3]).try_sum_to_shape(&Shape::from([2, 3]))),
        "sum_to_shape: (2, 3) does not broadcast to (3,)"
    );
    let logits = f32s(&[2, 5]);
    let labels = |v: Vec<i64>| Tensor::from_vec(v, [2]);
    assert_eq!(
        err(logits.try_sparse_softmax_cross_entropy(&i32s(&[3]))),
        "sparse_softmax_cross_entropy: labels of shape (3,) do not match logits of shape (2, 5): expected (2,)"
    );
    assert_eq!(
        err(f32s(&[]).try_sparse_softmax_cross_entropy(&i32s(&[]))),
        "sparse_softmax_cross_entropy: labels of shape () do not match logits of shape (): expected ()"
    );
    assert_eq!(
        err(logits.try_sparse_softmax_cross_entropy(&f32s(&[2]))),
        "sparse_softmax_cross_entropy: labels must be int32 or int64, got float32"
    );
    assert_eq!(
        err(logits.try_sparse_softmax_cross_entropy(&labels(vec![1, 7]))),
        "sparse_softmax_cross_entropy: label 7 is out of range for 5 classes"
    );
    assert_eq!(
        err(logits.try_sparse_softmax_cross_entropy(&labels(vec![-1, 0]))),
        "sparse_softmax_cross_entropy: label -1 is out of range for 5 classes"
    );
    assert_eq!(
        err(i32s(&[2, 5]).try_sparse_softmax_cross_entropy(&labels(vec![0, 0]))),
        "sparse_softmax_cross_entropy: expected a float tensor, got int32\n  hint: cast first, e.g. x.cast(DType::Float32)"
    );
}

#[test]
fn random() {
    // the full list lives in tests/random.rs; one per kind here
    let mut g = Generator::new(0);
    assert_eq!(
        err(Tensor::try_random_normal_with(
            [2],
            0.0,
            1.0,
            DType::Int32,
            &mut g
        )),
        "random_normal: dtype must be float32 or float64, got int32"
    );
    assert_eq!(
        err(Tensor::try_random_uniform_with(
            [2],
            1.0,
            0.0,
            DType::Float64,
            &mut g
        )),
        "random_uniform: low 1 must not exceed high 0"
    );
}

#[test]
fn sizes_beyond_memory_are_errors() {
    let huge = [1usize << 40, 1 << 40];
    let e = Tensor::try_full(huge, 0.0, DType::Float32).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Overflow);
    assert_eq!(
        e.to_string(),
        "full: shape (1099511627776, 1099511627776) has more elements than fit in memory"
    );
    assert_eq!(
        err(Tensor::try_full([1 << 40, 1 << 10], 0.0, DType::Float32)),
        "full: shape (1099511627776, 1024) has 1125899906842624 elements, more than fit in memory"
    );
    assert_eq!(
        err(Tensor::try_arange(0.0, 1e15, 1.0, DType::Float32)),
        "arange: 1000000000000000 elements would exhaust memory"
    );
    assert_eq!(
        err(Tensor::try_from_vec(Vec::<f32>::new(), huge)),
        "from_vec: shape (1099511627776, 1099511627776) has more elements than fit in memory"
    );
    assert_eq!(
        err(Tensor::try_zeros(huge, DType::Float64)),
        "zeros: shape (1099511627776, 1099511627776) has more elements than fit in memory"
    );
    assert_eq!(
        panics_here!(Tensor::zeros(huge, DType::Float64)),
        "zeros: shape (1099511627776, 1099511627776) has more elements than fit in memory"
    );
    assert_eq!(
        err(Tensor::try_ones([usize::MAX, 2], DType::UInt8)),
        "ones: shape (18446744073709551615, 2) has more elements than fit in memory"
    );
    assert_eq!(
        panics_here!(Tensor::ones([usize::MAX, 2], DType::UInt8)),
        "ones: shape (18446744073709551615, 2) has more elements than fit in memory"
    );
    assert_eq!(
        err(Tensor::try_eye(1 << 32, DType::Float32)),
        "eye: shape (4294967296, 4294967296) has more elements than fit in memory"
    );
    assert_eq!(
        panics_here!(Tensor::eye(1 << 32, DType::Float32)),
        "eye: shape (4294967296, 4294967296) has more elements than fit in memory"
    );
    assert_eq!(
        err(Tensor::try_linspace(0.0, 1.0, 1 << 50, DType::Float32)),
        "linspace: shape (1125899906842624,) has 1125899906842624 elements, more than fit in memory"
    );
    assert_eq!(
        panics_here!(Tensor::linspace(0.0, 1.0, usize::MAX, DType::Float64)),
        "linspace: shape (18446744073709551615,) has more elements than fit in memory"
    );
    let e = Tensor::try_linspace(0.0, 1.0, 1 << 50, DType::Float32).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Overflow);
    // a matmul whose result would not fit
    let a = Tensor::scalar(1.0f32).broadcast_to([1 << 40, 1]);
    let b = Tensor::scalar(1.0f32).broadcast_to([1, 1 << 40]);
    assert_eq!(
        err(a.try_matmul(&b)),
        "matmul: shape (1099511627776, 1099511627776) has more elements than fit in memory"
    );
    // a matmul whose broadcast operand would not: (2^20, 2^20) @ (2^10, 2^20, 1)
    let a = Tensor::scalar(1.0f32).broadcast_to([1 << 20, 1 << 20]);
    let b = Tensor::scalar(1.0f32).broadcast_to([1 << 10, 1 << 20, 1]);
    assert_eq!(
        err(a.try_matmul(&b)),
        "matmul: shape (1024, 1048576, 1048576) has 1125899906842624 elements, more than fit in memory"
    );
    // resizing or upsampling to sizes beyond memory
    let img = f32s(&[1, 2, 2, 1]);
    assert_eq!(
        err(img.try_resize(
            [1 << 30, 1 << 30],
            keen_tensor::ops::resize::Interpolation::Nearest
        )),
        "resize: shape (1, 1073741824, 1073741824, 1) has 1152921504606846976 elements, more than fit in memory"
    );
    assert_eq!(
        err(img.try_upsample2d(
            [usize::MAX, 1],
            keen_tensor::ops::resize::Interpolation::Nearest
        )),
        "upsample2d: upsampling (1, 2, 2, 1) by (18446744073709551615, 1) gives sides that overflow"
    );
}

#[test]
fn results_larger_than_memory_are_errors() {
    // 2^45 float64 elements are within the element limit but are 256 TiB, more than any
    // allocator grants (it is more than the 47-bit address space).
    let n = 1usize << 45;
    let msg = |op: &str, dtype: &str| {
        format!("{op}: cannot allocate 281474976710656 bytes for a {dtype} tensor of shape (35184372088832,)")
    };
    let e = Tensor::try_zeros([n], DType::Float64).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Overflow);
    assert_eq!(e.to_string(), msg("zeros", "float64"));
    assert_eq!(
        panics_here!(Tensor::full([n], 2.0, DType::Int64)),
        msg("full", "int64")
    );
    assert_eq!(
        err(Tensor::try_linspace(0.0, 1.0, n, DType::Float64)),
        msg("linspace", "float64")
    );
    let v = Tensor::scalar(1.0f64).broadcast_to([n]);
    assert_eq!(err(v.try_exp()), msg("exp", "float64"));
    assert_eq!(err(v.try_neg()), msg("neg", "float64"));
    assert_eq!(err(v.try_add(1.0)), msg("add", "float64"));
    assert_eq!(err(v.try_cast(DType::Int64)), msg("cast", "int64"));
    assert_eq!(
        err(Tensor::try_where(
            &Tensor::scalar(true).broadcast_to([n]),
            &v,
            &v
        )),
        msg("where", "float64")
    );
    assert_eq!(panics_here!(&v * 2.0), msg("mul", "float64"));
    assert_eq!(
        err(Tensor::try_zeros_like(&v)),
        msg("zeros_like", "float64")
    );
    assert_eq!(
        err(Tensor::try_full_like(
            &Tensor::scalar(1.0f32).broadcast_to([2, n]),
            1.0
        )),
        "full_like: cannot allocate 281474976710656 bytes for a float32 tensor of shape (2, 35184372088832)"
    );
}

#[test]
fn empty_shapes_whose_strides_would_overflow_are_errors() {
    // np.empty((0, 2**40, 2**40)) -> ValueError: array is too big
    let big = [0, 1 << 40, 1 << 40];
    let e = Tensor::try_zeros(big, DType::Float32).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Overflow);
    assert_eq!(
        e.to_string(),
        "zeros: shape (0, 1099511627776, 1099511627776) is too large to lay out, although it has no elements"
    );
    assert_eq!(
        err(f32s(&[0]).try_reshape(&[0, 1 << 40, 1 << 40])),
        "reshape: shape (0, 1099511627776, 1099511627776) is too large to lay out, although it has no elements"
    );
    // empty shapes that can be laid out are fine, however large their other sizes
    assert_eq!(f32s(&[0, 1 << 40]).numel(), 0);
    assert_eq!(f32s(&[0]).reshape([1 << 30, 0]).dims(), [1 << 30, 0]);
}

#[test]
fn reshape_counts_elements_without_overflow() {
    let x = f32s(&[4, 6]);
    let e = x.try_reshape(&[1 << 40, 1 << 40, -1]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape);
    assert_eq!(
        e.to_string(),
        "reshape: cannot reshape (4, 6) (24 elements) into (1099511627776, 1099511627776, -1)"
    );
    assert_eq!(
        err(x.try_reshape(&[isize::MAX, 2])),
        "reshape: cannot reshape (4, 6) (24 elements) into (9223372036854775807, 2)"
    );
}

#[test]
fn broadcast_views_beyond_memory_are_errors() {
    // A view costs no memory, but its element count must still be a usize every op can use.
    let one = Tensor::scalar(1.0f32);
    let e = one.try_broadcast_to([1 << 40, 1 << 40]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Overflow);
    assert_eq!(
        e.to_string(),
        "broadcast_to: shape (1099511627776, 1099511627776) has more elements than fit in memory"
    );
    assert_eq!(
        panics_here!(one.broadcast_to([usize::MAX, usize::MAX])),
        "broadcast_to: shape (18446744073709551615, 18446744073709551615) has more elements than fit in memory"
    );
    assert_eq!(
        err(one.try_broadcast_to([1 << 25, 1 << 25])),
        "broadcast_to: shape (33554432, 33554432) has 1125899906842624 elements, more than fit in memory"
    );
}

#[test]
fn elementwise_on_huge_broadcast_views_is_an_error() {
    // Two views that each fit, whose broadcast does not: every elementwise op must say so
    // instead of overflowing the element count.
    let col = Tensor::scalar(1.0f32).broadcast_to([1 << 40, 1]);
    let row = Tensor::scalar(1.0f32).broadcast_to([1, 1 << 40]);
    let r = catch_unwind(AssertUnwindSafe(|| col.try_add(&row).map(|t| t.numel())));
    assert!(matches!(r, Ok(Err(_))), "{r:?}");
    let msg = |op: &str| {
        format!("{op}: shape (1099511627776, 1099511627776) has more elements than fit in memory")
    };
    for (op, r) in [
        ("add", col.try_add(&row)),
        ("sub", col.try_sub(&row)),
        ("mul", col.try_mul(&row)),
        ("div", col.try_div(&row)),
        ("rem", col.try_rem(&row)),
        ("pow", col.try_pow(&row)),
        ("maximum", col.try_maximum(&row)),
        ("minimum", col.try_minimum(&row)),
        ("eq", col.try_eq(&row)),
        ("lt", col.try_lt(&row)),
    ] {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Overflow);
        assert_eq!(e.to_string(), msg(op));
    }
    let bc = Tensor::scalar(true).broadcast_to([1 << 40, 1]);
    let br = Tensor::scalar(false).broadcast_to([1, 1 << 40]);
    assert_eq!(err(bc.try_logical_and(&br)), msg("logical_and"));
    assert_eq!(err(Tensor::try_where(&bc, &col, &row)), msg("where"));
    assert_eq!(panics_here!(&col + &row), msg("add"));
}

#[test]
fn panics_point_at_the_callers_line() {
    let (a, b) = (f32s(&[2, 3]), f32s(&[4, 5]));
    assert_eq!(
        panics_here!(a.matmul(&b)),
        "matmul: inner dimensions differ: lhs (2, 3) vs rhs (4, 5)"
    );
    let c = f32s(&[4, 3]);
    assert_eq!(
        panics_here!(a.add(&c)),
        "add: shapes (2, 3) and (4, 3) cannot be broadcast: axis 0 is 2 vs 4"
    );
    assert_eq!(
        panics_here!(&a + &c),
        "add: shapes (2, 3) and (4, 3) cannot be broadcast: axis 0 is 2 vs 4"
    );
    assert_eq!(
        panics_here!(a.clone() * c.clone()),
        "mul: shapes (2, 3) and (4, 3) cannot be broadcast: axis 0 is 2 vs 4"
    );
    assert_eq!(
        panics_here!(2.0 - &a.sub(&c)),
        "sub: shapes (2, 3) and (4, 3) cannot be broadcast: axis 0 is 2 vs 4"
    );
    assert_eq!(
        panics_here!(i32s(&[2]).exp()),
        "exp: expected a float tensor, got int32\n  hint: cast first, e.g. x.cast(DType::Float32)"
    );
    assert_eq!(
        panics_here!(c.reshape([5, -1])),
        "reshape: cannot reshape (4, 3) (12 elements) into (5, -1)"
    );
    assert_eq!(
        panics_here!(c.permute(&[1, 1])),
        "permute: [1, 1] is not a permutation of the 2 axes of shape (4, 3)"
    );
    assert_eq!(
        panics_here!(c.sum(&[2], false)),
        "sum: axis 2 out of range for rank-2 tensor of shape (4, 3) (valid: -2..=1)"
    );
    assert_eq!(
        panics_here!(c.mean(&[2], false)),
        "mean: axis 2 out of range for rank-2 tensor of shape (4, 3) (valid: -2..=1)"
    );
    assert_eq!(
        panics_here!(c.broadcast_to([4, 4])),
        "broadcast_to: cannot broadcast (4, 3) to (4, 4): axis 1 is 3 vs 4"
    );
    assert_eq!(
        panics_here!(c.squeeze(&[0])),
        "squeeze: axis 0 of shape (4, 3) has size 4, not 1"
    );
    assert_eq!(
        panics_here!(c.clip(1.0, 0.0)),
        "clip: min 1 is greater than max 0"
    );
    assert_eq!(
        panics_here!(Tensor::where_(&c, &c, &c)),
        "where: condition must be bool, got float32"
    );
    assert_eq!(
        panics_here!(Tensor::from_vec(vec![1, 2, 3], [2, 2])),
        "from_vec: 3 values do not fill shape (2, 2) (4 elements)"
    );
    assert_eq!(
        panics_here!(c.item::<f32>()),
        "item: tensor of shape (4, 3) has 12 elements, expected exactly one"
    );
    assert_eq!(
        panics_here!(c.to_vec::<i32>()),
        "to_vec: tensor is float32, asked for int32"
    );
    assert_eq!(
        panics_here!(Tensor::arange(0.0, 1.0, 0.0, DType::Int32)),
        "arange: step must be non-zero and bounds finite (got 0, 1, 0)"
    );
    assert_eq!(
        panics_here!(Tensor::random_normal([2], 0.0, -1.0, DType::Float32)),
        "random_normal: mean must be finite and std finite and non-negative, got mean 0, std -1"
    );
    assert_eq!(
        panics_here!(Tensor::bernoulli([2], 2.0, DType::Bool)),
        "bernoulli: probability must be in [0, 1], got 2"
    );
}
