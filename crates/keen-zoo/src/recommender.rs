//! Collaborative filtering with embeddings, after the R post "Collaborative filtering with
//! embeddings" (TensorFlow for R blog, 2018-09-26): a rating is the dot product of a user's and
//! a movie's learned vectors.
//!
//! Two models, both trained with `compile`/`fit` (the post uses Keras' standard training here,
//! not a custom loop) on inputs `(batch, 2)` of dense ids (user, movie) and targets
//! `(batch, 1)`:
//!
//! - [`SimpleDot`]: the post's `simple_dot`, two 64-dimensional embeddings initialised uniformly
//!   on `[0, 0.05)` and their dot product.
//! - [`DotWithBias`]: the post's `dot_with_bias`, adding a bias per user and per movie, dropout
//!   on both embeddings, and a sigmoid scaled to the rating range.
//!
//! ```
//! use keen_nn::fit::{Compile, FitOptions, Verbosity};
//! use keen_tensor::Tensor;
//! use keen_zoo::recommender::{compile, RatingSplit, SimpleDot};
//!
//! // Three users, three movies; user 0 likes movie 0, and so on.
//! let (users, movies, ratings) = ([10, 10, 20, 20, 30, 30], [7, 8, 8, 9, 9, 7], [5.0, 1.0, 5.0, 1.0, 5.0, 1.0]);
//! let data = RatingSplit::new(&users, &movies, &ratings, 0.0, 1).unwrap();
//! let mut model = compile(SimpleDot::new(data.n_users(), data.n_movies(), 8), 0.05);
//! let history = model.fit(&data.x_train, &data.y_train, FitOptions::new().epochs(150).batch_size(2).verbose(Verbosity::Silent));
//! assert!(history.last("loss").unwrap() < 1.0);
//! ```

use keen_nn::fit::Compiled;
use keen_nn::initializers::Initializer;
use keen_nn::losses::MeanSquaredError;
use keen_nn::metrics::{self, RootMeanSquaredError};
use keen_nn::prelude::*;
use keen_optim::Adam;
use keen_tensor::random::Generator;
use keen_tensor::{DType, Tensor};
use std::collections::HashMap;
use std::fmt;

/// The post's embedding size.
pub const EMBEDDING_DIM: usize = 64;
/// The post's batch size.
pub const BATCH_SIZE: usize = 32;

/// The user ids `(batch, 1)` and movie ids `(batch, 1)` of an input `(batch, 2)`.
///
/// Keeping the trailing axis makes each embedding `(batch, 1, dim)`, so the dot product over the
/// last axis is already the `(batch, 1)` prediction the targets have.
#[track_caller]
fn columns(x: &Tensor) -> (Tensor, Tensor) {
    assert!(
        x.rank() == 2 && x.dim(1) == 2,
        "recommender: the input must be (batch, 2) ids (user, movie), got {}",
        x.shape()
    );
    (x.narrow(1, 0, 1), x.narrow(1, 1, 1))
}

/// `Σ a·b` over the last axis, `(batch, 1, dim)` twice to `(batch, 1)` (Keras' `k_batch_dot`).
fn batch_dot(a: &Tensor, b: &Tensor) -> Tensor {
    a.mul(b).sum(&[-1], false)
}

/// The post's `simple_dot`: `rating ≈ user_embedding · movie_embedding`.
#[derive(Module)]
pub struct SimpleDot {
    /// One vector per user, `(n_users, dim)`.
    pub user_embedding: Embedding,
    /// One vector per movie, `(n_movies, dim)`.
    pub movie_embedding: Embedding,
}

impl SimpleDot {
    /// Embeddings of size `dim` for dense ids `0..n_users` and `0..n_movies`, uniform on
    /// `[0, 0.05)` (the post's `initializer_random_uniform(0, 0.05)`: all dot products start
    /// positive and small), built at once so that the variables exist before `fit`.
    pub fn new(n_users: usize, n_movies: usize, dim: usize) -> Self {
        let init = Initializer::RandomUniform {
            minval: 0.0,
            maxval: 0.05,
        };
        let m = SimpleDot {
            user_embedding: Embedding::new(n_users, dim)
                .embeddings_initializer(init.clone())
                .name("user_embedding"),
            movie_embedding: Embedding::new(n_movies, dim)
                .embeddings_initializer(init)
                .name("movie_embedding"),
        };
        m.user_embedding.build();
        m.movie_embedding.build();
        m
    }

