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

use keen_tensor::record::{record, Backward};
use keen_tensor::{DType, Float, Tensor};

fn one<T: Float>() -> T {
    T::from_f32(1.0)
}

/// The logistic function, split by sign so that `exp` never overflows (as keen's `sigmoid`).
#[inline(always)]
fn sigmoid<T: Float>(x: T) -> T {
    if x >= T::zero() {
        one::<T>() / (one::<T>() + (-x).exp())
    } else {
        let e = x.exp();
        e / (one::<T>() + e)
    }
}

fn slice<T: Float>(t: &Tensor) -> Vec<T> {
    match t.as_slice::<T>() {
        Some(s) => s.to_vec(),
        None => t.contiguous().as_slice::<T>().expect("contiguous").to_vec(),
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
    let bias: Vec<T> = rb.map_or_else(|| vec![T::zero(); 3 * u], slice::<T>);
    // Saved for backward, per (row, unit): z, r, n and the recurrent candidate term.
    let mut saved = vec![T::zero(); 4 * b * u];
    let mut out = vec![T::zero(); b * u];
    for i in 0..b {
        let (x, r_in) = (
            &xs[i * 3 * u..(i + 1) * 3 * u],
            &hs[i * 3 * u..(i + 1) * 3 * u],
        );
        for j in 0..u {
            let z = sigmoid(x[j] + r_in[j] + bias[j]);
            let r = sigmoid(x[u + j] + r_in[u + j] + bias[u + j]);
            let ih = r_in[2 * u + j] + bias[2 * u + j];
            let n = (x[2 * u + j] + r * ih).tanh();
            let k = i * u + j;
            out[k] = n + z * (hv[k] - n);
            saved[4 * k..4 * k + 4].copy_from_slice(&[z, r, n, ih]);
        }
    }
    let out = Tensor::from_vec(out, [b, u]);
    let mut inputs = vec![xp, hr];
    if let Some(rb) = rb {
        inputs.push(rb);
    }
    inputs.push(h);
    record(&inputs, &out, || GruBackward {
        saved: Tensor::from_vec(saved, [b, u, 4]),
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
        for i in 0..b {
            for j in 0..u {
                let k = i * u + j;
                let [z, r, n, ih] = [s[4 * k], s[4 * k + 1], s[4 * k + 2], s[4 * k + 3]];
                let gk = gv[k];
                dh[k] = gk * z;
                let dpn = gk * (one::<T>() - z) * (one::<T>() - n * n);
                let dpz = gk * (hv[k] - n) * z * (one::<T>() - z);
                let dpr = dpn * ih * r * (one::<T>() - r);
                let row = i * 3 * u;
                dxp[row + j] = dpz;
                dxp[row + u + j] = dpr;
                dxp[row + 2 * u + j] = dpn;
                dhr[row + j] = dpz;
                dhr[row + u + j] = dpr;
                dhr[row + 2 * u + j] = dpn * r;
                drb[j] += dpz;
                drb[u + j] += dpr;
                drb[2 * u + j] += dpn * r;
            }
        }
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
    // Saved per (row, unit): i, f, g, o and tanh(c').
    let mut saved = vec![T::zero(); 5 * b * u];
    let mut out = vec![T::zero(); b * 2 * u];
    for row in 0..b {
        let base = row * 4 * u;
        for j in 0..u {
            let pre = |q: usize| xs[base + q * u + j] + hs[base + q * u + j];
            let (i, f, g, o) = (
                sigmoid(pre(0)),
                sigmoid(pre(1)),
                pre(2).tanh(),
                sigmoid(pre(3)),
            );
            let k = row * u + j;
            let c_new = f * cv[k] + i * g;
            let tc = c_new.tanh();
            out[row * 2 * u + j] = o * tc;
            out[row * 2 * u + u + j] = c_new;
            saved[5 * k..5 * k + 5].copy_from_slice(&[i, f, g, o, tc]);
        }
    }
    let out = Tensor::from_vec(out, [b, 2 * u]);
    record(&[xp, hr, c], &out, || LstmBackward {
        saved: Tensor::from_vec(saved, [b, u, 5]),
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
        let o1 = one::<T>();
        for row in 0..b {
            for j in 0..u {
                let k = row * u + j;
                let [i, f, gg, o, tc] = [
                    s[5 * k],
                    s[5 * k + 1],
                    s[5 * k + 2],
                    s[5 * k + 3],
                    s[5 * k + 4],
                ];
                let (gh, gc) = (gv[row * 2 * u + j], gv[row * 2 * u + u + j]);
                let dc_new = gc + gh * o * (o1 - tc * tc);
                let base = row * 4 * u;
                dpre[base + j] = dc_new * gg * i * (o1 - i);
                dpre[base + u + j] = dc_new * cv[k] * f * (o1 - f);
                dpre[base + 2 * u + j] = dc_new * i * (o1 - gg * gg);
                dpre[base + 3 * u + j] = gh * tc * o * (o1 - o);
                dc[k] = dc_new * f;
            }
        }
        let dpre = Tensor::from_vec(dpre, [b, 4 * u]);
        vec![
            Some(dpre.clone()),
            Some(dpre),
            Some(Tensor::from_vec(dc, [b, u])),
        ]
    }
}
