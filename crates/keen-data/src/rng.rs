//! A small seeded random generator (SplitMix64) for shuffling and augmentation. Streams are
//! derived from `(seed, epoch, element index)`, so results do not depend on thread timing.

/// A seeded pseudo-random generator (SplitMix64: fast, 64-bit state, good enough for shuffling
/// and augmentation; not cryptographic).
#[derive(Clone, Debug)]
pub struct Rng(u64);

/// Mixes two words into one (the SplitMix64 finaliser over their combination).
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(mix(seed, 0x5EED))
    }

    /// The generator for element `index` of epoch `epoch` of a stream seeded with `seed`.
    pub fn for_element(seed: u64, epoch: u64, index: u64) -> Rng {
        Rng::new(mix(mix(seed, epoch), index))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0, 0)
    }

    /// A uniform integer in `0..n` (`n > 0`), without modulo bias worth mentioning (Lemire).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// A uniform float in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability 1/2.
    pub fn coin(&mut self) -> bool {
        self.next_u64() >> 63 == 1
    }
}
