//! Random fills: dropout masks (bernoulli) and noise (normal), on the Philox counter stream.
//! 3.2M elements is one DCGAN discriminator's dropout mask at batch 256 (256·14·14·64).

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use keen_tensor::{DType, Tensor};
use std::hint::black_box;

const SIZES: [usize; 3] = [4096, 1 << 20, 256 * 14 * 14 * 64];

fn random(c: &mut Criterion) {
    let mut g = c.benchmark_group("bernoulli");
    for n in SIZES {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, &n| {
            bench.iter(|| black_box(Tensor::bernoulli([n], 0.7, DType::Float32)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("random_normal");
    for n in SIZES {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, &n| {
            bench.iter(|| black_box(Tensor::random_normal([n], 0.0, 1.0, DType::Float32)))
        });
    }
    g.finish();
}

criterion_group!(benches, random);
