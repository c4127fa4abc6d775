//! Test support: start the real server and client binaries on ephemeral
//! ports with a fresh data directory each, and talk to them over real TCP.
//! Every wait is bounded, so a bug fails a test in seconds instead of
//! hanging CI.
#![allow(dead_code)]

pub mod cdp;
pub mod fuzz;
pub mod relay;
pub mod web;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use chat::command::{AccountRequest, ChatRequest, Request, Upload};
use chat::event::Event;
use chat::protocol::{Frame, Limits, Status};

pub mod cluster;
pub mod irc_clients;
pub mod ngircd;
pub mod redis;

/// How long any single expectation may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A directory of its own under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "chat-test-{name}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Everything a child process printed on one stream, collected by a thread.
#[derive(Clone, Default)]
pub struct Output(Arc<Mutex<String>>);

impl Output {
    fn collect(mut source: impl Read + Send + 'static) -> Output {
        let output = Output::default();
        let sink = output.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = source.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.0
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        output
    }

    pub fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }

    /// Waits until the output contains `needle` `times` times; panics with the output otherwise.
    pub fn wait_for_n(&self, needle: &str, times: usize) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text();
            if text.matches(needle).count() >= times {
                return text;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {needle:?} x{times}; output so far:\n{text}");
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn wait_for(&self, needle: &str) -> String {
        self.wait_for_n(needle, 1)
    }
}

/// A child process with piped standard streams: its output collected by
/// threads, its input open until closed, killed on drop. The server and the
/// client binaries both run as one.
pub struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    pub stdout: Output,
    pub stderr: Output,
}

impl Process {
    /// Spawns `command` with all three standard streams piped.
    pub fn spawn(mut command: Command) -> Process {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start a binary under test");
        let stdout = Output::collect(child.stdout.take().unwrap());
        let stderr = Output::collect(child.stderr.take().unwrap());
        Process {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
        }
    }

    /// Writes `bytes` to the process's standard input.
    pub fn type_bytes(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("standard input still open");
        stdin.write_all(bytes).expect("write to standard input");
        stdin.flush().unwrap();
    }

    /// Writes one line to the process's standard input.
    pub fn type_line(&mut self, line: &str) {
        self.type_bytes(format!("{line}\n").as_bytes());
    }

    /// Closes the process's standard input (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The process id (for /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits (bounded) for the process to exit by itself.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("process did not exit in time");
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn has_exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running server binary; killed on drop.
pub struct Server {
    process: Process,
    pub port: u16,
}

impl std::ops::Deref for Server {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.process
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.process
    }
}

impl Server {
    /// Starts a server on a free port in `dir`, not asking about replay.
    pub fn start(dir: &Path) -> Server {
        Server::start_with(dir, &["--no-replay"])
    }

    /// Starts a server on a free port in `dir` with extra flags.
    pub fn start_with(dir: &Path, args: &[&str]) -> Server {
        let mut server = Server::spawn(dir, args);
        server.wait_listening();
        server
    }

    /// Starts the server without waiting for it to listen.
    pub fn spawn(dir: &Path, args: &[&str]) -> Server {
        Server::launch(Command::new(env!("CARGO_BIN_EXE_server")), dir, args)
    }

    /// Runs `command` (the server binary, or a shell that execs it) with a
    /// free port, `dir` as data directory, `args`, and piped standard streams.
    fn launch(mut command: Command, dir: &Path, args: &[&str]) -> Server {
        command
            .args(["--port", "0", "--data-dir"])
            .arg(dir)
            .args(args);
        Server {
            process: Process::spawn(command),
            port: 0,
        }
    }

    /// Starts the server through `bash -c`, so a test can set resource
    /// limits (`ulimit`) and ignored signals (`trap`) first.
    pub fn start_in_shell(dir: &Path, setup: &str, args: &[&str]) -> Server {
        let mut bash = Command::new("bash");
        bash.arg("-c")
            .arg(format!("{setup}; exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_server"));
        let mut server = Server::launch(bash, dir, args);
        server.wait_listening();
        server
    }

    /// A field of /proc/PID/status, such as `Threads` or `VmRSS`, as a number.
    pub fn proc_status(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }

