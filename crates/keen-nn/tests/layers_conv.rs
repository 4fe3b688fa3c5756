//! The convolution, pooling, normalisation and reshaping layers: each through the shared
//! harness, against Keras 3 fixtures (`fixtures/gen_layers_conv.py`), under float64
//! finite differences, and with the errors they promise.

mod common;

use common::{assert_close, gradcheck_layer, LayerTest};
use keen_nn::prelude::*;
use keen_tape::checkpoint::load_safetensors;
use keen_tape::GradientTape;
use keen_tensor::{DType, Tensor};
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn normal(dims: &[usize]) -> Tensor {
    Tensor::random_normal(dims, 0.0, 1.0, DType::Float32)
}

fn forward<L: Layer>(l: &L, xs: &[Tensor], training: bool) -> Tensor {
    l.forward(&xs[0], training)
}

// ---- the harness, layer by layer ----

#[test]
fn conv2d_harness() {
    LayerTest::new(normal(&[2, 6, 6, 3]))
        .output_shape(&[2, 3, 3, 4])
        .trainable(&["kernel", "bias"])
        .run(|| {
            Conv2d::new(4, 3)
                .strides(2)
                .padding(Padding::Same)
                .activation(Activation::Relu)
        });
    LayerTest::new(normal(&[2, 7, 6, 2]))
        .output_shape(&[2, 3, 4, 5])
        .trainable(&["kernel"])
        .run(|| Conv2d::new(5, [3, 2]).dilation_rate(2).use_bias(false));
}

#[test]
fn conv2d_transpose_harness() {
    LayerTest::new(normal(&[2, 3, 3, 4]))
        .output_shape(&[2, 6, 6, 2])
        .trainable(&["kernel", "bias"])
        .run(|| Conv2dTranspose::new(2, 3).strides(2).padding(Padding::Same));
    LayerTest::new(normal(&[1, 3, 3, 2]))
        .output_shape(&[1, 8, 8, 3])
        .trainable(&["kernel", "bias"])
        .run(|| Conv2dTranspose::new(3, 3).strides(2).output_padding(1));
}

#[test]
fn pooling_harness() {
    let x = normal(&[2, 5, 5, 3]);
    LayerTest::new(x.clone())
        .output_shape(&[2, 2, 2, 3])
        .run(|| MaxPooling2d::new(2));
    LayerTest::new(x.clone())
        .output_shape(&[2, 3, 3, 3])
        .run(|| MaxPooling2d::new(3).strides(2).padding(Padding::Same));
    LayerTest::new(x.clone())
        .output_shape(&[2, 5, 5, 3])
        .run(|| AveragePooling2d::new(3).strides(1).padding(Padding::Same));
    LayerTest::new(x.clone())
        .output_shape(&[2, 3])
        .run(GlobalAveragePooling2d::new);
    LayerTest::new(x.clone())
        .output_shape(&[2, 1, 1, 3])
        .run(|| GlobalAveragePooling2d::new().keepdims(true));
    LayerTest::new(x)
        .output_shape(&[2, 3])
        .run(GlobalMaxPooling2d::new);
    let seq = normal(&[2, 5, 3]);
    LayerTest::new(seq.clone())
        .output_shape(&[2, 3])
        .run(GlobalAveragePooling1d::new);
    LayerTest::new(seq.clone())
        .output_shape(&[2, 1, 3])
        .run(|| GlobalAveragePooling1d::new().keepdims(true));
    LayerTest::new(seq.clone())
        .output_shape(&[2, 3])
        .run(GlobalMaxPooling1d::new);
    LayerTest::new(seq)
        .output_shape(&[2, 5, 3])
        .run(|| Masking::new().mask_value(0.5));
}

#[test]
fn resampling_and_padding_harness() {
    let x = normal(&[2, 3, 4, 2]);
    LayerTest::new(x.clone())
        .output_shape(&[2, 6, 12, 2])
        .run(|| UpSampling2d::new([2, 3]));
    LayerTest::new(x.clone())
        .output_shape(&[2, 6, 8, 2])
        .run(|| UpSampling2d::new(2).interpolation(Interpolation::Bilinear));
    LayerTest::new(x.clone())
        .output_shape(&[2, 4, 7, 2])
        .run(|| ZeroPadding2d::new([[1, 0], [2, 1]]));
    LayerTest::new(x.clone())
        .output_shape(&[2, 5, 6, 2])
        .run(|| ZeroPadding2d::new(1));
    LayerTest::new(x)
        .output_shape(&[2, 2, 2, 2])
        .run(|| Cropping2d::new([[1, 0], [0, 2]]));
}

