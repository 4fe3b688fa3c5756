//! Attention over a sequence: Keras' dot-product [`Attention`] (Luong) and
//! [`AdditiveAttention`] (Bahdanau), and [`BahdanauAttention`], the learned-projection form of
//! the seed's NMT decoder.

use crate::initializers::Initializer;
use crate::layers::{label, Dense};
use crate::module::{Module, Walk};
use keen_tape::Variable;
use keen_tensor::{DType, Tensor};
use std::sync::OnceLock;

/// How [`Attention`] scores a query against a key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScoreMode {
    /// `q · k` (Keras' default).
    #[default]
    Dot,
    /// `concat_score_weight · Σ tanh(scale · (q + k))`.
    Concat,
}

/// Checks `[query, value, key]` and the masks; returns `(batch, tq, tv)`.
#[track_caller]
fn check_inputs(
    l: &str,
    q: &Tensor,
    v: &Tensor,
    k: &Tensor,
    q_mask: Option<&Tensor>,
    v_mask: Option<&Tensor>,
) {
    for (what, t) in [("query", q), ("value", v), ("key", k)] {
        if t.rank() != 3 {
            panic!(
                "{l}: {what} must have shape (batch, time, dim), got {}",
                t.shape()
            );
        }
    }
    if q.dim(0) != v.dim(0) || k.dims()[..2] != v.dims()[..2] {
        panic!(
            "{l}: batch and time of query {}, value {} and key {} do not match",
            q.shape(),
            v.shape(),
            k.shape()
        );
    }
    if q.dim(2) != k.dim(2) {
        panic!(
            "{l}: query {} and key {} must have the same last axis",
            q.shape(),
            k.shape()
        );
    }
    for (what, m, want) in [("query_mask", q_mask, q), ("value_mask", v_mask, v)] {
        if let Some(m) = m
            && (m.dtype() != DType::Bool || m.dims() != &want.dims()[..2])
        {
            panic!(
                "{l}: {what} must be bool of shape ({}, {}), got {} {}",
                want.dim(0),
                want.dim(1),
                m.dtype(),
                m.shape()
            );
        }
    }
}

/// A bool `(1, tq, tv)` mask, true where query step `i` may see key step `j <= i`.
pub(crate) fn causal_mask(tq: usize, tv: usize) -> Tensor {
    let rows = Tensor::arange(0.0, tq as f64, 1.0, DType::Int64).reshape([tq as isize, 1]);
    let cols = Tensor::arange(0.0, tv as f64, 1.0, DType::Int64).reshape([1, tv as isize]);
    rows.ge(&cols).expand_dims(0)
}

/// Keras' `_apply_scores` plus the query mask: masked scores lose 1e9, softmax over the
/// values, the weighted sum, and zero rows where the query is masked.
fn apply_scores(
    scores: Tensor,
    value: &Tensor,
    q_mask: Option<&Tensor>,
    v_mask: Option<&Tensor>,
    causal: bool,
) -> (Tensor, Tensor) {
    let mut keep = v_mask.map(|m| m.expand_dims(1));
    if causal {
        let c = causal_mask(scores.dim(1), scores.dim(2));
        keep = Some(match keep {
            Some(k) => k.logical_and(&c),
            None => c,
        });
    }
    let scores = match keep {
        Some(k) => Tensor::where_(&k, &scores, &scores.sub(1.0e9)),
        None => scores,
    };
    let weights = scores.softmax(-1);
    let mut out = weights.matmul(value);
    if let Some(qm) = q_mask {
        out = Tensor::where_(&qm.expand_dims(2), &out, &Tensor::zeros_like(&out));
    }
    (out, weights)
}

