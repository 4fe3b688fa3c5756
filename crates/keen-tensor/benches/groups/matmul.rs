//! Square float32 matmul, 128…2048, in FLOP/s (2n³ per product).

use super::util::rand;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

fn matmul(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul");
    for n in [128, 256, 512, 1024, 2048] {
        let (a, b) = (rand(&[n, n], 1), rand(&[n, n], 2));
        g.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        if n >= 1024 {
            g.sample_size(10).measurement_time(Duration::from_secs(4));
        }
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, _| {
            bench.iter(|| black_box(a.matmul(&b)))
        });
        // The backward pass multiplies by transposed views: no copy, a different GEMM stride.
        if n == 512 {
            let at = a.t();
            g.bench_function(BenchmarkId::new("transposed_lhs", n), |bench| {
                bench.iter(|| black_box(at.matmul(&b)))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, matmul);
