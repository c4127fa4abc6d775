//! The shared state of the server: who is online, the rooms and where each
//! client is, and the outbound queue of each. It knows nothing of sockets:
//! it enqueues encoded frames, and the writer threads do the I/O.
//!
//! Locking: the hub's one mutex is held only to read or change the maps and
//! to take a snapshot of recipients, never across socket or disk I/O. A room
//! message takes the message log's lock first (see `history`), then the hub
//! lock briefly inside it; saving rooms takes the room store's lock, then
//! the hub lock for a snapshot. Never the other way round.

mod messages;
mod rooms;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::command::Refusal;
use crate::event::Event;
use crate::protocol::{Frame, Status};
use crate::text::{self, name_key, LOBBY};

use super::console::Console;
use super::history::{Loaded, MessageLog, Record};
use super::outbox::Outbox;
use super::rooms::{RoomRecord, RoomStore};

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
    room_store: RoomStore,
    console: Console,
    /// How many recent messages a room keeps for newcomers.
    history: usize,
    next_id: AtomicU64,
    /// Told the key of each room closed, after the hub lock is released;
    /// set once at start-up (the file store retires the room's files).
    room_closed: OnceLock<RoomClosedHook>,
}

/// What runs after a room is closed, given the room's `name_key`.
pub type RoomClosedHook = Box<dyn Fn(&str) + Send + Sync>;

/// Everything behind the hub lock. Invariant: each client that is in a
/// room is in exactly that room's `members`, the one its `room` field names.
struct State {
    clients: IdMap<Client>,
    /// `name_key(nick)` to client, for unique nicknames and whispers.
    nicks: HashMap<String, ClientId>,
    /// `name_key(room name)` to room.
    rooms: HashMap<String, Room>,
    /// Rooms with more members than this do not announce joins and leaves.
    announce_limit: usize,
}

struct Client {
    nick: String,
    /// `name_key` of the client's room; empty before it enters one.
    room: String,
    outbox: Outbox,
}

struct Room {
    name: String,
    /// `None` for the lobby, which nobody owns.
    owner: Option<String>,
    private: bool,
    /// `name_key(nick)` to the nickname as the owner typed it.
    bans: BTreeMap<String, String>,
    permits: BTreeMap<String, String>,
    members: Vec<ClientId>,
    /// The last `history` messages, oldest first, replayed to newcomers
    /// without reading `log.txt`.
    recent: VecDeque<Record>,
}

/// A map keyed by client id. Every message looks up each recipient here,
/// and std's default hasher (SipHash, keyed against hash flooding) showed
/// at 3% of a flood's profile. Ids are the server's own sequence numbers,
/// never chosen by a peer, so a plain multiplicative hash is safe.
type IdMap<V> = HashMap<ClientId, V, BuildHasherDefault<IdHasher>>;

