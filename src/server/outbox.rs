//! One client's bounded outbound queue, and who writes it to the socket.
//!
//! Senders only ever enqueue a shared, already-encoded frame (`Arc<[u8]>`):
//! a broadcast costs each recipient a pointer push. Writing is one thread's
//! job at a time, so bytes go out in queue order:
//!
//! * Usually the sender that queued the first frame flushes the queue
//!   itself, with a write that never blocks, once it has handled the frames
//!   it has in hand (see `hub::Owed`). A busy room thus costs one write per
//!   recipient per batch, and no thread has to be woken to make it.
//! * When the client's socket is full (it reads slowly) or a file is to be
//!   sent, a writer thread takes over, writes with blocking calls, and ends
//!   once it has caught up. An idle client has no writer thread at all.
//!
//! A client whose queue passes its bound (frames or bytes) is cut off
//! ("send queue exceeded", as IRC servers say) and nobody else waits for it.
//!
//! A file download is one more kind of item: the reply head and an open
//! file, copied to the socket by the writer thread (with `sendfile` where
//! the OS has it), so a 64 MiB download never sits in memory and the frames
//! queued before and after it keep their places on the wire.

#[cfg(test)]
mod backpressure_tests;
mod budget;
mod writer;

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::net::Shutdown;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

pub use budget::{charge, Budget, SLOT_BYTES};

use super::socket::Socket;

/// How much may wait for one client before it is disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    pub max_frames: usize,
    /// Bytes the queue really holds (see [`charge`]), what is being
    /// written included; before login, [`PRE_LOGIN_BYTES`] at most.
    pub max_bytes: usize,
}

/// What may wait for a connection that has not logged in: its replies to
/// a login and a few pings, no more.
pub const PRE_LOGIN_BYTES: usize = 64 * 1024;
/// Room kept for a reply when a queue's bound is lowered below what it holds.
const REPLY_ROOM: usize = 4 * 1024;
/// How long senders wait for a client that is behind to make any progress
/// before they give up on it (see `Outbox::wait_while_behind`).
const STALL: std::time::Duration = std::time::Duration::from_secs(1);
/// The longest senders wait for one client that is behind, progress or not.
const MAX_HOLD: std::time::Duration = std::time::Duration::from_secs(10);

/// The byte bound is what protects memory (frames are shared between
/// recipients, but each is charged in full to every queue it is in); the
/// frame bound only caps bookkeeping, and is set so that small chat frames
/// meet the byte bound first: a flood of 10,000 messages to 200 clients
/// left readers 8,192 frames (1.7 MB) behind, which must not cost them
/// their connection.
impl Default for QueueLimits {
    fn default() -> QueueLimits {
        QueueLimits {
            max_frames: 32768,
            max_bytes: 4 << 20,
        }
    }
}

/// Why a queue stopped taking frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Orderly: what is queued is still written, then the socket is closed.
    Finished,
    /// The client did not keep up: its queue passed its bound; what is
    /// queued is dropped.
    Overflow { frames: usize, bytes: usize },
    /// All queues together passed their ceiling, and this one held among
    /// the most; what is queued is dropped.
    Shed { bytes: usize },
    /// The socket failed; nothing more can be written.
    Broken,
    /// A writer thread was needed and could not be started (out of memory
    /// or threads); what is queued is dropped.
    NoWriter,
}

impl Closed {
    fn overflow(q: &Queue) -> Closed {
        Closed::Overflow {
            frames: q.items.len(),
            bytes: q.bytes + q.in_flight,
        }
    }

    /// True when nothing queued will be written any more.
    fn is_dead(self) -> bool {
        self != Closed::Finished
    }
}

/// A cheap handle on one client's queue; clones share it.
#[derive(Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the writer thread: something was queued, or the queue closed.
    ready: Condvar,
    /// Signalled when a file has been sent, when the queue closes, and when
    /// the writing of a closed queue ends.
    changed: Condvar,
    max_frames: usize,
    budget: Arc<Budget>,
    socket: Arc<dyn Socket>,
    /// The writer thread's name, for when one is needed.
    writer_name: String,
}

