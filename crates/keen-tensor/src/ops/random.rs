//! Random tensors from a counter-based generator whose streams never change.
//!
//! # The generator
//!
//! [`Generator`] is Philox4x32-10 (Salmon et al., *Parallel random numbers: as easy as 1, 2, 3*,
//! SC 2011), the generator of cuRAND, JAX and TensorFlow's stateless ops. It is a keyed bijection
//! of a 128-bit counter: the bits of draw number `i` depend only on `(seed, stream, i)`. Keen
//! implements it here (about 20 lines) instead of using the `rand` crate, whose streams may change
//! between releases: a seed gives the same numbers in every keen version, on every machine and
//! for every thread count. The integer bits are exact everywhere; float transforms use `ln`,
//! `sqrt` and `cos` from std, so a normal draw can differ in its last bit on a platform whose
//! libm rounds differently.
//!
//! Each element of a random tensor consumes one draw (one Philox block of 128 bits, except
//! bernoulli's quarter block):
//!
//! | op | bits of draw `i` |
//! | --- | --- |
//! | uniform float | 53 bits → `u` in [0, 1), `low + (high - low)·u` in f64, then rounded to the dtype |
//! | uniform int | 64 bits → `low + ⌊bits·(high - low) / 2⁶⁴⌋` (Lemire's multiply, no modulo) |
//! | normal | Box–Muller, `√(-2 ln u₁)·cos(2π u₂)` with `u₁` in (0, 1], `u₂` in [0, 1) |
//! | truncated normal | as normal; draws beyond 2 std retry with the block's attempt word + 1 |
//! | bernoulli | 32 bits: lane `i mod 4` of block `⌊i/4⌋` under the attempt word 2³¹ (a domain no other op uses) → `bits < ⌊p·2³²⌋` |
//! | categorical | `u` picks a class by inverse CDF of `softmax(logits)` |
//! | permutation | Fisher–Yates; draw `i` picks the partner of position `i` |
//!
//! A float32 tensor is the float64 tensor of the same draws, rounded (uniform draws that round up
//! to `high` are moved one ulp down so that `high` stays excluded).
//!
//! # Seeds and threads
//!
//! Ops without a generator argument draw from the calling thread's *default generator*.
//! [`set_seed`] (TensorFlow's `tf$random$set_seed`) fixes the process-wide seed: the calling
//! thread's default generator restarts at `Generator::new(seed)`, and every other thread's default
//! generator restarts at `Generator::new(seed).with_stream(k)` before its next draw, where `k ≥ 1`
//! is the order in which threads first drew. Without `set_seed` the seed comes from the OS, so
//! runs differ (as in TensorFlow and PyTorch).
//!
//! How parallel code stays deterministic:
//! - Inside an op, large tensors are filled by several threads, but each element's value depends
//!   only on its index, so results never depend on the thread count.
//! - Across threads, give each worker an explicit generator,
//!   `Generator::new(seed).with_stream(worker_index)`, and use the `_with` ops; streams are
//!   independent. (Relying on other threads' default generators is reproducible only when the
//!   threads first draw in a fixed order.)
//!
//! ```
//! use keen_tensor::{DType, Tensor};
//! use keen_tensor::ops::random::{set_seed, Generator};
//!
//! set_seed(42);
//! let a = Tensor::random_normal([2, 3], 0.0, 1.0, DType::Float32);
//! set_seed(42);
//! assert_eq!(a.to_vec::<f32>(), Tensor::random_normal([2, 3], 0.0, 1.0, DType::Float32).to_vec::<f32>());
//!
//! let mut g = Generator::new(7);
//! let dice = Tensor::random_uniform_with([10], 1.0, 7.0, DType::Int32, &mut g);
//! println!("{dice}");
//! ```

use crate::dtype::DType;
use crate::error::{or_panic, Result};
use crate::kernels::elementwise::fill_chunks;
use crate::kernels::simd::{vectorized_loop, Loop};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// One Philox4x32-10 block: the 10-round keyed bijection of a 128-bit counter.
///
/// Matches the known-answer vectors of Random123 (`kat_vectors`), for example counter 0 and
/// key 0 give `[0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]`.
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    const M0: u64 = 0xD251_1F53;
    const M1: u64 = 0xCD9E_8D57;
    const W0: u32 = 0x9E37_79B9;
    const W1: u32 = 0xBB67_AE85;
    let [mut c0, mut c1, mut c2, mut c3] = counter;
    let [mut k0, mut k1] = key;
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let p0 = M0 * c0 as u64;
        let p1 = M1 * c2 as u64;
        (c0, c1, c2, c3) = (
            (p1 >> 32) as u32 ^ c1 ^ k0,
            p1 as u32,
            (p0 >> 32) as u32 ^ c3 ^ k1,
            p0 as u32,
        );
    }
    [c0, c1, c2, c3]
}

