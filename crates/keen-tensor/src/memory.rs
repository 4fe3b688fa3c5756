//! Keeps freed memory in the process for the next training step.
//!
//! A training step frees and reallocates the same large buffers (activations, gradients, conv
//! columns) every iteration. glibc serves allocations above its mmap threshold (at most 32 MiB,
//! and only 128 KiB until a first free raises it) with fresh `mmap`s and returns them to the
//! kernel on `free`, so every step faults each page back in, and with two threads each fault
//! of a written zero page costs a TLB shootdown on the other core: a quarter of a conv
//! forward + backward on our two-core machine (perf, `conv_fwd_bwd`). PyTorch's and
//! TensorFlow's CPU allocators keep freed memory for the same reason.
//!
//! The first tensor keen creates asks glibc to serve every allocation from its heaps and to
//! trim a heap only when 1 GiB of it lies free at the top. Memory a run has needed at its
//! peak stays with the process until it exits. Setting `KEEN_MALLOC=system`, or any of
//! glibc's own `MALLOC_MMAP_MAX_`, `MALLOC_MMAP_THRESHOLD_` or `MALLOC_TRIM_THRESHOLD_`
//! variables, leaves glibc's settings alone.

use std::sync::Once;

/// Applies the allocator settings once per process; cheap (one atomic load) after that.
#[inline]
pub(crate) fn keep_freed_memory() {
    static ONCE: Once = Once::new();
    ONCE.call_once(configure);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn configure() {
    let user_choice = [
        "KEEN_MALLOC",
        "MALLOC_MMAP_MAX_",
        "MALLOC_MMAP_THRESHOLD_",
        "MALLOC_TRIM_THRESHOLD_",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some());
    if user_choice {
        return;
    }
    // SAFETY: mallopt only changes glibc's tunables; it takes the arena locks itself.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn configure() {}
