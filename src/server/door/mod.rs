//! Front doors: one module per protocol a client may speak. A door takes
//! whole messages off a connection's input, turns them into the session's
//! actions, and words the outcomes in its protocol; its codec words what
//! the hub delivers. The session loop around it is the same for every door.

pub mod chat;
pub mod irc;
pub mod web;

use std::fmt;

use super::connection::Conn;
use super::session::{End, Session};
use super::Config;

/// The protocols a client may speak on the main port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Our `CHAT/1.0` frames (the terminal client).
    Chat,
    /// IRC (irssi, weechat, any IRC client).
    Irc,
    /// HTTP, and WebSocket after it (a browser).
    Web,
}

/// The longest first line the main port waits for before deciding: an IRC
/// line with the most tags a client may send (4,096 bytes) and its body
/// (512), or an HTTP request line (8 KiB), with room to spare.
pub const MAX_FIRST_LINE_BYTES: usize = 9 * 1024;

impl Protocol {
    /// Which protocol a connection speaks, from the bytes it sent first:
    /// a start line ending in `CHAT/1.0` is ours, one ending in
    /// `HTTP/1.x` a browser's, anything else shaped like an IRC line (text
    /// that starts with a command, a `:source` or `@tags`) IRC. Bytes that
    /// are none of these get our protocol's error. `None` until the first
    /// line (after any empty lines) is complete.
    pub fn of(input: &[u8]) -> Option<Protocol> {
        let start = input.iter().position(|&b| b != b'\r' && b != b'\n')?;
        let rest = &input[start..];
        let end = rest.iter().position(|&b| b == b'\n')?;
        let line = rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]);
        let irc_shaped = matches!(line.first(), Some(b'@' | b':' | b'A'..=b'Z' | b'a'..=b'z'))
            && !line.contains(&0)
            && std::str::from_utf8(line).is_ok();
        Some(if line.ends_with(crate::protocol::VERSION.as_bytes()) {
            Protocol::Chat
        } else if is_http_request_line(line) {
            Protocol::Web
        } else if irc_shaped {
            Protocol::Irc
        } else {
            Protocol::Chat
        })
    }
}

/// A line ending in ` HTTP/d.d`: a browser's (a version other than 1.0
/// and 1.1 is the web door's to refuse, with 505).
fn is_http_request_line(line: &[u8]) -> bool {
    matches!(line, [.., b' ', b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
        if major.is_ascii_digit() && minor.is_ascii_digit())
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Chat => "chat",
            Protocol::Irc => "IRC",
            Protocol::Web => "browser",
        })
    }
}

/// The door for `protocol`.
pub fn open(protocol: Protocol, config: &Config) -> Box<dyn Door> {
    match protocol {
        Protocol::Chat => Box::new(chat::ChatDoor::new(config)),
        Protocol::Web => Box::new(web::WebDoor::new(config)),
        Protocol::Irc => Box::new(irc::IrcDoor::new(config)),
    }
}

/// Most messages that arrived together a door stores as one step (a
/// burst: one `log.txt` write, one enqueue per member; see `Hub::say_all`).
pub const MAX_BURST: usize = 64;

/// What a door made of the input in hand.
#[derive(Debug)]
pub enum Poll {
    /// A message was taken and carried out; there may be more.
    Done,
    /// No whole message is buffered: read more.
    NeedMore,
    /// The connection ends (a last reply, if any, is queued).
    End(End),
}

/// One protocol's side of a session.
pub trait Door {
    /// The most input this door lets pile up: its largest message.
    fn max_input(&self) -> usize;
    /// Takes the first whole message off `conn`'s input, if one is there,
    /// and carries it out.
    fn poll(&mut self, s: &mut Session<'_>, conn: &mut Conn) -> Poll;
    /// The client has been silent for the idle timeout: ask for a sign of life.
    fn ping(&mut self, s: &mut Session<'_>);
    /// The connection did not log in in time: a last word, then the end.
    fn login_timed_out(&mut self, s: &mut Session<'_>) -> End;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_tells_the_protocol() {
        assert_eq!(Protocol::of(b"LOGIN / CHAT/1.0\r\n"), Some(Protocol::Chat));
        assert_eq!(
            Protocol::of(b"\r\n\nSAY / CHAT/1.0\n"),
            Some(Protocol::Chat)
        );
        assert_eq!(
            Protocol::of(b"GET / HTTP/1.1\r\nHost: x\r\n"),
            Some(Protocol::Web)
        );
        assert_eq!(Protocol::of(b"GET /ws HTTP/1.0\n"), Some(Protocol::Web));
        assert_eq!(Protocol::of(b"GET / HTTP/2.0\r\n"), Some(Protocol::Web));
        assert_eq!(Protocol::of(b"CAP LS 302\r\n"), Some(Protocol::Irc));
        assert_eq!(Protocol::of(b"NICK tom\n"), Some(Protocol::Irc));
        assert_eq!(
            Protocol::of(b"@time=x :a PRIVMSG #b :c\n"),
            Some(Protocol::Irc)
        );
        // Not shaped like anything: our own protocol says what is wrong.
        assert_eq!(Protocol::of(b"\x00\xff garbage\n"), Some(Protocol::Chat));
        assert_eq!(Protocol::of(b"{\"json\": 1}\n"), Some(Protocol::Chat));
    }

    #[test]
    fn no_protocol_before_the_first_line_ends() {
        assert_eq!(Protocol::of(b""), None);
        assert_eq!(Protocol::of(b"\r\n\r\n"), None);
        assert_eq!(Protocol::of(b"LOGIN / CHAT/1.0"), None);
    }
}
