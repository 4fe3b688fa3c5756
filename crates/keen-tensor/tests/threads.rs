//! `set_num_threads`: the calling thread joins the pool and works on every op. One test in its
//! own binary, because sizing the global pool is once per process.

use keen_tensor::threads::{num_threads, set_num_threads, ThreadsError};
use keen_tensor::{DType, Tensor};

#[test]
fn the_caller_is_worker_0_and_a_late_call_is_a_clear_error() {
    set_num_threads(2).expect("the first call sizes the pool");
    assert_eq!(num_threads(), 2);
    assert_eq!(
        rayon::current_thread_index(),
        Some(0),
        "the caller is in the pool"
    );

    // Ops big enough to split over both threads give the same values as serial arithmetic.
    let n = 1 << 20;
    let x = Tensor::arange(0.0, n as f64, 1.0, DType::Float64);
    let y = x.mul(2.0).add(&x).sum(&[], false).item::<f64>();
    assert_eq!(y, 3.0 * (n as f64) * (n as f64 - 1.0) / 2.0);
    let a = Tensor::ones([256, 512], DType::Float32);
    let b = Tensor::ones([512, 384], DType::Float32);
    let c = a.matmul(&b);
    assert!(c.to_vec::<f32>().iter().all(|&v| v == 512.0));

    let late = set_num_threads(4).unwrap_err();
    assert_eq!(late, ThreadsError::AlreadyRunning { threads: 2 });
    assert!(
        late.to_string().contains("before the first tensor"),
        "unclear message: {late}"
    );
    assert_eq!(num_threads(), 2, "a late call changes nothing");
}
