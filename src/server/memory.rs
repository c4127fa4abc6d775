//! Giving memory back to the system: the allocator's free pages, and the
//! stack pages an idle session thread no longer uses. With a thread per client, the C
//! allocator spreads the heap over many arenas and keeps what is freed in
//! them; after a burst (queues that filled, then were dropped; a crowd
//! that came and went) the process would keep its peak size for good. A
//! small thread watches the queued bytes and the clients, and when either
//! has fallen well below its peak since the last time, asks the allocator
//! to return its free pages (`malloc_trim`, glibc).

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::outbox::Budget;

/// How often the watcher looks.
const EVERY: Duration = Duration::from_secs(1);
/// How far queued bytes must have fallen from their peak to trim.
const QUEUED_DROP_BYTES: usize = 8 << 20;
/// How many clients must have left since the peak to trim.
const CLIENTS_DROP: usize = 64;
/// How often at most many sessions going quiet lead to a trim: under a
/// steady trickle of quiet sessions a trim every second would cost more
/// than it returns.
const QUIET_TRIM_EVERY: Duration = Duration::from_secs(30);

/// Starts the watcher.
///
/// # Errors
/// The thread could not be started.
pub fn spawn_trimmer(budget: Arc<Budget>, live: Arc<AtomicUsize>) -> io::Result<()> {
    thread::Builder::new()
        .name("trim".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let (mut queued_peak, mut clients_peak) = (0, 0);
            let mut quiet_then = QUIETED.load(Ordering::Relaxed);
            let mut trimmed = Instant::now();
            loop {
                thread::sleep(EVERY);
                let (queued, clients) = (budget.total(), live.load(Ordering::Relaxed));
                let quiet = QUIETED.load(Ordering::Relaxed);
                queued_peak = queued_peak.max(queued);
                clients_peak = clients_peak.max(clients);
                let quieted =
                    quiet >= quiet_then + CLIENTS_DROP && trimmed.elapsed() >= QUIET_TRIM_EVERY;
                if queued + QUEUED_DROP_BYTES <= queued_peak
                    || clients + CLIENTS_DROP <= clients_peak
                    || quieted
                {
                    trim();
                    (queued_peak, clients_peak, quiet_then) = (queued, clients, quiet);
                    trimmed = Instant::now();
                }
            }
        })?;
    Ok(())
}

/// How many times a session went quiet and gave its buffers back: when
/// many have, their freed memory is worth returning to the system.
static QUIETED: AtomicUsize = AtomicUsize::new(0);

/// Counts a session gone quiet (see `QUIETED`).
pub fn went_quiet() {
    QUIETED.fetch_add(1, Ordering::Relaxed);
}

/// Returns the allocator's free pages to the system, where it can.
pub fn trim() {
    sys::trim();
}

/// Arenas the C allocator may use. glibc gives each new thread an arena
/// of its own up to eight per core; with a thread per client each arena
/// then interleaves dozens of sessions' allocations and keeps its own free
/// space, which measured at 6 KiB per idle client. Two arenas keep that
/// near 4 KiB; sessions mostly allocate at login and when messages pass,
/// so they seldom contend for them.
const ARENAS: i32 = 2;

/// Sets the allocator up for many threads; called once, before any session.
pub fn tune_allocator() {
    sys::set_arena_max(ARENAS);
}

/// The glibc tunable that sizes each thread's cache of freed blocks.
const TCACHE_TUNABLE: &str = "glibc.malloc.tcache_count";

