//! Finite-difference gradient checks, for keen's own ops and for users writing theirs.
//!
//! [`gradcheck`] compares the tape's gradients of `f` with central differences in float64
//! (PyTorch's defaults: eps 1e-6, atol 1e-5, rtol 1e-3). Small inputs get the full Jacobian,
//! large ones a random projection `⟨u, vjp(v)⟩ ≈ ⟨(f(x+εu) − f(x−εu)) / 2ε, v⟩`. Each run also
//! checks that gradients have their input's shape, that backward is linear in the incoming
//! gradient, and that non-contiguous inputs give the same gradients. [`gradgradcheck`] does
//! the same for the gradient itself, computed under a second tape.

// The error carries the full mismatch report; gradient checks are test-time code, never hot.
#![allow(clippy::result_large_err)]

use crate::tape::{stop_gradient, GradientTape, TapeError};
use keen_tensor::{DType, Shape, Tensor};
use std::cell::RefCell;
use std::fmt;

/// Tolerances and sizes for [`gradcheck_with`].
#[derive(Clone, Copy, Debug)]
pub struct GradcheckOptions {
    /// The finite-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance (of the numerical value).
    pub rtol: f64,
    /// Inputs and outputs up to this many elements get the full Jacobian; larger ones a
    /// random projection.
    pub full_jacobian_max: usize,
    /// Seed of the random projections and incoming gradients.
    pub seed: u64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions {
            eps: 1e-6,
            atol: 1e-5,
            rtol: 1e-3,
            full_jacobian_max: 256,
            seed: 0x5eed,
        }
    }
}

/// What a gradient check found wrong.
#[derive(Clone, Debug, PartialEq)]
pub enum GradcheckProblem {
    /// An element of the Jacobian differs (`output` is the output element, when known).
    Mismatch {
        /// The input's position in the argument list.
        input: usize,
        /// The element of the input.
        index: Vec<usize>,
        /// The element of the output, for full-Jacobian checks.
        output: Option<Vec<usize>>,
        /// Central differences.
        numerical: f64,
        /// The tape's value.
        analytical: f64,
    },
    /// A random projection of the Jacobian differs.
    Projection {
        /// The input's position in the argument list.
        input: usize,
        /// Central differences.
        numerical: f64,
        /// The tape's value.
        analytical: f64,
    },
    /// A gradient's shape or dtype is not its input's.
    Shape {
        /// The input's position in the argument list.
        input: usize,
        /// What the gradient has.
        got: String,
        /// What the input has.
        expected: String,
    },
    /// Backward is not linear in the incoming gradient.
    NotLinear {
        /// The input's position in the argument list.
        input: usize,
        /// The element of the input.
        index: Vec<usize>,
        /// The gradient for `2v`.
        doubled: f64,
        /// Twice the gradient for `v`.
        twice: f64,
    },
    /// A non-contiguous copy of the inputs gives another gradient.
    Strided {
        /// The input's position in the argument list.
        input: usize,
        /// The element of the input.
        index: Vec<usize>,
        /// With contiguous inputs.
        contiguous: f64,
        /// With strided inputs.
        strided: f64,
    },
    /// The function's output is not a float64 tensor.
    Output(String),
    /// The tape refused (for example a first-order-only rule asked for a second order).
    Tape(String),
}

/// A failed gradient check, naming the op and sample when known:
/// ``gradient mismatch for `conv2d` (sample "stride 2") input 1 at index (0, 2): numerical 0.4151 vs analytical 0.4098``.
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckError {
    /// The op under test (the rules recorded by `f`, or the name a harness gives).
    pub op: String,
    /// The sample's label, when a harness gives one.
    pub sample: Option<String>,
    /// True when the failure is in the second-order check.
    pub second_order: bool,
    /// What is wrong.
    pub problem: GradcheckProblem,
}

impl GradcheckError {
    /// The same error, naming `op` and the sample `label`.
    pub fn in_sample(mut self, op: &str, label: &str) -> Self {
        self.op = op.to_string();
        self.sample = Some(label.to_string());
        self
    }
}

