//! The cluster's Redis client against a real redis-server (started by the
//! test on a free loopback port, append-only file on): every typed command,
//! the nickname race, compare-and-delete, streams read in order and resumed
//! from an ID, blocking reads woken by another connection, pub/sub,
//! pipelining, logins. Without redis-server these tests say they skipped
//! (with CI=true they fail). The RESP2 fallback runs against a scripted peer.

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use chat::cluster::resp::{Command, Value};
use chat::cluster::{
    Client, Config, Protocol, RedisError, RedisUrl, StreamBound, StreamId, Subscriber,
};
use support::redis::RedisServer;
use support::{TempDir, WAIT};

fn config(url: &str) -> Config {
    let mut config = Config::new(RedisUrl::parse(url).expect("test url"));
    config.io_timeout = WAIT;
    config
}

fn connect(redis: &RedisServer) -> Client {
    Client::connect(&config(&redis.url())).expect("connect to the test redis")
}

/// Polls `check` until it is true, failing the test after [`WAIT`].
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// The number after `name:` in `INFO clients`.
fn info_clients(client: &mut Client, name: &str) -> u64 {
    let info = match client
        .request(&Command::new("INFO").arg("clients"))
        .unwrap()
    {
        Value::Bulk(b) | Value::Verbatim { text: b, .. } => String::from_utf8(b).unwrap(),
        other => panic!("INFO: {other:?}"),
    };
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in INFO:\n{info}"))
}

/// Connects with RESP3 and answers PING.
#[test]
fn connects_with_resp3_and_pings() {
    let Some(redis) = RedisServer::start("connects_with_resp3_and_pings", &[]) else {
        return;
    };
    let mut c = connect(&redis);
    assert_eq!(c.protocol(), Protocol::Resp3);
    assert!(c.server_version().is_some_and(|v| !v.is_empty()));
    c.ping().unwrap();
}

/// GET, SET, DEL, PEXPIRE and INCR, with binary-safe values.
#[test]
fn string_commands_are_typed_and_binary_safe() {
    let Some(redis) = RedisServer::start("string_commands_are_typed_and_binary_safe", &[]) else {
        return;
    };
    let mut c = connect(&redis);
    let value = b"a\r\nb\0\xff$3\r\n".to_vec();
    assert_eq!(c.get("k").unwrap(), None);
    c.set("k", &value).unwrap();
    assert_eq!(c.get("k").unwrap(), Some(value));
    assert_eq!(c.incr("n").unwrap(), 1);
    assert_eq!(c.incr("n").unwrap(), 2);
    assert!(c.pexpire("k", Duration::from_secs(60)).unwrap());
    assert!(!c.pexpire("missing", Duration::from_secs(60)).unwrap());
    assert_eq!(c.del(&["k", "n", "missing"]).unwrap(), 2);
    // A Redis error is typed, and the connection stays usable.
    c.set("s", "text").unwrap();
    let err = c.incr("s").unwrap_err();
    assert_eq!(err.server_code(), Some("ERR"), "{err}");
    assert!(!err.is_unavailable());
    c.hset("h", &[("f", "v")]).unwrap();
    let err = c.get("h").unwrap_err();
    assert_eq!(err.server_code(), Some("WRONGTYPE"), "{err}");
    c.ping().unwrap();
}

/// Of threads racing `SET NX PX` on the same key, exactly one wins, and the
/// key holds the winner's value with the expiry asked for.
#[test]
fn set_nx_px_race_has_exactly_one_winner() {
    let Some(redis) = RedisServer::start("set_nx_px_race_has_exactly_one_winner", &[]) else {
        return;
    };
    const THREADS: usize = 8;
    const KEYS: usize = 50;
    let barrier = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let barrier = barrier.clone();
            let mut c = connect(&redis);
            thread::spawn(move || {
                let mut won = Vec::new();
                for k in 0..KEYS {
                    barrier.wait();
                    let key = format!("nick:{k}");
                    if c.set_nx_px(&key, format!("node-{t}"), Duration::from_secs(60))
                        .unwrap()
                    {
                        won.push(k);
                    }
                }
                (t, won)
            })
        })
        .collect();
    let mut winners = vec![Vec::new(); KEYS];
    for worker in workers {
        let (t, won) = worker.join().expect("racing thread");
        for k in won {
            winners[k].push(t);
        }
    }
    let mut c = connect(&redis);
    for (k, who) in winners.iter().enumerate() {
        assert_eq!(who.len(), 1, "key {k} won by {who:?}");
        let key = format!("nick:{k}");
        let holder = c.get(&key).unwrap().unwrap();
        assert_eq!(holder, format!("node-{}", who[0]).into_bytes());
        let ttl = c.request(&Command::new("PTTL").arg(&key)).unwrap();
        assert!(
            matches!(ttl, Value::Integer(ms) if ms > 0 && ms <= 60_000),
            "{ttl:?}"
        );
    }
}

