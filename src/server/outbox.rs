//! One client's bounded outbound queue and the writer thread that drains it.
//!
//! Senders only ever enqueue a shared, already-encoded frame (`Arc<[u8]>`),
//! which never blocks: a broadcast costs each recipient a pointer push. The
//! writer thread takes everything queued at once and hands it to the kernel
//! in one `write`, so a busy room costs few system calls. A client that stops
//! reading fills its queue; past the bound (frames or bytes) it is cut off
//! ("send queue exceeded", as IRC servers say) and nobody else waits for it.
//!
//! A file download is one more kind of item: the reply head and an open
//! file. The writer thread copies the file to the socket itself (with
//! `sendfile` where the OS has it), so a 64 MiB download never sits in
//! memory, all socket writes stay on this one thread, and the frames queued
//! before and after it keep their places on the wire.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

/// How much may wait for one client before it is disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    pub max_frames: usize,
    pub max_bytes: usize,
}

/// The byte bound is what protects memory (frames are shared between
/// recipients, but each is charged in full to every queue it is in); the
/// frame bound only caps bookkeeping. 8,192 frames of chat is about 1 MB,
/// in the range of IRC servers' send queues.
impl Default for QueueLimits {
    fn default() -> QueueLimits {
        QueueLimits {
            max_frames: 8192,
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

/// What became of an enqueued frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Queued; `wake` when the writer may be asleep and must be woken.
    Queued { wake: bool },
    /// The queue is closed (or just overflowed and closed).
    Refused,
}

/// A cheap handle on one client's queue; clones share it.
#[derive(Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    /// Signalled when a file has been sent or the queue closes.
    file_sent: Condvar,
    limits: QueueLimits,
    /// Used only to shut the socket down when the queue overflows, which
    /// wakes a writer stuck in `write` and the session stuck in `read`.
    socket: Option<Arc<TcpStream>>,
}

struct Queue {
    items: VecDeque<Item>,
    /// Bytes of the queued frames and file heads (file bodies are on disk).
    bytes: usize,
    /// Files queued or being sent: a session waits for a free slot before
    /// queueing another download.
    files: usize,
    closed: Option<Closed>,
}

/// One thing waiting to be written.
enum Item {
    Frame(Arc<[u8]>),
    File(FileBody),
}

/// What the writer thread runs once a file's body is sent, or failed.
pub type FileSent = Box<dyn FnOnce(&io::Result<()>) + Send>;

/// A reply whose body is a file: the writer sends `head`, then exactly `len`
/// bytes of `file`, then calls `done` with how that went.
pub struct FileBody {
    /// The encoded reply head, announcing `Content-Length: len`.
    pub head: Vec<u8>,
    pub file: File,
    pub len: u64,
    /// Runs on the writer thread once the body is handed to the kernel, or failed.
    pub done: FileSent,
}

impl Outbox {
    /// A queue for the client on `socket` (`None` in tests without a network).
    pub fn new(limits: QueueLimits, socket: Option<Arc<TcpStream>>) -> Outbox {
        Outbox {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue {
                    items: VecDeque::new(),
                    bytes: 0,
                    files: 0,
                    closed: None,
                }),
                ready: Condvar::new(),
                file_sent: Condvar::new(),
                limits,
                socket,
            }),
        }
    }

    /// Queues a frame. Returns `false` if the queue is closed, or was just
    /// closed because this frame would have overflowed it.
    pub fn push(&self, frame: Arc<[u8]>) -> bool {
        self.push_item(Item::Frame(frame))
    }

    /// Queues a reply whose body is streamed from a file by the writer
    /// thread. It counts as one frame and its head's bytes against the
    /// limits. Returns `false` (and drops the file) if the queue is closed.
    pub fn push_file(&self, body: FileBody) -> bool {
        self.push_item(Item::File(body))
    }

    fn push_item(&self, item: Item) -> bool {
        match self.enqueue_item(item) {
            Enqueued::Refused => false,
            Enqueued::Queued { wake } => {
                if wake {
                    self.wake();
                }
                true
            }
        }
    }

    /// Queues a frame without waking the writer, for a broadcast that must
    /// enqueue in order under a lock but should make the wake-up system
    /// calls after releasing it: call `wake` when this says so.
    pub fn enqueue(&self, frame: Arc<[u8]>) -> Enqueued {
        self.enqueue_item(Item::Frame(frame))
    }

    /// Wakes the writer to write what was enqueued.
    pub fn wake(&self) {
        self.shared.ready.notify_one();
    }

    fn enqueue_item(&self, item: Item) -> Enqueued {
        let len = match &item {
            Item::Frame(frame) => frame.len(),
            Item::File(body) => body.head.len(),
        };
        let mut q = self.lock();
        if q.closed.is_some() {
            return Enqueued::Refused;
        }
        let limits = self.shared.limits;
        if q.items.len() >= limits.max_frames || q.bytes + len > limits.max_bytes {
            q.closed = Some(Closed::Overflow {
                frames: q.items.len(),
                bytes: q.bytes,
            });
            q.items.clear();
            q.bytes = 0;
            drop(q);
            self.shared.ready.notify_one();
            self.shared.file_sent.notify_all();
            if let Some(socket) = &self.shared.socket {
                let _ = socket.shutdown(Shutdown::Both);
            }
            return Enqueued::Refused;
        }
        q.bytes += len;
        if matches!(item, Item::File(_)) {
            q.files += 1;
        }
        q.items.push_back(item);
        // The writer only sleeps on an empty queue, so only the first item needs to wake it.
        Enqueued::Queued {
            wake: q.items.len() == 1,
        }
    }

    /// Files queued or still being sent to this client.
    #[cfg(test)]
    fn files_pending(&self) -> usize {
        self.lock().files
    }

    /// Blocks until fewer than `max` files are pending, so one client cannot
    /// make the server hold files open without limit. Returns `false` if
    /// the queue closed meanwhile.
    pub fn wait_for_file_slot(&self, max: usize) -> bool {
        let q = self.lock();
        let q = self
            .shared
            .file_sent
            .wait_while(q, |q| q.files >= max && q.closed.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        q.closed.is_none()
    }

    fn file_sent(&self) {
        let mut q = self.lock();
        q.files = q.files.saturating_sub(1);
        drop(q);
        self.shared.file_sent.notify_all();
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
        self.shared.file_sent.notify_all();
    }

    /// Ends the connection from outside the session (a kick, a shutdown):
    /// finishes the queue, and shuts the socket's read side so the session
    /// thread, blocked reading, wakes and takes nothing more from the peer.
    pub fn finish_and_wake(&self) {
        self.finish();
        if let Some(socket) = &self.shared.socket {
            let _ = socket.shutdown(Shutdown::Read);
        }
    }

    /// Why the queue closed, if it did.
    pub fn closed(&self) -> Option<Closed> {
        self.lock().closed
    }

    /// True when nothing waits to be written.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.lock().items.is_empty()
    }

    /// Blocks until there is something to write; `None` when the writer should stop.
    fn next_batch(&self, batch: &mut Vec<Item>) -> Option<()> {
        let mut q = self.lock();
        loop {
            if matches!(q.closed, Some(Closed::Overflow { .. } | Closed::Broken)) {
                return None;
            }
            if !q.items.is_empty() {
                batch.extend(q.items.drain(..));
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

    /// Adds whatever was queued since the last batch, without waiting.
    fn take_more(&self, batch: &mut Vec<Item>) {
        let mut q = self.lock();
        if matches!(q.closed, None | Some(Closed::Finished)) {
            batch.extend(q.items.drain(..));
            q.bytes = 0;
        }
    }

    fn mark_broken(&self) {
        let mut q = self.lock();
        if q.closed.is_none() || q.closed == Some(Closed::Finished) {
            q.closed = Some(Closed::Broken);
        }
        q.items.clear();
        drop(q);
        self.shared.file_sent.notify_all();
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
        // A small batch: let the threads that are ready run first. On an
        // idle machine this returns at once; on a busy one, more frames
        // arrive meanwhile and share this write.
        for _ in 0..2 {
            if batch.len() >= 8 {
                break;
            }
            thread::yield_now();
            outbox.take_more(&mut batch);
        }
        let result = write_batch(outbox, &mut batch, &mut buf, socket);
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

/// Writes one batch in order. Frames are coalesced into one system call; a
/// file goes out as its head (with the frames before it), then its body
/// straight from the disk.
fn write_batch(
    outbox: &Outbox,
    batch: &mut Vec<Item>,
    buf: &mut Vec<u8>,
    socket: &mut impl Write,
) -> io::Result<()> {
    if let [Item::Frame(frame)] = batch.as_slice() {
        return socket.write_all(frame);
    }
    buf.clear();
    for item in batch.drain(..) {
        match item {
            Item::Frame(frame) => buf.extend_from_slice(&frame),
            Item::File(body) => {
                buf.extend_from_slice(&body.head);
                let result = socket
                    .write_all(buf)
                    .and_then(|()| send_file(body.file, body.len, socket));
                buf.clear();
                outbox.file_sent();
                (body.done)(&result);
                result?;
            }
        }
    }
    if buf.is_empty() {
        Ok(())
    } else {
        socket.write_all(buf)
    }
}

/// Copies exactly `len` bytes of `file` to `socket`. `io::copy` from a file
/// to a `TcpStream` uses `sendfile` on Linux, so the bytes never pass
/// through this process. A file shorter than announced breaks the framing:
/// that is an error, and the caller closes the connection.
fn send_file(file: File, len: u64, socket: &mut impl Write) -> io::Result<()> {
    let sent = io::copy(&mut file.take(len), socket)?;
    if sent < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("file ended after {sent} of {len} bytes"),
        ));
    }
    Ok(())
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
    fn a_file_is_streamed_in_its_place_between_frames() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let path = std::env::temp_dir().join(format!("chat-outbox-{}", std::process::id()));
        std::fs::write(&path, b"FILE-BODY\0\xff").unwrap();
        let outbox = Outbox::new(QueueLimits::default(), None);
        let sent = Arc::new(AtomicBool::new(false));
        outbox.push(frame("before|"));
        let flag = Arc::clone(&sent);
        assert!(outbox.push_file(FileBody {
            head: b"HEAD|".to_vec(),
            file: File::open(&path).unwrap(),
            len: 11,
            done: Box::new(move |r| flag.store(r.is_ok(), Ordering::SeqCst)),
        }));
        outbox.push(frame("|after"));
        assert_eq!(outbox.files_pending(), 1);
        outbox.finish();
        let mut out = Vec::new();
        assert_eq!(run_writer(&outbox, &mut out), Closed::Finished);
        assert_eq!(out, b"before|HEAD|FILE-BODY\0\xff|after");
        assert!(sent.load(Ordering::SeqCst));
        assert_eq!(outbox.files_pending(), 0);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn waiting_for_a_file_slot_ends_when_a_file_is_sent_or_the_queue_closes() {
        let path = std::env::temp_dir().join(format!("chat-outbox-slot-{}", std::process::id()));
        std::fs::write(&path, b"x").unwrap();
        let outbox = Outbox::new(QueueLimits::default(), None);
        let body = || FileBody {
            head: Vec::new(),
            file: File::open(&path).unwrap(),
            len: 1,
            done: Box::new(|_| {}),
        };
        outbox.push_file(body());
        outbox.push_file(body());
        let writer = {
            let outbox = outbox.clone();
            thread::spawn(move || run_writer(&outbox, &mut Vec::new()))
        };
        assert!(outbox.wait_for_file_slot(1), "the writer sent both");
        assert_eq!(outbox.files_pending(), 0);
        outbox.finish();
        assert!(!outbox.wait_for_file_slot(1), "closed");
        writer.join().unwrap();
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_file_shorter_than_announced_breaks_the_connection() {
        let path = std::env::temp_dir().join(format!("chat-outbox-short-{}", std::process::id()));
        std::fs::write(&path, b"short").unwrap();
        let outbox = Outbox::new(QueueLimits::default(), None);
        outbox.push_file(FileBody {
            head: b"HEAD|".to_vec(),
            file: File::open(&path).unwrap(),
            len: 100,
            done: Box::new(|r| assert!(r.is_err())),
        });
        outbox.finish();
        let mut out = Vec::new();
        assert_eq!(run_writer(&outbox, &mut out), Closed::Broken);
        let _ = std::fs::remove_file(&path);
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