/// Dot-product attention, as Keras' `Attention` (Luong-style): scores `query · keyᵀ`
/// (optionally times a learned scalar `scale`), a softmax over the value steps, and the
/// weighted sum of the values.
///
/// * inputs: query `(batch, Tq, dim)`, value `(batch, Tv, dim_v)`, key `(batch, Tv, dim)`
///   (the value when absent); optional bool masks `(batch, Tq)` and `(batch, Tv)`.
/// * output `(batch, Tq, dim_v)`; attention weights `(batch, Tq, Tv)`.
/// * variables: `scale` `()` with `use_scale` (ones), `concat_score_weight` `()` with
///   [`ScoreMode::Concat`].
///
/// ```
/// use keen_nn::layers::Attention;
/// use keen_tensor::{DType, Tensor};
/// let att = Attention::new();
/// let q = Tensor::random_normal([2, 3, 8], 0.0, 1.0, DType::Float32);
/// let v = Tensor::random_normal([2, 5, 8], 0.0, 1.0, DType::Float32);
/// let (out, weights) = att.call_with(&q, &v, None, None, None);
/// assert_eq!(out.dims(), [2, 3, 8]);
/// assert_eq!(weights.dims(), [2, 3, 5]);
/// ```
pub struct Attention {
    use_scale: bool,
    score_mode: ScoreMode,
    use_causal_mask: bool,
    name: Option<String>,
    built: OnceLock<(Option<Variable>, Option<Variable>)>,
}

impl Default for Attention {
    fn default() -> Self {
        Self::new()
    }
}

impl Attention {
    /// Dot scores, no scale (Keras' defaults).
    pub fn new() -> Self {
        Attention {
            use_scale: false,
            score_mode: ScoreMode::Dot,
            use_causal_mask: false,
            name: None,
            built: OnceLock::new(),
        }
    }

    /// Whether to learn a scalar that multiplies the scores (default false).
    pub fn use_scale(mut self, b: bool) -> Self {
        self.use_scale = b;
        self
    }

    /// Sets the score function (default [`ScoreMode::Dot`]).
    pub fn score_mode(mut self, m: ScoreMode) -> Self {
        self.score_mode = m;
        self
    }

    /// Whether query step `i` sees only value steps `<= i` (Keras' call argument
    /// `use_causal_mask`; default false).
    pub fn use_causal_mask(mut self, b: bool) -> Self {
        self.use_causal_mask = b;
        self
    }

    /// Names the layer (used in error messages).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The scale, once built with `use_scale`.
    pub fn scale(&self) -> Option<&Variable> {
        self.built.get().and_then(|(s, _)| s.as_ref())
    }

    /// The concat score weight, once built with [`ScoreMode::Concat`].
    pub fn concat_score_weight(&self) -> Option<&Variable> {
        self.built.get().and_then(|(_, c)| c.as_ref())
    }

    /// The attended values `(batch, Tq, dim_v)`.
    #[track_caller]
    pub fn call(&self, query: &Tensor, value: &Tensor) -> Tensor {
        self.call_with(query, value, None, None, None).0
    }

    /// The attended values and the attention weights `(batch, Tq, Tv)`, with an optional key
    /// and optional bool query and value masks (true = keep).
    ///
    /// # Panics
    /// When inputs are not rank 3, their batch or time axes disagree, query and key differ in
    /// the last axis, or a mask has the wrong shape; the message names the layer and shapes.
    #[track_caller]
    pub fn call_with(
        &self,
        query: &Tensor,
        value: &Tensor,
        key: Option<&Tensor>,
        query_mask: Option<&Tensor>,
        value_mask: Option<&Tensor>,
    ) -> (Tensor, Tensor) {
        let key = key.unwrap_or(value);
        let l = label("Attention", &self.name);
        check_inputs(&l, query, value, key, query_mask, value_mask);
        let (scale, csw) = self.built.get_or_init(|| {
            let dt = query.dtype();
            let s = self
                .use_scale
                .then(|| Variable::new("scale", Tensor::ones([], dt)));
            let c = (self.score_mode == ScoreMode::Concat)
                .then(|| Variable::new("concat_score_weight", Tensor::ones([], dt)));
            (s, c)
        });
        let scores = match self.score_mode {
            ScoreMode::Dot => {
                let s = query.matmul(&key.transpose(-1, -2));
                match scale {
                    Some(sc) => s.mul(&sc.value()),
                    None => s,
                }
            }
            ScoreMode::Concat => {
                let mut sum = query.expand_dims(2).add(&key.expand_dims(1));
                if let Some(sc) = scale {
                    sum = sum.mul(&sc.value());
                }
                let c = csw.as_ref().expect("built with concat");
                sum.tanh().sum(&[-1], false).mul(&c.value())
            }
        };
        apply_scores(scores, value, query_mask, value_mask, self.use_causal_mask)
    }
}

