//! Rooms on the hub: the directory, creating, entering, leaving and
//! closing rooms, the owner's ban and permit lists, and nickname changes.
//!
//! A change that outlives the process is stored before it is made: under
//! the room store's lock, the new `rooms.txt` is planned from the state,
//! written, and only then applied, so a change the disk refuses is refused
//! to the asker and nothing changes.

use std::collections::BTreeMap;

use crate::clock;
use crate::command::ListKind;
use crate::event::{Event, Parting};
use crate::text::{self, name_key, LOBBY};

use super::outcome::{
    Closed, Created, Joined, Kicked, Left, ListChanged, ListShown, Renamed, RoomView,
};
use super::{ClientId, Hub, Missed, Owed, Refused, Removal, Room, RoomInfo, State};
use crate::server::history::{Kind, Record};
use crate::server::rooms::RoomRecord;

impl Hub {
    /// True when connection `id` may enter (or see the files of) `room`.
    pub fn may_enter(&self, id: ClientId, room: &str) -> bool {
        let st = self.lock();
        let (Some(client), Some(room)) = (st.clients.get(&id), st.rooms.get(&name_key(room)))
        else {
            return false;
        };
        room.admits(&client.nick).is_ok()
    }

    /// The rooms `viewer` may see (every room for the console, `None`):
    /// the lobby first, then by name.
    pub fn room_list(&self, viewer: Option<ClientId>) -> Vec<RoomInfo> {
        let st = self.lock();
        let nick = viewer
            .and_then(|id| st.clients.get(&id))
            .map(|c| c.nick.as_str());
        let mut rooms: Vec<&Room> = st
            .rooms
            .values()
            .filter(|r| nick.is_none_or(|nick| r.is_visible_to(nick)))
            .collect();
        rooms.sort_by_key(|r| (r.owner.is_some(), name_key(&r.name)));
        rooms.into_iter().map(Room::info).collect()
    }

    /// `room` and who is in it, if `viewer` may see it (the console,
    /// `None`, sees every room).
    ///
    /// # Errors
    /// `NoSuchRoom`, also for a private room the viewer may not enter.
    pub fn room_view(&self, viewer: Option<ClientId>, room: &str) -> Result<RoomView, Refused> {
        let st = self.lock();
        let nick = viewer
            .and_then(|id| st.clients.get(&id))
            .map(|c| c.nick.as_str());
        let found = st
            .rooms
            .get(&name_key(room))
            .filter(|r| nick.is_none_or(|nick| r.is_visible_to(nick)))
            .ok_or_else(|| Refused::NoSuchRoom {
                room: room.to_string(),
            })?;
        Ok(RoomView {
            info: found.info(),
            members: found
                .members
                .iter()
                .filter_map(|m| st.clients.get(m).map(|c| c.nick.clone()))
                .chain(
                    st.remote_members(&name_key(room))
                        .into_iter()
                        .map(|r| r.nick.clone()),
                )
                .collect(),
        })
    }

    /// Sends `nick` out of `room` (by default the one `id` is in), which
    /// `id` must own; they may come back (a ban keeps them out).
    ///
    /// # Errors
    /// `NoSuchRoom`, `NotOwner`, `NoSuchUser`, `NotIn` (they are not in it).
    pub fn kick_from_room(
        &self,
        id: ClientId,
        room: Option<&str>,
        nick: &str,
        reason: &str,
        owed: &mut Owed,
    ) -> Result<Kicked, Refused> {
        let mut st = self.lock();
        let (key, found) = st.owned_room(id, room)?;
        let room = found.name.clone();
        let by = st.client(id)?.nick.clone();
        let Some(target) = st.client_by_nick(nick) else {
            let inside = st
                .remote
                .get(&name_key(nick))
                .map(|r| r.rooms.iter().any(|r| name_key(r) == key));
            drop(st);
            if inside == Some(false) {
                return Err(Refused::NotIn {
                    room,
                    current: None,
                });
            }
            let nick = self.tell_elsewhere(nick, &["roomkick", &room, nick, &by, reason])?;
            return Ok(Kicked { room, nick });
        };
        if !target.rooms.contains(&key) {
            return Err(Refused::NotIn {
                room,
                current: None,
            });
        }
        let nick = target.nick.clone();
        let target = st.nicks[&name_key(&nick)];
        let why = Removal::Kicked {
            by,
            reason: reason.to_string(),
        };
        st.remove(target, &key, why, owed);
        Ok(Kicked { room, nick })
    }

