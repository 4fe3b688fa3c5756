//! # keen-zoo
//!
//! The reference models of keen's model zoo, each a module with the model structs and its
//! training step, reusable outside the example program that trains it (`examples/<name>/`).
//!
//! - [`dcgan`]: the DCGAN of the "eager DCGAN" case study, generating MNIST digits.
//! - [`nmt`]: neural machine translation with attention (encoder-decoder GRUs, Bahdanau
//!   attention), with a synthetic date-format task and corpus BLEU.
//! - [`recommender`]: the embedding dot-product recommenders of the "collaborative filtering
//!   with embeddings" case study (`simple_dot`), trained on MovieLens with `compile`/`fit`.
//! - [`mnist_classifier`]: a small MNIST convnet and the score it gives generated digits (the
//!   DCGAN's quality target).
//! - [`args`]: the command-line flags of the example programs.

pub mod args;
pub mod dcgan;
pub mod mnist_classifier;
pub mod nmt;
pub mod recommender;

use keen_nn::fit::{Callback, Logs, TrainContext};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

/// A `fit` callback that records each epoch's wall time. Clones share the record, so keep one
/// clone and hand the other to `fit` (which takes its callbacks).
#[derive(Clone, Debug, Default)]
pub struct EpochTimes {
    started: Rc<RefCell<Option<Instant>>>,
    seconds: Rc<RefCell<Vec<f64>>>,
}

impl EpochTimes {
    /// No epochs yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Seconds of each finished epoch (training and validation), in order.
    pub fn seconds(&self) -> Vec<f64> {
        self.seconds.borrow().clone()
    }

    /// The mean of [`seconds`](Self::seconds) (0 before any epoch).
    pub fn mean(&self) -> f64 {
        let s = self.seconds.borrow();
        s.iter().sum::<f64>() / s.len().max(1) as f64
    }
}

impl Callback for EpochTimes {
    fn on_epoch_begin(&mut self, _epoch: usize, _ctx: &mut TrainContext<'_>) {
        *self.started.borrow_mut() = Some(Instant::now());
    }
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &Logs, _ctx: &mut TrainContext<'_>) {
        if let Some(t) = self.started.borrow_mut().take() {
            self.seconds.borrow_mut().push(t.elapsed().as_secs_f64());
        }
    }
}