#[test]
fn normalization_harness() {
    LayerTest::new(normal(&[4, 3, 3, 2]))
        .output_shape(&[4, 3, 3, 2])
        .trainable(&["gamma", "beta"])
        .non_trainable(&["moving_mean", "moving_variance"])
        .run(BatchNormalization::new);
    LayerTest::new(normal(&[4, 3, 5]))
        .output_shape(&[4, 3, 5])
        .trainable(&["gamma"])
        .non_trainable(&["moving_mean", "moving_variance"])
        .run(|| BatchNormalization::new().axis(1).center(false));
    LayerTest::new(normal(&[2, 3, 8]))
        .output_shape(&[2, 3, 8])
        .trainable(&["gamma", "beta"])
        .run(LayerNormalization::new);
    LayerTest::new(normal(&[2, 3, 4]))
        .output_shape(&[2, 3, 4])
        .trainable(&["beta"])
        .run(|| LayerNormalization::new().axes(&[1, 2]).scale(false));
}

#[test]
fn embedding_harness() {
    let ids = Tensor::from([[1, 0, 4], [3, 3, 2]]);
    LayerTest::new(ids.clone())
        .output_shape(&[2, 3, 8])
        .trainable(&["embeddings"])
        .run(|| Embedding::new(5, 8));
    let e = Embedding::new(5, 8).mask_zero(true);
    assert_eq!(
        e.compute_mask(&ids).unwrap().to_vec::<bool>(),
        [true, false, true, true, true, true]
    );
    assert!(Embedding::new(5, 8).compute_mask(&ids).is_none());
    // Keras' default initializer: uniform on [-0.05, 0.05).
    let big = Embedding::new(100, 50);
    big.build();
    let v = big.embeddings().unwrap().value().to_vec::<f32>();
    assert!(v.iter().all(|x| (-0.05..0.05).contains(x)));
    assert!(v.iter().any(|x| *x > 0.04) && v.iter().any(|x| *x < -0.04));
}

#[test]
fn dropout_and_activation_harness() {
    LayerTest::new(normal(&[4, 3, 3, 8]))
        .output_shape(&[4, 3, 3, 8])
        .run(|| SpatialDropout2d::new(0.5));
    LayerTest::new(normal(&[4, 5, 8]))
        .output_shape(&[4, 5, 8])
        .run(|| SpatialDropout1d::new(0.5));
    LayerTest::new(normal(&[4, 3]))
        .output_shape(&[4, 3])
        .run(LeakyRelu::new);
    LayerTest::new(normal(&[4, 3]))
        .output_shape(&[4, 3])
        .run(|| Lambda::new(|x: &Tensor| x.mul(2.0).tanh()));
}

#[test]
fn spatial_dropout_is_identity_at_inference_and_scales_in_training() {
    let x = normal(&[2, 2, 2, 64]);
    let d = SpatialDropout2d::new(0.25);
    assert_eq!(d.call(&x, false).to_vec::<f32>(), x.to_vec::<f32>());
    let y = d.call(&x, true);
    let (xv, yv) = (x.to_vec::<f32>(), y.to_vec::<f32>());
    for (a, b) in xv.iter().zip(&yv) {
        assert!(*b == 0.0 || (b - a / 0.75).abs() < 1e-6);
    }
}

/// Each (sequence, feature) is dropped at every step or at none, about `rate` of them, and the
/// rest scaled by 1 / (1 − rate).
#[test]
fn spatial_dropout_1d_drops_features_for_the_whole_sequence() {
    let x = Tensor::ones([64, 5, 32], DType::Float32);
    let d = SpatialDropout1d::new(0.25);
    assert_eq!(d.call(&x, false).to_vec::<f32>(), x.to_vec::<f32>());
    let y = d.call(&x, true).to_vec::<f32>();
    let mut dropped = 0;
    for (b, f) in (0..64).flat_map(|b| (0..32).map(move |f| (b, f))) {
        let steps: Vec<f32> = (0..5).map(|t| y[(b * 5 + t) * 32 + f]).collect();
        assert!(steps.iter().all(|v| *v == steps[0]), "mixed: {steps:?}");
        assert!(steps[0] == 0.0 || (steps[0] - 1.0 / 0.75).abs() < 1e-6);
        dropped += usize::from(steps[0] == 0.0);
    }
    // 2048 draws at p = 0.25: mean 512, standard deviation ~20.
    assert!((412..612).contains(&dropped), "{dropped} of 2048 dropped");
}

#[test]
#[should_panic(
    expected = "SpatialDropout1d: expects rank-3 (batch, steps, features) input, got shape (2, 4, 4, 3)"
)]
fn spatial_dropout_1d_rejects_images() {
    let _ = SpatialDropout1d::new(0.5).call(&normal(&[2, 4, 4, 3]), true);
}

#[test]
fn reshaping_harness() {
    LayerTest::new(normal(&[2, 3, 2, 2]))
        .output_shape(&[2, 12])
        .run(Flatten::new);
    LayerTest::new(normal(&[2, 3, 4]))
        .output_shape(&[2, 6, 2])
        .run(|| Reshape::new(&[-1, 2]));
    LayerTest::new(normal(&[2, 3, 4, 5]))
        .output_shape(&[2, 5, 3, 4])
        .run(|| Permute::new(&[3, 1, 2]));
    LayerTest::new(normal(&[2, 4]))
        .output_shape(&[2, 3, 4])
        .run(|| RepeatVector::new(3));
}

