//! Real IRC clients for tests, against any IRC server on a loopback port:
//! `weechat-headless` (commands through its FIFO, what it received read
//! back from its logger's files), `irssi` under its own `tmux` server
//! (keys typed with `send-keys`, received lines from its autolog files),
//! and `RawIrc`, a raw-socket client for exact assertions. Every wait is
//! bounded by [`WAIT`]; every client lives in its own temporary home.

use std::fs::OpenOptions;
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use chat::irc::{read_line, Limits, Message, MAX_LINE_BYTES};

use super::{Process, TempDir, WAIT};

/// What the harness prints when a client has registered (`weechat`'s
/// per-server command and `irssi`'s `autosendcmd` run right after `001`).
const REGISTERED: &str = "chat-test: registered";
/// The network name both clients use for the server under test.
pub const NETWORK: &str = "test";

/// Where `program` is: on `PATH`, or in the sbin directories a user's
/// `PATH` may lack (Debian puts ngircd in /usr/sbin).
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// True when `program` can be run. When it cannot: with `CI=true` the
/// test fails (CI installs every peer), otherwise it says it is skipped.
pub fn peer_available(program: &str, test: &str) -> bool {
    if find_program(program).is_some() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: {program} is not installed, and CI=true requires it (.ci/run installs it)");
    }
    // Straight to stderr: the test harness captures eprintln!, and a skip
    // should be seen.
    let _ = writeln!(
        std::io::stderr(),
        "{test}: SKIPPED: {program} is not installed (apt-get install it, or run .ci/run)"
    );
    false
}

/// A loopback port nothing listens on right now (for servers that must be
/// told their port, such as ngircd).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Waits until `check` returns `Some`, or panics with `what` and `context()`.
fn wait_until<T>(what: &str, context: impl Fn() -> String, check: impl Fn() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(found) = check() {
            return found;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}; so far:\n{}", context());
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The text of a file, or empty if it does not exist yet.
fn read_or_empty(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// A raw IRC connection that parses what it receives with our own parser.
pub struct RawIrc {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    /// Everything received so far, for failure messages.
    seen: Vec<String>,
    pub nick: String,
}

impl RawIrc {
    /// Connects without registering.
    pub fn connect(port: u16) -> RawIrc {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to IRC server");
        stream.set_read_timeout(Some(WAIT)).expect("read timeout");
        stream.set_write_timeout(Some(WAIT)).expect("write timeout");
        let reader = BufReader::new(stream.try_clone().expect("clone socket"));
        RawIrc {
            stream,
            reader,
            seen: Vec::new(),
            nick: String::new(),
        }
    }

    /// Connects and registers as `nick`, waiting for the welcome (001).
    pub fn register(port: u16, nick: &str) -> RawIrc {
        let mut irc = RawIrc::connect(port);
        irc.nick = nick.to_string();
        irc.send(&format!("NICK {nick}"));
        irc.send(&format!("USER {nick} 0 * :raw test client"));
        irc.expect("the welcome (001)", |m| m.command == "001");
        irc
    }

    /// Sends one line (CR LF added).
    pub fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap_or_else(|e| panic!("send {line:?}: {e}"));
    }

    /// Sends raw bytes as they are (no line end added).
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("send {} bytes: {e}", bytes.len()));
    }

    /// Reads until the server closes the connection; the messages on the way.
    pub fn expect_closed(&mut self) -> Vec<Message> {
        let mut got = Vec::new();
        while let Some(m) = self.next() {
            got.push(m);
        }
        got
    }

    /// Skips messages until one matches `want`, and returns them all,
    /// that one last.
    pub fn collect_until(&mut self, what: &str, want: impl Fn(&Message) -> bool) -> Vec<Message> {
        let mut got = Vec::new();
        loop {
            match self.next() {
                Some(m) => {
                    let done = want(&m);
                    got.push(m);
                    if done {
                        return got;
                    }
                }
                None => panic!(
                    "connection closed waiting for {what}; received:\n{}",
                    self.seen.join("")
                ),
            }
        }
    }

    /// The next message, answering PINGs on the way; `None` at end of stream.
    pub fn next(&mut self) -> Option<Message> {
        loop {
            let mut line = Vec::new();
            match read_line(&mut self.reader, MAX_LINE_BYTES, &mut line) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => panic!(
                    "reading from the server: {e}; received so far:\n{}",
                    self.seen.join("")
                ),
            }
            self.seen.push(String::from_utf8_lossy(&line).into_owned());
            let msg = Message::parse(&line, Limits::SERVER)
                .unwrap_or_else(|e| panic!("server sent a bad line {line:?}: {e}"));
            if msg.command == "PING" {
                let token = msg.param(0).unwrap_or("").to_string();
                self.send(&format!("PONG :{token}"));
                continue;
            }
            return Some(msg);
        }
    }

    /// Skips messages until one matches `want`; panics (with everything
    /// received) if none does in time or the connection ends.
    pub fn expect(&mut self, what: &str, want: impl Fn(&Message) -> bool) -> Message {
        loop {
            match self.next() {
                Some(m) if want(&m) => return m,
                Some(_) => {}
                None => panic!(
                    "connection closed waiting for {what}; received:\n{}",
                    self.seen.join("")
                ),
            }
        }
    }

    /// Waits for a `PRIVMSG` with exactly this text and returns it.
    pub fn expect_privmsg(&mut self, text: &str) -> Message {
        self.expect(&format!("PRIVMSG {text:?}"), |m| {
            m.command == "PRIVMSG" && m.param(1) == Some(text)
        })
    }
}

