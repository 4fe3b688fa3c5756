//! [`Dataset`]: a lazy recipe for a stream of [`Elem`]s, with the tf.data transforms.

use crate::element::Elem;
use crate::error::{bail, DataError, Result};
use crate::rng::{mix, Rng};
use crate::rows::{self, Pad};
use keen_tensor::Tensor;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

/// The iterator a [`Dataset`] hands out for one pass: elements or the error that stopped one.
pub type ElemIter = Box<dyn Iterator<Item = Result<Elem>> + Send>;

type Make = dyn Fn(u64) -> ElemIter + Send + Sync;
pub(crate) type MapFn = dyn Fn(u64, u64, Elem) -> Result<Elem> + Send + Sync;

/// A lazy, re-iterable stream of elements, like `tf.data.Dataset`.
///
/// A dataset is a *recipe*: building one reads nothing; each [`iter`](Self::iter) starts a fresh
/// pass (an epoch) that streams through bounded buffers, so a dataset may be far larger than
/// memory. Transforms chain and return new datasets; cloning is cheap.
///
/// ```
/// use keen_data::Dataset;
/// use keen_tensor::Tensor;
///
/// let x = Tensor::arange(0.0, 10.0, 1.0, keen_tensor::DType::Float32).reshape([5, 2]);
/// let y = Tensor::from([0i64, 1, 0, 1, 1]);
/// let ds = Dataset::from_tensor_slices((x, y)).unwrap().shuffle(5, 42).batch(2, false);
/// for batch in &ds {
///     let (xb, yb) = batch.unwrap().pair().unwrap();
///     assert_eq!(xb.dim(1), 2);
///     assert_eq!(xb.dim(0), yb.dim(0));
/// }
/// ```
///
/// Randomness (shuffle, [`map_random`](Self::map_random)) is seeded and derived from the epoch
/// number and element index, so two runs with one seed give identical batches, with or without
/// parallel map; each new epoch reshuffles.
#[derive(Clone)]
pub struct Dataset {
    make: Arc<Make>,
    epochs: Arc<AtomicU64>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dataset(epoch {})", self.epochs.load(Ordering::Relaxed))
    }
}

impl IntoIterator for &Dataset {
    type Item = Result<Elem>;
    type IntoIter = ElemIter;
    fn into_iter(self) -> ElemIter {
        self.iter()
    }
}

