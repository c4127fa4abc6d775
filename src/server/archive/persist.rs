//! The saved index (`log.idx` beside `log.txt`): the [`Index`] in a binary
//! form with a CRC-32 over all of it, so a start-up reads tens of megabytes
//! instead of scanning the whole log. It is only a cache: anything wrong
//! with it (damage, another version, a log that no longer matches, checked
//! in `build`) means a rebuild from `log.txt`, never a wrong answer.
//!
//! ```text
//! file    = magic version end lines records last samples closed rooms pairs crc
//! magic   = "chat-archive-index" NUL        ; version = u64 1
//! last    = u8 (0 none, 1 some) [seq offset] ; every number u64 little-endian
//! samples = count *(seq offset micros)
//! closed  = count *(string seq)             ; string = u64 length, UTF-8 bytes
//! rooms   = count *(string stream)          ; stream: see `Stream::encode`
//! pairs   = count *(string stream)
//! crc     = u32: CRC-32 of everything before it
//! ```

use std::collections::HashMap;

use super::index::{Index, Sample};
use super::stream::{take_u64, Entry, Stream};
use crate::crc32::crc32;

const MAGIC: &[u8] = b"chat-archive-index\0";
const VERSION: u64 = 1;

/// The index as bytes, without the checksum ([`seal`] adds it). Run under
/// the index's read lock: a copy of about 4 bytes a record.
pub fn encode(index: &Index) -> Vec<u8> {
    let mut out = Vec::with_capacity(index.heap_bytes() + 1024);
    out.extend_from_slice(MAGIC);
    for n in [VERSION, index.end, index.lines, index.records] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    match index.last {
        None => out.push(0),
        Some(e) => {
            out.push(1);
            out.extend_from_slice(&e.seq.to_le_bytes());
            out.extend_from_slice(&e.offset.to_le_bytes());
        }
    }
    out.extend_from_slice(&(index.samples.len() as u64).to_le_bytes());
    for s in &index.samples {
        out.extend_from_slice(&s.seq.to_le_bytes());
        out.extend_from_slice(&s.offset.to_le_bytes());
        out.extend_from_slice(&s.micros.to_le_bytes());
    }
    out.extend_from_slice(&(index.closed.len() as u64).to_le_bytes());
    for (key, seq) in &index.closed {
        put_str(&mut out, key);
        out.extend_from_slice(&seq.to_le_bytes());
    }
    for map in [&index.rooms, &index.pairs] {
        out.extend_from_slice(&(map.len() as u64).to_le_bytes());
        for (key, stream) in map {
            put_str(&mut out, key);
            stream.encode(&mut out);
        }
    }
    out
}

/// Appends the checksum to what [`encode`] wrote; no lock needed.
pub fn seal(out: &mut Vec<u8>) {
    let crc = crc32(out);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Reads a saved index, checking its checksum and that everything in it is
/// in order and inside the log bytes it claims to cover.
///
/// # Errors
/// A reason, for the report that says why the index was rebuilt.
pub fn decode(bytes: &[u8]) -> Result<Index, &'static str> {
    let (body, crc) = bytes
        .split_last_chunk::<4>()
        .ok_or("index file cut short")?;
    if crc32(body) != u32::from_le_bytes(*crc) {
        return Err("index file checksum mismatch");
    }
    let mut input = body.strip_prefix(MAGIC).ok_or("not an index file")?;
    let input = &mut input;
    if take_u64(input)? != VERSION {
        return Err("index file of another version");
    }
    let mut index = Index::new();
    index.end = take_u64(input)?;
    index.lines = take_u64(input)?;
    index.records = take_u64(input)?;
    let (&has_last, rest) = input.split_first().ok_or("index file cut short")?;
    *input = rest;
    index.last = match has_last {
        0 => None,
        1 => Some(Entry {
            seq: take_u64(input)?,
            offset: take_u64(input)?,
        }),
        _ => return Err("index file damaged"),
    };
    let samples = count(input, 24)?;
    let mut prev: Option<Sample> = None;
    for _ in 0..samples {
        let s = Sample {
            seq: take_u64(input)?,
            offset: take_u64(input)?,
            micros: take_u64(input)? as i64,
        };
        if prev.is_some_and(|p| s.seq <= p.seq || s.offset <= p.offset || s.micros < p.micros)
            || s.offset >= index.end
        {
            return Err("index samples out of order");
        }
        prev = Some(s);
        index.samples.push(s);
    }
    for _ in 0..count(input, 16)? {
        let key = take_str(input)?;
        index.closed.insert(key, take_u64(input)?);
    }
    index.rooms = take_streams(input, index.end)?;
    index.pairs = take_streams(input, index.end)?;
    if !input.is_empty() {
        return Err("index file has trailing bytes");
    }
    let last_ok = match index.last {
        None => index.records == 0 && index.rooms.is_empty() && index.pairs.is_empty(),
        Some(e) => e.offset < index.end && index.records > 0,
    };
    if !last_ok {
        return Err("index file damaged");
    }
    index.derive_peers();
    Ok(index)
}

