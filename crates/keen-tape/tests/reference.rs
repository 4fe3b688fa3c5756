//! Gradients of composite functions against PyTorch (tests/fixtures/gen_torch_grads.py).

use keen_tape::{GradientTape, Variable};
use keen_tensor::Tensor;
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/torch_grads.json")).unwrap()
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

fn assert_close(name: &str, got: &Tensor, want: &Value) {
    let want = tensor(want);
    assert_eq!(got.shape(), want.shape(), "{name}: shape");
    for (i, (g, w)) in got.to_f64_vec().iter().zip(want.to_f64_vec()).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * w.abs().max(1e-3),
            "{name}[{i}]: keen {g} vs torch {w}"
        );
    }
}

#[test]
fn two_layer_mlp_loss_matches_pytorch() {
    let c = &fixture()["mlp"];
    let i = &c["inputs"];
    let (x, y) = (tensor(&i["x"]), tensor(&i["y"]));
    let names = ["w1", "b1", "w2", "b2"];
    let vars: Vec<Variable> = names
        .iter()
        .map(|n| Variable::new(*n, tensor(&i[*n])))
        .collect();
    let tape = GradientTape::new();
    let h = x.matmul(&vars[0].value()).add(&vars[1]).tanh();
    let pred = h.matmul(&vars[2].value()).add(&vars[3]);
    let loss = pred.sub(&y).square().mean(&[], false);
    assert!((loss.item::<f64>() - c["loss"].as_f64().unwrap()).abs() < 1e-12);
    let grads = tape.gradient(&loss, &vars);
    for (n, g) in names.iter().zip(&grads) {
        assert_close(n, g.as_ref().unwrap(), &c["grads"][*n]);
    }
}

#[test]
fn broadcast_composite_matches_pytorch() {
    let c = &fixture()["composite"];
    let (a, b) = (tensor(&c["inputs"]["a"]), tensor(&c["inputs"]["b"]));
    let tape = GradientTape::new();
    tape.watch(&a);
    tape.watch(&b);
    let out = a
        .sigmoid()
        .mul(&b.square().log1p())
        .div(&a.sub(&b).exp().add(1.0))
        .add(&a.square().add(1.0).sqrt().mul(&b.relu()))
        .sum_all();
    assert!((out.item::<f64>() - c["loss"].as_f64().unwrap()).abs() < 1e-12);
    let g = tape.gradient(&out, &[&a, &b]);
    assert_close("a", g[0].as_ref().unwrap(), &c["grads"]["a"]);
    assert_close("b", g[1].as_ref().unwrap(), &c["grads"]["b"]);
}
