//! Room management on the hub: creating, entering, leaving and closing
//! rooms, the owner's ban and permit lists, nickname changes, and the
//! operator's `/kill`. Every change that outlives the process is saved to
//! `rooms.txt` after the hub lock is released.

use std::collections::BTreeMap;

use crate::clock;
use crate::command::{ListKind, Refusal};
use crate::event::Event;
use crate::protocol::Status;
use crate::text::{self, name_key, LOBBY};

use super::{ClientId, Hub, Room, State};
use crate::server::history::{Kind, Record};

impl Hub {
    /// True when client `id` may enter (or see the files of) `room`.
    pub fn may_enter(&self, id: ClientId, room: &str) -> bool {
        let st = self.lock();
        let (Some(client), Some(room)) = (st.clients.get(&id), st.rooms.get(&name_key(room)))
        else {
            return false;
        };
        room.admits(&client.nick).is_ok()
    }

    /// The rooms `id` may see (every room for the console, `id == None`):
    /// name, owner, visibility and members online, one per line.
    pub fn room_list(&self, id: Option<ClientId>) -> String {
        let st = self.lock();
        let viewer = id
            .and_then(|id| st.clients.get(&id))
            .map(|c| c.nick.as_str());
        let mut rooms: Vec<&Room> = st
            .rooms
            .values()
            .filter(|r| viewer.is_none_or(|nick| r.is_visible_to(nick)))
            .collect();
        rooms.sort_by_key(|r| (r.owner.is_some(), name_key(&r.name)));
        let mut text = format!("{} room(s):", rooms.len());
        for room in rooms {
            text.push_str(&format!(
                "\n  {}  owner: {}  {}  {} online",
                room.name,
                room.owner.as_deref().unwrap_or("-"),
                if room.private { "private" } else { "public" },
                room.members.len()
            ));
        }
        text
    }

    /// Creates a room owned by `id` and moves `id` into it.
    ///
    /// # Errors
    /// 400 for a bad name, 409 when the name is taken.
    pub fn create_room(&self, id: ClientId, name: &str, private: bool) -> Result<String, Refusal> {
        text::check_room(name).map_err(Refusal::bad_request)?;
        {
            let mut st = self.lock();
            let key = name_key(name);
            if let Some(existing) = st.rooms.get(&key) {
                return Err(Refusal::new(
                    Status::CONFLICT,
                    format!("room {} already exists; /join it instead", existing.name),
                ));
            }
            let owner = st.clients.get(&id).map(|c| c.nick.clone());
            let Some(owner) = owner else {
                return Err(not_logged_in());
            };
            st.rooms
                .insert(key.clone(), Room::new(name, Some(owner.clone()), private));
            self.console().say(format!(
                "New room {name} created by {owner} ({})",
                visibility(private)
            ));
            st.enter(id, &key, self.console());
        }
        Ok(self.saved(format!(
            "created {} room {name}; you own it",
            visibility(private)
        )))
    }

    /// Moves `id` into an existing room, if the room admits it.
    ///
    /// # Errors
    /// 404 no such room, 403 banned or private, 409 already there.
    pub fn join_room(&self, id: ClientId, name: &str) -> Result<String, Refusal> {
        let mut st = self.lock();
        let key = name_key(name);
        let nick = st.nick_of(id)?;
        let room = st.rooms.get(&key).ok_or_else(|| no_such_room(name))?;
        if st.clients.get(&id).is_some_and(|c| c.room == key) {
            return Err(Refusal::new(
                Status::CONFLICT,
                format!("you are already in {}", room.name),
            ));
        }
        room.admits(&nick)?;
        let name = room.name.clone();
        st.enter(id, &key, self.console());
        Ok(format!("you are now in {name}"))
    }

    /// Moves `id` back to the lobby from its room (which `room`, if given,
    /// must name).
    ///
    /// # Errors
    /// 409 when it is in the lobby already, or not in `room`.
    pub fn leave_room(&self, id: ClientId, room: Option<&str>) -> Result<String, Refusal> {
        let mut st = self.lock();
        st.nick_of(id)?;
        if let Some(room) = room {
            let current = st
                .clients
                .get(&id)
                .map(|c| c.room.clone())
                .unwrap_or_default();
            if name_key(room) != current {
                return Err(Refusal::new(
                    Status::CONFLICT,
                    format!(
                        "you are not in {room}; you are in {}",
                        st.room_name(&current)
                    ),
                ));
            }
        }
        let lobby = name_key(LOBBY);
        if st.clients.get(&id).is_some_and(|c| c.room == lobby) {
            return Err(Refusal::new(
                Status::CONFLICT,
                "you are in the lobby already; /quit leaves the chat",
            ));
        }
        st.enter(id, &lobby, self.console());
        Ok("you are back in the lobby".to_string())
    }