#[test]
fn merge_harness() {
    let two = vec![normal(&[2, 3]), normal(&[2, 3])];
    LayerTest::inputs(two.clone())
        .output_shape(&[2, 6])
        .run_with(Concatenate::new, |l, xs, _| l.call(xs));
    LayerTest::inputs(vec![normal(&[2, 2, 3]), normal(&[2, 1, 3])])
        .output_shape(&[2, 3, 3])
        .run_with(|| Concatenate::new().axis(1), |l, xs, _| l.call(xs));
    LayerTest::inputs(two.clone())
        .output_shape(&[2, 3])
        .run_with(Add::new, |l, xs, _| l.call(xs));
    LayerTest::inputs(two)
        .output_shape(&[2, 3])
        .run_with(Multiply::new, |l, xs, _| l.call(xs));
}

#[test]
fn layers_stack_in_sequential() {
    let model = Sequential::new()
        .add(Conv2d::new(4, 3).padding(Padding::Same))
        .add(BatchNormalization::new())
        .add(LeakyRelu::new())
        .add(MaxPooling2d::new(2))
        .add(Conv2dTranspose::new(2, 2).strides(2))
        .add(Flatten::new());
    let y = model.call(&normal(&[2, 8, 8, 1]), true);
    assert_eq!(y.dims(), [2, 128]);
    let names: Vec<String> = model
        .named_variables()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        names,
        [
            "conv2d.kernel",
            "conv2d.bias",
            "batch_normalization.gamma",
            "batch_normalization.beta",
            "batch_normalization.moving_mean",
            "batch_normalization.moving_variance",
            "conv2d_transpose.kernel",
            "conv2d_transpose.bias",
        ]
    );
}

// ---- float64 finite differences ----

fn normal64(dims: &[usize]) -> Tensor {
    Tensor::random_normal(dims, 0.0, 1.0, DType::Float64)
}

#[test]
fn conv_layers_gradcheck() {
    gradcheck_layer(
        || Conv2d::new(2, 3).strides(2).padding(Padding::Same),
        forward,
        &[normal64(&[1, 5, 4, 2])],
        false,
    );
    gradcheck_layer(
        || {
            Conv2d::new(2, 2)
                .dilation_rate(2)
                .activation(Activation::Tanh)
        },
        forward,
        &[normal64(&[1, 5, 5, 2])],
        false,
    );
    gradcheck_layer(
        || Conv2dTranspose::new(2, 3).strides(2).padding(Padding::Same),
        forward,
        &[normal64(&[1, 3, 2, 2])],
        false,
    );
}

#[test]
fn normalization_gradcheck() {
    let x = normal64(&[3, 2, 2, 3]);
    gradcheck_layer(
        BatchNormalization::new,
        forward,
        std::slice::from_ref(&x),
        true,
    );
    gradcheck_layer(
        BatchNormalization::new,
        forward,
        std::slice::from_ref(&x),
        false,
    );
    gradcheck_layer(
        LayerNormalization::new,
        forward,
        std::slice::from_ref(&x),
        false,
    );
    gradcheck_layer(
        || LayerNormalization::new().axes(&[1, 2]),
        forward,
        &[x],
        false,
    );
    // Batch statistics over the real steps of a sequence batch.
    let real = Tensor::from_vec(
        vec![true, true, false, true, false, true, true, true],
        [2, 4],
    );
    gradcheck_layer(
        BatchNormalization::new,
        |l: &BatchNormalization, xs: &[Tensor], training| {
            l.call_masked(&xs[0], training, Some(&real))
        },
        &[normal64(&[2, 4, 3])],
        true,
    );
}

/// The fused ops split rows into parallel tasks (with a remainder here) and must agree with the
/// composed ops in both modes: outputs, gradients and moving statistics alike.
#[test]
fn fused_batch_norm_matches_the_composed_ops() {
    for dims in [vec![37, 1000], vec![20, 30, 30, 8], vec![1, 3]] {
        let x = Tensor::random_normal(dims.as_slice(), 0.5, 2.0, DType::Float64);
        let cot = Tensor::random_normal(dims.as_slice(), 0.0, 1.0, DType::Float64);
        let run = |bn: &BatchNormalization| {
            let _ = bn.call(&x, false);
            for (_, v) in bn.named_variables() {
                let n = v.shape().numel();
                let vals: Vec<f64> = (0..n).map(|i| 0.5 + (i % 7) as f64 * 0.1).collect();
                v.assign(&Tensor::from_vec(vals, v.shape()));
            }
            let tape = GradientTape::persistent();
            tape.watch(&x);
            let y = bn.call(&x, true);
            let loss = y.mul(&cot).sum_all();
            let mut out = vec![y];
            out.extend(tape.gradient(&loss, &[&x]).into_iter().flatten());
            out.extend(
                tape.gradient(&loss, &bn.trainable_variables())
                    .into_iter()
                    .flatten(),
            );
            out.extend(bn.non_trainable_variables().iter().map(|v| v.value()));
            // Inference, with the moving statistics the training call just updated (and the
            // first tape gone, or it would record this one's backward pass).
            drop(tape);
            let tape = GradientTape::persistent();
            tape.watch(&x);
            let y = bn.call(&x, false);
            let loss = y.mul(&cot).sum_all();
            out.extend(tape.gradient(&loss, &[&x]).into_iter().flatten());
            out.extend(
                tape.gradient(&loss, &bn.trainable_variables())
                    .into_iter()
                    .flatten(),
            );
            out.push(y);
            out
        };
        let fused = run(&BatchNormalization::new());
        let composed = run(&BatchNormalization::new().fused(false));
        assert_eq!(fused.len(), 10);
        for (i, (f, c)) in fused.iter().zip(&composed).enumerate() {
            assert_close(&format!("{dims:?} result {i}"), f, c, 1e-9, 1e-9);
        }
    }
}

