//! Deterministic inputs shared by the groups.

use keen_tensor::Tensor;

/// float32 values in [-1, 1) from a fixed seed (a 64-bit LCG): no dependency on keen's RNG.
pub fn rand(dims: &[usize], seed: u64) -> Tensor {
    let n: usize = dims.iter().product();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let data: Vec<f32> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((s >> 40) as f32 / (1u64 << 23) as f32) - 1.0
        })
        .collect();
    Tensor::from_vec(data, dims)
}
