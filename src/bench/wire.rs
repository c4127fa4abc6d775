//! What the protocols share on the wire: which [`Protocol`] the clients
//! speak, the [`Inbound`] messages its parser yields, the buffered reading
//! half of a socket ([`Wire`]) and writes on the shared writing half. Each
//! protocol's grammar lives in `chat`, `irc` and `ws`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use crate::protocol::Frame;

use super::chat::parse_chat;
use super::irc::parse_irc;
use super::shared::lock;
use super::sys::{quick_ack, recv_now};
use super::ws::{client_text, parse_ws, Assembly};

/// Which wire protocol the clients speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Our HTTP-style frame protocol.
    Chat,
    /// IRC (RFC 2812), for comparison with an existing server.
    Irc,
    /// The browser's: chat frames in WebSocket text messages at `/ws`.
    Ws,
}

impl Protocol {
    /// The name used on the command line and in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Protocol::Chat => "chat",
            Protocol::Irc => "irc",
            Protocol::Ws => "ws",
        }
    }

    /// Parses one complete message from the front of `buf`: `Ok(None)` when
    /// more bytes are needed, else the message and the bytes it took.
    pub(crate) fn parse(self, buf: &[u8]) -> Result<Parsed<'_>, String> {
        match self {
            Protocol::Chat => parse_chat(buf),
            Protocol::Irc => Ok(parse_irc(buf)),
            Protocol::Ws => parse_ws(buf),
        }
    }

    /// The bytes that carry the chat frame `frame` (chat and ws only).
    pub(crate) fn wrap(self, frame: Vec<u8>) -> Vec<u8> {
        match self {
            Protocol::Chat | Protocol::Irc => frame,
            Protocol::Ws => client_text(&frame),
        }
    }

    /// The bytes of one chat message into `room`.
    pub(crate) fn say(self, room: &str, body: &str) -> Vec<u8> {
        match self {
            Protocol::Chat | Protocol::Ws => {
                self.wrap(Frame::request("SAY", "/").with_text(body).encode())
            }
            Protocol::Irc => format!("PRIVMSG {room} :{body}\r\n").into_bytes(),
        }
    }

    /// The bytes that say goodbye.
    pub(crate) fn quit(self) -> Vec<u8> {
        match self {
            Protocol::Chat | Protocol::Ws => self.wrap(Frame::request("QUIT", "/").encode()),
            Protocol::Irc => b"QUIT :bench done\r\n".to_vec(),
        }
    }
}

/// One message from the server, as far as the bench cares. It borrows from
/// the read buffer: the hot path allocates nothing.
#[derive(Debug, PartialEq)]
pub(crate) enum Inbound<'a> {
    /// A chat message to this client (`history`: replayed, not live).
    Delivery {
        room: &'a str,
        history: bool,
        body: &'a [u8],
    },
    /// A status reply (chat) or a numeric reply (IRC), with its text.
    Reply { code: u16, text: String },
    /// Chat: `nick` entered `room`.
    Joined { room: &'a str, nick: &'a str },
    /// A keep-alive; these bytes answer it.
    Ping(Vec<u8>),
    /// The server says it is closing the connection (chat `BYE`, IRC `ERROR`).
    Closing(String),
    /// Events the bench ignores.
    Other,
}

/// A parsed message and the bytes it took, or `None` when incomplete.
pub(crate) type Parsed<'a> = Option<(Inbound<'a>, usize)>;

/// Bytes asked for by one read.
const READ_CHUNK: usize = 16 * 1024;

/// Bytes a server line or frame may pile up without completing: beyond this
/// the peer is not speaking the protocol we expect.
const MAX_PENDING_BYTES: usize = 256 * 1024;

/// The reading half of a connection. It buffers bytes itself and parses only
/// complete messages, so a read timeout in the middle of a frame loses nothing.
pub(crate) struct Wire {
    /// Shared with the writing side: one descriptor per connection, so ten
    /// thousand clients fit in a 20,000 descriptor limit.
    stream: Arc<TcpStream>,
    /// Zeroed once; bytes `start..end` are read but not parsed yet.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Re-arm `TCP_QUICKACK` after every read that brought data.
    quick_ack: bool,
    /// Once the connection speaks WebSocket: a fragmented message being
    /// put together, its fragments taken off the buffer as they arrive.
    assembly: Option<Assembly>,
}

