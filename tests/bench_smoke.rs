//! Smoke tests of `chat-bench`: a tiny workload against the real server, and
//! the ways the bench must fail loudly. No timing is asserted anywhere.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assert_cmd::Command as AssertCommand;
use predicates::str::contains;

/// How long the server may take to say where it listens.
const STARTUP: Duration = Duration::from_secs(30);
/// How long any bench run in these tests may take.
const BENCH_LIMIT: Duration = Duration::from_secs(120);

/// A server started for one test, killed (and its data dir removed) on drop.
struct Server {
    child: Child,
    port: u16,
    data_dir: PathBuf,
}

impl Server {
    /// Starts the server binary on a free port with a fresh data dir and
    /// reads the port from its `Socket now listening on` line. Its stdout
    /// keeps being drained by a thread so it never blocks on a full pipe.
    fn start() -> Server {
        let data_dir = fresh_dir("chat-bench-smoke");
        let server = env!("CARGO_BIN_EXE_server");
        let mut args = vec!["--port", "0", "--no-replay", "--quiet"];
        if supports(server, "--no-rate-limit") {
            args.push("--no-rate-limit");
        }
        let mut child = Command::new(server)
            .args(&args)
            .arg("--data-dir")
            .arg(&data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server");
        let stdout = child.stdout.take().expect("server stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = listening_port(&line) {
                    let _ = tx.send(port);
                }
            }
        });
        let mut server = Server {
            child,
            port: 0,
            data_dir,
        };
        server.port = rx
            .recv_timeout(STARTUP)
            .expect("the server prints `Socket now listening on 127.0.0.1:PORT`");
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// The port of a `Socket now listening on HOST:PORT` line.
fn listening_port(line: &str) -> Option<u16> {
    let addr = line.split("listening on").nth(1)?.trim();
    addr.rsplit(':').next()?.parse().ok()
}

/// True when `binary --help` mentions `flag`: the server gains flags over
/// time, and the test should pass both before and after.
fn supports(binary: &str, flag: &str) -> bool {
    Command::new(binary)
        .arg("--help")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains(flag))
        .unwrap_or(false)
}

/// A new empty directory under the system temp dir.
fn fresh_dir(prefix: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

fn bench() -> AssertCommand {
    let mut cmd = AssertCommand::new(env!("CARGO_BIN_EXE_chat-bench"));
    cmd.timeout(BENCH_LIMIT);
    cmd
}

#[test]
fn tiny_workload_delivers_everything() {
    let server = Server::start();
    let pid = server.child.id().to_string();
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
fn idle_hold_connects_and_leaves() {
    let server = Server::start();
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
