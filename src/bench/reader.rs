//! The reader threads, one per connection: each counts deliveries and their
//! latency, checks replies and answers pings until the clients quit.

use std::io;
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use super::login::Client;
use super::shared::{lock, Shared};
use super::stats::Histogram;
use super::wire::{send, Fill, Inbound, Protocol, Wire};
use super::workload::body_send_time;

/// Stack of each reader thread: a reader parses frames on the heap, so a
/// small stack is plenty and keeps a thousand readers cheap.
const READER_STACK_BYTES: usize = 64 * 1024;

/// Starts the reader thread of a logged-in client.
pub(crate) fn spawn_reader(
    protocol: Protocol,
    client: &Client,
    wire: Wire,
    shared: &Arc<Shared>,
) -> io::Result<JoinHandle<()>> {
    let reader = Reader {
        id: client.id,
        protocol,
        nick: client.nick.clone(),
        room: client.room.clone(),
        writer: Arc::clone(&client.writer),
        shared: Arc::clone(shared),
    };
    thread::Builder::new()
        .name(format!("read-{}", client.nick))
        .stack_size(READER_STACK_BYTES)
        .spawn(move || reader.run(wire))
}

/// One connection's reader: counts deliveries and replies, answers pings.
struct Reader {
    /// The client's index.
    id: usize,
    protocol: Protocol,
    nick: String,
    room: String,
    writer: Arc<Mutex<Arc<TcpStream>>>,
    shared: Arc<Shared>,
}

impl Reader {
    /// Reads until the server closes after QUIT, or the stop flag, or an error.
    fn run(self, mut wire: Wire) {
        let mut latency = None;
        if let Err(e) = self.read_all(&mut wire, &mut latency) {
            if !self.shared.quitting.load(Ordering::Relaxed) {
                self.shared.fail(format!("{}: {e}", self.nick));
            }
        }
        if let Some(mine) = latency {
            lock(&self.shared.latency).merge(&mine);
        }
        self.shared.readers_done.fetch_add(1, Ordering::Relaxed);
    }

    /// The read loop. Everything one read brought counts as arrived when the
    /// read returned, and the shared counters are updated once per read.
    fn read_all(&self, wire: &mut Wire, latency: &mut Option<Histogram>) -> Result<(), String> {
        let shared = &self.shared;
        let mut arrived = shared.now_ns();
        loop {
            let mut delivered = 0;
            while let Some((msg, used)) = self.protocol.parse(wire.pending())? {
                let sent = self.handle(msg)?;
                wire.consume(used);
                if let Some(sent) = sent {
                    delivered += 1;
                    let h = latency.get_or_insert_with(Histogram::new);
                    h.record(arrived.saturating_sub(sent));
                }
            }
            if delivered > 0 {
                shared
                    .last_delivery_ns
                    .fetch_max(arrived, Ordering::Relaxed);
                shared.deliveries.fetch_add(delivered, Ordering::Relaxed);
                shared.per_client[self.id].fetch_add(delivered, Ordering::Relaxed);
            }
            if shared.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            match wire.fill().map_err(|e| format!("read: {e}"))? {
                Fill::Data => arrived = shared.now_ns(),
                Fill::Timeout => {}
                Fill::Eof if shared.quitting.load(Ordering::Relaxed) => return Ok(()),
                Fill::Eof => return Err("server closed the connection".to_string()),
            }
        }
    }

    /// Acts on one message; for a live delivery with a send time, returns
    /// that send time.
    fn handle(&self, msg: Inbound<'_>) -> Result<Option<u64>, String> {
        let shared = &self.shared;
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
            Inbound::Reply { code, text } => self.reply(code, &text),
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

    /// Chat: every reply after login answers a SAY (or the final QUIT).
    /// IRC: there is no positive reply to PRIVMSG, only error numerics.
    fn reply(&self, code: u16, text: &str) {
        let shared = &self.shared;
        let ok = match self.protocol {
            Protocol::Chat => (200..300).contains(&code),
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
