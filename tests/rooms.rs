//! Rooms: creating, moving between them, owners' lists, the operator's
//! console, and rooms surviving a restart.

mod support;

use chat::command::{ChatRequest, Control, ListKind, RoomRequest};
use chat::event::Event;
use chat::protocol::{Frame, Status};
use support::{Client, Raw, Server, TempDir};

fn ok(reply: &Frame) -> String {
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    reply.text_lossy()
}

fn refused(reply: &Frame, status: Status, contains: &str) {
    assert_eq!(reply.status_code(), Some(status), "{reply:?}");
    let text = reply.text_lossy();
    assert!(text.contains(contains), "{text:?} lacks {contains:?}");
}

fn create(raw: &mut Raw, room: &str, private: bool) {
    ok(&raw.request(RoomRequest::Create {
        room: room.into(),
        private,
    }));
}

fn join(room: &str) -> RoomRequest {
    RoomRequest::Join { room: room.into() }
}

fn list(list: ListKind, nick: &str, add: bool) -> RoomRequest {
    RoomRequest::ChangeList {
        room: None,
        list,
        nick: nick.into(),
        add,
    }
}

/// Messages reach the sender's room only; moving rooms sends the leave and welcome notices with counts.
#[test]
fn messages_stay_in_their_room_and_moves_are_announced() {
    let dir = TempDir::new("rooms-move");
    let server = Server::start(dir.path());
    let mut tom = Raw::login(server.port, "Tom");
    let mut bob = Raw::login(server.port, "Bob");
    let mut eve = Raw::login(server.port, "Eve");

    create(&mut tom, "rust", false);
    bob.expect_event(|e| matches!(e, Event::Leave { nick, members: 2, .. } if nick == "Tom"));
    // Events a request causes come before its reply.
    let (reply, events) = bob.request_with_events(join("rust"));
    assert_eq!(ok(&reply), "you are now in rust");
    assert!(
        events.iter().any(
            |e| matches!(e, Event::Join { room, nick, members: 2 } if room == "rust" && nick == "Bob")
        ),
        "{events:?}"
    );
    tom.expect_event(|e| matches!(e, Event::Join { nick, members: 2, .. } if nick == "Bob"));
    eve.expect_event(|e| matches!(e, Event::Leave { nick, members: 1, .. } if nick == "Bob"));

    tom.say("in rust");
    eve.say("in lobby");
    bob.expect_event(
        |e| matches!(e, Event::Message { text, room, .. } if text == "in rust" && room == "rust"),
    );
    // Nothing from the lobby reached rust, nor the other way round.
    let (_, events) = bob.request_with_events(Control::Ping);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Message { text, .. } if text == "in lobby")),
        "{events:?}"
    );
    let (_, events) = eve.request_with_events(Control::Ping);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Message { text, .. } if text == "in rust")),
        "{events:?}"
    );

    ok(&bob.request(RoomRequest::Leave { room: None }));
    tom.expect_event(|e| matches!(e, Event::Leave { nick, members: 1, .. } if nick == "Bob"));
    eve.expect_event(|e| matches!(e, Event::Join { nick, members: 2, .. } if nick == "Bob"));
    refused(
        &bob.request(RoomRequest::Leave { room: None }),
        Status::CONFLICT,
        "lobby already",
    );
    refused(
        &bob.request(join("nowhere")),
        Status::NOT_FOUND,
        "there is no room nowhere",
    );
    refused(
        &bob.request(RoomRequest::Create {
            room: "RUST".into(),
            private: false,
        }),
        Status::CONFLICT,
        "already exists",
    );
    refused(
        &bob.request(RoomRequest::Create {
            room: "bad.name".into(),
            private: false,
        }),
        Status::BAD_REQUEST,
        "room name",
    );
}

