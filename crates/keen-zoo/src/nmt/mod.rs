//! Neural machine translation with attention, after the R post "Attention-based Neural Machine
//! Translation with Keras" (TensorFlow for R blog, 2018-07-30).
//!
//! An [`Encoder`] (Embedding 64 → GRU 256 returning sequences and its final state) reads the
//! source; a [`Decoder`] writes the target one token at a time: Bahdanau attention of its
//! state over the encoder outputs gives a context, concatenated with the embedded input token
//! it goes through a GRU step, and a Dense layer gives logits over the target vocabulary.
//! [`Nmt::train_step`] runs teacher forcing inside one tape with a masked sparse cross-entropy
//! and Adam; [`Nmt::translate`] decodes greedily and keeps the attention weights.
//!
//! ```no_run
//! use keen_zoo::nmt::{Nmt, NmtConfig, Vocab, pad_batch};
//! let src_vocab = Vocab::build([["i", "am", "here", "."]]);
//! let tgt_vocab = Vocab::build([["estoy", "aqui", "."]]);
//! let mut model = Nmt::new(NmtConfig::new(src_vocab.len(), tgt_vocab.len()));
//! let src = pad_batch(&[&src_vocab.encode(&["i", "am", "here", "."], true)], None);
//! let tgt = pad_batch(&[&tgt_vocab.encode(&["estoy", "aqui", "."], true)], None);
//! let loss = model.train_step(&src, &tgt);
//! let out = model.translate(&src, tgt_vocab.start(), tgt_vocab.end(), 10);
//! println!("{loss:.3} {:?}", tgt_vocab.decode(&out[0].ids));
//! ```
//!
//! Two departures from the post, both to its benefit and both switchable off: the decoder's
//! GRU starts each step from the previous step's state (the post calls its GRU without
//! `initial_state`, so the state only reached the next step through the attention query), and
//! with [`NmtConfig::mask_padding`] the encoder skips padding steps and attention gives them no
//! weight (the post attends over padding too).

pub mod bleu;
pub mod dates;
mod vocab;

pub use vocab::{clean, pad_batch, Vocab, END, PAD, START, UNK};

use keen_nn::losses::sparse_categorical_crossentropy;
use keen_nn::prelude::*;
use keen_optim::{Adam, Optimizer, OptimizerState};
use keen_tape::checkpoint::{CheckpointError, TrainingState};
use keen_tape::GradientTape;
use keen_tensor::Tensor;
use std::collections::BTreeMap;

/// The sizes and switches of a model.
#[derive(Clone, Debug, PartialEq)]
pub struct NmtConfig {
    /// Source vocabulary size (padding included).
    pub src_vocab: usize,
    /// Target vocabulary size (padding included).
    pub tgt_vocab: usize,
    /// Width of both embeddings (the post: 64).
    pub embedding_dim: usize,
    /// GRU units of encoder and decoder, and attention units (the post: 256).
    pub units: usize,
    /// Adam's learning rate (the post: TensorFlow's default 1e-3).
    pub learning_rate: f64,
    /// Whether padding (id 0) in the source is skipped by the encoder and masked in attention.
    pub mask_padding: bool,
    /// Whether the decoder's GRU carries its state from step to step (see the module docs).
    pub decoder_recurrence: bool,
}

impl NmtConfig {
    /// The post's sizes for the given vocabularies, padding masked, the decoder recurrent.
    pub fn new(src_vocab: usize, tgt_vocab: usize) -> Self {
        NmtConfig {
            src_vocab,
            tgt_vocab,
            embedding_dim: 64,
            units: 256,
            learning_rate: 1e-3,
            mask_padding: true,
            decoder_recurrence: true,
        }
    }
}

/// Embedding → GRU, returning every step's output and the final state.
#[derive(Module)]
pub struct Encoder {
    /// Source token embeddings.
    pub embedding: Embedding,
    /// Returns sequences and state.
    pub gru: Gru,
}

impl Encoder {
    /// An encoder for `vocab` source ids.
    pub fn new(vocab: usize, embedding_dim: usize, units: usize) -> Self {
        Encoder {
            embedding: Embedding::new(vocab, embedding_dim),
            gru: Gru::new(units).return_sequences(true),
        }
    }

