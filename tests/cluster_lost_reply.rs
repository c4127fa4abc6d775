//! A room message whose `XADD` reached Redis but whose reply was lost (the
//! connection broke in between) is not reported as refused: the node looks
//! for it in the stream on another connection, finds it, and answers
//! `200`; everyone gets it once. One still on its way when the node looks
//! is stopped first (its connection ended), so "nothing was done" stays
//! true. A whisper to another node whose reply was lost is said to have
//! maybe reached them. A relay between the node and a real redis-server cuts the
//! connection that carries the first `XADD` after passing it on (or
//! holding it a while) and before the reply. Without redis-server the
//! test says it skipped (with CI=true it fails).

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use chat::command::ChatRequest;
use chat::event::Event;
use chat::protocol::{Frame, Status};
use support::redis::RedisServer;
use support::{Raw, Server, TempDir};

/// What the relay does to the node's connections.
#[derive(Clone)]
struct Faults {
    /// The first connection to send a command holding `trigger` from now
    /// on is cut after the command, before its reply comes back.
    armed: Arc<AtomicBool>,
    /// `XADD` unless said otherwise.
    trigger: &'static [u8],
    /// New connections are closed at once (Redis unreachable), and from
    /// the cut on, no command of the node's reaches Redis on any
    /// connection (each is closed at its next one), so it cannot look.
    down: Arc<AtomicBool>,
    /// How long the cut `XADD` waits in the relay before it goes on to
    /// Redis (none: at once); the node sees its connection closed at once.
    hold: Option<Duration>,
    /// The held `XADD` went on (or could not: its connection was ended).
    released: Arc<AtomicBool>,
    /// A command holding this text goes to [`A_STRING`] instead of the
    /// message stream, so Redis refuses that one (`WRONGTYPE`) and no other.
    refuse: Option<&'static [u8]>,
}

impl Faults {
    /// Checks that the relay cut a command (`what`), as armed.
    fn assert_cut(&self, what: &str) {
        assert!(!self.armed.load(Ordering::SeqCst), "the relay cut {what}");
    }
}

/// A key as long as the stream's, holding a string (see `Faults::refuse`).
const A_STRING: &[u8] = b"chat:a-string";

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            armed: Arc::default(),
            trigger: b"XADD",
            down: Arc::default(),
            hold: None,
            released: Arc::default(),
            refuse: None,
        }
    }
}

