//! Accounts: registering a nickname, the password it then needs, changing
//! it, logging out, profiles, the user list, and `accounts.txt` on disk.
//!
//! Every server here hashes with `--pbkdf2-iterations 1000`, so that a
//! debug build registers in milliseconds rather than seconds.

mod support;

use chat::command::{AccountRequest, ChatRequest, Control};
use chat::event::Event;
use chat::protocol::{header, Frame, Status};
use support::{Client, Raw, Server, TempDir};

const FAST_HASHES: &[&str] = &["--no-replay", "--pbkdf2-iterations", "1000"];

fn start(dir: &TempDir) -> Server {
    Server::start_with(dir.path(), FAST_HASHES)
}

fn login_request(nick: &str, password: Option<&str>) -> AccountRequest {
    AccountRequest::Login {
        many_rooms: false,
        nick: nick.into(),
        password: password.map(str::to_string),
    }
}

/// Logs in as a registered `nick` with `password`, past the welcome.
fn login_registered(port: u16, nick: &str, password: &str) -> Raw {
    let mut raw = Raw::connect(port);
    let reply = raw.request(login_request(nick, Some(password)));
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    assert_eq!(reply.header(header::REGISTERED), Some("yes"));
    raw.expect_event(|e| matches!(e, Event::Join { nick: n, .. } if n == nick));
    raw
}

fn set_profile(raw: &mut Raw, attr: &str, value: &str) -> Frame {
    raw.request(AccountRequest::SetProfile {
        attr: attr.into(),
        value: value.into(),
    })
}

fn assert_reply(reply: &Frame, status: Status, text: &str) {
    assert_eq!(reply.status_code(), Some(status), "{reply:?}");
    assert!(reply.text_lossy().contains(text), "{text:?} in {reply:?}");
}

/// `/register` in the client; then logging in as that nickname asks
/// `Password: `, refuses a wrong one with a reason, asks again, and takes the right one.
#[test]
fn registered_nickname_asks_for_its_password_and_takes_the_right_one() {
    let dir = TempDir::new("acct-prompt");
    let server = start(&dir);
    let mut first = Client::login(server.port, "ntu");
    first.type_line("/register correct-horse");
    first
        .stdout
        .wait_for("ntu is registered: from now on, logging in as ntu asks for this password");
    first.type_line("/quit");
    first.wait_exit();

    let mut client = Client::start(server.port, &[]);
    client.stdout.wait_for("Input your nickname: ");
    client.type_line("ntu");
    let out = client.stdout.wait_for("Password: ");
    assert!(out.contains("ntu is a registered nickname"), "{out}");
    client.type_line("wrong-horse");
    let out = client.stdout.wait_for_n("Password: ", 2);
    assert!(
        out.contains("Login refused: wrong password for ntu; 2 attempt(s) left"),
        "{out}"
    );
    client.type_line("correct-horse");
    let out = client
        .stdout
        .wait_for("Welcome ntu to the room! There are 1 member(s) online!");
    assert!(out.contains("Successfully login."), "{out}");
}

/// The third wrong password gets a 401 with `Connection: close`, and the server hangs up.
#[test]
fn three_wrong_passwords_close_the_connection() {
    let dir = TempDir::new("acct-three");
    let server = start(&dir);
    Raw::register(server.port, "ntu", "correct horse").request(Control::Quit);
    let mut raw = Raw::connect(server.port);
    for left in [2, 1] {
        let reply = raw.request(login_request("ntu", Some("guess guess")));
        assert_reply(
            &reply,
            Status::UNAUTHORIZED,
            &format!("wrong password for ntu; {left} attempt(s) left"),
        );
        assert_eq!(reply.header(header::CONNECTION), None);
    }
    let reply = raw.request(login_request("ntu", Some("correct horse?")));
    assert_reply(&reply, Status::UNAUTHORIZED, "closing the connection");
    assert_eq!(reply.header(header::CONNECTION), Some("close"));
    assert!(
        raw.expect_closed().is_empty(),
        "nothing after the last reply"
    );
    server.stdout.wait_for("disconnected: 3 wrong passwords");
}

