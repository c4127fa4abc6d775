//! Several servers, one chat: three nodes on loopback share one real
//! redis-server (started by the test on a free port, append-only file on).
//! Room messages across nodes in one order (every client's sequence
//! compared with the stream's, every node's log.txt with the others'),
//! nicknames unique across nodes, a SIGKILLed node's nicknames freed, and
//! Redis stopped mid-flood. Without redis-server the tests say they
//! skipped (with CI=true they fail).

mod support;

use std::thread;
use std::time::{Duration, Instant};

use chat::cluster::{Client, Config, RedisUrl, StreamBound, StreamId};
use chat::command::{AccountRequest, ChatRequest, RoomRequest};
use chat::event::{Event, Parting};
use chat::protocol::Status;
use chat::server::history::{for_each_record, Kind};
use support::cluster::{redis_client, wait_until, Node};
use support::redis::RedisServer;
use support::{bell_at_50, burst_answer, ping_answer_last, Raw, WAIT};

/// The room messages in the stream's order, as `from: text`: as `node`'s
/// log.txt holds them, checked to be in ascending stream ID order (the
/// stream itself may be trimmed by now: see `tests/cluster_trim.rs`), and
/// the stream's entries still there agree with it.
fn stream_order(redis: &RedisServer, node: &Node) -> Vec<String> {
    let logged = logged(node);
    let ids: Vec<StreamId> = logged
        .iter()
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{logged:?}");
    let mut client = redis_client(redis);
    for e in client
        .xrange("chat:messages", StreamBound::Min, StreamBound::Max, None)
        .expect("xrange")
    {
        let field = |n: &str| String::from_utf8_lossy(e.field(n.as_bytes()).unwrap()).into_owned();
        let entry = format!("{} {}: {}", e.id, field("from"), field("text"));
        assert!(logged.contains(&entry), "{entry} not in the log");
    }
    logged
        .into_iter()
        .map(|l| l.split_once(' ').unwrap().1.to_string())
        .collect()
}

/// A node's log.txt room messages, as `stream-id from: text`.
fn logged(node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    for_each_record(&node.dir.path().join("log.txt"), |r| {
        if r.kind == Kind::Message {
            out.push(format!("{} {}: {}", r.to, r.from, r.text));
        }
    })
    .expect("read log.txt");
    out
}

/// Messages `raw` has been sent, as `from: text`, until it has `n`.
fn collect_messages(raw: &mut Raw, got: &mut Vec<String>, n: usize) {
    while got.len() < n {
        if let Event::Message { from, text, .. } =
            raw.expect_event(|e| matches!(e, Event::Message { .. }))
        {
            got.push(format!("{from}: {text}"));
        }
    }
}

/// What ann's messages `bob` heard (`got` so far, then until the last of
/// `ok` arrives), checked: nothing twice, and every message answered 200
/// once and in order.
fn heard_once_in_order(bob: &mut Raw, mut got: Vec<String>, ok: &[String]) -> Vec<String> {
    let last = ok.last().expect("some accepted");
    while !got.contains(&format!("ann: {last}")) {
        let n = got.len() + 1;
        collect_messages(bob, &mut got, n);
    }
    let texts: Vec<String> = got
        .iter()
        .map(|m| m.trim_start_matches("ann: ").to_string())
        .collect();
    let mut unique = texts.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), texts.len(), "nothing delivered twice");
    let accepted: Vec<&String> = texts.iter().filter(|t| ok.contains(t)).collect();
    assert_eq!(
        accepted,
        ok.iter().collect::<Vec<_>>(),
        "every 200 once, in order"
    );
    texts
}

/// Says `text`, keeping the messages that arrive before the reply; the
/// reply's status.
fn say_keeping(raw: &mut Raw, text: &str, got: &mut Vec<String>) -> Option<Status> {
    let (reply, events) = raw.request_with_events(ChatRequest::Say {
        room: None,
        text: text.into(),
    });
    for event in events {
        if let Event::Message { from, text, .. } = event {
            got.push(format!("{from}: {text}"));
        }
    }
    reply.status_code()
}

