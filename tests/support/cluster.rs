//! Nodes of a cluster for the tests: servers sharing one test
//! `redis-server`, each with a data directory of its own.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use chat::cluster::{Client, Config, RedisUrl};

use super::redis::RedisServer;
use super::{Server, TempDir};

/// A node of the cluster: a server with its own data directory.
pub struct Node {
    pub server: Server,
    pub dir: TempDir,
}

impl Node {
    /// Node `id` on `redis`, its console quiet.
    pub fn start(redis: &RedisServer, id: &str) -> Node {
        Node::start_with(redis, id, &["--quiet"])
    }

    /// Node `id` on `redis`, with `extra` flags.
    pub fn start_with(redis: &RedisServer, id: &str, extra: &[&str]) -> Node {
        let dir = TempDir::new(&format!("cluster-{id}"));
        let server = start_in(redis, dir.path(), id, extra);
        Node { server, dir }
    }
}

/// Node `id` on `redis` in the data directory `dir` (to start one again).
pub fn start_in(redis: &RedisServer, dir: &Path, id: &str, extra: &[&str]) -> Server {
    let url = redis.url();
    let mut args = vec![
        "--no-replay",
        "--no-rate-limit",
        "--cluster",
        &url,
        "--node-id",
        id,
        "--pbkdf2-iterations",
        "1000",
    ];
    args.extend_from_slice(extra);
    Server::start_with(dir, &args)
}

/// A plain connection to the test's Redis.
pub fn redis_client(redis: &RedisServer) -> Client {
    let config = Config::new(RedisUrl::parse(&redis.url()).expect("test url"));
    Client::connect(&config).expect("connect to the test redis")
}

/// Waits until `check` holds, polling; panics with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        thread::sleep(Duration::from_millis(50));
    }
}
