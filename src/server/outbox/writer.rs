//! Taking items off a queue and writing them: the flusher's writes that
//! never block, and the writer thread that takes over when they would.

use std::io::{self, IoSlice};
use std::sync::{Arc, PoisonError};
use std::thread;
use std::time::Duration;

use super::{charge, Closed, Item, Outbox, Queue, Writer};
use crate::server::socket::Socket;

/// Most bytes a flusher copies into one write.
const MAX_FLUSH_BYTES: usize = 64 * 1024;
/// Writes a flusher makes before it hands a queue that others keep filling
/// to the writer thread and gets back to its own client.
const MAX_FLUSH_WRITES: usize = 4;
/// Most a writer thread takes off the queue for one batch: a reader far
/// behind is then seen to make progress every quarter megabyte, which
/// senders waiting for it go by (see `Outbox::wait_while_behind`).
const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Stack of a writer thread: it only moves bytes.
const WRITER_STACK: usize = 64 * 1024;
/// How long a writer thread that has caught up waits for more before it
/// ends: a client that was slow once is often slow again soon.
const WRITER_LINGER: Duration = Duration::from_millis(500);

impl Outbox {
    /// Writes what is queued without blocking, as the queue's flusher.
    /// What the socket does not take at once (or a file) goes to a writer
    /// thread, which keeps the order.
    pub(super) fn flush(&self) {
        for _ in 0..MAX_FLUSH_WRITES {
            let mut q = self.lock();
            if q.is_dead() || q.items.is_empty() {
                return self.release(q);
            }
            let Some((out, cost)) = take_frames(&mut q) else {
                // A file is next: only the writer thread sends files.
                q.writer = Writer::Thread;
                drop(q);
                return self.start_writer();
            };
            drop(q);
            let out = out.as_bytes();
            match self.shared.socket.send_now(out) {
                Ok(n) if n == out.len() => self.written(&mut self.lock(), cost),
                Ok(n) => return self.hand_over(&out[n..], cost),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return self.hand_over(out, cost)
                }
                Err(_) => {
                    self.written(&mut self.lock(), cost);
                    return self.give_up(Closed::Broken);
                }
            }
        }
        let mut q = self.lock();
        if q.is_dead() || q.items.is_empty() {
            return self.release(q);
        }
        q.writer = Writer::Thread;
        drop(q);
        self.start_writer();
    }

    /// Puts back what the socket did not take of what was taken off the
    /// queue (`cost`), at the front, and lets the writer thread write it
    /// (blocking) and the rest. In one step: between giving back what was
    /// taken and queueing what is left, the queue would look emptied, and
    /// a sender waiting for it (see `wait_while_behind`) would go on.
    fn hand_over(&self, rest: &[u8], cost: usize) {
        let mut q = self.lock();
        if q.is_dead() {
            self.written(&mut q, cost);
            return self.release(q);
        }
        q.bytes += charge(rest.len());
        q.items.push_front(Item::frame(rest.into()));
        self.written(&mut q, cost);
        q.writer = Writer::Thread;
        drop(q);
        self.start_writer();
    }

    /// Starts the writer thread; the caller has made it the queue's writer.
    pub(super) fn start_writer(&self) {
        let outbox = self.clone();
        let started = thread::Builder::new()
            .name(self.shared.writer_name.clone())
            .stack_size(WRITER_STACK)
            .spawn(move || outbox.run_writer());
        if started.is_err() {
            self.give_up(Closed::NoWriter);
        }
    }

    /// The writer's end when it cannot go on: the queue dies, and nobody writes it.
    fn give_up(&self, why: Closed) {
        let mut q = self.lock();
        q.writer = Writer::Idle;
        self.shared.kill(q, why);
    }

    /// The writer thread: writes everything queued, each batch in one
    /// blocking write where it can, until it has caught up and nothing
    /// more comes for a while, or the queue is finished or dies.
    fn run_writer(&self) {
        let mut batch = Vec::new();
        while let Some(cost) = self.next_batch(&mut batch) {
            let result = self.write_batch(&mut batch);
            batch.clear();
            self.written(&mut self.lock(), cost);
            if result.is_err() {
                return self.give_up(Closed::Broken);
            }
        }
    }

    /// Waits for the next batch and says what it holds; `None` when the
    /// writer thread should end, having given the queue back.
    fn next_batch(&self, batch: &mut Vec<Item>) -> Option<usize> {
        let mut q = self.lock();
        loop {
            if q.is_dead() || (q.items.is_empty() && q.closed.is_some()) {
                self.release(q);
                return None;
            }
            if !q.items.is_empty() {
                let mut cost = 0;
                while cost < MAX_BATCH_BYTES {
                    let Some(item) = q.items.pop_front() else {
                        break;
                    };
                    cost += item.charge();
                    batch.push(item);
                }
                q.bytes -= cost;
                q.in_flight += cost;
                return Some(cost);
            }
            let (guard, waited) = self
                .shared
                .ready
                .wait_timeout(q, WRITER_LINGER)
                .unwrap_or_else(PoisonError::into_inner);
            q = guard;
            if waited.timed_out() && q.items.is_empty() {
                self.release(q);
                return None;
            }
        }
    }

    /// Writes one batch in order: runs of frames with vectored writes
    /// (no copying: a backlog of megabytes goes out as it is queued), a
    /// file as its head, then its body straight from the disk.
    fn write_batch(&self, batch: &mut Vec<Item>) -> io::Result<()> {
        let socket = &self.shared.socket;
        let mut frames: Vec<Arc<[u8]>> = Vec::with_capacity(batch.len());
        for item in batch.drain(..) {
            match item {
                Item::Frame(frame, _) => frames.push(frame),
                Item::File(body) => {
                    let body = *body;
                    frames.push(body.head.into());
                    let result = send_frames(&**socket, &frames)
                        .and_then(|()| socket.send_file(body.file, body.len));
                    frames.clear();
                    self.file_sent();
                    (body.done)(&result);
                    result?;
                }
            }
        }
        send_frames(&**socket, &frames)
    }
}

