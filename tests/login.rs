//! Logging in: the nickname rules, the re-prompt, unique names, welcome counts.

mod support;

use chat::command::{AccountRequest, ChatRequest, Control};
use chat::event::Event;
use chat::protocol::Status;
use support::{Client, Raw, Server, TempDir};

/// A 9-character nickname is refused with the reason, the client asks again, and a good one gets in.
#[test]
fn nine_character_nickname_is_refused_then_a_good_one_accepted() {
    let dir = TempDir::new("nick9");
    let server = Server::start(dir.path());
    let mut client = Client::start(server.port, &[]);
    client.stdout.wait_for("Input your nickname: ");
    client.type_line("ABCDEFGHI");
    let out = client.stdout.wait_for_n("Input your nickname: ", 2);
    assert!(
        out.contains("Nickname refused: nickname is 9 characters long; at most 8 are allowed"),
        "{out}"
    );
    client.type_line("ntu");
    let out = client
        .stdout
        .wait_for("Welcome ntu to the room! There are 1 member(s) online!");
    assert!(out.contains("Successfully login."), "{out}");
    server.stdout.wait_for("Client (ntu) connected");
}

/// Empty names and names with spaces or symbols are refused with a reason.
#[test]
fn malformed_nicknames_are_refused_with_a_reason() {
    let dir = TempDir::new("nickbad");
    let server = Server::start(dir.path());
    let mut raw = Raw::connect(server.port);
    for (nick, reason) in [
        ("", "nickname is empty"),
        ("a b", "nickname may not contain spaces"),
        ("John Smith", "nickname may not contain spaces"),
        (
            "José",
            "only ASCII letters (a-z, A-Z), digits, '_' and '-', not 'é'",
        ),
        // A header value carries no control character: the escape goes as a space.
        ("x\u{1b}[2J", "nickname may not contain spaces"),
        (
            "x[2J",
            "only ASCII letters (a-z, A-Z), digits, '_' and '-', not '['",
        ),
    ] {
        let reply = raw.request(AccountRequest::Login {
            many_rooms: false,
            nick: nick.into(),
            password: None,
        });
        assert_eq!(reply.status_code(), Some(Status::BAD_REQUEST));
        assert!(reply.text_lossy().contains(reason), "{nick:?}: {reply:?}");
    }
}

/// A nickname already online is refused, whatever its case, and stays refused until its owner leaves.
#[test]
fn taken_nickname_is_refused_case_insensitively() {
    let dir = TempDir::new("taken");
    let server = Server::start(dir.path());
    let mut first = Raw::login(server.port, "ntu");
    let mut second = Raw::connect(server.port);
    let reply = second.request(AccountRequest::Login {
        many_rooms: false,
        nick: "NTU".into(),
        password: None,
    });
    assert_eq!(reply.status_code(), Some(Status::CONFLICT));
    assert!(reply.text_lossy().contains("already online"), "{reply:?}");

    first.request(Control::Quit);
    let reply = second.request(AccountRequest::Login {
        many_rooms: false,
        nick: "NTU".into(),
        password: None,
    });
    assert_eq!(
        reply.status_code(),
        Some(Status::OK),
        "free again after quit"
    );
}

/// The client re-prompts when its --nick is taken, and the second choice works.
#[test]
fn client_reprompts_when_nickname_is_taken() {
    let dir = TempDir::new("reprompt");
    let server = Server::start(dir.path());
    let _ntu = Raw::login(server.port, "ntu");
    let mut client = Client::start(server.port, &["--nick", "Ntu"]);
    let out = client.stdout.wait_for("Input your nickname: ");
    assert!(
        out.contains("Nickname refused: nickname ntu is already online"),
        "{out}"
    );
    client.type_line("ABC");
    client
        .stdout
        .wait_for("Welcome ABC to the room! There are 2 member(s) online!");
}

/// Everyone in the room, newcomer included, sees the welcome with the live member count.
#[test]
fn welcome_line_carries_the_live_member_count() {
    let dir = TempDir::new("welcome");
    let server = Server::start(dir.path());
    let ntu = Client::login(server.port, "ntu");
    ntu.stdout
        .wait_for("Welcome ntu to the room! There are 1 member(s) online!");
    let mut abc = Raw::login(server.port, "ABC");
    ntu.stdout
        .wait_for("Welcome ABC to the room! There are 2 member(s) online!");
    abc.request(Control::Quit);
    ntu.stdout.wait_for("ABC leaves the room!");
    let _ma = Raw::login(server.port, "Ma19");
    ntu.stdout
        .wait_for("Welcome Ma19 to the room! There are 2 member(s) online!");
    let out = server
        .stdout
        .wait_for("Welcome Ma19 to the room! There are 2 member(s) online!");
    assert!(out.contains("ABC leaves the room!"), "{out}");
    assert!(out.contains("Connected with 127.0.0.1:"), "{out}");
}

/// Requests before login are refused with 403, and the connection stays usable.
#[test]
fn chatting_before_login_is_refused() {
    let dir = TempDir::new("prelogin");
    let server = Server::start(dir.path());
    let mut raw = Raw::connect(server.port);
    let reply = raw.request(ChatRequest::Say {
        room: None,
        text: "hi".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::FORBIDDEN));
    let reply = raw.request(AccountRequest::Login {
        many_rooms: false,
        nick: "late".into(),
        password: None,
    });
    assert_eq!(reply.status_code(), Some(Status::OK));
    raw.expect_event(|e| matches!(e, Event::Join { .. }));
}
