//! A quiet client's wait, at the top of its thread's stack. A session whose
//! client has said nothing for a while gives back its read buffer and its
//! queue's spare room, and its thread waits from its shallowest frame with
//! every stack page below given back: the top page, which holds the thread's
//! control block and thread-locals, then holds every live frame too, so an
//! idle client keeps one stack page instead of two.

use std::io;
use std::time::Duration;

use crate::server::connection::Conn;
use crate::server::memory::{self, StackMark};

/// The state a session keeps across its quiet waits.
pub struct Quiet {
    /// The top of the thread's stack.
    stack: StackMark,
    /// A ping went out and is not answered yet: `serve` goes on from here
    /// after the wait.
    pub pinged: bool,
    /// How long the wait at the top may last (what was left of `serve`'s).
    left: Duration,
    /// How that wait ended, for `serve` to take as the outcome of its own:
    /// `None` when input came (`serve` reads it), a timeout or an error.
    woke: Option<io::Error>,
}

impl Quiet {
    /// `stack` is marked in the thread's first frame.
    pub fn new(stack: StackMark) -> Quiet {
        Quiet {
            stack,
            pinged: false,
            left: Duration::ZERO,
            woke: None,
        }
    }

    /// Readies the wait at the top, which may last `left`; `serve`, which
    /// calls this, then returns to `run` (`Step::Quiet`).
    pub fn begin(&mut self, left: Duration, pinged: bool) {
        self.left = left;
        self.pinged = pinged;
        memory::went_quiet();
    }

    /// The outcome of the last wait at the top, once: `serve` takes it as
    /// the outcome of the wait it would have made itself.
    pub fn woke(&mut self) -> Option<io::Error> {
        self.woke.take()
    }

    /// The wait itself, called from the thread's shallowest frames: gives
    /// back the stack below, then waits (without a read buffer) until input
    /// comes or `left` runs out. Inlined, so that its frame is the caller's.
    #[inline(always)]
    pub fn wait(&mut self, conn: &mut Conn) {
        self.stack.release_below_caller();
        self.woke = match conn.wait_readable(self.left) {
            Ok(true) => None,
            Ok(false) => Some(io::ErrorKind::TimedOut.into()),
            Err(e) => Some(e),
        };
    }
}
