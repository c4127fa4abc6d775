//! A session's socket reader. It enforces a deadline on a whole frame, not
//! just on each `read`: a peer trickling one byte every few seconds
//! (slowloris) would never trip a per-read timeout, but it does trip this.
//! And it is where a session thread pays the deliveries it owes others
//! (see `outbox::Deferral`) before it may block.

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::outbox;
use super::socket;

/// The reading side of a client socket (shared with its writer: one
/// descriptor per client), with an optional frame deadline and the read
/// timeout cached so it is set only when it changes.
pub struct DeadlineReader {
    stream: Arc<TcpStream>,
    deadline: Option<Instant>,
    timeout: Option<Duration>,
    /// Reads taken in a row while owing deliveries.
    reads_owing: u32,
}

/// Reads a session may take without blocking while it owes deliveries:
/// with the read buffer, bounds how much input is handled before the
/// recipients get their frames (a few dozen messages).
const MAX_READS_OWING: u32 = 4;

impl DeadlineReader {
    pub fn new(stream: Arc<TcpStream>) -> DeadlineReader {
        DeadlineReader {
            stream,
            deadline: None,
            timeout: None,
            reads_owing: 0,
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

    /// Reads what has arrived if this thread owes deliveries (so a busy
    /// sender's messages reach each recipient in few, large writes); once
    /// nothing has arrived, or enough reads were taken, pays what it owes,
    /// then waits.
    fn read_or_pay_and_wait(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if outbox::owes_any() {
            if self.reads_owing < MAX_READS_OWING {
                match socket::recv_now(&self.stream, buf) {
                    Ok(n) => {
                        self.reads_owing += 1;
                        return Ok(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            outbox::flush_owed();
        }
        self.reads_owing = 0;
        (&*self.stream).read(buf)
    }
}

impl Read for DeadlineReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.read_or_pay_and_wait(buf)?;
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
