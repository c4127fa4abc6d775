//! History (issue 17): paging back through a room, search, whispers kept
//! for users who are away, read markers and what one missed, with the
//! access rules of each, against the real server over TCP.

mod support;

use chat::command::{
    AccountRequest, Anchor, ChatRequest, Conversation, HistoryRequest, ListKind, RoomRequest,
};
use chat::event::Event;
use chat::protocol::{header, Frame, Status};
use support::{Raw, Server, TempDir};

const FAST: &[&str] = &[
    "--no-replay",
    "--no-rate-limit",
    "--pbkdf2-iterations",
    "1000",
];

fn ok(reply: &Frame) -> String {
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    reply.text_lossy()
}

fn register(port: u16, nick: &str) -> Raw {
    Raw::register(port, nick, &format!("{nick}-secret"))
}

/// Logs a registered user in; returns the connection and what arrived
/// before its own welcome to the lobby (history, a marker line, ...).
fn login_registered(port: u16, nick: &str) -> (Raw, Vec<Event>) {
    let mut raw = Raw::connect(port);
    let reply = raw.request(AccountRequest::Login {
        nick: nick.into(),
        password: Some(format!("{nick}-secret")),
        many_rooms: false,
    });
    ok(&reply);
    let mut before = Vec::new();
    loop {
        let frame = raw.read();
        let event = Event::from_frame(&frame).expect("an event");
        if matches!(&event, Event::Join { nick: n, .. } if n == nick) {
            return (raw, before);
        }
        before.push(event);
    }
}

/// One page: the history events that came before the reply, and the reply.
fn page(raw: &mut Raw, of: Conversation, anchor: Anchor, limit: usize) -> (Vec<Event>, Frame) {
    let (reply, events) = raw.request_with_events(HistoryRequest::History { of, anchor, limit });
    (events, reply)
}

fn seq_of(event: &Event) -> u64 {
    match event {
        Event::Message { seq, .. } | Event::Whisper { seq, .. } => *seq,
        other => panic!("not a message: {other:?}"),
    }
}

/// 1,200 messages in a room among others: paging back 500 at a time
/// reaches the room's first message with no gap and no repeat.
#[test]
fn paging_back_reaches_the_first_message_without_gaps_or_repeats() {
    let dir = TempDir::new("history-paging");
    let server = Server::start_with(dir.path(), FAST);
    let mut tom = Raw::login(server.port, "tom");
    ok(&tom.request(RoomRequest::Create {
        room: "long".into(),
        private: false,
    }));
    let mut bob = Raw::login(server.port, "bob");
    for i in 0..1200 {
        tom.say(&format!("long {i}"));
        if i % 100 == 0 {
            bob.say(&format!("lobby {i}"));
        }
    }
    let mut texts: Vec<String> = Vec::new();
    let mut anchor = Anchor::Latest;
    for round in 0..5 {
        let (events, reply) = page(&mut tom, Conversation::Room("long".into()), anchor, 500);
        ok(&reply);
        assert!(events
            .iter()
            .all(|e| matches!(e, Event::Message { room, history: true, .. } if room == "long")));
        let page: Vec<String> = events
            .iter()
            .map(|e| match e {
                Event::Message { text, .. } => text.clone(),
                _ => unreachable!(),
            })
            .collect();
        texts.splice(0..0, page);
        if reply.header(header::MORE) == Some("no") {
            assert_eq!(round, 2, "1,200 messages are three pages of 500");
            break;
        }
        anchor = Anchor::Before(seq_of(&events[0]));
    }
    let expected: Vec<String> = (0..1200).map(|i| format!("long {i}")).collect();
    assert_eq!(texts, expected);
}

