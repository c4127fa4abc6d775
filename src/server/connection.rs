//! The reading side of one client's socket: an input buffer a door decodes
//! whole messages from, and the reads that fill it, waiting (with a
//! timeout) or not at all. It only reads: what a session owes to others is
//! paid by the session loop, never from here.

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use super::socket;

/// The input buffer's first size: a login's requests fit, and a message
/// longer than this grows it, up to the door's cap. Small, because the
/// buffer a session gives back when it goes quiet leaves a hole in the
/// shared heap among blocks that stay, which nothing reuses and no trim
/// returns (smaller than a page): 2 KiB cost 1.7 KiB per idle client.
const FIRST_BUFFER_BYTES: usize = 512;
/// How far a busy client's buffer grows: a read that fills the buffer
/// means more is waiting, and taking more per read gives the messages'
/// recipients larger batches (one write each per batch).
const BUSY_BUFFER_BYTES: usize = 16 * 1024;

/// One client socket's input: the socket (shared with its outbox) and
/// what has been read from it but not yet consumed.
pub struct Conn {
    stream: Arc<TcpStream>,
    buf: Vec<u8>,
    /// `buf[start..end]` is unconsumed input.
    start: usize,
    end: usize,
    /// The socket's read timeout, cached so it is set only when it changes.
    timeout: Option<Duration>,
    /// The last read filled the buffer: the next gets a larger one.
    busy: bool,
}

impl Conn {
    pub fn new(stream: Arc<TcpStream>) -> Conn {
        Conn {
            stream,
            buf: Vec::new(),
            start: 0,
            end: 0,
            timeout: None,
            busy: false,
        }
    }

    /// The socket itself.
    pub fn stream(&self) -> &Arc<TcpStream> {
        &self.stream
    }

    /// What has been read and not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// True when the last read filled the room it had, so more input may be
    /// waiting in the socket.
    pub fn more_waiting(&self) -> bool {
        self.busy
    }

    /// Drops the first `n` buffered bytes: a message was taken.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Waits up to `timeout` for more input and appends it; at most
    /// `max_buffered` bytes are ever held. `Ok(0)` is the end of the stream
    /// (or a full buffer, which the caller's decoder refuses first).
    ///
    /// # Errors
    /// `WouldBlock`/`TimedOut` when nothing came in time, or the read error.
    pub fn fill(&mut self, timeout: Duration, max_buffered: usize) -> io::Result<usize> {
        self.set_timeout(timeout.max(Duration::from_millis(1)));
        let Some(room) = make_room(
            &mut self.buf,
            &mut self.start,
            &mut self.end,
            max_buffered,
            self.busy,
        ) else {
            return Ok(0);
        };
        let n = retry_interrupted(|| (&*self.stream).read(&mut *room))?;
        self.busy = n == room.len();
        self.end += n;
        Ok(n)
    }

    /// Appends what has arrived, without waiting: `Err(WouldBlock)` when
    /// nothing has.
    ///
    /// # Errors
    /// `WouldBlock`, or the read error.
    pub fn fill_now(&mut self, max_buffered: usize) -> io::Result<usize> {
        let Some(room) = make_room(
            &mut self.buf,
            &mut self.start,
            &mut self.end,
            max_buffered,
            self.busy,
        ) else {
            return Ok(0);
        };
        let n = socket::recv_now(&self.stream, room)?;
        self.busy = n == room.len();
        self.end += n;
        Ok(n)
    }