fn take_streams(input: &mut &[u8], end: u64) -> Result<HashMap<String, Stream>, &'static str> {
    let n = count(input, 24)?;
    let mut map = HashMap::with_capacity(n);
    for _ in 0..n {
        let key = take_str(input)?;
        let stream = Stream::decode(input)?;
        if stream.last().is_some_and(|e| e.offset >= end) {
            return Err("index stream beyond the log it covers");
        }
        if map.insert(key, stream).is_some() {
            return Err("index file names a stream twice");
        }
    }
    Ok(map)
}

/// A count of items of at least `min_bytes` each, checked against what is left.
fn count(input: &mut &[u8], min_bytes: u64) -> Result<usize, &'static str> {
    let n = take_u64(input)?;
    if n > input.len() as u64 / min_bytes {
        return Err("index file count too large");
    }
    Ok(n as usize)
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn take_str(input: &mut &[u8]) -> Result<String, &'static str> {
    let len = take_u64(input)?;
    if len > input.len() as u64 {
        return Err("index file cut short");
    }
    let (bytes, rest) = input.split_at(len as usize);
    *input = rest;
    String::from_utf8(bytes.to_vec()).map_err(|_| "index file damaged")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::history::{Kind, Record};

    fn sample_index() -> Index {
        let mut index = Index::new();
        for seq in 1..=700u64 {
            let (kind, room, to) = match seq % 10 {
                0 => (Kind::Whisper, "-", "bob"),
                7 if seq == 357 => (Kind::Closed, "den", "-"),
                n if n < 5 => (Kind::Message, "lobby", "-"),
                _ => (Kind::Message, "den", "-"),
            };
            let record = Record {
                seq,
                date: format!("2026-11-21 10:{:02}:00.000000", seq / 60 % 60),
                kind,
                room: room.into(),
                from: "ann".into(),
                to: to.into(),
                text: "hello".into(),
            };
            index.add_record(&record, seq * 100).unwrap();
        }
        index.end = 70_100;
        index.lines = 702;
        index
    }

    fn sealed(index: &Index) -> Vec<u8> {
        let mut bytes = encode(index);
        seal(&mut bytes);
        bytes
    }

    #[test]
    fn an_index_round_trips() {
        let index = sample_index();
        assert_eq!(decode(&sealed(&index)).unwrap(), index);
        let empty = Index::new();
        assert_eq!(decode(&sealed(&empty)).unwrap(), empty);
    }

    #[test]
    fn damage_anywhere_is_refused() {
        let bytes = sealed(&sample_index());
        for at in (0..bytes.len()).step_by(97) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            assert!(decode(&damaged).is_err(), "flip at {at}");
        }
        for cut in [0, 3, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_well_sealed_but_inconsistent_file_is_refused() {
        let mut index = sample_index();
        // Streams that claim records beyond the bytes covered.
        index.end = 500;
        assert!(decode(&sealed(&index)).is_err());
        let mut index = sample_index();
        index.samples.swap(0, 1);
        assert!(decode(&sealed(&index)).is_err());
    }
}
