//! `files.txt`, the index of shared files: its line format, and turning
//! it into an [`Index`] and back. Pure text in, text out, so every rule is
//! unit-tested without a disk.
//!
//! ```text
//! files.txt = next-line *file-line
//! next-line = "next" TAB id LF        ; the id the next upload gets: ids are never reused
//! file-line = id TAB date TAB room TAB uploader TAB size TAB sha256 TAB stored TAB name LF
//! id, size  = decimal; sha256 = 64 lowercase hex digits
//! stored    = the name in files/: id "_" 16 random hex digits "_" safe-name
//! name      = the name the uploader gave, exactly; a label, never a path
//! date, room, uploader, stored and name escape "\" TAB LF CR as \\ \t \n \r
//! ```

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::Path;

use crate::crypto::{from_hex, to_hex};

use crate::server::history::Problem;
use crate::server::store::{escape, unescape};

/// One stored file, as the index records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: u64,
    /// When it was stored (UTC, as `clock::now_utc`).
    pub date: String,
    /// The room it was shared in: only those who may enter it may fetch it.
    pub room: String,
    pub uploader: String,
    pub size: u64,
    pub sha256: [u8; 32],
    /// Its name inside `files/`, made by the server.
    pub stored: String,
    /// The name the uploader gave it.
    pub name: String,
}

impl Entry {
    /// The entry as one `file-line`, without its line feed (also how a
    /// cluster shares it).
    pub fn encode(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            self.id,
            escape(&self.date),
            escape(&self.room),
            escape(&self.uploader),
            self.size,
            to_hex(&self.sha256),
            escape(&self.stored),
            escape(&self.name),
        )
    }

    /// The `FILE` event that tells a room of this file.
    pub fn event(&self) -> crate::event::Event {
        crate::event::Event::File {
            room: self.room.clone(),
            from: self.uploader.clone(),
            id: self.id,
            name: self.name.clone(),
            size: self.size,
            date: self.date.clone(),
        }
    }

    /// Reads one `file-line` back, with the same checks as `files.txt`.
    ///
    /// # Errors
    /// Why the line is not an entry.
    pub fn parse(line: &str) -> Result<Entry, &'static str> {
        parse_entry(line)
    }
}

/// Every stored file by id, and the id the next one gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub next_id: u64,
    pub entries: BTreeMap<u64, Entry>,
}

impl Default for Index {
    fn default() -> Index {
        Index {
            next_id: 1,
            entries: BTreeMap::new(),
        }
    }
}

impl Index {
    /// The index as `files.txt` holds it.
    pub fn encode(&self) -> String {
        let mut out = format!("next\t{}\n", self.next_id);
        for e in self.entries.values() {
            out.push_str(&e.encode());
            out.push('\n');
        }
        out
    }

    /// Reads `files.txt`. A line that cannot be read is reported with its
    /// number and skipped; the rest still loads. The next id is never below
    /// one past the largest id seen, whatever the `next` line says.
    pub fn parse(text: &str) -> (Index, Vec<Problem>) {
        let mut index = Index::default();
        let mut problems = Vec::new();
        let mut next = None;
        for (i, line) in text.lines().enumerate() {
            let problem = |reason: &str| Problem {
                line_no: i + 1,
                reason: reason.to_string(),
            };
            if line.is_empty() {
                continue;
            }
            if let Some(value) = line.strip_prefix("next\t") {
                match (value.parse::<u64>(), next) {
                    (Ok(n), None) => next = Some(n),
                    (Ok(_), Some(_)) => problems.push(problem("a second next line")),
                    (Err(_), _) => problems.push(problem("next id is not a number")),
                }
                continue;
            }
            match parse_entry(line) {
                Ok(entry) if index.entries.contains_key(&entry.id) => {
                    problems.push(problem("an id already used by an earlier line"));
                }
                Ok(entry) => {
                    index.entries.insert(entry.id, entry);
                }
                Err(reason) => problems.push(problem(reason)),
            }
        }
        let past_last = index.entries.keys().next_back().map_or(1, |id| id + 1);
        index.next_id = next.unwrap_or(1).max(past_last);
        (index, problems)
    }
}

