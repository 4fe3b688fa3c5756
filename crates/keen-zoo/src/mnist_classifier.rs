//! A small convolutional MNIST classifier, and the score it gives generated digits.
//!
//! [`MnistClassifier`] is the classic Keras convnet: Conv 32 3×3 ReLU → MaxPool 2 → Conv 64 3×3
//! ReLU → MaxPool 2 → Flatten → Dropout 0.5 → Dense 10 (logits). It reads images
//! `(n, 28, 28, 1)` scaled to `[-1, 1]`, as the DCGAN's data and output, so it can judge what the
//! generator draws: [`DigitScore`] is the DCGAN's quality target (issue 7), measured on 1000
//! generated digits.
//!
//! ```
//! use keen_tensor::{DType, Tensor};
//! use keen_zoo::mnist_classifier::{DigitScore, MnistClassifier};
//!
//! let classifier = MnistClassifier::new(); // untrained: its answers are near uniform
//! let images = Tensor::random_uniform([20, 28, 28, 1], -1.0, 1.0, DType::Float32);
//! let score = DigitScore::of(&classifier, &images);
//! assert_eq!(score.images, 20);
//! println!("{score}");
//! ```

use crate::EpochTimes;
use keen_nn::fit::{Compiled, FitOptions, Verbosity};
use keen_nn::losses::SparseCategoricalCrossentropy;
use keen_nn::prelude::*;
use keen_optim::Adam;
use keen_tape::checkpoint::CheckpointError;
use keen_tensor::record::without_recording;
use keen_tensor::{DType, Tensor};
use std::fmt;
use std::path::Path;

/// Where `examples/mnist_classifier` saves the trained weights, relative to the working
/// directory (the DCGAN program looks there).
pub const DEFAULT_WEIGHTS: &str = "out/mnist_classifier/weights.safetensors";
/// The number of classes.
pub const CLASSES: usize = 10;
/// The batch size the example trains with.
pub const BATCH_SIZE: usize = 128;

/// Conv 32 3×3 ReLU → MaxPool 2 → Conv 64 3×3 ReLU → MaxPool 2 → Flatten → Dropout 0.5 →
/// Dense 10, all convolutions "valid" (28 → 26 → 13 → 11 → 5).
#[derive(Module)]
pub struct MnistClassifier {
    /// 28×28×1 → 26×26×32.
    pub conv1: Conv2d,
    /// 13×13×32 → 11×11×64.
    pub conv2: Conv2d,
    /// Before the classifier.
    pub dropout: Dropout,
    /// 5·5·64 features to 10 logits.
    pub fc: Dense,
}

impl Default for MnistClassifier {
    fn default() -> Self {
        Self::new()
    }
}

impl MnistClassifier {
    /// The model, built (drawn from the global seed), so that its weights can be loaded at once.
    pub fn new() -> Self {
        let m = MnistClassifier {
            conv1: Conv2d::new(32, 3).activation(Activation::Relu),
            conv2: Conv2d::new(64, 3).activation(Activation::Relu),
            dropout: Dropout::new(0.5),
            fc: Dense::new(CLASSES),
        };
        let _ = m.call(&Tensor::zeros([1, 28, 28, 1], DType::Float32), false);
        m
    }

    /// A model with the weights of `path` (written by `save_weights`, e.g. by
    /// `examples/mnist_classifier`).
    ///
    /// # Errors
    /// A missing or corrupt file, or one whose variables do not fit this model.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        let m = Self::new();
        m.load_weights(path)?;
        Ok(m)
    }

    /// Logits `(n, 10)` of images `(n, 28, 28, 1)` in `[-1, 1]`; `training` turns dropout on.
    #[track_caller]
    pub fn call(&self, images: &Tensor, training: bool) -> Tensor {
        let pool = MaxPooling2d::new(2);
        let x = pool.call(&self.conv1.call(images));
        let x = pool.call(&self.conv2.call(&x));
        let x = self.dropout.call(&Flatten::new().call(&x), training);
        self.fc.call(&x)
    }

    /// Class probabilities `(n, 10)` in inference mode, 500 images at a time (bounded memory).
    pub fn probabilities(&self, images: &Tensor) -> Tensor {
        let n = images.dim(0);
        let parts: Vec<Tensor> = without_recording(|| {
            (0..n.div_ceil(500))
                .map(|b| {
                    let r = b * 500..((b + 1) * 500).min(n);
                    self.call(&images.narrow(0, r.start, r.len()), false)
                        .softmax(-1)
                })
                .collect()
        });
        let refs: Vec<&Tensor> = parts.iter().collect();
        Tensor::concat(&refs, 0)
    }
}

