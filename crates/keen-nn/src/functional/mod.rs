//! The Functional API: symbolic [`Input`]s, layers applied to them with [`Apply`], and a
//! [`Functional`] model (alias [`Model`]) from inputs to outputs, as Keras'
//! `keras.Model(inputs, outputs)`.
//!
//! ```
//! use keen_nn::prelude::*;
//! use keen_tensor::{DType, Tensor};
//! // Text ids and tabular features in, a price and a class out.
//! let text = Input::new(&[20]).dtype(DType::Int64).name("text");
//! let feats = Input::new(&[8]).name("feats");
//! let t = Embedding::new(100, 16).apply(&text); // (None, 20, 16)
//! let t = Gru::new(32).apply(&t); // (None, 32)
//! let f = Dense::new(32).activation(Activation::Relu).apply(&feats);
//! let h = Concatenate::new().apply(&[t, f]); // (None, 64)
//! let price = Dense::new(1).name("price").apply(&h);
//! let class = Dense::new(3).activation(Activation::Softmax).name("class").apply(&h);
//! let model = Model::new(&[text, feats], &[price, class]);
//!
//! let ids = Tensor::zeros([4, 20], DType::Int64);
//! let x = Tensor::ones([4, 8], DType::Float32);
//! let out = model.call(&[ids, x], false);
//! assert_eq!((out[0].dims(), out[1].dims()), ([4, 1].as_slice(), [4, 3].as_slice()));
//! assert_eq!(model.output_names(), ["price", "class"]);
//! ```

mod symbolic;

pub use symbolic::{Apply, Input, InputShape, SymbolicInputs, SymbolicTensor};

use crate::layer::Layer;
use crate::module::{Module, Walk};
use keen_tensor::{DType, Tensor};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use symbolic::{fmt_shape, Call, SharedLayer, Source};

/// Keras' name for what `keras.Model(inputs, outputs)` builds: `Model::new(&[..], &[..])`.
pub type Model = Functional;

/// A model defined by wiring layers between symbolic inputs and outputs (see the
/// [module docs](self)). Each distinct layer is held once, however often it was applied, so a
/// shared layer's variables are shared; a layer shared with another model is the same layer
/// there too.
///
/// Layers are named as in Keras: the name given to the layer, else its type with a number
/// unique in the model (`dense`, `dense_1`, …, in the order the graph runs them); variables
/// are reported under `layer_name.variable` (`dense_1.kernel`). A Functional model is itself a
/// [`Layer`] (apply it to symbolic tensors to use it as a sub-model; with one input and one
/// output it trains with `fit` like a `Sequential`).
pub struct Functional {
    name: Option<String>,
    inputs: Vec<InputSpec>,
    layers: Vec<Entry>,
    steps: Vec<Step>,
    /// Per slot: shape without batch axis, dtype, and what produced it
    /// (`layer_name[node][index]`, as the summary's "Connected to" prints it).
    slots: Vec<SlotInfo>,
    outputs: Vec<usize>,
    output_names: Vec<String>,
}

struct InputSpec {
    name: String,
    /// `None` where the axis is free: any size is accepted there.
    dims: Vec<Option<usize>>,
    dtype: DType,
}

struct Entry {
    name: String,
    layer: SharedLayer,
}

/// One layer call: slots in, slots out.
struct Step {
    layer: usize,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
}

struct SlotInfo {
    dims: Vec<Option<usize>>,
    source: String,
}

