//! The server's command line: every flag, its default, and the `--help`
//! text, parsed into one `Config` that the rest of the server reads.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{value, Parsed, UsageError};
use crate::protocol::MAX_BODY_BYTES;

use super::accounts::{self, MAX_PBKDF2_ITERATIONS};
use super::guard;
use super::history::FsyncPolicy;
use super::limits::RateLimit;
use super::outbox::QueueLimits;
use super::MAX_FILE_SIZE;

/// Everything the server can be told on its command line.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    /// A second port that speaks IRC only (6667 is usual).
    pub irc_port: Option<u16>,
    /// A second port for browsers only.
    pub http_port: Option<u16>,
    /// Origins besides the server's own whose pages may open a WebSocket.
    pub allow_origins: Vec<String>,
    pub data_dir: PathBuf,
    /// `Some` answers the replay prompt in advance.
    pub replay: Option<bool>,
    pub quiet: bool,
    pub fsync: FsyncPolicy,
    /// Recent messages a room keeps and replays to newcomers.
    pub history: usize,
    /// Rooms with more members than this do not announce joins and leaves.
    pub announce_limit: usize,
    pub max_clients: usize,
    /// Connections at once from one IP address.
    pub max_per_ip: usize,
    /// `None` turns rate limiting off (for benchmarks).
    pub rate_limit: Option<RateLimit>,
    pub max_body: usize,
    /// Time a frame may take from its first byte to its last.
    pub frame_timeout: Duration,
    /// Largest upload accepted, in bytes; told to clients at login.
    pub max_file_size: u64,
    pub login_timeout: Duration,
    /// Silence after which a client is pinged; twice this, it is dropped.
    pub idle_timeout: Duration,
    /// Silence after which a session gives back its read buffer and unused
    /// stack pages and waits at the top of its thread (`session/quiet.rs`),
    /// so that an idle client costs about 8 KiB instead of 17. Going quiet
    /// costs a wake-up, a `madvise` that makes every core flush its TLB, and
    /// page faults and a fresh buffer on the next message, once per silence
    /// (250 ms took 50% more CPU for 1,000 clients talking twice a second).
    /// 10,000 clients each talking every 10 s all pay it between messages,
    /// about 7% of the server's CPU (30 s instead: -14, -13, -8, -8, -7 and
    /// +9% in 6 alternating pairs of `tests/bench/scale.sh` runs; the p99
    /// moved more from run to run than between the two). 5 s stays the
    /// default because an idle client is not silent for good: it answers a
    /// ping every `idle_timeout`, and stays awake `quiet_after` after each,
    /// so 30 s kept 19,500 idle clients at 13.6 KiB each instead of 7.8.
    pub quiet_after: Duration,
    pub queue: QueueLimits,
    /// What all client queues together may hold before the largest are cut off.
    pub max_queued_bytes: usize,
    /// PBKDF2 iterations for password hashes made from now on; existing
    /// hashes keep the count stored with them.
    pub pbkdf2_iterations: u32,
    /// Registrations one address may make in an hour.
    pub max_registrations: usize,
    /// `--cluster redis://...`: run as one node of a cluster sharing this Redis.
    pub cluster: Option<String>,
    /// `--node-id`: this node's name in the cluster (default: host:port).
    pub node_id: Option<String>,
    /// `--cluster-password-file`: the Redis password, read from this file.
    pub cluster_password_file: Option<PathBuf>,
    /// `--cluster-stream-max N`: the most entries the message stream keeps,
    /// even if a live node has not read them (it is then told).
    pub cluster_stream_max: Option<u64>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            host: "127.0.0.1".to_string(),
            port: 7777,
            irc_port: None,
            http_port: None,
            allow_origins: Vec::new(),
            data_dir: PathBuf::from("."),
            replay: None,
            quiet: false,
            fsync: FsyncPolicy::EverySec,
            history: 20,
            announce_limit: 200,
            max_clients: 10_000,
            max_per_ip: 50,
            rate_limit: Some(RateLimit::default()),
            max_body: MAX_BODY_BYTES,
            frame_timeout: Duration::from_secs(30),
            max_file_size: MAX_FILE_SIZE,
            login_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            quiet_after: Duration::from_secs(5),
            queue: QueueLimits::default(),
            max_queued_bytes: 256 << 20,
            pbkdf2_iterations: accounts::DEFAULT_PBKDF2_ITERATIONS,
            max_registrations: guard::DEFAULT_REGISTRATIONS_PER_HOUR,
            cluster: None,
            node_id: None,
            cluster_password_file: None,
            cluster_stream_max: None,
        }
    }
}

