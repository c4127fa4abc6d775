//! The send phase: one thread writes every client's messages, round robin,
//! unpaced or paced at a rate per client, each stamped with its send time.
//!
//! Why one thread: the bench shares the machine with the server it
//! measures. Four sender threads once wrote a whole flood into the sockets
//! within a few milliseconds; while they did, the bench's runnable threads
//! outnumbered two cores, so a single-threaded server (ngircd) waited on
//! the run queue, and ours found deeper backlogs to batch than any one
//! client's loop would give it. With one thread, a flood still outruns both
//! servers, and an independent one-loop generator (`tests/bench/loadgen.py`)
//! measures the same throughput as this bench for both.

use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use super::args::Config;
use super::login::Client;
use super::shared::Shared;
use super::wire::send;
use super::workload::message_body;

/// What the send phase produced.
pub(crate) struct SendOutcome {
    /// Messages written, per client.
    pub(crate) sent: Vec<u64>,
    /// Worst delay of a paced send behind its schedule.
    pub(crate) max_lag: Duration,
}

/// Sends every client's messages from the calling thread, round by round
/// (one message per client per round), each with a blocking write of its
/// own. When paced, client `i`'s message `j` is due at `(j + i / clients) /
/// rate` seconds after the start, which spreads the clients evenly over
/// each period. Stops at the first failure or at `deadline`.
pub(crate) fn send_all(
    config: &Config,
    clients: &[Client],
    shared: &Shared,
    deadline: Instant,
) -> SendOutcome {
    let start = Instant::now();
    let mut sent = vec![0; clients.len()];
    let mut dead = vec![false; clients.len()];
    let mut max_lag = Duration::ZERO;
    for round in 0..config.messages {
        for (i, client) in clients.iter().enumerate() {
            if dead[i] {
                continue;
            }
            if shared.failure().is_some() {
                return SendOutcome { sent, max_lag };
            }
            if Instant::now() >= deadline {
                shared.fail("timed out while sending (see --timeout)".to_string());
                return SendOutcome { sent, max_lag };
            }
            if let Some(rate) = config.rate {
                let offset = (round as f64 + i as f64 / clients.len() as f64) / rate;
                let due = start + Duration::from_secs_f64(offset);
                let now = Instant::now();
                if due > now {
                    thread::sleep(due - now);
                } else {
                    max_lag = max_lag.max(now - due);
                }
            }
            let sent_ns = shared.now_ns();
            let bytes = config
                .protocol
                .say(&client.room, &message_body(sent_ns, config.size));
            shared.first_send_ns.fetch_min(sent_ns, Ordering::Relaxed);
            match send(&client.writer, &bytes) {
                Ok(()) => sent[i] += 1,
                Err(e) => {
                    dead[i] = true;
                    shared.fail(format!("{}: send failed: {e}", client.nick));
                }
            }
        }
    }
    SendOutcome { sent, max_lag }
}
