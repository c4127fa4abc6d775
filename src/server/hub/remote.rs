//! Users on other nodes of the cluster, as this node knows them: who they
//! are, which node holds them and which rooms they are in. Other nodes'
//! changes arrive (by pub/sub, and by a periodic read of every node's
//! presence in Redis) as a user's full room list, so a lost event is
//! repaired by the next read; this node's members are told joins and
//! leaves as if the user were here. Local changes go out the same way.
//!
//! Each change carries its node's version (rising with every change the
//! node makes). A full read can be newer than messages still on their way
//! from the channel; applied after it, those would take a user back to
//! where they were a moment ago (seen leaving a room they are in, and a
//! `KICK` refused in that moment): a change older than the last one
//! applied for its user is dropped.

use std::collections::HashSet;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use crate::event::{Event, Parting};
use crate::text::name_key;

use super::{Hub, Owed, Presence, State};

/// A user on another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub nick: String,
    pub node: String,
    /// Room names, in the order they entered them.
    pub rooms: Vec<String>,
}

/// The last change applied for a user on another node.
#[derive(Debug, Clone)]
pub(super) struct Version {
    node: String,
    number: u64,
    /// When it was applied: a user gone offline is forgotten once no echo
    /// of their earlier changes can still be on its way.
    at: Instant,
}

/// How long a version is kept after its user went offline: far longer than
/// a message takes through Redis, and than a full read.
const FORGET_AFTER: Duration = Duration::from_secs(60);

/// One user's rooms now (`None`: gone offline), for the other nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceChange {
    pub nick: String,
    pub rooms: Option<Vec<String>>,
}

impl Hub {
    /// Sends this node's presence changes to `changes` from now on, and
    /// names the node in `/users`.
    pub fn publish_presence(&self, node: &str, changes: Sender<PresenceChange>) {
        let mut st = self.lock();
        st.node = Some(node.to_string());
        st.changes = Some(changes);
    }

    /// Everyone online here now, with their rooms (for a full
    /// publication). The changes still `queued` are dropped with the same
    /// lock held (they are sent under it): the snapshot has them, and
    /// published after it they would take the others back to an older
    /// state (a user seen leaving a room they are in).
    pub fn presence_snapshot(&self, queued: &Receiver<PresenceChange>) -> Vec<PresenceChange> {
        let st = self.lock();
        queued.try_iter().for_each(drop);
        st.clients
            .values()
            .map(|c| PresenceChange {
                nick: c.nick.clone(),
                rooms: Some(c.rooms.iter().map(|k| st.room_name(k)).collect()),
            })
            .collect()
    }

    /// `nick` on `node` is now in `rooms` (`None`: offline), as of the
    /// node's `version` of it (0: none given): the members of each room
    /// they entered or left here are told. An older version than the last
    /// applied for them is an echo, and dropped.
    pub fn remote_changed(&self, node: &str, nick: &str, rooms: Option<Vec<String>>, version: u64) {
        let mut owed = Owed::new();
        let mut st = self.lock();
        st.heard.0 += 1;
        let count = st.heard.0;
        let key = name_key(nick);
        st.heard.1.insert(key.clone(), count);
        if st.takes(node, &key, version) {
            st.apply_remote(node, key, nick, rooms, &mut owed);
        }
    }

    /// Where the presence changes heard so far stand: taken before a full
    /// read, given to [`Hub::remote_node`] with what it read.
    pub fn presence_mark(&self) -> u64 {
        self.lock().heard.0
    }

    /// A full read that began at `mark` is applied: changes heard before
    /// it need no longer be remembered.
    pub fn presence_synced(&self, mark: u64) {
        let mut st = self.lock();
        st.heard.1.retain(|_, count| *count > mark);
        let State {
            versions, remote, ..
        } = &mut *st;
        versions.retain(|key, v| remote.contains_key(key) || v.at.elapsed() < FORGET_AFTER);
    }

    /// Replaces what is known of `node`'s users by `users` (nick, rooms,
    /// version), read in full since `mark` (see [`Hub::presence_mark`]): those missing
    /// left, the others changed as `remote_changed` does; a user whose
    /// change was heard on the channel after `mark` is left as that change
    /// made them (the read may predate it: a logout undone by a read
    /// started just before it). `None`: `users` is the truth (an empty
    /// list for a dead node makes all its users leave).
    pub fn remote_node(
        &self,
        node: &str,
        users: Vec<(String, Vec<String>, u64)>,
        mark: Option<u64>,
    ) {
        let mut owed = Owed::new();
        let mut st = self.lock();
        if mark.is_none() {
            // The node is gone: whatever it numbers next is a new run's.
            st.versions.retain(|_, v| v.node != node);
        }
        let newer = |st: &State, key: &str| {
            mark.is_some_and(|m| st.heard.1.get(key).is_some_and(|c| *c > m))
        };
        let users: Vec<(String, String, Vec<String>, u64)> = users
            .into_iter()
            .map(|(nick, rooms, version)| (name_key(&nick), nick, rooms, version))
            .collect();
        let listed: HashSet<&str> = users.iter().map(|(key, ..)| key.as_str()).collect();
        let gone: Vec<(String, String)> = st
            .remote
            .iter()
            .filter(|(key, r)| r.node == node && !listed.contains(key.as_str()) && !newer(&st, key))
            .map(|(key, r)| (key.clone(), r.nick.clone()))
            .collect();
        for (key, nick) in gone {
            st.apply_remote(node, key, &nick, None, &mut owed);
        }
        for (key, nick, rooms, version) in users {
            if !newer(&st, &key) && st.takes(node, &key, version) {
                st.apply_remote(node, key, &nick, Some(rooms), &mut owed);
            }
        }
    }