struct Queue {
    items: VecDeque<Item>,
    /// What the queued frames and file heads hold (file bodies are on
    /// disk), as [`charge`] counts it.
    bytes: usize,
    /// What a writer has taken off the queue and not yet written.
    in_flight: usize,
    /// What this queue has told the budget it holds: brought up to date
    /// in steps (see `Shared::settle`), so that a queue that drains at once
    /// never touches the budget's shared counter.
    reported: usize,
    /// The byte bound now: small before login, `QueueLimits` after.
    max_bytes: usize,
    /// Files queued or being sent: a session waits for a free slot before
    /// queueing another download.
    files: usize,
    closed: Option<Closed>,
    /// Who takes items off the queue. Items are queued only while somebody
    /// does: `Idle` implies an empty queue.
    writer: Writer,
    /// Senders waiting for this queue to drain (see `wait_while_behind`):
    /// only then does a write that empties it wake anybody.
    waiters: u32,
    /// The client made no progress while senders waited for it: nobody
    /// waits for it again until it drains (so a stuck reader cannot slow a
    /// room down; it overflows and is cut off instead).
    stalled: bool,
}

impl Queue {
    fn is_dead(&self) -> bool {
        self.closed.is_some_and(Closed::is_dead)
    }

    fn held(&self) -> usize {
        self.bytes + self.in_flight
    }

    /// Past a quarter of its bound (bytes or frames): far enough behind
    /// that senders should wait for it rather than let it overflow. A
    /// quarter, not a half: every sender in a busy room may add a read's
    /// worth of messages before it sees the mark.
    fn is_behind(&self, max_frames: usize) -> bool {
        self.held() > self.max_bytes / 4 || self.items.len() > max_frames / 4
    }

    /// Back under an eighth of its bound: senders that waited may go on.
    fn has_caught_up(&self, max_frames: usize) -> bool {
        self.held() <= self.max_bytes / 8 && self.items.len() <= max_frames / 8
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every critical section leaves the queue consistent, so a poisoned
        // lock (a panic elsewhere) is safe to keep using.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tells the budget what the queue holds when it has moved a step from
    /// what was last told, or emptied: every queue counting every frame on
    /// one shared counter made every delivery bounce that counter's cache
    /// line between cores. The total is then short by less than a step a
    /// queue. Returns whether all queues together are over the ceiling.
    fn settle(&self, q: &mut Queue) -> bool {
        let held = q.held();
        let step = self.budget.step();
        if held >= q.reported + step {
            let more = held - q.reported;
            q.reported = held;
            return self.budget.add(more);
        }
        if held + step <= q.reported || (held == 0 && q.reported > 0) {
            self.budget.sub(q.reported - held);
            q.reported = held;
        }
        false
    }

    /// What the queue holds now, queued and being written.
    fn held_bytes(&self) -> usize {
        self.lock().held()
    }

    /// Cuts the client off for holding too much: all queues together are
    /// over their budget, and this one holds the most.
    fn overflow(&self) {
        let q = self.lock();
        if !q.is_dead() {
            let why = Closed::Shed {
                bytes: q.bytes + q.in_flight,
            };
            self.kill(q, why);
        }
    }

    /// Closes the queue for good, dropping what it holds, and shuts the
    /// socket down, which wakes a writer stuck in `write` and the session
    /// stuck in `read`. What a writer has in flight is given back by it.
    fn kill(&self, mut q: MutexGuard<'_, Queue>, why: Closed) {
        if !q.is_dead() {
            q.closed = Some(why);
        }
        q.items.clear();
        q.bytes = 0;
        self.settle(&mut q);
        q.files = 0;
        drop(q);
        self.ready.notify_one();
        self.changed.notify_all();
        self.socket.shutdown(Shutdown::Both);
    }
}

/// The one thread at a time that may write this queue to the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writer {
    /// Nobody: whoever queues the next frame becomes the flusher.
    Idle,
    /// A thread that queued a frame writes without blocking (now, or
    /// before it next blocks itself).
    Flusher,
    /// The writer thread: the socket was full, or a file is queued.
    Thread,
}

/// An item queued: what the queueing thread must do for it, and whether
/// all queues together are now over their budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    pub duty: Duty,
    pub over_budget: bool,
    /// The queue is a quarter full and its client is still reading:
    /// the sender should wait for it to catch up before it reads more of
    /// its own input (see `Outbox::wait_while_behind`).
    pub behind: bool,
}

/// What the thread that just queued an item must do for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// Nothing: someone is writing already.
    None,
    /// Write the queue, as its flusher.
    Flush,
    /// Wake the writer thread, which may be waiting for items.
    Wake,
    /// Start a writer thread (a file was queued).
    Start,
}

/// One thing waiting to be written.
enum Item {
    /// A frame, and what it is charged to this queue (see `Item::frame`).
    Frame(Arc<[u8]>, u32),
    /// Boxed, so that a queue of frames costs 24 bytes an entry, not 64.
    File(Box<FileBody>),
}

