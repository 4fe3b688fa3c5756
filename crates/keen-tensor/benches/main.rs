//! keen-tensor's criterion benches, one binary with a group per op family (candle's layout):
//!
//! ```text
//! cargo bench -p keen-tensor --bench main                 # everything
//! cargo bench -p keen-tensor --bench main -- matmul/512   # a filter
//! ```
//!
//! Throughput is FLOP/s for matmul and elements/s elsewhere; sizes run small to large, because
//! small tensors stay on the calling thread and large ones use every core.
//!
//! To add a group: write `benches/<family>.rs` (or `groups/<family>.rs`) with a
//! `criterion_group!(benches, ...)`, declare the module below and append `<family>::benches` to
//! `criterion_main!`.

use criterion::criterion_main;

mod groups {
    pub mod conv;
    pub mod elementwise;
    pub mod matmul;
    pub mod random;
    pub mod reduce;
    pub mod util;
}

criterion_main!(
    groups::matmul::benches,
    groups::elementwise::benches,
    groups::reduce::benches,
    groups::conv::benches,
    groups::random::benches,
);
