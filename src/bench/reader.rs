//! The reader threads: a few threads (one by default), each watching its
//! share of the connections with one epoll set. Each counts deliveries and
//! their latency, checks replies and answers pings until the clients quit.
//!
//! Why not a thread per connection, as the bench once had: nearly every
//! write a server made then woke a thread of ours, and a freshly woken
//! thread preempts a single-threaded server such as ngircd (thousands of
//! involuntary switches in one flood, against tens under a one-loop
//! client). With quick ACKs, which mean more and smaller writes from
//! ngircd, that got worse. One loop is woken once for a batch of ready
//! sockets, and is seldom asleep while a flood is on.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::login::Client;
use super::shared::{lock, Shared};
use super::stats::Histogram;
use super::sys::Epoll;
use super::wire::{send, Fill, Inbound, Protocol, Wire};
use super::workload::body_send_time;

/// How often a reader thread with nothing to read looks at the stop flag.
const READ_POLL: Duration = Duration::from_millis(100);

/// Reads a socket at most this many times in a row before serving the
/// others, so a fast stream cannot starve the rest of its thread's sockets.
const READS_PER_TURN: usize = 4;

/// The reader threads, and where a logged-in client is handed to one.
pub(crate) struct Readers {
    lanes: Vec<Arc<Lane>>,
    threads: Vec<JoinHandle<()>>,
}

/// One reader thread's epoll set, and the connections handed to it that it
/// has not taken yet.
struct Lane {
    epoll: Epoll,
    inbox: Mutex<Vec<Conn>>,
}

impl Readers {
    /// Starts `threads` reader threads, with nothing to read yet.
    ///
    /// # Errors
    /// When the kernel refuses an epoll set or a thread.
    pub(crate) fn start(
        threads: usize,
        protocol: Protocol,
        shared: &Arc<Shared>,
    ) -> io::Result<Readers> {
        let mut readers = Readers {
            lanes: Vec::with_capacity(threads),
            threads: Vec::with_capacity(threads),
        };
        for t in 0..threads {
            let lane = Arc::new(Lane {
                epoll: Epoll::new()?,
                inbox: Mutex::new(Vec::new()),
            });
            let (mine, shared) = (Arc::clone(&lane), Arc::clone(shared));
            let handle = thread::Builder::new()
                .name(format!("read-{t}"))
                .spawn(move || read_loop(&mine, protocol, &shared))?;
            readers.lanes.push(lane);
            readers.threads.push(handle);
        }
        Ok(readers)
    }

    /// Hands a logged-in client, with what it has read so far, to its
    /// reader thread (client `i` goes to thread `i % threads`).
    ///
    /// # Errors
    /// When the socket cannot be added to the thread's epoll set.
    pub(crate) fn adopt(&self, client: &Client, wire: Wire) -> io::Result<()> {
        let lane = &self.lanes[client.id % self.lanes.len()];
        let conn = Conn {
            id: client.id,
            nick: client.nick.clone(),
            room: client.room.clone(),
            writer: Arc::clone(&client.writer),
            wire,
        };
        let stream = Arc::clone(&*lock(&client.writer));
        // Into the inbox first: the thread empties it after every wait, so
        // it holds the connection before any event for it can be seen.
        lock(&lane.inbox).push(conn);
        lane.epoll.add(&stream, client.id as u64)
    }

    /// Waits for every reader thread, which returns once `shared.stop` is
    /// set (within `READ_POLL`).
    pub(crate) fn join(self, shared: &Shared) {
        for handle in self.threads {
            if handle.join().is_err() {
                shared.fail("a reader thread panicked".to_string());
            }
        }
    }
}

/// One connection, as its reader thread sees it.
struct Conn {
    /// The client's index, and its epoll token.
    id: usize,
    nick: String,
    room: String,
    /// Shared with the senders; pings are answered through it.
    writer: Arc<Mutex<Arc<std::net::TcpStream>>>,
    wire: Wire,
}

/// A reader thread: waits on its epoll set, reads each ready socket and
/// parses what it brought, until the stop flag. Its latencies are merged
/// into the shared histogram at the end.
fn read_loop(lane: &Lane, protocol: Protocol, shared: &Shared) {
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut latency = Histogram::new();
    let mut ready = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        if let Err(e) = lane.epoll.wait(&mut ready, READ_POLL) {
            shared.fail(format!("epoll_wait: {e}"));
            break;
        }
        let adopted: Vec<Conn> = lock(&lane.inbox).drain(..).collect();
        for conn in adopted {
            let slot = conn.id;
            if conns.len() <= slot {
                conns.resize_with(slot + 1, || None);
            }
            conns[slot] = Some(conn);
            // What arrived with the login replies is parsed now: no event
            // will announce bytes that were read already.
            serve(
                lane,
                &mut conns[slot],
                protocol,
                shared,
                &mut latency,
                false,
            );
        }
        for &token in &ready {
            if let Some(slot) = usize::try_from(token).ok().and_then(|t| conns.get_mut(t)) {
                serve(lane, slot, protocol, shared, &mut latency, true);
            }
        }
    }
    lock(&shared.latency).merge(&latency);
}

