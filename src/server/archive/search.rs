//! Search: messages containing a text, ignoring case, newest first, in the
//! rooms a caller may read and the caller's own whispers, a page at a time.
//!
//! Cost: a backward scan of `log.txt` in 1 MiB chunks from the newest
//! record (or from where the previous page stopped), with no lock held but
//! for microseconds per candidate line. Each chunk is lowercased and
//! searched whole; only lines that contain the text are parsed and checked.
//! So a page costs the bytes between the newest match and the 50th, up to
//! the whole file for a rare text; [`SearchLimits`] caps the bytes and the
//! time one request may use (then the page says where to go on), and only
//! [`MAX_SEARCHES`] run at once, so searches cannot take every core.
//! A search in one room that holds a small share of the log reads only
//! that room's records, through the index.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::error::ArchiveError;
use super::line::{parse_meta, read_full_at, MAX_LINE_BYTES};
use super::log::Archive;
use super::matcher::{snippet, Matcher};
use super::page::read_lines;
use crate::server::history::{parse_line, Kind, Record};
use crate::text::name_key;

/// Hits in one page.
pub const PAGE_HITS: usize = 50;
/// Longest search text, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;
/// Searches running at once; more wait for a turn.
pub const MAX_SEARCHES: usize = 1;
/// How long a search waits for its turn before giving up with `Busy`.
const TURN_WAIT: Duration = Duration::from_secs(5);
/// A room search reads the room's own records (through the index) when
/// the room holds less than 1/`ROOM_SHARE` of the log, and scans otherwise:
/// reading records one by one costs about this much more per byte.
const ROOM_SHARE: u64 = 16;
/// Records of a room read per step of a room search (few in tests, to
/// exercise the steps).
const ROOM_BATCH: u64 = if cfg!(test) { 16 } else { 1024 };
/// Bytes read per step of the backward scan. Larger than any line the
/// index accepts, so every record fits in one chunk.
const CHUNK_BYTES: u64 = 1 << 20;
const _: () = assert!(CHUNK_BYTES > MAX_LINE_BYTES as u64);

/// What one request may cost before it returns what it found so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchLimits {
    pub max_bytes: u64,
    pub max_time: Duration,
}

impl Default for SearchLimits {
    /// 2 GiB or one second, whichever comes first: a whole 10,000,000-record
    /// log (1.3 GB) in one request on this project's 2-core test machine.
    fn default() -> SearchLimits {
        SearchLimits {
            max_bytes: 2 << 30,
            max_time: Duration::from_secs(1),
        }
    }
}

/// One search request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchQuery<'a> {
    /// The text to find, ignoring case (ASCII letters always; other letters
    /// by Unicode lowercase when the text has any). At most
    /// [`MAX_SEARCH_CHARS`] characters are used.
    pub text: &'a str,
    /// The caller's nickname: their whispers, sent or received, are searched.
    pub me: &'a str,
    /// Only this room (then no whispers).
    pub room: Option<&'a str>,
    /// Only records with a lower seq: the `next` of the previous page.
    pub before: Option<u64>,
}

/// A message that contains the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The whole record: room (or whisper from/to), date, sender, seq, text.
    pub record: Record,
    /// The match with up to [`SNIPPET_CHARS`](super::SNIPPET_CHARS) characters on each side, `…`
    /// where the text was cut.
    pub snippet: String,
}

/// One page of results, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPage {
    pub hits: Vec<Hit>,
    /// Pass as `before` to continue; `None` when the whole log was searched.
    /// A page may hold fewer than [`PAGE_HITS`] hits and still have a `next`
    /// when its limits ran out.
    pub next: Option<u64>,
    /// Bytes of `log.txt` this request read.
    pub scanned_bytes: u64,
}