    /// The other nodes that have users here, as far as this node knows.
    pub fn remote_nodes(&self) -> std::collections::BTreeSet<String> {
        self.lock()
            .remote
            .values()
            .map(|r| r.node.clone())
            .collect()
    }

    /// The user on another node called `nick`, if any.
    pub fn remote_user(&self, nick: &str) -> Option<Remote> {
        self.lock().remote.get(&name_key(nick)).cloned()
    }
}

impl State {
    /// Whether `node`'s change of the user keyed `key` at `version` is to be applied
    /// (it is then remembered as their last): not when an equal or newer
    /// version from that node was applied already. Versions of different
    /// nodes are not compared (a user who moved to another node), nor a
    /// change without one (0).
    fn takes(&mut self, node: &str, key: &str, version: u64) -> bool {
        if version == 0 {
            return true;
        }
        if self
            .versions
            .get(key)
            .is_some_and(|last| last.node == node && last.number >= version)
        {
            return false;
        }
        let last = Version {
            node: node.to_string(),
            number: version,
            at: Instant::now(),
        };
        self.versions.insert(key.to_string(), last);
        true
    }

    /// `nick` (keyed `key`) on `node` is now in `rooms` (`None`: offline).
    fn apply_remote(
        &mut self,
        node: &str,
        key: String,
        nick: &str,
        rooms: Option<Vec<String>>,
        owed: &mut Owed,
    ) {
        // A local user of that name wins: the claim in Redis says who holds it.
        if self.nicks.contains_key(&key) {
            return;
        }
        let before = match self.remote.get(&key) {
            Some(r) if r.node != node && rooms.is_none() => return,
            Some(r) => r.rooms.clone(),
            None => Vec::new(),
        };
        let now = rooms.clone().unwrap_or_default();
        // Offline (logged out, or its node died) is a quit; else a part.
        let why = if rooms.is_none() {
            Parting::Quit(format!("offline on node {node}"))
        } else {
            Parting::Left(String::new())
        };
        match rooms {
            Some(rooms) => {
                self.remote.insert(
                    key,
                    Remote {
                        nick: nick.to_string(),
                        node: node.to_string(),
                        rooms,
                    },
                );
            }
            None => {
                self.remote.remove(&key);
            }
        }
        let had = |list: &[String], room: &str| list.iter().any(|r| name_key(r) == name_key(room));
        for room in before.iter().filter(|r| !had(&now, r)) {
            let members = self.member_count(&name_key(room));
            let event = Event::Leave {
                room: room.clone(),
                nick: nick.to_string(),
                members,
                why: why.clone(),
            };
            self.announce(room, event, owed);
        }
        for room in now.iter().filter(|r| !had(&before, r)) {
            let members = self.member_count(&name_key(room));
            let event = Event::Join {
                room: room.clone(),
                nick: nick.to_string(),
                members,
            };
            self.announce(room, event, owed);
        }
    }

    fn announce(&self, room: &str, event: Event, owed: &mut Owed) {
        if self.member_count(&name_key(room)) <= self.announce_limit {
            self.fan_out(&name_key(room), &event.into(), None, owed);
        }
    }

    /// Members of the room keyed `key` on every node.
    pub(super) fn member_count(&self, key: &str) -> usize {
        let here = self.rooms.get(key).map_or(0, |r| r.members.len());
        here + self.remote_members(key).len()
    }

    /// Users on other nodes in the room keyed `key`.
    pub(super) fn remote_members(&self, key: &str) -> Vec<&Remote> {
        let mut members: Vec<&Remote> = self
            .remote
            .values()
            .filter(|r| r.rooms.iter().any(|room| name_key(room) == key))
            .collect();
        members.sort_by_key(|r| name_key(&r.nick));
        members
    }

    /// `remote` as `viewer` may see them (as `presence_of` for local users).
    pub(super) fn remote_presence(&self, remote: &Remote, viewer: Option<&str>) -> Presence {
        let (visible, hidden): (Vec<&String>, Vec<&String>) =
            remote.rooms.iter().partition(|room| {
                viewer.is_none_or(|v| {
                    self.rooms
                        .get(&name_key(room))
                        .is_none_or(|r| r.is_visible_to(v))
                })
            });
        Presence {
            nick: remote.nick.clone(),
            rooms: visible.into_iter().cloned().collect(),
            hidden_rooms: hidden.len(),
            away: None,
            node: Some(remote.node.clone()),
        }
    }

    /// Tells the other nodes (if any) where connection-owning `nick` is now.
    pub(super) fn publish(&self, nick: &str, rooms: Option<Vec<String>>) {
        if let Some(changes) = &self.changes {
            let _ = changes.send(PresenceChange {
                nick: nick.to_string(),
                rooms,
            });
        }
    }
}
