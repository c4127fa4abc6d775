//! Chatting: broadcast, whispers, the user list, leaving, the server going
//! away, and what the terminal is (and is not) shown.

mod support;

use std::thread;

use chat::command::{ChatRequest, Control};
use chat::event::Event;
use chat::protocol::Status;
use support::{bell_at_50, burst_answer, ping_answer_last, Client, Raw, Server, TempDir};

/// A typed line reaches everyone else as `[nick]: text` after the reader's elapsed time.
#[test]
fn typed_line_is_broadcast_with_sender_and_elapsed_time() {
    let dir = TempDir::new("broadcast");
    let server = Server::start(dir.path());
    let ntu = Client::login(server.port, "ntu");
    let mut ma = Client::login(server.port, "Ma19");
    ma.type_line("Hello World! I'm Ma 19");
    let out = ntu.stdout.wait_for("[Ma19]: Hello World! I'm Ma 19");
    let line = out.lines().find(|l| l.contains("[Ma19]: Hello")).unwrap();
    let elapsed = line.split(' ').next().unwrap();
    let parts: Vec<&str> = elapsed.split(':').collect();
    assert_eq!(parts.len(), 3, "h:mm:ss before the message: {line:?}");
    assert!(parts[1].len() == 2 && parts[2].len() == 2, "{line:?}");
    // The server console shows it in header form with the handling thread.
    let console = server.stdout.wait_for("Hello World! I'm Ma 19");
    assert!(console.contains("ThreadId("), "{console}");
    assert!(
        console.contains("SAY / CHAT/1.0\nFrom: Ma19\n"),
        "{console}"
    );
    assert!(console.contains("Content-Length: 22\n"), "{console}");
    // The server does not send the sender its own message back: the
    // client shows it once, when the server confirms it.
    ma.type_line("/users");
    let out = ma.stdout.wait_for("2 user(s) online");
    assert_eq!(
        out.matches("[Ma19]: Hello World! I'm Ma 19").count(),
        1,
        "{out}"
    );
}

/// A whisper reaches its target alone; a third client never sees it.
#[test]
fn whisper_reaches_only_its_target() {
    let dir = TempDir::new("whisper");
    let server = Server::start(dir.path());
    let mut alice = Client::login(server.port, "alice");
    let bob = Client::login(server.port, "bob");
    let mut carol = Raw::login(server.port, "carol");
    alice.type_line("/w bob the cake is a lie");
    bob.stdout.wait_for("(whisper) [alice]: the cake is a lie");
    // Anything queued to carol before now arrives before this reply.
    let (reply, events) = carol.request_with_events(Control::Ping);
    assert_eq!(reply.status_code(), Some(Status::OK));
    assert!(
        !events.iter().any(|e| matches!(e, Event::Whisper { .. })),
        "carol saw a whisper: {events:?}"
    );
    let log = std::fs::read_to_string(dir.path().join("log.txt")).unwrap();
    assert!(
        log.contains("\twhisper\t-\talice\tbob\tthe cake is a lie\t"),
        "{log}"
    );
}

/// Whispering to a nickname nobody has is a clear error.
#[test]
fn whisper_to_unknown_nickname_is_an_error() {
    let dir = TempDir::new("whisper404");
    let server = Server::start(dir.path());
    let mut alice = Client::login(server.port, "alice");
    alice.type_line("/whisper zed hello?");
    alice.stdout.wait_for("error: nobody called zed is online");
}

/// `/users` lists everyone online and where they are; `/help` lists the commands.
#[test]
fn users_and_help_commands() {
    let dir = TempDir::new("users");
    let server = Server::start(dir.path());
    let _b = Raw::login(server.port, "bob");
    let mut alice = Client::login(server.port, "alice");
    alice.type_line("/users");
    let out = alice.stdout.wait_for("bob in lobby");
    assert!(
        out.contains("2 user(s) online:\n  alice in lobby\n  bob in lobby"),
        "{out}"
    );
    alice.type_line("/help");
    let out = alice.stdout.wait_for("/quit");
    for command in ["/whisper NICK TEXT", "/users", "/help"] {
        assert!(out.contains(command), "{command} missing from help:\n{out}");
    }
    alice.type_line("/dance");
    alice
        .stdout
        .wait_for("error: unknown command /dance; type /help");
}

