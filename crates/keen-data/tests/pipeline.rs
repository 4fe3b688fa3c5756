//! The pipeline: sources, transforms, determinism and error messages.

use keen_data::{DataErrorKind, Dataset, Elem};
use keen_tensor::{DType, Tensor};

fn ints(ds: &Dataset) -> Vec<i64> {
    ds.iter()
        .map(|e| e.unwrap().tensor().unwrap().item::<i64>())
        .collect()
}

fn batches_i64(ds: &Dataset) -> Vec<Vec<i64>> {
    ds.iter()
        .map(|e| e.unwrap().tensor().unwrap().to_vec::<i64>())
        .collect()
}

#[test]
fn tensor_slices_of_a_tuple_batch_back_to_the_original() {
    let x = Tensor::arange(0.0, 12.0, 1.0, DType::Float32).reshape([6, 2]);
    let y = Tensor::from([0i64, 1, 2, 3, 4, 5]);
    let ds = Dataset::from_tensor_slices((x.clone(), y.clone())).unwrap();
    assert_eq!(ds.count().unwrap(), 6);
    let first = ds.iter().next().unwrap().unwrap();
    let (x0, y0) = first.pair().unwrap();
    assert_eq!(x0.to_vec::<f32>(), [0.0, 1.0]);
    assert_eq!(y0.item::<i64>(), 0);
    let b = ds.batch(4, false).to_vec().unwrap();
    assert_eq!(b.len(), 2);
    let (xb, yb) = b[1].clone().pair().unwrap();
    assert_eq!(xb.dims(), [2, 2]);
    assert_eq!(yb.to_vec::<i64>(), [4, 5]);
    assert_eq!(ds.batch(4, true).count().unwrap(), 1);
    assert_eq!(
        ds.batch(6, false).unbatch().to_vec().unwrap(),
        ds.to_vec().unwrap()
    );
}

#[test]
fn named_maps_slice_and_batch_by_name() {
    let ds = Dataset::from_tensor_slices(Elem::map([
        ("a", Tensor::from([1i32, 2, 3])),
        ("b", Tensor::from([[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]])),
    ]))
    .unwrap();
    let b = ds.batch(3, false).to_vec().unwrap();
    assert_eq!(
        b[0].field("a").unwrap().tensor().unwrap().to_vec::<i32>(),
        [1, 2, 3]
    );
    assert_eq!(b[0].field("b").unwrap().tensor().unwrap().dims(), [3, 2]);
}

#[test]
fn slices_of_different_lengths_are_an_error() {
    let e =
        Dataset::from_tensor_slices((Tensor::from([1, 2, 3]), Tensor::from([1, 2]))).unwrap_err();
    assert!(
        e.message()
            .contains("differ in length along axis 0 (3 vs 2)"),
        "{e}"
    );
}

#[test]
fn ragged_elements_batched_without_padding_name_the_element() {
    let ds = Dataset::from_elems(vec![
        Tensor::from([1, 2]).into(),
        Tensor::from([1, 2]).into(),
        Tensor::from([1, 2, 3]).into(),
    ]);
    let err = ds.batch(3, false).iter().next().unwrap().unwrap_err();
    assert_eq!(err.kind(), DataErrorKind::Shape);
    assert!(
        err.message()
            .contains("element 2 has shape (3,) but element 0 has (2,)"),
        "{err}"
    );
    assert!(err.message().contains("padded_batch"), "{err}");
}

#[test]
fn padded_batch_pads_to_the_longest_or_a_fixed_shape() {
    let ds = Dataset::from_elems(vec![
        Tensor::from([1, 2]).into(),
        Tensor::from([3]).into(),
        Tensor::from([4, 5, 6]).into(),
    ]);
    let b = ds.padded_batch(3, 0.0, false).to_vec().unwrap();
    assert_eq!(
        b[0].tensor().unwrap().to_vec::<i32>(),
        [1, 2, 0, 3, 0, 0, 4, 5, 6]
    );
    let b = ds
        .padded_batch_to(2, vec![Some(vec![4])], -1.0, false)
        .to_vec()
        .unwrap();
    assert_eq!(
        b[0].tensor().unwrap().to_vec::<i32>(),
        [1, 2, -1, -1, 3, -1, -1, -1]
    );
    // 2-d rows pad on both axes.
    let ds2 = Dataset::from_elems(vec![
        Tensor::from([[1, 2]]).into(),
        Tensor::from([[3], [4]]).into(),
    ]);
    let b = ds2.padded_batch(2, 9.0, false).to_vec().unwrap();
    assert_eq!(b[0].tensor().unwrap().dims(), [2, 2, 2]);
    assert_eq!(
        b[0].tensor().unwrap().to_vec::<i32>(),
        [1, 2, 9, 9, 3, 9, 4, 9]
    );
    let err = ds
        .padded_batch_to(3, vec![Some(vec![2])], 0.0, false)
        .to_vec()
        .unwrap_err();
    assert!(
        err.message().contains("longer than the padded shape (2,)"),
        "{err}"
    );
}