    /// Waits up to `timeout` for input to arrive, holding no buffer while
    /// it waits: `Ok(true)` when some has (or the stream ended), `Ok(false)`
    /// when the time ran out. For an idle connection, whose buffer is given
    /// back first (see `release`).
    ///
    /// # Errors
    /// The read error.
    pub fn wait_readable(&mut self, timeout: Duration) -> io::Result<bool> {
        self.set_timeout(timeout.max(Duration::from_millis(1)));
        let mut probe = [0u8; 1];
        match retry_interrupted(|| self.stream.peek(&mut probe)) {
            Ok(_) => Ok(true),
            Err(e) if crate::protocol::is_timeout(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives the input buffer back when it holds nothing: an idle client
    /// then costs no buffer (std zero-fills a buffer it reads into, so all
    /// of it is resident), and the next read allocates a fresh one.
    pub fn release(&mut self) {
        if self.start == self.end {
            self.buf = Vec::new();
            (self.start, self.end) = (0, 0);
            self.busy = false;
        }
    }

    /// Sets how long one read from the socket may wait (for uploads, which
    /// read through `Read`).
    pub fn set_timeout(&mut self, timeout: Duration) {
        if self.timeout != Some(timeout) {
            let _ = self.stream.set_read_timeout(Some(timeout));
            self.timeout = Some(timeout);
        }
    }
}

/// Repeats a read the kernel interrupted. A socket read with a timeout
/// (`SO_RCVTIMEO`) is not restarted after a signal or a stop: a server
/// stopped and continued (`kill -STOP`/`-CONT`, a debugger attaching) got
/// `EINTR` in every waiting session, which ended them all as read errors.
fn retry_interrupted(mut read: impl FnMut() -> io::Result<usize>) -> io::Result<usize> {
    loop {
        match read() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            done => return done,
        }
    }
}

/// Free space after the buffered bytes `buf[start..end]`: moved to the
/// front, grown (doubling) up to `max_buffered`, and for a `busy` client
/// (its last read filled the buffer) up to `BUSY_BUFFER_BYTES` anyway.
/// `None` when it is full. (A function of the fields, so the socket can be
/// read while it is borrowed.)
fn make_room<'b>(
    buf: &'b mut Vec<u8>,
    start: &mut usize,
    end: &mut usize,
    max_buffered: usize,
    busy: bool,
) -> Option<&'b mut [u8]> {
    if *end == buf.len() && *start > 0 {
        buf.copy_within(*start..*end, 0);
        *end -= *start;
        *start = 0;
    }
    let wants_more = busy && buf.len() < BUSY_BUFFER_BYTES.min(max_buffered);
    if *end == buf.len() || wants_more {
        let grown = (buf.len() * 2).max(FIRST_BUFFER_BYTES).min(max_buffered);
        if grown <= buf.len() {
            return None;
        }
        buf.resize(grown, 0);
    }
    Some(&mut buf[*end..])
}

/// Reads buffered input first, then the socket (with the timeout last
/// set): how a streamed body (an upload) is taken.
impl Read for Conn {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buffered = self.buffered();
        if !buffered.is_empty() {
            let n = buffered.len().min(out.len());
            out[..n].copy_from_slice(&buffered[..n]);
            self.consume(n);
            return Ok(n);
        }
        (&*self.stream).read(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    fn pair() -> (Conn, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (ours, _) = listener.accept().unwrap();
        (Conn::new(Arc::new(ours)), peer)
    }

    #[test]
    fn input_accumulates_until_consumed_and_never_past_the_cap() {
        let (mut conn, mut peer) = pair();
        assert_eq!(
            conn.fill_now(100).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        peer.write_all(b"hello ").unwrap();
        conn.fill(Duration::from_secs(5), 100).unwrap();
        peer.write_all(b"world").unwrap();
        while conn.buffered().len() < 11 {
            conn.fill(Duration::from_secs(5), 100).unwrap();
        }
        assert_eq!(conn.buffered(), b"hello world");
        conn.consume(6);
        assert_eq!(conn.buffered(), b"world");
        peer.write_all(&[b'x'; 5000]).unwrap();
        let mut total = conn.buffered().len();
        while total < 4096 {
            let n = conn.fill(Duration::from_secs(5), 4096).unwrap();
            assert!(n > 0);
            total += n;
        }
        assert_eq!(conn.buffered().len(), 4096, "held no more than the cap");
        assert_eq!(conn.fill(Duration::from_secs(5), 4096).unwrap(), 0);
    }

    #[test]
    fn a_silent_peer_times_out_and_a_closed_one_is_the_end() {
        let (mut conn, peer) = pair();
        let err = conn.fill(Duration::from_millis(20), 100).unwrap_err();
        assert!(crate::protocol::is_timeout(&err), "{err:?}");
        drop(peer);
        assert_eq!(conn.fill(Duration::from_secs(5), 100).unwrap(), 0);
    }

    #[test]
    fn an_idle_connection_holds_no_buffer_and_wakes_for_input() {
        let (mut conn, mut peer) = pair();
        peer.write_all(b"x").unwrap();
        conn.fill(Duration::from_secs(5), 100).unwrap();
        conn.release();
        assert_eq!(conn.buffered(), b"x", "a buffer with input is kept");
        conn.consume(1);
        conn.release();
        assert_eq!(conn.buf.capacity(), 0);
        assert!(!conn.wait_readable(Duration::from_millis(20)).unwrap());
        peer.write_all(b"yz").unwrap();
        assert!(conn.wait_readable(Duration::from_secs(5)).unwrap());
        assert_eq!(conn.buf.capacity(), 0, "waiting took no buffer");
        while conn.buffered().len() < 2 {
            conn.fill(Duration::from_secs(5), 100).unwrap();
        }
        assert_eq!(conn.buffered(), b"yz");
    }

    #[test]
    fn reading_a_body_takes_the_buffer_first() {
        let (mut conn, mut peer) = pair();
        peer.write_all(b"head|body").unwrap();
        while conn.buffered().len() < 9 {
            conn.fill(Duration::from_secs(5), 100).unwrap();
        }
        conn.consume(5);
        peer.write_all(b"+more").unwrap();
        let mut body = [0u8; 9];
        conn.read_exact(&mut body).unwrap();
        assert_eq!(&body, b"body+more");
    }
}
