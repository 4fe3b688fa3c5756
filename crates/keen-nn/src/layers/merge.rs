//! Layers that merge several inputs: `Concatenate`, `Add`, `Multiply`.
//!
//! They take a slice of tensors (`call(&[a, b])`). As [`Layer`]s they take their inputs
//! through [`forward_many`](Layer::forward_many), which is how the Functional API calls them
//! (`Concatenate::new().apply(&[a, b])`).

use crate::layer::Layer;
use crate::module::{Module, Walk};
use keen_tensor::Tensor;

#[track_caller]
fn nonempty<'a>(layer: &str, xs: &'a [Tensor]) -> &'a Tensor {
    match xs.first() {
        Some(x) => x,
        None => panic!("{layer}: expects at least 1 input, got 0"),
    }
}

/// Keras' `Concatenate`: joins the inputs along `axis` (−1 by default); every other axis must
/// agree.
///
/// ```
/// use keen_nn::layers::Concatenate;
/// use keen_tensor::{DType, Tensor};
/// let a = Tensor::ones([2, 3], DType::Float32);
/// let b = Tensor::zeros([2, 5], DType::Float32);
/// assert_eq!(Concatenate::new().call(&[a, b]).dims(), [2, 8]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Concatenate {
    axis: isize,
}

impl Default for Concatenate {
    fn default() -> Self {
        Self::new()
    }
}

impl Concatenate {
    /// Concatenates along the last axis.
    pub fn new() -> Self {
        Concatenate { axis: -1 }
    }

    /// Sets the axis (default −1).
    pub fn axis(mut self, axis: isize) -> Self {
        self.axis = axis;
        self
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// `Concatenate: expects at least 1 input, got 0`, or shapes that differ off the axis
    /// (`concat along axis 1: input 1 has shape …`).
    #[track_caller]
    pub fn call(&self, xs: &[Tensor]) -> Tensor {
        nonempty("Concatenate", xs);
        Tensor::concat(xs, self.axis)
    }
}

/// Keras' `Add`: the elementwise sum of the inputs (broadcasting as the `add` op).
///
/// ```
/// use keen_nn::layers::Add;
/// use keen_tensor::Tensor;
/// let y = Add::new().call(&[Tensor::from([1.0f32, 2.0]), Tensor::from([10.0f32, 20.0])]);
/// assert_eq!(y.to_vec::<f32>(), [11.0, 22.0]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Add;

impl Add {
    /// The layer.
    pub fn new() -> Self {
        Add
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// `Add: expects at least 1 input, got 0`, or shapes that do not broadcast.
    #[track_caller]
    pub fn call(&self, xs: &[Tensor]) -> Tensor {
        let first = nonempty("Add", xs);
        xs[1..].iter().fold(first.clone(), |acc, x| acc.add(x))
    }
}

/// Keras' `Multiply`: the elementwise product of the inputs (broadcasting as the `mul` op).
///
/// ```
/// use keen_nn::layers::Multiply;
/// use keen_tensor::Tensor;
/// let y = Multiply::new().call(&[Tensor::from([1.0f32, 2.0]), Tensor::from([10.0f32, 20.0])]);
/// assert_eq!(y.to_vec::<f32>(), [10.0, 40.0]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Multiply;

impl Multiply {
    /// The layer.
    pub fn new() -> Self {
        Multiply
    }

    /// Applies the layer.
    ///
    /// # Panics
    /// `Multiply: expects at least 1 input, got 0`, or shapes that do not broadcast.
    #[track_caller]
    pub fn call(&self, xs: &[Tensor]) -> Tensor {
        let first = nonempty("Multiply", xs);
        xs[1..].iter().fold(first.clone(), |acc, x| acc.mul(x))
    }
}

macro_rules! merge_layer {
    ($($t:ty => $type_name:literal),*) => {$(
        impl Module for $t {
            fn visit(&self, _: &mut Walk<'_>) {}
        }

        impl Layer for $t {
            // One input merges with nothing: it passes through, as a list of one does.
            fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
                self.call(std::slice::from_ref(x))
            }
            fn type_name(&self) -> &'static str {
                $type_name
            }
            #[track_caller]
            fn forward_many(&self, xs: &[Tensor], _training: bool) -> Vec<Tensor> {
                vec![self.call(xs)]
            }
            #[track_caller]
            fn forward_masked(
                &self,
                xs: &[Tensor],
                masks: &[Option<Tensor>],
                _training: bool,
            ) -> (Vec<Tensor>, Vec<Option<Tensor>>) {
                (vec![self.call(xs)], vec![self.output_mask(xs, masks)])
            }
        }
    )*};
}
merge_layer!(Concatenate => "concatenate", Add => "add", Multiply => "multiply");

/// Keras' mask of an elementwise merge: none unless every input has one, else their union (a
/// step is real where it is real in some input).
fn union_mask(masks: &[Option<Tensor>]) -> Option<Tensor> {
    let all: Vec<&Tensor> = masks.iter().map(Option::as_ref).collect::<Option<_>>()?;
    let (first, rest) = all.split_first()?;
    Some(
        rest.iter()
            .fold((*first).clone(), |acc, m| acc.logical_or(m)),
    )
}

/// Keras' mask of `Concatenate`: each input's mask widened to the input's shape (all true where
/// an input has none), concatenated like the inputs, and reduced over the last axis with `any`.
/// Along the feature axis that is the union of the masks, an unmasked input counting as real
/// everywhere; along time, the masks follow each other.
fn concat_mask(xs: &[Tensor], masks: &[Option<Tensor>], axis: isize) -> Option<Tensor> {
    if masks.iter().all(Option::is_none) {
        return None;
    }
    let full: Vec<Tensor> = xs
        .iter()
        .zip(masks)
        .map(|(x, m)| match m {
            None => Tensor::ones(x.shape(), keen_tensor::DType::Bool),
            Some(m) if m.rank() < x.rank() => m.expand_dims(-1).broadcast_to(x.shape()),
            Some(m) => m.clone(),
        })
        .collect();
    Some(Tensor::concat(&full, axis).any(&[-1], false))
}

// The merged output's mask, as each layer's Keras `compute_mask`.
impl Concatenate {
    fn output_mask(&self, xs: &[Tensor], masks: &[Option<Tensor>]) -> Option<Tensor> {
        concat_mask(xs, masks, self.axis)
    }
}

impl Add {
    fn output_mask(&self, _xs: &[Tensor], masks: &[Option<Tensor>]) -> Option<Tensor> {
        union_mask(masks)
    }
}

impl Multiply {
    fn output_mask(&self, _xs: &[Tensor], masks: &[Option<Tensor>]) -> Option<Tensor> {
        union_mask(masks)
    }
}
