//! [`OptimizerCore`]: what every optimizer shares (step counter, learning rate, clipping,
//! weight decay, slots, state, the `None`-gradient warning), and [`UpdateRule`]: the one
//! thing each optimizer writes itself, its per-element update.
//!
//! One step, in Keras 3's order (`BaseOptimizer.apply`):
//!
//! ```text
//! lr = learning_rate(iterations)          a schedule sees the count of completed steps
//! g  = clip(g)                            clipnorm | global_clipnorm | clipvalue
//! w  = w - w * weight_decay * lr          decoupled weight decay, when set
//! rule.update(w, g, slots)                the optimizer's own formula
//! iterations += 1
//! ```
//!
//! The update is fused: for each variable one pass over its data reads the gradient, clips
//! it, decays the weight, updates the slots in place and writes the new value into a fresh
//! buffer, which is then [`assign`](Variable::assign)ed (a tensor's storage is never written,
//! so a tape holding the old value still sees it). Large variables are split across rayon
//! threads in fixed chunks; every element's arithmetic is the same whatever the thread count,
//! so results are bit-identical with one thread or many.

use crate::clip::{global_scale, sum_of_squares, Clip};
use crate::error::bail;
use crate::schedule::LearningRate;
use crate::{OptimizerError, OptimizerState, PAR_MIN};
use keen_tape::{Variable, VariableId};
use keen_tensor::{DType, Element, Float, Shape, Tensor};
use rayon::prelude::*;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::mem::MaybeUninit;

/// Elements per rayon task for large variables.
const TASK: usize = 1 << 15;
/// Elements per inner block: the block's gradient, weights and slots stay in L1.
const BLOCK: usize = 1 << 10;

/// An optimizer's update formula, applied elementwise to one block of a variable at a time.
///
/// Implement this (plus a struct holding an [`OptimizerCore`] in `core` and the rule in
/// `rule`, and [`optimizer_common!`](crate::optimizer_common)) to write an optimizer as
/// capable as the built-in ones. Every built-in optimizer is written this way; `sgd.rs` is
/// the shortest example.
pub trait UpdateRule: Send + Sync {
    /// Scalars computed once per step, before the variables are updated (bias corrections).
    type Step: Sync;

    /// The Keras name (`"Adam"`): in messages and in the saved state.
    fn name(&self) -> &'static str;

    /// The names of the per-variable slots, each a buffer of the variable's size (Keras'
    /// names: `momentum`, `velocity`, …). May depend on options (Adam's `amsgrad`).
    fn slot_names(&self) -> &'static [&'static str];

    /// The value slot `slot` starts at (0 unless overridden: Adagrad's accumulator).
    fn slot_initial_value(&self, _slot: usize) -> f64 {
        0.0
    }

    /// Computes the per-step scalars. `step` counts from 1 (the step being taken; Keras'
    /// `iterations + 1`); `learning_rate` is the rate for this step.
    fn begin_step(&mut self, step: u64, learning_rate: f64) -> Self::Step;

    /// Updates one block in place: `w` holds the (weight-decayed) weights and receives the new
    /// ones, `g` is the (clipped) gradient, `slots` the block's slots in
    /// [`slot_names`](Self::slot_names) order. Called for blocks in any order, possibly from
    /// several threads: it must be elementwise.
    fn update<T: Float>(&self, step: &Self::Step, w: &mut [T], g: &[T], slots: &mut [&mut [T]]);

    /// Optimizer-wide numbers to save besides the step (Nadam's `u_product`).
    fn scalars(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }

    /// Restores one of [`scalars`](Self::scalars); `false` for an unknown name.
    fn set_scalar(&mut self, _name: &str, _value: f64) -> bool {
        false
    }
}

/// The slots of one variable, in the variable's dtype.
enum SlotData {
    F32(Vec<Vec<f32>>),
    F64(Vec<Vec<f64>>),
}

struct VarSlots {
    name: String,
    shape: Shape,
    data: SlotData,
}

