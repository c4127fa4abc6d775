//! One room's or one conversation's records as a compact list of
//! (sequence number, byte offset) pairs, in log order: blocks of
//! [`BLOCK`] entries, each a full head and then varint deltas. Ten million
//! entries take about 35 MB instead of the 160 MB of plain `u64` pairs, and
//! finding a page is a binary search over heads plus one block's decoding.

use std::ops::Range;

/// Entries per block: a lookup decodes at most this many.
pub const BLOCK: usize = 64;

/// Where one record of a stream is in `log.txt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub offset: u64,
}

/// The first entry of a block, and where the block's deltas start in `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    seq: u64,
    offset: u64,
    pos: u64,
}

/// An append-only list of entries with strictly increasing seqs and offsets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stream {
    heads: Vec<Head>,
    data: Vec<u8>,
    len: u64,
    last: Option<Entry>,
}

impl Stream {
    /// Appends an entry. The caller keeps seqs and offsets increasing (the
    /// index adds records in file order); an entry that is not after the
    /// last one is ignored rather than allowed to break the encoding.
    pub fn push(&mut self, entry: Entry) {
        if let Some(last) = self.last {
            if entry.seq <= last.seq || entry.offset <= last.offset {
                return;
            }
        }
        if self.len.is_multiple_of(BLOCK as u64) {
            self.heads.push(Head {
                seq: entry.seq,
                offset: entry.offset,
                pos: self.data.len() as u64,
            });
        } else if let Some(last) = self.last {
            put_varint(&mut self.data, entry.seq - last.seq);
            put_varint(&mut self.data, entry.offset - last.offset);
        }
        self.len += 1;
        self.last = Some(entry);
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// The newest entry.
    pub fn last(&self) -> Option<Entry> {
        self.last
    }

    /// How many entries have a seq below `seq`: the position of the first
    /// entry at or after it.
    pub fn rank_of_seq(&self, seq: u64) -> u64 {
        let b = self.heads.partition_point(|h| h.seq < seq);
        if b == 0 {
            return 0;
        }
        let below = self.block(b - 1).take_while(|e| e.seq < seq).count();
        (b as u64 - 1) * BLOCK as u64 + below as u64
    }

    /// The entries at positions `range` (clamped to the stream), oldest first.
    pub fn entries(&self, range: Range<u64>) -> Vec<Entry> {
        let end = range.end.min(self.len);
        let start = range.start.min(end);
        let mut out = Vec::with_capacity((end - start) as usize);
        let first = (start / BLOCK as u64) as usize;
        let mut pos = first as u64 * BLOCK as u64;
        for b in first..self.heads.len() {
            for e in self.block(b) {
                if pos >= end {
                    return out;
                }
                if pos >= start {
                    out.push(e);
                }
                pos += 1;
            }
        }
        out
    }

    /// Every entry, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = Entry> + '_ {
        (0..self.heads.len()).flat_map(|b| self.block(b))
    }

    /// Bytes of heap this stream holds.
    pub fn heap_bytes(&self) -> usize {
        self.heads.capacity() * std::mem::size_of::<Head>() + self.data.capacity()
    }

    /// Gives back spare capacity (after a build, when growth has stopped).
    pub fn shrink(&mut self) {
        self.heads.shrink_to_fit();
        self.data.shrink_to_fit();
    }

    /// The entries of block `b`.
    fn block(&self, b: usize) -> BlockIter<'_> {
        let head = self.heads[b];
        let end = self
            .heads
            .get(b + 1)
            .map_or(self.data.len(), |h| h.pos as usize);
        let count = if b + 1 == self.heads.len() {
            (self.len - b as u64 * BLOCK as u64) as usize
        } else {
            BLOCK
        };
        BlockIter {
            data: self.data.get(head.pos as usize..end).unwrap_or_default(),
            next: Some(Entry {
                seq: head.seq,
                offset: head.offset,
            }),
            left: count,
        }
    }

    /// Appends the stream's binary form to `out` (see `persist`).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.len.to_le_bytes());
        for h in &self.heads {
            out.extend_from_slice(&h.seq.to_le_bytes());
            out.extend_from_slice(&h.offset.to_le_bytes());
            out.extend_from_slice(&h.pos.to_le_bytes());
        }
        out.extend_from_slice(&(self.data.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.data);
    }

    /// Reads what `encode` wrote, checking every block decodes to increasing
    /// entries, so a damaged index file is refused instead of misread.
    ///
    /// # Errors
    /// A reason when the bytes are not a valid stream.
    pub fn decode(input: &mut &[u8]) -> Result<Stream, &'static str> {
        let len = take_u64(input)?;
        let blocks = len.div_ceil(BLOCK as u64);
        if blocks > (input.len() / 24) as u64 {
            return Err("stream longer than the file");
        }
        let mut heads = Vec::with_capacity(blocks as usize);
        for _ in 0..blocks {
            heads.push(Head {
                seq: take_u64(input)?,
                offset: take_u64(input)?,
                pos: take_u64(input)?,
            });
        }
        let data_len = take_u64(input)?;
        if data_len > input.len() as u64 {
            return Err("stream data longer than the file");
        }
        let (data, rest) = input.split_at(data_len as usize);
        *input = rest;
        let mut stream = Stream {
            heads,
            data: data.to_vec(),
            len,
            last: None,
        };
        let mut prev: Option<Entry> = None;
        for b in 0..stream.heads.len() {
            let head = stream.heads[b];
            let start_ok = stream.heads.get(b + 1).map_or(data_len, |h| h.pos) >= head.pos
                && head.pos <= data_len
                && (b > 0 || head.pos == 0);
            if !start_ok {
                return Err("stream blocks out of order");
            }
            let mut iter = stream.block(b);
            let mut n = 0;
            for e in iter.by_ref() {
                if prev.is_some_and(|p| e.seq <= p.seq || e.offset <= p.offset) {
                    return Err("stream entries out of order");
                }
                prev = Some(e);
                n += 1;
            }
            let expected = if b + 1 == stream.heads.len() {
                len - b as u64 * BLOCK as u64
            } else {
                BLOCK as u64
            };
            if n != expected || !iter.data.is_empty() {
                return Err("stream block does not decode");
            }
        }
        stream.last = prev;
        Ok(stream)
    }
}

