//! The recording hook for automatic differentiation.
//!
//! keen-tensor knows nothing about tapes: each differentiable op builds a [`Backward`] value
//! (its rule, written in tensor ops directly below the op) and offers it to the active
//! [`Recorder`]s of this thread. keen-tape implements the recorder; anyone else could.
//! With no recorder active, the cost of recording is one thread-local read.

use crate::tensor::Tensor;
use std::cell::{Cell, RefCell};
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;

/// The derivative rule of one recorded op application.
pub trait Backward: Send + Sync {
    /// The op's name, for error messages (`matmul`, `conv2d`, …).
    fn name(&self) -> &'static str;

    /// Given the gradient of the target with respect to the op's output, returns the gradient
    /// with respect to each input (in order; `None` where an input gets none).
    ///
    /// Elementwise binary rules may return gradients in the *output's* broadcast shape: the
    /// walk sums them down to each input's shape (`Tensor::sum_to_shape`), once, for all ops.
    fn backward(&self, grad: &Tensor) -> Vec<Option<Tensor>>;

    /// As [`backward`](Self::backward) when the walk needs only the inputs marked in
    /// `needed` (one flag per input, PyTorch's `needs_input_grad`): a rule may return `None`
    /// for the others and skip their work, such as the input gradient of a first layer or the
    /// kernel gradients of a discriminator a generator's loss passes through. The default
    /// computes them all.
    fn backward_needed(&self, grad: &Tensor, needed: &[bool]) -> Vec<Option<Tensor>> {
        let _ = needed;
        self.backward(grad)
    }

    /// False for rules written with raw kernels that are not themselves recorded. Tapes that
    /// record the walk then mark this rule's results as first-order only: differentiating
    /// them again is a clear error instead of a wrong (missing) term, and the rule still works
    /// when another tape is merely alive (a GAN's two tapes).
    fn supports_higher_order(&self) -> bool {
        true
    }
}

/// A listener for op applications: keen-tape's `GradientTape` implements this.
pub trait Recorder {
    /// Called after an op (of any output dtype: a tape tracks integer results of tracked floats
    /// so that a gradient cut by a cast to an integer is an error, not a silent `None`).
    /// `make` builds the backward rule; call it only if one of `inputs` is watched (building
    /// it is the only cost of recording).
    fn record(
        &self,
        inputs: &[&Tensor],
        output: &Tensor,
        make: &mut dyn FnMut() -> Arc<dyn Backward>,
        at: &'static Location<'static>,
    );
}

/// A handle that removes its recorder from the thread's stack when dropped.
pub struct RecorderHandle {
    index_id: u64,
}

thread_local! {
    static ACTIVE: Cell<usize> = const { Cell::new(0) };
    static RECORDERS: RefCell<Vec<(u64, Rc<dyn Recorder>)>> = const { RefCell::new(Vec::new()) };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
}

/// Starts offering this thread's ops to `r` until the handle is dropped.
pub fn push_recorder(r: Rc<dyn Recorder>) -> RecorderHandle {
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    RECORDERS.with(|v| v.borrow_mut().push((id, r)));
    ACTIVE.with(|a| a.set(a.get() + 1));
    RecorderHandle { index_id: id }
}

impl Drop for RecorderHandle {
    fn drop(&mut self) {
        RECORDERS.with(|v| {
            let mut v = v.borrow_mut();
            if let Some(pos) = v.iter().position(|(id, _)| *id == self.index_id) {
                v.remove(pos);
                ACTIVE.with(|a| a.set(a.get() - 1));
            }
        });
    }
}

/// True when at least one recorder is active on this thread.
#[inline(always)]
pub fn is_recording() -> bool {
    ACTIVE.with(|a| a.get() != 0)
}

/// Offers an op application to the active recorders. Ops call this right after computing
/// `output`; `make` is called at most once, and only if some recorder wants the rule.
#[inline]
#[track_caller]
pub fn record<B, F>(inputs: &[&Tensor], output: &Tensor, make: F)
where
    B: Backward + 'static,
    F: FnOnce() -> B,
{
    if !is_recording() {
        return;
    }
    record_slow(inputs, output, make, Location::caller());
}

#[inline(never)]
fn record_slow<B, F>(inputs: &[&Tensor], output: &Tensor, make: F, at: &'static Location<'static>)
where
    B: Backward + 'static,
    F: FnOnce() -> B,
{
    // Clone the list so a recorder may push or pop recorders (nested tapes) while recording.
    let recorders: Vec<Rc<dyn Recorder>> =
        RECORDERS.with(|v| v.borrow().iter().map(|(_, r)| r.clone()).collect());
    let mut make = Some(make);
    let mut built: Option<Arc<dyn Backward>> = None;
    let mut get = || -> Arc<dyn Backward> {
        if let Some(b) = &built {
            return b.clone();
        }
        let f = make.take().expect("backward rule built once");
        let b: Arc<dyn Backward> = Arc::new(f());
        built = Some(b.clone());
        b
    };
    for r in recorders {
        r.record(inputs, output, &mut get, at);
    }
}

/// Runs `f` with recording paused for all recorders on this thread (a tape's own backward walk
/// when no outer tape should see it, or `stop_recording`).
pub fn without_recording<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(usize, Vec<(u64, Rc<dyn Recorder>)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let v = std::mem::take(&mut self.1);
            RECORDERS.with(|r| {
                let mut r = r.borrow_mut();
                let pushed_since = std::mem::take(&mut *r);
                *r = v;
                r.extend(pushed_since);
            });
            ACTIVE.with(|a| a.set(a.get() + self.0));
        }
    }
    let saved = RECORDERS.with(|r| std::mem::take(&mut *r.borrow_mut()));
    let n = ACTIVE.with(|a| {
        let n = a.get();
        a.set(n - saved.len());
        saved.len()
    });
    let _restore = Restore(n, saved);
    f()
}
