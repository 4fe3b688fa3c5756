fn main() {
    use keen::prelude::*;
    let a = Tensor::from([[1, 2], [3, 4]]);
    println!("{a}");
    println!("{}", a.matmul(&a));
    let x = Tensor::linspace(-1.0, 1.0, 5, DType::Float32);
    println!("{}", x.tanh());
    println!("{}", (&x * 2.0 + 1.0).sum(&[], false));
    let m = Tensor::from([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    println!("{}", m.t());
    println!("{}", m.add(&Tensor::from([10.0f32, 20.0, 30.0])));
    println!("{}", m.mean(&[-1], true));
}
