//! What the other nodes tell this one: presence changes and whispers by
//! pub/sub, and, every few seconds and after each reconnection, a full
//! read of every node's presence hash (what pub/sub lost while Redis was
//! away is repaired there), which is also how a dead node is noticed: its
//! liveness key expired, so its users leave here.

use std::io;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cluster::{Client, Message, Result};
use crate::server::console::Console;
use crate::server::files::FileStore;
use crate::server::hub::{Hub, Owed};
use crate::server::store::unescape;

use super::presence::parse_entry;
use super::{files, keys, rooms, ClusterLink};
use crate::server::accounts::Accounts;

/// The node's stores the cluster keeps in step with Redis.
pub struct Stores {
    pub accounts: Arc<Accounts>,
    pub files: Arc<FileStore>,
}

/// How often every node's presence is read in full.
const SYNC_EVERY: Duration = Duration::from_secs(5);
/// The longest wait for one pub/sub message.
const WAIT: Duration = Duration::from_millis(500);

/// Starts the thread that listens to the other nodes.
///
/// # Errors
/// The thread could not be started.
pub fn spawn_events(
    hub: Hub,
    link: Arc<ClusterLink>,
    console: Console,
    stores: Stores,
) -> io::Result<()> {
    thread::Builder::new()
        .name("cluster-events".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            let node = Node {
                hub: &hub,
                link: &link,
                console: &console,
                accounts: &stores.accounts,
                files: &stores.files,
            };
            listen_forever(&node);
        })?;
    Ok(())
}

/// What the events thread works with.
struct Node<'a> {
    hub: &'a Hub,
    link: &'a ClusterLink,
    console: &'a Console,
    accounts: &'a Accounts,
    files: &'a FileStore,
}

fn listen_forever(node: &Node<'_>) {
    let (hub, link, console) = (node.hub, node.link, node.console);
    let channels = vec![
        keys::PRESENCE_CHANNEL.to_string(),
        keys::ROOMS_CHANNEL.to_string(),
        keys::FILES_CHANNEL.to_string(),
        keys::whispers(link.node()),
        keys::control(link.node()),
    ];
    let mut sub = link.subscriber(channels);
    let mut reads = link.connection();
    let mut generation = 0;
    let mut synced: Option<Instant> = None;
    let mut epoch: Option<Vec<u8>> = None;
    loop {
        let next = sub.run(|s| s.next_message(WAIT));
        for change in sub.take_changes() {
            console.say(format!("cluster: events {change}"));
        }
        match next {
            Ok(Some(message)) if message.channel == keys::ROOMS_CHANNEL.as_bytes() => {
                let payload = String::from_utf8_lossy(&message.payload).into_owned();
                let (key, by_operator) = match payload.split_once('\t') {
                    Some((key, by)) => (key.to_string(), by == rooms::BY_OPERATOR),
                    None => (payload, false),
                };
                match reads.run(|c| rooms::fetch_room(c, &key)) {
                    Ok(record) => {
                        if let Err(e) = hub.apply_shared_room(&key, record, by_operator) {
                            console.say(format!("cluster: room {key}: {e}"));
                        }
                    }
                    // The next full read applies it.
                    Err(_) => synced = None,
                }
            }
            Ok(Some(message)) if message.channel == keys::FILES_CHANNEL.as_bytes() => {
                let id = String::from_utf8_lossy(&message.payload).into_owned();
                match reads.run(|c| files::fetch_one(c, &id)) {
                    Ok(Some(entry)) => files::adopt(hub, node.files, console, entry, true),
                    Ok(None) => {}
                    Err(_) => synced = None,
                }
            }
            Ok(Some(message)) => handle(hub, link, console, &message),
            Ok(None) => {}
            Err(_) => thread::sleep(sub.retry_in().max(Duration::from_millis(50))),
        }
        // A new subscription may have missed messages: read everything now.
        let fresh = sub.generation() != generation;
        if fresh || synced.is_none_or(|at| at.elapsed() >= SYNC_EVERY) {
            let synced_now = reads.run(|c| {
                sync(c, hub, link, console)?;
                sync_shared(c, node, &mut epoch)
            });
            if synced_now.is_ok() {
                generation = sub.generation();
                synced = Some(Instant::now());
            } else {
                synced = None;
            }
        }
    }
}

fn handle(hub: &Hub, link: &ClusterLink, console: &Console, message: &Message) {
    let Ok(payload) = std::str::from_utf8(&message.payload) else {
        return;
    };
    if message.channel == keys::PRESENCE_CHANNEL.as_bytes() {
        let mut parts = payload.splitn(3, '\t');
        if let (Some(node), Some(nick), Some(entry)) = (parts.next(), parts.next(), parts.next()) {
            if node != link.node() {
                let (rooms, version) = parse_entry(entry);
                hub.remote_changed(node, nick, rooms, version);
            }
        }
    } else if message.channel == keys::control(link.node()).as_bytes() {
        let fields: Option<Vec<String>> = payload.split('\t').map(|f| unescape(f).ok()).collect();
        match fields.as_deref() {
            Some([verb, nick, reason]) if verb == "kick" => {
                console.say(format!(
                    "cluster: kick {nick} ({reason}), asked by another node"
                ));
                let _ = hub.kick_local(nick, reason);
            }
            Some([verb, room, nick, by, reason]) if verb == "roomkick" => {
                console.say(format!("cluster: {by} kicks {nick} out of {room}"));
                hub.kick_here(room, nick, by, reason);
            }
            Some([verb, nick, room, by]) if verb == "invite" => {
                hub.invite_here(nick, room, by, &mut Owed::new());
            }
            _ => console.say(format!("cluster: unknown request {payload:?}; ignored")),
        }
    } else if let Some((from, to, date, text)) = parse_whisper(payload) {
        if let Err(e) = hub.whisper_from_cluster(&from, &to, &date, text) {
            console.say(format!("cluster: whisper to {to} not stored: {e:?}"));
        }
    }
}

