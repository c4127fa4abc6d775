//! Room messages on their way into the stream, many senders' at once.
//!
//! Each sender used to hold one of a few shared connections for its own
//! `XADD`'s round trip: in a flood, fifty senders queued on four locks,
//! each slept on the lock and again on the reply, and Redis answered one
//! command per read. Now one thread owns a connection for appends. A
//! sender leaves its `XADD` in the queue and waits; the thread sends all
//! that is waiting as one pipeline (one write, one round trip, in queue
//! order, so one client's messages keep their order) and hands each
//! sender its own reply. A sender whose message went in is not woken for
//! that: it waits on to learn its local number once the stream reader has
//! delivered the message (see `progress`), so it is woken once, not twice.

use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::cluster::resp::Command;
use crate::cluster::{xadd_reply, Client, Reconnecting, RedisError, StreamId};

use super::progress::Progress;

/// Commands sent in one pipeline at most (a longer queue waits for the next).
const MAX_BATCH: usize = 512;
/// How often an idle append thread checks whether its link is gone.
const IDLE_CHECK: Duration = Duration::from_secs(1);
/// The longest a sender sleeps at a time: one whose message is in Redis
/// but not yet delivered here returns within this to wait for the reader
/// itself (with the caller's own bound on that wait).
const NAP: Duration = Duration::from_secs(1);

/// The queue of appends and the thread that sends them.
pub(super) struct Appender {
    queue: Mutex<Vec<Pending>>,
    /// Wakes the thread when the queue stops being empty.
    work: Condvar,
    progress: Arc<Progress>,
    /// The longest a sender waits for its reply: the thread's own
    /// connection times out well before, so this only guards against the
    /// thread being gone.
    wait: Duration,
}

struct Pending {
    command: Command,
    ticket: Arc<Ticket>,
}

/// One sender's place: its reply, once the thread has it.
struct Ticket {
    outcome: Mutex<Option<Result<StreamId, RedisError>>>,
    sender: Thread,
}

impl Ticket {
    /// Gives the sender its reply: an error at once, an ID once the
    /// reader has delivered that entry here.
    fn settle(&self, outcome: Result<StreamId, RedisError>, progress: &Progress) {
        let added = outcome.as_ref().ok().copied();
        *lock(&self.outcome) = Some(outcome);
        match added {
            Some(id) => progress.wake_when_applied(id, self.sender.clone()),
            None => self.sender.unpark(),
        }
    }
}

impl Appender {
    /// Starts the append thread on `conn`; senders wait at most `wait` for
    /// Redis' reply.
    ///
    /// # Errors
    /// The thread could not be started.
    pub(super) fn start(
        conn: Reconnecting<Client>,
        progress: Arc<Progress>,
        wait: Duration,
    ) -> io::Result<Arc<Appender>> {
        let appender = Arc::new(Appender {
            queue: Mutex::new(Vec::new()),
            work: Condvar::new(),
            progress,
            wait,
        });
        let worker = Arc::clone(&appender);
        thread::Builder::new()
            .name("cluster-append".into())
            .spawn(move || worker.run(conn))?;
        Ok(appender)
    }

    /// Sends `xadds` (in order, one after the other in the pipeline) with
    /// the others waiting and returns their replies: each ID usually once
    /// the reader has delivered that entry here too.
    ///
    /// Each is Redis' answer to that command, or the pipeline's error for
    /// all of them; `Unavailable` for one that had not been sent when the
    /// thread did not answer in time (it then never is).
    pub(super) fn append_all(&self, xadds: Vec<Command>) -> Vec<Result<StreamId, RedisError>> {
        let me = thread::current();
        let tickets: Vec<Arc<Ticket>> = xadds
            .iter()
            .map(|_| {
                Arc::new(Ticket {
                    outcome: Mutex::new(None),
                    sender: me.clone(),
                })
            })
            .collect();
        lock(&self.queue).extend(xadds.into_iter().zip(&tickets).map(|(command, ticket)| {
            Pending {
                command,
                ticket: Arc::clone(ticket),
            }
        }));
        self.work.notify_one();
        let deadline = Instant::now() + self.wait;
        let mut outcomes: Vec<Option<Result<StreamId, RedisError>>> =
            tickets.iter().map(|_| None).collect();
        loop {
            for (outcome, ticket) in outcomes.iter_mut().zip(&tickets) {
                if outcome.is_none() {
                    *outcome = lock(&ticket.outcome).take();
                }
            }
            if outcomes.iter().all(Option::is_some) {
                return outcomes.into_iter().flatten().collect();
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                let given_up = self.give_up(&tickets);
                return outcomes
                    .into_iter()
                    .zip(given_up)
                    .map(|(outcome, given_up)| outcome.unwrap_or(given_up))
                    .collect();
            };
            // Woken by `settle` or the reader, or early for no reason.
            thread::park_timeout(left.min(NAP));
        }
    }

