//! The terminal client in plain mode (piped standard streams), as a user
//! drives it: the seeds' bare commands, room commands that name a room,
//! long messages, servers that are not chat servers, the prompts, and
//! what you see of your own messages.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::thread;
use std::time::Duration;

use chat::event::Event;
use support::{Client, Process, Raw, Server, TempDir};

const FAST_HASHES: &[&str] = &["--no-replay", "--pbkdf2-iterations", "1000"];

/// A client whose home directory (for `~` in paths) is `home`.
fn client_with_home(port: u16, nick: &str, home: &std::path::Path) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_client"));
    command
        .args(["--port", &port.to_string(), "--nick", nick])
        .env("HOME", home);
    let client = Process::spawn(command);
    client
        .stdout
        .wait_for(&format!("Welcome {nick} to the room!"));
    client
}

/// Waits for `bob` to receive a message from `from` and returns its text.
fn next_message(bob: &mut Raw) -> String {
    match bob.expect_event(|e| matches!(e, Event::Message { .. })) {
        Event::Message { text, .. } => text,
        _ => unreachable!(),
    }
}

/// The seeds' commands typed without a slash are commands, never chat: a
/// password typed that way is never said, and a malformed one is refused
/// with its usage instead of being sent.
#[test]
fn bare_seed_commands_are_commands_not_chat() {
    let dir = TempDir::new("client-bare");
    let server = Server::start_with(dir.path(), FAST_HASHES);
    let home = TempDir::new("client-bare-home");
    std::fs::write(home.path().join("speech.txt"), "four score").unwrap();
    let mut bob = Raw::login(server.port, "bob");
    let mut tom = client_with_home(server.port, "Tom", home.path());
    tom.type_line("register Tom secret-pw1");
    tom.stdout
        .wait_for("Tom is registered: from now on, logging in as Tom asks for this password");
    tom.type_line("register Tom");
    tom.stdout.wait_for("error: usage: register NICK PASSWORD");
    tom.type_line("REGISTER bob other-pw2");
    tom.stdout
        .wait_for("you are logged in as Tom, and register registers your own nickname");
    tom.type_line("whoami");
    tom.stdout.wait_for("You are Tom, in lobby.");
    tom.type_line("list-user");
    tom.stdout.wait_for("2 user(s): 1 registered, 2 online");
    tom.type_line("help");
    tom.stdout.wait_for("/whisper NICK TEXT");
    tom.type_line("set-profile job student");
    tom.type_line("view-profile Tom");
    tom.stdout.wait_for("student");
    tom.type_line("send_file ~/speech.txt");
    tom.stdout
        .wait_for("Successfully upload file speech.txt to server, file id:");
    tom.type_line("get_file 999");
    tom.stdout.wait_for("error: ");
    tom.type_line("help me please");
    assert_eq!(next_message(&mut bob), "help me please");
    tom.type_line("Exit");
    assert!(tom.wait_exit().success());
    // bob saw the one message meant as chat, and nothing else was said.
    let log = std::fs::read_to_string(dir.path().join("log.txt")).unwrap();
    assert!(!log.contains("secret-pw1"), "{log}");
    assert!(!log.contains("register"), "{log}");
    assert!(!log.contains("whoami"), "{log}");
}

/// `login NAME PW` in a session logs out and logs in as NAME (seed 004).
#[test]
fn login_in_a_session_switches_to_that_account() {
    let dir = TempDir::new("client-relogin");
    let server = Server::start_with(dir.path(), FAST_HASHES);
    let mut owner = Client::login(server.port, "Tom");
    owner.type_line("/register secret-pw1");
    owner.stdout.wait_for("Tom is registered");
    owner.type_line("/quit");
    owner.wait_exit();
    let mut bob = Raw::login(server.port, "bob");
    let mut client = Client::login(server.port, "guest");
    client.type_line("login Tom secret-pw1");
    client
        .stdout
        .wait_for("Welcome Tom to the room! There are 2 member(s) online!");
    bob.expect_event(|e| matches!(e, Event::Leave { nick, .. } if nick == "guest"));
    client.type_line("/login Tom");
    client.stdout.wait_for("error: usage: login NICK PASSWORD");
    client.type_line("/whoami");
    client.stdout.wait_for("You are Tom, in lobby.");
}

