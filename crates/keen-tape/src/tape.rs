//! [`GradientTape`]: records the ops applied to what it watches, then walks them backwards.
//!
//! A tape is a recorder (`keen_tensor::record::Recorder`) pushed on this thread's stack while
//! it is alive. Each op whose inputs the tape tracks becomes a [`Node`]; the tape is already
//! in execution order, so the backward walk is a reverse scan over the nodes that lie on a
//! path from a source to the target. Gradients accumulate by [`TensorId`], and each input's
//! gradient is summed down to the input's shape (`Tensor::sum_to_shape`): the one place where
//! broadcasting is undone.

use crate::variable::{Variable, VariableId};
use keen_tensor::record::{push_recorder, Backward, Recorder, RecorderHandle};
use keen_tensor::{Shape, Tensor, TensorId};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::panic::Location;
use std::rc::{Rc, Weak};
use std::sync::Arc;

/// One recorded op application.
struct Node {
    backward: Arc<dyn Backward>,
    /// Each input's id and shape, and whether it is a float tensor.
    inputs: Vec<(TensorId, Shape, bool)>,
    output: TensorId,
    output_is_float: bool,
    at: &'static Location<'static>,
    /// Set on the marks an inner walk leaves for a first-order-only rule's results: the rule's
    /// name. Reaching one in a walk is the second-order error.
    first_order_of: Option<&'static str>,
}

/// The rule of a first-order mark: never run (the walk stops with an error first).
struct FirstOrderMark;

impl Backward for FirstOrderMark {
    fn name(&self) -> &'static str {
        "first-order mark"
    }
    fn backward(&self, _: &Tensor) -> Vec<Option<Tensor>> {
        Vec::new()
    }
}

/// A node on the path of one walk.
struct Step {
    backward: Arc<dyn Backward>,
    /// Each input's id, shape, float-ness, and whether it depends on a source.
    inputs: Vec<(TensorId, Shape, bool, bool)>,
    output: TensorId,
    output_is_float: bool,
    at: &'static Location<'static>,
    first_order_of: Option<&'static str>,
}

/// What a tape holds while it records.
#[derive(Default)]
struct State {
    nodes: Vec<Node>,
    /// Watched tensors and the outputs of recorded ops.
    tracked: HashSet<TensorId>,
    /// The values each variable had when it was read (or watched) under this tape.
    reads: HashMap<VariableId, Vec<TensorId>>,
    /// Tensor ids that came from reading a variable, with the variable's name (for errors).
    var_names: HashMap<TensorId, String>,
    used: bool,
}

pub(crate) struct TapeInner {
    persistent: bool,
    watch_accessed_variables: bool,
    /// > 0 while this tape does not record (its own walk, `stop_recording`).
    paused: Cell<usize>,
    state: RefCell<State>,
}

impl Recorder for TapeInner {
    fn record(
        &self,
        inputs: &[&Tensor],
        output: &Tensor,
        make: &mut dyn FnMut() -> Arc<dyn Backward>,
        at: &'static Location<'static>,
    ) {
        if self.paused.get() > 0 {
            return;
        }
        let mut s = self.state.borrow_mut();
        if !inputs.iter().any(|t| s.tracked.contains(&t.id())) {
            return;
        }
        s.tracked.insert(output.id());
        s.nodes.push(Node {
            backward: make(),
            inputs: inputs
                .iter()
                .map(|t| (t.id(), t.shape().clone(), t.dtype().is_float()))
                .collect(),
            output: output.id(),
            output_is_float: output.dtype().is_float(),
            at,
            first_order_of: None,
        });
    }
}

impl TapeInner {
    /// Records that `results` (gradients computed by the first-order-only rule `op`) depend
    /// on `deps`, if this tape tracks any of them, so that differentiating them again is an
    /// error here while every other use of this tape is unaffected.
    fn mark_first_order(
        &self,
        op: &'static str,
        at: &'static Location<'static>,
        deps: &[(TensorId, &Shape)],
        results: &[&Tensor],
    ) {
        if self.paused.get() > 0 || results.is_empty() {
            return;
        }
        let mut s = self.state.borrow_mut();
        let inputs: Vec<(TensorId, Shape, bool)> = deps
            .iter()
            .filter(|(id, _)| s.tracked.contains(id))
            .map(|(id, shape)| (*id, (*shape).clone(), true))
            .collect();
        if inputs.is_empty() {
            return;
        }
        for r in results {
            s.tracked.insert(r.id());
            s.nodes.push(Node {
                backward: Arc::new(FirstOrderMark),
                inputs: inputs.clone(),
                output: r.id(),
                output_is_float: true,
                at,
                first_order_of: Some(op),
            });
        }
    }

