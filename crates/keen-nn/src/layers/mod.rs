//! Layers, with Keras' names, arguments, defaults and semantics (NHWC for images).

mod activation;
mod attention;
mod bidirectional;
mod dense;
mod dropout;
mod multi_head_attention;
mod recurrent;
mod rnn_cells;

pub use activation::Activation;
pub use attention::{AdditiveAttention, Attention, BahdanauAttention, ScoreMode};
pub use bidirectional::{Bidirectional, MergeMode};
pub use dense::Dense;
pub use dropout::Dropout;
pub use multi_head_attention::MultiHeadAttention;
pub use recurrent::{Gru, Lstm, Rnn, SimpleRnn};
pub use rnn_cells::{GruCell, LstmCell, RecurrentCell, SimpleRnnCell};