/// A running `weechat-headless` with its own home directory, driven
/// through its FIFO; killed on drop.
pub struct Weechat {
    process: Process,
    home: TempDir,
    pub nick: String,
}

impl Weechat {
    /// Starts weechat connecting to `127.0.0.1:port` as `nick` and waits
    /// until it has registered. `settings` are extra `/set` lines (or any
    /// commands) run before connecting, such as SASL options.
    pub fn connect(port: u16, nick: &str, settings: &[&str]) -> Weechat {
        let home = TempDir::new("weechat");
        let server = format!("irc.server.{NETWORK}");
        let mut commands = vec![
            // The logger flushes every line at once, so tests can read them.
            "/set logger.file.flush_delay 0".to_string(),
            "/set irc.server_default.autoreconnect off".to_string(),
            // No anti-flood queue (2 s between messages by default): the
            // server under test does its own rate limiting.
            "/set irc.server_default.anti_flood_prio_high 0".to_string(),
            "/set irc.server_default.anti_flood_prio_low 0".to_string(),
            format!("/server add {NETWORK} 127.0.0.1/{port}"),
            format!("/set {server}.tls off"),
            format!("/set {server}.nicks {nick}"),
            format!("/set {server}.username {nick}"),
            format!("/set {server}.realname weechat test client"),
            // Runs right after 001: the sign that registration is over.
            format!("/set {server}.command \"/print -buffer {server} {REGISTERED}\""),
        ];
        commands.extend(settings.iter().map(|s| s.to_string()));
        commands.push(format!("/connect {NETWORK}"));
        let mut command = Command::new("weechat-headless");
        command
            .arg("--dir")
            .arg(home.path())
            // Only what the tests use: no scripts, no relay, no spell checker.
            .args(["--plugins", "irc,logger,fifo", "--no-script", "--stdout"])
            .arg("--run-command")
            .arg(commands.join(";"));
        let weechat = Weechat {
            process: Process::spawn(command),
            home,
            nick: nick.to_string(),
        };
        weechat.wait_server_log(REGISTERED);
        weechat
    }

    /// Sends `line` (a `/command` or text) to the buffer named `buffer`
    /// (`irc.server.test`, `irc.test.#lobby`) through the FIFO.
    pub fn send(&self, buffer: &str, line: &str) {
        let fifo = self
            .home
            .path()
            .join(format!("weechat_fifo_{}", self.process.pid()));
        // Non-blocking, so a dead weechat fails the test instead of hanging it.
        let mut pipe = OpenOptions::new()
            .write(true)
            .custom_flags(0o4000) // O_NONBLOCK
            .open(&fifo)
            .unwrap_or_else(|e| panic!("open weechat's FIFO {}: {e}", fifo.display()));
        pipe.write_all(format!("{buffer} *{line}\n").as_bytes())
            .expect("write to weechat's FIFO");
    }

    /// Runs an IRC command (`/join #lobby`, `/nick x`) on the server buffer.
    pub fn command(&self, line: &str) {
        self.send(&format!("irc.server.{NETWORK}"), line);
    }

    /// Says `text` in a channel or private buffer (`#lobby`, `bo`).
    pub fn say(&self, target: &str, text: &str) {
        self.command(&format!("/msg {target} {text}"));
    }

    /// The log of the server buffer (numerics, notices, errors).
    pub fn server_log(&self) -> String {
        read_or_empty(&self.log_path(&format!("irc.server.{NETWORK}")))
    }

    /// The log of a channel or private buffer (`#lobby`, `bo`).
    pub fn log(&self, target: &str) -> String {
        read_or_empty(&self.log_path(&format!("irc.{NETWORK}.{target}")))
    }

    /// Waits until the log of `target` contains `needle`, and returns the log.
    pub fn wait_log(&self, target: &str, needle: &str) -> String {
        wait_until(
            &format!("{needle:?} in weechat's {target} log"),
            || self.describe(),
            || Some(self.log(target)).filter(|l| l.contains(needle)),
        )
    }

    /// Waits until the server buffer's log contains `needle`.
    pub fn wait_server_log(&self, needle: &str) -> String {
        wait_until(
            &format!("{needle:?} in weechat's server log"),
            || self.describe(),
            || Some(self.server_log()).filter(|l| l.contains(needle)),
        )
    }

    /// Quits with `/quit message` and waits for weechat to exit.
    pub fn quit(&mut self, message: &str) {
        self.command(&format!("/quit {message}"));
        self.process.wait_exit();
    }

    /// Log file names are lower-cased by weechat's default settings.
    fn log_path(&self, buffer: &str) -> PathBuf {
        let name = format!("{}.weechatlog", buffer.to_lowercase());
        self.home.path().join("logs").join(name)
    }

