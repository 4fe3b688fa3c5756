//! `summary()` against Keras' own: the same models, built in keen, must show every row of
//! Keras' table (layer name and class, output shape, parameters, connections) and the same
//! totals. Fixtures: tests/fixtures/gen_summary.py.

use keen_nn::prelude::*;
use keen_tensor::DType;

/// The rows of a Keras summary (cells joined by one space) and its three total lines.
fn keras_rows(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with('│') || l.starts_with(" Total") || l.contains(" params: "))
        .map(|l| {
            l.split('│')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// keen's summary, one line per row with runs of spaces collapsed as `keras_rows` joins cells.
fn keen_rows(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[track_caller]
fn assert_same_rows(keras: &str, keen: &str) {
    let ours = keen_rows(keen);
    let rows = keras_rows(keras);
    assert!(rows.len() > 5, "the fixture has rows");
    for row in rows {
        assert!(
            ours.contains(&row),
            "Keras' row\n  {row}\nis missing from keen's summary:\n{keen}"
        );
    }
}

#[test]
fn sequential_summary_names_layers_as_keras() {
    let model = Sequential::new()
        .add(Conv2d::new(4, 3).padding(Padding::Same))
        .add(BatchNormalization::new())
        .add(LeakyRelu::new())
        .add(MaxPooling2d::new(2))
        .add(Conv2dTranspose::new(2, 2).strides(2))
        .add(UpSampling2d::new(2))
        .add(ZeroPadding2d::new(1))
        .add(Cropping2d::new(2))
        .add(AveragePooling2d::new(2))
        .add(SpatialDropout2d::new(0.1))
        .add(Activation::Relu)
        .add(LayerNormalization::new())
        .add(Flatten::new())
        .add(Dense::new(6))
        .add(Dropout::new(0.2))
        .add(Reshape::new(&[2, 3]))
        .add(Permute::new(&[2, 1]))
        .add(Lambda::new(|x| x.mul(2.0)))
        .add(Flatten::new())
        .add(RepeatVector::new(2));
    let text = model.summary(&[8, 8, 3]);
    assert_same_rows(include_str!("fixtures/summary/sequential.txt"), &text);
}

#[test]
fn functional_summary_names_layers_as_keras() {
    let text = Input::new(&[5]).dtype(DType::Int32);
    let image = Input::new(&[6, 6, 2]);
    let e = Embedding::new(20, 4).apply(&text);
    let g = Gru::new(3).return_sequences(true).apply(&e);
    let l = Lstm::new(3).return_sequences(true).apply(&g);
    let s = SimpleRnn::new(3).apply(&l);
    let b = Bidirectional::new(Gru::new(2)).apply(&e);
    let c = Conv2d::new(3, 3).apply(&image);
    let p = GlobalAveragePooling2d::new().apply(&c);
    let d = Dense::new(7).apply(&p);
    let h = Concatenate::new().apply(&[s, b]);
    let a = Add::new().apply(&[h, d.clone()]);
    let m = Multiply::new().apply(&[a, d]);
    let out = Dense::new(1).apply(&m);
    let model = Model::new(&[text, image], &[out]);
    let summary = model.summary();
    assert_same_rows(include_str!("fixtures/summary/functional.txt"), &summary);
    assert!(!summary.contains("(Gru)"), "{summary}");
}
