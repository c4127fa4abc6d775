//! Who is on this node, told to the others: every change of a local user's
//! rooms is written to the node's presence hash and published; the node's
//! liveness key, its entry in the node set and the hash's expiry are
//! renewed every few seconds. After Redis was away (or lost its data) the
//! whole hash is written again. Each change carries a version, rising with
//! every change this node makes, so that the others can tell an old one
//! that reaches them late from a new one (`hub/remote.rs`).

use std::io;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cluster::resp::Command;
use crate::cluster::{Client, Result};
use crate::server::console::Console;
use crate::server::hub::{Hub, PresenceChange};

use super::{keys, ClusterLink};

/// How long a node's liveness key and presence hash live without renewal:
/// the others take its users as gone this long after it died (plus one
/// check of theirs, [`super::events`]' `SYNC_EVERY`), within 30 s in all.
pub const NODE_TTL: Duration = Duration::from_secs(25);
/// How often they are renewed.
const RENEW_EVERY: Duration = Duration::from_secs(5);
/// What `rooms` holds for a user gone offline.
pub const OFFLINE: &str = "!";

/// Starts the presence thread.
///
/// # Errors
/// The thread could not be started.
pub fn spawn_presence(hub: Hub, link: Arc<ClusterLink>, console: Console) -> io::Result<()> {
    let (tx, rx) = mpsc::channel();
    hub.publish_presence(link.node(), tx);
    thread::Builder::new()
        .name("cluster-presence".into())
        .stack_size(256 * 1024)
        .spawn(move || publish_forever(&hub, &link, &console, &rx))?;
    Ok(())
}

/// Numbers this node's presence changes: microseconds since the epoch, or
/// one more than the last if the clock has not moved on (or went back), so
/// that they rise through the node's life and, clocks permitting, past a
/// restart.
#[derive(Debug, Default)]
struct Versions {
    last: u64,
}

impl Versions {
    fn next(&mut self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        self.last = now.max(self.last.saturating_add(1));
        self.last
    }
}

