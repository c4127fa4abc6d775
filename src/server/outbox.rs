//! One client's bounded outbound queue and the writer thread that drains it.
//!
//! Senders only ever enqueue a shared, already-encoded frame (`Arc<[u8]>`),
//! which never blocks: a broadcast costs each recipient a pointer push. The
//! writer thread takes everything queued at once and hands it to the kernel
//! in one `write`, so a busy room costs few system calls. A client that stops
//! reading fills its queue; past the bound (frames or bytes) it is cut off
//! ("send queue exceeded", as IRC servers say) and nobody else waits for it.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// How much may wait for one client before it is disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    pub max_frames: usize,
    pub max_bytes: usize,
}

impl Default for QueueLimits {
    fn default() -> QueueLimits {
        QueueLimits {
            max_frames: 1024,
            max_bytes: 4 << 20,
        }
    }
}

/// Why a queue stopped taking frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Orderly: what is queued is still written, then the socket is closed.
    Finished,
    /// The client did not keep up; what is queued is dropped.
    Overflow { frames: usize, bytes: usize },
    /// The socket failed; nothing more can be written.
    Broken,
}

/// A cheap handle on one client's queue; clones share it.
#[derive(Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    limits: QueueLimits,
    /// Used only to shut the socket down when the queue overflows, which
    /// wakes a writer stuck in `write` and the session stuck in `read`.
    socket: Option<TcpStream>,
}

struct Queue {
    frames: VecDeque<Arc<[u8]>>,
    bytes: usize,
    closed: Option<Closed>,
}

