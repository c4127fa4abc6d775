//! How far this node's stream reader has delivered, and the senders
//! waiting for it to reach their own messages.
//!
//! A sender learns its message's local number (for its `200`) once the
//! reader has stored and delivered it here. Each waiting sender is woken
//! only once the reader has passed its entry: one condition for all woke
//! every waiting sender at every batch, to find most of them still early.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::cluster::StreamId;

/// Own messages whose local number nobody collected (a sender that gave
/// up waiting); past this the record of them is dropped.
const MAX_UNCLAIMED: usize = 65_536;

#[derive(Default)]
pub(super) struct Progress {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last: Option<StreamId>,
    /// This node's own messages delivered, by ID, to their local number.
    own: HashMap<StreamId, u64>,
    /// Threads to wake once the reader has passed an entry.
    waiting: Vec<(StreamId, Thread)>,
}

impl Progress {
    /// The last entry delivered here.
    pub(super) fn last(&self) -> Option<StreamId> {
        self.state().last
    }

    /// Has `thread` woken once the reader has passed `id` (at once if it
    /// already has).
    pub(super) fn wake_when_applied(&self, id: StreamId, thread: Thread) {
        let mut state = self.state();
        if state.last.is_some_and(|last| last >= id) {
            drop(state);
            thread.unpark();
        } else {
            state.waiting.push((id, thread));
        }
    }

    /// Waits up to `timeout` until the reader has delivered entry `id`;
    /// its local number if it was this node's own message.
    pub(super) fn wait(&self, id: StreamId, timeout: Duration) -> Option<u64> {
        let deadline = Instant::now() + timeout;
        let me = thread::current();
        let mut state = self.state();
        let mut listed = false;
        loop {
            if state.last.is_some_and(|last| last >= id) {
                // `applied` took it off the list when it woke it.
                return state.own.remove(&id);
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                state.forget(&me);
                return None;
            };
            if !listed {
                state.waiting.push((id, me.clone()));
                listed = true;
            }
            drop(state);
            // Woken by `applied`, or early for no reason: look again.
            thread::park_timeout(left);
            state = self.state();
        }
    }

    /// Forgets `thread`'s wait (it gave up).
    pub(super) fn forget(&self, thread: &Thread) {
        self.state().forget(thread);
    }

    /// The reader delivered every entry up to `last`, among them `own`:
    /// this node's own messages with their local numbers. Wakes the
    /// senders waiting for those entries, and only them.
    pub(super) fn applied(&self, own: &[(StreamId, u64)], last: StreamId) {
        let mut state = self.state();
        state.last = Some(last);
        if state.own.len() + own.len() > MAX_UNCLAIMED {
            state.own.clear();
        }
        state.own.extend(own.iter().copied());
        let (due, still): (Vec<_>, Vec<_>) = std::mem::take(&mut state.waiting)
            .into_iter()
            .partition(|(id, _)| *id <= last);
        state.waiting = still;
        drop(state);
        for (_, thread) in due {
            thread.unpark();
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn forget(&mut self, thread: &Thread) {
        self.waiting.retain(|(_, t)| t.id() != thread.id());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_waiter_is_woken_when_the_reader_passes_its_entry_not_before() {
        let progress = Arc::new(Progress::default());
        let (early, mine) = (StreamId::new(4, 0), StreamId::new(5, 0));
        let waiter = {
            let progress = Arc::clone(&progress);
            thread::spawn(move || progress.wait(mine, Duration::from_secs(10)))
        };
        while progress.state().waiting.is_empty() {
            thread::yield_now();
        }
        progress.applied(&[], early);
        assert_eq!(progress.state().waiting.len(), 1, "still waiting for 5-0");
        progress.applied(&[(mine, 17)], mine);
        assert_eq!(waiter.join().unwrap(), Some(17));
        assert!(progress.state().waiting.is_empty());
        assert_eq!(progress.wait(mine, Duration::ZERO), None, "collected once");
    }

    #[test]
    fn a_waiter_that_gives_up_is_forgotten() {
        let progress = Progress::default();
        assert_eq!(
            progress.wait(StreamId::new(9, 0), Duration::from_millis(5)),
            None
        );
        assert!(progress.state().waiting.is_empty());
        progress.wake_when_applied(StreamId::new(9, 0), thread::current());
        progress.forget(&thread::current());
        assert!(progress.state().waiting.is_empty());
    }

    #[test]
    fn wake_when_applied_wakes_at_once_when_the_reader_is_past() {
        let progress = Progress::default();
        progress.applied(&[], StreamId::new(9, 0));
        progress.wake_when_applied(StreamId::new(3, 0), thread::current());
        assert!(progress.state().waiting.is_empty());
        // The token it left makes this return at once.
        let started = Instant::now();
        thread::park_timeout(Duration::from_secs(5));
        assert!(started.elapsed() < Duration::from_secs(4));
    }
}
