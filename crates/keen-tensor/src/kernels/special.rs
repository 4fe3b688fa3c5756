//! Special functions that std lacks.

/// The error function, to about 1e-15 absolute (W. J. Cody's rational approximations as in
/// most libms, via erfc for large |x|). Used by the exact GELU.
#[allow(clippy::excessive_precision)] // the published coefficients, digit for digit
pub(crate) fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    let r = if ax < 0.5 {
        // erf(x) = x * P(x^2)/Q(x^2)
        const P: [f64; 5] = [
            3.209_377_589_138_469_5e3,
            3.774_852_376_853_020_2e2,
            1.138_641_541_510_501_6e2,
            3.161_123_743_870_565_6,
            1.857_777_061_846_031_5e-1,
        ];
        const Q: [f64; 5] = [
            2.844_236_833_439_170_6e3,
            1.282_616_526_077_372_3e3,
            2.440_246_379_344_441_7e2,
            2.360_129_095_234_412_1e1,
            1.0,
        ];
        let z = ax * ax;
        let num = (((P[4] * z + P[3]) * z + P[2]) * z + P[1]) * z + P[0];
        let den = (((Q[4] * z + Q[3]) * z + Q[2]) * z + Q[1]) * z + Q[0];
        return x * num / den;
    } else if ax < 4.0 {
        const P: [f64; 9] = [
            1.230_339_354_797_997_2e3,
            2.051_078_377_826_071_6e3,
            1.712_047_612_634_070_7e3,
            8.819_522_212_417_691e2,
            2.986_351_381_974_001_3e2,
            6.611_919_063_714_163e1,
            8.883_149_794_388_376,
            5.641_884_969_886_701e-1,
            2.153_115_354_744_038_3e-8,
        ];
        const Q: [f64; 9] = [
            1.230_339_354_803_749_5e3,
            3.439_367_674_143_721_6e3,
            4.362_619_090_143_247e3,
            3.290_799_235_733_459_7e3,
            1.621_389_574_566_690_3e3,
            5.371_811_018_620_098_6e2,
            1.176_939_508_913_125e2,
            1.574_492_611_070_983_5e1,
            1.0,
        ];
        let mut num = P[8];
        let mut den = Q[8];
        for i in (0..8).rev() {
            num = num * ax + P[i];
            den = den * ax + Q[i];
        }
        let erfc = (-ax * ax).exp() * num / den;
        1.0 - erfc
    } else {
        const P: [f64; 6] = [
            -6.587_491_615_298_378e-4,
            -1.608_378_514_874_227_5e-2,
            -1.257_817_261_112_292_6e-1,
            -3.603_448_999_498_044_5e-1,
            -3.053_266_349_612_323_4e-1,
            -1.631_538_713_730_709_7e-2,
        ];
        const Q: [f64; 6] = [
            2.335_204_976_268_691_8e-3,
            6.051_834_131_244_132e-2,
            5.279_051_029_514_284e-1,
            1.872_952_849_923_460_4,
            2.568_520_192_289_822,
            1.0,
        ];
        let z = 1.0 / (ax * ax);
        let mut num = P[5];
        let mut den = Q[5];
        for i in (0..5).rev() {
            num = num * z + P[i];
            den = den * z + Q[i];
        }
        let frac_1_sqrt_pi = 0.564_189_583_547_756_3;
        let erfc = (-ax * ax).exp() / ax * (frac_1_sqrt_pi + z * num / den);
        1.0 - erfc
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// `tanh` for float32 as an odd rational function, p(x)/q(x) of degrees 13 and 6 on x clamped
/// to ±9 (where tanh rounds to ±1 in float32), with tanh(x) = x below 4e-4: the minimax fit
/// Eigen, XLA and ONNX Runtime use, within a few ulp of the exact value. Unlike libm's `tanhf`
/// (an `expm1f` call and branches on the range) it has no calls and no branches, so loops over
/// it vectorise; `tanh` was a tenth of a GRU seq2seq step in libm. NaN stays NaN.
#[inline(always)]
#[allow(clippy::excessive_precision)] // the published coefficients, digit for digit
pub(crate) fn tanh_f32(x: f32) -> f32 {
    const CLAMP: f32 = 9.0;
    const ALPHA: [f32; 7] = [
        4.893_524_558_917_86e-3,
        6.372_619_288_754_36e-4,
        1.485_722_357_179_79e-5,
        5.122_297_090_371_14e-8,
        -8.604_671_522_137_35e-11,
        2.000_187_904_824_77e-13,
        -2.760_768_477_423_55e-16,
    ];
    const BETA: [f32; 4] = [
        4.893_525_185_543_85e-3,
        2.268_434_632_439_00e-3,
        1.185_347_056_866_54e-4,
        1.198_258_394_667_02e-6,
    ];
    let c = x.clamp(-CLAMP, CLAMP); // NaN stays NaN
    let x2 = c * c;
    let mut p = ALPHA[6];
    for &a in ALPHA[..6].iter().rev() {
        p = p * x2 + a;
    }
    let q = ((BETA[3] * x2 + BETA[2]) * x2 + BETA[1]) * x2 + BETA[0];
    let y = c * p / q;
    if x.abs() < 4e-4 {
        x
    } else {
        y
    }
}

/// `exp` for float32 without calls or branches, so that loops over it vectorise (libm's
/// `expf` is a call per element; it was half of a softmax over a 5000-word vocabulary).
/// Cephes' method: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for an exact reduction),
/// e^r by its degree-7 minimax polynomial, then 2^n applied as two halves so that both
/// factors stay normal floats and results round into the subnormals and to ±inf as libm's.
/// Within 2 ulp of the exact value; NaN stays NaN, exp(−inf) = 0, exp(inf) = inf.
#[inline(always)]
#[allow(clippy::excessive_precision)] // the published coefficients, digit for digit
pub(crate) fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_375;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5·2^23: adding it rounds to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const P: [f32; 6] = [
        1.987_569_150_0e-4,
        1.398_199_950_7e-3,
        8.333_451_907_3e-3,
        4.166_579_589_4e-2,
        1.666_666_545_9e-1,
        5.000_000_120_1e-1,
    ];
    // Beyond these the result is inf or 0 however it is rounded; clamping keeps n in i32
    // range and the two scale factors below normal.
    let c = x.clamp(-104.0, 88.8);
    let t = c * LOG2E + ROUND;
    let n = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let nf = t - ROUND;
    let r = (c - nf * LN2_HI) - nf * LN2_LO;
    let mut p = P[0];
    for &k in &P[1..] {
        p = p * r + k;
    }
    let y = p * r * r + r + 1.0;
    let half = n >> 1;
    let pow2 = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    y * pow2(half) * pow2(n - half)
}