    /// Predicted ratings `(batch, 1)` of ids `(batch, 2)`.
    #[track_caller]
    pub fn call(&self, x: &Tensor) -> Tensor {
        let (users, movies) = columns(x);
        batch_dot(
            &self.user_embedding.call(&users),
            &self.movie_embedding.call(&movies),
        )
    }
}

impl Layer for SimpleDot {
    fn forward(&self, x: &Tensor, _training: bool) -> Tensor {
        self.call(x)
    }
    fn type_name(&self) -> &'static str {
        "simple_dot"
    }
}

/// The post's `dot_with_bias`: `rating = sigmoid(u·m + b_u + b_m) · (max − min) + min`, with
/// dropout on the user (0.3) and movie (0.6) vectors while training.
#[derive(Module)]
pub struct DotWithBias {
    /// One vector per user (Keras' default init, uniform on `[-0.05, 0.05)`).
    pub user_embedding: Embedding,
    /// One vector per movie.
    pub movie_embedding: Embedding,
    /// One number per user: how generously they rate.
    pub user_bias: Embedding,
    /// One number per movie: how well liked it is overall.
    pub movie_bias: Embedding,
    /// On the user vectors.
    pub user_dropout: Dropout,
    /// On the movie vectors.
    pub movie_dropout: Dropout,
    /// The smallest rating (the sigmoid's 0).
    #[module(skip)]
    pub min_rating: f32,
    /// The largest rating (the sigmoid's 1).
    #[module(skip)]
    pub max_rating: f32,
}

impl DotWithBias {
    /// The post's model for dense ids `0..n_users` and `0..n_movies`, ratings in
    /// `min_rating..=max_rating`, with its dropout rates (0.3 users, 0.6 movies).
    pub fn new(
        n_users: usize,
        n_movies: usize,
        dim: usize,
        min_rating: f32,
        max_rating: f32,
    ) -> Self {
        let m = DotWithBias {
            user_embedding: Embedding::new(n_users, dim).name("user_embedding"),
            movie_embedding: Embedding::new(n_movies, dim).name("movie_embedding"),
            user_bias: Embedding::new(n_users, 1).name("user_bias"),
            movie_bias: Embedding::new(n_movies, 1).name("movie_bias"),
            user_dropout: Dropout::new(0.3),
            movie_dropout: Dropout::new(0.6),
            min_rating,
            max_rating,
        };
        for e in [
            &m.user_embedding,
            &m.movie_embedding,
            &m.user_bias,
            &m.movie_bias,
        ] {
            e.build();
        }
        m
    }

    /// Replaces the dropout rates (users, movies).
    pub fn dropout(mut self, users: f64, movies: f64) -> Self {
        self.user_dropout = Dropout::new(users);
        self.movie_dropout = Dropout::new(movies);
        self
    }

    /// Predicted ratings `(batch, 1)` of ids `(batch, 2)`; `training` turns dropout on.
    #[track_caller]
    pub fn call(&self, x: &Tensor, training: bool) -> Tensor {
        let (users, movies) = columns(x);
        let u = self
            .user_dropout
            .call(&self.user_embedding.call(&users), training);
        let m = self
            .movie_dropout
            .call(&self.movie_embedding.call(&movies), training);
        // The biases are (batch, 1, 1): summing their last axis drops it like the dot's.
        let logit = batch_dot(&u, &m)
            .add(&self.user_bias.call(&users).sum(&[-1], false))
            .add(&self.movie_bias.call(&movies).sum(&[-1], false));
        logit
            .sigmoid()
            .mul(f64::from(self.max_rating - self.min_rating))
            .add(f64::from(self.min_rating))
    }
}

impl Layer for DotWithBias {
    fn forward(&self, x: &Tensor, training: bool) -> Tensor {
        self.call(x, training)
    }
    fn type_name(&self) -> &'static str {
        "dot_with_bias"
    }
}