impl Archive {
    /// Searches as the module docs describe. `may_read` is asked with a
    /// room's name key whether the caller may read it (make it from a
    /// snapshot: it is called without the hub lock, per matching line).
    /// Messages of a room's earlier incarnations (before it was closed) are
    /// never found. Safe from any thread; blocks while another search runs.
    ///
    /// # Errors
    /// `Busy` when no turn came within 5 s; `Read` on an I/O error.
    pub fn search(
        &self,
        query: &SearchQuery<'_>,
        may_read: &dyn Fn(&str) -> bool,
        limits: SearchLimits,
    ) -> Result<SearchPage, ArchiveError> {
        let text: String = query.text.chars().take(MAX_SEARCH_CHARS).collect();
        if text.is_empty() {
            return Ok(SearchPage::default());
        }
        let _turn = self.searches.enter(MAX_SEARCHES, TURN_WAIT)?;
        let started = Instant::now();
        let matcher = Matcher::new(&text);
        let filter = Filter {
            me: name_key(query.me),
            room: query.room.map(name_key),
            before: query.before.unwrap_or(u64::MAX),
            may_read,
        };
        if let Some(room) = &filter.room {
            let small = {
                let index = self.read();
                index
                    .room(room)
                    .map(|s| s.len().saturating_mul(ROOM_SHARE) < index.records)
            };
            match small {
                // No message in the room as it is now.
                None => return Ok(SearchPage::default()),
                Some(true) => return self.search_room(room, &matcher, &filter, limits, started),
                Some(false) => {}
            }
        }
        let (mut pos, file) = {
            let index = self.read();
            let pos = query
                .before
                .map_or(index.end, |seq| index.offset_before_seq(seq));
            (pos, Arc::clone(&index.file))
        };
        let mut page = SearchPage::default();
        let mut chunk = Vec::new();
        let mut lower = Vec::new();
        let mut resume: Option<u64> = None;
        while pos > 0 {
            let out_of_budget =
                page.scanned_bytes >= limits.max_bytes || started.elapsed() >= limits.max_time;
            if out_of_budget && resume.is_some() {
                page.next = resume;
                return Ok(page);
            }
            let start = pos.saturating_sub(CHUNK_BYTES);
            chunk.resize((pos - start) as usize, 0);
            let n =
                read_full_at(&file, &mut chunk, start).map_err(|source| self.read_error(source))?;
            if n < chunk.len() {
                // The file shrank under us: nothing sound to read here.
                return Err(ArchiveError::Damaged {
                    reason: "log.txt is shorter than its index".into(),
                });
            }
            let first = if start == 0 {
                0
            } else {
                match chunk.iter().position(|&b| b == b'\n') {
                    Some(i) if i + 1 < chunk.len() => i + 1,
                    // One line longer than a chunk: not a record; skip it.
                    _ => {
                        page.scanned_bytes += pos - start;
                        pos = start;
                        continue;
                    }
                }
            };
            let region = &chunk[first..];
            let mut found = Vec::new();
            matcher.each_candidate(region, &mut lower, |line| {
                if let Some(hit) = self.check_candidate(line, &matcher, &filter) {
                    found.push(hit);
                }
            });
            if let Some(seq) = first_seq(region) {
                resume = Some(seq.min(filter.before));
            }
            page.scanned_bytes += pos - start;
            pos = start + first as u64;
            for hit in found.into_iter().rev() {
                page.hits.push(hit);
                if page.hits.len() == PAGE_HITS {
                    page.next = Some(hit_seq(&page));
                    return Ok(page);
                }
            }
        }
        Ok(page)
    }