/// A seedable random generator with reproducible streams (Philox4x32-10, see the module docs).
///
/// Its whole state is `(seed, stream, offset)`: the offset counts draws taken so far, so a
/// generator can be saved (it implements serde) and resumed exactly.
///
/// ```
/// use keen_tensor::{DType, Tensor};
/// use keen_tensor::ops::random::Generator;
///
/// let mut g = Generator::new(0);
/// let x = Tensor::random_uniform_with([3], 0.0, 1.0, DType::Float64, &mut g);
/// let y = Tensor::random_uniform_with([3], 0.0, 1.0, DType::Float64, &mut g); // continues the stream
/// assert_ne!(x.to_vec::<f64>(), y.to_vec::<f64>());
/// assert_eq!(g.offset(), 6);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Generator {
    seed: u64,
    stream: u32,
    offset: u64,
}

impl Generator {
    /// A generator at the start of stream 0 of `seed`.
    pub fn new(seed: u64) -> Self {
        Generator {
            seed,
            stream: 0,
            offset: 0,
        }
    }

    /// The same seed on another independent stream (one per worker thread, say), restarted.
    pub fn with_stream(self, stream: u32) -> Self {
        Generator {
            seed: self.seed,
            stream,
            offset: 0,
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The stream number.
    pub fn stream(&self) -> u32 {
        self.stream
    }

    /// The number of draws taken so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The 128 bits of draw `index`, retry `attempt` (truncated normal's rejections).
    #[inline(always)]
    fn block(&self, index: u64, attempt: u32) -> [u32; 4] {
        philox4x32_10(
            [index as u32, (index >> 32) as u32, attempt, self.stream],
            [self.seed as u32, (self.seed >> 32) as u32],
        )
    }

    /// The block whose four 32-bit lanes are draws `4·quad … 4·quad + 3` of the ops that
    /// take 32 bits a draw (bernoulli). The attempt word's top bit keeps these blocks apart
    /// from the full-block draws, whose attempt words stay small.
    #[inline(always)]
    fn lanes(&self, quad: u64) -> [u32; 4] {
        self.block(quad, 1 << 31)
    }

    /// Reserves `n` consecutive draws and returns the index of the first.
    fn take(&mut self, n: usize) -> u64 {
        let first = self.offset;
        self.offset = self.offset.wrapping_add(n as u64);
        first
    }

    /// One draw as 64 uniformly random bits.
    pub fn next_u64(&mut self) -> u64 {
        let i = self.take(1);
        bits64(self.block(i, 0))
    }

    /// One draw as an f64 uniform in [0, 1) (53 random bits).
    pub fn next_f64(&mut self) -> f64 {
        let i = self.take(1);
        unit_f64(self.block(i, 0))
    }

    /// One draw as an integer uniform in [0, n) (`n` must be positive).
    ///
    /// # Panics
    /// `below: n must be positive`.
    #[track_caller]
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below: n must be positive");
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

#[inline(always)]
fn bits64(b: [u32; 4]) -> u64 {
    (b[1] as u64) << 32 | b[0] as u64
}

/// [0, 1) from the first 64 bits of a block.
#[inline(always)]
fn unit_f64(b: [u32; 4]) -> f64 {
    (bits64(b) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal from one block (Box–Muller, cosine branch).
#[inline(always)]
fn normal_f64(b: [u32; 4]) -> f64 {
    let u1 = ((bits64(b) >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64); // (0, 1]
    let u2 = (((b[3] as u64) << 32 | b[2] as u64) >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

// ---- the default generator of each thread ----

struct Global {
    seed: u64,
    epoch: u64,
}
static GLOBAL: Mutex<Option<Global>> = Mutex::new(None);
static NEXT_STREAM: AtomicU32 = AtomicU32::new(1);

thread_local! {
    /// This thread's default generator and the epoch of the global seed it was made from.
    static DEFAULT: RefCell<Option<(u64, Generator)>> = const { RefCell::new(None) };
    /// This thread's stream number for default generators it did not seed itself (0 = unset).
    static THREAD_STREAM: Cell<u32> = const { Cell::new(0) };
}

fn global() -> (u64, u64) {
    let mut g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
    let g = g.get_or_insert_with(|| {
        use std::hash::{BuildHasher, Hasher};
        // The OS-seeded keys of std's HashMap: fresh entropy per process, no extra dependency.
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Global { seed, epoch: 0 }
    });
    (g.seed, g.epoch)
}

/// Sets the global seed, as TensorFlow's `tf$random$set_seed`: the calling thread's default
/// generator restarts at `Generator::new(seed)`, other threads' at stream `k ≥ 1` of `seed`
/// (see the module docs on threads).
///
/// ```
/// use keen_tensor::{DType, Tensor};
/// keen_tensor::ops::random::set_seed(1234);
/// let a = Tensor::random_uniform([4], 0.0, 1.0, DType::Float32);
/// keen_tensor::ops::random::set_seed(1234);
/// let b = Tensor::random_uniform([4], 0.0, 1.0, DType::Float32);
/// assert_eq!(a.to_vec::<f32>(), b.to_vec::<f32>());
/// ```
pub fn set_seed(seed: u64) {
    let epoch = {
        let mut g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
        let epoch = g.as_ref().map_or(0, |g| g.epoch) + 1;
        *g = Some(Global { seed, epoch });
        epoch
    };
    DEFAULT.with(|d| *d.borrow_mut() = Some((epoch, Generator::new(seed))));
}

/// The global seed: the last one given to [`set_seed`], else the one drawn from the OS.
pub fn global_seed() -> u64 {
    global().0
}

/// Runs `f` with the calling thread's default generator (the one the ops without a generator
/// argument use). For layers and datasets that draw their own numbers.
///
/// # Panics
/// If `f` itself calls back into `with_default_generator` (a `RefCell` is borrowed).
pub fn with_default_generator<R>(f: impl FnOnce(&mut Generator) -> R) -> R {
    let (seed, epoch) = global();
    DEFAULT.with(|d| {
        let mut d = d.borrow_mut();
        if d.as_ref().is_none_or(|(e, _)| *e != epoch) {
            *d = Some((epoch, Generator::new(seed).with_stream(thread_stream())));
        }
        let (_, g) = d.as_mut().expect("set above");
        f(g)
    })
}

fn thread_stream() -> u32 {
    THREAD_STREAM.with(|s| {
        if s.get() == 0 {
            s.set(NEXT_STREAM.fetch_add(1, Ordering::Relaxed));
        }
        s.get()
    })
}

// ---- the ops ----

/// Fills `n` values with `f(draw index of element i)`, in parallel when large.
fn fill<T: crate::Element>(
    g: &mut Generator,
    shape: Shape,
    f: impl Fn(&Generator, u64) -> T + Sync + Send,
) -> Tensor {
    let n = shape.numel();
    let first = g.take(n);
    let g = &*g;
    let data = fill_chunks(n, |start, out| {
        for (k, o) in out.iter_mut().enumerate() {
            *o = f(g, first.wrapping_add((start + k) as u64));
        }
    });
    Tensor::from_vec_unchecked(data, shape)
}

/// Quads [`fill_lanes`] computes at once.
const QUADS: usize = 16;

/// [`Generator::lanes`] of the `QUADS` quads from `first`, as `out[lane][i]` for quad
/// `first + i`: the rounds of [`philox4x32_10`] on arrays, which compile to vector multiplies
/// (one block at a time was a twentieth of a DCGAN step, drawing its dropout masks).
#[inline(always)]
fn lanes_of_quads(g: &Generator, first: u64) -> [[u32; QUADS]; 4] {
    const M0: u64 = 0xD251_1F53;
    const M1: u64 = 0xCD9E_8D57;
    let mut c = [[0u32; QUADS]; 4];
    for i in 0..QUADS {
        let q = first.wrapping_add(i as u64);
        c[0][i] = q as u32;
        c[1][i] = (q >> 32) as u32;
        c[2][i] = 1 << 31;
        c[3][i] = g.stream;
    }
    let (mut k0, mut k1) = (g.seed as u32, (g.seed >> 32) as u32);
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(0x9E37_79B9);
            k1 = k1.wrapping_add(0xBB67_AE85);
        }
        for i in 0..QUADS {
            let p0 = M0 * c[0][i] as u64;
            let p1 = M1 * c[2][i] as u64;
            c[0][i] = (p1 >> 32) as u32 ^ c[1][i] ^ k0;
            c[1][i] = p1 as u32;
            c[2][i] = (p0 >> 32) as u32 ^ c[3][i] ^ k1;
            c[3][i] = p0 as u32;
        }
    }
    c
}

/// `out[i] = f(32 bits of draw + i)` for a run `out` whose first draw starts a Philox block.
struct Quads<'a, T, F> {
    g: &'a Generator,
    draw: u64,
    out: &'a mut [T],
    f: &'a F,
}

impl<T, F: Fn(u32) -> T> Loop for Quads<'_, T, F> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Quads {
            g,
            mut draw,
            out,
            f,
        } = self;
        let mut runs = out.chunks_exact_mut(4 * QUADS);
        for run in &mut runs {
            let c = lanes_of_quads(g, draw / 4);
            for (i, four) in run.chunks_exact_mut(4).enumerate() {
                for (lane, o) in four.iter_mut().enumerate() {
                    *o = f(c[lane][i]);
                }
            }
            draw = draw.wrapping_add((4 * QUADS) as u64);
        }
        for o in runs.into_remainder() {
            *o = f(g.lanes(draw / 4)[(draw % 4) as usize]);
            draw = draw.wrapping_add(1);
        }
    }
}

/// As [`fill`] for ops that take 32 bits a draw: one Philox block serves four elements.
fn fill_lanes<T: crate::Element>(
    g: &mut Generator,
    shape: Shape,
    f: impl Fn(u32) -> T + Sync + Send,
) -> Tensor {
    let n = shape.numel();
    let first = g.take(n);
    let g = &*g;
    let data = fill_chunks(n, |start, out| {
        let mut draw = first.wrapping_add(start as u64);
        let mut rest = &mut out[..];
        // Up to the first whole block one element at a time, then QUADS blocks at a time.
        while !rest.is_empty() && !draw.is_multiple_of(4) {
            rest[0] = f(g.lanes(draw / 4)[(draw % 4) as usize]);
            rest = &mut rest[1..];
            draw = draw.wrapping_add(1);
        }
        vectorized_loop(Quads {
            g,
            draw,
            out: rest,
            f: &f,
        });
    });
    Tensor::from_vec_unchecked(data, shape)
}

/// `value` with probability `p`, else zero, one 32-bit draw an element: bernoulli's mask
/// (`value` 1) and dropout's (already scaled).
fn keep_mask<T: crate::Element>(g: &mut Generator, shape: Shape, p: f64, value: f64) -> Tensor {
    // p·2³² ≤ 2³², so p = 1 keeps every 32-bit draw and p = 0 none.
    let threshold = (p * 4_294_967_296.0) as u64;
    let value = T::from_f64(value);
    fill_lanes(g, shape, move |bits| {
        if (bits as u64) < threshold {
            value
        } else {
            T::zero()
        }
    })
}

fn expect_float_dtype(op: &str, dtype: DType) -> Result<()> {
    if !dtype.is_float() {
        crate::bail!(DType, "{op}: dtype must be float32 or float64, got {dtype}");
    }
    Ok(())
}

/// A normal-distribution fill shared by `random_normal` and `truncated_normal`.
fn normal_fill(
    op: &str,
    shape: Shape,
    mean: f64,
    std: f64,
    dtype: DType,
    truncate: bool,
    g: &mut Generator,
) -> Result<Tensor> {
    shape.checked_numel(op)?;
    expect_float_dtype(op, dtype)?;
    shape.checked_alloc(op, dtype)?;
    if !(std >= 0.0 && std.is_finite() && mean.is_finite()) {
        crate::bail!(
            Argument,
            "{op}: mean must be finite and std finite and non-negative, got mean {mean}, std {std}"
        );
    }
    let draw = move |g: &Generator, i: u64| -> f64 {
        let mut attempt = 0;
        loop {
            let z = normal_f64(g.block(i, attempt));
            // P(|z| > 2) = 4.6%, so 64 retries fail with probability 1e-85.
            if !truncate {
                return mean + std * z;
            }
            if z.abs() <= 2.0 || attempt == 64 {
                return mean + std * z.clamp(-2.0, 2.0);
            }
            attempt += 1;
        }
    };
    Ok(match dtype {
        DType::Float32 => fill(g, shape, |g, i| draw(g, i) as f32),
        _ => fill(g, shape, draw),
    })
}

impl Tensor {
    /// Uniform random values in `[low, high)`.
    ///
    /// Float dtypes draw reals (`low == high` gives `low`); integer dtypes draw whole numbers,
    /// each of `low, low + 1, …, high - 1` equally likely (TensorFlow's `random.uniform` with an
    /// integer dtype). Draws from the thread's default generator; see
    /// [`random_uniform_with`](Self::random_uniform_with) for an explicit one.
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// let x = Tensor::random_uniform([2, 3], -1.0, 1.0, DType::Float32);
    /// assert!(x.to_vec::<f32>().iter().all(|v| (-1.0..1.0).contains(v)));
    /// ```
    /// # Panics
    /// `random_uniform: low 2 must not exceed high 1`; for integers
    /// `random_uniform: empty range [3, 3) for int32`; bool is refused.
    #[track_caller]
    pub fn random_uniform(shape: impl Into<Shape>, low: f64, high: f64, dtype: DType) -> Tensor {
        or_panic(Self::try_random_uniform(shape, low, high, dtype))
    }

    /// Fallible [`random_uniform`](Self::random_uniform).
    pub fn try_random_uniform(
        shape: impl Into<Shape>,
        low: f64,
        high: f64,
        dtype: DType,
    ) -> Result<Tensor> {
        let shape = shape.into();
        with_default_generator(|g| Self::try_random_uniform_with(shape, low, high, dtype, g))
    }

    /// [`random_uniform`](Self::random_uniform) drawing from `g`.
    #[track_caller]
    pub fn random_uniform_with(
        shape: impl Into<Shape>,
        low: f64,
        high: f64,
        dtype: DType,
        g: &mut Generator,
    ) -> Tensor {
        or_panic(Self::try_random_uniform_with(shape, low, high, dtype, g))
    }

    /// Fallible [`random_uniform_with`](Self::random_uniform_with).
    pub fn try_random_uniform_with(
        shape: impl Into<Shape>,
        low: f64,
        high: f64,
        dtype: DType,
        g: &mut Generator,
    ) -> Result<Tensor> {
        let op = "random_uniform";
        let shape = shape.into();
        shape.checked_numel(op)?;
        if !(low.is_finite() && high.is_finite()) {
            crate::bail!(Argument, "{op}: bounds must be finite, got [{low}, {high})");
        }
        shape.checked_alloc(op, dtype)?;
        if dtype.is_float() {
            if low > high {
                crate::bail!(Argument, "{op}: low {low} must not exceed high {high}");
            }
            let unit = move |g: &Generator, i: u64| low + (high - low) * unit_f64(g.block(i, 0));
            return Ok(match dtype {
                DType::Float32 => {
                    let hi = high as f32;
                    fill(g, shape, move |g, i| {
                        let v = unit(g, i) as f32;
                        if v >= hi && low < high {
                            hi.next_down()
                        } else {
                            v
                        }
                    })
                }
                _ => fill(g, shape, move |g, i| {
                    let v = unit(g, i);
                    if v >= high && low < high {
                        high.next_down()
                    } else {
                        v
                    }
                }),
            });
        }
        let (min, max) = match dtype {
            DType::Int32 => (i32::MIN as f64, i32::MAX as f64),
            DType::Int64 => (i64::MIN as f64, i64::MAX as f64),
            DType::UInt8 => (0.0, 255.0),
            _ => crate::bail!(
                DType,
                "{op}: not defined for bool tensors\n  hint: use Tensor::bernoulli"
            ),
        };
        if low.fract() != 0.0 || high.fract() != 0.0 {
            crate::bail!(
                Argument,
                "{op}: bounds must be whole numbers for {dtype}, got [{low}, {high})"
            );
        }
        if low >= high {
            crate::bail!(Argument, "{op}: empty range [{low}, {high}) for {dtype}");
        }
        if low < min || high > max + 1.0 {
            crate::bail!(
                Argument,
                "{op}: range [{low}, {high}) does not fit {dtype} (values {min}..={max})"
            );
        }
        let (lo, span) = (low as i128, (high as i128 - low as i128) as u128);
        let int = move |g: &Generator, i: u64| -> i64 {
            (lo + ((bits64(g.block(i, 0)) as u128 * span) >> 64) as i128) as i64
        };
        Ok(match dtype {
            DType::Int32 => fill(g, shape, move |g, i| int(g, i) as i32),
            DType::Int64 => fill(g, shape, int),
            _ => fill(g, shape, move |g, i| int(g, i) as u8),
        })
    }

    /// Normally distributed random values with `mean` and standard deviation `std` (float dtypes).
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// let x = Tensor::random_normal([1000], 5.0, 0.1, DType::Float64);
    /// assert!((x.mean(&[], false).item::<f64>() - 5.0).abs() < 0.05);
    /// ```
    /// # Panics
    /// `random_normal: dtype must be float32 or float64, got int32`, or on a negative `std`.
    #[track_caller]
    pub fn random_normal(shape: impl Into<Shape>, mean: f64, std: f64, dtype: DType) -> Tensor {
        or_panic(Self::try_random_normal(shape, mean, std, dtype))
    }

    /// Fallible [`random_normal`](Self::random_normal).
    pub fn try_random_normal(
        shape: impl Into<Shape>,
        mean: f64,
        std: f64,
        dtype: DType,
    ) -> Result<Tensor> {
        let shape = shape.into();
        with_default_generator(|g| normal_fill("random_normal", shape, mean, std, dtype, false, g))
    }

    /// [`random_normal`](Self::random_normal) drawing from `g`.
    #[track_caller]
    pub fn random_normal_with(
        shape: impl Into<Shape>,
        mean: f64,
        std: f64,
        dtype: DType,
        g: &mut Generator,
    ) -> Tensor {
        or_panic(Self::try_random_normal_with(shape, mean, std, dtype, g))
    }

    /// Fallible [`random_normal_with`](Self::random_normal_with).
    pub fn try_random_normal_with(
        shape: impl Into<Shape>,
        mean: f64,
        std: f64,
        dtype: DType,
        g: &mut Generator,
    ) -> Result<Tensor> {
        normal_fill("random_normal", shape.into(), mean, std, dtype, false, g)
    }

    /// Normal values with `mean` and `std`, redrawn wherever they fall more than 2 std from the
    /// mean (TensorFlow's `truncated_normal`, Keras' `TruncatedNormal` initializer). The result
    /// lies in `[mean - 2·std, mean + 2·std]`; its std is about 0.88·`std`.
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// let x = Tensor::truncated_normal([1000], 0.0, 1.0, DType::Float32);
    /// assert!(x.to_vec::<f32>().iter().all(|v| v.abs() <= 2.0));
    /// ```
    /// # Panics
    /// `truncated_normal: dtype must be float32 or float64, got int32`, or on a negative `std`.
    #[track_caller]
    pub fn truncated_normal(shape: impl Into<Shape>, mean: f64, std: f64, dtype: DType) -> Tensor {
        or_panic(Self::try_truncated_normal(shape, mean, std, dtype))
    }

    /// Fallible [`truncated_normal`](Self::truncated_normal).
    pub fn try_truncated_normal(
        shape: impl Into<Shape>,
        mean: f64,
        std: f64,
        dtype: DType,
    ) -> Result<Tensor> {
        let shape = shape.into();
        with_default_generator(|g| {
            normal_fill("truncated_normal", shape, mean, std, dtype, true, g)
        })
    }

    /// [`truncated_normal`](Self::truncated_normal) drawing from `g`.
    #[track_caller]
    pub fn truncated_normal_with(
        shape: impl Into<Shape>,
        mean: f64,
        std: f64,
        dtype: DType,
        g: &mut Generator,
    ) -> Tensor {
        or_panic(Self::try_truncated_normal_with(shape, mean, std, dtype, g))
    }

    /// Fallible [`truncated_normal_with`](Self::truncated_normal_with).
    pub fn try_truncated_normal_with(
        shape: impl Into<Shape>,
        mean: f64,
        std: f64,
        dtype: DType,
        g: &mut Generator,
    ) -> Result<Tensor> {
        normal_fill("truncated_normal", shape.into(), mean, std, dtype, true, g)
    }

    /// 1 with probability `p`, else 0, in any dtype (`true`/`false` for bool): dropout masks.
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// let keep = Tensor::bernoulli([8], 0.9, DType::Bool);
    /// println!("{keep}");
    /// ```
    /// # Panics
    /// `bernoulli: probability must be in [0, 1], got 1.5`.
    #[track_caller]
    pub fn bernoulli(shape: impl Into<Shape>, p: f64, dtype: DType) -> Tensor {
        or_panic(Self::try_bernoulli(shape, p, dtype))
    }

    /// Fallible [`bernoulli`](Self::bernoulli).
    pub fn try_bernoulli(shape: impl Into<Shape>, p: f64, dtype: DType) -> Result<Tensor> {
        let shape = shape.into();
        with_default_generator(|g| Self::try_bernoulli_with(shape, p, dtype, g))
    }

    /// [`bernoulli`](Self::bernoulli) drawing from `g`.
    #[track_caller]
    pub fn bernoulli_with(
        shape: impl Into<Shape>,
        p: f64,
        dtype: DType,
        g: &mut Generator,
    ) -> Tensor {
        or_panic(Self::try_bernoulli_with(shape, p, dtype, g))
    }

    /// Fallible [`bernoulli_with`](Self::bernoulli_with).
    pub fn try_bernoulli_with(
        shape: impl Into<Shape>,
        p: f64,
        dtype: DType,
        g: &mut Generator,
    ) -> Result<Tensor> {
        let shape = shape.into();
        shape.checked_numel("bernoulli")?;
        if !(0.0..=1.0).contains(&p) {
            crate::bail!(
                Argument,
                "bernoulli: probability must be in [0, 1], got {p}"
            );
        }
        shape.checked_alloc("bernoulli", dtype)?;
        Ok(crate::dispatch_all!(dtype, T, {
            keep_mask::<T>(g, shape, p, 1.0)
        }))
    }

    /// Inverted dropout, as `tf.nn.dropout`: each element is zeroed with probability `rate`
    /// and the others are scaled by `1 / (1 − rate)`, so the expected value is unchanged. The
    /// mask is [`bernoulli`](Self::bernoulli)'s (the same draws), drawn already scaled in one
    /// pass; the gradient flows through the product with it.
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// let x = Tensor::ones([1000], DType::Float32);
    /// let y = x.dropout(0.5);
    /// assert!(y.to_vec::<f32>().iter().all(|&v| v == 0.0 || v == 2.0));
    /// ```
    /// # Panics
    /// `dropout: rate must be in [0, 1), got 1`, and on integer or bool input.
    #[track_caller]
    pub fn dropout(&self, rate: f64) -> Tensor {
        or_panic(self.try_dropout(rate))
    }

    /// Fallible [`dropout`](Self::dropout).
    #[track_caller]
    pub fn try_dropout(&self, rate: f64) -> Result<Tensor> {
        if !(0.0..1.0).contains(&rate) {
            crate::bail!(Argument, "dropout: rate must be in [0, 1), got {rate}");
        }
        expect_float_dtype("dropout", self.dtype())?;
        if rate == 0.0 {
            return Ok(self.clone());
        }
        let keep = 1.0 - rate;
        let shape = self.shape().clone();
        let mask = with_default_generator(|g| match self.dtype() {
            DType::Float32 => keep_mask::<f32>(g, shape, keep, 1.0 / keep),
            _ => keep_mask::<f64>(g, shape, keep, 1.0 / keep),
        });
        self.try_mul(&mask)
    }

    /// Draws `num_samples` class indices per row from the categorical distribution
    /// `softmax(logits)`, as TensorFlow's `random.categorical` (PyTorch's `multinomial` with
    /// replacement, on probabilities). `logits` has shape `(classes,)` or `(batch, classes)`;
    /// the result is int64 of shape `(num_samples,)` or `(batch, num_samples)`. A logit of
    /// `-inf` is a class that is never drawn.
    ///
    /// ```
    /// # use keen_tensor::{Tensor, DType};
    /// let logits = Tensor::from([[0.0f32, 0.0], [0.0, f32::NEG_INFINITY]]);
    /// let s = logits.categorical(5);
    /// assert_eq!(s.dims(), [2, 5]);
    /// assert_eq!(s.to_vec::<i64>()[5..], [0, 0, 0, 0, 0]);
    /// ```
    /// # Panics
    /// `categorical: logits must have shape (classes,) or (batch, classes), got (2, 3, 4)`;
    /// on integer logits, no classes, or a row without a finite maximum.
    #[track_caller]
    pub fn categorical(&self, num_samples: usize) -> Tensor {
        or_panic(self.try_categorical(num_samples))
    }

    /// Fallible [`categorical`](Self::categorical).
    pub fn try_categorical(&self, num_samples: usize) -> Result<Tensor> {
        with_default_generator(|g| self.try_categorical_with(num_samples, g))
    }

    /// [`categorical`](Self::categorical) drawing from `g`.
    #[track_caller]
    pub fn categorical_with(&self, num_samples: usize, g: &mut Generator) -> Tensor {
        or_panic(self.try_categorical_with(num_samples, g))
    }

    /// Fallible [`categorical_with`](Self::categorical_with).
    pub fn try_categorical_with(&self, num_samples: usize, g: &mut Generator) -> Result<Tensor> {
        let op = "categorical";
        self.expect_float(op)?;
        let (batch, classes, out_shape) = match *self.dims() {
            [c] => (1, c, Shape::new(&[num_samples])),
            [b, c] => (b, c, Shape::new(&[b, num_samples])),
            _ => crate::bail!(
                Shape,
                "{op}: logits must have shape (classes,) or (batch, classes), got {}",
                self.shape()
            ),
        };
        let n = out_shape.checked_numel(op)?;
        if classes == 0 && n > 0 {
            crate::bail!(
                Shape,
                "{op}: logits have no classes: shape {}",
                self.shape()
            );
        }
        let logits = self.to_f64_vec();
        // Unnormalised cumulative probabilities, one row at a time.
        let mut cdfs = Vec::with_capacity(logits.len());
        for (r, row) in logits.chunks(classes.max(1)).enumerate() {
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !max.is_finite() || row.iter().any(|v| v.is_nan()) {
                crate::bail!(
                    Argument,
                    "{op}: row {r} of the logits has no finite maximum (all -inf, +inf or NaN)"
                );
            }
            let mut acc = 0.0;
            cdfs.extend(row.iter().map(|&l| {
                acc += (l - max).exp();
                acc
            }));
        }
        let first = g.take(n);
        let out: Vec<i64> = (0..n)
            .map(|k| {
                let row = &cdfs[(k / num_samples) * classes..(k / num_samples + 1) * classes];
                let total = row[classes - 1];
                let target = unit_f64(g.block(first.wrapping_add(k as u64), 0)) * total;
                // First class whose cumulative mass exceeds the target: a zero-probability class
                // never does. Rounding can put `target` at `total`; then take the last likely one.
                let j = row.partition_point(|&c| c <= target);
                let j = if j < classes {
                    j
                } else {
                    row.iter()
                        .position(|&c| c == total)
                        .expect("total is attained")
                };
                j as i64
            })
            .collect();
        debug_assert!(batch * num_samples == n);
        Ok(Tensor::from_vec_unchecked(out, out_shape))
    }

    /// A random permutation of `0, 1, …, n-1` as int64 (NumPy's `permutation(n)`, PyTorch's
    /// `randperm`).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let mut p = Tensor::random_permutation(5).to_vec::<i64>();
    /// p.sort();
    /// assert_eq!(p, [0, 1, 2, 3, 4]);
    /// ```
    #[track_caller]
    pub fn random_permutation(n: usize) -> Tensor {
        or_panic(Self::try_random_permutation(n))
    }

    /// Fallible [`random_permutation`](Self::random_permutation).
    pub fn try_random_permutation(n: usize) -> Result<Tensor> {
        with_default_generator(|g| Self::try_random_permutation_with(n, g))
    }

    /// [`random_permutation`](Self::random_permutation) drawing from `g`.
    #[track_caller]
    pub fn random_permutation_with(n: usize, g: &mut Generator) -> Tensor {
        or_panic(Self::try_random_permutation_with(n, g))
    }

    /// Fallible [`random_permutation_with`](Self::random_permutation_with).
    pub fn try_random_permutation_with(n: usize, g: &mut Generator) -> Result<Tensor> {
        let shape = Shape::new(&[n]);
        shape.checked_alloc("random_permutation", DType::Int64)?;
        Ok(Tensor::from_vec_unchecked(permutation(n, g), shape))
    }

    /// The rows (axis 0) in random order, as TensorFlow's `random.shuffle`.
    ///
    /// The result is a new tensor that is *not recorded* for gradients; to shuffle inside a
    /// differentiated computation, index with [`random_permutation`](Self::random_permutation).
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([[1, 1], [2, 2], [3, 3]]).shuffle();
    /// assert_eq!(x.dims(), [3, 2]);
    /// ```
    /// # Panics
    /// `shuffle: cannot shuffle a scalar (shape ())`.
    #[track_caller]
    pub fn shuffle(&self) -> Tensor {
        or_panic(self.try_shuffle())
    }

    /// Fallible [`shuffle`](Self::shuffle).
    pub fn try_shuffle(&self) -> Result<Tensor> {
        with_default_generator(|g| self.try_shuffle_with(g))
    }

    /// [`shuffle`](Self::shuffle) drawing from `g`.
    #[track_caller]
    pub fn shuffle_with(&self, g: &mut Generator) -> Tensor {
        or_panic(self.try_shuffle_with(g))
    }

    /// Fallible [`shuffle_with`](Self::shuffle_with).
    pub fn try_shuffle_with(&self, g: &mut Generator) -> Result<Tensor> {
        if self.rank() == 0 {
            crate::bail!(Shape, "shuffle: cannot shuffle a scalar (shape ())");
        }
        let rows = self.dims()[0];
        let perm = permutation(rows, g);
        let inner = self.numel() / rows.max(1);
        Ok(crate::dispatch_all!(self.dtype(), T, {
            let x = self.contiguous_unrecorded();
            let src = x.as_slice::<T>().expect("contiguous");
            let mut out = Vec::with_capacity(self.numel());
            for &p in &perm {
                out.extend_from_slice(&src[p as usize * inner..(p as usize + 1) * inner]);
            }
            Tensor::from_vec_unchecked(out, self.shape().clone())
        }))
    }
}

/// Fisher–Yates from the end: draw `i` picks the partner of position `i` in `[0, i]`.
fn permutation(n: usize, g: &mut Generator) -> Vec<i64> {
    let first = g.take(n);
    let mut p: Vec<i64> = (0..n as i64).collect();
    for i in (1..n).rev() {
        let bits = bits64(g.block(first.wrapping_add(i as u64), 0));
        let j = ((bits as u128 * (i as u128 + 1)) >> 64) as usize;
        p.swap(i, j);
    }
    p
}
