//! A socket reader that enforces a deadline on a whole frame, not just on
//! each `read`: a peer trickling one byte every few seconds (slowloris)
//! would never trip a per-read timeout, but it does trip this.

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::outbox;

/// The reading side of a client socket (shared with its writer: one
/// descriptor per client), with an optional frame deadline and the read
/// timeout cached so it is set only when it changes.
pub struct DeadlineReader {
    stream: Arc<TcpStream>,
    deadline: Option<Instant>,
    timeout: Option<Duration>,
}

impl DeadlineReader {
    pub fn new(stream: Arc<TcpStream>) -> DeadlineReader {
        DeadlineReader {
            stream,
            deadline: None,
            timeout: None,
        }
    }

    /// How long one `read` may block; a system call only when it changes.
    pub fn set_timeout(&mut self, timeout: Duration) {
        if self.timeout != Some(timeout) {
            let _ = self.stream.set_read_timeout(Some(timeout));
            self.timeout = Some(timeout);
        }
    }

    /// Reads after `deadline` fail with `TimedOut`; `None` lifts it.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }
}

impl Read for DeadlineReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // The read may block: first write what this thread owes others.
        outbox::flush_owed();
        let n = (&*self.stream).read(buf)?;
        // Checked after the read: a read blocks at most the socket timeout,
        // so a frame ends within deadline + timeout, and the check costs a
        // clock read, not a system call.
        if self.deadline.is_some_and(|d| Instant::now() > d) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "frame not completed in time",
            ));
        }
        Ok(n)
    }
}
