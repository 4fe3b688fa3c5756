//! Fused gate kernels for the GRU and LSTM steps with Keras' default activations (tanh and
//! sigmoid).
//!
//! Written with tensor ops, a GRU step's gates are about ten elementwise ops forward and
//! twenty backward, each a pass over memory, an allocation and a tape node; at the seed's
//! sizes (batch 32, 256 units) that overhead rivals the recurrent GEMM. These kernels do the
//! gates in one pass forward and one backward, recorded as a single tape node. Other
//! activations take the composed path in `rnn_cells.rs`, which is also the reference the
//! fused path is tested against (and both against Keras).
//!
//! The backward rules use raw loops, so they are first-order only: a gradient of a gradient
//! through them is refused with a clear error by the tape.

use keen_tensor::kernels::simd::vectorized;
use keen_tensor::record::{record, Backward};
use keen_tensor::{DType, Float, Tensor};
use std::borrow::Cow;

/// `t`'s elements in row-major order, borrowed when `t` is contiguous.
fn slice<T: Float>(t: &Tensor) -> Cow<'_, [T]> {
    match t.as_slice::<T>() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(t.contiguous().as_slice::<T>().expect("contiguous").to_vec()),
    }
}

/// Runs `$body` with `$T` bound to the float type of `$dtype`.
macro_rules! float_dispatch {
    ($dtype:expr, $T:ident, $body:expr) => {
        match $dtype {
            DType::Float32 => {
                type $T = f32;
                $body
            }
            DType::Float64 => {
                type $T = f64;
                $body
            }
            other => panic!("recurrent gates: expected float32 or float64, got {other}"),
        }
    };
}

/// The GRU gates with `reset_after`: from the projected input `xp (b, 3u)` (input bias
/// included), the recurrent product `hr = h · U (b, 3u)`, the recurrent bias `(3u,)` and `h`:
///
/// ```text
/// z = σ(xp_z + hr_z + rb_z)    r = σ(xp_r + hr_r + rb_r)
/// n = tanh(xp_n + r ⊙ (hr_n + rb_n))    h' = n + z ⊙ (h − n)
/// ```
pub(crate) fn gru_reset_after(xp: &Tensor, hr: &Tensor, rb: Option<&Tensor>, h: &Tensor) -> Tensor {
    float_dispatch!(h.dtype(), T, gru_forward::<T>(xp, hr, rb, h))
}

fn gru_forward<T: Float>(xp: &Tensor, hr: &Tensor, rb: Option<&Tensor>, h: &Tensor) -> Tensor {
    let [b, u] = h.dims2();
    let (xs, hs, hv) = (slice::<T>(xp), slice::<T>(hr), slice::<T>(h));
    let bias = rb.map_or_else(|| Cow::Owned(vec![T::zero(); 3 * u]), slice::<T>);
    // Saved for backward as four (b, u) planes: z, r, n and the recurrent candidate term.
    // Planes rather than interleaved quadruples keep every store below a contiguous run.
    let mut saved = vec![T::zero(); 4 * b * u];
    let mut out = vec![T::zero(); b * u];
    let (zs, rest) = saved.split_at_mut(b * u);
    let (rs, rest) = rest.split_at_mut(b * u);
    let (ns, ihs) = rest.split_at_mut(b * u);
    vectorized(|| {
        for i in 0..b {
            let x = &xs[i * 3 * u..(i + 1) * 3 * u];
            let r_in = &hs[i * 3 * u..(i + 1) * 3 * u];
            let row = i * u..(i + 1) * u;
            let (o, hrow) = (&mut out[row.clone()], &hv[row.clone()]);
            let (zs, rs) = (&mut zs[row.clone()], &mut rs[row.clone()]);
            let (ns, ihs) = (&mut ns[row.clone()], &mut ihs[row]);
            for j in 0..u {
                let z = (x[j] + r_in[j] + bias[j]).sigmoid();
                let r = (x[u + j] + r_in[u + j] + bias[u + j]).sigmoid();
                let ih = r_in[2 * u + j] + bias[2 * u + j];
                let n = (x[2 * u + j] + r * ih).tanh();
                o[j] = n + z * (hrow[j] - n);
                (zs[j], rs[j], ns[j], ihs[j]) = (z, r, n, ih);
            }
        }
    });
    let out = Tensor::from_vec(out, [b, u]);
    let mut inputs = vec![xp, hr];
    if let Some(rb) = rb {
        inputs.push(rb);
    }
    inputs.push(h);
    record(&inputs, &out, || GruBackward {
        saved: Tensor::from_vec(saved, [4, b, u]),
        h: h.clone(),
        has_bias: rb.is_some(),
    });
    out
}