    /// Closes `room` (by default the one `id` is in), which `id` must own;
    /// its members go to the lobby.
    ///
    /// # Errors
    /// 404 no such room; 403 for the lobby or when `id` is not the owner.
    pub fn close_room(&self, id: ClientId, room: Option<&str>) -> Result<String, Refusal> {
        let (key, name, owner) = {
            let st = self.lock();
            let (key, room) = st.owned_room(id, room)?;
            (
                key,
                room.name.clone(),
                room.owner.clone().unwrap_or_default(),
            )
        };
        self.remove_room(
            &key,
            &owner,
            &format!("room {name} was closed by its owner"),
        )?;
        Ok(self.saved(format!("closed {name}")))
    }

    /// The operator's `/kill ROOM`: closes any room but the lobby.
    ///
    /// # Errors
    /// 404 no such room, 403 for the lobby.
    pub fn kill_room(&self, name: &str) -> Result<String, Refusal> {
        let key = name_key(name);
        let name = {
            let st = self.lock();
            st.rooms
                .get(&key)
                .ok_or_else(|| no_such_room(name))?
                .name
                .clone()
        };
        self.remove_room(
            &key,
            "(operator)",
            &format!("room {name} was closed by the server operator"),
        )?;
        Ok(self.saved(format!("killed {name}")))
    }

    /// Removes a room for good, moving its members to the lobby with `why`.
    fn remove_room(&self, key: &str, by: &str, why: &str) -> Result<(), Refusal> {
        if key == name_key(LOBBY) {
            return Err(Refusal::new(
                Status::FORBIDDEN,
                "the lobby cannot be closed",
            ));
        }
        let name = self.lock().room_name(key);
        let closed = Record {
            seq: 0,
            date: clock::now_utc(),
            kind: Kind::Closed,
            room: name,
            from: by.to_string(),
            to: "-".to_string(),
            text: why.to_string(),
        };
        // Evicted inside the append, so no message of the old room can be
        // logged after its closing record (lock order: log, then hub).
        if let Err(e) = self.inner.log.append(closed, |_| self.evict(key, why)) {
            self.console().say(format!(
                "warning: cannot record the closing in log.txt: {e}; closing anyway"
            ));
            self.evict(key, why);
        }
        self.console().say(why);
        // A room of the same name created later is another room: what was
        // shared here must not become visible there. Run without the lock,
        // since the hook writes to disk.
        if let Some(hook) = self.inner.room_closed.get() {
            hook(key);
        }
        Ok(())
    }

    /// Moves a room's members to the lobby, telling them `why`, and removes it.
    fn evict(&self, key: &str, why: &str) {
        let mut st = self.lock();
        let members = st
            .rooms
            .get(key)
            .map(|r| r.members.clone())
            .unwrap_or_default();
        for member in members {
            st.send_to_lobby(member, why, self.console());
        }
        st.rooms.remove(key);
    }

    /// Adds `nick` to (or removes it from) a list of `room` (by default the
    /// one `id` is in), which `id` must own. A banned member is moved to
    /// the lobby at once.
    ///
    /// # Errors
    /// 404 no such room; 403 when `id` does not own it; 400 for a bad
    /// nickname or banning oneself; 409 when nothing would change.
    pub fn change_list(
        &self,
        id: ClientId,
        room: Option<&str>,
        list: ListKind,
        nick: &str,
        add: bool,
    ) -> Result<String, Refusal> {
        text::check_nick(nick).map_err(Refusal::bad_request)?;
        let reply = {
            let mut st = self.lock();
            let (key, room) = st.owned_room(id, room)?;
            let room_name = room.name.clone();
            if add && list == ListKind::Bans && room.is_owner(nick) {
                return Err(Refusal::bad_request(
                    "you cannot ban yourself from your own room",
                ));
            }
            let room = st
                .rooms
                .get_mut(&key)
                .ok_or_else(|| no_such_room(&room_name))?;
            let entries = entries_mut(room, list);
            let changed = if add {
                entries.insert(name_key(nick), nick.to_string()).is_none()
            } else {
                entries.remove(&name_key(nick)).is_some()
            };
            if !changed {
                return Err(Refusal::new(
                    Status::CONFLICT,
                    format!(
                        "{nick} is {} the {} of {room_name}",
                        if add { "already on" } else { "not on" },
                        list_name(list)
                    ),
                ));
            }
            if add && list == ListKind::Bans {
                let banned = st
                    .client_by_nick(nick)
                    .filter(|c| c.room == key)
                    .and_then(|c| st.nicks.get(&name_key(&c.nick)).copied());
                if let Some(banned) = banned {
                    let why = format!("you were banned from {room_name}");
                    st.send_to_lobby(banned, &why, self.console());
                }
            }
            format!(
                "{nick} {} the {} of {room_name}",
                if add { "added to" } else { "removed from" },
                list_name(list)
            )
        };
        Ok(self.saved(reply))
    }

