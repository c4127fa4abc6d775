//! The server: flags, start-up (data directory, `log.txt`, the replay
//! prompt), the accept loop that gives each client its own thread, and the
//! operator's console.
//!
//! Threads: `main` accepts; `client-N` serves one connection, and
//! `client-N-out` writes to it while it reads slowly or downloads a file;
//! `console-in` reads operator commands; `console-out` prints; `fsync`
//! flushes `log.txt` to disk once a second.

pub mod accounts;
pub mod archive;
pub mod capacity;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod console;
pub mod data_dir;
pub mod door;
pub mod files;
pub mod guard;
pub mod history;
pub mod hub;
pub mod limits;
pub mod listener;
pub mod memory;
pub mod outbox;
pub mod rooms;
pub mod session;
pub mod socket;
pub mod store;

mod operator;

use std::fmt;
use std::io::{self, BufRead, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

pub use config::{Config, USAGE};

use accounts::{Accounts, AccountsError, ACCOUNTS_FILE};
use archive::{ArchiveError, Markers, Pending};
use console::Console;
use data_dir::DataDirError;
use door::Protocol;
use files::{FileError, FileStore};
use history::{FsyncPolicy, HistoryError, MessageLog};
use hub::Hub;
use outbox::Budget;
use rooms::{RoomStore, RoomsError};

/// Name of the message database inside the data directory.
pub const LOG_FILE: &str = "log.txt";
/// Largest file a client may upload, unless `--max-file-size` says otherwise.
pub const MAX_FILE_SIZE: u64 = 64 << 20;

/// Why the server could not start. (`Accounts`: `accounts.txt` is unreadable
/// or damaged, and starting without it would silently drop accounts and
/// free their nicknames.)
#[derive(Debug)]
pub enum ServerError {
    DataDir(DataDirError),
    Accounts(AccountsError),
    History(HistoryError),
    Rooms(RoomsError),
    /// Read markers or kept whispers could not be loaded.
    Archive(ArchiveError),
    Files(FileError),
    /// `--cluster` could not be honoured.
    Cluster(cluster::ClusterError),
    Bind {
        addr: String,
        source: io::Error,
    },
    Thread(io::Error),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::DataDir(e) => write!(f, "{e}"),
            ServerError::Accounts(e) => write!(f, "{e}"),
            ServerError::History(e) => write!(f, "{e}"),
            ServerError::Rooms(e) => write!(f, "{e}"),
            ServerError::Archive(e) => write!(f, "{e}"),
            ServerError::Files(e) => write!(f, "shared files: {e}"),
            ServerError::Cluster(e) => write!(f, "{e}"),
            ServerError::Bind { addr, source } if source.kind() == io::ErrorKind::AddrInUse => write!(
                f,
                "cannot listen on {addr}: the address is already in use (another server running?); stop it or pass another --port"
            ),
            ServerError::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            ServerError::Thread(e) => write!(f, "cannot start a thread: {e}"),
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServerError::DataDir(e) => Some(e),
            ServerError::Bind { source, .. } => Some(source),
            ServerError::Accounts(e) => Some(e),
            ServerError::History(e) => Some(e),
            ServerError::Rooms(e) => Some(e),
            ServerError::Archive(e) => Some(e),
            ServerError::Files(e) => Some(e),
            ServerError::Cluster(e) => Some(e),
            ServerError::Thread(e) => Some(e),
        }
    }
}

