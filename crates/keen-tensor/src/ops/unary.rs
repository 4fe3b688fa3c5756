//! Elementwise unary ops and activations, each with its backward rule directly below it.
//!
//! Rules save the op's output where the derivative can be written in it (exp, tanh, sigmoid,
//! sqrt), so the input can be freed. Non-smooth points follow TensorFlow: relu'(0) = 0,
//! abs'(0) = 0, clip passes the gradient where min <= x <= max.

use crate::dtype::Float;
use crate::error::{or_panic, Result};
use crate::kernels::elementwise;
use crate::record::{record, Backward};
use crate::tensor::Tensor;

/// Applies a float kernel, naming `op` in the dtype error.
fn float_map(op: &str, x: &Tensor, f: impl FloatFn) -> Result<Tensor> {
    crate::dispatch_float!(x.dtype(), op, T, {
        x.shape().checked_alloc(op, x.dtype())?;
        Ok(elementwise::unary::<T, T>(x, |v| f.apply(v)))
    })
}

trait FloatFn: Sync + Send {
    fn apply<T: Float>(&self, x: T) -> T;
}

/// A float kernel from a closure body generic in `T`.
macro_rules! float_fn {
    ($name:ident $(, $field:ident: $fty:ty)* ; |$x:ident| $e:expr) => {
        struct $name { $($field: $fty),* }
        impl FloatFn for $name {
            #[inline(always)]
            #[allow(unused_variables)]
            fn apply<T: Float>(&self, $x: T) -> T {
                $(let $field = T::from_f64(self.$field);)*
                $e
            }
        }
    };
}

