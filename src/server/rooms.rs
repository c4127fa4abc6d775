//! `rooms.txt`: the rooms people created, with owner, visibility, ban list
//! and permit list, so they survive a restart. The lobby is not stored: it
//! always exists. The file is rewritten whole (atomically) on every change.
//!
//! ```text
//! line   = name TAB owner TAB ("public" / "private") TAB bans TAB permits LF
//! bans   = nick *( "," nick )   ; may be empty; likewise permits
//! ```
//! Room names and nicknames cannot contain TAB or `,`, so nothing is escaped;
//! every field is validated on load, and a bad line stops the server with
//! its line number rather than silently losing a room.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::text::{check_nick, check_room};

use super::store::replace_file;

/// File name inside the data directory.
pub const ROOMS_FILE: &str = "rooms.txt";

/// A room as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    pub name: String,
    pub owner: String,
    pub private: bool,
    pub bans: Vec<String>,
    pub permits: Vec<String>,
}

/// Why `rooms.txt` could not be used.
#[derive(Debug)]
pub enum RoomsError {
    Read {
        path: PathBuf,
        source: io::Error,
    },
    Corrupt {
        path: PathBuf,
        line_no: usize,
        reason: String,
    },
}

impl fmt::Display for RoomsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoomsError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            RoomsError::Corrupt {
                path,
                line_no,
                reason,
            } => write!(
                f,
                "{} line {line_no}: {reason}; fix or remove that line (or restore a backup) and start again",
                path.display()
            ),
        }
    }
}

impl std::error::Error for RoomsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RoomsError::Read { source, .. } => Some(source),
            RoomsError::Corrupt { .. } => None,
        }
    }
}

/// The rooms file. Its lock serialises writers, so the last snapshot taken
/// is the last one written.
pub struct RoomStore {
    path: PathBuf,
    write_lock: Mutex<()>,
}

impl RoomStore {
    /// The store in `dir`, and the rooms it holds (none if the file is absent).
    ///
    /// # Errors
    /// `RoomsError` for an unreadable file or a malformed line.
    pub fn open(dir: &Path) -> Result<(RoomStore, Vec<RoomRecord>), RoomsError> {
        let path = dir.join(ROOMS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(RoomsError::Read { path, source }),
        };
        let mut rooms = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            let room = parse_line(line).map_err(|reason| RoomsError::Corrupt {
                path: path.clone(),
                line_no: i + 1,
                reason,
            })?;
            rooms.push(room);
        }
        let store = RoomStore {
            path,
            write_lock: Mutex::new(()),
        };
        Ok((store, rooms))
    }

    /// Takes the store for a change: while the guard lives no other change
    /// to rooms can be stored, so a change planned under it is still the
    /// latest when it is written and made.
    pub fn lock(&self) -> RoomsGuard<'_> {
        RoomsGuard {
            store: self,
            _guard: self
                .write_lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        }
    }
}

/// The room store, held for one change.
pub struct RoomsGuard<'a> {
    store: &'a RoomStore,
    _guard: MutexGuard<'a, ()>,
}

impl RoomsGuard<'_> {
    /// Writes all rooms, replacing the file.
    ///
    /// # Errors
    /// The write error; the previous file is then intact.
    pub fn write(&self, rooms: &[RoomRecord]) -> io::Result<()> {
        let text: String = rooms.iter().map(encode_line).collect();
        replace_file(&self.store.path, text.as_bytes(), true)
    }
}

/// One room as a line of `rooms.txt`, newline included.
pub fn encode_line(r: &RoomRecord) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\n",
        r.name,
        r.owner,
        if r.private { "private" } else { "public" },
        r.bans.join(","),
        r.permits.join(",")
    )
}

/// Parses one line of `rooms.txt`.
///
/// # Errors
/// What is wrong with the line.
pub fn parse_line(line: &str) -> Result<RoomRecord, String> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [name, owner, visibility, bans, permits] = fields[..] else {
        return Err(format!(
            "expected 5 tab-separated fields, found {}",
            fields.len()
        ));
    };
    check_room(name)?;
    check_nick(owner).map_err(|e| format!("owner: {e}"))?;
    let private = match visibility {
        "public" => false,
        "private" => true,
        other => {
            return Err(format!(
                "visibility must be public or private, not {other:?}"
            ))
        }
    };
    let nicks = |list: &str| -> Result<Vec<String>, String> {
        list.split(',')
            .filter(|n| !n.is_empty())
            .map(|n| check_nick(n).map(|()| n.to_string()))
            .collect()
    };
    Ok(RoomRecord {
        name: name.to_string(),
        owner: owner.to_string(),
        private,
        bans: nicks(bans)?,
        permits: nicks(permits)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_round_trips_through_a_line() {
        let room = RoomRecord {
            name: "rust-fans".into(),
            owner: "Tom".into(),
            private: true,
            bans: vec!["Bob".into(), "eve".into()],
            permits: vec![],
        };
        let line = encode_line(&room);
        assert_eq!(line, "rust-fans\tTom\tprivate\tBob,eve\t\n");
        assert_eq!(parse_line(line.trim_end_matches('\n')).unwrap(), room);
    }

    #[test]
    fn malformed_lines_are_refused_with_a_reason() {
        for (line, want) in [
            ("", "expected 5"),
            ("a\tb\tpublic\t\t\textra", "expected 5"),
            ("bad room\tTom\tpublic\t\t", "room name"),
            ("r\tTomTomTomTom\tpublic\t\t", "owner"),
            ("r\tTom\tsecret\t\t", "visibility"),
            ("r\tTom\tpublic\tok,not ok\t", "not contain spaces"),
        ] {
            let err = parse_line(line).unwrap_err();
            assert!(err.contains(want), "{line:?}: {err}");
        }
    }
}