/// History of a private room is for those who may enter it; whispers are
/// history only for their two people, and only for registered nicknames.
#[test]
fn history_is_refused_where_the_reader_may_not_go() {
    let dir = TempDir::new("history-access");
    let server = Server::start_with(dir.path(), FAST);
    let mut tom = register(server.port, "tom");
    let mut bob = register(server.port, "bob");
    let mut eve = register(server.port, "eve");
    ok(&tom.request(RoomRequest::Create {
        room: "den".into(),
        private: true,
    }));
    tom.say("secret plans");
    ok(&tom.request(ChatRequest::Whisper {
        to: "bob".into(),
        text: "for bob only".into(),
    }));
    let (_, reply) = page(
        &mut eve,
        Conversation::Room("den".into()),
        Anchor::Latest,
        50,
    );
    assert_eq!(reply.status_code(), Some(Status::NOT_FOUND), "{reply:?}");
    let (events, reply) = page(
        &mut eve,
        Conversation::With("bob".into()),
        Anchor::Latest,
        50,
    );
    ok(&reply);
    assert!(
        events.is_empty(),
        "eve sees no whisper of tom's: {events:?}"
    );
    bob.expect_event(|e| matches!(e, Event::Whisper { text, .. } if text == "for bob only"));
    let (events, _) = page(
        &mut bob,
        Conversation::With("tom".into()),
        Anchor::Latest,
        50,
    );
    assert!(
        matches!(&events[..], [Event::Whisper { text, .. }] if text == "for bob only"),
        "{events:?}"
    );
    // Permitted: now eve may read the room's past too.
    ok(&tom.request(RoomRequest::ChangeList {
        list: ListKind::Permits,
        nick: "eve".into(),
        add: true,
        room: Some("den".into()),
    }));
    // Eve is online: she is told she may come in.
    eve.expect_event(
        |e| matches!(e, Event::Notice { text } if text.contains("invites you into den")),
    );
    let (events, reply) = page(
        &mut eve,
        Conversation::Room("den".into()),
        Anchor::Latest,
        50,
    );
    ok(&reply);
    assert!(matches!(&events[..], [Event::Message { text, .. }] if text == "secret plans"));
    // A guest's nickname may be someone else's tomorrow: no whisper history.
    let mut guest = Raw::login(server.port, "guest");
    let (_, reply) = page(
        &mut guest,
        Conversation::With("tom".into()),
        Anchor::Latest,
        50,
    );
    assert_eq!(reply.status_code(), Some(Status::FORBIDDEN), "{reply:?}");
}

/// Search finds messages ignoring case, newest first, in rooms the
/// searcher may read and its own whispers, and pages on.
#[test]
fn search_finds_what_the_searcher_may_read_newest_first() {
    let dir = TempDir::new("history-search");
    let server = Server::start_with(dir.path(), FAST);
    let mut tom = register(server.port, "tom");
    let mut eve = register(server.port, "eve");
    for i in 0..60 {
        tom.say(&format!("Needle number {i}"));
    }
    ok(&tom.request(ChatRequest::Whisper {
        to: "eve".into(),
        text: "a needle for eve".into(),
    }));
    ok(&tom.request(RoomRequest::Create {
        room: "den".into(),
        private: true,
    }));
    tom.say("a needle in the den");
    let first = eve.request(HistoryRequest::Search {
        text: "NEEDLE".into(),
        room: None,
        before: None,
    });
    let text = ok(&first);
    assert!(text.starts_with("50 message(s)"), "{text}");
    assert!(text.contains("tom -> eve: a needle for eve"), "{text}");
    assert!(!text.contains("den"), "{text}");
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert!(
        lines[1].contains("Needle number 59"),
        "newest first: {text}"
    );
    assert_eq!(first.header(header::MORE), Some("yes"));
    let before = first.header(header::BEFORE).unwrap().parse().unwrap();
    let second = ok(&eve.request(HistoryRequest::Search {
        text: "needle".into(),
        room: None,
        before: Some(before),
    }));
    assert!(second.starts_with("11 message(s)"), "{second}");
    assert!(second.contains("Needle number 0"), "{second}");
    assert!(second.ends_with("no more pages"), "{second}");
    // The owner finds the den's message; a search in a room she cannot
    // enter is refused to eve.
    let mine = ok(&tom.request(HistoryRequest::Search {
        text: "needle".into(),
        room: Some("den".into()),
        before: None,
    }));
    assert!(mine.contains("a needle in the den"), "{mine}");
    let refused = eve.request(HistoryRequest::Search {
        text: "needle".into(),
        room: Some("den".into()),
        before: None,
    });
    assert_eq!(
        refused.status_code(),
        Some(Status::NOT_FOUND),
        "{refused:?}"
    );
}

