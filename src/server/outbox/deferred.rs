//! Deliveries a thread owes, paid before it next blocks.
//!
//! A session thread that takes a client's frames off its read buffer may
//! handle several before it next reads from the socket. Each message makes
//! it responsible for flushing some recipients' queues; collecting those
//! duties and paying them once the buffer is spent (just before the thread
//! could block in `read`) sends each recipient everything in one write.
//! It also keeps every socket write out of the hub's critical sections:
//! frames are enqueued under the lock, written after it.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::mem;

use super::{Duty, Outbox};

/// Past this many duties, new ones are paid at once rather than collected.
const MAX_OWED: usize = 4096;

struct Owed {
    /// Open `Deferral`s on this thread; duties are collected while above 0.
    depth: usize,
    duties: Vec<(Outbox, Duty)>,
}

thread_local! {
    static OWED: RefCell<Owed> = const {
        RefCell::new(Owed { depth: 0, duties: Vec::new() })
    };
}

/// While one lives, queues this thread must flush are collected, not
/// flushed on the spot; they are flushed by `flush_owed` and when it drops
/// (on unwinding too, so a panic cannot strand anybody's messages).
pub struct Deferral {
    /// Thread-bound: the duties are this thread's.
    _thread: PhantomData<*const ()>,
}

impl Deferral {
    pub fn begin() -> Deferral {
        OWED.with(|o| o.borrow_mut().depth += 1);
        Deferral {
            _thread: PhantomData,
        }
    }
}

impl Drop for Deferral {
    fn drop(&mut self) {
        let last = OWED.with(|o| {
            let mut o = o.borrow_mut();
            o.depth -= 1;
            o.depth == 0
        });
        if last {
            flush_owed();
        }
    }
}

/// Records that this thread owes `duty` to `outbox`. `false` when no
/// deferral is open (or too much is owed already): the caller pays now.
pub(super) fn owe(outbox: &Outbox, duty: Duty) -> bool {
    OWED.with(|o| {
        let mut o = o.borrow_mut();
        if o.depth == 0 || o.duties.len() >= MAX_OWED {
            return false;
        }
        o.duties.push((outbox.clone(), duty));
        true
    })
}

/// True when this thread owes deliveries.
pub fn owes_any() -> bool {
    OWED.with(|o| !o.borrow().duties.is_empty())
}

/// Flushes every queue this thread owes. Call it before anything that may
/// block: other senders' frames to those recipients wait for it too.
pub fn flush_owed() {
    let mut owed = OWED.with(|o| mem::take(&mut o.borrow_mut().duties));
    if owed.is_empty() {
        return;
    }
    for (outbox, duty) in owed.drain(..) {
        outbox.pay(duty);
    }
    // Keep the allocation for the next round, unless a huge room made it big.
    if owed.capacity() <= 1024 {
        OWED.with(|o| {
            let mut o = o.borrow_mut();
            if o.duties.is_empty() {
                o.duties = owed;
            }
        });
    }
}