/// Gives the connection in `slot` its turn (see `Conn::take_turn`); once
/// it is over (closed after QUIT, or failed), empties the slot, takes the
/// socket out of the epoll set and counts the connection as done.
fn serve(
    lane: &Lane,
    slot: &mut Option<Conn>,
    protocol: Protocol,
    shared: &Shared,
    latency: &mut Histogram,
    read: bool,
) {
    let Some(conn) = slot else {
        return;
    };
    match conn.take_turn(protocol, shared, latency, read) {
        Ok(true) => return,
        Ok(false) => {}
        Err(e) => {
            if !shared.quitting.load(Ordering::Relaxed) {
                shared.fail(format!("{}: {e}", conn.nick));
            }
        }
    }
    // The senders still hold the descriptor, and epoll forgets a socket
    // only when its last descriptor closes: remove it by hand.
    let _ = lane.epoll.remove(conn.wire.stream());
    *slot = None;
    shared.readers_done.fetch_add(1, Ordering::Relaxed);
}

impl Conn {
    /// Parses what is buffered, then (when `read`) reads and parses until
    /// the socket has nothing more or `READS_PER_TURN` reads were made.
    /// Everything one read brought counts as arrived when the read
    /// returned. `Ok(false)` once the server closed the connection after QUIT.
    fn take_turn(
        &mut self,
        protocol: Protocol,
        shared: &Shared,
        latency: &mut Histogram,
        read: bool,
    ) -> Result<bool, String> {
        self.parse(protocol, shared, latency, shared.now_ns())?;
        if !read {
            return Ok(true);
        }
        for _ in 0..READS_PER_TURN {
            match self.wire.fill_now().map_err(|e| format!("read: {e}"))? {
                Fill::Data => self.parse(protocol, shared, latency, shared.now_ns())?,
                Fill::Nothing => return Ok(true),
                Fill::Eof if shared.quitting.load(Ordering::Relaxed) => return Ok(false),
                Fill::Eof => return Err("server closed the connection".to_string()),
            }
        }
        Ok(true)
    }

    /// Handles every complete message buffered, which arrived at `arrived`;
    /// the shared counters are updated once per call.
    fn parse(
        &mut self,
        protocol: Protocol,
        shared: &Shared,
        latency: &mut Histogram,
        arrived: u64,
    ) -> Result<(), String> {
        let mut delivered = 0;
        while let Some((msg, used)) = self.wire.parse(protocol)? {
            let sent = self.handle(protocol, shared, msg)?;
            self.wire.consume(used);
            if let Some(sent) = sent {
                delivered += 1;
                latency.record(arrived.saturating_sub(sent));
            }
        }
        if delivered > 0 {
            shared
                .last_delivery_ns
                .fetch_max(arrived, Ordering::Relaxed);
            shared.deliveries.fetch_add(delivered, Ordering::Relaxed);
            shared.per_client[self.id].fetch_add(delivered, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Acts on one message; for a live delivery with a send time, returns
    /// that send time.
    fn handle(
        &self,
        protocol: Protocol,
        shared: &Shared,
        msg: Inbound<'_>,
    ) -> Result<Option<u64>, String> {
        match msg {
            Inbound::Delivery { history: true, .. } | Inbound::Joined { .. } | Inbound::Other => {}
            Inbound::Delivery { room, body, .. } => {
                if !room.eq_ignore_ascii_case(&self.room) {
                    shared.misrouted.fetch_add(1, Ordering::Relaxed);
                }
                let sent = body_send_time(body);
                if sent.is_none() {
                    shared.malformed.fetch_add(1, Ordering::Relaxed);
                    shared.deliveries.fetch_add(1, Ordering::Relaxed);
                    shared.per_client[self.id].fetch_add(1, Ordering::Relaxed);
                }
                return Ok(sent);
            }
            Inbound::Reply { code, text } => self.reply(protocol, shared, code, &text),
            Inbound::Ping(pong) => {
                send(&self.writer, &pong).map_err(|e| format!("send PONG: {e}"))?
            }
            Inbound::Closing(why) if !shared.quitting.load(Ordering::Relaxed) => {
                return Err(format!("server closed the connection: {why}"));
            }
            Inbound::Closing(_) => {}
        }
        Ok(None)
    }

    /// Chat and ws: every reply after login answers a SAY (or the final QUIT).
    /// IRC: there is no positive reply to PRIVMSG, only error numerics.
    fn reply(&self, protocol: Protocol, shared: &Shared, code: u16, text: &str) {
        let ok = match protocol {
            Protocol::Chat | Protocol::Ws => (200..300).contains(&code),
            Protocol::Irc if (400..600).contains(&code) => false,
            Protocol::Irc => return,
        };
        if shared.quitting.load(Ordering::Relaxed) {
            return;
        }
        if ok {
            shared.replies_ok.fetch_add(1, Ordering::Relaxed);
        } else {
            shared.replies_rejected.fetch_add(1, Ordering::Relaxed);
            shared.fail(format!("{}: server rejected a message: {text}", self.nick));
        }
    }
}