impl Layer for MnistClassifier {
    fn forward(&self, x: &Tensor, training: bool) -> Tensor {
        self.call(x, training)
    }
    fn type_name(&self) -> &'static str {
        "mnist_classifier"
    }
}

/// `model` compiled for training: sparse cross-entropy on the logits, Adam, accuracy.
pub fn compile(model: MnistClassifier, learning_rate: f64) -> Compiled<MnistClassifier> {
    model
        .compile(
            Adam::new(learning_rate),
            SparseCategoricalCrossentropy::new().from_logits(true),
        )
        .metrics(["accuracy"])
}

/// What [`train`] measured.
pub struct Trained {
    /// The trained model.
    pub model: MnistClassifier,
    /// Accuracy on the test images after the last epoch.
    pub test_accuracy: f64,
    /// Training seconds per epoch.
    pub epoch_seconds: Vec<f64>,
}

/// Trains a fresh classifier (Adam 1e-3, batch 128) for `epochs` on `(images, labels)`
/// (`(n, 28, 28, 1)` in `[-1, 1]`, int64 labels `(n,)`), shuffled with `seed`, and measures its
/// accuracy on the test images.
pub fn train(
    train: (&Tensor, &Tensor),
    test: (&Tensor, &Tensor),
    epochs: usize,
    seed: u64,
    verbose: Verbosity,
) -> Trained {
    keen_tensor::ops::random::set_seed(seed);
    let mut model = compile(MnistClassifier::new(), 1e-3);
    let timer = EpochTimes::new();
    model.fit(
        train.0,
        train.1,
        FitOptions::new()
            .epochs(epochs)
            .batch_size(BATCH_SIZE)
            .seed(seed)
            .verbose(verbose)
            .callback(timer.clone()),
    );
    let epoch_seconds = timer.seconds();
    let test_accuracy = model.evaluate(test.0, test.1, 500)["accuracy"];
    Trained {
        model: model.into_model(),
        test_accuracy,
        epoch_seconds,
    }
}

/// The confidence a label needs to count (issue 7).
pub const CONFIDENCE: f32 = 0.9;
/// The targets of issue 7: at least this fraction of confident labels ...
pub const TARGET_CONFIDENT: f64 = 0.8;
/// ... and no class with more than this share of the predictions.
pub const TARGET_LARGEST_SHARE: f64 = 0.25;

/// How a trained classifier sees a set of generated digits (the DCGAN's quality target, scored
/// on 1000 images): the fraction it labels with confidence ≥ 0.9, and how its predicted classes
/// (the arg-max of every image, confident or not) spread over the ten digits.
#[derive(Clone, Debug, PartialEq)]
pub struct DigitScore {
    /// The number of images scored.
    pub images: usize,
    /// Images whose top class has probability ≥ [`CONFIDENCE`].
    pub confident: usize,
    /// Images predicted as each digit.
    pub counts: [usize; CLASSES],
}

impl DigitScore {
    /// Scores `images` `(n, 28, 28, 1)` in `[-1, 1]` with `classifier`.
    pub fn of(classifier: &MnistClassifier, images: &Tensor) -> Self {
        Self::from_probabilities(&classifier.probabilities(images))
    }

    /// Scores class probabilities `(n, 10)`.
    ///
    /// # Panics
    /// When `probs` is not `(n, 10)`.
    #[track_caller]
    pub fn from_probabilities(probs: &Tensor) -> Self {
        assert!(
            probs.rank() == 2 && probs.dim(1) == CLASSES,
            "DigitScore: probabilities must be (n, {CLASSES}), got {}",
            probs.shape()
        );
        let p = probs.cast(DType::Float32).to_vec::<f32>();
        let mut counts = [0; CLASSES];
        let mut confident = 0;
        for row in p.chunks(CLASSES) {
            let (class, &top) = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .expect("ten classes");
            counts[class] += 1;
            if top >= CONFIDENCE {
                confident += 1;
            }
        }
        DigitScore {
            images: p.len() / CLASSES,
            confident,
            counts,
        }
    }

    /// The fraction of images labelled with confidence ≥ 0.9.
    pub fn confident_fraction(&self) -> f64 {
        self.confident as f64 / self.images.max(1) as f64
    }

    /// How many of the ten digits are predicted at least once.
    pub fn classes_covered(&self) -> usize {
        self.counts.iter().filter(|&&c| c > 0).count()
    }

    /// The most predicted digit and its share of all predictions.
    pub fn largest_class(&self) -> (usize, f64) {
        let (d, &c) = self
            .counts
            .iter()
            .enumerate()
            .max_by_key(|&(d, c)| (*c, std::cmp::Reverse(d)))
            .expect("ten classes");
        (d, c as f64 / self.images.max(1) as f64)
    }

