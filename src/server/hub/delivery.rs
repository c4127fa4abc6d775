//! What the hub hands to connections, and what a caller owes once the hub
//! is done: the write path's half of the hub.
//!
//! The hub speaks no protocol. It emits [`Delivery`] values; each
//! connection has a [`Codec`] that turns them into its door's bytes. A
//! fan-out encodes a delivery at most once per format present among its
//! recipients ([`Encoded`]), and every recipient of one format shares the
//! same `Arc<[u8]>`.
//!
//! Enqueueing never writes to a socket. It makes the caller responsible
//! for flushing some queues, and those duties pile up in the caller's
//! [`Owed`], which it pays when it is about to wait (a session, once its
//! input is drained): no socket is written under the hub's lock, and each
//! recipient gets one write per batch of messages.

use std::sync::Arc;

use crate::event::{Event, Parting};
use crate::server::history::Record;
use crate::server::outbox::{Duty, Outbox, Queued};

/// Something the hub tells a connection, before any door words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// An event every member of a room (or one person) gets alike.
    Event(Event),
    /// To `nick`, who just entered `room`: the room's recent messages,
    /// oldest first, and how many are there now (the newcomer included).
    /// `unread_from`: the read marker of a returning user, whose history is
    /// then what they missed; the messages after it are new to them.
    Entered {
        room: String,
        nick: String,
        members: usize,
        history: Vec<Record>,
        unread_from: Option<u64>,
    },
    /// To a connection taken out of `room` by someone else.
    Removed { room: String, why: Removal },
    /// To someone `by` invited into `room` (let into a private room, or
    /// told of a public one): each door words it its own way (IRC: an
    /// `INVITE` line, which clients show and may offer to join).
    Invited { room: String, by: String },
}

/// Why someone is no longer in a room they did not leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// Its owner (or, with `by_operator`, the server operator) closed it.
    Closed { by_operator: bool },
    /// Its owner banned them.
    Banned,
    /// Its owner took them off a private room's whitelist.
    Unpermitted,
    /// Its owner sent them out (they may come back), saying why.
    Kicked { by: String, reason: String },
}

impl Removal {
    /// How the rest of the room hears of it.
    pub fn parting(&self) -> Parting {
        match self {
            Removal::Kicked { by, reason } => Parting::Kicked {
                by: by.clone(),
                reason: reason.clone(),
            },
            Removal::Closed { .. } => Parting::Left("the room was closed".into()),
            Removal::Banned => Parting::Removed("banned by the room's owner".into()),
            Removal::Unpermitted => {
                Parting::Removed("no longer permitted into this private room".into())
            }
        }
    }
}

/// How one connection's door turns deliveries into bytes.
pub trait Codec: Send + Sync {
    /// Connections whose codecs have the same format get byte-identical
    /// encodings of every delivery; below [`MAX_FORMATS`].
    fn format(&self) -> usize;
    /// The bytes this connection is sent for `delivery`.
    fn encode(&self, delivery: &Delivery) -> Vec<u8>;
}

/// Formats a fan-out tells apart (each door and its variants).
pub const MAX_FORMATS: usize = 16;

/// One delivery, encoded lazily once per format and shared by reference.
pub struct Encoded<'a> {
    delivery: &'a Delivery,
    bytes: [Option<Arc<[u8]>>; MAX_FORMATS],
}

impl<'a> Encoded<'a> {
    pub fn new(delivery: &'a Delivery) -> Encoded<'a> {
        Encoded {
            delivery,
            bytes: Default::default(),
        }
    }

    /// The bytes for `codec`'s format, encoding them on first use.
    pub fn for_codec(&mut self, codec: &dyn Codec) -> Arc<[u8]> {
        let delivery = self.delivery;
        let slot = &mut self.bytes[codec.format() % MAX_FORMATS];
        Arc::clone(slot.get_or_insert_with(|| codec.encode(delivery).into()))
    }

    /// Appends the bytes for `codec`'s format to `out`: those already
    /// encoded, or encoded now and not kept (nobody will want them alone).
    fn encode_into(&self, codec: &dyn Codec, out: &mut Vec<u8>) {
        match &self.bytes[codec.format() % MAX_FORMATS] {
            Some(bytes) => out.extend_from_slice(bytes),
            None => out.extend_from_slice(&codec.encode(self.delivery)),
        }
    }
}

/// Deliveries in order, each encoded at most once per format. A recipient
/// that gets them all is given one buffer for the lot ([`Run::all`]), so
/// a burst costs it one queued frame (one reference taken and dropped, one
/// queue item, one slice to write) rather than one per message: in a
/// flood's profile those per-message steps were a quarter of the server's
/// time, each frame's count moving between the sender's core and the
/// writers'. A recipient that gets only some of them (a sender whose door
/// does not echo) is given them one by one ([`Run::one`]); ask for those
/// first, and the lot reuses their bytes rather than encoding them again.
pub struct Run<'a> {
    each: Vec<Encoded<'a>>,
    all: [Option<Arc<[u8]>>; MAX_FORMATS],
}

