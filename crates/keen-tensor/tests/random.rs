//! Random tensors: reproducible streams, distributions (moments on 100k samples), bounds,
//! categorical frequencies, permutations, errors. Explicit generators everywhere except the tests
//! of the global seed, so that tests running in parallel do not share a stream.

use keen_tensor::ops::random::{global_seed, philox4x32_10, set_seed, Generator};
use keen_tensor::{DType, Tensor};

fn moments(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[test]
fn philox_matches_random123_known_answers() {
    // Random123 kat_vectors, "philox4x32 10" lines.
    assert_eq!(
        philox4x32_10([0, 0, 0, 0], [0, 0]),
        [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    );
    assert_eq!(
        philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
        [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
    );
    assert_eq!(
        philox4x32_10(
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0]
        ),
        [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
    );
}

#[test]
fn streams_are_frozen() {
    // These values must never change: a seed means the same numbers in every keen version.
    let mut g = Generator::new(42);
    assert_eq!(
        (g.next_u64(), g.next_u64()),
        (0x77f5493b9ceaf053, 0x53ba6cfdfcdb2127)
    );
    let mut g = Generator::new(42);
    let u = Tensor::random_uniform_with([3], 0.0, 1.0, DType::Float64, &mut g);
    assert_eq!(
        u.to_vec::<f64>(),
        [0.4685865183391049, 0.32706338120338474, 0.6583155272123093]
    );
    let n = Tensor::random_normal_with([3], 0.0, 1.0, DType::Float64, &mut g);
    let want = [-0.6482506427558838, 0.0530850299975853, 1.5151875889319921];
    // exact but for the last bits of the platform's ln/cos
    for (a, b) in n.to_vec::<f64>().iter().zip(want) {
        assert!((a - b).abs() <= 4.0 * f64::EPSILON, "{a} vs {b}");
    }
    let i = Tensor::random_uniform_with([3], 0.0, 100.0, DType::Int64, &mut g);
    assert_eq!(i.to_vec::<i64>(), [74, 40, 13]);
    let p = Tensor::random_permutation_with(5, &mut g);
    assert_eq!(p.to_vec::<i64>(), [3, 4, 1, 0, 2]);
    assert_eq!(g.offset(), 14);
}

#[test]
fn same_seed_same_values_different_seeds_differ() {
    for dtype in [DType::Float32, DType::Float64] {
        let a = Tensor::random_normal_with([50], 0.0, 1.0, dtype, &mut Generator::new(1));
        let b = Tensor::random_normal_with([50], 0.0, 1.0, dtype, &mut Generator::new(1));
        let c = Tensor::random_normal_with([50], 0.0, 1.0, dtype, &mut Generator::new(2));
        assert_eq!(a.to_f64_vec(), b.to_f64_vec());
        assert_ne!(a.to_f64_vec(), c.to_f64_vec());
    }
    let s0 = Generator::new(1);
    let s1 = Generator::new(1).with_stream(1);
    let a = Tensor::random_uniform_with([50], 0.0, 1.0, DType::Float64, &mut s0.clone());
    let b = Tensor::random_uniform_with([50], 0.0, 1.0, DType::Float64, &mut s1.clone());
    assert_ne!(a.to_f64_vec(), b.to_f64_vec());
}

#[test]
fn a_generator_continues_its_stream_and_resumes_from_its_state() {
    let mut g = Generator::new(9);
    let whole = Tensor::random_uniform_with([10], 0.0, 1.0, DType::Float64, &mut g).to_f64_vec();
    let mut g = Generator::new(9);
    let first = Tensor::random_uniform_with([4], 0.0, 1.0, DType::Float64, &mut g).to_f64_vec();
    let saved = serde_json::to_string(&g).unwrap();
    let mut resumed: Generator = serde_json::from_str(&saved).unwrap();
    assert_eq!(resumed.offset(), 4);
    let rest =
        Tensor::random_uniform_with([6], 0.0, 1.0, DType::Float64, &mut resumed).to_f64_vec();
    assert_eq!([first, rest].concat(), whole);
}

#[test]
fn float32_draws_are_the_float64_draws_rounded() {
    let a = Tensor::random_normal_with([100], 1.0, 3.0, DType::Float64, &mut Generator::new(5));
    let b = Tensor::random_normal_with([100], 1.0, 3.0, DType::Float32, &mut Generator::new(5));
    assert_eq!(a.cast(DType::Float32).to_vec::<f32>(), b.to_vec::<f32>());
}

#[test]
fn large_tensors_do_not_depend_on_the_thread_split() {
    // 200k elements are filled in parallel chunks; element i must equal draw i.
    let mut g = Generator::new(3);
    let big = Tensor::random_uniform_with([200_000], 0.0, 1.0, DType::Float64, &mut g);
    let mut g = Generator::new(3);
    let _skip = Tensor::random_uniform_with([150_000], 0.0, 1.0, DType::Float64, &mut g);
    let tail = Tensor::random_uniform_with([50_000], 0.0, 1.0, DType::Float64, &mut g);
    assert_eq!(big.to_f64_vec()[150_000..], tail.to_f64_vec()[..]);
}

#[test]
fn uniform_float_moments_and_bounds() {
    let mut g = Generator::new(11);
    for dtype in [DType::Float32, DType::Float64] {
        let x = Tensor::random_uniform_with([100_000], -2.0, 4.0, dtype, &mut g).to_f64_vec();
        assert!(x.iter().all(|v| (-2.0..4.0).contains(v)));
        let (m, s) = moments(&x);
        // mean 1, std 6/sqrt(12) = 1.732; standard error of the mean 0.0055.
        assert!((m - 1.0).abs() < 0.03, "{m}");
        assert!((s - 6.0 / 12f64.sqrt()).abs() < 0.02, "{s}");
    }
    // high is excluded even where rounding to float32 would reach it
    let x = Tensor::random_uniform_with([100_000], 0.0, 1e-30, DType::Float32, &mut g);
    assert!(x.to_vec::<f32>().iter().all(|&v| v < 1e-30));
    let c = Tensor::random_uniform_with([5], 2.5, 2.5, DType::Float64, &mut g);
    assert_eq!(c.to_vec::<f64>(), [2.5; 5]);
}

#[test]
fn uniform_integers_cover_the_range_evenly() {
    let mut g = Generator::new(12);
    for dtype in [DType::Int32, DType::Int64, DType::UInt8] {
        let x = Tensor::random_uniform_with([60_000], 1.0, 7.0, dtype, &mut g);
        assert_eq!(x.dtype(), dtype);
        let mut counts = [0usize; 8];
        for v in x.to_f64_vec() {
            counts[v as usize] += 1;
        }
        assert_eq!(counts[0] + counts[7], 0);
        for c in &counts[1..7] {
            // expected 10000, std 91
            assert!((*c as f64 - 10_000.0).abs() < 500.0, "{counts:?}");
        }
    }
    let full = Tensor::random_uniform_with([10_000], 0.0, 256.0, DType::UInt8, &mut g);
    let v = full.to_vec::<u8>();
    assert!(v.contains(&0) && v.contains(&255));
    let neg = Tensor::random_uniform_with([1000], -3.0, -1.0, DType::Int64, &mut g);
    assert!(neg.to_vec::<i64>().iter().all(|v| *v == -3 || *v == -2));
}

#[test]
fn normal_moments() {
    let mut g = Generator::new(13);
    for dtype in [DType::Float32, DType::Float64] {
        let x = Tensor::random_normal_with([100_000], 3.0, 2.0, dtype, &mut g).to_f64_vec();
        let (m, s) = moments(&x);
        // standard error of the mean 0.0063, of the std 0.0045
        assert!((m - 3.0).abs() < 0.03, "{m}");
        assert!((s - 2.0).abs() < 0.025, "{s}");
        let beyond = x.iter().filter(|v| (*v - 3.0).abs() > 4.0).count() as f64 / 1e5;
        assert!((beyond - 0.0455).abs() < 0.004, "{beyond}"); // P(|z| > 2)
    }
}

#[test]
fn truncated_normal_stays_within_two_std() {
    let mut g = Generator::new(14);
    for dtype in [DType::Float32, DType::Float64] {
        let x = Tensor::truncated_normal_with([100_000], -1.0, 0.5, dtype, &mut g).to_f64_vec();
        assert!(x.iter().all(|v| (-2.0..=0.0).contains(v)));
        let (m, s) = moments(&x);
        // std of N(0,1) truncated to [-2, 2]: 0.8796
        assert!((m + 1.0).abs() < 0.01, "{m}");
        assert!((s - 0.5 * 0.8796).abs() < 0.01, "{s}");
    }
}

#[test]
fn bernoulli_frequency_and_dtypes() {
    let mut g = Generator::new(15);
    let x = Tensor::bernoulli_with([100_000], 0.3, DType::Float32, &mut g).to_f64_vec();
    assert!(x.iter().all(|v| *v == 0.0 || *v == 1.0));
    let p = x.iter().sum::<f64>() / 1e5;
    assert!((p - 0.3).abs() < 0.006, "{p}"); // standard error 0.00145
    let b = Tensor::bernoulli_with([10], 1.0, DType::Bool, &mut g);
    assert_eq!(b.to_vec::<bool>(), [true; 10]);
    let z = Tensor::bernoulli_with([10], 0.0, DType::Int64, &mut g);
    assert_eq!(z.to_vec::<i64>(), [0; 10]);
}

#[test]
fn bernoulli_draws_do_not_depend_on_where_a_call_starts_in_the_stream() {
    // fill_lanes computes 16 Philox blocks at a time after an unaligned head: whatever the
    // alignment, element k of a call is draw offset + k of the stream, so a long call equals
    // its pieces drawn one after another.
    let p = 0.37;
    let mut whole = Generator::new(99);
    let all = Tensor::bernoulli_with([5 + 3 + 300_001], p, DType::Float32, &mut whole);
    let mut parts = Generator::new(99);
    let pieces: Vec<f32> = [5usize, 3, 300_001]
        .iter()
        .flat_map(|&n| Tensor::bernoulli_with([n], p, DType::Float32, &mut parts).to_vec::<f32>())
        .collect();
    assert_eq!(all.to_vec::<f32>(), pieces);
    assert_eq!(whole.offset(), parts.offset());
    // Draw d is lane d % 4 of the Philox block of counter (d / 4, 2^31, stream 0), key = seed:
    // the definition the frozen streams rest on, computed here one block at a time.
    let threshold = (p * 4_294_967_296.0) as u64;
    for (d, &v) in pieces.iter().enumerate() {
        let q = d as u64 / 4;
        let bits = philox4x32_10([q as u32, (q >> 32) as u32, 1 << 31, 0], [99, 0])[d % 4];
        assert_eq!(v, ((bits as u64) < threshold) as u8 as f32, "draw {d}");
    }
    let freq = pieces.iter().map(|&v| v as f64).sum::<f64>() / pieces.len() as f64;
    assert!((freq - p).abs() < 0.003, "{freq}");
}

#[test]
fn categorical_frequencies_follow_softmax() {
    let mut g = Generator::new(16);
    let probs = [0.1f64, 0.2, 0.3, 0.4];
    let logits: Vec<f64> = probs.iter().map(|p| p.ln() + 7.0).collect();
    let l = Tensor::from_vec(
        [
            logits.clone(),
            vec![0.0, f64::NEG_INFINITY, 0.0, f64::NEG_INFINITY],
        ]
        .concat(),
        [2, 4],
    );
    let s = l.categorical_with(50_000, &mut g);
    assert_eq!(
        (s.dims(), s.dtype()),
        ([2usize, 50_000].as_slice(), DType::Int64)
    );
    let v = s.to_vec::<i64>();
    let mut counts = [0usize; 4];
    for &c in &v[..50_000] {
        counts[c as usize] += 1;
    }
    for (c, p) in counts.iter().zip(probs) {
        assert!((*c as f64 / 5e4 - p).abs() < 0.01, "{counts:?}");
    }
    assert!(v[50_000..].iter().all(|&c| c == 0 || c == 2));
    let twos = v[50_000..].iter().filter(|&&c| c == 2).count() as f64 / 5e4;
    assert!((twos - 0.5).abs() < 0.01);
    // 1-D logits, float32
    let one = Tensor::from([0.0f32, 100.0]).categorical_with(10, &mut g);
    assert_eq!(one.to_vec::<i64>(), [1; 10]);
    assert_eq!(
        Tensor::from([0.0f32]).categorical_with(0, &mut g).dims(),
        [0]
    );
}

#[test]
fn permutations_and_shuffles() {
    let mut g = Generator::new(17);
    let p = Tensor::random_permutation_with(100, &mut g);
    assert_eq!(p.dtype(), DType::Int64);
    let mut v = p.to_vec::<i64>();
    assert_ne!(v, (0..100).collect::<Vec<_>>());
    v.sort();
    assert_eq!(v, (0..100).collect::<Vec<_>>());
    assert_eq!(Tensor::random_permutation_with(0, &mut g).dims(), [0]);
    // every one of the 6 orders of 3 items is about equally likely
    let mut counts = std::collections::HashMap::new();
    for _ in 0..6000 {
        *counts
            .entry(Tensor::random_permutation_with(3, &mut g).to_vec::<i64>())
            .or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 6);
    assert!(
        counts.values().all(|&c| (c as f64 - 1000.0).abs() < 150.0),
        "{counts:?}"
    );

    let x = Tensor::from([[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]]).transpose(0, 1);
    let s = x.shuffle_with(&mut g);
    assert_eq!(s.dims(), [2, 5]);
    let rows = s.to_vec::<i32>();
    assert!(
        rows == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]
            || rows.chunks(5).all(|r| r.iter().all(|&v| v == r[0]))
    );
    let y = Tensor::arange(0.0, 20.0, 1.0, DType::Float32)
        .reshape([10, 2])
        .shuffle_with(&mut g);
    let mut rows: Vec<Vec<f32>> = y.to_vec::<f32>().chunks(2).map(|c| c.to_vec()).collect();
    assert!(rows.iter().all(|r| r[1] == r[0] + 1.0));
    rows.sort_by(|a, b| a[0].total_cmp(&b[0]));
    assert_eq!(rows[3], [6.0, 7.0]);
}

#[test]
fn global_seed_makes_default_draws_reproducible() {
    // The only test touching the default generator of its thread, and the global seed.
    set_seed(42);
    assert_eq!(global_seed(), 42);
    let a = Tensor::random_uniform([5], 0.0, 1.0, DType::Float64);
    let b = Tensor::random_normal([5], 0.0, 1.0, DType::Float64);
    set_seed(42);
    assert_eq!(
        a.to_f64_vec(),
        Tensor::random_uniform([5], 0.0, 1.0, DType::Float64).to_f64_vec()
    );
    assert_eq!(
        b.to_f64_vec(),
        Tensor::random_normal([5], 0.0, 1.0, DType::Float64).to_f64_vec()
    );
    // The seeding thread uses stream 0 of the seed: the same numbers as an explicit generator.
    set_seed(42);
    let c = Tensor::random_uniform([5], 0.0, 1.0, DType::Float64);
    let d = Tensor::random_uniform_with([5], 0.0, 1.0, DType::Float64, &mut Generator::new(42));
    assert_eq!(c.to_f64_vec(), d.to_f64_vec());
    // Another thread draws from its own stream of the same seed, not a copy of this one.
    let other = std::thread::spawn(|| Tensor::random_uniform([5], 0.0, 1.0, DType::Float64))
        .join()
        .unwrap();
    assert_ne!(other.to_f64_vec(), d.to_f64_vec());

    // Dropout zeroes with bernoulli's draws from the default generator and scales the rest.
    for dtype in [DType::Float32, DType::Float64] {
        let x = Tensor::random_uniform_with([10_001], 1.0, 2.0, dtype, &mut Generator::new(3));
        set_seed(41);
        let y = x.dropout(0.3);
        set_seed(41);
        let keep = Tensor::bernoulli([10_001], 0.7, dtype);
        assert_eq!(y.to_f64_vec(), x.mul(&keep.mul(1.0 / 0.7)).to_f64_vec());
        let zeroed = y.to_f64_vec().iter().filter(|&&v| v == 0.0).count() as f64 / 10_001.0;
        assert!((zeroed - 0.3).abs() < 0.02, "{zeroed}");
        assert_eq!(x.dropout(0.0).to_f64_vec(), x.to_f64_vec());
    }
    let x = Tensor::ones([3], DType::Float32);
    let e = x.try_dropout(1.0).unwrap_err();
    assert!(
        e.to_string()
            .contains("dropout: rate must be in [0, 1), got 1"),
        "{e}"
    );
    let e = Tensor::ones([3], DType::Int32)
        .try_dropout(0.5)
        .unwrap_err();
    assert!(e.to_string().contains("dropout"), "{e}");
}

#[test]
fn errors() {
    let mut g = Generator::new(0);
    let msg = |r: keen_tensor::Result<Tensor>| r.unwrap_err().to_string();
    assert_eq!(
        msg(Tensor::try_random_uniform_with(
            [2],
            2.0,
            1.0,
            DType::Float32,
            &mut g
        )),
        "random_uniform: low 2 must not exceed high 1"
    );
    assert_eq!(
        msg(Tensor::try_random_uniform_with(
            [2],
            3.0,
            3.0,
            DType::Int32,
            &mut g
        )),
        "random_uniform: empty range [3, 3) for int32"
    );
    assert_eq!(
        msg(Tensor::try_random_uniform_with(
            [2],
            0.5,
            3.0,
            DType::Int64,
            &mut g
        )),
        "random_uniform: bounds must be whole numbers for int64, got [0.5, 3)"
    );
    assert_eq!(
        msg(Tensor::try_random_uniform_with(
            [2],
            0.0,
            257.0,
            DType::UInt8,
            &mut g
        )),
        "random_uniform: range [0, 257) does not fit uint8 (values 0..=255)"
    );
    assert_eq!(
        msg(Tensor::try_random_uniform_with(
            [2],
            0.0,
            1.0,
            DType::Bool,
            &mut g
        )),
        "random_uniform: not defined for bool tensors\n  hint: use Tensor::bernoulli"
    );
    assert_eq!(
        msg(Tensor::try_random_normal_with(
            [2],
            0.0,
            1.0,
            DType::Int32,
            &mut g
        )),
        "random_normal: dtype must be float32 or float64, got int32"
    );
    assert_eq!(
        msg(Tensor::try_truncated_normal_with(
            [2],
            0.0,
            -1.0,
            DType::Float32,
            &mut g
        )),
        "truncated_normal: mean must be finite and std finite and non-negative, got mean 0, std -1"
    );
    assert_eq!(
        msg(Tensor::try_bernoulli_with([2], 1.5, DType::Bool, &mut g)),
        "bernoulli: probability must be in [0, 1], got 1.5"
    );
    assert_eq!(
        msg(Tensor::zeros([2, 3, 4], DType::Float32).try_categorical_with(1, &mut g)),
        "categorical: logits must have shape (classes,) or (batch, classes), got (2, 3, 4)"
    );
    assert_eq!(
        msg(Tensor::zeros([2, 0], DType::Float32).try_categorical_with(1, &mut g)),
        "categorical: logits have no classes: shape (2, 0)"
    );
    assert_eq!(
        msg(
            Tensor::from([[0.0f32, 1.0], [f32::NEG_INFINITY, f32::NEG_INFINITY]])
                .try_categorical_with(1, &mut g)
        ),
        "categorical: row 1 of the logits has no finite maximum (all -inf, +inf or NaN)"
    );
    assert_eq!(
        msg(Tensor::from([1, 2]).try_categorical_with(1, &mut g)),
        "categorical: expected a float tensor, got int32"
    );
    assert_eq!(
        msg(Tensor::scalar(1.0f32).try_shuffle_with(&mut g)),
        "shuffle: cannot shuffle a scalar (shape ())"
    );
    assert_eq!(
        msg(Tensor::try_random_normal_with(
            [1 << 40, 1 << 40],
            0.0,
            1.0,
            DType::Float32,
            &mut g
        )),
        "random_normal: shape (1099511627776, 1099511627776) has more elements than fit in memory"
    );
    // Failed calls consume no draws.
    assert_eq!(g.offset(), 0);
}
