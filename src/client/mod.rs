//! The terminal client: log in at a prompt, then chat. A reader thread
//! prints what arrives while the main thread waits for typed lines, so
//! messages appear while the user is typing. Uploads are sent from the main
//! thread; downloads arrive on the reader thread (see [`transfer`]).

pub mod connection;
pub mod input;
pub mod password;
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
use crate::command::{AccountRequest, Control};
use crate::event::Event;
use crate::protocol::{header, Frame, FrameError, Status};

use connection::{Reader, Writer};
use input::Input;
use transfer::{Expect, Transfers, DEFAULT_DOWNLOAD_DIR, DEFAULT_MAX_FILE_SIZE};

/// How long `/quit` waits for the server's goodbye before leaving anyway.
const QUIT_GRACE: Duration = Duration::from_secs(2);
/// How long `/logout` waits for the server to confirm it.
const LOGOUT_GRACE: Duration = Duration::from_secs(10);

/// Everything the client can be told on its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub host: String,
    pub port: u16,
    /// Tried first instead of prompting; the prompt follows if it is refused.
    pub nick: Option<String>,
    /// With `nick`: the first line of this file is sent as the password.
    pub password_file: Option<PathBuf>,
    /// Where `/get_file` saves; created when the first download arrives.
    pub download_dir: PathBuf,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            host: "127.0.0.1".to_string(),
            port: 7777,
            nick: None,
            password_file: None,
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
  --password-file FILE
                      with --nick: the password of NICK is the first line of FILE
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
                "--password-file" => config.password_file = Some(value(&flag, args.next())?),
                "--download-dir" => config.download_dir = value(&flag, args.next())?,
                other => return Err(UsageError(format!("unknown option {other}"))),
            }
        }
        if config.password_file.is_some() && config.nick.is_none() {
            return Err(UsageError("--password-file needs --nick".into()));
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
    PasswordFile {
        path: PathBuf,
        source: io::Error,
    },
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
            ClientError::PasswordFile { path, source } => {
                write!(f, "cannot use password file {}: {source}", path.display())
            }
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
            ClientError::PasswordFile { source, .. } => Some(source),
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
    let mut password = match &config.password_file {
        Some(path) => Some(password::read_file(path)?),
        None => None,
    };
    let (mut reader, writer) = connection::connect(&config.host, config.port)?;
    let stdin = io::stdin();
    let mut lines = stdin.lock();
    let mut nick = config.nick;
    loop {
        let Some((early, max_file_size)) = log_in(
            &mut reader,
            &writer,
            &mut lines,
            nick.take(),
            password.take(),
        )?
        else {
            writer.close();
            return Ok(());
        };
        // The server says its upload limit at each login.
        let transfers = Transfers::new(config.download_dir.clone(), max_file_size);
        match chat_session(reader, &writer, &transfers, early, &mut lines)? {
            // Logged out: the same connection goes back to the nickname prompt.
            Some(back) => reader = back,
            None => return Ok(()),
        }
    }
}

/// Chats until the user quits (`None`) or logs out (`Some`: the reader
/// back from the reader thread, for the next login).
fn chat_session(
    reader: Reader,
    writer: &Writer,
    transfers: &Transfers,
    early: Vec<Frame>,
    lines: &mut impl BufRead,
) -> Result<Option<Reader>, ClientError> {
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
    while chat(lines, writer, transfers) == Ended::Logout {
        if transfers.send(writer, AccountRequest::Logout).is_err() {
            break; // the reader thread reports the lost connection
        }
        // The reader thread stops at the LOGOUT reply and hands the reader
        // back; transfers asked for before it are answered first.
        wait_for_reader(&printer, transfers, LOGOUT_GRACE);
        if printer.is_finished() {
            return Ok(printer.join().ok().flatten());
        }
        println!("error: the server did not confirm the logout; you are still logged in");
    }
    quitting.store(true, Ordering::Release);
    // Best effort: the server answers QUIT and closes; if it does not, leave
    // anyway, once no file is still on its way (the server answers in order,
    // so a transfer in flight is answered before the QUIT).
    let _ = transfers.send(writer, Control::Quit);
    if transfers.is_busy() {
        println!("Waiting for file transfers to finish before leaving...");
    }
    wait_for_reader(&printer, transfers, QUIT_GRACE);
    writer.close();
    Ok(None)
}