/// A claim made with a short TTL is free again once it expires.
#[test]
fn an_expired_claim_can_be_claimed_again() {
    let Some(redis) = RedisServer::start("an_expired_claim_can_be_claimed_again", &[]) else {
        return;
    };
    let mut c = connect(&redis);
    assert!(c
        .set_nx_px("nick:ann", "a", Duration::from_millis(30))
        .unwrap());
    assert!(!c
        .set_nx_px("nick:ann", "b", Duration::from_secs(60))
        .unwrap());
    wait_until("the claim to expire", || {
        c.set_nx_px("nick:ann", "b", Duration::from_secs(60))
            .unwrap()
    });
    assert_eq!(c.get("nick:ann").unwrap(), Some(b"b".to_vec()));
}

/// Compare-and-delete and compare-and-pexpire act only on our own value,
/// and still work after Redis forgot its scripts (as after a restart).
#[test]
fn compare_and_delete_only_touches_our_value() {
    let Some(redis) = RedisServer::start("compare_and_delete_only_touches_our_value", &[]) else {
        return;
    };
    let mut c = connect(&redis);
    c.set("nick:bob", "node-a:7").unwrap();
    assert!(!c.compare_and_delete("nick:bob", "node-b:1").unwrap());
    assert_eq!(c.get("nick:bob").unwrap(), Some(b"node-a:7".to_vec()));
    assert!(!c
        .compare_and_pexpire("nick:bob", "node-b:1", Duration::from_secs(5))
        .unwrap());
    assert!(c
        .compare_and_pexpire("nick:bob", "node-a:7", Duration::from_secs(5))
        .unwrap());
    let ttl = c.request(&Command::new("PTTL").arg("nick:bob")).unwrap();
    assert!(
        matches!(ttl, Value::Integer(ms) if ms > 0 && ms <= 5000),
        "{ttl:?}"
    );

    c.request(&Command::new("SCRIPT").arg("FLUSH")).unwrap();
    assert!(c.compare_and_delete("nick:bob", "node-a:7").unwrap());
    assert_eq!(c.get("nick:bob").unwrap(), None);
    assert!(!c.compare_and_delete("nick:bob", "node-a:7").unwrap());

    // EVAL and EVALSHA by hand, and a script error as a Redis error.
    let sha = c.script_load("return ARGV[1]").unwrap();
    assert_eq!(
        c.evalsha(&sha, &[] as &[&str], &["x"]).unwrap(),
        Value::Bulk(b"x".to_vec())
    );
    assert_eq!(
        c.eval("return #KEYS", &["a", "b"], &[] as &[&str]).unwrap(),
        Value::Integer(2)
    );
    let err = c
        .evalsha(&"0".repeat(40), &[] as &[&str], &[] as &[&str])
        .unwrap_err();
    assert_eq!(err.server_code(), Some("NOSCRIPT"));
    assert!(c
        .eval("return redis.call('NOPE')", &[] as &[&str], &[] as &[&str])
        .is_err());
    c.ping().unwrap();
}