struct GruBackward {
    saved: Tensor,
    h: Tensor,
    has_bias: bool,
}

impl Backward for GruBackward {
    fn name(&self) -> &'static str {
        "gru_gates"
    }

    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        float_dispatch!(g.dtype(), T, self.grads::<T>(g))
    }

    fn supports_higher_order(&self) -> bool {
        false
    }
}

impl GruBackward {
    fn grads<T: Float>(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let [b, u] = self.h.dims2();
        let (gv, hv, s) = (slice::<T>(g), slice::<T>(&self.h), slice::<T>(&self.saved));
        let mut dxp = vec![T::zero(); b * 3 * u];
        let mut dhr = vec![T::zero(); b * 3 * u];
        let mut drb = vec![T::zero(); 3 * u];
        let mut dh = vec![T::zero(); b * u];
        let bu = b * u;
        let (zs, rs, ns, ihs) = (&s[..bu], &s[bu..2 * bu], &s[2 * bu..3 * bu], &s[3 * bu..]);
        vectorized(|| {
            for i in 0..b {
                let row = i * u..(i + 1) * u;
                let (z, r) = (&zs[row.clone()], &rs[row.clone()]);
                let (n, ih) = (&ns[row.clone()], &ihs[row.clone()]);
                let (gk, h, dh) = (&gv[row.clone()], &hv[row.clone()], &mut dh[row]);
                let (dx, dr) = (
                    &mut dxp[i * 3 * u..(i + 1) * 3 * u],
                    &mut dhr[i * 3 * u..(i + 1) * 3 * u],
                );
                for j in 0..u {
                    let (z, r, n) = (z[j], r[j], n[j]);
                    dh[j] = gk[j] * z;
                    let dpn = gk[j] * (T::one() - z) * (T::one() - n * n);
                    let dpz = gk[j] * (h[j] - n) * z * (T::one() - z);
                    let dpr = dpn * ih[j] * r * (T::one() - r);
                    dx[j] = dpz;
                    dx[u + j] = dpr;
                    dx[2 * u + j] = dpn;
                    dr[j] = dpz;
                    dr[u + j] = dpr;
                    dr[2 * u + j] = dpn * r;
                    drb[j] += dpz;
                    drb[u + j] += dpr;
                    drb[2 * u + j] += dpn * r;
                }
            }
        });
        let mut out = vec![
            Some(Tensor::from_vec(dxp, [b, 3 * u])),
            Some(Tensor::from_vec(dhr, [b, 3 * u])),
        ];
        if self.has_bias {
            out.push(Some(Tensor::from_vec(drb, [3 * u])));
        }
        out.push(Some(Tensor::from_vec(dh, [b, u])));
        out
    }
}

/// The LSTM gates: from the projected input `xp (b, 4u)` (bias included), the recurrent
/// product `hr = h · U (b, 4u)` and the cell state `c`, returns `[h', c']` side by side as
/// `(b, 2u)` (one tape node; the caller takes the halves as views):
///
/// ```text
/// [i, f, g, o] = xp + hr      c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)      h' = σ(o) ⊙ tanh(c')
/// ```
pub(crate) fn lstm(xp: &Tensor, hr: &Tensor, c: &Tensor) -> Tensor {
    float_dispatch!(c.dtype(), T, lstm_forward::<T>(xp, hr, c))
}