/// Writes `frames` in order, blocking, as few system calls as the kernel allows.
fn send_frames(socket: &dyn Socket, frames: &[Arc<[u8]>]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = frames.iter().map(|f| IoSlice::new(f)).collect();
    socket.send_all_vectored(&mut slices)
}

/// Bytes taken off a queue for one write.
enum Taken {
    /// A single frame goes out as it is, shared with its other recipients.
    One(Arc<[u8]>),
    /// Several, copied together.
    Many(Vec<u8>),
}

impl Taken {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Taken::One(frame) => frame,
            Taken::Many(buf) => buf,
        }
    }
}

/// Takes the frames at the front of the queue, up to the first file and
/// about `MAX_FLUSH_BYTES`, for one write, with what they hold (now in
/// flight); `None` when a file is first.
fn take_frames(q: &mut Queue) -> Option<(Taken, usize)> {
    let (mut count, mut len) = (0, 0);
    for item in &q.items {
        match item {
            Item::Frame(frame, _) if len < MAX_FLUSH_BYTES => {
                len += frame.len();
                count += 1;
            }
            _ => break,
        }
    }
    let mut cost = 0;
    let out = match count {
        0 => return None,
        1 => match q.items.pop_front() {
            Some(Item::Frame(frame, charged)) => {
                cost = charged as usize;
                Taken::One(frame)
            }
            _ => return None,
        },
        _ => {
            let mut buf = Vec::with_capacity(len);
            for item in q.items.drain(..count) {
                if let Item::Frame(frame, charged) = item {
                    cost += charged as usize;
                    buf.extend_from_slice(&frame);
                }
            }
            Taken::Many(buf)
        }
    };
    q.bytes -= cost;
    q.in_flight += cost;
    Some((out, cost))
}
