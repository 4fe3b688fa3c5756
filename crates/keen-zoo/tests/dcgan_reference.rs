//! One whole DCGAN training step against Keras: forward (generator with batch statistics,
//! discriminator with dropout off), both losses, both models' gradients under two tapes, one
//! Adam(1e-4) step each, and the batch norms' moving statistics after it. The fixture comes
//! from `dcgan_reference.py` (Keras 3 on torch); every variable, the noise and the real batch
//! are filled on both sides from one formula, so no weights are stored.

use keen_nn::Module;
use keen_optim::{Adam, Optimizer};
use keen_tape::{GradientTape, Variable};
use keen_tensor::{DType, Tensor};
use keen_zoo::dcgan::{discriminator_loss, generator_loss, Discriminator, Generator};
use serde_json::Value;
use std::collections::BTreeMap;

fn fixture() -> Value {
    let text = include_str!("dcgan_reference.json");
    serde_json::from_str(text).expect("dcgan_reference.json parses")
}

/// `offset + scale · sin(0.37·i + k)` over a row-major index, in `dtype` (rounded from f64, as
/// numpy's `astype` does).
fn formula(shape: &[usize], k: f64, offset: f64, scale: f64, dtype: DType) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|i| offset + scale * (0.37 * i as f64 + k).sin())
        .collect();
    match dtype {
        DType::Float32 => Tensor::from_vec(v.iter().map(|&x| x as f32).collect(), shape.to_vec()),
        _ => Tensor::from_vec(v, shape.to_vec()),
    }
}

fn to_f64(t: &Tensor) -> Vec<f64> {
    t.cast(DType::Float64).to_vec::<f64>()
}

