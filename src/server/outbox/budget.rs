//! The memory every client queue holds together, and its ceiling. Each
//! queue charges what its items really cost (the frame, the allocation
//! around it, its slot in the queue); when the total passes the ceiling,
//! the queues holding the most are cut off first ("send queue exceeded"),
//! so one script that floods and never reads cannot take the server's
//! memory from everybody else.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::Shared;

/// Bytes a queued frame of `len` bytes really holds: the bytes and the
/// reference counts of its `Arc<[u8]>`, rounded up as the allocator does
/// (16-byte steps, an 8-byte header), and the queue slot pointing to it.
/// A frame shared by many queues is charged to each in full: whichever
/// queue holds it last keeps all of it alive.
pub fn charge(len: usize) -> usize {
    const ARC_COUNTS: usize = 16;
    const MALLOC_HEADER: usize = 8;
    (len + ARC_COUNTS + MALLOC_HEADER).div_ceil(16) * 16 + SLOT_BYTES
}

/// A queue slot, counted in every queue that holds a frame.
pub const SLOT_BYTES: usize = 16;

/// The largest step a queue reports in: 16 KiB, so 10,000 queues each just
/// under a step are 160 MB the total does not see (the default ceiling's
/// step is 16 KiB; a smaller ceiling has smaller steps).
const MAX_STEP: usize = 16 * 1024;

/// The shared account of queued bytes.
pub struct Budget {
    total: AtomicUsize,
    ceiling: usize,
    /// How far a queue's holding moves before it tells the total.
    step: usize,
    /// Every queue, to find the largest when the ceiling is passed.
    queues: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    queues: Vec<Weak<Shared>>,
    /// Registrations since dead entries were last swept out.
    since_sweep: usize,
}

impl Budget {
    /// A budget of `ceiling` bytes for all queues together.
    pub fn new(ceiling: usize) -> Arc<Budget> {
        Arc::new(Budget {
            total: AtomicUsize::new(0),
            ceiling,
            step: (ceiling / 1024).clamp(64, MAX_STEP),
            queues: Mutex::new(Registry::default()),
        })
    }

    /// How far a queue's holding moves before the total hears of it.
    pub fn step(&self) -> usize {
        self.step
    }

    /// Bytes charged by all queues now.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    pub(super) fn register(&self, queue: Weak<Shared>) {
        let mut registry = self.registry();
        registry.queues.push(queue);
        registry.since_sweep += 1;
        if registry.since_sweep >= registry.queues.len() / 2 + 64 {
            registry.queues.retain(|q| q.strong_count() > 0);
            registry.since_sweep = 0;
        }
    }

    /// Charges `bytes`; `true` when the total is now over the ceiling.
    pub(super) fn add(&self, bytes: usize) -> bool {
        self.total.fetch_add(bytes, Ordering::Relaxed) + bytes > self.ceiling
    }

    pub(super) fn sub(&self, bytes: usize) {
        self.total.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Cuts off the queues that hold the most until the total is back
    /// under nine tenths of the ceiling. One thread does it at a time; the
    /// others go on (the one at work will bring the total down).
    pub(super) fn shed(&self) {
        let Ok(registry) = self.queues.try_lock() else {
            return;
        };
        let mut live: Vec<(usize, Arc<Shared>)> = registry
            .queues
            .iter()
            .filter_map(Weak::upgrade)
            .map(|q| (q.held_bytes(), q))
            .collect();
        drop(registry);
        live.sort_unstable_by_key(|(bytes, _)| std::cmp::Reverse(*bytes));
        let target = self.ceiling / 10 * 9;
        for (_, queue) in live {
            if self.total() <= target {
                break;
            }
            queue.overflow();
        }
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_costs_its_bytes_its_allocation_and_its_slot() {
        assert_eq!(charge(0), 32 + 16);
        assert_eq!(charge(8), 32 + 16);
        assert_eq!(charge(9), 48 + 16);
        assert_eq!(charge(1000), 1024 + 16);
        // A small frame really costs twice its bytes.
        assert_eq!(charge(40), 80);
    }
}