impl Outbox {
    /// A queue for the client on `socket` (`None` in tests without a network).
    pub fn new(limits: QueueLimits, socket: Option<TcpStream>) -> Outbox {
        Outbox {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue {
                    frames: VecDeque::new(),
                    bytes: 0,
                    closed: None,
                }),
                ready: Condvar::new(),
                limits,
                socket,
            }),
        }
    }

    /// Queues a frame. Returns `false` if the queue is closed, or was just
    /// closed because this frame would have overflowed it.
    pub fn push(&self, frame: Arc<[u8]>) -> bool {
        let mut q = self.lock();
        if q.closed.is_some() {
            return false;
        }
        let limits = self.shared.limits;
        if q.frames.len() >= limits.max_frames || q.bytes + frame.len() > limits.max_bytes {
            q.closed = Some(Closed::Overflow {
                frames: q.frames.len(),
                bytes: q.bytes,
            });
            q.frames.clear();
            q.bytes = 0;
            drop(q);
            self.shared.ready.notify_one();
            if let Some(socket) = &self.shared.socket {
                let _ = socket.shutdown(Shutdown::Both);
            }
            return false;
        }
        q.bytes += frame.len();
        q.frames.push_back(frame);
        let was_idle = q.frames.len() == 1;
        drop(q);
        // The writer only sleeps on an empty queue, so only the first frame needs to wake it.
        if was_idle {
            self.shared.ready.notify_one();
        }
        true
    }

    /// Queues a frame built for this client alone.
    pub fn push_frame(&self, frame: &crate::protocol::Frame) -> bool {
        self.push(frame.encode().into())
    }

    /// Stops taking frames; the writer writes what is queued, then closes.
    pub fn finish(&self) {
        let mut q = self.lock();
        if q.closed.is_none() {
            q.closed = Some(Closed::Finished);
        }
        drop(q);
        self.shared.ready.notify_one();
    }

    /// Why the queue closed, if it did.
    pub fn closed(&self) -> Option<Closed> {
        self.lock().closed
    }

    /// Frames waiting to be written.
    pub fn len(&self) -> usize {
        self.lock().frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Blocks until there is something to write; `None` when the writer should stop.
    fn next_batch(&self, batch: &mut Vec<Arc<[u8]>>) -> Option<()> {
        let mut q = self.lock();
        loop {
            if matches!(q.closed, Some(Closed::Overflow { .. } | Closed::Broken)) {
                return None;
            }
            if !q.frames.is_empty() {
                batch.extend(q.frames.drain(..));
                q.bytes = 0;
                return Some(());
            }
            if q.closed == Some(Closed::Finished) {
                return None;
            }
            q = self
                .shared
                .ready
                .wait(q)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn mark_broken(&self) {
        let mut q = self.lock();
        if q.closed.is_none() || q.closed == Some(Closed::Finished) {
            q.closed = Some(Closed::Broken);
        }
        q.frames.clear();
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every critical section leaves the queue consistent, so a poisoned
        // lock (a panic elsewhere) is safe to keep using.
        self.shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Drains `outbox` into `socket` until the queue is finished or broken, then
/// shuts the socket's write side so the peer sees the end. Returns why it stopped.
pub fn run_writer(outbox: &Outbox, socket: &mut impl Write) -> Closed {
    let mut batch = Vec::new();
    // Allocated on the first coalesced write: an idle client costs nothing here.
    let mut buf = Vec::new();
    while outbox.next_batch(&mut batch).is_some() {
        let result = if batch.len() == 1 {
            socket.write_all(&batch[0])
        } else {
            // Coalesce: one system call for everything that piled up.
            buf.clear();
            for frame in &batch {
                buf.extend_from_slice(frame);
            }
            socket.write_all(&buf)
        };
        batch.clear();
        if buf.capacity() > 1 << 20 {
            buf = Vec::new();
        }
        if result.and_then(|()| socket.flush()).is_err() {
            outbox.mark_broken();
            break;
        }
    }
    outbox.closed().unwrap_or(Closed::Broken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    fn frame(s: &str) -> Arc<[u8]> {
        s.as_bytes().into()
    }

    #[test]
    fn writer_delivers_everything_queued_before_finish_in_order() {
        let outbox = Outbox::new(QueueLimits::default(), None);
        let writer = {
            let outbox = outbox.clone();
            thread::spawn(move || {
                let mut out = Vec::new();
                let why = run_writer(&outbox, &mut out);
                (out, why)
            })
        };
        for i in 0..100 {
            assert!(outbox.push(frame(&format!("{i},"))));
        }
        outbox.finish();
        let (out, why) = writer.join().unwrap();
        let expected: String = (0..100).map(|i| format!("{i},")).collect();
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        assert_eq!(why, Closed::Finished);
        assert!(!outbox.push(frame("late")), "closed queues refuse frames");
    }

    #[test]
    fn overflow_by_frames_closes_the_queue_without_blocking() {
        let limits = QueueLimits {
            max_frames: 3,
            max_bytes: 1 << 20,
        };
        let outbox = Outbox::new(limits, None);
        for _ in 0..3 {
            assert!(outbox.push(frame("x")));
        }
        assert!(!outbox.push(frame("x")));
        assert_eq!(
            outbox.closed(),
            Some(Closed::Overflow {
                frames: 3,
                bytes: 3
            })
        );
        assert!(outbox.is_empty(), "an overflowed queue drops what it held");
    }

    #[test]
    fn overflow_by_bytes_closes_the_queue() {
        let limits = QueueLimits {
            max_frames: 100,
            max_bytes: 10,
        };
        let outbox = Outbox::new(limits, None);
        assert!(outbox.push(frame("123456")));
        assert!(!outbox.push(frame("123456")));
        assert!(matches!(outbox.closed(), Some(Closed::Overflow { .. })));
    }

    #[test]
    fn a_failing_socket_marks_the_queue_broken() {
        struct Failing;
        impl Write for Failing {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let outbox = Outbox::new(QueueLimits::default(), None);
        outbox.push(frame("x"));
        assert_eq!(run_writer(&outbox, &mut Failing), Closed::Broken);
        assert!(!outbox.push(frame("y")));
    }
}
