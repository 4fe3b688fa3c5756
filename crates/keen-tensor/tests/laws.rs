//! Property tests: broadcasting, reshape and permute laws that must hold for every shape.
//!
//! Values are small integers stored as float64, so sums and products are exact and the laws
//! can be checked with `==` whatever order a kernel adds in.

use keen_tensor::{DType, Shape, Tensor};
use proptest::prelude::*;

/// A float64 tensor of `dims` holding small integers from `seed`.
fn ints(dims: &[usize], seed: u64) -> Tensor {
    let n: usize = dims.iter().product();
    let v: Vec<f64> = (0..n as u64)
        .map(|i| ((i.wrapping_mul(2654435761).wrapping_add(seed * 40503)) % 11) as f64 - 5.0)
        .collect();
    Tensor::from_vec(v, dims.to_vec())
}

/// Two shapes that broadcast together: per axis both take the size or one takes 1, and either
/// may drop leading axes.
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop::collection::vec((0usize..5, 0u8..3), 0..5).prop_flat_map(|axes| {
        let a: Vec<usize> = axes
            .iter()
            .map(|&(d, w)| if w == 1 { 1 } else { d })
            .collect();
        let b: Vec<usize> = axes
            .iter()
            .map(|&(d, w)| if w == 2 { 1 } else { d })
            .collect();
        let r = a.len();
        (Just(a), Just(b), 0..=r, 0..=r)
            .prop_map(move |(a, b, da, db)| (a[da.min(r)..].to_vec(), b[db.min(r)..].to_vec()))
    })
}

/// A shape and a larger shape it broadcasts to.
fn broadcast_target() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (
        prop::collection::vec((1usize..4, 1usize..4, any::<bool>()), 0..4),
        prop::collection::vec(0usize..4, 0..3),
    )
        .prop_map(|(axes, lead)| {
            let small: Vec<usize> = axes
                .iter()
                .map(|&(d, _, one)| if one { 1 } else { d })
                .collect();
            let mut big = lead;
            big.extend(axes.iter().map(|&(d, k, one)| if one { k } else { d }));
            (small, big)
        })
}

fn shape_and_perm() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop::collection::vec(0usize..4, 0..5).prop_flat_map(|dims| {
        let r = dims.len();
        (Just(dims), Just((0..r).collect::<Vec<_>>()).prop_shuffle())
    })
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 96,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn add_and_mul_commute_under_broadcasting((sa, sb) in broadcast_pair(), seed in 0u64..100) {
        let (a, b) = (ints(&sa, seed), ints(&sb, seed + 1));
        let ab = a.add(&b);
        prop_assert_eq!(ab.dims().to_vec(), b.add(&a).dims().to_vec());
        prop_assert_eq!(ab.to_vec::<f64>(), b.add(&a).to_vec::<f64>());
        prop_assert_eq!(a.mul(&b).to_vec::<f64>(), b.mul(&a).to_vec::<f64>());
        // and equal the op on explicitly broadcast (materialised) operands
        let out = ab.shape().clone();
        let (ax, bx) = (a.broadcast_to(&out).contiguous(), b.broadcast_to(&out).contiguous());
        prop_assert_eq!(ab.to_vec::<f64>(), ax.add(&bx).to_vec::<f64>());
        prop_assert_eq!(a.sub(&b).to_vec::<f64>(), ax.sub(&bx).to_vec::<f64>());
        prop_assert_eq!(a.maximum(&b).to_vec::<f64>(), ax.maximum(&bx).to_vec::<f64>());
    }

    #[test]
    fn broadcast_then_sum_to_shape_multiplies_by_the_repeat_count(
        (small, big) in broadcast_target(), seed in 0u64..100
    ) {
        let x = ints(&small, seed);
        let bx = x.broadcast_to(big.clone());
        prop_assert!(bx.shares_storage(&x));
        let count = big.iter().product::<usize>() / small.iter().product::<usize>().max(1);
        let back = bx.sum_to_shape(&Shape::from(small.clone()));
        prop_assert_eq!(back.dims(), &small[..]);
        if big.iter().product::<usize>() > 0 {
            prop_assert_eq!(back.to_vec::<f64>(), x.mul(count as f64).to_vec::<f64>());
        } else {
            prop_assert!(back.to_vec::<f64>().iter().all(|&v| v == 0.0));
        }
    }

    #[test]
    fn permute_then_inverse_permute_is_identity((dims, perm) in shape_and_perm(), seed in 0u64..100) {
        let x = ints(&dims, seed);
        let p: Vec<isize> = perm.iter().map(|&a| a as isize).collect();
        let mut inv = vec![0isize; p.len()];
        for (i, &a) in perm.iter().enumerate() {
            inv[a] = i as isize;
        }
        let y = x.permute(&p);
        prop_assert!(y.shares_storage(&x));
        for (i, &a) in perm.iter().enumerate() {
            prop_assert_eq!(y.dims()[i], dims[a]);
        }
        let z = y.permute(&inv);
        prop_assert_eq!(z.dims(), &dims[..]);
        prop_assert_eq!(z.to_vec::<f64>(), x.to_vec::<f64>());
        // negative axes name the same permutation
        let neg: Vec<isize> = p.iter().map(|&a| a - p.len() as isize).collect();
        prop_assert_eq!(x.permute(&neg).to_vec::<f64>(), y.to_vec::<f64>());
    }

    #[test]
    fn reshape_round_trips((dims, perm) in shape_and_perm(), seed in 0u64..100) {
        let x = ints(&dims, seed);
        let flat = x.reshape([-1]);
        prop_assert_eq!(flat.to_vec::<f64>(), x.to_vec::<f64>());
        let back = flat.reshape_dims(&dims.iter().map(|&d| d as isize).collect::<Vec<_>>());
        prop_assert_eq!(back.dims(), &dims[..]);
        prop_assert_eq!(back.to_vec::<f64>(), x.to_vec::<f64>());
        // through a non-contiguous view: reshape copies in logical order
        let p: Vec<isize> = perm.iter().map(|&a| a as isize).collect();
        let y = x.permute(&p);
        let y_dims: Vec<isize> = y.dims().iter().map(|&d| d as isize).collect();
        let round = y.flatten().reshape_dims(&y_dims);
        prop_assert_eq!(round.to_vec::<f64>(), y.to_vec::<f64>());
        prop_assert_eq!(y.flatten().to_vec::<f64>(), y.contiguous().to_vec::<f64>());
    }

    #[test]
    fn transpose_of_matmul_is_matmul_of_transposes(
        batch in prop::collection::vec(1usize..3, 0..3),
        (m, k, n) in (1usize..6, 0usize..6, 1usize..6),
        seed in 0u64..100,
    ) {
        let mut da = batch.clone();
        da.extend([m, k]);
        let mut db = batch.clone();
        db.extend([k, n]);
        let (a, b) = (ints(&da, seed), ints(&db, seed + 7));
        let lhs = a.matmul(&b).transpose(-2, -1);
        let rhs = b.transpose(-2, -1).matmul(&a.transpose(-2, -1));
        prop_assert_eq!(lhs.dims().to_vec(), rhs.dims().to_vec());
        prop_assert_eq!(lhs.to_vec::<f64>(), rhs.to_vec::<f64>());
        // and the same in int64, where the GEMM is a different kernel
        let (ai, bi) = (a.cast(DType::Int64), b.cast(DType::Int64));
        prop_assert_eq!(
            ai.matmul(&bi).to_vec::<i64>(),
            a.matmul(&b).cast(DType::Int64).to_vec::<i64>()
        );
    }
}
