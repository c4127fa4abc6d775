//! Hostile and malformed input on a live server: each offender gets a clear
//! error frame, and everyone else keeps chatting.

mod support;

use chat::command::Control;
use chat::event::Event;
use chat::protocol::Status;
use support::{Raw, Server, TempDir};

/// Checks that the server still serves: a fresh client logs in and is heard.
fn still_serving(port: u16, witness: &mut Raw, nick: &str) {
    let mut fresh = Raw::login(port, nick);
    fresh.say("still serving");
    witness.expect_event(|e| matches!(e, Event::Message { from, .. } if from == nick));
}

/// A header line over 1 KiB gets 431 and a disconnect.
#[test]
fn overlong_header_line_is_refused_and_disconnected() {
    let dir = TempDir::new("longline");
    let server = Server::start(dir.path());
    let mut witness = Raw::login(server.port, "witness");
    let mut evil = Raw::connect(server.port);
    let long = format!(
        "PING / CHAT/1.0\r\nX-Pad: {}\r\nContent-Length: 0\r\n\r\n",
        "a".repeat(2000)
    );
    evil.send_bytes(long.as_bytes());
    let reply = evil.read();
    assert_eq!(reply.status_code(), Some(Status::HEADER_TOO_LARGE));
    assert!(
        reply.text_lossy().contains("longer than 1024 bytes"),
        "{reply:?}"
    );
    assert!(
        evil.read_or_eof().is_none(),
        "connection closed after the error"
    );
    still_serving(server.port, &mut witness, "fresh");
}

/// A megabyte with no newline is cut off at the line cap, not buffered.
#[test]
fn megabyte_without_newline_is_refused() {
    let dir = TempDir::new("nonewline");
    let server = Server::start(dir.path());
    let mut witness = Raw::login(server.port, "witness");
    let mut evil = Raw::connect(server.port);
    // The server may hang up before it has read it all; a failed write is fine.
    let _ = std::io::Write::write_all(&mut evil.stream, &vec![b'A'; 1 << 20]);
    let frames = evil.expect_closed();
    assert_eq!(
        frames.first().and_then(|f| f.status_code()),
        Some(Status::HEADER_TOO_LARGE)
    );
    still_serving(server.port, &mut witness, "fresh");
}

/// Binary garbage gets 400 and a disconnect; the server logs why.
#[test]
fn binary_garbage_is_refused() {
    let dir = TempDir::new("garbage");
    let server = Server::start(dir.path());
    let mut witness = Raw::login(server.port, "witness");
    let mut evil = Raw::connect(server.port);
    evil.send_bytes(b"\x00\xff\xfe\x01garbage\r\n\r\n");
    let frames = evil.expect_closed();
    assert_eq!(
        frames.first().and_then(|f| f.status_code()),
        Some(Status::BAD_REQUEST)
    );
    server.stdout.wait_for("protocol error");
    still_serving(server.port, &mut witness, "fresh");
}

/// A missing, duplicated or non-numeric Content-Length gets 400 and a disconnect.
#[test]
fn bad_content_length_is_refused() {
    let dir = TempDir::new("badlen");
    let server = Server::start(dir.path());
    for head in [
        "SAY / CHAT/1.0\r\n\r\n",
        "SAY / CHAT/1.0\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        "SAY / CHAT/1.0\r\nContent-Length: -5\r\n\r\n",
    ] {
        let mut evil = Raw::connect(server.port);
        evil.send_bytes(head.as_bytes());
        let frames = evil.expect_closed();
        let reply = frames.first().expect("an error frame before closing");
        assert_eq!(reply.status_code(), Some(Status::BAD_REQUEST), "{head:?}");
        assert!(reply.text_lossy().contains("Content-Length"), "{reply:?}");
    }
}

/// A chat body over 4 KiB gets 413 and a disconnect.
#[test]
fn oversized_message_body_is_refused() {
    let dir = TempDir::new("bigbody");
    let server = Server::start(dir.path());
    let mut evil = Raw::login(server.port, "evil");
    evil.send_bytes(format!("SAY / CHAT/1.0\r\nContent-Length: {}\r\n\r\n", 1 << 30).as_bytes());
    let frames = evil.expect_closed();
    let reply = frames
        .iter()
        .find(|f| f.status_code().is_some())
        .expect("an error reply");
    assert_eq!(reply.status_code(), Some(Status::PAYLOAD_TOO_LARGE));
}

/// Unknown verbs and non-UTF-8 text are refused with 400, but the connection stays open.
#[test]
fn meaningless_requests_keep_the_connection_open() {
    let dir = TempDir::new("meaning");
    let server = Server::start(dir.path());
    let mut raw = Raw::login(server.port, "ntu");
    raw.send_bytes(b"DANCE / CHAT/1.0\r\nContent-Length: 0\r\n\r\n");
    let reply = raw.read();
    assert_eq!(reply.status_code(), Some(Status::BAD_REQUEST));
    assert!(reply.text_lossy().contains("unknown verb DANCE"));
    raw.send_bytes(b"SAY / CHAT/1.0\r\nContent-Length: 2\r\n\r\n\xff\xfe");
    let reply = raw.read();
    assert_eq!(reply.status_code(), Some(Status::BAD_REQUEST));
    assert!(reply.text_lossy().contains("not valid UTF-8"));
    let reply = raw.request(Control::Ping);
    assert_eq!(reply.status_code(), Some(Status::OK));
}

/// A client that vanishes mid-frame loses nothing for anyone else.
#[test]
fn client_vanishing_mid_frame_is_harmless() {
    let dir = TempDir::new("midframe");
    let server = Server::start(dir.path());
    let mut witness = Raw::login(server.port, "witness");
    let mut evil = Raw::login(server.port, "evil");
    evil.send_bytes(b"SAY / CHAT/1.0\r\nContent-Length: 100\r\n\r\nonly part");
    drop(evil);
    witness.expect_event(|e| matches!(e, Event::Leave { nick, .. } if nick == "evil"));
    let out = server.stdout.wait_for("Client (evil) disconnected");
    assert!(out.contains("in the middle of a frame"), "{out}");
    still_serving(server.port, &mut witness, "fresh");
}

/// A connection that never logs in is closed when the login deadline passes.
#[test]
fn login_deadline_closes_silent_connections() {
    let dir = TempDir::new("logintimeout");
    let server = Server::start_with(dir.path(), &["--no-replay", "--login-timeout", "1"]);
    let mut idle = Raw::connect(server.port);
    let frames = idle.expect_closed();
    let reply = frames.first().expect("a timeout reply");
    assert_eq!(reply.status_code(), Some(Status::REQUEST_TIMEOUT));
    assert!(reply.text_lossy().contains("login timed out"));
}

/// A silent client is pinged, and answering keeps it connected; silence after the ping drops it.
#[test]
fn idle_clients_are_pinged_then_dropped() {
    let dir = TempDir::new("idle");
    let server = Server::start_with(dir.path(), &["--no-replay", "--idle-timeout", "1"]);
    let mut witness = Raw::login(server.port, "witness");
    let mut sleepy = Raw::login(server.port, "sleepy");
    sleepy.expect_event(|e| matches!(e, Event::Ping));
    sleepy.send(&Control::Pong.into_frame());
    sleepy.expect_event(|e| matches!(e, Event::Ping));
    // Now stay silent: dropped after the second interval.
    witness.send(&Control::Pong.into_frame());
    let out = server
        .stdout
        .wait_for("Client (sleepy) disconnected: ping timeout");
    assert!(out.contains("sleepy leaves the room!"), "{out}");
}
