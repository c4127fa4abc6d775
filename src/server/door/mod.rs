//! Front doors: one module per protocol a client may speak. A door takes
//! whole messages off a connection's input, turns them into the session's
//! actions, and words the outcomes in its protocol; its codec words what
//! the hub delivers. The session loop around it is the same for every door.

pub mod chat;

use super::connection::Conn;
use super::session::{End, Session};

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
