//! History's storage: an index over `log.txt` that makes a history page a
//! seek and a short read, search over the log, read markers, and whispers
//! waiting for offline users. It decides nothing about who may read what:
//! callers pass the rooms a user may read and the user's own nickname.
//!
//! # Using it
//!
//! ```text
//! start-up   Archive::open(log.txt, log.idx)      -> Opened { next_seq, end, problems, .. }
//!            archive.recent(keep)                 -> the last messages of each room
//!            Markers::open(dir), Pending::open(dir)
//! append     (under the log's lock, after the write, in log order)
//!            archive.note_append(&record, offset, len)
//! pages      archive.page(&Target::Room(r) | Whispers{me, peer}, Query::Before(Ref::Seq(s)), 50)
//!            archive.seq_at_time(micros), archive::parse_time("2026-11-21T10:15:02.123Z")
//! unread     markers.advance(user, room, seq); archive.count_after(room, marker)
//! search     archive.search(&SearchQuery { text, me, room, before }, &|room_key| .., limits)
//! offline    pending.add(&whisper) when the recipient is offline and registered;
//!            pending.take(user) at login, then deliver what it returned
//! now and    archive.save_index() (e.g. when appended_since_save() > 100,000, and
//! then       at shutdown); archive.take_notices() for the console
//! ```
//!
//! # Threads and locks
//!
//! Everything is `Send + Sync` and takes `&self`; share each in an `Arc`.
//! - `Archive` holds its index under a `RwLock`. `note_append` takes the
//!   write lock for a few microseconds (it must be called in log order,
//!   which the log's own lock gives). `page`, `count_after`,
//!   `latest_seq`, `whisper_peers`, `seq_at_time` and `search` take the
//!   read lock only to look up positions, then read the file with `pread`
//!   without any lock: call them from any session thread, concurrently,
//!   never under the hub lock (they read the disk). `search` also waits
//!   for its turn ([`MAX_SEARCHES`] at once). `save_index` holds the read
//!   lock while copying the index (about 40 ms at 10,000,000 records).
//!   A read that finds the file changed behind the index rebuilds it
//!   (seconds on a huge log) in the calling thread, without blocking
//!   appends or other readers except for a short catch-up at the end.
//! - `Markers` and `Pending` each have one mutex, held for a map update
//!   and one `write` (plus an fsync for `Pending`).
//!
//! # Layout
//!
//! - `log`: [`Archive`]: open, note appends, rebuilds, saving; `queries`:
//!   pages, unread counts, time lookups.
//! - `line`: the fast line parser (agrees with `history::parse_line`) and scans.
//! - `index`, `stream`: what the index holds, compactly; `build`: filling and
//!   checking it; `persist`: its file.
//! - `page`: queries and reading records; `time`: dates; `search`, with
//!   `matcher` for case-insensitive matching and snippets.
//! - `journal`: checksummed append-only files, for `markers` and `pending`.
//! - `error`: [`ArchiveError`].

mod build;
mod error;
mod index;
mod journal;
mod line;
mod log;
mod markers;
mod matcher;
mod page;
mod pending;
mod persist;
mod queries;
mod search;
mod stream;
mod time;

#[cfg(test)]
mod tests;

pub use error::ArchiveError;
pub use log::{Archive, Opened, Saved, SavedIndex, Stats};
pub use markers::{Markers, SharedMarkers, MARKERS_FILE};
pub use matcher::SNIPPET_CHARS;
pub use page::{Page, Query, Ref, Target, MAX_PAGE};
pub use pending::{Pending, MAX_WAITING_PER_USER, PENDING_FILE};
pub use search::{
    Hit, SearchLimits, SearchPage, SearchQuery, MAX_SEARCHES, MAX_SEARCH_CHARS, PAGE_HITS,
};
pub use time::parse_time;

/// Name of the saved index in the data directory, beside `log.txt`.
pub const INDEX_FILE: &str = "log.idx";
