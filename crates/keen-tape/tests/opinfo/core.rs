//! Elementwise unary and binary ops, `where`, `cast` and `matmul`.
//!
//! Samples are float64 and stay away from the non-smooth points, which have conventions rather
//! than derivatives: relu, abs, sign, leaky_relu and elu at 0, clip at its bounds, floor and ceil
//! at integers, round at halves, rem where `a/b` is an integer, maximum/minimum at ties. Binary
//! ops get broadcasting pairs ((3, 1) × (1, 4), (5,) × (2, 1, 5), rank 0 × (2, 3)), scalar
//! operands and non-contiguous inputs (transposed and broadcast views).
//!
//! `cast`: gradcheck perturbs float64 inputs by 1e-6, and a float32 value cannot carry such a
//! perturbation at ordinary magnitudes (float32 spacing near 1 is 1.2e-7, a 6% error of the
//! finite difference). So the cast is checked as the round trip float64 → float32 → float64,
//! which runs both directions of the rule (`g.cast(from)`), on values of magnitude ≤ 1e-4, where
//! float32 spacing (≤ 7e-12) is far below the step.

use crate::OpInfo;
use keen_tensor::{DType, Tensor};

/// Distinct float64 values spread over `[lo, hi]`, in no particular order.
fn spread(dims: &[usize], lo: f64, hi: f64) -> Tensor {
    let n: usize = dims.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|i| lo + (hi - lo) * ((i * 37 + 11) % 101) as f64 / 100.0)
        .collect();
    Tensor::from_vec(v, dims.to_vec())
}

/// Values in ±[0.2, 2.2], never near 0 (the kink of relu, abs, sign, leaky_relu, elu).
fn away_from_zero(dims: &[usize]) -> Tensor {
    let n: usize = dims.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|i| {
            let m = 0.2 + 2.0 * ((i * 37 + 11) % 101) as f64 / 100.0;
            if i % 2 == 1 {
                -m
            } else {
                m
            }
        })
        .collect();
    Tensor::from_vec(v, dims.to_vec())
}

/// Values `k + f` with integers `k` in [-3, 2] and `f` in [0.1, 0.4] ∪ [0.6, 0.9]: never near an
/// integer (floor, ceil) nor a half (round).
fn off_grid(dims: &[usize]) -> Tensor {
    let n: usize = dims.iter().product();
    let fracs = [0.1, 0.25, 0.4, 0.6, 0.75, 0.9];
    let v: Vec<f64> = (0..n)
        .map(|i| (i % 6) as f64 - 3.0 + fracs[(i * 5 + 1) % 6])
        .collect();
    Tensor::from_vec(v, dims.to_vec())
}

type Gen = fn(&[usize]) -> Tensor;

/// An entry for a unary op on a matrix, a rank-0 tensor, a size-1-axis tensor, a transposed
/// view and a broadcast view.
fn unary(name: &'static str, f: fn(&Tensor) -> Tensor, data: Gen) -> OpInfo {
    OpInfo::new(name, move |x| f(&x[0]))
        .sample("(2, 3)", vec![data(&[2, 3])])
        .sample("rank 0", vec![data(&[])])
        .sample("size-1 axes (1, 4, 1)", vec![data(&[1, 4, 1])])
        .sample("transposed view", vec![data(&[3, 2]).transpose(0, 1)])
        .sample(
            "broadcast view (3,) to (2, 3)",
            vec![data(&[3]).broadcast_to([2, 3])],
        )
}

