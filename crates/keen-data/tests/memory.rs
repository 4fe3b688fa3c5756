//! Memory is bounded by the buffers, not by the dataset: 10 million generated elements stream
//! through shuffle(1000) and batch while the peak resident memory stays flat.
//! (Its own test binary, so no other test's allocations move the high-water mark.)

use keen_data::Dataset;
use keen_tensor::Tensor;

fn status_kib(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn ten_million_elements_stream_in_flat_memory() {
    const N: i64 = 10_000_000;
    let ds = Dataset::from_generator(|| (0..N).map(|i| Tensor::scalar(i as f32)))
        .shuffle(1000, 1)
        .batch(1000, false);
    // Warm up (allocator pools, thread-locals), then measure the high-water mark of a full pass.
    let mut it = ds.iter();
    for _ in 0..100 {
        it.next().unwrap().unwrap();
    }
    let before = status_kib("VmHWM:");
    let mut n = 100 * 1000;
    let mut sum = 0f64;
    for b in it {
        let b = b.unwrap().into_tensor().unwrap();
        n += b.numel();
        sum += b.as_slice::<f32>().unwrap()[0] as f64;
    }
    assert_eq!(n as i64, N);
    assert!(sum > 0.0);
    if let (Some(before), Some(after)) = (before, status_kib("VmHWM:")) {
        // 10M elements held at once would need hundreds of MB; the buffers need well under 1 MB.
        let grew = after.saturating_sub(before);
        println!("VmHWM before {before} KiB, after {after} KiB, grew {grew} KiB");
        assert!(
            grew < 16 * 1024,
            "peak memory grew by {grew} KiB while streaming"
        );
    }
}
