//! Tape semantics: TensorFlow's GradientTape behaviour, one property per test.

use keen_tape::{gradcheck, stop_gradient, GradcheckProblem, GradientTape, TapeOptions, Variable};
use keen_tensor::record::{record, without_recording, Backward};
use keen_tensor::{DType, Tensor};
use std::sync::Arc;

fn t(v: &[f64]) -> Tensor {
    Tensor::from(v.to_vec())
}

fn vals(g: &Option<Tensor>) -> Vec<f64> {
    g.as_ref().expect("a gradient").to_f64_vec()
}

#[test]
fn gradient_of_a_variable_and_a_watched_tensor() {
    let w = Variable::new("w", t(&[1.0, 2.0, 3.0]));
    let x = t(&[4.0, 5.0, 6.0]);
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = w.value().mul(&x).sum_all(); // Σ w·x
    let g = tape.gradient(&y, &[&w as &dyn keen_tape::Source, &x]);
    assert_eq!(vals(&g[0]), [4.0, 5.0, 6.0]);
    assert_eq!(vals(&g[1]), [1.0, 2.0, 3.0]);
}

#[test]
fn a_variable_is_an_operand() {
    let w = Variable::new("w", t(&[2.0]));
    let x = t(&[3.0]);
    let tape = GradientTape::new();
    let y = x.mul(&w).square();
    assert_eq!(vals(&tape.gradient(&y, &[&w])[0]), [36.0]); // 2·(xw)·x
}

#[test]
fn unconnected_sources_give_none() {
    let a = Variable::new("a", t(&[1.0]));
    let b = Variable::new("b", t(&[1.0]));
    let tape = GradientTape::new();
    let y = a.value().exp();
    let _unused = b.value();
    let g = tape.gradient(&y, &[&a, &b]);
    assert!(g[0].is_some());
    assert!(g[1].is_none());
}

#[test]
fn a_non_persistent_tape_answers_once() {
    let x = t(&[2.0]);
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = x.square();
    assert_eq!(vals(&tape.gradient(&y, &[&x])[0]), [4.0]);
    let err = tape.try_gradient(&y, &[&x]).unwrap_err();
    assert!(err.message().contains("answers one gradient call"), "{err}");
    assert!(tape.is_empty(), "the record is freed");
}

#[test]
#[should_panic(expected = "GradientTape::persistent()")]
fn a_second_gradient_call_panics_with_the_fix() {
    let x = t(&[2.0]);
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = x.square();
    tape.gradient(&y, &[&x]);
    tape.gradient(&y, &[&x]);
}

#[test]
fn a_persistent_tape_answers_many_times() {
    let x = t(&[3.0]);
    let tape = GradientTape::persistent();
    tape.watch(&x);
    let y = x.square();
    let z = y.square(); // x⁴
    assert_eq!(vals(&tape.gradient(&y, &[&x])[0]), [6.0]);
    assert_eq!(vals(&tape.gradient(&z, &[&x])[0]), [108.0]);
    assert_eq!(vals(&tape.gradient(&z, &[&y])[0]), [18.0]);
}

#[test]
fn nested_tapes_give_second_derivatives() {
    // d/dx x³ = 3x², d²/dx² = 6x; at x = 2: 12 and 12.
    let x = Variable::new("x", t(&[2.0]));
    let outer = GradientTape::new();
    let inner = GradientTape::new();
    let y = x.value().pow(3.0);
    let dy = inner.gradient(&y, &[&x]).remove(0).unwrap();
    assert_eq!(dy.to_f64_vec(), [12.0]);
    let d2y = outer.gradient(&dy, &[&x]).remove(0).unwrap();
    assert_eq!(d2y.to_f64_vec(), [12.0]);
}

