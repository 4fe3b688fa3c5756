//! Order-preserving parallel map on worker threads.
//!
//! A reader thread numbers the input elements and hands them to `n` workers through a bounded
//! channel; the consumer puts results back in input order with a small reorder buffer. Memory is
//! bounded by the channel sizes (about 4 elements per worker). Dropping the iterator stops the
//! threads: their sends fail and they return.

use crate::dataset::{ElemIter, MapFn};
use crate::element::Elem;
use crate::error::Result;
use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

pub(crate) fn ordered_map(src: ElemIter, n: usize, epoch: u64, f: Arc<MapFn>) -> ElemIter {
    let (job_tx, job_rx) = sync_channel::<(u64, Result<Elem>)>(2 * n);
    let (out_tx, out_rx) = sync_channel::<(u64, Result<Elem>)>(2 * n);
    let job_rx = Arc::new(Mutex::new(job_rx));
    std::thread::Builder::new()
        .name("keen-data-map-reader".into())
        .spawn(move || {
            for (i, e) in src.enumerate() {
                if job_tx.send((i as u64, e)).is_err() {
                    break;
                }
            }
        })
        .expect("spawn map reader");
    for w in 0..n {
        let job_rx = job_rx.clone();
        let out_tx = out_tx.clone();
        let f = f.clone();
        std::thread::Builder::new()
            .name(format!("keen-data-map-{w}"))
            .spawn(move || loop {
                let job = job_rx.lock().expect("job lock").recv();
                let Ok((i, e)) = job else { break };
                let r = e.and_then(|e| f(epoch, i, e));
                if out_tx.send((i, r)).is_err() {
                    break;
                }
            })
            .expect("spawn map worker");
    }
    drop(out_tx);
    Box::new(Ordered {
        rx: out_rx,
        pending: BTreeMap::new(),
        next: 0,
    })
}

struct Ordered {
    rx: Receiver<(u64, Result<Elem>)>,
    pending: BTreeMap<u64, Result<Elem>>,
    next: u64,
}

impl Iterator for Ordered {
    type Item = Result<Elem>;
    fn next(&mut self) -> Option<Result<Elem>> {
        loop {
            if let Some(r) = self.pending.remove(&self.next) {
                self.next += 1;
                return Some(r);
            }
            match self.rx.recv() {
                Ok((i, r)) => {
                    self.pending.insert(i, r);
                }
                // Every worker has finished: the stream ended (pending is empty by then).
                Err(_) => return None,
            }
        }
    }
}
