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
/// Looks after a crowd left at which what it still frees is trimmed.
const FOLLOW_UPS: u32 = 5;

/// Starts the watcher.
///
/// # Errors
/// The thread could not be started.
pub fn spawn_trimmer(budget: Arc<Budget>, live: Arc<AtomicUsize>) -> io::Result<()> {
    thread::Builder::new()
        .name("trim".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let mut watch = Watch::new(QUIETED.load(Ordering::Relaxed));
            loop {
                thread::sleep(EVERY);
                let (queued, clients) = (budget.total(), live.load(Ordering::Relaxed));
                let quiet = QUIETED.load(Ordering::Relaxed);
                if watch.look(queued, clients, quiet, Instant::now()) {
                    trim();
                }
            }
        })?;
    Ok(())
}

/// What the trimmer remembers between looks, and when it trims.
struct Watch {
    queued_peak: usize,
    clients_peak: usize,
    quiet_then: usize,
    /// `None`: no trim yet, so the first crowd to go quiet is trimmed at
    /// once rather than 30 s after the start.
    trimmed: Option<Instant>,
    /// Looks left after a trim for a crowd that left or queues that
    /// drained, at which a further fall is trimmed too: a crowd leaves over
    /// a few seconds, and what the last of it frees after the first trim
    /// would otherwise stay until the next crowd. Bounded, so a steady
    /// trickle of leaves does not trim every second.
    follow_ups: u32,
}

impl Watch {
    fn new(quiet: usize) -> Watch {
        Watch {
            queued_peak: 0,
            clients_peak: 0,
            quiet_then: quiet,
            trimmed: None,
            follow_ups: 0,
        }
    }

    /// One look at the queued bytes, the clients and the sessions gone
    /// quiet so far: true when it is time to trim.
    ///
    /// The first look after a trim for a drop trims again, whatever it
    /// sees: the budget falls when a queue closes, but its frames are freed
    /// when their last holder lets go, a moment later; a trim in between
    /// left up to 14 MiB of freed heap resident for good (`tests/memory.rs`,
    /// one run in four or five on a busy machine).
    fn look(&mut self, queued: usize, clients: usize, quiet: usize, now: Instant) -> bool {
        let again = self.follow_ups == FOLLOW_UPS;
        let fell = self.follow_ups > 0
            && (again || queued < self.queued_peak || clients < self.clients_peak);
        self.queued_peak = self.queued_peak.max(queued);
        self.clients_peak = self.clients_peak.max(clients);
        let quieted = quiet >= self.quiet_then + CLIENTS_DROP
            && self
                .trimmed
                .is_none_or(|t| now.duration_since(t) >= QUIET_TRIM_EVERY);
        let dropped = queued + QUEUED_DROP_BYTES <= self.queued_peak
            || clients + CLIENTS_DROP <= self.clients_peak;
        let trim = dropped || fell || quieted;
        if trim {
            (self.queued_peak, self.clients_peak, self.quiet_then) = (queued, clients, quiet);
            self.trimmed = Some(now);
        }
        self.follow_ups = if dropped {
            FOLLOW_UPS
        } else {
            self.follow_ups.saturating_sub(1)
        };
        trim
    }
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

/// The glibc tunables the server runs with, each unless the environment
/// already sets it:
///
/// - `glibc.malloc.tcache_count=0`: no per-thread cache of freed blocks
///   (up to seven blocks of each of 64 sizes, per thread), which no trim
///   returns while the thread lives. With a thread per client that cache
///   was most of an idle client's heap: an IRC login, whose welcome
///   allocates many sizes, left 51.6 KiB RSS per idle client with it and
///   14.5 KiB without (a chat login 16.4 and 13.4; 1,000 idle clients,
///   `chat-bench --hold`); flood throughput and server CPU did not
///   measurably change.
/// - `glibc.rtld.nns=1` and `glibc.rtld.optional_static_tls=0`: the room
///   each thread keeps beside its thread-locals for libraries loaded later
///   (`dlopen`) into other link namespaces or with static TLS, 1,520 bytes
///   by default, which the server never loads; 144 bytes stay for one. That
///   room sits in the top page of every thread's stack, and without it the
///   thread's control block, its thread-locals and an idle session's
///   frames fit in that one page (`session/quiet.rs`).
const TUNABLES: [(&str, &str); 3] = [
    ("glibc.malloc.tcache_count", "0"),
    ("glibc.rtld.nns", "1"),
    ("glibc.rtld.optional_static_tls", "0"),
];

/// Runs the server with `TUNABLES`. glibc reads them from `GLIBC_TUNABLES`
/// when the process starts, so the server runs itself again, once, with
/// them added: before any thread exists, as the same process (`exec`). An
/// environment that already sets them all is left alone, and if the
/// `exec` fails the server runs as it is.
pub fn with_glibc_tunables() {
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    let wanted = with_ours(&tunables);
    if !cfg!(all(target_os = "linux", target_env = "gnu")) || wanted == tunables {
        return;
    }
    let Ok(me) = std::env::current_exe() else {
        return;
    };
    let mut again = std::process::Command::new(me);
    again
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", wanted);
    // Returns only if the exec failed: run on, as we are.
    let _ = std::os::unix::process::CommandExt::exec(&mut again);
}

/// `tunables` (a `GLIBC_TUNABLES` value) with each of `TUNABLES` it does
/// not set added.
fn with_ours(tunables: &str) -> String {
    let mut wanted = tunables.to_string();
    for (name, value) in TUNABLES {
        let set = tunables
            .split(':')
            .any(|t| t.split('=').next() == Some(name));
        if !set {
            if !wanted.is_empty() {
                wanted.push(':');
            }
            wanted.push_str(&format!("{name}={value}"));
        }
    }
    wanted
}

/// Page size assumed for stack arithmetic (x86-64 and most others).
const PAGE: usize = 4096;
/// Stack kept below the releasing function's stack pointer: `madvise`
/// needs only its return address there (the server is linked with
/// immediate binding, so no lazy symbol lookup runs on this stack); this
/// is the x86-64 red zone's size, for margin. Small, so that a release made
/// near the top of the stack keeps only the top page.
const CALL_ROOM: usize = 128;

/// The top of a thread's stack, taken in its first frames, so that the
/// thread can later give back the stack pages it touched once (logging in
/// goes three pages deep) and no longer uses while it waits: a thousand
/// idle clients would otherwise hold pages for nothing.
pub struct StackMark {
    /// The end of the page the mark was taken in: the stack's top when
    /// taken in the top page, as a thread's first frames are.
    top: usize,
    /// How far below `top` the stack certainly still is (well above its guard).
    reach: usize,
}

impl StackMark {
    /// Marks the top of the caller's stack of `stack_size` bytes; called
    /// from a frame in its top page.
    #[inline(never)]
    pub fn here(stack_size: usize) -> StackMark {
        let probe = 0u8;
        let at = std::hint::black_box(&probe) as *const u8 as usize;
        StackMark {
            top: (at | (PAGE - 1)) + 1,
            reach: stack_size / 4 * 3,
        }
    }

