//! Smoke tests of `chat-bench`: a tiny workload against the real server, and
//! the ways the bench must fail loudly. No timing is asserted anywhere.

mod support;

use std::net::TcpListener;
use std::time::Duration;

use assert_cmd::Command as AssertCommand;
use predicates::str::contains;
use support::{Server, TempDir};

/// How long any bench run in these tests may take.
const BENCH_LIMIT: Duration = Duration::from_secs(120);

/// A fresh server, as chat-bench expects it: no rate limit, quiet.
fn server(dir: &TempDir) -> Server {
    Server::start_with(dir.path(), &["--no-replay", "--quiet", "--no-rate-limit"])
}

fn bench() -> AssertCommand {
    let mut cmd = AssertCommand::new(env!("CARGO_BIN_EXE_chat-bench"));
    cmd.timeout(BENCH_LIMIT);
    cmd
}

#[test]
fn tiny_workload_delivers_everything() {
    let dir = TempDir::new("bench-smoke");
    let server = server(&dir);
    let pid = server.pid().to_string();
    let port = server.port.to_string();
    let args = [
        "--port",
        &port,
        "--clients",
        "3",
        "--messages",
        "5",
        "--server-pid",
        &pid,
        "--json",
    ];
    // 3 clients in one room, 5 messages each, each to the 2 others: 30.
    bench()
        .args(args)
        .assert()
        .success()
        .stdout(contains("\"messages_sent\":15"))
        .stdout(contains("\"deliveries\":30"))
        .stdout(contains("\"expected_deliveries\":30"))
        .stdout(contains("\"ok\":true"));
}

#[test]
fn tiny_workload_over_websocket_delivers_everything() {
    let dir = TempDir::new("bench-smoke");
    let server = server(&dir);
    let port = server.port.to_string();
    let args = [
        "--port",
        &port,
        "--protocol",
        "ws",
        "--clients",
        "3",
        "--messages",
        "5",
        "--json",
    ];
    // The browser door: the same 30 deliveries, and a reply to every SAY.
    bench()
        .args(args)
        .assert()
        .success()
        .stdout(contains("\"protocol\":\"ws\""))
        .stdout(contains("\"messages_sent\":15"))
        .stdout(contains("\"deliveries\":30"))
        .stdout(contains("\"expected_deliveries\":30"))
        .stdout(contains("\"replies_ok\":15"))
        .stdout(contains("\"ok\":true"));
}

#[test]
fn idle_hold_connects_and_leaves() {
    let dir = TempDir::new("bench-smoke");
    let server = server(&dir);
    let port = server.port.to_string();
    let args = [
        "--port",
        &port,
        "--clients",
        "4",
        "--messages",
        "0",
        "--hold",
        "0.2",
    ];
    bench()
        .args(args)
        .assert()
        .success()
        .stdout(contains("4 of 4 clients"))
        .stdout(contains("result:          ok"));
}

#[test]
fn nobody_listening_is_a_failure() {
    // A port that was free a moment ago: nothing accepts there.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .to_string();
    bench()
        .args([
            "--port",
            &port,
            "--clients",
            "2",
            "--messages",
            "1",
            "--json",
        ])
        .assert()
        .code(1)
        .stdout(contains("\"ok\":false"))
        .stdout(contains("connect"));
}

#[test]
fn help_and_bad_arguments() {
    bench()
        .arg("--help")
        .assert()
        .success()
        .stdout(contains("--clients"));
    bench()
        .args(["--clients", "lots"])
        .assert()
        .code(2)
        .stderr(contains("--clients"));
}
