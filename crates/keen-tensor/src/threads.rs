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
//! While main makes tensors, the other workers stay awake looking for work for a few
//! milliseconds after their last job (`KEEN_STAY_AWAKE_MS`, default 5; 0 lets them sleep at
//! once), as OpenMP's threads spin between parallel regions: waking a sleeping worker for each
//! small op cost more than the op (the MLP step went from 2.0 to 1.3–1.6 ms).
//!
//! ```no_run
//! // At the top of main, before any tensor exists (an error that changes nothing after that).
//! // Not run as a doc test: doc tests share a process, and its pool is sized once.
//! let _ = keen_tensor::threads::set_num_threads(2);
//! let x = keen_tensor::Tensor::ones([1000, 1000], keen_tensor::DType::Float32);
//! assert!(keen_tensor::threads::num_threads() >= 1);
//! # let _ = x;
//! ```

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Set once the pool is settled: built here, or found built by the program.
static SETTLED: AtomicBool = AtomicBool::new(false);
/// Serialises settling (two threads making their first tensors at once).
static SETTLING: Mutex<()> = Mutex::new(());
/// Set when the pool was built here around the calling thread (worker 0).
static ADOPTED: AtomicBool = AtomicBool::new(false);
/// Helpers now looking for work instead of sleeping (see [`keep_helpers_awake`]).
static AWAKE: AtomicUsize = AtomicUsize::new(0);
/// How long a helper keeps looking for work after its last job before it may sleep, unless
/// `KEEN_STAY_AWAKE_MS` says otherwise (0: never). PyTorch's OpenMP threads spin 200 ms
/// (`KMP_BLOCKTIME`); a few milliseconds cover the serial gaps between the ops of a training
/// step without holding a core long when the program pauses.
fn stay_awake_for() -> Duration {
    static AFTER: OnceLock<Duration> = OnceLock::new();
    *AFTER.get_or_init(|| {
        let ms = std::env::var("KEEN_STAY_AWAKE_MS")
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .unwrap_or(5.0);
        Duration::from_secs_f64(ms / 1e3)
    })
}

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

/// Builds the pool around the main thread the first time main makes a tensor (one atomic
/// load after that, and one thread-local read per tensor made on other threads before it),
/// and keeps the other workers awake while main is making tensors.
#[inline]
pub(crate) fn adopt_main_thread() {
    if !SETTLED.load(Ordering::Acquire) {
        first_tensor_of_thread();
    }
    if ADOPTED.load(Ordering::Relaxed) && AWAKE.load(Ordering::Relaxed) == 0 {
        keep_helpers_awake();
    }
}

/// A rayon worker that runs out of work sleeps after a few dozen yields, and waking it costs
/// both cores a context switch: with thousands of small parallel ops per step, that was most
/// of what rayon added on the 2-core machine (perf: `finish_task_switch`, futex wakes). While
/// worker 0 (main) makes tensors, each other worker runs a job that takes pool work as it
/// appears and returns after [`stay_awake_for`] without any, as OpenMP's spinning team does.
#[cold]
fn keep_helpers_awake() {
    if rayon::current_thread_index() != Some(0) {
        return;
    }
    let helpers = rayon::current_num_threads().saturating_sub(1);
    if helpers == 0
        || stay_awake_for().is_zero()
        || AWAKE
            .compare_exchange(0, helpers, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    for _ in 0..helpers {
        rayon::spawn(stay_awake);
    }
}

fn stay_awake() {
    // Main may pop this job from its own queue while it waits for a stolen half: it must not
    // stay here, since it is the thread that makes the work.
    if rayon::current_thread_index() != Some(0) {
        let limit = stay_awake_for();
        let mut last = Instant::now();
        let mut idle_polls = 0u32;
        loop {
            match rayon::yield_now() {
                Some(rayon::Yield::Executed) => {
                    last = Instant::now();
                    idle_polls = 0;
                }
                Some(rayon::Yield::Idle) => {
                    idle_polls += 1;
                    // The clock is read every 64th idle poll: reading it each time was a
                    // fifth of what an idle helper did.
                    if idle_polls.is_multiple_of(64) && last.elapsed() >= limit {
                        break;
                    }
                    for _ in 0..8 {
                        std::hint::spin_loop();
                    }
                }
                None => break,
            }
        }
    }
    AWAKE.fetch_sub(1, Ordering::AcqRel);
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
        Ok(()) => {
            ADOPTED.store(true, Ordering::Release);
            Ok(())
        }
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