    /// Gives back the stack pages below the caller's frame (and below what
    /// the `madvise` call itself needs): nothing there is in use (the stack
    /// grows down from `top`), and a page touched again is simply a fresh
    /// zero page.
    #[inline(never)]
    pub fn release_below_caller(&self) {
        let here = stack_pointer();
        let high = here.saturating_sub(CALL_ROOM) & !(PAGE - 1);
        let low = (self.top.saturating_sub(self.reach) + PAGE - 1) & !(PAGE - 1);
        if high > low && here <= self.top {
            sys::release(low, high - low);
        }
    }
}

/// The stack pointer of the caller (inlined into it).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: copies the stack pointer into a register; reads and writes
    // no memory.
    unsafe {
        std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags));
    }
    sp
}

/// Elsewhere, a local's address: a little above the stack pointer, so
/// the room kept below it is larger.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn stack_pointer() -> usize {
    let probe = 0u8;
    (std::hint::black_box(&probe) as *const u8 as usize).saturating_sub(CALL_ROOM)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drop_is_trimmed_and_trimmed_again_at_the_next_look_then_left() {
        let mut watch = Watch::new(0);
        let t = Instant::now();
        assert!(!watch.look(20 << 20, 100, 0, t), "growing: nothing to trim");
        assert!(watch.look(0, 100, 0, t), "queues drained: trim");
        assert!(watch.look(0, 100, 0, t), "the next look trims again");
        for _ in 0..10 {
            assert!(!watch.look(0, 100, 0, t), "then nothing changes, no trim");
        }
    }

    #[test]
    fn a_crowd_leaving_is_followed_while_it_leaves() {
        let mut watch = Watch::new(0);
        let t = Instant::now();
        assert!(!watch.look(0, 1000, 0, t));
        assert!(watch.look(0, 900, 0, t), "100 left");
        assert!(watch.look(0, 900, 0, t), "the look after");
        assert!(watch.look(0, 890, 0, t), "ten more, within the follow-ups");
        for _ in 0..10 {
            assert!(!watch.look(0, 890, 0, t));
        }
    }

    #[test]
    fn sessions_gone_quiet_are_trimmed_at_once_then_at_most_every_30_s() {
        let mut watch = Watch::new(0);
        let t = Instant::now();
        assert!(!watch.look(0, 100, 10, t));
        assert!(watch.look(0, 100, 64, t), "the first crowd to go quiet");
        assert!(!watch.look(0, 100, 200, t + Duration::from_secs(5)));
        assert!(watch.look(0, 100, 200, t + QUIET_TRIM_EVERY));
    }

    #[test]
    fn our_tunables_are_added_to_what_the_environment_sets() {
        let ours = "glibc.malloc.tcache_count=0:glibc.rtld.nns=1:glibc.rtld.optional_static_tls=0";
        assert_eq!(with_ours(""), ours);
        assert_eq!(with_ours(ours), ours);
        assert_eq!(
            with_ours("glibc.malloc.tcache_count=3"),
            "glibc.malloc.tcache_count=3:glibc.rtld.nns=1:glibc.rtld.optional_static_tls=0"
        );
        assert_eq!(
            with_ours("glibc.rtld.nns=2:glibc.mem.tagging=1"),
            "glibc.rtld.nns=2:glibc.mem.tagging=1:glibc.malloc.tcache_count=0:glibc.rtld.optional_static_tls=0"
        );
    }
}