/// Clients on three nodes chat at once: each receives the others'
/// messages in the stream's order, and each node's log.txt holds the same
/// messages in the same order with their stream IDs.
#[test]
fn chat_across_three_nodes_arrives_in_one_order_everywhere() {
    let Some(redis) = RedisServer::start("chat_across_nodes", &[]) else {
        return;
    };
    let nodes: Vec<Node> = ["a", "b", "c"]
        .iter()
        .map(|id| Node::start(&redis, id))
        .collect();
    let nicks = ["ann", "bob", "cat", "dan"];
    let mut clients: Vec<Raw> = nicks
        .iter()
        .enumerate()
        .map(|(i, nick)| Raw::login(nodes[i % 3].server.port, nick))
        .collect();
    const EACH: usize = 40;
    let clients = std::mem::take(&mut clients);
    let handles: Vec<_> = clients
        .into_iter()
        .zip(nicks)
        .map(|(mut raw, nick)| {
            thread::spawn(move || {
                let mut got = Vec::new();
                let status = say_keeping(&mut raw, "hello", &mut got);
                assert_eq!(status, Some(Status::OK), "{nick} hello");
                for i in 0..EACH {
                    let status = say_keeping(&mut raw, &format!("{nick} {i}"), &mut got);
                    assert_eq!(status, Some(Status::OK), "{nick} {i}");
                }
                // Everyone else's hello and flood.
                collect_messages(&mut raw, &mut got, (nicks.len() - 1) * (EACH + 1));
                (nick, got)
            })
        })
        .collect();
    let received: Vec<(&str, Vec<String>)> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    let order = stream_order(&redis, &nodes[0]);
    assert_eq!(order.len(), nicks.len() * (EACH + 1));
    for (nick, got) in &received {
        let expected: Vec<&String> = order
            .iter()
            .filter(|m| !m.starts_with(&format!("{nick}: ")))
            .collect();
        let got: Vec<&String> = got.iter().collect();
        assert_eq!(got, expected, "{nick} saw the stream's order");
    }
    let first = logged(&nodes[0]);
    assert_eq!(first.len(), order.len());
    for node in &nodes[1..] {
        wait_until(WAIT, "every node stored every message", || {
            logged(node).len() == first.len()
        });
        assert_eq!(logged(node), first, "same records, same order, same IDs");
    }
}

