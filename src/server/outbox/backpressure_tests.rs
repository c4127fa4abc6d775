//! Back-pressure: senders wait for a reader that is behind while it
//! reads, and stop waiting for one that does not.
#![cfg(test)]

use std::fs::File;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use super::{Budget, Outbox, QueueLimits};
use crate::server::hub::Owed;
use crate::server::socket::Socket;

/// A socket whose client reads only when the test lets it: a write that
/// must not block is refused, and each blocking write (one writer batch)
/// waits for a permit.
#[derive(Default)]
struct GatedSocket {
    permits: Mutex<usize>,
    opened: Condvar,
    written: Mutex<usize>,
}

impl GatedSocket {
    fn allow(&self, writes: usize) {
        *self.permits.lock().unwrap() += writes;
        self.opened.notify_all();
    }
}

impl Socket for GatedSocket {
    fn send_now(&self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }

    fn send_all_vectored(&self, bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
        let permits = self.permits.lock().unwrap();
        let mut permits = self.opened.wait_while(permits, |p| *p == 0).unwrap();
        *permits -= 1;
        *self.written.lock().unwrap() += bufs.iter().map(|b| b.len()).sum::<usize>();
        Ok(())
    }

    fn send_file(&self, _: File, _: u64) -> io::Result<()> {
        Ok(())
    }

    fn shutdown(&self, _: Shutdown) {
        // A test's reader is never stuck for good: let the writer end.
        self.allow(usize::MAX / 2);
    }
}

const LIMITS: QueueLimits = QueueLimits {
    max_frames: 1000,
    max_bytes: 64 * 1024,
};

fn gated() -> (Arc<GatedSocket>, Outbox) {
    let socket = Arc::new(GatedSocket::default());
    let outbox = Outbox::new(
        LIMITS,
        &Budget::new(usize::MAX),
        Arc::clone(&socket) as Arc<dyn Socket>,
        "test-out".into(),
    );
    (socket, outbox)
}

/// A frame of its own (charged in full: a frame shared by many queues
/// is charged to each a share of it).
fn frame(byte: u8) -> Arc<[u8]> {
    vec![byte; 1000].into()
}

/// Fills `outbox` past the mark at which senders wait (and a little more:
/// a flush that finds the socket full queues what it took again as one
/// frame, charged a little less); the owed list remembers it as a laggard.
fn fill_past_the_mark(outbox: &Outbox, owed: &mut Owed) {
    while !owed.has_laggards() {
        assert!(owed.push(outbox, frame(b'x')), "must not overflow");
    }
    for _ in 0..4 {
        assert!(owed.push(outbox, frame(b'x')), "must not overflow");
    }
}

#[test]
fn a_sender_waits_for_a_reader_behind_until_it_catches_up() {
    let (socket, reader) = gated();
    let (_, sender) = gated();
    let mut owed = Owed::new();
    fill_past_the_mark(&reader, &mut owed);
    let (done, waited) = mpsc::channel();
    let waiter = thread::spawn(move || {
        owed.wait_for_laggards(&sender);
        done.send(()).unwrap();
    });
    assert!(
        waited.recv_timeout(Duration::from_millis(200)).is_err(),
        "the sender goes on while the reader reads nothing"
    );
    // The reader reads a batch at a time: progress, then caught up.
    socket.allow(usize::MAX / 2);
    waited
        .recv_timeout(Duration::from_secs(10))
        .expect("the sender goes on once the reader caught up");
    waiter.join().unwrap();
    assert!(*socket.written.lock().unwrap() > LIMITS.max_bytes / 4);
}

#[test]
fn a_reader_that_makes_no_progress_is_waited_for_once_then_left_to_overflow() {
    let (socket, reader) = gated();
    let (_, sender) = gated();
    let mut owed = Owed::new();
    fill_past_the_mark(&reader, &mut owed);
    owed.wait_for_laggards(&sender);
    // Returns after the stall time. Stalled: more frames do not make it a
    // laggard again; it overflows.
    let mut pushed = 0;
    while owed.push(&reader, frame(b'y')) {
        assert!(!owed.has_laggards(), "a stalled reader is not waited for");
        pushed += 1;
        assert!(pushed < 1000, "the queue must overflow");
    }
    assert!(
        pushed > 0,
        "frames were taken after the stall, without a wait"
    );
    drop(owed);
    socket.allow(1);
}

/// A stalled reader that reads again and catches up is waited for again
/// the next time it falls behind.
#[test]
fn a_stalled_reader_that_catches_up_is_waited_for_again() {
    let (socket, reader) = gated();
    let (_, sender) = gated();
    let mut owed = Owed::new();
    fill_past_the_mark(&reader, &mut owed);
    owed.wait_for_laggards(&sender); // stalled
    assert!(owed.push(&reader, frame(b'z')), "{:?}", reader.closed());
    assert!(!owed.has_laggards(), "stalled: not waited for");
    // It reads everything: caught up, no longer stalled. Waiting for the
    // queue to hold nothing, not for the bytes to reach the socket: the
    // writer counts them off the queue (and clears the stall) just after,
    // and a fill in between found it still stalled and overflowed it (one
    // run of eight of the whole suite).
    socket.allow(usize::MAX / 4);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while reader.shared.held_bytes() > 0 {
        assert!(std::time::Instant::now() < deadline, "the writer drains it");
        thread::yield_now();
    }
    // Blocked again from here: the next batch waits for a permit.
    *socket.permits.lock().unwrap() = 0;
    fill_past_the_mark(&reader, &mut owed);
    assert!(owed.has_laggards(), "behind again: waited for again");
    drop(owed);
    socket.allow(usize::MAX / 4);
}

#[test]
fn a_session_never_waits_for_its_own_queue() {
    let (socket, own) = gated();
    let mut owed = Owed::new();
    fill_past_the_mark(&own, &mut owed);
    let (done, waited) = mpsc::channel();
    let me = own.clone();
    thread::spawn(move || {
        owed.wait_for_laggards(&me);
        done.send(()).unwrap();
    });
    waited
        .recv_timeout(Duration::from_millis(500))
        .expect("no wait for one's own queue (it is less than the stall time)");
    socket.allow(usize::MAX / 2);
}
