//! What [`Archive`] answers without changing anything: history pages,
//! unread counts, a conversation list, time lookups and the recent
//! messages of each room. Each looks up positions under the read lock,
//! then reads `log.txt` without it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::error::ArchiveError;
use super::index::{pair_key, Index, TimeWindow};
use super::line::{parse_meta, scan_lines, Line};
use super::log::Archive;
use super::page::{
    read_records, select, Cut, Expect, Page, Query, Ref, Resolved, Target, MAX_PAGE,
};
use super::stream::Stream;
use super::time::parse_time;
use crate::server::history::Record;
use crate::text::name_key;

impl Archive {
    /// A page of `target`'s history: at most `limit` records (clamped to
    /// 1..=[`MAX_PAGE`]), oldest first. An unknown room or a pair that
    /// never whispered gives an empty page. Access is the caller's to
    /// decide: who may read the room; `me` in `Target::Whispers` must be
    /// the caller. Costs a lookup under the read lock, then one `pread`
    /// per group of records close together in the file.
    ///
    /// # Errors
    /// `Read` on an I/O error; `Damaged` when the file does not hold what
    /// the index says even after rebuilding it (which this call does, once,
    /// when a record does not check out).
    pub fn page(&self, target: &Target, query: Query, limit: usize) -> Result<Page, ArchiveError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let resolved = self.resolve(query)?;
        let expect = Expect::of(target);
        let mut rebuilt = false;
        loop {
            let looked_up = {
                let index = self.read();
                if index.stale {
                    Err(index.generation)
                } else {
                    let range = stream_of(&index, target)
                        .map(|stream| (stream, select(stream, resolved, limit)));
                    Ok(range.map(|(stream, range)| {
                        (
                            stream.entries(range.clone()),
                            range.start > 0,
                            range.end < stream.len(),
                            index.end,
                            index.generation,
                            Arc::clone(&index.file),
                        )
                    }))
                }
            };
            let (entries, more_before, more_after, end, generation, file) = match looked_up {
                Ok(Some(found)) => found,
                Ok(None) => return Ok(Page::default()),
                Err(generation) if !rebuilt => {
                    self.rebuild(generation, "an append could not be placed")?;
                    rebuilt = true;
                    continue;
                }
                Err(_) => {
                    return Err(ArchiveError::Damaged {
                        reason: "the log keeps changing behind its index".into(),
                    })
                }
            };
            match read_records(&file, &entries, end, &expect) {
                Ok(records) => {
                    return Ok(Page {
                        records,
                        more_before,
                        more_after,
                    })
                }
                Err(reason) if !rebuilt => {
                    self.rebuild(generation, &reason)?;
                    rebuilt = true;
                }
                Err(reason) => return Err(ArchiveError::Damaged { reason }),
            }
        }
    }

    /// How many messages `room` has with a seq above `seq`: the unread
    /// count after a read marker. Memory only (read lock, one block decoded).
    pub fn count_after(&self, room: &str, seq: u64) -> u64 {
        let index = self.read();
        index
            .room(&name_key(room))
            .map_or(0, |s| s.len() - s.rank_of_seq(seq.saturating_add(1)))
    }

    /// The seq of the newest record of `target`, if any. Memory only.
    pub fn latest_seq(&self, target: &Target) -> Option<u64> {
        stream_of(&self.read(), target)?.last().map(|e| e.seq)
    }

    /// The nickname keys `nick` has whispered with, each with the seq of
    /// their latest whisper, newest first (for IRCv3 `CHATHISTORY TARGETS`).
    pub fn whisper_peers(&self, nick: &str) -> Vec<(String, u64)> {
        let index = self.read();
        let me = name_key(nick);
        let mut peers: Vec<(String, u64)> = index
            .peers
            .get(&me)
            .into_iter()
            .flatten()
            .filter_map(|peer| {
                let last = index.pairs.get(&pair_key(&me, peer))?.last()?;
                Some((peer.clone(), last.seq))
            })
            .collect();
        peers.sort_by_key(|p| std::cmp::Reverse(p.1));
        peers
    }

    /// The first seq dated at or after `micros` (or the next seq to be
    /// given, when none is): binary search over the samples, then a read of
    /// at most 256 records. Assumes dates do not go backwards; a clock step
    /// back makes the answer approximate, never out of range.
    ///
    /// # Errors
    /// `Read` on an I/O error.
    pub fn seq_at_time(&self, micros: i64) -> Result<u64, ArchiveError> {
        let (window, end, next, file) = {
            let index = self.read();
            (
                index.time_window(micros),
                index.end,
                index.last_seq() + 1,
                Arc::clone(&index.file),
            )
        };
        let (from, to) = match window {
            TimeWindow::Empty => return Ok(next),
            TimeWindow::At(seq) => return Ok(seq),
            TimeWindow::Scan { from, to } => (from, to),
        };
        let stop = to.map_or(end, |s| s.offset);
        let fallback = to.map_or(next, |s| s.seq);
        let mut found = None;
        let mut last = from.seq - 1;
        scan_lines(&file, from.offset, stop, |line| {
            let Line::Whole { bytes, .. } = line else {
                return;
            };
            if found.is_some() {
                return;
            }
            if let Ok(meta) = parse_meta(bytes) {
                if meta.seq > last {
                    last = meta.seq;
                    if parse_time(meta.date).is_some_and(|t| t >= micros) {
                        found = Some(meta.seq);
                    }
                }
            }
        })
        .map_err(|source| self.read_error(source))?;
        Ok(found.unwrap_or(fallback))
    }

    /// The newest `keep` messages of every room with history, oldest first,
    /// by room name key: what `MessageLog::open` gathers as
    /// `Loaded::recent` by scanning the whole log, here one page per room.
    ///
    /// # Errors
    /// As [`page`](Self::page).
    pub fn recent(&self, keep: usize) -> Result<HashMap<String, VecDeque<Record>>, ArchiveError> {
        let mut recent = HashMap::new();
        if keep == 0 {
            return Ok(recent);
        }
        let rooms: Vec<String> = self.read().rooms.keys().cloned().collect();
        for room in rooms {
            let target = Target::Room(room.clone());
            let mut records: VecDeque<Record> = VecDeque::new();
            let mut query = Query::Latest;
            while records.len() < keep {
                let page = self.page(&target, query, keep - records.len())?;
                let Some(first) = page.records.first() else {
                    break;
                };
                query = Query::Before(Ref::Seq(first.seq));
                for r in page.records.into_iter().rev() {
                    records.push_front(r);
                }
                if !page.more_before {
                    break;
                }
            }
            if !records.is_empty() {
                recent.insert(room, records);
            }
        }
        Ok(recent)
    }

    /// Turns time references into seqs.
    fn resolve(&self, query: Query) -> Result<Resolved, ArchiveError> {
        let cut = |r: Ref| -> Result<Cut, ArchiveError> {
            Ok(match r {
                Ref::Seq(seq) => Cut {
                    before: seq,
                    after: seq.saturating_add(1),
                },
                Ref::Time(t) => Cut {
                    before: self.seq_at_time(t)?,
                    after: self.seq_at_time(t.saturating_add(1))?,
                },
            })
        };
        Ok(match query {
            Query::Latest => Resolved::Latest,
            Query::Before(r) => Resolved::Before(cut(r)?),
            Query::After(r) => Resolved::After(cut(r)?),
            Query::Around(r) => Resolved::Around(cut(r)?),
            Query::Between(a, b) => Resolved::Between(cut(a)?, cut(b)?),
        })
    }
}

/// The stream a target reads.
fn stream_of<'a>(index: &'a Index, target: &Target) -> Option<&'a Stream> {
    match target {
        Target::Room(room) => index.room(&name_key(room)),
        Target::Whispers { me, peer } => index.pair(&name_key(me), &name_key(peer)),
    }
}