fn idx(i: &[usize]) -> String {
    match i {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            i.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let order = if self.second_order {
            "second-order "
        } else {
            ""
        };
        let what = format!("`{}`", self.op);
        let sample = match &self.sample {
            Some(s) => format!(" (sample {s:?})"),
            None => String::new(),
        };
        match &self.problem {
            GradcheckProblem::Mismatch {
                input,
                index,
                output,
                numerical,
                analytical,
            } => {
                write!(
                    f,
                    "{order}gradient mismatch for {what}{sample} input {input} at index {}: \
                     numerical {numerical:.6} vs analytical {analytical:.6}",
                    idx(index)
                )?;
                if let Some(o) = output {
                    write!(f, " (output element {})", idx(o))?;
                }
                Ok(())
            }
            GradcheckProblem::Projection {
                input,
                numerical,
                analytical,
            } => write!(
                f,
                "{order}gradient mismatch for {what}{sample} input {input} in a random projection: \
                 numerical {numerical:.6} vs analytical {analytical:.6}"
            ),
            GradcheckProblem::Shape {
                input,
                got,
                expected,
            } => write!(
                f,
                "{order}gradient of {what}{sample} for input {input} has {got}, but the input has {expected}"
            ),
            GradcheckProblem::NotLinear {
                input,
                index,
                doubled,
                twice,
            } => write!(
                f,
                "{order}backward of {what}{sample} is not linear in the incoming gradient: input {input} \
                 at index {}: gradient for 2v is {doubled:.6} but twice the gradient for v is {twice:.6}",
                idx(index)
            ),
            GradcheckProblem::Strided {
                input,
                index,
                contiguous,
                strided,
            } => write!(
                f,
                "{order}gradient of {what}{sample} changes with non-contiguous inputs: input {input} at \
                 index {}: {contiguous:.6} (contiguous) vs {strided:.6} (strided)",
                idx(index)
            ),
            GradcheckProblem::Output(m) => write!(f, "{order}gradcheck of {what}{sample}: {m}"),
            GradcheckProblem::Tape(m) => write!(f, "{order}gradcheck of {what}{sample}: {m}"),
        }
    }
}

impl std::error::Error for GradcheckError {}

/// A small deterministic generator (splitmix64): tests must not depend on a global RNG.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // uniform in [-1, 1), away from 0 so projections are well scaled
        (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
    fn tensor(&mut self, shape: &Shape) -> Tensor {
        let v: Vec<f64> = (0..shape.numel()).map(|_| self.next()).collect();
        Tensor::from_vec(v, shape.clone())
    }
}

fn unravel(mut flat: usize, dims: &[usize]) -> Vec<usize> {
    let mut out = vec![0; dims.len()];
    for i in (0..dims.len()).rev() {
        if dims[i] > 0 {
            out[i] = flat % dims[i];
            flat /= dims[i];
        }
    }
    out
}

/// A copy of `x` with element `k` moved by `delta` (contiguous, float64).
fn nudged(x: &Tensor, k: usize, delta: f64) -> Tensor {
    let mut v = x.to_f64_vec();
    v[k] += delta;
    Tensor::from_vec(v, x.shape().clone())
}

/// `x + s * u` as a new float64 tensor.
fn moved(x: &Tensor, u: &Tensor, s: f64) -> Tensor {
    let v: Vec<f64> = x
        .to_f64_vec()
        .iter()
        .zip(u.to_f64_vec())
        .map(|(a, b)| a + s * b)
        .collect();
    Tensor::from_vec(v, x.shape().clone())
}

/// The same values with other strides: a transposed copy viewed back (rank >= 2), or a
/// contiguous copy when `x` is already strided.
fn restrided(x: &Tensor) -> Tensor {
    if !x.is_contiguous() {
        return x.contiguous();
    }
    if x.rank() < 2 {
        return x.clone();
    }
    let rev: Vec<isize> = (0..x.rank() as isize).rev().collect();
    keen_tensor::record::without_recording(|| x.permute(&rev).contiguous().permute(&rev))
}

fn dot(a: &Tensor, b: &Tensor) -> f64 {
    a.to_f64_vec()
        .iter()
        .zip(b.to_f64_vec())
        .map(|(x, y)| x * y)
        .sum()
}

