//! What the client knows about its session, shared by the input thread,
//! the reader thread and the full screen's status line: who we are, where
//! we are, who and which rooms we have seen (for completion), and the
//! clock that stamps each message.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::clock::hms;
use crate::event::Event;
use crate::protocol::MAX_BODY_BYTES;
use crate::text::name_key;

use super::config::ClockKind;
use super::localtime::{hms_at, Zone};

/// Most nicknames and rooms remembered for completion; past it the oldest
/// entries are not dropped, new ones are simply not added (a flood of
/// joins cannot grow the client without bound).
const MAX_KNOWN: usize = 10_000;

/// The time shown before messages.
#[derive(Debug, Clone)]
pub struct Clock {
    since: Instant,
    /// The local time zone, for the wall clock; `None`: time since login.
    zone: Option<Arc<Zone>>,
}

impl Clock {
    /// A clock counting from now (the login).
    pub fn start(kind: ClockKind) -> Clock {
        Clock {
            since: Instant::now(),
            zone: (kind == ClockKind::Wall).then(|| Arc::new(Zone::local())),
        }
    }

    /// The stamp for a line shown now: `0:00:17` since the login, or the
    /// local wall clock `10:15:02`.
    pub fn stamp(&self) -> String {
        match &self.zone {
            None => hms(self.since.elapsed()),
            Some(zone) => {
                let now = unix_now();
                hms_at(now, &zone.offset_at(now))
            }
        }
    }

    /// How the clock is labelled: the zone's abbreviation now (`CET`,
    /// `UTC`), or `time since login`.
    pub fn label(&self) -> String {
        match &self.zone {
            None => "time since login".into(),
            Some(zone) => zone.offset_at(unix_now()).name,
        }
    }