/// Decodes one block; stops early (never panics) on damaged data.
struct BlockIter<'a> {
    data: &'a [u8],
    next: Option<Entry>,
    left: usize,
}

impl Iterator for BlockIter<'_> {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        if self.left == 0 {
            return None;
        }
        let current = self.next.take()?;
        self.left -= 1;
        if self.left > 0 {
            let ds = take_varint(&mut self.data);
            let doff = take_varint(&mut self.data);
            self.next = match (ds, doff) {
                (Some(ds), Some(doff)) if ds > 0 && doff > 0 => Some(Entry {
                    seq: current.seq.checked_add(ds)?,
                    offset: current.offset.checked_add(doff)?,
                }),
                _ => None,
            };
        }
        Some(current)
    }
}

/// LEB128: seven bits a byte, high bit set on all but the last.
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(input: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for (i, &b) in input.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            *input = &input[i + 1..];
            return Some(v);
        }
    }
    None
}

/// Reads a little-endian `u64` off the front of `input`.
///
/// # Errors
/// When fewer than eight bytes are left.
pub fn take_u64(input: &mut &[u8]) -> Result<u64, &'static str> {
    let (bytes, rest) = input
        .split_first_chunk::<8>()
        .ok_or("index file cut short")?;
    *input = rest;
    Ok(u64::from_le_bytes(*bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(n: u64) -> Stream {
        let mut s = Stream::default();
        let (mut seq, mut offset) = (10, 1000);
        for i in 0..n {
            // Uneven gaps, some large, to exercise multi-byte varints.
            seq += 1 + i % 7;
            offset += 100 + (i % 5) * 70_000;
            s.push(Entry { seq, offset });
        }
        assert_eq!(s.len(), n);
        s
    }

    fn all(s: &Stream) -> Vec<Entry> {
        s.entries(0..s.len())
    }

    #[test]
    fn entries_come_back_as_pushed_in_any_range() {
        let s = stream_of(300);
        let full = all(&s);
        assert_eq!(full.len(), 300);
        assert!(full.windows(2).all(|w| w[0].seq < w[1].seq));
        for (a, b) in [(0, 1), (63, 65), (64, 128), (250, 400), (299, 300), (5, 5)] {
            let got = s.entries(a..b);
            let want: Vec<_> = full[a as usize..(b as usize).min(300)].to_vec();
            assert_eq!(got, want, "{a}..{b}");
        }
        assert_eq!(s.last(), full.last().copied());
    }

    #[test]
    fn rank_of_seq_counts_entries_below() {
        let s = stream_of(200);
        let full = all(&s);
        for probe in 0..full.last().unwrap().seq + 3 {
            let want = full.iter().filter(|e| e.seq < probe).count() as u64;
            assert_eq!(s.rank_of_seq(probe), want, "{probe}");
        }
        assert_eq!(Stream::default().rank_of_seq(5), 0);
    }

    #[test]
    fn entries_out_of_order_are_ignored() {
        let mut s = stream_of(3);
        let last = s.last().unwrap();
        s.push(last);
        s.push(Entry {
            seq: last.seq + 1,
            offset: last.offset,
        });
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn encoding_round_trips_and_damage_is_refused() {
        for n in [0, 1, 64, 65, 300] {
            let s = stream_of(n);
            let mut bytes = Vec::new();
            s.encode(&mut bytes);
            bytes.extend_from_slice(b"tail");
            let mut input = &bytes[..];
            assert_eq!(Stream::decode(&mut input).unwrap(), s);
            assert_eq!(input, b"tail");
        }
        let mut bytes = Vec::new();
        stream_of(150).encode(&mut bytes);
        for cut in [0, 7, 8, 40, bytes.len() - 1] {
            assert!(Stream::decode(&mut &bytes[..cut]).is_err(), "cut at {cut}");
        }
        // A flipped continuation bit in the deltas.
        let mut damaged = bytes.clone();
        let data_at = 8 + 3 * 24 + 8;
        damaged[data_at] ^= 0x80;
        assert!(Stream::decode(&mut &damaged[..]).is_err());
        // A length that claims more entries than there are.
        let mut longer = bytes;
        longer[0] = 151;
        assert!(Stream::decode(&mut &longer[..]).is_err());
    }

    #[test]
    fn ten_thousand_entries_cost_about_three_bytes_each() {
        let mut s = Stream::default();
        for i in 0..10_000u64 {
            s.push(Entry {
                seq: i + 1,
                offset: i * 130,
            });
        }
        s.shrink();
        assert!(s.heap_bytes() < 10_000 * 4, "{}", s.heap_bytes());
    }
}
