//! # keen-zoo
//!
//! The reference models of keen's model zoo, each a module with the model structs and its
//! training step, reusable outside the example program that trains it (`examples/<name>/`).
//!
//! - [`dcgan`]: the DCGAN of the "eager DCGAN" case study, generating MNIST digits.
//! - [`nmt`]: neural machine translation with attention (encoder-decoder GRUs, Bahdanau
//!   attention), with a synthetic date-format task and corpus BLEU.

pub mod dcgan;
pub mod nmt;
