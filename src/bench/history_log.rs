//! The log `chat-bench history` measures: messages as the server writes
//! them, deterministic (the same file every run), with the words the
//! searches look for at known places.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use crate::clock::format_utc;
use crate::crc32::crc32;

/// Generated dates start here and advance 50 ms a message.
pub(crate) const BASE_SECS: u64 = 1_790_000_000;
const STEP_MICROS: u64 = 50_000;
const NICKS: u64 = 1000;
/// The room closed (and recreated by its next message) half-way.
pub(crate) const CLOSED_ROOM: u64 = 7;
/// In the message at 10% of the log only.
pub(crate) const RARE: &str = "xylophonist";
/// In every 1,000th message.
pub(crate) const EVERY_1000TH: &str = "quokka";
/// In no message.
pub(crate) const ABSENT: &str = "zebrafish";
const WORDS: [&str; 32] = [
    "the", "a", "chat", "server", "room", "message", "hello", "world", "today", "meeting", "lunch",
    "coffee", "later", "thanks", "yes", "no", "maybe", "build", "test", "deploy", "review", "bug",
    "fix", "merge", "release", "night", "morning", "plan", "idea", "good", "great", "ok",
];

/// Writes `messages` records as the server would, returns the bytes.
pub(crate) fn generate(path: &Path, messages: u64, rooms: u64) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 22, File::create(path)?);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut line = String::with_capacity(256);
    let mut text = String::with_capacity(128);
    let mut bytes = 0u64;
    for seq in 1..=messages {
        let date = format_utc(UNIX_EPOCH + Duration::from_micros(date_micros(seq)));
        let from = format!("u{:04}", rng.below(NICKS));
        text.clear();
        for i in 0..8 + rng.below(5) {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        }
        if seq % 1000 == 0 {
            text.push(' ');
            text.push_str(EVERY_1000TH);
        }
        if seq == messages / 10 {
            text.push(' ');
            text.push_str(RARE);
        }
        let (kind, room, to) = if seq == messages / 2 {
            ("closed", room_name(CLOSED_ROOM, rooms), "-".to_string())
        } else if rng.below(100) == 0 {
            (
                "whisper",
                "-".to_string(),
                format!("u{:04}", rng.below(NICKS)),
            )
        } else {
            ("msg", room_name(rng.below(rooms), rooms), "-".to_string())
        };
        line.clear();
        let _ = write!(line, "{seq}\t{date}\t{kind}\t{room}\t{from}\t{to}\t{text}");
        let crc = crc32(line.as_bytes());
        let _ = writeln!(line, "\t{crc:08x}");
        out.write_all(line.as_bytes())?;
        bytes += line.len() as u64;
    }
    out.flush()?;
    out.get_ref().sync_all()?;
    Ok(bytes)
}

pub(crate) fn date_micros(seq: u64) -> u64 {
    BASE_SECS * 1_000_000 + seq * STEP_MICROS
}

pub(crate) fn room_name(i: u64, rooms: u64) -> String {
    if rooms <= 100 {
        format!("room{i:02}")
    } else {
        format!("r{i}")
    }
}

/// xorshift64: the same log every run, no dependency.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
