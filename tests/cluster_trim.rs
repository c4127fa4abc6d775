//! Trimming the cluster's message stream (real redis-server, real nodes):
//! after traffic the stream shrinks while every live node's log.txt still
//! holds every message; a node that was dead while the stream was trimmed
//! past its resume point says so when it comes back and goes on. Without
//! redis-server the tests say they skipped (with CI=true they fail).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use chat::cluster::{Client, Config, RedisUrl, StreamId};
use chat::event::Event;
use chat::server::history::{for_each_record, Kind};
use support::redis::RedisServer;
use support::{Raw, Server, TempDir};

fn start_node(redis: &RedisServer, dir: &Path, id: &str) -> Server {
    Server::start_with(
        dir,
        &[
            "--no-replay",
            "--no-rate-limit",
            "--quiet",
            "--cluster",
            &redis.url(),
            "--node-id",
            id,
        ],
    )
}

fn redis_client(redis: &RedisServer) -> Client {
    let config = Config::new(RedisUrl::parse(&redis.url()).expect("test url"));
    Client::connect(&config).expect("connect to the test redis")
}

fn xlen(c: &mut Client) -> i64 {
    match c
        .request(&chat::cluster::resp::Command::new("XLEN").arg("chat:messages"))
        .unwrap()
    {
        chat::cluster::resp::Value::Integer(n) => n,
        other => panic!("XLEN: {other:?}"),
    }
}

/// A node's log.txt room messages, as `stream-id text`.
fn logged(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for_each_record(&dir.join("log.txt"), |r| {
        if r.kind == Kind::Message {
            out.push(format!("{} {}", r.to, r.text));
        }
    })
    .expect("read log.txt");
    out
}

/// Polls `check` until it holds, up to `limit` (trimming runs every 5 s).
fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_stream_is_trimmed_once_every_live_node_has_it() {
    let Some(redis) = RedisServer::start("stream_trim", &[]) else {
        return;
    };
    let (dir_a, dir_b) = (TempDir::new("trim-a"), TempDir::new("trim-b"));
    let a = start_node(&redis, dir_a.path(), "a");
    let mut b = start_node(&redis, dir_b.path(), "b");
    let mut ann = Raw::login(a.port, "ann");
    let mut bob = Raw::login(b.port, "bob");
    let mut c = redis_client(&redis);
    for i in 0..30 {
        ann.say(&format!("before {i}"));
    }
    bob.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "before 29"));
    wait_until(Duration::from_secs(20), "the stream trimmed", || {
        xlen(&mut c) < 30
    });
    let (on_a, on_b) = (logged(dir_a.path()), logged(dir_b.path()));
    assert_eq!(on_a.len(), 30, "{on_a:?}");
    assert_eq!(on_a, on_b, "both nodes stored everything, in one order");
    let b_last: StreamId = on_b[29].split(' ').next().unwrap().parse().unwrap();

    // b dies (its liveness key gone, as after its 25 s): it is not waited for.
    drop(bob);
    b.kill();
    c.del(&["chat:node:b"]).unwrap();
    for i in 0..10 {
        ann.say(&format!("while b is away {i}"));
    }
    wait_until(Duration::from_secs(20), "trimmed past b", || {
        c.get("chat:trimmed")
            .unwrap()
            .and_then(|id| StreamId::parse_bytes(&id).ok())
            .is_some_and(|gone| gone > b_last)
    });
    let b = start_node(&redis, dir_b.path(), "b");
    b.stdout
        .wait_for(&format!("trimmed past this node's resume point {b_last}"));
    // A new name: bob's claim lives on for 30 s after b's death.
    let mut bea = Raw::login(b.port, "bea");
    ann.say("after b came back");
    bea.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "after b came back"));
    let on_b = logged(dir_b.path());
    assert!(
        on_b.iter().any(|l| l.ends_with(" after b came back")),
        "{on_b:?}"
    );
    assert!(
        on_b.len() < logged(dir_a.path()).len(),
        "what was trimmed while b was away is missing there (as the README says)"
    );
}
