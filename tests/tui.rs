//! The full-screen client in a real terminal: tmux runs a shell at 80x24,
//! the client is typed into it, keys go in with `send-keys` and the screen
//! comes back with `capture-pane`. Without tmux these tests say they are
//! skipped, and fail with CI=true (.ci/run installs tmux).

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use chat::command::{AccountRequest, ChatRequest};
use chat::event::Event;
use chat::protocol::Status;
use support::irc_clients::peer_available;
use support::{Raw, Server, TempDir, WAIT};

/// A server that lets one client say 500 messages at once.
const NO_RATE_LIMIT: &[&str] = &[
    "--no-replay",
    "--no-rate-limit",
    "--pbkdf2-iterations",
    "1000",
];

/// A shell in a tmux server of its own (socket in a temporary directory),
/// killed with everything in it on drop.
struct Terminal {
    _dir: TempDir,
    socket: PathBuf,
    rows: usize,
}

impl Terminal {
    /// A shell at 80x24, or `None` (the test is skipped) without tmux.
    fn start(test: &str) -> Option<Terminal> {
        if !peer_available("tmux", test) {
            return None;
        }
        let dir = TempDir::new(&format!("tui-{test}"));
        let socket = dir.path().join("tmux.sock");
        let terminal = Terminal {
            _dir: dir,
            socket,
            rows: 24,
        };
        terminal.tmux(&[
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "24",
            "-s",
            "t",
            "env PS1='$ ' TERM=tmux-256color bash --norc --noprofile",
        ]);
        Some(terminal)
    }

    fn tmux(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Types `text` as it is.
    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
    }

    /// Presses keys by tmux's names (`Enter`, `Left`, `PPage`, `C-u`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Runs the client on `port` with `args`, in the shell.
    fn run_client(&self, port: u16, args: &str) {
        let client = env!("CARGO_BIN_EXE_client");
        self.type_text(&format!("{client} --port {port} {args}"));
        self.keys(&["Enter"]);
    }

    /// The screen's rows, exactly `rows` of them.
    fn screen(&self) -> Vec<String> {
        let text = self.tmux(&["capture-pane", "-p", "-t", "t"]);
        let mut rows: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
        rows.resize(self.rows, String::new());
        rows
    }

    /// Row `n` (from 0) as drawn, trailing spaces included.
    fn raw_row(&self, n: usize) -> String {
        let n = n.to_string();
        let text = self.tmux(&["capture-pane", "-p", "-N", "-t", "t", "-S", &n, "-E", &n]);
        text.trim_end_matches('\n').to_string()
    }

