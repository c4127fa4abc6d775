//! The terminal client: log in at a prompt, then chat. A reader thread
//! prints what arrives while the main thread waits for typed lines, so
//! messages appear while the user is typing. Uploads are sent from the main
//! thread; downloads arrive on the reader thread (see [`transfer`]).

pub mod connection;
pub mod input;
pub mod progress;
pub mod render;
pub mod transfer;

use std::fmt;
use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::{value, Parsed, UsageError};
use crate::command::Request;
use crate::event::Event;
use crate::protocol::{header, Frame, FrameError, Status};

use connection::{Reader, Writer};
use input::Input;
use transfer::{Expect, Transfers, DEFAULT_DOWNLOAD_DIR, DEFAULT_MAX_FILE_SIZE};

/// How long `/quit` waits for the server's goodbye before leaving anyway.
const QUIT_GRACE: Duration = Duration::from_secs(2);

/// Everything the client can be told on its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub host: String,
    pub port: u16,
    /// Tried first instead of prompting; the prompt follows if it is refused.
    pub nick: Option<String>,
    /// Where `/get_file` saves; created when the first download arrives.
    pub download_dir: PathBuf,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            host: "127.0.0.1".to_string(),
            port: 7777,
            nick: None,
            download_dir: PathBuf::from(DEFAULT_DOWNLOAD_DIR),
        }
    }
}

/// The `--help` text.
pub const USAGE: &str = "\
Usage: client [OPTIONS]

A terminal client for the chat server. Type /help once logged in.

Options:
  --host HOST         server address (default 127.0.0.1)
  --port PORT         server port (default 7777)
  --nick NICK         log in as NICK without asking
  --download-dir DIR  where /get_file saves files (default downloads, created if missing)
  -h, --help          show this help
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
                "--nick" => config.nick = Some(value(&flag, args.next())?),
                "--download-dir" => config.download_dir = value(&flag, args.next())?,
                other => return Err(UsageError(format!("unknown option {other}"))),
            }
        }
        Ok(Parsed::Run(config))
    }
}

/// Why the client stopped with an error.
#[derive(Debug)]
pub enum ClientError {
    Connect {
        addr: String,
        source: io::Error,
    },
    /// The connection failed or the server broke the protocol.
    Connection(FrameError),
    /// The server said goodbye before the login finished.
    TurnedAway(String),
    Io(io::Error),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect { addr, source } => match source.kind() {
                io::ErrorKind::ConnectionRefused => write!(
                    f,
                    "cannot connect to {addr}: connection refused; the chat server does not seem to be running there (start it with `cargo run --bin server`, or pass --host/--port)"
                ),
                io::ErrorKind::TimedOut => write!(
                    f,
                    "cannot connect to {addr}: no answer within 5 s; is the server running and reachable?"
                ),
                _ => write!(f, "cannot connect to {addr}: {source}"),
            },
            ClientError::Connection(e) => write!(f, "lost the connection to the server: {e}"),
            ClientError::TurnedAway(reason) => write!(f, "the server turned us away: {reason}"),
            ClientError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Connect { source, .. } => Some(source),
            ClientError::Connection(e) => Some(e),
            ClientError::Io(e) => Some(e),
            ClientError::TurnedAway(_) => None,
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> ClientError {
        ClientError::Io(e)
    }
}