/// What one read brought.
pub(crate) enum Fill {
    Data,
    /// Nothing yet: the read timed out, or would have had to wait.
    Nothing,
    Eof,
}

impl Wire {
    pub(crate) fn new(stream: Arc<TcpStream>, quick_ack: bool) -> Wire {
        Wire {
            stream,
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            quick_ack,
            assembly: None,
        }
    }

    /// From now on the bytes are WebSocket frames (after the upgrade).
    pub(crate) fn start_websocket(&mut self) {
        self.assembly = Some(Assembly::default());
        self.gather();
    }

    /// The next complete message and the bytes it took (to [`Wire::consume`]
    /// once handled), or `None` until more bytes arrive.
    pub(crate) fn parse(&self, protocol: Protocol) -> Result<Parsed<'_>, String> {
        if let Some(done) = self.assembly.as_ref().and_then(Assembly::message) {
            return done;
        }
        protocol.parse(self.pending())
    }

    /// The socket this reads from.
    pub(crate) fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// The bytes not parsed yet.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks the message [`Wire::parse`] returned, which took `n` pending
    /// bytes, as handled.
    pub(crate) fn consume(&mut self, n: usize) {
        if !self.assembly.as_mut().is_some_and(Assembly::finish) {
            self.advance(n);
        }
        self.gather();
    }

    /// WebSocket: moves the fragments at the front into the assembly.
    fn gather(&mut self) {
        if let Some(assembly) = &mut self.assembly {
            let n = assembly.gather(&self.buf[self.start..self.end]);
            self.advance(n);
        }
    }

    /// Drops `n` pending bytes.
    fn advance(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads once, waiting at most the socket's read timeout (logins).
    pub(crate) fn fill(&mut self) -> io::Result<Fill> {
        self.make_room()?;
        let read = (&*self.stream).read(&mut self.buf[self.end..]);
        self.filled(read)
    }

    /// Reads once what has arrived, without waiting (the reader threads,
    /// which learn from epoll when there is something).
    pub(crate) fn fill_now(&mut self) -> io::Result<Fill> {
        self.make_room()?;
        let read = recv_now(&self.stream, &mut self.buf[self.end..]);
        self.filled(read)
    }

    /// Accounts for what a read returned.
    fn filled(&mut self, read: io::Result<usize>) -> io::Result<Fill> {
        match read {
            Ok(0) => Ok(Fill::Eof),
            Ok(n) => {
                self.end += n;
                self.gather();
                if self.quick_ack {
                    quick_ack(&self.stream)?;
                }
                Ok(Fill::Data)
            }
            Err(e) if crate::protocol::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                Ok(Fill::Nothing)
            }
            Err(e) => Err(e),
        }
    }

    /// Makes at least a quarter chunk of space after `end`: moves the
    /// pending bytes to the front, or grows the buffer up to `MAX_PENDING_BYTES`.
    fn make_room(&mut self) -> io::Result<()> {
        if self.buf.len() - self.end >= READ_CHUNK / 4 {
            return Ok(());
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            return Ok(());
        }
        if self.buf.len() >= MAX_PENDING_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("more than {MAX_PENDING_BYTES} bytes without a complete message"),
            ));
        }
        self.buf.resize(self.buf.len() * 2, 0);
        Ok(())
    }
}

/// Writes `bytes` to a client's socket.
pub(crate) fn send(writer: &Mutex<Arc<TcpStream>>, bytes: &[u8]) -> io::Result<()> {
    (&**lock(writer)).write_all(bytes)
}

/// Where the first `\n` in `bytes` is, testing eight bytes at a time for
/// one (the "has a zero byte" trick on the bytes XOR `\n`). Both protocols'
/// scanners use it: finding line ends is the bench's hottest loop, since it
/// reads every byte the server sends.
pub(crate) fn find_newline(bytes: &[u8]) -> Option<usize> {
    const LF: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ LF;
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            break;
        }
        offset += 8;
    }
    bytes[offset..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| offset + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newline_search_agrees_with_a_plain_scan() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for len in 0..80 {
            for _ in 0..50 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        // Newlines among bytes the trick could mistake for one.
                        [b'a', b'\n', 0x8a, 0x0b, 0x09, 0xff][(rng % 6) as usize]
                    })
                    .collect();
                let plain = bytes.iter().position(|&b| b == b'\n');
                assert_eq!(find_newline(&bytes), plain, "{bytes:?}");
            }
        }
    }
}