#[test]
fn hessian_vector_product() {
    // f(x) = Σ x_i² x_j (i < j over a 2-vector: f = x0² x1), H = [[2x1, 2x0], [2x0, 0]].
    let x = t(&[1.5, -2.0]);
    let v = t(&[1.0, 3.0]);
    let outer = GradientTape::new();
    outer.watch(&x);
    let inner = GradientTape::new();
    inner.watch(&x);
    let x0 = x.mul(&t(&[1.0, 0.0])).sum_all();
    let x1 = x.mul(&t(&[0.0, 1.0])).sum_all();
    let f = x0.square().mul(&x1);
    let g = inner.gradient(&f, &[&x]).remove(0).unwrap();
    let gv = g.mul(&v).sum_all();
    let hv = outer.gradient(&gv, &[&x]).remove(0).unwrap();
    // H v = [2·x1·1 + 2·x0·3, 2·x0·1] = [-4 + 9, 3]
    assert_eq!(hv.to_f64_vec(), [5.0, 3.0]);
}

#[test]
fn the_walk_is_not_recorded_by_its_own_tape() {
    let x = t(&[2.0]);
    let tape = GradientTape::persistent();
    tape.watch(&x);
    let y = x.square();
    let n = tape.len();
    tape.gradient(&y, &[&x]);
    assert_eq!(tape.len(), n);
}

#[test]
fn several_tapes_record_at_once() {
    // A GAN step: generator variables on one tape, discriminator variables on the other.
    let g = Variable::new("gen", t(&[0.5]));
    let d = Variable::new("disc", t(&[2.0]));
    let gen_tape = GradientTape::with_options(TapeOptions {
        watch_accessed_variables: false,
        ..Default::default()
    });
    let disc_tape = GradientTape::with_options(TapeOptions {
        watch_accessed_variables: false,
        ..Default::default()
    });
    gen_tape.watch(&g);
    disc_tape.watch(&d);
    let fake = g.value().mul(3.0);
    let score = fake.mul(&d.value()); // 3·g·d
    let gen_grad = gen_tape.gradient(&score, &[&g, &d]);
    let disc_grad = disc_tape.gradient(&score, &[&d, &g]);
    assert_eq!(vals(&gen_grad[0]), [6.0]);
    assert!(
        gen_grad[1].is_none(),
        "the generator tape does not watch disc"
    );
    assert_eq!(vals(&disc_grad[0]), [1.5]);
    assert!(disc_grad[1].is_none());
}

#[test]
fn variables_assigned_after_recording_keep_their_old_values_on_the_tape() {
    let w = Variable::new("w", t(&[3.0]));
    let tape = GradientTape::new();
    let y = w.value().square();
    w.assign(&t(&[10.0]));
    assert_eq!(w.value_unwatched().to_f64_vec(), [10.0]);
    assert_eq!(vals(&tape.gradient(&y, &[&w])[0]), [6.0]); // 2 · old w
}

#[test]
fn a_variable_read_before_and_after_an_assign_sums_both_reads() {
    let w = Variable::new("w", t(&[3.0]));
    let tape = GradientTape::new();
    let a = w.value().mul(2.0);
    w.assign_add(&t(&[1.0]));
    let b = w.value().square(); // new value 4
    let y = a.add(&b);
    assert_eq!(vals(&tape.gradient(&y, &[&w])[0]), [2.0 + 8.0]);
}

#[test]
fn assign_checks_shape_and_dtype() {
    let w = Variable::new("w", Tensor::zeros([2, 3], DType::Float32));
    let e = w
        .try_assign(&Tensor::zeros([3, 2], DType::Float32))
        .unwrap_err();
    assert_eq!(
        e.message(),
        "assign: variable `w` has shape (2, 3) and dtype float32, the new value has (3, 2) and float32"
    );
}

#[test]
fn watch_accessed_variables_can_be_turned_off() {
    let w = Variable::new("w", t(&[3.0]));
    let tape = GradientTape::with_options(TapeOptions {
        watch_accessed_variables: false,
        ..Default::default()
    });
    let y = w.value().square();
    assert!(tape.gradient(&y, &[&w])[0].is_none());
}

#[test]
fn non_trainable_variables_are_not_watched_unless_asked() {
    let s = Variable::non_trainable("stat", t(&[3.0]));
    let tape = GradientTape::persistent();
    let y = s.value().square();
    assert!(tape.gradient(&y, &[&s])[0].is_none());
    tape.watch(&s);
    let y = s.value().square();
    assert_eq!(vals(&tape.gradient(&y, &[&s])[0]), [6.0]);
}