    pub(crate) fn read_variable(&self, var: &Variable, value: &Tensor) {
        if self.paused.get() > 0 || !self.watch_accessed_variables || !var.trainable() {
            return;
        }
        self.watch_variable(var, value);
    }

    fn watch_variable(&self, var: &Variable, value: &Tensor) {
        let mut s = self.state.borrow_mut();
        if s.used {
            return;
        }
        s.tracked.insert(value.id());
        let reads = s.reads.entry(var.id()).or_default();
        if !reads.contains(&value.id()) {
            reads.push(value.id());
        }
        s.var_names.insert(value.id(), var.name().to_string());
    }
}

thread_local! {
    /// The tapes alive on this thread, for variables to announce reads to.
    static TAPES: RefCell<Vec<Weak<TapeInner>>> = const { RefCell::new(Vec::new()) };
}

/// Tells every tape alive on this thread that `var` was read with value `value`.
pub(crate) fn announce_read(var: &Variable, value: &Tensor) {
    let tapes: Vec<Rc<TapeInner>> =
        TAPES.with(|t| t.borrow().iter().filter_map(Weak::upgrade).collect());
    for t in tapes {
        t.read_variable(var, value);
    }
}

/// Options for [`GradientTape::with_options`].
#[derive(Clone, Copy, Debug)]
pub struct TapeOptions {
    /// Allow several `gradient` calls (the tape keeps its record until dropped).
    pub persistent: bool,
    /// Watch trainable variables automatically when they are read (TensorFlow's default).
    pub watch_accessed_variables: bool,
}

impl Default for TapeOptions {
    fn default() -> Self {
        TapeOptions {
            persistent: false,
            watch_accessed_variables: true,
        }
    }
}

/// An error from a tape: a misuse, or a gradient that cannot be computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TapeError {
    message: String,
}

