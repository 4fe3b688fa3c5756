//! MNIST classifier smoke tests: a few steps on 256 MNIST images when MNIST has been fetched,
//! else on tiny synthetic "digits" (so CI without data runs them too); and one `#[ignore]`d
//! test of the accuracy target on the real data.

use keen_data::datasets::{self, mnist, Split};
use keen_nn::fit::{FitOptions, Verbosity};
use keen_nn::losses::{Loss, SparseCategoricalCrossentropy};
use keen_nn::Module;
use keen_tape::GradientTape;
use keen_tensor::ops::random::set_seed;
use keen_tensor::Tensor;
use keen_zoo::mnist_classifier::{self, compile, DigitScore, MnistClassifier};

/// `n` images in [-1, 1]: class `c` is a bright horizontal bar at row `2 + 2c` (plus a little
/// shift per image), and labels `(n,)` int64.
fn synthetic(n: usize) -> (Tensor, Tensor) {
    let mut v = vec![-1.0f32; n * 28 * 28];
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 10;
        let row = 2 + 2 * c + (i / 10) % 2;
        for col in 4 + i % 3..22 + i % 3 {
            v[i * 784 + row * 28 + col] = 1.0;
        }
        labels.push(c as i64);
    }
    (
        Tensor::from_vec(v, [n, 28, 28, 1]),
        Tensor::from_vec(labels, [n]),
    )
}

fn images(n: usize) -> (Tensor, Tensor, &'static str) {
    if let Some(dir) = datasets::local("mnist") {
        let m = mnist::load_from(&dir, Split::Train).expect("a fetched MNIST loads");
        return (
            m.images_f32(-1.0, 1.0).narrow(0, 0, n),
            m.labels_i64().narrow(0, 0, n),
            "MNIST",
        );
    }
    let (x, y) = synthetic(n);
    (x, y, "synthetic")
}

#[test]
fn classifier_gets_every_gradient_and_learns() {
    let (x, y, source) = images(256);
    set_seed(5);
    let model = MnistClassifier::new();

    let tape = GradientTape::new();
    let logits = model.call(&x.narrow(0, 0, 32), true);
    let loss = SparseCategoricalCrossentropy::new()
        .from_logits(true)
        .call(&y.narrow(0, 0, 32), &logits);
    let vars = model.named_variables();
    let sources: Vec<_> = vars.iter().map(|(_, v)| v.clone()).collect();
    let grads = tape.gradient(&loss, &sources);
    assert_eq!(grads.len(), 6);
    for ((name, _), g) in vars.iter().zip(&grads) {
        let g = g
            .as_ref()
            .unwrap_or_else(|| panic!("{name} got no gradient"));
        let v = g.to_vec::<f32>();
        assert!(v.iter().all(|x| x.is_finite()), "{name}");
        assert!(v.iter().any(|&x| x != 0.0), "{name} is all zeros");
    }

    let mut model = compile(model, 1e-3);
    let history = model.fit(
        &x,
        &y,
        FitOptions::new()
            .epochs(4)
            .batch_size(32)
            .seed(5)
            .verbose(Verbosity::Silent),
    );
    let loss = history.get("loss").unwrap();
    assert!(loss.iter().all(|l| l.is_finite()), "{source}: {loss:?}");
    assert!(
        loss[loss.len() - 1] < 0.7 * loss[0],
        "{source}: the loss should fall: {loss:?}"
    );

    // The score reads the classifier's probabilities for any batch of images.
    let score = DigitScore::of(model.model(), &x.narrow(0, 0, 50));
    assert_eq!(score.images, 50);
    assert_eq!(score.counts.iter().sum::<usize>(), 50);
}

/// examples/mnist_classifier's default run: ≥ 98.5% test accuracy, and the score it gives real
/// test digits (which a good DCGAN's samples should approach) meets the DCGAN's targets.
#[test]
#[ignore = "needs data: bash data/fetch.sh mnist"]
fn real_mnist_classifier_reaches_98_5_percent() {
    let train = mnist::load(Split::Train).unwrap();
    let test = mnist::load(Split::Test).unwrap();
    let (x_test, y_test) = (test.images_f32(-1.0, 1.0), test.labels_i64());
    let t = mnist_classifier::train(
        (&train.images_f32(-1.0, 1.0), &train.labels_i64()),
        (&x_test, &y_test),
        3,
        1,
        Verbosity::Line,
    );
    println!("test accuracy {:.4}", t.test_accuracy);
    assert!(t.test_accuracy >= 0.985, "{}", t.test_accuracy);
    let score = DigitScore::of(&t.model, &x_test.narrow(0, 0, 1000));
    println!("{score}");
    assert!(score.passes(), "{score}");
}
