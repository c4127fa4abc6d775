//! The shared state of the server: who is online, which room each is in, and
//! the outbound queue of each. It knows nothing of sockets: it enqueues
//! encoded frames, and the writer threads do the I/O.
//!
//! Locking: the hub's one mutex is held only to read or change the maps and
//! to take a snapshot of recipients; never across socket or disk I/O. A room
//! message takes the message log's lock first (see `history`), then the hub
//! lock briefly inside it: always in that order.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::clock;
use crate::command::Refusal;
use crate::event::Event;
use crate::protocol::{Frame, Status};
use crate::text::{self, name_key, LOBBY};

use super::console::Console;
use super::history::{Kind, Loaded, MessageLog, Record};
use super::outbox::Outbox;

/// A connection's identity inside the hub, never reused while the server runs.
pub type ClientId = u64;

/// A cheap, cloneable handle on the shared state.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    log: MessageLog,
    console: Console,
    /// How many recent messages a room keeps for newcomers.
    history: usize,
    next_id: AtomicU64,
}

/// Everything behind the hub lock. Invariant: each logged-in client is in
/// exactly one room's `members`, the one its `room` field names.
struct State {
    clients: HashMap<ClientId, Client>,
    /// `name_key(nick)` to client, for unique nicknames and whispers.
    nicks: HashMap<String, ClientId>,
    /// `name_key(room name)` to room.
    rooms: HashMap<String, Room>,
}

struct Client {
    nick: String,
    /// `name_key` of the client's room.
    room: String,
    outbox: Outbox,
}

struct Room {
    name: String,
    members: Vec<ClientId>,
    /// The last `history` messages, oldest first, replayed to newcomers
    /// without reading `log.txt`.
    recent: VecDeque<Record>,
}

/// What a logged-in client is called and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub nick: String,
    pub room: String,
}

/// Why a message was not delivered.
#[derive(Debug)]
pub enum SendError {
    Refused(Refusal),
    /// `log.txt` could not be written, so the message was not delivered.
    NotStored(std::io::Error),
}

impl Hub {
    /// A hub with the lobby and the recent history loaded from `log.txt`.
    pub fn new(log: MessageLog, loaded: Loaded, console: Console, history: usize) -> Hub {
        let mut rooms = HashMap::new();
        rooms.insert(
            name_key(LOBBY),
            Room {
                name: LOBBY.to_string(),
                members: Vec::new(),
                recent: VecDeque::new(),
            },
        );
        if let Some(room) = rooms.get_mut(LOBBY) {
            room.recent = loaded.recent.get(LOBBY).cloned().unwrap_or_default();
        }
        Hub {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    clients: HashMap::new(),
                    nicks: HashMap::new(),
                    rooms,
                }),
                log,
                console,
                history,
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// The console every session prints on.
    pub fn console(&self) -> &Console {
        &self.inner.console
    }

    /// The message log, for the fsync thread.
    pub fn log(&self) -> &MessageLog {
        &self.inner.log
    }

