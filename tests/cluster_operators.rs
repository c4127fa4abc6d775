//! The operator's console on one node acts on the whole cluster (real
//! redis-server, real nodes): `/users` and `/ls` list users and rooms of
//! every node, `/kill ROOM` closes a room everywhere (its members on other
//! nodes told, its shared files retired on every node), `/kick NICK`
//! disconnects a user on another node. Without redis-server the tests say
//! they skipped (with CI=true they fail).

mod support;

use chat::cluster::resp::{Command, Value};
use chat::command::RoomRequest;
use chat::event::Event;
use chat::protocol::Status;
use support::cluster::{redis_client, wait_until, Node};
use support::redis::RedisServer;
use support::{Raw, WAIT};

#[test]
fn the_console_of_one_node_acts_on_every_node() {
    let Some(redis) = RedisServer::start("operators_across_nodes", &[]) else {
        return;
    };
    let mut a = Node::start_with(&redis, "a", &[]);
    let b = Node::start_with(&redis, "b", &[]);
    let mut bob = Raw::login(b.server.port, "bob");
    let create = bob.request(RoomRequest::Create {
        room: "den".into(),
        private: false,
    });
    assert_eq!(create.status_code(), Some(Status::OK), "{create:?}");
    let mut ann = Raw::login(a.server.port, "ann");
    let join = ann.request(RoomRequest::Join { room: "den".into() });
    assert_eq!(join.status_code(), Some(Status::OK), "{join:?}");
    // A file shared in den from node a, known on node b.
    let shared = ann.upload("notes.txt", b"notes");
    assert_eq!(shared.status_code(), Some(Status::OK), "{shared:?}");
    bob.expect_event(|e| matches!(e, Event::File { name, .. } if name == "notes.txt"));

    // /users on a lists bob on b, with his room; /ls lists b's room.
    let mut round = 0;
    wait_until(WAIT, "/users on a lists bob", || {
        round += 1;
        a.server.console("/users");
        a.server
            .stdout
            .wait_for_n("user(s) online", round)
            .contains("bob in den")
    });
    a.server.console("/ls");
    a.server.stdout.wait_for("den  owner: bob");

    // /kill den on a: bob, on b, is taken out, and den is gone there.
    a.server.console("/kill den");
    a.server.stdout.wait_for("killed den");
    bob.expect_event(|e| {
        matches!(e, Event::Notice { text } if text == "room den was closed by the server operator")
    });
    wait_until(WAIT, "den gone on b", || {
        let listed = bob.request(RoomRequest::Rooms).text_lossy();
        !listed.contains("den")
    });
    wait_until(WAIT, "den's file retired on b", || {
        std::fs::read_to_string(b.dir.path().join("files.txt"))
            .is_ok_and(|t| t.contains("\tden (closed)\tann\t"))
    });
    // Its bytes are gone from Redis: nobody may fetch them again.
    let mut redis_client = redis_client(&redis);
    let left = redis_client
        .request(&Command::new("KEYS").arg("chat:file:*"))
        .expect("KEYS");
    assert_eq!(left, Value::Array(vec![]), "{left:?}");

    // /kick bob on a: his connection on b is closed.
    a.server.console("/kick bob");
    a.server.stdout.wait_for("kicked bob");
    bob.expect_closed();
    wait_until(WAIT, "bob gone from /users on a", || {
        a.server.console("/users");
        std::thread::sleep(std::time::Duration::from_millis(100));
        let text = a.server.stdout.text();
        let last = text.rsplit("user(s) online").next().unwrap_or("");
        !last.contains("bob")
    });
}
