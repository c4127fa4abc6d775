//! History across the nodes of a cluster (real redis-server, real nodes):
//! read markers set on one node hold on another although the nodes number
//! their messages differently, and search on any node finds room messages
//! sent on any node and the whispers its user may read. Without
//! redis-server the tests say they skipped (with CI=true they fail).

mod support;

use chat::command::{AccountRequest, Anchor, Conversation, HistoryRequest, RoomRequest};
use chat::event::Event;
use chat::protocol::{Frame, Status};
use support::cluster::{wait_until, Node};
use support::redis::RedisServer;
use support::Raw;

fn ok(reply: &Frame) -> String {
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    reply.text_lossy()
}

fn login(port: u16, nick: &str, password: &str) -> Raw {
    let mut raw = Raw::connect(port);
    ok(&raw.request(AccountRequest::Login {
        many_rooms: false,
        nick: nick.into(),
        password: Some(password.into()),
    }));
    raw
}

/// The seqs (this node's numbers) of `room`'s newest messages, oldest first.
fn seqs(raw: &mut Raw, room: &str) -> Vec<u64> {
    let (reply, events) = raw.request_with_events(HistoryRequest::History {
        of: Conversation::Room(room.into()),
        anchor: Anchor::Latest,
        limit: 50,
    });
    ok(&reply);
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect()
}

/// Node a numbers its records differently from node b (whispers between
/// two of its own users are in its log only). A marker set on a, through
/// the chat protocol's MARKREAD, gives the same unread count on b, and
/// only moves forward: an older MARKREAD on b does not move it back.
#[test]
fn read_markers_are_the_same_on_every_node() {
    let Some(redis) = RedisServer::start("markers_across_nodes", &[]) else {
        return;
    };
    let a = Node::start(&redis, "a");
    let b = Node::start(&redis, "b");
    let mut ann = Raw::register(a.server.port, "ann", "ann-secret");
    let mut cat = Raw::login(a.server.port, "cat");
    for i in 0..5 {
        ok(&cat.request(chat::command::ChatRequest::Whisper {
            to: "ann".into(),
            text: format!("psst {i}"),
        }));
    }
    let mut eve = Raw::login(b.server.port, "eve");
    ok(&eve.request(RoomRequest::Create {
        room: "den".into(),
        private: false,
    }));
    for i in 0..6 {
        eve.say(&format!("den message {i}"));
    }
    wait_until(support::WAIT, "node a has the den's messages", || {
        seqs(&mut ann, "den").len() == 6
    });
    let on_a = seqs(&mut ann, "den");
    let on_b = seqs(&mut eve, "den");
    assert_ne!(on_a, on_b, "the nodes number their records differently");
    ok(&ann.request(HistoryRequest::MarkRead {
        room: "den".into(),
        seq: on_a[3],
    }));
    let unread = ok(&ann.request(HistoryRequest::Unread));
    assert!(unread.contains("2 new messages in den"), "{unread}");
    drop(ann);

    let mut ann = login(b.server.port, "ann", "ann-secret");
    let unread = ok(&ann.request(HistoryRequest::Unread));
    assert!(unread.contains("2 new messages in den"), "on b: {unread}");
    // Backwards is not a move.
    ok(&ann.request(HistoryRequest::MarkRead {
        room: "den".into(),
        seq: on_b[1],
    }));
    let unread = ok(&ann.request(HistoryRequest::Unread));
    assert!(unread.contains("2 new messages in den"), "{unread}");
    // Forward on b holds on a.
    ok(&ann.request(HistoryRequest::MarkRead {
        room: "den".into(),
        seq: on_b[4],
    }));
    drop(ann);
    let mut ann = login(a.server.port, "ann", "ann-secret");
    let unread = ok(&ann.request(HistoryRequest::Unread));
    assert!(
        unread.contains("1 new message in den"),
        "back on a: {unread}"
    );
}