/// The `--help` text.
pub const USAGE: &str = "\
Usage: server [OPTIONS]

A multi-room chat server. Data (log.txt and the rest) lives in --data-dir.

Options:
  --host HOST            address to listen on (default 127.0.0.1; 0.0.0.0 for all)
  --port PORT            port to listen on; 0 picks a free one (default 7777). It serves
                         every client: the terminal client, IRC clients and browsers
  --irc-port PORT        also listen on PORT for IRC clients only (6667 is usual)
  --http-port PORT       also listen on PORT for browsers only
  --allow-origin ORIGIN  also let pages from ORIGIN (https://example.org) open a
                         WebSocket; repeat for more (default: the server's own only)
  --data-dir DIR         where log.txt and other data live (default: current directory)
  --replay               print the stored messages at start without asking
  --no-replay            do not print them and do not ask
  --quiet                do not print every message on the console
  --fsync POLICY         always | everysec | never: when log.txt is forced to disk (default everysec)
  --history N            recent messages sent to someone entering a room (default 20)
  --announce-limit N     rooms with more members than this announce joins and
                         leaves only to the one concerned (default 200)
  --max-clients N        clients connected at once (default 10000; lowered to what
                         vm.max_map_count holds: 8 mappings a client, so 8063 on a
                         stock Linux kernel; the console says so when it gets near)
  --max-per-ip N         connections at once from one IP address (default 50)
  --rate-limit N         requests a second per client (default 10)
  --rate-burst N         requests a client may send at once before the rate applies (default 20)
  --no-rate-limit        no rate limit (for benchmarks)
  --frame-timeout SECS   time a frame may take from first to last byte (default 30)
  --max-file-size BYTES  largest file a client may upload (default 67108864, 64 MiB)
  --login-timeout SECS   time a new connection has to log in (default 30)
  --idle-timeout SECS    silence before a ping; twice this and the client is dropped (default 60)
  --quiet-after SECS     silence after which a client's buffers and spare stack pages are
                         given back: less memory per idle client, a little CPU when it
                         speaks again (default 5)
  --queue-frames N       frames that may wait for one client before it is dropped (default 32768)
  --queue-bytes N        bytes that may wait for one client before it is dropped (default 4194304;
                         64 KiB until it logs in)
  --max-queued-bytes N   bytes all clients' queues may hold together; past it, the clients
                         holding the most are dropped first (default 268435456, 256 MiB)
  --pbkdf2-iterations N  PBKDF2 rounds for new password hashes (default 600000)
  --max-registrations N  registrations one address may make in an hour (default 5;
                         one connection may make 3)
  --cluster URL          run as one node of a cluster sharing Redis at URL
                         (redis://[[user]:password@]host[:port][/db]); without it the
                         server is a single node and needs no Redis
  --node-id ID           this node's name in the cluster, 1-32 of [A-Za-z0-9_-]
                         (default: port7777 for port 7777); unique per node
  --cluster-password-file FILE
                         the Redis password, one line in FILE (not on the command line)
  --cluster-stream-max N the most messages the cluster's stream keeps, even unread by a
                         live node (default: no cap; what every live node stored goes)
  -h, --help             show this help
";

impl Config {
    /// Parses the flags after the program name.
    ///
    /// # Errors
    /// A `UsageError` naming the flag at fault.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Parsed<Config>, UsageError> {
        let mut config = Config::default();
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "-h" | "--help" => return Ok(Parsed::Help),
                "--host" => config.host = value(&flag, args.next())?,
                "--port" => config.port = value(&flag, args.next())?,
                "--irc-port" => config.irc_port = Some(value(&flag, args.next())?),
                "--http-port" => config.http_port = Some(value(&flag, args.next())?),
                "--allow-origin" => config.allow_origins.push(value(&flag, args.next())?),
                "--data-dir" => config.data_dir = value(&flag, args.next())?,
                "--replay" => config.replay = Some(true),
                "--no-replay" => config.replay = Some(false),
                "--quiet" => config.quiet = true,
                "--fsync" => {
                    let policy: String = value(&flag, args.next())?;
                    config.fsync = FsyncPolicy::parse(&policy).ok_or_else(|| {
                        UsageError(format!(
                            "--fsync takes always, everysec or never, not {policy:?}"
                        ))
                    })?;
                }
                "--history" => config.history = value(&flag, args.next())?,
                "--announce-limit" => config.announce_limit = value(&flag, args.next())?,
                "--max-clients" => config.max_clients = value(&flag, args.next())?,
                "--max-per-ip" => config.max_per_ip = value(&flag, args.next())?,
                "--rate-limit" | "--rate-burst" => {
                    let n: f64 = value(&flag, args.next())?;
                    if !(n.is_finite() && n >= 1.0) {
                        return Err(UsageError(format!("{flag} must be at least 1")));
                    }
                    let limit = config.rate_limit.get_or_insert_with(RateLimit::default);
                    if flag == "--rate-limit" {
                        limit.per_second = n;
                    } else {
                        limit.burst = n;
                    }
                }
                "--no-rate-limit" => config.rate_limit = None,
                "--frame-timeout" => config.frame_timeout = seconds(&flag, args.next())?,
                "--max-file-size" => config.max_file_size = value(&flag, args.next())?,
                "--login-timeout" => config.login_timeout = seconds(&flag, args.next())?,
                "--idle-timeout" => config.idle_timeout = seconds(&flag, args.next())?,
                "--quiet-after" => config.quiet_after = seconds(&flag, args.next())?,
                "--queue-frames" => config.queue.max_frames = value(&flag, args.next())?,
                "--queue-bytes" => config.queue.max_bytes = value(&flag, args.next())?,
                "--max-queued-bytes" => config.max_queued_bytes = value(&flag, args.next())?,
                "--pbkdf2-iterations" => {
                    config.pbkdf2_iterations = value(&flag, args.next())?;
                    if !(1..=MAX_PBKDF2_ITERATIONS).contains(&config.pbkdf2_iterations) {
                        return Err(UsageError(format!(
                            "{flag} must be between 1 and {MAX_PBKDF2_ITERATIONS}"
                        )));
                    }
                }
                "--max-registrations" => config.max_registrations = value(&flag, args.next())?,
                "--cluster" => config.cluster = Some(value(&flag, args.next())?),
                "--node-id" => config.node_id = Some(value(&flag, args.next())?),
                "--cluster-password-file" => {
                    config.cluster_password_file = Some(value(&flag, args.next())?);
                }
                "--cluster-stream-max" => {
                    let max: u64 = value(&flag, args.next())?;
                    if max == 0 {
                        return Err(UsageError(format!("{flag} must be at least 1")));
                    }
                    config.cluster_stream_max = Some(max);
                }
                other => return Err(UsageError(format!("unknown option {other}"))),
            }
        }
        if config.cluster.is_none()
            && (config.node_id.is_some()
                || config.cluster_password_file.is_some()
                || config.cluster_stream_max.is_some())
        {
            return Err(UsageError(
                "--node-id, --cluster-password-file and --cluster-stream-max need --cluster"
                    .to_string(),
            ));
        }
        Ok(Parsed::Run(config))
    }
}

fn seconds(flag: &str, next: Option<String>) -> Result<Duration, UsageError> {
    let secs: u64 = value(flag, next)?;
    if secs == 0 {
        return Err(UsageError(format!("{flag} must be at least 1 second")));
    }
    Ok(Duration::from_secs(secs))
}