/// Room commands name the room they act on, from anywhere (seed 004:
/// leave the room, then close it); extra words are a usage error.
#[test]
fn room_commands_name_their_room_and_refuse_extra_words() {
    let dir = TempDir::new("client-rooms");
    let server = Server::start(dir.path());
    let mut tom = Client::login(server.port, "Tom");
    let _bob = Raw::login(server.port, "bob");
    tom.type_line("/create second");
    tom.stdout.wait_for("Welcome Tom to the room! There are 1");
    tom.type_line("/leave");
    tom.stdout.wait_for("Welcome Tom to the room! There are 2");
    tom.type_line("/ban bob second");
    tom.stdout.wait_for("error: usage: /ban NICK [in ROOM]");
    tom.type_line("/ban bob in second");
    tom.stdout.wait_for("bob added to the blacklist of second");
    tom.type_line("get-blacklist second");
    tom.stdout.wait_for("blacklist of second (1): bob");
    tom.type_line("/close second now");
    tom.stdout.wait_for("error: usage: /close [ROOM]");
    tom.type_line("close-chatroom second");
    tom.stdout.wait_for("closed second");
    tom.type_line("/ls");
    tom.stdout.wait_for("1 room(s):");
}

/// A message longer than the server's Max-Body is sent as several, split
/// between words, and the connection stays up.
#[test]
fn a_long_message_is_split_not_cut_or_fatal() {
    let dir = TempDir::new("client-long");
    let server = Server::start(dir.path());
    let mut bob = Raw::login(server.port, "bob");
    let mut ntu = Client::login(server.port, "ntu");
    let words: Vec<String> = (0..1500).map(|n| format!("w{n:04}")).collect();
    let long = words.join(" "); // 8,999 bytes
    ntu.type_line(&long);
    ntu.stdout.wait_for("sent as 3 messages");
    let pieces: Vec<String> = (0..3).map(|_| next_message(&mut bob)).collect();
    assert!(pieces.iter().all(|p| p.len() <= 4096), "{pieces:?}");
    assert_eq!(pieces.join(" "), long);
    ntu.type_line("still here");
    assert_eq!(next_message(&mut bob), "still here");
    let huge = "x".repeat(4096 * 17);
    ntu.type_line(&huge);
    ntu.stdout
        .wait_for("nothing was sent (share it with /send_file)");
    ntu.type_line("and here");
    assert_eq!(next_message(&mut bob), "and here");
}

/// A server that accepts the connection and never answers gets a clear
/// message and an exit, not a hang.
#[test]
fn a_silent_server_times_out_with_a_clear_message() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        // Holds it open, says nothing, until the test is over.
        let _ = wait.recv_timeout(Duration::from_secs(20));
        drop(socket);
    });
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_client"))
        .args(["--port", &port.to_string(), "--nick", "ntu"])
        .args(["--reply-timeout", "0.5"])
        .timeout(Duration::from_secs(10))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "accepted the connection but did not answer the login within 0.5 s",
        ));
    done.send(()).unwrap();
    holder.join().unwrap();
}

/// A port that answers in HTTP is not mistaken for a broken chat server.
#[test]
fn a_web_server_is_named_as_such() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let web = thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 512];
        let _ = socket.read(&mut buf);
        let _ = socket.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    });
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_client"))
        .args(["--port", &port.to_string(), "--nick", "ntu"])
        .timeout(Duration::from_secs(10))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "this port does not speak the chat protocol",
        ));
    web.join().unwrap();
}

/// After /logout, `exit` at the nickname prompt ends the client instead of
/// logging in a user called exit.
#[test]
fn exit_at_the_nickname_prompt_after_logout_ends_the_client() {
    let dir = TempDir::new("client-logout-exit");
    let server = Server::start(dir.path());
    let mut ntu = Client::login(server.port, "ntu");
    ntu.type_line("/logout");
    ntu.stdout.wait_for_n("Input your nickname: ", 1);
    ntu.type_line("exit");
    assert!(ntu.wait_exit().success());
    server.stdout.wait_for("ntu leaves the room!");
    assert!(
        !server.stdout.text().contains("Welcome exit"),
        "{}",
        server.stdout.text()
    );
    // /quit and end of input at the prompt end it too.
    let mut again = Client::start(server.port, &[]);
    again.stdout.wait_for("Input your nickname: ");
    again.type_line("/quit");
    assert!(again.wait_exit().success());
    let mut last = Client::start(server.port, &[]);
    last.stdout.wait_for("Input your nickname: ");
    last.close_stdin();
    assert!(last.wait_exit().success());
}

/// `/quit` at the Password: prompt leaves; it is not tried as a password.
#[test]
fn quit_at_the_password_prompt_is_not_a_password_attempt() {
    let dir = TempDir::new("client-password-quit");
    let server = Server::start_with(dir.path(), FAST_HASHES);
    let mut owner = Client::login(server.port, "Tom");
    owner.type_line("/register secret-pw1");
    owner.stdout.wait_for("Tom is registered");
    owner.type_line("/quit");
    owner.wait_exit();
    let mut client = Client::start(server.port, &["--nick", "Tom"]);
    client.stdout.wait_for("Password: ");
    client.type_line("/quit");
    assert!(client.wait_exit().success());
    assert!(
        !server.stdout.text().contains("wrong password"),
        "{}",
        server.stdout.text()
    );
}