#[test]
fn stop_recording_pauses_only_this_tape() {
    let x = t(&[2.0]);
    let a = GradientTape::persistent();
    let b = GradientTape::persistent();
    a.watch(&x);
    b.watch(&x);
    let y = a.stop_recording(|| x.square());
    assert!(a.gradient(&y, &[&x])[0].is_none());
    assert_eq!(vals(&b.gradient(&y, &[&x])[0]), [4.0]);
}

#[test]
fn stop_gradient_cuts_the_path() {
    let x = t(&[3.0]);
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = x.square().mul(&stop_gradient(&x)); // x²·c
    assert_eq!(vals(&tape.gradient(&y, &[&x])[0]), [18.0]); // 2x·c, c = 3
}

#[test]
fn output_gradients_weight_a_non_scalar_target() {
    let x = t(&[1.0, 2.0]);
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = x.square();
    let g = tape.gradient_with(&y, &[&x], &t(&[10.0, 100.0]));
    assert_eq!(vals(&g[0]), [20.0, 400.0]);
}

#[test]
fn a_non_scalar_target_gives_the_gradient_of_its_sum() {
    let x = t(&[1.0, 2.0]);
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = x.square();
    assert_eq!(vals(&tape.gradient(&y, &[&x])[0]), [2.0, 4.0]);
}

#[test]
fn jacobian_of_a_small_map() {
    let x = t(&[1.0, 2.0]);
    let tape = GradientTape::persistent();
    tape.watch(&x);
    let y = x.mul(&x.sum_all()); // y_i = x_i · Σx
    let j = tape.jacobian(&y, &x).unwrap().unwrap();
    assert_eq!(j.dims(), [2, 2]);
    // ∂y_i/∂x_k = δ_ik Σx + x_i
    assert_eq!(j.to_f64_vec(), [4.0, 1.0, 2.0, 5.0]);
}

#[test]
fn broadcasting_is_undone_in_the_walk() {
    let a = Tensor::ones([3, 1], DType::Float64);
    let b = Tensor::ones([4], DType::Float64);
    let tape = GradientTape::new();
    tape.watch(&a);
    tape.watch(&b);
    let y = a.mul(&b).sum_all();
    let g = tape.gradient(&y, &[&a, &b]);
    assert_eq!(g[0].as_ref().unwrap().dims(), [3, 1]);
    assert_eq!(vals(&g[0]), [4.0; 3]);
    assert_eq!(vals(&g[1]), [3.0; 4]);
}

#[test]
fn gradients_print_like_tensors() {
    let w = Variable::new("w", Tensor::from([1.0f32, 2.0]));
    let tape = GradientTape::new();
    let y = w.value().square().sum_all();
    let g = tape.gradient(&y, &[&w]).remove(0).unwrap();
    assert_eq!(
        format!("{g}"),
        "Tensor([2., 4.], shape=(2,), dtype=float32)"
    );
}

#[test]
fn the_tape_lists_its_ops_with_the_callers_line() {
    let x = t(&[1.0]);
    let tape = GradientTape::new();
    tape.watch(&x);
    let _y = x.exp().add(1.0);
    let d = format!("{tape:?}");
    assert!(d.starts_with("GradientTape(2 ops)"), "{d}");
    assert!(
        d.contains("#0 exp at crates/keen-tape/tests/tape.rs:"),
        "{d}"
    );
    assert!(d.contains("#1 add at"), "{d}");
}

#[test]
fn ops_on_other_threads_are_not_recorded() {
    let x = t(&[1.0, 2.0]);
    let tape = GradientTape::persistent();
    tape.watch(&x);
    let xs = x.clone();
    let y = std::thread::spawn(move || xs.exp()).join().unwrap();
    assert!(tape.is_empty());
    assert!(tape.gradient(&y, &[&x])[0].is_none());
}

#[test]
fn large_tensors_are_recorded_once_despite_parallel_kernels() {
    let x = Tensor::ones([300, 300], DType::Float64);
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = x.mul(2.0).exp().sum_all();
    assert_eq!(tape.len(), 3);
    let g = tape.gradient(&y, &[&x]).remove(0).unwrap();
    assert!((g.to_f64_vec()[0] - 2.0 * 2f64.exp()).abs() < 1e-12);
}