/// `/ls` shows name, owner, visibility and members; private rooms only to those who may enter.
#[test]
fn room_list_hides_private_rooms_from_outsiders() {
    let dir = TempDir::new("rooms-ls");
    let server = Server::start(dir.path());
    let mut tom = Raw::login(server.port, "Tom");
    let mut bob = Raw::login(server.port, "Bob");
    create(&mut tom, "public1", false);
    ok(&tom.request(RoomRequest::Leave { room: None }));
    create(&mut tom, "secret", true);
    let list = ok(&bob.request(RoomRequest::Rooms));
    assert!(list.contains("lobby  owner: -  public  1 online"), "{list}");
    assert!(
        list.contains("public1  owner: Tom  public  0 online"),
        "{list}"
    );
    assert!(!list.contains("secret"), "{list}");
    let list = ok(&tom.request(RoomRequest::Rooms));
    assert!(
        list.contains("secret  owner: Tom  private  1 online"),
        "{list}"
    );
    ok(&tom.request(list_req_permit("Bob")));
    let list = ok(&bob.request(RoomRequest::Rooms));
    assert!(
        list.contains("secret  owner: Tom  private"),
        "permitted users see it: {list}"
    );
}

fn list_req_permit(nick: &str) -> RoomRequest {
    list(ListKind::Permits, nick, true)
}

/// Owner-only commands are refused to others, and nothing changes.
#[test]
fn owner_only_commands_are_refused_to_others() {
    let dir = TempDir::new("rooms-owner");
    let server = Server::start(dir.path());
    let mut tom = Raw::login(server.port, "Tom");
    let mut bob = Raw::login(server.port, "Bob");
    create(&mut tom, "toms", false);
    ok(&bob.request(join("toms")));
    for request in [
        RoomRequest::Close { room: None },
        list(ListKind::Bans, "Tom", true),
        list(ListKind::Permits, "Eve", true),
        RoomRequest::ShowList {
            room: None,
            list: ListKind::Bans,
        },
        RoomRequest::ShowList {
            room: None,
            list: ListKind::Permits,
        },
    ] {
        refused(
            &bob.request(request),
            Status::FORBIDDEN,
            "only the owner of toms (Tom)",
        );
    }
    ok(&bob.request(RoomRequest::Leave { room: None }));
    refused(
        &bob.request(RoomRequest::Close { room: None }),
        Status::FORBIDDEN,
        "nobody owns the lobby",
    );
    let list = ok(&tom.request(RoomRequest::ShowList {
        room: None,
        list: ListKind::Bans,
    }));
    assert_eq!(list, "blacklist of toms (0): nobody");
}

/// A banned user is moved out at once and cannot come back; unbanning lets them in again.
#[test]
fn banned_user_is_ejected_and_cannot_reenter() {
    let dir = TempDir::new("rooms-ban");
    let server = Server::start(dir.path());
    let mut tom = Raw::login(server.port, "Tom");
    let mut bob = Raw::login(server.port, "Bob");
    create(&mut tom, "toms", false);
    ok(&bob.request(join("toms")));
    let (reply, tom_saw) = tom.request_with_events(list(ListKind::Bans, "bob", true));
    let text = ok(&reply);
    assert!(
        text.starts_with("bob added to the blacklist of toms\n"),
        "{text}"
    );
    // Bob is a guest: anyone may take that nickname once he leaves.
    assert!(
        text.ends_with("note: bob is a guest, not a registered nickname: whoever takes that nickname is banned"),
        "{text}"
    );
    assert!(
        tom_saw
            .iter()
            .any(|e| matches!(e, Event::Leave { nick, members: 1, .. } if nick == "Bob")),
        "{tom_saw:?}"
    );
    bob.expect_event(
        |e| matches!(e, Event::Notice { text } if text == "you were banned from toms"),
    );
    bob.expect_event(
        |e| matches!(e, Event::Join { room, nick, .. } if room == "lobby" && nick == "Bob"),
    );
    refused(
        &bob.request(join("toms")),
        Status::FORBIDDEN,
        "you are banned from toms",
    );
    refused(
        &tom.request(list(ListKind::Bans, "Tom", true)),
        Status::BAD_REQUEST,
        "yourself",
    );
    let shown = ok(&tom.request(RoomRequest::ShowList {
        room: None,
        list: ListKind::Bans,
    }));
    assert_eq!(shown, "blacklist of toms (1): bob");
    ok(&tom.request(list(ListKind::Bans, "BOB", false)));
    ok(&bob.request(join("toms")));
}