    /// Outputs `(batch, time, units)` and final state `(batch, units)` of int ids `(batch,
    /// time)`, from a zero state. With `mask` (bool `(batch, time)`), masked steps are skipped:
    /// the state carries over them.
    pub fn call(&self, src: &Tensor, mask: Option<&Tensor>) -> (Tensor, Tensor) {
        let x = self.embedding.call(src);
        let (seq, mut states) = self.gru.call_full(&x, None, mask);
        (seq, states.swap_remove(0))
    }
}

/// One decoder step: attention, concat with the embedded input token, GRU, Dense.
#[derive(Module)]
pub struct Decoder {
    /// Target token embeddings.
    pub embedding: Embedding,
    /// W1, W2 (units wide) and V (1).
    pub attention: BahdanauAttention,
    /// Its cell runs one step per call.
    pub gru: Gru,
    /// State to logits over the target vocabulary.
    pub fc: Dense,
    #[module(skip)]
    recurrent: bool,
}

impl Decoder {
    /// A decoder writing `vocab` target ids.
    pub fn new(vocab: usize, embedding_dim: usize, units: usize, recurrent: bool) -> Self {
        Decoder {
            embedding: Embedding::new(vocab, embedding_dim),
            attention: BahdanauAttention::new(units),
            gru: Gru::new(units),
            fc: Dense::new(vocab),
            recurrent,
        }
    }

    /// The new state `(batch, units)` and attention weights `(batch, src_time)` after reading
    /// `token` (int `(batch,)`), from `hidden` and the encoder outputs; no logits (training
    /// applies [`fc`](Self::fc) once to all steps' states).
    pub fn step_state(
        &self,
        token: &Tensor,
        hidden: &Tensor,
        enc_output: &Tensor,
        src_mask: Option<&Tensor>,
    ) -> (Tensor, Tensor) {
        let (context, weights) = self.attention.call_masked(hidden, enc_output, src_mask);
        self.gru_step(token, hidden, context, weights)
    }

    /// `W1(enc_output)`, the attention's projection of the encoder outputs: it does not change
    /// from one decoder step to the next, so [`step_state_with_keys`](Self::step_state_with_keys)
    /// takes it computed once per sequence.
    pub fn keys(&self, enc_output: &Tensor) -> Tensor {
        self.attention.w1.call(enc_output)
    }

    /// [`step_state`](Self::step_state) with `keys = self.keys(enc_output)` computed once for
    /// all steps: the same values and gradients (the tape sums the keys' gradient over the
    /// steps), without one `(batch·time, units) × (units, units)` product per step forward
    /// and two backward.
    pub fn step_state_with_keys(
        &self,
        token: &Tensor,
        hidden: &Tensor,
        keys: &Tensor,
        enc_output: &Tensor,
        src_mask: Option<&Tensor>,
    ) -> (Tensor, Tensor) {
        let att = &self.attention;
        // BahdanauAttention::call_masked from its second line on.
        let hidden_proj = keys.add(&att.w2.call(hidden).expand_dims(1));
        let mut score = att.v.call(&hidden_proj.tanh()).squeeze(&[2]);
        if let Some(m) = src_mask {
            score = score.masked_fill(&m.logical_not(), -1.0e9);
        }
        let weights = score.softmax(-1);
        let context = weights.expand_dims(1).matmul(enc_output).squeeze(&[1]);
        self.gru_step(token, hidden, context, weights)
    }

    fn gru_step(
        &self,
        token: &Tensor,
        hidden: &Tensor,
        context: Tensor,
        weights: Tensor,
    ) -> (Tensor, Tensor) {
        let x = Tensor::concat(&[context, self.embedding.call(token)], -1);
        let start = if self.recurrent {
            hidden.clone()
        } else {
            Tensor::zeros_like(hidden)
        };
        let (h, _) = self.gru.cell().step(&x, &[start]);
        (h, weights)
    }

