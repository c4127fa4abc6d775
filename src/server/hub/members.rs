//! Who is in which room, and who hears what: entering, leaving and being
//! taken out of rooms, and handing deliveries to members' queues, encoded
//! once per format. All of it runs under the hub's lock and only enqueues.

use crate::event::{Event, Parting};
use crate::text::{name_key, LOBBY};

use super::delivery::Run;
use super::{outcome, Client, ClientId, Delivery, Missed, Owed, Removal, State};

impl State {
    /// Sends one delivery to one connection.
    pub(super) fn send(&self, client: &Client, delivery: &Delivery, owed: &mut Owed) {
        owed.push_bytes(&client.outbox, client.codec.encode(delivery));
    }

    /// Sends `delivery` to every member of the room keyed `key` but
    /// `except`, encoded once per format among them.
    pub(super) fn fan_out(
        &self,
        key: &str,
        delivery: &Delivery,
        except: Option<ClientId>,
        owed: &mut Owed,
    ) {
        self.fan_out_all(key, std::slice::from_ref(delivery), except, owed);
    }

    /// [`State::fan_out`] for several deliveries in order: each member
    /// gets them all in one enqueue.
    pub(super) fn fan_out_all(
        &self,
        key: &str,
        deliveries: &[Delivery],
        except: Option<ClientId>,
        owed: &mut Owed,
    ) {
        let Some(room) = self.rooms.get(key) else {
            return;
        };
        let members = room.members.iter().filter(|&&m| Some(m) != except);
        self.deliver_all(members, deliveries, owed);
    }

    /// Deliveries in order to a room's members, each but to the member it
    /// names (its sender, who knows): a member that gets them all is given
    /// them as one frame, one that gets only some (a sender) one by one;
    /// each delivery is encoded once per format.
    pub(super) fn fan_out_each(
        &self,
        key: &str,
        deliveries: &[(Delivery, Option<ClientId>)],
        owed: &mut Owed,
    ) {
        let Some(room) = self.rooms.get(key) else {
            return;
        };
        let mut run = Run::new(deliveries.iter().map(|(d, _)| d));
        if run.is_empty() {
            return;
        }
        let mut senders: Vec<ClientId> = deliveries.iter().filter_map(|(_, e)| *e).collect();
        senders.sort_unstable();
        senders.dedup();
        let (some, all): (Vec<&ClientId>, Vec<&ClientId>) = room
            .members
            .iter()
            .partition(|id| senders.binary_search(id).is_ok());
        // Senders first: the lot then reuses what they were given.
        for id in some {
            if let Some(c) = self.clients.get(id) {
                let frames = (0..run.len())
                    .filter(|&i| deliveries[i].1 != Some(*id))
                    .map(|i| run.one(i, &*c.codec));
                owed.push_all(&c.outbox, frames);
            }
        }
        for id in all {
            if let Some(c) = self.clients.get(id) {
                owed.push(&c.outbox, run.all(&*c.codec));
            }
        }
    }