fn publish_forever(
    hub: &Hub,
    link: &ClusterLink,
    console: &Console,
    rx: &Receiver<PresenceChange>,
) {
    let mut conn = link.connection();
    let mut versions = Versions::default();
    let mut whole = true;
    let mut renewed: Option<Instant> = None;
    loop {
        let mut changes = Vec::new();
        // A whole publication is owed (at the start, or Redis was away):
        // it goes as soon as Redis answers (the failure path below waits
        // out the reconnection's back-off), not at the next change or
        // renewal, up to 5 s later, while the others may be taking this
        // node's users for gone.
        let wait = if whole { Duration::ZERO } else { RENEW_EVERY };
        match rx.recv_timeout(wait) {
            Ok(change) => changes.push(change),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        changes.extend(rx.try_iter());
        let due = renewed.is_none_or(|at| at.elapsed() >= RENEW_EVERY);
        let result = if whole {
            conn.run(|c| publish_all(c, link, &hub.presence_snapshot(rx), &mut versions))
        } else {
            conn.run(|c| publish_changes(c, link, &changes, due, &mut versions))
        };
        for change in conn.take_changes() {
            console.say(format!("cluster: presence {change}"));
        }
        match result {
            Ok(()) => {
                whole = false;
                if due || renewed.is_none() {
                    renewed = Some(Instant::now());
                }
            }
            Err(_) => {
                // Whatever was lost is written whole once Redis is back.
                whole = true;
                thread::sleep(conn.retry_in().max(Duration::from_millis(50)));
            }
        }
    }
}

/// Renewal of the node's own keys.
fn renewal(link: &ClusterLink) -> Vec<Command> {
    let ttl = NODE_TTL.as_millis().to_string();
    vec![
        Command::new("SET")
            .arg(keys::node(link.node()))
            .arg(link.holder())
            .arg("PX")
            .arg(&ttl),
        Command::new("SADD").arg(keys::NODES).arg(link.node()),
        Command::new("PEXPIRE")
            .arg(keys::presence(link.node()))
            .arg(&ttl),
    ]
}

fn publish_all(
    c: &mut Client,
    link: &ClusterLink,
    users: &[PresenceChange],
    versions: &mut Versions,
) -> Result<()> {
    let mut commands = vec![Command::new("DEL").arg(keys::presence(link.node()))];
    for user in users {
        // Told at once too, not only at the others' next full read.
        commands.extend(change_commands(link, user, versions.next()));
    }
    commands.extend(renewal(link));
    run(c, &commands)
}

fn publish_changes(
    c: &mut Client,
    link: &ClusterLink,
    changes: &[PresenceChange],
    renew: bool,
    versions: &mut Versions,
) -> Result<()> {
    let mut commands = Vec::new();
    for change in changes {
        commands.extend(change_commands(link, change, versions.next()));
    }
    if renew {
        commands.extend(renewal(link));
    }
    if commands.is_empty() {
        return Ok(());
    }
    run(c, &commands)
}

/// One change written to the node's presence hash (an offline user taken
/// out of it) and published.
fn change_commands(link: &ClusterLink, change: &PresenceChange, version: u64) -> [Command; 2] {
    let hash = keys::presence(link.node());
    let entry = entry(change, version);
    let write = if change.rooms.is_some() {
        Command::new("HSET")
            .arg(&hash)
            .arg(&change.nick)
            .arg(&entry)
    } else {
        Command::new("HDEL").arg(&hash).arg(&change.nick)
    };
    let publish = Command::new("PUBLISH")
        .arg(keys::PRESENCE_CHANNEL)
        .arg(format!("{}\t{}\t{entry}", link.node(), change.nick));
    [write, publish]
}

fn run(c: &mut Client, commands: &[Command]) -> Result<()> {
    for reply in c.pipeline(commands)? {
        reply?;
    }
    Ok(())
}

/// A user's presence as stored and published: their rooms joined by
/// commas (room names hold none), or [`OFFLINE`], then a tab and the
/// change's version.
fn entry(change: &PresenceChange, version: u64) -> String {
    let rooms = change
        .rooms
        .as_ref()
        .map_or_else(|| OFFLINE.to_string(), |rooms| rooms.join(","));
    format!("{rooms}\t{version}")
}

/// Reads an entry back: the rooms (`None`: offline) and the version (0 when
/// the entry has none, or an unreadable one: such a change is applied as
/// it comes, as before versions).
pub fn parse_entry(field: &str) -> (Option<Vec<String>>, u64) {
    let (rooms, version) = match field.split_once('\t') {
        Some((rooms, version)) => (rooms, version.parse().unwrap_or(0)),
        None => (field, 0),
    };
    let rooms = match rooms {
        OFFLINE => None,
        "" => Some(Vec::new()),
        rooms => Some(rooms.split(',').map(str::to_string).collect()),
    };
    (rooms, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_as_written() {
        let change = |rooms: Option<&[&str]>| PresenceChange {
            nick: "ann".into(),
            rooms: rooms.map(|r| r.iter().map(|s| s.to_string()).collect()),
        };
        for rooms in [Some(&["lobby", "den"][..]), Some(&[][..]), None] {
            let (read, version) = parse_entry(&entry(&change(rooms), 42));
            assert_eq!(read, change(rooms).rooms);
            assert_eq!(version, 42);
        }
    }

    /// What an older node wrote (no version), or garbage in Redis: read as
    /// rooms with no version (0), which the hub applies as it comes.
    #[test]
    fn an_entry_without_a_readable_version_has_version_0() {
        assert_eq!(
            parse_entry("lobby,den"),
            (Some(vec!["lobby".into(), "den".into()]), 0)
        );
        assert_eq!(parse_entry("!"), (None, 0));
        assert_eq!(parse_entry("lobby\tx9"), (Some(vec!["lobby".into()]), 0));
        assert_eq!(parse_entry("lobby\t-1"), (Some(vec!["lobby".into()]), 0));
        assert_eq!(parse_entry("\t99999999999999999999999"), (Some(vec![]), 0));
        assert_eq!(parse_entry(""), (Some(vec![]), 0));
    }

    #[test]
    fn versions_rise_even_when_the_clock_does_not() {
        let mut versions = Versions { last: u64::MAX - 1 };
        assert_eq!(versions.next(), u64::MAX);
        assert_eq!(versions.next(), u64::MAX, "saturates, no overflow panic");
        let mut versions = Versions::default();
        let mut last = 0;
        for _ in 0..1000 {
            let next = versions.next();
            assert!(next > last);
            last = next;
        }
    }
}
