//! Convolution, pooling and resize: values and gradients against PyTorch (fixtures from
//! `fixtures/gen_conv.py`, float64), a direct-loop reference for shapes large enough to take
//! the banded and parallel paths, edge cases and error messages.
//!
//! Gradients are read straight from each op's backward rule: a small recorder below captures
//! the rule of the op that produced a tensor, and the test calls it with the fixture's upstream
//! gradient. (The full tape and finite-difference checks live in keen-tape's op table.)

use keen_tensor::ops::conv::Padding;
use keen_tensor::ops::resize::Interpolation;
use keen_tensor::record::{push_recorder, Backward, Recorder};
use keen_tensor::{DType, Tensor, TensorId};
use serde_json::Value;
use std::cell::RefCell;
use std::panic::Location;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

// ---------------------------------------------------------------------------------------------
// Helpers

fn fixtures() -> &'static Value {
    static F: OnceLock<Value> = OnceLock::new();
    F.get_or_init(|| serde_json::from_str(include_str!("fixtures/conv.json")).expect("conv.json"))
}

fn cases(op: &str) -> &'static [Value] {
    fixtures()[op].as_array().expect("fixture list")
}

fn tensor(v: &Value) -> Tensor {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data: Vec<f64> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap())
        .collect();
    Tensor::from_vec(data, shape)
}

fn pair(v: &Value) -> [usize; 2] {
    let a = v.as_array().unwrap();
    [
        a[0].as_u64().unwrap() as usize,
        a[1].as_u64().unwrap() as usize,
    ]
}

fn padding(v: &Value) -> Padding {
    match v.as_str() {
        Some("same") => Padding::Same,
        Some("valid") => Padding::Valid,
        _ => {
            let p = v.as_array().unwrap();
            Padding::Explicit([pair(&p[0]), pair(&p[1])])
        }
    }
}

#[track_caller]
fn assert_close(what: &str, got: &Tensor, want: &Tensor, tol: f64) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    for (i, (g, w)) in got.to_f64_vec().iter().zip(want.to_f64_vec()).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}: element {i}: got {g}, want {w}"
        );
    }
}

/// Captures the backward rule of every op applied while it is active.
#[derive(Default)]
struct Capture(RefCell<Vec<(TensorId, Arc<dyn Backward>)>>);

impl Recorder for Capture {
    fn record(
        &self,
        _inputs: &[&Tensor],
        output: &Tensor,
        make: &mut dyn FnMut() -> Arc<dyn Backward>,
        _at: &'static Location<'static>,
    ) {
        self.0.borrow_mut().push((output.id(), make()));
    }
}

/// Runs `f` and returns its result with the rule of the op that produced it.
fn with_rule(f: impl FnOnce() -> Tensor) -> (Tensor, Arc<dyn Backward>) {
    let cap = Rc::new(Capture::default());
    let handle = push_recorder(cap.clone());
    let y = f();
    drop(handle);
    let rule = cap
        .0
        .borrow()
        .iter()
        .rev()
        .find(|(id, _)| *id == y.id())
        .expect("op recorded")
        .1
        .clone();
    (y, rule)
}

/// The gradients of `f`'s inputs for the upstream gradient `gy`.
fn grads(f: impl FnOnce() -> Tensor, gy: &Tensor) -> (Tensor, Vec<Tensor>) {
    let (y, rule) = with_rule(f);
    let g = rule
        .backward(gy)
        .into_iter()
        .map(|g| g.expect("gradient"))
        .collect();
    (y, g)
}

// ---------------------------------------------------------------------------------------------
// Against PyTorch