/// Reads every other node's presence; a node whose liveness key is gone
/// died: its users leave here and it is taken off the node set.
fn sync(c: &mut Client, hub: &Hub, link: &ClusterLink, console: &Console) -> Result<()> {
    // The nodes whose users are known here too: the first node to see a
    // dead one takes it off the set, and the others must still see it go.
    let known = hub.remote_nodes();
    let mark = hub.presence_mark();
    let mut nodes = known.clone();
    nodes.extend(
        c.smembers(keys::NODES)?
            .into_iter()
            .filter_map(|n| String::from_utf8(n).ok()),
    );
    for node in nodes {
        if node == link.node() {
            continue;
        }
        if c.get(keys::node(&node))?.is_none() {
            hub.remote_node(&node, Vec::new(), None);
            c.srem(keys::NODES, &[&node])?;
            if known.contains(&node) {
                console.say(format!("cluster: node {node} is gone; its users left"));
            }
            continue;
        }
        let users = c
            .hgetall(keys::presence(&node))?
            .into_iter()
            .filter_map(|(nick, entry)| {
                let nick = String::from_utf8(nick).ok()?;
                let (rooms, version) = parse_entry(std::str::from_utf8(&entry).ok()?);
                Some((nick, rooms?, version))
            })
            .collect();
        hub.remote_node(&node, users, Some(mark));
    }
    hub.presence_synced(mark);
    Ok(())
}

/// Reads the epoch and every room. If Redis lost its data (the epoch is
/// gone or changed), this node writes back its rooms and accounts (only
/// where Redis has none: another node may have written them meanwhile);
/// otherwise Redis is right, and rooms it lacks were closed elsewhere.
fn sync_shared(c: &mut Client, node: &Node<'_>, epoch: &mut Option<Vec<u8>>) -> Result<()> {
    let now = c.get(keys::EPOCH)?;
    let authoritative = now.is_some() && (epoch.is_none() || *epoch == now);
    if !authoritative {
        let fresh = format!("{}/{}", node.link.holder(), crate::clock::now_utc());
        c.set_nx(keys::EPOCH, &fresh)?;
        let adopted = c.get(keys::EPOCH)?;
        let missing = node
            .hub
            .apply_shared_rooms(|| rooms::fetch_rooms(c), false)?;
        for record in &missing {
            node.link.create_room(record)?;
        }
        let lines = node.accounts.lines();
        for (key, line) in &lines {
            c.request(
                &crate::cluster::resp::Command::new("HSETNX")
                    .arg(keys::ACCOUNTS)
                    .arg(key)
                    .arg(line),
            )?;
        }
        let shared_files = files::write_back(c, node.files, node.link.holder())?;
        node.console.say(format!(
            "cluster: {} in Redis; wrote back {} room(s), {} account(s) and {shared_files} file(s) held here",
            if epoch.is_some() {
                "data lost"
            } else {
                "no data yet"
            },
            missing.len(),
            lines.len()
        ));
        *epoch = adopted;
        return Ok(());
    }
    *epoch = now;
    node.hub
        .apply_shared_rooms(|| rooms::fetch_rooms(c), true)?;
    for entry in files::fetch_all(c)? {
        files::adopt(node.hub, node.files, node.console, entry, false);
    }
    Ok(())
}

/// A whisper as published to a node: four escaped fields.
pub fn whisper_payload(from: &str, to: &str, date: &str, text: &str) -> String {
    use crate::server::store::escape;
    format!(
        "{}\t{}\t{}\t{}",
        escape(from),
        escape(to),
        escape(date),
        escape(text)
    )
}

pub(super) fn parse_whisper(payload: &str) -> Option<(String, String, String, String)> {
    let fields: Vec<&str> = payload.split('\t').collect();
    let [from, to, date, text] = fields[..] else {
        return None;
    };
    Some((
        unescape(from).ok()?,
        unescape(to).ok()?,
        unescape(date).ok()?,
        unescape(text).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whisper_payload_round_trips_any_text() {
        let p = whisper_payload("ann", "bob", "2026", "a\tb\\c\nd");
        assert_eq!(
            parse_whisper(&p),
            Some((
                "ann".into(),
                "bob".into(),
                "2026".into(),
                "a\tb\\c\nd".into()
            ))
        );
        assert_eq!(parse_whisper("a\tb"), None);
        assert_eq!(parse_whisper("a\tb\tc\t\\q"), None);
    }
}