#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing: sequential ids stay distinct in the low bits
        // (the bucket) and spread over the high bits (the table's tags).
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
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
    /// A hub with the lobby, the stored rooms, and their recent history.
    pub fn new(
        log: MessageLog,
        mut loaded: Loaded,
        room_store: RoomStore,
        stored_rooms: Vec<RoomRecord>,
        console: Console,
        history: usize,
        announce_limit: usize,
    ) -> Hub {
        let mut rooms = HashMap::new();
        let lobby = Room::new(LOBBY, None, false);
        rooms.insert(name_key(LOBBY), lobby);
        for record in stored_rooms {
            let mut room = Room::new(&record.name, Some(record.owner), record.private);
            room.bans = record.bans.into_iter().map(|n| (name_key(&n), n)).collect();
            room.permits = record
                .permits
                .into_iter()
                .map(|n| (name_key(&n), n))
                .collect();
            rooms.insert(name_key(&record.name), room);
        }
        for (key, room) in &mut rooms {
            room.recent = loaded.recent.remove(key).unwrap_or_default();
        }
        Hub {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    clients: IdMap::default(),
                    nicks: HashMap::new(),
                    rooms,
                    announce_limit,
                }),
                log,
                room_store,
                console,
                history,
                next_id: AtomicU64::new(1),
                room_closed: OnceLock::new(),
            }),
        }
    }

    /// Sets what runs after a room is closed. Set once, at start-up; a
    /// second hook is ignored.
    pub fn on_room_closed(&self, hook: impl Fn(&str) + Send + Sync + 'static) {
        let _ = self.inner.room_closed.set(Box::new(hook));
    }

    /// The console every session prints on.
    pub fn console(&self) -> &Console {
        &self.inner.console
    }

    /// The message log, for the fsync thread and shutdown.
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
        st.check_free(nick, None)?;
        st.nicks.insert(name_key(nick), id);
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

    /// Puts a logged-in client into the lobby, which always admits everyone.
    pub fn enter_lobby(&self, id: ClientId) {
        let mut st = self.lock();
        st.enter(id, &name_key(LOBBY), &self.inner.console);
    }

    /// The nickname and room of client `id`, if logged in.
    pub fn presence(&self, id: ClientId) -> Option<Presence> {
        let st = self.lock();
        let client = st.clients.get(&id)?;
        Some(Presence {
            nick: client.nick.clone(),
            room: st.room_name(&client.room),
        })
    }

    /// Sends `frame` to everyone in `room` but `except`: an announcement
    /// that is not a stored message, such as a shared file.
    pub fn tell_room(&self, room: &str, except: ClientId, frame: &Frame) {
        self.lock().fan_out(&name_key(room), frame, Some(except));
    }

    /// Everyone online and their room, sorted by nickname.
    pub fn users(&self) -> Vec<Presence> {
        let st = self.lock();
        let mut users: Vec<Presence> = st
            .clients
            .values()
            .map(|c| Presence {
                nick: c.nick.clone(),
                room: st.room_name(&c.room),
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

    /// Disconnects the user called `nick`, telling them why.
    ///
    /// # Errors
    /// 404 when nobody of that name is online.
    pub fn kick(&self, nick: &str, reason: &str) -> Result<String, Refusal> {
        let target = {
            let st = self.lock();
            st.client_by_nick(nick)
                .map(|c| (c.nick.clone(), c.outbox.clone()))
        };
        let Some((nick, outbox)) = target else {
            return Err(Refusal::new(
                Status::NOT_FOUND,
                format!("nobody called {nick} is online"),
            ));
        };
        outbox.push_frame(
            &Event::Bye {
                reason: reason.to_string(),
            }
            .to_frame(),
        );
        outbox.finish_and_wake();
        Ok(nick)
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
            outbox.finish_and_wake();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every mutation completes between statements that cannot panic
        // half-way through an invariant, so a session thread that panicked
        // while holding the lock leaves consistent state behind: recover
        // rather than take every other client down with it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Room {
    fn new(name: &str, owner: Option<String>, private: bool) -> Room {
        Room {
            name: name.to_string(),
            owner,
            private,
            bans: BTreeMap::new(),
            permits: BTreeMap::new(),
            members: Vec::new(),
            recent: VecDeque::new(),
        }
    }

    fn is_owner(&self, nick: &str) -> bool {
        self.owner
            .as_deref()
            .is_some_and(|owner| name_key(owner) == name_key(nick))
    }

    /// Whether `nick` may enter: the owner always; nobody banned; only
    /// permitted people into a private room.
    fn admits(&self, nick: &str) -> Result<(), Refusal> {
        if self.is_owner(nick) {
            return Ok(());
        }
        if self.bans.contains_key(&name_key(nick)) {
            return Err(Refusal::new(
                Status::FORBIDDEN,
                format!("you are banned from {}", self.name),
            ));
        }
        if self.private && !self.permits.contains_key(&name_key(nick)) {
            return Err(Refusal::new(
                Status::FORBIDDEN,
                format!(
                    "{} is private; ask its owner {} to /permit you",
                    self.name,
                    self.owner.as_deref().unwrap_or("")
                ),
            ));
        }
        Ok(())
    }

    /// Private rooms are listed only to those who may enter them.
    fn is_visible_to(&self, nick: &str) -> bool {
        !self.private || self.admits(nick).is_ok()
    }

    fn to_record(&self) -> Option<RoomRecord> {
        Some(RoomRecord {
            name: self.name.clone(),
            owner: self.owner.clone()?,
            private: self.private,
            bans: self.bans.values().cloned().collect(),
            permits: self.permits.values().cloned().collect(),
        })
    }
}

impl State {
    fn client_by_nick(&self, nick: &str) -> Option<&Client> {
        self.nicks
            .get(&name_key(nick))
            .and_then(|id| self.clients.get(id))
    }

    /// 409 when `nick` is online (other than as `except`).
    fn check_free(&self, nick: &str, except: Option<ClientId>) -> Result<(), Refusal> {
        match self.nicks.get(&name_key(nick)) {
            Some(&other) if Some(other) != except => Err(Refusal::new(
                Status::CONFLICT,
                format!(
                    "nickname {} is already online; choose another",
                    self.clients.get(&other).map_or(nick, |c| c.nick.as_str())
                ),
            )),
            _ => Ok(()),
        }
    }

    fn room_name(&self, key: &str) -> String {
        self.rooms
            .get(key)
            .map_or_else(String::new, |r| r.name.clone())
    }

    /// Moves client `id` into the room keyed `key` (leaving its current one):
    /// it is sent the room's recent history, then everyone in the room, the
    /// newcomer included, is sent the welcome. Joins are rare, so fanning
    /// out under the lock is cheap and keeps member counts in order.
    fn enter(&mut self, id: ClientId, key: &str, console: &Console) {
        self.leave_room(id, console);
        let State { clients, rooms, .. } = self;
        let (Some(client), Some(room)) = (clients.get_mut(&id), rooms.get_mut(key)) else {
            return;
        };
        client.room = key.to_string();
        room.members.push(id);
        for record in &room.recent {
            client.outbox.push_frame(&message_event(record, true));
        }
        console.say(format!(
            "Welcome {} to the room! There are {} member(s) online!",
            client.nick,
            room.members.len()
        ));
        let welcome = Event::Join {
            room: room.name.clone(),
            nick: client.nick.clone(),
            members: room.members.len(),
        };
        if room.members.len() <= self.announce_limit {
            self.fan_out(key, &welcome.to_frame(), None);
        } else {
            // A crowd is not told of every arrival (as IRC's large
            // channels): announcing each of N joins costs N^2 deliveries.
            client.outbox.push_frame(&welcome.to_frame());
        }
    }

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
        if room.members.len() >= self.announce_limit {
            return;
        }
        let leave = Event::Leave {
            room: room.name.clone(),
            nick,
            members: room.members.len(),
        };
        self.fan_out(&key, &leave.to_frame(), None);
    }

    /// Enqueues `frame` to every member of the room keyed `key` but `except`.
    fn fan_out(&self, key: &str, frame: &Frame, except: Option<ClientId>) {
        let Some(room) = self.rooms.get(key) else {
            return;
        };
        let bytes: Arc<[u8]> = frame.encode().into();
        for member in room.members.iter().filter(|&&m| Some(m) != except) {
            if let Some(c) = self.clients.get(member) {
                c.outbox.push(bytes.clone());
            }
        }
    }

    /// Tells client `id` something, then moves it to the lobby.
    fn send_to_lobby(&mut self, id: ClientId, why: &str, console: &Console) {
        if let Some(client) = self.clients.get(&id) {
            client.outbox.push_frame(
                &Event::Notice {
                    text: why.to_string(),
                }
                .to_frame(),
            );
        }
        self.enter(id, &name_key(LOBBY), console);
    }

    /// Every created room, as `rooms.txt` stores them, sorted by name.
    fn room_records(&self) -> Vec<RoomRecord> {
        let mut records: Vec<RoomRecord> =
            self.rooms.values().filter_map(Room::to_record).collect();
        records.sort_by_key(|r| name_key(&r.name));
        records
    }
}

/// A stored message as its event; `history` marks one replayed on entering.
fn message_event(record: &Record, history: bool) -> Frame {
    Event::Message {
        room: record.room.clone(),
        from: record.from.clone(),
        date: record.date.clone(),
        seq: record.seq,
        text: record.text.clone(),
        history,
    }
    .to_frame()
}
