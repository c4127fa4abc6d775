//! What a session does with the message archive, for any door: pages of a
//! room's or a conversation's past, search, read markers and what a
//! returning user missed, and whispers kept for users who are away. The
//! rules of who may read what are here; the archive itself decides nothing.
//! Every call reads the disk, so none runs under the hub's lock.

use crate::command::{Anchor, Conversation};
use crate::server::archive::{
    ArchiveError, Page, Query, Ref, SearchLimits, SearchPage, SearchQuery, Target,
};
use crate::server::history::Record;
use crate::server::hub::{whisper_refused, Missed, Refused};
use crate::text::name_key;

use super::Session;

/// Most messages a returning user is shown of what they missed in a room
/// when entering it (the rest is a `HISTORY` away).
pub const MAX_MISSED: usize = 200;

/// Why a history request was not answered.
#[derive(Debug)]
pub enum HistoryRefused {
    /// The hub's reason: not logged in, no such room, private, banned.
    Hub(Refused),
    /// Whispers and read markers are kept for registered nicknames only:
    /// a guest's nickname may belong to someone else tomorrow.
    GuestsHaveNone,
    /// The archive could not answer (busy, damaged, a disk error).
    Archive(ArchiveError),
}

/// Unread messages in one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    pub room: String,
    pub count: u64,
}

