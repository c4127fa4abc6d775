//! One IRC message (tags, source, command, parameters): its strict, bounded
//! parser over the bytes of a line and its encoder, which never writes a
//! line over the limits. No sockets; [`super::line`] finds the lines.
//!
//! ```text
//! message = [ "@" tags SPACE ] [ ":" source SPACE ] command *( SPACE param )
//! command = 1*letter / 3digit          (letters are upper-cased)
//! param   = middle / ":" trailing      (the 15th parameter takes the rest of
//!                                       the line, colon or not: RFC 2812)
//! SPACE   = 1*" "                      (modern.ircdocs.horse)
//! ```
//!
//! Lines must be UTF-8: the whole system stores text as UTF-8 (`log.txt`,
//! the frame protocol), and a lossy decode would change what a person wrote
//! without telling them. So a line that is not UTF-8 is refused with
//! [`IrcError::NotUtf8`] and the door answers `FAIL ... INVALID_UTF8`, as the
//! IRCv3 `UTF8ONLY` token (which the door advertises) specifies.

use super::error::IrcError;
use super::tags::{parse_tags, write_tags, Tag};

/// The most bytes of a line after its tags, line end (CR LF) included
/// (RFC 1459 and every server since).
pub const MAX_BODY_BYTES: usize = 512;
/// The most bytes of the tag part, `@` and the space after it included
/// (IRCv3 message-tags).
pub const MAX_TAGS_BYTES: usize = 8191;
/// The most bytes of tag part a client may send: 4,094 bytes of tag data
/// plus the `@` and the space (IRCv3 message-tags).
pub const MAX_CLIENT_TAGS_BYTES: usize = 4096;
/// The most parameters a line carries (RFC 2812).
pub const MAX_PARAMS: usize = 15;

/// The size limits a parse applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest tag part, `@` and trailing space included.
    pub max_tags_bytes: usize,
    /// Longest part after the tags, line end included.
    pub max_body_bytes: usize,
}

impl Limits {
    /// What a server accepts from a client.
    pub const CLIENT: Limits = Limits {
        max_tags_bytes: MAX_CLIENT_TAGS_BYTES,
        max_body_bytes: MAX_BODY_BYTES,
    };
    /// What a client accepts from a server (and what the encoder writes).
    pub const SERVER: Limits = Limits {
        max_tags_bytes: MAX_TAGS_BYTES,
        max_body_bytes: MAX_BODY_BYTES,
    };
}

/// One IRC message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// IRCv3 tags, each key at most once.
    pub tags: Vec<Tag>,
    /// Who it comes from (`server` or `nick!user@host`), without the colon.
    pub source: Option<String>,
    /// The command, upper-cased: letters, or a three-digit numeric.
    pub command: String,
    /// The parameters, the trailing one without its colon.
    pub params: Vec<String>,
}

impl Message {
    /// A message with a command and parameters, no tags and no source.
    pub fn new<S: Into<String>>(command: &str, params: impl IntoIterator<Item = S>) -> Message {
        Message {
            tags: Vec::new(),
            source: None,
            command: command.to_string(),
            params: params.into_iter().map(Into::into).collect(),
        }
    }

    /// The same message from `source`.
    pub fn with_source(mut self, source: impl Into<String>) -> Message {
        self.source = Some(source.into());
        self
    }

    /// The same message with one more tag (replacing one of the same key).
    pub fn with_tag(mut self, key: &str, value: impl Into<String>) -> Message {
        self.tags.retain(|t| t.key != key);
        self.tags.push(Tag::new(key, value));
        self
    }

