//! Optimizer step cost on the mlp_step parameter set of `../shared/bench` (784-256-256-10:
//! 269,322 float32 parameters in six variables), gradients given.
//!
//! ```text
//! cargo bench -p keen-optim --bench optim
//! ```
//!
//! PyTorch's `torch.optim.Adam` step on the same parameters takes about 240 µs (the
//! mlp_step workload's optimizer share); the number here is µs per `apply_gradients`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keen_optim::{Adam, AdamW, Optimizer, RmsProp, Sgd};
use keen_tape::Variable;
use keen_tensor::{DType, Tensor};
use std::hint::black_box;

/// The MLP's variables and a fixed set of gradients for them.
fn mlp_params() -> (Vec<Variable>, Vec<Option<Tensor>>) {
    let shapes: [&[usize]; 6] = [&[784, 256], &[256], &[256, 256], &[256], &[256, 10], &[10]];
    let mut vars = Vec::new();
    let mut grads = Vec::new();
    for (i, s) in shapes.iter().enumerate() {
        let n: usize = s.iter().product();
        let w: Vec<f32> = (0..n)
            .map(|k| ((k * 31 + i) % 97) as f32 * 1e-3 - 0.05)
            .collect();
        let g: Vec<f32> = (0..n)
            .map(|k| ((k * 17 + i) % 89) as f32 * 1e-4 - 0.004)
            .collect();
        vars.push(Variable::new(
            format!("dense{i}"),
            Tensor::from_vec(w, s.to_vec()),
        ));
        grads.push(Some(Tensor::from_vec(g, s.to_vec())));
    }
    assert_eq!(
        vars.iter().map(|v| v.shape().numel()).sum::<usize>(),
        269_322
    );
    assert!(vars.iter().all(|v| v.dtype() == DType::Float32));
    (vars, grads)
}

fn bench_step(c: &mut Criterion, name: &str, mut opt: Box<dyn Optimizer>) {
    let (vars, grads) = mlp_params();
    let mut group = c.benchmark_group("optimizer_step");
    group.throughput(Throughput::Elements(269_322));
    group.bench_function(format!("{name}/mlp_269k"), |b| {
        b.iter(|| opt.apply_gradients(black_box(&grads), &vars))
    });
    group.finish();
}

fn optimizers(c: &mut Criterion) {
    bench_step(c, "adam", Box::new(Adam::new(1e-3)));
    bench_step(
        c,
        "adamw_clipnorm",
        Box::new(AdamW::new(1e-3).global_clipnorm(1.0)),
    );
    bench_step(c, "sgd_momentum", Box::new(Sgd::new(1e-2).momentum(0.9)));
    bench_step(c, "rmsprop", Box::new(RmsProp::new(1e-3)));
}

criterion_group!(benches, optimizers);
criterion_main!(benches);