    /// Waits for `Socket now listening on HOST:PORT` and reads the port from it.
    pub fn wait_listening(&mut self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.stdout.text();
            if let Some(rest) = text.split("Socket now listening on ").nth(1) {
                if let Some(line) = rest.lines().next().filter(|_| rest.contains('\n')) {
                    let port = line.rsplit(':').next().unwrap().trim();
                    self.port = port.parse().expect("port in listening line");
                    return;
                }
            }
            if Instant::now() > deadline || self.process.has_exited() {
                panic!(
                    "server did not start listening; stdout:\n{text}\nstderr:\n{}",
                    self.stderr.text()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Types a line on the server's console.
    pub fn console(&mut self, line: &str) {
        self.type_line(line);
    }

    /// Closes the server's standard input (no console).
    pub fn close_console(&mut self) {
        self.close_stdin();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.process.kill();
        if thread::panicking() {
            // The server's side of the story, for a failure in CI.
            let out: String = self.stdout.text();
            let tail: String = out
                .chars()
                .rev()
                .take(4000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            eprintln!(
                "--- server stdout (last 4000 chars) ---\n{tail}\n--- server stderr ---\n{}",
                self.stderr.text()
            );
        }
    }
}

/// A protocol-level client on a raw socket, for exact assertions on frames.
pub struct Raw {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
    limits: Limits,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        Raw::connect_to(("127.0.0.1", port))
    }

    /// Connects to `addr` (another loopback address than 127.0.0.1, such as `::1`).
    pub fn connect_to(addr: impl std::net::ToSocketAddrs) -> Raw {
        let stream = TcpStream::connect(addr).expect("connect to server");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Raw {
            stream,
            reader,
            limits: Limits {
                max_body_bytes: 1 << 20,
                ..Limits::default()
            },
        }
    }

    /// Connects and logs in as `nick`, consuming the reply and own welcome.
    pub fn login(port: u16, nick: &str) -> Raw {
        let mut raw = Raw::connect(port);
        let reply = raw.request(AccountRequest::Login {
            many_rooms: false,
            nick: nick.into(),
            password: None,
        });
        assert_eq!(
            reply.status_code(),
            Some(Status::OK),
            "login as {nick}: {reply:?}"
        );
        raw.expect_event(|e| matches!(e, Event::Join { nick: n, .. } if n == nick));
        raw
    }

    /// Logs in as the guest `nick` and registers it with `password`.
    pub fn register(port: u16, nick: &str, password: &str) -> Raw {
        let mut raw = Raw::login(port, nick);
        let reply = raw.request(AccountRequest::Register {
            password: password.into(),
        });
        assert_eq!(
            reply.status_code(),
            Some(Status::OK),
            "register {nick}: {reply:?}"
        );
        raw
    }

    /// Uploads `body` as `name` (its size announced, no digest) and returns
    /// the reply, past any events that come first.
    pub fn upload(&mut self, name: &str, body: &[u8]) -> Frame {
        let head = Upload {
            name: name.into(),
            size: body.len() as u64,
            digest: None,
        }
        .encode_head();
        self.send_bytes(&head);
        self.send_bytes(body);
        self.next_reply()
    }

    /// The next reply, past any events that come first.
    pub fn next_reply(&mut self) -> Frame {
        loop {
            let frame = self.read();
            if frame.status_code().is_some() {
                return frame;
            }
        }
    }

    pub fn send(&mut self, frame: &Frame) {
        self.stream.write_all(&frame.encode()).expect("send frame");
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send bytes");
    }

    /// The next frame; panics on timeout or a closed connection.
    pub fn read(&mut self) -> Frame {
        match Frame::read_from(&mut self.reader, &self.limits) {
            Ok(Some(frame)) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame, or `None` when the server closed the connection.
    pub fn read_or_eof(&mut self) -> Option<Frame> {
        Frame::read_from(&mut self.reader, &self.limits)
            .ok()
            .flatten()
    }

    /// Sends a request and returns its reply, collecting events that came first.
    pub fn request_with_events(&mut self, request: impl Into<Request>) -> (Frame, Vec<Event>) {
        let request = request.into();
        self.send(&request.into_frame());
        let mut events = Vec::new();
        loop {
            let frame = self.read();
            if frame.status_code().is_some() {
                return (frame, events);
            }
            events.push(Event::from_frame(&frame).expect("well-formed event"));
        }
    }

    /// Sends a request and returns its reply, skipping events.
    pub fn request(&mut self, request: impl Into<Request>) -> Frame {
        let request = request.into();
        self.request_with_events(request).0
    }

    /// Says `text` in the current room; asserts it was accepted.
    pub fn say(&mut self, text: &str) {
        let reply = self.request(ChatRequest::Say {
            room: None,
            text: text.into(),
        });
        assert_eq!(
            reply.status_code(),
            Some(Status::OK),
            "say {text:?}: {reply:?}"
        );
    }

    /// Sends a `SAY` of each of `texts` to the current room in one write
    /// (a pasted block, a script), then a `PING` if `ping`; answers are
    /// left to read.
    pub fn say_together(&mut self, texts: impl IntoIterator<Item = String>, ping: bool) {
        let mut bytes = Vec::new();
        for text in texts {
            let say = ChatRequest::Say { room: None, text };
            bytes.extend(Request::from(say).into_frame().encode());
        }
        if ping {
            bytes.extend(
                Request::from(chat::command::Control::Ping)
                    .into_frame()
                    .encode(),
            );
        }
        self.send_bytes(&bytes);
    }

    /// Sends the burst the burst tests share: the 100 texts of
    /// [`bell_at_50`] as `SAY`s in one write, then a `PING`.
    pub fn say_bell_burst(&mut self) {
        self.say_together((0..100).map(bell_at_50), true);
    }

    /// Reads until an event matches; panics (listing what came) if none does in time.
    pub fn expect_event(&mut self, want: impl Fn(&Event) -> bool) -> Event {
        let mut seen = Vec::new();
        loop {
            let frame = match Frame::read_from(&mut self.reader, &self.limits) {
                Ok(Some(frame)) => frame,
                other => {
                    let last: Vec<String> = seen
                        .iter()
                        .rev()
                        .take(5)
                        .map(|e| format!("{e:?}").chars().take(200).collect())
                        .collect();
                    panic!(
                        "no matching event among {} seen (last ones: {last:#?}); then {other:?}",
                        seen.len()
                    )
                }
            };
            if let Ok(event) = Event::from_frame(&frame) {
                if want(&event) {
                    return event;
                }
                seen.push(event);
            }
        }
    }

    /// Sends `request` (a LOGIN or a JOIN) and returns the texts of the
    /// history messages that arrive before the welcome to `room`.
    pub fn history_on_entering(&mut self, request: impl Into<Request>, room: &str) -> Vec<String> {
        self.send(&request.into().into_frame());
        let mut history = Vec::new();
        loop {
            let frame = self.read();
            if frame.status_code().is_some() {
                continue;
            }
            match Event::from_frame(&frame).expect("well-formed event") {
                Event::Message {
                    text,
                    history: true,
                    ..
                } => history.push(text),
                Event::Join { room: r, .. } if r == room => return history,
                _ => {}
            }
        }
    }

    /// Waits for the server to close this connection, skipping frames.
    pub fn expect_closed(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(frame) = self.read_or_eof() {
            frames.push(frame);
        }
        frames
    }
}

/// A running client binary with its stdin and collected stdout/stderr.
pub struct Client {
    process: Process,
}

impl std::ops::Deref for Client {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.process
    }
}

impl std::ops::DerefMut for Client {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.process
    }
}

impl Client {
    pub fn start(port: u16, args: &[&str]) -> Client {
        let mut command = Command::new(env!("CARGO_BIN_EXE_client"));
        command.args(["--port", &port.to_string()]).args(args);
        Client {
            process: Process::spawn(command),
        }
    }

    /// Starts a client logged in as `nick`, past its welcome line.
    pub fn login(port: u16, nick: &str) -> Client {
        let client = Client::start(port, &["--nick", nick]);
        client
            .stdout
            .wait_for(&format!("Welcome {nick} to the room!"));
        client
    }
}

/// Shrinks a socket's receive buffer (`SO_RCVBUF`; Linux doubles it), as a
/// client that reads nothing and wants the server to queue for it would.
/// std has no call for it, so the test declares the C function.
#[cfg(target_os = "linux")]
pub fn shrink_receive_buffer(stream: &TcpStream, bytes: i32) {
    use std::os::fd::AsRawFd;
    use std::os::raw::{c_int, c_void};
    extern "C" {
        fn setsockopt(
            fd: c_int,
            level: c_int,
            name: c_int,
            value: *const c_void,
            len: u32,
        ) -> c_int;
    }
    const SOL_SOCKET: c_int = 1;
    const SO_RCVBUF: c_int = 8;
    // SAFETY: the descriptor is open while `stream` is borrowed, and the
    // value is a live c_int whose size is passed along.
    let rc = unsafe {
        setsockopt(
            stream.as_raw_fd(),
            SOL_SOCKET,
            SO_RCVBUF,
            (&bytes as *const c_int).cast(),
            std::mem::size_of::<c_int>() as u32,
        )
    };
    assert_eq!(rc, 0, "setsockopt SO_RCVBUF");
}

/// The `i`-th text of the burst tests' 100: `t0` to `t99`, but the 51st is
/// a bell, which the server refuses (control characters) while the rest go
/// through.
pub fn bell_at_50(i: usize) -> String {
    if i == 50 {
        "bell\u{7}".to_string()
    } else {
        format!("t{i}")
    }
}

/// Checks the answer to the `i`-th `SAY` of a [`bell_at_50`] burst: `400`
/// for the bell (`None`), `200` with its number for the others.
pub fn burst_answer(reply: &Frame, i: usize) -> Option<u64> {
    if i == 50 {
        assert_eq!(reply.status_code(), Some(Status::BAD_REQUEST), "{reply:?}");
        return None;
    }
    assert_eq!(reply.status_code(), Some(Status::OK), "{i}: {reply:?}");
    Some(reply.header("Seq").expect("Seq").parse().expect("a number"))
}

/// Checks the answer to the `PING` sent behind a burst: `200` without a
/// number, after every `SAY`'s.
pub fn ping_answer_last(pong: &Frame) {
    assert_eq!(pong.status_code(), Some(Status::OK));
    assert_eq!(pong.header("Seq"), None, "the PING's answer, last");
}