#[test]
fn shuffle_is_a_permutation_reproducible_and_reshuffled_each_epoch() {
    let ds = Dataset::range(0, 100).shuffle(1000, 7);
    let a = ints(&ds);
    let b = ints(&ds);
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    assert_ne!(a, (0..100).collect::<Vec<_>>());
    assert_ne!(a, b, "a new epoch reshuffles");
    // Same seed, fresh dataset: same epochs.
    let again = Dataset::range(0, 100).shuffle(1000, 7);
    assert_eq!(ints(&again), a);
    assert_eq!(ints(&again), b);
    let fixed = Dataset::range(0, 100).shuffle_fixed(10, 7);
    assert_eq!(ints(&fixed), ints(&fixed));
    // A small buffer only moves elements locally.
    let local = ints(&Dataset::range(0, 100).shuffle(3, 1));
    assert!(local.iter().take(3).all(|&v| v < 6));
}

#[test]
fn parallel_map_keeps_order_and_matches_sequential() {
    let f = |e: Elem| -> keen_data::Result<Elem> {
        let v = e.tensor()?.item::<i64>();
        // Uneven work so threads finish out of order.
        std::thread::sleep(std::time::Duration::from_micros((v as u64 * 37) % 200));
        Ok(Tensor::scalar(v * v).into())
    };
    let seq = ints(&Dataset::range(0, 300).map(f));
    let par = ints(&Dataset::range(0, 300).map_parallel(4, f));
    assert_eq!(seq, par);
    assert_eq!(par[17], 289);
    // Dropping a parallel iterator early stops cleanly.
    let mut it = Dataset::range(0, 1_000_000).map_parallel(3, f).iter();
    assert!(it.next().is_some());
    drop(it);
}

#[test]
fn random_map_is_deterministic_across_thread_counts_and_runs() {
    let aug = |e: Elem, rng: &mut keen_data::Rng| -> keen_data::Result<Elem> {
        Ok(Tensor::scalar(e.tensor()?.item::<i64>() * 1000 + rng.below(1000) as i64).into())
    };
    let make = |n| {
        Dataset::range(0, 200)
            .shuffle(50, 3)
            .map_random(11, n, aug)
            .batch(16, false)
    };
    let one = make(1);
    let two = make(2);
    let a0 = batches_i64(&one);
    assert_eq!(a0, batches_i64(&two), "epoch 0, 1 vs 2 threads");
    assert_eq!(
        batches_i64(&one),
        batches_i64(&two),
        "epoch 1, 1 vs 2 threads"
    );
    assert_eq!(batches_i64(&make(2)), a0, "a second run repeats epoch 0");
}

#[test]
fn filter_take_skip_repeat_enumerate() {
    let ds = Dataset::range(0, 10);
    let even = ds.filter(|e| e.tensor().unwrap().item::<i64>() % 2 == 0);
    assert_eq!(ints(&even), [0, 2, 4, 6, 8]);
    assert_eq!(ints(&ds.skip(7)), [7, 8, 9]);
    assert_eq!(ints(&ds.take(2).repeat(3)), [0, 1, 0, 1, 0, 1]);
    assert_eq!(ints(&ds.repeat_forever().take(12)).len(), 12);
    let en = ds.skip(5).enumerate().to_vec().unwrap();
    let (i, v) = en[1].clone().pair().unwrap();
    assert_eq!((i.item::<i64>(), v.item::<i64>()), (1, 6));
    // Repeats of a shuffled dataset are different permutations.
    let r = ints(&Dataset::range(0, 20).shuffle(20, 1).repeat(2));
    assert_ne!(r[..20], r[20..]);
}