impl Module for Attention {
    fn visit(&self, walk: &mut Walk<'_>) {
        if let Some((s, c)) = self.built.get() {
            if let Some(s) = s {
                walk.variable("scale", s);
            }
            if let Some(c) = c {
                walk.variable("concat_score_weight", c);
            }
        }
    }
}

/// Additive (Bahdanau-style) attention, as Keras' `AdditiveAttention`: scores
/// `Σ_d scale_d · tanh(query_d + key_d)` over the last axis, a softmax over the value steps,
/// and the weighted sum of the values. Unlike [`BahdanauAttention`] it projects nothing: query
/// and key must already share their last axis.
///
/// * inputs, masks and outputs as [`Attention`].
/// * variables: `scale` `(dim,)`, glorot-uniform, with `use_scale` (the default).
///
/// ```
/// use keen_nn::layers::AdditiveAttention;
/// use keen_tensor::{DType, Tensor};
/// let att = AdditiveAttention::new();
/// let q = Tensor::random_normal([2, 3, 8], 0.0, 1.0, DType::Float32);
/// let v = Tensor::random_normal([2, 5, 8], 0.0, 1.0, DType::Float32);
/// let mask = Tensor::from([[true, true, true, false, false], [true, true, true, true, true]]);
/// let (out, w) = att.call_with(&q, &v, None, None, Some(&mask));
/// assert_eq!(out.dims(), [2, 3, 8]);
/// assert!(w.to_vec::<f32>()[3] < 1e-6); // a masked step gets no weight
/// ```
pub struct AdditiveAttention {
    use_scale: bool,
    use_causal_mask: bool,
    name: Option<String>,
    built: OnceLock<Option<Variable>>,
}

impl Default for AdditiveAttention {
    fn default() -> Self {
        Self::new()
    }
}

impl AdditiveAttention {
    /// With a learned scale (Keras' default).
    pub fn new() -> Self {
        AdditiveAttention {
            use_scale: true,
            use_causal_mask: false,
            name: None,
            built: OnceLock::new(),
        }
    }

    /// Whether to learn the per-feature scale (default true).
    pub fn use_scale(mut self, b: bool) -> Self {
        self.use_scale = b;
        self
    }

    /// Whether query step `i` sees only value steps `<= i` (default false).
    pub fn use_causal_mask(mut self, b: bool) -> Self {
        self.use_causal_mask = b;
        self
    }

    /// Names the layer (used in error messages).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The scale `(dim,)`, once built with `use_scale`.
    pub fn scale(&self) -> Option<&Variable> {
        self.built.get().and_then(|s| s.as_ref())
    }

    /// The attended values `(batch, Tq, dim_v)`.
    #[track_caller]
    pub fn call(&self, query: &Tensor, value: &Tensor) -> Tensor {
        self.call_with(query, value, None, None, None).0
    }

    /// The attended values and the attention weights, as [`Attention::call_with`].
    #[track_caller]
    pub fn call_with(
        &self,
        query: &Tensor,
        value: &Tensor,
        key: Option<&Tensor>,
        query_mask: Option<&Tensor>,
        value_mask: Option<&Tensor>,
    ) -> (Tensor, Tensor) {
        let key = key.unwrap_or(value);
        let l = label("AdditiveAttention", &self.name);
        check_inputs(&l, query, value, key, query_mask, value_mask);
        let scale = self.built.get_or_init(|| {
            self.use_scale.then(|| {
                let s = Initializer::GlorotUniform.init([query.dim(2)], query.dtype());
                Variable::new("scale", s)
            })
        });
        if let Some(s) = scale
            && s.shape().dims() != [query.dim(2)]
        {
            panic!(
                "{l}: built for query dim {}, got query {}",
                s.shape().dims()[0],
                query.shape()
            );
        }
        let t = query.expand_dims(2).add(&key.expand_dims(1)).tanh(); // (b, tq, tv, dim)
        let scores = match scale {
            Some(s) => t.mul(&s.value()).sum(&[-1], false),
            None => t.sum(&[-1], false),
        };
        apply_scores(scores, value, query_mask, value_mask, self.use_causal_mask)
    }
}

