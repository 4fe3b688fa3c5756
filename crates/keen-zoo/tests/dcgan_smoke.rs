//! DCGAN smoke test: a few steps on a tiny synthetic batch (no MNIST needed).

use keen_nn::Module;
use keen_tensor::ops::random::set_seed;
use keen_tensor::{DType, Tensor};
use keen_zoo::dcgan::{Dcgan, IMAGE_SIZE, NOISE_DIM};

/// A fixed batch of "digits": a bright vertical bar on a dark background, shifted per image,
/// so real images differ clearly from the generator's initial noise-like output.
fn real_batch(n: usize) -> Tensor {
    let s = IMAGE_SIZE;
    let mut v = vec![-1.0f32; n * s * s];
    for i in 0..n {
        let col = 8 + i % 12;
        for row in 4..24 {
            for c in col..col + 3 {
                v[i * s * s + row * s + c] = 1.0;
            }
        }
    }
    Tensor::from_vec(v, [n, s, s, 1])
}

#[test]
fn steps_train_both_models() {
    set_seed(7);
    let mut gan = Dcgan::new();
    let real = real_batch(8);

    // Every trainable variable of both models gets a finite gradient.
    let g = gan.gradients(&real, &Dcgan::noise(8));
    for (model, vars, grads) in [
        ("generator", gan.generator.named_variables(), &g.generator),
        (
            "discriminator",
            gan.discriminator.named_variables(),
            &g.discriminator,
        ),
    ] {
        let trainable: Vec<_> = vars.into_iter().filter(|(_, v)| v.trainable()).collect();
        assert_eq!(trainable.len(), grads.len(), "{model}");
        for ((name, _), grad) in trainable.iter().zip(grads) {
            let grad = grad
                .as_ref()
                .unwrap_or_else(|| panic!("{model}: {name} got no gradient"));
            let v = grad.to_vec::<f32>();
            assert!(v.iter().all(|x| x.is_finite()), "{model}: {name}");
            assert!(v.iter().any(|&x| x != 0.0), "{model}: {name} is all zeros");
        }
    }
    assert_eq!(g.generator.len(), 10, "fc, 3 kernels, 3×(gamma, beta)");
    assert_eq!(g.discriminator.len(), 6);

    // The discriminator learns to tell this easy real batch from the fakes.
    let losses: Vec<_> = (0..8).map(|_| gan.train_step(&real)).collect();
    for l in &losses {
        assert!(
            l.generator.is_finite() && l.discriminator.is_finite(),
            "{l:?}"
        );
    }
    let first = losses[0].discriminator;
    let last = losses[losses.len() - 1].discriminator;
    assert!(
        last < first,
        "discriminator loss should fall: {:?}",
        losses.iter().map(|l| l.discriminator).collect::<Vec<_>>()
    );

    // A checkpoint round trip restores variables and both optimizers.
    let state = gan.training_state(8);
    let before = gan.generate(&Tensor::ones([2, NOISE_DIM], DType::Float32));
    set_seed(99);
    let mut other = Dcgan::new();
    other.restore(&state).expect("restores");
    let after = other.generate(&Tensor::ones([2, NOISE_DIM], DType::Float32));
    assert_eq!(before.to_vec::<f32>(), after.to_vec::<f32>());
    assert_eq!(other.training_state(8).slots.len(), state.slots.len());
}
