//! The format of `accounts.txt`: one line per account, tab-separated,
//! written whole by `encode` and read back strictly by `parse`. It never
//! holds a password, only the hash fields of `PasswordHash`.
//!
//! ```text
//! file     = header *account            ; an empty file is an empty store
//! header   = "chat-accounts 1" LF
//! account  = nick TAB hash *( TAB attr "=" value ) LF
//! nick     = 1-8 of A-Z a-z 0-9 _ -      ; unique ignoring case
//! hash     = "pbkdf2-sha256$" iterations "$" salt "$" key
//!            ; iterations: decimal, 1 to MAX_PBKDF2_ITERATIONS
//!            ; salt: 32 hex digits (16 bytes), key: 64 hex digits (32 bytes)
//! attr     = "age" / "birthday" / "job" / "phone_number" / "self_description"
//!            ; each at most once per account; an unset attribute is absent
//! value    = 1 to 200 characters, no control characters; "\" is written
//!            "\\", and TAB LF CR would be \t \n \r (values never hold them,
//!            but the format does not depend on that)
//! ```
//!
//! Parsing is strict: a line that does not follow this grammar is an error
//! naming the line, because skipping it would silently delete an account
//! (and free its nickname for anyone to take).

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read};

use crate::server::store::{escape, unescape};
use crate::text::{self, name_key};

use super::{check_profile_value, Account, Attr, PasswordHash, Profile};

/// First line of the file; the number is the format version.
const FILE_HEADER: &str = "chat-accounts 1";
/// Longest line the loader reads. A valid line is under 9 KiB (five values
/// of 200 four-byte characters, each byte possibly escaped); anything longer
/// is damage, and the cap keeps a damaged file from filling memory.
const MAX_LINE_BYTES: usize = 16 * 1024;

/// The whole file for `accounts`, in key order.
pub(super) fn encode(accounts: &BTreeMap<String, Account>) -> String {
    let mut out = format!("{FILE_HEADER}\n");
    for account in accounts.values() {
        out.push_str(&encode_account(account));
        out.push('\n');
    }
    out
}

/// One account as its line (without the newline): also how a cluster
/// shares it in Redis.
pub(super) fn encode_account(account: &Account) -> String {
    let mut out = account.nick.clone();
    out.push('\t');
    out.push_str(&account.hash.encode());
    for (attr, value) in account.profile.iter() {
        out.push('\t');
        out.push_str(attr.name());
        out.push('=');
        out.push_str(&escape(value));
    }
    out
}

/// Why the file could not be parsed.
#[derive(Debug)]
pub(super) enum ParseError {
    Io(io::Error),
    Line { line_no: usize, reason: String },
}

/// Reads a whole account file. Every line must parse: see the module docs.
pub(super) fn parse(mut reader: impl BufRead) -> Result<BTreeMap<String, Account>, ParseError> {
    let mut accounts = BTreeMap::new();
    // Where each nickname was seen, to name both lines of a duplicate.
    let mut seen_on: BTreeMap<String, usize> = BTreeMap::new();
    let mut line = Vec::with_capacity(256);
    let mut line_no = 0;
    loop {
        line.clear();
        let n = reader
            .by_ref()
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(ParseError::Io)?;
        if n == 0 {
            return Ok(accounts);
        }
        line_no += 1;
        let bad = |reason: String| ParseError::Line { line_no, reason };
        if line.last() != Some(&b'\n') {
            return Err(bad(if n > MAX_LINE_BYTES {
                format!("line longer than {MAX_LINE_BYTES} bytes")
            } else {
                "the last line has no newline (the file was cut short?)".into()
            }));
        }
        line.pop();
        let text = std::str::from_utf8(&line).map_err(|_| bad("not valid UTF-8".into()))?;
        if line_no == 1 {
            if text != FILE_HEADER {
                return Err(bad(format!(
                    "expected the header {FILE_HEADER:?}, found {:?}",
                    shorten(text)
                )));
            }
            continue;
        }
        let account = parse_account(text).map_err(bad)?;
        let key = name_key(&account.nick);
        if let Some(first) = seen_on.insert(key.clone(), line_no) {
            return Err(bad(format!(
                "nickname {} is registered twice (first on line {first})",
                account.nick
            )));
        }
        accounts.insert(key, account);
    }
}

/// Parses one account line (without its newline).
pub(super) fn parse_account(line: &str) -> Result<Account, String> {
    let mut fields = line.split('\t');
    let nick = fields.next().unwrap_or_default();
    text::check_nick(nick).map_err(|e| format!("bad nickname {:?}: {e}", shorten(nick)))?;
    let hash = PasswordHash::parse(
        fields
            .next()
            .ok_or_else(|| format!("account {nick} has no password hash"))?,
    )?;
    let mut profile = Profile::default();
    for field in fields {
        let (name, value) = field
            .split_once('=')
            .ok_or_else(|| format!("profile field {:?} has no '='", shorten(field)))?;
        let attr = Attr::parse(name)
            .ok_or_else(|| format!("unknown profile attribute {:?}", shorten(name)))?;
        let value = unescape(value).map_err(|e| format!("{e} in a profile value"))?;
        if value.is_empty() {
            return Err(format!("profile attribute {name} is empty"));
        }
        check_profile_value(&value).map_err(|e| format!("profile attribute {name}: {e}"))?;
        if profile.0.insert(attr, value).is_some() {
            return Err(format!("profile attribute {name} appears twice"));
        }
    }
    Ok(Account {
        nick: nick.to_string(),
        hash,
        profile,
    })
}