    /// The post's decoder call: logits `(batch, vocab)`, the new state and the attention
    /// weights.
    pub fn call(
        &self,
        token: &Tensor,
        hidden: &Tensor,
        enc_output: &Tensor,
        src_mask: Option<&Tensor>,
    ) -> (Tensor, Tensor, Tensor) {
        let (h, w) = self.step_state(token, hidden, enc_output, src_mask);
        (self.fc.call(&h), h, w)
    }
}

/// The post's loss: sparse cross-entropy from logits, zero where the label is padding, the
/// mean over every position (padding included in the count, as the post's `reduce_mean`).
/// `labels` int `(batch, time)`, `logits` `(batch, time, vocab)`.
pub fn masked_loss(labels: &Tensor, logits: &Tensor) -> Tensor {
    let ce = sparse_categorical_crossentropy(labels, logits, true);
    let mask = labels.ne(PAD as f64).cast(ce.dtype());
    ce.mul(&mask).mean(&[], false)
}

/// A greedy translation: the output ids (without `<end>`) and, per output id, the attention
/// weights over the source positions (padding included; the first `source_len` are real).
#[derive(Clone, Debug, PartialEq)]
pub struct Translation {
    /// The output ids.
    pub ids: Vec<i64>,
    /// `attention[i][j]`: weight of source position `j` when writing output `i`.
    pub attention: Vec<Vec<f32>>,
    /// The number of non-padding source tokens.
    pub source_len: usize,
}

/// Encoder, decoder and their optimizer: what a training run updates.
#[derive(Module)]
pub struct Nmt {
    /// Reads the source.
    pub encoder: Encoder,
    /// Writes the target.
    pub decoder: Decoder,
    /// Adam over both models' variables.
    #[module(skip)]
    pub optimizer: Adam,
    /// The sizes it was built with.
    #[module(skip)]
    pub config: NmtConfig,
}

const OPT: &str = "optimizer/";

impl Nmt {
    /// Both models, built (float32, from the global seed: call
    /// `keen_tensor::ops::random::set_seed` first for a reproducible start), with Adam.
    pub fn new(config: NmtConfig) -> Self {
        let model = Nmt {
            encoder: Encoder::new(config.src_vocab, config.embedding_dim, config.units),
            decoder: Decoder::new(
                config.tgt_vocab,
                config.embedding_dim,
                config.units,
                config.decoder_recurrence,
            ),
            optimizer: Adam::new(config.learning_rate),
            config,
        };
        // One call builds every layer, so the variables take their paths under this struct.
        let src = Tensor::from_vec(vec![1i64, 1], [1, 2]);
        let (out, h) = model.encoder.call(&src, None);
        let _ = model
            .decoder
            .call(&Tensor::from_vec(vec![1i64], [1]), &h, &out, None);
        let _ = model.named_variables();
        model
    }

    fn src_mask(&self, src: &Tensor) -> Option<Tensor> {
        self.config.mask_padding.then(|| src.ne(PAD as f64))
    }

    /// The loss of a batch under teacher forcing, recorded on whatever tapes are active: the
    /// decoder reads `<start>` and then the true target `tgt[:, t-1]` to predict `tgt[:, t]`.
    /// `src` and `tgt` are int `(batch, time)`, padded with 0, `tgt` starting with `<start>`.
    pub fn loss(&self, src: &Tensor, tgt: &Tensor) -> Tensor {
        let mask = self.src_mask(src);
        let (enc_out, mut h) = self.encoder.call(src, mask.as_ref());
        let t = tgt.dim(1);
        assert!(t >= 2, "Nmt: targets need <start> and at least one token");
        let inputs = tgt.unbind(1);
        let keys = self.decoder.keys(&enc_out);
        let mut states = Vec::with_capacity(t - 1);
        for input in &inputs[..t - 1] {
            let (h2, _) =
                self.decoder
                    .step_state_with_keys(input, &h, &keys, &enc_out, mask.as_ref());
            states.push(h2.clone());
            h = h2;
        }
        // One product for all steps' logits: the same values as a Dense per step, one GEMM.
        let logits = self.decoder.fc.call(&Tensor::stack(&states, 1));
        masked_loss(&tgt.narrow(1, 1, t - 1), &logits)
    }

