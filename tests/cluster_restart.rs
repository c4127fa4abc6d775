//! The cluster's Redis layer when redis-server dies: the client reports it,
//! `Reconnecting` answers "unavailable" while it is down and reconnects
//! with backoff when it is back, readers resume from their last stream ID,
//! and what a restart keeps: every acknowledged write with the append-only
//! file, nothing without it. Each test starts (and SIGKILLs) its own
//! redis-server; without one they say they skipped (with CI=true they fail).

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use chat::cluster::{
    Backoff, Change, Client, Config, Health, Reconnecting, RedisError, RedisUrl, StreamBound,
    StreamId,
};
use support::redis::RedisServer;
use support::WAIT;

fn config(redis: &RedisServer) -> Config {
    let mut config = Config::new(RedisUrl::parse(&redis.url()).expect("test url"));
    config.io_timeout = WAIT;
    config.connect_timeout = Duration::from_secs(1);
    config
}

fn connect(redis: &RedisServer) -> Client {
    Client::connect(&config(redis)).expect("connect to the test redis")
}

/// Quick retries, so a test spends little time waiting for its backoff.
fn reconnecting(redis: &RedisServer) -> Reconnecting<Client> {
    let config = config(redis);
    let backoff = Backoff {
        first: Duration::from_millis(10),
        max: Duration::from_millis(100),
    };
    Reconnecting::new(backoff, move || Client::connect(&config))
}

/// Polls `check` until it is true, failing the test after [`WAIT`].
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Killed, redis-server is reported as unavailable at once; while it is
/// down every call says so without waiting; restarted, the wrapper
/// reconnects by itself and says it is back.
#[test]
fn killed_redis_is_reported_then_reconnected_with_backoff() {
    let Some(mut redis) = RedisServer::start(
        "killed_redis_is_reported_then_reconnected_with_backoff",
        &[],
    ) else {
        return;
    };
    let mut r = reconnecting(&redis);
    r.run(|c| c.ping()).unwrap();
    assert_eq!(r.take_changes(), vec![Change::Connected]);

    redis.kill();
    let broke = r.run(|c| c.ping()).unwrap_err();
    assert!(
        broke.is_unavailable() && broke.breaks_connection(),
        "{broke}"
    );
    let mut refused = 0;
    while refused < 3 {
        match r.run(|c| c.ping()) {
            Err(RedisError::Unavailable { .. }) => refused += 1,
            other => panic!("redis is down, yet: {other:?}"),
        }
        thread::sleep(r.retry_in());
    }
    match r.health() {
        Health::Down {
            failures,
            last_error,
            ..
        } => {
            assert!(*failures >= 1);
            assert!(last_error.contains("cannot connect"), "{last_error}");
        }
        Health::Up => panic!("up while redis is down"),
    }

    redis.restart();
    wait_until("the wrapper to reconnect", || {
        thread::sleep(r.retry_in());
        r.run(|c| c.ping()).is_ok()
    });
    let changes = r.take_changes();
    assert!(matches!(changes[0], Change::Lost { .. }), "{changes:?}");
    assert!(
        matches!(changes[1], Change::Restored { failures, .. } if failures >= 1),
        "{changes:?}"
    );
    assert!(changes[1].to_string().starts_with("redis is back after"));
    assert_eq!(r.generation(), 2);
}