/// HSET, HGET, HGETALL, HDEL, SADD, SREM, SMEMBERS.
#[test]
fn hashes_and_sets() {
    let Some(redis) = RedisServer::start("hashes_and_sets", &[]) else {
        return;
    };
    let mut c = connect(&redis);
    assert_eq!(
        c.hset("room:lobby", &[("owner", "ann"), ("kind", "public")])
            .unwrap(),
        2
    );
    assert_eq!(c.hset("room:lobby", &[("kind", "private")]).unwrap(), 0);
    assert_eq!(
        c.hget("room:lobby", "kind").unwrap(),
        Some(b"private".to_vec())
    );
    assert_eq!(c.hget("room:lobby", "nope").unwrap(), None);
    let mut all = c.hgetall("room:lobby").unwrap();
    all.sort();
    assert_eq!(
        all,
        vec![
            (b"kind".to_vec(), b"private".to_vec()),
            (b"owner".to_vec(), b"ann".to_vec())
        ]
    );
    assert_eq!(c.hdel("room:lobby", &["kind", "nope"]).unwrap(), 1);
    assert!(c.hgetall("missing").unwrap().is_empty());

    assert_eq!(c.sadd("online", &["ann", "bob", "ann"]).unwrap(), 2);
    assert_eq!(c.srem("online", &["bob", "cy"]).unwrap(), 1);
    assert_eq!(c.smembers("online").unwrap(), vec![b"ann".to_vec()]);
    assert!(c.smembers("missing").unwrap().is_empty());
}

/// XADD gives increasing IDs; XREAD and XRANGE give the entries back in
/// that order, with their fields; bounds include or exclude as asked.
#[test]
fn xadd_ids_increase_and_reads_keep_their_order() {
    let Some(redis) = RedisServer::start("xadd_ids_increase_and_reads_keep_their_order", &[])
    else {
        return;
    };
    let mut c = connect(&redis);
    let mut ids: Vec<StreamId> = Vec::new();
    for i in 0..100 {
        let stream = if i % 2 == 0 { "room:a" } else { "room:b" };
        let id = c
            .xadd(stream, &[("n", i.to_string().as_str()), ("text", "hi\r\n")])
            .unwrap();
        // Each stream's IDs increase; two streams' IDs may even be equal.
        if i >= 2 {
            assert!(id > ids[i - 2], "{id} after {}", ids[i - 2]);
        }
        ids.push(id);
    }
    let batches = c
        .xread(
            &[("room:a", StreamId::ZERO), ("room:b", StreamId::ZERO)],
            Some(1000),
            None,
        )
        .unwrap();
    assert_eq!(batches.len(), 2);
    for batch in &batches {
        let parity = if batch.key == b"room:a" { 0 } else { 1 };
        let got: Vec<StreamId> = batch.entries.iter().map(|e| e.id).collect();
        let want: Vec<StreamId> = ids.iter().copied().skip(parity).step_by(2).collect();
        assert_eq!(got, want);
        for (entry, n) in batch.entries.iter().zip((parity..).step_by(2)) {
            assert_eq!(entry.field(b"n"), Some(n.to_string().as_bytes()));
            assert_eq!(entry.field(b"text"), Some(&b"hi\r\n"[..]));
        }
    }
    // COUNT, and reading after the last ID gives nothing.
    let first = c
        .xread(&[("room:a", StreamId::ZERO)], Some(3), None)
        .unwrap();
    assert_eq!(first[0].entries.len(), 3);
    let last_a = ids[98];
    assert!(c
        .xread(&[("room:a", last_a)], None, None)
        .unwrap()
        .is_empty());

    let range = c
        .xrange("room:a", StreamBound::Min, StreamBound::Max, None)
        .unwrap();
    assert_eq!(range.len(), 50);
    let inner = c
        .xrange(
            "room:a",
            StreamBound::Excluded(ids[0]),
            StreamBound::Included(ids[4]),
            None,
        )
        .unwrap();
    assert_eq!(
        inner.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![ids[2], ids[4]]
    );
    let two = c
        .xrange("room:b", StreamBound::Min, StreamBound::Max, Some(2))
        .unwrap();
    assert_eq!(two.len(), 2);
    assert!(c
        .xrange("missing", StreamBound::Min, StreamBound::Max, None)
        .unwrap()
        .is_empty());
}

/// A blocking XREAD returns as soon as another connection adds an entry;
/// one with nothing to read returns empty when its time is up.
#[test]
fn blocking_xread_is_woken_by_another_connections_xadd() {
    let Some(redis) =
        RedisServer::start("blocking_xread_is_woken_by_another_connections_xadd", &[])
    else {
        return;
    };
    let mut writer = connect(&redis);
    let before = writer.xadd("room:x", &[("n", "0")]).unwrap();

    let mut short = connect(&redis);
    let empty = short
        .xread(&[("room:x", before)], None, Some(Duration::from_millis(20)))
        .unwrap();
    assert!(empty.is_empty());

    let mut reader = connect(&redis);
    let blocked = thread::spawn(move || {
        reader.xread(
            &[("room:y", StreamId::ZERO), ("room:x", before)],
            None,
            Some(Duration::from_secs(60)),
        )
    });
    wait_until("the reader to block", || {
        info_clients(&mut writer, "blocked_clients") == 1
    });
    let added = writer.xadd("room:x", &[("n", "1")]).unwrap();
    let batches = blocked.join().expect("reader thread").unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].key, b"room:x");
    assert_eq!(
        batches[0].entries.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![added]
    );
}