/// Declares a unary op `$name`/`$try_name` whose rule is `$rule` (a struct implementing
/// Backward built from the input `x` and output `out`).
macro_rules! unary_op {
    ($(#[$doc:meta])* $name:ident, $try_name:ident, $kernel:expr, |$x:ident, $out:ident| $rule:expr) => {
        impl Tensor {
            $(#[$doc])*
            #[track_caller]
            pub fn $name(&self) -> Tensor {
                or_panic(self.$try_name())
            }

            #[doc = concat!("Fallible [`", stringify!($name), "`](Self::", stringify!($name), ").")]
            #[track_caller]
            pub fn $try_name(&self) -> Result<Tensor> {
                let out = float_map(stringify!($name), self, $kernel)?;
                #[allow(unused_variables)]
                let ($x, $out) = (self, &out);
                record(&[self], &out, || $rule);
                Ok(out)
            }
        }
    };
}

/// A backward rule `g * f(x, out)` with the saved tensors it needs.
macro_rules! rule {
    ($name:ident, $op:literal $(, $field:ident)* ; |$g:ident, $s:ident| $e:expr) => {
        struct $name { $($field: Tensor),* }
        impl Backward for $name {
            fn name(&self) -> &'static str {
                $op
            }
            fn backward(&self, $g: &Tensor) -> Vec<Option<Tensor>> {
                let $s = self;
                vec![Some($e)]
            }
        }
    };
}

float_fn!(ExpK; |x| x.exp());
rule!(ExpGrad, "exp", out; |g, s| g.mul(&s.out));
unary_op!(
    /// `e^x`. d/dx = e^x (the saved output).
    exp, try_exp, ExpK {}, |x, out| ExpGrad { out: out.clone() }
);

float_fn!(LogK; |x| x.ln());
rule!(LogGrad, "log", x; |g, s| g.div(&s.x));
unary_op!(
    /// Natural logarithm. d/dx = 1/x.
    log, try_log, LogK {}, |x, out| LogGrad { x: x.clone() }
);

float_fn!(Log1pK; |x| x.ln_1p());
rule!(Log1pGrad, "log1p", x; |g, s| g.div(&s.x.add(1.0)));
unary_op!(
    /// `ln(1 + x)`, accurate for small x. d/dx = 1/(1 + x).
    log1p, try_log1p, Log1pK {}, |x, out| Log1pGrad { x: x.clone() }
);

float_fn!(Expm1K; |x| x.exp_m1());
rule!(Expm1Grad, "expm1", out; |g, s| g.mul(&s.out.add(1.0)));
unary_op!(
    /// `e^x - 1`, accurate for small x. d/dx = e^x.
    expm1, try_expm1, Expm1K {}, |x, out| Expm1Grad { out: out.clone() }
);

float_fn!(SqrtK; |x| x.sqrt());
rule!(SqrtGrad, "sqrt", out; |g, s| g.div(&s.out.mul(2.0)));
unary_op!(
    /// Square root. d/dx = 1/(2·sqrt(x)).
    sqrt, try_sqrt, SqrtK {}, |x, out| SqrtGrad { out: out.clone() }
);

float_fn!(RsqrtK; |x| T::one() / x.sqrt());
rule!(RsqrtGrad, "rsqrt", x, out; |g, s| g.mul(&s.out).div(&s.x).mul(-0.5));
unary_op!(
    /// `1/sqrt(x)`. d/dx = -1/(2·x^1.5).
    rsqrt, try_rsqrt, RsqrtK {}, |x, out| RsqrtGrad { x: x.clone(), out: out.clone() }
);

float_fn!(SinK; |x| x.sin());
rule!(SinGrad, "sin", x; |g, s| g.mul(&s.x.cos()));
unary_op!(
    /// Sine. d/dx = cos(x).
    sin, try_sin, SinK {}, |x, out| SinGrad { x: x.clone() }
);

float_fn!(CosK; |x| x.cos());
rule!(CosGrad, "cos", x; |g, s| g.mul(&s.x.sin()).neg());
unary_op!(
    /// Cosine. d/dx = -sin(x).
    cos, try_cos, CosK {}, |x, out| CosGrad { x: x.clone() }
);

float_fn!(TanhK; |x| x.tanh());
rule!(TanhGrad, "tanh", out; |g, s| g.mul(&s.out.square().neg().add(1.0)));
unary_op!(
    /// Hyperbolic tangent. d/dx = 1 - tanh²(x).
    tanh, try_tanh, TanhK {}, |x, out| TanhGrad { out: out.clone() }
);

float_fn!(SigmoidK; |x| x.sigmoid());
rule!(SigmoidGrad, "sigmoid", out; |g, s| g.mul(&s.out.mul(&s.out.neg().add(1.0))));
unary_op!(
    /// Logistic sigmoid `1/(1 + e^-x)`. d/dx = σ(x)(1 - σ(x)).
    sigmoid, try_sigmoid, SigmoidK {}, |x, out| SigmoidGrad { out: out.clone() }
);

float_fn!(SoftplusK; |x| {
    // log(1 + e^x) = max(x, 0) + log1p(e^-|x|), stable for large |x|.
    x.max(T::zero()) + (-x.abs()).exp().ln_1p()
});
rule!(SoftplusGrad, "softplus", x; |g, s| g.mul(&s.x.sigmoid()));
unary_op!(
    /// `ln(1 + e^x)`, computed stably. d/dx = σ(x).
    softplus, try_softplus, SoftplusK {}, |x, out| SoftplusGrad { x: x.clone() }
);

// NaN propagates, as in NumPy, PyTorch and TensorFlow.
float_fn!(ReluK; |x| if x > T::zero() || x.is_nan() { x } else { T::zero() });
rule!(ReluGrad, "relu", out; |g, s| s.out.leaky_relu_backward(g, 0.0));
unary_op!(
    /// `max(x, 0)`. d/dx = 1 where x > 0, else 0 (relu'(0) = 0, as TensorFlow).
    relu, try_relu, ReluK {}, |x, out| ReluGrad { out: out.clone() }
);

float_fn!(GeluK; |x| {
    let half = T::from_f64(0.5);
    half * x * (T::one() + (x * T::from_f64(std::f64::consts::FRAC_1_SQRT_2)).erf())
});
rule!(GeluGrad, "gelu", x; |g, s| {
    // d/dx [x Φ(x)] = Φ(x) + x φ(x)
    let cdf = s.x.mul(std::f64::consts::FRAC_1_SQRT_2).erf().add(1.0).mul(0.5);
    let pdf = s.x.square().mul(-0.5).exp().mul(0.398_942_280_401_432_7);
    g.mul(&cdf.add(&s.x.mul(&pdf)))
});
unary_op!(
    /// Gaussian error linear unit, exact form `x·Φ(x)` (Keras' `gelu(approximate=False)`).
    gelu, try_gelu, GeluK {}, |x, out| GeluGrad { x: x.clone() }
);

float_fn!(ErfK; |x| x.erf());
rule!(ErfGrad, "erf", x; |g, s| g.mul(&s.x.square().neg().exp().mul(std::f64::consts::FRAC_2_SQRT_PI)));
unary_op!(
    /// The error function. d/dx = 2/√π · e^(-x²).
    erf, try_erf, ErfK {}, |x, out| ErfGrad { x: x.clone() }
);

float_fn!(FloorK; |x| x.floor());
float_fn!(CeilK; |x| x.ceil());
float_fn!(RoundK; |x| x.round_ties_even());
/// The rule of piecewise-constant ops (floor, ceil, round, sign): zero almost everywhere.
struct ZeroGrad {
    name: &'static str,
}
impl Backward for ZeroGrad {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(Tensor::zeros_like(g))]
    }
}
unary_op!(
    /// Rounds down. Its gradient is zero almost everywhere.
    floor, try_floor, FloorK {}, |x, out| ZeroGrad { name: "floor" }
);
unary_op!(
    /// Rounds up. Its gradient is zero almost everywhere.
    ceil, try_ceil, CeilK {}, |x, out| ZeroGrad { name: "ceil" }
);
unary_op!(
    /// Rounds half to even (NumPy's and TensorFlow's `round`). Gradient zero.
    round, try_round, RoundK {}, |x, out| ZeroGrad { name: "round" }
);