/// Relays to Redis, with `faults`.
fn start_relay(redis_port: u16, faults: &Faults) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
    let port = listener.local_addr().unwrap().port();
    let frozen = Arc::new(AtomicBool::new(false));
    let faults = faults.clone();
    thread::spawn(move || {
        for node in listener.incoming().flatten() {
            if faults.down.load(Ordering::SeqCst) {
                continue; // dropped: closed at once
            }
            let Ok(redis) = TcpStream::connect(("127.0.0.1", redis_port)) else {
                continue;
            };
            let cut = Arc::new(AtomicBool::new(false));
            let (node2, redis2, cut2) = (
                node.try_clone().unwrap(),
                redis.try_clone().unwrap(),
                Arc::clone(&cut),
            );
            let (faults, frozen) = (faults.clone(), Arc::clone(&frozen));
            // Node to Redis: watch for the XADD.
            thread::spawn(move || {
                let (mut from, mut to) = (node, redis);
                let mut buf = [0; 65536];
                let down = || faults.down.load(Ordering::SeqCst);
                while let Ok(n) = from.read(&mut buf) {
                    // Until Redis is back.
                    if frozen.load(Ordering::SeqCst) && down() {
                        let _ = from.shutdown(Shutdown::Both);
                        break;
                    }
                    // Cut before passing the command on, so its reply
                    // cannot slip through first.
                    let trigger = faults.trigger;
                    let hit = buf[..n].windows(trigger.len()).any(|w| w == trigger);
                    if hit && faults.armed.swap(false, Ordering::SeqCst) {
                        cut.store(true, Ordering::SeqCst);
                        frozen.store(down(), Ordering::SeqCst);
                        if let Some(hold) = faults.hold {
                            let _ = from.shutdown(Shutdown::Both);
                            thread::sleep(hold);
                            let _ = to.write_all(&buf[..n]);
                            faults.released.store(true, Ordering::SeqCst);
                            break;
                        }
                    }
                    if let Some(marker) = faults.refuse {
                        send_to_a_string(&mut buf[..n], marker);
                    }
                    if n == 0 || to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = to.shutdown(Shutdown::Both);
            });
            // Redis to node: once cut, the reply is dropped and both ends close.
            thread::spawn(move || {
                let (mut from, mut to) = (redis2, node2);
                let mut buf = [0; 65536];
                while let Ok(n) = from.read(&mut buf) {
                    if n == 0 || cut2.load(Ordering::SeqCst) {
                        break;
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
            });
        }
    });
    port
}

/// Points the command holding `marker` in `commands` (one read of the
/// node's pipeline) at [`A_STRING`]: the same length, so the command's
/// RESP lengths stay true.
fn send_to_a_string(commands: &mut [u8], marker: &[u8]) {
    let stream = b"chat:messages";
    let Some(at) = commands.windows(marker.len()).position(|w| w == marker) else {
        return;
    };
    if let Some(key) = commands[..at]
        .windows(stream.len())
        .rposition(|w| w == stream)
    {
        commands[key..key + stream.len()].copy_from_slice(A_STRING);
    }
}

/// A node whose Redis connections all go through the relay on `relay`,
/// with ann and bob logged in to it.
fn node_through(relay: u16, dir: &TempDir) -> (Server, Raw, Raw) {
    let url = format!("redis://127.0.0.1:{relay}");
    let server = Server::start_with(
        dir.path(),
        &[
            "--no-replay",
            "--no-rate-limit",
            "--cluster",
            &url,
            "--node-id",
            "a",
        ],
    );
    let ann = Raw::login(server.port, "ann");
    let bob = Raw::login(server.port, "bob");
    (server, ann, bob)
}

/// A node behind a relay with `faults`, with ann and bob logged in to it
/// and one message already round the stream (so every connection it
/// needs is open); `None` without redis-server.
fn chatting(name: &str, faults: &Faults) -> Option<(RedisServer, TempDir, Server, Raw, Raw)> {
    let redis = RedisServer::start(name, &[])?;
    let relay = start_relay(redis.port, faults);
    let dir = TempDir::new(name);
    let (server, mut ann, mut bob) = node_through(relay, &dir);
    ann.say("before");
    bob.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "before"));
    Some((redis, dir, server, ann, bob))
}

/// ann says "after"; the texts bob hears up to it, in order.
fn heard_up_to_after(ann: &mut Raw, bob: &mut Raw) -> Vec<String> {
    ann.say("after");
    let mut got = Vec::new();
    while got.last().map(String::as_str) != Some("after") {
        if let Event::Message { text, .. } =
            bob.expect_event(|e| matches!(e, Event::Message { .. }))
        {
            got.push(text);
        }
    }
    got
}

/// The texts of the records in the node's `log.txt`, in order.
fn logged(dir: &TempDir) -> Vec<String> {
    let mut logged = Vec::new();
    chat::server::history::for_each_record(&dir.path().join("log.txt"), |r| {
        logged.push(r.text.clone());
    })
    .unwrap();
    logged
}

/// ann says "in flight" (the message the relay cuts): the answer.
fn say_in_flight(ann: &mut Raw) -> Frame {
    ann.request(ChatRequest::Say {
        room: None,
        text: "in flight".into(),
    })
}

/// [`chatting`], then the relay armed: the next command holding the
/// trigger is cut.
fn armed(name: &str, faults: &Faults) -> Option<(RedisServer, TempDir, Server, Raw, Raw)> {
    let chatting = chatting(name, faults)?;
    faults.armed.store(true, Ordering::SeqCst);
    Some(chatting)
}