    /// Search in one room that holds a small share of the log: its own
    /// records only, newest first, [`ROOM_BATCH`] at a time, through the
    /// index (a seek and a short read per group of nearby records).
    fn search_room(
        &self,
        room: &str,
        matcher: &Matcher,
        filter: &Filter<'_>,
        limits: SearchLimits,
        started: Instant,
    ) -> Result<SearchPage, ArchiveError> {
        let mut page = SearchPage::default();
        let mut before = filter.before;
        let mut lower = Vec::new();
        loop {
            let (entries, end, file) = {
                let index = self.read();
                let Some(stream) = index.room(room) else {
                    return Ok(page);
                };
                let hi = stream.rank_of_seq(before);
                let entries = stream.entries(hi.saturating_sub(ROOM_BATCH)..hi);
                (entries, index.end, Arc::clone(&index.file))
            };
            let Some(oldest) = entries.first().copied() else {
                return Ok(page);
            };
            let spent =
                page.scanned_bytes >= limits.max_bytes || started.elapsed() >= limits.max_time;
            if page.scanned_bytes > 0 && spent {
                page.next = Some(before);
                return Ok(page);
            }
            let mut candidates: Vec<Vec<u8>> = Vec::new();
            read_lines(&file, &entries, end, |_, line| {
                page.scanned_bytes += line.len() as u64 + 1;
                matcher.each_candidate(line, &mut lower, |l| candidates.push(l.to_vec()));
                Ok(())
            })
            .map_err(|reason| ArchiveError::Damaged { reason })?;
            for line in candidates.iter().rev() {
                if let Some(hit) = self.check_candidate(line, matcher, filter) {
                    page.hits.push(hit);
                    if page.hits.len() == PAGE_HITS {
                        page.next = Some(hit_seq(&page));
                        return Ok(page);
                    }
                }
            }
            before = oldest.seq;
        }
    }

    /// The hit in a line that contains the text somewhere, if the caller
    /// may see it and the text is in the message itself.
    fn check_candidate(&self, line: &[u8], matcher: &Matcher, filter: &Filter<'_>) -> Option<Hit> {
        let record = std::str::from_utf8(line)
            .ok()
            .and_then(|l| parse_line(l).ok())?;
        if record.seq >= filter.before {
            return None;
        }
        match record.kind {
            Kind::Message => {
                let key = name_key(&record.room);
                if filter.room.as_ref().is_some_and(|r| *r != key) || !(filter.may_read)(&key) {
                    return None;
                }
                let closed = self.read().closed.get(&key).copied();
                if closed.is_some_and(|c| record.seq < c) {
                    return None;
                }
            }
            Kind::Whisper => {
                if filter.room.is_some()
                    || (name_key(&record.from) != filter.me && name_key(&record.to) != filter.me)
                {
                    return None;
                }
            }
            Kind::Closed => return None,
        }
        let (start, end) = matcher.find_in(&record.text)?;
        let snippet = snippet(&record.text, start, end);
        Some(Hit { record, snippet })
    }
}

fn hit_seq(page: &SearchPage) -> u64 {
    page.hits.last().map_or(0, |h| h.record.seq)
}

/// Who may see what, for one request.
struct Filter<'a> {
    me: String,
    room: Option<String>,
    before: u64,
    may_read: &'a dyn Fn(&str) -> bool,
}

/// The seq of the first valid record among whole `lines`.
fn first_seq(lines: &[u8]) -> Option<u64> {
    lines
        .split(|&b| b == b'\n')
        .find_map(|line| parse_meta(line).ok().map(|m| m.seq))
}

/// At most `max` holders at once; others wait their turn, for a while.
pub struct Gate {
    running: Mutex<usize>,
    freed: Condvar,
}

/// A turn at the gate, given back when dropped.
pub struct Turn<'a>(&'a Gate);

impl Gate {
    /// A gate nobody holds.
    pub fn new() -> Gate {
        Gate {
            running: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Waits up to `wait` for one of `max` turns.
    ///
    /// # Errors
    /// `Busy` when no turn came in time.
    pub fn enter(&self, max: usize, wait: Duration) -> Result<Turn<'_>, ArchiveError> {
        let running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut running, timeout) = self
            .freed
            .wait_timeout_while(running, wait, |n| *n >= max)
            .unwrap_or_else(PoisonError::into_inner);
        if timeout.timed_out() && *running >= max {
            return Err(ArchiveError::Busy);
        }
        *running += 1;
        Ok(Turn(self))
    }
}

impl Default for Gate {
    fn default() -> Gate {
        Gate::new()
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut running = self
            .0
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *running -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_lets_one_in_and_times_out_the_next() {
        let gate = Gate::new();
        let turn = gate.enter(1, Duration::from_millis(1)).unwrap();
        assert!(matches!(
            gate.enter(1, Duration::from_millis(1)),
            Err(ArchiveError::Busy)
        ));
        drop(turn);
        assert!(gate.enter(1, Duration::from_millis(1)).is_ok());
    }
}
