//! Room messages on their way into the stream, many senders' at once.
//!
//! Each sender used to hold one of a few shared connections for its own
//! `XADD`'s round trip: in a flood, fifty senders queued on four locks,
//! each slept on the lock and again on the reply, and Redis answered one
//! command per read. Now appends share one connection and one queue. A
//! sender leaves its `XADD`s in the queue; if nobody is sending, it sends
//! everything waiting as one pipeline (one write, one round trip, in queue
//! order, so one client's messages keep their order) and hands each
//! sender its reply, until its own are answered; then, if more came
//! meanwhile, it passes its turn to the sender of the first of them. So a
//! sender alone sends its own, with no thread in between (a thread that
//! did all the sending cost every message a wake-up more), and a flood
//! costs one wake-up per pipeline. A sender whose message went in is not
//! woken for that: it waits on to learn its local number once the stream
//! reader has delivered the message (see `progress`).

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, Thread, ThreadId};
use std::time::{Duration, Instant};

use crate::cluster::resp::Command;
use crate::cluster::{xadd_reply, Client, Reconnecting, RedisError, StreamId};

use super::progress::Progress;

/// Commands sent in one pipeline at most (a longer queue waits for the next).
const MAX_BATCH: usize = 512;
/// The longest a sender sleeps at a time: one whose message is in Redis
/// but not yet delivered here returns within this to wait for the reader
/// itself (with the caller's own bound on that wait).
const NAP: Duration = Duration::from_secs(1);

/// The queue of appends and the connection they go on.
pub(super) struct Appender {
    queue: Mutex<Queue>,
    /// Used only by the sender whose turn it is.
    conn: Mutex<Reconnecting<Client>>,
    progress: Arc<Progress>,
    /// The longest a sender waits for its reply while others send: their
    /// connection times out well before, so this only guards against a
    /// turn lost for good.
    wait: Duration,
}

#[derive(Default)]
struct Queue {
    pending: VecDeque<Pending>,
    /// Some sender has the turn (sending, or woken to): the others wait.
    taken: bool,
}

struct Pending {
    command: Command,
    ticket: Arc<Ticket>,
}

/// One command's place: its reply, once sent.
struct Ticket {
    outcome: Mutex<Option<Result<StreamId, RedisError>>>,
    sender: Thread,
    /// Its sender has been handed the turn.
    turn: AtomicBool,
    /// Redis' number for the connection that lost its reply (0: none).
    lost_on: AtomicU64,
}

/// What became of a sender's appends.
pub(super) struct Appended {
    /// Redis' answer to each, in order, or the pipeline's error.
    pub(super) replies: Vec<Result<StreamId, RedisError>>,
    /// The connections (Redis' numbers) that broke with some of them in
    /// flight: ended before the stream is searched for them, so none can
    /// still be added after the search found it missing.
    pub(super) lost_on: Vec<u64>,
}

impl Ticket {
    /// Gives the sender its reply: an error at once, an ID once the
    /// reader has delivered that entry here. A sender answering itself
    /// (`by`) is awake, and waits for the reader on its own.
    fn settle(&self, outcome: Result<StreamId, RedisError>, progress: &Progress, by: ThreadId) {
        let added = outcome.as_ref().ok().copied();
        *lock(&self.outcome) = Some(outcome);
        if self.sender.id() == by {
            return;
        }
        match added {
            Some(id) => progress.wake_when_applied(id, self.sender.clone()),
            None => self.sender.unpark(),
        }
    }
}

impl Appender {
    /// Appends on `conn` (connected at the first, or by [`Appender::connect`]);
    /// a sender waits at most `wait` for its turn's outcome.
    pub(super) fn new(
        conn: Reconnecting<Client>,
        progress: Arc<Progress>,
        wait: Duration,
    ) -> Appender {
        Appender {
            queue: Mutex::default(),
            conn: Mutex::new(conn),
            progress,
            wait,
        }
    }

    /// Connects now, so that the first message finds a connection made
    /// while Redis was up (best effort: else the first message tries).
    pub(super) fn connect(&self) {
        let _ = lock(&self.conn).connection();
    }

