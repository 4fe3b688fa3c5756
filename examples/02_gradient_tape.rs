//! The gradient-tape story of TensorFlow's eager guide, in keen: record a computation on a
//! `GradientTape`, ask it for gradients, and fit a line by gradient descent.
//!
//! Run: `cargo run --release --example 02_gradient_tape`

use keen::prelude::*;

fn main() {
    // 1. A variable, a loss, its gradient: d(w²)/dw = 2w.
    let w = Variable::new("w", Tensor::from([[1.0f32]]));
    let tape = GradientTape::new();
    let loss = w.value().mul(&w);
    let grad = tape.gradient(&loss, &[&w]);
    println!("w * w = {loss}");
    println!("d(w*w)/dw = {}", grad[0].as_ref().unwrap());

    // 2. Tensors that are not variables are watched explicitly.
    let x = Tensor::ones([2, 2], DType::Float32);
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = x.sum_all();
    let z = y.mul(&y);
    let dz_dx = tape.gradient(&z, &[&x]).remove(0).unwrap();
    println!("\nz = (Σx)², dz/dx = {dz_dx}"); // 2·Σx = 8 everywhere

    // 3. Gradients of gradients: a tape alive while another computes a gradient records it.
    let x = Variable::new("x", Tensor::from([3.0f32]));
    let outer = GradientTape::new();
    let inner = GradientTape::new();
    let y = x.value().pow(3.0);
    let dy = inner.gradient(&y, &[&x]).remove(0).unwrap();
    let d2y = outer.gradient(&dy, &[&x]).remove(0).unwrap();
    println!("\ny = x³ at x = 3: dy/dx = {dy}, d²y/dx² = {d2y}");

    // 4. Fit y = 3x + 2 by gradient descent on noisy samples.
    let n = 1000;
    let xs = Tensor::linspace(-2.0, 2.0, n, DType::Float32);
    let noise = xs.mul(37.0).sin().mul(0.3); // deterministic "noise"
    let ys = xs.mul(3.0).add(2.0).add(&noise);
    let weight = Variable::new("weight", Tensor::from([5.0f32]));
    let bias = Variable::new("bias", Tensor::from([10.0f32]));
    let loss_fn = || {
        xs.mul(&weight)
            .add(&bias)
            .sub(&ys)
            .square()
            .mean(&[], false)
    };

    println!("\ninitial loss: {:.3}", loss_fn().item::<f32>());
    let learning_rate = 0.1;
    for step in 0..=100 {
        let tape = GradientTape::new();
        let loss = loss_fn();
        if step == 0 {
            println!("{tape:?}"); // the ops this step recorded, with their lines
        }
        let grads = tape.gradient(&loss, &[&weight, &bias]);
        if step == 0 {
            println!("gradients at step 0:");
            for (v, g) in [&weight, &bias].iter().zip(&grads) {
                println!("  {}: {}", v.name(), g.as_ref().unwrap());
            }
        }
        for (v, g) in [&weight, &bias].iter().zip(&grads) {
            v.assign_sub(&g.as_ref().unwrap().mul(learning_rate));
        }
        if step % 20 == 0 {
            println!("step {step:3}: loss {:.5}", loss.item::<f32>());
        }
    }
    println!(
        "\nfinal loss {:.5}, weight {:.4}, bias {:.4} (true: 3, 2)",
        loss_fn().item::<f32>(),
        weight.value().item::<f32>(),
        bias.value().item::<f32>()
    );
}