// ---------------------------------------------------------------------------------------------
// Sources
impl Dataset {
    /// A dataset from a function that starts the pass for epoch `e`. The building block of every
    /// source; most code wants [`from_generator`](Self::from_generator).
    pub fn from_fn(make: impl Fn(u64) -> ElemIter + Send + Sync + 'static) -> Dataset {
        Dataset {
            make: Arc::new(make),
            epochs: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Slices a tensor, or a tuple or map of tensors (and texts), along axis 0: row `i` of every
    /// component makes element `i`. The rows are copied lazily, one element at a time.
    ///
    /// # Errors
    /// When components differ in length along axis 0, or one is a scalar.
    pub fn from_tensor_slices(data: impl Into<Elem>) -> Result<Dataset> {
        let data = Arc::new(data.into());
        let n = rows::leading_len(&data, "from_tensor_slices")?;
        // Make each tensor contiguous once so rows are plain copies.
        let data = Arc::new((*data).clone().map_tensors(&mut |t| Ok(t.contiguous()))?);
        Ok(Dataset::from_fn(move |_| {
            let data = data.clone();
            Box::new((0..n).map(move |i| Ok(rows::elem_row(&data, i))))
        }))
    }

    /// A dataset over elements held in memory (cloned each pass; tensors clone cheaply).
    pub fn from_elems(elems: Vec<Elem>) -> Dataset {
        let elems = Arc::new(elems);
        Dataset::from_fn(move |_| {
            let elems = elems.clone();
            Box::new((0..elems.len()).map(move |i| Ok(elems[i].clone())))
        })
    }

    /// A dataset from a generator: `make()` is called at the start of every pass and its items
    /// become the elements. Nothing is held in memory beyond what the generator holds.
    ///
    /// ```
    /// use keen_data::Dataset;
    /// use keen_tensor::Tensor;
    /// let squares = Dataset::from_generator(|| (0..4).map(|i| Tensor::scalar(i * i)));
    /// assert_eq!(squares.count().unwrap(), 4);
    /// ```
    pub fn from_generator<F, I>(make: F) -> Dataset
    where
        F: Fn() -> I + Send + Sync + 'static,
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Into<Elem>,
    {
        Dataset::from_fn(move |_| Box::new(make().into_iter().map(|e| Ok(e.into()))))
    }

    /// Like [`from_generator`](Self::from_generator) for generators whose items can fail.
    pub fn from_fallible_generator<F, I>(make: F) -> Dataset
    where
        F: Fn() -> I + Send + Sync + 'static,
        I: IntoIterator<Item = Result<Elem>>,
        I::IntoIter: Send + 'static,
    {
        Dataset::from_fn(move |_| Box::new(make().into_iter()))
    }

    /// The int64 scalars `start, start+1, …, end-1`.
    pub fn range(start: i64, end: i64) -> Dataset {
        Dataset::from_fn(move |_| Box::new((start..end).map(|i| Ok(Elem::from(Tensor::scalar(i))))))
    }

    /// The lines of text files, one [`Elem::Text`] per line, files in the given order, without
    /// the line ending. A file that cannot be opened gives an error element naming it.
    pub fn text_lines<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Dataset {
        use std::io::BufRead;
        let paths: Vec<PathBuf> = paths
            .into_iter()
            .map(|p| p.as_ref().to_path_buf())
            .collect();
        Dataset::from_fn(move |_| {
            let paths = paths.clone();
            Box::new(paths.into_iter().flat_map(|p| -> ElemIter {
                match std::fs::File::open(&p) {
                    Err(e) => Box::new(std::iter::once(Err(DataError::io(
                        "text_lines: cannot open",
                        &p,
                        e,
                    )))),
                    Ok(f) => {
                        let p2 = p.clone();
                        Box::new(std::io::BufReader::new(f).lines().enumerate().map(
                            move |(i, l)| {
                                l.map(|s| Elem::Text(s.trim_end_matches('\r').to_string()))
                                    .map_err(|e| {
                                        DataError::io(
                                            &format!("text_lines: line {}", i + 1),
                                            &p2,
                                            e,
                                        )
                                    })
                            },
                        ))
                    }
                }
            }))
        })
    }

    /// The paths matching a glob pattern (`data/images/*.png`, `stamps/**/*.png`) as
    /// [`Elem::Text`]s, sorted so the order is the same on every machine.
    ///
    /// # Errors
    /// When the pattern is malformed or matches no file.
    pub fn list_files(pattern: &str) -> Result<Dataset> {
        let files = glob_files(pattern)?;
        Ok(Dataset::from_elems(
            files.into_iter().map(Elem::Text).collect(),
        ))
    }
}

/// The files matching `pattern`, sorted; an error if none does.
pub fn glob_files(pattern: &str) -> Result<Vec<String>> {
    let paths = match glob::glob(pattern) {
        Ok(p) => p,
        Err(e) => bail!(Argument, "list_files: bad pattern {pattern:?}: {e}"),
    };
    let mut files = Vec::new();
    for p in paths {
        match p {
            Ok(p) if p.is_file() => files.push(p.to_string_lossy().into_owned()),
            Ok(_) => {}
            Err(e) => bail!(Io, "list_files {pattern:?}: {e}"),
        }
    }
    if files.is_empty() {
        bail!(Io, "list_files: no file matches {pattern:?}");
    }
    files.sort();
    Ok(files)
}

// ---------------------------------------------------------------------------------------------
// Iteration
impl Dataset {
    /// Starts the next pass (epoch 0, 1, 2, … on successive calls).
    pub fn iter(&self) -> ElemIter {
        let e = self.epochs.fetch_add(1, Ordering::Relaxed);
        (self.make)(e)
    }

    /// Starts the pass for a given epoch number (for resuming, or for reproducing one epoch).
    pub fn iter_epoch(&self, epoch: u64) -> ElemIter {
        (self.make)(epoch)
    }

    /// Collects one pass into memory, stopping at the first error.
    pub fn to_vec(&self) -> Result<Vec<Elem>> {
        self.iter().collect()
    }

    /// Counts the elements of one pass (runs it).
    pub fn count(&self) -> Result<usize> {
        let mut n = 0;
        for e in self.iter() {
            e?;
            n += 1;
        }
        Ok(n)
    }

    fn derive(&self, f: impl Fn(ElemIter, u64) -> ElemIter + Send + Sync + 'static) -> Dataset {
        let parent = self.clone();
        Dataset::from_fn(move |epoch| f(parent.iter_epoch(epoch), epoch))
    }
}

// ---------------------------------------------------------------------------------------------
// Transforms
impl Dataset {
    /// Applies `f` to every element.
    pub fn map(&self, f: impl Fn(Elem) -> Result<Elem> + Send + Sync + 'static) -> Dataset {
        let f = Arc::new(f);
        self.derive(move |it, _| {
            let f = f.clone();
            Box::new(it.map(move |r| r.and_then(|e| f(e))))
        })
    }

    /// [`map`](Self::map) on `num_parallel_calls` worker threads. The output order is the input
    /// order, whatever the threads' timing; memory holds at most a few elements per worker.
    pub fn map_parallel(
        &self,
        num_parallel_calls: usize,
        f: impl Fn(Elem) -> Result<Elem> + Send + Sync + 'static,
    ) -> Dataset {
        self.map_impl(num_parallel_calls, Arc::new(move |_, _, e| f(e)))
    }

    /// A random map (augmentation): `f` gets a generator seeded from `(seed, epoch, index)`, so
    /// results are reproducible with any number of threads and differ between epochs.
    pub fn map_random(
        &self,
        seed: u64,
        num_parallel_calls: usize,
        f: impl Fn(Elem, &mut Rng) -> Result<Elem> + Send + Sync + 'static,
    ) -> Dataset {
        self.map_impl(
            num_parallel_calls,
            Arc::new(move |epoch, i, e| f(e, &mut Rng::for_element(seed, epoch, i))),
        )
    }

    fn map_impl(&self, n: usize, f: Arc<MapFn>) -> Dataset {
        self.derive(move |it, epoch| {
            if n <= 1 {
                let f = f.clone();
                Box::new(
                    it.enumerate()
                        .map(move |(i, r)| r.and_then(|e| f(epoch, i as u64, e))),
                )
            } else {
                crate::parallel::ordered_map(it, n, epoch, f.clone())
            }
        })
    }

    /// Keeps the elements for which `pred` is true.
    pub fn filter(&self, pred: impl Fn(&Elem) -> bool + Send + Sync + 'static) -> Dataset {
        let pred = Arc::new(pred);
        self.derive(move |it, _| {
            let pred = pred.clone();
            Box::new(it.filter(move |r| r.as_ref().map_or(true, |e| pred(e))))
        })
    }

    /// Shuffles through a buffer of `buffer_size` elements (tf.data's algorithm: a uniform
    /// shuffle when the buffer holds the whole dataset). Each pass reshuffles; see
    /// [`shuffle_fixed`](Self::shuffle_fixed) for the same order every pass.
    pub fn shuffle(&self, buffer_size: usize, seed: u64) -> Dataset {
        self.shuffle_impl(buffer_size, seed, true)
    }

    /// [`shuffle`](Self::shuffle) with the same order on every pass.
    pub fn shuffle_fixed(&self, buffer_size: usize, seed: u64) -> Dataset {
        self.shuffle_impl(buffer_size, seed, false)
    }

    fn shuffle_impl(&self, size: usize, seed: u64, each_epoch: bool) -> Dataset {
        let size = size.max(1);
        self.derive(move |it, epoch| {
            let rng = Rng::new(if each_epoch { mix(seed, epoch) } else { seed });
            Box::new(Shuffle {
                src: Box::new(it.fuse()),
                buf: Vec::with_capacity(size),
                rng,
                size,
                filled: false,
            })
        })
    }

    /// Groups `batch_size` consecutive elements into one, stacking every tensor along a new axis
    /// 0 (texts become [`Elem::Texts`]). The last batch may be smaller unless `drop_remainder`.
    /// Elements of different shapes are an error naming the element; see
    /// [`padded_batch`](Self::padded_batch).
    pub fn batch(&self, batch_size: usize, drop_remainder: bool) -> Dataset {
        self.batch_impl(batch_size, drop_remainder, Pad::None)
    }

    /// [`batch`](Self::batch) that pads every tensor to the longest in the batch on each axis,
    /// with `pad_value`.
    pub fn padded_batch(&self, batch_size: usize, pad_value: f64, drop_remainder: bool) -> Dataset {
        self.batch_impl(batch_size, drop_remainder, Pad::To(None, pad_value))
    }

    /// [`padded_batch`](Self::padded_batch) to fixed shapes: one entry per tensor of the element,
    /// depth first (`None` pads that one to the longest). A longer element is an error.
    pub fn padded_batch_to(
        &self,
        batch_size: usize,
        shapes: Vec<Option<Vec<usize>>>,
        pad_value: f64,
        drop_remainder: bool,
    ) -> Dataset {
        self.batch_impl(batch_size, drop_remainder, Pad::To(Some(shapes), pad_value))
    }

    fn batch_impl(&self, n: usize, drop_remainder: bool, pad: Pad) -> Dataset {
        let n = n.max(1);
        self.derive(move |mut it, _| {
            let pad = pad.clone();
            let mut index = 0usize;
            Box::new(std::iter::from_fn(move || {
                let mut items = Vec::with_capacity(n);
                while items.len() < n {
                    match it.next() {
                        Some(Ok(e)) => items.push(e),
                        Some(Err(e)) => return Some(Err(e)),
                        None => break,
                    }
                }
                let first = index;
                index += items.len();
                if items.is_empty() || (drop_remainder && items.len() < n) {
                    return None;
                }
                Some(rows::stack(&items, &pad).map_err(|e| {
                    e.context(format!(
                        "batch of elements {first}..{}",
                        first + items.len()
                    ))
                }))
            }))
        })
    }

    /// Splits batched elements back into their rows (the inverse of [`batch`](Self::batch)).
    pub fn unbatch(&self) -> Dataset {
        self.derive(|it, _| {
            Box::new(it.flat_map(|r| -> ElemIter {
                match r.and_then(|e| rows::unstack(&e)) {
                    Ok(v) => Box::new(v.into_iter().map(Ok)),
                    Err(e) => Box::new(std::iter::once(Err(e))),
                }
            }))
        })
    }

    /// Sliding windows of `size` consecutive elements, stacked like a batch, starting every
    /// `shift` elements. The shorter windows at the end are kept unless `drop_remainder`.
    pub fn window(&self, size: usize, shift: usize, drop_remainder: bool) -> Dataset {
        let (size, shift) = (size.max(1), shift.max(1));
        self.derive(move |mut it, _| {
            let mut buf: VecDeque<Elem> = VecDeque::with_capacity(size);
            let mut done = false;
            let mut skip = 0usize;
            Box::new(std::iter::from_fn(move || {
                while !done && buf.len() < size {
                    match it.next() {
                        Some(Ok(e)) if skip > 0 => {
                            skip -= 1;
                            drop(e)
                        }
                        Some(Ok(e)) => buf.push_back(e),
                        Some(Err(e)) => return Some(Err(e)),
                        None => done = true,
                    }
                }
                if buf.is_empty() || (buf.len() < size && drop_remainder) {
                    return None;
                }
                let items: Vec<Elem> = buf.iter().cloned().collect();
                let k = shift.min(buf.len());
                buf.drain(..k);
                skip = shift - k;
                Some(rows::stack(&items, &Pad::None))
            }))
        })
    }

    /// Repeats the dataset `count` times (each repetition is a new pass: shuffles reshuffle).
    pub fn repeat(&self, count: usize) -> Dataset {
        let parent = self.clone();
        Dataset::from_fn(move |epoch| {
            let parent = parent.clone();
            Box::new((0..count as u64).flat_map(move |r| parent.iter_epoch(mix(epoch, r))))
        })
    }

    /// Repeats the dataset without end.
    pub fn repeat_forever(&self) -> Dataset {
        let parent = self.clone();
        Dataset::from_fn(move |epoch| {
            let parent = parent.clone();
            Box::new((0u64..).flat_map(move |r| parent.iter_epoch(mix(epoch, r))))
        })
    }

    /// The first `n` elements.
    pub fn take(&self, n: usize) -> Dataset {
        self.derive(move |it, _| Box::new(it.take(n)))
    }

    /// All but the first `n` elements.
    pub fn skip(&self, n: usize) -> Dataset {
        self.derive(move |it, _| Box::new(it.skip(n)))
    }

    /// Pairs elements with those of `other` as tuples `(self, other)`; stops at the shorter.
    pub fn zip(&self, other: &Dataset) -> Dataset {
        Dataset::zip_all(&[self.clone(), other.clone()])
    }

    /// Tuples of the elements of several datasets; stops at the shortest.
    pub fn zip_all(datasets: &[Dataset]) -> Dataset {
        let ds = datasets.to_vec();
        Dataset::from_fn(move |epoch| {
            let mut its: Vec<ElemIter> = ds.iter().map(|d| d.iter_epoch(epoch)).collect();
            Box::new(std::iter::from_fn(move || {
                let mut out = Vec::with_capacity(its.len());
                for it in its.iter_mut() {
                    match it.next()? {
                        Ok(e) => out.push(e),
                        Err(e) => return Some(Err(e)),
                    }
                }
                Some(Ok(Elem::Tuple(out)))
            }))
        })
    }

    /// The elements of `self`, then those of `other`.
    pub fn concatenate(&self, other: &Dataset) -> Dataset {
        let (a, b) = (self.clone(), other.clone());
        Dataset::from_fn(move |epoch| Box::new(a.iter_epoch(epoch).chain(b.iter_epoch(epoch))))
    }

    /// Tuples `(index, element)` with an int64 scalar index counting from 0.
    pub fn enumerate(&self) -> Dataset {
        self.derive(|it, _| {
            Box::new(
                it.enumerate()
                    .map(|(i, r)| r.map(|e| Elem::Tuple(vec![Tensor::scalar(i as i64).into(), e]))),
            )
        })
    }

    /// Maps each element to a dataset and interleaves them: `cycle_length` datasets are open at
    /// once, and `block_length` consecutive elements are taken from each in turn (tf.data's
    /// `interleave`, deterministic order). Reading many files at once is the typical use.
    pub fn interleave(
        &self,
        cycle_length: usize,
        block_length: usize,
        f: impl Fn(Elem) -> Result<Dataset> + Send + Sync + 'static,
    ) -> Dataset {
        let f: Arc<dyn Fn(Elem) -> Result<Dataset> + Send + Sync> = Arc::new(f);
        let (cycle_length, block_length) = (cycle_length.max(1), block_length.max(1));
        self.derive(move |it, epoch| {
            Box::new(Interleave {
                src: Box::new(it.fuse()),
                f: f.clone(),
                slots: Vec::new(),
                pos: 0,
                taken: 0,
                cycle_length,
                block_length,
                epoch,
                src_done: false,
            })
        })
    }

    /// Keeps the elements in memory after the first complete pass; later passes replay them
    /// without running the stages above (decoding, parsing). An incomplete or failed first pass
    /// caches nothing.
    pub fn cache(&self) -> Dataset {
        let parent = self.clone();
        let store: Arc<Mutex<Option<Arc<Vec<Elem>>>>> = Arc::new(Mutex::new(None));
        Dataset::from_fn(move |epoch| {
            if let Some(v) = store.lock().expect("cache lock").clone() {
                return Box::new((0..v.len()).map(move |i| Ok(v[i].clone())));
            }
            let mut it = parent.iter_epoch(epoch);
            let store = store.clone();
            let mut seen = Some(Vec::new());
            Box::new(std::iter::from_fn(move || match it.next() {
                Some(Ok(e)) => {
                    if let Some(s) = seen.as_mut() {
                        s.push(e.clone());
                    }
                    Some(Ok(e))
                }
                Some(Err(e)) => {
                    seen = None;
                    Some(Err(e))
                }
                None => {
                    if let Some(s) = seen.take() {
                        *store.lock().expect("cache lock") = Some(Arc::new(s));
                    }
                    None
                }
            }))
        })
    }

    /// Like [`cache`](Self::cache), but in a file, so the cache outlives the process: the first
    /// complete pass writes `path` (atomically, via a temporary file), and while `path` exists
    /// every pass streams from it. Delete the file to rebuild.
    pub fn cache_file(&self, path: impl AsRef<Path>) -> Dataset {
        let parent = self.clone();
        let path = path.as_ref().to_path_buf();
        Dataset::from_fn(move |epoch| {
            if path.exists() {
                return crate::cachefile::read(&path);
            }
            crate::cachefile::write_through(parent.iter_epoch(epoch), &path)
        })
    }

    /// Runs the pipeline above on a background thread, keeping up to `buffer_size` elements
    /// ready, so loading overlaps with the training step.
    pub fn prefetch(&self, buffer_size: usize) -> Dataset {
        let n = buffer_size.max(1);
        self.derive(move |it, _| {
            let (tx, rx) = sync_channel::<Result<Elem>>(n);
            std::thread::Builder::new()
                .name("keen-data-prefetch".into())
                .spawn(move || {
                    for e in it {
                        if tx.send(e).is_err() {
                            break;
                        }
                    }
                })
                .expect("spawn prefetch thread");
            Box::new(Prefetch(rx))
        })
    }

    /// Splits into `(train, validation)`: each element goes to validation with probability
    /// `validation_fraction`, decided by a hash of `(seed, index)`, so the split is the same on
    /// every pass and every machine, and both halves stream. Split before shuffling.
    pub fn split(&self, validation_fraction: f64, seed: u64) -> (Dataset, Dataset) {
        let threshold = (validation_fraction.clamp(0.0, 1.0) * u64::MAX as f64) as u64;
        let side = |val: bool| {
            self.derive(move |it, _| {
                Box::new(it.enumerate().filter_map(move |(i, r)| {
                    let is_val = mix(seed, i as u64) < threshold;
                    (is_val == val).then_some(r)
                }))
            })
        };
        (side(false), side(true))
    }
}

struct Shuffle {
    src: ElemIter,
    buf: Vec<Elem>,
    rng: Rng,
    size: usize,
    filled: bool,
}

impl Iterator for Shuffle {
    type Item = Result<Elem>;
    fn next(&mut self) -> Option<Result<Elem>> {
        if !self.filled {
            while self.buf.len() < self.size {
                match self.src.next() {
                    Some(Ok(e)) => self.buf.push(e),
                    Some(Err(e)) => return Some(Err(e)),
                    None => break,
                }
            }
            self.filled = true;
        }
        if self.buf.is_empty() {
            return None;
        }
        let i = self.rng.below(self.buf.len());
        match self.src.next() {
            Some(Ok(e)) => Some(Ok(std::mem::replace(&mut self.buf[i], e))),
            Some(Err(e)) => Some(Err(e)),
            None => Some(Ok(self.buf.swap_remove(i))),
        }
    }
}

struct Interleave {
    src: ElemIter,
    f: Arc<dyn Fn(Elem) -> Result<Dataset> + Send + Sync>,
    slots: Vec<ElemIter>,
    pos: usize,
    taken: usize,
    cycle_length: usize,
    block_length: usize,
    epoch: u64,
    src_done: bool,
}

impl Interleave {
    fn open_next(&mut self) -> Option<Result<ElemIter>> {
        if self.src_done {
            return None;
        }
        match self.src.next() {
            Some(Ok(e)) => Some((self.f)(e).map(|d| d.iter_epoch(self.epoch))),
            Some(Err(e)) => Some(Err(e)),
            None => {
                self.src_done = true;
                None
            }
        }
    }
}

impl Iterator for Interleave {
    type Item = Result<Elem>;
    fn next(&mut self) -> Option<Result<Elem>> {
        loop {
            while self.slots.len() < self.cycle_length {
                match self.open_next() {
                    Some(Ok(it)) => self.slots.push(it),
                    Some(Err(e)) => return Some(Err(e)),
                    None => break,
                }
            }
            if self.slots.is_empty() {
                return None;
            }
            if self.pos >= self.slots.len() {
                self.pos = 0;
            }
            match self.slots[self.pos].next() {
                Some(x) => {
                    self.taken += 1;
                    if self.taken == self.block_length {
                        self.taken = 0;
                        self.pos += 1;
                    }
                    return Some(x);
                }
                None => {
                    // An exhausted input is replaced in the same slot, as tf.data does.
                    self.taken = 0;
                    match self.open_next() {
                        Some(Ok(it)) => self.slots[self.pos] = it,
                        Some(Err(e)) => {
                            drop(self.slots.remove(self.pos));
                            return Some(Err(e));
                        }
                        None => {
                            drop(self.slots.remove(self.pos));
                        }
                    }
                }
            }
        }
    }
}

struct Prefetch(Receiver<Result<Elem>>);

impl Iterator for Prefetch {
    type Item = Result<Elem>;
    fn next(&mut self) -> Option<Result<Elem>> {
        self.0.recv().ok()
    }
}