impl<'a> Run<'a> {
    pub fn new(deliveries: impl IntoIterator<Item = &'a Delivery>) -> Run<'a> {
        Run {
            each: deliveries.into_iter().map(Encoded::new).collect(),
            all: Default::default(),
        }
    }

    /// Every delivery, in order, as one buffer in `codec`'s format, made
    /// once for all recipients of that format (a single delivery is not
    /// copied).
    pub fn all(&mut self, codec: &dyn Codec) -> Arc<[u8]> {
        if let [one] = &mut self.each[..] {
            return one.for_codec(codec);
        }
        let each = &self.each;
        let slot = &mut self.all[codec.format() % MAX_FORMATS];
        Arc::clone(slot.get_or_insert_with(|| {
            let mut all = Vec::new();
            for encoded in each {
                encoded.encode_into(codec, &mut all);
            }
            all.into()
        }))
    }

    /// Delivery `i` alone, in `codec`'s format.
    pub fn one(&mut self, i: usize, codec: &dyn Codec) -> Arc<[u8]> {
        self.each[i].for_codec(codec)
    }

    /// How many deliveries the run holds.
    pub fn len(&self) -> usize {
        self.each.len()
    }

    /// True for a run of no deliveries (nothing to send anybody).
    pub fn is_empty(&self) -> bool {
        self.each.is_empty()
    }
}

/// Flushes a thread has made itself responsible for by enqueueing frames,
/// not yet carried out. Paying them writes to sockets (without blocking),
/// so it happens once no lock is held and before the owner next waits;
/// what is still owed when it is dropped is paid then (on unwinding too,
/// so a panic cannot strand anybody's messages).
#[derive(Default)]
pub struct Owed {
    duties: Vec<(Outbox, Duty)>,
    /// A queue whose frame took all queues over their budget: paying
    /// includes cutting off the largest (see `outbox::Budget`).
    over_budget: Option<Outbox>,
    /// Queues found a quarter full while their clients still read:
    /// a session waits for them before it reads on (see `wait_for_laggards`).
    laggards: Vec<Outbox>,
}

impl Owed {
    pub fn new() -> Owed {
        Owed::default()
    }

    /// Enqueues `frame` on `outbox`, remembering any flush that it makes ours.
    /// Returns `false` if the queue is closed (or just overflowed).
    pub fn push(&mut self, outbox: &Outbox, frame: Arc<[u8]>) -> bool {
        let queued = outbox.enqueue_frame(frame);
        self.took_on(outbox, queued)
    }

    /// Enqueues `frames` on `outbox` in order, as one step (see
    /// `Outbox::enqueue_frames`). Returns `false` if the queue is closed.
    pub fn push_all(
        &mut self,
        outbox: &Outbox,
        frames: impl IntoIterator<Item = Arc<[u8]>>,
    ) -> bool {
        let queued = outbox.enqueue_frames(frames);
        self.took_on(outbox, queued)
    }

    /// Remembers what queueing on `outbox` made ours.
    fn took_on(&mut self, outbox: &Outbox, queued: Option<Queued>) -> bool {
        let Some(Queued {
            duty,
            over_budget,
            behind,
        }) = queued
        else {
            return false;
        };
        if over_budget && self.over_budget.is_none() {
            self.over_budget = Some(outbox.clone());
        }
        if behind && !self.laggards.iter().any(|l| l.same_queue(outbox)) {
            self.laggards.push(outbox.clone());
        }
        if duty != Duty::None {
            self.duties.push((outbox.clone(), duty));
        }
        true
    }

    /// Enqueues a frame built for one connection alone.
    pub fn push_bytes(&mut self, outbox: &Outbox, frame: Vec<u8>) -> bool {
        self.push(outbox, frame.into())
    }

    /// True when a recipient is behind: the session should wait for it
    /// before it reads any more input.
    pub fn has_laggards(&self) -> bool {
        !self.laggards.is_empty()
    }

    /// True when nothing is owed.
    pub fn is_empty(&self) -> bool {
        self.duties.is_empty() && self.over_budget.is_none() && self.laggards.is_empty()
    }

    /// Gives back the list's memory (once paid): for a session going idle.
    pub fn release(&mut self) {
        self.pay();
        self.duties = Vec::new();
        self.laggards = Vec::new();
    }

    /// Back-pressure, for a session about to read more of its client's
    /// input: pays what is owed, then waits while any recipient it queued
    /// for is a quarter full and still reading, so a fast sender
    /// slows to its slowest reader's pace instead of pushing that reader
    /// over its bound. `own` (the session's own queue) is never waited
    /// for: a client that writes without reading would wait on itself.
    pub fn wait_for_laggards(&mut self, own: &Outbox) {
        self.pay();
        for laggard in self.laggards.drain(..) {
            if !laggard.same_queue(own) {
                laggard.wait_while_behind();
            }
        }
    }

    /// Carries out every flush owed, in the order they were taken on.
    pub fn pay(&mut self) {
        if let Some(outbox) = self.over_budget.take() {
            outbox.shed_over_budget();
        }
        for (outbox, duty) in self.duties.drain(..) {
            outbox.pay(duty);
        }
        // A huge room's fan-out may have grown the list; don't keep that.
        if self.duties.capacity() > 4096 {
            self.duties = Vec::new();
        }
    }
}

impl Drop for Owed {
    fn drop(&mut self) {
        self.pay();
    }
}