/// An interrupter wakes a thread blocked in XREAD; its connection is then
/// broken for good, and says so.
#[test]
fn interrupter_wakes_a_blocked_read() {
    let Some(redis) = RedisServer::start("interrupter_wakes_a_blocked_read", &[]) else {
        return;
    };
    let mut watcher = connect(&redis);
    let mut reader = connect(&redis);
    let interrupter = reader.interrupter().unwrap();
    let blocked = thread::spawn(move || {
        let first = reader.xread(
            &[("room:z", StreamId::ZERO)],
            None,
            Some(Duration::from_secs(60)),
        );
        (first, reader.ping())
    });
    wait_until("the reader to block", || {
        info_clients(&mut watcher, "blocked_clients") == 1
    });
    interrupter.interrupt();
    let (first, then) = blocked.join().expect("reader thread");
    let first = first.unwrap_err();
    assert!(
        first.breaks_connection() && first.is_unavailable(),
        "{first}"
    );
    assert!(matches!(then, Err(RedisError::Broken)), "{then:?}");
}

/// A reader that reads in small batches, and reconnects every few batches,
/// resumes from the last ID it saw: it gets every entry once, in order,
/// while a writer keeps adding.
#[test]
fn resuming_from_the_last_id_after_reconnecting_loses_and_repeats_nothing() {
    let Some(redis) = RedisServer::start(
        "resuming_from_the_last_id_after_reconnecting_loses_and_repeats_nothing",
        &[],
    ) else {
        return;
    };
    const ENTRIES: usize = 300;
    let mut writer = connect(&redis);
    let written = thread::spawn(move || {
        (0..ENTRIES)
            .map(|i| writer.xadd("room:r", &[("n", i.to_string())]).unwrap())
            .collect::<Vec<_>>()
    });
    let mut seen: Vec<(StreamId, usize)> = Vec::new();
    let mut last = StreamId::ZERO;
    let mut reader = connect(&redis);
    let mut batches = 0;
    while seen.len() < ENTRIES {
        let got = reader
            .xread(&[("room:r", last)], Some(7), Some(Duration::from_secs(5)))
            .unwrap();
        for entry in got.into_iter().flat_map(|b| b.entries) {
            let n = std::str::from_utf8(entry.field(b"n").unwrap())
                .unwrap()
                .parse()
                .unwrap();
            seen.push((entry.id, n));
            last = entry.id;
        }
        batches += 1;
        if batches % 3 == 0 {
            // A new connection knows nothing; only `last` carries over.
            reader = connect(&redis);
        }
    }
    let written = written.join().expect("writer thread");
    assert_eq!(seen.iter().map(|(id, _)| *id).collect::<Vec<_>>(), written);
    assert_eq!(
        seen.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        (0..ENTRIES).collect::<Vec<_>>()
    );
    assert!(reader
        .xread(&[("room:r", last)], None, None)
        .unwrap()
        .is_empty());
}

/// PUBLISH reaches a subscriber; a wait with nothing published returns
/// None and leaves the subscriber usable; UNSUBSCRIBE stops delivery.
#[test]
fn publish_reaches_subscribers() {
    let Some(redis) = RedisServer::start("publish_reaches_subscribers", &[]) else {
        return;
    };
    let mut sub = Subscriber::connect(&config(&redis.url())).unwrap();
    sub.subscribe(&["node:a", "node:b"]).unwrap();
    assert!(sub.is_subscribed(b"node:a") && sub.is_subscribed(b"node:b"));
    assert_eq!(sub.next_message(Duration::from_millis(20)).unwrap(), None);

    let mut c = connect(&redis);
    assert_eq!(c.publish("node:a", "hello\r\n\0").unwrap(), 1);
    assert_eq!(c.publish("node:c", "nobody").unwrap(), 0);
    let message = sub.next_message(WAIT).unwrap().expect("a message");
    assert_eq!(message.channel, b"node:a");
    assert_eq!(message.payload, b"hello\r\n\0");

    sub.ping().unwrap();
    assert_eq!(c.publish("node:b", "2").unwrap(), 1);
    let message = sub
        .next_message(WAIT)
        .unwrap()
        .expect("a message after the pong");
    assert_eq!(
        (message.channel, message.payload),
        (b"node:b".to_vec(), b"2".to_vec())
    );

    sub.unsubscribe(&["node:b"]).unwrap();
    assert_eq!(sub.channels(), &[b"node:a".to_vec()]);
    assert_eq!(c.publish("node:b", "3").unwrap(), 0);
    assert_eq!(c.publish("node:a", "4").unwrap(), 1);
    let message = sub.next_message(WAIT).unwrap().expect("a message");
    assert_eq!(message.payload, b"4");
}