// ---- ops defined for every numeric dtype ----

impl Tensor {
    /// `-x`. d/dx = -1.
    #[track_caller]
    pub fn neg(&self) -> Tensor {
        or_panic(self.try_neg())
    }

    /// Fallible [`neg`](Self::neg).
    #[track_caller]
    pub fn try_neg(&self) -> Result<Tensor> {
        self.shape().checked_alloc("neg", self.dtype())?;
        let out = crate::dispatch_num!(self.dtype(), "neg", T, {
            elementwise::unary::<T, T>(self, |v| v.wrapping_neg())
        });
        record(&[self], &out, || NegGrad);
        Ok(out)
    }

    /// `|x|`. d/dx = sign(x) (0 at 0).
    #[track_caller]
    pub fn abs(&self) -> Tensor {
        or_panic(self.try_abs())
    }

    /// Fallible [`abs`](Self::abs).
    #[track_caller]
    pub fn try_abs(&self) -> Result<Tensor> {
        self.shape().checked_alloc("abs", self.dtype())?;
        let out = crate::dispatch_num!(self.dtype(), "abs", T, {
            // abs(MIN) wraps to MIN, as NumPy's.
            elementwise::unary::<T, T>(self, |v| if v < T::zero() { v.wrapping_neg() } else { v })
        });
        record(&[self], &out, || AbsGrad { x: self.clone() });
        Ok(out)
    }

    /// -1, 0 or 1 by the sign of each element (0 for NaN-free zero). Gradient zero.
    #[track_caller]
    pub fn sign(&self) -> Tensor {
        or_panic(self.try_sign())
    }