fn parse_entry(line: &str) -> Result<Entry, &'static str> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [id, date, room, uploader, size, sha, stored, name] = fields[..] else {
        return Err("wrong number of fields");
    };
    let id: u64 = id.parse().map_err(|_| "id is not a number")?;
    let stored = unescape(stored)?;
    // The index is ours, but a damaged or edited one must still never make
    // the server open something outside files/.
    if !is_stored_name(&stored, id) {
        return Err("stored name is not a plain name of this file in files/");
    }
    Ok(Entry {
        id,
        date: unescape(date)?,
        room: unescape(room)?,
        uploader: unescape(uploader)?,
        size: size.parse().map_err(|_| "size is not a number")?,
        sha256: from_hex(sha)
            .and_then(|d| d.try_into().ok())
            .ok_or("sha256 is not 64 hex digits")?,
        stored,
        name: unescape(name)?,
    })
}

/// True for a name this store gives file `id`: `<id>_...`, one plain path
/// component that is neither hidden nor special.
fn is_stored_name(stored: &str, id: u64) -> bool {
    stored.starts_with(&format!("{id}_"))
        && !stored.contains(['/', '\\', '\0'])
        && Path::new(stored).file_name() == Some(OsStr::new(stored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::sha256;
    use crate::fileshare::safe_name;

    fn entry(id: u64, room: &str, name: &str) -> Entry {
        Entry {
            id,
            date: "2026-11-21 10:15:02.123456".into(),
            room: room.into(),
            uploader: "ntu".into(),
            size: 42,
            sha256: sha256(name.as_bytes()),
            stored: format!("{id}_0123456789abcdef_{}", safe_name(name)),
            name: name.into(),
        }
    }

    #[test]
    fn any_name_round_trips_through_the_index() {
        let mut index = Index::default();
        for (id, name) in [
            (1, "notes.txt"),
            (2, "tab\there\\and\nnewline\r.bin"),
            (3, "../../etc/passwd"),
            (4, "你好 🎉.txt"),
            (5, ""),
        ] {
            index.entries.insert(id, entry(id, "lobby", name));
        }
        index.next_id = 9;
        let text = index.encode();
        assert_eq!(text.lines().count(), 6, "{text}");
        let (parsed, problems) = Index::parse(&text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(parsed, index);
    }

    #[test]
    fn bad_lines_are_reported_by_number_and_skipped() {
        let good = Index {
            next_id: 2,
            entries: BTreeMap::from([(1, entry(1, "lobby", "a.txt"))]),
        }
        .encode();
        let good_line = good.lines().nth(1).unwrap();
        let sha = to_hex(&sha256(b"x"));
        let text = [
            "next\t2",
            good_line,
            "garbage",
            &format!("2\td\tlobby\tntu\tbig\t{sha}\t2_0123456789abcdef_a\ta"),
            "3\td\tlobby\tntu\t1\tnothex\t3_0123456789abcdef_a\ta",
            &format!("4\td\tlobby\tntu\t1\t{sha}\t../../etc/passwd\ta"),
            &format!("5\td\tlobby\tntu\t1\t{sha}\t6_0123456789abcdef_a\ta"),
            &format!("7\td\tlobby\tntu\t1\t{sha}\t7_0123456789abcdef_a\tbad\\escape"),
            good_line,
            "next\t1",
        ]
        .join("\n");
        let (index, problems) = Index::parse(&text);
        assert_eq!(index.entries.len(), 1);
        let lines: Vec<usize> = problems.iter().map(|p| p.line_no).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8, 9, 10], "{problems:?}");
        assert_eq!(index.next_id, 2);
    }

    #[test]
    fn next_id_never_falls_behind_the_largest_id() {
        let text = Index {
            next_id: 1,
            entries: BTreeMap::from([(41, entry(41, "lobby", "a"))]),
        }
        .encode();
        assert_eq!(Index::parse(&text).0.next_id, 42);
        assert_eq!(Index::parse("").0.next_id, 1);
        let (index, problems) = Index::parse("next\t7\n");
        assert_eq!((index.next_id, problems.len()), (7, 0));
    }

    #[test]
    fn stored_names_must_be_plain_and_belong_to_their_id() {
        assert!(is_stored_name("3_0123456789abcdef_a.txt", 3));
        for bad in [
            "3_x/../../etc/passwd",
            "4_0123456789abcdef_a",
            "3_..\\x",
            "/etc/passwd",
            "..",
            "3_a\0b",
        ] {
            assert!(!is_stored_name(bad, 3), "{bad:?}");
        }
    }
}
