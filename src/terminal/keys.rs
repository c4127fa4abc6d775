//! Keys from the bytes a terminal sends in raw mode: UTF-8 characters,
//! control keys, the escape sequences of arrows, Home/End, PgUp/PgDn and
//! Delete (both the `CSI` and `SS3` forms terminals use), and bracketed
//! paste. A sequence split across reads is kept until the rest arrives;
//! a lone Escape is told from the start of a sequence by a pause
//! ([`Decoder::flush`]). Hostile or garbled input yields
//! [`Key::Unknown`], never a panic, and every buffer is capped.

/// Longest escape sequence kept while waiting for its end.
const MAX_SEQUENCE_BYTES: usize = 32;
/// Largest paste kept; the rest of a bigger one is dropped (a message is
/// split at 64 KiB anyway, and a paste is never sent without Enter).
pub const MAX_PASTE_BYTES: usize = 256 * 1024;

const PASTE_END: &[u8] = b"\x1b[201~";

/// One key press (or one paste).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
    PageUp,
    PageDown,
    WordLeft,
    WordRight,
    /// Ctrl with a letter, lowercase (`Ctrl('a')`); not those that are
    /// Enter, Tab or Backspace.
    Ctrl(char),
    /// Alt (Meta) with a character.
    Alt(char),
    /// Alt-Backspace: delete the word before the cursor.
    AltBackspace,
    /// Text pasted in one go, line breaks as `\n`.
    Paste(String),
    Escape,
    Unknown,
}

/// Turns bytes into keys, keeping incomplete sequences between reads.
#[derive(Debug, Default)]
pub struct Decoder {
    pending: Vec<u8>,
    /// Inside a bracketed paste: what was pasted so far.
    paste: Option<Vec<u8>>,
}

