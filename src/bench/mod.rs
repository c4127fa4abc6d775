//! `chat-bench`: a load generator for the chat server, in the spirit of redis-benchmark.
//!
//! # Why
//!
//! A chat server's cost is fan-out: one message becomes a delivery to every
//! other member of a room. The numbers that matter are how many deliveries per
//! second the server sustains, how long a message takes from one client's
//! `write` to another client's `read` (latency percentiles, not averages), that
//! nothing is lost, and how much memory each connection costs. This tool
//! measures exactly those, and it can drive an IRC server with the same
//! workload so our server has something to be compared against.
//!
//! # How
//!
//! N TCP clients connect and log in (by default at most 64 at a time)
//! and are spread round robin over K rooms. One reader thread (`--readers`
//! for more) reads every connection from an epoll set, from login on; one
//! sender thread then writes M messages per client, round robin, unpaced or
//! paced at a rate per client. Every message body starts with its send time
//! in nanoseconds since an `Instant` shared by the whole process, so every
//! delivery gives an end-to-end latency without any clock synchronisation.
//! Every client re-arms `TCP_QUICKACK` after every read (`--no-quickack`
//! turns that off).
//!
//! Every wait is bounded: sockets have read and write timeouts and each phase
//! has a deadline computed from the workload, so a stuck run ends by itself,
//! says what it was waiting for and exits non-zero. So does any loss.
//!
//! Standard library only: arguments, JSON and the latency histogram are by hand.
//!
//! # Reading the numbers
//!
//! - The bench and the server share the machine. `cpu (user+sys)` in the
//!   report says how much each used; when their sum nears the core count,
//!   the server was measured short of CPU. The bench keeps to two busy
//!   threads (one while reading only) for that reason: more threads of ours
//!   would take cores from the server and preempt it (see `reader` and
//!   `sender` for what that did to ngircd's figures).
//! - Unpaced runs are floods: senders outrun the fan-out, so their latency is
//!   queueing time. Paced runs (`--rate`) measure latency under a known load;
//!   `max send lag` says how far the senders fell behind their schedule.
//! - Memory per client is (RSS with every client logged in - RSS before the
//!   first connect) / clients; use a freshly started server.
//!
//! # Comparing with ngircd
//!
//! ngircd penalises fast clients (3 commands per loop, then a 1 s penalty)
//! and caps connections per address; for the bench, its config needs
//! `[Limits] MaxConnections = 0, MaxConnectionsIP = 0, MaxJoins = 0,
//! MaxPenaltyTime = 0` (penalties of 0 s) and `[Options] DNS = no, Ident = no`.
//! Its listen backlog is 10, so `--logins 10` avoids SYN retries when
//! connecting many clients. It leaves Nagle's algorithm on, so it may hold
//! a small write until the client ACKs the previous one: the bench's quick
//! ACKs keep delayed ACKs from slowing it down.
//!
//! # Layout
//!
//! - `args`: the command line, checked into a [`Config`]; the `--help` text.
//! - `workload`: the arithmetic of a run: rooms, nicks, message bodies,
//!   expected deliveries and phase deadlines. No I/O.
//! - `wire`: what both protocols share: `Protocol`, the `Inbound` messages
//!   their parsers yield, a socket's buffered reading half and shared writing half.
//! - `chat` and `irc`: each protocol's zero-copy parser and login conversation.
//! - `ws`: the browser protocol: the WebSocket upgrade, masked client
//!   frames, and a frame scanner that hands text payloads to `chat`'s.
//! - `login`: connecting and logging every client in, a bounded number at a time.
//! - `reader` and `sender`: the reader threads (epoll), and the send phase.
//! - `sys`: the Linux calls std lacks (epoll, a read that never waits,
//!   `TCP_QUICKACK`), declared by hand.
//! - `shared`: the counters every thread updates, and the run's first failure.
//! - `stats`: the latency histogram and its percentiles.
//! - `proc`: memory and CPU time of a process, from /proc.
//! - `history`: `chat-bench history`, the history storage on a large
//!   generated log (`history_log`), in process (no server, no network).
//! - `report` and `json`: what the run measured, for people or as JSON.
//! - This module: [`run`], the run phase by phase (login, hold or send,
//!   drain, shut down).

mod args;
mod chat;
mod history;
mod history_log;
mod irc;
mod json;
mod login;
mod proc;
mod reader;
mod report;
mod sender;
mod shared;
mod stats;
mod sys;
mod wire;
mod workload;
mod ws;

pub use args::{parse_args, Command, Config, USAGE};
pub use history::{run_history, HistoryConfig, HISTORY_USAGE};

use std::fmt::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use login::{login_all, Client};
use proc::{cpu_time, proc_mem};
use reader::Readers;
use report::{Report, ServerMem};
use sender::send_all;
use shared::Shared;
use wire::{send, Protocol};
use workload::{expected_deliveries, who_missed, Budget};

/// How long the wait for deliveries goes on with nothing arriving at all.
const STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long clients get to close cleanly after QUIT.
const QUIT_GRACE: Duration = Duration::from_secs(5);

/// Runs the benchmark `config` describes and prints its report on stdout:
/// text for people, or one JSON object with `--json`.
///
/// Returns failure (exit status 1) on any loss, error or timeout; the report
/// says which. Never panics on what the network does.
pub fn run(config: &Config) -> ExitCode {
    let report = bench(config);
    if config.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.text());
    }
    if report.error.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs the whole benchmark and reports; never panics on what the network does.
