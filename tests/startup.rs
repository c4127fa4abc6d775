//! Starting the server: the port is bound before the operator is asked
//! anything, the replay question takes only yes or no, and a data
//! directory that cannot be one says why.

mod support;

use std::process::Command;

use support::{Process, Server, TempDir};

/// A server binary on `port` in `dir`, standard input left open: nothing
/// answers the replay question.
fn spawn_on(port: u16, dir: &std::path::Path) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .args(["--port", &port.to_string(), "--data-dir"])
        .arg(dir);
    Process::spawn(command)
}

/// A busy port stops the start-up at once, before the replay question
/// (which would otherwise wait for an answer nobody gives).
#[test]
fn a_busy_port_is_reported_before_the_replay_question() {
    let first_dir = TempDir::new("busy-first");
    let first = Server::start(first_dir.path());
    let dir = TempDir::new("busy-second");
    let mut second = spawn_on(first.port, dir.path());
    let status = second.wait_exit();
    assert!(!status.success());
    // Its output is collected by threads: wait for it, not just the exit.
    second.stderr.wait_for("already in use");
    let out = second.stdout.text();
    assert!(!out.contains("Retrieve old messages"), "{out}");
}

/// An answer other than yes or no is asked again; `YES` then replays.
#[test]
fn an_answer_other_than_yes_or_no_is_asked_again() {
    let dir = TempDir::new("reask");
    let mut server = Server::spawn(dir.path(), &[]);
    server.stdout.wait_for("(yes/no)");
    server.console("maybe");
    let out = server.stdout.wait_for_n("(yes/no)", 2);
    assert!(out.contains("please answer yes or no"), "{out}");
    server.console("YES");
    server.wait_listening();
    let out = server.stdout.text();
    assert!(out.contains("--- 0 stored message(s) ---"), "{out}");
}

/// `--data-dir` naming a file says so, not the system's "File exists".
#[test]
fn a_data_dir_that_is_a_file_says_so() {
    let dir = TempDir::new("datafile");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let mut server = spawn_on(0, &file);
    let status = server.wait_exit();
    assert!(!status.success());
    let err = server.stderr.wait_for("is a file, not a directory");
    assert!(!err.contains("File exists"), "{err}");
}
