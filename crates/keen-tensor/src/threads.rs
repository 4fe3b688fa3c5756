//! The threads keen's kernels split their work over.
//!
//! Kernels run on rayon's global pool. By default rayon starts one worker per CPU and leaves
//! the program's own thread outside the pool: every parallel op then hands all of its work to
//! the workers and puts the caller to sleep until they finish, two context switches per op.
//! A training step is thousands of ops, and on the 2-core machine these switches were a fifth
//! of the DCGAN, seq2seq and MLP steps (perf: the scheduler's `finish_task_switch` and rayon's
//! cold-path latches). PyTorch's OpenMP team works the same way keen now does: the calling
//! thread is one of the team and takes its share of each op.
//!
//! So the first tensor made on the program's main thread builds the pool with the main
//! thread as worker 0, plus one worker per remaining CPU (or `RAYON_NUM_THREADS` in all).
//! [`set_num_threads`] chooses the count explicitly; call it before the first tensor. A pool
//! built by the program itself (`rayon::ThreadPoolBuilder::build_global`) before that is left
//! as it is, and so is every thread but main, which may end before the process does.
//!
//! ```
//! // At the top of main, before any tensor exists (a no-op error after that):
//! let _ = keen_tensor::threads::set_num_threads(2);
//! let x = keen_tensor::Tensor::ones([1000, 1000], keen_tensor::DType::Float32);
//! assert!(keen_tensor::threads::num_threads() >= 1);
//! # let _ = x;
//! ```

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Set once the pool is settled: built here, or found built by the program.
static SETTLED: AtomicBool = AtomicBool::new(false);
/// Serialises settling (two threads making their first tensors at once).
static SETTLING: Mutex<()> = Mutex::new(());

/// Why [`set_num_threads`] could not size the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadsError {
    /// The pool was already running (`threads` workers) when asked.
    AlreadyRunning {
        /// The pool's size.
        threads: usize,
    },
    /// The operating system refused to start the workers.
    Spawn(String),
}

impl fmt::Display for ThreadsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThreadsError::AlreadyRunning { threads } => write!(
                f,
                "set_num_threads: the thread pool is already running with {threads} thread(s); \
                 call it at the start of main, before the first tensor is made"
            ),
            ThreadsError::Spawn(e) => write!(f, "set_num_threads: could not start threads: {e}"),
        }
    }
}

impl std::error::Error for ThreadsError {}

/// Sizes keen's thread pool to `n` threads (0: one per CPU, or `RAYON_NUM_THREADS`), the
/// calling thread being one of them: it takes a share of every op it runs. Call it once, at
/// the start of the thread that will run the model (normally main) and before the first
/// tensor is made, as `torch.set_num_threads`; later it is an error and changes nothing.
pub fn set_num_threads(n: usize) -> Result<(), ThreadsError> {
    let _guard = SETTLING.lock().unwrap_or_else(|e| e.into_inner());
    if SETTLED.load(Ordering::Acquire) {
        return Err(ThreadsError::AlreadyRunning {
            threads: rayon::current_num_threads(),
        });
    }
    let built = build(n);
    SETTLED.store(true, Ordering::Release);
    built
}

/// The number of threads a parallel op is split over.
pub fn num_threads() -> usize {
    rayon::current_num_threads()
}

/// Builds the pool around the main thread the first time main makes a tensor; one atomic
/// load after that (and one thread-local read per tensor made on other threads before it).
#[inline]
pub(crate) fn adopt_main_thread() {
    if !SETTLED.load(Ordering::Acquire) {
        first_tensor_of_thread();
    }
}

#[cold]
fn first_tensor_of_thread() {
    thread_local!(static SEEN: Cell<bool> = const { Cell::new(false) });
    if SEEN.replace(true) {
        return;
    }
    // Only main lives as long as the process; a worker 0 that exits would leave its share of
    // every op to the others. Other threads (a data loader, a test) leave the pool to main.
    if std::thread::current().name() != Some("main") {
        return;
    }
    let _guard = SETTLING.lock().unwrap_or_else(|e| e.into_inner());
    if !SETTLED.load(Ordering::Acquire) {
        // An error means the program (or a parallel op on another thread) built the pool.
        let _ = build(0);
        SETTLED.store(true, Ordering::Release);
    }
}

fn build(n: usize) -> Result<(), ThreadsError> {
    let result = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .use_current_thread()
        .thread_name(|i| format!("keen-worker-{i}"))
        .build_global();
    match result {
        Ok(()) => Ok(()),
        // Only a failure to spawn carries a source (the io::Error); the others mean a pool
        // exists already (global, or one the calling thread belongs to).
        Err(e) => match std::error::Error::source(&e) {
            Some(_) => Err(ThreadsError::Spawn(e.to_string())),
            None => Err(ThreadsError::AlreadyRunning {
                threads: rayon::current_num_threads(),
            }),
        },
    }
}
