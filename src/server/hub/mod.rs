//! The shared state of the server: who is online, the rooms and who is in
//! each, and each connection's outbound queue. The rules live here (who
//! may enter, who owns what, unique nicknames); words and sockets do not.
//! Operations return typed outcomes ([`outcome`]) and emit [`Delivery`]
//! values that each connection's [`Codec`] encodes for its door.
//!
//! Locking: the hub's one mutex is held only to read or change the maps and
//! to enqueue deliveries, never across socket or disk I/O. Storing comes
//! first and takes its own lock: a room message takes the message log's
//! lock, then the hub lock inside it; a change to rooms takes the room
//! store's lock, then the hub lock for a snapshot. Never the other way round.

mod cluster;
#[cfg(test)]
mod cluster_tests;
mod delivery;
mod members;
mod messages;
pub mod outcome;
mod remote;
mod rooms;
mod shared_rooms;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::event::{Event, Parting};
use crate::text::{self, name_key, LOBBY};

use super::cluster::ClusterLink;
use super::history::{Loaded, MessageLog, Record};
use super::outbox::Outbox;
use super::rooms::{RoomRecord, RoomStore};

pub(crate) use cluster::whisper_refused;
pub use delivery::{Codec, Delivery, Encoded, Owed, Removal, MAX_FORMATS};
pub use messages::check_text;
pub use outcome::{Presence, Refused, RoomInfo};
pub use remote::{PresenceChange, Remote};

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
    next_id: AtomicU64,
    /// Set once at start-up in cluster mode: room messages then go through
    /// Redis and nicknames are claimed there.
    cluster: OnceLock<Arc<ClusterLink>>,
}

/// How a connection takes part, fixed at login by its door.
pub struct Member {
    pub outbox: Outbox,
    pub codec: Arc<dyn Codec>,
    /// In several rooms at once (IRC channels, browser tabs), or in one at
    /// a time, moved by each join (the terminal client, the seeds).
    pub many_rooms: bool,
    /// Also sent its own room messages, in their place (IRC `echo-message`).
    pub echo: bool,
}

/// Everything behind the hub lock. Invariant: a client is in a room's
/// `members` exactly when that room's key is in the client's `rooms`.
struct State {
    clients: IdMap<Client>,
    /// `name_key(nick)` to client, for unique nicknames and whispers.
    nicks: HashMap<String, ClientId>,
    /// `name_key(room name)` to room.
    rooms: HashMap<String, Room>,
    /// Rooms with more members than this do not announce joins and leaves.
    announce_limit: usize,
    /// How many recent messages a room keeps for newcomers.
    history: usize,
    /// Cluster mode: this node's id, shown beside its users.
    node: Option<String>,
    /// Cluster mode: users on other nodes, by `name_key(nick)`.
    remote: HashMap<String, Remote>,
    /// Cluster mode: presence changes heard on the channel, counted, and
    /// the count at each user's last one (`name_key`): a full read of a
    /// node's presence made before a change must not undo it.
    heard: (u64, HashMap<String, u64>),
    /// Cluster mode: the version of the last presence change applied for
    /// each user on another node (`name_key`), kept a while after they
    /// went offline: what comes after it carrying an older version is an
    /// echo from before it (see `remote.rs`).
    versions: HashMap<String, remote::Version>,
    /// Cluster mode: where this node's presence changes go (to Redis).
    changes: Option<std::sync::mpsc::Sender<PresenceChange>>,
}

struct Client {
    nick: String,
    away: Option<String>,
    /// Keys of the rooms it is in, in the order it entered them.
    rooms: Vec<String>,
    many_rooms: bool,
    echo: bool,
    outbox: Outbox,
    codec: Arc<dyn Codec>,
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

/// What a returning user missed in a room since its read marker `since`,
/// read from the archive before it enters (never under the hub lock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    pub since: u64,
    /// Oldest first.
    pub records: Vec<Record>,
}

/// A connection that logged out, and the rooms it was taken out of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedOut {
    pub nick: String,
    pub rooms: Vec<String>,
}

