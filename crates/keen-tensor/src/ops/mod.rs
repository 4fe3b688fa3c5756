//! The ops, one family per file. Each differentiable op has its backward rule directly below it.
//!
//! | file | ops |
//! | --- | --- |
//! | `creation.rs` | full, zeros, ones, *_like, arange, linspace, eye, cast |
//! | `unary.rs` | neg, abs, sign, exp, log, log1p, expm1, sqrt, rsqrt, square, sin, cos, tanh, sigmoid, relu, leaky_relu, elu, gelu, erf, softplus, clip, floor, ceil, round |
//! | `binary.rs` | add, sub, mul, div, rem, pow, maximum, minimum, where_, comparisons, logical ops, operators |
//! | `reduce.rs` | sum, mean, sum_to_shape |
//! | `movement.rs` | reshape, flatten, permute, transpose, broadcast_to, expand_dims, squeeze |
//! | `matmul.rs` | matmul |

pub mod binary;
pub mod creation;
pub mod matmul;
pub mod movement;
pub mod reduce;
pub mod unary;

/// The name of every backward rule (`Backward::name`) in keen-tensor. The op-table test in
/// keen-tape checks that each has a gradient-check entry and that no rule is missing here, so
/// adding an op without its checks fails the suite. Keep one family per line.
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
    "elu",
    "clip",
    "cast",
    "sum",
    "reshape",
    "permute",
    "broadcast_to",
    "matmul",
];