/// A private room admits only its owner and those it permits; one let in
/// while online is told.
#[test]
fn private_room_is_refused_until_permitted() {
    let dir = TempDir::new("rooms-private");
    let server = Server::start(dir.path());
    let mut bob = Raw::login(server.port, "Bob");
    let mut tom = Raw::login(server.port, "Tom");
    create(&mut bob, "bobs", true);
    refused(
        &tom.request(join("bobs")),
        Status::FORBIDDEN,
        "bobs is private; ask its owner Bob to /permit you",
    );
    ok(&bob.request(list(ListKind::Permits, "Tom", true)));
    // Tom is online: he is told he may come in, and how.
    tom.expect_event(|e| {
        matches!(e, Event::Notice { text }
            if text.contains("Bob invites you into bobs: /join bobs"))
    });
    assert_eq!(
        ok(&bob.request(RoomRequest::ShowList {
            room: None,
            list: ListKind::Permits
        })),
        "whitelist of bobs (1): Tom"
    );
    ok(&tom.request(join("bobs")));
    ok(&tom.request(RoomRequest::Leave { room: None }));
    ok(&bob.request(list(ListKind::Permits, "Tom", false)));
    refused(&tom.request(join("bobs")), Status::FORBIDDEN, "private");
}

/// Closing a room (by its owner, or `/kill` on the console) returns everyone to the lobby, told why.
#[test]
fn close_and_kill_return_members_to_the_lobby() {
    let dir = TempDir::new("rooms-close");
    let mut server = Server::start(dir.path());
    let mut tom = Raw::login(server.port, "Tom");
    let mut bob = Raw::login(server.port, "Bob");
    create(&mut tom, "toms", false);
    ok(&bob.request(join("toms")));
    assert_eq!(
        ok(&tom.request(RoomRequest::Close { room: None })),
        "closed toms"
    );
    bob.expect_event(
        |e| matches!(e, Event::Notice { text } if text == "room toms was closed by its owner"),
    );
    bob.expect_event(|e| matches!(e, Event::Join { room, .. } if room == "lobby"));
    refused(
        &bob.request(join("toms")),
        Status::NOT_FOUND,
        "there is no room toms",
    );

    create(&mut bob, "bobs", false);
    ok(&tom.request(join("bobs")));
    server.console("/kill bobs");
    for raw in [&mut tom, &mut bob] {
        raw.expect_event(|e| matches!(e, Event::Notice { text } if text == "room bobs was closed by the server operator"));
        raw.expect_event(|e| matches!(e, Event::Join { room, .. } if room == "lobby"));
    }
    server.console("/kill lobby");
    server
        .stdout
        .wait_for("cannot kill lobby: the lobby cannot be closed");
    server.console("/ls");
    server
        .stdout
        .wait_for("1 room(s):\n  lobby  owner: -  public  2 online");
}

/// `/kick` on the console disconnects a user with a reason; the room sees them leave.
#[test]
fn console_kick_disconnects_with_a_reason() {
    let dir = TempDir::new("rooms-kick");
    let mut server = Server::start(dir.path());
    let mut tom = Raw::login(server.port, "Tom");
    let mut bob = Client::login(server.port, "Bob");
    server.console("/kick bob");
    bob.stdout
        .wait_for("*** server: you were kicked by the server operator");
    bob.stdout.wait_for("Disconnected from chat server");
    bob.wait_exit();
    tom.expect_event(|e| matches!(e, Event::Leave { nick, .. } if nick == "Bob"));
    server.console("/kick nobody");
    server
        .stdout
        .wait_for("cannot kick nobody: nobody called nobody is online");
    server.console("/users");
    server.stdout.wait_for("1 user(s) online\n  Tom in lobby");
}