impl Hub {
    /// A hub with the lobby, the stored rooms, and their recent history.
    pub fn new(
        log: MessageLog,
        mut loaded: Loaded,
        room_store: RoomStore,
        stored_rooms: Vec<RoomRecord>,
        history: usize,
        announce_limit: usize,
    ) -> Hub {
        let mut rooms = HashMap::new();
        rooms.insert(name_key(LOBBY), Room::new(LOBBY, None, false));
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
                    history,
                    node: None,
                    remote: HashMap::new(),
                    heard: (0, HashMap::new()),
                    versions: HashMap::new(),
                    changes: None,
                }),
                log,
                room_store,
                next_id: AtomicU64::new(1),
                cluster: OnceLock::new(),
            }),
        }
    }

    /// The message log, for the fsync thread and shutdown.
    pub fn log(&self) -> &MessageLog {
        &self.inner.log
    }

    /// A fresh connection id.
    pub fn next_id(&self) -> ClientId {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers `nick` as online for connection `id`, in no room yet.
    ///
    /// # Errors
    /// `BadNick` for a malformed nickname, `NickInUse` when it is online.
    pub fn login(&self, id: ClientId, nick: &str, member: Member) -> Result<(), Refused> {
        text::check_nick(nick).map_err(Refused::BadNick)?;
        if self.in_cluster() {
            // Checked here first, so a local clash costs no round trip;
            // then Redis decides between every node's contenders.
            self.lock().check_free(nick, None)?;
            self.claim_in_cluster(id, nick)?;
        }
        let mut st = self.lock();
        if let Err(refused) = st.check_free(nick, None) {
            drop(st);
            self.release_in_cluster(id, nick);
            return Err(refused);
        }
        st.nicks.insert(name_key(nick), id);
        st.clients.insert(
            id,
            Client {
                nick: nick.to_string(),
                away: None,
                rooms: Vec::new(),
                many_rooms: member.many_rooms,
                echo: member.echo,
                outbox: member.outbox,
                codec: member.codec,
            },
        );
        Ok(())
    }

    /// Puts a logged-in connection into the lobby, which admits everyone;
    /// `missed`: what it missed there since it was last in it.
    pub fn enter_lobby(
        &self,
        id: ClientId,
        missed: Option<Missed>,
        owed: &mut Owed,
    ) -> Option<outcome::Joined> {
        self.lock().enter(id, &name_key(LOBBY), missed, owed)
    }

    /// The nickname of connection `id`, if logged in.
    pub fn nick(&self, id: ClientId) -> Option<String> {
        self.lock().clients.get(&id).map(|c| c.nick.clone())
    }

    /// The rooms connection `id` is in, by name, in the order it entered them.
    pub fn rooms_of(&self, id: ClientId) -> Vec<String> {
        let st = self.lock();
        st.clients
            .get(&id)
            .map(|c| c.rooms.iter().map(|k| st.room_name(k)).collect())
            .unwrap_or_default()
    }

    /// How many are online, and how many rooms there are (IRC's `LUSERS`,
    /// at every IRC login): counts, without building either list.
    pub fn counts(&self) -> (usize, usize) {
        let st = self.lock();
        (st.clients.len(), st.rooms.len())
    }

    /// Everyone online and the rooms they are in, sorted by nickname; a
    /// private room is named only to a `viewer` who may see it (every room
    /// for the console, `viewer == None`).
    pub fn users(&self, viewer: Option<ClientId>) -> Vec<Presence> {
        let st = self.lock();
        let viewer = viewer
            .and_then(|id| st.clients.get(&id))
            .map(|c| c.nick.as_str());
        let mut users: Vec<Presence> = st
            .clients
            .values()
            .map(|c| st.presence_of(c, viewer))
            .chain(st.remote.values().map(|r| st.remote_presence(r, viewer)))
            .collect();
        users.sort_by_key(|p| name_key(&p.nick));
        users
    }

    /// The user called `nick`, as `viewer` (the console: `None`) may see them.
    pub fn presence(&self, viewer: Option<ClientId>, nick: &str) -> Option<Presence> {
        let st = self.lock();
        let viewer = viewer
            .and_then(|id| st.clients.get(&id))
            .map(|c| c.nick.as_str());
        match st.client_by_nick(nick) {
            Some(c) => Some(st.presence_of(c, viewer)),
            None => st
                .remote
                .get(&name_key(nick))
                .map(|r| st.remote_presence(r, viewer)),
        }
    }

    /// Sets (or, with `None`, clears) connection `id`'s away message.
    pub fn set_away(&self, id: ClientId, away: Option<String>) {
        if let Some(client) = self.lock().clients.get_mut(&id) {
            client.away = away;
        }
    }

    /// True when someone called `nick` is online.
    pub fn is_online(&self, nick: &str) -> bool {
        let st = self.lock();
        st.nicks.contains_key(&name_key(nick)) || st.remote.contains_key(&name_key(nick))
    }

    /// Takes connection `id` offline: each of its rooms is told it left,
    /// and `why`.
    pub fn logout(&self, id: ClientId, why: &Parting, owed: &mut Owed) -> Option<LoggedOut> {
        let mut st = self.lock();
        let rooms = st.leave_all(id, why, owed);
        let client = st.clients.remove(&id)?;
        st.nicks.remove(&name_key(&client.nick));
        st.publish(&client.nick, None);
        drop(st);
        self.release_in_cluster(id, &client.nick);
        Some(LoggedOut {
            nick: client.nick,
            rooms,
        })
    }

    /// Ends the connection of the user called `nick`, sending it `bye`
    /// (a reason its door words) first. Returns the nickname as spelled.
    ///
    /// # Errors
    /// `NoSuchUser` when nobody of that name is online.
    pub fn kick(&self, nick: &str, reason: &str) -> Result<String, Refused> {
        match self.kick_local(nick, reason) {
            // In a cluster, the node that has them is asked to.
            Err(Refused::NoSuchUser { .. }) => self.tell_elsewhere(nick, &["kick", nick, reason]),
            done => done,
        }
    }

    /// As `kick`, for a user on this node only.
    ///
    /// # Errors
    /// `NoSuchUser` when nobody of that name is online here.
    pub fn kick_local(&self, nick: &str, reason: &str) -> Result<String, Refused> {
        let mut owed = Owed::new();
        let st = self.lock();
        let client = st.client_by_nick(nick).ok_or_else(|| Refused::NoSuchUser {
            nick: nick.to_string(),
        })?;
        st.send(
            client,
            &Event::Bye {
                reason: reason.into(),
            }
            .into(),
            &mut owed,
        );
        let (nick, outbox) = (client.nick.clone(), client.outbox.clone());
        drop(st);
        owed.pay();
        outbox.finish_and_wake();
        Ok(nick)
    }

    /// Tells every connection why the server is going away and closes
    /// their queues; what is queued is still written, then they hang up.
    pub fn farewell_all(&self, reason: &str) {
        let mut owed = Owed::new();
        let bye = Delivery::Event(Event::Bye {
            reason: reason.to_string(),
        });
        let outboxes: Vec<Outbox> = {
            let st = self.lock();
            let mut encoded = Encoded::new(&bye);
            st.clients
                .values()
                .map(|c| {
                    owed.push(&c.outbox, encoded.for_codec(&*c.codec));
                    c.outbox.clone()
                })
                .collect()
        };
        owed.pay();
        for outbox in outboxes {
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

impl From<Event> for Delivery {
    fn from(event: Event) -> Delivery {
        Delivery::Event(event)
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
    fn admits(&self, nick: &str) -> Result<(), Refused> {
        if self.is_owner(nick) {
            return Ok(());
        }
        if self.bans.contains_key(&name_key(nick)) {
            return Err(Refused::Banned {
                room: self.name.clone(),
            });
        }
        if self.private && !self.permits.contains_key(&name_key(nick)) {
            return Err(Refused::Private {
                room: self.name.clone(),
                owner: self.owner.clone().unwrap_or_default(),
            });
        }
        Ok(())
    }

    /// Private rooms are shown only to those who may enter them.
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

    fn info(&self) -> RoomInfo {
        RoomInfo {
            name: self.name.clone(),
            owner: self.owner.clone(),
            private: self.private,
            members: self.members.len(),
        }
    }
}

impl State {
    /// Keeps `records` (messages just stored) as the recent history of
    /// the room keyed `key`, the last `history` of them.
    fn remember(&mut self, key: &str, records: impl IntoIterator<Item = Record>) {
        let keep = self.history;
        let Some(room) = self.rooms.get_mut(key).filter(|_| keep > 0) else {
            return;
        };
        for record in records {
            if room.recent.len() >= keep {
                room.recent.pop_front();
            }
            room.recent.push_back(record);
        }
    }

    /// `client` as someone called `viewer` sees them: private rooms the
    /// viewer may not enter are only counted.
    fn presence_of(&self, client: &Client, viewer: Option<&str>) -> Presence {
        let (visible, hidden): (Vec<&Room>, Vec<&Room>) = client
            .rooms
            .iter()
            .filter_map(|k| self.rooms.get(k))
            .partition(|r| viewer.is_none_or(|v| r.is_visible_to(v)));
        Presence {
            nick: client.nick.clone(),
            rooms: visible.iter().map(|r| r.name.clone()).collect(),
            hidden_rooms: hidden.len(),
            away: client.away.clone(),
            node: self.node.clone(),
        }
    }

    fn client(&self, id: ClientId) -> Result<&Client, Refused> {
        self.clients.get(&id).ok_or(Refused::NotLoggedIn)
    }

    fn client_by_nick(&self, nick: &str) -> Option<&Client> {
        self.nicks
            .get(&name_key(nick))
            .and_then(|id| self.clients.get(id))
    }

    /// `NickInUse` when `nick` is online (other than as `except`).
    fn check_free(&self, nick: &str, except: Option<ClientId>) -> Result<(), Refused> {
        match self.nicks.get(&name_key(nick)) {
            Some(&other) if Some(other) != except => Err(Refused::NickInUse {
                nick: self
                    .clients
                    .get(&other)
                    .map_or_else(|| nick.to_string(), |c| c.nick.clone()),
            }),
            _ => Ok(()),
        }
    }

    fn room_name(&self, key: &str) -> String {
        self.rooms
            .get(key)
            .map_or_else(String::new, |r| r.name.clone())
    }

    /// Every created room, as `rooms.txt` stores them, sorted by name.
    fn room_records(&self) -> Vec<RoomRecord> {
        let mut records: Vec<RoomRecord> =
            self.rooms.values().filter_map(Room::to_record).collect();
        records.sort_by_key(|r| name_key(&r.name));
        records
    }
}