fn lstm_forward<T: Float>(xp: &Tensor, hr: &Tensor, c: &Tensor) -> Tensor {
    let [b, u] = c.dims2();
    let (xs, hs, cv) = (slice::<T>(xp), slice::<T>(hr), slice::<T>(c));
    // Saved as five (b, u) planes: i, f, g, o and tanh(c'), so every store is contiguous.
    let bu = b * u;
    let mut saved = vec![T::zero(); 5 * bu];
    let mut out = vec![T::zero(); b * 2 * u];
    vectorized(|| {
        for (row, o_row) in out.chunks_exact_mut(2 * u).enumerate() {
            let x = &xs[row * 4 * u..(row + 1) * 4 * u];
            let hr = &hs[row * 4 * u..(row + 1) * 4 * u];
            let c = &cv[row * u..(row + 1) * u];
            let (h_new, c_new) = o_row.split_at_mut(u);
            let mut planes = saved
                .chunks_exact_mut(bu)
                .map(|p| &mut p[row * u..(row + 1) * u]);
            let mut plane = || planes.next().expect("five planes");
            let (si, sf, sg, so, stc) = (plane(), plane(), plane(), plane(), plane());
            for j in 0..u {
                let i = (x[j] + hr[j]).sigmoid();
                let f = (x[u + j] + hr[u + j]).sigmoid();
                let g = (x[2 * u + j] + hr[2 * u + j]).tanh();
                let o = (x[3 * u + j] + hr[3 * u + j]).sigmoid();
                let cn = f * c[j] + i * g;
                let tc = cn.tanh();
                h_new[j] = o * tc;
                c_new[j] = cn;
                (si[j], sf[j], sg[j], so[j], stc[j]) = (i, f, g, o, tc);
            }
        }
    });
    let out = Tensor::from_vec(out, [b, 2 * u]);
    record(&[xp, hr, c], &out, || LstmBackward {
        saved: Tensor::from_vec(saved, [5, b, u]),
        c: c.clone(),
    });
    out
}

struct LstmBackward {
    saved: Tensor,
    c: Tensor,
}

impl Backward for LstmBackward {
    fn name(&self) -> &'static str {
        "lstm_gates"
    }

    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        float_dispatch!(g.dtype(), T, self.grads::<T>(g))
    }

    fn supports_higher_order(&self) -> bool {
        false
    }
}

impl LstmBackward {
    fn grads<T: Float>(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let [b, u] = self.c.dims2();
        let (gv, cv, s) = (slice::<T>(g), slice::<T>(&self.c), slice::<T>(&self.saved));
        let mut dpre = vec![T::zero(); b * 4 * u];
        let mut dc = vec![T::zero(); b * u];
        let o1 = T::one();
        let bu = b * u;
        vectorized(|| {
            for (row, dp) in dpre.chunks_exact_mut(4 * u).enumerate() {
                let r = row * u..(row + 1) * u;
                let plane = |q: usize| &s[q * bu..][r.clone()];
                let (si, sf, sg, so, stc) = (plane(0), plane(1), plane(2), plane(3), plane(4));
                let (gh, gc) = gv[row * 2 * u..(row + 1) * 2 * u].split_at(u);
                let (c, dc) = (&cv[r.clone()], &mut dc[r.clone()]);
                for j in 0..u {
                    let (i, f, gg, o, tc) = (si[j], sf[j], sg[j], so[j], stc[j]);
                    let dc_new = gc[j] + gh[j] * o * (o1 - tc * tc);
                    dp[j] = dc_new * gg * i * (o1 - i);
                    dp[u + j] = dc_new * c[j] * f * (o1 - f);
                    dp[2 * u + j] = dc_new * i * (o1 - gg * gg);
                    dp[3 * u + j] = gh[j] * tc * o * (o1 - o);
                    dc[j] = dc_new * f;
                }
            }
        });
        let dpre = Tensor::from_vec(dpre, [b, 4 * u]);
        vec![
            Some(dpre.clone()),
            Some(dpre),
            Some(Tensor::from_vec(dc, [b, u])),
        ]
    }
}