/// Search on one node finds a room message sent on another (every node's
/// log.txt holds every room message), and a whisper between users of two
/// nodes is found by either of them on either node (both nodes store it).
#[test]
fn search_finds_what_was_said_on_other_nodes() {
    let Some(redis) = RedisServer::start("search_across_nodes", &[]) else {
        return;
    };
    let a = Node::start(&redis, "a");
    let b = Node::start(&redis, "b");
    let mut ann = Raw::register(a.server.port, "ann", "ann-secret");
    let mut bob = Raw::register(b.server.port, "bob", "bob-secret");
    bob.say("a needle said on b");
    ok(&ann.request(chat::command::ChatRequest::Whisper {
        to: "bob".into(),
        text: "a whispered needle".into(),
    }));
    bob.expect_event(|e| matches!(e, Event::Whisper { text, .. } if text == "a whispered needle"));
    let search = |raw: &mut Raw| {
        ok(&raw.request(HistoryRequest::Search {
            text: "NEEDLE".into(),
            room: None,
            before: None,
        }))
    };
    for (who, raw) in [("ann on a", &mut ann), ("bob on b", &mut bob)] {
        let mut found = String::new();
        wait_until(support::WAIT, "both found", || {
            found = search(raw);
            found.contains("a needle said on b") && found.contains("a whispered needle")
        });
        assert!(found.starts_with("2 message(s)"), "{who}: {found}");
    }
    drop(ann);
    drop(bob);
    let mut ann = login(b.server.port, "ann", "ann-secret");
    let found = search(&mut ann);
    assert!(
        found.contains("ann -> bob: a whispered needle"),
        "ann on b: {found}"
    );
    let mut bob = login(a.server.port, "bob", "bob-secret");
    let found = search(&mut bob);
    assert!(
        found.contains("ann -> bob: a whispered needle"),
        "bob on a: {found}"
    );
    assert!(found.contains("a needle said on b"), "bob on a: {found}");
}

/// An IRC client with the history capabilities, logged in with `PASS`,
/// past the names of #lobby.
fn irc(port: u16, nick: &str, password: &str) -> support::irc_clients::RawIrc {
    let mut irc = support::irc_clients::RawIrc::connect(port);
    irc.nick = nick.to_string();
    irc.send("CAP LS 302");
    irc.send(&format!("PASS {password}"));
    irc.send(&format!("NICK {nick}"));
    irc.send(&format!("USER {nick} 0 * :test"));
    irc.send("CAP REQ :batch server-time message-tags draft/chathistory draft/read-marker");
    irc.send("CAP END");
    irc.expect("366 for #lobby", |m| {
        m.command == "366" && m.param(1) == Some("#lobby")
    });
    irc
}

/// `MARKREAD` of the IRC door: a marker set on node a by time is the same
/// marker (the same message's time) on node b.
#[test]
fn irc_markread_is_the_same_on_every_node() {
    let Some(redis) = RedisServer::start("irc_markers_across_nodes", &[]) else {
        return;
    };
    let a = Node::start(&redis, "a");
    let b = Node::start(&redis, "b");
    let mut ann = Raw::register(a.server.port, "ann", "ann-secret");
    ok(&ann.request(chat::command::Control::Quit));
    let mut eve = Raw::login(b.server.port, "eve");
    ok(&eve.request(RoomRequest::Create {
        room: "den".into(),
        private: false,
    }));
    for i in 0..5 {
        eve.say(&format!("den message {i}"));
    }
    let mut on_a = irc(a.server.port, "ann", "ann-secret");
    let mut times = Vec::new();
    wait_until(support::WAIT, "node a has the den's messages", || {
        on_a.send("CHATHISTORY LATEST #den * 10");
        let lines = on_a.collect_until("the batch's end", |m| {
            m.command == "BATCH" && m.params[0].starts_with('-')
        });
        times = lines
            .iter()
            .filter(|m| m.command == "PRIVMSG")
            .filter_map(|m| m.tag("time").map(str::to_string))
            .collect();
        times.len() == 5
    });
    let marker = format!("timestamp={}", times[2]);
    on_a.send(&format!("MARKREAD #den {marker}"));
    let set = on_a.expect("MARKREAD", |m| m.command == "MARKREAD");
    assert_eq!(set.params, ["#den".to_string(), marker.clone()]);
    on_a.send("QUIT");
    let _ = on_a.expect_closed();

    let mut on_b = irc(b.server.port, "ann", "ann-secret");
    on_b.send("MARKREAD #den");
    let got = on_b.expect("MARKREAD", |m| m.command == "MARKREAD");
    assert_eq!(got.params, ["#den".to_string(), marker], "on node b");
}
