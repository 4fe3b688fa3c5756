//! Layers, with Keras' names, arguments, defaults and semantics (NHWC for images).

/// `Module` (no variables) and `Layer` (through the type's `call(&self, x)`) for a layer
/// without weights or training behaviour; `keeps_mask` for one that passes its input's mask on
/// (an activation, as Keras' `supports_masking`).
macro_rules! stateless_layer {
    ($t:ty, $type_name:literal, keeps_mask) => {
        impl $crate::module::Module for $t {
            fn visit(&self, _: &mut $crate::module::Walk<'_>) {}
        }

        impl $crate::layer::Layer for $t {
            fn forward(&self, x: &keen_tensor::Tensor, _training: bool) -> keen_tensor::Tensor {
                self.call(x)
            }
            fn type_name(&self) -> &'static str {
                $type_name
            }
            $crate::layer::keeps_mask!();
        }
    };
    ($t:ty, $type_name:literal) => {
        impl $crate::module::Module for $t {
            fn visit(&self, _: &mut $crate::module::Walk<'_>) {}
        }

        impl $crate::layer::Layer for $t {
            fn forward(&self, x: &keen_tensor::Tensor, _training: bool) -> keen_tensor::Tensor {
                self.call(x)
            }
            fn type_name(&self) -> &'static str {
                $type_name
            }
        }
    };
}

mod activation;
mod attention;
mod batch_norm_fused;
mod bidirectional;
mod conv;
mod conv_transpose;
mod dense;
mod dropout;
mod embedding;
mod lambda;
mod masking;
mod merge;
mod multi_head_attention;
mod normalization;
mod pooling;
mod recurrent;
mod reshaping;
mod rnn_cells;
mod rnn_kernels;
mod spatial_dropout;

pub use activation::Activation;
pub use attention::{AdditiveAttention, Attention, BahdanauAttention, ScoreMode};
pub use bidirectional::{Bidirectional, MergeMode};
pub use conv::Conv2d;
pub use conv_transpose::Conv2dTranspose;
pub use dense::Dense;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use keen_tensor::ops::conv::Padding;
pub use keen_tensor::ops::resize::Interpolation;
pub use lambda::{Lambda, LeakyRelu};
pub use masking::Masking;
pub use merge::{Add, Concatenate, Multiply};
pub use multi_head_attention::MultiHeadAttention;
pub use normalization::{BatchNormalization, LayerNormalization};
pub use pooling::{
    AveragePooling2d, GlobalAveragePooling1d, GlobalAveragePooling2d, GlobalMaxPooling1d,
    GlobalMaxPooling2d, MaxPooling2d,
};
pub use recurrent::{Gru, Lstm, Rnn, SimpleRnn};
pub use reshaping::{
    Cropping2d, Flatten, Permute, RepeatVector, Reshape, UpSampling2d, ZeroPadding2d,
};
pub use rnn_cells::{GruCell, LstmCell, RecurrentCell, SimpleRnnCell};
pub use spatial_dropout::{SpatialDropout1d, SpatialDropout2d};

use keen_tensor::Shape;

/// A size given per spatial axis, as Keras accepts `3` or `(3, 5)`: a `usize` means the same
/// value for rows and columns.
pub trait IntoPair {
    /// `[rows, columns]`.
    fn into_pair(self) -> [usize; 2];
}

impl IntoPair for usize {
    fn into_pair(self) -> [usize; 2] {
        [self, self]
    }
}

impl IntoPair for [usize; 2] {
    fn into_pair(self) -> [usize; 2] {
        self
    }
}

impl IntoPair for (usize, usize) {
    fn into_pair(self) -> [usize; 2] {
        [self.0, self.1]
    }
}

/// Margins around an image, as Keras' `ZeroPadding2D`/`Cropping2D` accept them: `1` (all
/// sides), `[rows, columns]` (symmetric) or `[[top, bottom], [left, right]]`.
pub trait IntoMargins {
    /// `[[top, bottom], [left, right]]`.
    fn into_margins(self) -> [[usize; 2]; 2];
}

impl IntoMargins for usize {
    fn into_margins(self) -> [[usize; 2]; 2] {
        [[self, self], [self, self]]
    }
}

impl IntoMargins for [usize; 2] {
    fn into_margins(self) -> [[usize; 2]; 2] {
        [[self[0], self[0]], [self[1], self[1]]]
    }
}

impl IntoMargins for [[usize; 2]; 2] {
    fn into_margins(self) -> [[usize; 2]; 2] {
        self
    }
}

/// `Conv2d` or ``Conv2d `encoder.conv1` ``: how messages name a layer.
pub(crate) fn label(kind: &str, name: &Option<String>) -> String {
    match name {
        Some(n) => format!("{kind} `{n}`"),
        None => kind.to_string(),
    }
}

/// Keras' input-spec check: every axis `spec` pins (`Some`) must match. The message names the
/// layer and both shapes, with `None` for free axes: ``Conv2d: built for input shape
/// (None, None, None, 3), got (2, 5, 5, 4)``.
#[track_caller]
pub(crate) fn check_spec(label: &str, spec: &[Option<usize>], got: &Shape) {
    let ok = spec.len() == got.rank()
        && spec
            .iter()
            .zip(got.dims())
            .all(|(s, &d)| s.is_none_or(|s| s == d));
    if !ok {
        let want: Vec<String> = spec
            .iter()
            .map(|s| s.map_or("None".to_string(), |v| v.to_string()))
            .collect();
        let want = if want.len() == 1 {
            format!("({},)", want[0])
        } else {
            format!("({})", want.join(", "))
        };
        panic!("{label}: built for input shape {want}, got {got}");
    }
}

/// Panics unless `x` is a rank-4 NHWC batch; returns its dims.
#[track_caller]
pub(crate) fn nhwc(label: &str, x: &keen_tensor::Tensor) -> [usize; 4] {
    match x.dims() {
        &[n, h, w, c] => [n, h, w, c],
        _ => panic!(
            "{label}: expects rank-4 NHWC input, got shape {}",
            x.shape()
        ),
    }
}