#[test]
fn an_integer_target_is_an_error() {
    let x = t(&[1.0]);
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = x.cast(DType::Int32);
    let e = tape.try_gradient(&y, &[&x]).unwrap_err();
    assert!(
        e.message().contains("only float tensors have gradients"),
        "{e}"
    );
}

// ---- custom ops: first-order-only rules, rules that lose a gradient, memory ----

/// `2x` with a rule written in raw numbers (not recorded), so first order only.
struct DoubleRaw {
    _marker: Arc<()>,
}
impl Backward for DoubleRaw {
    fn name(&self) -> &'static str {
        "double_raw"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let v: Vec<f64> = g.to_f64_vec().iter().map(|v| 2.0 * v).collect();
        vec![Some(Tensor::from_vec(v, g.shape().clone()))]
    }
    fn supports_higher_order(&self) -> bool {
        false
    }
}

#[track_caller]
fn double_raw(x: &Tensor, marker: &Arc<()>) -> Tensor {
    let out = without_recording(|| x.mul(2.0));
    record(&[x], &out, || DoubleRaw {
        _marker: marker.clone(),
    });
    out
}

#[test]
fn a_first_order_rule_works_alone_and_beside_another_tape() {
    let m = Arc::new(());
    let x = t(&[1.0, 2.0]);
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = double_raw(&x.square(), &m);
    assert_eq!(vals(&tape.gradient(&y, &[&x])[0]), [4.0, 8.0]);

    // A GAN's two tapes: both record the forward pass, each asks for a first-order gradient.
    let a = GradientTape::new();
    let b = GradientTape::new();
    a.watch(&x);
    b.watch(&x);
    let y = double_raw(&x.square(), &m).sum_all();
    assert_eq!(vals(&b.gradient(&y, &[&x])[0]), [4.0, 8.0]);
    assert_eq!(vals(&a.gradient(&y, &[&x])[0]), [4.0, 8.0]);
}

#[test]
fn a_gradient_of_a_first_order_rule_is_refused_when_asked() {
    let m = Arc::new(());
    let x = t(&[1.0, 2.0]);
    let outer = GradientTape::new();
    outer.watch(&x);
    let inner = GradientTape::new();
    inner.watch(&x);
    let y = double_raw(&x.square(), &m).mul(&x).sum_all();
    let g = inner.gradient(&y, &[&x])[0].clone().unwrap();
    // d/dx [2x^2 * x] = 6x^2, all through first order.
    assert_eq!(vals(&Some(g.clone())), [6.0, 24.0]);
    let e = outer.try_gradient(&g.sum_all(), &[&x]).unwrap_err();
    assert!(e.message().contains("`double_raw`"), "{e}");
    assert!(e.message().contains("first-order-only"), "{e}");
    assert!(
        e.message().contains("crates/keen-tape/tests/tape.rs:"),
        "{e}"
    );
}

#[test]
fn a_float_cast_to_an_integer_on_the_path_is_an_error_naming_the_variable() {
    let w = Variable::new("w", t(&[1.5, 2.5]));
    let tape = GradientTape::new();
    let y = w
        .value()
        .cast(DType::Int32)
        .cast(DType::Float64)
        .mul(2.0)
        .sum_all();
    let e = tape.try_gradient(&y, &[&w]).unwrap_err();
    assert!(e.message().contains("`cast`"), "{e}");
    assert!(e.message().contains("variable `w`"), "{e}");
    assert!(e.message().contains("int32"), "{e}");
    assert!(e.message().contains("tape.rs:"), "{e}");

    // Cutting on purpose, or an integer result that the target does not use, is fine.
    let tape = GradientTape::new();
    let v = w.value();
    let _idx = v.argmax(&[0], false);
    let mask = v.gt(2.0);
    let y = Tensor::where_(&mask, &v, &v.mul(3.0)).sum_all();
    let y = y.add(
        &stop_gradient(&v)
            .cast(DType::Int32)
            .cast(DType::Float64)
            .sum_all(),
    );
    assert_eq!(vals(&tape.gradient(&y, &[&w])[0]), [3.0, 1.0]);
}