    /// Creates a room owned by `id` and moves `id` into it.
    ///
    /// # Errors
    /// `BadRoomName`, `RoomExists`, or `NotStored` when `rooms.txt` cannot
    /// be written (then no room is created).
    pub fn create_room(
        &self,
        id: ClientId,
        name: &str,
        private: bool,
        owed: &mut Owed,
    ) -> Result<Created, Refused> {
        text::check_room(name).map_err(Refused::BadRoomName)?;
        let key = name_key(name);
        let store = self.inner.room_store.lock();
        let record = {
            let st = self.lock();
            if let Some(existing) = st.rooms.get(&key) {
                return Err(Refused::RoomExists {
                    room: existing.name.clone(),
                });
            }
            RoomRecord {
                name: name.to_string(),
                owner: st.client(id)?.nick.clone(),
                private,
                bans: Vec::new(),
                permits: Vec::new(),
            }
        };
        // In a cluster the name is claimed in Redis first (no hub lock is
        // held across it; the room store's lock keeps out other creations).
        self.share_created(&record)?;
        let owner = record.owner.clone();
        let mut records = self.lock().room_records();
        records.push(record);
        records.sort_by_key(|r| name_key(&r.name));
        if let Err(e) = store.write(&records) {
            let _ = self.share_removed(&key, false);
            return Err(Refused::not_stored(e));
        }
        let mut st = self.lock();
        st.rooms
            .insert(key.clone(), Room::new(name, Some(owner.clone()), private));
        let joined = st.enter(id, &key, None, owed).ok_or(Refused::NotLoggedIn)?;
        Ok(Created {
            room: name.to_string(),
            private,
            owner,
            joined,
        })
    }

    /// Moves `id` into an existing room, if the room admits it; `missed`:
    /// what it missed there since it was last in it.
    ///
    /// # Errors
    /// `NoSuchRoom`, `Banned`, `Private`, `AlreadyIn`.
    pub fn join_room(
        &self,
        id: ClientId,
        name: &str,
        missed: Option<Missed>,
        owed: &mut Owed,
    ) -> Result<Joined, Refused> {
        let mut st = self.lock();
        let key = name_key(name);
        let client = st.client(id)?;
        let room = st.rooms.get(&key).ok_or_else(|| Refused::NoSuchRoom {
            room: name.to_string(),
        })?;
        if client.rooms.contains(&key) {
            return Err(Refused::AlreadyIn {
                room: room.name.clone(),
            });
        }
        room.admits(&client.nick)?;
        st.enter(id, &key, missed, owed).ok_or(Refused::NotLoggedIn)
    }

    /// Takes `id` out of `room` (by default, its only room). A client in one
    /// room at a time goes back to the lobby, and cannot leave the lobby.
    ///
    /// # Errors
    /// `NotIn` a named room it is not in, `InLobby`, `NoRoom`.
    pub fn leave_room(
        &self,
        id: ClientId,
        room: Option<&str>,
        reason: &str,
        owed: &mut Owed,
    ) -> Result<Left, Refused> {
        let mut st = self.lock();
        let client = st.client(id)?;
        let key = st.my_room(client, room)?;
        let many_rooms = client.many_rooms;
        if !many_rooms && key == name_key(LOBBY) {
            return Err(Refused::InLobby);
        }
        let why = Parting::Left(reason.to_string());
        let room = st.leave(id, &key, &why, owed).ok_or(Refused::NotLoggedIn)?;
        let now_in = if many_rooms {
            st.publish_rooms(id);
            None
        } else {
            st.enter(id, &name_key(LOBBY), None, owed)
        };
        Ok(Left { room, now_in })
    }