    /// Sends `xadds` (in order, one after the other in the pipeline) with
    /// the others waiting and returns their replies: each ID usually once
    /// the reader has delivered that entry here too.
    ///
    /// Each is Redis' answer to that command, or the pipeline's error for
    /// all of them; `Unavailable` for one still queued when its sender
    /// stopped waiting (it then never is sent).
    pub(super) fn append_all(&self, xadds: Vec<Command>) -> Appended {
        let (replies, tickets) = self.queue_and_wait(xadds);
        let mut lost_on: Vec<u64> = tickets
            .iter()
            .map(|t| t.lost_on.load(Ordering::SeqCst))
            .filter(|&id| id != 0)
            .collect();
        lost_on.dedup();
        Appended { replies, lost_on }
    }

    /// [`Appender::append_all`]'s replies, and the tickets they came on.
    fn queue_and_wait(
        &self,
        xadds: Vec<Command>,
    ) -> (Vec<Result<StreamId, RedisError>>, Vec<Arc<Ticket>>) {
        // Nothing to send: taking the turn would keep it, with nothing of
        // its own to end it.
        if xadds.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let me = thread::current();
        let tickets: Vec<Arc<Ticket>> = xadds
            .iter()
            .map(|_| {
                Arc::new(Ticket {
                    outcome: Mutex::new(None),
                    sender: me.clone(),
                    turn: AtomicBool::new(false),
                    lost_on: AtomicU64::new(0),
                })
            })
            .collect();
        let mine_first = {
            let mut queue = lock(&self.queue);
            queue
                .pending
                .extend(
                    xadds
                        .into_iter()
                        .zip(&tickets)
                        .map(|(command, ticket)| Pending {
                            command,
                            ticket: Arc::clone(ticket),
                        }),
                );
            !std::mem::replace(&mut queue.taken, true)
        };
        if mine_first {
            self.take_turn(&tickets);
        }
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
                return (outcomes.into_iter().flatten().collect(), tickets);
            }
            if tickets.iter().any(|t| t.turn.swap(false, Ordering::SeqCst)) {
                self.take_turn(&tickets);
                continue;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                let Some(given_up) = self.give_up(&tickets) else {
                    // Handed the turn just now: it sends ours too.
                    self.take_turn(&tickets);
                    continue;
                };
                let replies = outcomes
                    .into_iter()
                    .zip(given_up)
                    .map(|(outcome, given_up)| outcome.unwrap_or(given_up))
                    .collect();
                return (replies, tickets);
            };
            // Woken by `settle`, the reader or a turn, or for no reason.
            thread::park_timeout(left.min(NAP));
        }
    }

    /// This sender's turn: pipelines of what is queued go out until its
    /// own `tickets` have been sent; then the turn passes to the sender of
    /// the first command still queued, if any.
    fn take_turn(&self, tickets: &[Arc<Ticket>]) {
        // Passed on however this ends, a panic included: a turn kept by
        // nobody would stop every message of the node.
        let _pass = PassTurn(self);
        let Some(last) = tickets.last() else {
            return;
        };
        loop {
            let batch: Vec<Pending> = {
                let mut queue = lock(&self.queue);
                let n = queue.pending.len().min(MAX_BATCH);
                queue.pending.drain(..n).collect()
            };
            let mine_sent = batch.iter().any(|p| Arc::ptr_eq(&p.ticket, last));
            let empty = batch.is_empty();
            self.send(batch);
            if mine_sent || empty {
                break;
            }
        }
    }

    /// The turn goes to the sender of the first command still queued, or
    /// is free.
    fn pass_turn(&self) {
        let mut queue = lock(&self.queue);
        match queue.pending.front() {
            Some(next) => {
                next.ticket.turn.store(true, Ordering::SeqCst);
                next.ticket.sender.unpark();
            }
            None => queue.taken = false,
        }
    }

    /// One pipeline, and each sender's reply.
    fn send(&self, batch: Vec<Pending>) {
        if batch.is_empty() {
            return;
        }
        let (commands, tickets): (Vec<Command>, Vec<Arc<Ticket>>) =
            batch.into_iter().map(|p| (p.command, p.ticket)).unzip();
        let mut connection = None;
        let replies = lock(&self.conn).run(|c| {
            connection = c.id();
            c.pipeline(&commands)
        });
        let me = thread::current().id();
        match replies {
            Ok(replies) => {
                for (ticket, reply) in tickets.iter().zip(replies) {
                    ticket.settle(reply.and_then(xadd_reply), &self.progress, me);
                }
            }
            Err(e) => {
                let lost_on = connection.filter(|_| e.is_outcome_unknown()).unwrap_or(0);
                for ticket in &tickets {
                    ticket.lost_on.store(lost_on, Ordering::SeqCst);
                    ticket.settle(Err(e.duplicate()), &self.progress, me);
                }
            }
        }
    }

    /// A sender that waited too long: what is still queued is taken out and
    /// was never sent; the rest is in flight and may have been added. One
    /// outcome per ticket: an error, or its answer if it came meanwhile.
    /// `None` when the turn was handed to it meanwhile (it must send).
    fn give_up(&self, tickets: &[Arc<Ticket>]) -> Option<Vec<Result<StreamId, RedisError>>> {
        let mut queue = lock(&self.queue);
        if tickets.iter().any(|t| t.turn.swap(false, Ordering::SeqCst)) {
            return None;
        }
        let queued: Vec<bool> = tickets
            .iter()
            .map(|t| queue.pending.iter().any(|p| Arc::ptr_eq(&p.ticket, t)))
            .collect();
        queue
            .pending
            .retain(|p| !tickets.iter().any(|t| Arc::ptr_eq(&p.ticket, t)));
        drop(queue);
        if let Some(first) = tickets.first() {
            self.progress.forget(&first.sender);
        }
        let given_up = tickets
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
            .collect();
        Some(given_up)
    }
}