/// A whisper to a registered user who is away waits for them (the sender
/// is told), is delivered once at their next login, oldest first, also
/// when the server was killed in between; guests cannot get one.
#[test]
fn whispers_wait_for_a_registered_user_across_a_crash_and_come_once() {
    let dir = TempDir::new("history-kept");
    let server = Server::start_with(dir.path(), FAST);
    drop(register(server.port, "bob"));
    let mut tom = register(server.port, "tom");
    server.stdout.wait_for("Client (bob) disconnected");
    for text in ["first", "second"] {
        let reply = tom.request(ChatRequest::Whisper {
            to: "BOB".into(),
            text: text.into(),
        });
        assert!(ok(&reply).contains("bob is away"), "{reply:?}");
        assert_eq!(reply.header(header::KEPT), Some("yes"));
    }
    let reply = tom.request(ChatRequest::Whisper {
        to: "nobody".into(),
        text: "lost".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::NOT_FOUND));
    assert!(reply.text_lossy().contains("registered users who are away"));
    drop(tom);
    drop(server); // SIGKILL
    let server = Server::start_with(dir.path(), FAST);
    let (mut bob, _) = login_registered(server.port, "bob");
    let mut kept = Vec::new();
    while kept.len() < 2 {
        if let Event::Whisper {
            text,
            kept: true,
            from,
            ..
        } = Event::from_frame(&bob.read()).expect("an event")
        {
            assert_eq!(from, "tom");
            kept.push(text);
        }
    }
    assert_eq!(kept, ["first", "second"]);
    drop(bob);
    server.stdout.wait_for("Client (bob) disconnected");
    let (mut bob, _) = login_registered(server.port, "bob");
    let (_, events) = bob.request_with_events(chat::command::Control::Ping);
    assert!(
        !events.iter().any(|e| matches!(e, Event::Whisper { .. })),
        "delivered once: {events:?}"
    );
}

/// A returning user is told where news waits, and entering such a room
/// shows what it missed with a line before the new part.
#[test]
fn a_returning_user_hears_what_it_missed_and_sees_a_marker_line() {
    let dir = TempDir::new("history-unread");
    let server = Server::start_with(dir.path(), FAST);
    let mut tom = register(server.port, "tom");
    let mut bob = register(server.port, "bob");
    ok(&tom.request(RoomRequest::Create {
        room: "den".into(),
        private: false,
    }));
    ok(&bob.request(RoomRequest::Join { room: "den".into() }));
    tom.say("seen by bob");
    bob.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "seen by bob"));
    drop(bob);
    server.stdout.wait_for("Client (bob) disconnected");
    for i in 0..3 {
        tom.say(&format!("missed {i}"));
    }
    let (mut bob, before) = login_registered(server.port, "bob");
    let notice = bob.expect_event(|e| matches!(e, Event::Notice { .. }));
    assert!(
        matches!(&notice, Event::Notice { text } if text.contains("3 new messages in den since you were last here")),
        "{notice:?} (before the welcome: {before:?})"
    );
    let unread = ok(&bob.request(HistoryRequest::Unread));
    assert!(unread.contains("3 new messages in den"), "{unread}");
    let (reply, events) = bob.request_with_events(RoomRequest::Join { room: "den".into() });
    ok(&reply);
    let shown: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Message { text, .. } => Some(text.clone()),
            Event::Notice { text } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        shown,
        [
            "--- new in den since you were last here ---",
            "missed 0",
            "missed 1",
            "missed 2"
        ]
    );
    let unread = ok(&bob.request(HistoryRequest::Unread));
    assert_eq!(unread, "nothing new since you were last here");
}
