//! History pages: which records of a room or a conversation a request asks
//! for (latest, before, after, around, between; by seq or by time), and
//! reading just those lines from `log.txt`, each checked (checksum, seq,
//! room or conversation) against what the index says it is.

use std::fs::File;
use std::ops::Range;

use super::index::pair_key;
use super::line::{read_full_at, read_line_at};
use super::stream::{Entry, Stream};
use crate::server::history::{parse_line, Kind, Record};
use crate::text::name_key;

/// Most records one page may hold.
pub const MAX_PAGE: usize = 500;
/// Records closer together than this in the file are read with one `pread`:
/// a busy room's page is then one or two reads, a quiet room's one per record.
const COALESCE_BYTES: u64 = 32 * 1024;
/// Bytes read past the last record of a group, in the hope its line is
/// shorter (most are); a longer one costs one more read.
const LINE_GUESS_BYTES: u64 = 1024;

/// Whose history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A room's messages since its last closing (any case of its name).
    Room(String),
    /// The whispers between `me` and `peer`, both ways. The caller passes
    /// the authenticated nickname as `me`: that is the whole access rule.
    Whispers { me: String, peer: String },
}

/// A point in a history: a message's sequence number (its IRCv3 `msgid`)
/// or a time in microseconds since 1970 UTC (see `archive::parse_time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ref {
    Seq(u64),
    Time(i64),
}

/// Which records, in IRCv3 `CHATHISTORY` terms. References themselves are
/// never included, except that `Around` a seq includes that message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// The newest ones.
    Latest,
    /// The newest ones before the reference.
    Before(Ref),
    /// The oldest ones after the reference.
    After(Ref),
    /// Half before the reference, the rest from it on; a short side gives
    /// its share to the other, so the page is full when the history is.
    Around(Ref),
    /// Those strictly between the two: the oldest ones when the first
    /// reference is the earlier, the newest ones when it is the later.
    Between(Ref, Ref),
}

/// One page, oldest record first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub records: Vec<Record>,
    /// The history has records older than the first one here.
    pub more_before: bool,
    /// The history has records newer than the last one here.
    pub more_after: bool,
}

/// A reference turned into a seq by the index (times into the first seq
/// dated at or after them); `after` is the cut for records after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Records before the reference have seqs below this.
    pub before: u64,
    /// Records after the reference have seqs at or above this.
    pub after: u64,
}

/// A query with its references resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    Latest,
    Before(Cut),
    After(Cut),
    Around(Cut),
    Between(Cut, Cut),
}

/// The positions in `stream` a resolved query selects, at most `limit`.
pub fn select(stream: &Stream, query: Resolved, limit: usize) -> Range<u64> {
    let n = limit as u64;
    let len = stream.len();
    let newest_below = |end: u64| end.saturating_sub(n)..end;
    let oldest_from = |start: u64| start..len.min(start.saturating_add(n));
    match query {
        Resolved::Latest => newest_below(len),
        Resolved::Before(c) => newest_below(stream.rank_of_seq(c.before)),
        Resolved::After(c) => oldest_from(stream.rank_of_seq(c.after)),
        Resolved::Around(c) => {
            let centre = stream.rank_of_seq(c.before);
            let start = centre.saturating_sub(n / 2);
            let end = len.min(start.saturating_add(n));
            end.saturating_sub(n)..end
        }
        Resolved::Between(a, b) => {
            let (lo, hi, newest) = if a.before <= b.before {
                (a, b, false)
            } else {
                (b, a, true)
            };
            let start = stream.rank_of_seq(lo.after);
            let end = stream.rank_of_seq(hi.before).max(start);
            if newest {
                end.saturating_sub(n).max(start)..end
            } else {
                start..end.min(start.saturating_add(n))
            }
        }
    }
}

/// What every record of a page must be, to be returned.
pub enum Expect {
    Room(String),
    Pair(String),
}

impl Expect {
    /// The expectation for `target`.
    pub fn of(target: &Target) -> Expect {
        match target {
            Target::Room(room) => Expect::Room(name_key(room)),
            Target::Whispers { me, peer } => Expect::Pair(pair_key(&name_key(me), &name_key(peer))),
        }
    }

    fn matches(&self, r: &Record) -> bool {
        match self {
            Expect::Room(key) => r.kind == Kind::Message && name_key(&r.room) == *key,
            Expect::Pair(key) => {
                r.kind == Kind::Whisper && pair_key(&name_key(&r.from), &name_key(&r.to)) == *key
            }
        }
    }
}

/// Reads the records at `entries` (in file order), none beyond `end`.
///
/// # Errors
/// Why a line is not the record the index expects there (the file changed
/// under the index): the caller rebuilds the index rather than answer.
pub fn read_records(
    file: &File,
    entries: &[Entry],
    end: u64,
    expect: &Expect,
) -> Result<Vec<Record>, String> {
    let mut out = Vec::with_capacity(entries.len());
    read_lines(file, entries, end, |entry, line| {
        out.push(check(line, entry, expect)?);
        Ok(())
    })?;
    Ok(out)
}

