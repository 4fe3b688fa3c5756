//! # keen-tape
//!
//! Automatic differentiation for keen: `Variable`, `GradientTape`, the backward walk,
//! `gradcheck`, and checkpoints.