/// Your own messages come back with a time once the server has them, and
/// a whisper you send is confirmed.
#[test]
fn own_messages_and_whispers_are_shown_back_with_a_time() {
    let dir = TempDir::new("client-echo");
    let server = Server::start(dir.path());
    let mut bob = Raw::login(server.port, "bob");
    let mut ntu = Client::login(server.port, "ntu");
    ntu.type_line("hello all");
    let out = ntu.stdout.wait_for("[ntu]: hello all");
    let line = out
        .lines()
        .find(|l| l.ends_with("[ntu]: hello all"))
        .unwrap();
    let stamp = line.split(' ').next().unwrap();
    assert_eq!(stamp.split(':').count(), 3, "h:mm:ss first: {line:?}");
    ntu.type_line("/w bob psst");
    let out = ntu.stdout.wait_for("(whisper to bob) [ntu]: psst");
    assert!(out.contains(" (whisper to bob) [ntu]: psst"), "{out}");
    bob.expect_event(|e| matches!(e, Event::Whisper { text, .. } if text == "psst"));
    ntu.type_line("/w nobody psst");
    ntu.stdout.wait_for("error: ");
    assert!(!ntu.stdout.text().contains("(whisper to nobody)"));
}

/// `/history` brings the messages before the oldest one shown, page by
/// page, to the beginning of the room.
#[test]
fn history_pages_back_to_the_beginning_of_the_room() {
    let dir = TempDir::new("client-history");
    let server = Server::start_with(dir.path(), &["--no-replay", "--no-rate-limit"]);
    let mut bob = Raw::login(server.port, "bob");
    for n in 0..30 {
        bob.say(&format!("message {n:02}"));
    }
    let mut ntu = Client::login(server.port, "ntu");
    let out = ntu.stdout.text();
    assert!(
        out.contains("[bob]: message 29") && !out.contains("message 09"),
        "{out}"
    );
    ntu.type_line("/history 5");
    let out = ntu.stdout.wait_for("[bob]: message 09");
    assert!(
        out.contains("[bob]: message 05") && !out.contains("message 04"),
        "{out}"
    );
    ntu.type_line("/history");
    let out = ntu.stdout.wait_for("(that is the beginning of lobby)");
    assert!(out.contains("[bob]: message 00"), "{out}");
    ntu.type_line("/history 0");
    ntu.stdout
        .wait_for("error: usage: /history [N], N from 1 to 500");
}

/// `/search` finds messages newest first and pages on with `/search`
/// alone, saying when there are no more; `/unread` is for registered users.
#[test]
fn search_pages_on_and_unread_answers() {
    let dir = TempDir::new("client-search");
    let server = Server::start_with(dir.path(), &["--no-replay", "--no-rate-limit"]);
    let mut bob = Raw::login(server.port, "bob");
    for n in 0..60 {
        bob.say(&format!("needle {n:02}"));
    }
    let mut ntu = Client::login(server.port, "ntu");
    ntu.type_line("/search NEEDLE");
    let out = ntu.stdout.wait_for("50 message(s) with \"NEEDLE\"");
    ntu.stdout.wait_for("needle 10");
    assert!(!out.contains("needle 09"), "{out}");
    ntu.type_line("/search");
    ntu.stdout.wait_for("10 message(s) with \"NEEDLE\"");
    ntu.stdout.wait_for("no more pages");
    ntu.type_line("/search");
    ntu.stdout
        .wait_for("no more pages of the search for \"NEEDLE\"");
    ntu.type_line("/unread");
    ntu.stdout.wait_for("registered nicknames only");
}

/// `--clock wall` stamps messages with the local time and names the zone.
#[test]
fn the_wall_clock_is_local_and_labelled() {
    let dir = TempDir::new("client-wall");
    let server = Server::start(dir.path());
    let mut command = Command::new(env!("CARGO_BIN_EXE_client"));
    command
        .args(["--port", &server.port.to_string(), "--nick", "ntu"])
        .args(["--clock", "wall"])
        .env("TZ", "CET-1CEST,M3.5.0,M10.5.0/3");
    let ntu = Process::spawn(command);
    let out = ntu.stdout.wait_for("(times are the wall clock, CE");
    assert!(
        out.contains("wall clock, CET)") || out.contains("wall clock, CEST)"),
        "{out}"
    );
    let mut bob = Raw::login(server.port, "bob");
    bob.say("what time is it");
    let out = ntu.stdout.wait_for("[bob]: what time is it");
    let line = out
        .lines()
        .find(|l| l.ends_with("[bob]: what time is it"))
        .unwrap();
    let stamp = line.split(' ').next().unwrap();
    assert_eq!(stamp.len(), 8, "hh:mm:ss: {line:?}");
}