#[test]
fn gradgradcheck_reports_a_first_order_rule_clearly() {
    let m = Arc::new(());
    let f = move |x: &[Tensor]| double_raw(&x[0], &m);
    gradcheck(&f, &[t(&[1.0, 2.0])]).unwrap();
    let e = keen_tape::gradgradcheck(&f, &[t(&[1.0, 2.0])]).unwrap_err();
    assert!(
        matches!(&e.problem, GradcheckProblem::Tape(m) if m.contains("first-order-only")),
        "{e}"
    );
}

#[test]
fn no_memory_is_kept_after_a_non_persistent_gradient() {
    let m = Arc::new(());
    let w = Variable::new("w", t(&[1.0, 2.0]));
    let tape = GradientTape::new();
    let y = double_raw(&w.value(), &m).sum_all();
    assert_eq!(Arc::strong_count(&m), 2, "the tape holds the rule");
    let _g = tape.gradient(&y, &[&w]);
    assert_eq!(Arc::strong_count(&m), 1, "the rule is freed after gradient");
    assert!(tape.is_empty());
}

#[test]
fn dropping_a_tape_frees_its_record() {
    let m = Arc::new(());
    let x = t(&[1.0]);
    {
        let tape = GradientTape::persistent();
        tape.watch(&x);
        let _y = double_raw(&x, &m);
        assert_eq!(Arc::strong_count(&m), 2);
    }
    assert_eq!(Arc::strong_count(&m), 1);
    let _y = double_raw(&x, &m); // no tape: nothing recorded, nothing built
    assert_eq!(Arc::strong_count(&m), 1);
}

/// A rule that forgets its input's gradient.
struct Forgetful;
impl Backward for Forgetful {
    fn name(&self) -> &'static str {
        "forgetful"
    }
    fn backward(&self, _: &Tensor) -> Vec<Option<Tensor>> {
        vec![None]
    }
}

#[test]
fn a_rule_that_loses_a_gradient_is_an_error_naming_the_variable() {
    let w = Variable::new("dense/kernel", t(&[1.0]));
    let tape = GradientTape::new();
    let v = w.value();
    let out = without_recording(|| v.exp());
    record(&[&v], &out, || Forgetful);
    let e = tape.try_gradient(&out.sum_all(), &[&w]).unwrap_err();
    assert!(
        e.message()
            .contains("`forgetful` (recorded at crates/keen-tape/tests/tape.rs:"),
        "{e}"
    );
    assert!(e.message().contains("variable `dense/kernel`"), "{e}");
}

#[test]
fn record_closure_stops_at_the_end() {
    let w = Variable::new("w", t(&[2.0]));
    let (y, tape) = GradientTape::record(|| w.value().square());
    let _after = w.value().exp();
    assert_eq!(tape.len(), 1);
    assert_eq!(vals(&tape.gradient(&y, &[&w])[0]), [4.0]);
}

#[test]
fn contiguous_copy_passes_the_gradient_through() {
    let w = Tensor::from_vec((1..=6).map(f64::from).collect::<Vec<_>>(), [2, 3]);
    let grad = |copy: bool| {
        let x = Variable::new("x", t(&[1.0, -2.0, 3.0, 0.5, 4.0, -1.5]).reshape([2, 3]));
        let tape = GradientTape::new();
        let xt = x.value().transpose(0, 1);
        let xt = if copy { xt.contiguous() } else { xt };
        let y = xt.mul(&w.t()).square().sum_all();
        tape.gradient(&y, &[&x])[0].clone()
    };
    let with = grad(true);
    assert!(with.is_some(), "contiguous() lost the gradient");
    assert_eq!(vals(&with), vals(&grad(false)));
    // Already contiguous: the same tensor comes back, and the gradient still flows.
    let x = Variable::new("x", t(&[1.0, 2.0]));
    let tape = GradientTape::new();
    let y = x.value().contiguous().square().sum_all();
    assert_eq!(vals(&tape.gradient(&y, &[&x])[0]), [2.0, 4.0]);
}

// ---- needed inputs: rules skip the gradients nobody asked for ----

/// `a·b` whose rule keeps the `needed` flags the walk passed it.
struct MulSpy {
    a: Tensor,
    b: Tensor,
    seen: Arc<std::sync::Mutex<Vec<Vec<bool>>>>,
}
impl Backward for MulSpy {
    fn name(&self) -> &'static str {
        "mul_spy"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        self.backward_needed(g, &[true, true])
    }
    fn backward_needed(&self, g: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        self.seen.lock().unwrap().push(needed.to_vec());
        vec![
            needed[0].then(|| g.mul(&self.b)),
            needed[1].then(|| g.mul(&self.a)),
        ]
    }
}