/// Restored slots waiting for their variable (matched by name on its first update).
struct Pending {
    name: String,
    slots: Vec<Tensor>,
}

/// How one variable's gradient and weights are prepared inside the fused pass.
struct Prep {
    /// `w -= w * decay` (weight_decay × lr), 0 for none.
    decay: f64,
    /// The gradient's scale from clipnorm / global_clipnorm.
    scale: f64,
    /// The clipvalue bound.
    clipvalue: Option<f64>,
}

/// The state and options every optimizer shares. See the [module docs](self) for one step.
pub struct OptimizerCore {
    learning_rate: LearningRate,
    iterations: u64,
    clip: Clip,
    weight_decay: Option<f64>,
    exclude_from_weight_decay: Vec<String>,
    slots: Vec<VarSlots>,
    index: HashMap<VariableId, usize>,
    pending: Vec<Pending>,
    /// The sets of variables already warned about for a missing gradient.
    warned: HashSet<Vec<VariableId>>,
}

impl OptimizerCore {
    /// A core with no clipping and no weight decay.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Self {
        OptimizerCore {
            learning_rate: learning_rate.into(),
            iterations: 0,
            clip: Clip::None,
            weight_decay: None,
            exclude_from_weight_decay: Vec::new(),
            slots: Vec::new(),
            index: HashMap::new(),
            pending: Vec::new(),
            warned: HashSet::new(),
        }
    }

    /// The learning rate of the next step.
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate.at(self.iterations)
    }

    /// A constant learning rate from now on (replaces a schedule).
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = LearningRate::Constant(learning_rate);
    }

    /// The number of steps taken.
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// The clipping in use.
    pub fn clip(&self) -> Clip {
        self.clip
    }

    /// Sets the clipping; `optimizer` names the optimizer in the panic message.
    ///
    /// # Panics
    /// `Adam: clipnorm must be positive, got -1`, or `Adam: clipnorm and clipvalue cannot both be
    /// set` (Keras applies only one kind).
    #[track_caller]
    pub fn set_clip(&mut self, clip: Clip, optimizer: &str) {
        let (Clip::Value(c) | Clip::Norm(c) | Clip::GlobalNorm(c)) = clip else {
            self.clip = Clip::None;
            return;
        };
        let name = clip.keras_name();
        assert!(c > 0.0, "{optimizer}: {name} must be positive, got {c}");
        if self.clip != Clip::None
            && std::mem::discriminant(&self.clip) != std::mem::discriminant(&clip)
        {
            panic!(
                "{optimizer}: {name} and {} cannot both be set",
                self.clip.keras_name()
            );
        }
        self.clip = clip;
    }

    /// The decoupled weight decay (`None`: off).
    pub fn weight_decay(&self) -> Option<f64> {
        self.weight_decay
    }

    /// Sets the decoupled weight decay: `w -= w * weight_decay * lr` before each update.
    ///
    /// # Panics
    /// `Adam: weight_decay must be non-negative, got -0.1`.
    #[track_caller]
    pub fn set_weight_decay(&mut self, weight_decay: f64, optimizer: &str) {
        assert!(
            weight_decay >= 0.0,
            "{optimizer}: weight_decay must be non-negative, got {weight_decay}"
        );
        self.weight_decay = (weight_decay > 0.0).then_some(weight_decay);
    }

    /// Variables whose name contains one of `names` get no weight decay (biases, norms).
    pub fn exclude_from_weight_decay(&mut self, names: &[&str]) {
        self.exclude_from_weight_decay
            .extend(names.iter().map(|s| s.to_string()));
    }

    /// The slot `name` of `var` (a copy), if the optimizer has created it.
    pub fn slot<R: UpdateRule>(&self, rule: &R, var: &Variable, name: &str) -> Option<Tensor> {
        let vs = &self.slots[*self.index.get(&var.id())?];
        let k = rule.slot_names().iter().position(|&s| s == name)?;
        Some(vs.data.tensor(k, &vs.shape))
    }

    /// One step: validates, clips, decays, updates every variable with a gradient and counts
    /// the step. On an error nothing is updated and the step is not counted.
    pub fn apply<R: UpdateRule>(
        &mut self,
        rule: &mut R,
        grads: &[Option<Tensor>],
        vars: &[Variable],
    ) -> Result<(), OptimizerError> {
        let present = check_gradients(grads, vars)?;
        let slot_ids = present
            .iter()
            .map(|(i, _, value)| self.slots_for(&*rule, &vars[*i], value))
            .collect::<Result<Vec<_>, _>>()?;
        if present.len() < vars.len() {
            self.warn_missing(grads, vars);
        }
        let lr = self.learning_rate();
        let scales = self.gradient_scales(&present);
        let clipvalue = match self.clip {
            Clip::Value(c) => Some(c),
            _ => None,
        };
        let step = rule.begin_step(self.iterations + 1, lr);
        for (((i, grad, value), si), scale) in present.iter().zip(slot_ids).zip(scales) {
            let var = &vars[*i];
            let decay = match self.weight_decay {
                Some(wd) if !self.excluded(var) => wd * lr,
                _ => 0.0,
            };
            let prep = Prep {
                decay,
                scale,
                clipvalue,
            };
            let new = self.slots[si]
                .data
                .update(&*rule, &step, value, grad, &prep);
            var.try_assign(&new)?;
        }
        self.iterations += 1;
        Ok(())
    }

    /// The state: step, learning rate, the rule's scalars, every slot by variable name.
    pub fn state<R: UpdateRule>(&self, rule: &R) -> OptimizerState {
        let names = rule.slot_names();
        let mut slots = Vec::new();
        for vs in &self.slots {
            for (k, slot) in names.iter().enumerate() {
                slots.push((format!("{}/{slot}", vs.name), vs.data.tensor(k, &vs.shape)));
            }
        }
        for p in &self.pending {
            for (t, slot) in p.slots.iter().zip(names) {
                slots.push((format!("{}/{slot}", p.name), t.clone()));
            }
        }
        OptimizerState {
            optimizer: rule.name().to_string(),
            iterations: self.iterations,
            learning_rate: self.learning_rate(),
            scalars: rule
                .scalars()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            slots,
        }
    }

    /// Restores a state (slots are matched to variables by name on their next update).
    /// On an error nothing changes.
    pub fn load_state<R: UpdateRule>(
        &mut self,
        rule: &mut R,
        state: &OptimizerState,
    ) -> Result<(), OptimizerError> {
        let name = rule.name();
        if state.optimizer != name {
            bail!(
                "load_state: the state was saved by {}, this optimizer is {name}",
                state.optimizer
            );
        }
        let names = rule.slot_names();
        // Group the slots by variable (in order of first appearance), then put each group in
        // the rule's slot order: a state read back from a sorted map loads as well.
        let mut groups: Vec<(String, Vec<(&str, &Tensor)>)> = Vec::new();
        let mut group_of: HashMap<&str, usize> = HashMap::new();
        for (key, t) in &state.slots {
            let Some((var, slot)) = key.rsplit_once('/') else {
                bail!("load_state: slot `{key}` is not named `variable/slot`");
            };
            if !t.dtype().is_float() {
                bail!(
                    "load_state: slot `{key}` is {}, expected float32 or float64",
                    t.dtype()
                );
            }
            let g = *group_of.entry(var).or_insert_with(|| {
                groups.push((var.to_string(), Vec::new()));
                groups.len() - 1
            });
            let group = &mut groups[g].1;
            if group.iter().any(|(s, _)| *s == slot) {
                bail!("load_state: slot `{key}` appears twice (are two variables named `{var}`?)");
            }
            if let Some((first, t0)) = group.first()
                && (t0.shape() != t.shape() || t0.dtype() != t.dtype())
            {
                bail!(
                    "load_state: slot `{key}` has shape {} and dtype {}, but `{var}/{first}` has {} and {}",
                    t.shape(),
                    t.dtype(),
                    t0.shape(),
                    t0.dtype()
                );
            }
            group.push((slot, t));
        }
        let mut pending = Vec::with_capacity(groups.len());
        for (var, got) in groups {
            let ordered: Option<Vec<Tensor>> = names
                .iter()
                .map(|n| got.iter().find(|(s, _)| s == n).map(|(_, t)| (*t).clone()))
                .collect();
            match ordered {
                Some(slots) if got.len() == names.len() => {
                    pending.push(Pending { name: var, slots })
                }
                _ => {
                    let got: Vec<&str> = got.iter().map(|(s, _)| *s).collect();
                    bail!(
                        "load_state: variable `{var}` has slots ({}) in the state, but this {name} keeps ({})",
                        got.join(", "),
                        names.join(", ")
                    );
                }
            }
        }
        let expected = rule.scalars();
        for (k, _) in &expected {
            if !state.scalars.iter().any(|(s, _)| s == k) {
                bail!("load_state: the state lacks {name}'s scalar `{k}`");
            }
        }
        for (k, _) in &state.scalars {
            if !expected.iter().any(|(s, _)| s == k) {
                bail!("load_state: {name} has no scalar `{k}`");
            }
        }
        for (k, v) in &state.scalars {
            rule.set_scalar(k, *v);
        }
        self.iterations = state.iterations;
        if let LearningRate::Constant(_) = self.learning_rate {
            self.learning_rate = LearningRate::Constant(state.learning_rate);
        }
        self.slots.clear();
        self.index.clear();
        self.pending = pending;
        Ok(())
    }

    /// The index of `var`'s slots, creating them (zeros, or restored ones) on first sight.
    fn slots_for<R: UpdateRule>(
        &mut self,
        rule: &R,
        var: &Variable,
        value: &Tensor,
    ) -> Result<usize, OptimizerError> {
        let names = rule.slot_names();
        if let Some(&i) = self.index.get(&var.id()) {
            let have = self.slots[i].data.count();
            if have != names.len() {
                bail!(
                    "apply_gradients: variable `{}` has {have} slots but this {} keeps {} ({}): were its options changed after the first step?",
                    var.name(),
                    rule.name(),
                    names.len(),
                    names.join(", ")
                );
            }
            return Ok(i);
        }
        let data = match self.pending.iter().position(|p| p.name == var.name()) {
            Some(p) => {
                let t = &self.pending[p].slots[0];
                if t.shape() != value.shape() || t.dtype() != value.dtype() {
                    bail!(
                        "apply_gradients: the restored slot `{}/{}` has shape {} and dtype {}, but the variable has {} and {}",
                        var.name(),
                        names[0],
                        t.shape(),
                        t.dtype(),
                        value.shape(),
                        value.dtype()
                    );
                }
                SlotData::from_tensors(value.dtype(), &self.pending.remove(p).slots)
            }
            None => SlotData::new(value.dtype(), value.numel(), names.len(), |k| {
                rule.slot_initial_value(k)
            }),
        };
        self.slots.push(VarSlots {
            name: var.name().to_string(),
            shape: value.shape().clone(),
            data,
        });
        self.index.insert(var.id(), self.slots.len() - 1);
        Ok(self.slots.len() - 1)
    }

    /// Each gradient's scale from clipnorm / global_clipnorm (1 otherwise).
    fn gradient_scales(&self, present: &[(usize, &Tensor, Tensor)]) -> Vec<f64> {
        match self.clip {
            Clip::Norm(c) => present
                .iter()
                .map(|(_, g, _)| c / sum_of_squares(g, "clipnorm").sqrt().max(c))
                .collect(),
            Clip::GlobalNorm(c) => {
                let sq: f64 = present
                    .iter()
                    .map(|(_, g, _)| sum_of_squares(g, "global_clipnorm"))
                    .sum();
                vec![global_scale(sq.sqrt(), c); present.len()]
            }
            _ => vec![1.0; present.len()],
        }
    }

    fn excluded(&self, var: &Variable) -> bool {
        self.exclude_from_weight_decay
            .iter()
            .any(|s| var.name().contains(s.as_str()))
    }

    /// Warns once per set of variables that got no gradient.
    fn warn_missing(&mut self, grads: &[Option<Tensor>], vars: &[Variable]) {
        let missing: Vec<&Variable> = vars
            .iter()
            .zip(grads)
            .filter(|(_, g)| g.is_none())
            .map(|(v, _)| v)
            .collect();
        if self.warned.insert(missing.iter().map(|v| v.id()).collect()) {
            eprintln!("warning: {}", missing_message(&missing, vars.len()));
        }
    }

    /// How many distinct warnings were printed (for tests).
    #[cfg(test)]
    pub(crate) fn warnings(&self) -> usize {
        self.warned.len()
    }
}