/// The same nickname logged in on two nodes at once: exactly one wins,
/// and once the winner logs out the name is free on every node.
#[test]
fn a_nickname_is_unique_across_nodes() {
    let Some(redis) = RedisServer::start("nick_race", &[]) else {
        return;
    };
    let a = Node::start(&redis, "a");
    let b = Node::start(&redis, "b");
    for round in 0..5 {
        let nick = format!("race{round}");
        let ports = [a.server.port, b.server.port];
        let results: Vec<(Raw, Option<Status>)> = ports
            .iter()
            .map(|&port| {
                let nick = nick.clone();
                thread::spawn(move || {
                    let mut raw = Raw::connect(port);
                    let reply = raw.request(AccountRequest::Login {
                        many_rooms: false,
                        nick,
                        password: None,
                    });
                    (raw, reply.status_code())
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        let winners = results
            .iter()
            .filter(|(_, s)| *s == Some(Status::OK))
            .count();
        assert_eq!(
            winners,
            1,
            "round {round}: {:?}",
            results.iter().map(|r| r.1).collect::<Vec<_>>()
        );
        assert!(results.iter().any(|(_, s)| *s == Some(Status::CONFLICT)));
    }
    // Logged out on a: free on b at once.
    let mut ann = Raw::login(a.server.port, "ann");
    let mut taken = Raw::connect(b.server.port);
    let reply = taken.request(AccountRequest::Login {
        many_rooms: false,
        nick: "ann".into(),
        password: None,
    });
    assert_eq!(reply.status_code(), Some(Status::CONFLICT));
    let _ = ann.request(AccountRequest::Logout);
    drop(ann);
    wait_until(WAIT, "ann released", || {
        let mut raw = Raw::connect(b.server.port);
        let reply = raw.request(AccountRequest::Login {
            many_rooms: false,
            nick: "ann".into(),
            password: None,
        });
        reply.status_code() == Some(Status::OK)
    });
}

/// Redis is killed for 5 s in the middle of a flood and restarted (its
/// append-only file keeps what it acknowledged): senders are told 503
/// while it is away and stay connected; every message answered 200 reaches
/// the other node exactly once, in order; nothing arrives twice; one told
/// "nothing was done" never arrives, and of those told they may have gone
/// out, at most one write's worth does.
#[test]
fn redis_stopped_mid_flood_loses_and_repeats_nothing() {
    flood_through_an_outage("redis_stopped", 1);
}

/// The same with five messages in each write (one pipeline each).
#[test]
fn redis_stopped_mid_burst_flood_loses_and_repeats_nothing() {
    flood_through_an_outage("redis_stopped_bursts", 5);
}

/// ann on node a floods, `per_write` messages in each write, bob on node
/// b listening, while Redis is killed for 5 s and restarted.
fn flood_through_an_outage(name: &str, per_write: usize) {
    let Some(mut redis) = RedisServer::start(name, &[]) else {
        return;
    };
    let a = Node::start(&redis, "a");
    let b = Node::start(&redis, "b");
    let mut ann = Raw::login(a.server.port, "ann");
    let mut bob = Raw::login(b.server.port, "bob");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood = {
        let stop = std::sync::Arc::clone(&stop);
        thread::spawn(move || {
            let (mut ok, mut refused, mut doubt) = (Vec::new(), Vec::new(), Vec::new());
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let texts: Vec<String> = (i..i + per_write).map(|n| format!("m{n}")).collect();
                ann.say_together(texts.clone(), false);
                for text in texts {
                    let reply = ann.next_reply();
                    match reply.status_code() {
                        Some(Status::OK) => ok.push(text),
                        Some(Status::UNAVAILABLE) if reply.text_lossy().contains("may have") => {
                            doubt.push(text)
                        }
                        Some(Status::UNAVAILABLE) => refused.push(text),
                        other => panic!("{text}: {other:?} {reply:?}"),
                    }
                }
                i += per_write;
                if !refused.is_empty() || !doubt.is_empty() {
                    // Not a timing device: spares the CPU while Redis is away.
                    thread::sleep(Duration::from_millis(5));
                }
            }
            (ann, ok, refused, doubt)
        })
    };
    let mut got = Vec::new();
    collect_messages(&mut bob, &mut got, 100);
    redis.kill();
    thread::sleep(Duration::from_secs(5));
    redis.restart();
    // Chat resumes: bob hears messages sent after the restart.
    let before = got.len();
    collect_messages(&mut bob, &mut got, before + 100);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ann, ok, refused, doubt) = flood.join().unwrap();
    eprintln!(
        "{} accepted, {} told nothing was done, {} told they may have gone out",
        ok.len(),
        refused.len(),
        doubt.len()
    );
    assert!(
        !refused.is_empty() || !doubt.is_empty(),
        "some senders were told 503"
    );
    let texts = heard_once_in_order(&mut bob, got, &ok);
    let wrongly = texts.iter().filter(|t| refused.contains(t)).count();
    assert_eq!(wrongly, 0, "a message told 'nothing was done' arrived");
    // Messages whose XADDs were in flight when Redis died may be in Redis
    // though their sender was told they may have gone out: one pipeline.
    let in_doubt = texts.iter().filter(|t| doubt.contains(t)).count();
    assert!(in_doubt <= per_write, "{in_doubt} in doubt delivered");
    // The sender is still connected and chatting.
    ann.say("still here");
    bob.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "still here"));
}

