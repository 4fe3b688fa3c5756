//! # keen-optim
//!
//! Optimizers (SGD, Adam, …), learning-rate schedules and gradient clipping for keen.