    /// Fallible [`sign`](Self::sign).
    #[track_caller]
    pub fn try_sign(&self) -> Result<Tensor> {
        self.shape().checked_alloc("sign", self.dtype())?;
        let out = crate::dispatch_num!(self.dtype(), "sign", T, {
            elementwise::unary::<T, T>(self, |v| {
                if v > T::zero() {
                    T::one()
                } else if v < T::zero() {
                    T::one().wrapping_neg()
                } else {
                    v
                }
            })
        });
        record(&[self], &out, || ZeroGrad { name: "sign" });
        Ok(out)
    }

    /// `x²`. d/dx = 2x.
    #[track_caller]
    pub fn square(&self) -> Tensor {
        or_panic(self.try_square())
    }

    /// Fallible [`square`](Self::square).
    #[track_caller]
    pub fn try_square(&self) -> Result<Tensor> {
        self.shape().checked_alloc("square", self.dtype())?;
        let out = crate::dispatch_num!(self.dtype(), "square", T, {
            elementwise::unary::<T, T>(self, |v| v.wrapping_mul(v))
        });
        record(&[self], &out, || SquareGrad { x: self.clone() });
        Ok(out)
    }

    /// Leaky ReLU: `x` where x > 0, else `alpha·x`. Keras' layer default alpha is 0.3.
    /// d/dx = 1 or alpha.
    #[track_caller]
    pub fn leaky_relu(&self, alpha: f64) -> Tensor {
        or_panic(self.try_leaky_relu(alpha))
    }

    /// Fallible [`leaky_relu`](Self::leaky_relu).
    #[track_caller]
    pub fn try_leaky_relu(&self, alpha: f64) -> Result<Tensor> {
        float_fn!(LeakyK, alpha: f64; |x| if x > T::zero() { x } else { alpha * x });
        let out = float_map("leaky_relu", self, LeakyK { alpha })?;
        record(&[self], &out, || LeakyGrad {
            x: self.clone(),
            alpha,
        });
        Ok(out)
    }

    /// ELU: `x` where x > 0, else `alpha·(e^x - 1)`. d/dx = 1 or alpha·e^x.
    #[track_caller]
    pub fn elu(&self, alpha: f64) -> Tensor {
        or_panic(self.try_elu(alpha))
    }

    /// Fallible [`elu`](Self::elu).
    #[track_caller]
    pub fn try_elu(&self, alpha: f64) -> Result<Tensor> {
        float_fn!(EluK, alpha: f64; |x| if x > T::zero() { x } else { alpha * x.exp_m1() });
        let out = float_map("elu", self, EluK { alpha })?;
        record(&[self], &out, || EluGrad {
            x: self.clone(),
            alpha,
        });
        Ok(out)
    }

    /// Clamps every element into `[min, max]`. The gradient passes where `min <= x <= max`.
    ///
    /// # Panics
    /// `clip: min 2 is greater than max 1`.
    #[track_caller]
    pub fn clip(&self, min: f64, max: f64) -> Tensor {
        or_panic(self.try_clip(min, max))
    }

    /// Fallible [`clip`](Self::clip).
    #[track_caller]
    pub fn try_clip(&self, min: f64, max: f64) -> Result<Tensor> {
        if min > max {
            crate::bail!(Argument, "clip: min {min} is greater than max {max}");
        }
        self.shape().checked_alloc("clip", self.dtype())?;
        let out = crate::dispatch_num!(self.dtype(), "clip", T, {
            let (lo, hi) = (T::from_f64(min), T::from_f64(max));
            elementwise::unary::<T, T>(self, |v| {
                if v < lo {
                    lo
                } else if v > hi {
                    hi
                } else {
                    v
                }
            })
        });
        record(&[self], &out, || ClipGrad {
            x: self.clone(),
            min,
            max,
        });
        Ok(out)
    }
}

struct NegGrad;
impl Backward for NegGrad {
    fn name(&self) -> &'static str {
        "neg"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(g.neg())]
    }
}

rule!(AbsGrad, "abs", x; |g, s| g.mul(&s.x.sign()));
rule!(SquareGrad, "square", x; |g, s| g.mul(&s.x.mul(2.0)));