/// The fused op's gradient is raw kernels: differentiating it again is the tape's error naming
/// `batch_norm_grad`, and the composed ops (`fused(false)`) give a second order.
#[test]
fn batch_norm_second_order_needs_the_composed_ops() {
    use keen_tape::gradcheck::gradgradcheck;
    let x = normal64(&[4, 3]);
    for training in [true, false] {
        let fused = BatchNormalization::new();
        let err = gradgradcheck(
            &|t: &[Tensor]| fused.call(&t[0], training).square(),
            std::slice::from_ref(&x),
        )
        .expect_err("the fused rule's results cannot be differentiated");
        assert!(err.to_string().contains("batch_norm_grad"), "{err}");
        let composed = BatchNormalization::new().fused(false);
        gradgradcheck(
            &|t: &[Tensor]| composed.call(&t[0], training).square(),
            std::slice::from_ref(&x),
        )
        .unwrap();
    }
}

/// A GAN step keeps the generator's and the discriminator's tapes alive together: the second
/// tape records the first one's backward pass through the fused batch norm, which must work
/// (only differentiating *through* that pass is refused).
#[test]
fn fused_batch_norm_under_two_live_tapes() {
    let generator = Sequential::new()
        .add(Dense::new(8))
        .add(BatchNormalization::new())
        .add(LeakyRelu::new());
    let disc = Sequential::new().add(Dense::new(1));
    let z = normal(&[16, 4]);
    let _ = disc.call(&generator.call(&z, true), true);
    let gen_tape = GradientTape::new();
    let disc_tape = GradientTape::new();
    let fake = generator.call(&z, true);
    let logits = disc.call(&fake, true);
    let gen_loss = logits.neg().sum_all();
    let disc_loss = logits.sum_all();
    let gg = gen_tape.gradient(&gen_loss, &generator.trainable_variables());
    let dg = disc_tape.gradient(&disc_loss, &disc.trainable_variables());
    assert!(gg.iter().chain(&dg).all(Option::is_some));
}

#[test]
fn resampling_gradcheck() {
    let x = normal64(&[1, 4, 5, 2]);
    gradcheck_layer(
        || UpSampling2d::new(2).interpolation(Interpolation::Bilinear),
        forward,
        std::slice::from_ref(&x),
        false,
    );
    gradcheck_layer(
        || AveragePooling2d::new(3).strides(2).padding(Padding::Same),
        forward,
        std::slice::from_ref(&x),
        false,
    );
    gradcheck_layer(|| Cropping2d::new(1), forward, &[x], false);
}

#[test]
fn global_pooling_and_masking_gradcheck() {
    let x = normal64(&[2, 3, 4, 2]);
    gradcheck_layer(GlobalMaxPooling2d::new, forward, &[x], false);
    let seq = normal64(&[2, 5, 3]);
    gradcheck_layer(
        GlobalMaxPooling1d::new,
        forward,
        std::slice::from_ref(&seq),
        false,
    );
    // Steps 1 of row 0 and 3.. of row 1 are padding.
    let real = Tensor::from_vec(
        vec![
            true, false, true, true, true, true, true, true, false, false,
        ],
        [2, 5],
    );
    gradcheck_layer(
        GlobalAveragePooling1d::new,
        |l: &GlobalAveragePooling1d, xs: &[Tensor], _| l.call_masked(&xs[0], Some(&real)),
        std::slice::from_ref(&seq),
        false,
    );
    // Nudging a padding value makes its step real, a jump no finite difference can follow: the
    // gradient at padding (zero) is held to Keras' by `keras_masking` instead.
    gradcheck_layer(Masking::new, forward, &[seq], false);
}

