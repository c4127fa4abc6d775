//! Matching replies to requests. The server answers requests in the order
//! they were sent, so each request queues what its reply means
//! ([`Awaited`]) before it goes out, and the reader thread takes one per
//! reply: that is how it knows a reply's body is a file, or that a `200`
//! confirms a message we said.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::command::{FileRequest, Request};

use super::connection::Writer;
use super::transfer::Sending;

/// What the reply to one sent request means.
pub enum Awaited {
    /// An ordinary reply with a text body, shown as it is.
    Reply,
    /// The answer to our chat message: a `200` shows it back with its time.
    Said { text: String },
    /// The answer to our whisper: a `200` confirms it.
    Whispered { to: String, text: String },
    /// The answer to an upload of the file described.
    Upload(Arc<Sending>),
    /// A reply whose body, if it is a 200, is file `id`.
    Download { id: u64 },
    /// A reply the client asked for itself (to learn who is online), not shown.
    Quiet,
}

impl Awaited {
    fn is_file(&self) -> bool {
        matches!(self, Awaited::Upload(_) | Awaited::Download { .. })
    }
}

/// The write half of the connection with its queue of awaited replies.
/// Clones share both (the input thread sends, the reader thread pops).
#[derive(Clone)]
pub struct Link {
    writer: Writer,
    awaited: Arc<Mutex<VecDeque<Awaited>>>,
    /// Uploads and downloads sent whose reply has not been dealt with yet.
    files_in_flight: Arc<AtomicUsize>,
}

impl Link {
    pub fn new(writer: Writer) -> Link {
        Link {
            writer,
            awaited: Arc::new(Mutex::new(VecDeque::new())),
            files_in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Sends a request whose reply is shown as it is (a download's is saved).
    ///
    /// # Errors
    /// The connection failed.
    pub fn send(&self, request: impl Into<Request>) -> io::Result<()> {
        let request = request.into();
        let awaited = match request {
            Request::File(FileRequest::Download { id }) => Awaited::Download { id },
            _ => Awaited::Reply,
        };
        self.send_awaiting(request, awaited)
    }

    /// Sends a request whose reply means `awaited`.
    ///
    /// # Errors
    /// The connection failed.
    pub fn send_awaiting(&self, request: impl Into<Request>, awaited: Awaited) -> io::Result<()> {
        // Queued before sending, so the reply cannot arrive first.
        self.await_reply(awaited);
        self.writer.send(&request.into().into_frame())
    }

    /// Queues what the next reply means, for a request sent by other means
    /// (an upload's streamed head).
    pub fn await_reply(&self, awaited: Awaited) {
        if awaited.is_file() {
            self.files_in_flight.fetch_add(1, Ordering::AcqRel);
        }
        self.lock().push_back(awaited);
    }

    /// What the reply now arriving means. A reply nobody is waiting for
    /// (there should be none) is treated as an ordinary one. Once a file
    /// reply has been dealt with, the caller calls `settle`.
    pub fn next_reply(&self) -> Awaited {
        self.lock().pop_front().unwrap_or(Awaited::Reply)
    }

    /// Marks the reply to an upload or download as dealt with.
    pub fn settle(&self) {
        let _ = self
            .files_in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// True while an upload or download is still waiting for, or receiving,
    /// its reply: leaving now would lose it.
    pub fn is_busy(&self) -> bool {
        self.files_in_flight.load(Ordering::Acquire) > 0
    }

    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Awaited>> {
        // Pushes and pops cannot panic half-way; a poisoned queue is intact.
        self.awaited.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_awaited_in_the_order_requests_were_sent() {
        let (_listener, writer) = super::super::connection::tests::loopback_writer();
        let link = Link::new(writer);
        link.await_reply(Awaited::Download { id: 4 });
        link.await_reply(Awaited::Reply);
        assert!(link.is_busy());
        assert!(matches!(link.next_reply(), Awaited::Download { id: 4 }));
        link.settle();
        assert!(!link.is_busy());
        assert!(matches!(link.next_reply(), Awaited::Reply));
        assert!(matches!(link.next_reply(), Awaited::Reply), "empty");
    }
}