impl fmt::Debug for OptimizerCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OptimizerCore")
            .field("learning_rate", &self.learning_rate)
            .field("iterations", &self.iterations)
            .field("clip", &self.clip)
            .field("weight_decay", &self.weight_decay)
            .field("variables", &self.slots.len())
            .finish()
    }
}

/// `apply_gradients: 2 of 14 variables got no gradient: \`a\`, \`b\``.
pub(crate) fn missing_message(missing: &[&Variable], total: usize) -> String {
    format!(
        "apply_gradients: {} of {total} variables got no gradient: {} (they are not updated)",
        missing.len(),
        name_list(missing.iter().map(|v| v.name()))
    )
}

/// `` `a`, `b`, `c` `` — at most ten names, then `and 4 more`.
fn name_list<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    const MAX: usize = 10;
    let n = names.len();
    let mut s: Vec<String> = names.take(MAX).map(|v| format!("`{v}`")).collect();
    if n > MAX {
        s.push(format!("and {} more", n - MAX));
    }
    s.join(", ")
}

/// Checks lengths, duplicates, dtypes and shapes; returns `(index, gradient, current value)`
/// for every variable with a gradient.
fn check_gradients<'g>(
    grads: &'g [Option<Tensor>],
    vars: &[Variable],
) -> Result<Vec<(usize, &'g Tensor, Tensor)>, OptimizerError> {
    if grads.len() != vars.len() {
        bail!(
            "apply_gradients: {} gradients for {} variables",
            grads.len(),
            vars.len()
        );
    }
    if vars.is_empty() {
        bail!(
            "apply_gradients: no variables to update (a model creates its variables on its first call; call it once before collecting them)"
        );
    }
    let mut seen: HashMap<VariableId, usize> = HashMap::with_capacity(vars.len());
    let mut present = Vec::with_capacity(vars.len());
    for (i, (g, v)) in grads.iter().zip(vars).enumerate() {
        if let Some(j) = seen.insert(v.id(), i) {
            bail!(
                "apply_gradients: variable `{}` appears twice (positions {j} and {i})",
                v.name()
            );
        }
        let Some(g) = g else { continue };
        let value = v.value_unwatched();
        if !value.dtype().is_float() {
            bail!(
                "apply_gradients: variable `{}` is {}; only float32 and float64 variables can be trained",
                v.name(),
                value.dtype()
            );
        }
        if g.shape() != value.shape() || g.dtype() != value.dtype() {
            bail!(
                "apply_gradients: the gradient for `{}` has shape {} and dtype {}, but the variable has {} and {}",
                v.name(),
                g.shape(),
                g.dtype(),
                value.shape(),
                value.dtype()
            );
        }
        present.push((i, g, value));
    }
    if present.is_empty() {
        bail!(
            "apply_gradients: no gradients for any variable: is the loss connected to the model? (variables: {})",
            name_list(vars.iter().map(|v| v.name()))
        );
    }
    Ok(present)
}

