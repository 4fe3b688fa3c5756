//! Reductions of a (1024, 1024) float32 matrix: over the last axis (contiguous runs), over the
//! first axis (strided), and over everything; softmax and the fused sparse cross-entropy over
//! a seq2seq step's logits (480 positions × a 5000-word vocabulary).

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

fn softmax(c: &mut Criterion) {
    let mut g = c.benchmark_group("softmax");
    let x = rand(&[480, 5000], 2);
    let labels =
        keen_tensor::Tensor::from_vec((0..480).map(|i| i * 7 % 5000).collect::<Vec<i64>>(), [480]);
    g.throughput(Throughput::Elements(480 * 5000));
    g.bench_function("rows_480x5000", |bench| {
        bench.iter(|| black_box(x.softmax(-1)))
    });
    g.bench_function("sparse_xent_480x5000", |bench| {
        bench.iter(|| black_box(x.sparse_softmax_cross_entropy(&labels)))
    });
    g.finish();
}

criterion_group!(benches, sum, softmax);
