//! Op-table entries for movement, slicing, joining, indexing and padding rules.
//!
//! Compositions (tile, repeat, stack, split, gather, scatter_add, masked_fill, outer) have no
//! rule of their own; they appear as extra samples under the primitive rule they exercise.

use crate::OpInfo;
use keen_tensor::{s, DType, Tensor};

/// Deterministic float64 values in about [-1, 1] of the given shape (a small LCG; `seed` varies
/// the stream).
fn rnd(dims: &[usize], seed: u64) -> Tensor {
    let n: usize = dims.iter().product();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let v: Vec<f64> = (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_vec(v, dims.to_vec())
}

fn ids(v: &[i64]) -> Tensor {
    Tensor::from(v.to_vec())
}

pub fn entries() -> Vec<OpInfo> {
    vec![
        // ---- the lead's movement rules ----
        OpInfo::new("reshape", |x| x[0].reshape([3, -1]))
            .sample("contiguous (2, 6)", vec![rnd(&[2, 6], 1)])
            .sample("transposed view (6, 2)ᵀ", vec![rnd(&[6, 2], 2).t()]),
        OpInfo::new("reshape", |x| x[0].flatten().expand_dims(0).squeeze(&[])).sample(
            "flatten/expand_dims/squeeze (2, 1, 3)",
            vec![rnd(&[2, 1, 3], 3)],
        ),
        OpInfo::new("permute", |x| x[0].permute(&[2, 0, 1]))
            .sample("(2, 3, 4)", vec![rnd(&[2, 3, 4], 4)])
            .sample("size-1 axis (1, 3, 2)", vec![rnd(&[1, 3, 2], 5)]),
        OpInfo::new("permute", |x| x[0].transpose(-2, -1).mul(&x[1]))
            .sample("transpose then mul", vec![rnd(&[3, 2], 6), rnd(&[2, 3], 7)]),
        OpInfo::new("contiguous", |x| x[0].transpose(0, 1).contiguous())
            .sample("transposed copy (2, 3)", vec![rnd(&[2, 3], 60)]),
        OpInfo::new("contiguous", |x| {
            x[0].permute(&[2, 0, 1]).contiguous().mul(&x[1])
        })
        .sample(
            "permuted copy then mul",
            vec![rnd(&[2, 3, 4], 61), rnd(&[4, 2, 3], 62)],
        ),
        OpInfo::new("broadcast_to", |x| x[0].broadcast_to([2, 3, 4]))
            .sample("row (4,)", vec![rnd(&[4], 8)])
            .sample("column (3, 1)", vec![rnd(&[3, 1], 9)])
            .sample("scalar", vec![rnd(&[], 10)]),
        // ---- slicing ----
        OpInfo::new("slice", |x| x[0].slice(s![.., 1..3, ..;2]))
            .sample("range and step (2, 4, 5)", vec![rnd(&[2, 4, 5], 11)])
            .sample(
                "transposed view",
                vec![rnd(&[5, 4, 2], 12).permute(&[2, 1, 0])],
            ),
        OpInfo::new("slice", |x| x[0].slice(s![-1, 1..;2]))
            .sample("index drops an axis (3, 5)", vec![rnd(&[3, 5], 13)]),
        OpInfo::new("slice", |x| x[0].narrow(0, 1, 2).mul(&x[0].narrow(0, 0, 2)))
            .sample("two overlapping narrows", vec![rnd(&[3, 2], 14)]),
        OpInfo::new("slice", |x| x[0].split(&[1, 2], 1)[1].clone())
            .sample("split piece", vec![rnd(&[2, 3], 15)]),
        OpInfo::new("slice", |x| {
            let [a, b]: [Tensor; 2] = x[0].chunk(2, 0).try_into().unwrap();
            a.mul(&b)
        })
        .sample("chunk halves multiplied", vec![rnd(&[4, 2], 16)]),
        OpInfo::new("slice", |x| x[0].unbind(1)[2].clone())
            .sample("unbind", vec![rnd(&[2, 3], 17)]),
        // ---- padding and flipping ----
        OpInfo::new("pad", |x| x[0].pad(&[(1, 0), (2, 1)], 0.5))
            .sample("(2, 3)", vec![rnd(&[2, 3], 18)])
            .sample("transposed view", vec![rnd(&[3, 2], 19).t()]),
        OpInfo::new("pad", |x| x[0].pad(&[(0, 0), (1, 1)], 0.0).square())
            .sample("pad then square (second order)", vec![rnd(&[2, 2], 20)]),
        OpInfo::new("flip", |x| x[0].flip(&[0, -1])).sample("(2, 3, 2)", vec![rnd(&[2, 3, 2], 21)]),
        OpInfo::new("flip", |x| x[0].flip(&[]).mul(&x[0]))
            .sample("all axes times itself", vec![rnd(&[3, 2], 22)]),
        OpInfo::new("broadcast_to", |x| x[0].tile(&[2, 1, 3]))
            .sample("tile (2, 2)", vec![rnd(&[2, 2], 23)]),
        OpInfo::new("broadcast_to", |x| x[0].repeat(2, -1))
            .sample("repeat along the last axis (2, 3)", vec![rnd(&[2, 3], 24)]),
        OpInfo::new("mul", |x| x[0].outer(&x[1]))
            .sample("outer (3,) x (2,)", vec![rnd(&[3], 25), rnd(&[2], 26)]),
        // ---- joining ----
        OpInfo::new("concat", |x| Tensor::concat(x, 1))
            .sample(
                "three inputs, one empty",
                vec![
                    rnd(&[2, 1, 3], 27),
                    rnd(&[2, 2, 3], 28),
                    rnd(&[2, 0, 3], 29),
                ],
            )
            .sample(
                "non-contiguous inputs",
                vec![rnd(&[3, 2], 30).t(), rnd(&[2], 31).broadcast_to([2, 2])],
            ),
        OpInfo::new("concat", |x| Tensor::concat(&[&x[0], &x[0].square()], -1))
            .sample("same input twice", vec![rnd(&[2, 2], 32)]),
        OpInfo::new("concat", |x| Tensor::stack(x, 1))
            .sample("stack", vec![rnd(&[2, 3], 33), rnd(&[2, 3], 34)]),
        // ---- indexing ----
        OpInfo::new("index_select", |x| x[0].index_select(1, &x[1]))
            .sample(
                "duplicates and a negative index",
                vec![rnd(&[2, 4, 3], 35), ids(&[3, 0, 3, -1])],
            )
            .sample(
                "int32 indices",
                vec![rnd(&[2, 4], 36), Tensor::from([1i32, 1])],
            ),
        OpInfo::new("index_select", |x| x[0].gather(&x[1]).square()).sample(
            "embedding lookup (5, 3) by (2, 3) ids",
            vec![rnd(&[5, 3], 37), Tensor::from([[4i64, 0, 4], [2, 2, 1]])],
        ),
        OpInfo::new("index_add", |x| x[0].index_add(1, &x[1], &x[2])).sample(
            "duplicates",
            vec![rnd(&[2, 3], 38), ids(&[2, 0, 2, 2]), rnd(&[2, 4], 39)],
        ),
        OpInfo::new("index_add", |x| x[0].scatter_add(&x[1], &x[2].square())).sample(
            "scatter_add of squared rows",
            vec![rnd(&[4, 2], 40), ids(&[3, 3, 0]), rnd(&[3, 2], 41)],
        ),
        OpInfo::new("take_along_axis", |x| x[0].take_along_axis(1, &x[1])).sample(
            "(2, 3, 2) by (2, 4, 2)",
            vec![
                rnd(&[2, 3, 2], 42),
                Tensor::from([
                    [[0i64, 2], [1, 1], [2, 2], [0, 0]],
                    [[1, 0], [1, 2], [2, 1], [0, 1]],
                ]),
            ],
        ),
        OpInfo::new("scatter_add_along_axis", |x| {
            x[0].scatter_add_along_axis(0, &x[1], &x[2].square())
        })
        .sample(
            "(3, 2) with duplicates",
            vec![
                rnd(&[3, 2], 43),
                Tensor::from([[2i64, 0], [2, 2]]),
                rnd(&[2, 2], 44),
            ],
        ),
        OpInfo::new("where", |x| {
            let mask = Tensor::from([[true, false, false], [false, true, false]]);
            x[0].masked_fill(&mask, -2.0).square()
        })
        .sample("masked_fill", vec![rnd(&[2, 3], 45)]),
        OpInfo::new("mul", |x| x[1].one_hot(3, DType::Float64).mul(&x[0])).sample(
            "one_hot weights",
            vec![rnd(&[2, 3], 46), Tensor::from([2i64, 0])],
        ),
    ]
}