/// The mean over the real steps only, the padding's values and gradient left out; and the
/// mask as Masking makes it.
#[test]
fn masked_global_average_pooling_1d_skips_the_padding() {
    let x = Tensor::from_vec(
        vec![
            1.0f64, 10.0, 3.0, 30.0, 100.0, 100.0, 2.0, 4.0, 0.0, 0.0, 6.0, 8.0,
        ],
        [2, 3, 2],
    );
    let real = Tensor::from_vec(vec![true, true, false, true, false, true], [2, 3]);
    let pool = GlobalAveragePooling1d::new();
    assert_eq!(
        pool.call_masked(&x, Some(&real)).to_vec::<f64>(),
        [2.0, 20.0, 4.0, 6.0]
    );
    assert_eq!(
        pool.call(&x).to_vec::<f64>()[..2],
        [104.0 / 3.0, 140.0 / 3.0]
    );
    let tape = GradientTape::new();
    tape.watch(&x);
    let y = pool.call_masked(&x, Some(&real)).sum_all();
    let g = tape.gradient(&y, &[&x]).remove(0).expect("a gradient");
    assert_eq!(
        g.to_vec::<f64>(),
        [0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0, 0.5, 0.5]
    );
    let mask = Masking::new().compute_mask(&x);
    assert_eq!(mask.to_vec::<bool>(), [true, true, true, true, false, true]);
}

// ---- errors ----

#[test]
#[should_panic(
    expected = "GlobalAveragePooling1d: expects rank-3 (batch, steps, features) input, got shape (2, 5)"
)]
fn global_average_pooling_1d_rejects_rank_2() {
    let _ = GlobalAveragePooling1d::new().call(&normal(&[2, 5]));
}

#[test]
#[should_panic(
    expected = "GlobalAveragePooling1d: mask shape (2, 4) does not match input shape (2, 5, 3)"
)]
fn global_average_pooling_1d_names_a_mismatched_mask() {
    let mask = Tensor::from_vec(vec![true; 8], [2, 4]);
    let _ = GlobalAveragePooling1d::new().call_masked(&normal(&[2, 5, 3]), Some(&mask));
}

#[test]
#[should_panic(
    expected = "BatchNormalization: mask shape (2, 4) does not match input shape (2, 5, 3)"
)]
fn batch_norm_names_a_mismatched_mask() {
    let mask = Tensor::from_vec(vec![true; 8], [2, 4]);
    let _ = BatchNormalization::new().call_masked(&normal(&[2, 5, 3]), true, Some(&mask));
}

#[test]
#[should_panic(
    expected = "Masking: expects input of rank ≥ 2 (batch, …, features), got shape (4,)"
)]
fn masking_rejects_rank_1() {
    let _ = Masking::new().call(&normal(&[4]));
}

#[test]
#[should_panic(
    expected = "Conv2d `enc.conv1`: built for input shape (None, None, None, 3), got (2, 5, 5, 4)"
)]
fn conv2d_called_with_other_channels_names_layer_and_shapes() {
    let conv = Conv2d::new(8, 3).name("enc.conv1");
    let _ = conv.call(&normal(&[2, 5, 5, 3]));
    let _ = conv.call(&normal(&[2, 5, 5, 4]));
}

#[test]
#[should_panic(
    expected = "Conv2dTranspose: built for input shape (None, None, None, 3), got (1, 4, 4, 2)"
)]
fn conv2d_transpose_called_with_other_channels() {
    let up = Conv2dTranspose::new(8, 3);
    let _ = up.call(&normal(&[1, 4, 4, 3]));
    let _ = up.call(&normal(&[1, 4, 4, 2]));
}

#[test]
#[should_panic(expected = "Conv2d: expects rank-4 NHWC input, got shape (64, 28, 28)")]
fn conv2d_rejects_rank_3() {
    let _ = Conv2d::new(8, 3).call(&normal(&[64, 28, 28]));
}

#[test]
#[should_panic(
    expected = "BatchNormalization: built for input shape (None, None, None, 3), got (2, 5, 5, 4)"
)]
fn batch_norm_called_with_other_features() {
    let bn = BatchNormalization::new();
    let _ = bn.call(&normal(&[2, 5, 5, 3]), true);
    let _ = bn.call(&normal(&[2, 5, 5, 4]), false);
}

#[test]
#[should_panic(
    expected = "LayerNormalization: built for input shape (None, None, 16), got (2, 5, 8)"
)]
fn layer_norm_called_with_other_features() {
    let ln = LayerNormalization::new();
    let _ = ln.call(&normal(&[2, 5, 16]));
    let _ = ln.call(&normal(&[2, 5, 8]));
}

#[test]
#[should_panic(expected = "Permute: dims must be a permutation of 1..=3, got [1, 1, 3]")]
fn permute_rejects_non_permutations() {
    let _ = Permute::new(&[1, 1, 3]);
}

#[test]
#[should_panic(
    expected = "RepeatVector: expects rank-2 inputs (batch, features), got shape (2, 3, 4)"
)]
fn repeat_vector_rejects_rank_3() {
    let _ = RepeatVector::new(2).call(&normal(&[2, 3, 4]));
}

#[test]
#[should_panic(
    expected = "Cropping2d: cropping [[2, 2], [0, 0]] leaves nothing of input shape (1, 4, 4, 1)"
)]
fn cropping_everything_is_an_error() {
    let _ = Cropping2d::new([[2, 2], [0, 0]]).call(&normal(&[1, 4, 4, 1]));
}

