//! The accept loops: the main port, which serves every protocol (the
//! session reads the first line to pick the door), and the optional
//! IRC-only and browser-only ports. They share one cap on clients, one
//! count per IP address and one numbering of session threads, and each
//! connection gets its own thread, `client-N`.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::event::Event;

use super::capacity::Capacity;
use super::console::Console;
use super::door::Protocol;
use super::limits::PerIp;
use super::session;
use super::Shared;

/// Stack of a session thread: it parses frames and formats lines, no deep recursion.
pub const SESSION_STACK: usize = 128 * 1024;
/// `errno` for "too many open files" in this process (Linux and the BSDs).
const EMFILE: i32 = 24;

/// What all the accept loops share.
pub struct Gate {
    pub shared: Shared,
    pub capacity: Capacity,
    /// Sessions alive now.
    pub live: Arc<AtomicUsize>,
    per_ip: PerIp,
    /// The last session thread's number.
    numbered: AtomicU64,
    /// Whether the operator was told that the cap is near.
    warned_near: AtomicBool,
}

impl Gate {
    pub fn new(shared: Shared, capacity: Capacity, live: Arc<AtomicUsize>) -> Gate {
        Gate {
            shared,
            capacity,
            live,
            per_ip: PerIp::default(),
            numbered: AtomicU64::new(0),
            warned_near: AtomicBool::new(false),
        }
    }
}

/// Accepts connections on `listener` for ever; `door` is the protocol a
/// dedicated port speaks (`None`: the main port, where the first line says).
pub fn accept_loop(listener: &TcpListener, gate: &Arc<Gate>, door: Option<Protocol>) {
    let console = &gate.shared.console;
    let config = &gate.shared.config;
    let mut accept_complaint = Complaint::default();
    let mut full_complaint = Complaint::default();
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors (EMFILE/ENFILE) or a transient failure:
                // back off instead of spinning, and say so at most once a second.
                accept_complaint.say(console, || {
                    let hint = match (&gate.capacity.descriptor_hint, e.raw_os_error()) {
                        (Some(hint), Some(EMFILE)) => format!(" ({hint})"),
                        _ => String::new(),
                    };
                    format!("accept failed: {e}{hint}; retrying")
                });
                thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let clients = gate.live.load(Ordering::Acquire);
        if clients >= config.max_clients {
            full_complaint.say(console, || {
                let why = gate
                    .capacity
                    .lowered_because
                    .as_deref()
                    .unwrap_or("raise --max-clients for more");
                format!("server full: {clients} clients connected, newcomers turned away; {why}")
            });
            turn_away(
                stream,
                door,
                "server full: too many clients connected; try again later",
            );
            continue;
        }
        // Said once a run, when it starts to matter.
        if clients + 1 >= gate.capacity.near() && !gate.warned_near.swap(true, Ordering::Relaxed) {
            let why = gate
                .capacity
                .lowered_because
                .as_deref()
                .unwrap_or("set by --max-clients");
            console.say(format!(
                "note: {} clients connected, near the cap of {}: {why}",
                clients + 1,
                config.max_clients
            ));
        }
        let Some(slot) = gate.per_ip.try_acquire(peer.ip(), config.max_per_ip) else {
            turn_away(
                stream,
                door,
                "too many connections from your address; close some and try again",
            );
            continue;
        };
        let n = gate.numbered.fetch_add(1, Ordering::Relaxed) + 1;
        gate.live.fetch_add(1, Ordering::AcqRel);
        let guard = LiveGuard(Arc::clone(&gate.live));
        // One pointer for the new thread to take: what it takes sits in its
        // first frames for as long as it lives, and an idle session's
        // frames must all fit in its stack's top page (`session/quiet.rs`).
        let start = Box::new((stream, peer, guard, slot, Arc::clone(gate)));
        let spawned = thread::Builder::new()
            .name(format!("client-{n}"))
            .stack_size(SESSION_STACK)
            .spawn(move || {
                let (stream, peer, guard, slot, gate) = *start;
                let _held = (guard, slot);
                session::run(stream, peer, door, &gate.shared);
            });
        if let Err(e) = spawned {
            // The closure, with the stream and the guard, was dropped: the
            // peer sees the connection close and the count is already right.
            console.say(format!(
                "cannot start a thread for {peer}: {e}; connection dropped"
            ));
        }
    }
}

/// A console complaint said at most once a second, however often its cause recurs.
#[derive(Default)]
struct Complaint {
    last: Option<Instant>,
}

impl Complaint {
    fn say(&mut self, console: &Console, text: impl FnOnce() -> String) {
        if self
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            console.say(text());
            self.last = Some(Instant::now());
        }
    }
}

/// Counts a live session; the count drops when the guard does, however the
/// session ends (a panic included).
struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Sends a one-message refusal to a connection we will not serve, in the
/// port's protocol when it has only one (our frames on the main port, whose
/// peer has not said which it speaks), without letting a peer that does not
/// read stall the accept loop.
fn turn_away(stream: TcpStream, door: Option<Protocol>, reason: &str) {
    let _ = stream.set_nonblocking(true);
    let bytes = match door {
        Some(Protocol::Irc) => format!("ERROR :Closing link: {reason}\r\n").into_bytes(),
        Some(Protocol::Web) => format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reason}",
            reason.len()
        )
        .into_bytes(),
        Some(Protocol::Chat) | None => Event::Bye {
            reason: reason.to_string(),
        }
        .to_frame()
        .encode(),
    };
    let _ = (&stream).write_all(&bytes);
}