// One push per op keeps the entries grouped by the source file, with a comment per group.
#[allow(clippy::vec_init_then_push)]
pub fn entries() -> Vec<OpInfo> {
    let mut e = Vec::new();
    // ---- unary.rs ----
    e.push(unary("exp", |x| x.exp(), |d| spread(d, -2.0, 2.0)));
    e.push(unary("log", |x| x.log(), |d| spread(d, 0.2, 3.0)));
    e.push(unary("log1p", |x| x.log1p(), |d| spread(d, -0.7, 3.0)));
    e.push(unary("expm1", |x| x.expm1(), |d| spread(d, -2.0, 2.0)));
    e.push(unary("sqrt", |x| x.sqrt(), |d| spread(d, 0.2, 3.0)));
    e.push(unary("rsqrt", |x| x.rsqrt(), |d| spread(d, 0.2, 3.0)));
    e.push(unary("sin", |x| x.sin(), |d| spread(d, -3.0, 3.0)));
    e.push(unary("cos", |x| x.cos(), |d| spread(d, -3.0, 3.0)));
    e.push(unary("tanh", |x| x.tanh(), |d| spread(d, -2.0, 2.0)));
    e.push(unary("sigmoid", |x| x.sigmoid(), |d| spread(d, -4.0, 4.0)));
    e.push(unary(
        "softplus",
        |x| x.softplus(),
        |d| spread(d, -4.0, 4.0),
    ));
    e.push(unary("gelu", |x| x.gelu(), |d| spread(d, -3.0, 3.0)));
    e.push(unary("erf", |x| x.erf(), |d| spread(d, -2.0, 2.0)));
    e.push(unary("square", |x| x.square(), |d| spread(d, -2.0, 2.0)));
    e.push(unary("neg", |x| x.neg(), |d| spread(d, -2.0, 2.0)));
    e.push(unary("relu", |x| x.relu(), away_from_zero));
    e.push(unary("abs", |x| x.abs(), away_from_zero));
    e.push(unary("sign", |x| x.sign(), away_from_zero));
    e.push(unary("leaky_relu", |x| x.leaky_relu(0.2), away_from_zero));
    e.push(
        OpInfo::new("leaky_relu_backward", |x| {
            x[0].leaky_relu_backward(&x[1], 0.2)
        })
        .sample(
            "(2, 3)",
            vec![away_from_zero(&[2, 3]), spread(&[2, 3], -2.0, 2.0)],
        )
        .sample(
            "transposed",
            vec![
                away_from_zero(&[3, 2]).transpose(0, 1),
                spread(&[2, 3], -1.0, 1.0),
            ],
        ),
    );
    e.push(unary("elu", |x| x.elu(1.3), away_from_zero));
    e.push(unary("floor", |x| x.floor(), off_grid));
    e.push(unary("ceil", |x| x.ceil(), off_grid));
    e.push(unary("round", |x| x.round(), off_grid));
    // clip(-0.5, 0.8): values inside, below and above, none within 0.05 of a bound
    let clip_in = || Tensor::from([[-1.2f64, -0.4, 0.0], [0.3, 0.7, 1.6]]);
    e.push(
        OpInfo::new("clip", |x| x[0].clip(-0.5, 0.8))
            .sample("inside and outside", vec![clip_in()])
            .sample("transposed view", vec![clip_in().transpose(0, 1)])
            .sample("rank 0 inside", vec![Tensor::scalar(0.25f64)])
            .sample("rank 0 outside", vec![Tensor::scalar(-2.0f64)]),
    );
    // the operator forms record the same rules
    e.push(OpInfo::new("neg", |x| -&x[0]).sample("operator -", vec![spread(&[2, 2], -1.0, 1.0)]));

    // ---- binary.rs ----
    let pairs = |lo: f64, hi: f64, blo: f64, bhi: f64| -> Vec<(String, Vec<Tensor>)> {
        vec![
            (
                "(2, 3) and (2, 3)".into(),
                vec![spread(&[2, 3], lo, hi), spread(&[2, 3], blo, bhi)],
            ),
            (
                "(3, 1) and (1, 4)".into(),
                vec![spread(&[3, 1], lo, hi), spread(&[1, 4], blo, bhi)],
            ),
            (
                "(5,) and (2, 1, 5)".into(),
                vec![spread(&[5], lo, hi), spread(&[2, 1, 5], blo, bhi)],
            ),
            (
                "rank 0 and (2, 3)".into(),
                vec![spread(&[], lo, hi), spread(&[2, 3], blo, bhi)],
            ),
            (
                "transposed view and broadcast view".into(),
                vec![
                    spread(&[3, 2], lo, hi).transpose(0, 1),
                    spread(&[3], blo, bhi).broadcast_to([2, 3]),
                ],
            ),
        ]
    };
    type Bin = fn(&Tensor, &Tensor) -> Tensor;
    let binary = |name: &'static str, f: Bin, samples: Vec<(String, Vec<Tensor>)>| {
        let mut info = OpInfo::new(name, move |x| f(&x[0], &x[1]));
        for (label, inputs) in samples {
            info = info.sample(&label, inputs);
        }
        info
    };
    e.push(binary("add", |a, b| a.add(b), pairs(-2.0, 2.0, -1.0, 3.0)));
    e.push(binary("sub", |a, b| a.sub(b), pairs(-2.0, 2.0, -1.0, 3.0)));
    e.push(binary("mul", |a, b| a.mul(b), pairs(-2.0, 2.0, -1.0, 3.0)));
    e.push(binary("div", |a, b| a.div(b), pairs(-2.0, 2.0, 0.5, 3.0)));
    e.push(binary("pow", |a, b| a.pow(b), pairs(0.5, 2.0, -1.5, 2.0)));
    // maximum/minimum: lhs values lie on a grid of step 0.04 from -2, rhs values on the same grid
    // shifted by 0.013, so no pair ties (every difference is at least 0.013)
    e.push(binary(
        "maximum",
        |a, b| a.maximum(b),
        pairs(-2.0, 2.0, -1.987, 2.013),
    ));
    e.push(binary(
        "minimum",
        |a, b| a.minimum(b),
        pairs(-2.0, 2.0, -1.987, 2.013),
    ));
    // rem: a/b never within 0.01 of an integer (checked below), signs mixed
    let ra = Tensor::from([[-0.35f64], [1.45], [-2.55]]);
    let rb = Tensor::from([[1.0f64, 2.0, 4.0, 0.8]]);
    for (a, b) in [(-0.35f64, 1.0f64), (1.45, 0.8), (-2.55, 4.0)] {
        let q = a / b;
        assert!(
            (q - q.round()).abs() > 0.01,
            "rem sample {a}/{b} is near an integer"
        );
    }
    e.push(
        OpInfo::new("rem", |x| x[0].rem(&x[1]))
            .sample("(3, 1) and (1, 4)", vec![ra.clone(), rb.clone()])
            .sample(
                "transposed views",
                vec![ra.transpose(0, 1), rb.transpose(0, 1)],
            ),
    );
    // scalar operands and the operator forms
    e.push(
        OpInfo::new("add", |x| x[0].add(1.5))
            .sample("tensor + scalar", vec![spread(&[2, 3], -1.0, 1.0)]),
    );
    e.push(
        OpInfo::new("sub", |x| 2.0 - &x[0])
            .sample("scalar - tensor", vec![spread(&[2, 3], -1.0, 1.0)]),
    );
    e.push(OpInfo::new("mul", |x| &x[0] * &x[1]).sample(
        "operator * with broadcasting",
        vec![spread(&[3, 1], -1.0, 1.0), spread(&[1, 4], -2.0, 2.0)],
    ));
    e.push(
        OpInfo::new("div", |x| 3.0 / &x[0]).sample("scalar / tensor", vec![spread(&[4], 0.5, 2.0)]),
    );
    e.push(
        OpInfo::new("pow", |x| x[0].pow(3.0))
            .sample("tensor ** 3", vec![spread(&[2, 3], 0.3, 2.0)]),
    );
    // where: the bool condition is passed through, a and b are checked
    let cond = Tensor::from([[true], [false], [true]]);
    e.push(
        OpInfo::new("where", |x| Tensor::where_(&x[0], &x[1], &x[2]))
            .sample(
                "cond (3, 1), a (1, 4), b (3, 4)",
                vec![
                    cond.clone(),
                    spread(&[1, 4], -1.0, 1.0),
                    spread(&[3, 4], -2.0, 2.0),
                ],
            )
            .sample(
                "rank-0 b, transposed a",
                vec![
                    cond,
                    spread(&[4, 3], -1.0, 1.0).transpose(0, 1),
                    Tensor::scalar(0.5f64),
                ],
            ),
    );

    // ---- creation.rs: cast (see the module docs for why the round trip and the small values) ----
    e.push(
        OpInfo::new("cast", |x| x[0].cast(DType::Float32).cast(DType::Float64))
            .sample(
                "float64 -> float32 -> float64",
                vec![spread(&[2, 3], -1e-4, 1e-4)],
            )
            .sample("rank 0", vec![Tensor::scalar(3e-5f64)])
            .sample(
                "transposed view",
                vec![spread(&[3, 2], -1e-4, 1e-4).transpose(0, 1)],
            ),
    );
    e.push(
        OpInfo::new("cast", |x| {
            x[0].cast(DType::Float32).mul(2.0f32).cast(DType::Float64)
        })
        .sample(
            "float32 arithmetic between casts",
            vec![spread(&[4], -5e-5, 5e-5)],
        ),
    );

    // ---- matmul.rs ----
    let mm = |a: &[usize], b: &[usize]| vec![spread(a, -1.5, 1.5), spread(b, -1.0, 1.0)];
    e.push(
        OpInfo::new("matmul", |x| x[0].matmul(&x[1]))
            .sample("(2, 3) x (3, 4)", mm(&[2, 3], &[3, 4]))
            .sample("batched (2, 3, 4) x (2, 4, 2)", mm(&[2, 3, 4], &[2, 4, 2]))
            .sample(
                "broadcast (2, 1, 3, 4) x (5, 4, 2)",
                mm(&[2, 1, 3, 4], &[5, 4, 2]),
            )
            .sample(
                "broadcast batch (3, 2, 4) x (4, 3)",
                mm(&[3, 2, 4], &[4, 3]),
            )
            .sample("vector x matrix (3,) x (3, 4)", mm(&[3], &[3, 4]))
            .sample("matrix x vector (2, 3) x (3,)", mm(&[2, 3], &[3]))
            .sample("vector x vector (4,) x (4,)", mm(&[4], &[4]))
            .sample("vector x batch (3,) x (2, 3, 2)", mm(&[3], &[2, 3, 2]))
            .sample("size-1 axes (1, 1) x (1, 3)", mm(&[1, 1], &[1, 3]))
            .sample(
                "transposed views",
                vec![
                    spread(&[3, 2], -1.5, 1.5).transpose(0, 1),
                    spread(&[4, 3], -1.0, 1.0).t(),
                ],
            )
            .sample(
                "broadcast view lhs",
                vec![
                    spread(&[3], -1.5, 1.5).broadcast_to([2, 3]),
                    spread(&[3, 2], -1.0, 1.0),
                ],
            ),
    );
    e.push(
        OpInfo::new("matmul", |x| x[0].matmul(&x[1].transpose(-2, -1)))
            .sample("a · bᵀ (attention scores)", mm(&[2, 3, 4], &[2, 5, 4])),
    );
    e
}