#[cfg(test)]
mod tests {
    #[test]
    fn erf_matches_reference_values() {
        // math.erf from Python 3.11: [0.1, 0.5, 1.0, 2.5, 4.5, -0.7]
        let cases = [
            (0.1, 0.1124629160182849),
            (0.5, 0.5204998778130465),
            (1.0, 0.8427007929497149),
            (2.5, 0.999593047982555),
            (4.5, 0.9999999998033839),
            (-0.7, -0.6778011938374184),
        ];
        for (x, want) in cases {
            assert!((super::erf(x) - want).abs() < 1e-14, "erf({x})");
        }
    }

    #[test]
    fn tanh_f32_is_within_a_few_ulp_of_libm() {
        let mut worst = 0.0f64;
        let mut x = -10.0f32;
        while x <= 10.0 {
            let want = (x as f64).tanh();
            let got = super::tanh_f32(x) as f64;
            // Relative error in units of float32's epsilon.
            let scale = want.abs().max(f32::MIN_POSITIVE as f64) * f32::EPSILON as f64;
            let ulps = (got - want).abs() / scale;
            worst = worst.max(ulps);
            x += 1.0e-4 + x.abs() * 1.0e-4;
        }
        assert!(worst < 8.0, "worst error {worst} ulp");
        for x in [0.0f32, -0.0, 1e-30, -3e-4, 1e-4, 7.9, 8.0, 1e30, -1e30] {
            let (got, want) = (super::tanh_f32(x), x.tanh());
            assert!(
                (got - want).abs() <= 2.0 * f32::EPSILON * want.abs(),
                "tanh({x}) = {got}, not {want}"
            );
        }
        assert!((super::tanh_f32(f32::INFINITY) - 1.0).abs() <= f32::EPSILON);
        assert!((super::tanh_f32(f32::NEG_INFINITY) + 1.0).abs() <= f32::EPSILON);
        assert!(super::tanh_f32(f32::NAN).is_nan());
        assert!(super::tanh_f32(-0.0).is_sign_negative());
    }

    #[test]
    fn exp_f32_is_within_2_ulp() {
        let mut worst = 0.0f64;
        let mut x = -103.0f32;
        while x <= 88.7 {
            let want = (x as f64).exp();
            let got = super::exp_f32(x) as f64;
            // Ulps of the float32 result; subnormals have a fixed spacing.
            let ulp = (want.abs() * f32::EPSILON as f64).max(f64::from(f32::from_bits(1)));
            worst = worst.max((got - want).abs() / ulp);
            x += 1.0e-3 + x.abs() * 1.0e-5;
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        for (x, want) in [
            (0.0f32, 1.0f32),
            (-0.0, 1.0),
            (1.0, std::f32::consts::E),
            (88.72, 88.72f32.exp()),
            (88.8, f32::INFINITY),
            (1e30, f32::INFINITY),
            (f32::INFINITY, f32::INFINITY),
            (-104.0, 0.0),
            (-1e30, 0.0),
            (f32::NEG_INFINITY, 0.0),
        ] {
            assert_eq!(super::exp_f32(x), want, "exp({x})");
        }
        assert!(super::exp_f32(f32::NAN).is_nan());
        // Subnormal results as libm rounds them.
        assert_eq!(super::exp_f32(-100.0), (-100.0f32).exp());
    }
}