fn close(a: f64, n: f64, o: &GradcheckOptions) -> bool {
    (a - n).abs() <= o.atol + o.rtol * n.abs() || (a.is_nan() && n.is_nan())
}

struct Checker<'a> {
    f: &'a dyn Fn(&[Tensor]) -> Tensor,
    inputs: Vec<Tensor>,
    checked: Vec<usize>,
    o: GradcheckOptions,
    op: String,
}

impl Checker<'_> {
    fn err(&self, problem: GradcheckProblem) -> GradcheckError {
        GradcheckError {
            op: self.op.clone(),
            sample: None,
            second_order: false,
            problem,
        }
    }

    /// Evaluates `f` with `inputs`, no tape of ours involved.
    fn eval(&self, inputs: &[Tensor]) -> Tensor {
        (self.f)(inputs)
    }

    /// Runs `f` under a fresh persistent tape watching the checked inputs.
    fn record(&self, inputs: &[Tensor]) -> (GradientTape, Vec<Tensor>, Tensor) {
        // Fresh identities per slot, so that a tensor passed twice counts as two inputs.
        let ins: Vec<Tensor> = inputs
            .iter()
            .enumerate()
            .map(|(i, x)| {
                if self.checked.contains(&i) {
                    stop_gradient(x)
                } else {
                    x.clone()
                }
            })
            .collect();
        let tape = GradientTape::persistent();
        for &i in &self.checked {
            tape.watch(&ins[i]);
        }
        let y = (self.f)(&ins);
        tape.stop();
        (tape, ins, y)
    }

    fn vjp(
        &self,
        tape: &GradientTape,
        ins: &[Tensor],
        y: &Tensor,
        v: &Tensor,
    ) -> Result<Vec<Tensor>, GradcheckError> {
        let sources: Vec<&Tensor> = self.checked.iter().map(|&i| &ins[i]).collect();
        let g = tape
            .try_gradient_with(y, &sources, Some(v))
            .map_err(|e: TapeError| self.err(GradcheckProblem::Tape(e.message().to_string())))?;
        let mut out = Vec::new();
        for (k, (g, &i)) in g.into_iter().zip(&self.checked).enumerate() {
            let x = &ins[i];
            let g = match g {
                Some(g) => g,
                None => Tensor::zeros(x.shape().clone(), DType::Float64),
            };
            if g.shape() != x.shape() || g.dtype() != x.dtype() {
                return Err(self.err(GradcheckProblem::Shape {
                    input: self.checked[k],
                    got: format!("shape {} and dtype {}", g.shape(), g.dtype()),
                    expected: format!("shape {} and dtype {}", x.shape(), x.dtype()),
                }));
            }
            out.push(g);
        }
        Ok(out)
    }

    fn run(&self) -> Result<(), GradcheckError> {
        let (tape, ins, y) = self.record(&self.inputs);
        if y.dtype() != DType::Float64 {
            return Err(self.err(GradcheckProblem::Output(format!(
                "the output is {}, expected float64 (gradcheck differentiates in float64)",
                y.dtype()
            ))));
        }
        let mut rng = Rng(self.o.seed);
        let v = rng.tensor(y.shape());
        let g = self.vjp(&tape, &ins, &y, &v)?;

        // Linearity in the incoming gradient.
        let g2 = self.vjp(&tape, &ins, &y, &v.mul(2.0))?;
        for (k, (a, b)) in g.iter().zip(&g2).enumerate() {
            for (j, (x, y2)) in a.to_f64_vec().into_iter().zip(b.to_f64_vec()).enumerate() {
                if (y2 - 2.0 * x).abs() > 1e-10 * (1.0 + y2.abs()) {
                    return Err(self.err(GradcheckProblem::NotLinear {
                        input: self.checked[k],
                        index: unravel(j, a.dims()),
                        doubled: y2,
                        twice: 2.0 * x,
                    }));
                }
            }
        }

        // Strided inputs give the same gradients.
        let strided: Vec<Tensor> = self
            .inputs
            .iter()
            .enumerate()
            .map(|(i, x)| {
                if self.checked.contains(&i) {
                    restrided(x)
                } else {
                    x.clone()
                }
            })
            .collect();
        let (tape_s, ins_s, y_s) = self.record(&strided);
        let gs = self.vjp(&tape_s, &ins_s, &y_s, &v)?;
        for (k, (a, b)) in g.iter().zip(&gs).enumerate() {
            for (j, (x, s)) in a.to_f64_vec().into_iter().zip(b.to_f64_vec()).enumerate() {
                if (x - s).abs() > 1e-9 * (1.0 + x.abs()) && !(x.is_nan() && s.is_nan()) {
                    return Err(self.err(GradcheckProblem::Strided {
                        input: self.checked[k],
                        index: unravel(j, a.dims()),
                        contiguous: x,
                        strided: s,
                    }));
                }
            }
        }

        let eps = self.o.eps;
        let n_out = y.numel();
        for (k, &i) in self.checked.iter().enumerate() {
            let x = &self.inputs[i];
            let n_in = x.numel();
            if n_in <= self.o.full_jacobian_max && n_out <= self.o.full_jacobian_max {
                // Full Jacobian: analytical rows from one-hot incoming gradients ...
                let mut analytical = vec![0.0f64; n_out * n_in];
                for j in 0..n_out {
                    let mut e = vec![0.0f64; n_out];
                    e[j] = 1.0;
                    let e = Tensor::from_vec(e, y.shape().clone());
                    let row = self.vjp(&tape, &ins, &y, &e)?.swap_remove(k).to_f64_vec();
                    analytical[j * n_in..(j + 1) * n_in].copy_from_slice(&row);
                }
                // ... numerical columns from central differences.
                let mut worst: Option<(f64, usize, usize, f64, f64)> = None;
                for c in 0..n_in {
                    let mut plus = self.inputs.clone();
                    plus[i] = nudged(x, c, eps);
                    let mut minus = self.inputs.clone();
                    minus[i] = nudged(x, c, -eps);
                    let (fp, fm) = (
                        self.eval(&plus).to_f64_vec(),
                        self.eval(&minus).to_f64_vec(),
                    );
                    for j in 0..n_out {
                        let n = (fp[j] - fm[j]) / (2.0 * eps);
                        let a = analytical[j * n_in + c];
                        if !close(a, n, &self.o) {
                            let excess = (a - n).abs() - self.o.rtol * n.abs();
                            if worst.is_none_or(|w| excess > w.0 || excess.is_nan()) {
                                worst = Some((excess, c, j, n, a));
                            }
                        }
                    }
                }
                if let Some((_, c, j, n, a)) = worst {
                    return Err(self.err(GradcheckProblem::Mismatch {
                        input: i,
                        index: unravel(c, x.dims()),
                        output: Some(unravel(j, y.dims())),
                        numerical: n,
                        analytical: a,
                    }));
                }
            } else {
                let u = rng.tensor(x.shape());
                let analytical = dot(&g[k], &u);
                let mut plus = self.inputs.clone();
                plus[i] = moved(x, &u, eps);
                let mut minus = self.inputs.clone();
                minus[i] = moved(x, &u, -eps);
                let diff = self.eval(&plus).sub(&self.eval(&minus)).div(2.0 * eps);
                let numerical = dot(&diff, &v);
                let scale = (n_in as f64).sqrt();
                if (analytical - numerical).abs()
                    > self.o.atol * scale + self.o.rtol * numerical.abs()
                {
                    return Err(self.err(GradcheckProblem::Projection {
                        input: i,
                        numerical,
                        analytical,
                    }));
                }
            }
        }
        Ok(())
    }
}