impl SlotData {
    fn new(dtype: DType, n: usize, count: usize, init: impl Fn(usize) -> f64) -> Self {
        match dtype {
            DType::Float32 => SlotData::F32((0..count).map(|k| vec![init(k) as f32; n]).collect()),
            _ => SlotData::F64((0..count).map(|k| vec![init(k); n]).collect()),
        }
    }

    fn from_tensors(dtype: DType, slots: &[Tensor]) -> Self {
        match dtype {
            DType::Float32 => SlotData::F32(slots.iter().map(|t| t.to_vec()).collect()),
            _ => SlotData::F64(slots.iter().map(|t| t.to_vec()).collect()),
        }
    }

    fn count(&self) -> usize {
        match self {
            SlotData::F32(s) => s.len(),
            SlotData::F64(s) => s.len(),
        }
    }

    fn tensor(&self, k: usize, shape: &Shape) -> Tensor {
        match self {
            SlotData::F32(s) => Tensor::from_vec(s[k].clone(), shape.clone()),
            SlotData::F64(s) => Tensor::from_vec(s[k].clone(), shape.clone()),
        }
    }

    fn update<R: UpdateRule>(
        &mut self,
        rule: &R,
        step: &R::Step,
        w: &Tensor,
        g: &Tensor,
        prep: &Prep,
    ) -> Tensor {
        match self {
            SlotData::F32(s) => fused::<f32, R>(rule, step, w, g, s, prep),
            SlotData::F64(s) => fused::<f64, R>(rule, step, w, g, s, prep),
        }
    }
}