impl Functional {
    /// The model from `inputs` to `outputs` (Keras' `keras.Model(inputs, outputs)`). The
    /// layers were built when they were applied, so the model is ready to call, summarise,
    /// save and load.
    ///
    /// # Panics
    /// When an input is not an [`Input`], an output depends on an input that is not listed,
    /// or two different layers carry the same name.
    #[track_caller]
    pub fn new<I: AsRef<SymbolicTensor>, O: AsRef<SymbolicTensor>>(
        inputs: &[I],
        outputs: &[O],
    ) -> Self {
        let mut g = Graph::default();
        let mut specs = Vec::new();
        for (i, x) in inputs.iter().enumerate() {
            let x = x.as_ref();
            let Source::Input { name, .. } = &x.0.source else {
                panic!("Model: input {i} is a layer's output, not an Input");
            };
            if g.slot_of.contains_key(&x.key()) {
                panic!("Model: input {i} is listed twice");
            }
            g.slot_of.insert(x.key(), i);
            specs.push((name.clone(), x.0.dims.clone(), x.0.dtype));
            g.slots.push(SlotInfo {
                dims: x.0.dims.clone(),
                source: String::new(),
            });
        }
        for o in outputs {
            g.visit(o.as_ref());
        }
        let given: Vec<Option<String>> = specs.iter().map(|s| s.0.clone()).collect();
        let names = assign_names(&given, &g.layers);
        let inputs: Vec<InputSpec> = specs
            .into_iter()
            .zip(&names.inputs)
            .map(|((_, dims, dtype), name)| InputSpec {
                name: name.clone(),
                dims,
                dtype,
            })
            .collect();
        for (slot, spec) in g.slots.iter_mut().zip(&inputs) {
            slot.source = format!("{}[0][0]", spec.name);
        }
        let mut node_count = vec![0usize; g.layers.len()];
        for step in &g.steps {
            let node = node_count[step.layer];
            node_count[step.layer] += 1;
            for (i, &slot) in step.outputs.iter().enumerate() {
                g.slots[slot].source = format!("{}[{node}][{i}]", names.layers[step.layer]);
            }
        }
        let out_slots: Vec<usize> = outputs
            .iter()
            .map(|o| g.slot_of[&o.as_ref().key()])
            .collect();
        let mut output_names: Vec<String> = Vec::new();
        for &slot in &out_slots {
            let producer = match g.steps.iter().find(|s| s.outputs.contains(&slot)) {
                Some(s) => names.layers[s.layer].clone(),
                None => inputs[slot].name.clone(),
            };
            // Two outputs of one layer still need two log names (`lstm`, `lstm_1`).
            let mut name = producer.clone();
            let mut k = 1;
            while output_names.contains(&name) {
                name = format!("{producer}_{k}");
                k += 1;
            }
            output_names.push(name);
        }
        Functional {
            name: None,
            inputs,
            layers: g
                .layers
                .into_iter()
                .zip(names.layers)
                .map(|(layer, name)| Entry { name, layer })
                .collect(),
            steps: g.steps,
            slots: g.slots,
            outputs: out_slots,
            output_names,
        }
    }

    /// Names the model (default `functional`; the name a parent model and the summary use).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The model's name.
    pub fn get_name(&self) -> &str {
        self.name.as_deref().unwrap_or("functional")
    }

    /// Runs the model eagerly on one tensor per input (batch axis first); returns one tensor
    /// per output. Inputs of another dtype than declared are cast, as Keras converts them.
    ///
    /// Masks flow through the graph as in Keras: an `Embedding` with `mask_zero` masks its
    /// padding, the layers that keep the time axis pass the mask on, and a recurrent layer
    /// skips the masked steps (see [`Layer::forward_masked`]).
    ///
    /// ```
    /// use keen_nn::prelude::*;
    /// use keen_tensor::{DType, Tensor};
    /// let ids = Input::new(&[None]).dtype(DType::Int64);
    /// let h = Embedding::new(10, 4).mask_zero(true).apply(&ids);
    /// let out = Gru::new(3).apply(&h);
    /// let model = Model::new(&[ids], &[out]);
    /// // Trailing padding changes nothing: the GRU carries its state over masked steps.
    /// let short = model.call(&[Tensor::from_vec(vec![4i64, 2], [1, 2])], false);
    /// let padded = model.call(&[Tensor::from_vec(vec![4i64, 2, 0, 0], [1, 4])], false);
    /// let (a, b) = (short[0].to_vec::<f32>(), padded[0].to_vec::<f32>());
    /// assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-6));
    /// ```
    ///
    /// # Panics
    /// When the number of inputs or an input's shape does not match the model's inputs (the
    /// message names the input and both shapes).
    #[track_caller]
    pub fn call(&self, xs: &[Tensor], training: bool) -> Vec<Tensor> {
        self.call_masked(xs, &[], training).0
    }

    /// [`call`](Self::call) with masks for the inputs (one per input, `None` where unmasked;
    /// an empty slice for none), giving the outputs and their masks: a Functional model used
    /// as a layer passes masks through like any layer.
    #[track_caller]
    fn call_masked(
        &self,
        xs: &[Tensor],
        input_masks: &[Option<Tensor>],
        training: bool,
    ) -> (Vec<Tensor>, Vec<Option<Tensor>>) {
        self.check_inputs(xs);
        let mut values: Vec<Option<Tensor>> = vec![None; self.slots.len()];
        let mut masks: Vec<Option<Tensor>> = vec![None; self.slots.len()];
        for (slot, m) in input_masks.iter().enumerate() {
            masks[slot] = m.clone();
        }
        for (i, (x, spec)) in xs.iter().zip(&self.inputs).enumerate() {
            values[i] = Some(if x.dtype() == spec.dtype {
                x.clone()
            } else {
                x.cast(spec.dtype)
            });
        }
        for step in &self.steps {
            let args: Vec<Tensor> = step
                .inputs
                .iter()
                .map(|&s| values[s].clone().expect("steps run in dependency order"))
                .collect();
            let arg_masks: Vec<Option<Tensor>> =
                step.inputs.iter().map(|&s| masks[s].clone()).collect();
            let (outs, out_masks) = self.layers[step.layer]
                .layer
                .forward_masked(&args, &arg_masks, training);
            for (&slot, t) in step.outputs.iter().zip(outs) {
                values[slot] = Some(t);
            }
            for (&slot, m) in step.outputs.iter().zip(out_masks) {
                masks[slot] = m;
            }
        }
        self.outputs
            .iter()
            .map(|&s| {
                (
                    values[s].clone().expect("every output is computed"),
                    masks[s].clone(),
                )
            })
            .unzip()
    }

