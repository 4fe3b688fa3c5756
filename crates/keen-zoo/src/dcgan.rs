//! DCGAN generating MNIST digits, after the R post "Generating images with Keras and eager
//! execution" (TensorFlow for R blog, 2018-08-26).
//!
//! A [`Generator`] turns 100-dimensional normal noise into 28×28×1 images in `[-1, 1]`; a
//! [`Discriminator`] scores images with one logit (real > 0). [`Dcgan::train_step`] records both
//! models under two tapes at once, one per model, and updates each with its own Adam(1e-4):
//!
//! ```no_run
//! use keen_tensor::{DType, Tensor};
//! use keen_zoo::dcgan::Dcgan;
//!
//! let mut gan = Dcgan::new();
//! let real = Tensor::random_uniform([256, 28, 28, 1], -1.0, 1.0, DType::Float32);
//! let losses = gan.train_step(&real);
//! println!("gen {:.3} disc {:.3}", losses.generator, losses.discriminator);
//! let digits = gan.generate(&Dcgan::noise(25)); // (25, 28, 28, 1), inference mode
//! # let _ = digits;
//! ```

use keen_nn::losses::{BinaryCrossentropy, Loss};
use keen_nn::prelude::*;
use keen_optim::{Adam, Optimizer, OptimizerState};
use keen_tape::checkpoint::{CheckpointError, TrainingState};
use keen_tape::GradientTape;
use keen_tensor::{DType, Tensor};
use std::collections::BTreeMap;

/// The length of the generator's noise vector.
pub const NOISE_DIM: usize = 100;
/// The post's batch size.
pub const BATCH_SIZE: usize = 256;
/// Both optimizers' learning rate.
pub const LEARNING_RATE: f64 = 1e-4;
/// The side of a generated (and an MNIST) image.
pub const IMAGE_SIZE: usize = 28;

/// The post's generator: Dense 7·7·64 (no bias) → BN → LeakyReLU → reshape (7, 7, 64) →
/// Conv2dTranspose 64/5/1 → BN → LeakyReLU → 32/5/2 → BN → LeakyReLU → 1/5/2 tanh, all
/// transposed convolutions "same" and without bias (batch norm's beta takes its place).
#[derive(Module)]
pub struct Generator {
    /// Noise to 7·7·64 features.
    pub fc: Dense,
    /// Batch norm after `fc`.
    pub bn0: BatchNormalization,
    /// 7×7×64 → 7×7×64.
    pub deconv1: Conv2dTranspose,
    /// Batch norm after `deconv1`.
    pub bn1: BatchNormalization,
    /// 7×7×64 → 14×14×32.
    pub deconv2: Conv2dTranspose,
    /// Batch norm after `deconv2`.
    pub bn2: BatchNormalization,
    /// 14×14×32 → 28×28×1, tanh.
    pub deconv3: Conv2dTranspose,
    /// Keras' default slope 0.3 (the R post's `layer_activation_leaky_relu()`).
    pub leaky: LeakyRelu,
}

impl Default for Generator {
    fn default() -> Self {
        Self::new()
    }
}

impl Generator {
    /// The generator, unbuilt (its variables appear on the first call).
    pub fn new() -> Self {
        let deconv = |filters, stride| {
            Conv2dTranspose::new(filters, 5)
                .strides(stride)
                .padding(Padding::Same)
                .use_bias(false)
        };
        Generator {
            fc: Dense::new(7 * 7 * 64).use_bias(false),
            bn0: BatchNormalization::new(),
            deconv1: deconv(64, 1),
            bn1: BatchNormalization::new(),
            deconv2: deconv(32, 2),
            bn2: BatchNormalization::new(),
            deconv3: deconv(1, 2).activation(Activation::Tanh),
            leaky: LeakyRelu::new(),
        }
    }

    /// Images `(n, 28, 28, 1)` in `[-1, 1]` from noise `(n, 100)`. `training` selects batch
    /// statistics (and updates the moving ones) in the batch norms.
    pub fn call(&self, noise: &Tensor, training: bool) -> Tensor {
        let x = self
            .leaky
            .call(&self.bn0.call(&self.fc.call(noise), training));
        let x = x.reshape([-1, 7, 7, 64]);
        let x = self
            .leaky
            .call(&self.bn1.call(&self.deconv1.call(&x), training));
        let x = self
            .leaky
            .call(&self.bn2.call(&self.deconv2.call(&x), training));
        self.deconv3.call(&x)
    }
}