/// `model` compiled as the post: mean squared error, Adam (Keras' default rate is 0.001), and
/// the root mean squared error as a metric (`rmse`, `val_rmse` in the logs).
pub fn compile<M: Layer>(model: M, learning_rate: f64) -> Compiled<M> {
    model
        .compile(Adam::new(learning_rate), MeanSquaredError::new())
        .metric(metrics::renamed(RootMeanSquaredError::new(), "rmse"))
}

/// A wrong input to [`RatingSplit::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitError(String);

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SplitError {}

/// Ratings with ids remapped to dense `0..n` and split at random into training and validation
/// parts, as the tensors `fit` takes.
#[derive(Clone, Debug)]
pub struct RatingSplit {
    /// `(n_train, 2)` int32: dense user id, dense movie id.
    pub x_train: Tensor,
    /// `(n_train, 1)` float32 ratings.
    pub y_train: Tensor,
    /// `(n_val, 2)` int32.
    pub x_val: Tensor,
    /// `(n_val, 1)` float32.
    pub y_val: Tensor,
    /// The original id of each dense user id.
    pub user_ids: Vec<i32>,
    /// The original id of each dense movie id.
    pub movie_ids: Vec<i32>,
    /// The smallest and largest rating.
    pub rating_range: (f32, f32),
}

impl RatingSplit {
    /// Remaps the ids (dense ids in order of first appearance) and holds out a random
    /// `val_fraction` of the ratings, drawn from `seed`.
    ///
    /// Ids are remapped even where the data's are already dense (MovieLens 100k's are) so that
    /// the embedding tables have exactly one row per id that occurs, whatever the source.
    ///
    /// # Errors
    /// Columns of different lengths, no ratings, a non-finite rating, or a fraction outside
    /// `[0, 1)`.
    pub fn new(
        users: &[i32],
        movies: &[i32],
        ratings: &[f32],
        val_fraction: f64,
        seed: u64,
    ) -> Result<Self, SplitError> {
        let n = ratings.len();
        if users.len() != n || movies.len() != n {
            return Err(SplitError(format!(
                "recommender: {} users, {} movies and {n} ratings: the columns must have one entry per rating",
                users.len(),
                movies.len()
            )));
        }
        if n == 0 {
            return Err(SplitError("recommender: no ratings".into()));
        }
        if !(0.0..1.0).contains(&val_fraction) {
            return Err(SplitError(format!(
                "recommender: the validation fraction must be in [0, 1), got {val_fraction}"
            )));
        }
        if let Some(i) = ratings.iter().position(|r| !r.is_finite()) {
            return Err(SplitError(format!(
                "recommender: rating {i} is {}",
                ratings[i]
            )));
        }
        let (user_dense, user_ids) = remap(users);
        let (movie_dense, movie_ids) = remap(movies);
        let order = Tensor::random_permutation_with(n, &mut Generator::new(seed)).to_vec::<i64>();
        let n_val = (n as f64 * val_fraction).round() as usize;
        let part = |idx: &[i64]| {
            let mut x = Vec::with_capacity(idx.len() * 2);
            let mut y = Vec::with_capacity(idx.len());
            for &i in idx {
                let i = i as usize;
                x.extend([user_dense[i], movie_dense[i]]);
                y.push(ratings[i]);
            }
            (
                Tensor::from_vec(x, [idx.len(), 2]),
                Tensor::from_vec(y, [idx.len(), 1]),
            )
        };
        let (x_val, y_val) = part(&order[..n_val]);
        let (x_train, y_train) = part(&order[n_val..]);
        let lo = ratings.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = ratings.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        Ok(RatingSplit {
            x_train,
            y_train,
            x_val,
            y_val,
            user_ids,
            movie_ids,
            rating_range: (lo, hi),
        })
    }

    /// The number of distinct users (rows of the user embedding).
    pub fn n_users(&self) -> usize {
        self.user_ids.len()
    }

    /// The number of distinct movies.
    pub fn n_movies(&self) -> usize {
        self.movie_ids.len()
    }

    /// The dense id of an original user id.
    pub fn user_index(&self, id: i32) -> Option<usize> {
        self.user_ids.iter().position(|&u| u == id)
    }