fn contiguous<T: Element>(t: &Tensor) -> Cow<'_, [T]> {
    match t.as_slice::<T>() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(t.to_vec::<T>()),
    }
}

/// The fused update of one variable: the new value, in a fresh buffer.
fn fused<T: Float, R: UpdateRule>(
    rule: &R,
    step: &R::Step,
    w: &Tensor,
    g: &Tensor,
    slots: &mut [Vec<T>],
    prep: &Prep,
) -> Tensor {
    let (wv, gv) = (contiguous::<T>(w), contiguous::<T>(g));
    let n = wv.len();
    let mut out: Vec<T> = Vec::with_capacity(n);
    let spare = &mut out.spare_capacity_mut()[..n];
    if n >= PAR_MIN {
        let mut per_task: Vec<SmallVec<[&mut [T]; 4]>> =
            (0..n.div_ceil(TASK)).map(|_| SmallVec::new()).collect();
        for s in slots.iter_mut() {
            for (task, piece) in per_task.iter_mut().zip(s.chunks_mut(TASK)) {
                task.push(piece);
            }
        }
        spare
            .par_chunks_mut(TASK)
            .zip(wv.par_chunks(TASK))
            .zip(gv.par_chunks(TASK))
            .zip(per_task.into_par_iter())
            .for_each(|(((o, w), g), mut s)| simd_blocks(rule, step, o, w, g, &mut s, prep));
    } else {
        let mut s: SmallVec<[&mut [T]; 4]> = slots.iter_mut().map(|s| s.as_mut_slice()).collect();
        simd_blocks(rule, step, spare, &wv, &gv, &mut s, prep);
    }
    // SAFETY: `blocks` initialised all n elements (it writes every element of `out`).
    unsafe { out.set_len(n) };
    Tensor::from_vec(out, w.shape().clone())
}