    /// Closes `room` (by default the one `id` is in), which `id` must own;
    /// its members are told and taken out of it.
    ///
    /// # Errors
    /// `NoSuchRoom`, `NotOwner`, `LobbyIsPermanent`, `NotStored`.
    pub fn close_room(
        &self,
        id: ClientId,
        room: Option<&str>,
        owed: &mut Owed,
    ) -> Result<Closed, Refused> {
        let store = self.inner.room_store.lock();
        let (key, owner) = {
            let st = self.lock();
            let (key, room) = st.owned_room(id, room)?;
            (key, room.owner.clone().unwrap_or_default())
        };
        if key != name_key(LOBBY) {
            self.share_removed(&key, false)?;
        }
        self.remove_room(&store, &key, &owner, false, owed)
    }

    /// The operator's `/kill ROOM`: closes any room but the lobby.
    ///
    /// # Errors
    /// `NoSuchRoom`, `LobbyIsPermanent`, `NotStored`.
    pub fn kill_room(&self, name: &str, owed: &mut Owed) -> Result<Closed, Refused> {
        let store = self.inner.room_store.lock();
        let key = name_key(name);
        if !self.lock().rooms.contains_key(&key) {
            return Err(Refused::NoSuchRoom {
                room: name.to_string(),
            });
        }
        if key != name_key(LOBBY) {
            self.share_removed(&key, true)?;
        }
        self.remove_room(&store, &key, "(operator)", true, owed)
    }

    /// Removes a room for good: stores the rooms without it, records the
    /// closing in `log.txt`, and takes its members out.
    pub(super) fn remove_room(
        &self,
        store: &crate::server::rooms::RoomsGuard<'_>,
        key: &str,
        by: &str,
        by_operator: bool,
        owed: &mut Owed,
    ) -> Result<Closed, Refused> {
        if key == name_key(LOBBY) {
            return Err(Refused::LobbyIsPermanent);
        }
        let (name, records) = {
            let st = self.lock();
            let mut records = st.room_records();
            records.retain(|r| name_key(&r.name) != key);
            (st.room_name(key), records)
        };
        store.write(&records).map_err(Refused::not_stored)?;
        let closed = Record {
            seq: 0,
            date: clock::now_utc(),
            kind: Kind::Closed,
            room: name.clone(),
            from: by.to_string(),
            to: "-".to_string(),
            text: format!(
                "room {name} was closed by {}",
                if by_operator {
                    "the server operator"
                } else {
                    "its owner"
                }
            ),
        };
        // The room is emptied under the log's lock, so no message of the old
        // room can be logged after its closing record.
        let mut log = self.inner.log.lock();
        let not_logged = log.append(closed).err().map(|e| e.to_string());
        let mut st = self.lock();
        let members = st
            .rooms
            .get(key)
            .map(|r| r.members.clone())
            .unwrap_or_default();
        let evicted = members
            .iter()
            .filter_map(|m| st.clients.get(m).map(|c| c.nick.clone()))
            .collect();
        for member in members {
            st.remove(member, key, Removal::Closed { by_operator }, owed);
        }
        st.rooms.remove(key);
        drop(st);
        drop(log);
        Ok(Closed {
            room: name,
            key: key.to_string(),
            evicted,
            not_logged,
        })
    }