#[test]
#[should_panic(expected = "Add: expects at least 1 input, got 0")]
fn add_needs_an_input() {
    let _ = Add::new().call(&[]);
}

// ---- Keras fixtures ----

fn fixtures() -> &'static BTreeMap<String, Tensor> {
    static F: OnceLock<BTreeMap<String, Tensor>> = OnceLock::new();
    F.get_or_init(|| {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/layers_conv.safetensors"
        );
        load_safetensors(p).expect("fixture file (regenerate with gen_layers_conv.py)")
    })
}

fn fx(key: &str) -> Tensor {
    fixtures()
        .get(key)
        .unwrap_or_else(|| panic!("fixture `{key}` is missing"))
        .clone()
}

/// The fixture keys under `prefix/` (one level), without the prefix.
fn names_under(prefix: &str) -> Vec<String> {
    let p = format!("{prefix}/");
    fixtures()
        .keys()
        .filter_map(|k| k.strip_prefix(&p))
        .filter(|k| !k.contains('/'))
        .map(str::to_string)
        .collect()
}

/// Loads case `case`'s inputs and weights into `layer` (in `dtype`), then checks the output,
/// the gradients of `sum(y * cot)` with respect to the float inputs and each trainable
/// variable, and (in training) every variable afterwards, against Keras.
fn check_against_keras<L: Module>(
    case: &str,
    layer: L,
    call: impl Fn(&L, &[Tensor], bool) -> Tensor,
    dtype: DType,
) {
    let (rtol, atol) = match dtype {
        DType::Float64 => (1e-5, 1e-9),
        _ => (1e-4, 1e-5),
    };
    let cast = |t: Tensor| {
        if t.dtype() == DType::Float64 {
            t.cast(dtype)
        } else {
            t
        }
    };
    let mut inputs = Vec::new();
    let int_input = fixtures().contains_key(&format!("{case}/ids"));
    if int_input {
        inputs.push(fx(&format!("{case}/ids")));
    } else {
        inputs.push(cast(fx(&format!("{case}/x"))));
        for i in 1.. {
            match fixtures().get(&format!("{case}/x{i}")) {
                Some(t) => inputs.push(cast(t.clone())),
                None => break,
            }
        }
    }
    let _ = call(&layer, &inputs, false); // builds
    let named = layer.named_variables();
    let mut paths: Vec<String> = named.iter().map(|(p, _)| p.clone()).collect();
    paths.sort();
    assert_eq!(
        paths,
        names_under(&format!("{case}/w")),
        "{case}: variables"
    );
    for (p, v) in &named {
        v.assign(&cast(fx(&format!("{case}/w/{p}"))));
    }
    let cot = cast(fx(&format!("{case}/cot")));
    let modes: &[bool] = if fixtures().contains_key(&format!("{case}/train/y")) {
        &[false, true]
    } else {
        &[false]
    };
    for &training in modes {
        let pre = if training {
            format!("{case}/train")
        } else {
            case.to_string()
        };
        let tape = GradientTape::persistent();
        let float_inputs: Vec<Tensor> = if int_input { vec![] } else { inputs.clone() };
        for x in &float_inputs {
            tape.watch(x);
        }
        let y = call(&layer, &inputs, training);
        assert_close(
            &format!("{pre}: output"),
            &y,
            &cast(fx(&format!("{pre}/y"))),
            rtol,
            atol,
        );
        let loss = y.mul(&cot).sum_all();
        let gx = tape.gradient(&loss, &float_inputs);
        for (i, g) in gx.iter().enumerate() {
            let key = if i == 0 {
                format!("{pre}/gx")
            } else {
                format!("{pre}/gx{i}")
            };
            let g = g.as_ref().unwrap_or_else(|| panic!("{key}: no gradient"));
            assert_close(&key, g, &cast(fx(&key)), rtol, atol);
        }
        let trainable: Vec<(String, keen_tape::Variable)> = named
            .iter()
            .filter(|(_, v)| v.trainable())
            .cloned()
            .collect();
        let vars: Vec<keen_tape::Variable> = trainable.iter().map(|(_, v)| v.clone()).collect();
        let gw = tape.gradient(&loss, &vars);
        let mut want = names_under(&format!("{pre}/gw"));
        let mut got: Vec<String> = trainable.iter().map(|(p, _)| p.clone()).collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{pre}: trainable variables");
        for ((p, _), g) in trainable.iter().zip(&gw) {
            let key = format!("{pre}/gw/{p}");
            let g = g.as_ref().unwrap_or_else(|| panic!("{key}: no gradient"));
            assert_close(&key, g, &cast(fx(&key)), rtol, atol);
        }
        if training {
            for (p, v) in &named {
                let key = format!("{pre}/w/{p}");
                assert_close(&key, &v.value(), &cast(fx(&key)), rtol, atol);
            }
        }
    }
}