fn bench(config: &Config) -> Report {
    let shared = Arc::new(Shared::new(config.clients));
    let budget = Budget::for_config(config);
    let mut report = Report::new(config);
    let addrs = match config
        .ports
        .iter()
        .map(|&port| resolve(&config.host, port))
        .collect::<Result<Vec<SocketAddr>, String>>()
    {
        Ok(a) => a,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    report.addr = addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let baseline = match config.server_pid.map(proc_mem).transpose() {
        Ok(m) => m,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    let readers = match Readers::start(config.readers, config.protocol, &shared) {
        Ok(r) => r,
        Err(e) => {
            report.error = Some(format!("cannot start the reader threads: {e}"));
            return report;
        }
    };
    let cpu_start = (cpu_time("self"), server_cpu(config));
    let login = login_all(config, &addrs, &shared, &readers, budget.login);
    report.connected = login.clients.len();
    report.login = login.elapsed;
    let mut sent = vec![0; login.clients.len()];
    let mut connected_mem = None;
    if shared.failure().is_none() {
        if let Some(hold) = config.hold {
            hold_idle(&shared, hold);
        }
        connected_mem = config.server_pid.and_then(|p| proc_mem(p).ok());
        if config.messages > 0 && shared.failure().is_none() {
            let deadline = Instant::now() + budget.run;
            let outcome = send_all(config, &login.clients, &shared, deadline);
            report.max_send_lag = outcome.max_lag;
            sent = outcome.sent;
            let replies = match config.protocol {
                Protocol::Chat | Protocol::Ws => sent.iter().sum(),
                Protocol::Irc => 0,
            };
            if let Err(e) = drain(&shared, &sent, config.rooms, replies, deadline) {
                shared.fail(e);
            }
        }
    }
    let end_mem = config.server_pid.and_then(|p| proc_mem(p).ok());
    report.bench_cpu = cpu_time("self")
        .zip(cpu_start.0)
        .map(|(end, start)| end.saturating_sub(start));
    report.server_cpu = server_cpu(config)
        .zip(cpu_start.1)
        .map(|(end, start)| end.saturating_sub(start));
    shut_down(config.protocol, &login.clients, readers, &shared);
    if let (Some(pid), Some(base), Some(conn), Some(end)) =
        (config.server_pid, baseline, connected_mem, end_mem)
    {
        report.server = Some(ServerMem {
            pid,
            baseline_kib: base.rss_kib,
            connected_kib: conn.rss_kib,
            peak_kib: end.peak_kib,
            threads_connected: conn.threads,
        });
    }
    report.fill_counts(&shared, &sent, config.rooms);
    report
}

/// The server's CPU time so far, when its pid is known.
fn server_cpu(config: &Config) -> Option<Duration> {
    cpu_time(&config.server_pid?.to_string())
}

/// The first address of `host:port`, IPv4 preferred.
fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}:{port}: {e}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("{host}:{port} resolves to no address"))
}

/// Keeps the clients idle for `hold`, watching for dropped connections.
fn hold_idle(shared: &Shared, hold: Duration) {
    let until = Instant::now() + hold;
    while shared.failure().is_none() {
        let now = Instant::now();
        if now >= until {
            return;
        }
        thread::sleep((until - now).min(Duration::from_millis(100)));
    }
}

/// Waits until every delivery the `sent` messages owe and `replies` replies
/// have arrived, or a failure was recorded. Gives up at `deadline`, or when
/// nothing at all arrived for `STALL_TIMEOUT`, with an error saying what was
/// missing and which clients missed it.
fn drain(
    shared: &Shared,
    sent: &[u64],
    rooms: usize,
    replies: u64,
    deadline: Instant,
) -> Result<(), String> {
    let expected = expected_deliveries(sent, rooms);
    let mut seen = 0;
    let mut last_progress = Instant::now();
    loop {
        let got = shared.deliveries.load(Ordering::Relaxed);
        let answered = shared.replies_ok.load(Ordering::Relaxed)
            + shared.replies_rejected.load(Ordering::Relaxed);
        if got >= expected && answered >= replies {
            return Ok(());
        }
        if shared.failure().is_some() {
            return Ok(());
        }
        let now = Instant::now();
        if got + answered != seen {
            seen = got + answered;
            last_progress = now;
        }
        let stalled = now.duration_since(last_progress) >= STALL_TIMEOUT;
        if now >= deadline || stalled {
            let mut missing = Vec::new();
            if got < expected {
                missing.push(format!("{} of {expected} deliveries", expected - got));
            }
            if answered < replies {
                missing.push(format!("{} of {replies} replies", replies - answered));
            }
            let mut error = format!("timed out waiting for {}", missing.join(" and "));
            if stalled {
                let _ = write!(
                    error,
                    " (nothing arrived for {} s)",
                    STALL_TIMEOUT.as_secs()
                );
            }
            if let Some(who) = who_missed(&shared.per_client_counts(), sent, rooms) {
                let _ = write!(error, "; {who}");
            }
            return Err(error);
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Sends QUIT on every client, gives the server `QUIT_GRACE` to close them,
/// then stops and joins the reader threads.
fn shut_down(protocol: Protocol, clients: &[Client], readers: Readers, shared: &Shared) {
    shared.quitting.store(true, Ordering::Relaxed);
    let quit = protocol.quit();
    for client in clients {
        let _ = send(&client.writer, &quit);
    }
    let until = Instant::now() + QUIT_GRACE;
    while shared.readers_done.load(Ordering::Relaxed) < clients.len() && Instant::now() < until {
        thread::sleep(Duration::from_millis(10));
    }
    shared.stop.store(true, Ordering::Relaxed);
    readers.join(shared);
}