#[test]
fn conv2d_matches_torch() {
    for c in cases("conv2d") {
        let name = c["name"].as_str().unwrap();
        let (x, k) = (tensor(&c["x"]), tensor(&c["k"]));
        let (s, p, d) = (
            pair(&c["strides"]),
            padding(&c["padding"]),
            pair(&c["dilation"]),
        );
        let (y, g) = grads(|| x.conv2d(&k, s, p, d), &tensor(&c["gy"]));
        assert_close(&format!("conv2d {name}: y"), &y, &tensor(&c["y"]), 1e-10);
        assert_close(
            &format!("conv2d {name}: dx"),
            &g[0],
            &tensor(&c["dx"]),
            1e-10,
        );
        assert_close(
            &format!("conv2d {name}: dk"),
            &g[1],
            &tensor(&c["dk"]),
            1e-10,
        );
        // The public kernel-gradient op agrees with the rule.
        let dk = x.conv2d_backprop_kernel(&tensor(&c["gy"]), [k.dims()[0], k.dims()[1]], s, p, d);
        assert_close(
            &format!("conv2d_backprop_kernel {name}"),
            &dk,
            &tensor(&c["dk"]),
            1e-10,
        );
    }
}

#[test]
fn conv2d_transpose_matches_tensorflow_semantics() {
    for c in cases("conv2d_transpose") {
        let name = c["name"].as_str().unwrap();
        let (a, k) = (tensor(&c["x"]), tensor(&c["k"]));
        let (s, p) = (pair(&c["strides"]), padding(&c["padding"]));
        let op = (!c["output_padding"].is_null()).then(|| pair(&c["output_padding"]));
        let (y, g) = grads(
            || a.conv2d_transpose(&k, s, p, op, [1, 1]),
            &tensor(&c["gy"]),
        );
        assert_close(
            &format!("conv2d_transpose {name}: y"),
            &y,
            &tensor(&c["y"]),
            1e-10,
        );
        assert_close(
            &format!("conv2d_transpose {name}: da"),
            &g[0],
            &tensor(&c["dx"]),
            1e-10,
        );
        assert_close(
            &format!("conv2d_transpose {name}: dk"),
            &g[1],
            &tensor(&c["dk"]),
            1e-10,
        );
    }
}

#[test]
fn pooling_matches_torch() {
    for (op, is_max) in [("max_pool2d", true), ("avg_pool2d", false)] {
        for c in cases(op) {
            let name = c["name"].as_str().unwrap();
            let x = tensor(&c["x"]);
            let (pool, s, p) = (
                pair(&c["pool"]),
                pair(&c["strides"]),
                padding(&c["padding"]),
            );
            let f = || {
                if is_max {
                    x.max_pool2d(pool, s, p)
                } else {
                    x.avg_pool2d(pool, s, p)
                }
            };
            let (y, g) = grads(f, &tensor(&c["gy"]));
            assert_close(&format!("{op} {name}: y"), &y, &tensor(&c["y"]), 1e-12);
            assert_close(&format!("{op} {name}: dx"), &g[0], &tensor(&c["dx"]), 1e-12);
        }
    }
}

