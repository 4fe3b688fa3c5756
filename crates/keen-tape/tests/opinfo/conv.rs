//! Convolution, pooling and resize (keen_tensor::ops::{conv, pool, resize}): small float64
//! samples (batch 2, 5×5 images, 2 → 3 channels) with the edge cases of each op: stride 2,
//! dilation 2, SAME padding on even and odd sizes, 1×1 kernels, explicit padding, overlapping
//! pooling windows and non-contiguous views. Every rule is written with recorded ops, so every
//! entry is checked to second order.

use crate::OpInfo;
use keen_tensor::ops::conv::Padding;
use keen_tensor::ops::resize::Interpolation;
use keen_tensor::{DType, Tensor};

/// Smooth, varied values (no two equal within 1e-3, so max pooling has no near-ties).
fn t(dims: &[usize], seed: usize) -> Tensor {
    let n: usize = dims.iter().product();
    // A scrambled ramp: distinct multiples of 1/n, shuffled by a stride coprime with n.
    // Every odd-or-even candidate is tried, so a coprime stride exists for any n (n = 0 too).
    let step = (0..)
        .map(|k| 7 + k + seed)
        .find(|s| n == 0 || gcd(*s, n) == 1)
        .unwrap();
    let v: Vec<f64> = (0..n)
        .map(|i| ((i * step + seed) % n) as f64 / n as f64 * 2.0 - 1.0)
        .collect();
    Tensor::from_vec(v, dims.to_vec())
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The same values as `t(dims)` (NHWC) behind a non-contiguous view (stored NCHW).
fn nhwc_view(dims: [usize; 4], seed: usize) -> Tensor {
    let x = t(&dims, seed);
    let v = x.permute(&[0, 3, 1, 2]).contiguous().permute(&[0, 2, 3, 1]);
    assert!(!v.is_contiguous());
    v
}

pub fn entries() -> Vec<OpInfo> {
    let (same, valid) = (Padding::Same, Padding::Valid);
    vec![
        OpInfo::new("conv2d", move |x| x[0].conv2d(&x[1], [1, 1], same, [1, 1]))
            .sample(
                "3x3 same, batch 2, 5x5, 2->3",
                vec![t(&[2, 5, 5, 2], 0), t(&[3, 3, 2, 3], 1)],
            )
            .sample(
                "non-contiguous input view",
                vec![nhwc_view([2, 5, 5, 2], 2), t(&[3, 3, 2, 3], 3)],
            )
            .sample(
                "1x1 pointwise",
                vec![t(&[2, 4, 3, 2], 4), t(&[1, 1, 2, 3], 5)],
            )
            .sample(
                "batch 1, cin 1, cout 1",
                vec![t(&[1, 5, 4, 1], 6), t(&[3, 3, 1, 1], 7)],
            ),
        OpInfo::new("conv2d", move |x| {
            x[0].conv2d_with_bias(&x[1], &x[2], [1, 1], same, [1, 1])
        })
        .sample(
            "with bias: 3x3 same, batch 2, 5x5, 2->3",
            vec![t(&[2, 5, 5, 2], 40), t(&[3, 3, 2, 3], 41), t(&[3], 42)],
        )
        .sample(
            "with bias: 1x1 pointwise",
            vec![t(&[2, 4, 3, 2], 43), t(&[1, 1, 2, 3], 44), t(&[3], 45)],
        ),
        OpInfo::new("conv2d", move |x| {
            x[0].conv2d_with_bias(&x[1], &x[2], [2, 2], same, [1, 1])
        })
        .sample(
            "with bias: stride 2 same, odd size",
            vec![t(&[1, 5, 7, 2], 46), t(&[3, 3, 2, 2], 47), t(&[2], 48)],
        ),
        OpInfo::new("conv2d", move |x| x[0].conv2d(&x[1], [2, 2], same, [1, 1]))
            .sample(
                "stride 2 same, even size",
                vec![t(&[2, 6, 6, 2], 8), t(&[3, 3, 2, 3], 9)],
            )
            .sample(
                "stride 2 same, odd size",
                vec![t(&[1, 5, 7, 2], 10), t(&[3, 3, 2, 2], 11)],
            ),
        OpInfo::new("conv2d", move |x| x[0].conv2d(&x[1], [1, 1], valid, [2, 2])).sample(
            "dilation 2 valid",
            vec![t(&[2, 6, 6, 2], 12), t(&[3, 3, 2, 3], 13)],
        ),
        OpInfo::new("conv2d", |x| {
            x[0].conv2d(&x[1], [1, 2], Padding::Explicit([[1, 0], [2, 1]]), [1, 1])
        })
        .sample(
            "explicit padding, strides (1, 2)",
            vec![t(&[1, 5, 5, 2], 14), t(&[2, 3, 2, 2], 15)],
        ),
        OpInfo::new("conv2d_transpose", move |x| {
            x[0].conv2d_transpose(&x[1], [2, 2], same, None, [1, 1])
        })
        .sample(
            "3x3 stride 2 same",
            vec![t(&[2, 3, 3, 3], 16), t(&[3, 3, 2, 3], 17)],
        )
        .sample(
            "non-contiguous input view",
            vec![nhwc_view([1, 3, 4, 3], 18), t(&[3, 3, 2, 3], 19)],
        ),
        OpInfo::new("conv2d_transpose", move |x| {
            x[0].conv2d_transpose(&x[1], [2, 2], valid, Some([1, 1]), [1, 1])
        })
        .sample(
            "2x2 stride 2 valid, output_padding 1",
            vec![t(&[2, 3, 3, 2], 20), t(&[2, 2, 3, 2], 21)],
        ),
        OpInfo::new("conv2d_transpose", move |x| {
            x[0].conv2d_transpose(&x[1], [1, 1], same, None, [1, 1])
        })
        .sample("1x1", vec![t(&[2, 3, 3, 2], 22), t(&[1, 1, 3, 2], 23)]),
        OpInfo::new("conv2d_transpose", move |x| {
            x[0].conv2d_transpose(&x[1], [1, 1], same, None, [2, 2])
        })
        .sample(
            "3x3 dilation 2 same",
            vec![t(&[2, 4, 5, 2], 40), t(&[3, 3, 3, 2], 41)],
        ),
        OpInfo::new("conv2d_transpose", move |x| {
            x[0].conv2d_transpose(&x[1], [1, 1], valid, None, [2, 1])
        })
        .sample(
            "3x2 dilation (2, 1) valid",
            vec![t(&[1, 3, 4, 2], 42), t(&[3, 2, 2, 2], 43)],
        ),
        OpInfo::new("conv2d_backprop_kernel", move |x| {
            x[0].conv2d_backprop_kernel(&x[1], [3, 3], [1, 1], same, [1, 1])
        })
        .sample("3x3 same", vec![t(&[2, 5, 5, 2], 24), t(&[2, 5, 5, 3], 25)]),
        OpInfo::new("conv2d_backprop_kernel", move |x| {
            x[0].conv2d_backprop_kernel(&x[1], [2, 2], [2, 2], valid, [1, 1])
        })
        .sample(
            "2x2 stride 2 valid",
            vec![t(&[2, 5, 5, 2], 26), t(&[2, 2, 2, 3], 27)],
        ),
        OpInfo::new("max_pool2d", move |x| {
            x[0].max_pool2d([2, 2], [2, 2], valid)
        })
        .sample("2x2 stride 2 valid", vec![t(&[2, 4, 4, 3], 28)])
        .sample(
            "non-contiguous input view",
            vec![nhwc_view([2, 4, 4, 2], 29)],
        ),
        OpInfo::new("max_pool2d", move |x| x[0].max_pool2d([3, 3], [1, 1], same)).sample(
            "3x3 stride 1 same, overlapping windows",
            vec![t(&[2, 5, 5, 2], 30)],
        ),
        OpInfo::new("avg_pool2d", move |x| x[0].avg_pool2d([2, 2], [2, 2], same))
            .sample("2x2 stride 2 same, odd size", vec![t(&[2, 5, 5, 2], 31)]),
        OpInfo::new("avg_pool2d", move |x| x[0].avg_pool2d([3, 3], [1, 1], same))
            .sample(
                "3x3 stride 1 same, border windows",
                vec![t(&[1, 4, 5, 2], 32)],
            )
            .sample(
                "non-contiguous input view",
                vec![nhwc_view([1, 4, 4, 2], 33)],
            ),
        OpInfo::new("resize", |x| x[0].resize([7, 4], Interpolation::Bilinear)).sample(
            "bilinear, up rows and down columns",
            vec![t(&[2, 3, 5, 2], 34)],
        ),
        OpInfo::new("resize", |x| x[0].resize([2, 7], Interpolation::Nearest)).sample(
            "nearest, down rows and up columns",
            vec![t(&[2, 5, 3, 2], 35)],
        ),
        OpInfo::new("resize", |x| {
            x[0].upsample2d([2, 2], Interpolation::Nearest)
        })
        .sample("upsample2d nearest 2x2", vec![t(&[2, 3, 3, 2], 36)]),
        OpInfo::new("resize", |x| {
            x[0].upsample2d([2, 2], Interpolation::Bilinear)
        })
        .sample("upsample2d bilinear 2x2", vec![t(&[1, 3, 3, 2], 37)]),
    ]
    .into_iter()
    .inspect(|e| {
        debug_assert!(e
            .samples
            .iter()
            .all(|(_, s)| s.iter().all(|x| x.dtype() == DType::Float64)))
    })
    .collect()
}