    /// The value of tag `key`, if present (`""` for a tag without a value).
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }

    /// Parameter `i`, if present.
    pub fn param(&self, i: usize) -> Option<&str> {
        self.params.get(i).map(String::as_str)
    }

    /// The nickname part of the source (`nick` in `nick!user@host`).
    pub fn source_nick(&self) -> Option<&str> {
        let source = self.source.as_deref()?;
        Some(source.split(['!', '@']).next().unwrap_or(source))
    }

    /// Parses one line, with or without its line end (CR LF or a bare LF,
    /// which many clients send).
    ///
    /// # Errors
    /// An [`IrcError`] whose [`reaction`](IrcError::reaction) says how to answer.
    pub fn parse(line: &[u8], limits: Limits) -> Result<Message, IrcError> {
        let line = strip_line_end(line);
        if let Some(&byte) = line.iter().find(|&&b| matches!(b, b'\0' | b'\r' | b'\n')) {
            return Err(IrcError::ControlByte { byte });
        }
        let (tag_part, body) = split_tags(line);
        if let Some(part) = tag_part {
            // `@` + tags + the space that ends them.
            let len = part.len() + 2;
            if len > limits.max_tags_bytes {
                return Err(IrcError::TagsTooLong {
                    len,
                    limit: limits.max_tags_bytes,
                });
            }
        }
        let len = body.len() + 2;
        if len > limits.max_body_bytes {
            return Err(IrcError::BodyTooLong {
                len,
                limit: limits.max_body_bytes,
            });
        }
        let Ok(line) = std::str::from_utf8(line) else {
            let lossy = String::from_utf8_lossy(body);
            let command = parse_body(&lossy).ok().map(|m| m.command);
            return Err(IrcError::NotUtf8 { command });
        };
        let (tag_part, body) = split_tags_str(line);
        let mut message = match parse_body(body) {
            Err(IrcError::Empty) if tag_part.is_some() => return Err(IrcError::NoCommand),
            other => other?,
        };
        message.tags = tag_part.map(parse_tags).unwrap_or_default();
        Ok(message)
    }

    /// The line for this message, CR LF included.
    ///
    /// # Errors
    /// [`IrcError::WontFit`] when the tag part would be over
    /// [`MAX_TAGS_BYTES`] or the rest over [`MAX_BODY_BYTES`]; `BadParam`,
    /// `BadToken` or `TooManyParams` for a message the parser would read
    /// back differently. Never a line a parser would refuse.
    pub fn to_line(&self) -> Result<Vec<u8>, IrcError> {
        // Sized for the whole line at once: every chat message is written
        // through here, and growing the buffer step by step cost a flood
        // more than writing it.
        let tags: usize = self
            .tags
            .iter()
            .map(|t| t.key.len() + t.value.len() + 2)
            .sum();
        let params: usize = self.params.iter().map(|p| p.len() + 2).sum();
        let source = self.source.as_ref().map_or(0, |s| s.len() + 2);
        let mut out = Vec::with_capacity(tags + 1 + source + self.command.len() + params + 2);
        write_tags(&self.tags, &mut out)?;
        if out.len() > MAX_TAGS_BYTES {
            return Err(IrcError::WontFit {
                len: out.len(),
                limit: MAX_TAGS_BYTES,
            });
        }
        let tags_len = out.len();
        self.write_body(&mut out)?;
        let len = out.len() - tags_len;
        if len > MAX_BODY_BYTES {
            return Err(IrcError::WontFit {
                len,
                limit: MAX_BODY_BYTES,
            });
        }
        Ok(out)
    }

    /// Like [`Message::to_line`], but when the part after the tags is too
    /// long, cuts the last parameter (at a character boundary) until it fits.
    /// For replies whose text is ours to shorten (reasons, topics); chat
    /// text goes through [`super::split`] instead, which loses nothing.
    ///
    /// # Errors
    /// As [`Message::to_line`], or `WontFit` when even an empty last
    /// parameter does not fit.
    pub fn to_line_truncated(&self) -> Result<Vec<u8>, IrcError> {
        match self.to_line() {
            Err(IrcError::WontFit { len, limit }) if limit == MAX_BODY_BYTES => {
                let mut cut = self.clone();
                let Some(last) = cut.params.last_mut() else {
                    return Err(IrcError::WontFit { len, limit });
                };
                // The colon the shorter text may need is already counted
                // if the long one had it; add one in case it did not.
                let excess = len - limit + 1;
                let keep = last.len().saturating_sub(excess);
                let keep = (0..=keep)
                    .rev()
                    .find(|&i| last.is_char_boundary(i))
                    .unwrap_or(0);
                last.truncate(keep);
                cut.to_line()
            }
            other => other,
        }
    }

    /// Writes `[:source ]COMMAND params\r\n`.
    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), IrcError> {
        if let Some(source) = &self.source {
            if source.is_empty() || source.bytes().any(|b| breaks_line(b) || b == b' ') {
                return Err(IrcError::BadToken {
                    what: "source",
                    token: source.clone(),
                });
            }
            out.push(b':');
            out.extend_from_slice(source.as_bytes());
            out.push(b' ');
        }
        if !is_command(&self.command) || self.command.bytes().any(|b| b.is_ascii_lowercase()) {
            return Err(IrcError::BadToken {
                what: "command",
                token: self.command.clone(),
            });
        }
        out.extend_from_slice(self.command.as_bytes());
        if self.params.len() > MAX_PARAMS {
            return Err(IrcError::TooManyParams {
                count: self.params.len(),
                limit: MAX_PARAMS,
            });
        }
        for (index, param) in self.params.iter().enumerate() {
            if param.bytes().any(breaks_line) {
                let reason = "contains NUL, CR or LF";
                return Err(IrcError::BadParam { index, reason });
            }
            out.push(b' ');
            let last = index + 1 == self.params.len();
            if needs_colon(param) {
                if !last {
                    let reason = "is empty, has a space or starts with ':' but is not last";
                    return Err(IrcError::BadParam { index, reason });
                }
                out.push(b':');
            }
            out.extend_from_slice(param.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// True for bytes no parameter, source or key may hold.
fn breaks_line(b: u8) -> bool {
    matches!(b, b'\0' | b'\r' | b'\n')
}

/// True when a parameter can only be written as a trailing one.
fn needs_colon(param: &str) -> bool {
    param.is_empty() || param.starts_with(':') || param.contains(' ')
}

/// True for a command: letters, or exactly three digits.
fn is_command(token: &str) -> bool {
    let b = token.as_bytes();
    (!b.is_empty() && b.iter().all(u8::is_ascii_alphabetic))
        || (b.len() == 3 && b.iter().all(u8::is_ascii_digit))
}

/// The line without one trailing CR LF or LF.
fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Splits `@tags rest` into the tag part (without `@`) and the rest.
fn split_tags(line: &[u8]) -> (Option<&[u8]>, &[u8]) {
    match line.strip_prefix(b"@") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(sp) => (Some(&rest[..sp]), &rest[sp + 1..]),
            None => (Some(rest), &[]),
        },
        None => (None, line),
    }
}

/// [`split_tags`] for a line known to be UTF-8.
fn split_tags_str(line: &str) -> (Option<&str>, &str) {
    match line.strip_prefix('@') {
        Some(rest) => match rest.split_once(' ') {
            Some((tags, body)) => (Some(tags), body),
            None => (Some(rest), ""),
        },
        None => (None, line),
    }
}

/// Parses `[:source ]command params` (no tags, no line end).
fn parse_body(body: &str) -> Result<Message, IrcError> {
    let mut rest = body.trim_start_matches(' ');
    if rest.is_empty() {
        return Err(IrcError::Empty);
    }
    let mut source = None;
    if let Some(after) = rest.strip_prefix(':') {
        let (s, r) = after.split_once(' ').unwrap_or((after, ""));
        if s.is_empty() {
            return Err(IrcError::BadSource);
        }
        source = Some(s.to_string());
        rest = r.trim_start_matches(' ');
        if rest.is_empty() {
            return Err(IrcError::NoCommand);
        }
    }
    let (command, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
    if !is_command(command) {
        return Err(IrcError::BadCommand {
            command: command.chars().take(32).collect(),
        });
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            break;
        }
        if let Some(trailing) = rest.strip_prefix(':') {
            params.push(trailing.to_string());
            break;
        }
        if params.len() == MAX_PARAMS - 1 {
            // RFC 2812: the fifteenth parameter is the rest of the line.
            params.push(rest.to_string());
            break;
        }
        let (middle, r) = rest.split_once(' ').unwrap_or((rest, ""));
        params.push(middle.to_string());
        rest = r;
    }
    Ok(Message {
        tags: Vec::new(),
        source,
        command: command.to_ascii_uppercase(),
        params,
    })
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
