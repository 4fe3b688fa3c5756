//! save_weights / load_weights by path, and the summary table.

use keen_nn::prelude::*;
use keen_tensor::{DType, Tensor};

fn mlp(hidden: usize) -> Sequential {
    Sequential::new()
        .add(Dense::new(hidden).activation(Activation::Relu))
        .add(Dense::new(2))
}

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "keen-saving-{name}-{}.safetensors",
        std::process::id()
    ))
}

#[test]
fn weights_round_trip_by_path() {
    let x = Tensor::random_uniform([4, 3], -1.0, 1.0, DType::Float32);
    let a = mlp(8);
    let ya = a.call(&x, false);
    let path = tmp("round-trip");
    a.save_weights(&path).unwrap();
    let saved = keen_tape::checkpoint::load_safetensors(&path).unwrap();
    let keys: Vec<&String> = saved.keys().collect();
    assert_eq!(
        keys,
        [
            "dense.bias",
            "dense.kernel",
            "dense_1.bias",
            "dense_1.kernel"
        ]
    );

    let b = mlp(8);
    b.call(&x, false); // builds with other random weights
    assert_ne!(b.call(&x, false).to_vec::<f32>(), ya.to_vec::<f32>());
    b.load_weights(&path).unwrap();
    assert_eq!(b.call(&x, false).to_vec::<f32>(), ya.to_vec::<f32>());
}

#[test]
fn a_file_that_does_not_fit_changes_nothing() {
    let x = Tensor::ones([1, 3], DType::Float32);
    let a = mlp(8);
    a.call(&x, false);
    let path = tmp("mismatch");
    a.save_weights(&path).unwrap();
    let b = mlp(5);
    let before = b.call(&x, false).to_vec::<f32>();
    let err = b.load_weights(&path).unwrap_err().to_string();
    assert!(
        err.contains("dense.kernel") || err.contains("dense.bias"),
        "{err}"
    );
    assert_eq!(b.call(&x, false).to_vec::<f32>(), before);
}

#[test]
fn unbuilt_models_and_corrupt_files_are_errors() {
    let err = mlp(4).save_weights(tmp("unbuilt")).unwrap_err().to_string();
    assert!(err.contains("no variables yet"), "{err}");
    let path = tmp("corrupt");
    std::fs::write(&path, b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":").unwrap();
    let m = mlp(4);
    m.call(&Tensor::ones([1, 3], DType::Float32), false);
    assert!(m.load_weights(&path).is_err());
}

#[test]
fn summary_lists_layers_shapes_and_params() {
    let m = Sequential::new()
        .add(Dense::new(32).activation(Activation::Relu))
        .add(Dropout::new(0.5))
        .add(Dense::new(1));
    let s = m.summary(&[8]);
    println!("{s}");
    assert!(s.contains("dense (Dense)"));
    assert!(s.contains("dropout (Dropout)"));
    assert!(s.contains("(None, 32)"));
    assert!(s.contains("Total params: 321"));
    assert!(s.contains("Trainable params: 321"));
    assert!(s.contains("Non-trainable params: 0"));
}