    /// Sends `delivery` to each of `ids`, encoded once per format among them.
    pub(super) fn deliver<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a ClientId>,
        delivery: &Delivery,
        owed: &mut Owed,
    ) {
        self.deliver_all(ids, std::slice::from_ref(delivery), owed);
    }

    /// Sends `deliveries`, in order, to each of `ids` as one frame each
    /// (see [`Run`]), made once per format among them.
    fn deliver_all<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a ClientId>,
        deliveries: &[Delivery],
        owed: &mut Owed,
    ) {
        let mut run = Run::new(deliveries);
        if run.is_empty() {
            return;
        }
        for id in ids {
            if let Some(c) = self.clients.get(id) {
                owed.push(&c.outbox, run.all(&*c.codec));
            }
        }
    }

    /// Moves connection `id` into the room keyed `key` (out of its room
    /// first, unless it may be in several): it is sent the room's recent
    /// history and who is there, and the others are told it arrived.
    /// Joins are rare, so fanning out under the lock is cheap and keeps
    /// member counts in order.
    pub(super) fn enter(
        &mut self,
        id: ClientId,
        key: &str,
        missed: Option<Missed>,
        owed: &mut Owed,
    ) -> Option<outcome::Joined> {
        let client = self.clients.get(&id)?;
        let left = if client.many_rooms {
            None
        } else {
            self.leave_all(id, &Parting::Left(String::new()), owed)
                .pop()
        };
        // Members on other nodes of a cluster count too (none on one node).
        let elsewhere = self.remote_members(key).len();
        let State { clients, rooms, .. } = self;
        let (client, room) = (clients.get_mut(&id)?, rooms.get_mut(key)?);
        client.rooms.push(key.to_string());
        room.members.push(id);
        let members = room.members.len() + elsewhere;
        // What the newcomer missed, read from the archive before it came
        // in, then what the room kept since (messages may have come meanwhile).
        let (history, unread_from) = match missed {
            Some(missed) => {
                let last = missed.records.last().map_or(missed.since, |r| r.seq);
                let mut history = missed.records;
                history.extend(room.recent.iter().filter(|r| r.seq > last).cloned());
                (history, Some(missed.since))
            }
            None => (room.recent.iter().cloned().collect(), None),
        };
        let entered = Delivery::Entered {
            room: room.name.clone(),
            nick: client.nick.clone(),
            members,
            history,
            unread_from,
        };
        let joined = outcome::Joined {
            room: room.name.clone(),
            members,
            left,
        };
        let nick = client.nick.clone();
        let client = &self.clients[&id];
        self.send(client, &entered, owed);
        self.publish_rooms(id);
        // A crowd is not told of every arrival (as IRC's large channels):
        // announcing each of N joins costs N^2 deliveries.
        if members <= self.announce_limit {
            let join = Event::Join {
                room: joined.room.clone(),
                nick,
                members,
            };
            self.fan_out(key, &join.into(), Some(id), owed);
        }
        Some(joined)
    }

    /// Takes connection `id` out of the room keyed `key` and tells the rest
    /// `why`. The other nodes are told by the caller, once the whole change
    /// is made: a move between rooms is not an empty room list in between,
    /// nor a logout a part from each room before the quit.
    pub(super) fn leave(
        &mut self,
        id: ClientId,
        key: &str,
        why: &Parting,
        owed: &mut Owed,
    ) -> Option<String> {
        let client = self.clients.get_mut(&id)?;
        let at = client.rooms.iter().position(|k| k == key)?;
        client.rooms.remove(at);
        let nick = client.nick.clone();
        let elsewhere = self.remote_members(key).len();
        let room = self.rooms.get_mut(key)?;
        room.members.retain(|&m| m != id);
        let name = room.name.clone();
        if room.members.len() < self.announce_limit {
            let leave = Event::Leave {
                room: name.clone(),
                nick,
                members: room.members.len() + elsewhere,
                why: why.clone(),
            };
            self.fan_out(key, &leave.into(), None, owed);
        }
        Some(name)
    }

    /// Tells the other nodes (in cluster mode) which rooms `id` is in now.
    pub(super) fn publish_rooms(&self, id: ClientId) {
        if let (Some(client), Some(_)) = (self.clients.get(&id), &self.changes) {
            let rooms = client.rooms.iter().map(|k| self.room_name(k)).collect();
            self.publish(&client.nick, Some(rooms));
        }
    }

    /// Takes connection `id` out of every room; their names, in order.
    pub(super) fn leave_all(
        &mut self,
        id: ClientId,
        why: &Parting,
        owed: &mut Owed,
    ) -> Vec<String> {
        let keys = self
            .clients
            .get(&id)
            .map(|c| c.rooms.clone())
            .unwrap_or_default();
        keys.iter()
            .filter_map(|key| self.leave(id, key, why, owed))
            .collect()
    }

    /// Takes connection `id` out of the room keyed `key` against its will,
    /// telling it why; a client in one room at a time goes to the lobby.
    pub(super) fn remove(&mut self, id: ClientId, key: &str, why: Removal, owed: &mut Owed) {
        let room = self.room_name(key);
        self.leave(id, key, &why.parting(), owed);
        let Some(client) = self.clients.get(&id) else {
            return;
        };
        self.send(client, &Delivery::Removed { room, why }, owed);
        if !client.many_rooms && client.rooms.is_empty() {
            self.enter(id, &name_key(LOBBY), None, owed);
        } else {
            self.publish_rooms(id);
        }
    }
}