/// Turns off glibc's per-thread cache of freed blocks (up to seven blocks
/// of each of 64 sizes, per thread), which no trim returns while the
/// thread lives. With a thread per client that cache is most of an idle
/// client's heap: an IRC login, whose welcome allocates many sizes, left
/// 51.6 KiB RSS per idle client with it and 14.5 KiB without (a chat login
/// 16.4 and 13.4; 1,000 idle clients, `chat-bench --hold`); flood
/// throughput and server CPU did not measurably change. glibc reads the
/// setting from `GLIBC_TUNABLES` when the process starts, so the server
/// runs itself again, once, with it set: before any thread exists, as the
/// same process (`exec`). An environment that already sizes the cache
/// is left alone, and if the `exec` fails the server runs as it is.
pub fn without_thread_caches() {
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if !cfg!(all(target_os = "linux", target_env = "gnu")) || tunables.contains(TCACHE_TUNABLE) {
        return;
    }
    let Ok(me) = std::env::current_exe() else {
        return;
    };
    let tunables = match tunables.as_str() {
        "" => format!("{TCACHE_TUNABLE}=0"),
        other => format!("{other}:{TCACHE_TUNABLE}=0"),
    };
    let mut again = std::process::Command::new(me);
    again
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", tunables);
    // Returns only if the exec failed: run on, with the cache.
    let _ = std::os::unix::process::CommandExt::exec(&mut again);
}

/// Page size assumed for stack arithmetic (x86-64 and most others).
const PAGE: usize = 4096;
/// Stack kept below the releasing frame for the call that releases.
const CALL_ROOM: usize = 1024;

/// A point near the top of a thread's stack, taken when the thread starts,
/// so that the thread can later give back the stack pages it touched once
/// (logging in goes three pages deep) and no longer uses while it waits: a
/// thousand idle clients would otherwise hold a page each for nothing.
pub struct StackMark {
    top: usize,
    /// How far below `top` the stack certainly still is (well above its guard).
    reach: usize,
}

impl StackMark {
    /// Marks the caller's frame on a stack of `stack_size` bytes.
    #[inline(never)]
    pub fn here(stack_size: usize) -> StackMark {
        let probe = 0u8;
        StackMark {
            top: std::hint::black_box(&probe) as *const u8 as usize,
            reach: stack_size / 4 * 3,
        }
    }

    /// Gives back the stack pages below the caller's frame (and below what
    /// the `madvise` call itself needs): nothing there is in use (the stack
    /// grows down from `top`), and a page touched again is simply a fresh
    /// zero page.
    #[inline(never)]
    pub fn release_below_caller(&self) {
        let probe = 0u8;
        let here = std::hint::black_box(&probe) as *const u8 as usize;
        let high = here.saturating_sub(CALL_ROOM) & !(PAGE - 1);
        let low = (self.top.saturating_sub(self.reach) + PAGE - 1) & !(PAGE - 1);
        if high > low && here <= self.top {
            sys::release(low, high - low);
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod sys {
    use std::os::raw::c_int;

    extern "C" {
        fn malloc_trim(pad: usize) -> c_int;
        fn mallopt(param: c_int, value: c_int) -> c_int;
    }
    /// From glibc's `<malloc.h>`.
    const M_ARENA_MAX: c_int = -8;

    pub fn set_arena_max(arenas: i32) {
        // SAFETY: mallopt takes two integers and only adjusts the
        // allocator's parameters; M_ARENA_MAX may be set at any time.
        unsafe {
            mallopt(M_ARENA_MAX, arenas);
        }
    }

    pub fn trim() {
        // SAFETY: malloc_trim takes no pointers and may be called from any
        // thread at any time; it only releases memory the allocator owns
        // and no longer uses.
        unsafe {
            malloc_trim(0);
        }
    }

    extern "C" {
        fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: c_int) -> c_int;
    }
    /// From Linux's `<sys/mman.h>`.
    const MADV_DONTNEED: c_int = 4;

    /// Drops the pages of `[addr, addr + len)`, which must be unused memory
    /// of this thread's own stack, below its frames.
    pub fn release(addr: usize, len: usize) {
        // SAFETY: the caller guarantees the page-aligned range lies inside
        // this thread's stack mapping, below every live frame; the kernel
        // then maps fresh zero pages there on the next touch, which is all
        // a stack below its pointer may expect.
        unsafe {
            madvise(addr as *mut std::ffi::c_void, len, MADV_DONTNEED);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod sys {
    /// Other allocators return memory by themselves (or not at all).
    pub fn trim() {}

    /// Other allocators arrange their arenas themselves.
    pub fn set_arena_max(_: i32) {}

    /// Elsewhere the pages stay: correct, only larger.
    pub fn release(_: usize, _: usize) {}
}
