//! `Sequential`: a plain stack of layers, each feeding the next.

use crate::layer::Layer;
use crate::module::{Module, Walk};
use keen_tensor::Tensor;

/// A linear stack of layers, as Keras' `Sequential`.
///
/// Variables are reported under each layer's name: the one given with the layer's `.name(..)`,
/// else Keras' default (`dense`, `dense_1`, …).
///
/// ```
/// use keen_nn::{Activation, Dense, Dropout, Module, Sequential};
/// use keen_tensor::{DType, Tensor};
/// let model = Sequential::new()
///     .add(Dense::new(32).activation(Activation::Relu))
///     .add(Dropout::new(0.5))
///     .add(Dense::new(1));
/// let y = model.call(&Tensor::ones([4, 3], DType::Float32), false);
/// assert_eq!(y.dims(), [4, 1]);
/// assert_eq!(model.named_variables()[2].0, "dense_1.kernel");
/// ```
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Layer + Send + Sync>>,
}

impl Sequential {
    /// An empty stack.
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }

    /// Appends a layer (builder style; Keras' `model.add`).
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, layer: impl Layer + Send + Sync + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends a layer to an existing model.
    pub fn push(&mut self, layer: impl Layer + Send + Sync + 'static) {
        self.layers.push(Box::new(layer));
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer + Send + Sync>] {
        &self.layers
    }

    /// Runs the stack.
    #[track_caller]
    pub fn call(&self, x: &Tensor, training: bool) -> Tensor {
        self.call_masked(x, None, training).0
    }

    /// Runs the stack with a mask passed from layer to layer, as Keras' `Sequential` does (an
    /// `Embedding` with `mask_zero` before a `Gru` makes the GRU skip the padding).
    fn call_masked(
        &self,
        x: &Tensor,
        mask: Option<Tensor>,
        training: bool,
    ) -> (Tensor, Option<Tensor>) {
        let mut h = x.clone();
        let mut mask = mask;
        for l in &self.layers {
            // The first output, as `forward` gives (a recurrent layer's states are dropped).
            let (outs, masks) = l.forward_masked(std::slice::from_ref(&h), &[mask], training);
            h = outs.into_iter().next().expect("a layer gives an output");
            mask = masks.into_iter().next().flatten();
        }
        (h, mask)
    }

    /// Each layer's name: its own, else Keras' `type`, `type_1`, … numbering.
    pub fn layer_names(&self) -> Vec<String> {
        let mut counts = std::collections::HashMap::new();
        self.layers
            .iter()
            .map(|l| match l.layer_name() {
                Some(n) => n.to_string(),
                None => {
                    let c = counts.entry(l.type_name()).or_insert(0usize);
                    let name = if *c == 0 {
                        l.type_name().to_string()
                    } else {
                        format!("{}_{c}", l.type_name())
                    };
                    *c += 1;
                    name
                }
            })
            .collect()
    }
}

impl Sequential {
    /// Keras' `model.summary()` as a string: one row per layer with its output shape for a
    /// batch of `input` (run once in inference mode, which also builds the layers) and its
    /// parameter count, then the totals.
    ///
    /// ```
    /// use keen_nn::{Activation, Dense, Sequential};
    /// let model = Sequential::new().add(Dense::new(32).activation(Activation::Relu)).add(Dense::new(1));
    /// let text = model.summary(&[8]);
    /// assert!(text.contains("dense_1 (Dense)"));
    /// assert!(text.contains("Total params: 321"));
    /// print!("{text}");
    /// ```
    #[track_caller]
    pub fn summary(&self, input: &[usize]) -> String {
        let mut dims = vec![1];
        dims.extend_from_slice(input);
        let mut h = Tensor::zeros(dims, keen_tensor::DType::Float32);
        let mut rows = Vec::new();
        keen_tensor::record::without_recording(|| {
            for (l, name) in self.layers.iter().zip(self.layer_names()) {
                h = l.forward(&h, false);
                let shape = format!(
                    "(None{})",
                    h.dims()[1..]
                        .iter()
                        .map(|d| format!(", {d}"))
                        .collect::<String>()
                );
                rows.push((
                    format!("{name} ({})", crate::summary::class_name(l.type_name())),
                    shape,
                    l.count_params(),
                ));
            }
        });
        let trainable: usize = self
            .trainable_variables()
            .iter()
            .map(|v| v.shape().numel())
            .sum();
        crate::summary::table("sequential", &rows, self.count_params(), trainable)
    }
}

impl Module for Sequential {
    fn visit(&self, walk: &mut Walk<'_>) {
        for (l, name) in self.layers.iter().zip(self.layer_names()) {
            walk.field(&name, &**l);
        }
    }
}

impl Layer for Sequential {
    fn forward(&self, x: &Tensor, training: bool) -> Tensor {
        self.call(x, training)
    }
    #[track_caller]
    fn forward_masked(
        &self,
        xs: &[Tensor],
        masks: &[Option<Tensor>],
        training: bool,
    ) -> (Vec<Tensor>, Vec<Option<Tensor>>) {
        let x = crate::layer::only_input(self, xs);
        let (y, mask) = self.call_masked(x, masks.first().cloned().flatten(), training);
        (vec![y], vec![mask])
    }
    fn type_name(&self) -> &'static str {
        "sequential"
    }
}