#[test]
fn a_message_whose_reply_was_lost_is_found_in_the_stream_and_sent_once() {
    let faults = Faults::default();
    let Some((_redis, dir, _server, mut ann, mut bob)) = armed("lost_xadd_reply", &faults) else {
        return;
    };
    let reply = say_in_flight(&mut ann);
    faults.assert_cut("an XADD");
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    bob.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "in flight"));
    // Once: the next message bob gets is "after", not "in flight" again.
    assert_eq!(heard_up_to_after(&mut ann, &mut bob), ["after"]);
    let log = std::fs::read_to_string(dir.path().join("log.txt")).unwrap();
    assert_eq!(log.matches("in flight").count(), 1, "{log}");
}

/// The same lost reply while Redis stays unreachable for longer than the
/// node looks: the sender is not told "nothing was done" (it was done),
/// but that the message may have gone out; and it has, once.
#[test]
fn a_lost_reply_that_cannot_be_checked_says_the_message_may_have_gone_out() {
    let Some(redis) = RedisServer::start("lost_xadd_reply_down", &[]) else {
        return;
    };
    let faults = Faults::default();
    let (armed, down) = (&faults.armed, &faults.down);
    let relay = start_relay(redis.port, &faults);
    let dir = TempDir::new("lost-reply-down");
    let (_server, mut ann, mut bob) = node_through(relay, &dir);
    // New connections fail, and the cut closes those already open, so the
    // node cannot look.
    down.store(true, Ordering::SeqCst);
    armed.store(true, Ordering::SeqCst);
    let reply = say_in_flight(&mut ann);
    assert_eq!(reply.status_code(), Some(Status::UNAVAILABLE), "{reply:?}");
    let text = reply.text_lossy();
    assert!(text.contains("may have gone out"), "{text}");
    assert!(!text.contains("nothing was done"), "{text}");
    down.store(false, Ordering::SeqCst);
    bob.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "in flight"));
}

/// A burst (three `SAY`s in one write) whose pipeline lost its replies:
/// each is found in the stream, in order, and answered `200`; everyone
/// gets each once.
#[test]
fn a_burst_whose_replies_were_lost_is_found_whole_and_sent_once() {
    let faults = Faults::default();
    let Some((_redis, dir, _server, mut ann, mut bob)) = armed("lost_burst_reply", &faults) else {
        return;
    };
    ann.say_together(["one", "one", "two"].map(String::from), false);
    let seqs: Vec<u64> = (0..3)
        .map(|_| {
            let reply = ann.next_reply();
            assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
            reply.header("Seq").expect("Seq").parse().unwrap()
        })
        .collect();
    // Two equal texts found as two entries: each its own number.
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    faults.assert_cut("an XADD");
    let got = heard_up_to_after(&mut ann, &mut bob);
    assert_eq!(got, ["one", "one", "two", "after"], "each once, in order");
    assert_eq!(logged(&dir), ["before", "one", "one", "two", "after"]);
}

/// An `XADD` whose connection broke while the command was still on its way
/// (held in the relay for 2 s): the node ends that connection before it
/// looks, so the message it does not find is never added after all, and
/// "nothing was done" is true: nobody ever gets it, and it is not stored.
#[test]
fn an_xadd_still_on_its_way_is_stopped_before_the_node_says_nothing_was_done() {
    let faults = Faults {
        hold: Some(Duration::from_secs(2)),
        ..Faults::default()
    };
    let Some((_redis, dir, _server, mut ann, mut bob)) = armed("lost_xadd_in_flight", &faults)
    else {
        return;
    };
    let reply = say_in_flight(&mut ann);
    assert_eq!(reply.status_code(), Some(Status::UNAVAILABLE), "{reply:?}");
    let text = reply.text_lossy();
    assert!(text.contains("nothing was done"), "{text}");
    assert!(
        !faults.released.load(Ordering::SeqCst),
        "answered while the XADD was still held"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !faults.released.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the relay never let it go");
        thread::sleep(Duration::from_millis(20));
    }
    // Had it reached Redis, the reader would deliver it before "after".
    thread::sleep(Duration::from_millis(300));
    assert_eq!(heard_up_to_after(&mut ann, &mut bob), ["after"]);
    let log = std::fs::read_to_string(dir.path().join("log.txt")).unwrap();
    assert!(!log.contains("in flight"), "{log}");
}