    /// Adds `nick` to (or removes it from) a list of `room` (by default the
    /// one `id` is in), which `id` must own. A member banned, or taken off
    /// the whitelist of a private room, is taken out of the room at once.
    ///
    /// # Errors
    /// `NoSuchRoom`, `NotOwner`, `BadNick`, `BanSelf`, `ListUnchanged`,
    /// `NotStored`.
    pub fn change_list(
        &self,
        id: ClientId,
        room: Option<&str>,
        list: ListKind,
        nick: &str,
        add: bool,
        owed: &mut Owed,
    ) -> Result<ListChanged, Refused> {
        text::check_nick(nick).map_err(Refused::BadNick)?;
        let store = self.inner.room_store.lock();
        let (key, entries, records) = {
            let st = self.lock();
            let (key, room) = st.owned_room(id, room)?;
            if add && list == ListKind::Bans && room.is_owner(nick) {
                return Err(Refused::BanSelf);
            }
            let mut entries = entries(room, list).clone();
            let changed = if add {
                entries.insert(name_key(nick), nick.to_string()).is_none()
            } else {
                entries.remove(&name_key(nick)).is_some()
            };
            if !changed {
                return Err(Refused::ListUnchanged {
                    room: room.name.clone(),
                    list,
                    nick: nick.to_string(),
                    add,
                });
            }
            let mut records = st.room_records();
            if let Some(record) = records.iter_mut().find(|r| name_key(&r.name) == key) {
                let names = entries.values().cloned().collect();
                match list {
                    ListKind::Bans => record.bans = names,
                    ListKind::Permits => record.permits = names,
                }
            }
            (key, entries, records)
        };
        if let Some(record) = records.iter().find(|r| name_key(&r.name) == key) {
            self.share_changed(record)?;
        }
        store.write(&records).map_err(Refused::not_stored)?;
        let mut st = self.lock();
        let room = st.rooms.get_mut(&key).ok_or(Refused::NotLoggedIn)?;
        *entries_mut(room, list) = entries;
        let (room_name, private) = (room.name.clone(), room.private);
        let target = st.client_by_nick(nick).map(|c| c.nick.clone());
        let why = match (list, add) {
            (ListKind::Bans, true) => Some(Removal::Banned),
            (ListKind::Permits, false) if private => Some(Removal::Unpermitted),
            _ => None,
        };
        let mut removed = None;
        if let (Some(why), Some(target)) = (why, &target) {
            let member = st.nicks.get(&name_key(target)).copied();
            let inside = member.filter(|m| st.clients[m].rooms.contains(&key));
            if let Some(member) = inside {
                st.remove(member, &key, why, owed);
                removed = Some(target.clone());
            }
        }
        Ok(ListChanged {
            room: room_name,
            list,
            nick: nick.to_string(),
            added: add,
            removed,
            online: target.is_some(),
        })
    }

    /// The ban or permit list of `room` (by default the one `id` is in),
    /// which `id` must own.
    ///
    /// # Errors
    /// `NoSuchRoom`, `NotOwner`.
    pub fn show_list(
        &self,
        id: ClientId,
        room: Option<&str>,
        list: ListKind,
    ) -> Result<ListShown, Refused> {
        let st = self.lock();
        let (_, room) = st.owned_room(id, room)?;
        Ok(ListShown {
            room: room.name.clone(),
            list,
            names: entries(room, list).values().cloned().collect(),
        })
    }

    /// Changes the nickname of `id`; its rooms see the change, and rooms it
    /// owns follow it to the new name (stored first, when it owns any).
    ///
    /// # Errors
    /// `BadNick`, `SameNick`, `NickInUse`, `NotStored`.
    pub fn rename(&self, id: ClientId, new: &str, owed: &mut Owed) -> Result<Renamed, Refused> {
        text::check_nick(new).map_err(Refused::BadNick)?;
        // In a cluster the new name is claimed in Redis first (a case
        // change keeps the claim), and the old one released after.
        let old = self.nick(id).ok_or(Refused::NotLoggedIn)?;
        let claims = self.in_cluster() && name_key(&old) != name_key(new);
        if claims {
            self.claim_in_cluster(id, new)?;
        }
        let renamed = self.rename_here(id, new, owed);
        if claims {
            let gone = if renamed.is_ok() { &old } else { new };
            self.release_in_cluster(id, gone);
        }
        renamed
    }