/// [`blocks`] compiled for the widest vector unit the CPU has: the update rules are plain
/// elementwise loops (sqrt and divide included), which the baseline x86-64 target only runs
/// four floats at a time. Chosen at run time, so the binary still runs on any x86-64.
fn simd_blocks<T: Float, R: UpdateRule>(
    rule: &R,
    step: &R::Step,
    out: &mut [MaybeUninit<T>],
    w: &[T],
    g: &[T],
    slots: &mut [&mut [T]],
    prep: &Prep,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            return unsafe { blocks_avx512(rule, step, out, w, g, slots, prep) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe { blocks_avx2(rule, step, out, w, g, slots, prep) };
        }
    }
    blocks(rule, step, out, w, g, slots, prep)
}

/// Declares each `$name` as [`blocks`] compiled with the CPU features `$features` enabled
/// (the body is the same inlined loop; only the instructions it may use differ).
macro_rules! blocks_with_features {
    ($($name:ident: $features:literal),* $(,)?) => {$(
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $name<T: Float, R: UpdateRule>(
            rule: &R,
            step: &R::Step,
            out: &mut [MaybeUninit<T>],
            w: &[T],
            g: &[T],
            slots: &mut [&mut [T]],
            prep: &Prep,
        ) {
            blocks(rule, step, out, w, g, slots, prep)
        }
    )*};
}