/// Runs the server until the process ends or the operator types `/shutdown`.
///
/// # Errors
/// A `ServerError` when it cannot start; once listening, errors concern
/// single clients and are printed, never returned.
pub fn run(mut config: Config) -> Result<(), ServerError> {
    memory::tune_allocator();
    let capacity = capacity::Capacity::of_this_machine(config.max_clients);
    config.max_clients = capacity.max_clients;
    // Bound first: a busy port is reported at once, not after a long log
    // was loaded and the operator answered the replay question. The ports
    // that speak one protocol only too.
    let (listener, local) = bind(&config.host, config.port)?;
    let mut doors = Vec::new();
    for (port, door) in [
        (config.irc_port, Protocol::Irc),
        (config.http_port, Protocol::Web),
    ] {
        if let Some(port) = port {
            let (listener, local) = bind(&config.host, port)?;
            doors.push((listener, door, local));
        }
    }
    let dir = &config.data_dir;
    data_dir::prepare(dir).map_err(ServerError::DataDir)?;
    let tightened = data_dir::tighten(dir);
    for line in tightened.note().iter().chain(&tightened.failed) {
        println!("{line}");
    }
    // Before anything asks the operator a question: a damaged accounts file
    // stops the start-up at once.
    let accounts =
        Arc::new(Accounts::open(&dir.join(ACCOUNTS_FILE)).map_err(ServerError::Accounts)?);
    let log_path = dir.join(LOG_FILE);
    let (log, loaded) =
        MessageLog::open(&log_path, config.fsync, config.history).map_err(ServerError::History)?;
    let (room_store, stored_rooms) = RoomStore::open(dir).map_err(ServerError::Rooms)?;
    let (markers, mut journal_problems) = Markers::open(dir).map_err(ServerError::Archive)?;
    let (pending, pending_problems) = Pending::open(dir).map_err(ServerError::Archive)?;
    journal_problems.extend(pending_problems);
    for problem in &loaded.problems {
        println!("warning: {}: {problem}; skipped", log_path.display());
    }
    for problem in &journal_problems {
        println!("warning: {problem}; skipped");
    }
    offer_replay(&config, &log_path, loaded.records);
    let (files, warnings) = FileStore::open(dir).map_err(ServerError::Files)?;
    for warning in &warnings {
        println!("warning: {warning}");
    }
    if config.cluster.is_none() {
        // A node of a cluster fetches these from the cluster instead.
        for warning in files.missing() {
            println!("warning: {warning}");
        }
    }
    let files = Arc::new(files);

    let (console, _printer) = Console::start(config.quiet).map_err(ServerError::Thread)?;
    {
        let console = console.clone();
        log.on_warning(move |warning| console.say(warning));
    }
    let hub = Hub::new(
        log,
        loaded,
        room_store,
        stored_rooms,
        config.history,
        config.announce_limit,
    );
    if let Some(url) = &config.cluster {
        let link = join_cluster(&config, url, &hub, &console, &log_path, local.port())?;
        accounts.share(Arc::new(cluster::RedisAccounts(Arc::clone(&link))));
        files.share(Arc::new(cluster::RedisFiles(Arc::clone(&link))));
        markers.share(Arc::new(cluster::RedisMarkers::new(
            Arc::clone(&link),
            hub.clone(),
        )));
        let shared = cluster::Stores {
            accounts: Arc::clone(&accounts),
            files: Arc::clone(&files),
        };
        cluster::spawn_events(hub.clone(), link, console.clone(), shared)
            .map_err(ServerError::Thread)?;
    }
    console.say("Socket created.");
    for (_, door, local) in &doors {
        console.say(format!("{door} door listening on {local}"));
    }
    console.say(format!("Socket now listening on {local}"));

    let live = Arc::new(AtomicUsize::new(0));
    spawn_upkeep(hub.clone(), console.clone(), config.fsync).map_err(ServerError::Thread)?;
    operator::spawn(
        hub.clone(),
        console.clone(),
        Arc::clone(&files),
        Arc::clone(&live),
    )
    .map_err(ServerError::Thread)?;
    let budget = Budget::new(config.max_queued_bytes);
    memory::spawn_trimmer(Arc::clone(&budget), Arc::clone(&live)).map_err(ServerError::Thread)?;
    let shared = Shared {
        hub,
        accounts,
        files,
        guard: Arc::new(guard::Guard::new(config.max_registrations)),
        markers: Arc::new(markers),
        pending: Arc::new(pending),
        budget,
        config: Arc::new(config),
        console,
    };
    let gate = Arc::new(listener::Gate::new(shared, capacity, live));
    for (listener, door, _) in doors {
        let gate = Arc::clone(&gate);
        thread::Builder::new()
            .name(format!("accept-{door}"))
            .stack_size(64 * 1024)
            .spawn(move || listener::accept_loop(&listener, &gate, Some(door)))
            .map_err(ServerError::Thread)?;
    }
    listener::accept_loop(&listener, &gate, None);
    Ok(())
}

/// Makes this server a node of the cluster at `url`: its link to Redis,
/// the stream reader (resuming after the last message `log.txt` holds from
/// the stream) and the heartbeat of its claims.
fn join_cluster(
    config: &Config,
    url: &str,
    hub: &Hub,
    console: &Console,
    log_path: &Path,
    port: u16,
) -> Result<Arc<cluster::ClusterLink>, ServerError> {
    let node = config
        .node_id
        .clone()
        .unwrap_or_else(|| format!("port{port}"));
    let link = cluster::ClusterLink::new(url, config.cluster_password_file.as_deref(), &node)
        .map_err(ServerError::Cluster)?;
    let last = cluster::last_stream_id(log_path).map_err(|source| {
        ServerError::History(HistoryError::Read {
            path: log_path.to_path_buf(),
            source,
        })
    })?;
    hub.join_cluster(Arc::clone(&link));
    link.connect_appender().map_err(ServerError::Thread)?;
    let cap = config.cluster_stream_max;
    cluster::spawn_reader(hub.clone(), Arc::clone(&link), console.clone(), last, cap)
        .map_err(ServerError::Thread)?;
    cluster::spawn_heartbeat(hub.clone(), Arc::clone(&link), console.clone())
        .map_err(ServerError::Thread)?;
    cluster::spawn_presence(hub.clone(), Arc::clone(&link), console.clone())
        .map_err(ServerError::Thread)?;

    console.say(format!(
        "cluster node {node} on {}; messages from stream entry {}",
        redacted(url),
        last.map_or_else(
            || "0-0 (the beginning)".to_string(),
            |id| format!("after {id}")
        )
    ));
    Ok(link)
}