/// Mistyping the old password in `/passwd` costs no login attempt: after
/// a `/logout` on the same connection, the login count starts afresh.
#[test]
fn wrong_passwd_attempts_do_not_count_against_the_next_login() {
    let dir = TempDir::new("acct-passwd-count");
    let server = start(&dir);
    let mut raw = Raw::register(server.port, "ntu", "correct horse");
    for left in [2, 1] {
        let reply = raw.request(AccountRequest::Passwd {
            old: "not it".into(),
            new: "battery staple".into(),
        });
        assert_reply(
            &reply,
            Status::UNAUTHORIZED,
            &format!("wrong current password; {left} attempt(s) left"),
        );
    }
    assert_eq!(
        raw.request(AccountRequest::Logout).status_code(),
        Some(Status::RESET_CONTENT)
    );
    let reply = raw.request(login_request("ntu", Some("guess guess")));
    assert_reply(
        &reply,
        Status::UNAUTHORIZED,
        "wrong password for ntu; 2 attempt(s) left",
    );
}

/// The terminal client gives up when the server closes after three wrong passwords.
#[test]
fn client_exits_with_the_reason_after_three_wrong_passwords() {
    let dir = TempDir::new("acct-three-client");
    let server = start(&dir);
    Raw::register(server.port, "ntu", "correct horse").request(Control::Quit);
    let mut client = Client::start(server.port, &["--nick", "ntu"]);
    for n in 1..=3 {
        client.stdout.wait_for_n("Password: ", n);
        client.type_line("not the password");
    }
    assert!(!client.wait_exit().success());
    client
        .stderr
        .wait_for("wrong password for ntu; 3 wrong passwords, closing the connection");
}

/// A guest cannot take a registered nickname, in any case, online or not;
/// the connection stays usable for another nickname.
#[test]
fn guest_is_refused_a_registered_nickname() {
    let dir = TempDir::new("acct-guest");
    let server = start(&dir);
    let mut owner = Raw::register(server.port, "ntu", "correct horse");
    let mut guest = Raw::connect(server.port);
    for nick in ["ntu", "NTU"] {
        let reply = guest.request(login_request(nick, None));
        assert_reply(&reply, Status::UNAUTHORIZED, "ntu is a registered nickname");
    }
    owner.request(Control::Quit);
    let reply = guest.request(login_request("Ntu", None));
    assert_reply(&reply, Status::UNAUTHORIZED, "registered nickname");
    let reply = guest.request(login_request("other", None));
    assert_eq!(reply.status_code(), Some(Status::OK));
    assert_eq!(reply.header(header::REGISTERED), Some("no"));
}