    /// The dense id of an original movie id.
    pub fn movie_index(&self, id: i32) -> Option<usize> {
        self.movie_ids.iter().position(|&m| m == id)
    }

    /// The dense movie ids each dense user rated in the training part (to leave out of their
    /// recommendations).
    pub fn train_movies_of(&self, user: usize) -> Vec<usize> {
        let x = self.x_train.to_vec::<i32>();
        x.chunks(2)
            .filter(|r| r[0] as usize == user)
            .map(|r| r[1] as usize)
            .collect()
    }

    /// How many training ratings each dense movie id has.
    pub fn train_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_movies()];
        for r in self.x_train.to_vec::<i32>().chunks(2) {
            counts[r[1] as usize] += 1;
        }
        counts
    }
}

/// Dense ids `0..k` in order of first appearance, and the original id of each.
fn remap(ids: &[i32]) -> (Vec<i32>, Vec<i32>) {
    let mut index = HashMap::new();
    let mut originals = Vec::new();
    let dense = ids
        .iter()
        .map(|&id| {
            *index.entry(id).or_insert_with(|| {
                originals.push(id);
                (originals.len() - 1) as i32
            })
        })
        .collect();
    (dense, originals)
}

/// The `n` movies with the highest predicted rating for dense user `user`, leaving out
/// `exclude` (the movies they already rated), best first: `(dense movie id, prediction)`.
///
/// # Panics
/// When `user` is not below the model's number of users (the embedding's bounds check).
#[track_caller]
pub fn recommend(
    model: &dyn Layer,
    user: usize,
    n_movies: usize,
    exclude: &[usize],
    n: usize,
) -> Vec<(usize, f32)> {
    let x: Vec<i32> = (0..n_movies)
        .flat_map(|m| [user as i32, m as i32])
        .collect();
    let pred = model
        .forward(&Tensor::from_vec(x, [n_movies, 2]), false)
        .cast(DType::Float32)
        .to_vec::<f32>();
    let mut scored: Vec<(usize, f32)> = pred
        .into_iter()
        .enumerate()
        .filter(|(m, _)| !exclude.contains(m))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.truncate(n);
    scored
}