blocks_with_features!(
    blocks_avx512: "avx512f,avx2,fma",
    blocks_avx2: "avx2,fma",
);

/// Runs the rule over `BLOCK`-sized pieces, preparing each piece's weights and gradient.
#[inline(always)]
fn blocks<T: Float, R: UpdateRule>(
    rule: &R,
    step: &R::Step,
    out: &mut [MaybeUninit<T>],
    w: &[T],
    g: &[T],
    slots: &mut [&mut [T]],
    prep: &Prep,
) {
    let decay = T::from_f64(prep.decay);
    let scale = T::from_f64(prep.scale);
    let bound = prep.clipvalue.map(T::from_f64);
    let plain_gradient = prep.scale == 1.0 && bound.is_none();
    let mut scratch = [T::zero(); BLOCK];
    let mut start = 0;
    while start < w.len() {
        let end = (start + BLOCK).min(w.len());
        let (wb, ob) = (&w[start..end], &mut out[start..end]);
        if prep.decay != 0.0 {
            for (o, &x) in ob.iter_mut().zip(wb) {
                o.write(x - x * decay);
            }
        } else {
            for (o, &x) in ob.iter_mut().zip(wb) {
                o.write(x);
            }
        }
        // SAFETY: every element of `ob` was written just above; MaybeUninit<T> has T's layout.
        let ob = unsafe { &mut *(ob as *mut [MaybeUninit<T>] as *mut [T]) };
        let gb: &[T] = if plain_gradient {
            &g[start..end]
        } else {
            let s = &mut scratch[..end - start];
            for (s, &x) in s.iter_mut().zip(&g[start..end]) {
                let x = x * scale;
                *s = match bound {
                    Some(c) => x.max(-c).min(c),
                    None => x,
                };
            }
            s
        };
        let mut sb: SmallVec<[&mut [T]; 4]> =
            slots.iter_mut().map(|s| &mut s[start..end]).collect();
        rule.update(step, ob, gb, &mut sb);
        start = end;
    }
}