/// Runs a fixture case in float64 (Keras' own precision) and float32.
macro_rules! keras_case {
    ($test:ident, $case:literal, $make:expr) => {
        keras_case!($test, $case, $make, forward);
    };
    ($test:ident, $case:literal, $make:expr, $call:expr) => {
        #[test]
        fn $test() {
            for dtype in [DType::Float64, DType::Float32] {
                check_against_keras($case, $make, $call, dtype);
            }
        }
    };
}

fn merge<L, F: Fn(&L, &[Tensor]) -> Tensor>(f: F) -> impl Fn(&L, &[Tensor], bool) -> Tensor {
    move |l, xs, _| f(l, xs)
}

keras_case!(
    keras_conv2d_same,
    "conv2d_same",
    Conv2d::new(4, 3).padding(Padding::Same)
);
keras_case!(
    keras_conv2d_s2_same,
    "conv2d_s2_same",
    Conv2d::new(3, 3).strides(2).padding(Padding::Same)
);
keras_case!(
    keras_conv2d_valid_dil2,
    "conv2d_valid_dil2",
    Conv2d::new(2, [3, 2]).dilation_rate(2)
);
keras_case!(
    keras_conv2d_relu_nobias,
    "conv2d_relu_nobias",
    Conv2d::new(3, 2)
        .activation(Activation::Relu)
        .use_bias(false)
);
keras_case!(
    keras_conv2d_transpose_same,
    "conv2d_transpose_same",
    Conv2dTranspose::new(2, 3).strides(2).padding(Padding::Same)
);
keras_case!(
    keras_conv2d_transpose_valid,
    "conv2d_transpose_valid",
    Conv2dTranspose::new(3, [3, 2]).strides([2, 1])
);
keras_case!(
    keras_conv2d_transpose_outpad,
    "conv2d_transpose_outpad",
    Conv2dTranspose::new(2, 3).strides(2).output_padding(1)
);
keras_case!(
    keras_conv2d_k4_s2_same,
    "conv2d_k4_s2_same",
    Conv2d::new(2, 4).strides(2).padding(Padding::Same)
);
keras_case!(
    keras_conv2d_transpose_k4_s2_same,
    "conv2d_transpose_k4_s2_same",
    Conv2dTranspose::new(2, 4).strides(2).padding(Padding::Same)
);
keras_case!(
    keras_conv2d_transpose_k5_s2_same,
    "conv2d_transpose_k5_s2_same",
    Conv2dTranspose::new(2, 5).strides(2).padding(Padding::Same)
);
keras_case!(
    keras_conv2d_transpose_dil2_same,
    "conv2d_transpose_dil2_same",
    Conv2dTranspose::new(3, 3)
        .dilation_rate(2)
        .padding(Padding::Same)
);
keras_case!(
    keras_conv2d_transpose_dil2_valid,
    "conv2d_transpose_dil2_valid",
    Conv2dTranspose::new(2, [3, 2]).dilation_rate([2, 1])
);
keras_case!(keras_max_pool, "max_pool", MaxPooling2d::new(2));
keras_case!(
    keras_max_pool_same,
    "max_pool_same",
    MaxPooling2d::new(3).strides(2).padding(Padding::Same)
);
keras_case!(keras_avg_pool, "avg_pool", AveragePooling2d::new(2));
keras_case!(
    keras_avg_pool_same,
    "avg_pool_same",
    AveragePooling2d::new(3).strides(1).padding(Padding::Same)
);
keras_case!(
    keras_global_avg_pool,
    "global_avg_pool",
    GlobalAveragePooling2d::new()
);
keras_case!(
    keras_global_avg_pool_keepdims,
    "global_avg_pool_keepdims",
    GlobalAveragePooling2d::new().keepdims(true)
);
keras_case!(
    keras_global_max_pool,
    "global_max_pool",
    GlobalMaxPooling2d::new()
);
keras_case!(
    keras_global_avg_pool1d,
    "global_avg_pool1d",
    GlobalAveragePooling1d::new()
);
keras_case!(
    keras_global_avg_pool1d_keepdims,
    "global_avg_pool1d_keepdims",
    GlobalAveragePooling1d::new().keepdims(true)
);
keras_case!(
    keras_global_max_pool1d,
    "global_max_pool1d",
    GlobalMaxPooling1d::new()
);
keras_case!(keras_masking, "masking", Masking::new());
keras_case!(
    keras_upsampling_nearest,
    "upsampling_nearest",
    UpSampling2d::new([2, 3])
);
keras_case!(
    keras_upsampling_bilinear,
    "upsampling_bilinear",
    UpSampling2d::new(2).interpolation(Interpolation::Bilinear)
);
keras_case!(
    keras_zero_padding,
    "zero_padding",
    ZeroPadding2d::new([[1, 0], [2, 1]])
);
keras_case!(
    keras_cropping,
    "cropping",
    Cropping2d::new([[1, 0], [0, 2]])
);
keras_case!(keras_batch_norm, "batch_norm", BatchNormalization::new());
keras_case!(
    keras_batch_norm_composed,
    "batch_norm",
    BatchNormalization::new().fused(false)
);
keras_case!(
    keras_batch_norm_axis1,
    "batch_norm_axis1",
    BatchNormalization::new().axis(1).center(false)
);
keras_case!(keras_layer_norm, "layer_norm", LayerNormalization::new());
keras_case!(
    keras_layer_norm_axes,
    "layer_norm_axes",
    LayerNormalization::new().axes(&[1, 2]).scale(false)
);
#[test]
fn keras_embedding() {
    for dtype in [DType::Float64, DType::Float32] {
        check_against_keras(
            "embedding",
            Embedding::new(6, 4).dtype(dtype),
            forward,
            dtype,
        );
    }
}
keras_case!(keras_flatten, "flatten", Flatten::new());
keras_case!(keras_reshape, "reshape", Reshape::new(&[-1, 2]));
keras_case!(keras_permute, "permute", Permute::new(&[3, 1, 2]));
keras_case!(keras_repeat_vector, "repeat_vector", RepeatVector::new(3));
keras_case!(
    keras_concatenate,
    "concatenate",
    Concatenate::new().axis(1),
    merge(|l: &Concatenate, xs| l.call(xs))
);
keras_case!(
    keras_add,
    "add",
    Add::new(),
    merge(|l: &Add, xs| l.call(xs))
);
keras_case!(
    keras_multiply,
    "multiply",
    Multiply::new(),
    merge(|l: &Multiply, xs| l.call(xs))
);
keras_case!(keras_leaky_relu, "leaky_relu", LeakyRelu::new());

