//! keen_zoo::nmt on the synthetic date task with a small model: the training step works
//! (finite, falling loss; a gradient for every variable), checkpoints restore, and (ignored,
//! longer) attention learns the task.

use keen_nn::Module;
use keen_tensor::ops::random::set_seed;
use keen_tensor::Tensor;
use keen_zoo::nmt::{dates, exact_match, pad_batch, Nmt, NmtConfig, Vocab};

struct Task {
    src: Vocab,
    tgt: Vocab,
    train: Vec<(Vec<i64>, Vec<i64>)>,
    test: Vec<(Vec<i64>, Vec<i64>)>,
}

fn task(n_train: usize, n_test: usize) -> Task {
    let train = dates::generate(n_train, 11, false);
    let test = dates::generate(n_test, 11, true);
    let src = Vocab::build(train.iter().map(|p| p.source.clone()));
    let tgt = Vocab::build(train.iter().map(|p| p.target.clone()));
    let enc = |ps: &[dates::DatePair]| -> Vec<(Vec<i64>, Vec<i64>)> {
        ps.iter()
            .map(|p| (src.encode(&p.source, true), tgt.encode(&p.target, true)))
            .collect()
    };
    let (train, test) = (enc(&train), enc(&test));
    Task {
        src,
        tgt,
        train,
        test,
    }
}

fn batch(pairs: &[(Vec<i64>, Vec<i64>)]) -> (Tensor, Tensor) {
    let s: Vec<&[i64]> = pairs.iter().map(|p| p.0.as_slice()).collect();
    let t: Vec<&[i64]> = pairs.iter().map(|p| p.1.as_slice()).collect();
    (pad_batch(&s, None), pad_batch(&t, None))
}

fn small(task: &Task, units: usize, lr: f64) -> Nmt {
    let mut c = NmtConfig::new(task.src.len(), task.tgt.len());
    c.embedding_dim = 16;
    c.units = units;
    c.learning_rate = lr;
    Nmt::new(c)
}

#[test]
fn date_task_loss_is_finite_and_falls_and_every_variable_gets_a_gradient() {
    set_seed(3);
    let task = task(320, 16);
    let mut model = small(&task, 32, 1e-2);
    let (src, tgt) = batch(&task.train[..32]);
    let (loss, grads) = model.gradients(&src, &tgt);
    assert!(loss.is_finite());
    let names: Vec<String> = model
        .named_variables()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(grads.len(), names.len());
    assert!(names.len() >= 14, "{names:?}"); // embeddings, GRUs, W1, W2, V, fc
    for (g, name) in grads.iter().zip(&names) {
        let g = g
            .as_ref()
            .unwrap_or_else(|| panic!("{name} got no gradient"));
        let v = g.to_vec::<f32>();
        assert!(
            v.iter().all(|x| x.is_finite()),
            "{name}: non-finite gradient"
        );
        assert!(v.iter().any(|&x| x != 0.0), "{name}: all-zero gradient");
    }
    let mut losses = Vec::new();
    for epoch in 0..3 {
        for chunk in task.train.chunks(32) {
            let (s, t) = batch(chunk);
            let l = model.train_step(&s, &t);
            assert!(l.is_finite(), "epoch {epoch}: loss {l}");
            losses.push(l);
        }
    }
    let head: f32 = losses[..5].iter().sum::<f32>() / 5.0;
    let tail: f32 = losses[losses.len() - 5..].iter().sum::<f32>() / 5.0;
    assert!(
        tail < 0.8 * head,
        "loss did not fall: {head} -> {tail} ({losses:?})"
    );
}

#[test]
fn training_state_restores_the_model_and_optimizer() {
    set_seed(4);
    let task = task(64, 8);
    let (src, tgt) = batch(&task.train[..32]);
    let mut a = small(&task, 16, 1e-2);
    a.train_step(&src, &tgt);
    let state = a.training_state(1);
    set_seed(99);
    let mut b = small(&task, 16, 1e-2);
    b.restore(&state).expect("restores");
    let (la, lb) = (a.train_step(&src, &tgt), b.train_step(&src, &tgt));
    assert_eq!(la, lb);
    // The second step used Adam's restored moments: the models are still identical.
    assert_eq!(a.train_step(&src, &tgt), b.train_step(&src, &tgt));
}

#[test]
fn translate_returns_attention_rows_over_the_source() {
    set_seed(5);
    let task = task(64, 8);
    let model = small(&task, 16, 1e-2);
    let (src, _) = batch(&task.test);
    let out = model.translate(&src, task.tgt.start(), task.tgt.end(), 12);
    assert_eq!(out.len(), task.test.len());
    for (tr, (s, _)) in out.iter().zip(&task.test) {
        assert_eq!(tr.source_len, s.len());
        assert!(tr.ids.len() <= 12);
        assert_eq!(tr.attention.len(), tr.ids.len());
        for row in &tr.attention {
            let real: f32 = row[..tr.source_len].iter().sum();
            assert!((real - 1.0).abs() < 1e-4, "attention on padding: {row:?}");
        }
    }
}

/// Longer: a 64-unit model learns the task to high exact match on held-out dates.
#[test]
#[ignore = "trains for about a minute in release; run with --release -- --ignored"]
fn attention_learns_the_date_task() {
    set_seed(6);
    let task = task(6400, 500);
    let mut model = small(&task, 64, 5e-3);
    for _ in 0..6 {
        for chunk in task.train.chunks(64) {
            let (s, t) = batch(chunk);
            model.train_step(&s, &t);
        }
    }
    let (src, _) = batch(&task.test);
    let out = model.translate(&src, task.tgt.start(), task.tgt.end(), 12);
    let want: Vec<Vec<i64>> = task
        .test
        .iter()
        .map(|(_, t)| t[1..t.len() - 1].to_vec())
        .collect();
    let em = exact_match(&out, &want);
    assert!(em >= 0.9, "exact match on held-out dates {em}");
}

#[test]
fn precomputed_keys_give_the_same_step_as_the_attention_layer() {
    set_seed(7);
    let task = task(64, 8);
    let model = small(&task, 16, 1e-2);
    let (src, tgt) = batch(&task.train[..8]);
    let mask = src.ne(0.0);
    let (enc, h) = model.encoder.call(&src, Some(&mask));
    let token = tgt.unbind(1).remove(0);
    let (h1, w1) = model.decoder.step_state(&token, &h, &enc, Some(&mask));
    let keys = model.decoder.keys(&enc);
    let (h2, w2) = model
        .decoder
        .step_state_with_keys(&token, &h, &keys, &enc, Some(&mask));
    for (a, b) in [(h1, h2), (w1, w2)] {
        let (a, b) = (a.to_vec::<f32>(), b.to_vec::<f32>());
        assert_eq!(a.len(), b.len());
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-6));
    }
}
