//! gradcheck itself: it accepts right rules and names the op, input and index of wrong ones.

use keen_tape::{gradcheck, gradcheck_with, gradgradcheck, GradcheckOptions, GradcheckProblem};
use keen_tensor::record::{record, without_recording, Backward};
use keen_tensor::{DType, Tensor};

fn x23() -> Tensor {
    Tensor::from([[0.3f64, -1.2, 0.5], [2.0, 0.7, -0.4]])
}

#[test]
fn accepts_a_composite() {
    let f = |t: &[Tensor]| t[0].tanh().mul(&t[1]).add(&t[0].exp()).sum(&[1], false);
    gradcheck(&f, &[x23(), Tensor::from([1.0f64, -2.0, 0.5])]).unwrap();
    gradgradcheck(&f, &[x23(), Tensor::from([1.0f64, -2.0, 0.5])]).unwrap();
}

#[test]
fn passes_integer_and_bool_inputs_through() {
    let f =
        |t: &[Tensor]| Tensor::where_(&t[1], &t[0].square(), &t[0]).mul(&t[2].cast(DType::Float64));
    let cond = Tensor::from([[true, false, true], [false, true, false]]);
    gradcheck(&f, &[x23(), cond, Tensor::from([1i32, 2, 3])]).unwrap();
}

#[test]
fn large_inputs_use_random_projections() {
    let x = Tensor::linspace(-2.0, 2.0, 600, DType::Float64).reshape([20, 30]);
    let w = Tensor::linspace(-1.0, 1.0, 600, DType::Float64).reshape([30, 20]);
    gradcheck(&|t| t[0].matmul(&t[1]).tanh(), &[x, w]).unwrap();
}

/// `x³` with the wrong derivative `3x² + 0.01`.
struct WrongCube {
    x: Tensor,
}
impl Backward for WrongCube {
    fn name(&self) -> &'static str {
        "wrong_cube"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.mul(&self.x.square().mul(3.0).add(0.01)))]
    }
}

#[test]
fn reports_a_mismatch_with_op_input_and_index() {
    let f = |t: &[Tensor]| {
        let x = &t[1];
        let out = without_recording(|| x.pow(3.0));
        record(&[x], &out, || WrongCube { x: x.clone() });
        out.add(&t[0])
    };
    let e = gradcheck(&f, &[Tensor::from([0.0f64]), x23()]).unwrap_err();
    match &e.problem {
        GradcheckProblem::Mismatch { input, .. } => assert_eq!(*input, 1),
        p => panic!("{p:?}"),
    }
    let m = e.in_sample("wrong_cube", "2x3").to_string();
    assert!(
        m.starts_with("gradient mismatch for `wrong_cube` (sample \"2x3\") input 1 at index ("),
        "{m}"
    );
    assert!(
        m.contains("numerical") && m.contains("vs analytical"),
        "{m}"
    );
}

/// A rule that squares the incoming gradient: not linear.
struct Squares;
impl Backward for Squares {
    fn name(&self) -> &'static str {
        "squares"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.square())]
    }
}

#[test]
fn reports_a_rule_not_linear_in_the_gradient() {
    let f = |t: &[Tensor]| {
        let out = without_recording(|| t[0].mul(1.0));
        record(&[&t[0]], &out, || Squares);
        out
    };
    let e = gradcheck(&f, &[x23()]).unwrap_err();
    assert!(
        matches!(e.problem, GradcheckProblem::NotLinear { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("`squares`"), "{e}");
}

/// A rule that returns a gradient of the wrong shape.
struct BadShape;
impl Backward for BadShape {
    fn name(&self) -> &'static str {
        "bad_shape"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.sum_all())]
    }
}

#[test]
fn reports_a_gradient_of_the_wrong_shape() {
    let f = |t: &[Tensor]| {
        let out = without_recording(|| t[0].mul(1.0));
        record(&[&t[0]], &out, || BadShape);
        out
    };
    // A scalar gradient broadcasts to anything, so the walk accepts it: the numbers are wrong.
    assert!(gradcheck(&f, &[x23()]).is_err());
}

#[test]
fn tolerances_are_options() {
    let o = GradcheckOptions {
        atol: 1e-12,
        rtol: 1e-12,
        ..Default::default()
    };
    // Finite differences of exp are not exact to 1e-12.
    assert!(gradcheck_with(&|t| t[0].exp(), &[x23()], o).is_err());
    gradcheck(&|t| t[0].exp(), &[x23()]).unwrap();
}

#[test]
fn rejects_a_float32_output() {
    let e = gradcheck(&|t| t[0].cast(DType::Float32), &[x23()]).unwrap_err();
    assert!(matches!(e.problem, GradcheckProblem::Output(_)), "{e}");
}