/// Calls `each` with the line (without its newline) at each of `entries`,
/// in file order, reading groups of nearby lines with one `pread`.
///
/// # Errors
/// A read error or a missing line, or what `each` returns.
pub fn read_lines(
    file: &File,
    entries: &[Entry],
    end: u64,
    mut each: impl FnMut(Entry, &[u8]) -> Result<(), String>,
) -> Result<(), String> {
    let mut buf = Vec::new();
    let mut long = Vec::new();
    let mut i = 0;
    while i < entries.len() {
        let start = entries[i].offset;
        let mut j = i + 1;
        while j < entries.len() && entries[j].offset - start < COALESCE_BYTES {
            j += 1;
        }
        let stop = end.min(entries[j - 1].offset + LINE_GUESS_BYTES);
        buf.resize(stop.saturating_sub(start) as usize, 0);
        let n = read_full_at(file, &mut buf, start).map_err(|e| e.to_string())?;
        buf.truncate(n);
        for e in &entries[i..j] {
            let at = (e.offset - start) as usize;
            let line = match buf
                .get(at..)
                .and_then(|b| b.iter().position(|&c| c == b'\n'))
            {
                Some(len) => &buf[at..at + len],
                None => {
                    read_line_at(file, e.offset, end, &mut long)
                        .map_err(|err| format!("offset {}: {err}", e.offset))?;
                    &long[..]
                }
            };
            each(*e, line)?;
        }
        i = j;
    }
    Ok(())
}

/// The record in `line`, if it is the one the index placed at `entry`.
fn check(line: &[u8], entry: Entry, expect: &Expect) -> Result<Record, String> {
    let record = std::str::from_utf8(line)
        .map_err(|_| "not valid UTF-8")
        .and_then(parse_line)
        .map_err(|reason| format!("offset {}: {reason}", entry.offset))?;
    if record.seq != entry.seq {
        return Err(format!(
            "offset {}: seq {} where the index has {}",
            entry.offset, record.seq, entry.seq
        ));
    }
    if !expect.matches(&record) {
        return Err(format!(
            "offset {}: seq {} is not in the room or conversation the index says",
            entry.offset, record.seq
        ));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream of seqs 10, 20, ..., 10 * n.
    fn stream(n: u64) -> Stream {
        let mut s = Stream::default();
        for i in 1..=n {
            s.push(Entry {
                seq: i * 10,
                offset: i * 100,
            });
        }
        s
    }

    fn at(seq: u64) -> Cut {
        Cut {
            before: seq,
            after: seq + 1,
        }
    }

    fn seqs(s: &Stream, q: Resolved, limit: usize) -> Vec<u64> {
        s.entries(select(s, q, limit))
            .iter()
            .map(|e| e.seq)
            .collect()
    }

    #[test]
    fn latest_before_and_after_exclude_the_reference() {
        let s = stream(10);
        assert_eq!(seqs(&s, Resolved::Latest, 3), [80, 90, 100]);
        assert_eq!(seqs(&s, Resolved::Latest, 50).len(), 10);
        assert_eq!(seqs(&s, Resolved::Before(at(50)), 3), [20, 30, 40]);
        assert_eq!(seqs(&s, Resolved::Before(at(45)), 3), [20, 30, 40]);
        assert_eq!(seqs(&s, Resolved::Before(at(10)), 3), Vec::<u64>::new());
        assert_eq!(seqs(&s, Resolved::After(at(50)), 3), [60, 70, 80]);
        assert_eq!(seqs(&s, Resolved::After(at(95)), 3), [100]);
        assert_eq!(seqs(&s, Resolved::After(at(100)), 3), Vec::<u64>::new());
    }

    #[test]
    fn around_centres_and_fills_from_the_other_side() {
        let s = stream(10);
        assert_eq!(seqs(&s, Resolved::Around(at(50)), 4), [30, 40, 50, 60]);
        assert_eq!(seqs(&s, Resolved::Around(at(10)), 4), [10, 20, 30, 40]);
        assert_eq!(seqs(&s, Resolved::Around(at(100)), 4), [70, 80, 90, 100]);
        assert_eq!(seqs(&s, Resolved::Around(at(55)), 3), [50, 60, 70]);
    }

    #[test]
    fn between_takes_the_side_of_the_first_reference() {
        let s = stream(10);
        assert_eq!(seqs(&s, Resolved::Between(at(20), at(80)), 3), [30, 40, 50]);
        assert_eq!(seqs(&s, Resolved::Between(at(80), at(20)), 3), [50, 60, 70]);
        assert_eq!(
            seqs(&s, Resolved::Between(at(20), at(80)), 100),
            [30, 40, 50, 60, 70]
        );
        assert!(seqs(&s, Resolved::Between(at(30), at(40)), 3).is_empty());
        assert!(seqs(&s, Resolved::Between(at(30), at(30)), 3).is_empty());
    }
}
