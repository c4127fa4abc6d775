//! IRCv3 message tags (`@key=value;key2 ...`): parsing the tag part of a
//! line and writing it back, with the value escaping of the message-tags
//! specification (`\:` `\s` `\\` `\r` `\n`).

use super::error::IrcError;

/// One message tag. An empty `value` is the same as no value, as the
/// specification says (`foo=` means `foo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The key, kept as sent: keys are opaque, case-sensitive identifiers.
    pub key: String,
    /// The value, unescaped.
    pub value: String,
}

impl Tag {
    /// A tag from a key and an (unescaped) value.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Tag {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }

    /// True for client-only tags (`+key`), which a server relays but never
    /// trusts.
    pub fn is_client_only(&self) -> bool {
        self.key.starts_with('+')
    }
}

/// Parses the tag part of a line (between `@` and the first space).
///
/// Keys are not validated beyond being non-empty, because the specification
/// forbids rejecting a message for an unknown key format; an element with an
/// empty key (`;;` or `=x`) carries nothing and is skipped. When a key
/// repeats, the last occurrence wins, as the specification says.
pub fn parse_tags(part: &str) -> Vec<Tag> {
    let mut tags: Vec<Tag> = Vec::new();
    for element in part.split(';') {
        let (key, raw) = element.split_once('=').unwrap_or((element, ""));
        if key.is_empty() {
            continue;
        }
        tags.retain(|t| t.key != key);
        tags.push(Tag::new(key, unescape_value(raw)));
    }
    tags
}

/// Undoes tag value escaping. A backslash before any other character is
/// dropped, and a lone backslash at the end is dropped, as the
/// specification says.
pub fn unescape_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(':') => out.push(';'),
            Some('s') => out.push(' '),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Escapes a tag value for the wire.
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            ';' => out.push_str("\\:"),
            ' ' => out.push_str("\\s"),
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Writes `@k=v;k2 ` (with the leading `@` and the trailing space) to `out`,
/// or nothing when there are no tags.
///
/// # Errors
/// [`IrcError::BadToken`] for an empty key or one holding a byte that would
/// end the tag (`=`, `;`, space), the line (CR, LF) or be refused (NUL).
/// Values are escaped, so any value can be written.
pub fn write_tags(tags: &[Tag], out: &mut Vec<u8>) -> Result<(), IrcError> {
    if tags.is_empty() {
        return Ok(());
    }
    out.push(b'@');
    for (i, tag) in tags.iter().enumerate() {
        let bad = |b: u8| matches!(b, b'=' | b';' | b' ' | b'\r' | b'\n' | b'\0');
        if tag.key.is_empty() || tag.key.bytes().any(bad) {
            return Err(IrcError::BadToken {
                what: "tag key",
                token: tag.key.clone(),
            });
        }
        if i > 0 {
            out.push(b';');
        }
        out.extend_from_slice(tag.key.as_bytes());
        if !tag.value.is_empty() {
            out.push(b'=');
            out.extend_from_slice(escape_value(&tag.value).as_bytes());
        }
    }
    out.push(b' ');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_every_escape_of_the_specification() {
        assert_eq!(unescape_value(r"a\:b\sc\\d\re\nf"), "a;b c\\d\re\nf");
        // Unknown escapes drop the backslash; a trailing one is dropped.
        assert_eq!(unescape_value(r"\b\x\"), "bx");
        assert_eq!(unescape_value(r"\\\\"), "\\\\");
        assert_eq!(unescape_value(""), "");
    }

    #[test]
    fn escape_then_unescape_is_the_identity() {
        for value in ["", "plain", "a;b c\\d\r\n", "\\s is not a space", "é;\\"] {
            assert_eq!(unescape_value(&escape_value(value)), value);
            let escaped = escape_value(value);
            assert!(!escaped.contains([';', ' ', '\r', '\n']), "{escaped:?}");
        }
    }

    #[test]
    fn parses_values_flags_and_vendor_keys() {
        let tags = parse_tags("time=2026-01-01T00:00:00.000Z;+draft/typing=active;bot;empty=");
        let want = [
            ("time", "2026-01-01T00:00:00.000Z"),
            ("+draft/typing", "active"),
            ("bot", ""),
            ("empty", ""),
        ];
        assert_eq!(tags.len(), want.len());
        for (tag, (k, v)) in tags.iter().zip(want) {
            assert_eq!((tag.key.as_str(), tag.value.as_str()), (k, v));
        }
        assert!(tags[1].is_client_only());
        assert!(!tags[0].is_client_only());
    }

    #[test]
    fn the_last_repeated_key_wins_and_empty_keys_are_skipped() {
        let tags = parse_tags("a=1;;=x;b=2;a=3;");
        assert_eq!(tags, vec![Tag::new("b", "2"), Tag::new("a", "3")]);
        assert_eq!(parse_tags(""), vec![]);
        assert_eq!(parse_tags(";;;"), vec![]);
    }

    #[test]
    fn writes_tags_with_escaping_and_refuses_keys_that_break_the_line() {
        let mut out = Vec::new();
        write_tags(&[Tag::new("msgid", "a b;c"), Tag::new("bot", "")], &mut out)
            .expect("valid tags");
        assert_eq!(out, b"@msgid=a\\sb\\:c;bot ");
        let mut none = Vec::new();
        write_tags(&[], &mut none).expect("no tags");
        assert!(none.is_empty());
        for key in ["", "a b", "a=b", "a;b", "a\nb", "a\0b"] {
            let err = write_tags(&[Tag::new(key, "v")], &mut Vec::new());
            assert!(matches!(err, Err(IrcError::BadToken { .. })), "{key:?}");
        }
    }
}