    #[track_caller]
    fn check_inputs(&self, xs: &[Tensor]) {
        let want = |spec: &InputSpec| format!("`{}` {}", spec.name, fmt_shape(&spec.dims));
        if xs.len() != self.inputs.len() {
            panic!(
                "Model `{}`: expects {} inputs ({}), got {}",
                self.get_name(),
                self.inputs.len(),
                self.inputs.iter().map(want).collect::<Vec<_>>().join(", "),
                xs.len()
            );
        }
        for (i, (x, spec)) in xs.iter().zip(&self.inputs).enumerate() {
            let fits = x.rank() == spec.dims.len() + 1
                && x.dims()[1..]
                    .iter()
                    .zip(&spec.dims)
                    .all(|(&d, want)| want.is_none_or(|w| w == d));
            if !fits {
                panic!(
                    "Model `{}`: input {i} ({}) expects shape {}, got {}",
                    self.get_name(),
                    spec.name,
                    fmt_shape(&spec.dims),
                    x.shape()
                );
            }
        }
    }

    /// The layer named `name` (Keras' `get_layer`), as a [`Layer`]: its variables, its
    /// weights, [`set_trainable`](Module::set_trainable) to freeze it.
    pub fn get_layer(&self, name: &str) -> Option<&(dyn Layer + Send + Sync)> {
        self.layers
            .iter()
            .find(|e| e.name == name)
            .map(|e| &*e.layer)
    }

    /// The layers' names, in the order the model runs them (inputs not included).
    pub fn layer_names(&self) -> Vec<&str> {
        self.layers.iter().map(|e| e.name.as_str()).collect()
    }

    /// The inputs' names (given, else `input_layer`, `input_layer_1`, …).
    pub fn input_names(&self) -> Vec<&str> {
        self.inputs.iter().map(|i| i.name.as_str()).collect()
    }

    /// The outputs' names: each is the name of the layer that produces it, as Keras names the
    /// per-output losses and metrics in the logs (`price_loss`).
    pub fn output_names(&self) -> &[String] {
        &self.output_names
    }

    /// The number of inputs.
    pub fn num_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// The number of outputs.
    pub fn num_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// Keras' `model.summary()` for a Functional model: one row per input and per layer, with
    /// its output shape, its parameters (a shared layer counted once) and the tensors it is
    /// connected to (`layer[call][output]`), then the totals.
    pub fn summary(&self) -> String {
        let mut rows = Vec::new();
        for spec in &self.inputs {
            rows.push([
                format!("{} (InputLayer)", spec.name),
                fmt_shape(&spec.dims),
                "0".to_string(),
                "-".to_string(),
            ]);
        }
        for (i, e) in self.layers.iter().enumerate() {
            let calls: Vec<&Step> = self.steps.iter().filter(|s| s.layer == i).collect();
            let shapes: Vec<String> = calls[0]
                .outputs
                .iter()
                .map(|&s| fmt_shape(&self.slots[s].dims))
                .collect();
            let shape = match shapes.as_slice() {
                [one] => one.clone(),
                many => format!("[{}]", many.join(", ")),
            };
            let connected: Vec<&str> = calls
                .iter()
                .flat_map(|c| c.inputs.iter().map(|&s| self.slots[s].source.as_str()))
                .collect();
            rows.push([
                format!(
                    "{} ({})",
                    e.name,
                    crate::summary::class_name(e.layer.type_name())
                ),
                shape,
                crate::summary::group(e.layer.count_params()),
                connected.join(", "),
            ]);
        }
        let trainable: usize = self
            .trainable_variables()
            .iter()
            .map(|v| v.shape().numel())
            .sum();
        crate::summary::table4(self.get_name(), &rows, self.count_params(), trainable)
    }
}

/// The graph as the walk from the outputs finds it.
#[derive(Default)]
struct Graph {
    slot_of: HashMap<(u64, usize), usize>,
    slots: Vec<SlotInfo>,
    layers: Vec<SharedLayer>,
    layer_of: HashMap<usize, usize>,
    steps: Vec<Step>,
    seen_calls: HashSet<u64>,
}

