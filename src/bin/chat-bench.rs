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
//! and are spread round robin over K rooms. One reader thread per connection,
//! with a small stack, reads everything the server sends from login on. Then a
//! few sender threads write M messages per client, unpaced or paced at a rate
//! per client. Every message body starts with its send time in nanoseconds
//! since an `Instant` shared by the whole process, so every delivery gives an
//! end-to-end latency without any clock synchronisation.
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
//!   the server was measured short of CPU.
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
//! connecting many clients.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chat::protocol::{header, Frame, MAX_HEADERS, MAX_LINE_BYTES, VERSION};

/// Default logins in flight at once: enough to keep the server busy, few
/// enough not to look like a connection flood.
const LOGINS_IN_FLIGHT: usize = 64;
/// Sender threads (fewer if there are fewer clients). Two cores do not need more.
const SENDER_THREADS: usize = 4;
/// Stack of each reader thread: a reader parses frames on the heap, so a
/// small stack is plenty and keeps a thousand readers cheap.
const READER_STACK_BYTES: usize = 64 * 1024;
/// How often a blocked read wakes up to look at the stop flag.
const READ_POLL: Duration = Duration::from_millis(200);
/// Longest a single write may block before the client counts as stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the wait for deliveries goes on with nothing arriving at all.
const STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long clients get to close cleanly after QUIT.
const QUIT_GRACE: Duration = Duration::from_secs(5);
/// Bytes a server line or frame may pile up without completing: beyond this
/// the peer is not speaking the protocol we expect.
const MAX_PENDING_BYTES: usize = 256 * 1024;
/// Smallest message: the send-time token must fit.
const MIN_SIZE: usize = 16;
/// Largest body a chat `SAY` may carry.
const MAX_CHAT_SIZE: usize = 4096;
/// Largest IRC payload: a relayed line (prefix, command, channel, payload)
/// must stay under the 512-byte IRC line limit.
const MAX_IRC_SIZE: usize = 400;
/// Most clients: nicks are `b` plus digits and must fit in 8 characters,
/// and each client costs the bench two file descriptors.
const MAX_CLIENTS: usize = 50_000;
/// The chat room every client enters on login.
const LOBBY: &str = "lobby";
/// Default chat server port.
const DEFAULT_CHAT_PORT: u16 = 7777;
/// Default IRC server port.
const DEFAULT_IRC_PORT: u16 = 6667;

const USAGE: &str = "\
chat-bench: load generator for the chat server (or an IRC server, for comparison)

USAGE:
    chat-bench [OPTIONS]

OPTIONS:
    --clients N        client connections (default 50)
    --messages M       messages each client sends (default 200; 0 = connect only)
    --size S           message body size in bytes (default 64, at least 16;
                       at most 4096 for chat, 400 for irc)
    --rate R           messages per second per client (default: unpaced)
    --rooms K          rooms the clients are spread over, round robin (default 1)
    --hold SECONDS     with --messages 0: keep the clients idle this long
    --logins N         logins in flight at once (default 64)
    --host H           server host (default 127.0.0.1)
    --port P           server port (default 7777 for chat, 6667 for irc)
    --protocol P       chat (default) or irc
    --server-pid PID   report the server's memory from /proc/PID/status
    --timeout SECONDS  deadline for sending and delivery (default: from the workload)
    --json             print the report as one JSON object
    -h, --help         this text

Every message is broadcast to every other member of the sender's room, so
expected deliveries = sum over rooms of messages sent there x (members - 1).
Any loss, error or timeout exits with status 1; bad arguments exit with 2.

All clients come from one address: start the chat server with
--no-rate-limit and --max-per-ip at least --clients (the default is 50),
and an IRC server with its per-IP connection limit and flood penalties off.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Run(config)) => {
            let report = bench(&config);
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
        Err(e) => {
            eprintln!("chat-bench: {e}\n(see chat-bench --help)");
            ExitCode::from(2)
        }
    }
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// Which wire protocol the clients speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// Our HTTP-style frame protocol.
    Chat,
    /// IRC (RFC 2812), for comparison with an existing server.
    Irc,
}

impl Protocol {
    /// The name used on the command line and in reports.
    fn name(self) -> &'static str {
        match self {
            Protocol::Chat => "chat",
            Protocol::Irc => "irc",
        }
    }
}

/// Everything a run needs, from the command line.
#[derive(Debug, Clone, PartialEq)]
struct Config {
    clients: usize,
    messages: usize,
    size: usize,
    /// Messages per second per client; `None` is unpaced.
    rate: Option<f64>,
    rooms: usize,
    hold: Option<Duration>,
    /// Logins in flight at once.
    logins: usize,
    host: String,
    port: u16,
    protocol: Protocol,
    server_pid: Option<u32>,
    /// Overrides the computed send-and-deliver deadline.
    timeout: Option<Duration>,
    json: bool,
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Run(Config),
}

/// Parses the arguments after the program name. `--name value` and
/// `--name=value` are both accepted; every option may appear once.
fn parse_args(args: &[String]) -> Result<Command, String> {
    let mut raw = RawArgs::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        if name == "-h" || name == "--help" {
            return Ok(Command::Help);
        }
        if seen.contains(&name) {
            return Err(format!("{name} given more than once"));
        }
        if name == "--json" {
            if inline.is_some() {
                return Err("--json takes no value".to_string());
            }
            raw.json = true;
            seen.push("--json");
            continue;
        }
        let slot = raw
            .slot(name)
            .ok_or_else(|| format!("unknown argument {arg:?}"))?;
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))?,
        };
        *slot = Some(value);
        seen.push(name);
    }
    raw.into_config().map(Command::Run)
}

/// Option values as given, before they are checked.
#[derive(Default)]
struct RawArgs {
    clients: Option<String>,
    messages: Option<String>,
    size: Option<String>,
    rate: Option<String>,
    rooms: Option<String>,
    hold: Option<String>,
    logins: Option<String>,
    host: Option<String>,
    port: Option<String>,
    protocol: Option<String>,
    server_pid: Option<String>,
    timeout: Option<String>,
    json: bool,
}

impl RawArgs {
    /// Where the value of option `name` goes; `None` for an unknown option.
    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "--clients" => &mut self.clients,
            "--messages" => &mut self.messages,
            "--size" => &mut self.size,
            "--rate" => &mut self.rate,
            "--rooms" => &mut self.rooms,
            "--hold" => &mut self.hold,
            "--logins" => &mut self.logins,
            "--host" => &mut self.host,
            "--port" => &mut self.port,
            "--protocol" => &mut self.protocol,
            "--server-pid" => &mut self.server_pid,
            "--timeout" => &mut self.timeout,
            _ => return None,
        })
    }

    /// Checks every value and the combinations.
    fn into_config(self) -> Result<Config, String> {
        let protocol = match self.protocol.as_deref() {
            None | Some("chat") => Protocol::Chat,
            Some("irc") => Protocol::Irc,
            Some(p) => return Err(format!("--protocol: expected chat or irc, got {p:?}")),
        };
        let max_size = match protocol {
            Protocol::Chat => MAX_CHAT_SIZE,
            Protocol::Irc => MAX_IRC_SIZE,
        };
        let default_port = match protocol {
            Protocol::Chat => DEFAULT_CHAT_PORT,
            Protocol::Irc => DEFAULT_IRC_PORT,
        };
        let clients = number("--clients", self.clients, 50, 1, MAX_CLIENTS)?;
        let messages = number("--messages", self.messages, 200, 0, 1_000_000)?;
        let size = number("--size", self.size, 64, MIN_SIZE, max_size)?;
        let rooms = number("--rooms", self.rooms, 1, 1, clients)?;
        let logins = number("--logins", self.logins, LOGINS_IN_FLIGHT, 1, 1024)?;
        let port = number("--port", self.port, usize::from(default_port), 1, 65_535)?;
        let port = u16::try_from(port).map_err(|_| "--port: out of range".to_string())?;
        let rate = decimal("--rate", self.rate, 0.001, 1_000_000.0)?;
        let hold = decimal("--hold", self.hold, 0.001, 86_400.0)?;
        let timeout = decimal("--timeout", self.timeout, 0.001, 86_400.0)?;
        let server_pid = match self.server_pid {
            None => None,
            Some(s) => Some(
                s.parse::<u32>()
                    .ok()
                    .filter(|&p| p > 0)
                    .ok_or_else(|| format!("--server-pid: expected a process id, got {s:?}"))?,
            ),
        };
        if hold.is_some() && messages > 0 {
            return Err("--hold needs --messages 0 (hold keeps idle clients)".to_string());
        }
        let host = self.host.unwrap_or_else(|| "127.0.0.1".to_string());
        if host.is_empty() {
            return Err("--host: empty".to_string());
        }
        Ok(Config {
            clients,
            messages,
            size,
            rate,
            rooms,
            hold: hold.map(Duration::from_secs_f64),
            logins,
            host,
            port,
            protocol,
            server_pid,
            timeout: timeout.map(Duration::from_secs_f64),
            json: self.json,
        })
    }
}

