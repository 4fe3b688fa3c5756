//! Square float32 matmul, 128…2048, and the products of an MLP training step (784-256-256-10,
//! batch 128: forward, weight gradient with a transposed input, input gradient with a
//! transposed weight), in FLOP/s (2mnk per product). The MLP products are the mid-size class
//! that `kernels/gemm.rs` splits across threads.

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

fn mlp_products(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul_mlp");
    let x = rand(&[128, 784], 3);
    let w1 = rand(&[784, 256], 4);
    let w2 = rand(&[256, 256], 5);
    let gy = rand(&[128, 256], 6);
    let cases = [
        ("x.w1_128x784x256", &x, w1.clone()),
        ("h.w2_128x256x256", &gy, w2.clone()),
        ("xT.gy_784x128x256", &x.t(), gy.clone()),
        ("gy.w2T_128x256x256", &gy, w2.t()),
    ];
    for (name, a, b) in cases {
        let (m, k, n) = (a.dims()[0], a.dims()[1], b.dims()[1]);
        g.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        g.bench_function(name, |bench| bench.iter(|| black_box(a.matmul(&b))));
    }
    g.finish();
}

criterion_group!(benches, matmul, mlp_products);