/// Waits for the reader thread to finish: for as long as a transfer is
/// still on its way (leaving would lose it), then `grace` at most.
fn wait_for_reader<T>(printer: &thread::JoinHandle<T>, transfers: &Transfers, grace: Duration) {
    let mut deadline = Instant::now() + grace;
    while !printer.is_finished() {
        if transfers.is_busy() {
            deadline = Instant::now() + grace;
        } else if Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Asks for a nickname (and, for a registered one, its password) until
/// the server accepts them. `nick` and `password` are tried first without
/// asking. Returns the events that arrived before the reply and the
/// server's upload limit, or `None` if input ended at the nickname prompt.
fn log_in(
    reader: &mut Reader,
    writer: &Writer,
    lines: &mut impl BufRead,
    mut nick: Option<String>,
    mut password: Option<String>,
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
        // Tries `nick` until it is accepted, or refused for a reason
        // another password would not fix.
        loop {
            let sent_password = password.is_some();
            writer.send(
                &AccountRequest::Login {
                    many_rooms: false,
                    nick: nick.clone(),
                    password: password.take(),
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
                if sent_password && reply.header(header::REGISTERED) == Some("no") {
                    println!("{nick} is not registered, so the password was not needed: you are a guest.");
                }
                let max_file_size = reply
                    .header(header::MAX_FILE_SIZE)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(DEFAULT_MAX_FILE_SIZE);
                return Ok(Some((early, max_file_size)));
            }
            let reason = render::reply(&reply).unwrap_or_default();
            let reason = reason.trim_start_matches("error: ").to_string();
            if reply.header(header::CONNECTION) == Some("close") {
                return Err(ClientError::TurnedAway(reason));
            }
            if reply.status_code() != Some(Status::UNAUTHORIZED) {
                println!("Nickname refused: {reason}");
                break;
            }
            // 401: the nickname is registered and needs (another) password.
            if sent_password {
                println!("Login refused: {reason}");
            } else {
                println!("{reason}");
            }
            match password::ask(lines)? {
                // At the end of input no password will come: a script's
                // password file was wrong, and that is an error.
                None => return Err(ClientError::TurnedAway(reason)),
                Some(p) if p.is_empty() => break, // choose another nickname
                Some(p) => password = Some(p),
            }
        }
    }
}

/// Prints `question` and reads one line; `None` at end of input.
pub(crate) fn prompt(lines: &mut impl BufRead, question: &str) -> io::Result<Option<String>> {
    print!("{question}");
    io::stdout().flush()?;
    let mut line = String::new();
    if lines.read_line(&mut line)? == 0 {
        println!();
        return Ok(None);
    }
    Ok(Some(line.trim().to_string()))
}

/// Why `chat` stopped reading typed lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// `/quit`, end of input, or the connection failed.
    Quit,
    /// `/logout`: the caller sends `LOGOUT`.
    Logout,
}

/// Reads typed lines and sends them until `/quit`, `/logout` or end of
/// input. Lines are read as bytes: a file path to upload need not be UTF-8.
fn chat(lines: &mut impl BufRead, writer: &Writer, transfers: &Transfers) -> Ended {
    let mut line = Vec::new();
    loop {
        line.clear();
        match lines.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return Ended::Quit,
            Ok(_) => {}
        }
        match input::parse_bytes(&line) {
            Input::Nothing => {}
            Input::Help => println!("{}", input::HELP),
            Input::Quit => return Ended::Quit,
            Input::Logout => return Ended::Logout,
            Input::Mistake(why) => println!("error: {why}"),
            Input::SendFile(path) => {
                if let Err(e) = transfers.send_file(writer, &path) {
                    println!("error: {}", crate::text::for_terminal(&e.to_string()));
                }
            }
            Input::Send(request) => {
                if transfers.send(writer, request).is_err() {
                    return Ended::Quit; // the reader thread reports the lost connection
                }
            }
        }
    }
}

/// The reader thread: prints every event and reply as it arrives, and saves
/// downloads as they stream in. When the server goes away (and the user did
/// not quit), says so and ends the process. At the reply to `LOGOUT` (`205`)
/// it stops and returns the reader, so the main thread can log in again on
/// the same connection.
fn print_incoming(
    mut reader: Reader,
    writer: &Writer,
    transfers: &Transfers,
    early: Vec<Frame>,
    logged_in: Instant,
    quitting: &AtomicBool,
) -> Option<Reader> {
    let show = |frame: &Frame| {
        let line = match Event::from_frame(frame) {
            Ok(Event::Ping) => {
                let _ = writer.send(&Control::Pong.into_frame());
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
        let mut logged_out = false;
        let line = match expect {
            Expect::Download { id } if head.status_code() == Some(Status::OK) => {
                transfers.receive(&mut reader, &head, id).map(Some)
            }
            Expect::Upload(sending) => reader
                .read_body(head)
                .map(|reply| Some(transfer::upload_answered(&sending, &reply))),
            Expect::Download { .. } | Expect::Reply => reader.read_body(head).map(|frame| {
                show(&frame);
                logged_out = frame.status_code() == Some(Status::RESET_CONTENT);
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
        if logged_out {
            let _ = io::stdout().flush();
            return Some(reader);
        }
    }
    if !quitting.load(Ordering::Acquire) {
        println!("Disconnected from chat server");
        let _ = io::stdout().flush();
        std::process::exit(0);
    }
    None
}
