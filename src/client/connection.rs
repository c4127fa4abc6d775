//! The client's end of the TCP connection: reading frames on one thread,
//! writing them from any (the input loop sends requests, the reader answers
//! pings), with a friendly error when nobody is listening.

use std::io::{self, BufReader, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::protocol::{Frame, FrameError, Limits};

use super::ClientError;

/// How long to try reaching the server before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest reply or event body the client accepts in memory.
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
        Frame::read_from(&mut self.inner, &self.limits)
    }
}

impl Writer {
    /// Sends one frame.
    ///
    /// # Errors
    /// The connection failed.
    pub fn send(&self, frame: &Frame) -> io::Result<()> {
        let bytes = frame.encode();
        let mut socket = self.socket.lock().unwrap_or_else(PoisonError::into_inner);
        socket.write_all(&bytes)
    }

    /// Closes both directions, which also wakes a thread blocked reading.
    pub fn close(&self) {
        let socket = self.socket.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = socket.shutdown(Shutdown::Both);
    }
}
