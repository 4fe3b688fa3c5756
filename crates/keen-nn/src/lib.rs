//! # keen-nn
//!
//! Layers and models for keen. A custom model is a plain struct of layers with a `call`
//! method; `#[derive(Module)]` collects its variables with paths taken from the field names:
//!
//! ```
//! use keen_nn::prelude::*;
//! use keen_tensor::Tensor;
//!
//! #[derive(Module)]
//! struct Mlp {
//!     hidden: Dense,
//!     out: Dense,
//! }
//!
//! impl Mlp {
//!     fn call(&self, x: &Tensor) -> Tensor {
//!         self.out.call(&self.hidden.call(x).relu())
//!     }
//! }
//!
//! let model = Mlp { hidden: Dense::new(16), out: Dense::new(1) };
//! let y = model.call(&Tensor::ones([4, 3], keen_tensor::DType::Float32)); // builds on first call
//! assert_eq!(y.dims(), [4, 1]);
//! let names: Vec<String> = model.named_variables().into_iter().map(|(p, _)| p).collect();
//! assert_eq!(names, ["hidden.kernel", "hidden.bias", "out.kernel", "out.bias"]);
//! ```

// The derive emits `::keen_nn::...` paths; this lets them resolve inside this crate too.
extern crate self as keen_nn;

pub mod fit;
pub mod functional;
pub mod initializers;
mod layer;
pub mod layers;
pub mod losses;
pub mod metrics;
mod module;
mod sequential;
pub mod summary;

pub use functional::{Apply, Functional, Input, Model, SymbolicTensor};
pub use keen_derive::Module;
pub use layer::{keep_mask, Layer};
pub use layers::{
    Activation, Add, AveragePooling2d, BatchNormalization, Concatenate, Conv2d, Conv2dTranspose,
    Cropping2d, Dense, Dropout, Embedding, Flatten, GlobalAveragePooling1d, GlobalAveragePooling2d,
    GlobalMaxPooling1d, GlobalMaxPooling2d, Lambda, LayerNormalization, LeakyRelu, Masking,
    MaxPooling2d, Multiply, Permute, RepeatVector, Reshape, SpatialDropout1d, SpatialDropout2d,
    UpSampling2d, ZeroPadding2d,
};
pub use module::{Module, Walk, WeightsError};
pub use sequential::Sequential;

/// The names a model definition needs.
pub mod prelude {
    pub use crate::fit::{Compile, FitOptions, Verbosity};
    pub use crate::functional::{Apply, Functional, Input, Model, SymbolicTensor};
    pub use crate::initializers::Initializer;
    pub use crate::layers::{
        Activation, Add, AveragePooling2d, BatchNormalization, Concatenate, Conv2d,
        Conv2dTranspose, Cropping2d, Dense, Dropout, Embedding, Flatten, GlobalAveragePooling1d,
        GlobalAveragePooling2d, GlobalMaxPooling1d, GlobalMaxPooling2d, Interpolation, Lambda,
        LayerNormalization, LeakyRelu, Masking, MaxPooling2d, Multiply, Padding, Permute,
        RepeatVector, Reshape, SpatialDropout1d, SpatialDropout2d, UpSampling2d, ZeroPadding2d,
    };
    pub use crate::layers::{
        AdditiveAttention, Attention, BahdanauAttention, Bidirectional, Gru, GruCell, Lstm,
        LstmCell, MergeMode, MultiHeadAttention, RecurrentCell, Rnn, ScoreMode, SimpleRnn,
        SimpleRnnCell,
    };
    pub use crate::{Layer, Module, Sequential, Walk};
}
