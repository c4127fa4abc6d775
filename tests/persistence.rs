//! log.txt: what is stored, the replay prompt, and damaged files at start-up.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::{Raw, Server, TempDir, WAIT};

/// Messages survive a restart, and answering `yes` at the prompt prints them.
#[test]
fn stored_messages_are_replayed_after_a_restart_on_yes() {
    let dir = TempDir::new("replay");
    {
        let mut server = Server::start(dir.path());
        let mut ntu = Raw::login(server.port, "ntu");
        ntu.say("Hello World! I'm Ma 19");
        ntu.say("tabs\tand\nnewlines survive");
        server.kill();
    }
    let log = std::fs::read_to_string(dir.path().join("log.txt")).unwrap();
    assert_eq!(log.lines().count(), 2, "{log}");
    assert!(
        log.contains("\tmsg\tlobby\tntu\t-\tHello World! I'm Ma 19\t"),
        "{log}"
    );

    let mut server = Server::spawn(dir.path(), &[]);
    server
        .stdout
        .wait_for("Retrieve old messages from log.txt? (yes/no)");
    server.console("yes");
    server.wait_listening();
    let out = server.stdout.text();
    assert!(out.contains("--- 2 stored message(s) ---"), "{out}");
    assert!(
        out.contains("#lobby [ntu]: Hello World! I'm Ma 19"),
        "{out}"
    );
    assert!(
        out.contains("#lobby [ntu]: tabs and \u{21b5} newlines survive"),
        "{out}"
    );
}

/// Answering `no` prints nothing old; end of input on stdin counts as no and never hangs.
#[test]
fn no_and_end_of_input_skip_the_replay() {
    let dir = TempDir::new("noreplay");
    {
        let mut server = Server::start(dir.path());
        Raw::login(server.port, "ntu").say("old news");
        server.kill();
    }
    let mut server = Server::spawn(dir.path(), &[]);
    server.stdout.wait_for("(yes/no)");
    server.console("no");
    server.wait_listening();
    assert!(!server.stdout.text().contains("old news"));
    drop(server);

    let mut server = Server::spawn(dir.path(), &[]);
    server.close_console();
    server.wait_listening();
    assert!(!server.stdout.text().contains("old news"));
    let mut raw = Raw::login(server.port, "after");
    raw.say("the server runs without a console");
}

/// `--replay` answers the prompt in advance.
#[test]
fn replay_flag_prints_without_asking() {
    let dir = TempDir::new("replayflag");
    {
        let mut server = Server::start(dir.path());
        Raw::login(server.port, "ntu").say("remember me");
        server.kill();
    }
    let server = Server::start_with(dir.path(), &["--replay"]);
    let out = server.stdout.text();
    assert!(out.contains("[ntu]: remember me"), "{out}");
    assert!(!out.contains("(yes/no)"), "{out}");
}

/// A torn last line and a damaged line are reported with their line numbers and skipped; the rest loads.
#[test]
fn torn_and_damaged_lines_are_reported_and_skipped() {
    let dir = TempDir::new("torn");
    {
        let mut server = Server::start(dir.path());
        let mut ntu = Raw::login(server.port, "ntu");
        for text in ["first", "second", "third"] {
            ntu.say(text);
        }
        server.kill();
    }
    let path = dir.path().join("log.txt");
    let log = std::fs::read_to_string(&path).unwrap();
    let damaged = log.replacen("second", "secoNd", 1) + "4\t2026-11-21 10:15";
    std::fs::write(&path, damaged).unwrap();

    let mut server = Server::start_with(dir.path(), &["--replay"]);
    let out = server.stdout.text();
    assert!(out.contains("line 2: checksum mismatch"), "{out}");
    assert!(out.contains("line 4: torn last line"), "{out}");
    assert!(
        out.contains("[ntu]: first") && out.contains("[ntu]: third"),
        "{out}"
    );
    assert!(!out.contains("secoNd"), "{out}");

    // New messages go on a line of their own after the cut.
    Raw::login(server.port, "ntu").say("fourth");
    server.kill();
    let log = std::fs::read_to_string(&path).unwrap();
    let last = log.lines().last().unwrap();
    assert!(last.contains("\tfourth\t"), "{log}");
}

/// A newcomer to the lobby first receives its recent history, marked as such, without whispers.
#[test]
fn newcomer_receives_recent_history_without_whispers() {
    let dir = TempDir::new("history");
    let mut server = Server::start_with(dir.path(), &["--no-replay", "--history", "3"]);
    {
        let mut a = Raw::login(server.port, "a");
        let _b = Raw::login(server.port, "b");
        for n in 1..=5 {
            a.say(&format!("m{n}"));
        }
        a.request(chat::command::ChatRequest::Whisper {
            to: "b".into(),
            text: "secret".into(),
        });
    }
    server.kill();
    let server = Server::start_with(dir.path(), &["--no-replay", "--history", "3"]);
    let mut c = Raw::connect(server.port);
    let login = chat::command::AccountRequest::Login {
        many_rooms: false,
        nick: "c".into(),
        password: None,
    };
    let history = c.history_on_entering(login, "lobby");
    assert_eq!(history, ["m3", "m4", "m5"]);
}

/// A data directory that cannot be created is a clear error, not a panic.
#[test]
fn unusable_data_directory_is_a_clear_error() {
    let dir = TempDir::new("badtdir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--port", "0", "--no-replay", "--data-dir"])
        .arg(file.join("sub"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("cannot use data directory"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A port already in use is a clear error naming the address.
#[test]
fn port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = TempDir::new("portinuse");
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--no-replay", "--port", &port.to_string(), "--data-dir"])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().map(|mut s| s.flush());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < WAIT,
            "server did not give up on a taken port"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("already in use"), "{err}");
}
