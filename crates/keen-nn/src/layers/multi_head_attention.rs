//! `MultiHeadAttention`, as Keras' layer of that name (rank-3 inputs).

use crate::initializers::Initializer;
use crate::module::{Module, Walk};
use keen_tape::Variable;
use keen_tensor::{DType, Tensor};
use std::sync::OnceLock;

/// One of the four projections; Keras' `EinsumDense` kernel layout is kept so that weights
/// load unchanged.
struct Projection {
    kernel: Variable,
    bias: Option<Variable>,
}

impl Projection {
    fn new(kernel: Tensor, bias: Option<Tensor>) -> Self {
        Projection {
            kernel: Variable::new("kernel", kernel),
            bias: bias.map(|b| Variable::new("bias", b)),
        }
    }

    /// `(n, d) → (n, out)` with the kernel flattened to `(d, out)`: the einsum is one GEMM.
    fn apply(&self, x: &Tensor, d: usize, out: usize) -> Tensor {
        let k = self.kernel.value().reshape([d as isize, out as isize]);
        let y = x.matmul(&k);
        match &self.bias {
            Some(b) => y.add(&b.value().reshape([out as isize])),
            None => y,
        }
    }

    fn visit(&self, walk: &mut Walk<'_>, name: &str) {
        walk.variable(&format!("{name}.kernel"), &self.kernel);
        if let Some(b) = &self.bias {
            walk.variable(&format!("{name}.bias"), b);
        }
    }
}

struct MhaVars {
    query: Projection,
    key: Projection,
    value: Projection,
    attention_output: Projection,
    dims: [usize; 3],
}

/// Multi-head scaled dot-product attention, as Keras' `MultiHeadAttention`:
///
/// ```text
/// q_h = query · Wq_h + bq_h      k_h = key · Wk_h + bk_h      v_h = value · Wv_h + bv_h
/// scores_h = softmax(q_h · k_hᵀ / sqrt(key_dim))   (masked positions excluded)
/// output = Σ_h (scores_h · v_h) · Wo_h + bo
/// ```
///
/// * inputs: query `(batch, Tq, dim_q)`, value `(batch, Tv, dim_v)`, key `(batch, Tv, dim_k)`
///   (the value when absent); an optional bool attention mask `(batch, Tq, Tv)`, true where a
///   query step may attend.
/// * outputs `(batch, Tq, output_shape or dim_q)` and scores `(batch, heads, Tq, Tv)`.
/// * variables, in Keras' einsum layout: `query.kernel` `(dim_q, heads, key_dim)`,
///   `query.bias` `(heads, key_dim)`, `key.…`, `value.…` `(dim_v, heads, value_dim)`,
///   `attention_output.kernel` `(heads, value_dim, out)`, `attention_output.bias` `(out,)`.
/// * a query row whose every position is masked gets all-zero scores, as Keras' masked
///   softmax.
///
/// ```
/// use keen_nn::layers::MultiHeadAttention;
/// use keen_tensor::{DType, Tensor};
/// let mha = MultiHeadAttention::new(2, 4);
/// let x = Tensor::random_normal([3, 5, 8], 0.0, 1.0, DType::Float32);
/// let y = mha.call(&x, &x); // self-attention
/// assert_eq!(y.dims(), [3, 5, 8]);
/// let (_, scores) = mha.call_with(&x, &x, None, None);
/// assert_eq!(scores.dims(), [3, 2, 5, 5]);
/// ```
pub struct MultiHeadAttention {
    num_heads: usize,
    key_dim: usize,
    value_dim: Option<usize>,
    output_shape: Option<usize>,
    use_bias: bool,
    use_causal_mask: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    name: Option<String>,
    built: OnceLock<MhaVars>,
}

impl MultiHeadAttention {
    /// `num_heads` heads of size `key_dim` (values of the same size unless
    /// [`value_dim`](Self::value_dim) says otherwise).
    pub fn new(num_heads: usize, key_dim: usize) -> Self {
        MultiHeadAttention {
            num_heads,
            key_dim,
            value_dim: None,
            output_shape: None,
            use_bias: true,
            use_causal_mask: false,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            name: None,
            built: OnceLock::new(),
        }
    }

    /// The size of each value head (default `key_dim`).
    pub fn value_dim(mut self, d: usize) -> Self {
        self.value_dim = Some(d);
        self
    }

    /// The last axis of the output (default the query's).
    pub fn output_shape(mut self, d: usize) -> Self {
        self.output_shape = Some(d);
        self
    }

    /// Whether the projections have biases (default true).
    pub fn use_bias(mut self, b: bool) -> Self {
        self.use_bias = b;
        self
    }

    /// Whether query step `i` sees only value steps `<= i` (Keras' call argument; default
    /// false).
    pub fn use_causal_mask(mut self, b: bool) -> Self {
        self.use_causal_mask = b;
        self
    }

    /// Sets the kernels' initializer (default glorot-uniform).
    pub fn kernel_initializer(mut self, i: Initializer) -> Self {
        self.kernel_initializer = i;
        self
    }

    /// Sets the biases' initializer (default zeros).
    pub fn bias_initializer(mut self, i: Initializer) -> Self {
        self.bias_initializer = i;
        self
    }