/// `/nick` cannot take a registered nickname either; its owner may change
/// its case, and may move to a free one.
#[test]
fn renaming_into_a_registered_nickname_is_refused() {
    let dir = TempDir::new("acct-rename");
    let server = start(&dir);
    Raw::register(server.port, "ntu", "correct horse").request(Control::Quit);
    let mut bob = Raw::login(server.port, "bob");
    let reply = bob.request(AccountRequest::Nick { nick: "NTU".into() });
    assert_reply(&reply, Status::FORBIDDEN, "NTU is a registered nickname");
    let mut ntu = login_registered(server.port, "ntu", "correct horse");
    let reply = ntu.request(AccountRequest::Nick { nick: "Ntu".into() });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    let reply = ntu.request(AccountRequest::Nick {
        nick: "other".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
}

/// A password sent for a nickname nobody registered is not needed: the login is a guest's.
#[test]
fn password_for_an_unregistered_nickname_logs_in_a_guest() {
    let dir = TempDir::new("acct-unreg");
    let server = start(&dir);
    let mut raw = Raw::connect(server.port);
    let reply = raw.request(login_request("ntu", Some("whatever password")));
    assert_eq!(reply.status_code(), Some(Status::OK));
    assert_eq!(reply.header(header::REGISTERED), Some("no"));
}

/// Registration enforces the password rules and happens once per nickname.
#[test]
fn register_checks_the_password_and_refuses_a_second_time() {
    let dir = TempDir::new("acct-rules");
    let server = start(&dir);
    let mut raw = Raw::login(server.port, "ntu");
    for (password, reason) in [("short", "at least 8"), (&*"p".repeat(129), "at most 128")] {
        let reply = raw.request(AccountRequest::Register {
            password: password.into(),
        });
        assert_reply(&reply, Status::BAD_REQUEST, reason);
    }
    let reply = raw.request(AccountRequest::Register {
        password: "correct horse".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK));
    let reply = raw.request(AccountRequest::Register {
        password: "another one".into(),
    });
    assert_reply(&reply, Status::CONFLICT, "registered already");
}

/// `/passwd OLD NEW` in the client: afterwards only the new password works.
#[test]
fn passwd_changes_the_password() {
    let dir = TempDir::new("acct-passwd");
    let server = start(&dir);
    let mut raw = Raw::register(server.port, "ntu", "old-password");
    let reply = raw.request(AccountRequest::Passwd {
        old: "not-the-old-one".into(),
        new: "new-password".into(),
    });
    assert_reply(&reply, Status::UNAUTHORIZED, "wrong current password");
    let reply = raw.request(AccountRequest::Passwd {
        old: "old-password".into(),
        new: "short".into(),
    });
    assert_reply(&reply, Status::BAD_REQUEST, "new password is 5 characters");
    raw.request(Control::Quit);

    let file = dir.path().join("ntu.password");
    std::fs::write(&file, "old-password\n").unwrap();
    let mut client = Client::start(
        server.port,
        &["--nick", "ntu", "--password-file", file.to_str().unwrap()],
    );
    client.stdout.wait_for("Welcome ntu to the room!");
    client.type_line("/passwd old-password new-password");
    client.stdout.wait_for("password changed");
    client.type_line("/quit");
    client.wait_exit();

    let mut raw = Raw::connect(server.port);
    let reply = raw.request(login_request("ntu", Some("old-password")));
    assert_eq!(reply.status_code(), Some(Status::UNAUTHORIZED));
    login_registered(server.port, "ntu", "new-password");
}

/// `/logout` leaves the room (which hears it), goes back to the nickname
/// prompt on the same connection, and a new nickname can log in.
#[test]
fn logout_returns_to_the_nickname_prompt() {
    let dir = TempDir::new("acct-logout");
    let server = start(&dir);
    let mut witness = Raw::login(server.port, "bob");
    let mut client = Client::login(server.port, "ntu");
    client.type_line("/logout");
    witness.expect_event(|e| matches!(e, Event::Leave { nick, .. } if nick == "ntu"));
    let out = client.stdout.wait_for("Input your nickname: ");
    assert!(out.contains("ntu logged out"), "{out}");
    client.type_line("abc");
    client
        .stdout
        .wait_for("Welcome abc to the room! There are 2 member(s) online!");
    witness.expect_event(|e| matches!(e, Event::Join { nick, .. } if nick == "abc"));
    let console = server.stdout.wait_for("Client (ntu) logged out");
    assert_eq!(
        console.matches("Connected with").count(),
        2,
        "one connection each for bob and the client: {console}"
    );
    assert!(!console.contains("Client (ntu) disconnected"), "{console}");
}

/// After `LOGOUT` (answered `205`) the connection is back to its state
/// before login: chatting is refused until the next `LOGIN`.
#[test]
fn logout_on_the_wire_resets_the_connection() {
    let dir = TempDir::new("acct-logout-raw");
    let server = start(&dir);
    let mut raw = Raw::register(server.port, "ntu", "correct horse");
    let reply = raw.request(AccountRequest::Logout);
    assert_reply(&reply, Status::RESET_CONTENT, "ntu logged out");
    let reply = raw.request(ChatRequest::Say {
        room: None,
        text: "still here?".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::FORBIDDEN));
    let reply = raw.request(login_request("ntu", None));
    assert_eq!(reply.status_code(), Some(Status::UNAUTHORIZED));
    let reply = raw.request(login_request("ntu", Some("correct horse")));
    assert_eq!(reply.status_code(), Some(Status::OK));
}

/// A registered user sets profile attributes; another user sees them.
/// Guests, unknown attributes and unprintable or overlong values are refused.
#[test]
fn profiles_are_set_by_their_owner_and_viewed_by_others() {
    let dir = TempDir::new("acct-profile");
    let server = start(&dir);
    let mut ntu = Raw::register(server.port, "ntu", "correct horse");
    for (attr, value) in [
        ("age", "19"),
        ("job", "student"),
        ("self_description", "I like Rust = fun"),
    ] {
        let reply = set_profile(&mut ntu, attr, value);
        assert_reply(&reply, Status::OK, &format!("{attr} set"));
    }
    for (attr, value, status, reason) in [
        (
            "shoe_size",
            "42",
            Status::BAD_REQUEST,
            "unknown profile attribute",
        ),
        (
            "job",
            "\u{1b}[2Jhacker",
            Status::BAD_REQUEST,
            "control characters",
        ),
        (
            "job",
            "line\nbreak",
            Status::BAD_REQUEST,
            "control characters",
        ),
        (
            "self_description",
            &"x".repeat(201),
            Status::BAD_REQUEST,
            "at most 200",
        ),
    ] {
        assert_reply(&set_profile(&mut ntu, attr, value), status, reason);
    }

    let mut bob = Raw::login(server.port, "bob");
    let reply = set_profile(&mut bob, "job", "spy");
    assert_reply(&reply, Status::FORBIDDEN, "register first");
    let reply = bob.request(AccountRequest::ViewProfile { nick: "NTU".into() });
    assert_reply(&reply, Status::OK, "ntu (registered, online)");
    let text = reply.text_lossy();
    for line in [
        "age: 19",
        "job: student",
        "self_description: I like Rust = fun",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    let reply = ntu.request(AccountRequest::ViewProfile { nick: "bob".into() });
    assert_reply(&reply, Status::OK, "bob (guest, online)");
    let reply = ntu.request(AccountRequest::ViewProfile {
        nick: "nobody".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::NOT_FOUND));

    // The same through the terminal client.
    let mut carol = Client::login(server.port, "carol");
    carol.type_line("/view-profile ntu");
    carol.stdout.wait_for("self_description: I like Rust = fun");
    carol.type_line("/set-profile job spy");
    carol.stdout.wait_for("error: register first");
}

/// `/whoami` says whether you are registered, and shows your profile.
#[test]
fn whoami_tells_guests_from_registered_users() {
    let dir = TempDir::new("acct-whoami");
    let server = start(&dir);
    let mut raw = Raw::login(server.port, "ntu");
    let reply = raw.request(AccountRequest::Whoami);
    assert_reply(&reply, Status::OK, "You are ntu, in lobby, a guest");
    assert_eq!(reply.header(header::REGISTERED), Some("no"));
    raw.request(AccountRequest::Register {
        password: "correct horse".into(),
    });
    set_profile(&mut raw, "birthday", "2000-01-01");
    let reply = raw.request(AccountRequest::Whoami);
    assert_reply(&reply, Status::OK, "ntu (registered, online)");
    assert!(reply.text_lossy().contains("birthday: 2000-01-01"));
    assert_eq!(reply.header(header::REGISTERED), Some("yes"));
}

/// `/list-user` lists every registered user and every guest online, each
/// marked online or offline.
#[test]
fn list_user_marks_registered_and_guests_online_or_offline() {
    let dir = TempDir::new("acct-list");
    let server = start(&dir);
    Raw::register(server.port, "alice", "correct horse").request(Control::Quit);
    let _ntu = Raw::register(server.port, "ntu", "correct horse");
    let mut bob = Raw::login(server.port, "bob");
    let reply = bob.request(AccountRequest::ListUsers);
    assert_reply(&reply, Status::OK, "3 user(s): 2 registered, 2 online");
    let text = reply.text_lossy();
    let row = |nick: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(nick))
            .unwrap_or_else(|| panic!("no row for {nick} in {text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(row("alice"), ["alice", "registered", "offline"]);
    assert_eq!(row("bob"), ["bob", "guest", "online"]);
    assert_eq!(row("ntu"), ["ntu", "registered", "online"]);

    let mut client = Client::login(server.port, "carol");
    client.type_line("/list-user");
    client.stdout.wait_for("4 user(s): 2 registered, 3 online");
}

/// Accounts and profiles are still there after the server restarts.
#[test]
fn accounts_survive_a_restart() {
    let dir = TempDir::new("acct-restart");
    {
        let mut server = start(&dir);
        let mut ntu = Raw::register(server.port, "ntu", "correct horse");
        set_profile(&mut ntu, "job", "student");
        server.kill();
    }
    let server = start(&dir);
    let mut raw = Raw::connect(server.port);
    let reply = raw.request(login_request("ntu", None));
    assert_eq!(reply.status_code(), Some(Status::UNAUTHORIZED));
    let mut ntu = login_registered(server.port, "ntu", "correct horse");
    let reply = ntu.request(AccountRequest::Whoami);
    assert_reply(&reply, Status::OK, "job: student");
}

/// `accounts.txt` holds hashes, never the passwords, and only its owner may read it.
#[test]
fn accounts_file_holds_no_password_and_is_owner_only() {
    let dir = TempDir::new("acct-file");
    let server = start(&dir);
    let mut ntu = Raw::register(server.port, "ntu", "correct horse battery");
    ntu.request(AccountRequest::Passwd {
        old: "correct horse battery".into(),
        new: "staple staple".into(),
    });
    set_profile(&mut ntu, "job", "student");
    let path = dir.path().join("accounts.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("chat-accounts 1\n"), "{text}");
    assert!(text.contains("ntu\tpbkdf2-sha256$1000$"), "{text}");
    assert!(text.contains("\tjob=student\n"), "{text}");
    for secret in ["correct horse battery", "staple staple", "horse", "staple"] {
        assert!(!text.contains(secret), "{secret:?} in {text}");
    }
    assert!(!dir.path().join("accounts.txt.tmp").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
}

/// A damaged `accounts.txt` stops the server at start-up, naming the file and the line.
#[test]
fn corrupt_accounts_file_is_a_clear_start_up_error() {
    let dir = TempDir::new("acct-corrupt");
    let path = dir.path().join("accounts.txt");
    std::fs::write(&path, "chat-accounts 1\nntu\tnot-a-hash\n").unwrap();
    let mut server = Server::spawn(dir.path(), FAST_HASHES);
    assert!(!server.wait_exit().success());
    // The collector thread may still be reading what the process wrote last.
    let err = server.stderr.wait_for("line 2");
    assert!(err.contains("accounts.txt"), "{err}");
    assert!(!server.stdout.text().contains("Socket now listening"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "chat-accounts 1\nntu\tnot-a-hash\n",
        "the damaged file is left for the operator to repair"
    );
}

/// `--nick NICK --password-file FILE` logs in without a single prompt; a
/// missing file is a clear error.
#[test]
fn password_file_logs_in_without_prompts() {
    let dir = TempDir::new("acct-pwfile");
    let server = start(&dir);
    Raw::register(server.port, "ntu", "correct horse").request(Control::Quit);
    let file = dir.path().join("pw");
    std::fs::write(&file, "correct horse\n").unwrap();
    let client = Client::start(
        server.port,
        &["--nick", "ntu", "--password-file", file.to_str().unwrap()],
    );
    let out = client.stdout.wait_for("Welcome ntu to the room!");
    assert!(!out.contains("Password: "), "{out}");
    assert!(!out.contains("Input your nickname"), "{out}");

    let missing = dir.path().join("missing");
    let mut client = Client::start(
        server.port,
        &[
            "--nick",
            "ntu",
            "--password-file",
            missing.to_str().unwrap(),
        ],
    );
    assert!(!client.wait_exit().success());
    client.stderr.wait_for("cannot use password file");
}
