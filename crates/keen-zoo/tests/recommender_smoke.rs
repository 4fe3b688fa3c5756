//! simple_dot smoke tests: a few epochs of both recommenders on a slice of MovieLens when it has
//! been fetched, else on tiny synthetic ratings (so CI without data runs them too); and one
//! `#[ignore]`d test of the full run's targets on the real data.

use keen_data::datasets::{self, movielens};
use keen_nn::fit::{EarlyStopping, FitOptions, Verbosity};
use keen_nn::losses::{Loss, MeanSquaredError};
use keen_nn::Layer;
use keen_tape::GradientTape;
use keen_tensor::ops::random::set_seed;
use keen_zoo::recommender::{compile, DotWithBias, RatingSplit, SimpleDot, EMBEDDING_DIM};

/// Ratings from a hidden rank-2 taste model, rounded to 1–5: 40 users × 30 movies, 60% rated.
fn synthetic() -> (Vec<i32>, Vec<i32>, Vec<f32>) {
    let (mut u, mut m, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for user in 0..40 {
        for movie in 0..30 {
            if (user * 7 + movie * 3) % 5 >= 2 {
                let taste = [(user % 4) as f32 - 1.5, (user % 3) as f32 - 1.0];
                let trait_ = [(movie % 5) as f32 / 2.0 - 1.0, (movie % 2) as f32 - 0.5];
                let v = 3.0 + taste[0] * trait_[0] + taste[1] * trait_[1];
                u.push(100 + user);
                m.push(1000 + movie);
                r.push(v.round().clamp(1.0, 5.0));
            }
        }
    }
    (u, m, r)
}

/// The first 4,000 MovieLens ratings if fetched, else [`synthetic`].
fn ratings() -> (Vec<i32>, Vec<i32>, Vec<f32>, &'static str) {
    if let Some(dir) = datasets::local("movielens") {
        let r = movielens::load_from(&dir).expect("a fetched MovieLens loads");
        let n = 4000;
        return (
            r.users.to_vec::<i32>()[..n].to_vec(),
            r.items.to_vec::<i32>()[..n].to_vec(),
            r.ratings.to_vec::<f32>()[..n].to_vec(),
            "MovieLens (first 4,000 ratings)",
        );
    }
    let (u, m, r) = synthetic();
    (u, m, r, "synthetic")
}

/// Every trainable variable gets a finite, non-zero gradient from one training batch.
fn assert_all_gradients(model: &dyn Layer, data: &RatingSplit, what: &str) {
    let (x, y) = (data.x_train.narrow(0, 0, 64), data.y_train.narrow(0, 0, 64));
    let vars = model.named_variables();
    let trainable: Vec<_> = vars.iter().filter(|(_, v)| v.trainable()).collect();
    assert!(!trainable.is_empty(), "{what}: no variables");
    let tape = GradientTape::new();
    let loss = MeanSquaredError::new().call(&y, &model.forward(&x, true));
    let sources: Vec<_> = trainable.iter().map(|(_, v)| v.clone()).collect();
    let grads = tape.gradient(&loss, &sources);
    for ((name, _), g) in trainable.iter().zip(&grads) {
        let g = g
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: {name} got no gradient"));
        let v = g.to_vec::<f32>();
        assert!(v.iter().all(|x| x.is_finite()), "{what}: {name}");
        assert!(v.iter().any(|&x| x != 0.0), "{what}: {name} is all zeros");
    }
}

/// Trains `model` for a few epochs and checks that the loss is finite and falls.
fn assert_learns<M: Layer>(model: M, data: &RatingSplit, what: &str) {
    let mut model = compile(model, 0.01);
    let history = model.fit(
        &data.x_train,
        &data.y_train,
        FitOptions::new()
            .epochs(4)
            .batch_size(32)
            .seed(3)
            .validation_data(&data.x_val, &data.y_val)
            .verbose(Verbosity::Silent),
    );
    let loss = history.get("loss").unwrap();
    assert!(loss.iter().all(|l| l.is_finite()), "{what}: {loss:?}");
    assert!(
        loss[loss.len() - 1] < 0.8 * loss[0],
        "{what}: the training loss should fall: {loss:?}"
    );
    let rmse = history.get("val_rmse").unwrap();
    assert!(rmse.iter().all(|r| r.is_finite()), "{what}: {rmse:?}");
}

#[test]
fn both_recommenders_train_a_few_epochs() {
    let (u, m, r, source) = ratings();
    let data = RatingSplit::new(&u, &m, &r, 0.2, 1).unwrap();
    println!(
        "{source}: {} users, {} movies",
        data.n_users(),
        data.n_movies()
    );

    set_seed(1);
    let plain = SimpleDot::new(data.n_users(), data.n_movies(), 16);
    assert_all_gradients(&plain, &data, "simple_dot");
    assert_learns(plain, &data, "simple_dot");

    set_seed(1);
    let (lo, hi) = data.rating_range;
    let biased = DotWithBias::new(data.n_users(), data.n_movies(), 16, lo, hi);
    assert_all_gradients(&biased, &data, "dot_with_bias");
    assert_learns(biased, &data, "dot_with_bias");
}

/// The full run's figures (examples/simple_dot/README.md) on the real data.
#[test]
#[ignore = "needs data: bash data/fetch.sh movielens"]
fn real_movielens_meets_the_rmse_targets() {
    let r = movielens::load().unwrap();
    let data = RatingSplit::new(
        &r.users.to_vec::<i32>(),
        &r.items.to_vec::<i32>(),
        &r.ratings.to_vec::<f32>(),
        0.2,
        1,
    )
    .unwrap();
    assert_eq!((data.n_users(), data.n_movies()), (943, 1682));
    let options = || {
        FitOptions::new()
            .epochs(10)
            .batch_size(32)
            .seed(1)
            .validation_data(&data.x_val, &data.y_val)
            .callback(EarlyStopping::new().patience(2).restore_best_weights(true))
            .verbose(Verbosity::Line)
    };
    set_seed(1);
    let mut plain = compile(
        SimpleDot::new(data.n_users(), data.n_movies(), EMBEDDING_DIM),
        1e-3,
    );
    plain.fit(&data.x_train, &data.y_train, options());
    let rmse = plain.evaluate(&data.x_val, &data.y_val, 1024)["rmse"];
    println!("simple_dot: validation RMSE {rmse:.4}");
    assert!(rmse <= 1.00, "simple_dot: validation RMSE {rmse:.4}");

    set_seed(1);
    let (lo, hi) = data.rating_range;
    let mut biased = compile(
        DotWithBias::new(data.n_users(), data.n_movies(), EMBEDDING_DIM, lo, hi),
        1e-3,
    );
    biased.fit(&data.x_train, &data.y_train, options());
    let rmse = biased.evaluate(&data.x_val, &data.y_val, 1024)["rmse"];
    println!("dot_with_bias: validation RMSE {rmse:.4}");
    assert!(rmse <= 0.94, "dot_with_bias: validation RMSE {rmse:.4}");
}