/// `/shutdown` tells every client, and the server exits with success.
#[test]
fn console_shutdown_tells_everyone_and_exits_cleanly() {
    let dir = TempDir::new("rooms-shutdown");
    let mut server = Server::start(dir.path());
    let a = Client::login(server.port, "a");
    let b = Client::login(server.port, "b");
    let mut c = Raw::login(server.port, "c");
    c.say("last words");
    server.console("/shutdown");
    for client in [&a, &b] {
        client.stdout.wait_for("*** server: server shutting down");
        client.stdout.wait_for("Disconnected from chat server");
    }
    let frames = c.expect_closed();
    assert!(frames.iter().any(|f| f.verb() == Some("BYE")), "{frames:?}");
    assert!(server.wait_exit().success());
    server.stdout.wait_for("log.txt is on disk. Bye.");
    let log = std::fs::read_to_string(dir.path().join("log.txt")).unwrap();
    assert!(log.contains("last words"));
}

/// Rooms, owners, visibility and both lists survive a restart.
#[test]
fn rooms_and_their_lists_survive_a_restart() {
    let dir = TempDir::new("rooms-restart");
    {
        let mut server = Server::start(dir.path());
        let mut tom = Raw::login(server.port, "Tom");
        create(&mut tom, "secret", true);
        ok(&tom.request(list(ListKind::Permits, "Bob", true)));
        ok(&tom.request(list(ListKind::Bans, "Eve", true)));
        tom.say("remember this");
        server.kill();
    }
    let stored = std::fs::read_to_string(dir.path().join("rooms.txt")).unwrap();
    assert_eq!(stored, "secret\tTom\tprivate\tEve\tBob\n");
    let server = Server::start(dir.path());
    let mut eve = Raw::login(server.port, "Eve");
    refused(&eve.request(join("secret")), Status::FORBIDDEN, "banned");
    let mut bob = Raw::login(server.port, "Bob");
    let (reply, events) = bob.request_with_events(join("secret"));
    ok(&reply);
    // The newcomer gets the room's history first.
    assert!(
        matches!(&events[0], Event::Message { text, history: true, .. } if text == "remember this"),
        "{events:?}"
    );
    let mut tom = Raw::login(server.port, "Tom");
    ok(&tom.request(join("secret")));
    assert_eq!(
        ok(&tom.request(RoomRequest::ShowList {
            room: None,
            list: ListKind::Permits
        })),
        "whitelist of secret (1): Bob"
    );
}

/// A corrupt rooms.txt stops the server with the file and line, instead of losing rooms.
#[test]
fn corrupt_rooms_file_is_a_clear_startup_error() {
    let dir = TempDir::new("rooms-corrupt");
    std::fs::write(
        dir.path().join("rooms.txt"),
        "ok\tTom\tpublic\t\t\nbroken line\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--port", "0", "--no-replay", "--data-dir"])
        .arg(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("rooms.txt line 2"), "{err}");
}

/// Entering a room sends its recent messages first, marked as history, never whispers.
#[test]
fn newcomer_gets_the_rooms_recent_history_without_whispers() {
    let dir = TempDir::new("rooms-history");
    let server = Server::start_with(dir.path(), &["--no-replay", "--history", "2"]);
    let mut tom = Raw::login(server.port, "Tom");
    let _bob = Raw::login(server.port, "Bob");
    create(&mut tom, "toms", false);
    for text in ["one", "two", "three"] {
        tom.say(text);
    }
    ok(&tom.request(ChatRequest::Whisper {
        to: "Bob".into(),
        text: "secret".into(),
    }));
    let mut eve = Raw::login(server.port, "Eve");
    let history = eve.history_on_entering(join("toms"), "toms");
    assert_eq!(history, ["two", "three"]);
}