/// A node killed with SIGKILL: within 30 s its users' nicknames are free
/// on the other nodes, and the others keep chatting.
#[test]
fn a_killed_nodes_nicknames_are_freed() {
    let Some(redis) = RedisServer::start("node_killed", &[]) else {
        return;
    };
    let mut a = Node::start(&redis, "a");
    let b = Node::start(&redis, "b");
    let c = Node::start(&redis, "c");
    let _ann = Raw::login(a.server.port, "ann");
    let mut bob = Raw::login(b.server.port, "bob");
    let mut cat = Raw::login(c.server.port, "cat");
    let login = |port: u16, nick: &str| {
        let mut raw = Raw::connect(port);
        let reply = raw.request(AccountRequest::Login {
            many_rooms: false,
            nick: nick.into(),
            password: None,
        });
        (raw, reply.status_code())
    };
    assert_eq!(login(b.server.port, "ann").1, Some(Status::CONFLICT));
    // Everyone is seen on every node before the kill.
    for raw in [&mut bob, &mut cat] {
        wait_until(WAIT, "ann listed on b and c", || {
            users_on(raw).contains("ann in lobby (node a)")
        });
    }
    a.server.kill();
    let killed = Instant::now();
    // The leave comes when the others notice, up to 30 s later.
    for raw in [&mut bob, &mut cat] {
        raw.stream
            .set_read_timeout(Some(Duration::from_secs(40)))
            .unwrap();
        raw.expect_event(|e| matches!(e, Event::Leave { nick, .. } if nick == "ann"));
        raw.stream.set_read_timeout(Some(WAIT)).unwrap();
    }
    let left = killed.elapsed();
    assert!(!users_on(&mut cat).contains("ann"), "ann gone from /users");
    wait_until(Duration::from_secs(40), "ann's claim expired", || {
        login(b.server.port, "ann").1 == Some(Status::OK)
    });
    assert!(
        killed.elapsed() <= Duration::from_secs(35) && left <= Duration::from_secs(32),
        "left after {left:?}; freed within the claim's life"
    );
    bob.say("still chatting");
    cat.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "still chatting"));
}

/// `/users` on `raw`'s node, as text.
fn users_on(raw: &mut Raw) -> String {
    let reply = raw.request(RoomRequest::Users);
    String::from_utf8_lossy(&reply.body).into_owned()
}