impl Item {
    /// A frame as a queue item, charged for what it holds: its slot, and
    /// its allocation shared with the queues that already hold it (the
    /// k-th queue to take a room message pays 1/k of it, so a message to
    /// n members is counted about ln(n) + 1 times in all, not n times,
    /// and a frame for one client alone is counted in full).
    fn frame(frame: Arc<[u8]>) -> Item {
        // The caller's handle on the way in is one of the holders.
        let holders = Arc::strong_count(&frame).saturating_sub(1).max(1);
        let cost = charge(frame.len());
        let shared = (cost - SLOT_BYTES) / holders + SLOT_BYTES;
        Item::Frame(frame, u32::try_from(shared).unwrap_or(u32::MAX))
    }

    /// What this item holds in memory while queued.
    fn charge(&self) -> usize {
        match self {
            Item::Frame(_, charge) => *charge as usize,
            Item::File(body) => charge(body.head.len()) + std::mem::size_of::<FileBody>(),
        }
    }
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
    /// A queue for the client on `socket`, bounded by `limits` and
    /// charged to `budget`; a writer thread, when one is needed, is called
    /// `writer_name`.
    pub fn new(
        limits: QueueLimits,
        budget: &Arc<Budget>,
        socket: Arc<dyn Socket>,
        writer_name: String,
    ) -> Outbox {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                items: VecDeque::new(),
                bytes: 0,
                in_flight: 0,
                reported: 0,
                max_bytes: limits.max_bytes,
                files: 0,
                closed: None,
                writer: Writer::Idle,
                waiters: 0,
                stalled: false,
            }),
            ready: Condvar::new(),
            changed: Condvar::new(),
            max_frames: limits.max_frames,
            budget: Arc::clone(budget),
            socket,
            writer_name,
        });
        budget.register(Arc::downgrade(&shared));
        Outbox { shared }
    }

    /// True when `other` is a handle on this same queue.
    pub fn same_queue(&self, other: &Outbox) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Gives back the memory of an empty queue (for a client gone idle: a
    /// queue keeps its largest size otherwise).
    pub fn release_memory(&self) {
        let mut q = self.lock();
        if q.items.is_empty() {
            q.items = VecDeque::new();
        }
    }

    /// Sets the byte bound: `PRE_LOGIN_BYTES` until the connection logs
    /// in, its `QueueLimits` after. A lower bound never cuts off what is
    /// queued already: a client that logs out while messages still wait
    /// for it keeps them, and the room for a reply.
    pub fn set_max_bytes(&self, max_bytes: usize) {
        let mut q = self.lock();
        let held = q.held();
        q.max_bytes = max_bytes.max(held.saturating_add(REPLY_ROOM));
    }

    /// Queues a frame and writes it (without blocking) at once. Returns
    /// `false` if the queue is closed, or was just closed because this frame
    /// would have overflowed it. Callers that deliver to many, or under a
    /// lock, enqueue through `hub::Owed` instead and write later.
    pub fn push(&self, frame: Arc<[u8]>) -> bool {
        self.push_item(Item::frame(frame))
    }

    /// Queues a reply whose body is streamed from a file by the writer
    /// thread. It counts as one frame and its head's bytes against the
    /// limits. Returns `false` (and drops the file) if the queue is closed.
    pub fn push_file(&self, body: FileBody) -> bool {
        self.push_item(Item::File(Box::new(body)))
    }

    fn push_item(&self, item: Item) -> bool {
        let Some(queued) = self.enqueue(item) else {
            return false;
        };
        if queued.over_budget {
            self.shared.budget.shed();
        }
        self.pay(queued.duty);
        true
    }

    /// Queues a frame without writing it: the duty returned (`None` if the
    /// queue is closed) is the caller's to pay with `pay`, and so is
    /// `shed_over_budget` if it says so. Never blocks and makes no system
    /// call, so it may be called under a lock.
    pub(crate) fn enqueue_frame(&self, frame: Arc<[u8]>) -> Option<Queued> {
        self.enqueue(Item::frame(frame))
    }

    /// Cuts off the queues holding the most while all of them together
    /// hold more than the budget allows.
    pub(crate) fn shed_over_budget(&self) {
        self.shared.budget.shed();
    }

    /// Carries out what queueing an item made this thread responsible for.
    pub(crate) fn pay(&self, duty: Duty) {
        match duty {
            Duty::None => {}
            Duty::Flush => self.flush(),
            Duty::Wake => self.shared.ready.notify_one(),
            Duty::Start => self.start_writer(),
        }
    }

    /// Queues several frames under one lock: a burst of messages from one
    /// sender reaches each recipient as one step, not one per message.
    /// `None` if the queue is closed (or overflowed on the way).
    pub(crate) fn enqueue_frames(
        &self,
        frames: impl IntoIterator<Item = Arc<[u8]>>,
    ) -> Option<Queued> {
        self.enqueue_all(frames.into_iter().map(Item::frame))
    }

    /// Queues `item`; `None` if the queue is closed (or just overflowed).
    fn enqueue(&self, item: Item) -> Option<Queued> {
        self.enqueue_all(std::iter::once(item))
    }

    /// Queues `items` in order, under one lock.
    fn enqueue_all(&self, items: impl Iterator<Item = Item>) -> Option<Queued> {
        let mut q = self.lock();
        if q.closed.is_some() {
            return None;
        }
        let was_empty = q.items.is_empty();
        let mut over_budget = false;
        let mut file = false;
        for item in items {
            let cost = item.charge();
            if q.items.len() >= self.shared.max_frames || q.held() + cost > q.max_bytes {
                let why = Closed::overflow(&q);
                self.shared.kill(q, why);
                return None;
            }
            q.bytes += cost;
            over_budget |= self.shared.settle(&mut q);
            if matches!(item, Item::File(_)) {
                q.files += 1;
                file = true;
            }
            q.items.push_back(item);
        }
        let duty = match q.writer {
            _ if q.items.is_empty() => Duty::None,
            Writer::Idle if file => {
                q.writer = Writer::Thread;
                Duty::Start
            }
            Writer::Idle => {
                q.writer = Writer::Flusher;
                Duty::Flush
            }
            // The writer thread only waits on an empty queue.
            Writer::Thread if was_empty => Duty::Wake,
            Writer::Thread | Writer::Flusher => Duty::None,
        };
        let behind = !q.stalled && q.is_behind(self.shared.max_frames);
        Some(Queued {
            duty,
            over_budget,
            behind,
        })
    }

    /// Gives back what a writer took off the queue, now written or dropped.
    fn written(&self, q: &mut Queue, cost: usize) {
        q.in_flight -= cost;
        self.shared.settle(q);
        if q.has_caught_up(self.shared.max_frames) {
            q.stalled = false;
            if q.waiters > 0 {
                self.shared.changed.notify_all();
            }
        }
    }

    /// Back-pressure: blocks a sender while this queue is behind, until
    /// its client has caught up (an eighth of the bound), the queue
    /// closes, or the client makes no progress for [`STALL`] (or has not
    /// caught up within [`MAX_HOLD`], so no sender is held without end by
    /// a reader that keeps pace with the room but never gains). Then the
    /// queue is marked stalled: no sender waits for it again until it
    /// drains, so one stuck reader cannot hold a room still; it overflows
    /// and is cut off as before. A reader that is slow but reading thus
    /// slows the senders down to its pace instead of being cut off, the
    /// way TCP itself treats a slow receiver; the senders' clients feel it
    /// as their own sockets filling up.
    pub fn wait_while_behind(&self) {
        let mut q = self.lock();
        let max_frames = self.shared.max_frames;
        if q.stalled || q.closed.is_some() || !q.is_behind(max_frames) {
            return;
        }
        q.waiters += 1;
        let since = std::time::Instant::now();
        loop {
            let held = q.held();
            let (guard, _) = self
                .shared
                .changed
                .wait_timeout_while(q, STALL, |q| {
                    q.closed.is_none() && !q.has_caught_up(max_frames)
                })
                .unwrap_or_else(PoisonError::into_inner);
            q = guard;
            if q.closed.is_some() || q.has_caught_up(max_frames) {
                break;
            }
            if q.held() >= held || since.elapsed() >= MAX_HOLD {
                q.stalled = true;
                break;
            }
        }
        q.waiters -= 1;
    }

    /// Blocks until fewer than `max` files are pending, so one client cannot
    /// make the server hold files open without limit. Returns `false` if
    /// the queue closed meanwhile. The caller pays what it owes first.
    pub fn wait_for_file_slot(&self, max: usize) -> bool {
        let q = self.lock();
        let q = self
            .shared
            .changed
            .wait_while(q, |q| q.files >= max && q.closed.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        q.closed.is_none()
    }

    fn file_sent(&self) {
        let mut q = self.lock();
        q.files = q.files.saturating_sub(1);
        drop(q);
        self.shared.changed.notify_all();
    }

    /// Stops taking frames; what is queued is still written.
    fn finish(&self) {
        let mut q = self.lock();
        if q.closed.is_none() {
            q.closed = Some(Closed::Finished);
        }
        drop(q);
        self.shared.ready.notify_one();
        self.shared.changed.notify_all();
    }

    /// Ends the connection from outside the session (a kick, a shutdown):
    /// finishes the queue, and shuts the socket's read side so the session
    /// thread, blocked reading, wakes and takes nothing more from the peer.
    pub fn finish_and_wake(&self) {
        self.finish();
        self.shared.socket.shutdown(Shutdown::Read);
    }

    /// Finishes the queue and waits until everything queued is written (or
    /// dropped, if the queue died), for the end of a session. The caller
    /// pays what it owes first: this queue's own flush may be among it.
    /// Returns why the queue closed.
    pub fn finish_and_drain(&self) -> Closed {
        self.finish();
        let q = self.lock();
        let q = self
            .shared
            .changed
            .wait_while(q, |q| q.writer != Writer::Idle)
            .unwrap_or_else(PoisonError::into_inner);
        q.closed.unwrap_or(Closed::Finished)
    }

    /// Why the queue closed, if it did.
    #[cfg(test)]
    fn closed(&self) -> Option<Closed> {
        self.lock().closed
    }

    /// Gives up the right to write; whoever waits for a closed queue's last
    /// write hears of it.
    fn release(&self, mut q: MutexGuard<'_, Queue>) {
        q.writer = Writer::Idle;
        let closed = q.closed.is_some();
        drop(q);
        if closed {
            self.shared.changed.notify_all();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.shared.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::hub::Owed;
    use std::io::Read;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread;

    /// A socket that takes `window` bytes without blocking, then would
    /// block; blocking writes always succeed. Records what was written.
    #[derive(Default)]
    struct FakeSocket {
        out: Mutex<Vec<u8>>,
        window: Mutex<usize>,
        failing: bool,
        shut: AtomicBool,
    }

    impl FakeSocket {
        fn with_window(window: usize) -> Arc<FakeSocket> {
            Arc::new(FakeSocket {
                window: Mutex::new(window),
                ..FakeSocket::default()
            })
        }

        fn written(&self) -> String {
            String::from_utf8(self.out.lock().unwrap().clone()).unwrap()
        }
    }

    impl Socket for FakeSocket {
        fn send_now(&self, buf: &[u8]) -> io::Result<usize> {
            if self.failing {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let mut window = self.window.lock().unwrap();
            let n = buf.len().min(*window);
            if n == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            *window -= n;
            self.out.lock().unwrap().extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn send_all_vectored(&self, bufs: &mut [io::IoSlice<'_>]) -> io::Result<()> {
            if self.failing {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let mut out = self.out.lock().unwrap();
            for buf in bufs.iter() {
                out.extend_from_slice(buf);
            }
            Ok(())
        }

        fn send_file(&self, file: File, len: u64) -> io::Result<()> {
            let mut body = Vec::new();
            file.take(len).read_to_end(&mut body)?;
            self.out.lock().unwrap().extend_from_slice(&body);
            if (body.len() as u64) < len {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            Ok(())
        }

        fn shutdown(&self, _: Shutdown) {
            self.shut.store(true, Ordering::SeqCst);
        }
    }

    fn outbox(socket: &Arc<FakeSocket>, limits: QueueLimits) -> Outbox {
        outbox_with(socket, limits, &Budget::new(usize::MAX))
    }

    fn outbox_with(socket: &Arc<FakeSocket>, limits: QueueLimits, budget: &Arc<Budget>) -> Outbox {
        Outbox::new(
            limits,
            budget,
            Arc::clone(socket) as Arc<dyn Socket>,
            "test-out".into(),
        )
    }

    fn frame(s: &str) -> Arc<[u8]> {
        s.as_bytes().into()
    }

    fn writer(outbox: &Outbox) -> Writer {
        outbox.lock().writer
    }

    #[test]
    fn without_a_deferral_the_pushing_thread_writes_at_once() {
        let socket = FakeSocket::with_window(usize::MAX);
        let outbox = outbox(&socket, QueueLimits::default());
        assert!(outbox.push(frame("a,")));
        assert_eq!(socket.written(), "a,");
        assert!(outbox.push(frame("b,")));
        assert_eq!(socket.written(), "a,b,");
        assert_eq!(writer(&outbox), Writer::Idle, "no writer thread was needed");
    }

    #[test]
    fn what_is_owed_is_written_in_one_write_per_queue_when_paid() {
        let socket = FakeSocket::with_window(usize::MAX);
        let (a, b) = (
            outbox(&socket, QueueLimits::default()),
            outbox(&socket, QueueLimits::default()),
        );
        let mut owed = Owed::new();
        for i in 0..3 {
            owed.push(&a, frame(&format!("a{i},")));
            owed.push(&b, frame(&format!("b{i},")));
        }
        assert_eq!(socket.written(), "", "nothing is written until paid");
        assert_eq!(writer(&a), Writer::Flusher);
        owed.pay();
        assert!(owed.is_empty());
        assert_eq!(socket.written(), "a0,a1,a2,b0,b1,b2,");
        assert_eq!(writer(&a), Writer::Idle);
        // Paid: later pushes write at once again.
        a.push(frame("late"));
        assert!(socket.written().ends_with("late"));
    }

    #[test]
    fn what_the_socket_does_not_take_goes_to_a_writer_thread_in_order() {
        let socket = FakeSocket::with_window(5);
        let outbox = outbox(&socket, QueueLimits::default());
        let mut owed = Owed::new();
        for i in 0..100 {
            assert!(owed.push(&outbox, frame(&format!("{i},"))));
        }
        owed.pay();
        // The first write took 5 bytes; the writer thread writes the rest.
        assert_eq!(outbox.finish_and_drain(), Closed::Finished);
        let expected: String = (0..100).map(|i| format!("{i},")).collect();
        assert_eq!(socket.written(), expected);
        assert!(!outbox.push(frame("late")), "closed queues refuse frames");
    }

    #[test]
    fn concurrent_senders_each_keep_their_order_and_nothing_is_lost() {
        let socket = FakeSocket::with_window(1000);
        let outbox = outbox(&socket, QueueLimits::default());
        let senders: Vec<_> = (0..4)
            .map(|t| {
                let (outbox, socket) = (outbox.clone(), Arc::clone(&socket));
                thread::spawn(move || {
                    let mut owed = Owed::new();
                    for i in 0..2000 {
                        if i % 7 == 0 {
                            owed.push(&outbox, frame(&format!("{t}:{i},")));
                        } else {
                            owed.pay();
                            outbox.push(frame(&format!("{t}:{i},")));
                        }
                        if i % 500 == 0 {
                            // Let the socket take a little more without blocking now and then.
                            *socket.window.lock().unwrap() += 700;
                        }
                    }
                })
            })
            .collect();
        for sender in senders {
            sender.join().unwrap();
        }
        assert_eq!(outbox.finish_and_drain(), Closed::Finished);
        let written = socket.written();
        for t in 0..4 {
            let mine: Vec<usize> = written
                .split(',')
                .filter_map(|f| f.strip_prefix(&format!("{t}:")))
                .map(|i| i.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..2000).collect::<Vec<_>>(), "sender {t}");
        }
    }

    #[test]
    fn a_queued_frame_costs_at_most_24_bytes_of_bookkeeping() {
        assert!(std::mem::size_of::<Item>() <= SLOT_BYTES + 8);
    }

    #[test]
    fn overflow_by_frames_closes_the_queue_without_blocking() {
        let socket = FakeSocket::with_window(0);
        let limits = QueueLimits {
            max_frames: 3,
            max_bytes: 1 << 20,
        };
        let outbox = outbox(&socket, limits);
        let mut owed = Owed::new();
        for _ in 0..3 {
            assert!(owed.push(&outbox, frame("x")));
        }
        assert!(!owed.push(&outbox, frame("x")));
        assert_eq!(
            outbox.closed(),
            Some(Closed::Overflow {
                frames: 3,
                bytes: 3 * charge(1)
            })
        );
        assert!(
            outbox.lock().items.is_empty(),
            "an overflowed queue drops what it held"
        );
        assert!(
            socket.shut.load(Ordering::SeqCst),
            "and shuts the socket down"
        );
    }

    #[test]
    fn a_burst_is_queued_in_order_as_one_step_and_may_overflow_midway() {
        let socket = FakeSocket::with_window(usize::MAX);
        let queue = outbox(&socket, QueueLimits::default());
        let mut owed = Owed::new();
        assert!(owed.push_all(&queue, ["a,", "b,", "c,"].map(frame)));
        assert!(owed.push_all(&queue, [frame("d,")]));
        assert!(
            owed.push_all(&queue, []),
            "an empty burst is no step at all"
        );
        assert_eq!(socket.written(), "", "nothing is written until paid");
        owed.pay();
        assert_eq!(socket.written(), "a,b,c,d,", "one flush, in order");
        assert_eq!(writer(&queue), Writer::Idle);

        let socket = FakeSocket::with_window(0);
        let limits = QueueLimits {
            max_frames: 3,
            max_bytes: 1 << 20,
        };
        let cut = outbox(&socket, limits);
        assert!(!owed.push_all(&cut, ["1", "2", "3", "4"].map(frame)));
        assert_eq!(
            cut.closed(),
            Some(Closed::Overflow {
                frames: 3,
                bytes: 3 * charge(1)
            }),
            "cut off at the frame that did not fit"
        );
        assert!(cut.lock().items.is_empty());
        assert!(socket.shut.load(Ordering::SeqCst));
    }

    #[test]
    fn overflow_by_bytes_closes_the_queue() {
        let socket = FakeSocket::with_window(0);
        let limits = QueueLimits {
            max_frames: 100,
            max_bytes: charge(6) + 10,
        };
        let outbox = outbox(&socket, limits);
        let mut owed = Owed::new();
        assert!(owed.push(&outbox, frame("123456")));
        assert!(!owed.push(&outbox, frame("123456")));
        assert!(matches!(outbox.closed(), Some(Closed::Overflow { .. })));
    }

    fn temp_file(name: &str, contents: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("chat-outbox-{name}-{}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn a_file_is_streamed_in_its_place_between_frames() {
        let path = temp_file("file", b"FILE-BODY\0\xff");
        let socket = FakeSocket::with_window(usize::MAX);
        let outbox = outbox(&socket, QueueLimits::default());
        let sent = Arc::new(AtomicBool::new(false));
        let mut owed = Owed::new();
        owed.push(&outbox, frame("before|"));
        let flag = Arc::clone(&sent);
        assert!(outbox.push_file(FileBody {
            head: b"HEAD|".to_vec(),
            file: File::open(&path).unwrap(),
            len: 11,
            done: Box::new(move |r| flag.store(r.is_ok(), Ordering::SeqCst)),
        }));
        outbox.push(frame("|after"));
        assert_eq!(outbox.lock().files, 1);
        owed.pay();
        assert_eq!(outbox.finish_and_drain(), Closed::Finished);
        assert_eq!(
            socket.out.lock().unwrap().as_slice(),
            b"before|HEAD|FILE-BODY\0\xff|after"
        );
        assert!(sent.load(Ordering::SeqCst));
        assert_eq!(outbox.lock().files, 0);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn waiting_for_a_file_slot_ends_when_a_file_is_sent_or_the_queue_closes() {
        let path = temp_file("slot", b"x");
        let socket = FakeSocket::with_window(usize::MAX);
        let outbox = outbox(&socket, QueueLimits::default());
        let body = || FileBody {
            head: Vec::new(),
            file: File::open(&path).unwrap(),
            len: 1,
            done: Box::new(|_| {}),
        };
        outbox.push_file(body());
        outbox.push_file(body());
        assert!(outbox.wait_for_file_slot(1), "the writer thread sent both");
        assert_eq!(outbox.lock().files, 0);
        outbox.finish();
        assert!(!outbox.wait_for_file_slot(1), "closed");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_file_shorter_than_announced_breaks_the_connection() {
        let path = temp_file("short", b"short");
        let socket = FakeSocket::with_window(usize::MAX);
        let outbox = outbox(&socket, QueueLimits::default());
        outbox.push_file(FileBody {
            head: b"HEAD|".to_vec(),
            file: File::open(&path).unwrap(),
            len: 100,
            done: Box::new(|r| assert!(r.is_err())),
        });
        assert_eq!(outbox.finish_and_drain(), Closed::Broken);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_failing_socket_marks_the_queue_broken() {
        let socket = Arc::new(FakeSocket {
            failing: true,
            ..FakeSocket::default()
        });
        let outbox = outbox(&socket, QueueLimits::default());
        outbox.push(frame("x"));
        assert_eq!(outbox.closed(), Some(Closed::Broken));
        assert!(!outbox.push(frame("y")));
        assert_eq!(outbox.finish_and_drain(), Closed::Broken);
    }

    #[test]
    fn a_queue_counts_what_its_frames_really_hold() {
        let socket = FakeSocket::with_window(0);
        let limits = QueueLimits {
            max_frames: usize::MAX,
            max_bytes: charge(40) * 10,
        };
        let outbox = outbox(&socket, limits);
        let mut owed = Owed::new();
        for _ in 0..10 {
            assert!(owed.push(&outbox, frame(&"p".repeat(40))));
        }
        assert_eq!(outbox.lock().bytes, 10 * charge(40), "not 10 x 40");
        assert!(
            !owed.push(&outbox, frame(&"p".repeat(40))),
            "the 11th passes the bound"
        );
    }

    #[test]
    fn before_login_a_queue_holds_little_and_its_bound_can_be_raised() {
        let socket = FakeSocket::with_window(0);
        let outbox = outbox(&socket, QueueLimits::default());
        outbox.set_max_bytes(PRE_LOGIN_BYTES);
        let mut owed = Owed::new();
        let pong = "CHAT/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
        let fits = PRE_LOGIN_BYTES / charge(pong.len());
        for _ in 0..fits {
            assert!(owed.push(&outbox, frame(pong)));
        }
        outbox.set_max_bytes(QueueLimits::default().max_bytes);
        assert!(owed.push(&outbox, frame(pong)), "logged in: more fits");
        let small = outbox_with(&socket, QueueLimits::default(), &Budget::new(usize::MAX));
        small.set_max_bytes(PRE_LOGIN_BYTES);
        for _ in 0..fits {
            owed.push(&small, frame(pong));
        }
        assert!(!owed.push(&small, frame(pong)));
        assert!(matches!(small.closed(), Some(Closed::Overflow { .. })));
    }

    #[test]
    fn over_the_ceiling_the_queues_holding_the_most_are_cut_off_first() {
        let socket = FakeSocket::with_window(0);
        let budget = Budget::new(100 * charge(100));
        let queues: Vec<Outbox> = (0..5)
            .map(|_| outbox_with(&socket, QueueLimits::default(), &budget))
            .collect();
        let mut owed = Owed::new();
        // Queue i holds 5 + 10 i frames: 5, 15, 25, 35, 45 = 125 > 100.
        for (i, queue) in queues.iter().enumerate() {
            for _ in 0..5 + 10 * i {
                owed.push(queue, frame(&"m".repeat(100)));
            }
        }
        assert!(budget.total() > 100 * charge(100));
        // What paying does first (the flushes after it would write the
        // queues out to this socket, whose blocking writes always succeed).
        queues[0].shed_over_budget();
        // Cut until under nine tenths (90 frames): the 45 goes, 80 stay
        // (counted to within a step a queue).
        let shed: Vec<bool> = queues
            .iter()
            .map(|q| matches!(q.closed(), Some(Closed::Shed { .. })))
            .collect();
        assert_eq!(shed, [false, false, false, false, true]);
        let left = 80 * charge(100);
        assert!(budget.total() <= left && budget.total() + 4 * budget.step() >= left);
    }

    #[test]
    fn written_and_dropped_frames_are_given_back_to_the_budget() {
        let socket = FakeSocket::with_window(usize::MAX);
        // A ceiling of 1 MiB counts in steps of 1 KiB.
        let budget = Budget::new(1 << 20);
        let outbox = outbox_with(&socket, QueueLimits::default(), &budget);
        let mut owed = Owed::new();
        for i in 0..100 {
            owed.push(&outbox, frame(&format!("{i},")));
        }
        assert!(budget.total() > 0);
        owed.pay();
        assert_eq!(outbox.finish_and_drain(), Closed::Finished);
        assert_eq!(budget.total(), 0, "all written");
        let stuck = outbox_with(&FakeSocket::with_window(0), QueueLimits::default(), &budget);
        for _ in 0..10 {
            owed.push(&stuck, frame("x"));
        }
        stuck.shared.overflow();
        assert_eq!(budget.total(), 0, "all dropped");
    }

    #[test]
    fn a_frame_shared_by_many_queues_is_counted_about_ln_n_times_not_n() {
        let socket = FakeSocket::with_window(0);
        let budget = Budget::new(1 << 20);
        let queues: Vec<Outbox> = (0..4)
            .map(|_| outbox_with(&socket, QueueLimits::default(), &budget))
            .collect();
        // As a fan-out hands it out: one encoding, a clone for each queue.
        let shared = frame(&"m".repeat(1000));
        let mut owed = Owed::new();
        for q in &queues {
            owed.push(q, Arc::clone(&shared));
        }
        let alloc = charge(1000) - SLOT_BYTES;
        let charged: Vec<usize> = queues.iter().map(|q| q.lock().bytes).collect();
        let expected: Vec<usize> = (1..=4).map(|k| alloc / k + SLOT_BYTES).collect();
        assert_eq!(charged, expected, "the k-th holder pays 1/k");
        // A frame for one client alone is counted in full.
        let alone = outbox_with(&socket, QueueLimits::default(), &budget);
        owed.push(&alone, frame(&"m".repeat(1000)));
        assert_eq!(alone.lock().bytes, charge(1000));
    }
}