impl Graph {
    /// Adds, depth first, every call `t` depends on and then the call producing it, so the
    /// steps come in an order where each input is computed before it is used.
    #[track_caller]
    fn visit(&mut self, t: &SymbolicTensor) {
        match &t.0.source {
            Source::Input { name, .. } => {
                if !self.slot_of.contains_key(&t.key()) {
                    panic!(
                        "Model: an output depends on input {}{} that is not among the model's inputs",
                        name.as_deref().map(|n| format!("`{n}` ")).unwrap_or_default(),
                        fmt_shape(&t.0.dims)
                    );
                }
            }
            Source::Call { call, .. } => {
                if self.seen_calls.insert(call.id) {
                    for x in &call.inputs {
                        self.visit(x);
                    }
                    self.add_call(call);
                }
            }
        }
    }

    fn add_call(&mut self, call: &Call) {
        // The allocation's address identifies the layer: two `Arc`s of one layer are one.
        let ptr = Arc::as_ptr(&call.layer) as *const () as usize;
        let layer = *self.layer_of.entry(ptr).or_insert_with(|| {
            self.layers.push(call.layer.clone());
            self.layers.len() - 1
        });
        let inputs = call.inputs.iter().map(|x| self.slot_of[&x.key()]).collect();
        let outputs = (0..call.outputs.len())
            .map(|i| {
                self.slots.push(SlotInfo {
                    dims: call.outputs[i].0.clone(),
                    source: String::new(),
                });
                self.slot_of.insert((call.id, i), self.slots.len() - 1);
                self.slots.len() - 1
            })
            .collect();
        self.steps.push(Step {
            layer,
            inputs,
            outputs,
        });
    }
}

struct Names {
    inputs: Vec<String>,
    layers: Vec<String>,
}

/// Given names where there are, else Keras' `type`, `type_1`, … skipping names already taken.
#[track_caller]
fn assign_names(inputs: &[Option<String>], layers: &[SharedLayer]) -> Names {
    let mut taken = HashSet::new();
    let given = inputs
        .iter()
        .map(|i| i.as_deref())
        .chain(layers.iter().map(|l| l.layer_name()));
    for name in given.flatten() {
        if !taken.insert(name.to_string()) {
            panic!("Model: the name `{name}` is used by two layers; layer names must be unique");
        }
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut auto = |base: &'static str, taken: &mut HashSet<String>| loop {
        let c = counts.entry(base).or_insert(0);
        let name = if *c == 0 {
            base.to_string()
        } else {
            format!("{base}_{c}")
        };
        *c += 1;
        if taken.insert(name.clone()) {
            return name;
        }
    };
    let inputs = inputs
        .iter()
        .map(|i| match i {
            Some(n) => n.clone(),
            None => auto("input_layer", &mut taken),
        })
        .collect();
    let layers = layers
        .iter()
        .map(|l| match l.layer_name() {
            Some(n) => n.to_string(),
            None => auto(l.type_name(), &mut taken),
        })
        .collect();
    Names { inputs, layers }
}

impl Module for Functional {
    fn visit(&self, walk: &mut Walk<'_>) {
        for e in &self.layers {
            walk.field(&e.name, &*e.layer);
        }
    }
}

impl Layer for Functional {
    /// Runs a model of one input and one output.
    ///
    /// # Panics
    /// For a model with several inputs or outputs (call [`Functional::call`]).
    #[track_caller]
    fn forward(&self, x: &Tensor, training: bool) -> Tensor {
        if self.inputs.len() != 1 || self.outputs.len() != 1 {
            panic!(
                "Model `{}` has {} inputs and {} outputs; call it with `call(&[..], training)`",
                self.get_name(),
                self.inputs.len(),
                self.outputs.len()
            );
        }
        self.call(std::slice::from_ref(x), training)
            .pop()
            .expect("one output")
    }

    fn type_name(&self) -> &'static str {
        "functional"
    }

    fn layer_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    #[track_caller]
    fn forward_many(&self, xs: &[Tensor], training: bool) -> Vec<Tensor> {
        self.call(xs, training)
    }

    /// The inputs' masks enter the graph at the model's inputs; the outputs' masks come out.
    #[track_caller]
    fn forward_masked(
        &self,
        xs: &[Tensor],
        masks: &[Option<Tensor>],
        training: bool,
    ) -> (Vec<Tensor>, Vec<Option<Tensor>>) {
        self.call_masked(xs, masks, training)
    }

    fn output_names(&self) -> Vec<String> {
        self.output_names.clone()
    }
}
