//! Matching replies to requests. The server answers requests in the order
//! they were sent, so each request queues what its reply means
//! ([`Awaited`]) before it goes out, and the reader thread takes one per
//! reply: that is how it knows a reply's body is a file, or that a `200`
//! confirms a message we said. Queueing and writing happen under one lock
//! ([`Link`]'s `order`), so two threads sending can never put the queue in
//! a different order from the wire.

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
    /// The answer to `/history` for `room`: the history events before it
    /// are older lines, shown where older lines go.
    Older { room: String },
    /// The answer to `/search TEXT [in ROOM]`: shown, and where the next
    /// page starts is kept for `/search` alone.
    Searched { text: String, room: Option<String> },
    /// A reply the client asked for itself, not shown: the lines of a
    /// `USERS` or `ROOMS` answer, whose first words are names to complete.
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
    /// Held from queueing a reply's meaning to the end of writing its
    /// request (for an upload, to the end of the file).
    order: Arc<Mutex<()>>,
}

impl Link {
    pub fn new(writer: Writer) -> Link {
        Link {
            writer,
            awaited: Arc::new(Mutex::new(VecDeque::new())),
            files_in_flight: Arc::new(AtomicUsize::new(0)),
            order: Arc::new(Mutex::new(())),
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
        let frame = request.into().into_frame();
        self.sending(awaited, |writer| writer.send(&frame))
    }

    /// Queues `awaited`, then runs `send`, which writes the request (an
    /// upload streams its file), with no other request in between.
    ///
    /// # Errors
    /// What `send` returns.
    pub fn sending(
        &self,
        awaited: Awaited,
        send: impl FnOnce(&Writer) -> io::Result<()>,
    ) -> io::Result<()> {
        let _order = self.order.lock().unwrap_or_else(PoisonError::into_inner);
        // Queued before sending, so the reply cannot arrive first.
        self.await_reply(awaited);
        send(&self.writer)
    }

    /// Sends a request whose reply is [`Awaited::Quiet`], unless another
    /// request is being written right now (an upload may take minutes, and
    /// the reader thread, which asks this, must never wait for it).
    /// Returns whether it was sent.
    pub fn try_send_quiet(&self, request: impl Into<Request>) -> bool {
        let Ok(_order) = self.order.try_lock() else {
            return false;
        };
        self.await_reply(Awaited::Quiet);
        self.writer.send(&request.into().into_frame()).is_ok()
    }

    fn await_reply(&self, awaited: Awaited) {
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

    /// True when the next reply is the answer to `/history`: history
    /// events arriving now belong to it.
    pub fn awaits_older(&self) -> bool {
        matches!(self.lock().front(), Some(Awaited::Older { .. }))
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
