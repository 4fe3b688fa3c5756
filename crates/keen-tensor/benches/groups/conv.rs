//! conv2d's three products (forward, input gradient, kernel gradient), and the forward with
//! its bias added in the kernel (`conv2d_with_bias`), on NHWC shapes: the 3×3 64→64 block of
//! ../shared/bench's conv_fwd_bwd, and each 5×5 convolution of its DCGAN step at batch 64
//! (the generator's transposed convolutions are the input gradients of the convolutions named
//! for them). Throughput is FLOP/s: 2·n·oh·ow·kh·kw·c_in·c_out each.

use super::util::rand;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use keen_tensor::ops::conv::Padding;
use std::hint::black_box;

/// A convolution with padding "same": (name, batch, input (h, c_in), output (oh, c_out),
/// kernel, stride).
type Shape = (
    &'static str,
    usize,
    (usize, usize),
    (usize, usize),
    usize,
    usize,
);

const SHAPES: [Shape; 6] = [
    ("block3x3_64", 8, (64, 64), (64, 64), 3, 1),
    ("dcgan_g_deconv1", 64, (7, 64), (7, 64), 5, 1),
    ("dcgan_g_deconv2", 64, (14, 32), (7, 64), 5, 2),
    ("dcgan_g_deconv3", 64, (28, 1), (14, 32), 5, 2),
    ("dcgan_d_conv1", 64, (28, 1), (14, 64), 5, 2),
    ("dcgan_d_conv2", 64, (14, 64), (7, 128), 5, 2),
];

fn conv(c: &mut Criterion) {
    let mut g = c.benchmark_group("conv2d");
    g.sample_size(20);
    for (name, n, (h, ci), (oh, co), k, s) in SHAPES {
        let x = rand(&[n, h, h, ci], 1);
        let kernel = rand(&[k, k, ci, co], 2).mul(0.05f32);
        let gy = rand(&[n, oh, oh, co], 3);
        let bias = rand(&[co], 4);
        g.throughput(Throughput::Elements(
            (2 * n * oh * oh * k * k * ci * co) as u64,
        ));
        g.bench_function(BenchmarkId::new("forward", name), |b| {
            b.iter(|| black_box(x.conv2d(&kernel, [s, s], Padding::Same, [1, 1])))
        });
        g.bench_function(BenchmarkId::new("forward_bias", name), |b| {
            b.iter(|| black_box(x.conv2d_with_bias(&kernel, &bias, [s, s], Padding::Same, [1, 1])))
        });
        g.bench_function(BenchmarkId::new("input_grad", name), |b| {
            b.iter(|| black_box(gy.conv2d_transpose(&kernel, [s, s], Padding::Same, None, [1, 1])))
        });
        g.bench_function(BenchmarkId::new("kernel_grad", name), |b| {
            b.iter(|| {
                black_box(x.conv2d_backprop_kernel(&gy, [k, k], [s, s], Padding::Same, [1, 1]))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, conv);