/// A whole number option in `min..=max`, or `default` when absent.
fn number(
    name: &str,
    value: Option<String>,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, String> {
    let Some(text) = value else {
        return Ok(default);
    };
    let n: usize = text
        .parse()
        .map_err(|_| format!("{name}: expected a whole number, got {text:?}"))?;
    if n < min || n > max {
        return Err(format!("{name}: {n} is out of range {min}..={max}"));
    }
    Ok(n)
}

/// A decimal option (seconds, or messages per second) in `min..=max`, if given.
/// The bounds keep every duration computed from it finite.
fn decimal(name: &str, value: Option<String>, min: f64, max: f64) -> Result<Option<f64>, String> {
    let Some(text) = value else {
        return Ok(None);
    };
    let x: f64 = text
        .parse()
        .map_err(|_| format!("{name}: expected a number, got {text:?}"))?;
    if !(min..=max).contains(&x) {
        return Err(format!("{name}: {text} is out of range {min}..={max}"));
    }
    Ok(Some(x))
}

// ---------------------------------------------------------------------------
// Workload arithmetic
// ---------------------------------------------------------------------------

/// The room (0-based) client `client` joins: round robin.
fn room_of(client: usize, rooms: usize) -> usize {
    client % rooms
}

/// Members of each room.
fn room_sizes(clients: usize, rooms: usize) -> Vec<usize> {
    let mut sizes = vec![0; rooms];
    for c in 0..clients {
        sizes[room_of(c, rooms)] += 1;
    }
    sizes
}

/// Deliveries the server owes when client `i` sent `sent[i]` messages:
/// each goes to every other member of the sender's room.
fn expected_deliveries(sent: &[u64], rooms: usize) -> u64 {
    let sizes = room_sizes(sent.len(), rooms);
    sent.iter()
        .enumerate()
        .map(|(i, &n)| n * (sizes[room_of(i, rooms)] as u64).saturating_sub(1))
        .sum()
}

/// The nick of client `i`: short, unique, valid in both protocols.
fn nick(i: usize) -> String {
    format!("b{i:04}")
}

/// The name of room `k` as the protocol spells it. With one chat room the
/// clients stay in `lobby`, where LOGIN puts them.
fn room_name(protocol: Protocol, k: usize, rooms: usize) -> String {
    match protocol {
        Protocol::Chat if rooms == 1 => LOBBY.to_string(),
        Protocol::Chat => format!("room{k}"),
        Protocol::Irc => format!("#room{k}"),
    }
}

/// A message body of exactly `size` bytes (or the token alone, if longer):
/// the send time, a space, then padding.
fn message_body(sent_ns: u64, size: usize) -> String {
    let mut body = sent_ns.to_string();
    if body.len() < size {
        body.push(' ');
    }
    while body.len() < size {
        body.push('x');
    }
    body
}

/// The send time a message body starts with, if it has one.
fn body_send_time(body: &[u8]) -> Option<u64> {
    let token = body.split(|&b| b == b' ').next()?;
    std::str::from_utf8(token).ok()?.parse().ok()
}

/// How long each phase may take, computed from the workload.
#[derive(Debug, Clone, Copy)]
struct Budget {
    /// Connecting and logging in every client.
    login: Duration,
    /// From the first send until the last delivery and reply.
    run: Duration,
}

impl Budget {
    /// Generous but finite: 10 s plus 20 ms per client for logins; for the
    /// run, 15 s plus the paced send time (with 20% slack), plus time for
    /// messages at 10,000/s and deliveries at 20,000/s, far below what a
    /// loopback server manages.
    fn for_config(config: &Config) -> Budget {
        let login = Duration::from_secs(10) + Duration::from_millis(20) * config.clients as u32;
        let messages = (config.clients * config.messages) as f64;
        let sent = vec![config.messages as u64; config.clients];
        let deliveries = expected_deliveries(&sent, config.rooms) as f64;
        let paced = config
            .rate
            .map_or(0.0, |r| config.messages as f64 / r * 1.2);
        let run = config.timeout.unwrap_or_else(|| {
            Duration::from_secs_f64(15.0 + paced + messages / 10_000.0 + deliveries / 20_000.0)
        });
        Budget { login, run }
    }
}

// ---------------------------------------------------------------------------
// Latency histogram
// ---------------------------------------------------------------------------

/// Sub-buckets per power of two: values are kept to within 1/128 (0.8%).
const SUB_BUCKET_BITS: u32 = 7;
const SUB_BUCKETS: usize = 1 << SUB_BUCKET_BITS;
/// Values from 2^`TOP_BIT` ns (about 4.9 hours) up share the last bucket.
const TOP_BIT: u32 = 44;
/// Exact buckets below `SUB_BUCKETS`, then one row per power of two.
const BUCKETS: usize = SUB_BUCKETS * (TOP_BIT - SUB_BUCKET_BITS + 1) as usize;

/// A log-linear histogram of nanoseconds in constant memory (38 KiB) however
/// many values it holds. Each reader keeps its own, merged at the end, so
/// recording costs no shared cache lines.
#[derive(Debug, Clone, PartialEq)]
struct Histogram {
    counts: Vec<u64>,
    max: u64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
            max: 0,
        }
    }

    fn record(&mut self, value: u64) {
        self.counts[bucket_of(value)] += 1;
        self.max = self.max.max(value);
    }

    /// Adds every value `other` holds.
    fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.max = self.max.max(other.max);
    }

    /// The value at or below which a fraction `p` of the values lie.
    fn percentile(&self, p: f64) -> Option<u64> {
        percentile(&self.counts, self.max, p)
    }
}

/// The bucket holding `value`.
fn bucket_of(value: u64) -> usize {
    if value < SUB_BUCKETS as u64 {
        return value as usize;
    }
    if value >> TOP_BIT != 0 {
        return BUCKETS - 1;
    }
    let exponent = 63 - value.leading_zeros(); // >= SUB_BUCKET_BITS
    let shift = exponent - SUB_BUCKET_BITS;
    let sub = (value >> shift) as usize - SUB_BUCKETS;
    SUB_BUCKETS + shift as usize * SUB_BUCKETS + sub
}

/// The largest value that lands in bucket `index`.
fn bucket_high(index: usize) -> u64 {
    if index < SUB_BUCKETS {
        return index as u64;
    }
    let shift = ((index - SUB_BUCKETS) / SUB_BUCKETS) as u32;
    let sub = ((index - SUB_BUCKETS) % SUB_BUCKETS) as u64;
    let low = (SUB_BUCKETS as u64 + sub) << shift;
    low + ((1u64 << shift) - 1)
}

/// The value at or below which a fraction `p` (0..=1) of the recorded values
/// lie: the top of the bucket holding the value of rank ceil(p * count),
/// capped at `max`. `None` when nothing was recorded.
fn percentile(counts: &[u64], max: u64, p: f64) -> Option<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((p.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for (i, &c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return Some(bucket_high(i).min(max));
        }
    }
    Some(max)
}

// ---------------------------------------------------------------------------
// State shared by all threads
// ---------------------------------------------------------------------------

/// Counters every reader and sender updates, and the run's first failure.
struct Shared {
    /// Send times are nanoseconds since this instant.
    origin: Instant,
    deliveries: AtomicU64,
    /// Deliveries for another room than the reader's.
    misrouted: AtomicU64,
    /// Deliveries whose body did not start with a send time.
    malformed: AtomicU64,
    first_send_ns: AtomicU64,
    last_delivery_ns: AtomicU64,
    replies_ok: AtomicU64,
    replies_rejected: AtomicU64,
    /// Every reader's latencies, merged in as it stops.
    latency: Mutex<Histogram>,
    /// Live deliveries per client, to say who missed what.
    per_client: Vec<AtomicU64>,
    readers_done: AtomicUsize,
    /// Set once QUIT has been sent: a closing connection is then expected.
    quitting: AtomicBool,
    /// Readers return at their next read timeout.
    stop: AtomicBool,
    failure: Mutex<Option<String>>,
}

