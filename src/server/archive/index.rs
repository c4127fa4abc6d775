//! The in-memory index over `log.txt`: for each room (by name key, current
//! incarnation only) and each whisper conversation, where its records are;
//! a sample of every [`SAMPLE_EVERY`]th record (seq, offset, date) to turn
//! dates and seqs into file positions; and where each room was last closed.
//! Pure data: the scans that fill it live in `build`, the reads in `page`.

use std::collections::HashMap;

use super::line::{key_into, Meta};
use super::stream::{Entry, Stream};
use super::time::parse_time;
use crate::server::history::{Kind, Record};
use crate::text::name_key;

/// One record in this many is sampled: a time lookup reads at most this
/// many records' worth of file, and 10,000,000 records cost 40,000 samples
/// (under 1 MB).
pub const SAMPLE_EVERY: u64 = 256;

/// A sampled record: its seq, where it starts, and its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub seq: u64,
    pub offset: u64,
    /// Microseconds since 1970, never less than the previous sample's (an
    /// unreadable date or a clock step back takes the previous value), so
    /// the samples stay sorted for a binary search.
    pub micros: i64,
}

/// Where the first record dated at or after some time is, by the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeWindow {
    /// No record at all.
    Empty,
    /// This record (the first one) is dated at or after the time.
    At(u64),
    /// It is the first record in `[from.offset, to.offset)` (to the end of
    /// the index when `to` is `None`) dated at or after the time, or else
    /// `to` itself (the record after the last, when `None`).
    Scan { from: Sample, to: Option<Sample> },
}

/// Why a record was not indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Its seq is not after the last indexed one (`MessageLog::open` skips
    /// such lines too).
    NotAfter { seq: u64, last: u64 },
}

/// Everything the archive knows about `log.txt` without reading it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Index {
    /// Each room's records since its last closing, by room name key.
    pub(super) rooms: HashMap<String, Stream>,
    /// Whisper conversations, by [`pair_key`].
    pub(super) pairs: HashMap<String, Stream>,
    /// For each nickname key, the nickname keys it has whispered with.
    pub(super) peers: HashMap<String, Vec<String>>,
    /// Seq of the last `closed` record of each room key: messages at or
    /// before it belong to a room that no longer exists.
    pub(super) closed: HashMap<String, u64>,
    pub(super) samples: Vec<Sample>,
    /// Bytes of `log.txt` covered: just after the last whole line seen.
    pub(super) end: u64,
    /// Lines in `[0, end)`, valid or not (for line numbers in reports).
    pub(super) lines: u64,
    /// Records indexed.
    pub(super) records: u64,
    /// The last indexed record.
    pub(super) last: Option<Entry>,
    /// Bumped by every rebuild, so a reader that saw damage can tell
    /// whether someone else already rebuilt.
    pub(super) generation: u64,
    /// An append could not be placed (the log grew or shrank behind the
    /// index's back): the next read rebuilds first.
    pub(super) stale: bool,
}

/// The key of the conversation between two nickname keys, the same in both
/// directions. Length-prefixed, so no two pairs of names share a key
/// whatever characters a damaged log puts in them.
pub fn pair_key(a: &str, b: &str) -> String {
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    format!("{}:{a}{b}", a.len())
}

/// Reusable buffers for keys, so the start-up scan allocates only for new
/// rooms and conversations.
#[derive(Default)]
pub struct Scratch {
    room: String,
    from: String,
    to: String,
}

impl Index {
    /// An empty index.
    pub fn new() -> Index {
        Index::default()
    }

    /// The seq the next record must exceed: the last indexed one, or 0.
    pub fn last_seq(&self) -> u64 {
        self.last.map_or(0, |e| e.seq)
    }

    /// Adds a record read from the file at `offset`.
    ///
    /// # Errors
    /// `Skip` when the record is out of order; nothing is changed then.
    pub fn add_meta(
        &mut self,
        meta: &Meta<'_>,
        offset: u64,
        scratch: &mut Scratch,
    ) -> Result<(), Skip> {
        self.check_order(meta.seq)?;
        key_into(meta.room, meta.escaped, &mut scratch.room);
        key_into(meta.from, meta.escaped, &mut scratch.from);
        key_into(meta.to, meta.escaped, &mut scratch.to);
        let Scratch { room, from, to } = scratch;
        self.add(meta.seq, meta.kind, meta.date, room, from, to, offset);
        Ok(())
    }