/// Users on other nodes are seen arriving and listed with their node, and
/// whispers cross nodes both ways.
#[test]
fn presence_and_whispers_cross_nodes() {
    let Some(redis) = RedisServer::start("presence_whispers", &[]) else {
        return;
    };
    let a = Node::start(&redis, "a");
    let b = Node::start(&redis, "b");
    let mut bob = Raw::login(b.server.port, "bob");
    let mut ann = Raw::login(a.server.port, "ann");
    bob.expect_event(
        |e| matches!(e, Event::Join { nick, room, .. } if nick == "ann" && room == "lobby"),
    );
    let users = users_on(&mut bob);
    assert!(users.contains("ann in lobby (node a)"), "{users}");
    assert!(users.contains("bob in lobby (node b)"), "{users}");
    wait_until(WAIT, "bob known on a", || {
        users_on(&mut ann).contains("bob in lobby (node b)")
    });
    let reply = bob.request(ChatRequest::Whisper {
        to: "ann".into(),
        text: "psst".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    ann.expect_event(
        |e| matches!(e, Event::Whisper { from, text, .. } if from == "bob" && text == "psst"),
    );
    let reply = ann.request(ChatRequest::Whisper {
        to: "bob".into(),
        text: "back".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    bob.expect_event(
        |e| matches!(e, Event::Whisper { from, text, .. } if from == "ann" && text == "back"),
    );
    let _ = ann.request(AccountRequest::Logout);
    // A quit, as for a user of this node, not a part from the lobby first.
    let left = bob.expect_event(|e| matches!(e, Event::Leave { nick, .. } if nick == "ann"));
    assert!(
        matches!(
            &left,
            Event::Leave {
                why: Parting::Quit(_),
                ..
            }
        ),
        "{left:?}"
    );
    let reply = bob.request(ChatRequest::Whisper {
        to: "ann".into(),
        text: "gone?".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::NOT_FOUND), "{reply:?}");
}

fn login_as(port: u16, nick: &str, password: Option<&str>) -> (Raw, Option<Status>) {
    let mut raw = Raw::connect(port);
    let reply = raw.request(AccountRequest::Login {
        many_rooms: false,
        nick: nick.into(),
        password: password.map(str::to_string),
    });
    (raw, reply.status_code())
}

/// An account registered on one node works on the others, and a password
/// changed on one holds on all.
#[test]
fn accounts_work_on_every_node() {
    let Some(redis) = RedisServer::start("accounts_across", &[]) else {
        return;
    };
    let a = Node::start(&redis, "a");
    let b = Node::start(&redis, "b");
    let mut ann = Raw::register(a.server.port, "ann", "correct horse");
    let _ = ann.request(AccountRequest::Logout);
    assert_eq!(
        login_as(b.server.port, "ann", None).1,
        Some(Status::UNAUTHORIZED),
        "a guest may not take it on b"
    );
    assert_eq!(
        login_as(b.server.port, "ann", Some("wrong horse")).1,
        Some(Status::UNAUTHORIZED)
    );
    let (mut on_b, status) = login_as(b.server.port, "ann", Some("correct horse"));
    assert_eq!(status, Some(Status::OK));
    let reply = on_b.request(AccountRequest::Passwd {
        old: "correct horse".into(),
        new: "battery staple".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    let _ = on_b.request(AccountRequest::Logout);
    assert_eq!(
        login_as(a.server.port, "ann", Some("correct horse")).1,
        Some(Status::UNAUTHORIZED),
        "the old password is gone on a too"
    );
    assert_eq!(
        login_as(a.server.port, "ann", Some("battery staple")).1,
        Some(Status::OK)
    );
}

/// A room created on one node exists on the others (one name, one room),
/// its ban list holds everywhere, and closing it on one node closes it
/// everywhere, its members told.
#[test]
fn rooms_are_the_same_on_every_node() {
    let Some(redis) = RedisServer::start("rooms_across", &[]) else {
        return;
    };
    let a = Node::start(&redis, "a");
    let b = Node::start(&redis, "b");
    let mut ann = Raw::login(a.server.port, "ann");
    let mut bob = Raw::login(b.server.port, "bob");
    let mut cat = Raw::login(b.server.port, "cat");
    let reply = ann.request(RoomRequest::Create {
        room: "den".into(),
        private: false,
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    let reply = cat.request(RoomRequest::Create {
        room: "DEN".into(),
        private: false,
    });
    assert_eq!(reply.status_code(), Some(Status::CONFLICT), "{reply:?}");
    wait_until(WAIT, "den known on b", || {
        bob.request(RoomRequest::Join { room: "den".into() })
            .status_code()
            == Some(Status::OK)
    });
    ann.expect_event(
        |e| matches!(e, Event::Join { nick, room, .. } if nick == "bob" && room == "den"),
    );
    bob.say("hi den");
    ann.expect_event(
        |e| matches!(e, Event::Message { text, room, .. } if text == "hi den" && room == "den"),
    );
    let reply = ann.request(RoomRequest::ChangeList {
        list: chat::command::ListKind::Bans,
        nick: "cat".into(),
        add: true,
        room: None,
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    wait_until(WAIT, "cat banned on b", || {
        cat.request(RoomRequest::Join { room: "den".into() })
            .status_code()
            == Some(Status::FORBIDDEN)
    });
    let reply = ann.request(RoomRequest::Close { room: None });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    bob.expect_event(
        |e| matches!(e, Event::Notice { text } if text.contains("room den was closed")),
    );
    let rooms = bob.request(RoomRequest::Rooms);
    assert!(
        !String::from_utf8_lossy(&rooms.body).contains("den"),
        "{rooms:?}"
    );
    let reply = bob.request(RoomRequest::Join { room: "den".into() });
    assert_eq!(reply.status_code(), Some(Status::NOT_FOUND), "{reply:?}");
}

/// Redis comes back empty (no persistence, restarted): the nodes notice
/// (the epoch key is gone), claim their users' nicknames again and write
/// back their rooms and accounts; chat goes on.
#[test]
fn nodes_restore_what_redis_lost() {
    let Some(mut redis) = RedisServer::start_volatile("redis_emptied") else {
        return;
    };
    let a = Node::start(&redis, "a");
    let b = Node::start(&redis, "b");
    let mut ann = Raw::register(a.server.port, "ann", "correct horse");
    let reply = ann.request(RoomRequest::Create {
        room: "den".into(),
        private: false,
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    let reply = ann.request(RoomRequest::Leave { room: None });
    assert_eq!(reply.status_code(), Some(Status::OK), "back to the lobby");
    let mut bob = Raw::login(b.server.port, "bob");
    redis.restart();
    let has = |key: &str, field: Option<&str>| {
        let Ok(mut c) = Client::connect(&Config::new(RedisUrl::parse(&redis.url()).unwrap()))
        else {
            return false;
        };
        match field {
            Some(f) => c.hget(key, f).ok().flatten().is_some(),
            None => c.get(key).ok().flatten().is_some(),
        }
    };
    wait_until(Duration::from_secs(30), "state written back", || {
        has("chat:nick:ann", None)
            && has("chat:nick:bob", None)
            && has("chat:rooms", Some("den"))
            && has("chat:accounts", Some("ann"))
            && has("chat:epoch", None)
    });
    assert_eq!(
        login_as(b.server.port, "ann", None).1,
        Some(Status::CONFLICT),
        "ann is still online on a"
    );
    wait_until(WAIT, "chat works again", || {
        bob.request(ChatRequest::Say {
            room: None,
            text: "back".into(),
        })
        .status_code()
            == Some(Status::OK)
    });
    ann.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "back"));
}

/// An IRC client registered as `nick` with `caps`, past the names of #lobby.
fn irc_with_caps(port: u16, nick: &str, caps: &str) -> support::irc_clients::RawIrc {
    let mut irc = support::irc_clients::RawIrc::connect(port);
    irc.nick = nick.to_string();
    irc.send("CAP LS 302");
    irc.send(&format!("NICK {nick}"));
    irc.send(&format!("USER {nick} 0 * :test"));
    irc.send(&format!("CAP REQ :{caps}"));
    irc.expect("CAP ACK", |m| {
        m.command == "CAP" && m.param(1) == Some("ACK")
    });
    irc.send("CAP END");
    irc.expect("366 for #lobby", |m| m.command == "366");
    irc
}

/// IRC and chat clients on three nodes: one order for everyone (the IRC
/// sender gets its own lines back in their place with echo-message), and
/// a whisper from IRC on one node to a chat client on another.
#[test]
fn irc_and_chat_clients_on_different_nodes_share_one_order() {
    let Some(redis) = RedisServer::start("irc_across", &[]) else {
        return;
    };
    let nodes: Vec<Node> = ["a", "b", "c"]
        .iter()
        .map(|id| Node::start(&redis, id))
        .collect();
    let mut al = irc_with_caps(nodes[0].server.port, "al", "echo-message");
    let mut bo = Raw::login(nodes[1].server.port, "bo");
    let mut cy = irc_with_caps(nodes[2].server.port, "cy", "echo-message");
    let mut dee = Raw::login(nodes[2].server.port, "dee");
    // Everyone is known everywhere before the messages (whispers need it).
    wait_until(WAIT, "al known on b", || {
        users_on(&mut bo).contains("al in lobby (node a)")
    });
    for i in 0..5 {
        al.send(&format!("PRIVMSG #lobby :from irc {i}"));
        bo.send(
            &chat::command::Request::from(ChatRequest::Say {
                room: None,
                text: format!("from chat {i}"),
            })
            .into_frame(),
        );
    }
    let read_irc = |irc: &mut support::irc_clients::RawIrc| -> Vec<String> {
        (0..10)
            .map(|_| irc.expect("PRIVMSG", |m| m.command == "PRIVMSG").params[1].clone())
            .collect()
    };
    let mut seen_by_dee = Vec::new();
    collect_messages(&mut dee, &mut seen_by_dee, 10);
    let seen_by_dee: Vec<String> = seen_by_dee
        .into_iter()
        .map(|m| m.split_once(": ").unwrap().1.to_string())
        .collect();
    assert_eq!(read_irc(&mut cy), seen_by_dee, "irc on c, chat on c");
    assert_eq!(
        read_irc(&mut al),
        seen_by_dee,
        "the irc sender on a, echoed"
    );
    let order: Vec<String> = stream_order(&redis, &nodes[0])
        .into_iter()
        .map(|m| m.split_once(": ").unwrap().1.to_string())
        .collect();
    assert_eq!(order, seen_by_dee, "the stream's order");
    al.send("PRIVMSG bo :psst from irc");
    bo.expect_event(
        |e| matches!(e, Event::Whisper { from, text, .. } if from == "al" && text == "psst from irc"),
    );
}

/// Kicks reach users on other nodes: a room owner's (here over IRC) takes
/// them out of the room, the operator's `/kick` on one node's console
/// disconnects them.
#[test]
fn kicks_reach_other_nodes() {
    let Some(redis) = RedisServer::start("kicks_across", &[]) else {
        return;
    };
    let mut a = Node::start(&redis, "a");
    let b = Node::start(&redis, "b");
    let mut al = irc_with_caps(a.server.port, "al", "echo-message");
    al.send("JOIN #den");
    al.expect("366 for #den", |m| {
        m.command == "366" && m.param(1) == Some("#den")
    });
    let mut bo = Raw::login(b.server.port, "bo");
    wait_until(WAIT, "den known on b", || {
        bo.request(RoomRequest::Join { room: "den".into() })
            .status_code()
            == Some(Status::OK)
    });
    al.expect("bo joins #den", |m| {
        m.command == "JOIN"
            && m.param(0) == Some("#den")
            && m.source.as_deref().is_some_and(|s| s.starts_with("bo!"))
    });
    al.send("KICK #den bo :too loud");
    bo.expect_event(|e| matches!(e, Event::Notice { text } if text.contains("den")));
    al.expect("bo kicked", |m| m.command == "KICK" || m.command == "PART");
    a.server.console("/kick bo");
    let frames = bo.expect_closed();
    assert!(
        frames
            .iter()
            .any(|f| String::from_utf8_lossy(&f.body).contains("kicked by the server operator")),
        "{frames:?}"
    );
}

/// A whisper to a registered user who is offline waits in Redis and is
/// handed over, once, on whichever node they log in next.
#[test]
fn kept_whispers_wait_for_their_user_on_any_node() {
    let Some(redis) = RedisServer::start("kept_whispers", &[]) else {
        return;
    };
    let a = Node::start(&redis, "a");
    let b = Node::start(&redis, "b");
    let mut ann = Raw::register(a.server.port, "ann", "correct horse");
    let _ = ann.request(AccountRequest::Logout);
    let mut bob = Raw::login(b.server.port, "bob");
    wait_until(WAIT, "ann gone from b", || {
        !users_on(&mut bob).contains("ann")
    });
    let reply = bob.request(ChatRequest::Whisper {
        to: "ann".into(),
        text: "while you were out".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    // ann comes back on the other node: the whisper is there, once.
    let mut again = Raw::connect(b.server.port);
    let reply = again.request(AccountRequest::Login {
        many_rooms: false,
        nick: "ann".into(),
        password: Some("correct horse".into()),
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    again.expect_event(
        |e| matches!(e, Event::Whisper { text, kept: true, .. } if text == "while you were out"),
    );
    let _ = again.request(AccountRequest::Logout);
    let mut third = Raw::connect(a.server.port);
    let (reply, events) = third.request_with_events(AccountRequest::Login {
        many_rooms: false,
        nick: "ann".into(),
        password: Some("correct horse".into()),
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    // What login brings comes before the reply to a request sent after it.
    let (said, later) = third.request_with_events(ChatRequest::Say {
        room: None,
        text: "hello".into(),
    });
    assert_eq!(said.status_code(), Some(Status::OK));
    assert!(
        !events
            .iter()
            .chain(&later)
            .any(|e| matches!(e, Event::Whisper { .. })),
        "handed over once: {events:?} {later:?}"
    );
}

/// Messages sent together (a pasted block, a script) in a cluster go to
/// the stream as one pipeline, yet each is answered as if alone: over our
/// protocol a `200` with its own number, in order, a refusal for the one
/// with a control character (the rest go through) and the `PING` behind
/// them after them all; over IRC a line each. A reader on another node
/// gets every one once, in the stream's order, and both nodes' logs agree.
#[test]
fn messages_sent_together_reach_another_node_each_once_in_order() {
    let Some(redis) = RedisServer::start("burst_across", &[]) else {
        return;
    };
    let nodes: Vec<Node> = ["a", "b"]
        .iter()
        .map(|id| Node::start(&redis, id))
        .collect();
    let mut talker = Raw::login(nodes[0].server.port, "talker");
    let mut irc = irc_with_caps(nodes[0].server.port, "ircer", "echo-message");
    let mut reader = Raw::login(nodes[1].server.port, "reader");
    talker.say_bell_burst();
    let lines: String = (0..60)
        .map(|i| format!("PRIVMSG #lobby :i{i}\r\n"))
        .collect();
    irc.send_bytes(lines.as_bytes());
    let mut seqs = Vec::new();
    for i in 0..100 {
        seqs.extend(burst_answer(&talker.next_reply(), i));
    }
    ping_answer_last(&talker.next_reply());
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // The IRC sender's own lines come back (echo-message), in order.
    let echoed: Vec<String> = (0..60)
        .map(|_| {
            irc.expect("own PRIVMSG", |m| {
                m.command == "PRIVMSG" && m.params[1].starts_with('i')
            })
            .params[1]
                .clone()
        })
        .collect();
    let sent: Vec<String> = (0..60).map(|i| format!("i{i}")).collect();
    assert_eq!(echoed, sent);
    let mut got = Vec::new();
    collect_messages(&mut reader, &mut got, 99 + 60);
    let order = stream_order(&redis, &nodes[0]);
    assert_eq!(got, order, "the stream's order, each once");
    let from_talker: Vec<String> = order
        .iter()
        .filter_map(|m| m.strip_prefix("talker: ").map(str::to_string))
        .collect();
    let said: Vec<String> = (0..100).filter(|&i| i != 50).map(bell_at_50).collect();
    assert_eq!(from_talker, said, "the talker's, in the order sent");
    let from_irc: Vec<String> = order
        .iter()
        .filter_map(|m| m.strip_prefix("ircer: ").map(str::to_string))
        .collect();
    assert_eq!(from_irc, sent);
    wait_until(WAIT, "node b stored every message", || {
        logged(&nodes[1]).len() == order.len()
    });
    assert_eq!(logged(&nodes[1]), logged(&nodes[0]));
}