/// `/quit` and end of input both make the room see the leave notice; the client exits cleanly.
#[test]
fn quit_and_end_of_input_announce_the_leave() {
    let dir = TempDir::new("quit");
    let server = Server::start(dir.path());
    let ntu = Client::login(server.port, "ntu");
    let mut abc = Client::login(server.port, "ABC");
    abc.type_line("/quit");
    ntu.stdout.wait_for("ABC leaves the room!");
    assert!(abc.wait_exit().success());
    let mut xyz = Client::login(server.port, "XYZ");
    xyz.close_stdin();
    ntu.stdout.wait_for("XYZ leaves the room!");
    assert!(xyz.wait_exit().success());
    server.stdout.wait_for("Client (XYZ) disconnected");
}

/// A killed client process or a dropped socket is a leave like any other; the server keeps serving.
#[test]
fn killed_client_is_announced_and_server_keeps_serving() {
    let dir = TempDir::new("killed");
    let server = Server::start(dir.path());
    let mut ntu = Raw::login(server.port, "ntu");
    let mut abc = Client::login(server.port, "ABC");
    abc.kill();
    ntu.expect_event(|e| matches!(e, Event::Leave { nick, members: 1, .. } if nick == "ABC"));
    let raw = Raw::login(server.port, "gone");
    drop(raw);
    ntu.expect_event(|e| matches!(e, Event::Leave { nick, .. } if nick == "gone"));
    let mut late = Raw::login(server.port, "late");
    late.say("still here");
    ntu.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "still here"));
}

/// When the server stops, every client says so and exits.
#[test]
fn clients_report_disconnection_when_the_server_stops() {
    let dir = TempDir::new("serverstop");
    let mut server = Server::start(dir.path());
    let mut a = Client::login(server.port, "a");
    let mut b = Client::login(server.port, "b");
    server.kill();
    a.stdout.wait_for("Disconnected from chat server");
    b.stdout.wait_for("Disconnected from chat server");
    a.wait_exit();
    b.wait_exit();
}

/// With no server listening, the client says so in one line on stderr and exits with status 1.
#[test]
fn client_reports_a_server_that_is_not_running() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }; // closed again: nothing listens there now
    let assert = assert_cmd::Command::new(env!("CARGO_BIN_EXE_client"))
        .args(["--port", &port.to_string()])
        .timeout(std::time::Duration::from_secs(10))
        .assert();
    assert
        .failure()
        .code(1)
        .stderr(predicates::str::contains(format!("127.0.0.1:{port}")))
        .stderr(predicates::str::contains("does not seem to be running"))
        .stderr(predicates::str::contains("panicked").not());
}

/// The server refuses control characters in messages; what it lets through
/// (direction overrides) is shown neutralised; the console never prints them raw.
#[test]
fn control_characters_are_refused_or_neutralised() {
    let dir = TempDir::new("escapes");
    let server = Server::start(dir.path());
    let viewer = Client::login(server.port, "viewer");
    let mut evil = Raw::login(server.port, "evil");
    let reply = evil.request(ChatRequest::Say {
        room: None,
        text: "\u{1b}[2J\u{1b}]0;pwned\u{7}clear\rscreen\u{9b}".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::BAD_REQUEST));
    assert!(
        reply.text_lossy().contains("control characters"),
        "{reply:?}"
    );
    evil.say("invoice_\u{202e}gnp.exe");
    let out = viewer.stdout.wait_for("[evil]: invoice_");
    let line = out.lines().find(|l| l.contains("[evil]")).unwrap();
    assert!(line.ends_with("invoice_\\u{202e}gnp.exe"), "{line:?}");
    assert!(!out.contains("pwned"), "the refused message was delivered");
    let console = server.stdout.wait_for("pwned");
    assert!(
        !console.contains('\u{1b}'),
        "server console printed ESC raw"
    );
}

use predicates::prelude::PredicateBooleanExt;