    /// The ban or permit list of `room` (by default the one `id` is in),
    /// which `id` must own.
    ///
    /// # Errors
    /// 404 no such room; 403 when `id` does not own it.
    pub fn show_list(
        &self,
        id: ClientId,
        room: Option<&str>,
        list: ListKind,
    ) -> Result<String, Refusal> {
        let st = self.lock();
        let (_, room) = st.owned_room(id, room)?;
        let entries = match list {
            ListKind::Bans => &room.bans,
            ListKind::Permits => &room.permits,
        };
        let names: Vec<&str> = entries.values().map(String::as_str).collect();
        Ok(format!(
            "{} of {} ({}): {}",
            list_name(list),
            room.name,
            names.len(),
            if names.is_empty() {
                "nobody".to_string()
            } else {
                names.join(", ")
            }
        ))
    }

    /// Changes the nickname of `id`; its room sees the change, and rooms it
    /// owns follow it to the new name.
    ///
    /// # Errors
    /// 400 for a malformed nickname, 409 when it is taken.
    pub fn rename(&self, id: ClientId, new: &str) -> Result<String, Refusal> {
        text::check_nick(new).map_err(Refusal::bad_request)?;
        let owned_any = {
            let mut st = self.lock();
            let old = st.nick_of(id)?;
            st.check_free(new, Some(id))?;
            st.nicks.remove(&name_key(&old));
            st.nicks.insert(name_key(new), id);
            let mut owned_any = false;
            for room in st.rooms.values_mut().filter(|r| r.is_owner(&old)) {
                room.owner = Some(new.to_string());
                owned_any = true;
            }
            let key = match st.clients.get_mut(&id) {
                Some(client) => {
                    client.nick = new.to_string();
                    client.room.clone()
                }
                None => return Err(not_logged_in()),
            };
            self.console().say(format!("{old} is now known as {new}"));
            let event = Event::Renamed {
                old,
                new: new.to_string(),
            };
            st.fan_out(&key, &event.to_frame(), None);
            owned_any
        };
        let reply = format!("you are now known as {new}");
        Ok(if owned_any { self.saved(reply) } else { reply })
    }

    /// Saves the rooms, returning `reply` (with a warning if the disk failed,
    /// since the change then lives only until the server stops).
    fn saved(&self, reply: String) -> String {
        match self.inner.room_store.save(|| self.lock().room_records()) {
            Ok(()) => reply,
            Err(e) => {
                self.console()
                    .say(format!("warning: cannot save rooms.txt: {e}"));
                format!("{reply} (warning: could not be saved to disk: {e}; it will be lost when the server restarts)")
            }
        }
    }
}

impl State {
    fn nick_of(&self, id: ClientId) -> Result<String, Refusal> {
        self.clients
            .get(&id)
            .map(|c| c.nick.clone())
            .ok_or_else(not_logged_in)
    }

    /// The key and room `named` (or that `id` is in), if `id` owns it.
    fn owned_room(&self, id: ClientId, named: Option<&str>) -> Result<(String, &Room), Refusal> {
        let client = self.clients.get(&id).ok_or_else(not_logged_in)?;
        let key = named.map_or_else(|| client.room.clone(), name_key);
        let room = match (self.rooms.get(&key), named) {
            (Some(room), _) => room,
            (None, Some(name)) => return Err(no_such_room(name)),
            (None, None) => return Err(Refusal::new(Status::FORBIDDEN, "you are not in a room")),
        };
        match &room.owner {
            None => Err(Refusal::new(
                Status::FORBIDDEN,
                "nobody owns the lobby; /create a room of your own",
            )),
            Some(owner) if !room.is_owner(&client.nick) => Err(Refusal::new(
                Status::FORBIDDEN,
                format!("only the owner of {} ({owner}) can do that", room.name),
            )),
            Some(_) => Ok((key, room)),
        }
    }
}

fn entries_mut(room: &mut Room, list: ListKind) -> &mut BTreeMap<String, String> {
    match list {
        ListKind::Bans => &mut room.bans,
        ListKind::Permits => &mut room.permits,
    }
}

fn list_name(list: ListKind) -> &'static str {
    match list {
        ListKind::Bans => "blacklist",
        ListKind::Permits => "whitelist",
    }
}

fn visibility(private: bool) -> &'static str {
    if private {
        "private"
    } else {
        "public"
    }
}

fn no_such_room(name: &str) -> Refusal {
    Refusal::new(
        Status::NOT_FOUND,
        format!("there is no room {name}; /ls lists them"),
    )
}

fn not_logged_in() -> Refusal {
    Refusal::new(Status::FORBIDDEN, "log in first")
}