impl Shared {
    fn new(clients: usize) -> Shared {
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
    fn per_client_counts(&self) -> Vec<u64> {
        self.per_client
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// Nanoseconds since `origin`.
    fn now_ns(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records `message` unless an earlier failure was recorded.
    fn fail(&self, message: String) {
        let mut failure = lock(&self.failure);
        if failure.is_none() {
            *failure = Some(message);
        }
    }

    /// The first failure, if any.
    fn failure(&self) -> Option<String> {
        lock(&self.failure).clone()
    }
}

/// Locks a mutex; a panicked holder cannot leave our plain data inconsistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// Wire: a socket with its own read buffer
// ---------------------------------------------------------------------------

/// Bytes asked for by one read.
const READ_CHUNK: usize = 16 * 1024;

/// The reading half of a connection. It buffers bytes itself and parses only
/// complete messages, so a read timeout in the middle of a frame loses nothing.
struct Wire {
    /// Shared with the writing side: one descriptor per connection, so ten
    /// thousand clients fit in a 20,000 descriptor limit.
    stream: Arc<TcpStream>,
    /// Zeroed once; bytes `start..end` are read but not parsed yet.
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

/// What one read brought.
enum Fill {
    Data,
    Timeout,
    Eof,
}

impl Wire {
    fn new(stream: Arc<TcpStream>) -> Wire {
        Wire {
            stream,
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
        }
    }

    /// The bytes not parsed yet.
    fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` pending bytes as parsed.
    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads once (at most `READ_POLL` of waiting).
    fn fill(&mut self) -> io::Result<Fill> {
        self.make_room()?;
        match (&*self.stream).read(&mut self.buf[self.end..]) {
            Ok(0) => Ok(Fill::Eof),
            Ok(n) => {
                self.end += n;
                Ok(Fill::Data)
            }
            Err(e) if chat::protocol::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                Ok(Fill::Timeout)
            }
            Err(e) => Err(e),
        }
    }

    /// Makes at least a quarter chunk of space after `end`: moves the
    /// pending bytes to the front, or grows the buffer up to `MAX_PENDING_BYTES`.
    fn make_room(&mut self) -> io::Result<()> {
        if self.buf.len() - self.end >= READ_CHUNK / 4 {
            return Ok(());
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            return Ok(());
        }
        if self.buf.len() >= MAX_PENDING_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("more than {MAX_PENDING_BYTES} bytes without a complete message"),
            ));
        }
        self.buf.resize(self.buf.len() * 2, 0);
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The two protocols
// ---------------------------------------------------------------------------

/// One message from the server, as far as the bench cares. It borrows from
/// the read buffer: the hot path allocates nothing.
#[derive(Debug, PartialEq)]
enum Inbound<'a> {
    /// A chat message to this client (`history`: replayed, not live).
    Delivery {
        room: &'a str,
        history: bool,
        body: &'a [u8],
    },
    /// A status reply (chat) or a numeric reply (IRC), with its text.
    Reply { code: u16, text: String },
    /// Chat: `nick` entered `room`.
    Joined { room: &'a str, nick: &'a str },
    /// A keep-alive; these bytes answer it.
    Ping(Vec<u8>),
    /// The server says it is closing the connection (chat `BYE`, IRC `ERROR`).
    Closing(String),
    /// Events the bench ignores.
    Other,
}

/// A parsed message and the bytes it took, or `None` when incomplete.
type Parsed<'a> = Option<(Inbound<'a>, usize)>;

impl Protocol {
    /// Parses one complete message from the front of `buf`: `Ok(None)` when
    /// more bytes are needed, else the message and the bytes it took.
    fn parse(self, buf: &[u8]) -> Result<Parsed<'_>, String> {
        match self {
            Protocol::Chat => parse_chat(buf),
            Protocol::Irc => Ok(parse_irc(buf)),
        }
    }

    /// The bytes of one chat message into `room`.
    fn say(self, room: &str, body: &str) -> Vec<u8> {
        match self {
            Protocol::Chat => Frame::request("SAY", "/").with_text(body).encode(),
            Protocol::Irc => format!("PRIVMSG {room} :{body}\r\n").into_bytes(),
        }
    }

    /// The bytes that say goodbye.
    fn quit(self) -> Vec<u8> {
        match self {
            Protocol::Chat => Frame::request("QUIT", "/").encode(),
            Protocol::Irc => b"QUIT :bench done\r\n".to_vec(),
        }
    }
}

/// Largest chat body the bench accepts from the server.
const MAX_INBOUND_BODY: usize = 64 * 1024;

/// One chat frame from the front of `buf`.
///
/// Why not `chat::protocol::Frame::read_from`: it allocates every line and
/// header (about 550 ns a frame on this machine), and the bench shares the
/// CPU with the server it measures, so its hot path must be as cheap as it
/// can be. This scanner borrows from the buffer instead and checks only what
/// the bench relies on: the start line, `Content-Length` (exactly once, decimal)
/// and the line and header caps of `chat::protocol`. Frames are still built
/// by `chat::protocol`, and the tests check the two parsers agree.
fn parse_chat(buf: &[u8]) -> Result<Parsed<'_>, String> {
    let mut lines = Lines { buf, pos: 0 };
    let start = loop {
        match lines.next()? {
            None => return Ok(None),
            Some("") => {}
            Some(line) => break line,
        }
    };
    let mut content_length = None;
    let mut history = false;
    let mut nick = "";
    let mut count = 0;
    loop {
        let Some(line) = lines.next()? else {
            return Ok(None);
        };
        if line.is_empty() {
            break;
        }
        count += 1;
        if count > MAX_HEADERS {
            return Err(format!(
                "bad frame from server: more than {MAX_HEADERS} headers"
            ));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad frame from server: header line {line:?}"))?;
        let value = value.trim_start_matches([' ', '\t']);
        if name.eq_ignore_ascii_case(header::CONTENT_LENGTH) {
            let ok = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
            let len = value.parse::<usize>().ok().filter(|_| ok);
            match (content_length, len) {
                (None, Some(len)) => content_length = Some(len),
                (Some(_), _) => return Err("bad frame from server: two Content-Lengths".into()),
                (None, None) => {
                    return Err(format!("bad frame from server: Content-Length {value:?}"))
                }
            }
        } else if name.eq_ignore_ascii_case(header::HISTORY) {
            history = value.eq_ignore_ascii_case("yes");
        } else if name.eq_ignore_ascii_case(header::NICK) {
            nick = value;
        }
    }
    let len = content_length.ok_or("bad frame from server: no Content-Length")?;
    if len > MAX_INBOUND_BODY {
        return Err(format!("bad frame from server: body of {len} bytes"));
    }
    let body_start = lines.pos;
    let Some(body) = buf.get(body_start..body_start + len) else {
        return Ok(None);
    };
    let msg = classify_chat(start, Extras { history, nick }, body)?;
    Ok(Some((msg, body_start + len)))
}

/// Splits a buffer into LF- or CR LF-ended UTF-8 lines, capped like `chat::protocol`.
struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    /// The next complete line without its ending; `Ok(None)` if incomplete.
    fn next(&mut self) -> Result<Option<&'a str>, String> {
        let rest = &self.buf[self.pos..];
        let Some(n) = rest
            .iter()
            .take(MAX_LINE_BYTES + 2)
            .position(|&b| b == b'\n')
        else {
            if rest.len() >= MAX_LINE_BYTES + 2 {
                return Err(format!(
                    "bad frame from server: line over {MAX_LINE_BYTES} bytes"
                ));
            }
            return Ok(None);
        };
        self.pos += n + 1;
        let line = rest[..n].strip_suffix(b"\r").unwrap_or(&rest[..n]);
        if line.len() > MAX_LINE_BYTES {
            return Err(format!(
                "bad frame from server: line over {MAX_LINE_BYTES} bytes"
            ));
        }
        std::str::from_utf8(line)
            .map(Some)
            .map_err(|_| "bad frame from server: line is not UTF-8".to_string())
    }
}

/// The headers of a chat frame the bench looks at.
struct Extras<'a> {
    /// `History: yes`.
    history: bool,
    /// `Nick` (of JOIN events), or empty.
    nick: &'a str,
}

/// What a chat frame means to the bench, from its start line.
fn classify_chat<'a>(
    start: &'a str,
    extras: Extras<'a>,
    body: &'a [u8],
) -> Result<Inbound<'a>, String> {
    let bad = || format!("bad frame from server: start line {start:?}");
    if let Some(rest) = start
        .strip_prefix(VERSION)
        .and_then(|r| r.strip_prefix(' '))
    {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let code: u16 = code
            .parse()
            .ok()
            .filter(|_| code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(bad)?;
        let mut text = format!("{code} {reason}");
        if !body.is_empty() {
            let _ = write!(text, ": {}", String::from_utf8_lossy(body).trim_end());
        }
        return Ok(Inbound::Reply { code, text });
    }
    let mut parts = start.split(' ');
    let (Some(verb), Some(target), Some(VERSION), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let room = target.strip_prefix("/rooms/").unwrap_or(target);
    Ok(match verb {
        "MESSAGE" => Inbound::Delivery {
            room,
            history: extras.history,
            body,
        },
        "JOIN" => Inbound::Joined {
            room,
            nick: extras.nick,
        },
        "PING" => Inbound::Ping(Frame::request("PONG", "/").encode()),
        "BYE" => Inbound::Closing(String::from_utf8_lossy(body).trim_end().to_string()),
        _ => Inbound::Other,
    })
}

/// One IRC line from the front of `buf` (LF or CR LF ended). A line that is
/// not UTF-8 is ignored: the bench itself only sends ASCII.
fn parse_irc(buf: &[u8]) -> Parsed<'_> {
    let end = buf.iter().position(|&b| b == b'\n')?;
    let line = &buf[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let msg = std::str::from_utf8(line).map_or(Inbound::Other, classify_irc);
    Some((msg, end + 1))
}

/// What an IRC line means to the bench.
fn classify_irc(line: &str) -> Inbound<'_> {
    let rest = match line.strip_prefix(':') {
        Some(r) => r.split_once(' ').map_or("", |(_, r)| r),
        None => line,
    };
    let (command, params) = rest.split_once(' ').unwrap_or((rest, ""));
    match command {
        "PING" => Inbound::Ping(format!("PONG {params}\r\n").into_bytes()),
        "PRIVMSG" => {
            let (target, text) = match params.split_once(" :") {
                Some((t, x)) => (t, x),
                None => params.split_once(' ').unwrap_or((params, "")),
            };
            Inbound::Delivery {
                room: target,
                history: false,
                body: text.as_bytes(),
            }
        }
        "ERROR" => Inbound::Closing(params.trim_start_matches(':').to_string()),
        c if c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()) => Inbound::Reply {
            code: c.parse().unwrap_or(0),
            text: line.to_string(),
        },
        _ => Inbound::Other,
    }
}

// ---------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------

/// A logged-in client, as the senders see it.
struct Client {
    id: usize,
    nick: String,
    /// The room name as the protocol spells it.
    room: String,
    /// Shared with the reader, which answers pings through it.
    writer: Arc<Mutex<Arc<TcpStream>>>,
}

/// How a login step judges a reply.
enum Verdict {
    Done,
    Fail,
    Skip,
}

/// Writes `bytes` to a client's socket.
fn send(writer: &Mutex<Arc<TcpStream>>, bytes: &[u8]) -> io::Result<()> {
    (&**lock(writer)).write_all(bytes)
}

/// Reads until a reply that `judge` calls done (`Ok`) or failed (`Err` with
/// its text), answering pings and skipping everything else. With `entered`
/// = (room, nick), done also needs that client's own JOIN event for that
/// room, in either order: only the event proves the server has made it a
/// member, so only then can it count on every message sent to the room.
/// Bounded by `deadline`.
fn await_reply(
    protocol: Protocol,
    wire: &mut Wire,
    writer: &Mutex<Arc<TcpStream>>,
    deadline: Instant,
    judge: impl Fn(u16) -> Verdict,
    entered: Option<(&str, &str)>,
) -> Result<Result<(), String>, String> {
    let mut replied = false;
    let mut joined = entered.is_none();
    loop {
        while let Some((msg, used)) = protocol.parse(wire.pending())? {
            let outcome = match msg {
                Inbound::Reply { code, text } if !replied => match judge(code) {
                    Verdict::Done => {
                        replied = true;
                        None
                    }
                    Verdict::Fail => Some(Err(text)),
                    Verdict::Skip => None,
                },
                Inbound::Joined { room, nick } => {
                    joined |= entered.is_some_and(|(r, n)| {
                        room.eq_ignore_ascii_case(r) && nick.eq_ignore_ascii_case(n)
                    });
                    None
                }
                Inbound::Ping(pong) => {
                    send(writer, &pong).map_err(|e| format!("send: {e}"))?;
                    None
                }
                Inbound::Closing(why) => return Err(format!("server closed: {why}")),
                Inbound::Reply { .. } | Inbound::Delivery { .. } | Inbound::Other => None,
            };
            wire.consume(used);
            if let Some(outcome) = outcome {
                return Ok(outcome);
            }
            if replied && joined {
                return Ok(Ok(()));
            }
        }
        if Instant::now() >= deadline {
            return Err("timed out".to_string());
        }
        match wire.fill().map_err(|e| format!("read: {e}"))? {
            Fill::Data | Fill::Timeout => {}
            Fill::Eof => return Err("server closed the connection".to_string()),
        }
    }
}

/// Chat: every reply answers the one request in flight.
fn chat_judge(code: u16) -> Verdict {
    if (200..300).contains(&code) {
        Verdict::Done
    } else {
        Verdict::Fail
    }
}

/// Connects client `i` and logs it in, in its room. Returns the client and
/// the reading half, which still holds whatever arrived after the login.
fn login(
    config: &Config,
    addr: SocketAddr,
    i: usize,
    deadline: Instant,
) -> Result<(Client, Wire), String> {
    let nick = nick(i);
    let room = room_name(config.protocol, room_of(i, config.rooms), config.rooms);
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .map_err(|e| format!("{nick}: connect to {addr}: {e}"))?;
    let setup = || -> io::Result<()> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_POLL))?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT))
    };
    setup().map_err(|e| format!("{nick}: socket setup: {e}"))?;
    let stream = Arc::new(stream);
    let writer = Mutex::new(Arc::clone(&stream));
    let mut wire = Wire::new(stream);
    let steps = match config.protocol {
        Protocol::Chat => login_chat(&mut wire, &writer, &nick, &room, config.rooms, deadline),
        Protocol::Irc => login_irc(&mut wire, &writer, &nick, &room, deadline),
    };
    steps.map_err(|e| format!("{nick}: {e}"))?;
    let writer = Arc::new(writer);
    let client = Client {
        id: i,
        nick,
        room,
        writer,
    };
    Ok((client, wire))
}

/// Chat login: LOGIN, then (with several rooms) JOIN the room, creating it
/// when it does not exist yet, and joining after all if another client won
/// the race to create it.
fn login_chat(
    wire: &mut Wire,
    writer: &Mutex<Arc<TcpStream>>,
    nick: &str,
    room: &str,
    rooms: usize,
    deadline: Instant,
) -> Result<(), String> {
    // Each step waits for its reply and for this client's own JOIN event.
    let mut request = |frame: Frame, what: &str, into: &str| {
        send(writer, &frame.encode()).map_err(|e| format!("send {what}: {e}"))?;
        await_reply(
            Protocol::Chat,
            wire,
            writer,
            deadline,
            chat_judge,
            Some((into, nick)),
        )
        .map_err(|e| format!("waiting for the {what} reply and JOIN /rooms/{into}: {e}"))
    };
    let login = Frame::request("LOGIN", "/").with_header(header::NICK, nick);
    request(login, "LOGIN", LOBBY)?.map_err(|e| format!("LOGIN refused: {e}"))?;
    if rooms == 1 {
        return Ok(());
    }
    let target = format!("/rooms/{room}");
    let join = || Frame::request("JOIN", &target);
    let Err(join_error) = request(join(), "JOIN", room)? else {
        return Ok(());
    };
    let create = Frame::request("CREATE", &target).with_header(header::VISIBILITY, "public");
    let Err(create_error) = request(create, "CREATE", room)? else {
        return Ok(());
    };
    request(join(), "JOIN", room)?.map_err(|e| {
        format!("cannot enter {room}: JOIN said {join_error:?}, CREATE said {create_error:?}, JOIN again said {e:?}")
    })
}

/// IRC login: NICK and USER until welcome (001), then JOIN until the end of
/// the names list (366).
fn login_irc(
    wire: &mut Wire,
    writer: &Mutex<Arc<TcpStream>>,
    nick: &str,
    room: &str,
    deadline: Instant,
) -> Result<(), String> {
    let failure = |code: u16| (400..600).contains(&code);
    let hello = format!("NICK {nick}\r\nUSER {nick} 0 * :bench\r\n");
    send(writer, hello.as_bytes()).map_err(|e| format!("send NICK: {e}"))?;
    let welcome = |code| match code {
        1 => Verdict::Done,
        c if failure(c) => Verdict::Fail,
        _ => Verdict::Skip,
    };
    await_reply(Protocol::Irc, wire, writer, deadline, welcome, None)
        .map_err(|e| format!("waiting for the welcome (001): {e}"))?
        .map_err(|e| format!("registration refused: {e}"))?;
    send(writer, format!("JOIN {room}\r\n").as_bytes()).map_err(|e| format!("send JOIN: {e}"))?;
    let end_of_names = |code| match code {
        366 => Verdict::Done,
        c if failure(c) => Verdict::Fail,
        _ => Verdict::Skip,
    };
    await_reply(Protocol::Irc, wire, writer, deadline, end_of_names, None)
        .map_err(|e| format!("waiting for JOIN {room} (366): {e}"))?
        .map_err(|e| format!("JOIN {room} refused: {e}"))
}

/// What the login phase produced.
struct LoginOutcome {
    /// The logged-in clients, in client order (all of them on success).
    clients: Vec<Client>,
    readers: Vec<JoinHandle<()>>,
    elapsed: Duration,
}

/// Logs every client in, `config.logins` at a time, starting each one's
/// reader as soon as it is in. Stops early at the first failure.
fn login_all(
    config: &Config,
    addr: SocketAddr,
    shared: &Arc<Shared>,
    budget: Duration,
) -> LoginOutcome {
    let started = Instant::now();
    let deadline = started + budget;
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Client>>> = Mutex::new((0..config.clients).map(|_| None).collect());
    let readers = Mutex::new(Vec::with_capacity(config.clients));
    let workers = config.clients.min(config.logins);
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= config.clients || shared.failure().is_some() {
                    break;
                }
                match login(config, addr, i, deadline) {
                    Ok((client, wire)) => {
                        match spawn_reader(config.protocol, &client, wire, shared) {
                            Ok(handle) => lock(&readers).push(handle),
                            Err(e) => {
                                shared.fail(format!("{}: cannot start reader: {e}", client.nick))
                            }
                        }
                        lock(&slots)[i] = Some(client);
                    }
                    Err(e) => shared.fail(format!("login failed: {e}")),
                }
            });
        }
    });
    let clients: Vec<Client> = slots
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect();
    if clients.len() < config.clients {
        shared.fail(format!(
            "login phase stopped with {} of {} clients logged in",
            clients.len(),
            config.clients
        ));
    }
    LoginOutcome {
        clients,
        readers: readers.into_inner().unwrap_or_else(PoisonError::into_inner),
        elapsed: started.elapsed(),
    }
}

// ---------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------

/// Starts the reader thread of a logged-in client.
fn spawn_reader(
    protocol: Protocol,
    client: &Client,
    wire: Wire,
    shared: &Arc<Shared>,
) -> io::Result<JoinHandle<()>> {
    let reader = Reader {
        id: client.id,
        protocol,
        nick: client.nick.clone(),
        room: client.room.clone(),
        writer: Arc::clone(&client.writer),
        shared: Arc::clone(shared),
    };
    thread::Builder::new()
        .name(format!("read-{}", client.nick))
        .stack_size(READER_STACK_BYTES)
        .spawn(move || reader.run(wire))
}

/// One connection's reader: counts deliveries and replies, answers pings.
struct Reader {
    /// The client's index.
    id: usize,
    protocol: Protocol,
    nick: String,
    room: String,
    writer: Arc<Mutex<Arc<TcpStream>>>,
    shared: Arc<Shared>,
}

impl Reader {
    /// Reads until the server closes after QUIT, or the stop flag, or an error.
    fn run(self, mut wire: Wire) {
        let mut latency = None;
        if let Err(e) = self.read_all(&mut wire, &mut latency) {
            if !self.shared.quitting.load(Ordering::Relaxed) {
                self.shared.fail(format!("{}: {e}", self.nick));
            }
        }
        if let Some(mine) = latency {
            lock(&self.shared.latency).merge(&mine);
        }
        self.shared.readers_done.fetch_add(1, Ordering::Relaxed);
    }

    /// The read loop. Everything one read brought counts as arrived when the
    /// read returned, and the shared counters are updated once per read.
    fn read_all(&self, wire: &mut Wire, latency: &mut Option<Histogram>) -> Result<(), String> {
        let shared = &self.shared;
        let mut arrived = shared.now_ns();
        loop {
            let mut delivered = 0;
            while let Some((msg, used)) = self.protocol.parse(wire.pending())? {
                let sent = self.handle(msg)?;
                wire.consume(used);
                if let Some(sent) = sent {
                    delivered += 1;
                    let h = latency.get_or_insert_with(Histogram::new);
                    h.record(arrived.saturating_sub(sent));
                }
            }
            if delivered > 0 {
                shared
                    .last_delivery_ns
                    .fetch_max(arrived, Ordering::Relaxed);
                shared.deliveries.fetch_add(delivered, Ordering::Relaxed);
                shared.per_client[self.id].fetch_add(delivered, Ordering::Relaxed);
            }
            if shared.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            match wire.fill().map_err(|e| format!("read: {e}"))? {
                Fill::Data => arrived = shared.now_ns(),
                Fill::Timeout => {}
                Fill::Eof if shared.quitting.load(Ordering::Relaxed) => return Ok(()),
                Fill::Eof => return Err("server closed the connection".to_string()),
            }
        }
    }

    /// Acts on one message; for a live delivery with a send time, returns
    /// that send time.
    fn handle(&self, msg: Inbound<'_>) -> Result<Option<u64>, String> {
        let shared = &self.shared;
        match msg {
            Inbound::Delivery { history: true, .. } | Inbound::Joined { .. } | Inbound::Other => {}
            Inbound::Delivery { room, body, .. } => {
                if !room.eq_ignore_ascii_case(&self.room) {
                    shared.misrouted.fetch_add(1, Ordering::Relaxed);
                }
                let sent = body_send_time(body);
                if sent.is_none() {
                    shared.malformed.fetch_add(1, Ordering::Relaxed);
                    shared.deliveries.fetch_add(1, Ordering::Relaxed);
                    shared.per_client[self.id].fetch_add(1, Ordering::Relaxed);
                }
                return Ok(sent);
            }
            Inbound::Reply { code, text } => self.reply(code, &text),
            Inbound::Ping(pong) => {
                send(&self.writer, &pong).map_err(|e| format!("send PONG: {e}"))?
            }
            Inbound::Closing(why) if !shared.quitting.load(Ordering::Relaxed) => {
                return Err(format!("server closed the connection: {why}"));
            }
            Inbound::Closing(_) => {}
        }
        Ok(None)
    }

    /// Chat: every reply after login answers a SAY (or the final QUIT).
    /// IRC: there is no positive reply to PRIVMSG, only error numerics.
    fn reply(&self, code: u16, text: &str) {
        let shared = &self.shared;
        let ok = match self.protocol {
            Protocol::Chat => (200..300).contains(&code),
            Protocol::Irc if (400..600).contains(&code) => false,
            Protocol::Irc => return,
        };
        if shared.quitting.load(Ordering::Relaxed) {
            return;
        }
        if ok {
            shared.replies_ok.fetch_add(1, Ordering::Relaxed);
        } else {
            shared.replies_rejected.fetch_add(1, Ordering::Relaxed);
            shared.fail(format!("{}: server rejected a message: {text}", self.nick));
        }
    }
}

// ---------------------------------------------------------------------------
// Senders
// ---------------------------------------------------------------------------

/// What the send phase produced.
struct SendOutcome {
    /// Messages written, per client.
    sent: Vec<u64>,
    /// Worst delay of a paced send behind its schedule.
    max_lag: Duration,
}

/// Sends every client's messages from `SENDER_THREADS` threads. Thread `t`
/// owns the clients `i` with `i % threads == t` and sends round by round; when
/// paced, client `i`'s message `j` is due at `(j + i / clients) / rate`
/// seconds after the start, which spreads the clients evenly over each period.
fn send_all(
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

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

/// Memory of the server process, from /proc/PID/status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ProcMem {
    rss_kib: u64,
    peak_kib: u64,
    threads: u64,
}

/// Reads /proc/`pid`/status.
fn proc_mem(pid: u32) -> Result<ProcMem, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
    parse_status(&text).ok_or_else(|| format!("{path}: no VmRSS/VmHWM lines"))
}

/// CPU time (user + system, all threads) a process has used so far, from
/// /proc/`pid`/stat (`"self"` for the bench itself).
fn cpu_time(pid: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_cpu(&text)
}

/// utime + stime out of a /proc stat line. They count in USER_HZ ticks,
/// which Linux fixes at 100 per second for userland.
fn parse_stat_cpu(text: &str) -> Option<Duration> {
    // The command name, in parentheses, may hold spaces: count from after it.
    let after = &text[text.rfind(')')? + 1..];
    let mut fields = after.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

/// Picks VmRSS, VmHWM and Threads out of a /proc status text.
fn parse_status(text: &str) -> Option<ProcMem> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some(ProcMem {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
        threads: field("Threads:").unwrap_or(0),
    })
}

/// Server memory over the run.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ServerMem {
    pid: u32,
    /// Before the first client connected.
    baseline_kib: u64,
    /// With every client logged in (at the end of the hold, when holding).
    connected_kib: u64,
    /// Peak RSS over the server's life (VmHWM), sampled before the clients quit.
    peak_kib: u64,
    threads_connected: u64,
}

impl ServerMem {
    /// Memory each connected client added, in bytes.
    fn per_client_bytes(&self, clients: usize) -> u64 {
        self.connected_kib.saturating_sub(self.baseline_kib) * 1024 / clients.max(1) as u64
    }
}

/// Everything the run measured, and its first failure.
struct Report {
    config: Config,
    addr: String,
    connected: usize,
    login: Duration,
    sent: u64,
    replies_ok: u64,
    replies_rejected: u64,
    deliveries: u64,
    expected: u64,
    misrouted: u64,
    malformed: u64,
    /// First send to last delivery.
    send_phase: Option<Duration>,
    /// (p50, p90, p99, max) in nanoseconds.
    latency: Option<(u64, u64, u64, u64)>,
    max_send_lag: Duration,
    server: Option<ServerMem>,
    /// CPU the bench and the server used from the first connect until the
    /// clients quit: on a small machine the bench competes with the server.
    bench_cpu: Option<Duration>,
    server_cpu: Option<Duration>,
    /// The clients whose delivery counts are off, if any.
    who_missed: Option<String>,
    error: Option<String>,
}

/// Runs the whole benchmark and reports; never panics on what the network does.
fn bench(config: &Config) -> Report {
    let shared = Arc::new(Shared::new(config.clients));
    let budget = Budget::for_config(config);
    let mut report = Report::new(config);
    let addr = match resolve(&config.host, config.port) {
        Ok(a) => a,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    report.addr = addr.to_string();
    let baseline = match config.server_pid.map(proc_mem).transpose() {
        Ok(m) => m,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    let cpu_start = (cpu_time("self"), server_cpu(config));
    let login = login_all(config, addr, &shared, budget.login);
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
                Protocol::Chat => sent.iter().sum(),
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
    shut_down(config.protocol, &login.clients, login.readers, &shared);
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

/// The clients that got other than their share of deliveries, at most five
/// named: `b0199 got 9948 of 9950, ...`. `None` when every count is right.
fn who_missed(got: &[u64], sent: &[u64], rooms: usize) -> Option<String> {
    let mut room_sent = vec![0u64; rooms];
    for (i, &n) in sent.iter().enumerate() {
        room_sent[room_of(i, rooms)] += n;
    }
    let off: Vec<String> = got
        .iter()
        .zip(sent)
        .enumerate()
        .filter_map(|(i, (&g, &own))| {
            let want = room_sent[room_of(i, rooms)] - own;
            (g != want).then(|| format!("{} got {g} of {want}", nick(i)))
        })
        .collect();
    if off.is_empty() {
        return None;
    }
    let mut text = off[..off.len().min(5)].join(", ");
    if off.len() > 5 {
        let _ = write!(text, " and {} more clients", off.len() - 5);
    }
    Some(text)
}

/// Sends QUIT on every client, gives the server `QUIT_GRACE` to close them,
/// then stops and joins every reader (each returns within `READ_POLL`).
fn shut_down(
    protocol: Protocol,
    clients: &[Client],
    readers: Vec<JoinHandle<()>>,
    shared: &Shared,
) {
    shared.quitting.store(true, Ordering::Relaxed);
    let quit = protocol.quit();
    for client in clients {
        let _ = send(&client.writer, &quit);
    }
    let until = Instant::now() + QUIT_GRACE;
    while shared.readers_done.load(Ordering::Relaxed) < readers.len() && Instant::now() < until {
        thread::sleep(Duration::from_millis(10));
    }
    shared.stop.store(true, Ordering::Relaxed);
    for reader in readers {
        if reader.join().is_err() {
            shared.fail("a reader thread panicked".to_string());
        }
    }
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

impl Report {
    fn new(config: &Config) -> Report {
        Report {
            config: config.clone(),
            addr: format!("{}:{}", config.host, config.port),
            connected: 0,
            login: Duration::ZERO,
            sent: 0,
            replies_ok: 0,
            replies_rejected: 0,
            deliveries: 0,
            expected: 0,
            misrouted: 0,
            malformed: 0,
            send_phase: None,
            latency: None,
            max_send_lag: Duration::ZERO,
            server: None,
            bench_cpu: None,
            server_cpu: None,
            who_missed: None,
            error: None,
        }
    }

    /// Takes the final counters, after every reader has stopped, and decides
    /// whether the run failed.
    fn fill_counts(&mut self, shared: &Shared, sent: &[u64], rooms: usize) {
        self.sent = sent.iter().sum();
        self.expected = expected_deliveries(sent, rooms);
        self.deliveries = shared.deliveries.load(Ordering::Relaxed);
        self.replies_ok = shared.replies_ok.load(Ordering::Relaxed);
        self.replies_rejected = shared.replies_rejected.load(Ordering::Relaxed);
        self.misrouted = shared.misrouted.load(Ordering::Relaxed);
        if sent.len() == shared.per_client.len() {
            self.who_missed = who_missed(&shared.per_client_counts(), sent, rooms);
        }
        self.malformed = shared.malformed.load(Ordering::Relaxed);
        let first = shared.first_send_ns.load(Ordering::Relaxed);
        let last = shared.last_delivery_ns.load(Ordering::Relaxed);
        if first != u64::MAX && last > first {
            self.send_phase = Some(Duration::from_nanos(last - first));
        }
        let latency = lock(&shared.latency);
        let p = |q| latency.percentile(q);
        if let (Some(p50), Some(p90), Some(p99)) = (p(0.50), p(0.90), p(0.99)) {
            self.latency = Some((p50, p90, p99, latency.max));
        }
        drop(latency);
        self.error = shared.failure().or_else(|| self.count_error());
    }

    /// A failure the counts alone show.
    fn count_error(&self) -> Option<String> {
        let planned = (self.config.clients * self.config.messages) as u64;
        if self.connected == self.config.clients && self.sent != planned {
            return Some(format!("sent {} of {planned} messages", self.sent));
        }
        if self.deliveries != self.expected {
            let mut error = format!(
                "received {} deliveries, expected {}",
                self.deliveries, self.expected
            );
            if let Some(who) = &self.who_missed {
                let _ = write!(error, "; {who}");
            }
            return Some(error);
        }
        if self.misrouted > 0 {
            return Some(format!(
                "{} deliveries arrived in the wrong room",
                self.misrouted
            ));
        }
        if self.malformed > 0 {
            return Some(format!("{} deliveries had no send time", self.malformed));
        }
        None
    }

    /// Deliveries per second over the send phase.
    fn delivery_rate(&self) -> Option<f64> {
        self.send_phase
            .map(|d| self.deliveries as f64 / d.as_secs_f64())
    }

    /// The report for people.
    fn text(&self) -> String {
        let c = &self.config;
        let mut out = String::new();
        let pacing = c.rate.map_or("unpaced".to_string(), |r| {
            format!("paced at {r} msg/s per client")
        });
        let _ = writeln!(
            out,
            "chat-bench: {} at {}, {} clients in {} room(s), {} messages x {} B each, {pacing}",
            c.protocol.name(),
            self.addr,
            c.clients,
            c.rooms,
            c.messages,
            c.size
        );
        let _ = writeln!(
            out,
            "connect+login:   {:.3} s for {} of {} clients",
            self.login.as_secs_f64(),
            self.connected,
            c.clients
        );
        if let Some(hold) = c.hold {
            let _ = writeln!(out, "held idle:       {:.1} s", hold.as_secs_f64());
        }
        let _ = writeln!(
            out,
            "messages sent:   {} (replies: {} ok, {} rejected)",
            self.sent, self.replies_ok, self.replies_rejected
        );
        let _ = writeln!(
            out,
            "deliveries:      {} of {} expected",
            self.deliveries, self.expected
        );
        if let (Some(phase), Some(rate)) = (self.send_phase, self.delivery_rate()) {
            let _ = writeln!(
                out,
                "send phase:      {:.3} s, {:.0} deliveries/s",
                phase.as_secs_f64(),
                rate
            );
        }
        if let Some((p50, p90, p99, max)) = self.latency {
            let _ = writeln!(
                out,
                "latency:         p50 {}  p90 {}  p99 {}  max {}",
                ms(p50),
                ms(p90),
                ms(p99),
                ms(max)
            );
        }
        if c.rate.is_some() {
            let _ = writeln!(
                out,
                "max send lag:    {}",
                ms(duration_ns(self.max_send_lag))
            );
        }
        if let Some(s) = &self.server {
            let _ = writeln!(
                out,
                "server pid {}:  RSS {} KiB -> {} KiB with clients ({} B per client), peak {} KiB, {} threads",
                s.pid,
                s.baseline_kib,
                s.connected_kib,
                s.per_client_bytes(c.clients),
                s.peak_kib,
                s.threads_connected
            );
        }
        if let Some(bench) = self.bench_cpu {
            let server = self.server_cpu.map_or(String::new(), |s| {
                format!(", server {:.2} s", s.as_secs_f64())
            });
            let _ = writeln!(
                out,
                "cpu (user+sys):  bench {:.2} s{server}",
                bench.as_secs_f64()
            );
        }
        match &self.error {
            None => out.push_str("result:          ok\n"),
            Some(e) => {
                let _ = writeln!(out, "result:          FAILED: {e}");
            }
        }
        out
    }

    /// The report as one JSON object.
    fn json(&self) -> String {
        let c = &self.config;
        let mut j = JsonObject::default();
        j.string("protocol", c.protocol.name());
        j.string("addr", &self.addr);
        j.number("clients", c.clients);
        j.number("rooms", c.rooms);
        j.number("messages", c.messages);
        j.number("size", c.size);
        j.float("rate", c.rate);
        j.float("hold_s", c.hold.map(|h| h.as_secs_f64()));
        j.number("connected", self.connected);
        j.float("login_s", Some(self.login.as_secs_f64()));
        j.number("messages_sent", self.sent);
        j.number("replies_ok", self.replies_ok);
        j.number("replies_rejected", self.replies_rejected);
        j.number("deliveries", self.deliveries);
        j.number("expected_deliveries", self.expected);
        j.number("misrouted", self.misrouted);
        j.number("malformed", self.malformed);
        j.float("send_phase_s", self.send_phase.map(|d| d.as_secs_f64()));
        j.float("deliveries_per_s", self.delivery_rate());
        let lat = self.latency;
        j.opt_number("latency_p50_ns", lat.map(|l| l.0));
        j.opt_number("latency_p90_ns", lat.map(|l| l.1));
        j.opt_number("latency_p99_ns", lat.map(|l| l.2));
        j.opt_number("latency_max_ns", lat.map(|l| l.3));
        j.number("max_send_lag_ns", duration_ns(self.max_send_lag));
        let s = self.server;
        j.opt_number("server_pid", s.map(|s| s.pid));
        j.opt_number("server_rss_baseline_kib", s.map(|s| s.baseline_kib));
        j.opt_number("server_rss_connected_kib", s.map(|s| s.connected_kib));
        j.opt_number(
            "server_rss_per_client_bytes",
            s.map(|s| s.per_client_bytes(c.clients)),
        );
        j.opt_number("server_peak_rss_kib", s.map(|s| s.peak_kib));
        j.opt_number("server_threads", s.map(|s| s.threads_connected));
        j.float("bench_cpu_s", self.bench_cpu.map(|d| d.as_secs_f64()));
        j.float("server_cpu_s", self.server_cpu.map(|d| d.as_secs_f64()));
        j.raw(
            "ok",
            if self.error.is_none() {
                "true"
            } else {
                "false"
            },
        );
        match &self.error {
            Some(e) => j.string("error", e),
            None => j.raw("error", "null"),
        }
        j.finish()
    }
}

/// Nanoseconds as milliseconds, for people.
fn ms(ns: u64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}

/// A duration in whole nanoseconds, saturating.
fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A flat JSON object written by hand.
#[derive(Default)]
struct JsonObject {
    out: String,
}

impl JsonObject {
    fn key(&mut self, name: &str) {
        self.out.push(if self.out.is_empty() { '{' } else { ',' });
        self.out.push_str(&json_string(name));
        self.out.push(':');
    }

    fn raw(&mut self, name: &str, value: &str) {
        self.key(name);
        self.out.push_str(value);
    }

    fn string(&mut self, name: &str, value: &str) {
        self.raw(name, &json_string(value));
    }

    fn number(&mut self, name: &str, value: impl std::fmt::Display) {
        self.raw(name, &value.to_string());
    }

    fn opt_number(&mut self, name: &str, value: Option<impl std::fmt::Display>) {
        match value {
            Some(v) => self.number(name, v),
            None => self.raw(name, "null"),
        }
    }

    fn float(&mut self, name: &str, value: Option<f64>) {
        match value {
            Some(v) if v.is_finite() => self.raw(name, &format!("{v:.6}")),
            _ => self.raw(name, "null"),
        }
    }

    fn finish(mut self) -> String {
        if self.out.is_empty() {
            self.out.push('{');
        }
        self.out.push('}');
        self.out
    }
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn config(s: &str) -> Config {
        match parse_args(&args(s)) {
            Ok(Command::Run(c)) => c,
            other => panic!("{s:?} parsed to {other:?}"),
        }
    }

    fn error(s: &str) -> String {
        match parse_args(&args(s)) {
            Err(e) => e,
            other => panic!("{s:?} should fail, parsed to {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = config("");
        assert_eq!(c.clients, 50);
        assert_eq!(c.messages, 200);
        assert_eq!(c.size, 64);
        assert_eq!(c.rate, None);
        assert_eq!(c.rooms, 1);
        assert_eq!(c.hold, None);
        assert_eq!(c.logins, LOGINS_IN_FLIGHT);
        assert_eq!(c.host, "127.0.0.1");
        assert_eq!(c.port, DEFAULT_CHAT_PORT);
        assert_eq!(c.protocol, Protocol::Chat);
        assert_eq!(c.server_pid, None);
        assert!(!c.json);
    }

    #[test]
    fn every_option() {
        let c = config(
            "--clients 200 --messages=50 --size 128 --rate 2.5 --rooms 4 --logins 8 \
             --host localhost --port 9000 --protocol irc --server-pid 42 --timeout 60 --json",
        );
        assert_eq!(c.clients, 200);
        assert_eq!(c.messages, 50);
        assert_eq!(c.size, 128);
        assert_eq!(c.rate, Some(2.5));
        assert_eq!(c.rooms, 4);
        assert_eq!(c.logins, 8);
        assert_eq!(c.host, "localhost");
        assert_eq!(c.port, 9000);
        assert_eq!(c.protocol, Protocol::Irc);
        assert_eq!(c.server_pid, Some(42));
        assert_eq!(c.timeout, Some(Duration::from_secs(60)));
        assert!(c.json);
    }

    #[test]
    fn irc_default_port_and_hold() {
        let c = config("--protocol irc --messages 0 --hold 1.5");
        assert_eq!(c.port, DEFAULT_IRC_PORT);
        assert_eq!(c.hold, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn help_wins() {
        assert_eq!(parse_args(&args("--clients 3 --help")), Ok(Command::Help));
        assert_eq!(parse_args(&args("-h")), Ok(Command::Help));
    }

    #[test]
    fn bad_arguments_are_explained() {
        assert!(error("--clients").contains("needs a value"));
        assert!(error("--clients x").contains("whole number"));
        assert!(error("--clients 0").contains("out of range"));
        assert!(error("--bogus 1").contains("unknown argument"));
        assert!(error("extra").contains("unknown argument"));
        assert!(error("--size 8").contains("out of range"));
        assert!(error("--size 500 --protocol irc").contains("out of range"));
        assert!(error("--rate 0").contains("out of range"));
        assert!(error("--rate nan").contains("out of range"));
        assert!(error("--rate 1e-300").contains("out of range"));
        assert!(error("--hold inf --messages 0").contains("out of range"));
        assert!(error("--rooms 3 --clients 2").contains("out of range"));
        assert!(error("--protocol xmpp").contains("chat or irc"));
        assert!(error("--hold 5").contains("--messages 0"));
        assert!(error("--port 70000").contains("out of range"));
        assert!(error("--server-pid abc").contains("process id"));
        assert!(error("--json=yes").contains("no value"));
        assert!(error("--clients 1 --clients 2").contains("more than once"));
    }

    #[test]
    fn expected_deliveries_per_room() {
        // 3 clients in one room, 5 messages each: 15 messages x 2 others.
        assert_eq!(expected_deliveries(&[5, 5, 5], 1), 30);
        // 5 clients in 2 rooms (3 + 2): 3x2 + 2x1 messages x others.
        assert_eq!(expected_deliveries(&[1, 1, 1, 1, 1], 2), 3 * 2 + 2);
        // Alone in a room: nobody to deliver to.
        assert_eq!(expected_deliveries(&[7, 7], 2), 0);
        assert_eq!(room_sizes(5, 2), vec![3, 2]);
    }

    #[test]
    fn who_missed_names_the_short_clients() {
        // 3 clients in one room sent 5 each: everyone is owed 10.
        assert_eq!(who_missed(&[10, 10, 10], &[5, 5, 5], 1), None);
        assert_eq!(
            who_missed(&[10, 8, 11], &[5, 5, 5], 1).as_deref(),
            Some("b0001 got 8 of 10, b0002 got 11 of 10")
        );
        let many = who_missed(&[0; 8], &[1; 8], 1).unwrap_or_default();
        assert!(many.starts_with("b0000 got 0 of 7, "), "{many}");
        assert!(many.ends_with(" and 3 more clients"), "{many}");
    }

    #[test]
    fn message_bodies_carry_their_send_time() {
        let body = message_body(123_456_789, 64);
        assert_eq!(body.len(), 64);
        assert_eq!(body_send_time(body.as_bytes()), Some(123_456_789));
        let exact = message_body(1_234_567_890_123_456, 16);
        assert_eq!(exact, "1234567890123456");
        assert_eq!(body_send_time(b"hello world"), None);
    }

    #[test]
    fn buckets_cover_values_tightly() {
        let top = (1u64 << TOP_BIT) - 1;
        for v in [
            0,
            1,
            127,
            128,
            129,
            255,
            256,
            1000,
            1 << 20,
            123_456_789,
            top,
        ] {
            let b = bucket_of(v);
            assert!(b < BUCKETS, "{v}");
            assert!(bucket_high(b) >= v, "{v}");
            // Within 1/128 above the value.
            assert!(bucket_high(b) - v <= v / 128, "{v}: {}", bucket_high(b));
        }
        assert_eq!(bucket_of(top), BUCKETS - 1);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_of_one_to_a_thousand() {
        let mut h = Histogram::new();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let within = |got: Option<u64>, want: u64| {
            let got = got.unwrap_or(0);
            assert!(got >= want && got - want <= want / 128, "{got} vs {want}");
        };
        within(h.percentile(0.50), 500_000);
        within(h.percentile(0.90), 900_000);
        within(h.percentile(0.99), 990_000);
        assert_eq!(h.percentile(1.0), Some(1_000_000));
        assert_eq!(h.max, 1_000_000);
    }

    #[test]
    fn percentiles_of_nothing_and_of_one_value() {
        assert_eq!(Histogram::new().percentile(0.5), None);
        let mut h = Histogram::new();
        h.record(42);
        assert_eq!(h.percentile(0.0), Some(42));
        assert_eq!(h.percentile(0.99), Some(42));
    }

    #[test]
    fn merged_histograms_hold_both() {
        let (mut low, mut high) = (Histogram::new(), Histogram::new());
        for v in 0..100 {
            low.record(v);
            high.record(1_000_000 + v);
        }
        low.merge(&high);
        assert_eq!(low.counts.iter().sum::<u64>(), 200);
        assert_eq!(low.max, 1_000_099);
        assert!(low.percentile(0.5).is_some_and(|p| p < 100));
        assert!(low.percentile(0.51).is_some_and(|p| p >= 1_000_000));
    }

    #[test]
    fn irc_lines() {
        let line = ":b0001!~b0001@127.0.0.1 PRIVMSG #room0 :123 xxxx\r\nrest";
        let (msg, used) = parse_irc(line.as_bytes()).expect("a complete line");
        assert_eq!(used, line.len() - "rest".len());
        assert_eq!(
            msg,
            Inbound::Delivery {
                room: "#room0",
                history: false,
                body: b"123 xxxx"
            }
        );
        assert_eq!(parse_irc(b"PING :srv"), None);
        assert_eq!(
            parse_irc(b"PING :srv\n").map(|m| m.0),
            Some(Inbound::Ping(b"PONG :srv\r\n".to_vec()))
        );
        assert!(matches!(
            classify_irc(":srv 001 b0001 :Welcome"),
            Inbound::Reply { code: 1, .. }
        ));
        assert_eq!(
            classify_irc("ERROR :Closing"),
            Inbound::Closing("Closing".to_string())
        );
        assert_eq!(classify_irc(":b0002!u@h JOIN :#room0"), Inbound::Other);
        assert_eq!(parse_irc(b"\xff\xfe\n").map(|m| m.0), Some(Inbound::Other));
    }

    /// Frames as `chat::protocol` encodes them, of every kind the bench meets.
    fn sample_frames() -> Vec<Frame> {
        vec![
            Frame::request("MESSAGE", "/rooms/lobby")
                .with_header(header::FROM, "b0001")
                .with_header(header::SEQ, 17)
                .with_text("77 xx"),
            Frame::request("MESSAGE", "/rooms/room3")
                .with_header(header::HISTORY, "yes")
                .with_text("old"),
            Frame::status(chat::protocol::Status::OK),
            Frame::reply(chat::protocol::Status::CONFLICT, "room exists"),
            Frame::request("PING", "/"),
            Frame::request("JOIN", "/rooms/lobby").with_header(header::NICK, "b0002"),
            Frame::request("BYE", "/").with_text("server full"),
        ]
    }

    #[test]
    fn chat_scanner_agrees_with_chat_protocol() {
        let limits = chat::protocol::Limits {
            max_body_bytes: MAX_INBOUND_BODY,
            ..chat::protocol::Limits::default()
        };
        let mut stream = Vec::new();
        for frame in sample_frames() {
            stream.extend_from_slice(&frame.encode());
        }
        // The same frames with bare LF line ends.
        let lf: Vec<u8> = String::from_utf8_lossy(&stream)
            .replace("\r\n", "\n")
            .into_bytes();
        for bytes in [stream, lf] {
            let mut official = &bytes[..];
            let mut pos = 0;
            while let Some(frame) = Frame::read_from(&mut official, &limits).ok().flatten() {
                let (msg, used) = parse_chat(&bytes[pos..]).ok().flatten().expect("a frame");
                pos += used;
                assert_eq!(pos, bytes.len() - official.len());
                match (msg, frame.status_code(), frame.verb()) {
                    (Inbound::Reply { code, .. }, Some(status), None) => assert_eq!(code, status.0),
                    (
                        Inbound::Delivery {
                            room,
                            history,
                            body,
                        },
                        None,
                        Some("MESSAGE"),
                    ) => {
                        assert_eq!(Some(room), frame.target().strip_prefix("/rooms/"));
                        assert_eq!(history, frame.header(header::HISTORY) == Some("yes"));
                        assert_eq!(body, &frame.body[..]);
                    }
                    (Inbound::Ping(_), None, Some("PING")) => {}
                    (Inbound::Closing(why), None, Some("BYE")) => assert_eq!(why, "server full"),
                    (Inbound::Joined { room, nick }, None, Some("JOIN")) => {
                        assert_eq!(Some(room), frame.target().strip_prefix("/rooms/"));
                        assert_eq!(Some(nick), frame.header(header::NICK));
                    }
                    (msg, status, verb) => panic!("{msg:?} for {status:?} {verb:?}"),
                }
            }
            assert_eq!(pos, bytes.len());
        }
    }

    #[test]
    fn chat_scanner_waits_for_whole_frames() {
        let bytes = Frame::request("MESSAGE", "/rooms/lobby")
            .with_text("12 abc")
            .encode();
        for cut in 0..bytes.len() {
            assert_eq!(parse_chat(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
        assert!(parse_chat(&bytes).is_ok_and(|m| m.is_some()));
    }

    #[test]
    fn chat_scanner_rejects_garbage() {
        let bad: [&[u8]; 6] = [
            b"garbage line\r\n\r\n",
            b"MESSAGE /rooms/a CHAT/1.0\r\n\r\n",
            b"MESSAGE /rooms/a CHAT/1.0\r\nContent-Length: x\r\n\r\n",
            b"MESSAGE /rooms/a CHAT/1.0\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
            b"MESSAGE /rooms/a CHAT/1.0\r\nno colon\r\n\r\n",
            b"CHAT/1.0 20 OK\r\nContent-Length: 0\r\n\r\n",
        ];
        for bytes in bad {
            assert!(
                parse_chat(bytes).is_err(),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        let long = vec![b'A'; MAX_LINE_BYTES + 2];
        assert!(parse_chat(&long).is_err());
        let big = format!(
            "MESSAGE /rooms/a CHAT/1.0\r\nContent-Length: {}\r\n\r\n",
            MAX_INBOUND_BODY + 1
        );
        assert!(parse_chat(big.as_bytes()).is_err());
    }

    #[test]
    fn proc_status_fields() {
        let text = "Name:\tserver\nVmHWM:\t   10240 kB\nVmRSS:\t    8192 kB\nThreads:\t7\n";
        assert_eq!(
            parse_status(text),
            Some(ProcMem {
                rss_kib: 8192,
                peak_kib: 10240,
                threads: 7
            })
        );
        assert_eq!(parse_status("Name: x\n"), None);
    }

    #[test]
    fn proc_stat_cpu() {
        let text = "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 9 0";
        assert_eq!(parse_stat_cpu(text), Some(Duration::from_millis(3800)));
        assert_eq!(parse_stat_cpu("42 (x) S 1"), None);
        assert!(cpu_time("self").is_some());
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
        let mut j = JsonObject::default();
        j.number("n", 3);
        j.float("f", None);
        j.string("s", "x");
        assert_eq!(j.finish(), "{\"n\":3,\"f\":null,\"s\":\"x\"}");
    }
}