/// Messages from several senders reach every member in one order, the order of log.txt.
#[test]
fn every_member_sees_one_order_which_is_the_log_order() {
    let dir = TempDir::new("order");
    let server = Server::start_with(dir.path(), &["--no-replay", "--no-rate-limit"]);
    let mut readers = [Raw::login(server.port, "r1"), Raw::login(server.port, "r2")];
    let senders: Vec<_> = (0..3)
        .map(|i| {
            let port = server.port;
            thread::spawn(move || {
                let mut raw = Raw::login(port, &format!("s{i}"));
                for n in 0..50 {
                    raw.say(&format!("s{i}-{n}"));
                }
                raw
            })
        })
        .collect();
    let _senders: Vec<Raw> = senders.into_iter().map(|h| h.join().unwrap()).collect();
    let mut orders = Vec::new();
    for reader in &mut readers {
        let mut texts = Vec::new();
        while texts.len() < 150 {
            if let Event::Message { text, .. } =
                reader.expect_event(|e| matches!(e, Event::Message { .. }))
            {
                texts.push(text);
            }
        }
        orders.push(texts);
    }
    assert_eq!(orders[0], orders[1]);
    let log = std::fs::read_to_string(dir.path().join("log.txt")).unwrap();
    let logged: Vec<String> = log
        .lines()
        .map(|l| l.split('\t').nth(6).unwrap().to_string())
        .collect();
    assert_eq!(orders[0], logged);
}

/// SAYs sent together (a script, a pasted block) are stored and delivered
/// as one step, yet each is answered as if alone: a `200` with its own
/// number, in order, a refusal for the one with a control character in
/// the middle (the rest go through), and the `PING` behind them after
/// them all. A reader gets each message once, in order, as `log.txt` has it.
#[test]
fn says_sent_together_are_each_answered_and_arrive_in_order() {
    let dir = TempDir::new("burst");
    let server = Server::start_with(dir.path(), &["--no-replay", "--no-rate-limit"]);
    let mut reader = Raw::login(server.port, "reader");
    let mut talker = Raw::login(server.port, "talker");
    talker.say_bell_burst();
    let mut said = Vec::new();
    for i in 0..100 {
        if let Some(seq) = burst_answer(&talker.read(), i) {
            said.push((seq, bell_at_50(i)));
        }
    }
    ping_answer_last(&talker.read());
    assert!(said.windows(2).all(|w| w[1].0 == w[0].0 + 1), "{said:?}");
    let got: Vec<(u64, String)> = (0..99)
        .map(
            |_| match reader.expect_event(|e| matches!(e, Event::Message { .. })) {
                Event::Message { seq, text, .. } => (seq, text),
                _ => unreachable!(),
            },
        )
        .collect();
    assert_eq!(got, said);
    let log = std::fs::read_to_string(dir.path().join("log.txt")).unwrap();
    let logged: Vec<String> = log
        .lines()
        .map(|l| l.split('\t').nth(6).unwrap().to_string())
        .collect();
    let texts: Vec<String> = said.into_iter().map(|(_, text)| text).collect();
    assert_eq!(logged, texts);
}

/// A client that stops reading is dropped when its queue overflows; the others keep chatting.
#[test]
fn stalled_reader_is_dropped_and_others_keep_chatting() {
    let dir = TempDir::new("stalled");
    let server = Server::start_with(
        dir.path(),
        &[
            "--no-replay",
            "--no-rate-limit",
            // No history: the newcomer below must not start with a full queue.
            "--history",
            "0",
            "--queue-frames",
            "64",
            "--queue-bytes",
            "65536",
        ],
    );
    let stalled = Raw::login(server.port, "stalled");
    let mut talker = Raw::login(server.port, "talker");
    let text = "x".repeat(4000);
    // Enough to fill the stalled client's socket buffers and then its queue;
    // the talker gets no copy of its own messages, so only "stalled" falls behind.
    for _ in 0..2_000 {
        talker.say(&text);
        if server.stdout.text().contains("send queue exceeded") {
            break;
        }
    }
    let out = server.stdout.wait_for("send queue exceeded");
    assert!(
        out.contains("Client (stalled) disconnected: send queue exceeded"),
        "{out}"
    );
    server.stdout.wait_for("stalled leaves the room!");
    let mut listener = Raw::login(server.port, "listener");
    talker.say("after");
    listener.expect_event(
        |e| matches!(e, Event::Message { text, history: false, .. } if text == "after"),
    );
    drop(stalled);
}