/// Passes the turn on when dropped.
struct PassTurn<'a>(&'a Appender);

impl Drop for PassTurn<'_> {
    fn drop(&mut self) {
        self.0.pass_turn();
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

    fn xadd(n: usize) -> Command {
        xadd_command("s", &[("n", n.to_string())])
    }

    #[test]
    fn an_append_without_redis_is_answered_with_an_error_nothing_sent() {
        let appender = Appender::new(unreachable(), Arc::default(), Duration::from_secs(10));
        let started = Instant::now();
        for _ in 0..3 {
            let appended = appender.append_all(vec![xadd(1), xadd(2)]);
            assert_eq!(appended.replies.len(), 2);
            assert!(appended.lost_on.is_empty(), "nothing was in flight");
            for answer in appended.replies {
                let e = answer.unwrap_err();
                assert!(e.is_unavailable() && !e.is_outcome_unknown(), "{e}");
            }
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        let queue = lock(&appender.queue);
        assert!(
            queue.pending.is_empty() && !queue.taken,
            "the turn was given back"
        );
    }

    /// Many senders at once: each is answered (here with errors, Redis
    /// being away), the turn passing from one to the next, and at the end
    /// nobody holds it.
    #[test]
    fn the_turn_passes_between_senders_and_nobody_is_left_waiting() {
        let appender = Arc::new(Appender::new(
            unreachable(),
            Arc::default(),
            Duration::from_secs(10),
        ));
        let started = Instant::now();
        let senders: Vec<_> = (0..8)
            .map(|s| {
                let appender = Arc::clone(&appender);
                thread::spawn(move || {
                    for i in 0..50 {
                        let answers = appender
                            .append_all((0..=i % 3).map(|j| xadd(s * 1000 + i * 10 + j)).collect())
                            .replies;
                        assert_eq!(answers.len(), i % 3 + 1);
                        assert!(answers.iter().all(Result::is_err));
                    }
                })
            })
            .collect();
        for sender in senders {
            sender.join().unwrap();
        }
        // A turn lost on the way would leave its senders waiting the whole
        // 10 s bound.
        assert!(started.elapsed() < Duration::from_secs(5));
        let queue = lock(&appender.queue);
        assert!(queue.pending.is_empty() && !queue.taken);
    }

    #[test]
    fn nothing_to_append_leaves_the_turn_free() {
        let appender = Appender::new(unreachable(), Arc::default(), Duration::from_secs(10));
        assert!(appender.append_all(Vec::new()).replies.is_empty());
        assert!(!lock(&appender.queue).taken);
        let answers = appender.append_all(vec![xadd(1)]).replies;
        assert_eq!(answers.len(), 1);
    }

    #[test]
    fn a_sender_that_waited_too_long_while_still_queued_was_never_sent() {
        let appender = Appender::new(unreachable(), Arc::default(), Duration::from_millis(20));
        // Someone has the turn and never sends.
        lock(&appender.queue).taken = true;
        let answers = appender.append_all(vec![xadd(1), xadd(2)]).replies;
        assert_eq!(answers.len(), 2);
        for answer in answers {
            let e = answer.unwrap_err();
            assert!(matches!(e, RedisError::Unavailable { .. }), "{e}");
        }
        assert!(lock(&appender.queue).pending.is_empty());
    }
}