/// What the front of the buffer holds.
enum Step {
    Key(Key, usize),
    /// Need more bytes to decide.
    Incomplete,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// The keys in `bytes` (and in what was pending before them).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Key> {
        self.pending.extend_from_slice(bytes);
        let mut keys = Vec::new();
        loop {
            if let Some(paste) = &mut self.paste {
                match find(&self.pending, PASTE_END) {
                    Some(at) => {
                        take_paste(paste, &self.pending[..at]);
                        let text = paste_text(paste);
                        self.pending.drain(..at + PASTE_END.len());
                        self.paste = None;
                        keys.push(Key::Paste(text));
                        continue;
                    }
                    None => {
                        // Keep a tail that may be the start of the end marker.
                        let keep = PASTE_END.len() - 1;
                        let cut = self.pending.len().saturating_sub(keep);
                        take_paste(paste, &self.pending[..cut]);
                        self.pending.drain(..cut);
                        return keys;
                    }
                }
            }
            if self.pending.is_empty() {
                return keys;
            }
            match decode(&self.pending) {
                Step::Incomplete if self.pending.len() > MAX_SEQUENCE_BYTES => {
                    self.pending.clear();
                    keys.push(Key::Unknown);
                }
                Step::Incomplete => return keys,
                Step::Key(key, used) => {
                    self.pending.drain(..used);
                    if self.pending_starts_paste(&key) {
                        self.paste = Some(Vec::new());
                    } else {
                        keys.push(key);
                    }
                }
            }
        }
    }

    fn pending_starts_paste(&self, key: &Key) -> bool {
        *key == Key::Paste(String::new()) && self.paste.is_none()
    }

    /// True while bytes wait for the rest of a sequence.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty() && self.paste.is_none()
    }

    /// After a pause with nothing more arriving: what is pending is taken
    /// as it stands (a lone Escape is the Escape key; a broken sequence or
    /// character is unknown). A paste still open stays open.
    pub fn flush(&mut self) -> Vec<Key> {
        if self.paste.is_some() || self.pending.is_empty() {
            return Vec::new();
        }
        let bytes = std::mem::take(&mut self.pending);
        let mut keys = Vec::new();
        let mut rest = &bytes[..];
        while let Some((&first, tail)) = rest.split_first() {
            if first == 0x1b {
                keys.push(Key::Escape);
                rest = tail;
                continue;
            }
            match decode(rest) {
                Step::Key(key, used) => {
                    keys.push(key);
                    rest = &rest[used..];
                }
                Step::Incomplete => {
                    keys.push(Key::Unknown);
                    rest = tail;
                }
            }
        }
        keys
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn take_paste(paste: &mut Vec<u8>, bytes: &[u8]) {
    let room = MAX_PASTE_BYTES.saturating_sub(paste.len());
    paste.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// Pasted bytes as text: line breaks as `\n`, invalid UTF-8 replaced.
fn paste_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
}

/// The key at the front of `bytes`.
fn decode(bytes: &[u8]) -> Step {
    let first = bytes[0];
    let key = |key| Step::Key(key, 1);
    match first {
        0x1b => escape(bytes),
        b'\r' | b'\n' => key(Key::Enter),
        b'\t' => key(Key::Tab),
        0x7f | 0x08 => key(Key::Backspace),
        0x01..=0x1a => key(Key::Ctrl((b'a' + first - 1) as char)),
        0x00 | 0x1c..=0x1f => key(Key::Unknown),
        _ => utf8(bytes),
    }
}

fn utf8(bytes: &[u8]) -> Step {
    let len = match bytes[0] {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return Step::Key(Key::Unknown, 1),
    };
    if bytes.len() < len {
        // Only wait when what is there could still be a character.
        if bytes[1..].iter().all(|b| b & 0xc0 == 0x80) {
            return Step::Incomplete;
        }
        return Step::Key(Key::Unknown, 1);
    }
    match std::str::from_utf8(&bytes[..len]) {
        Ok(text) => match text.chars().next() {
            Some(c) => Step::Key(Key::Char(c), len),
            None => Step::Key(Key::Unknown, 1),
        },
        Err(_) => Step::Key(Key::Unknown, 1),
    }
}

/// An escape sequence, or Alt with a key, at the front of `bytes`.
fn escape(bytes: &[u8]) -> Step {
    let Some(&second) = bytes.get(1) else {
        return Step::Incomplete;
    };
    match second {
        b'[' => csi(bytes),
        b'O' => match bytes.get(2) {
            None => Step::Incomplete,
            Some(&b) => Step::Key(final_key(b, "").unwrap_or(Key::Unknown), 3),
        },
        0x7f | 0x08 => Step::Key(Key::AltBackspace, 2),
        0x1b => Step::Key(Key::Escape, 1),
        0x20..=0x7e => Step::Key(Key::Alt(second as char), 2),
        _ => Step::Key(Key::Escape, 1),
    }
}

/// `ESC [ params final`.
fn csi(bytes: &[u8]) -> Step {
    let body = &bytes[2..];
    let Some(end) = body.iter().position(|b| (0x40..=0x7e).contains(b)) else {
        return Step::Incomplete;
    };
    let params = String::from_utf8_lossy(&body[..end]);
    let used = 2 + end + 1;
    let key = match body[end] {
        b'~' => match params.split(';').next().unwrap_or("") {
            "1" | "7" => Key::Home,
            "4" | "8" => Key::End,
            "3" => Key::Delete,
            "5" => Key::PageUp,
            "6" => Key::PageDown,
            // The start of a bracketed paste, marked for `feed`.
            "200" => Key::Paste(String::new()),
            _ => Key::Unknown,
        },
        b'Z' => Key::BackTab,
        b => final_key(b, &params).unwrap_or(Key::Unknown),
    };
    Step::Key(key, used)
}

/// Arrows, Home and End by their final byte; with a Ctrl or Alt modifier
/// (`1;5`, `1;3`) left and right move by words.
fn final_key(b: u8, params: &str) -> Option<Key> {
    let modified = params.ends_with(";5") || params.ends_with(";3");
    Some(match b {
        b'A' => Key::Up,
        b'B' => Key::Down,
        b'C' if modified => Key::WordRight,
        b'D' if modified => Key::WordLeft,
        b'C' => Key::Right,
        b'D' => Key::Left,
        b'H' => Key::Home,
        b'F' => Key::End,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(bytes: &[u8]) -> Vec<Key> {
        Decoder::new().feed(bytes)
    }

    #[test]
    fn characters_and_control_keys() {
        assert_eq!(
            keys("hé漢\r\t\x7f\x01\x05\x15\x0b\x17".as_bytes()),
            [
                Key::Char('h'),
                Key::Char('é'),
                Key::Char('漢'),
                Key::Enter,
                Key::Tab,
                Key::Backspace,
                Key::Ctrl('a'),
                Key::Ctrl('e'),
                Key::Ctrl('u'),
                Key::Ctrl('k'),
                Key::Ctrl('w'),
            ]
        );
    }

    #[test]
    fn escape_sequences_in_both_forms() {
        assert_eq!(
            keys(b"\x1b[A\x1b[B\x1b[C\x1b[D\x1bOA\x1bOH\x1b[H\x1b[F\x1b[1~\x1b[4~\x1b[3~\x1b[5~\x1b[6~"),
            [
                Key::Up,
                Key::Down,
                Key::Right,
                Key::Left,
                Key::Up,
                Key::Home,
                Key::Home,
                Key::End,
                Key::Home,
                Key::End,
                Key::Delete,
                Key::PageUp,
                Key::PageDown,
            ]
        );
        assert_eq!(keys(b"\x1b[1;5C\x1b[1;5D"), [Key::WordRight, Key::WordLeft]);
        assert_eq!(keys(b"\x1bb\x1b\x7f"), [Key::Alt('b'), Key::AltBackspace]);
    }

    #[test]
    fn a_sequence_split_across_reads_is_kept() {
        let mut decoder = Decoder::new();
        assert_eq!(decoder.feed(b"a\x1b"), [Key::Char('a')]);
        assert!(decoder.has_pending());
        assert_eq!(decoder.feed(b"["), []);
        assert_eq!(decoder.feed(b"5~"), [Key::PageUp]);
        let bytes = "漢".as_bytes();
        assert_eq!(decoder.feed(&bytes[..1]), []);
        assert_eq!(decoder.feed(&bytes[1..]), [Key::Char('漢')]);
    }

    #[test]
    fn a_lone_escape_is_escape_after_a_pause() {
        let mut decoder = Decoder::new();
        assert_eq!(decoder.feed(b"\x1b"), []);
        assert_eq!(decoder.flush(), [Key::Escape]);
        assert!(!decoder.has_pending());
    }

    #[test]
    fn bracketed_paste_is_one_key_with_its_line_breaks() {
        let mut decoder = Decoder::new();
        let keys = decoder.feed(b"x\x1b[200~line one\r\nline two\x1b[2");
        assert_eq!(keys, [Key::Char('x')]);
        assert!(!decoder.has_pending(), "inside a paste");
        assert_eq!(decoder.flush(), []);
        assert_eq!(
            decoder.feed(b"01~y"),
            [Key::Paste("line one\nline two".into()), Key::Char('y')]
        );
    }

    #[test]
    fn a_huge_paste_is_capped() {
        let mut decoder = Decoder::new();
        decoder.feed(b"\x1b[200~");
        for _ in 0..100 {
            decoder.feed(&[b'a'; 8192]);
        }
        match decoder.feed(PASTE_END).as_slice() {
            [Key::Paste(text)] => assert_eq!(text.len(), MAX_PASTE_BYTES),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_never_panics_and_never_grows_without_bound() {
        let mut decoder = Decoder::new();
        let mut state = 0x2545_f491_u32;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let len = (state % 7) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (state >> (i * 4)) as u8).collect();
            decoder.feed(&bytes);
            if state.is_multiple_of(5) {
                decoder.flush();
            }
            assert!(decoder.pending.len() <= MAX_SEQUENCE_BYTES + 8);
        }
        assert_eq!(keys(b"\x1b[999999999999999999~"), [Key::Unknown]);
        assert_eq!(keys(b"\xff\xfe"), [Key::Unknown, Key::Unknown]);
        assert_eq!(
            keys(b"\xe6\x41"),
            [Key::Unknown, Key::Char('A')],
            "a broken character does not swallow the next"
        );
        let long: Vec<u8> = [b"\x1b[".as_slice(), &[b'1'; 40]].concat();
        assert_eq!(keys(&long), [Key::Unknown]);
    }
}