impl Module for AdditiveAttention {
    fn visit(&self, walk: &mut Walk<'_>) {
        if let Some(Some(s)) = self.built.get() {
            walk.variable("scale", s);
        }
    }
}

/// Bahdanau attention with learned projections, as in the seed's NMT decoder (and
/// TensorFlow's NMT tutorial):
///
/// ```text
/// score   = V(tanh(W1(values) + W2(query)))     (batch, time)
/// weights = softmax(score) over time
/// context = Σ_t weights_t · values_t             (batch, dim_v)
/// ```
///
/// * `W1`, `W2`: `Dense(units)`; `V`: `Dense(1)`; variables `w1.kernel`, `w1.bias`, `w2.…`,
///   `v.…`.
/// * inputs: query `(batch, dim_q)` (the decoder state), values `(batch, time, dim_v)` (the
///   encoder outputs), an optional bool `(batch, time)` mask of real (not padding) steps.
/// * outputs: context `(batch, dim_v)` and weights `(batch, time)`.
///
/// ```
/// use keen_nn::layers::BahdanauAttention;
/// use keen_tensor::{DType, Tensor};
/// let attention = BahdanauAttention::new(10);
/// let hidden = Tensor::zeros([4, 16], DType::Float32);
/// let enc_output = Tensor::random_normal([4, 7, 16], 0.0, 1.0, DType::Float32);
/// let (context, weights) = attention.call(&hidden, &enc_output);
/// assert_eq!(context.dims(), [4, 16]);
/// assert_eq!(weights.dims(), [4, 7]);
/// ```
pub struct BahdanauAttention {
    /// Projects the values.
    pub w1: Dense,
    /// Projects the query.
    pub w2: Dense,
    /// Scores each step.
    pub v: Dense,
    name: Option<String>,
}

impl BahdanauAttention {
    /// Attention with `units`-wide projections.
    pub fn new(units: usize) -> Self {
        BahdanauAttention {
            w1: Dense::new(units),
            w2: Dense::new(units),
            v: Dense::new(1),
            name: None,
        }
    }

    /// Names the layer (used in error messages).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The context vector and the attention weights.
    ///
    /// # Panics
    /// `BahdanauAttention: expects query (batch, dim) and values (batch, time, dim), got (4, 1, 16) and (4, 7, 16)`.
    #[track_caller]
    pub fn call(&self, query: &Tensor, values: &Tensor) -> (Tensor, Tensor) {
        self.call_masked(query, values, None)
    }

    /// As [`call`](Self::call), with an optional bool `(batch, time)` mask: masked steps get a
    /// score of -1e9, so (almost) no weight.
    #[track_caller]
    pub fn call_masked(
        &self,
        query: &Tensor,
        values: &Tensor,
        mask: Option<&Tensor>,
    ) -> (Tensor, Tensor) {
        let l = label("BahdanauAttention", &self.name);
        if query.rank() != 2 || values.rank() != 3 || query.dim(0) != values.dim(0) {
            panic!(
                "{l}: expects query (batch, dim) and values (batch, time, dim), got {} and {}",
                query.shape(),
                values.shape()
            );
        }
        let [b, t, _] = values.dims3();
        let hidden = self
            .w1
            .call(values)
            .add(&self.w2.call(query).expand_dims(1)); // (b, t, units)
        let mut score = self.v.call(&hidden.tanh()).squeeze(&[2]); // (b, t)
        if let Some(m) = mask {
            if m.dtype() != DType::Bool || m.dims() != [b, t] {
                panic!(
                    "{l}: mask must be bool of shape ({b}, {t}), got {} {}",
                    m.dtype(),
                    m.shape()
                );
            }
            score = score.masked_fill(&m.logical_not(), -1.0e9);
        }
        let weights = score.softmax(-1);
        let context = weights.expand_dims(1).matmul(values).squeeze(&[1]); // (b, dim_v)
        (context, weights)
    }
}

impl Module for BahdanauAttention {
    fn visit(&self, walk: &mut Walk<'_>) {
        walk.field("w1", &self.w1);
        walk.field("w2", &self.w2);
        walk.field("v", &self.v);
    }
}