/// The post's discriminator: Conv2d 64/5/2 → LeakyReLU → Dropout 0.3 → Conv2d 128/5/2 →
/// LeakyReLU → Flatten → Dense 1 (a raw logit). The R post has one dropout, after the first
/// convolution (the Python notebooks it ports have one after each); this follows the R post.
#[derive(Module)]
pub struct Discriminator {
    /// 28×28×1 → 14×14×64.
    pub conv1: Conv2d,
    /// 14×14×64 → 7×7×128.
    pub conv2: Conv2d,
    /// After the first convolution.
    pub dropout: Dropout,
    /// 7·7·128 features to one logit.
    pub fc: Dense,
    /// Keras' default slope 0.3.
    pub leaky: LeakyRelu,
}

impl Default for Discriminator {
    fn default() -> Self {
        Self::new()
    }
}

impl Discriminator {
    /// The discriminator, unbuilt.
    pub fn new() -> Self {
        let conv = |filters| Conv2d::new(filters, 5).strides(2).padding(Padding::Same);
        Discriminator {
            conv1: conv(64),
            conv2: conv(128),
            dropout: Dropout::new(0.3),
            fc: Dense::new(1),
            leaky: LeakyRelu::new(),
        }
    }

    /// Logits `(n, 1)` of images `(n, 28, 28, 1)`; `training` turns dropout on.
    pub fn call(&self, images: &Tensor, training: bool) -> Tensor {
        let x = self.leaky.call(&self.conv1.call(images));
        let x = self.dropout.call(&x, training);
        let x = self.leaky.call(&self.conv2.call(&x));
        self.fc.call(&Flatten::new().call(&x))
    }
}

fn bce() -> BinaryCrossentropy {
    BinaryCrossentropy::new().from_logits(true)
}

/// The generator's loss: cross-entropy of the discriminator's logits on fakes against "real".
pub fn generator_loss(fake_logits: &Tensor) -> Tensor {
    bce().call(&Tensor::ones_like(fake_logits), fake_logits)
}

/// The discriminator's loss: reals against "real" plus fakes against "fake" (each a mean).
pub fn discriminator_loss(real_logits: &Tensor, fake_logits: &Tensor) -> Tensor {
    let real = bce().call(&Tensor::ones_like(real_logits), real_logits);
    let fake = bce().call(&Tensor::zeros_like(fake_logits), fake_logits);
    real.add(&fake)
}

/// Both losses of one step, as plain numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepLosses {
    /// [`generator_loss`].
    pub generator: f32,
    /// [`discriminator_loss`].
    pub discriminator: f32,
}

/// What [`Dcgan::gradients`] computes: the losses and one gradient per trainable variable of
/// each model (in `trainable_variables()` order; `None` for a variable the loss does not reach).
pub struct Gradients {
    /// Both losses.
    pub losses: StepLosses,
    /// Gradients of the generator's loss with respect to the generator's variables.
    pub generator: Vec<Option<Tensor>>,
    /// Gradients of the discriminator's loss with respect to the discriminator's variables.
    pub discriminator: Vec<Option<Tensor>>,
}

/// The two models with their optimizers: everything a training run updates.
#[derive(Module)]
pub struct Dcgan {
    /// Noise to images.
    pub generator: Generator,
    /// Images to logits.
    pub discriminator: Discriminator,
    /// Adam(1e-4) for the generator.
    #[module(skip)]
    pub generator_optimizer: Adam,
    /// Adam(1e-4) for the discriminator.
    #[module(skip)]
    pub discriminator_optimizer: Adam,
}

impl Default for Dcgan {
    fn default() -> Self {
        Self::new()
    }
}

/// The post's `tf$train$AdamOptimizer(1e-4)`: TF1's epsilon is 1e-8, where Keras (and keen's
/// default) use 1e-7; for the tiny gradients of the batch norms' betas that moves the first
/// updates by up to ~10% (the reference test `tests/dcgan_reference.rs` measured it).
fn post_adam(learning_rate: f64, beta_1: f64) -> Adam {
    Adam::new(learning_rate).beta_1(beta_1).epsilon(1e-8)
}

const GEN_OPT: &str = "generator_optimizer/";
const DISC_OPT: &str = "discriminator_optimizer/";

impl Dcgan {
    /// Both models, built (float32, drawn from the global seed: call
    /// `keen_tensor::ops::random::set_seed` first for a reproducible start), with two Adam(1e-4).
    ///
    /// Building here rather than on the first step lets the variables take their paths under
    /// this struct (`generator.fc.kernel`, `discriminator.fc.kernel`), so the two models'
    /// variables never share a name in a checkpoint.
    pub fn new() -> Self {
        Self::with_adam(LEARNING_RATE, 0.9)
    }

