//! An invitation reaches the invited user on another node of the cluster
//! (real redis-server, real nodes): a chat owner's `/permit` on node a
//! tells a chat user on node b, and an IRC `INVITE` on node a reaches an
//! IRC user on node b as an `INVITE` line. Without redis-server the test
//! says it skipped (with CI=true it fails).

mod support;

use chat::command::{ListKind, RoomRequest};
use chat::event::Event;
use chat::protocol::Status;
use support::cluster::{wait_until, Node};
use support::irc_clients::RawIrc;
use support::redis::RedisServer;
use support::{Raw, WAIT};

#[test]
fn an_invitation_reaches_a_user_on_another_node() {
    let Some(redis) = RedisServer::start("invite_across_nodes", &[]) else {
        return;
    };
    let mut a = Node::start_with(&redis, "a", &[]);
    let b = Node::start_with(&redis, "b", &[]);
    let mut tom = Raw::login(a.server.port, "tom");
    let mut bob = Raw::login(b.server.port, "bob");
    let mut al = RawIrc::register(b.server.port, "al");
    let mut eve = RawIrc::register(a.server.port, "eve");
    // Node a knows both users of node b.
    let mut round = 0;
    wait_until(WAIT, "/users on a lists bob and al", || {
        round += 1;
        a.server.console("/users");
        let out = a.server.stdout.wait_for_n("user(s) online", round);
        out.contains("bob in") && out.contains("al in")
    });
    let create = tom.request(RoomRequest::Create {
        room: "den".into(),
        private: true,
    });
    assert_eq!(create.status_code(), Some(Status::OK), "{create:?}");
    let permit = tom.request(RoomRequest::ChangeList {
        list: ListKind::Permits,
        nick: "bob".into(),
        add: true,
        room: Some("den".into()),
    });
    assert_eq!(permit.status_code(), Some(Status::OK), "{permit:?}");
    bob.expect_event(|e| {
        matches!(e, Event::Notice { text } if text.contains("tom invites you into den: /join den"))
    });
    let join = bob.request(RoomRequest::Join { room: "den".into() });
    assert_eq!(join.status_code(), Some(Status::OK), "{join:?}");

    eve.send("JOIN #study");
    eve.expect("the JOIN echo", |m| m.command == "JOIN");
    eve.send("INVITE al #study");
    eve.expect("341", |m| m.command == "341");
    let m = al.expect("the invitation", |m| m.command == "INVITE");
    assert_eq!(m.params, ["al", "#study"]);
    assert!(
        m.source.as_deref().unwrap_or("").starts_with("eve!"),
        "{m:?}"
    );
}