impl TapeError {
    fn new(message: impl Into<String>) -> Self {
        TapeError {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TapeError {}

/// Something a gradient can be asked for: a [`Tensor`] the tape watched (or computed), or a
/// [`Variable`] read under the tape.
pub trait Source {
    /// Makes `tape` track this source from now on.
    fn watch_on(&self, tape: &GradientTape);
    /// The tensor ids whose gradients sum to this source's gradient.
    fn ids_on(&self, tape: &GradientTape) -> Vec<TensorId>;
    /// The shape and dtype of a zero gradient (for `jacobian`).
    fn like(&self) -> Tensor;
}

impl Source for Tensor {
    fn watch_on(&self, tape: &GradientTape) {
        let mut s = tape.inner.state.borrow_mut();
        if !s.used {
            s.tracked.insert(self.id());
        }
    }
    fn ids_on(&self, _: &GradientTape) -> Vec<TensorId> {
        vec![self.id()]
    }
    fn like(&self) -> Tensor {
        self.clone()
    }
}

impl Source for Variable {
    fn watch_on(&self, tape: &GradientTape) {
        tape.inner.watch_variable(self, &self.value_unwatched());
    }
    fn ids_on(&self, tape: &GradientTape) -> Vec<TensorId> {
        let s = tape.inner.state.borrow();
        s.reads.get(&self.id()).cloned().unwrap_or_default()
    }
    fn like(&self) -> Tensor {
        self.value_unwatched()
    }
}

impl<S: Source + ?Sized> Source for &S {
    fn watch_on(&self, tape: &GradientTape) {
        (**self).watch_on(tape)
    }
    fn ids_on(&self, tape: &GradientTape) -> Vec<TensorId> {
        (**self).ids_on(tape)
    }
    fn like(&self) -> Tensor {
        (**self).like()
    }
}

/// Records the ops applied to watched tensors and trainable variables, and computes gradients.
///
/// TensorFlow's semantics: the tape records from `new` until it is dropped (or [`stop`](Self::stop)
/// is called); trainable variables read under it are watched automatically, other tensors
/// with [`watch`](Self::watch). A non-persistent tape answers one [`gradient`](Self::gradient)
/// call and frees its record; [`persistent`](Self::persistent) ones answer many. Several tapes
/// record at once, and a tape alive while another computes gradients records that
/// computation, so gradients of gradients work.
///
/// ```
/// use keen_tape::{GradientTape, Variable};
/// use keen_tensor::Tensor;
///
/// let w = Variable::new("w", Tensor::from([1.0f64, 2.0, 3.0]));
/// let tape = GradientTape::new();
/// let loss = w.value().square().sum_all();        // sum(w²)
/// let grads = tape.gradient(&loss, &[&w]);
/// assert_eq!(grads[0].as_ref().unwrap().to_vec::<f64>(), [2.0, 4.0, 6.0]); // 2w
/// ```
pub struct GradientTape {
    inner: Rc<TapeInner>,
    handle: RefCell<Option<RecorderHandle>>,
}

impl GradientTape {
    /// A tape that answers one `gradient` call and watches variables when they are read.
    pub fn new() -> Self {
        Self::with_options(TapeOptions::default())
    }

    /// A tape that answers several `gradient` calls (drop it to free its record).
    pub fn persistent() -> Self {
        Self::with_options(TapeOptions {
            persistent: true,
            ..TapeOptions::default()
        })
    }

    /// A tape with explicit options.
    pub fn with_options(options: TapeOptions) -> Self {
        let inner = Rc::new(TapeInner {
            persistent: options.persistent,
            watch_accessed_variables: options.watch_accessed_variables,
            paused: Cell::new(0),
            state: RefCell::new(State::default()),
        });
        let handle = push_recorder(inner.clone());
        TAPES.with(|t| {
            let mut t = t.borrow_mut();
            t.retain(|w| w.strong_count() > 0);
            t.push(Rc::downgrade(&inner));
        });
        GradientTape {
            inner,
            handle: RefCell::new(Some(handle)),
        }
    }

    /// Runs `f` under a new tape and returns its value with the tape, which stops recording
    /// when `f` returns: `let (loss, tape) = GradientTape::record(|| model.loss(&x));`.
    pub fn record<R>(f: impl FnOnce() -> R) -> (R, GradientTape) {
        let tape = GradientTape::new();
        let r = f();
        tape.stop();
        (r, tape)
    }

    /// Whether this tape answers several `gradient` calls.
    pub fn is_persistent(&self) -> bool {
        self.inner.persistent
    }

    /// Makes the tape track `source` (a tensor or a variable) from now on.
    pub fn watch(&self, source: &impl Source) {
        source.watch_on(self);
    }

    /// Stops recording for good (the record stays for `gradient`).
    pub fn stop(&self) {
        self.handle.borrow_mut().take();
        self.inner.paused.set(self.inner.paused.get() + 1);
    }

    /// Runs `f` without this tape recording (other tapes keep recording).
    pub fn stop_recording<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Resume<'a>(&'a Cell<usize>);
        impl Drop for Resume<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() - 1);
            }
        }
        self.inner.paused.set(self.inner.paused.get() + 1);
        let _resume = Resume(&self.inner.paused);
        f()
    }

    /// The number of recorded ops.
    pub fn len(&self) -> usize {
        self.inner.state.borrow().nodes.len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The names of the recorded ops' rules, in execution order.
    pub fn op_names(&self) -> Vec<&'static str> {
        self.inner
            .state
            .borrow()
            .nodes
            .iter()
            .map(|n| n.backward.name())
            .collect()
    }

    /// The gradient of `target` with respect to each source (`None` where a source is not
    /// connected to the target). A non-scalar target gives the gradient of its sum.
    ///
    /// # Panics
    /// On a second call to a non-persistent tape, or when a rule on the path cannot be
    /// differentiated again while another tape records (see [`try_gradient`](Self::try_gradient)).
    #[track_caller]
    pub fn gradient<S: Source>(&self, target: &Tensor, sources: &[S]) -> Vec<Option<Tensor>> {
        match self.try_gradient(target, sources) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        }
    }

    /// Fallible [`gradient`](Self::gradient).
    pub fn try_gradient<S: Source>(
        &self,
        target: &Tensor,
        sources: &[S],
    ) -> Result<Vec<Option<Tensor>>, TapeError> {
        self.try_gradient_with(target, sources, None)
    }

    /// The vector-Jacobian product: the gradient of `sum(target * output_gradient)`.
    ///
    /// # Panics
    /// As [`gradient`](Self::gradient), and when `output_gradient`'s shape or dtype differs
    /// from the target's.
    #[track_caller]
    pub fn gradient_with<S: Source>(
        &self,
        target: &Tensor,
        sources: &[S],
        output_gradient: &Tensor,
    ) -> Vec<Option<Tensor>> {
        match self.try_gradient_with(target, sources, Some(output_gradient)) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        }
    }

    /// Fallible gradient with an optional output gradient (`None` means ones).
    pub fn try_gradient_with<S: Source>(
        &self,
        target: &Tensor,
        sources: &[S],
        output_gradient: Option<&Tensor>,
    ) -> Result<Vec<Option<Tensor>>, TapeError> {
        self.check_usable()?;
        let source_ids: Vec<Vec<TensorId>> = sources.iter().map(|s| s.ids_on(self)).collect();
        let seed = self.seed(target, output_gradient)?;
        let result = self.walk(target, seed, &source_ids);
        self.finish_call();
        result
    }

    /// The Jacobian of `target` with respect to `source`: shape `target.shape + source.shape`,
    /// one `gradient` per element of the target (for small cases and tests). `None` when the
    /// source is not connected.
    pub fn jacobian(
        &self,
        target: &Tensor,
        source: &impl Source,
    ) -> Result<Option<Tensor>, TapeError> {
        self.check_usable()?;
        let ids = vec![source.ids_on(self)];
        let like = source.like();
        let n = target.numel();
        let mut rows: Vec<f64> = Vec::with_capacity(n * like.numel());
        let mut connected = false;
        let mut result = Ok(());
        for j in 0..n {
            let mut onehot = vec![0.0f64; n];
            onehot[j] = 1.0;
            let seed = Tensor::from_vec(onehot, target.shape().clone()).cast(target.dtype());
            match self.walk(target, seed, &ids) {
                Ok(g) => match &g[0] {
                    Some(g) => {
                        connected = true;
                        rows.extend(g.to_f64_vec());
                    }
                    None => rows.extend(std::iter::repeat_n(0.0, like.numel())),
                },
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.finish_call();
        result?;
        if !connected {
            return Ok(None);
        }
        let mut dims = target.dims().to_vec();
        dims.extend_from_slice(like.dims());
        Ok(Some(Tensor::from_vec(rows, dims).cast(like.dtype())))
    }

    fn check_usable(&self) -> Result<(), TapeError> {
        if self.inner.state.borrow().used {
            return Err(TapeError::new(
                "gradient: a non-persistent GradientTape answers one gradient call; \
                 use GradientTape::persistent() to ask for several",
            ));
        }
        Ok(())
    }

    fn seed(&self, target: &Tensor, output_gradient: Option<&Tensor>) -> Result<Tensor, TapeError> {
        if !target.dtype().is_float() {
            return Err(TapeError::new(format!(
                "gradient: the target is {}; only float tensors have gradients",
                target.dtype()
            )));
        }
        match output_gradient {
            None => Ok(Tensor::ones_like(target)),
            Some(g) if g.shape() != target.shape() || g.dtype() != target.dtype() => {
                Err(TapeError::new(format!(
                    "gradient: output gradient has shape {} and dtype {} but the target has {} and {}",
                    g.shape(),
                    g.dtype(),
                    target.shape(),
                    target.dtype()
                )))
            }
            Some(g) => Ok(g.clone()),
        }
    }

    /// After a call on a non-persistent tape: stop recording and free the record.
    fn finish_call(&self) {
        if self.inner.persistent {
            return;
        }
        self.stop();
        let mut s = self.inner.state.borrow_mut();
        s.used = true;
        s.nodes = Vec::new();
        s.tracked = HashSet::new();
        s.reads = HashMap::new();
        s.var_names = HashMap::new();
    }

    /// The backward walk: seeds `target` with `seed`, runs the rules of the nodes on a path from
    /// a source to the target in reverse order, and sums the gradients reaching each source.
    fn walk(
        &self,
        target: &Tensor,
        seed: Tensor,
        sources: &[Vec<TensorId>],
    ) -> Result<Vec<Option<Tensor>>, TapeError> {
        let source_set: HashSet<TensorId> = sources.iter().flatten().copied().collect();
        // Take what the walk needs and release the borrow: the rules' ops are offered to this
        // tape too (it ignores them while paused), and to outer tapes, which record them.
        let (path, var_names, origin) = {
            let s = self.inner.state.borrow();
            // Forward: which tensors depend on a source, and on which one (for errors).
            let mut origin: HashMap<TensorId, TensorId> =
                source_set.iter().map(|&id| (id, id)).collect();
            let mut forward = vec![false; s.nodes.len()];
            for (i, n) in s.nodes.iter().enumerate() {
                if let Some(&src) = n.inputs.iter().find_map(|(id, _, _)| origin.get(id)) {
                    origin.entry(n.output).or_insert(src);
                    forward[i] = true;
                }
            }
            // Backward: which of those lead to the target.
            let mut needed: HashSet<TensorId> = HashSet::from([target.id()]);
            let mut path: Vec<Step> = Vec::new();
            for (i, n) in s.nodes.iter().enumerate().rev() {
                if !forward[i] || !needed.contains(&n.output) {
                    continue;
                }
                let inputs = n
                    .inputs
                    .iter()
                    .map(|(id, shape, float)| {
                        let on = origin.contains_key(id);
                        if on {
                            needed.insert(*id);
                        }
                        (*id, shape.clone(), *float, on)
                    })
                    .collect();
                path.push(Step {
                    backward: n.backward.clone(),
                    inputs,
                    output: n.output,
                    output_is_float: n.output_is_float,
                    at: n.at,
                    first_order_of: n.first_order_of,
                });
            }
            (path, s.var_names.clone(), origin)
        };
        // Names what a tensor on the path depends on, for errors.
        let who = |id: &TensorId| {
            origin
                .get(id)
                .and_then(|src| var_names.get(src).or_else(|| var_names.get(id)))
                .map(|n| format!("variable `{n}`"))
                .unwrap_or_else(|| "a watched source".to_string())
        };

        let others: Vec<Rc<TapeInner>> = TAPES.with(|t| {
            t.borrow()
                .iter()
                .filter_map(Weak::upgrade)
                .filter(|t| !Rc::ptr_eq(t, &self.inner))
                .collect()
        });

        let mut grads: HashMap<TensorId, Tensor> = HashMap::from([(target.id(), seed)]);
        self.inner.paused.set(self.inner.paused.get() + 1);
        let paused = &self.inner.paused;
        struct Resume<'a>(&'a Cell<usize>);
        impl Drop for Resume<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() - 1);
            }
        }
        let _resume = Resume(paused);

        // Which inputs of the current step need a gradient, reused across steps.
        let mut needed: Vec<bool> = Vec::new();
        for step in path {
            let Step {
                backward,
                inputs,
                output,
                output_is_float,
                at,
                first_order_of,
            } = step;
            // Free the output's gradient once consumed, unless a source asks for it.
            let g = if source_set.contains(&output) {
                grads.get(&output).cloned()
            } else {
                grads.remove(&output)
            };
            let Some(g) = g else { continue };
            if let Some(op) = first_order_of {
                return Err(TapeError::new(format!(
                    "gradient: this is a gradient of a gradient through `{op}` (its backward ran at \
                     {at}), whose backward rule is first-order-only; second-order gradients \
                     are not supported for `{op}`"
                )));
            }
            if !output_is_float && inputs.iter().any(|(_, _, float, on)| *float && *on) {
                return Err(TapeError::new(format!(
                    "gradient: `{}` (recorded at {at}) turns a float tensor that depends on {} \
                     into {}; integer and bool results are never differentiated, so the gradient \
                     would be lost (wrap the input in stop_gradient to cut it on purpose)",
                    backward.name(),
                    who(&output),
                    g.dtype(),
                )));
            }
            needed.clear();
            needed.extend(inputs.iter().map(|(_, _, _, on)| *on));
            let input_grads = backward.backward_needed(&g, &needed);
            if input_grads.len() != inputs.len() {
                return Err(TapeError::new(format!(
                    "gradient: the backward rule of `{}` (recorded at {at}) returned {} gradients for {} inputs",
                    backward.name(),
                    input_grads.len(),
                    inputs.len()
                )));
            }
            if !backward.supports_higher_order() && !others.is_empty() {
                // The results are raw numbers to any tape recording this walk: mark them as
                // functions of what the rule read, so only a second-order use is refused.
                let mut deps: Vec<(TensorId, &Shape)> = vec![(g.id(), g.shape())];
                deps.extend(inputs.iter().map(|(id, shape, _, _)| (*id, shape)));
                let results: Vec<&Tensor> = input_grads.iter().flatten().collect();
                for t in &others {
                    t.mark_first_order(backward.name(), at, &deps, &results);
                }
            }
            drop(g);
            for ((id, shape, float, on), gi) in inputs.into_iter().zip(input_grads) {
                if !on {
                    continue;
                }
                let Some(gi) = gi else {
                    if !float {
                        // An integer input (indices, a mask) takes no gradient by design.
                        continue;
                    }
                    return Err(TapeError::new(format!(
                        "gradient: `{}` (recorded at {at}) has no gradient for an input that depends on {}; \
                         the gradient would be lost",
                        backward.name(),
                        who(&id)
                    )));
                };
                let gi = gi.try_sum_to_shape(&shape).map_err(|e| {
                    TapeError::new(format!(
                        "gradient: the backward rule of `{}` (recorded at {at}) returned a gradient \
                         that does not fit its input: {e}",
                        backward.name()
                    ))
                })?;
                match grads.entry(id) {
                    std::collections::hash_map::Entry::Occupied(mut e) => {
                        let sum = e.get().add(&gi);
                        e.insert(sum);
                    }
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(gi);
                    }
                }
            }
        }

        Ok(sources
            .iter()
            .map(|ids| {
                let mut acc: Option<Tensor> = None;
                for id in ids {
                    if let Some(g) = grads.get(id) {
                        acc = Some(match acc {
                            None => g.clone(),
                            Some(a) => a.add(g),
                        });
                    }
                }
                acc
            })
            .collect())
    }
}