    fn describe(&self) -> String {
        let mut text = format!("--- weechat stdout ---\n{}\n", self.process.stdout.text());
        if let Ok(dir) = std::fs::read_dir(self.home.path().join("logs")) {
            for entry in dir.flatten() {
                let path = entry.path();
                text.push_str(&format!(
                    "--- {} ---\n{}\n",
                    path.display(),
                    read_or_empty(&path)
                ));
            }
        }
        text
    }
}

/// A running `irssi` inside a `tmux` server of its own (its socket in
/// irssi's home), with its own home; the tmux server is killed on drop.
pub struct Irssi {
    socket: PathBuf,
    home: TempDir,
    pub nick: String,
}

impl Irssi {
    /// Starts irssi connecting to `127.0.0.1:port` as `nick` and waits
    /// until it has registered. `server_options` are extra entries of its
    /// `servers` block (`sasl_mechanism = "plain";`, `password = "x";`).
    pub fn connect(port: u16, nick: &str, server_options: &str) -> Irssi {
        Irssi::connect_with(port, nick, server_options, "")
    }

    /// Like [`Irssi::connect`], logging in to `account` with SASL PLAIN
    /// (irssi keeps SASL settings in the network's `chatnets` block).
    pub fn connect_sasl(port: u16, nick: &str, account: &str, password: &str) -> Irssi {
        let chatnet = format!(
            r#"sasl_mechanism = "PLAIN"; sasl_username = "{account}"; sasl_password = "{password}";"#
        );
        Irssi::connect_with(port, nick, "", &chatnet)
    }

    /// Starts irssi with extra entries in its `servers` and `chatnets` blocks.
    fn connect_with(port: u16, nick: &str, server_options: &str, chatnet_options: &str) -> Irssi {
        let home = TempDir::new("irssi");
        let logs = home.path().join("logs");
        let config = format!(
            r#"servers = (
  {{ address = "127.0.0.1"; chatnet = "{NETWORK}"; port = "{port}"; use_tls = "no";
     tls_verify = "no"; autoconnect = "yes"; {server_options} }}
);
chatnets = {{ {NETWORK} = {{ type = "IRC"; autosendcmd = "/echo {REGISTERED}"; {chatnet_options} }}; }};
settings = {{
  core = {{ real_name = "irssi test client"; user_name = "{nick}"; nick = "{nick}"; }};
  "irc/core" = {{ cmd_queue_speed = "1msec"; cmds_max_at_once = "100"; }};
  "fe-common/core" = {{ autolog = "yes"; autolog_path = "{logs}/$tag/$0.log"; autolog_level = "ALL"; }};
}};
"#,
            logs = logs.display()
        );
        std::fs::write(home.path().join("config"), config).expect("write irssi config");
        // In the temporary home, so it goes with it.
        let socket = home.path().join("tmux.sock");
        let irssi = Irssi {
            socket,
            home,
            nick: nick.to_string(),
        };
        let launch = format!("irssi --home={}", irssi.home.path().display());
        irssi.tmux(&[
            "new-session",
            "-d",
            "-s",
            "irssi",
            "-x",
            "200",
            "-y",
            "50",
            &launch,
        ]);
        wait_until(
            "irssi to register",
            || irssi.screen(),
            || Some(()).filter(|()| irssi.screen().contains(REGISTERED)),
        );
        irssi
    }

    /// Types `line` and Enter.
    pub fn type_line(&self, line: &str) {
        self.tmux(&["send-keys", "-t", "irssi", "-l", line]);
        self.tmux(&["send-keys", "-t", "irssi", "Enter"]);
    }

    /// What the terminal shows, with its scrollback.
    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(["capture-pane", "-p", "-J", "-S", "-2000", "-t", "irssi"])
            .output()
            .expect("run tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Irssi's log of a channel or query (`#lobby`, `bo`).
    pub fn log(&self, target: &str) -> String {
        let dir = self.home.path().join("logs").join(NETWORK);
        read_or_empty(&dir.join(format!("{target}.log")))
    }

    /// Waits until the log of `target` contains `needle`, and returns it.
    pub fn wait_log(&self, target: &str, needle: &str) -> String {
        wait_until(
            &format!("{needle:?} in irssi's {target} log"),
            || {
                format!(
                    "--- log ---\n{}\n--- screen ---\n{}",
                    self.log(target),
                    self.screen()
                )
            },
            || Some(self.log(target)).filter(|l| l.contains(needle)),
        )
    }

    /// Waits until the screen shows `needle`.
    pub fn wait_screen(&self, needle: &str) -> String {
        wait_until(
            &format!("{needle:?} on irssi's screen"),
            || self.screen(),
            || Some(self.screen()).filter(|s| s.contains(needle)),
        )
    }

    fn tmux(&self, args: &[&str]) {
        let status = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux {args:?} failed");
    }
}

impl Drop for Irssi {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("--- irssi screen ---\n{}", self.screen());
        }
        // Ends this test's own tmux server (and irssi in it), nothing else.
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            // Irssi may have quit already, taking the server with it.
            .stderr(std::process::Stdio::null())
            .status();
    }
}
