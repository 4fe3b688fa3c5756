//! The ops, one family per file. Each differentiable op has its backward rule directly below it.
//!
//! | file | ops |
//! | --- | --- |
//! | `creation.rs` | full, zeros, ones, *_like, arange, linspace, eye, cast |
//! | `unary.rs` | neg, abs, sign, exp, log, log1p, expm1, sqrt, rsqrt, square, sin, cos, tanh, sigmoid, relu, leaky_relu, elu, gelu, erf, softplus, clip, floor, ceil, round |
//! | `binary.rs` | add, sub, mul, div, rem, pow, maximum, minimum, where_, comparisons, logical ops, operators |
//! | `reduce.rs` | sum, mean, prod, max, min, argmax, argmin, var, std, logsumexp, all, any, sum_to_shape |
//! | `softmax.rs` | softmax, log_softmax, sparse_softmax_cross_entropy |
//! | `movement.rs` | reshape, flatten, permute, transpose, broadcast_to, expand_dims, squeeze |
//! | `matmul.rs` | matmul |
//! | `slice.rs` | slice (`s!`), narrow |
//! | `join.rs` | concat, stack, split, chunk, unbind |
//! | `index.rs` | index_select, gather, index_add, scatter_add, take_along_axis, scatter_add_along_axis, one_hot, masked_fill |
//! | `pad.rs` | pad, flip, tile, repeat, outer |
//! | `conv.rs` | conv2d, conv2d_transpose, conv2d_backprop_kernel (NHWC, lowered to GEMM), `Padding` |
//! | `pool.rs` | max_pool2d, avg_pool2d |
//! | `random.rs` | Generator, set_seed, random_uniform, random_normal, truncated_normal, bernoulli, categorical, random_permutation, shuffle |
//! | `resize.rs` | resize (nearest, bilinear), upsample2d |

pub mod binary;
pub mod conv;
pub mod creation;
pub mod index;
pub mod join;
pub mod matmul;
pub mod movement;
pub mod pad;
pub mod pool;
pub mod random;
pub mod reduce;
pub mod resize;
pub mod slice;
pub mod softmax;
pub mod unary;

/// The name of every backward rule (`Backward::name`) in keen-tensor. The op-table test in
/// keen-tape checks that each has a gradient-check entry and that no rule is missing here, so
/// adding an op without its checks fails the suite. Keep one family per line.
#[rustfmt::skip]
pub const DIFFERENTIABLE_OPS: &[&str] = &[
    "add",
    "sub",
    "mul",
    "div",
    "rem",
    "pow",
    "maximum",
    "minimum",
    "where",
    "exp",
    "log",
    "log1p",
    "expm1",
    "sqrt",
    "rsqrt",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "softplus",
    "relu",
    "gelu",
    "erf",
    "floor",
    "ceil",
    "round",
    "sign",
    "neg",
    "abs",
    "square",
    "leaky_relu",
    "leaky_relu_backward",
    "elu",
    "clip",
    "cast",
    "sum", "prod", "max", "min", "logsumexp", "softmax", "log_softmax",
    "sparse_softmax_cross_entropy",
    "reshape",
    "slice", "pad", "concat", "flip", "index_select", "index_add",
    "take_along_axis", "scatter_add_along_axis",
    "permute",
    "contiguous",
    "broadcast_to",
    "matmul",
    "conv2d", "conv2d_transpose", "conv2d_backprop_kernel", "max_pool2d", "avg_pool2d", "resize",
];