impl Default for GradientTape {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for GradientTape {
    fn drop(&mut self) {
        self.handle.borrow_mut().take();
        let me = Rc::downgrade(&self.inner);
        let _ = TAPES.try_with(|t| {
            t.borrow_mut()
                .retain(|w| !w.ptr_eq(&me) && w.strong_count() > 0)
        });
    }
}

impl fmt::Debug for GradientTape {
    /// Lists the recorded ops: `#3 matmul at src/model.rs:41:13`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.inner.state.borrow();
        writeln!(
            f,
            "GradientTape({} ops{})",
            s.nodes.len(),
            if self.inner.persistent {
                ", persistent"
            } else {
                ""
            }
        )?;
        for (i, n) in s.nodes.iter().enumerate() {
            writeln!(f, "  #{i} {} at {}", n.backward.name(), n.at)?;
        }
        Ok(())
    }
}

/// A tensor with the same value as `t` that no tape connects to `t`: gradients stop here.
///
/// ```
/// use keen_tape::{stop_gradient, GradientTape};
/// use keen_tensor::Tensor;
/// let x = Tensor::from([3.0f64]);
/// let tape = GradientTape::new();
/// tape.watch(&x);
/// let y = x.mul(&stop_gradient(&x)); // d/dx (x · c) = c
/// assert_eq!(tape.gradient(&y, &[&x])[0].as_ref().unwrap().to_vec::<f64>(), [3.0]);
/// ```
pub fn stop_gradient(t: &Tensor) -> Tensor {
    let identity: Vec<isize> = (0..t.rank() as isize).collect();
    keen_tensor::record::without_recording(|| t.permute(&identity))
}
