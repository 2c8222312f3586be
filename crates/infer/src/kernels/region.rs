//! One parallel region per decoded token: the threads of the current rayon pool run the
//! same list of steps, each step's work cut into chunks that whichever thread asks first
//! takes, and a step starts only when every chunk of the one before is done. OWNER:
//! generator.
//!
//! Why not a rayon fork-join per product (what prefill does): decoding one token of
//! Qwen2.5-0.5B is ~120 small products and as many small serial steps (norms, RoPE,
//! quantizing the activations). Each `par_iter` hands work to the other threads and joins
//! them again; between products they spin down or sleep, and waking one costs tens of
//! microseconds on a VM. llama.cpp's CPU backend keeps its threads in one region per graph
//! and separates the ops with a spinning barrier (`ggml_barrier`).
//!
//! Why chunks counted as done instead of a barrier of threads: on a shared machine (two
//! cores, someone else's build) the OS takes a core away for milliseconds at a time. A
//! barrier waits for the thread that is not running at every step (llama.cpp's decoding
//! drops from ~24 to ~4 tok/s with one busy core beside it); here a step waits only for the
//! chunks it handed out, so the thread that runs does all the work of the steps the other
//! misses, and a late thread finds the chunks taken and catches up without work.
//!
//! Determinism: a chunk is computed by one thread in a fixed order whichever thread takes
//! it, so results do not depend on the number of threads.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Spins this many times waiting for a step before yielding the CPU: long enough to cover
/// another thread finishing a chunk (microseconds), short enough not to keep the core from a
/// thread the OS wants to run there.
const SPINS_BEFORE_YIELD: u32 = 1 << 12;

/// The counters of one step, on a cache line of their own.
#[derive(Default)]
#[repr(align(64))]
struct Step {
    /// Chunks handed out so far (may run past the number of chunks).
    claimed: AtomicUsize,
    /// Chunks finished.
    done: AtomicUsize,
}

/// Counts a chunk as done when dropped, also when its work panics (so that the other
/// threads do not wait forever; the panic reaches the caller when the region ends).
struct Finish<'a>(&'a AtomicUsize);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

/// What a thread of a region sees of it.
pub struct Region<'a> {
    /// Threads of the pool running the region (at most; some may join late or not at all).
    pub threads: usize,
    steps: &'a [Step],
    /// The next step this thread enters.
    next: std::cell::Cell<usize>,
}

impl Region<'_> {
    /// Calls `f(start, end)` for chunks of `0..n` of `chunk` items, each chunk taken by the
    /// first thread to ask for it, and returns when all chunks are done (by any thread).
    /// Every thread of the region must go through the same steps in the same order.
    pub fn chunks(&self, n: usize, chunk: usize, mut f: impl FnMut(usize, usize)) {
        let i = self.next.get();
        self.next.set(i + 1);
        let step = &self.steps[i];
        let chunk = chunk.max(1);
        let total = n.div_ceil(chunk);
        loop {
            let c = step.claimed.fetch_add(1, Ordering::Relaxed);
            if c >= total {
                break;
            }
            let _finish = Finish(&step.done);
            f(c * chunk, ((c + 1) * chunk).min(n));
        }
        // Acquire: pairs with each chunk's Release, so its writes are seen from here on.
        let mut spins = 0u32;
        while step.done.load(Ordering::Acquire) < total {
            if spins < SPINS_BEFORE_YIELD {
                spins += 1;
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// Runs `f` on one thread (the first to get here), then returns on all of them once it
    /// is done.
    pub fn single(&self, f: impl FnOnce()) {
        let mut f = Some(f);
        self.chunks(1, 1, |_, _| {
            if let Some(f) = f.take() {
                f()
            }
        });
    }
}

/// Runs `f` on the calling thread and, as they are free, on the other threads of the current
/// rayon pool, with room for `steps` steps ([`Region::chunks`], [`Region::single`]) per
/// thread. Returns when every thread has left `f`.
pub fn run(steps: usize, f: impl Fn(&Region) + Sync) {
    let threads = rayon::current_num_threads().max(1);
    let counters: Vec<Step> = (0..steps).map(|_| Step::default()).collect();
    let body = || {
        let r = Region {
            threads,
            steps: &counters,
            next: std::cell::Cell::new(0),
        };
        f(&r);
    };
    if threads == 1 {
        body();
    } else {
        // The helpers are spawned, not broadcast: one that no thread has picked up by the
        // time the caller finishes is run by the caller itself at the end of the scope, and
        // finds nothing left to do.
        rayon::in_place_scope(|s| {
            for _ in 1..threads {
                s.spawn(|_| body());
            }
            body();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunk_is_taken_once_and_steps_follow_each_other() {
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let hits: Vec<AtomicUsize> = (0..1000).map(|_| AtomicUsize::new(0)).collect();
            let singles = AtomicUsize::new(0);
            pool.install(|| {
                run(3, |r| {
                    r.chunks(1000, 7, |a, b| {
                        for h in &hits[a..b] {
                            h.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                    // Once the step has returned, every chunk of it is done.
                    let done: usize = hits.iter().map(|h| h.load(Ordering::Relaxed)).sum();
                    assert_eq!(done, 1000);
                    r.single(|| {
                        singles.fetch_add(1, Ordering::Relaxed);
                    });
                    assert_eq!(singles.load(Ordering::Relaxed), 1);
                    r.chunks(10, 1, |_, _| {});
                });
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        }
    }
}