fn num(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

/// Collects comparisons and reports all of them at once, worst first.
struct Checker {
    rtol: f64,
    failures: Vec<String>,
    worst: f64,
    checked: usize,
}

impl Checker {
    /// `got` against `want`, relative to `scale` (the size of the quantity compared).
    fn close(&mut self, what: &str, got: f64, want: f64, scale: f64) {
        let err = (got - want).abs() / scale.max(1e-30);
        self.checked += 1;
        self.worst = self.worst.max(err);
        if err.is_nan() || err > self.rtol {
            self.failures.push(format!(
                "{what}: keen {got:.9e}, keras {want:.9e} (rel {err:.2e})"
            ));
        }
    }

    /// Sum, sum of |·|, sum of squares and sampled entries of `x` against `want`'s.
    fn stats(&mut self, what: &str, x: &[f64], want: &Value) {
        let sum: f64 = x.iter().sum();
        let abs_sum: f64 = x.iter().map(|v| v.abs()).sum();
        let sq_sum: f64 = x.iter().map(|v| v * v).sum();
        let want_abs = num(&want["abs_sum"]);
        // A sum of mixed signs can cancel: hold it to the size of its terms.
        self.close(&format!("{what} sum"), sum, num(&want["sum"]), want_abs);
        self.close(&format!("{what} abs_sum"), abs_sum, want_abs, want_abs);
        self.close(
            &format!("{what} sq_sum"),
            sq_sum,
            num(&want["sq_sum"]),
            num(&want["sq_sum"]),
        );
        // Entries against the root mean square: a near-zero entry has no relative error.
        let rms = (num(&want["sq_sum"]) / x.len() as f64).sqrt();
        let idx = want["indices"].as_array().expect("indices");
        let vals = want["values"].as_array().expect("values");
        for (i, v) in idx.iter().zip(vals) {
            let i = i.as_u64().expect("an index") as usize;
            let w = num(v);
            self.close(&format!("{what}[{i}]"), x[i], w, w.abs().max(rms));
        }
    }
}

/// Builds both models in `dtype`, fills them from the formula, runs one step and compares
/// everything with the fixture's `dtype` section. Returns the worst relative error.
fn check_step(dtype: DType, key: &str, rtol: f64) -> f64 {
    let fx = fixture();
    let want = &fx[key];
    let batch = fx["batch"].as_u64().unwrap() as usize;
    let input = |name: &str, shape: &[usize]| {
        formula(
            shape,
            num(&fx[name]["k"]),
            0.0,
            num(&fx[name]["scale"]),
            dtype,
        )
    };
    let noise = input("noise", &[batch, 100]);
    let real = input("real", &[batch, 28, 28, 1]);

    let generator = Generator::new();
    let disc = Discriminator::new();
    // Build in inference mode: the moving statistics keep their initial 0 / 1.
    let _ = disc.call(&generator.call(&noise, false), false);
    let mut vars: BTreeMap<String, Variable> = BTreeMap::new();
    for (model, named) in [
        ("generator", generator.named_variables()),
        ("discriminator", disc.named_variables()),
    ] {
        for (path, v) in named {
            assert_eq!(v.dtype(), dtype, "{model}.{path}");
            vars.insert(format!("{model}.{path}"), v);
        }
    }
    let specs = fx["variables"].as_array().unwrap();
    let trainable: Vec<&str> = vars
        .iter()
        .filter(|(_, v)| v.trainable())
        .map(|(n, _)| n.as_str())
        .collect();
    let mut spec_names: Vec<&str> = specs.iter().map(|s| s["name"].as_str().unwrap()).collect();
    spec_names.sort();
    assert_eq!(
        trainable, spec_names,
        "keen's trainable variables vs Keras'"
    );

    let mut before: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for s in specs {
        let name = s["name"].as_str().unwrap();
        let shape: Vec<usize> = s["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let v = &vars[name];
        assert_eq!(v.shape().dims(), shape.as_slice(), "{name}: layout");
        let t = formula(
            &shape,
            num(&s["k"]),
            num(&s["offset"]),
            num(&s["scale"]),
            dtype,
        );
        v.assign(&t);
        before.insert(name.to_string(), to_f64(&t));
    }

    // The step of `Dcgan::gradients`, with the discriminator's dropout off.
    let gen_vars = generator.trainable_variables();
    let disc_vars = disc.trainable_variables();
    let gen_tape = GradientTape::new();
    let disc_tape = GradientTape::new();
    let fake = generator.call(&noise, true);
    let real_logits = disc.call(&real, false);
    let fake_logits = disc.call(&fake, false);
    let gen_loss = generator_loss(&fake_logits);
    let disc_loss = discriminator_loss(&real_logits, &fake_logits);
    gen_tape.stop();
    disc_tape.stop();
    let gen_grads = gen_tape.gradient(&gen_loss, &gen_vars);
    let disc_grads = disc_tape.gradient(&disc_loss, &disc_vars);

    let mut c = Checker {
        rtol,
        failures: Vec::new(),
        worst: 0.0,
        checked: 0,
    };
    c.close(
        "gen_loss",
        to_f64(&gen_loss)[0],
        num(&want["gen_loss"]),
        num(&want["gen_loss"]),
    );
    c.close(
        "disc_loss",
        to_f64(&disc_loss)[0],
        num(&want["disc_loss"]),
        num(&want["disc_loss"]),
    );
    c.stats("fake", &to_f64(&fake), &want["fake"]);
    for (what, logits) in [("real_logits", &real_logits), ("fake_logits", &fake_logits)] {
        let w: Vec<f64> = want[what].as_array().unwrap().iter().map(num).collect();
        let scale = w.iter().map(|x| x.abs()).fold(0.0, f64::max);
        for (i, (g, w)) in to_f64(logits).iter().zip(&w).enumerate() {
            c.close(&format!("{what}[{i}]"), *g, *w, scale);
        }
    }

    let gen_names: Vec<String> = generator
        .named_variables()
        .into_iter()
        .filter(|(_, v)| v.trainable())
        .map(|(n, _)| format!("generator.{n}"))
        .collect();
    let disc_names: Vec<String> = disc
        .named_variables()
        .into_iter()
        .filter(|(_, v)| v.trainable())
        .map(|(n, _)| format!("discriminator.{n}"))
        .collect();
    for (names, grads) in [(&gen_names, &gen_grads), (&disc_names, &disc_grads)] {
        for (name, g) in names.iter().zip(grads.iter()) {
            let g = g.as_ref().unwrap_or_else(|| panic!("{name}: no gradient"));
            c.stats(
                &format!("{name} gradient"),
                &to_f64(g),
                &want["variables"][name]["gradient"],
            );
        }
    }

    Adam::new(1e-4).apply_gradients(&gen_grads, &gen_vars);
    Adam::new(1e-4).apply_gradients(&disc_grads, &disc_vars);
    for (name, v) in &vars {
        let w = &want["variables"][name.as_str()];
        let new = to_f64(&v.value());
        if let Some(old) = before.get(name) {
            let update: Vec<f64> = new.iter().zip(old).map(|(a, b)| a - b).collect();
            c.stats(&format!("{name} update"), &update, &w["update"]);
        }
        c.stats(&format!("{name} new"), &new, &w["new"]);
    }

    println!(
        "{key}: {} comparisons, worst relative error {:.2e}",
        c.checked, c.worst
    );
    assert!(
        c.failures.is_empty(),
        "{key}: {} of {} comparisons off by more than {rtol:e}:\n{}",
        c.failures.len(),
        c.checked,
        c.failures.join("\n")
    );
    c.worst
}

#[test]
fn float32_step_matches_keras() {
    check_step(DType::Float32, "float32", 1e-4);
}

#[test]
fn float64_step_matches_keras() {
    check_step(DType::Float64, "float64", 1e-9);
}

/// The starting point Keras would give the post's models: glorot-uniform kernels (bound
/// `sqrt(6 / (fan_in + fan_out))`, the spread of a uniform), zero biases and betas, unit
/// gammas, moving statistics 0 and 1. (Momentum 0.99 and epsilon 1e-3 are held by the step
/// above: the moving statistics after it and the batch-normalised forward pass.)
#[test]
fn initialisation_is_keras_default() {
    keen_tensor::ops::random::set_seed(3);
    let generator = Generator::new();
    let disc = Discriminator::new();
    let _ = disc.call(
        &generator.call(&Tensor::ones([2, 100], DType::Float32), false),
        false,
    );
    let mut seen = 0;
    for (model, named) in [
        ("generator", generator.named_variables()),
        ("discriminator", disc.named_variables()),
    ] {
        for (path, v) in named {
            let x = to_f64(&v.value());
            let d = v.shape().dims().to_vec();
            let what = format!("{model}.{path} {d:?}");
            let leaf = path.rsplit('.').next().unwrap();
            let constant = match leaf {
                "gamma" | "moving_variance" => Some(1.0),
                "beta" | "moving_mean" | "bias" => Some(0.0),
                _ => None,
            };
            if let Some(c) = constant {
                assert!(x.iter().all(|&v| v == c), "{what}: all {c}");
            } else {
                assert_eq!(leaf, "kernel", "{what}");
                let rf: usize = d[..d.len() - 2].iter().product();
                let (fan_in, fan_out) = (d[d.len() - 2] * rf, d[d.len() - 1] * rf);
                let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
                let n = x.len() as f64;
                let mean = x.iter().sum::<f64>() / n;
                let std = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
                assert!(
                    x.iter().all(|v| v.abs() <= limit),
                    "{what}: within ±{limit}"
                );
                let want = limit / 3f64.sqrt();
                // The smallest kernel has 800 entries: its spread is within a few percent.
                assert!(
                    (std / want - 1.0).abs() < 0.1,
                    "{what}: std {std}, want {want}"
                );
                assert!(mean.abs() < 0.1 * want, "{what}: mean {mean}");
            }
            seen += 1;
        }
    }
    assert_eq!(seen, 22, "16 trainable variables and 6 moving statistics");
}
