//! Layers, with Keras' names, arguments, defaults and semantics (NHWC for images).

mod activation;
mod dense;
mod dropout;

pub use activation::Activation;
pub use dense::Dense;
pub use dropout::Dropout;
