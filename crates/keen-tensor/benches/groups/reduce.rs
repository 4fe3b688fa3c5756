//! Reductions of a (1024, 1024) float32 matrix: over the last axis (contiguous runs), over the
//! first axis (strided), and over everything.

use super::util::rand;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

fn sum(c: &mut Criterion) {
    let mut g = c.benchmark_group("sum");
    for rows in [16, 1024] {
        let x = rand(&[rows, 1024], 1);
        let n = rows * 1024;
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("last_axis", n), &n, |bench, _| {
            bench.iter(|| black_box(x.sum(&[-1], false)))
        });
        g.bench_with_input(BenchmarkId::new("first_axis", n), &n, |bench, _| {
            bench.iter(|| black_box(x.sum(&[0], false)))
        });
        g.bench_with_input(BenchmarkId::new("all", n), &n, |bench, _| {
            bench.iter(|| black_box(x.sum_all()))
        });
    }
    g.finish();
}

criterion_group!(benches, sum);
