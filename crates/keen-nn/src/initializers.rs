//! Weight initializers with Keras' names, formulas and defaults.
//!
//! Fans follow Keras: for a kernel of shape `(.., fan_in, fan_out)` the receptive field is the
//! product of the leading axes (a conv kernel `(kh, kw, cin, cout)` has fan_in `kh·kw·cin`).
//! Random draws use keen's seeded generators (`keen_tensor::ops::random::set_seed`).

use keen_tensor::ops::random::{with_default_generator, Generator};
use keen_tensor::{DType, Shape, Tensor};

/// How to fill a new variable.
#[derive(Clone, Debug, PartialEq)]
pub enum Initializer {
    /// `U(-l, l)` with `l = sqrt(6 / (fan_in + fan_out))`; Keras' default for kernels.
    GlorotUniform,
    /// Truncated normal with `std = sqrt(2 / (fan_in + fan_out))`.
    GlorotNormal,
    /// Truncated normal with `std = sqrt(2 / fan_in)`.
    HeNormal,
    /// `U(-l, l)` with `l = sqrt(6 / fan_in)`.
    HeUniform,
    /// Truncated normal with `std = sqrt(1 / fan_in)`.
    LecunNormal,
    /// A (semi-)orthogonal matrix from the QR decomposition of a normal draw, times `gain`;
    /// Keras' default for recurrent kernels.
    Orthogonal {
        /// Multiplier of the orthogonal matrix.
        gain: f64,
    },
    /// Normal with the given mean and standard deviation (Keras: 0, 0.05).
    RandomNormal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        stddev: f64,
    },
    /// Uniform on `[minval, maxval)` (Keras: -0.05, 0.05).
    RandomUniform {
        /// Lower bound.
        minval: f64,
        /// Upper bound.
        maxval: f64,
    },
    /// All zeros; the default for biases.
    Zeros,
    /// All ones.
    Ones,
    /// A constant.
    Constant(f64),
}

/// Keras' correction so that a normal truncated at 2 std has the requested std.
const TRUNC_STD: f64 = 0.879_625_661_034_239_8;

fn fans(shape: &Shape) -> (f64, f64) {
    let d = shape.dims();
    match d.len() {
        0 => (1.0, 1.0),
        1 => (d[0] as f64, d[0] as f64),
        _ => {
            let rf: usize = d[..d.len() - 2].iter().product();
            ((d[d.len() - 2] * rf) as f64, (d[d.len() - 1] * rf) as f64)
        }
    }
}

impl Initializer {
    /// A tensor of `shape` and `dtype` drawn from the calling thread's default generator.
    pub fn init(&self, shape: impl Into<Shape>, dtype: DType) -> Tensor {
        let shape = shape.into();
        with_default_generator(|g| self.init_with(&shape, dtype, g))
    }

    /// A tensor of `shape` and `dtype` drawn from `g`.
    pub fn init_with(&self, shape: &Shape, dtype: DType, g: &mut Generator) -> Tensor {
        let (fan_in, fan_out) = fans(shape);
        let s = shape.clone();
        match *self {
            Initializer::GlorotUniform => {
                let l = (6.0 / (fan_in + fan_out)).sqrt();
                Tensor::random_uniform_with(s, -l, l, dtype, g)
            }
            Initializer::GlorotNormal => {
                let std = (2.0 / (fan_in + fan_out)).sqrt() / TRUNC_STD;
                Tensor::truncated_normal_with(s, 0.0, std, dtype, g)
            }
            Initializer::HeNormal => {
                Tensor::truncated_normal_with(s, 0.0, (2.0 / fan_in).sqrt() / TRUNC_STD, dtype, g)
            }
            Initializer::HeUniform => {
                let l = (6.0 / fan_in).sqrt();
                Tensor::random_uniform_with(s, -l, l, dtype, g)
            }
            Initializer::LecunNormal => {
                Tensor::truncated_normal_with(s, 0.0, (1.0 / fan_in).sqrt() / TRUNC_STD, dtype, g)
            }
            Initializer::Orthogonal { gain } => orthogonal(shape, gain, dtype, g),
            Initializer::RandomNormal { mean, stddev } => {
                Tensor::random_normal_with(s, mean, stddev, dtype, g)
            }
            Initializer::RandomUniform { minval, maxval } => {
                Tensor::random_uniform_with(s, minval, maxval, dtype, g)
            }
            Initializer::Zeros => Tensor::zeros(s, dtype),
            Initializer::Ones => Tensor::ones(s, dtype),
            Initializer::Constant(c) => Tensor::full(s, c, dtype),
        }
    }
}

/// Keras' orthogonal initializer: flatten to (rows, cols) with cols the last axis, QR-decompose
/// a normal matrix of the taller orientation, fix the signs by R's diagonal, scale by `gain`.
fn orthogonal(shape: &Shape, gain: f64, dtype: DType, g: &mut Generator) -> Tensor {
    let d = shape.dims();
    let cols = *d.last().unwrap_or(&1);
    let rows = shape.numel().checked_div(cols).unwrap_or(0);
    let (r, c) = if rows < cols {
        (cols, rows)
    } else {
        (rows, cols)
    };
    let a = Tensor::random_normal_with([r, c], 0.0, 1.0, DType::Float64, g).to_vec::<f64>();
    // Modified Gram-Schmidt on the columns of the r×c matrix (r >= c): Q has orthonormal columns.
    let mut q = a.clone();
    for j in 0..c {
        for k in 0..j {
            let dot: f64 = (0..r).map(|i| q[i * c + j] * q[i * c + k]).sum();
            for i in 0..r {
                q[i * c + j] -= dot * q[i * c + k];
            }
        }
        let norm: f64 = (0..r)
            .map(|i| q[i * c + j] * q[i * c + j])
            .sum::<f64>()
            .sqrt();
        // R's diagonal is the norm (positive), so no sign fix is needed beyond Gram-Schmidt's.
        for i in 0..r {
            q[i * c + j] /= norm.max(f64::MIN_POSITIVE);
        }
    }
    let mut out = vec![0.0f64; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            // Transpose back when the drawn matrix was the wide orientation.
            out[i * cols + j] = gain
                * if rows < cols {
                    q[j * c + i]
                } else {
                    q[i * c + j]
                };
        }
    }
    Tensor::from_vec(out, shape.clone()).cast(dtype)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_uniform_respects_its_limit() {
        let t = Initializer::GlorotUniform.init([30, 20], DType::Float64);
        let l = (6.0f64 / 50.0).sqrt();
        assert!(t.to_vec::<f64>().iter().all(|v| v.abs() <= l));
    }

    #[test]
    fn orthogonal_columns_are_orthonormal() {
        for shape in [[6usize, 4], [4, 6]] {
            let t = Initializer::Orthogonal { gain: 1.0 }.init(shape, DType::Float64);
            let gram = if shape[0] >= shape[1] {
                t.t().matmul(&t)
            } else {
                t.matmul(&t.t())
            };
            let n = shape[0].min(shape[1]);
            let eye = Tensor::eye(n, DType::Float64);
            let err = gram.sub(&eye).abs().sum_all().item::<f64>();
            assert!(err < 1e-10, "{shape:?}: {gram}");
        }
    }

    #[test]
    fn conv_kernels_use_the_receptive_field() {
        assert_eq!(fans(&Shape::new(&[3, 3, 8, 16])), (72.0, 144.0));
    }
}
