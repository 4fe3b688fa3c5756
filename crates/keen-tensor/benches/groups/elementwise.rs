//! Elementwise ops: same-shape and broadcast binary ops, scalar operands, transcendental maps.
//! Sizes straddle the single-thread/parallel threshold (64k elements).

use super::util::rand;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use keen_tensor::{DType, Tensor};
use std::hint::black_box;

const SIZES: [usize; 4] = [32, 4096, 1 << 16, 1 << 20];

fn binary(c: &mut Criterion) {
    let mut g = c.benchmark_group("add");
    for n in SIZES {
        let (a, b) = (rand(&[n], 1), rand(&[n], 2));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("same_shape", n), &n, |bench, _| {
            bench.iter(|| black_box(a.add(&b)))
        });
    }
    // A bias added to every row: (rows, 1024) + (1024,).
    for rows in [4, 64, 1024] {
        let (a, bias) = (rand(&[rows, 1024], 1), rand(&[1024], 2));
        g.throughput(Throughput::Elements((rows * 1024) as u64));
        g.bench_with_input(
            BenchmarkId::new("row_broadcast", rows * 1024),
            &rows,
            |bench, _| bench.iter(|| black_box(a.add(&bias))),
        );
    }
    // A column broadcast takes the general strided path: (1024, 1024) + (1024, 1).
    let (a, col) = (rand(&[1024, 1024], 1), rand(&[1024, 1], 2));
    g.throughput(Throughput::Elements(1 << 20));
    g.bench_function(BenchmarkId::new("col_broadcast", 1 << 20), |bench| {
        bench.iter(|| black_box(a.add(&col)))
    });
    g.finish();

    let mut g = c.benchmark_group("mul_scalar");
    for n in SIZES {
        let a = rand(&[n], 1);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, _| {
            bench.iter(|| black_box(a.mul(0.5f32)))
        });
    }
    g.finish();
}

fn unary(c: &mut Criterion) {
    for (name, f) in [
        ("exp", Tensor::exp as fn(&Tensor) -> Tensor),
        ("tanh", Tensor::tanh),
        ("sigmoid", Tensor::sigmoid),
    ] {
        let mut g = c.benchmark_group(name);
        for n in SIZES {
            let a = rand(&[n], 1);
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, _| {
                bench.iter(|| black_box(f(&a)))
            });
        }
        g.finish();
    }
}

/// The per-op overhead on a tiny tensor: allocation, dispatch, the recording check.
fn tiny(c: &mut Criterion) {
    let a = Tensor::ones([32], DType::Float32);
    c.bench_function("add_tiny", |bench| {
        bench.iter(|| black_box(black_box(&a).add(&a)))
    });
}

criterion_group!(benches, binary, unary, tiny);