    /// As [`Dcgan::new`], with both Adams at `learning_rate` and `beta_1` (epsilon still the
    /// post's 1e-8). `with_adam(2e-4, 0.5)` is the DCGAN paper's setting (Radford et al. 2016,
    /// §4): the smaller first-moment memory damps the oscillation between the two models.
    pub fn with_adam(learning_rate: f64, beta_1: f64) -> Self {
        let adam = || post_adam(learning_rate, beta_1);
        let gan = Dcgan {
            generator: Generator::new(),
            discriminator: Discriminator::new(),
            generator_optimizer: adam(),
            discriminator_optimizer: adam(),
        };
        // Inference mode: builds every layer without touching the moving statistics.
        let fake = gan.generator.call(&Self::noise(1), false);
        let _ = gan.discriminator.call(&fake, false);
        let _ = gan.named_variables();
        gan
    }

    /// Standard normal noise `(n, 100)` from the global generator.
    pub fn noise(n: usize) -> Tensor {
        Tensor::random_normal([n, NOISE_DIM], 0.0, 1.0, DType::Float32)
    }

    /// Images from `noise` in inference mode (batch norm uses its moving statistics).
    pub fn generate(&self, noise: &Tensor) -> Tensor {
        self.generator.call(noise, false)
    }

    /// One forward pass of both models under two tapes recording at once (as the post's
    /// nested `gen_tape` / `disc_tape`), and each loss's gradients for its own model. `noise`
    /// has one row per generated image (the post draws as many as the batch has images).
    pub fn gradients(&self, real: &Tensor, noise: &Tensor) -> Gradients {
        let gen_vars = self.generator.trainable_variables();
        let disc_vars = self.discriminator.trainable_variables();
        let gen_tape = GradientTape::new();
        let disc_tape = GradientTape::new();
        let fake = self.generator.call(noise, true);
        let real_logits = self.discriminator.call(real, true);
        let fake_logits = self.discriminator.call(&fake, true);
        let gen_loss = generator_loss(&fake_logits);
        let disc_loss = discriminator_loss(&real_logits, &fake_logits);
        gen_tape.stop();
        disc_tape.stop();
        Gradients {
            losses: StepLosses {
                generator: gen_loss.item::<f32>(),
                discriminator: disc_loss.item::<f32>(),
            },
            generator: gen_tape.gradient(&gen_loss, &gen_vars),
            discriminator: disc_tape.gradient(&disc_loss, &disc_vars),
        }
    }

    /// One training step on a batch of real images `(n, 28, 28, 1)` in `[-1, 1]`: fresh noise
    /// for `n` fakes, both gradients, both Adam updates. Returns the losses before the update.
    pub fn train_step(&mut self, real: &Tensor) -> StepLosses {
        let noise = Self::noise(real.dims()[0]);
        let g = self.gradients(real, &noise);
        self.generator_optimizer
            .apply_gradients(&g.generator, &self.generator.trainable_variables());
        self.discriminator_optimizer
            .apply_gradients(&g.discriminator, &self.discriminator.trainable_variables());
        g.losses
    }

    /// The whole training state at `step`: both models' variables (batch-norm moving
    /// statistics included) and both optimizers' slots, the latter prefixed
    /// `generator_optimizer/` and `discriminator_optimizer/`.
    pub fn training_state(&self, step: u64) -> TrainingState {
        let mut state = TrainingState::from_variables(step, &self.variables());
        for (prefix, opt) in [
            (GEN_OPT, &self.generator_optimizer),
            (DISC_OPT, &self.discriminator_optimizer),
        ] {
            for (k, v) in opt.state().to_named_tensors() {
                state.slots.insert(format!("{prefix}{k}"), v);
            }
        }
        state
    }

    /// Restores a [`training_state`](Self::training_state): every variable (checked before any
    /// is assigned) and both optimizers.
    ///
    /// # Errors
    /// A missing or mismatched variable, or optimizer entries that do not form an Adam state.
    pub fn restore(&mut self, state: &TrainingState) -> Result<(), CheckpointError> {
        state.restore(&self.variables())?;
        for (prefix, opt) in [
            (GEN_OPT, &mut self.generator_optimizer),
            (DISC_OPT, &mut self.discriminator_optimizer),
        ] {
            let slots: BTreeMap<String, Tensor> = state
                .slots
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_string(), v.clone())))
                .collect();
            let bad = |message: String| CheckpointError::Corrupt {
                path: "<training state>".into(),
                message,
            };
            let s = OptimizerState::from_named_tensors(&slots)
                .map_err(|e| bad(format!("{prefix}: {e}")))?;
            opt.load_state(&s)
                .map_err(|e| bad(format!("{prefix}: {e}")))?;
        }
        Ok(())
    }
}
