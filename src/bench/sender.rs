//! The send phase: a few threads write every client's messages, unpaced or
//! paced at a rate per client, each stamped with its send time.

use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use super::args::Config;
use super::login::Client;
use super::shared::Shared;
use super::wire::send;
use super::workload::message_body;

/// Sender threads (fewer if there are fewer clients). Two cores do not need more.
const SENDER_THREADS: usize = 4;

/// What the send phase produced.
pub(crate) struct SendOutcome {
    /// Messages written, per client.
    pub(crate) sent: Vec<u64>,
    /// Worst delay of a paced send behind its schedule.
    pub(crate) max_lag: Duration,
}

/// Sends every client's messages from `SENDER_THREADS` threads. Thread `t`
/// owns the clients `i` with `i % threads == t` and sends round by round; when
/// paced, client `i`'s message `j` is due at `(j + i / clients) / rate`
/// seconds after the start, which spreads the clients evenly over each period.
pub(crate) fn send_all(
    config: &Config,
    clients: &[Client],
    shared: &Shared,
    deadline: Instant,
) -> SendOutcome {
    let threads = clients.len().min(SENDER_THREADS);
    let start = Instant::now();
    let results: Vec<(Vec<(usize, u64)>, Duration)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let own: Vec<usize> = (t..clients.len()).step_by(threads).collect();
                scope.spawn(move || send_some(config, clients, &own, shared, start, deadline))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| (Vec::new(), Duration::ZERO)))
            .collect()
    });
    let mut sent = vec![0; clients.len()];
    let mut max_lag = Duration::ZERO;
    for (counts, lag) in results {
        for (i, n) in counts {
            sent[i] = n;
        }
        max_lag = max_lag.max(lag);
    }
    SendOutcome { sent, max_lag }
}

/// One sender thread: the messages of clients `own`. Returns how many each
/// sent and the worst lag behind schedule.
fn send_some(
    config: &Config,
    clients: &[Client],
    own: &[usize],
    shared: &Shared,
    start: Instant,
    deadline: Instant,
) -> (Vec<(usize, u64)>, Duration) {
    let mut sent: Vec<(usize, u64)> = own.iter().map(|&i| (i, 0)).collect();
    let mut dead = vec![false; own.len()];
    let mut max_lag = Duration::ZERO;
    for round in 0..config.messages {
        for (k, &i) in own.iter().enumerate() {
            if dead[k] {
                continue;
            }
            if shared.failure().is_some() {
                return (sent, max_lag);
            }
            if Instant::now() >= deadline {
                shared.fail("timed out while sending (see --timeout)".to_string());
                return (sent, max_lag);
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
            let client = &clients[i];
            let sent_ns = shared.now_ns();
            let bytes = config
                .protocol
                .say(&client.room, &message_body(sent_ns, config.size));
            shared.first_send_ns.fetch_min(sent_ns, Ordering::Relaxed);
            match send(&client.writer, &bytes) {
                Ok(()) => sent[k].1 += 1,
                Err(e) => {
                    dead[k] = true;
                    shared.fail(format!("{}: send failed: {e}", client.nick));
                }
            }
        }
    }
    (sent, max_lag)
}
