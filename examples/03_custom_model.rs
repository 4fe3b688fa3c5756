//! Custom models as R's `keras_model_custom` posts write them, then the same layers wired with
//! the Functional API: two inputs, two outputs, trained with `fit`.
//!
//! Run: `cargo run --release --example 03_custom_model`

use keen::losses::{MeanSquaredError, SparseCategoricalCrossentropy};
use keen::prelude::*;

// The seed's encoder: an embedding and a GRU returning its sequences and final state.
#[derive(Module)]
struct Encoder {
    embedding: Embedding,
    gru: Gru,
}

impl Encoder {
    fn new(vocab_size: usize, embedding_dim: usize, units: usize) -> Self {
        let embedding = Embedding::new(vocab_size, embedding_dim);
        Encoder {
            embedding,
            gru: Gru::new(units).return_sequences(true),
        }
    }

    fn call(&self, x: &Tensor, hidden: &Tensor) -> (Tensor, Tensor) {
        let (output, mut states) = self
            .gru
            .call_with_state(&self.embedding.call(x), std::slice::from_ref(hidden));
        (output, states.remove(0))
    }
}

fn main() {
    keen::tensor::random::set_seed(3);

    // 1. The custom model on a batch: 16 sentences of 10 token ids.
    let encoder = Encoder::new(1000, 64, 32);
    let ids = Tensor::random_uniform([16, 10], 0.0, 1000.0, DType::Float32)
        .floor()
        .cast(DType::Int64);
    let hidden = Tensor::zeros([16, 32], DType::Float32);
    let (output, state) = encoder.call(&ids, &hidden);
    println!("encoder output: {}", output.shape()); // (16, 10, 32)
    println!("encoder state:  {}", state.shape()); // (16, 32)
    for (path, v) in encoder.named_variables() {
        println!("  {path:<22} {}", v.shape());
    }

    // 2. The Functional API: token ids and tabular features in; a price (regression) and a
    //    class (3 classes) out. Both heads read one layer, shared.
    let text = Input::new(&[10]).dtype(DType::Int64).name("text");
    let feats = Input::new(&[4]).name("features");
    let t = Embedding::new(50, 8).apply(&text); // (None, 10, 8)
    let t = Gru::new(16).apply(&t); // (None, 16)
    let f = Dense::new(16).activation(Activation::Relu).apply(&feats); // (None, 16)
    let h = Dense::new(32)
        .activation(Activation::Relu)
        .name("shared")
        .apply(&Concatenate::new().apply(&[t, f])); // (None, 32)
    let price = Dense::new(1).name("price").apply(&h);
    let class = Dense::new(3)
        .activation(Activation::Softmax)
        .name("class")
        .apply(&h);
    let model = Model::new(&[text, feats], &[price, class]);
    print!("\n{}", model.summary());

    // Synthetic data: the price depends on both inputs, the class on the first feature.
    let n = 512;
    let words = Tensor::random_uniform([n, 10], 0.0, 50.0, DType::Float32)
        .floor()
        .cast(DType::Int64);
    let x = Tensor::random_uniform([n, 4], -1.0, 1.0, DType::Float32);
    let word_mean = words
        .cast(DType::Float32)
        .mean(&[-1], true)
        .sub(24.5)
        .div(25.0);
    let y_price = x.sum(&[-1], true).mul(0.5).add(&word_mean);
    let y_class = x
        .narrow(1, 0, 1)
        .add(1.0)
        .mul(1.5)
        .floor()
        .clip(0.0, 2.0)
        .reshape([-1])
        .cast(DType::Int64);

    let mut model = model
        .compile(
            Adam::new(0.01),
            (
                MeanSquaredError::new(),
                SparseCategoricalCrossentropy::new(),
            ),
        )
        .loss_weights([1.0, 0.5])
        .output_metrics("price", ["mae"])
        .output_metrics("class", ["accuracy"]);
    let history = model.fit(
        &[words, x],
        &[y_price, y_class],
        FitOptions::new()
            .epochs(8)
            .batch_size(32)
            .validation_split(0.2)
            .verbose(Verbosity::Line),
    );
    let loss = history.get("loss").unwrap();
    println!(
        "\nloss {:.4} -> {:.4} (price {:.4}, class {:.4}, val {:.4})",
        loss[0],
        loss[loss.len() - 1],
        history.last("price_loss").unwrap(),
        history.last("class_loss").unwrap(),
        history.last("val_loss").unwrap()
    );
}
