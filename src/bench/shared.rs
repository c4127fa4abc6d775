//! The state every reader and sender thread updates: delivery and reply
//! counters, the merged latency histogram and the run's first failure.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::stats::Histogram;

/// Counters every reader and sender updates, and the run's first failure.
pub(crate) struct Shared {
    /// Send times are nanoseconds since this instant.
    pub(crate) origin: Instant,
    pub(crate) deliveries: AtomicU64,
    /// Deliveries for another room than the reader's.
    pub(crate) misrouted: AtomicU64,
    /// Deliveries whose body did not start with a send time.
    pub(crate) malformed: AtomicU64,
    pub(crate) first_send_ns: AtomicU64,
    pub(crate) last_delivery_ns: AtomicU64,
    pub(crate) replies_ok: AtomicU64,
    pub(crate) replies_rejected: AtomicU64,
    /// Every reader's latencies, merged in as it stops.
    pub(crate) latency: Mutex<Histogram>,
    /// Live deliveries per client, to say who missed what.
    pub(crate) per_client: Vec<AtomicU64>,
    /// Connections whose reading is over (closed after QUIT, or failed).
    pub(crate) readers_done: AtomicUsize,
    /// Set once QUIT has been sent: a closing connection is then expected.
    pub(crate) quitting: AtomicBool,
    /// The reader threads return at their next wake-up.
    pub(crate) stop: AtomicBool,
    pub(crate) failure: Mutex<Option<String>>,
}

impl Shared {
    pub(crate) fn new(clients: usize) -> Shared {
        Shared {
            per_client: (0..clients).map(|_| AtomicU64::new(0)).collect(),
            origin: Instant::now(),
            deliveries: AtomicU64::new(0),
            misrouted: AtomicU64::new(0),
            malformed: AtomicU64::new(0),
            first_send_ns: AtomicU64::new(u64::MAX),
            last_delivery_ns: AtomicU64::new(0),
            replies_ok: AtomicU64::new(0),
            replies_rejected: AtomicU64::new(0),
            latency: Mutex::new(Histogram::new()),
            readers_done: AtomicUsize::new(0),
            quitting: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            failure: Mutex::new(None),
        }
    }

    /// Live deliveries so far, per client.
    pub(crate) fn per_client_counts(&self) -> Vec<u64> {
        self.per_client
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// Nanoseconds since `origin`.
    pub(crate) fn now_ns(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records `message` unless an earlier failure was recorded.
    pub(crate) fn fail(&self, message: String) {
        let mut failure = lock(&self.failure);
        if failure.is_none() {
            *failure = Some(message);
        }
    }

    /// The first failure, if any.
    pub(crate) fn failure(&self) -> Option<String> {
        lock(&self.failure).clone()
    }
}

/// Locks a mutex; a panicked holder cannot leave our plain data inconsistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
