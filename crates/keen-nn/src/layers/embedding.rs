//! `Embedding`: a trainable lookup table from integer ids to vectors.

use crate::initializers::Initializer;
use crate::layer::Layer;
use crate::module::{Module, Walk};
use keen_tape::Variable;
use keen_tensor::{DType, Tensor};
use std::sync::OnceLock;

/// Keras' `Embedding`: row `id` of an `(input_dim, output_dim)` table for every id.
///
/// * Arguments: `input_dim` (the vocabulary size), `output_dim`, `embeddings_initializer`
///   (uniform on `[-0.05, 0.05)`, Keras' default), `mask_zero` (false: with true, id 0 is
///   padding and [`compute_mask`](Self::compute_mask) marks it), `dtype` of the table
///   (float32).
/// * Variables: `embeddings` `(input_dim, output_dim)`, created on the first call.
/// * Input: integer ids of any shape `(…)` (floats are truncated to int32, as Keras casts);
///   output `(…, output_dim)`. The gradient scatters into the table's rows.
///
/// ```
/// use keen_nn::layers::Embedding;
/// use keen_tensor::Tensor;
/// let emb = Embedding::new(100, 8).mask_zero(true);
/// let ids = Tensor::from([[5, 7, 0], [1, 0, 0]]);
/// assert_eq!(emb.call(&ids).dims(), [2, 3, 8]);
/// let mask = emb.compute_mask(&ids).unwrap();
/// assert_eq!(mask.to_vec::<bool>(), [true, true, false, true, false, false]);
/// ```
pub struct Embedding {
    input_dim: usize,
    output_dim: usize,
    embeddings_initializer: Initializer,
    mask_zero: bool,
    dtype: DType,
    name: Option<String>,
    built: OnceLock<Variable>,
}

impl Embedding {
    /// A table of `input_dim` vectors of size `output_dim`.
    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        Embedding {
            input_dim,
            output_dim,
            embeddings_initializer: Initializer::RandomUniform {
                minval: -0.05,
                maxval: 0.05,
            },
            mask_zero: false,
            dtype: DType::Float32,
            name: None,
            built: OnceLock::new(),
        }
    }

    /// Sets the table's initializer (default uniform on `[-0.05, 0.05)`).
    pub fn embeddings_initializer(mut self, i: Initializer) -> Self {
        self.embeddings_initializer = i;
        self
    }

    /// Whether id 0 is padding, masked by [`compute_mask`](Self::compute_mask) (default false).
    /// In the Functional API and `Sequential` the mask then reaches the recurrent layers
    /// downstream by itself, as in Keras.
    pub fn mask_zero(mut self, m: bool) -> Self {
        self.mask_zero = m;
        self
    }

    /// The table's dtype (default float32).
    pub fn dtype(mut self, d: DType) -> Self {
        self.dtype = d;
        self
    }

    /// Names the layer (used in error messages and summaries).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Creates the table now (the first call does it otherwise), so that its variable exists
    /// before an optimizer or a checkpoint needs it.
    pub fn build(&self) -> &Variable {
        self.built.get_or_init(|| {
            let t = self
                .embeddings_initializer
                .init([self.input_dim, self.output_dim], self.dtype);
            Variable::new("embeddings", t)
        })
    }

    /// The table, once built.
    pub fn embeddings(&self) -> Option<&Variable> {
        self.built.get()
    }

    /// Looks up `ids`.
    ///
    /// # Panics
    /// `Embedding: gather: index 7 is out of bounds for axis 0 with size 6` for ids outside the
    /// table (the bounds check is gather's own; no extra pass over the ids).
    #[track_caller]
    pub fn call(&self, ids: &Tensor) -> Tensor {
        let table = self.build().value();
        let looked_up = match ids.dtype() {
            DType::Int32 | DType::Int64 => table.try_gather(ids),
            _ => table.try_gather(&ids.cast(DType::Int32)),
        };
        match looked_up {
            Ok(t) => t,
            Err(e) => panic!("{}: {e}", super::label("Embedding", &self.name)),
        }
    }

    /// With `mask_zero`, `ids != 0` (true where an id is real, false at padding); else `None`.
    pub fn compute_mask(&self, ids: &Tensor) -> Option<Tensor> {
        self.mask_zero.then(|| ids.ne(0.0))
    }
}

impl Module for Embedding {
    fn visit(&self, walk: &mut Walk<'_>) {
        if let Some(e) = self.built.get() {
            walk.variable("embeddings", e);
        }
    }
}

impl Layer for Embedding {
    fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
        self.call(x)
    }
    fn type_name(&self) -> &'static str {
        "embedding"
    }
    fn layer_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// With `mask_zero`, the output's mask is `ids != 0`; a mask coming in is not passed on.
    #[track_caller]
    fn forward_masked(
        &self,
        xs: &[Tensor],
        _masks: &[Option<Tensor>],
        training: bool,
    ) -> (Vec<Tensor>, Vec<Option<Tensor>>) {
        let mask = xs.first().and_then(|ids| self.compute_mask(ids));
        (self.forward_many(xs, training), vec![mask])
    }
}