/// Connects, logs in, and chats until the user quits or the server goes away.
///
/// # Errors
/// A `ClientError` for a server that cannot be reached or that fails during login.
pub fn run(config: Config) -> Result<(), ClientError> {
    let (mut reader, writer) = connection::connect(&config.host, config.port)?;
    let stdin = io::stdin();
    let mut lines = stdin.lock();
    let Some((early, max_file_size)) = log_in(&mut reader, &writer, &mut lines, config.nick)?
    else {
        writer.close();
        return Ok(());
    };
    let transfers = Transfers::new(config.download_dir, max_file_size);
    let logged_in = Instant::now();
    let quitting = Arc::new(AtomicBool::new(false));
    let printer = {
        let (writer, quitting) = (writer.clone(), Arc::clone(&quitting));
        let transfers = transfers.clone();
        thread::Builder::new()
            .name("reader".into())
            .spawn(move || {
                print_incoming(reader, &writer, &transfers, early, logged_in, &quitting)
            })?
    };
    chat(&mut lines, &writer, &transfers);
    quitting.store(true, Ordering::Release);
    // Best effort: the server answers QUIT and closes; if it does not, leave
    // anyway, once no file is still on its way (the server answers in order,
    // so a transfer in flight is answered before the QUIT).
    let _ = transfers.send(&writer, Request::Quit);
    if transfers.is_busy() {
        println!("Waiting for file transfers to finish before leaving...");
    }
    let mut deadline = Instant::now() + QUIT_GRACE;
    while !printer.is_finished() {
        if transfers.is_busy() {
            deadline = Instant::now() + QUIT_GRACE;
        } else if Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    writer.close();
    Ok(())
}

/// Asks for a nickname until the server accepts one. Returns the events
/// that arrived before the reply and the server's upload limit, or `None`
/// if input ended first.
fn log_in(
    reader: &mut Reader,
    writer: &Writer,
    lines: &mut impl BufRead,
    mut nick: Option<String>,
) -> Result<Option<(Vec<Frame>, u64)>, ClientError> {
    let mut early = Vec::new();
    loop {
        let nick = match nick.take() {
            Some(n) => n,
            None => match prompt(lines, "Input your nickname: ")? {
                Some(n) => n,
                None => return Ok(None),
            },
        };
        writer.send(
            &Request::Login {
                nick,
                password: None,
            }
            .into_frame(),
        )?;
        let reply = loop {
            match reader.read().map_err(ClientError::Connection)? {
                None => {
                    return Err(ClientError::Connection(FrameError::UnexpectedEof));
                }
                Some(frame) if frame.status_code().is_some() => break frame,
                Some(frame) => {
                    if let Ok(Event::Bye { reason }) = Event::from_frame(&frame) {
                        return Err(ClientError::TurnedAway(reason));
                    }
                    early.push(frame);
                }
            }
        };
        if reply.status_code() == Some(Status::OK) {
            println!("Successfully login.");
            let max_file_size = reply
                .header(header::MAX_FILE_SIZE)
                .and_then(|v| v.parse().ok())
                .unwrap_or(DEFAULT_MAX_FILE_SIZE);
            return Ok(Some((early, max_file_size)));
        }
        let reason = render::reply(&reply).unwrap_or_default();
        println!("Nickname refused: {}", reason.trim_start_matches("error: "));
    }
}

/// Prints `question` and reads one line; `None` at end of input.
fn prompt(lines: &mut impl BufRead, question: &str) -> io::Result<Option<String>> {
    print!("{question}");
    io::stdout().flush()?;
    let mut line = String::new();
    if lines.read_line(&mut line)? == 0 {
        println!();
        return Ok(None);
    }
    Ok(Some(line.trim().to_string()))
}

/// Reads typed lines and sends them until `/quit` or end of input. Lines
/// are read as bytes: a file path to upload need not be UTF-8.
fn chat(lines: &mut impl BufRead, writer: &Writer, transfers: &Transfers) {
    let mut line = Vec::new();
    loop {
        line.clear();
        match lines.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        match input::parse_bytes(&line) {
            Input::Nothing => {}
            Input::Help => println!("{}", input::HELP),
            Input::Quit => return,
            Input::Mistake(why) => println!("error: {why}"),
            Input::SendFile(path) => {
                if let Err(e) = transfers.send_file(writer, &path) {
                    println!("error: {}", crate::text::for_terminal(&e.to_string()));
                }
            }
            Input::Send(request) => {
                if transfers.send(writer, request).is_err() {
                    return; // the reader thread reports the lost connection
                }
            }
        }
    }
}

/// The reader thread: prints every event and reply as it arrives, and saves
/// downloads as they stream in. When the server goes away (and the user did
/// not quit), says so and ends the process.
fn print_incoming(
    mut reader: Reader,
    writer: &Writer,
    transfers: &Transfers,
    early: Vec<Frame>,
    logged_in: Instant,
    quitting: &AtomicBool,
) {
    let show = |frame: &Frame| {
        let line = match Event::from_frame(frame) {
            Ok(Event::Ping) => {
                let _ = writer.send(&Request::Pong.into_frame());
                None
            }
            Ok(event) => render::event(&event, logged_in.elapsed()),
            Err(_) if frame.status_code().is_some() => render::reply(frame),
            Err(why) => Some(format!("warning: ignored a frame from the server: {why}")),
        };
        if let Some(line) = line {
            println!("{line}");
        }
    };
    early.iter().for_each(show);
    while let Ok(Some(head)) = reader.read_head() {
        let expect = match head.status_code() {
            Some(_) => transfers.next_reply(),
            None => Expect::Reply, // an event
        };
        let is_transfer = !matches!(expect, Expect::Reply);
        let line = match expect {
            Expect::Download { id } if head.status_code() == Some(Status::OK) => {
                transfers.receive(&mut reader, &head, id).map(Some)
            }
            Expect::Upload(sending) => reader
                .read_body(head)
                .map(|reply| Some(transfer::upload_answered(&sending, &reply))),
            Expect::Download { .. } | Expect::Reply => reader.read_body(head).map(|frame| {
                show(&frame);
                None
            }),
        };
        if is_transfer {
            transfers.settle();
        }
        match line {
            Ok(Some(line)) => println!("{line}"),
            Ok(None) => {}
            Err(_) => break,
        }
    }
    if !quitting.load(Ordering::Acquire) {
        println!("Disconnected from chat server");
        let _ = io::stdout().flush();
        std::process::exit(0);
    }
}