    /// Adds a record the server has just appended at `offset`.
    ///
    /// # Errors
    /// `Skip` when the record is out of order; nothing is changed then.
    pub fn add_record(&mut self, record: &Record, offset: u64) -> Result<(), Skip> {
        self.check_order(record.seq)?;
        let (room, from, to) = (
            name_key(&record.room),
            name_key(&record.from),
            name_key(&record.to),
        );
        self.add(
            record.seq,
            record.kind,
            &record.date,
            &room,
            &from,
            &to,
            offset,
        );
        Ok(())
    }

    fn check_order(&self, seq: u64) -> Result<(), Skip> {
        // As in `MessageLog::open`, seqs start after 0.
        let last = self.last_seq();
        if seq <= last {
            return Err(Skip::NotAfter { seq, last });
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        seq: u64,
        kind: Kind,
        date: &str,
        room: &str,
        from: &str,
        to: &str,
        offset: u64,
    ) {
        let entry = Entry { seq, offset };
        if self.records.is_multiple_of(SAMPLE_EVERY) {
            let floor = self.samples.last().map_or(i64::MIN, |s| s.micros);
            let micros = parse_time(date).map_or(floor, |m| m.max(floor));
            self.samples.push(Sample {
                seq,
                offset,
                micros,
            });
        }
        match kind {
            Kind::Message => match self.rooms.get_mut(room) {
                Some(stream) => stream.push(entry),
                None => {
                    let mut stream = Stream::default();
                    stream.push(entry);
                    self.rooms.insert(room.to_string(), stream);
                }
            },
            Kind::Closed => {
                self.rooms.remove(room);
                self.closed.insert(room.to_string(), seq);
            }
            Kind::Whisper => {
                let key = pair_key(from, to);
                match self.pairs.get_mut(&key) {
                    Some(stream) => stream.push(entry),
                    None => {
                        let mut stream = Stream::default();
                        stream.push(entry);
                        self.pairs.insert(key, stream);
                        self.add_peer(from, to);
                        if from != to {
                            self.add_peer(to, from);
                        }
                    }
                }
            }
        }
        self.records += 1;
        self.last = Some(entry);
    }

    fn add_peer(&mut self, nick: &str, peer: &str) {
        self.peers
            .entry(nick.to_string())
            .or_default()
            .push(peer.to_string());
    }

    /// The current incarnation of a room, by name key.
    pub fn room(&self, key: &str) -> Option<&Stream> {
        self.rooms.get(key)
    }

    /// The conversation between two nickname keys.
    pub fn pair(&self, a: &str, b: &str) -> Option<&Stream> {
        self.pairs.get(&pair_key(a, b))
    }

    /// Rebuilds `peers` from the conversation keys (after loading a saved
    /// index, which does not store it).
    pub fn derive_peers(&mut self) {
        let mut peers: HashMap<String, Vec<String>> = HashMap::new();
        for key in self.pairs.keys() {
            let Some((a, b)) = split_pair_key(key) else {
                continue;
            };
            peers.entry(a.to_string()).or_default().push(b.to_string());
            if a != b {
                peers.entry(b.to_string()).or_default().push(a.to_string());
            }
        }
        self.peers = peers;
    }

    /// Gives back spare capacity after a build.
    pub fn shrink(&mut self) {
        for s in self.rooms.values_mut().chain(self.pairs.values_mut()) {
            s.shrink();
        }
        self.samples.shrink_to_fit();
    }

    /// Approximate heap bytes the index holds (streams, samples, keys).
    pub fn heap_bytes(&self) -> usize {
        let streams: usize = self
            .rooms
            .iter()
            .chain(self.pairs.iter())
            .map(|(k, s)| k.capacity() + s.heap_bytes() + 64)
            .sum();
        let peers: usize = self
            .peers
            .iter()
            .map(|(k, v)| k.capacity() + v.iter().map(|p| p.capacity() + 24).sum::<usize>() + 48)
            .sum();
        streams
            + peers
            + self.closed.keys().map(|k| k.capacity() + 48).sum::<usize>()
            + self.samples.capacity() * std::mem::size_of::<Sample>()
    }

    /// Where the first record dated at or after `micros` is.
    pub fn time_window(&self, micros: i64) -> TimeWindow {
        let k = self.samples.partition_point(|s| s.micros < micros);
        match (k, self.samples.first()) {
            (_, None) => TimeWindow::Empty,
            (0, Some(first)) => TimeWindow::At(first.seq),
            _ => TimeWindow::Scan {
                from: self.samples[k - 1],
                to: self.samples.get(k).copied(),
            },
        }
    }

    /// Where to start reading backwards to meet every record with a seq
    /// below `seq` first: the offset of the first sample at or after `seq`
    /// (records from there on are skipped by the reader), or the end.
    pub fn offset_before_seq(&self, seq: u64) -> u64 {
        let k = self.samples.partition_point(|s| s.seq < seq);
        self.samples.get(k).map_or(self.end, |s| s.offset)
    }
}

/// The two nickname keys of a [`pair_key`].
pub fn split_pair_key(key: &str) -> Option<(&str, &str)> {
    let (len, rest) = key.split_once(':')?;
    let len: usize = len.parse().ok()?;
    if !rest.is_char_boundary(len) {
        return None;
    }
    Some(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, kind: Kind, room: &str, from: &str, to: &str) -> Record {
        Record {
            seq,
            date: format!("2026-11-21 10:00:{:02}.000000", seq % 60),
            kind,
            room: room.into(),
            from: from.into(),
            to: to.into(),
            text: "x".into(),
        }
    }

    #[test]
    fn rooms_and_conversations_get_their_own_records() {
        let mut index = Index::new();
        let records = [
            record(1, Kind::Message, "Lobby", "ann", "-"),
            record(2, Kind::Whisper, "-", "Ann", "bob"),
            record(3, Kind::Message, "lobby", "bob", "-"),
            record(4, Kind::Whisper, "-", "BOB", "ann"),
            record(5, Kind::Message, "den", "ann", "-"),
        ];
        for (i, r) in records.iter().enumerate() {
            index.add_record(r, i as u64 * 100).unwrap();
        }
        let seqs = |s: &Stream| {
            s.entries(0..s.len())
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>()
        };
        assert_eq!(seqs(index.room("lobby").unwrap()), [1, 3]);
        assert_eq!(seqs(index.room("den").unwrap()), [5]);
        assert_eq!(seqs(index.pair("bob", "ann").unwrap()), [2, 4]);
        assert_eq!(index.peers["ann"], ["bob"]);
        assert_eq!(index.peers["bob"], ["ann"]);
        assert_eq!(
            index.add_record(&records[0], 900),
            Err(Skip::NotAfter { seq: 1, last: 5 })
        );
        let saved = index.peers.clone();
        index.derive_peers();
        assert_eq!(index.peers, saved);
    }

    #[test]
    fn a_closing_ends_the_room_and_its_namesake_starts_empty() {
        let mut index = Index::new();
        index
            .add_record(&record(1, Kind::Message, "secret", "ann", "-"), 0)
            .unwrap();
        index
            .add_record(&record(2, Kind::Closed, "Secret", "ann", "-"), 100)
            .unwrap();
        assert!(index.room("secret").is_none());
        index
            .add_record(&record(3, Kind::Message, "SECRET", "bob", "-"), 200)
            .unwrap();
        let s = index.room("secret").unwrap();
        assert_eq!(
            s.entries(0..9).iter().map(|e| e.seq).collect::<Vec<_>>(),
            [3]
        );
        assert_eq!(index.closed["secret"], 2);
    }

    #[test]
    fn pair_keys_cannot_be_forged_by_odd_names() {
        assert_eq!(pair_key("ann", "bob"), pair_key("bob", "ann"));
        assert_ne!(pair_key("a:b", "c"), pair_key("a", "b:c"));
        assert_ne!(pair_key("ab", "c"), pair_key("a", "bc"));
        for (a, b) in [("ann", "bob"), ("a:b", "c"), ("", "x"), ("é", "e")] {
            let key = pair_key(a, b);
            let (x, y) = split_pair_key(&key).unwrap();
            assert_eq!(pair_key(x, y), key);
        }
        assert_eq!(split_pair_key("9:ab"), None);
    }

    #[test]
    fn samples_find_times_and_seqs() {
        let mut index = Index::new();
        for seq in 1..=1000 {
            let mut r = record(seq, Kind::Message, "lobby", "ann", "-");
            r.date = crate::clock::format_utc(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(seq),
            );
            index.add_record(&r, seq * 10).unwrap();
        }
        index.end = 10_010;
        assert_eq!(index.samples.len(), 4);
        let seqs = |w| match w {
            TimeWindow::Scan { from, to } => (from.seq, to.map(|s: Sample| s.seq)),
            other => panic!("{other:?}"),
        };
        assert_eq!(seqs(index.time_window(300 * 1_000_000)), (257, Some(513)));
        assert_eq!(seqs(index.time_window(i64::MAX)), (769, None));
        assert_eq!(index.time_window(0), TimeWindow::At(1));
        assert_eq!(Index::new().time_window(0), TimeWindow::Empty);
        assert_eq!(index.offset_before_seq(300), 5130);
        assert_eq!(index.offset_before_seq(900), 10_010);
    }
}