#[test]
fn resize_matches_torch() {
    for c in cases("resize") {
        let name = c["name"].as_str().unwrap();
        let x = tensor(&c["x"]);
        let method = match c["method"].as_str().unwrap() {
            "nearest" => Interpolation::Nearest,
            _ => Interpolation::Bilinear,
        };
        let f = || match c["factor"].is_null() {
            true => x.resize(pair(&c["size"]), method),
            false => x.upsample2d(pair(&c["factor"]), method),
        };
        let (y, g) = grads(f, &tensor(&c["gy"]));
        assert_close(&format!("resize {name}: y"), &y, &tensor(&c["y"]), 1e-12);
        assert_close(
            &format!("resize {name}: dx"),
            &g[0],
            &tensor(&c["dx"]),
            1e-12,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Against a direct loop, at sizes that take several bands and both threads

/// `y[b, i, j, o] = Σ x[b, i·s + p·d − pt, j·s + q·d − pl, c] · k[p, q, c, o]`, literally.
fn conv_loop(
    x: &[f64],
    xd: [usize; 4],
    k: &[f64],
    kd: [usize; 4],
    s: usize,
    d: usize,
    pad: [usize; 2],
    od: [usize; 2],
) -> Vec<f64> {
    let ([n, h, w, ci], [kh, kw, _, co], [oh, ow]) = (xd, kd, od);
    let mut y = vec![0.0; n * oh * ow * co];
    for b in 0..n {
        for i in 0..oh {
            for j in 0..ow {
                for p in 0..kh {
                    for q in 0..kw {
                        let iy = (i * s + p * d) as isize - pad[0] as isize;
                        let ix = (j * s + q * d) as isize - pad[1] as isize;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                            continue;
                        }
                        for c in 0..ci {
                            let xv = x[((b * h + iy as usize) * w + ix as usize) * ci + c];
                            for o in 0..co {
                                y[((b * oh + i) * ow + j) * co + o] +=
                                    xv * k[((p * kw + q) * ci + c) * co + o];
                            }
                        }
                    }
                }
            }
        }
    }
    y
}

fn wave(n: usize, f: f64) -> Vec<f64> {
    (0..n).map(|i| ((i as f64) * f).sin()).collect()
}

fn dot(a: &Tensor, b: &Tensor) -> f64 {
    a.to_f64_vec()
        .iter()
        .zip(b.to_f64_vec())
        .map(|(x, y)| x * y)
        .sum()
}

#[test]
fn large_conv_matches_direct_loop_and_is_adjoint() {
    // 4 × 32 × 32 pixels with a 3×3×16 window: 4096 rows of 144 columns, several bands, parallel.
    for (s, d, pad, od) in [
        (1, 1, [1, 1], [32, 32]),
        (2, 1, [0, 0], [16, 16]),
        (1, 2, [2, 2], [32, 32]),
    ] {
        let (xd, kd) = ([4, 32, 32, 16], [3, 3, 16, 8]);
        let (xv, kv) = (wave(4 * 32 * 32 * 16, 0.37), wave(3 * 3 * 16 * 8, 0.91));
        let want = conv_loop(&xv, xd, &kv, kd, s, d, pad, od);
        let (x, k) = (Tensor::from_vec(xv, xd), Tensor::from_vec(kv, kd));
        let y = x.conv2d(&k, [s, s], Padding::Same, [d, d]);
        let want = Tensor::from_vec(want, [4, od[0], od[1], 8]);
        assert_close(&format!("stride {s} dilation {d}"), &y, &want, 1e-10);
        // ⟨conv2d(x, k), gy⟩ = ⟨x, dx⟩ = ⟨k, dk⟩ for the rule's dx and dk.
        let gy = Tensor::from_vec(wave(y.numel(), 0.13), y.dims());
        let (_, g) = grads(|| x.conv2d(&k, [s, s], Padding::Same, [d, d]), &gy);
        let (yg, xg, kg) = (dot(&y, &gy), dot(&x, &g[0]), dot(&k, &g[1]));
        assert!(
            (yg - xg).abs() < 1e-9 * yg.abs().max(1.0),
            "dx adjoint: {yg} vs {xg}"
        );
        assert!(
            (yg - kg).abs() < 1e-9 * yg.abs().max(1.0),
            "dk adjoint: {yg} vs {kg}"
        );
        // float32 takes the same path with the f32 GEMM.
        let y32 =
            x.cast(DType::Float32)
                .conv2d(&k.cast(DType::Float32), [s, s], Padding::Same, [d, d]);
        assert_close("float32", &y32, &want, 1e-4);
    }
}

/// The bias is added inside each kernel path (slabs, classes, whole bands, pointwise, strided)
/// and equals a separate add; its gradient is `gy` summed over all but the channels.
#[test]
fn conv2d_with_bias_equals_conv2d_plus_bias() {
    let cases: [([usize; 4], [usize; 4], usize, Padding); 5] = [
        ([2, 8, 40, 24], [3, 3, 24, 5], 1, Padding::Same), // slabs
        ([3, 7, 7, 8], [5, 5, 8, 6], 1, Padding::Same),    // classes
        ([2, 9, 9, 1], [3, 3, 1, 4], 1, Padding::Valid),   // whole bands
        ([2, 4, 5, 3], [1, 1, 3, 4], 1, Padding::Valid),   // pointwise
        ([2, 9, 8, 4], [3, 3, 4, 3], 2, Padding::Same),    // strided
    ];
    for (i, (xd, kd, s, pad)) in cases.into_iter().enumerate() {
        let x = Tensor::random_normal(xd, 0.0, 1.0, DType::Float64);
        let k = Tensor::random_normal(kd, 0.0, 0.2, DType::Float64);
        let b = Tensor::random_normal([kd[3]], 0.0, 1.0, DType::Float64);
        let (y, g) = {
            let (y0, rule) = with_rule(|| x.conv2d_with_bias(&k, &b, [s, s], pad, [1, 1]));
            let gy = Tensor::random_normal(y0.dims(), 0.0, 1.0, DType::Float64);
            let g: Vec<Tensor> = rule.backward(&gy).into_iter().map(Option::unwrap).collect();
            ((y0, gy), g)
        };
        let (y, gy) = y;
        let want = x.conv2d(&k, [s, s], pad, [1, 1]).add(&b);
        assert_close(&format!("case {i}: y"), &y, &want, 1e-12);
        let (_, unbiased) = grads(|| x.conv2d(&k, [s, s], pad, [1, 1]), &gy);
        assert_eq!(g.len(), 3, "case {i}: one gradient per input");
        assert_close(&format!("case {i}: dx"), &g[0], &unbiased[0], 1e-12);
        assert_close(&format!("case {i}: dk"), &g[1], &unbiased[1], 1e-12);
        assert_close(
            &format!("case {i}: db"),
            &g[2],
            &gy.sum(&[0, 1, 2], false),
            1e-12,
        );
    }
}

#[test]
fn pointwise_conv_uses_the_input_as_matrix() {
    // 1×1 stride 1: no im2col. Checked against matmul over the flattened pixels.
    let x = Tensor::from_vec(wave(3 * 20 * 20 * 24, 0.3), [3, 20, 20, 24]);
    let k = Tensor::from_vec(wave(24 * 40, 0.7), [1, 1, 24, 40]);
    let y = x.conv2d(&k, [1, 1], Padding::Valid, [1, 1]);
    let want = x
        .reshape([-1, 24])
        .matmul(&k.reshape([24, 40]))
        .reshape([3, 20, 20, 40]);
    assert_close("pointwise", &y, &want, 1e-12);
    let gy = Tensor::from_vec(wave(y.numel(), 0.11), y.dims());
    let (_, g) = grads(|| x.conv2d(&k, [1, 1], Padding::Valid, [1, 1]), &gy);
    let dx = gy
        .reshape([-1, 40])
        .matmul(&k.reshape([24, 40]).t())
        .reshape([3, 20, 20, 24]);
    let dk = x
        .reshape([-1, 24])
        .t()
        .matmul(&gy.reshape([-1, 40]))
        .reshape([1, 1, 24, 40]);
    assert_close("pointwise dx", &g[0], &dx, 1e-12);
    assert_close("pointwise dk", &g[1], &dk, 1e-10);
}

// ---------------------------------------------------------------------------------------------
// Edge cases

#[test]
fn non_contiguous_inputs_give_the_same_result() {
    let c = &cases("conv2d")[1];
    let (x, k) = (tensor(&c["x"]), tensor(&c["k"]));
    // The same values behind a permuted (NCHW-stored) view, and a transposed kernel view.
    let x_view = x.permute(&[0, 3, 1, 2]).contiguous().permute(&[0, 2, 3, 1]);
    let k_view = k.permute(&[3, 2, 0, 1]).contiguous().permute(&[2, 3, 1, 0]);
    assert!(!x_view.is_contiguous() && !k_view.is_contiguous());
    let want = x.conv2d(&k, [2, 2], Padding::Same, [1, 1]);
    assert_close(
        "view",
        &x_view.conv2d(&k_view, [2, 2], Padding::Same, [1, 1]),
        &want,
        1e-14,
    );
    let p = x_view.max_pool2d([2, 2], [2, 2], Padding::Same);
    assert_close(
        "pool view",
        &p,
        &x.max_pool2d([2, 2], [2, 2], Padding::Same),
        0.0,
    );
}

#[test]
fn same_padding_puts_the_odd_pixel_bottom_right() {
    // 4 wide, 3 wide kernel, stride 2: out 2, padding 1 in total, all of it on the right:
    // outputs read columns 0..3 and 2..5 (5 is padding). Kernel [1, 10, 100].
    let x = Tensor::from([1.0f64, 2.0, 3.0, 4.0]).reshape([1, 1, 4, 1]);
    let k = Tensor::from([1.0f64, 10.0, 100.0]).reshape([1, 3, 1, 1]);
    let y = x.conv2d(&k, [1, 2], Padding::Same, [1, 1]);
    assert_eq!(y.to_vec::<f64>(), [321.0, 43.0]);
}

#[test]
fn max_pool_ties_go_to_the_first_maximum() {
    let x = Tensor::from([2.0f64, 2.0, 2.0, 1.0]).reshape([1, 2, 2, 1]);
    let (_, g) = grads(
        || x.max_pool2d([2, 2], [2, 2], Padding::Valid),
        &Tensor::from([1.0f64]).reshape([1, 1, 1, 1]),
    );
    assert_eq!(g[0].to_vec::<f64>(), [1.0, 0.0, 0.0, 0.0]);
    // Overlapping windows that pick the same input both send it their gradient.
    let x = Tensor::from([0.0f64, 5.0, 0.0]).reshape([1, 1, 3, 1]);
    let gy = Tensor::from([1.0f64, 10.0]).reshape([1, 1, 2, 1]);
    let (y, g) = grads(|| x.max_pool2d([1, 2], [1, 1], Padding::Valid), &gy);
    assert_eq!(y.to_vec::<f64>(), [5.0, 5.0]);
    assert_eq!(g[0].to_vec::<f64>(), [0.0, 11.0, 0.0]);
}

#[test]
fn rules_of_rules_stay_on_the_conv_ops() {
    // conv2d's rule calls conv2d_transpose and conv2d_backprop_kernel; their rules call back.
    let c = &cases("conv2d")[0]; // same_3x3, stride 1
    let (x, k, gy) = (tensor(&c["x"]), tensor(&c["k"]), tensor(&c["gy"]));
    let same = |t: &Tensor, k: &Tensor| t.conv2d(k, [1, 1], Padding::Same, [1, 1]);
    let dk2 = Tensor::from_vec(wave(k.numel(), 0.5), k.dims());
    let (_, g) = grads(
        || x.conv2d_backprop_kernel(&gy, [3, 3], [1, 1], Padding::Same, [1, 1]),
        &dk2,
    );
    assert_close(
        "∂/∂x of backprop_kernel",
        &g[0],
        &gy.conv2d_transpose(&dk2, [1, 1], Padding::Same, None, [1, 1]),
        1e-12,
    );
    assert_close("∂/∂gy of backprop_kernel", &g[1], &same(&x, &dk2), 1e-12);
    let dx2 = Tensor::from_vec(wave(x.numel(), 0.3), x.dims());
    let (_, g) = grads(
        || gy.conv2d_transpose(&k, [1, 1], Padding::Same, None, [1, 1]),
        &dx2,
    );
    assert_close("∂/∂a of conv2d_transpose", &g[0], &same(&dx2, &k), 1e-12);
    let dk = dx2.conv2d_backprop_kernel(&gy, [3, 3], [1, 1], Padding::Same, [1, 1]);
    assert_close("∂/∂k of conv2d_transpose", &g[1], &dk, 1e-12);
}

#[test]
fn empty_batch_and_float32() {
    let x = Tensor::zeros([0, 5, 5, 2], DType::Float32);
    let k = Tensor::ones([3, 3, 2, 4], DType::Float32);
    assert_eq!(
        x.conv2d(&k, [2, 2], Padding::Same, [1, 1]).dims(),
        [0, 3, 3, 4]
    );
    assert_eq!(
        x.max_pool2d([2, 2], [2, 2], Padding::Same).dims(),
        [0, 3, 3, 2]
    );
    let y = Tensor::ones([1, 3, 3, 1], DType::Float32).avg_pool2d([3, 3], [1, 1], Padding::Same);
    assert_eq!(y.to_vec::<f32>(), [1.0; 9]);
}

// ---------------------------------------------------------------------------------------------
// Errors

#[track_caller]
fn message(f: impl FnOnce() -> Tensor + std::panic::UnwindSafe) -> String {
    let err = std::panic::catch_unwind(f).expect_err("should panic");
    err.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn error_messages() {
    let x3 = Tensor::zeros([64, 28, 28], DType::Float32);
    let k = Tensor::zeros([3, 3, 64, 8], DType::Float32);
    let x = Tensor::zeros([2, 5, 5, 3], DType::Float32);
    let s = Padding::Same;
    let cases: Vec<(String, &str)> = vec![
        (message(|| x3.conv2d(&k, [1, 1], s, [1, 1])), "conv2d: expects rank-4 NHWC input, got shape (64, 28, 28)"),
        (
            message(|| x.conv2d(&k, [1, 1], s, [1, 1])),
            "conv2d: input has 3 channels but the kernel expects 64: input (2, 5, 5, 3) vs kernel (3, 3, 64, 8)",
        ),
        (
            message(|| x.conv2d(&Tensor::zeros([3, 3, 3], DType::Float32), [1, 1], s, [1, 1])),
            "conv2d: expects a rank-4 HWIO kernel, got shape (3, 3, 3)",
        ),
        (
            message(|| x.conv2d(&Tensor::zeros([3, 3, 3, 2], DType::Float32), [0, 1], s, [1, 1])),
            "conv2d: strides must be positive, got (0, 1)",
        ),
        (
            message(|| x.conv2d(&Tensor::zeros([7, 7, 3, 2], DType::Float32), [1, 1], Padding::Valid, [1, 1])),
            "conv2d: kernel (7, 7) with dilation (1, 1) spans (7, 7), larger than the input (5, 5) with valid padding",
        ),
        (
            message(|| x.conv2d(&Tensor::zeros([3, 3, 3, 2], DType::Float64), [1, 1], s, [1, 1])),
            "conv2d: dtypes differ: input float32 vs kernel float64",
        ),
        (
            message(|| {
                let k = Tensor::zeros([3, 3, 3, 8], DType::Float32);
                x.conv2d_with_bias(&k, &Tensor::zeros([3], DType::Float32), [1, 1], s, [1, 1])
            }),
            "conv2d: bias must have shape (8,) for a kernel of 8 filters, got (3,)",
        ),
        (
            message(|| {
                let k = Tensor::zeros([3, 3, 3, 2], DType::Float32);
                x.conv2d_with_bias(&k, &Tensor::zeros([2], DType::Float64), [1, 1], s, [1, 1])
            }),
            "conv2d: dtypes differ: bias float64 vs kernel float32",
        ),
        (
            message(|| Tensor::zeros([1, 4, 4, 1], DType::Int32).conv2d(&Tensor::zeros([1, 1, 1, 1], DType::Int32), [1, 1], s, [1, 1])),
            "conv2d: expected a float tensor, got int32",
        ),
        (
            message(|| x.conv2d_transpose(&Tensor::zeros([3, 3, 2, 3], DType::Float32), [2, 2], s, Some([2, 1]), [1, 1])),
            "conv2d_transpose: output_padding (2, 1) must be smaller than strides (2, 2)",
        ),
        (
            message(|| x.conv2d_transpose(&Tensor::zeros([3, 3, 2, 4], DType::Float32), [2, 2], s, None, [1, 1])),
            "conv2d_transpose: input has 3 channels but the kernel expects 4: input (2, 5, 5, 3) vs kernel (3, 3, 2, 4)",
        ),
        (
            message(|| x.conv2d_backprop_kernel(&Tensor::zeros([2, 4, 4, 2], DType::Float32), [3, 3], [1, 1], s, [1, 1])),
            "conv2d_backprop_kernel: grad has shape (2, 4, 4, 2) but the convolution of input (2, 5, 5, 3) gives (2, 5, 5, 2)",
        ),
        (message(|| Tensor::zeros([3, 3], DType::Float32).max_pool2d([2, 2], [2, 2], s)), "max_pool2d: expects rank-4 NHWC input, got shape (3, 3)"),
        (message(|| x.avg_pool2d([6, 6], [1, 1], Padding::Valid)), "avg_pool2d: pool (6, 6) is larger than the input (5, 5) with valid padding"),
        (
            message(|| x.max_pool2d([2, 2], [1, 1], Padding::Explicit([[2, 0], [0, 0]]))),
            "max_pool2d: padding [[2, 0], [0, 0]] must be smaller than the pool (2, 2): a window would see only padding",
        ),
        (message(|| Tensor::zeros([4, 4], DType::Float32).resize([8, 8], Interpolation::Bilinear)), "resize: expects rank-4 NHWC input, got shape (4, 4)"),
        (message(|| x.upsample2d([0, 2], Interpolation::Nearest)), "upsample2d: size must be positive, got (0, 2)"),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

#[test]
fn dilated_conv2d_transpose_is_the_adjoint_of_dilated_conv2d() {
    // ⟨conv2d_transpose(a, k), x⟩ = ⟨a, conv2d(x, k)⟩ with the same dilation, for the conv2d
    // mapping the transpose's output shape back onto `a` (including stride with dilation,
    // which the op allows though Keras' layer does not).
    for (s, d, p, ad) in [
        ([1, 1], [2, 2], Padding::Same, [2, 5, 4, 3]),
        ([1, 1], [2, 3], Padding::Valid, [1, 4, 3, 3]),
        ([2, 2], [2, 2], Padding::Same, [1, 3, 3, 3]),
    ] {
        let k = Tensor::from_vec(wave(3 * 3 * 2 * 3, 0.7), [3, 3, 2, 3]);
        let a = Tensor::from_vec(wave(ad.iter().product(), 0.3), ad);
        let y = a.conv2d_transpose(&k, s, p, None, d);
        let x = Tensor::from_vec(wave(y.numel(), 0.45), y.dims());
        let back = x.conv2d(&k, s, p, d);
        assert_eq!(back.dims(), a.dims(), "{s:?} {d:?} {p}");
        let (lhs, rhs) = (dot(&y, &x), dot(&a, &back));
        assert!(
            (lhs - rhs).abs() < 1e-9 * lhs.abs().max(1.0),
            "{lhs} vs {rhs}"
        );
    }
    // Output sizes: the dilated window's span stands for the kernel size.
    let a = Tensor::zeros([1, 4, 5, 3], DType::Float64);
    let k = Tensor::zeros([3, 3, 2, 3], DType::Float64);
    assert_eq!(
        a.conv2d_transpose(&k, [1, 1], Padding::Valid, None, [2, 2])
            .dims(),
        [1, 8, 9, 2]
    );
    assert_eq!(
        a.conv2d_transpose(&k, [1, 1], Padding::Same, None, [2, 2])
            .dims(),
        [1, 4, 5, 2]
    );
    let err = a
        .try_conv2d_transpose(&k, [1, 1], Padding::Same, None, [0, 1])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("conv2d_transpose") && err.contains("dilation"),
        "{err}"
    );
}