/// A whisper to a user on another node whose `PUBLISH` reached Redis but
/// whose reply was lost: a published message cannot be looked for, so the
/// sender is told it may have reached them (not "nothing was done"); and
/// it did.
#[test]
fn a_whisper_whose_reply_was_lost_may_have_reached_them() {
    let Some(redis) = RedisServer::start("lost_whisper_reply", &[]) else {
        return;
    };
    let faults = Faults {
        trigger: b"chat:whisper:",
        ..Faults::default()
    };
    let relay = start_relay(redis.port, &faults);
    let dir = TempDir::new("lost-whisper");
    let (_server, mut ann, _bob) = node_through(relay, &dir);
    let other = support::cluster::Node::start(&redis, "b");
    let mut cat = Raw::login(other.server.port, "cat");
    support::cluster::wait_until(support::WAIT, "cat known on a", || {
        let users = ann.request(chat::command::RoomRequest::Users);
        String::from_utf8_lossy(&users.body).contains("cat in lobby (node b)")
    });
    faults.armed.store(true, Ordering::SeqCst);
    let reply = ann.request(ChatRequest::Whisper {
        to: "cat".into(),
        text: "psst".into(),
    });
    faults.assert_cut("a PUBLISH");
    assert_eq!(reply.status_code(), Some(Status::UNAVAILABLE), "{reply:?}");
    let text = reply.text_lossy();
    assert!(text.contains("may have reached them"), "{text}");
    assert!(!text.contains("nothing was done"), "{text}");
    cat.expect_event(
        |e| matches!(e, Event::Whisper { from, text, .. } if from == "ann" && text == "psst"),
    );
}

/// Redis refusing one message of a burst and taking the others (an error
/// reply in the middle of a pipeline; here `WRONGTYPE`, from a key holding
/// a string): each is answered as Redis answered it, the refused one with
/// what Redis said and "nothing was done" (not "unavailable": the next
/// message goes through), and everyone gets the others once, in order.
#[test]
fn a_burst_of_which_redis_refuses_one_is_answered_message_by_message() {
    let faults = Faults {
        refuse: Some(b"refuse me"),
        ..Faults::default()
    };
    let Some((redis, dir, _server, mut ann, mut bob)) = chatting("refused_in_burst", &faults)
    else {
        return;
    };
    let mut direct = TcpStream::connect(("127.0.0.1", redis.port)).unwrap();
    let key = String::from_utf8_lossy(A_STRING);
    write!(
        direct,
        "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$1\r\nx\r\n",
        key.len()
    )
    .unwrap();
    let mut ok = [0; 5];
    direct.read_exact(&mut ok).unwrap();
    assert_eq!(&ok, b"+OK\r\n");

    ann.say_together(["one", "refuse me", "three"].map(String::from), false);
    let replies: Vec<_> = (0..3).map(|_| ann.next_reply()).collect();
    let codes: Vec<_> = replies.iter().map(|r| r.status_code()).collect();
    let ok = Some(Status::OK);
    assert_eq!(codes, [ok, Some(Status::UNAVAILABLE), ok], "{replies:?}");
    let refusal = replies[1].text_lossy();
    assert!(
        refusal.contains("refused it (redis error: WRONGTYPE"),
        "{refusal}"
    );
    assert!(refusal.contains("nothing was done"), "{refusal}");
    assert!(!refusal.contains("unavailable"), "{refusal}");
    let got = heard_up_to_after(&mut ann, &mut bob);
    assert_eq!(got, ["one", "three", "after"], "each once, in order");
    assert_eq!(logged(&dir), ["before", "one", "three", "after"]);
}
