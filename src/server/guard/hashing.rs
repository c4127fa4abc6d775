//! A cap on the password hashes (PBKDF2) computed at once, server-wide.
//! Each costs a core for a fifth of a second, so more of them at once than
//! there are cores only makes every one of them slower, and the chat with
//! them. Waiters queue in two lanes: the first lane (callers with a clean
//! record, likely the account's owner) is served before the second, each
//! in arrival order. A full lane, or a wait past its limit, is a refusal
//! the caller answers with `429`.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Which queue a caller waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Served before anyone in `Second`.
    First,
    /// Served when nobody waits in `First`.
    Second,
}

/// The hashing slots and the queues of those waiting for one.
#[derive(Debug)]
pub struct Hashing {
    state: Mutex<Queue>,
    freed: Condvar,
    slots: usize,
    /// Most callers waiting in each lane.
    max_waiting: usize,
}

#[derive(Debug, Default)]
struct Queue {
    busy: usize,
    /// Tickets of the waiters of each lane, in arrival order.
    first: VecDeque<u64>,
    second: VecDeque<u64>,
    next_ticket: u64,
}

impl Queue {
    /// The ticket to be served next.
    fn next(&self) -> Option<u64> {
        self.first.front().or(self.second.front()).copied()
    }

    fn lane(&mut self, lane: Lane) -> &mut VecDeque<u64> {
        match lane {
            Lane::First => &mut self.first,
            Lane::Second => &mut self.second,
        }
    }
}

/// A hashing slot, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    hashing: Arc<Hashing>,
}

impl Hashing {
    /// `slots` hashes at once (at least one), and at most `max_waiting`
    /// callers waiting in each lane.
    pub fn new(slots: usize, max_waiting: usize) -> Hashing {
        Hashing {
            state: Mutex::new(Queue::default()),
            freed: Condvar::new(),
            slots: slots.max(1),
            max_waiting,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // The queue is consistent after every statement: a panic elsewhere
        // while holding it leaves nothing half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a slot, waiting up to `wait` in `lane` for one, behind those
    /// of its lane who came first and anyone in the first lane; `None`
    /// when the lane is full or the wait ran out.
    pub fn acquire(self: &Arc<Self>, lane: Lane, wait: Duration) -> Option<Slot> {
        let deadline = Instant::now() + wait;
        let mut q = self.lock();
        if q.next().is_none() && q.busy < self.slots {
            q.busy += 1;
            return Some(Slot {
                hashing: Arc::clone(self),
            });
        }
        if q.lane(lane).len() >= self.max_waiting {
            return None;
        }
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.lane(lane).push_back(ticket);
        loop {
            if q.next() == Some(ticket) && q.busy < self.slots {
                q.lane(lane).pop_front();
                q.busy += 1;
                // The next in line may find a slot free too.
                self.freed.notify_all();
                return Some(Slot {
                    hashing: Arc::clone(self),
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                q.lane(lane).retain(|&t| t != ticket);
                // Whoever was behind may now be first.
                self.freed.notify_all();
                return None;
            }
            q = self
                .freed
                .wait_timeout(q, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Slots in use and callers waiting (both lanes), for tests and the console.
    pub fn load(&self) -> (usize, usize) {
        let q = self.lock();
        (q.busy, q.first.len() + q.second.len())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut q = self.hashing.lock();
        q.busy = q.busy.saturating_sub(1);
        drop(q);
        self.hashing.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread;

    #[test]
    fn slots_are_capped_and_given_back() {
        let h = Arc::new(Hashing::new(2, 0));
        let a = h.acquire(Lane::Second, Duration::ZERO).unwrap();
        let _b = h.acquire(Lane::Second, Duration::ZERO).unwrap();
        assert!(
            h.acquire(Lane::First, Duration::from_millis(10)).is_none(),
            "no queue"
        );
        drop(a);
        assert!(h.acquire(Lane::Second, Duration::ZERO).is_some());
        assert_eq!(Hashing::new(0, 0).slots, 1, "at least one");
    }

    #[test]
    fn a_full_lane_refuses_at_once_and_a_long_wait_gives_up() {
        let h = Arc::new(Hashing::new(1, 1));
        let _held = h.acquire(Lane::Second, Duration::ZERO).unwrap();
        thread::scope(|s| {
            let (tx, rx) = mpsc::channel();
            let h2 = &h;
            s.spawn(move || {
                let waited = h2.acquire(Lane::Second, Duration::from_millis(300));
                tx.send(waited.is_some()).unwrap();
            });
            // Wait until the first waiter is queued.
            while h.load().1 == 0 {
                thread::yield_now();
            }
            assert!(
                h.acquire(Lane::Second, Duration::from_secs(60)).is_none(),
                "lane full"
            );
            assert!(!rx.recv().unwrap(), "its wait ran out");
        });
        assert_eq!(h.load(), (1, 0), "the timed-out waiter left the queue");
    }

    #[test]
    fn the_first_lane_goes_first_and_each_lane_in_arrival_order() {
        let h = Arc::new(Hashing::new(1, 8));
        let held = h.acquire(Lane::Second, Duration::ZERO).unwrap();
        let order = Mutex::new(Vec::new());
        let lanes = [
            Lane::Second,
            Lane::Second,
            Lane::First,
            Lane::Second,
            Lane::First,
        ];
        thread::scope(|s| {
            for (i, lane) in lanes.into_iter().enumerate() {
                // Queue them one after the other.
                while h.load().1 < i {
                    thread::yield_now();
                }
                let (h, order) = (&h, &order);
                s.spawn(move || {
                    let _slot = h.acquire(lane, Duration::from_secs(10)).unwrap();
                    order.lock().unwrap().push(i);
                });
            }
            while h.load().1 < lanes.len() {
                thread::yield_now();
            }
            drop(held);
        });
        assert_eq!(*order.lock().unwrap(), [2, 4, 0, 1, 3]);
    }
}