// ---- odds and ends ----

#[test]
#[should_panic(expected = "Embedding `users`: gather: index 7 is out of bounds")]
fn embedding_ids_out_of_range_name_the_layer() {
    let _ = Embedding::new(6, 4)
        .name("users")
        .call(&Tensor::from([1, 7]));
}

#[test]
fn lambda_of_several_inputs() {
    let dot = Lambda::many(|xs: &[Tensor]| xs[0].mul(&xs[1]).sum(&[-1], true));
    let (a, b) = (Tensor::from([[1.0f32, 2.0]]), Tensor::from([[3.0f32, 4.0]]));
    assert_eq!(dot.call_many(&[a.clone(), b]).to_vec::<f32>(), [11.0]);
    // A one-input function also serves `call_many` with one input.
    let double = Lambda::new(|x: &Tensor| x.mul(2.0));
    assert_eq!(
        double.call_many(std::slice::from_ref(&a)).to_vec::<f32>(),
        [2.0, 4.0]
    );
}

#[test]
#[should_panic(expected = "Lambda: a one-input function was called with 2 inputs")]
fn lambda_of_one_input_refuses_two() {
    let x = Tensor::from([1.0f32]);
    let _ = Lambda::new(|x: &Tensor| x.clone()).call_many(&[x.clone(), x]);
}

/// RepeatVector returns a broadcast view; the layers after it must read it correctly (the
/// seq2seq "repeat the encoding, decode with a GRU" pattern), and gradients must sum back.
#[test]
fn repeat_vector_view_feeds_dense_and_gru() {
    let x = normal(&[2, 4]);
    let rep = RepeatVector::new(3).call(&x);
    let dense = Dense::new(5);
    let y = dense.call(&rep);
    assert_eq!(y.dims(), [2, 3, 5]);
    let y0 = dense.call(&x);
    let (yv, y0v) = (y.to_vec::<f32>(), y0.to_vec::<f32>());
    for b in 0..2 {
        for t in 0..3 {
            for u in 0..5 {
                assert!((yv[b * 15 + t * 5 + u] - y0v[b * 5 + u]).abs() < 1e-6);
            }
        }
    }
    let gru = Gru::new(6).return_sequences(true);
    assert_eq!(gru.call(&rep).dims(), [2, 3, 6]);
    let tape = GradientTape::new();
    tape.watch(&x);
    let loss = dense.call(&RepeatVector::new(3).call(&x)).sum_all();
    let g = tape.gradient(&loss, &[&x])[0].clone().unwrap();
    // d/dx of three identical copies: three times the kernel's row sums.
    let k = dense.kernel().unwrap().value().sum(&[1], false).mul(3.0);
    let want = k.expand_dims(0).broadcast_to([2, 4]);
    assert_close("repeat_vector gradient", &g, &want, 1e-5, 1e-6);
}

#[test]
#[should_panic(
    expected = "Conv2dTranspose `up`: strides > 1 are not supported with dilation_rate > 1 (as in Keras), got strides (2, 2) and dilation_rate (2, 1)"
)]
fn conv2d_transpose_refuses_stride_with_dilation_as_keras() {
    let _ = Conv2dTranspose::new(4, 3)
        .name("up")
        .strides(2)
        .dilation_rate([2, 1]);
}

#[test]
#[should_panic(
    expected = "Conv2dTranspose: strides > 1 are not supported with dilation_rate > 1 (as in Keras), got strides (1, 2) and dilation_rate (2, 2)"
)]
fn conv2d_transpose_refuses_dilation_then_stride() {
    let _ = Conv2dTranspose::new(4, 3).dilation_rate(2).strides([1, 2]);
}