    /// Names the layer (used in error messages).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("MultiHeadAttention `{n}`"),
            None => "MultiHeadAttention".to_string(),
        }
    }

    fn vdim(&self) -> usize {
        self.value_dim.unwrap_or(self.key_dim)
    }

    fn build(&self, dq: usize, dv: usize, dk: usize, dtype: DType) -> &MhaVars {
        self.built.get_or_init(|| {
            let (h, kd, vd) = (self.num_heads, self.key_dim, self.vdim());
            let out = self.output_shape.unwrap_or(dq);
            let proj = |d: usize, head: usize| {
                Projection::new(
                    self.kernel_initializer.init([d, h, head], dtype),
                    self.use_bias
                        .then(|| self.bias_initializer.init([h, head], dtype)),
                )
            };
            MhaVars {
                query: proj(dq, kd),
                key: proj(dk, kd),
                value: proj(dv, vd),
                attention_output: Projection::new(
                    self.kernel_initializer.init([h, vd, out], dtype),
                    self.use_bias
                        .then(|| self.bias_initializer.init([out], dtype)),
                ),
                dims: [dq, dv, dk],
            }
        })
    }

    /// The attention output `(batch, Tq, out)`.
    #[track_caller]
    pub fn call(&self, query: &Tensor, value: &Tensor) -> Tensor {
        self.call_with(query, value, None, None).0
    }

    /// The attention output and the scores `(batch, heads, Tq, Tv)` (Keras'
    /// `return_attention_scores=True`), with an optional key and bool attention mask.
    ///
    /// # Panics
    /// When inputs are not rank 3, batch or time axes disagree, the layer was built for other
    /// feature sizes, or the mask is not bool `(batch, Tq, Tv)`; the message names the layer
    /// and the shapes.
    #[track_caller]
    pub fn call_with(
        &self,
        query: &Tensor,
        value: &Tensor,
        key: Option<&Tensor>,
        attention_mask: Option<&Tensor>,
    ) -> (Tensor, Tensor) {
        let l = self.label();
        let key = key.unwrap_or(value);
        for (what, t) in [("query", query), ("value", value), ("key", key)] {
            if t.rank() != 3 {
                panic!(
                    "{l}: {what} must have shape (batch, time, dim), got {}",
                    t.shape()
                );
            }
        }
        if query.dim(0) != value.dim(0) || key.dims()[..2] != value.dims()[..2] {
            panic!(
                "{l}: batch and time of query {}, value {} and key {} do not match",
                query.shape(),
                value.shape(),
                key.shape()
            );
        }
        let [b, tq, dq] = query.dims3();
        let [_, tv, dv] = value.dims3();
        let dk = key.dim(2);
        let vars = self.build(dq, dv, dk, query.dtype());
        if vars.dims != [dq, dv, dk] {
            let [a, c, e] = vars.dims;
            panic!(
                "{l}: built for query, value and key dims ({a}, {c}, {e}), got query {}, value {} and key {}",
                query.shape(),
                value.shape(),
                key.shape()
            );
        }
        let (h, kd, vd) = (self.num_heads, self.key_dim, self.vdim());
        // (batch, time, heads, head_dim) → (batch, heads, time, head_dim)
        let heads = |p: &Projection, x: &Tensor, t: usize, d: usize, hd: usize| {
            p.apply(&x.reshape([(b * t) as isize, d as isize]), d, h * hd)
                .reshape([b as isize, t as isize, h as isize, hd as isize])
                .permute(&[0, 2, 1, 3])
        };
        let q = heads(&vars.query, query, tq, dq, kd).mul(1.0 / (kd as f64).sqrt());
        let k = heads(&vars.key, key, tv, dk, kd);
        let v = heads(&vars.value, value, tv, dv, vd);
        let mut scores = q.matmul(&k.transpose(-1, -2)); // (b, h, tq, tv)

        let mut keep = attention_mask.map(|m| {
            if m.dtype() != DType::Bool || m.dims() != [b, tq, tv] {
                panic!(
                    "{l}: attention_mask must be bool of shape ({b}, {tq}, {tv}), got {} {}",
                    m.dtype(),
                    m.shape()
                );
            }
            m.clone()
        });
        if self.use_causal_mask {
            let c = crate::layers::attention::causal_mask(tq, tv);
            keep = Some(match keep {
                Some(k) => k.logical_and(&c),
                None => c,
            });
        }
        let keep = keep.map(|k| k.expand_dims(1)); // (b | 1, 1, tq, tv)
        if let Some(k) = &keep {
            scores = scores.masked_fill(&k.logical_not(), -1.0e9);
        }
        let mut weights = scores.softmax(-1);
        if let Some(k) = &keep {
            // A fully masked row would otherwise be uniform.
            weights = weights.masked_fill(&k.logical_not(), 0.0);
        }
        let out = weights
            .matmul(&v) // (b, h, tq, vd)
            .permute(&[0, 2, 1, 3])
            .reshape([(b * tq) as isize, (h * vd) as isize]);
        let od = vars.attention_output.kernel.shape().dims()[2];
        let y = vars.attention_output.apply(&out, h * vd, od).reshape([
            b as isize,
            tq as isize,
            od as isize,
        ]);
        (y, weights)
    }
}

impl Module for MultiHeadAttention {
    fn visit(&self, walk: &mut Walk<'_>) {
        if let Some(v) = self.built.get() {
            v.query.visit(walk, "query");
            v.key.visit(walk, "key");
            v.value.visit(walk, "value");
            v.attention_output.visit(walk, "attention_output");
        }
    }
}