#[track_caller]
fn mul_spy(a: &Tensor, b: &Tensor, seen: &Arc<std::sync::Mutex<Vec<Vec<bool>>>>) -> Tensor {
    let out = without_recording(|| a.mul(b));
    record(&[a, b], &out, || MulSpy {
        a: a.clone(),
        b: b.clone(),
        seen: seen.clone(),
    });
    out
}

#[test]
fn a_rule_is_told_which_inputs_need_a_gradient() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let w = Variable::new("w", t(&[2.0, 3.0]));
    let x = t(&[5.0, 7.0]);
    let tape = GradientTape::persistent();
    tape.watch(&x);
    let y = mul_spy(&x, &w.value(), &seen).sum_all();
    // Only w: the rule is asked for its second input alone, and returning None for x is fine.
    assert_eq!(vals(&tape.gradient(&y, &[&w])[0]), [5.0, 7.0]);
    assert_eq!(vals(&tape.gradient(&y, &[&x])[0]), [2.0, 3.0]);
    let both = tape.gradient(&y, &[&x, &w.value()]);
    assert_eq!(
        (vals(&both[0]), vals(&both[1])),
        (vec![2.0, 3.0], vec![5.0, 7.0])
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [vec![false, true], vec![true, false], vec![true, true]]
    );
}

#[test]
fn each_input_alone_gets_the_gradient_it_gets_beside_the_others() {
    use keen_tensor::ops::conv::Padding;
    let r = |dims: &[usize], seed: u64| {
        let n: usize = dims.iter().product();
        let v = (0..n)
            .map(|i| ((i as u64 * 2654435761 + seed * 97) % 1000) as f64 / 500.0 - 1.0)
            .collect();
        Tensor::from_vec(v, dims)
    };
    let pos = |t: Tensor| t.abs().add(0.5);
    type Op = fn(&Tensor, &Tensor) -> Tensor;
    let cases: Vec<(&str, Tensor, Tensor, Op)> = vec![
        ("matmul", r(&[3, 4], 1), r(&[4, 2], 2), |a, b| a.matmul(b)),
        ("batched matmul", r(&[2, 3, 4], 3), r(&[4, 5], 4), |a, b| {
            a.matmul(b)
        }),
        ("mul", r(&[3, 4], 5), r(&[4], 6), |a, b| a.mul(b)),
        ("div", r(&[3, 4], 7), pos(r(&[3, 1], 8)), |a, b| a.div(b)),
        ("pow", pos(r(&[3, 4], 9)), r(&[3, 4], 10), |a, b| a.pow(b)),
        (
            "conv2d",
            r(&[2, 5, 5, 3], 11),
            r(&[3, 3, 3, 4], 12),
            |x, k| x.conv2d(k, [2, 2], Padding::Same, [1, 1]),
        ),
        (
            "conv2d_transpose",
            r(&[2, 3, 3, 4], 13),
            r(&[3, 3, 3, 4], 14),
            |gy, k| gy.conv2d_transpose(k, [2, 2], Padding::Same, None, [1, 1]),
        ),
        (
            "conv2d_backprop_kernel",
            r(&[2, 5, 5, 3], 15),
            r(&[2, 3, 3, 4], 16),
            |x, gy| x.conv2d_backprop_kernel(gy, [3, 3], [2, 2], Padding::Same, [1, 1]),
        ),
    ];
    for (name, a, b, op) in cases {
        let tape = GradientTape::persistent();
        tape.watch(&a);
        tape.watch(&b);
        let y = op(&a, &b).square().sum_all();
        let both = tape.gradient(&y, &[&a, &b]);
        let only_a = tape.gradient(&y, &[&a]).remove(0);
        let only_b = tape.gradient(&y, &[&b]).remove(0);
        assert_eq!(vals(&only_a), vals(&both[0]), "{name}: first input alone");
        assert_eq!(vals(&only_b), vals(&both[1]), "{name}: second input alone");
    }
}