    /// A fresh connection id.
    pub fn next_id(&self) -> ClientId {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers `nick` as online for client `id`, not yet in any room.
    ///
    /// # Errors
    /// 400 for a malformed nickname, 409 when it is online already.
    pub fn login(&self, id: ClientId, nick: &str, outbox: &Outbox) -> Result<(), Refusal> {
        text::check_nick(nick).map_err(Refusal::bad_request)?;
        let mut st = self.lock();
        let key = name_key(nick);
        if let Some(other) = st.nicks.get(&key).and_then(|id| st.clients.get(id)) {
            return Err(Refusal::new(
                Status::CONFLICT,
                format!("nickname {} is already online; choose another", other.nick),
            ));
        }
        st.nicks.insert(key, id);
        st.clients.insert(
            id,
            Client {
                nick: nick.to_string(),
                room: String::new(),
                outbox: outbox.clone(),
            },
        );
        Ok(())
    }

    /// Puts a logged-in client into `room` (leaving its current one): it is
    /// sent the room's recent history, then everyone in the room, the
    /// newcomer included, is sent the welcome.
    ///
    /// # Errors
    /// 404 when the room does not exist.
    pub fn enter_room(&self, id: ClientId, room: &str) -> Result<(), Refusal> {
        let key = name_key(room);
        let mut st = self.lock();
        if !st.rooms.contains_key(&key) {
            return Err(Refusal::new(
                Status::NOT_FOUND,
                format!("there is no room {room}"),
            ));
        }
        st.leave_room(id, &self.inner.console);
        let State { clients, rooms, .. } = &mut *st;
        let (Some(client), Some(room)) = (clients.get_mut(&id), rooms.get_mut(&key)) else {
            return Ok(());
        };
        client.room = key;
        room.members.push(id);
        for record in &room.recent {
            client.outbox.push_frame(&history_event(record));
        }
        let welcome = Event::Join {
            room: room.name.clone(),
            nick: client.nick.clone(),
            members: room.members.len(),
        };
        self.inner.console.say(format!(
            "Welcome {} to the room! There are {} member(s) online!",
            client.nick,
            room.members.len()
        ));
        // Joins are rare, so fanning out under the lock keeps counts in order.
        let frame: Arc<[u8]> = welcome.to_frame().encode().into();
        for member in &room.members {
            if let Some(c) = clients.get(member) {
                c.outbox.push(frame.clone());
            }
        }
        Ok(())
    }

    /// Stores a message from `id` to its room in `log.txt`, then delivers it
    /// to every other member. Returns the message's sequence number.
    ///
    /// # Errors
    /// `Refused` for an empty message; `NotStored` when `log.txt` failed.
    pub fn say(&self, id: ClientId, text: &str) -> Result<u64, SendError> {
        if text.is_empty() {
            return Err(SendError::Refused(Refusal::bad_request("empty message")));
        }
        let Some(me) = self.presence(id) else {
            return Err(SendError::Refused(Refusal::new(
                Status::FORBIDDEN,
                "log in first",
            )));
        };
        let record = Record {
            seq: 0,
            date: clock::now_utc(),
            kind: Kind::Message,
            room: me.room.clone(),
            from: me.nick,
            to: "-".to_string(),
            text: text.to_string(),
        };
        let key = name_key(&me.room);
        self.inner
            .log
            .append(record, |record| {
                let frame: Arc<[u8]> = Event::Message {
                    room: record.room.clone(),
                    from: record.from.clone(),
                    date: record.date.clone(),
                    seq: record.seq,
                    text: record.text.clone(),
                    history: false,
                }
                .to_frame()
                .encode()
                .into();
                let recipients = self.remember_and_snapshot(&key, id, record);
                for outbox in recipients {
                    outbox.push(frame.clone());
                }
                record.seq
            })
            .map_err(SendError::NotStored)
    }

    /// Keeps `record` in the room's recent history and returns the queues of
    /// every member but the sender.
    fn remember_and_snapshot(&self, key: &str, sender: ClientId, record: &Record) -> Vec<Outbox> {
        let mut st = self.lock();
        let State { clients, rooms, .. } = &mut *st;
        let Some(room) = rooms.get_mut(key) else {
            return Vec::new();
        };
        if self.inner.history > 0 {
            if room.recent.len() >= self.inner.history {
                room.recent.pop_front();
            }
            room.recent.push_back(record.clone());
        }
        room.members
            .iter()
            .filter(|&&m| m != sender)
            .filter_map(|m| clients.get(m).map(|c| c.outbox.clone()))
            .collect()
    }

    /// Sends a private message to one online user, stored in `log.txt` first.
    ///
    /// # Errors
    /// 404 when nobody online has that nickname; `NotStored` when `log.txt` failed.
    pub fn whisper(&self, id: ClientId, to: &str, text: &str) -> Result<(), SendError> {
        let refused = |status, reason: String| SendError::Refused(Refusal::new(status, reason));
        if text.is_empty() {
            return Err(refused(Status::BAD_REQUEST, "empty message".into()));
        }
        let (from, target) = {
            let st = self.lock();
            let from = st.clients.get(&id).map(|c| c.nick.clone());
            let target = st
                .nicks
                .get(&name_key(to))
                .and_then(|t| st.clients.get(t))
                .map(|c| (c.nick.clone(), c.outbox.clone()));
            (from, target)
        };
        let Some(from) = from else {
            return Err(refused(Status::FORBIDDEN, "log in first".into()));
        };
        let Some((to, outbox)) = target else {
            return Err(refused(
                Status::NOT_FOUND,
                format!("nobody called {to} is online"),
            ));
        };
        let record = Record {
            seq: 0,
            date: clock::now_utc(),
            kind: Kind::Whisper,
            room: "-".to_string(),
            from,
            to,
            text: text.to_string(),
        };
        self.inner
            .log
            .append(record, |r| {
                outbox.push_frame(
                    &Event::Whisper {
                        from: r.from.clone(),
                        to: r.to.clone(),
                        date: r.date.clone(),
                        text: r.text.clone(),
                    }
                    .to_frame(),
                );
            })
            .map_err(SendError::NotStored)
    }

    /// The nickname and room of client `id`, if logged in.
    pub fn presence(&self, id: ClientId) -> Option<Presence> {
        let st = self.lock();
        let client = st.clients.get(&id)?;
        let room = st.rooms.get(&client.room).map(|r| r.name.clone())?;
        Some(Presence {
            nick: client.nick.clone(),
            room,
        })
    }

    /// True when client `id` may enter (or see the files of) `room`. Every
    /// existing room is open until rooms gain owners, bans and permits.
    pub fn may_enter(&self, id: ClientId, room: &str) -> bool {
        let st = self.lock();
        st.clients.contains_key(&id) && st.rooms.contains_key(&name_key(room))
    }

    /// Sends `frame` to everyone in `room` but `except`: an announcement
    /// that is not a stored message, such as a shared file. The recipients
    /// are snapshotted under the lock; the frame is queued after it is let go.
    pub fn tell_room(&self, room: &str, except: ClientId, frame: &Frame) {
        let frame: Arc<[u8]> = frame.encode().into();
        let outboxes: Vec<Outbox> = {
            let st = self.lock();
            st.rooms.get(&name_key(room)).map_or_else(Vec::new, |r| {
                r.members
                    .iter()
                    .filter(|&&m| m != except)
                    .filter_map(|m| st.clients.get(m).map(|c| c.outbox.clone()))
                    .collect()
            })
        };
        for outbox in outboxes {
            outbox.push(frame.clone());
        }
    }

    /// Everyone online and their room, sorted by nickname.
    pub fn users(&self) -> Vec<Presence> {
        let st = self.lock();
        let mut users: Vec<Presence> = st
            .clients
            .values()
            .map(|c| Presence {
                nick: c.nick.clone(),
                room: st
                    .rooms
                    .get(&c.room)
                    .map_or_else(String::new, |r| r.name.clone()),
            })
            .collect();
        users.sort_by_key(|p| name_key(&p.nick));
        users
    }

    /// Takes client `id` offline: its room is told it left.
    pub fn logout(&self, id: ClientId) {
        let mut st = self.lock();
        st.leave_room(id, &self.inner.console);
        if let Some(client) = st.clients.remove(&id) {
            st.nicks.remove(&name_key(&client.nick));
        }
    }

    /// Tells every connected client why the server is going away and closes
    /// their queues; each writer sends what is queued, then hangs up.
    pub fn farewell_all(&self, reason: &str) {
        let frame: Arc<[u8]> = Event::Bye {
            reason: reason.to_string(),
        }
        .to_frame()
        .encode()
        .into();
        let outboxes: Vec<Outbox> = self
            .lock()
            .clients
            .values()
            .map(|c| c.outbox.clone())
            .collect();
        for outbox in outboxes {
            outbox.push(frame.clone());
            outbox.finish();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every mutation below completes between two statements that cannot
        // panic mid-way through an invariant, so a session thread that
        // panicked while holding the lock leaves consistent state behind:
        // recover rather than take every other client down with it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Removes client `id` from its room and tells the rest of the room.
    fn leave_room(&mut self, id: ClientId, console: &Console) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        let key = std::mem::take(&mut client.room);
        let nick = client.nick.clone();
        let Some(room) = self.rooms.get_mut(&key) else {
            return;
        };
        room.members.retain(|&m| m != id);
        console.say(format!("{nick} leaves the room!"));
        let frame: Arc<[u8]> = Event::Leave {
            room: room.name.clone(),
            nick,
            members: room.members.len(),
        }
        .to_frame()
        .encode()
        .into();
        for member in &room.members {
            if let Some(c) = self.clients.get(member) {
                c.outbox.push(frame.clone());
            }
        }
    }
}

/// A stored message as replayed to someone entering its room.
fn history_event(record: &Record) -> Frame {
    Event::Message {
        room: record.room.clone(),
        from: record.from.clone(),
        date: record.date.clone(),
        seq: record.seq,
        text: record.text.clone(),
        history: true,
    }
    .to_frame()
}