    /// A sender that waited too long: what is still queued is taken out and
    /// was never sent; the rest is in flight and may have been added. One
    /// error per ticket, or its answer if it came meanwhile.
    fn give_up(&self, tickets: &[Arc<Ticket>]) -> Vec<Result<StreamId, RedisError>> {
        let mut queue = lock(&self.queue);
        let queued: Vec<bool> = tickets
            .iter()
            .map(|t| queue.iter().any(|p| Arc::ptr_eq(&p.ticket, t)))
            .collect();
        queue.retain(|p| !tickets.iter().any(|t| Arc::ptr_eq(&p.ticket, t)));
        drop(queue);
        if let Some(first) = tickets.first() {
            self.progress.forget(&first.sender);
        }
        tickets
            .iter()
            .zip(queued)
            .map(|(ticket, queued)| {
                if queued {
                    return Err(RedisError::Unavailable {
                        retry_in: Duration::ZERO,
                        last_error: "the cluster's append queue did not move".into(),
                    });
                }
                // Not answered yet: the caller's search of the stream tells
                // whether it was added.
                lock(&ticket.outcome).take().unwrap_or_else(|| {
                    Err(RedisError::Io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "append not answered",
                    )))
                })
            })
            .collect()
    }

    /// The thread: every pipeline as soon as the one before is answered,
    /// until the link is dropped.
    fn run(self: Arc<Self>, mut conn: Reconnecting<Client>) {
        // Connected now, not at the first message: a connection made while
        // Redis is up is there for it (best effort: else the first try).
        let _ = conn.connection();
        loop {
            let batch: Vec<Pending> = {
                let mut queue = lock(&self.queue);
                while queue.is_empty() {
                    if Arc::strong_count(&self) == 1 {
                        return;
                    }
                    queue = self
                        .work
                        .wait_timeout(queue, IDLE_CHECK)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            let (commands, tickets): (Vec<Command>, Vec<Arc<Ticket>>) =
                batch.into_iter().map(|p| (p.command, p.ticket)).unzip();
            match conn.run(|c| c.pipeline(&commands)) {
                Ok(replies) => {
                    for (ticket, reply) in tickets.iter().zip(replies) {
                        ticket.settle(reply.and_then(xadd_reply), &self.progress);
                    }
                }
                Err(e) => {
                    for ticket in &tickets {
                        ticket.settle(Err(e.duplicate()), &self.progress);
                    }
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{xadd_command, Backoff, Config, RedisUrl};

    fn unreachable() -> Reconnecting<Client> {
        // Port 1 on loopback: refused at once.
        let redis = Config::new(RedisUrl::parse("redis://127.0.0.1:1").unwrap());
        Reconnecting::new(Backoff::default(), move || Client::connect(&redis))
    }

    #[test]
    fn an_append_without_redis_is_answered_with_an_error_nothing_sent() {
        let progress = Arc::new(Progress::default());
        let appender = Appender::start(
            unreachable(),
            Arc::clone(&progress),
            Duration::from_secs(10),
        )
        .unwrap();
        let started = Instant::now();
        for _ in 0..3 {
            let answers = appender.append_all(vec![xadd_command("s", &[("f", "v")])]);
            let e = answers.into_iter().next().unwrap().unwrap_err();
            assert!(e.is_unavailable() && !e.is_outcome_unknown(), "{e}");
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(progress.state_is_empty_for_tests());
    }

    #[test]
    fn the_thread_ends_once_its_link_is_gone() {
        let appender =
            Appender::start(unreachable(), Arc::default(), Duration::from_secs(1)).unwrap();
        let weak = Arc::downgrade(&appender);
        drop(appender);
        let deadline = Instant::now() + IDLE_CHECK * 3;
        while weak.strong_count() > 0 {
            assert!(
                Instant::now() < deadline,
                "the append thread still holds it"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_sender_that_waited_too_long_while_still_queued_was_never_sent() {
        let appender = Appender {
            queue: Mutex::new(Vec::new()),
            work: Condvar::new(),
            progress: Arc::default(),
            wait: Duration::from_millis(20),
        };
        // No thread: nothing takes the queue.
        let answers = appender.append_all(vec![
            xadd_command("s", &[("f", "v")]),
            xadd_command("s", &[("f", "w")]),
        ]);
        assert_eq!(answers.len(), 2);
        for answer in answers {
            let e = answer.unwrap_err();
            assert!(matches!(e, RedisError::Unavailable { .. }), "{e}");
        }
        assert!(lock(&appender.queue).is_empty());
    }
}