    /// Whether all three targets hold: ≥ 80% confident, all ten digits, no digit above 25%.
    pub fn passes(&self) -> bool {
        self.confident_fraction() >= TARGET_CONFIDENT
            && self.classes_covered() == CLASSES
            && self.largest_class().1 <= TARGET_LARGEST_SHARE
    }
}

impl fmt::Display for DigitScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = |ok: bool| if ok { "ok" } else { "MISSED" };
        let (digit, share) = self.largest_class();
        writeln!(
            f,
            "digit score of {} images ({}):",
            self.images,
            if self.passes() {
                "all targets met"
            } else {
                "targets missed"
            }
        )?;
        writeln!(
            f,
            "  confident (p >= {CONFIDENCE}): {:.1}% (target >= {:.0}%) {}",
            100.0 * self.confident_fraction(),
            100.0 * TARGET_CONFIDENT,
            mark(self.confident_fraction() >= TARGET_CONFIDENT)
        )?;
        writeln!(
            f,
            "  digits covered: {}/{CLASSES} {}",
            self.classes_covered(),
            mark(self.classes_covered() == CLASSES)
        )?;
        writeln!(
            f,
            "  largest class: {digit} with {:.1}% (target <= {:.0}%) {}",
            100.0 * share,
            100.0 * TARGET_LARGEST_SHARE,
            mark(share <= TARGET_LARGEST_SHARE)
        )?;
        write!(f, "  predicted per digit 0-9: {:?}", self.counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Probabilities with `top` on `class` and the rest spread evenly.
    fn row(class: usize, top: f32) -> Vec<f32> {
        (0..CLASSES)
            .map(|c| if c == class { top } else { (1.0 - top) / 9.0 })
            .collect()
    }

    fn score(rows: &[(usize, f32)]) -> DigitScore {
        let v: Vec<f32> = rows.iter().flat_map(|&(c, p)| row(c, p)).collect();
        DigitScore::from_probabilities(&Tensor::from_vec(v, [rows.len(), CLASSES]))
    }

    #[test]
    fn a_confident_even_spread_passes() {
        let rows: Vec<(usize, f32)> = (0..100)
            .map(|i| (i % 10, if i < 85 { 0.95 } else { 0.5 }))
            .collect();
        let s = score(&rows);
        assert_eq!((s.images, s.confident), (100, 85));
        assert_eq!(s.counts, [10; 10]);
        assert_eq!(s.classes_covered(), 10);
        assert!(s.passes(), "{s}");
        assert!(s.to_string().contains("all targets met"));
    }

    #[test]
    fn each_target_can_fail_on_its_own() {
        // 79% confident.
        let rows: Vec<(usize, f32)> = (0..100)
            .map(|i| (i % 10, if i < 79 { 0.95 } else { 0.5 }))
            .collect();
        let s = score(&rows);
        assert!(!s.passes());
        assert!(
            s.to_string().contains("79.0% (target >= 80%) MISSED"),
            "{s}"
        );
        // A digit never drawn.
        let rows: Vec<(usize, f32)> = (0..100).map(|i| (i % 9, 0.99)).collect();
        let s = score(&rows);
        assert_eq!(s.classes_covered(), 9);
        assert!(!s.passes());
        // One digit with 26%.
        let rows: Vec<(usize, f32)> = (0..100)
            .map(|i| (if i < 26 { 3 } else { i % 10 }, 0.99))
            .collect();
        let s = score(&rows);
        let (d, share) = s.largest_class();
        assert_eq!(d, 3);
        assert!(share > 0.25);
        assert!(!s.passes());
        // Exactly 0.9 counts as confident.
        assert_eq!(score(&[(1, 0.9)]).confident, 1);
    }

    #[test]
    fn classifier_shapes_and_weights_round_trip() {
        let m = MnistClassifier::new();
        let x = Tensor::random_uniform([3, 28, 28, 1], -1.0, 1.0, DType::Float32);
        assert_eq!(m.call(&x, true).dims(), [3, 10]);
        let p = m.probabilities(&x).to_vec::<f32>();
        for r in p.chunks(10) {
            assert!((r.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
        let names: Vec<String> = m.named_variables().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "conv1.kernel",
                "conv1.bias",
                "conv2.kernel",
                "conv2.bias",
                "fc.kernel",
                "fc.bias"
            ]
        );
        let dir = std::env::temp_dir().join(format!("keen-mnist-cls-{}", std::process::id()));
        let path = dir.join("w.safetensors");
        std::fs::create_dir_all(&dir).unwrap();
        m.save_weights(&path).unwrap();
        let loaded = MnistClassifier::load(&path).unwrap();
        assert_eq!(
            loaded.call(&x, false).to_vec::<f32>(),
            m.call(&x, false).to_vec::<f32>()
        );
        assert!(MnistClassifier::load(dir.join("absent.safetensors")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