/// Implements [`Optimizer`](crate::Optimizer) and the shared Keras options (`clipvalue`,
/// `clipnorm`, `global_clipnorm`, `weight_decay`, `exclude_from_weight_decay`) for a struct
/// with fields `core: OptimizerCore` and `rule: impl UpdateRule`.
#[macro_export]
macro_rules! optimizer_common {
    ($ty:ident) => {
        impl $ty {
            /// Clips every gradient element to `[-clipvalue, clipvalue]` before the update
            /// (Keras `clipvalue`).
            ///
            /// # Panics
            /// When `clipvalue` is not positive or another clipping option is set.
            #[track_caller]
            pub fn clipvalue(mut self, clipvalue: f64) -> Self {
                let name = $crate::UpdateRule::name(&self.rule);
                self.core
                    .set_clip($crate::clip::Clip::Value(clipvalue), name);
                self
            }

            /// Rescales each gradient to L2 norm at most `clipnorm`: `g * c / max(‖g‖, c)`
            /// (Keras `clipnorm`).
            ///
            /// # Panics
            /// When `clipnorm` is not positive or another clipping option is set.
            #[track_caller]
            pub fn clipnorm(mut self, clipnorm: f64) -> Self {
                let name = $crate::UpdateRule::name(&self.rule);
                self.core.set_clip($crate::clip::Clip::Norm(clipnorm), name);
                self
            }

            /// Rescales all gradients together to global L2 norm at most `global_clipnorm`
            /// (Keras `global_clipnorm`).
            ///
            /// # Panics
            /// When `global_clipnorm` is not positive or another clipping option is set.
            #[track_caller]
            pub fn global_clipnorm(mut self, global_clipnorm: f64) -> Self {
                let name = $crate::UpdateRule::name(&self.rule);
                self.core
                    .set_clip($crate::clip::Clip::GlobalNorm(global_clipnorm), name);
                self
            }

            /// Decoupled weight decay: `w -= w * weight_decay * lr` before each update
            /// (Keras `weight_decay`; 0 turns it off).
            ///
            /// # Panics
            /// When `weight_decay` is negative.
            #[track_caller]
            pub fn weight_decay(mut self, weight_decay: f64) -> Self {
                let name = $crate::UpdateRule::name(&self.rule);
                self.core.set_weight_decay(weight_decay, name);
                self
            }

            /// No weight decay for variables whose name contains one of `names`
            /// (`&["bias", "norm"]`).
            pub fn exclude_from_weight_decay(mut self, names: &[&str]) -> Self {
                self.core.exclude_from_weight_decay(names);
                self
            }

            /// A copy of slot `name` of `var` (`"momentum"`, `"velocity"`, …), once created.
            pub fn slot(
                &self,
                var: &$crate::__private::Variable,
                name: &str,
            ) -> Option<$crate::__private::Tensor> {
                self.core.slot(&self.rule, var, name)
            }
        }

        impl $crate::Optimizer for $ty {
            fn name(&self) -> &str {
                $crate::UpdateRule::name(&self.rule)
            }
            fn try_apply_gradients(
                &mut self,
                grads: &[Option<$crate::__private::Tensor>],
                vars: &[$crate::__private::Variable],
            ) -> Result<(), $crate::OptimizerError> {
                self.core.apply(&mut self.rule, grads, vars)
            }
            fn learning_rate(&self) -> f64 {
                self.core.learning_rate()
            }
            fn set_learning_rate(&mut self, learning_rate: f64) {
                self.core.set_learning_rate(learning_rate)
            }
            fn iterations(&self) -> u64 {
                self.core.iterations()
            }
            fn state(&self) -> $crate::OptimizerState {
                self.core.state(&self.rule)
            }
            fn load_state(
                &mut self,
                state: &$crate::OptimizerState,
            ) -> Result<(), $crate::OptimizerError> {
                self.core.load_state(&mut self.rule, state)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Optimizer, Sgd};

    #[test]
    fn missing_gradients_warn_once_per_set() {
        let vars: Vec<Variable> = ["a", "b", "c"]
            .iter()
            .map(|n| Variable::new(*n, Tensor::from([1.0f32])))
            .collect();
        let g = || Some(Tensor::from([1.0f32]));
        let mut opt = Sgd::new(0.1);
        opt.apply_gradients(&[g(), None, None], &vars);
        opt.apply_gradients(&[g(), None, None], &vars);
        assert_eq!(opt.core.warnings(), 1);
        opt.apply_gradients(&[g(), g(), None], &vars); // another set: one more warning
        opt.apply_gradients(&[g(), g(), g()], &vars);
        assert_eq!(opt.core.warnings(), 2);
    }

    #[test]
    fn the_warning_names_the_variables() {
        let vars: Vec<Variable> = (0..14)
            .map(|i| Variable::new(format!("layer{i}.kernel"), Tensor::from([1.0f32])))
            .collect();
        let some: Vec<&Variable> = vars[12..].iter().collect();
        assert_eq!(
            missing_message(&some, 14),
            "apply_gradients: 2 of 14 variables got no gradient: `layer12.kernel`, `layer13.kernel` (they are not updated)"
        );
        let all: Vec<&Variable> = vars.iter().collect();
        assert!(missing_message(&all, 14)
            .ends_with("`layer9.kernel`, and 4 more (they are not updated)"));
    }
}