    fn rename_here(&self, id: ClientId, new: &str, owed: &mut Owed) -> Result<Renamed, Refused> {
        let store = self.inner.room_store.lock();
        let (old, records) = {
            let mut st = self.lock();
            let old = st.client(id)?.nick.clone();
            if old == new {
                return Err(Refused::SameNick { nick: old });
            }
            st.check_free(new, Some(id))?;
            // Reserved while rooms.txt is written, so nobody can log in as
            // `new` between the check and the change.
            st.nicks.insert(name_key(new), id);
            let owns_any = st.rooms.values().any(|r| r.is_owner(&old));
            let records = owns_any.then(|| {
                let mut records = st.room_records();
                for record in &mut records {
                    if name_key(&record.owner) == name_key(&old) {
                        record.owner = new.to_string();
                    }
                }
                records
            });
            (old, records)
        };
        // Rooms it owns follow it to its new name on every node.
        for record in records.iter().flatten().filter(|r| r.owner == new) {
            if let Err(refused) = self.share_changed(record) {
                if name_key(&old) != name_key(new) {
                    self.lock().nicks.remove(&name_key(new));
                }
                return Err(refused);
            }
        }
        if let Some(Err(e)) = records.map(|records| store.write(&records)) {
            if name_key(&old) != name_key(new) {
                self.lock().nicks.remove(&name_key(new));
            }
            return Err(Refused::not_stored(e));
        }
        let mut st = self.lock();
        if name_key(&old) != name_key(new) {
            st.nicks.remove(&name_key(&old));
        }
        for room in st.rooms.values_mut().filter(|r| r.is_owner(&old)) {
            room.owner = Some(new.to_string());
        }
        let Some(client) = st.clients.get_mut(&id) else {
            return Err(Refused::NotLoggedIn);
        };
        client.nick = new.to_string();
        let rooms = client.rooms.clone();
        st.publish(&old, None);
        st.publish_rooms(id);
        // Everyone who shares a room with the renamed one hears it once,
        // and so does the renamed one.
        let mut told: Vec<ClientId> = rooms
            .iter()
            .filter_map(|key| st.rooms.get(key))
            .flat_map(|room| room.members.iter().copied())
            .chain([id])
            .collect();
        told.sort_unstable();
        told.dedup();
        let event = Event::Renamed {
            old: old.clone(),
            new: new.to_string(),
        };
        st.deliver(&told, &event.into(), owed);
        Ok(Renamed {
            old,
            new: new.to_string(),
        })
    }
}

impl State {
    /// The key of the room a request without a room name means for
    /// `client` (its one room), or of the room it names, which it must be in.
    pub(super) fn my_room(
        &self,
        client: &super::Client,
        named: Option<&str>,
    ) -> Result<String, Refused> {
        match named {
            Some(name) => {
                let key = name_key(name);
                if client.rooms.contains(&key) {
                    Ok(key)
                } else {
                    Err(Refused::NotIn {
                        room: self.rooms.get(&key).map_or(name, |r| &r.name).to_string(),
                        current: client.rooms.last().map(|k| self.room_name(k)),
                    })
                }
            }
            None => match client.rooms.as_slice() {
                [only] => Ok(only.clone()),
                rooms => Err(Refused::NoRoom {
                    several: rooms.len() > 1,
                }),
            },
        }
    }

    /// The key and room `named` (or the one `id` is in), if `id` owns it.
    fn owned_room(&self, id: ClientId, named: Option<&str>) -> Result<(String, &Room), Refused> {
        let client = self.client(id)?;
        let key = match named {
            Some(name) => name_key(name),
            None => self.my_room(client, None)?,
        };
        let room = self.rooms.get(&key).ok_or_else(|| Refused::NoSuchRoom {
            room: named.unwrap_or_default().to_string(),
        })?;
        if !room.is_owner(&client.nick) {
            return Err(Refused::NotOwner {
                room: room.name.clone(),
                owner: room.owner.clone(),
            });
        }
        Ok((key, room))
    }
}

fn entries(room: &Room, list: ListKind) -> &BTreeMap<String, String> {
    match list {
        ListKind::Bans => &room.bans,
        ListKind::Permits => &room.permits,
    }
}

fn entries_mut(room: &mut Room, list: ListKind) -> &mut BTreeMap<String, String> {
    match list {
        ListKind::Bans => &mut room.bans,
        ListKind::Permits => &mut room.permits,
    }
}