/// `/nick` changes the name for everyone in the room, keeps ownership, and is refused when taken.
#[test]
fn nickname_change_is_seen_by_the_room() {
    let dir = TempDir::new("rooms-nick");
    let server = Server::start(dir.path());
    let mut tom = Client::login(server.port, "Tom");
    let mut bob = Raw::login(server.port, "Bob");
    tom.type_line("/create toms");
    tom.stdout.wait_for("created public room toms; you own it");
    ok(&bob.request(join("toms")));
    tom.type_line("/nick Tommy");
    tom.stdout.wait_for("you are now known as Tommy");
    bob.expect_event(
        |e| matches!(e, Event::Renamed { old, new } if old == "Tom" && new == "Tommy"),
    );
    tom.type_line("/nick bob");
    tom.stdout.wait_for("error: nickname Bob is already online");
    tom.type_line("/ls");
    tom.stdout.wait_for("toms  owner: Tommy  public  2 online");
    let mut new_tom = Raw::login(server.port, "Tom");
    refused(
        &new_tom.request(RoomRequest::Close { room: None }),
        Status::FORBIDDEN,
        "nobody owns the lobby",
    );
}

/// The seed's command names work in the terminal client.
#[test]
fn seed_command_names_work_in_the_client() {
    let dir = TempDir::new("rooms-aliases");
    let server = Server::start(dir.path());
    let mut tom = Client::login(server.port, "Tom");
    let mut bob = Client::login(server.port, "Bob");
    tom.type_line("/open-chatroom chat1 private");
    tom.stdout
        .wait_for("created private room chat1; you own it");
    bob.type_line("/enter-chatroom chat1");
    bob.stdout
        .wait_for("error: chat1 is private; ask its owner Tom to /permit you");
    tom.type_line("/permit-user Bob");
    tom.stdout.wait_for("Bob added to the whitelist of chat1");
    bob.type_line("/enter-chatroom chat1");
    tom.stdout
        .wait_for("Welcome Bob to the room! There are 2 member(s) online!");
    tom.type_line("/get-whitelist");
    tom.stdout.wait_for("whitelist of chat1 (1): Bob");
    bob.type_line("/exit-chatroom");
    tom.stdout.wait_for("Bob leaves the room!");
    tom.type_line("/close-chatroom");
    tom.stdout.wait_for("closed chat1");
    bob.type_line("/list-chatroom");
    bob.stdout.wait_for("1 room(s):");
}

/// In a room larger than --announce-limit, arrivals and departures reach only the one concerned.
#[test]
fn crowded_rooms_do_not_announce_every_arrival() {
    let dir = TempDir::new("rooms-announce");
    let server = Server::start_with(dir.path(), &["--no-replay", "--announce-limit", "2"]);
    let mut a = Raw::login(server.port, "a");
    let _b = Raw::login(server.port, "b");
    a.expect_event(|e| matches!(e, Event::Join { nick, members: 2, .. } if nick == "b"));
    // The third member gets its own welcome (Raw::login waits for it)...
    let mut c = Raw::login(server.port, "c");
    c.request(Control::Quit);
    server.stdout.wait_for("c leaves the room!");
    // ...but neither its arrival nor its departure reached a.
    let (_, events) = a.request_with_events(Control::Ping);
    assert!(
        !events.iter().any(
            |e| matches!(e, Event::Join { nick, .. } | Event::Leave { nick, .. } if nick == "c")
        ),
        "{events:?}"
    );
    a.say("still a room");
}

/// A closed room's messages never become the history of a new room of the same name, even after a restart.
#[test]
fn a_closed_rooms_history_does_not_pass_to_its_namesake() {
    let dir = TempDir::new("rooms-namesake");
    {
        let mut server = Server::start(dir.path());
        let mut tom = Raw::login(server.port, "Tom");
        create(&mut tom, "secret", true);
        tom.say("private words");
        ok(&tom.request(RoomRequest::Close { room: None }));
        let mut bob = Raw::login(server.port, "Bob");
        create(&mut bob, "secret", false);
        bob.say("public words");
        server.kill();
    }
    let log = std::fs::read_to_string(dir.path().join("log.txt")).unwrap();
    assert!(
        log.contains("\tclosed\tsecret\tTom\t-\troom secret was closed by its owner\t"),
        "{log}"
    );
    let server = Server::start_with(dir.path(), &["--replay"]);
    server
        .stdout
        .wait_for("#secret closed: room secret was closed by its owner");
    let mut eve = Raw::login(server.port, "Eve");
    let history = eve.history_on_entering(join("secret"), "secret");
    assert_eq!(history, ["public words"]);
}

