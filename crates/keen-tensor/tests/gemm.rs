//! `GemmElem::gemm` checked against a float64 triple loop: sizes around the `gemm` crate's
//! vector widths, primes, 1×1×1, k = 0, transposed, broadcast (zero) and negative strides,
//! accumulation, and with threads both the crate's own threading and keen's split of mid-size
//! f32 products into one slice of rows or columns per thread (2^21 to 2^26 multiply-adds).

use keen_tensor::kernels::gemm::{GemmElem, Mat};

/// Deterministic values in [-1, 1) from a 64-bit LCG.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((s >> 40) as f32 / (1u64 << 23) as f32) - 1.0
        })
        .collect()
}

/// How an operand is laid out in memory.
#[derive(Clone, Copy, Debug)]
enum Layout {
    RowMajor,
    /// Stored transposed (a `.t()` view: row stride 1).
    ColMajor,
    /// Row-major with padding after each row and every other column skipped: neither
    /// stride is 1.
    Strided,
    /// Rows stored bottom to top (a negative row stride).
    Reversed,
}

/// An r×c operand in `layout` holding `vals` (row-major order): its storage and `Mat` offsets.
struct Operand {
    buf: Vec<f32>,
    start: usize,
    rs: isize,
    cs: isize,
}

impl Operand {
    fn new(vals: &[f32], r: usize, c: usize, layout: Layout) -> Operand {
        let (len, start, rs, cs) = match layout {
            Layout::RowMajor => (r * c, 0, c as isize, 1),
            Layout::ColMajor => (r * c, 0, 1, r as isize),
            Layout::Strided => ((2 * c + 3) * r, 0, (2 * c + 3) as isize, 2),
            Layout::Reversed => (r * c, (r.max(1) - 1) * c, -(c as isize), 1),
        };
        let mut buf = vec![f32::NAN; len.max(1)];
        for i in 0..r {
            for j in 0..c {
                let at = start as isize + i as isize * rs + j as isize * cs;
                buf[at as usize] = vals[i * c + j];
            }
        }
        Operand { buf, start, rs, cs }
    }

    fn mat(&self) -> Mat<f32> {
        Mat {
            ptr: self.buf[self.start..].as_ptr(),
            rs: self.rs,
            cs: self.cs,
        }
    }
}

/// Runs one f32 product and compares it with the float64 reference.
#[allow(clippy::too_many_arguments)]
fn check(m: usize, n: usize, k: usize, la: Layout, lb: Layout, acc: bool, threads: bool) {
    let (a, b) = (values(m * k, 1 + m as u64), values(k * n, 2 + n as u64));
    let c0 = values(m * n, 3);
    let (oa, ob) = (Operand::new(&a, m, k, la), Operand::new(&b, k, n, lb));
    // Without accumulate the output must be fully overwritten: start it as NaN.
    let mut dst = if acc {
        c0.clone()
    } else {
        vec![f32::NAN; m * n]
    };
    // SAFETY: the operands address m×k and k×n matrices; dst holds m·n floats.
    unsafe { f32::gemm(m, n, k, dst.as_mut_ptr(), acc, oa.mat(), ob.mat(), threads) };
    for i in 0..m {
        for j in 0..n {
            let mut want: f64 = if acc { c0[i * n + j] as f64 } else { 0.0 };
            for p in 0..k {
                want += a[i * k + p] as f64 * b[p * n + j] as f64;
            }
            let got = dst[i * n + j] as f64;
            let tol = 1e-5 * (k as f64 + 1.0).sqrt() * 4.0;
            assert!(
                (got - want).abs() <= tol,
                "{m}×{k}·{k}×{n} lhs {la:?} rhs {lb:?} accumulate {acc} threads {threads}: \
                 C[{i}, {j}] = {got}, want {want}"
            );
        }
    }
}

#[test]
fn edge_sizes() {
    // Around vector widths (16 floats), a 256-deep k block and small primes.
    let ms = [1, 5, 11, 12, 13, 25, 97];
    let ns = [1, 7, 16, 17, 31, 32, 33, 65];
    let ks = [1, 3, 255, 256, 257];
    {
        for &m in &ms {
            for &n in &ns {
                for &k in &ks {
                    check(m, n, k, Layout::RowMajor, Layout::RowMajor, false, false);
                }
            }
        }
    }
}

#[test]
fn every_layout_and_accumulate() {
    let layouts = [
        Layout::RowMajor,
        Layout::ColMajor,
        Layout::Strided,
        Layout::Reversed,
    ];
    {
        for la in layouts {
            for lb in layouts {
                for acc in [false, true] {
                    check(29, 37, 41, la, lb, acc, false);
                    check(1, 1, 1, la, lb, acc, false);
                }
            }
        }
    }
}

#[test]
fn threaded_products_split_rows_and_columns() {
    // Tall (split by rows) and wide (split by columns, 229 not a multiple of 16) products in
    // keen's split range, and one below it on the crate's threading.
    {
        for (m, n, k) in [(131, 67, 300), (37, 229, 263), (64, 32, 64)] {
            for acc in [false, true] {
                check(m, n, k, Layout::RowMajor, Layout::ColMajor, acc, true);
                check(m, n, k, Layout::ColMajor, Layout::RowMajor, acc, true);
            }
        }
    }
}

#[test]
fn empty_depth_zeroes_or_keeps_the_output() {
    {
        check(13, 33, 0, Layout::RowMajor, Layout::RowMajor, false, true);
        check(13, 33, 0, Layout::RowMajor, Layout::RowMajor, true, true);
    }
}

#[test]
fn broadcast_operands_with_zero_strides() {
    // A row vector broadcast down the rows of lhs (row stride 0), as a broadcast view gives.
    let (m, n, k) = (19, 35, 23);
    let row = values(k, 9);
    let b = values(k * n, 10);
    {
        let mut dst = vec![f32::NAN; m * n];
        let lhs = Mat {
            ptr: row.as_ptr(),
            rs: 0,
            cs: 1,
        };
        let rhs = Mat {
            ptr: b.as_ptr(),
            rs: n as isize,
            cs: 1,
        };
        // SAFETY: with row stride 0 every lhs row is `row` (k floats); rhs is k×n.
        unsafe { f32::gemm(m, n, k, dst.as_mut_ptr(), false, lhs, rhs, false) };
        for j in 0..n {
            let want: f64 = (0..k).map(|p| row[p] as f64 * b[p * n + j] as f64).sum();
            for i in 0..m {
                assert!((dst[i * n + j] as f64 - want).abs() < 1e-4, "C[{i}, {j}]");
            }
        }
    }
}

#[test]
fn uneven_and_empty_split_parts() {
    // More threads than the product divides evenly into; with 16 threads the last part of
    // 229 columns (in 16-wide slices) is empty.
    for threads in [3, 5, 16] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            check(37, 229, 263, Layout::RowMajor, Layout::RowMajor, true, true);
            check(
                229,
                37,
                263,
                Layout::ColMajor,
                Layout::RowMajor,
                false,
                true,
            );
        });
    }
}
