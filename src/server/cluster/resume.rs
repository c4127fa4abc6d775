//! Where a node's stream reader starts: after the last room message its
//! `log.txt` holds from the stream. The record carries the entry's ID (in
//! its `to` field, which a room message otherwise leaves `-`), and it is
//! written before anyone is sent the message, so the log is the reader's
//! bookmark: nothing is delivered twice across a restart, nothing skipped.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use crate::cluster::StreamId;
use crate::server::history::{parse_line, Kind};

/// The first tail read; doubled until a record with an ID is found.
const FIRST_TAIL_BYTES: u64 = 256 * 1024;

/// The ID of the last room message in the log at `path` that came from
/// the stream (`None`: none did, so the reader starts at the beginning).
///
/// # Errors
/// The file cannot be read (a missing file holds none).
pub fn last_stream_id(path: &Path) -> io::Result<Option<StreamId>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let mut tail = FIRST_TAIL_BYTES;
    loop {
        let from = len.saturating_sub(tail);
        file.seek(SeekFrom::Start(from))?;
        let mut bytes = Vec::new();
        file.by_ref().take(len - from).read_to_end(&mut bytes)?;
        // The first line of a tail may be cut; only whole lines count.
        let whole = if from == 0 {
            &bytes[..]
        } else {
            match bytes.iter().position(|&b| b == b'\n') {
                Some(at) => &bytes[at + 1..],
                None => &[][..],
            }
        };
        if let Some(id) = last_id_in(whole) {
            return Ok(Some(id));
        }
        if from == 0 {
            return Ok(None);
        }
        tail = tail.saturating_mul(2);
    }
}

/// The stream ID of the last room message among `lines`.
fn last_id_in(lines: &[u8]) -> Option<StreamId> {
    lines.split(|&b| b == b'\n').rev().find_map(|line| {
        let record = parse_line(std::str::from_utf8(line).ok()?).ok()?;
        (record.kind == Kind::Message)
            .then(|| record.to.parse::<StreamId>().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::history::{encode_line, Record};

    fn line(seq: u64, kind: Kind, to: &str) -> String {
        encode_line(&Record {
            seq,
            date: "2026-01-01 00:00:00.000000".into(),
            kind,
            room: "lobby".into(),
            from: "ann".into(),
            to: to.into(),
            text: "x".repeat(100),
        })
    }

    #[test]
    fn finds_the_last_message_with_an_id_skipping_others_and_damage() {
        let dir = std::env::temp_dir().join(format!("chat-resume-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.txt");
        assert_eq!(last_stream_id(&path).unwrap(), None, "no file");
        let mut text = String::new();
        for i in 0..5000u64 {
            text += &line(i + 1, Kind::Message, &format!("{}-0", 100 + i));
        }
        text += &line(5001, Kind::Message, "-");
        text += &line(5002, Kind::Whisper, "1-1");
        for _ in 0..3000 {
            text += &line(5003, Kind::Whisper, "bob");
        }
        text += "torn\tli";
        std::fs::write(&path, &text).unwrap();
        assert_eq!(
            last_stream_id(&path).unwrap(),
            Some(StreamId::new(5099, 0)),
            "found beyond the first tail"
        );
        std::fs::write(&path, line(1, Kind::Message, "-")).unwrap();
        assert_eq!(last_stream_id(&path).unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