struct LeakyGrad {
    x: Tensor,
    alpha: f64,
}
impl Backward for LeakyGrad {
    fn name(&self) -> &'static str {
        "leaky_relu"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        vec![Some(self.x.leaky_relu_backward(g, self.alpha))]
    }
}

impl Tensor {
    /// The gradient of [`leaky_relu`](Self::leaky_relu) (and of [`relu`](Self::relu), with
    /// `alpha` 0) at `self` for the incoming gradient `g`: `g` where self > 0, else
    /// `alpha·g`. One pass instead of a comparison, a product and a select: activation
    /// gradients are among the largest tensors of a conv net's backward pass. Linear in `g`,
    /// so its gradient with respect to `g` is itself; with respect to `self` it is zero.
    ///
    /// ```
    /// # use keen_tensor::Tensor;
    /// let x = Tensor::from([-2.0f32, 3.0]);
    /// let g = Tensor::from([1.0f32, 1.0]);
    /// assert_eq!(x.leaky_relu_backward(&g, 0.3).to_vec::<f32>(), vec![0.3, 1.0]);
    /// ```
    /// # Panics
    /// `leaky_relu_backward: x (2, 3) float32 and g (3,) float32 differ in shape or dtype`.
    #[track_caller]
    pub fn leaky_relu_backward(&self, g: &Tensor, alpha: f64) -> Tensor {
        or_panic(self.try_leaky_relu_backward(g, alpha))
    }

    /// Fallible [`leaky_relu_backward`](Self::leaky_relu_backward).
    #[track_caller]
    pub fn try_leaky_relu_backward(&self, g: &Tensor, alpha: f64) -> Result<Tensor> {
        const OP: &str = "leaky_relu_backward";
        if self.shape() != g.shape() || self.dtype() != g.dtype() {
            crate::bail!(
                Shape,
                "{OP}: x {} {} and g {} {} differ in shape or dtype",
                self.shape(),
                self.dtype(),
                g.shape(),
                g.dtype()
            );
        }
        let out = crate::dispatch_float!(self.dtype(), OP, T, {
            self.shape().checked_alloc(OP, self.dtype())?;
            let a = T::from_f64(alpha);
            elementwise::binary::<T, T>(self, g, self.shape(), move |x, g| {
                if x > T::zero() {
                    g
                } else {
                    a * g
                }
            })
        });
        record(&[self, g], &out, || LeakyBackwardGrad {
            x: self.clone(),
            alpha,
        });
        Ok(out)
    }
}

struct LeakyBackwardGrad {
    x: Tensor,
    alpha: f64,
}
impl Backward for LeakyBackwardGrad {
    fn name(&self) -> &'static str {
        "leaky_relu_backward"
    }
    fn backward(&self, gg: &Tensor) -> Vec<Option<Tensor>> {
        // Piecewise constant in x: its gradient there is zero (not None, which the tape reads
        // as a cut-off path).
        vec![
            Some(Tensor::zeros_like(&self.x)),
            Some(self.x.leaky_relu_backward(gg, self.alpha)),
        ]
    }
}

struct EluGrad {
    x: Tensor,
    alpha: f64,
}
impl Backward for EluGrad {
    fn name(&self) -> &'static str {
        "elu"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let neg = g.mul(&self.x.exp().mul(self.alpha));
        vec![Some(Tensor::where_(&self.x.gt(0.0), g, &neg))]
    }
}

struct ClipGrad {
    x: Tensor,
    min: f64,
    max: f64,
}
impl Backward for ClipGrad {
    fn name(&self) -> &'static str {
        "clip"
    }
    fn backward(&self, g: &Tensor) -> Vec<Option<Tensor>> {
        let inside = self.x.ge(self.min).logical_and(&self.x.le(self.max));
        vec![Some(Tensor::where_(
            &inside,
            g,
            &Tensor::zeros((), g.dtype()),
        ))]
    }
}
