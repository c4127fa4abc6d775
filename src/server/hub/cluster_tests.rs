//! The hub's side of a cluster, without Redis: users on other nodes
//! arriving, moving and leaving (announced to local members as if they
//! were here), this node's presence changes handed out, and rooms created,
//! changed and closed elsewhere applied here.
#![cfg(test)]

use std::sync::mpsc;

use super::tests::World;
use super::*;
use crate::server::rooms::RoomRecord;

#[test]
fn users_on_other_nodes_are_announced_and_listed_with_their_node() {
    let mut w = World::new("remote-users", 100);
    let (tx, _rx) = mpsc::channel();
    w.hub.publish_presence("a", tx);
    let ann = w.join("ann", false, 0);
    w.take(ann);
    w.hub
        .remote_changed("b", "bob", Some(vec!["lobby".into()]), 1);
    assert_eq!(w.take(ann), ["join lobby bob 2"]);
    let users = w.hub.users(None);
    let nodes: Vec<(String, Option<String>)> = users
        .iter()
        .map(|p| (p.nick.clone(), p.node.clone()))
        .collect();
    assert_eq!(
        nodes,
        [
            ("ann".to_string(), Some("a".to_string())),
            ("bob".to_string(), Some("b".to_string()))
        ]
    );
    assert!(w.hub.is_online("BOB"));
    let view = w.hub.room_view(None, "lobby").unwrap();
    assert_eq!(view.members, ["ann", "bob"]);
    // The same news twice is told once.
    w.hub
        .remote_changed("b", "bob", Some(vec!["lobby".into()]), 2);
    assert!(w.take(ann).is_empty());
    // A newcomer here counts bob too.
    let cy = w.join("cy", false, 0);
    assert_eq!(w.take(ann), ["join lobby cy 3"]);
    w.hub.logout(
        cy,
        &crate::event::Parting::Quit(String::new()),
        &mut World::owed(),
    );
    w.take(ann);
    w.hub.remote_changed("b", "bob", None, 3);
    assert_eq!(
        w.take(ann),
        [r#"leave lobby bob 1 Quit("offline on node b")"#]
    );
    assert!(!w.hub.is_online("bob"));
}

#[test]
fn a_dead_nodes_users_all_leave_and_a_local_name_is_never_shadowed() {
    let mut w = World::new("remote-dead", 100);
    let ann = w.join("ann", false, 0);
    w.hub.remote_node(
        "b",
        vec![
            ("bob".into(), vec!["lobby".into()], 1),
            ("cat".into(), vec![], 1),
            ("ann".into(), vec!["lobby".into()], 1),
        ],
        None,
    );
    assert_eq!(
        w.take(ann),
        ["entered lobby 1 history=0", "join lobby bob 2"]
    );
    assert_eq!(w.hub.remote_nodes().into_iter().collect::<Vec<_>>(), ["b"]);
    assert!(w.hub.remote_user("ann").is_none(), "ann is here");
    w.hub.remote_node("b", Vec::new(), None);
    assert_eq!(
        w.take(ann),
        [r#"leave lobby bob 1 Quit("offline on node b")"#]
    );
    assert!(w.hub.remote_nodes().is_empty());
}

/// Node "a" publishing to the receiver returned, with ann logged in and
/// in the room den she created.
fn ann_in_den(w: &mut World) -> (mpsc::Receiver<PresenceChange>, ClientId) {
    let (tx, rx) = mpsc::channel();
    w.hub.publish_presence("a", tx);
    let ann = w.join("ann", false, 0);
    w.create(ann, "den", false);
    (rx, ann)
}

/// The presence changes handed out so far.
fn published(rx: &mpsc::Receiver<PresenceChange>) -> Vec<(String, Option<Vec<String>>)> {
    rx.try_iter().map(|c| (c.nick, c.rooms)).collect()
}

#[test]
fn local_presence_changes_are_handed_out_for_the_other_nodes() {
    let mut w = World::new("remote-publish", 100);
    let (rx, ann) = ann_in_den(&mut w);
    w.hub.logout(
        ann,
        &crate::event::Parting::Quit(String::new()),
        &mut World::owed(),
    );
    let seen = published(&rx);
    // One change per move, none halfway (no empty list between two rooms,
    // no part before the quit: the other nodes would show a part, not the
    // quit, and could be asked about ann in the gap).
    assert_eq!(
        seen,
        [
            ("ann".into(), Some(vec!["lobby".into()])),
            ("ann".into(), Some(vec!["den".into()])),
            ("ann".into(), None),
        ]
    );
}

/// In several rooms at once, a part and a kick each tell the other nodes
/// the rooms left, once.
#[test]
fn parts_and_kicks_in_many_rooms_are_published_once() {
    let mut w = World::new("remote-parts", 100);
    let (rx, ann) = ann_in_den(&mut w);
    let bob = w.join("bob", true, 0);
    for room in ["lobby", "den"] {
        w.enter(bob, room);
    }
    rx.try_iter().for_each(drop);
    w.hub
        .kick_from_room(ann, None, "bob", "out", &mut World::owed())
        .unwrap();
    w.hub
        .leave_room(bob, Some("lobby"), "", &mut World::owed())
        .unwrap();
    let seen = published(&rx);
    assert_eq!(
        seen,
        [
            ("bob".into(), Some(vec!["lobby".into()])),
            ("bob".into(), Some(vec![])),
        ]
    );
}

/// A full publication after changes were queued: the queued ones are
/// older than the snapshot, and sent after it they would tell the other
/// nodes ann left the room she is in.
#[test]
fn a_presence_snapshot_drops_the_changes_queued_before_it() {
    let mut w = World::new("remote-snapshot", 100);
    let (rx, _) = ann_in_den(&mut w);
    let snapshot: Vec<(String, Option<Vec<String>>)> = w
        .hub
        .presence_snapshot(&rx)
        .into_iter()
        .map(|c| (c.nick, c.rooms))
        .collect();
    assert_eq!(snapshot, [("ann".into(), Some(vec!["den".into()]))]);
    assert_eq!(rx.try_iter().count(), 0, "the queued changes are in it");
    let bob = w.join("bob", false, 0);
    w.hub.logout(
        bob,
        &crate::event::Parting::Quit(String::new()),
        &mut World::owed(),
    );
    assert_eq!(
        published(&rx),
        [
            ("bob".into(), Some(vec!["lobby".into()])),
            ("bob".into(), None)
        ]
    );
}

#[test]
fn rooms_changed_elsewhere_are_applied_here() {
    let mut w = World::new("shared-rooms", 100);
    let (ann, bob) = (w.join("ann", false, 0), w.join("bob", false, 0));
    let record = |bans: &[&str]| RoomRecord {
        name: "Den".into(),
        owner: "zed".into(),
        private: false,
        bans: bans.iter().map(|b| b.to_string()).collect(),
        permits: Vec::new(),
    };
    w.hub
        .apply_shared_room("den", Some(record(&[])), false)
        .unwrap();
    w.enter(ann, "den");
    w.enter(bob, "den");
    w.take(ann);
    w.take(bob);
    w.hub
        .apply_shared_room("den", Some(record(&["bob"])), false)
        .unwrap();
    assert!(w.take(bob).contains(&"removed Den Banned".to_string()));
    assert!(matches!(
        w.hub.join_room(bob, "den", None, &mut World::owed()),
        Err(Refused::Banned { .. })
    ));
    let stored = std::fs::read_to_string(w.dir().join("rooms.txt")).unwrap();
    assert_eq!(stored, "Den\tzed\tpublic\tbob\t\n", "kept in rooms.txt too");
    w.hub.apply_shared_room("den", None, false).unwrap();
    assert!(w
        .take(ann)
        .contains(&"removed Den Closed { by_operator: false }".to_string()));
    assert!(w.hub.room_list(None).iter().all(|r| r.name != "Den"));
    // Redis as the last word: rooms it lacks are closed, those it has appear.
    w.hub
        .apply_shared_room("den", Some(record(&[])), false)
        .unwrap();
    let missing = w
        .hub
        .apply_shared_rooms(|| Ok::<_, ()>(Vec::new()), false)
        .unwrap();
    assert_eq!(missing.len(), 1, "not authoritative: kept, to write back");
    assert!(w.hub.room_list(None).iter().any(|r| r.name == "Den"));
    w.hub
        .apply_shared_rooms(|| Ok::<_, ()>(Vec::new()), true)
        .unwrap();
    assert!(w.hub.room_list(None).iter().all(|r| r.name != "Den"));
}

/// A full read of a node's presence that began before a change heard on
/// the channel does not undo it: a user who logged out stays gone, one
/// who came stays; the next read, begun after, applies in full.
#[test]
fn a_full_read_older_than_a_change_heard_does_not_undo_it() {
    let mut w = World::new("remote-stale", 100);
    let ann = w.join("ann", false, 0);
    w.hub
        .remote_changed("b", "bob", Some(vec!["lobby".into()]), 4);
    let mark = w.hub.presence_mark();
    // Read in full now: bob still there, cat not yet.
    let read = vec![("bob".to_string(), vec!["lobby".to_string()], 1)];
    // Meanwhile heard: bob logged out, cat came.
    w.hub.remote_changed("b", "bob", None, 5);
    w.hub
        .remote_changed("b", "cat", Some(vec!["lobby".into()]), 6);
    w.take(ann);
    w.hub.remote_node("b", read, Some(mark));
    w.hub.presence_synced(mark);
    assert!(w.hub.remote_user("bob").is_none(), "bob's logout stands");
    assert!(w.hub.remote_user("cat").is_some(), "cat's arrival stands");
    assert!(w.take(ann).is_empty(), "nobody told twice");
    // A read begun after those changes is the truth again.
    let mark = w.hub.presence_mark();
    w.hub.remote_node("b", vec![], Some(mark));
    assert!(w.hub.remote_user("cat").is_none());
}

/// A full read newer than messages still on their way: those arrive after
/// it, and must not take bob back out of den (he was seen leaving a room
/// he was in, and a KICK in that moment was refused). Newer ones apply.
#[test]
fn changes_older_than_the_last_applied_are_echoes_and_dropped() {
    let mut w = World::new("remote-versions", 100);
    let (_, ann) = ann_in_den(&mut w);
    w.hub
        .remote_changed("b", "bob", Some(vec!["lobby".into()]), 10);
    let mark = w.hub.presence_mark();
    w.hub.remote_node(
        "b",
        vec![("bob".into(), vec!["den".into()], 30)],
        Some(mark),
    );
    assert_eq!(w.take(ann).last().unwrap(), "join den bob 2");
    // The messages of 20 (bob left the lobby) and 30 (he entered den) come after.
    w.hub.remote_changed("b", "bob", Some(vec![]), 20);
    w.hub
        .remote_changed("b", "bob", Some(vec!["den".into()]), 30);
    assert_eq!(w.hub.remote_user("bob").unwrap().rooms, ["den"]);
    assert_eq!(w.take(ann), Vec::<String>::new(), "no part, no join again");
    // A newer change applies; an older offline does not log bob out.
    w.hub
        .remote_changed("b", "bob", Some(vec!["lobby".into()]), 40);
    assert_eq!(w.take(ann), ["leave den bob 1"]);
    w.hub.remote_changed("b", "bob", None, 35);
    assert!(w.hub.remote_user("bob").is_some());
    // Another node's numbers are not compared: bob moved there.
    w.hub.remote_changed("b", "bob", None, 50);
    w.hub
        .remote_changed("c", "bob", Some(vec!["lobby".into()]), 5);
    assert_eq!(w.hub.remote_user("bob").unwrap().node, "c");
    // Without a version (0), a change applies as it comes.
    w.hub.remote_changed("c", "bob", None, 0);
    assert!(w.hub.remote_user("bob").is_none());
    // A node found dead and started again numbers afresh (its clock may
    // have gone back): its numbers from before are forgotten.
    w.hub
        .remote_changed("b", "dan", Some(vec!["lobby".into()]), 100);
    w.hub.remote_node("b", Vec::new(), None);
    w.hub
        .remote_changed("b", "dan", Some(vec!["lobby".into()]), 7);
    assert!(w.hub.remote_user("dan").is_some());
}

#[test]
fn redis_answering_with_an_error_is_a_refusal_not_an_outage() {
    let oom = crate::cluster::RedisError::Server {
        code: "OOM".into(),
        message: "OOM command not allowed when used memory > 'maxmemory'".into(),
    };
    assert!(matches!(
        cluster::redis_refusal(&oom),
        Refused::ClusterRefused(why) if why.contains("OOM command not allowed")
    ));
    let gone = crate::cluster::RedisError::Closed;
    assert!(matches!(
        cluster::redis_refusal(&gone),
        Refused::ClusterUnavailable(_)
    ));
}