/// A thread waiting for messages can be woken by an interrupter.
#[test]
fn interrupter_wakes_a_waiting_subscriber() {
    let Some(redis) = RedisServer::start("interrupter_wakes_a_waiting_subscriber", &[]) else {
        return;
    };
    let mut sub = Subscriber::connect(&config(&redis.url())).unwrap();
    sub.subscribe(&["x"]).unwrap();
    let interrupter = sub.interrupter().unwrap();
    // Subscribed already (confirmed), so whether the thread is waiting yet
    // or not, the interrupt ends its wait.
    let waiting = thread::spawn(move || sub.next_message(Duration::from_secs(60)));
    interrupter.interrupt();
    let err = waiting.join().expect("subscriber thread").unwrap_err();
    assert!(err.is_unavailable(), "{err}");
}

/// A pipeline of many commands gets every reply in order in one round
/// trip; an error reply takes its own place and the rest still succeed.
#[test]
fn pipelining_keeps_replies_in_order() {
    let Some(redis) = RedisServer::start("pipelining_keeps_replies_in_order", &[]) else {
        return;
    };
    let mut c = connect(&redis);
    c.hset("h", &[("f", "v")]).unwrap();
    let mut commands: Vec<Command> = (0..1000)
        .map(|_| Command::new("INCR").arg("counter"))
        .collect();
    commands.insert(500, Command::new("INCR").arg("h"));
    commands.push(Command::new("GET").arg("counter"));
    let replies = c.pipeline(&commands).unwrap();
    assert_eq!(replies.len(), 1002);
    for (i, reply) in replies[..500].iter().enumerate() {
        assert_eq!(reply.as_ref().unwrap(), &Value::Integer(i as i64 + 1));
    }
    let err = replies[500].as_ref().unwrap_err();
    assert_eq!(err.server_code(), Some("WRONGTYPE"));
    assert_eq!(replies[1000].as_ref().unwrap(), &Value::Integer(1000));
    assert_eq!(
        replies[1001].as_ref().unwrap(),
        &Value::Bulk(b"1000".to_vec())
    );
    assert!(c.pipeline(&[]).unwrap().is_empty());
}

/// With `requirepass`, no password and a wrong one are refused with typed
/// errors; the password from a file logs in, and the URL's database is used.
#[test]
fn auth_with_a_password_file_and_database() {
    let Some(redis) = RedisServer::start(
        "auth_with_a_password_file_and_database",
        &["--requirepass", "s3cret pass"],
    ) else {
        return;
    };
    let err = Client::connect(&config(&redis.url())).unwrap_err();
    assert_eq!(err.server_code(), Some("NOAUTH"), "{err}");
    let err =
        Client::connect(&config(&format!("redis://:wrong@127.0.0.1:{}", redis.port))).unwrap_err();
    assert_eq!(err.server_code(), Some("WRONGPASS"), "{err}");
    assert!(!err.is_unavailable());

    let dir = TempDir::new("redis-password");
    let file = dir.path().join("password");
    std::fs::write(&file, "s3cret pass\n").unwrap();
    let url = RedisUrl::parse(&format!("{}/1", redis.url()))
        .unwrap()
        .with_password_file(&file)
        .unwrap();
    assert!(!url.to_string().contains("s3cret"));
    let mut one = Client::connect(&Config::new(url)).unwrap();
    one.set("where", "db1").unwrap();
    let encoded = format!("redis://default:s3cret%20pass@127.0.0.1:{}", redis.port);
    let mut zero = Client::connect(&config(&encoded)).unwrap();
    assert_eq!(zero.get("where").unwrap(), None);
    assert_eq!(one.get("where").unwrap(), Some(b"db1".to_vec()));
}