impl Session<'_> {
    /// The registered nickname this connection is logged in as, if any:
    /// the key to its whispers and read markers.
    pub fn account(&self) -> Option<&str> {
        self.nick.as_deref().filter(|_| self.registered)
    }

    /// A page of history: a room's (for whoever may enter it) or the
    /// whispers between this user and `peer` (registered users only).
    ///
    /// # Errors
    /// Why not: see [`HistoryRefused`].
    pub fn history(
        &self,
        of: &Conversation,
        anchor: Anchor,
        limit: usize,
    ) -> Result<Page, HistoryRefused> {
        let target = match of {
            Conversation::Room(room) => {
                self.may_read(room)?;
                Target::Room(room.clone())
            }
            Conversation::With(peer) => Target::Whispers {
                me: self
                    .account()
                    .ok_or(HistoryRefused::GuestsHaveNone)?
                    .to_string(),
                peer: peer.clone(),
            },
        };
        let query = match anchor {
            Anchor::Latest => Query::Latest,
            Anchor::Before(seq) => Query::Before(Ref::Seq(seq)),
            Anchor::After(seq) => Query::After(Ref::Seq(seq)),
            Anchor::Around(seq) => Query::Around(Ref::Seq(seq)),
        };
        self.hub
            .log()
            .archive()
            .page(&target, query, limit)
            .map_err(HistoryRefused::Archive)
    }

    /// Messages containing `text` in the rooms this user may read (or in
    /// `room`) and its own whispers, newest first, from `before` on.
    ///
    /// # Errors
    /// Why not: see [`HistoryRefused`].
    pub fn search(
        &self,
        text: &str,
        room: Option<&str>,
        before: Option<u64>,
    ) -> Result<SearchPage, HistoryRefused> {
        if let Some(room) = room {
            self.may_read(room)?;
        }
        // Read once, before the scan: the rooms this user may read now, in
        // a set, since the scan asks for every record (a list of 100 rooms
        // searched linearly made a whole-log search three times slower).
        let readable: std::collections::HashSet<String> = self
            .hub
            .room_list(Some(self.id))
            .into_iter()
            .filter(|r| self.hub.may_enter(self.id, &r.name))
            .map(|r| name_key(&r.name))
            .collect();
        let query = SearchQuery {
            text,
            // Guests search rooms only: see `HistoryRefused::GuestsHaveNone`.
            me: self.account().unwrap_or(""),
            room,
            before,
        };
        self.hub
            .log()
            .archive()
            .search(
                &query,
                &|key| readable.contains(key),
                SearchLimits::default(),
            )
            .map_err(HistoryRefused::Archive)
    }

    /// The rooms with messages this registered user has not read, by how
    /// far its read markers are behind (the rooms it is in are being read).
    pub fn unread(&self) -> Vec<Unread> {
        let Some(me) = self.account() else {
            return Vec::new();
        };
        let archive = self.hub.log().archive();
        let here: Vec<String> = self
            .hub
            .rooms_of(self.id)
            .iter()
            .map(|r| name_key(r))
            .collect();
        let mut rooms = self.hub.room_list(Some(self.id));
        rooms.retain(|r| !here.contains(&name_key(&r.name)));
        self.markers
            .of_user(me)
            .into_iter()
            .filter_map(|(key, seq)| {
                let room = rooms.iter().find(|r| name_key(&r.name) == key)?;
                let count = archive.count_after(&room.name, seq);
                (count > 0).then(|| Unread {
                    room: room.name.clone(),
                    count,
                })
            })
            .collect()
    }

    /// Moves this user's read marker in `room` forward to `seq`.
    ///
    /// # Errors
    /// Why not: see [`HistoryRefused`].
    pub fn mark_read(&self, room: &str, seq: u64) -> Result<(), HistoryRefused> {
        self.may_read(room)?;
        let me = self.account().ok_or(HistoryRefused::GuestsHaveNone)?;
        self.markers
            .advance(me, room, seq)
            .map(|_| ())
            .map_err(HistoryRefused::Archive)
    }

    /// Marks `rooms` read up to their newest message (the user was there
    /// and saw everything): on leaving them, and when the session ends.
    pub fn mark_seen(&self, rooms: &[String]) {
        let Some(me) = self.account() else {
            return;
        };
        let archive = self.hub.log().archive();
        for room in rooms {
            if let Some(seq) = archive.latest_seq(&Target::Room(room.clone())) {
                if let Err(e) = self.markers.advance(me, room, seq) {
                    self.console
                        .say(format!("{} cannot store a read marker: {e}", self.tag));
                }
            }
        }
    }

    /// What this user missed in `room` since it was last there, if it is
    /// registered, was there before, and anything came since.
    pub fn missed(&self, room: &str) -> Option<Missed> {
        let since = self.markers.get(self.account()?, room)?;
        let archive = self.hub.log().archive();
        if archive.count_after(room, since) == 0 {
            return None;
        }
        let target = Target::Room(room.to_string());
        match archive.page(&target, Query::After(Ref::Seq(since)), MAX_MISSED) {
            Ok(page) => Some(Missed {
                since,
                records: page.records,
            }),
            Err(e) => {
                self.console.say(format!(
                    "{} cannot read what was missed in {room}: {e}",
                    self.tag
                ));
                None
            }
        }
    }

    /// Keeps a whisper for a registered user who is away: it is stored in
    /// `log.txt` like any whisper, and waits to be delivered at their next
    /// login. Returns the stored record.
    ///
    /// # Errors
    /// The hub's refusal (not stored), or the archive's (a full mailbox).
    pub fn whisper_away(&mut self, to: &str, text: String) -> Result<Record, HistoryRefused> {
        let record = self
            .hub
            .store_whisper(self.id, to, text)
            .map_err(HistoryRefused::Hub)?;
        match self.hub.cluster() {
            // Kept in Redis, for whichever node they log in on next.
            Some(link) => link
                .keep_whisper(&record)
                .map_err(|e| HistoryRefused::Hub(whisper_refused(&e)))?,
            None => self.pending.add(&record).map_err(HistoryRefused::Archive)?,
        }
        Ok(record)
    }

    /// The whispers that waited for this user while it was away, oldest
    /// first, each handed over once (also across a crash).
    pub fn take_waiting(&self) -> Vec<Record> {
        let Some(me) = self.account() else {
            return Vec::new();
        };
        let mut waiting = self.pending.take(me).unwrap_or_else(|e| {
            self.console
                .say(format!("{} cannot deliver waiting whispers: {e}", self.tag));
            Vec::new()
        });
        if let Some(link) = self.hub.cluster() {
            match link.take_whispers(me) {
                // Stored here too, so this node's history has them.
                Ok(kept) => waiting.extend(kept.into_iter().map(|r| self.hub.store_kept(r))),
                Err(e) => self.console.say(format!(
                    "{} cannot take waiting whispers from the cluster ({e}); they stay kept",
                    self.tag
                )),
            }
        }
        waiting
    }

    /// A room's history is for those who may enter it.
    fn may_read(&self, room: &str) -> Result<(), HistoryRefused> {
        if self.hub.may_enter(self.id, room) {
            return Ok(());
        }
        let refused = match self.hub.room_view(Some(self.id), room) {
            Err(refused) => refused,
            // Visible but not admitted: banned.
            Ok(view) => Refused::Banned {
                room: view.info.name,
            },
        };
        Err(HistoryRefused::Hub(refused))
    }
}
