//! Who is on this node, told to the others: every change of a local user's
//! rooms is written to the node's presence hash and published; the node's
//! liveness key, its entry in the node set and the hash's expiry are
//! renewed every few seconds. After Redis was away (or lost its data) the
//! whole hash is written again.

use std::io;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

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

fn publish_forever(
    hub: &Hub,
    link: &ClusterLink,
    console: &Console,
    rx: &Receiver<PresenceChange>,
) {
    let mut conn = link.connection();
    let mut whole = true;
    let mut renewed: Option<Instant> = None;
    loop {
        let mut changes = Vec::new();
        match rx.recv_timeout(RENEW_EVERY) {
            Ok(change) => changes.push(change),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        changes.extend(rx.try_iter());
        let due = renewed.is_none_or(|at| at.elapsed() >= RENEW_EVERY);
        let result = if whole {
            conn.run(|c| publish_all(c, link, &hub.presence_snapshot(rx)))
        } else {
            conn.run(|c| publish_changes(c, link, &changes, due))
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

fn publish_all(c: &mut Client, link: &ClusterLink, users: &[PresenceChange]) -> Result<()> {
    let hash = keys::presence(link.node());
    let mut commands = vec![Command::new("DEL").arg(&hash)];
    for user in users {
        commands.push(
            Command::new("HSET")
                .arg(&hash)
                .arg(&user.nick)
                .arg(rooms_field(user)),
        );
        // Told at once too, not only at the others' next full read.
        commands.push(
            Command::new("PUBLISH")
                .arg(keys::PRESENCE_CHANNEL)
                .arg(format!(
                    "{}\t{}\t{}",
                    link.node(),
                    user.nick,
                    rooms_field(user)
                )),
        );
    }
    commands.extend(renewal(link));
    run(c, &commands)
}

fn publish_changes(
    c: &mut Client,
    link: &ClusterLink,
    changes: &[PresenceChange],
    renew: bool,
) -> Result<()> {
    let hash = keys::presence(link.node());
    let mut commands = Vec::new();
    for change in changes {
        let rooms = rooms_field(change);
        commands.push(if change.rooms.is_some() {
            Command::new("HSET")
                .arg(&hash)
                .arg(&change.nick)
                .arg(&rooms)
        } else {
            Command::new("HDEL").arg(&hash).arg(&change.nick)
        });
        let payload = format!("{}\t{}\t{rooms}", link.node(), change.nick);
        commands.push(
            Command::new("PUBLISH")
                .arg(keys::PRESENCE_CHANNEL)
                .arg(payload),
        );
    }
    if renew {
        commands.extend(renewal(link));
    }
    if commands.is_empty() {
        return Ok(());
    }
    run(c, &commands)
}

fn run(c: &mut Client, commands: &[Command]) -> Result<()> {
    for reply in c.pipeline(commands)? {
        reply?;
    }
    Ok(())
}

/// A user's rooms as stored and published: names joined by commas (room
/// names hold none), or [`OFFLINE`].
fn rooms_field(change: &PresenceChange) -> String {
    change
        .rooms
        .as_ref()
        .map_or_else(|| OFFLINE.to_string(), |rooms| rooms.join(","))
}

/// Reads a rooms field back (`None`: offline).
pub fn parse_rooms(field: &str) -> Option<Vec<String>> {
    match field {
        OFFLINE => None,
        "" => Some(Vec::new()),
        rooms => Some(rooms.split(',').map(str::to_string).collect()),
    }
}