#[test]
fn zip_concatenate_interleave_window() {
    let a = Dataset::range(0, 3);
    let b = Dataset::range(10, 20);
    let z = a.zip(&b).to_vec().unwrap();
    assert_eq!(z.len(), 3);
    assert_eq!(z[2].get(1).unwrap().tensor().unwrap().item::<i64>(), 12);
    assert_eq!(ints(&a.concatenate(&Dataset::range(5, 7))), [0, 1, 2, 5, 6]);
    // interleave: each input i opens range(10*i, 10*i+3); cycle 2, block 2.
    let inter = Dataset::range(1, 4).interleave(2, 2, |e| {
        let i = e.tensor()?.item::<i64>();
        Ok(Dataset::range(10 * i, 10 * i + 3))
    });
    assert_eq!(ints(&inter), [10, 11, 20, 21, 12, 30, 31, 22, 32]);
    let w = batches_i64(&Dataset::range(0, 6).window(3, 2, true));
    assert_eq!(w, vec![vec![0, 1, 2], vec![2, 3, 4]]);
    let w = batches_i64(&Dataset::range(0, 6).window(3, 2, false));
    assert_eq!(w, vec![vec![0, 1, 2], vec![2, 3, 4], vec![4, 5]]);
}

#[test]
fn cache_in_memory_runs_the_upstream_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let ds = Dataset::range(0, 5)
        .map(move |e| {
            c.fetch_add(1, Ordering::Relaxed);
            Ok(e)
        })
        .cache();
    assert_eq!(ints(&ds), [0, 1, 2, 3, 4]);
    assert_eq!(ints(&ds), [0, 1, 2, 3, 4]);
    assert_eq!(calls.load(Ordering::Relaxed), 5);
}

#[test]
fn cache_file_round_trips_every_kind_of_element() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.bin");
    let elems = vec![
        Elem::from((Tensor::from([[1.5f32, 2.0]]), Tensor::scalar(3i64))),
        Elem::map([
            ("b", Elem::from(Tensor::from([true, false]))),
            ("s", Elem::from("héllo")),
            ("u", Elem::from(Tensor::from([7u8]))),
            ("d", Elem::from(Tensor::from([1.0f64]))),
            ("i", Elem::from(Tensor::from([-4i32]))),
            ("t", Elem::Texts(vec!["a".into(), "b".into()])),
        ]),
    ];
    let ds = Dataset::from_elems(elems.clone()).cache_file(&path);
    assert_eq!(ds.to_vec().unwrap(), elems);
    assert!(path.exists());
    // The second pass reads the file, even from a dataset with another upstream.
    let from_file = Dataset::range(0, 0).cache_file(&path);
    assert_eq!(from_file.to_vec().unwrap(), elems);
    std::fs::write(&path, b"garbage").unwrap();
    let err = from_file.to_vec().unwrap_err();
    assert!(err.message().contains("not a keen cache file"), "{err}");
}

#[test]
fn prefetch_gives_the_same_stream() {
    let ds = Dataset::range(0, 1000).shuffle(100, 5);
    assert_eq!(
        ints(&ds.prefetch(4)),
        ints(&Dataset::range(0, 1000).shuffle(100, 5))
    );
    let mut it = Dataset::range(0, 10_000_000).prefetch(2).iter();
    it.next();
    drop(it); // the thread stops when the receiver goes
}

#[test]
fn split_is_disjoint_complete_and_stable() {
    let (train, val) = Dataset::range(0, 1000).split(0.2, 9);
    let (t, v) = (ints(&train), ints(&val));
    assert_eq!(t.len() + v.len(), 1000);
    assert!((150..250).contains(&v.len()), "{}", v.len());
    assert!(t.iter().all(|x| !v.contains(x)));
    assert_eq!(ints(&val), v);
}

#[test]
fn generators_and_text_lines() {
    let ds = Dataset::from_generator(|| (0..3).map(|i| (Tensor::scalar(i), format!("n{i}"))));
    let b = ds.batch(3, false).to_vec().unwrap();
    assert_eq!(b[0].get(1).unwrap().texts().unwrap(), ["n0", "n1", "n2"]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.txt");
    std::fs::write(&p, "first\r\nsecond\n").unwrap();
    let lines: Vec<String> = Dataset::text_lines([&p])
        .iter()
        .map(|e| e.unwrap().text().unwrap().to_string())
        .collect();
    assert_eq!(lines, ["first", "second"]);
    let missing = dir.path().join("nope.txt");
    let err = Dataset::text_lines([&missing]).to_vec().unwrap_err();
    assert_eq!(err.kind(), DataErrorKind::Io);
    assert!(err.message().contains("nope.txt"), "{err}");
}