    pub fn since_login(&self) -> Duration {
        self.since.elapsed()
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The session as the client sees it.
#[derive(Debug, Clone)]
pub struct State {
    pub nick: String,
    pub room: String,
    /// People online in `room`, as the last join or leave said.
    pub members: usize,
    /// The largest chat message body the server takes (`Max-Body`).
    pub max_body: usize,
    /// Nicknames seen this session, by their case-folded key.
    pub nicks: BTreeMap<String, String>,
    /// Room names seen this session, by their case-folded key.
    pub rooms: BTreeMap<String, String>,
    /// Rooms other than `room` with messages not yet seen. The terminal
    /// client is in one room at a time, so nothing fills it yet; the
    /// status line shows it when a multi-room session does.
    pub unread: BTreeSet<String>,
    /// The oldest message seen in each room (by case-folded name): where
    /// `/history` continues from.
    pub oldest: BTreeMap<String, u64>,
    /// Rooms (case-folded) whose history has been fetched to its start.
    pub history_done: BTreeSet<String>,
    /// The last search, and where its next page starts (`None`: no more).
    pub search: Option<(String, Option<String>, Option<u64>)>,
    pub clock: Clock,
}

impl State {
    /// A fresh session for `nick`, just logged in.
    pub fn new(nick: &str, max_body: usize, clock: ClockKind) -> State {
        let mut state = State {
            nick: nick.to_string(),
            room: "lobby".to_string(),
            members: 0,
            max_body: if max_body == 0 {
                MAX_BODY_BYTES
            } else {
                max_body
            },
            nicks: BTreeMap::new(),
            rooms: BTreeMap::new(),
            unread: BTreeSet::new(),
            oldest: BTreeMap::new(),
            history_done: BTreeSet::new(),
            search: None,
            clock: Clock::start(clock),
        };
        state.saw_room("lobby");
        state
    }

    /// True when `nick` is us (nicknames are unique ignoring case).
    pub fn is_me(&self, nick: &str) -> bool {
        name_key(nick) == name_key(&self.nick)
    }

    /// Updates what we know from an event; true when the status changed.
    pub fn observe(&mut self, event: &Event) -> bool {
        match event {
            Event::Join {
                room,
                nick,
                members,
            } => {
                self.saw_room(room);
                if self.is_me(nick) {
                    self.room = room.clone();
                    self.members = *members;
                    return true;
                }
                self.saw_nick(nick);
                if name_key(room) == name_key(&self.room) {
                    self.members = *members;
                    return true;
                }
            }
            Event::Leave { room, members, .. } if name_key(room) == name_key(&self.room) => {
                self.members = *members;
                return true;
            }
            Event::Renamed { old, new } => {
                if self.is_me(old) {
                    self.nick = new.clone();
                    return true;
                }
                self.saw_nick(new);
            }
            Event::Message {
                from, room, seq, ..
            } => {
                self.saw_nick(from);
                self.saw_room(room);
                if *seq > 0 {
                    let oldest = self.oldest.entry(name_key(room)).or_insert(*seq);
                    *oldest = (*oldest).min(*seq);
                }
            }
            Event::File { from, room, .. } => {
                self.saw_nick(from);
                self.saw_room(room);
            }
            Event::Whisper { from, .. } => self.saw_nick(from),
            _ => {}
        }
        false
    }

    /// The oldest message seen in the current room, if any.
    pub fn oldest_here(&self) -> Option<u64> {
        self.oldest.get(&name_key(&self.room)).copied()
    }

    /// True when the current room's history has been fetched to its start.
    pub fn history_done_here(&self) -> bool {
        self.history_done.contains(&name_key(&self.room))
    }

    /// Remembers a nickname for completion.
    pub fn saw_nick(&mut self, nick: &str) {
        if self.nicks.len() < MAX_KNOWN && !self.is_me(nick) {
            self.nicks.insert(name_key(nick), nick.to_string());
        }
    }

    /// Remembers a room name for completion.
    pub fn saw_room(&mut self, room: &str) {
        if self.rooms.len() < MAX_KNOWN {
            self.rooms.insert(name_key(room), room.to_string());
        }
    }
}

/// The state, shared between threads.
pub type Shared = Arc<Mutex<State>>;

/// Locks the shared state. Nothing panics half-way through an update, so
/// a poisoned lock still holds a consistent state.
pub fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_leaves_and_renames_update_the_status() {
        let mut state = State::new("ntu", 4096, ClockKind::Elapsed);
        let join = |room: &str, nick: &str, members| Event::Join {
            room: room.into(),
            nick: nick.into(),
            members,
        };
        assert!(state.observe(&join("lobby", "ntu", 1)));
        assert!(state.observe(&join("lobby", "Ma19", 2)));
        assert_eq!(state.members, 2);
        assert!(!state.observe(&join("rust", "bob", 5)), "another room");
        assert_eq!(state.members, 2);
        assert!(state.observe(&join("rust", "NTU", 6)), "us, in any case");
        assert_eq!((state.room.as_str(), state.members), ("rust", 6));
        assert!(state.observe(&Event::Renamed {
            old: "ntu".into(),
            new: "Tom".into()
        }));
        assert_eq!(state.nick, "Tom");
        let names: Vec<&String> = state.nicks.values().collect();
        assert_eq!(names, ["bob", "Ma19"]);
        assert!(state.rooms.contains_key(&name_key("rust")));
    }

    #[test]
    fn the_oldest_message_of_each_room_is_remembered() {
        let mut state = State::new("ntu", 4096, ClockKind::Elapsed);
        let message = |room: &str, seq| Event::Message {
            room: room.into(),
            from: "bob".into(),
            date: String::new(),
            seq,
            text: "hi".into(),
            history: false,
        };
        assert_eq!(state.oldest_here(), None);
        for (room, seq) in [("lobby", 40), ("lobby", 12), ("lobby", 57), ("rust", 3)] {
            state.observe(&message(room, seq));
        }
        assert_eq!(state.oldest_here(), Some(12));
        state.room = "Rust".into();
        assert_eq!(state.oldest_here(), Some(3));
    }

    #[test]
    fn the_wall_clock_is_hours_minutes_seconds() {
        let clock = Clock::start(ClockKind::Wall);
        let stamp = clock.stamp();
        assert_eq!(stamp.len(), 8, "{stamp}");
        assert_eq!(stamp.matches(':').count(), 2, "{stamp}");
        assert!(!clock.label().is_empty());
        assert_eq!(Clock::start(ClockKind::Elapsed).stamp(), "0:00:00");
    }
}