/// Room commands act on the room they name, from anywhere, if you own it
/// (seed 004: leave the room, then close it); without a name, on your room.
#[test]
fn owners_act_on_a_named_room_from_anywhere() {
    let dir = TempDir::new("rooms-named");
    let server = Server::start(dir.path());
    let mut tom = Raw::login(server.port, "Tom");
    let mut bob = Raw::login(server.port, "Bob");
    create(&mut tom, "second", false);
    ok(&bob.request(join("second")));
    create(&mut tom, "first", false);

    // Banning from "first": Bob is moved out of "second", not "first".
    let reply = tom.request(RoomRequest::ChangeList {
        room: Some("second".into()),
        list: ListKind::Bans,
        nick: "Bob".into(),
        add: true,
    });
    assert!(ok(&reply).starts_with("Bob added to the blacklist of second"));
    bob.expect_event(
        |e| matches!(e, Event::Notice { text } if text.contains("banned from second")),
    );
    let bans = ok(&tom.request(RoomRequest::ShowList {
        list: ListKind::Bans,
        room: Some("second".into()),
    }));
    assert!(bans.contains("blacklist of second (1): Bob"), "{bans}");

    // Closing "second" while in "first" closes second and leaves Tom where he is.
    assert_eq!(
        ok(&tom.request(RoomRequest::Close {
            room: Some("second".into())
        })),
        "closed second"
    );
    let rooms = ok(&tom.request(RoomRequest::Rooms));
    assert!(
        !rooms.contains("second") && rooms.contains("first"),
        "{rooms}"
    );
    tom.say("still in first");

    // Someone else's room, or no such room: refused, nothing changes.
    create(&mut bob, "bobs", false);
    refused(
        &tom.request(RoomRequest::Close {
            room: Some("bobs".into()),
        }),
        Status::FORBIDDEN,
        "only the owner of bobs (Bob)",
    );
    refused(
        &tom.request(RoomRequest::Close {
            room: Some("nowhere".into()),
        }),
        Status::NOT_FOUND,
        "there is no room nowhere",
    );
    // Leaving a room you are not in says where you are.
    refused(
        &tom.request(RoomRequest::Leave {
            room: Some("bobs".into()),
        }),
        Status::CONFLICT,
        "you are not in bobs; you are in first",
    );
}

/// Who is where does not give away a private room; taking someone off a
/// private room's whitelist moves them out, as a ban does; a list entry
/// for a nickname nobody holds says whoever takes it gets it.
#[test]
fn private_rooms_stay_private_and_an_unpermit_moves_the_member_out() {
    let dir = TempDir::new("rooms-private-users");
    let server = Server::start(dir.path());
    let mut tom = Raw::login(server.port, "Tom");
    let mut bob = Raw::login(server.port, "Bob");
    let mut eve = Raw::login(server.port, "Eve");
    create(&mut tom, "den", true);
    ok(&tom.request(list(ListKind::Permits, "Bob", true)));
    ok(&bob.request(join("den")));

    let users = ok(&eve.request(RoomRequest::Users));
    assert!(users.contains("Tom in a private room"), "{users}");
    assert!(!users.contains("den"), "{users}");
    let users = ok(&bob.request(RoomRequest::Users));
    assert!(users.contains("Tom in den"), "{users}");

    let reply = ok(&tom.request(list(ListKind::Permits, "Bob", false)));
    assert!(
        reply.starts_with("Bob removed from the whitelist of den"),
        "{reply}"
    );
    bob.expect_event(|e| matches!(e, Event::Notice { text } if text.contains("no longer on the whitelist of private room den")));
    bob.expect_event(
        |e| matches!(e, Event::Join { room, nick, .. } if room == "lobby" && nick == "Bob"),
    );

    let reply = ok(&tom.request(list(ListKind::Permits, "ghost", true)));
    assert!(
        reply.ends_with(
            "note: nobody called ghost is registered or online: whoever takes that nickname may enter"
        ),
        "{reply}"
    );
}