    /// Waits until the screen satisfies `ready`; panics with it otherwise.
    fn wait_for(&self, what: &str, ready: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; screen:\n{}",
                    screen.join("\n")
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_for_text(&self, needle: &str) -> Vec<String> {
        self.wait_for(needle, |rows| rows.iter().any(|r| r.contains(needle)))
    }

    /// Waits for the client's full screen, logged in as `nick`.
    fn wait_logged_in(&self, nick: &str) {
        let status = format!(" {nick} | lobby (");
        self.wait_for(&status, |rows| {
            rows.get(self.rows - 2)
                .is_some_and(|r| r.starts_with(&status))
        });
    }

    fn resize(&mut self, cols: usize, rows: usize) {
        self.tmux(&[
            "resize-window",
            "-t",
            "t",
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
        ]);
        self.rows = rows;
    }

    /// Runs the server binary in the shell (its console on this terminal)
    /// and returns its port, read off the screen.
    fn run_server(&self, data: &std::path::Path, args: &str) -> u16 {
        let server = env!("CARGO_BIN_EXE_server");
        self.type_text(&format!(
            "{server} --port 0 --data-dir {} {args}",
            data.display()
        ));
        self.keys(&["Enter"]);
        let marker = "Socket now listening on 127.0.0.1:";
        let deadline = Instant::now() + WAIT;
        loop {
            // -J joins rows the terminal wrapped, so the line is whole.
            let text = self.tmux(&["capture-pane", "-p", "-J", "-t", "t"]);
            let port = text
                .split(marker)
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|port| port.parse().ok());
            if let Some(port) = port {
                return port;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not start:\n{text}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `stty -a` of the terminal, once the shell has its prompt back.
    fn stty(&self) -> String {
        self.wait_for("the shell prompt", |rows| rows.iter().any(|r| r == "$"));
        self.keys(&["C-l"]);
        self.type_text("stty -a | tr '\\n' ' '; echo; echo STTY-DONE");
        self.keys(&["Enter"]);
        let screen = self.wait_for("stty", |rows| rows.iter().any(|r| r == "STTY-DONE"));
        screen.join("\n")
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "--- terminal at the failure ---\n{}",
                self.screen().join("\n")
            );
        }
        // Ends this test's own tmux server (and what runs in it), nothing else.
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// Echo and canonical mode are on in `stty -a` output (not `-echo`, `-icanon`).
fn assert_cooked(stty: &str) {
    let words: Vec<&str> = stty.split_whitespace().collect();
    assert!(words.contains(&"echo"), "echo restored: {stty}");
    assert!(words.contains(&"icanon"), "icanon restored: {stty}");
    assert!(
        !words.contains(&"-echo") && !words.contains(&"-icanon"),
        "{stty}"
    );
}

fn next_message(raw: &mut Raw) -> String {
    match raw.expect_event(|e| matches!(e, Event::Message { .. })) {
        Event::Message { text, .. } => text,
        _ => unreachable!(),
    }
}

/// Half a typed line survives 500 arriving messages, and Enter sends it.
#[test]
fn the_input_line_survives_a_flood_of_messages() {
    let Some(terminal) = Terminal::start("flood") else {
        return;
    };
    let dir = TempDir::new("tui-flood");
    let server = Server::start_with(dir.path(), NO_RATE_LIMIT);
    terminal.run_client(server.port, "--nick ntu");
    terminal.wait_logged_in("ntu");
    let mut bob = Raw::login(server.port, "bob");
    terminal.type_text("half a line, not fin");
    terminal.wait_for("the typed text", |rows| rows[23] == "half a line, not fin");
    for n in 0..500 {
        bob.say(&format!("message {n:03}"));
    }
    let screen = terminal.wait_for_text("[bob]: message 499");
    assert_eq!(screen[23], "half a line, not fin", "{}", screen.join("\n"));
    assert!(
        screen[21].ends_with("[bob]: message 499"),
        "{}",
        screen.join("\n")
    );
    assert!(
        screen[22].starts_with(" ntu | lobby (2 online)"),
        "{}",
        screen.join("\n")
    );
    // Every message row is whole: a stamp, the sender, the text.
    for row in &screen[..22] {
        assert!(row.contains("[bob]: message "), "{row:?}");
    }
    terminal.type_text("ished");
    terminal.keys(&["Enter"]);
    assert_eq!(next_message(&mut bob), "half a line, not finished");
    let screen = terminal.wait_for_text("[ntu]: half a line, not finished");
    assert_eq!(screen[23], "");
}

/// Arrows, Home/End and Ctrl keys edit the line; Up recalls what was sent.
#[test]
fn arrow_keys_edit_and_up_recalls() {
    let Some(terminal) = Terminal::start("editing") else {
        return;
    };
    let dir = TempDir::new("tui-editing");
    let server = Server::start_with(dir.path(), NO_RATE_LIMIT);
    terminal.run_client(server.port, "--nick ntu");
    terminal.wait_logged_in("ntu");
    let mut bob = Raw::login(server.port, "bob");
    terminal.type_text("abc");
    terminal.keys(&["Left", "Left", "X", "Home", "<", "End", ">"]);
    terminal.wait_for("edited line", |rows| rows[23] == "<aXbc>");
    terminal.type_text(" 漢字 wide");
    terminal.keys(&["BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace"]);
    terminal.wait_for("wide characters deleted", |rows| rows[23] == "<aXbc> 漢");
    terminal.keys(&["BSpace", "BSpace", "Enter"]);
    assert_eq!(next_message(&mut bob), "<aXbc>");
    terminal.type_text("second one");
    terminal.keys(&["Enter"]);
    assert_eq!(next_message(&mut bob), "second one");
    terminal.type_text("draft");
    terminal.keys(&["Up"]);
    terminal.wait_for("recall", |rows| rows[23] == "second one");
    terminal.keys(&["Up"]);
    terminal.wait_for("older recall", |rows| rows[23] == "<aXbc>");
    terminal.keys(&["Down", "Down"]);
    terminal.wait_for("the draft back", |rows| rows[23] == "draft");
    terminal.keys(&["C-w", "Up", "Enter"]);
    assert_eq!(next_message(&mut bob), "second one");
}

/// Tab completes a nickname (with `: ` at the start of the line) and a command.
#[test]
fn tab_completes_nicknames_and_commands() {
    let Some(terminal) = Terminal::start("complete") else {
        return;
    };
    let dir = TempDir::new("tui-complete");
    let server = Server::start_with(dir.path(), NO_RATE_LIMIT);
    // Here before us: learned from the directory the client asks for.
    let mut zed = Raw::login(server.port, "zed");
    let reply = zed.request(chat::command::RoomRequest::Create {
        room: "zoo".into(),
        private: false,
    });
    assert_eq!(reply.status_code(), Some(Status::OK));
    terminal.run_client(server.port, "--nick ntu");
    terminal.wait_logged_in("ntu");
    terminal.type_text("hi z");
    terminal.keys(&["Tab"]);
    terminal.wait_for("a nickname known before we came", |rows| {
        rows[23] == "hi zed"
    });
    terminal.keys(&["C-u"]);
    terminal.type_text("/join z");
    terminal.keys(&["Tab"]);
    terminal.wait_for("a room name", |rows| rows[23] == "/join zoo");
    terminal.keys(&["C-u"]);
    let mut ma = Raw::login(server.port, "Ma19");
    terminal.wait_for_text("Welcome Ma19 to the room!");
    terminal.type_text("ma");
    terminal.keys(&["Tab"]);
    terminal.wait_for("completed nickname", |rows| rows[23] == "Ma19:");
    terminal.type_text("hi");
    terminal.keys(&["Enter"]);
    assert_eq!(next_message(&mut ma), "Ma19: hi");
    terminal.type_text("/use");
    terminal.keys(&["Tab"]);
    terminal.wait_for("a completed command", |rows| rows[23] == "/users");
    terminal.keys(&["Enter"]);
    terminal.wait_for_text("3 user(s) online");
}

/// PgUp shows earlier lines with a "more below" marker; PgDn comes back.
#[test]
fn page_up_scrolls_back_through_the_session() {
    let Some(terminal) = Terminal::start("scroll") else {
        return;
    };
    let dir = TempDir::new("tui-scroll");
    let server = Server::start_with(dir.path(), NO_RATE_LIMIT);
    terminal.run_client(server.port, "--nick ntu");
    terminal.wait_logged_in("ntu");
    let mut bob = Raw::login(server.port, "bob");
    for n in 0..60 {
        bob.say(&format!("message {n:03}"));
    }
    terminal.wait_for_text("[bob]: message 059");
    assert!(!terminal.screen().iter().any(|r| r.contains("message 030")));
    terminal.keys(&["PPage"]);
    let screen = terminal.wait_for_text("more below");
    assert!(screen[21].ends_with("message 038"), "{}", screen.join("\n"));
    terminal.keys(&["PPage", "PPage", "PPage"]);
    terminal.wait_for_text("Welcome ntu to the room!");
    bob.say("while scrolled back");
    terminal.wait_for_text("more below: 1 new");
    terminal.keys(&["NPage", "NPage", "NPage", "NPage"]);
    let screen = terminal.wait_for("back at the bottom", |rows| {
        rows[21].ends_with("[bob]: while scrolled back")
    });
    assert!(!screen[22].contains("more below"), "{}", screen.join("\n"));
}

/// A resize to 120x40 moves the status and input lines to the new bottom
/// and redraws the messages across the new width.
#[test]
fn the_layout_follows_a_resize() {
    let Some(mut terminal) = Terminal::start("resize") else {
        return;
    };
    let dir = TempDir::new("tui-resize");
    let server = Server::start_with(dir.path(), NO_RATE_LIMIT);
    terminal.run_client(server.port, "--nick ntu");
    terminal.wait_logged_in("ntu");
    let mut bob = Raw::login(server.port, "bob");
    let long = format!("{} end", "word ".repeat(20)); // 104 characters
    bob.say(&long);
    let screen = terminal.wait_for_text(" end");
    let first = screen
        .iter()
        .position(|r| r.contains("[bob]: word"))
        .unwrap();
    assert!(
        screen[first + 1].trim_start().starts_with("word"),
        "wrapped at 80"
    );
    terminal.type_text("typed");
    terminal.resize(120, 40);
    let screen = terminal.wait_for("the new layout", |rows| {
        rows[38].starts_with(" ntu | lobby (2 online)") && rows[39] == "typed"
    });
    assert!(
        screen[37].ends_with(&format!("[bob]: {long}")),
        "{}",
        screen.join("\n")
    );
    assert_eq!(
        terminal.raw_row(38).chars().count(),
        120,
        "the status spans the width"
    );
}

/// After /quit, after /logout and `exit` at the nickname prompt, and
/// after the server is killed, the terminal is back in its normal mode
/// (echo and canonical input).
#[test]
fn the_terminal_is_restored_after_quit_and_after_the_server_dies() {
    let Some(terminal) = Terminal::start("restore") else {
        return;
    };
    let dir = TempDir::new("tui-restore");
    let mut server = Server::start_with(dir.path(), NO_RATE_LIMIT);
    terminal.run_client(server.port, "--nick ntu");
    terminal.wait_logged_in("ntu");
    terminal.type_text("/quit");
    terminal.keys(&["Enter"]);
    assert_cooked(&terminal.stty());

    terminal.keys(&["C-l"]);
    terminal.run_client(server.port, "--nick ntu");
    terminal.wait_logged_in("ntu");
    terminal.type_text("/logout");
    terminal.keys(&["Enter"]);
    terminal.wait_for("the nickname prompt, logged out", |rows| {
        rows[22].starts_with(" not logged in") && rows[23] == "Input your nickname:"
    });
    terminal.type_text("exit");
    terminal.keys(&["Enter"]);
    assert_cooked(&terminal.stty());

    terminal.keys(&["C-l"]);
    terminal.run_client(server.port, "--nick ntu");
    terminal.wait_logged_in("ntu");
    terminal.type_text("typing when it dies");
    terminal.wait_for("the typed text", |rows| rows[23] == "typing when it dies");
    server.kill();
    terminal.wait_for_text("Disconnected from chat server");
    assert_cooked(&terminal.stty());
}

/// The password prompt never shows what is typed; a paste with line
/// breaks is one message.
#[test]
fn passwords_are_not_shown_and_a_paste_is_one_message() {
    let Some(terminal) = Terminal::start("password") else {
        return;
    };
    let dir = TempDir::new("tui-password");
    let server = Server::start_with(dir.path(), NO_RATE_LIMIT);
    let mut tom = Raw::login(server.port, "Tom");
    let reply = tom.request(AccountRequest::Register {
        password: "secret-pw1".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK));
    tom.request(chat::command::Control::Quit);
    let mut bob = Raw::login(server.port, "bob");
    terminal.run_client(server.port, "--nick Tom");
    terminal.wait_for("the password prompt", |rows| rows[23] == "Password:");
    terminal.type_text("secret-pw1");
    terminal.keys(&["Enter"]);
    terminal.wait_logged_in("Tom");
    terminal.tmux(&["set-buffer", "line one\nline two"]);
    terminal.tmux(&["paste-buffer", "-p", "-t", "t"]);
    terminal.wait_for("the paste in the input line", |rows| {
        rows[23] == "line one\u{21b5}line two"
    });
    terminal.keys(&["Enter"]);
    assert_eq!(next_message(&mut bob), "line one\nline two");
    let reply = bob.request(ChatRequest::Say {
        room: None,
        text: "Tom: seen it".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK));
    terminal.wait_for_text("[bob]: Tom: seen it");
    assert!(!terminal.screen().iter().any(|r| r.contains("secret-pw1")));
}

/// The server console keeps a half-typed command below the message dump,
/// and runs it whole on Enter.
#[test]
fn the_server_console_never_cuts_a_typed_command() {
    let Some(terminal) = Terminal::start("console") else {
        return;
    };
    let data = TempDir::new("tui-console");
    let port = terminal.run_server(data.path(), "--no-replay --no-rate-limit");
    terminal.wait_for("the console prompt", |rows| rows.iter().any(|r| r == ">"));
    terminal.type_text("/us");
    terminal.wait_for("the typed command", |rows| {
        rows.iter().any(|r| r == "> /us")
    });
    let mut bob = Raw::login(port, "bob");
    for n in 0..200 {
        bob.say(&format!("message {n:03}"));
    }
    let screen = terminal.wait_for_text("message 199");
    let last = screen.iter().rposition(|r| !r.is_empty()).unwrap();
    assert_eq!(screen[last], "> /us", "{}", screen.join("\n"));
    assert!(
        !screen[..last].iter().any(|r| r.contains("/us")),
        "the command appears once, below: {}",
        screen.join("\n")
    );
    terminal.type_text("ers");
    terminal.keys(&["Enter"]);
    let screen = terminal.wait_for_text("1 user(s) online");
    assert!(
        screen.iter().any(|r| r == "> /users"),
        "{}",
        screen.join("\n")
    );
    terminal.keys(&["Up"]);
    terminal.wait_for("recall", |rows| {
        rows.iter()
            .rev()
            .find(|r| !r.is_empty())
            .is_some_and(|r| r == "> /users")
    });
    terminal.keys(&["C-u"]);
    terminal.type_text("/shutdown");
    terminal.keys(&["Enter"]);
    terminal.wait_for_text("log.txt is on disk. Bye.");
    assert_cooked(&terminal.stty());
}

/// Ctrl-C at the server console stops the server and gives the terminal back.
#[test]
fn ctrl_c_at_the_server_console_restores_the_terminal() {
    let Some(terminal) = Terminal::start("console-ctrl-c") else {
        return;
    };
    let data = TempDir::new("tui-console-ctrl-c");
    let port = terminal.run_server(data.path(), "--no-replay");
    terminal.wait_for("the console prompt", |rows| rows.iter().any(|r| r == ">"));
    terminal.type_text("/kick somebody");
    terminal.keys(&["C-c"]);
    terminal.wait_for_text("^C");
    assert_cooked(&terminal.stty());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server stopped"
    );
}

/// PgUp at the top of what the session has fetches older messages from
/// the server, until the beginning of the room.
#[test]
fn page_up_at_the_top_fetches_older_messages() {
    let Some(terminal) = Terminal::start("older") else {
        return;
    };
    let dir = TempDir::new("tui-older");
    let server = Server::start_with(dir.path(), NO_RATE_LIMIT);
    let mut bob = Raw::login(server.port, "bob");
    for n in 0..100 {
        bob.say(&format!("message {n:03}"));
    }
    terminal.run_client(server.port, "--nick ntu");
    terminal.wait_logged_in("ntu");
    terminal.wait_for_text("[bob]: message 099");
    // Each PgUp at the top asks for one page (one at a time): press it
    // until the beginning shows.
    let marker = "--- the beginning of lobby ---";
    let screen = terminal.wait_for(marker, |rows| {
        let found = rows.iter().any(|r| r.contains(marker));
        if !found {
            terminal.keys(&["PPage"]);
        }
        found
    });
    let first = screen.iter().position(|r| r.contains("---")).unwrap();
    assert!(
        screen[first + 1].ends_with("[bob]: message 000"),
        "{}",
        screen.join("\n")
    );
    terminal.keys(&["NPage"]);
    terminal.wait_for_text("[bob]: message 021");
}
