//! Loops only: the numeric kernels behind the ops. Semantics (shape checks, dtypes, recording)
//! live in `ops/`.

pub(crate) mod copy;
pub(crate) mod elementwise;
pub mod gemm;
pub(crate) mod im2col;
pub(crate) mod pool;
pub(crate) mod reduce;
pub mod simd;
pub(crate) mod special;

/// Below this many elements a kernel stays on the calling thread: handing work to rayon costs
/// a few microseconds, more than a small elementwise op takes.
pub(crate) const PAR_MIN: usize = 1 << 16;

/// Chunk size for parallel elementwise loops: big enough to amortise scheduling, small enough
/// to split a 1M-element op across both cores.
pub(crate) const PAR_CHUNK: usize = 1 << 15;