/// Nothing listens: connecting fails at once with a Connect error that
/// says where, and counts as "unavailable".
#[test]
fn connecting_to_nothing_is_a_clear_error() {
    let port = support::irc_clients::free_port();
    let err = Client::connect(&config(&format!("redis://127.0.0.1:{port}"))).unwrap_err();
    assert!(matches!(err, RedisError::Connect { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.is_unavailable() && !err.is_outcome_unknown());
}

/// Each connection knows Redis' number for it; another connection can end
/// it with that (what a node does before it looks for an `XADD` whose reply
/// was lost, so the command cannot still arrive later), and ending one
/// that is gone is no error.
#[test]
fn a_connection_ends_another_by_its_number() {
    let Some(redis) = RedisServer::start("client_kill", &[]) else {
        return;
    };
    let mut a = connect(&redis);
    let mut b = connect(&redis);
    let (Some(id_a), Some(id_b)) = (a.id(), b.id()) else {
        panic!("HELLO gave no id");
    };
    assert_ne!(id_a, id_b);
    assert!(b.client_kill(id_a).unwrap(), "there was one to end");
    let e = a.ping().unwrap_err();
    assert!(e.breaks_connection(), "{e}");
    assert!(!b.client_kill(id_a).unwrap(), "gone already");
    b.ping().unwrap();
}

/// Against a server without HELLO (as Redis before 6), the client logs in
/// with AUTH under RESP2 and reads RESP2 shapes (flat hashes, XREAD arrays).
#[test]
fn falls_back_to_resp2_without_hello() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut seen = Vec::new();
        // Each request: "*n", then n pairs of "$len" and the argument.
        loop {
            let mut head = String::new();
            if reader.read_line(&mut head).unwrap_or(0) == 0 {
                break;
            }
            let n: usize = head.trim()[1..].parse().unwrap();
            let mut args = Vec::new();
            for _ in 0..n {
                let mut len = String::new();
                reader.read_line(&mut len).unwrap();
                let mut arg = String::new();
                reader.read_line(&mut arg).unwrap();
                args.push(arg.trim_end().to_string());
            }
            let reply: &[u8] = match args[0].as_str() {
                "HELLO" => b"-ERR unknown command 'HELLO'\r\n",
                "AUTH" if args[1] == "pw" => b"+OK\r\n",
                "AUTH" => b"-ERR invalid password\r\n",
                "CLIENT" if args[1] == "ID" => b":7\r\n",
                "HGETALL" => b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
                "XREAD" => {
                    b"*1\r\n*2\r\n$2\r\nst\r\n*1\r\n*2\r\n$3\r\n5-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
                }
                "SMEMBERS" => b"*1\r\n$3\r\nann\r\n",
                "GET" => b"$-1\r\n",
                _ => b"-ERR unexpected\r\n",
            };
            seen.push(args.join(" "));
            writer.write_all(reply).unwrap();
        }
        seen
    });
    let mut c = Client::connect(&config(&format!("redis://:pw@127.0.0.1:{port}"))).unwrap();
    assert_eq!(c.protocol(), Protocol::Resp2);
    assert_eq!(c.server_version(), None);
    assert_eq!(c.id(), Some(7), "from CLIENT ID");
    assert_eq!(
        c.hgetall("h").unwrap(),
        vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"b".to_vec(), b"2".to_vec())
        ]
    );
    let batches = c.xread(&[("st", StreamId::ZERO)], None, None).unwrap();
    assert_eq!(batches[0].key, b"st");
    assert_eq!(batches[0].entries[0].id, StreamId::new(5, 1));
    assert_eq!(batches[0].entries[0].field(b"f"), Some(&b"v"[..]));
    assert_eq!(c.smembers("s").unwrap(), vec![b"ann".to_vec()]);
    assert_eq!(c.get("k").unwrap(), None);
    drop(c);
    let seen = peer.join().expect("scripted peer");
    assert_eq!(seen[0], "HELLO 3 AUTH default pw");
    assert_eq!(seen[1], "AUTH pw");
    assert_eq!(seen[2], "CLIENT ID");
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len());
}
