//! Runs a loop compiled for the widest vector unit the CPU has.
//!
//! keen builds for baseline x86-64, whose vectors hold four floats. Elementwise loops (exp,
//! tanh, sigmoid and the arithmetic around them, all inline and branch-free) vectorise well,
//! so the same code compiled with AVX-512 (sixteen floats and FMA) or AVX2 runs several times
//! faster. [`vectorized`] picks the variant at run time, so the binary still runs on any
//! x86-64 CPU; elsewhere it simply calls the closure.

/// Calls `f`, compiled with AVX-512F (or AVX2 and FMA) enabled when the CPU has them. `f` and
/// what it calls inline are compiled into the chosen variant, so keep the loop itself inside
/// `f` (work handed to other threads, such as a rayon job, must call this again there). The
/// inliner folds `f` into the variant only when it finds `f` small: a long loop body belongs
/// in a [`Loop`] given to [`vectorized_loop`].
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    vectorized_loop(Closure(f))
}

/// A loop body for [`vectorized_loop`]. A closure cannot be marked `#[inline(always)]`, but
/// this trait's `run` can (and must) be, which forces it into each variant however long.
pub trait Loop {
    /// What the loop returns.
    type Output;
    /// The loop itself; mark it `#[inline(always)]`.
    fn run(self) -> Self::Output;
}

/// As [`vectorized`], for a [`Loop`].
#[inline(always)]
pub fn vectorized_loop<L: Loop>(l: L) -> L::Output {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            return unsafe { avx512(l) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe { avx2(l) };
        }
    }
    l.run()
}

struct Closure<F>(F);

impl<R, F: FnOnce() -> R> Loop for Closure<F> {
    type Output = R;
    #[inline(always)]
    fn run(self) -> R {
        (self.0)()
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn avx512<L: Loop>(l: L) -> L::Output {
    l.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<L: Loop>(l: L) -> L::Output {
    l.run()
}

#[cfg(test)]
mod tests {
    #[test]
    fn vectorized_runs_the_closure_once_and_returns_its_value() {
        let mut calls = 0;
        let x: Vec<f32> = (0..1000).map(|i| i as f32 * 0.01 - 5.0).collect();
        let y = super::vectorized(|| {
            calls += 1;
            x.iter().map(|v| v.tanh()).sum::<f32>()
        });
        assert_eq!(calls, 1);
        assert_eq!(y, x.iter().map(|v| v.tanh()).sum::<f32>());
    }
}
