//! What a person sees of what others send: dates that say their zone, and
//! text that cannot hide or reorder itself on their terminal.

mod support;

use support::{Client, Raw, Server, TempDir};

/// A room's history shows when each message was said, labelled UTC.
#[test]
fn history_dates_say_they_are_utc() {
    let dir = TempDir::new("utc");
    let server = Server::start(dir.path());
    Raw::login(server.port, "Ma19").say("said before you came");
    let ntu = Client::login(server.port, "ntu");
    let out = ntu.stdout.wait_for("[Ma19]: said before you came");
    let line = out
        .lines()
        .find(|l| l.contains("said before you came"))
        .unwrap();
    // `(history 2026-11-21 10:15 UTC) [Ma19]: ...`
    assert!(line.starts_with("(history 20"), "{line}");
    assert!(line.contains(" UTC) [Ma19]: "), "{line}");
}

/// Direction overrides, invisible characters and a flood of combining
/// marks sent by a peer reach the client's terminal escaped or capped.
#[test]
fn invisible_and_direction_marks_reach_the_terminal_escaped() {
    let dir = TempDir::new("marks");
    let server = Server::start(dir.path());
    let ntu = Client::login(server.port, "ntu");
    let mut eve = Raw::login(server.port, "eve");
    eve.say("ad\u{200b}min \u{202e}txt.exe \u{200f}x\u{2028}y\u{feff} end1");
    eve.say(&format!("z{} end2", "\u{301}".repeat(300)));
    let out = ntu.stdout.wait_for("end2");
    let line = out.lines().find(|l| l.contains("end1")).unwrap();
    assert!(
        line.ends_with("[eve]: ad\\u{200b}min \\u{202e}txt.exe \\u{200f}x\\u{2028}y\\u{feff} end1"),
        "{line:?}"
    );
    let line = out.lines().find(|l| l.contains("end2")).unwrap();
    assert!(
        line.ends_with(&format!("[eve]: z{} end2", "\u{301}".repeat(4))),
        "{line:?}"
    );
}
