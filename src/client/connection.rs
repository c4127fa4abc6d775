//! The client's end of the TCP connection: reading frames on one thread,
//! writing them from any (the input loop sends requests, the reader answers
//! pings), with a friendly error when nobody is listening.
//!
//! Frames are read head first, so that a download's body can be streamed to
//! disk instead of into memory; an upload's body is streamed from its file
//! while the write half is held, so nothing can land in the middle of it.

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::fileshare::chunk_buffer;
use crate::protocol::{self, Frame, FrameError, Head, Limits};

use super::ClientError;

/// How long to try reaching the server before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest reply or event body the client accepts in memory (a download's
/// body goes to disk and is not bound by it).
const MAX_BODY_BYTES: usize = 1 << 20;

/// The read half, owned by whichever thread is reading.
pub struct Reader {
    inner: BufReader<TcpStream>,
    limits: Limits,
}

/// The write half; clones share one socket and one lock, so frames from
/// two threads never interleave.
#[derive(Clone)]
pub struct Writer {
    socket: Arc<Mutex<TcpStream>>,
    /// `host:port` as the user gave it, for messages.
    addr: Arc<str>,
}

/// Connects to `host:port`.
///
/// # Errors
/// `ClientError::Connect`, whose message says the server seems not to be running.
pub fn connect(host: &str, port: u16) -> Result<(Reader, Writer), ClientError> {
    let addr = format!("{host}:{port}");
    let connect_err = |source| ClientError::Connect {
        addr: addr.clone(),
        source,
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name did not resolve");
    let targets = addr.to_socket_addrs().map_err(connect_err)?;
    for target in targets {
        match TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                let write = stream.try_clone().map_err(connect_err)?;
                let reader = Reader {
                    inner: BufReader::new(stream),
                    limits: Limits {
                        max_body_bytes: MAX_BODY_BYTES,
                        ..Limits::default()
                    },
                };
                let writer = Writer {
                    socket: Arc::new(Mutex::new(write)),
                    addr: Arc::from(addr.as_str()),
                };
                return Ok((reader, writer));
            }
            Err(e) => last = e,
        }
    }
    Err(connect_err(last))
}

impl Reader {
    /// The next frame; `Ok(None)` when the server closed the connection.
    ///
    /// # Errors
    /// The server broke the protocol or the connection failed.
    pub fn read(&mut self) -> Result<Option<Frame>, FrameError> {
        match self.read_head()? {
            Some(head) => self.read_body(head).map(Some),
            None => Ok(None),
        }
    }

    /// The next frame's head; its body is still to be read, with
    /// `read_body` or, for a download, from `body`.
    /// `Ok(None)` when the server closed the connection.
    ///
    /// # Errors
    /// The server broke the protocol or the connection failed.
    pub fn read_head(&mut self) -> Result<Option<Head>, FrameError> {
        Head::read_from(&mut self.inner, &self.limits)
    }

    /// Reads the body of `head` into memory, up to the in-memory cap.
    ///
    /// # Errors
    /// A body over the cap, or a connection that fails mid-body.
    pub fn read_body(&mut self, head: Head) -> Result<Frame, FrameError> {
        let len = head.body_len(self.limits.max_body_bytes)?;
        let body = protocol::read_body(&mut self.inner, len)?;
        Ok(Frame::from_head(head, body))
    }

    /// Waits at most `timeout` for each read (`None`: forever).
    ///
    /// # Errors
    /// The socket refused the setting.
    pub fn set_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.get_ref().set_read_timeout(timeout)
    }

    /// True when the peer's first bytes are an HTTP status line: it is a
    /// web server answering our `LOGIN`, not the chat server. Waits for
    /// the first bytes (up to the read timeout) without consuming them.
    ///
    /// # Errors
    /// Reading failed or timed out.
    pub fn speaks_http(&mut self) -> io::Result<bool> {
        use std::io::BufRead;
        let buf = self.inner.fill_buf()?;
        Ok(buf.starts_with(b"HTTP/"))
    }

    /// The stream right after a head, for reading a large body piecewise.
    /// The caller must read exactly the head's `Content-Length` bytes.
    pub fn body(&mut self) -> &mut impl Read {
        &mut self.inner
    }
}

impl Writer {
    /// The server's address as the user gave it (`host:port`).
    pub fn peer(&self) -> String {
        self.addr.to_string()
    }

    /// Sends one frame.
    ///
    /// # Errors
    /// The connection failed.
    pub fn send(&self, frame: &Frame) -> io::Result<()> {
        let bytes = frame.encode();
        let mut socket = self.socket.lock().unwrap_or_else(PoisonError::into_inner);
        socket.write_all(&bytes)
    }

    /// Sends `head`, then exactly `len` bytes read from `body`, holding the
    /// connection throughout so no other frame can land inside the body.
    /// `each` sees every chunk as it goes (to hash it and show progress).
    ///
    /// # Errors
    /// The connection failed, or `body` failed or ended before `len`
    /// bytes. Either way the stream is now mid-frame: the caller must close it.
    pub fn send_streamed(
        &self,
        head: &[u8],
        body: &mut impl Read,
        len: u64,
        mut each: impl FnMut(&[u8]),
    ) -> io::Result<()> {
        let mut buf = chunk_buffer(len);
        let mut socket = self.socket.lock().unwrap_or_else(PoisonError::into_inner);
        socket.write_all(head)?;
        let mut left = len;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = match body.read(&mut buf[..want]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the file ended after {} of {len} bytes", len - left),
                    ))
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            socket.write_all(&buf[..n])?;
            each(&buf[..n]);
            left -= n as u64;
        }
        Ok(())
    }

    /// Closes both directions, which also wakes a thread blocked reading.
    pub fn close(&self) {
        let socket = self.socket.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = socket.shutdown(Shutdown::Both);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A writer on a loopback connection nobody reads; the listener keeps it open.
    pub fn loopback_writer() -> (TcpListener, Writer) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("local address").port();
        let (_reader, writer) = connect("127.0.0.1", port).expect("connect loopback");
        (listener, writer)
    }

    #[test]
    fn an_http_answer_is_recognised() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (mut reader, _writer) = connect("127.0.0.1", port).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        peer.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap();
        reader.set_timeout(Some(Duration::from_secs(5))).unwrap();
        assert!(reader.speaks_http().unwrap());
    }
}
