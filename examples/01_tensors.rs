//! A tour of keen's tensors, as a newcomer would write it: create, compute, print.
//!
//! Run with `cargo run --release -p keen --example 01_tensors`.

use keen::prelude::*;

fn main() {
    // Tensors come from nested Rust arrays; the dtype follows the literals.
    let a = Tensor::from([[1, 2], [3, 4]]);
    let b = Tensor::from([[5, 6], [7, 8]]);
    println!("a = {a}");
    println!("a @ b = {}", a.matmul(&b));

    // Operations run at once and return values: print them anywhere.
    let x = Tensor::from([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    println!("x = {x}");
    println!("x.shape = {}, x.dtype = {}", x.shape(), x.dtype());
    println!("x + 1 = {}", &x + 1.0);
    println!("x * x = {}", &x * &x);
    println!("x.t() = {}", x.t());

    // Broadcasting follows NumPy: a row is added to every row.
    let row = Tensor::from([10.0f32, 20.0, 30.0]);
    println!("x + row = {}", &x + &row);

    // Reductions take axes (negative ones count from the end) and keepdims.
    println!("sum over rows = {}", x.sum(&[0], false));
    println!("mean of each row = {}", x.mean(&[-1], true));

    // Activations and math functions.
    let t = Tensor::linspace(-2.0, 2.0, 5, DType::Float32);
    println!("t = {t}");
    println!("relu(t) = {}", t.relu());
    println!("sigmoid(t) = {}", t.sigmoid());
    println!("tanh(t) = {}", t.tanh());

    // Shapes: reshape with -1, views without copies.
    let r = Tensor::arange(0.0, 12.0, 1.0, DType::Float32).reshape([3, -1]);
    println!("r = {r}");
    println!(
        "r shares storage with its transpose: {}",
        r.shares_storage(&r.t())
    );

    // Comparisons give bool tensors, where_ selects.
    let mask = t.gt(0.0);
    println!("t > 0 = {mask}");
    println!(
        "where(t > 0, t, 0) = {}",
        Tensor::where_(&mask, &t, &Tensor::zeros_like(&t))
    );

    // Casting between dtypes, and reading values back out.
    let ints = t.cast(DType::Int32);
    println!("as int32 = {ints}");
    println!("values = {:?}", t.to_vec::<f32>());
    println!("a scalar: {}", x.sum_all().item::<f32>());

    // Large tensors print summarised, NumPy-style.
    println!(
        "{}",
        Tensor::arange(0.0, 10_000.0, 1.0, DType::Int64).reshape([100, 100])
    );

    // Mistakes read like sentences, pointing at your line.
    let err = x.try_matmul(&x).unwrap_err();
    println!("error: {err}");
}