/// A Redis URL without its password, for the console.
fn redacted(url: &str) -> String {
    crate::cluster::RedisUrl::parse(url).map_or_else(|_| "redis".to_string(), |u| u.to_string())
}

/// Asks whether to print the stored messages, unless a flag answered.
/// End of input (no console) counts as no, so the server never hangs here.
fn offer_replay(config: &Config, log_path: &Path, records: usize) {
    let yes = config
        .replay
        .unwrap_or_else(|| ask_replay(&mut io::stdin().lock()));
    if !yes {
        return;
    }
    println!("--- {records} stored message(s) ---");
    let out = io::stdout();
    let mut out = io::BufWriter::new(out.lock());
    let result = history::for_each_record(log_path, |r| {
        let date = crate::clock::to_second_label(&r.date);
        let line = match r.kind {
            history::Kind::Message => format!("[{date}] #{} [{}]: {}", r.room, r.from, r.text),
            history::Kind::Whisper => {
                format!("[{date}] (whisper) [{} -> {}]: {}", r.from, r.to, r.text)
            }
            history::Kind::Closed => format!("[{date}] #{} closed: {}", r.room, r.text),
        };
        let _ = writeln!(out, "{}", crate::text::for_terminal(&line));
    });
    if let Err(e) = result {
        let _ = writeln!(out, "warning: cannot read {}: {e}", log_path.display());
    }
    let _ = writeln!(out, "--- end of stored messages ---");
}

/// Asks the replay question until the answer is yes or no; anything else
/// is asked again, and the end of input (or an unreadable console) is no.
fn ask_replay(input: &mut impl BufRead) -> bool {
    loop {
        print!("Retrieve old messages from log.txt? (yes/no) ");
        let _ = io::stdout().flush();
        let mut answer = String::new();
        match input.read_line(&mut answer) {
            Ok(0) | Err(_) => {
                println!();
                return false;
            }
            Ok(_) => match parse_yes_no(&answer) {
                Some(yes) => return yes,
                None => println!("please answer yes or no"),
            },
        }
    }
}

/// `yes`/`y` or `no`/`n` in any case, around blanks; `None` for anything else.
fn parse_yes_no(answer: &str) -> Option<bool> {
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Some(true),
        "n" | "no" => Some(false),
        _ => None,
    }
}

/// Appends after which the saved index is brought up to date, so a start
/// after a crash scans at most this much of `log.txt` past it.
const SAVE_INDEX_EVERY: u64 = 100_000;

/// Starts the thread that looks after `log.txt` once a second: forces it to
/// disk (`--fsync everysec`), saves its index every `SAVE_INDEX_EVERY`
/// appends, and passes on what the index has to tell the operator.
fn spawn_upkeep(hub: Hub, console: Console, fsync: FsyncPolicy) -> io::Result<()> {
    thread::Builder::new()
        .name("upkeep".into())
        .stack_size(64 * 1024)
        .spawn(move || loop {
            thread::sleep(Duration::from_secs(1));
            let log = hub.log();
            if fsync == FsyncPolicy::EverySec {
                if let Err(e) = log.sync_if_dirty() {
                    console.say(format!("warning: cannot fsync log.txt: {e}"));
                }
            }
            let archive = log.archive();
            if archive.appended_since_save() >= SAVE_INDEX_EVERY {
                if let Err(e) = archive.save_index() {
                    console.say(format!("warning: cannot save the index of log.txt: {e}"));
                }
            }
            for notice in archive.take_notices() {
                console.say(notice);
            }
        })?;
    Ok(())
}

/// Listens on `host:port`.
fn bind(host: &str, port: u16) -> Result<(TcpListener, std::net::SocketAddr), ServerError> {
    let addr = format!("{host}:{port}");
    let listener = TcpListener::bind(&addr).map_err(|source| ServerError::Bind {
        addr: addr.clone(),
        source,
    })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { addr, source })?;
    Ok((listener, local))
}

/// What every session thread shares.
pub struct Shared {
    pub hub: Hub,
    pub accounts: Arc<Accounts>,
    pub files: Arc<FileStore>,
    /// Limits on password guesses and registrations, and the hashing slots.
    pub guard: Arc<guard::Guard>,
    /// Where each registered user last read each room.
    pub markers: Arc<Markers>,
    /// Whispers waiting for registered users who are away.
    pub pending: Arc<Pending>,
    /// The memory all client queues may hold together.
    pub budget: Arc<Budget>,
    pub config: Arc<Config>,
    pub console: Console,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replay_question_takes_only_yes_or_no() {
        assert!(ask_replay(&mut &b"yes\n"[..]));
        assert!(ask_replay(&mut &b" Y \n"[..]));
        assert!(!ask_replay(&mut &b"NO\n"[..]));
        assert!(ask_replay(&mut &b"maybe\n\nsure\nyes\n"[..]), "asked again");
        assert!(!ask_replay(&mut &b"maybe\n"[..]), "then end of input: no");
        assert!(!ask_replay(&mut &b""[..]));
    }
}