/// The `k` rows of `table` (`(n, dim)`, one embedding per movie) closest to row `movie` by
/// cosine similarity, most similar first, `movie` itself left out; `candidates` (if given)
/// limits the answer to the ids it marks true (say, movies rated often enough for their
/// vector to mean something).
///
/// # Panics
/// A table that is not 2-D, or `movie` outside it.
#[track_caller]
pub fn nearest(
    table: &Tensor,
    movie: usize,
    k: usize,
    candidates: Option<&[bool]>,
) -> Vec<(usize, f32)> {
    assert_eq!(
        table.rank(),
        2,
        "nearest: the table must be (n, dim), got {}",
        table.shape()
    );
    let (n, dim) = (table.dim(0), table.dim(1));
    assert!(
        movie < n,
        "nearest: movie {movie} is outside the table's {n} rows"
    );
    let v = table.cast(DType::Float32).to_vec::<f32>();
    let row = |i: usize| &v[i * dim..(i + 1) * dim];
    let norm = |r: &[f32]| r.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    let q = row(movie);
    let qn = norm(q);
    let mut sims: Vec<(usize, f32)> = (0..n)
        .filter(|&i| i != movie && candidates.is_none_or(|c| c[i]))
        .map(|i| {
            let r = row(i);
            let dot: f32 = q.iter().zip(r).map(|(a, b)| a * b).sum();
            (i, dot / (qn * norm(r)))
        })
        .collect();
    sims.sort_by(|a, b| b.1.total_cmp(&a.1));
    sims.truncate(k);
    sims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remap_is_dense_in_order_of_appearance() {
        let (dense, orig) = remap(&[40, 7, 40, 9, 7]);
        assert_eq!(dense, [0, 1, 0, 2, 1]);
        assert_eq!(orig, [40, 7, 9]);
    }

    #[test]
    fn split_holds_out_the_fraction_and_keeps_every_rating_once() {
        let users: Vec<i32> = (0..100).map(|i| 1 + i % 7).collect();
        let movies: Vec<i32> = (0..100).map(|i| 100 + i % 11).collect();
        let ratings: Vec<f32> = (0..100).map(|i| (i % 5 + 1) as f32).collect();
        let s = RatingSplit::new(&users, &movies, &ratings, 0.2, 3).unwrap();
        assert_eq!(
            (s.x_train.dims(), s.x_val.dims()),
            (&[80, 2][..], &[20, 2][..])
        );
        assert_eq!((s.n_users(), s.n_movies()), (7, 11));
        assert_eq!(s.rating_range, (1.0, 5.0));
        let mut all: Vec<(i32, i32, i32)> = [(&s.x_train, &s.y_train), (&s.x_val, &s.y_val)]
            .iter()
            .flat_map(|(x, y)| {
                let x = x.to_vec::<i32>();
                let y = y.to_vec::<f32>();
                (0..y.len())
                    .map(|i| {
                        (
                            s.user_ids[x[2 * i] as usize],
                            s.movie_ids[x[2 * i + 1] as usize],
                            y[i] as i32,
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        all.sort();
        let mut want: Vec<(i32, i32, i32)> = (0..100)
            .map(|i| (users[i], movies[i], ratings[i] as i32))
            .collect();
        want.sort();
        assert_eq!(all, want);
        // The same seed gives the same split; another seed another one.
        let again = RatingSplit::new(&users, &movies, &ratings, 0.2, 3).unwrap();
        assert_eq!(again.x_val.to_vec::<i32>(), s.x_val.to_vec::<i32>());
        let other = RatingSplit::new(&users, &movies, &ratings, 0.2, 4).unwrap();
        assert_ne!(other.x_val.to_vec::<i32>(), s.x_val.to_vec::<i32>());
    }

    #[test]
    fn split_rejects_bad_input() {
        let e = RatingSplit::new(&[1, 2], &[1], &[3.0, 4.0], 0.2, 0).unwrap_err();
        assert!(e.to_string().contains("one entry per rating"), "{e}");
        let e = RatingSplit::new(&[1], &[1], &[3.0], 1.0, 0).unwrap_err();
        assert!(e.to_string().contains("[0, 1)"), "{e}");
        let e = RatingSplit::new(&[1], &[1], &[f32::NAN], 0.0, 0).unwrap_err();
        assert!(e.to_string().contains("rating 0 is NaN"), "{e}");
        assert!(RatingSplit::new(&[], &[], &[], 0.0, 0).is_err());
    }

    #[test]
    fn nearest_ranks_by_cosine_and_skips_the_query() {
        let table = Tensor::from([[1.0f32, 0.0], [10.0, 1.0], [0.0, 1.0], [-1.0, 0.0]]);
        let near = nearest(&table, 0, 3, None);
        let ids: Vec<usize> = near.iter().map(|p| p.0).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert!((near[2].1 + 1.0).abs() < 1e-6);
        let only = nearest(&table, 0, 3, Some(&[true, false, true, true]));
        assert_eq!(only[0].0, 2);
    }

    #[test]
    fn models_predict_one_rating_per_pair() {
        let x = Tensor::from([[0i32, 1], [2, 0], [1, 1]]);
        let plain = SimpleDot::new(3, 2, 4);
        let p = plain.call(&x);
        assert_eq!(p.dims(), [3, 1]);
        // Uniform [0, 0.05) vectors of size 4: a dot product in [0, 0.01).
        assert!(p.to_vec::<f32>().iter().all(|&v| (0.0..0.01).contains(&v)));
        let biased = DotWithBias::new(3, 2, 4, 1.0, 5.0);
        let p = biased.call(&x, true).to_vec::<f32>();
        assert!(p.iter().all(|&v| (1.0..=5.0).contains(&v)), "{p:?}");
        let names: Vec<String> = biased
            .named_variables()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            [
                "user_embedding.embeddings",
                "movie_embedding.embeddings",
                "user_bias.embeddings",
                "movie_bias.embeddings"
            ]
        );
        // The top-N of a user leaves out what they rated and is sorted.
        let top = recommend(&biased, 0, 2, &[1], 5);
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].0, 0);
    }
}