    /// The loss and one gradient per trainable variable (in `trainable_variables()` order).
    pub fn gradients(&self, src: &Tensor, tgt: &Tensor) -> (f32, Vec<Option<Tensor>>) {
        let vars = self.trainable_variables();
        let tape = GradientTape::new();
        let loss = self.loss(src, tgt);
        tape.stop();
        (loss.item::<f32>(), tape.gradient(&loss, &vars))
    }

    /// One Adam step on a batch; returns the loss before the update.
    pub fn train_step(&mut self, src: &Tensor, tgt: &Tensor) -> f32 {
        let (loss, grads) = self.gradients(src, tgt);
        self.optimizer
            .apply_gradients(&grads, &self.trainable_variables());
        loss
    }

    /// Greedy decoding of a batch of sources (int `(batch, time)`, padded with 0), one step at
    /// a time from `<start>` until `<end>` or `max_len` tokens, keeping the attention weights.
    pub fn translate(
        &self,
        src: &Tensor,
        start: i64,
        end: i64,
        max_len: usize,
    ) -> Vec<Translation> {
        let mask = self.src_mask(src);
        let (enc_out, mut h) = self.encoder.call(src, mask.as_ref());
        let [b, t] = src.dims2();
        let lens: Vec<usize> = src
            .to_vec::<i64>()
            .chunks(t)
            .map(|r| r.iter().filter(|&&x| x != PAD).count())
            .collect();
        let mut out: Vec<Translation> = lens
            .iter()
            .map(|&source_len| Translation {
                ids: Vec::new(),
                attention: Vec::new(),
                source_len,
            })
            .collect();
        let mut done = vec![false; b];
        let mut token = Tensor::from_vec(vec![start; b], [b]);
        let keys = self.decoder.keys(&enc_out);
        for _ in 0..max_len {
            let (h2, w) =
                self.decoder
                    .step_state_with_keys(&token, &h, &keys, &enc_out, mask.as_ref());
            let logits = self.decoder.fc.call(&h2);
            h = h2;
            let next = logits.argmax(&[-1], false).to_vec::<i64>();
            let w = w.to_vec::<f32>();
            for i in 0..b {
                if done[i] {
                    continue;
                }
                if next[i] == end {
                    done[i] = true;
                } else {
                    out[i].ids.push(next[i]);
                    out[i].attention.push(w[i * t..(i + 1) * t].to_vec());
                }
            }
            if done.iter().all(|&d| d) {
                break;
            }
            token = Tensor::from_vec(next, [b]);
        }
        out
    }

    /// The whole training state at `step`: variables and Adam's slots (prefixed `optimizer/`).
    pub fn training_state(&self, step: u64) -> TrainingState {
        let mut state = TrainingState::from_variables(step, &self.variables());
        for (k, v) in self.optimizer.state().to_named_tensors() {
            state.slots.insert(format!("{OPT}{k}"), v);
        }
        state
    }

    /// Restores a [`training_state`](Self::training_state).
    ///
    /// # Errors
    /// A missing or mismatched variable, or optimizer entries that do not form an Adam state.
    pub fn restore(&mut self, state: &TrainingState) -> Result<(), CheckpointError> {
        state.restore(&self.variables())?;
        let slots: BTreeMap<String, Tensor> = state
            .slots
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(OPT)?.to_string(), v.clone())))
            .collect();
        let bad = |message: String| CheckpointError::Corrupt {
            path: "<training state>".into(),
            message,
        };
        let s = OptimizerState::from_named_tensors(&slots).map_err(|e| bad(e.to_string()))?;
        self.optimizer
            .load_state(&s)
            .map_err(|e| bad(e.to_string()))
    }
}

/// Exact-match accuracy of translations against target id sequences (without `<start>` and
/// `<end>`).
pub fn exact_match(translations: &[Translation], targets: &[Vec<i64>]) -> f64 {
    let hits = translations
        .iter()
        .zip(targets)
        .filter(|(t, want)| &t.ids == *want)
        .count();
    hits as f64 / translations.len().max(1) as f64
}