/// At most 40 characters of `s`, for quoting damaged input in a message.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap hashes: the tests check the format, not PBKDF2's cost.
    fn hash(password: &str) -> PasswordHash {
        PasswordHash::new(password, 10).unwrap()
    }

    fn parse_text(text: &str) -> Result<BTreeMap<String, Account>, (usize, String)> {
        parse(text.as_bytes()).map_err(|e| match e {
            ParseError::Line { line_no, reason } => (line_no, reason),
            ParseError::Io(e) => panic!("{e}"),
        })
    }

    fn a_line() -> String {
        format!("ntu\t{}", hash("correct horse").encode())
    }

    #[test]
    fn the_file_round_trips_with_profiles() {
        let mut profile = Profile::default();
        profile.0.insert(Attr::Age, "19".into());
        profile
            .0
            .insert(Attr::SelfDescription, "back\\slash = fine, é 🎉".into());
        let mut accounts = BTreeMap::new();
        for (nick, profile) in [("Ma19", profile), ("ntu", Profile::default())] {
            accounts.insert(
                name_key(nick),
                Account {
                    nick: nick.into(),
                    hash: hash("correct horse"),
                    profile,
                },
            );
        }
        let text = encode(&accounts);
        assert!(text.starts_with("chat-accounts 1\n"), "{text}");
        assert_eq!(text.lines().count(), 3);
        assert_eq!(parse_text(&text).unwrap(), accounts);
    }

    #[test]
    fn an_empty_file_is_an_empty_store() {
        assert!(parse_text("").unwrap().is_empty());
        assert!(parse_text("chat-accounts 1\n").unwrap().is_empty());
    }

    #[test]
    fn hostile_lines_are_refused_with_their_line_number() {
        let good = a_line();
        let (_, good_hash) = good.split_once('\t').unwrap();
        // Each case: the file, and words the reason for its last line must contain.
        let body = |rest: &str| format!("chat-accounts 1\n{rest}");
        let zeros = |n: usize| "0".repeat(n);
        let cases: Vec<(String, &str)> = vec![
            ("chat-accounts 2\n".into(), "header"),
            (format!("{good}\n"), "header"),
            (body(&good), "no newline"),
            (body("\n"), "nickname"),
            (body("ntu\n"), "no password hash"),
            (body("ntu\tpassword123\n"), "scheme$"),
            (body("ntu\tmd5$1$00$00\n"), "unknown password hash scheme"),
            (body("ntu\tpbkdf2-sha256$0$00$00\n"), "iteration count"),
            (
                body("ntu\tpbkdf2-sha256$999999999999$00$00\n"),
                "iteration count",
            ),
            (body("ntu\tpbkdf2-sha256$10$zz$00\n"), "salt"),
            (
                body(&format!(
                    "ntu\tpbkdf2-sha256$10${}${}\n",
                    zeros(32),
                    zeros(63)
                )),
                "hash is not",
            ),
            (body(&format!("ABCDEFGHI\t{good_hash}\n")), "bad nickname"),
            (body(&format!("../etc\t{good_hash}\n")), "bad nickname"),
            (
                body(&format!("{good}\tshoe_size=42\n")),
                "unknown profile attribute",
            ),
            (body(&format!("{good}\tage\n")), "no '='"),
            (body(&format!("{good}\tage=\n")), "empty"),
            (body(&format!("{good}\tage=1\tage=2\n")), "appears twice"),
            (body(&format!("{good}\tjob=a\\q\n")), "escape"),
            (body(&format!("{good}\tjob=a\\nb\n")), "control"),
            (body(&format!("{good}\tjob=\u{1b}[2J\n")), "control"),
            (
                body(&format!("{good}\tjob={}\n", "x".repeat(201))),
                "at most 200",
            ),
            (
                body(&format!("{good}\nNTU\t{good_hash}\n")),
                "registered twice (first on line 2)",
            ),
        ];
        for (text, reason) in cases {
            let (line_no, why) = parse_text(&text).expect_err(&text);
            let expected_line = text.lines().count().max(1);
            assert_eq!(line_no, expected_line, "{text:?}: {why}");
            assert!(why.contains(reason), "{text:?}: {why}");
        }
    }

    #[test]
    fn binary_and_overlong_lines_are_refused_not_buffered() {
        let (line_no, why) = parse(&b"chat-accounts 1\n\xff\xfe\n"[..])
            .map_err(|e| match e {
                ParseError::Line { line_no, reason } => (line_no, reason),
                ParseError::Io(e) => panic!("{e}"),
            })
            .unwrap_err();
        assert_eq!((line_no, why.as_str()), (2, "not valid UTF-8"));
        let huge = format!("chat-accounts 1\n{}\n", "a".repeat(1 << 20));
        let (line_no, why) = parse_text(&huge).unwrap_err();
        assert_eq!(line_no, 2);
        assert!(why.contains("longer than"), "{why}");
    }
}