/// A client that reads, but slower than a talker floods the room, holds
/// the talker back (back-pressure) instead of being cut off: it gets every
/// message, in order, though all of them together are many times its send
/// queue and more than the sockets between them hold.
#[test]
fn a_slow_reader_slows_the_talker_down_instead_of_being_cut_off() {
    let dir = TempDir::new("slow-reader");
    let server = Server::start_with(
        dir.path(),
        &[
            "--no-replay",
            "--no-rate-limit",
            "--history",
            "0",
            "--queue-bytes",
            "262144",
        ],
    );
    let mut slow = Raw::login(server.port, "slow");
    let mut talker = Raw::login(server.port, "talker");
    // 8 MB: 32 times the queue, more than the sockets take.
    const MESSAGES: usize = 2000;
    let pad = "s".repeat(4000);
    let reader = thread::spawn(move || {
        for n in 0..MESSAGES {
            let event = slow.expect_event(|e| matches!(e, Event::Message { .. }));
            let Event::Message { text, .. } = event else {
                unreachable!()
            };
            assert!(text.starts_with(&format!("{n} ")), "message {n} lost");
            // Slower than the talker: a reader on a slow link.
            thread::sleep(std::time::Duration::from_millis(2));
        }
        slow
    });
    for n in 0..MESSAGES {
        talker.say(&format!("{n} {pad}"));
    }
    let mut slow = reader.join().expect("the slow reader got every message");
    talker.say("done");
    slow.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "done"));
    assert!(
        !server.stdout.text().contains("send queue exceeded"),
        "nobody was cut off"
    );
}

/// A client that stops reading for a while (so its socket fills and a
/// writer thread takes over) gets everything, in order, once it reads
/// again; and the writer thread ends once it has caught up.
#[test]
fn a_reader_that_pauses_gets_everything_in_order_when_it_reads_again() {
    let dir = TempDir::new("paused");
    let server = Server::start_with(
        dir.path(),
        &[
            "--no-replay",
            "--no-rate-limit",
            "--queue-bytes",
            "67108864",
        ],
    );
    let mut paused = Raw::login(server.port, "paused");
    let mut talker = Raw::login(server.port, "talker");
    let threads_before = server.proc_status("Threads");
    // About 12 MB: more than the socket buffers of a client that does not
    // read hold (about 4 MB here), less than the send queue allowed above.
    let pad = "y".repeat(4000);
    for n in 0..3000 {
        talker.say(&format!("{n} {pad}"));
    }
    assert!(
        server.proc_status("Threads") > threads_before,
        "the backlog is written by a writer thread"
    );
    for n in 0..3000 {
        let event = paused.expect_event(|e| matches!(e, Event::Message { .. }));
        let Event::Message { text, from, .. } = event else {
            unreachable!()
        };
        assert_eq!(from, "talker");
        assert_eq!(
            text,
            format!("{n} {pad}"),
            "message {n} out of order or lost"
        );
    }
    talker.say("after the pause");
    paused.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "after the pause"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.proc_status("Threads") > threads_before {
        assert!(
            std::time::Instant::now() < deadline,
            "a writer thread outlived the backlog: {} threads, {threads_before} before",
            server.proc_status("Threads")
        );
        thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A host name that does not resolve is a one-line error naming it, exit status 1.
#[test]
fn client_reports_a_host_that_does_not_resolve() {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_client"))
        .args(["--host", "no-such-host.invalid", "--port", "7777"])
        .timeout(std::time::Duration::from_secs(20))
        .assert()
        .failure()
        .code(1)
        .stderr(predicates::str::contains(
            "cannot connect to no-such-host.invalid:7777",
        ))
        .stderr(predicates::str::contains("panicked").not());
}