/// With the append-only file, every acknowledged write survives a SIGKILL
/// of redis-server: stream entries with their IDs, hashes, claims with
/// their expiry. New entries still get larger IDs.
#[test]
fn appendonly_restart_keeps_acknowledged_writes() {
    let Some(mut redis) = RedisServer::start("appendonly_restart_keeps_acknowledged_writes", &[])
    else {
        return;
    };
    let mut c = connect(&redis);
    let ids: Vec<StreamId> = (0..50)
        .map(|i| c.xadd("room:lobby", &[("n", i.to_string())]).unwrap())
        .collect();
    c.hset("accounts", &[("ann", "hash-a"), ("bob", "hash-b")])
        .unwrap();
    assert!(c
        .set_nx_px("nick:ann", "node-a", Duration::from_secs(600))
        .unwrap());

    redis.restart();
    let mut c = connect(&redis);
    let entries = c
        .xrange("room:lobby", StreamBound::Min, StreamBound::Max, None)
        .unwrap();
    assert_eq!(entries.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    let mut accounts = c.hgetall("accounts").unwrap();
    accounts.sort();
    assert_eq!(accounts.len(), 2);
    assert_eq!(c.get("nick:ann").unwrap(), Some(b"node-a".to_vec()));
    assert!(!c
        .set_nx_px("nick:ann", "node-b", Duration::from_secs(1))
        .unwrap());
    let next = c.xadd("room:lobby", &[("n", "50")]).unwrap();
    assert!(next > ids[49]);
}

/// Without persistence a restarted redis-server is empty: this is what the
/// cluster's epoch key is for (a node that finds its epoch gone restores
/// what it holds instead of trusting Redis).
#[test]
fn without_persistence_a_restart_loses_everything() {
    let Some(mut redis) =
        RedisServer::start_volatile("without_persistence_a_restart_loses_everything")
    else {
        return;
    };
    let mut c = connect(&redis);
    assert!(c.set_nx("cluster:epoch", "e1").unwrap());
    c.xadd("room:lobby", &[("n", "0")]).unwrap();
    redis.restart();
    let mut c = connect(&redis);
    assert_eq!(c.get("cluster:epoch").unwrap(), None);
    assert!(c
        .xrange("room:lobby", StreamBound::Min, StreamBound::Max, None)
        .unwrap()
        .is_empty());
}

/// What the writer thread of the flood test learned.
#[derive(Default)]
struct Written {
    /// Acknowledged entries: the number sent and the ID Redis gave it.
    acked: Vec<(u64, StreamId)>,
    /// Numbers whose XADD broke off: in the stream or not, nobody knows.
    unknown: Vec<u64>,
    /// Calls refused at once while Redis was down.
    refused: u64,
}

/// A writer floods a stream and a reader follows it from its last ID, both
/// through `Reconnecting`, while redis-server is killed and restarted: every
/// acknowledged entry is in the stream once with its ID, and the reader
/// gets the stream's whole content once, in order.
#[test]
fn restart_mid_flood_keeps_every_acknowledged_entry_once() {
    let Some(mut redis) =
        RedisServer::start("restart_mid_flood_keeps_every_acknowledged_entry_once", &[])
    else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(Mutex::new(Written::default()));
    let writer = {
        let (stop, written, mut r) = (stop.clone(), written.clone(), reconnecting(&redis));
        thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let result = r.run(|c| c.xadd("room:flood", &[("n", n.to_string())]));
                let mut w = written.lock().unwrap();
                match result {
                    Ok(id) => w.acked.push((n, id)),
                    Err(e) if e.is_outcome_unknown() => w.unknown.push(n),
                    Err(e) if e.is_unavailable() => {
                        w.refused += 1;
                        drop(w);
                        thread::sleep(r.retry_in());
                        continue;
                    }
                    Err(e) => panic!("writer: {e}"),
                }
                n += 1;
            }
        })
    };
    let read = Arc::new(Mutex::new(Vec::<(StreamId, u64)>::new()));
    let reader_stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (stop, read, mut r) = (reader_stop.clone(), read.clone(), reconnecting(&redis));
        thread::spawn(move || {
            let mut last = StreamId::ZERO;
            while !stop.load(Ordering::SeqCst) {
                let batch = r.run(|c| {
                    c.xread(
                        &[("room:flood", last)],
                        Some(50),
                        Some(Duration::from_millis(100)),
                    )
                });
                match batch {
                    Ok(batches) => {
                        let mut seen = read.lock().unwrap();
                        for entry in batches.into_iter().flat_map(|b| b.entries) {
                            let n = std::str::from_utf8(entry.field(b"n").unwrap())
                                .unwrap()
                                .parse()
                                .unwrap();
                            seen.push((entry.id, n));
                            last = entry.id;
                        }
                    }
                    Err(e) if e.is_unavailable() => thread::sleep(r.retry_in()),
                    Err(e) => panic!("reader: {e}"),
                }
            }
        })
    };
    let acked = || written.lock().unwrap().acked.len();
    wait_until("the flood to start", || read.lock().unwrap().len() >= 100);
    redis.kill();
    wait_until("the writer to be refused", || {
        written.lock().unwrap().refused >= 1
    });
    let before_restart = acked();
    redis.restart();
    wait_until("the flood to resume", || acked() >= before_restart + 100);
    stop.store(true, Ordering::SeqCst);
    writer.join().expect("writer thread");
    let mut c = connect(&redis);
    let stream: Vec<(StreamId, u64)> = c
        .xrange("room:flood", StreamBound::Min, StreamBound::Max, None)
        .unwrap()
        .into_iter()
        .map(|e| {
            let n = std::str::from_utf8(e.field(b"n").unwrap()).unwrap();
            (e.id, n.parse().unwrap())
        })
        .collect();
    wait_until("the reader to catch up", || {
        read.lock().unwrap().len() >= stream.len()
    });
    reader_stop.store(true, Ordering::SeqCst);
    reader.join().expect("reader thread");
    let w = written.lock().unwrap();
    // Every acknowledged entry is there, under the ID its writer was told.
    let in_stream: std::collections::HashMap<u64, StreamId> =
        stream.iter().map(|(id, n)| (*n, *id)).collect();
    assert_eq!(in_stream.len(), stream.len(), "a number appears twice");
    for (n, id) in &w.acked {
        assert_eq!(in_stream.get(n), Some(id), "acknowledged entry {n} lost");
    }
    // Nothing else is there but entries whose outcome was unknown.
    for (_, n) in &stream {
        assert!(
            w.acked.iter().any(|(a, _)| a == n) || w.unknown.contains(n),
            "entry {n} was never sent"
        );
    }
    // The reader, resuming from its last ID across the restart, got the
    // stream's whole content in order: nothing lost, nothing twice.
    let seen = read.lock().unwrap();
    assert_eq!(seen[..], stream[..]);
    assert!(w.refused >= 1);
    eprintln!(
        "flood: {} acknowledged, {} unknown, {} refused while down, reader saw {}; redis log:\n{}",
        w.acked.len(),
        w.unknown.len(),
        w.refused,
        seen.len(),
        redis
            .output()
            .lines()
            .filter(|l| l.contains("append only"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