/// The op names `f` records, deduplicated in order, joined by ", ".
fn op_label(f: &dyn Fn(&[Tensor]) -> Tensor, inputs: &[Tensor], checked: &[usize]) -> String {
    let tape = GradientTape::persistent();
    let ins: Vec<Tensor> = inputs.iter().map(stop_gradient).collect();
    for &i in checked {
        tape.watch(&ins[i]);
    }
    let _ = f(&ins);
    let mut names: Vec<&str> = Vec::new();
    for n in tape.op_names() {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    if names.is_empty() {
        "<no recorded op>".to_string()
    } else {
        names.join(", ")
    }
}

fn checked_inputs(inputs: &[Tensor]) -> Vec<usize> {
    (0..inputs.len())
        .filter(|&i| inputs[i].dtype() == DType::Float64)
        .collect()
}

/// Checks the tape's gradients of `f` at `inputs` against central finite differences, with
/// PyTorch's default tolerances. Float64 inputs are checked; others are passed through.
///
/// ```
/// use keen_tape::gradcheck;
/// use keen_tensor::Tensor;
/// let x = Tensor::from([[0.3f64, -1.2], [2.0, 0.7]]);
/// gradcheck(&|t| t[0].tanh().mul(&t[0]), &[x]).unwrap();
/// ```
pub fn gradcheck(f: &dyn Fn(&[Tensor]) -> Tensor, inputs: &[Tensor]) -> Result<(), GradcheckError> {
    gradcheck_with(f, inputs, GradcheckOptions::default())
}

/// [`gradcheck`] with explicit options.
pub fn gradcheck_with(
    f: &dyn Fn(&[Tensor]) -> Tensor,
    inputs: &[Tensor],
    options: GradcheckOptions,
) -> Result<(), GradcheckError> {
    let checked = checked_inputs(inputs);
    let op = op_label(f, inputs, &checked);
    Checker {
        f,
        inputs: inputs.to_vec(),
        checked,
        o: options,
        op,
    }
    .run()
}

/// Checks second-order gradients: for each float64 input `i`, gradchecks the map
/// `inputs ↦ vjp_i(f)(inputs, v)` for a fixed random `v`, computed under a tape while another
/// records (so the rules' own ops are differentiated).
/// A rule that declares itself first-order only gives `GradcheckProblem::Tape` with the
/// tape's message.
pub fn gradgradcheck(
    f: &dyn Fn(&[Tensor]) -> Tensor,
    inputs: &[Tensor],
) -> Result<(), GradcheckError> {
    gradgradcheck_with(f, inputs, GradcheckOptions::default())
}

/// [`gradgradcheck`] with explicit options.
pub fn gradgradcheck_with(
    f: &dyn Fn(&[Tensor]) -> Tensor,
    inputs: &[Tensor],
    options: GradcheckOptions,
) -> Result<(), GradcheckError> {
    let checked = checked_inputs(inputs);
    let op = op_label(f, inputs, &checked);
    let y = f(inputs);
    let v = Rng(options.seed ^ 0xabcdef)
        .tensor(y.shape())
        .cast(y.dtype());
    let n = inputs.len();
    for &i in &checked {
        let refused: RefCell<Option<TapeError>> = RefCell::new(None);
        let checked_inner = checked.clone();
        let grad_i = |xs: &[Tensor]| -> Tensor {
            let (ins, v) = (&xs[..n], &xs[n]);
            let tape = GradientTape::new();
            for &c in &checked_inner {
                tape.watch(&ins[c]);
            }
            let y = f(ins);
            match tape.try_gradient_with(&y, &[&ins[i]], Some(v)) {
                Ok(mut g) => g
                    .swap_remove(0)
                    .unwrap_or_else(|| Tensor::zeros_like(&ins[i])),
                Err(e) => {
                    refused.borrow_mut().get_or_insert(e);
                    Tensor::zeros_like(&ins[i])
                }
            }
        };
        let mut all = inputs.to_vec();
        all.push(v.clone());
        // `v` rides along unchecked: the vjp is linear in it by construction (and gradcheck
        // tests that), while finite differences in `v` through a float32 cast are too coarse.
        let result = Checker {
            f: &grad_i,
            inputs: all,
            checked: checked.clone(),
            o: options,
            op: op.clone(),
        }
        .run();
        if let Some(e) = refused.borrow_mut().take() {
            return Err(GradcheckError {
                op,
                sample: None,
                second_order: true,
                problem: GradcheckProblem::Tape(e.message().to_string()),
            });
        }
        result.map_err(|mut e| {
            e.second_order = true;
            e
        })?;
    }
    Ok(())
}
