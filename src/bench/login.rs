//! Connecting and logging in: the reply wait both protocols' logins share,
//! one client's login (socket setup, then its protocol's conversation, all
//! bounded by a deadline) and the login phase, a bounded number of logins in
//! flight, each client handed to the reader threads as soon as it is in.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::args::Config;
use super::chat::login_chat;
use super::irc::login_irc;
use super::reader::Readers;
use super::shared::{lock, Shared};
use super::wire::{send, Fill, Inbound, Protocol, Wire};
use super::workload::{nick, room_name, room_of};
use super::ws::login_ws;

/// How long a login read waits before it looks at the deadline again.
const READ_POLL: Duration = Duration::from_millis(200);
/// Longest a single write may block before the client counts as stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A logged-in client, as the senders see it.
pub(crate) struct Client {
    pub(crate) id: usize,
    pub(crate) nick: String,
    /// The room name as the protocol spells it.
    pub(crate) room: String,
    /// Shared with the reader, which answers pings through it.
    pub(crate) writer: Arc<Mutex<Arc<TcpStream>>>,
}

/// How a login step judges a reply.
pub(crate) enum Verdict {
    Done,
    Fail,
    Skip,
}

/// Reads until a reply that `judge` calls done (`Ok`) or failed (`Err` with
/// its text), answering pings and skipping everything else. With `entered`
/// = (room, nick), done also needs that client's own JOIN event for that
/// room, in either order: only the event proves the server has made it a
/// member, so only then can it count on every message sent to the room.
/// Bounded by `deadline`.
pub(crate) fn await_reply(
    protocol: Protocol,
    wire: &mut Wire,
    writer: &Mutex<Arc<TcpStream>>,
    deadline: Instant,
    judge: impl Fn(u16) -> Verdict,
    entered: Option<(&str, &str)>,
) -> Result<Result<(), String>, String> {
    let mut replied = false;
    let mut joined = entered.is_none();
    loop {
        while let Some((msg, used)) = wire.parse(protocol)? {
            let outcome = match msg {
                Inbound::Reply { code, text } if !replied => match judge(code) {
                    Verdict::Done => {
                        replied = true;
                        None
                    }
                    Verdict::Fail => Some(Err(text)),
                    Verdict::Skip => None,
                },
                Inbound::Joined { room, nick } => {
                    joined |= entered.is_some_and(|(r, n)| {
                        room.eq_ignore_ascii_case(r) && nick.eq_ignore_ascii_case(n)
                    });
                    None
                }
                Inbound::Ping(pong) => {
                    send(writer, &pong).map_err(|e| format!("send: {e}"))?;
                    None
                }
                Inbound::Closing(why) => return Err(format!("server closed: {why}")),
                Inbound::Reply { .. } | Inbound::Delivery { .. } | Inbound::Other => None,
            };
            wire.consume(used);
            if let Some(outcome) = outcome {
                return Ok(outcome);
            }
            if replied && joined {
                return Ok(Ok(()));
            }
        }
        if Instant::now() >= deadline {
            return Err("timed out".to_string());
        }
        match wire.fill().map_err(|e| format!("read: {e}"))? {
            Fill::Data | Fill::Nothing => {}
            Fill::Eof => return Err("server closed the connection".to_string()),
        }
    }
}

/// Connects client `i` and logs it in, in its room. Returns the client and
/// the reading half, which still holds whatever arrived after the login.
fn login(
    config: &Config,
    addr: SocketAddr,
    i: usize,
    deadline: Instant,
) -> Result<(Client, Wire), String> {
    let nick = nick(i);
    let room = room_name(config.protocol, room_of(i, config.rooms), config.rooms);
    let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .map_err(|e| format!("{nick}: connect to {addr}: {e}"))?;
    let setup = || -> io::Result<()> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_POLL))?;
        stream.set_write_timeout(Some(WRITE_TIMEOUT))
    };
    setup().map_err(|e| format!("{nick}: socket setup: {e}"))?;
    let stream = Arc::new(stream);
    let writer = Mutex::new(Arc::clone(&stream));
    let mut wire = Wire::new(stream, config.quick_ack);
    let steps = match config.protocol {
        Protocol::Chat => login_chat(
            Protocol::Chat,
            &mut wire,
            &writer,
            &nick,
            &room,
            config.rooms,
            deadline,
        ),
        Protocol::Ws => login_ws(
            &mut wire,
            &writer,
            addr,
            &nick,
            &room,
            config.rooms,
            deadline,
        ),
        Protocol::Irc => login_irc(&mut wire, &writer, &nick, &room, deadline),
    };
    steps.map_err(|e| format!("{nick}: {e}"))?;
    let writer = Arc::new(writer);
    let client = Client {
        id: i,
        nick,
        room,
        writer,
    };
    Ok((client, wire))
}

/// What the login phase produced.
pub(crate) struct LoginOutcome {
    /// The logged-in clients, in client order (all of them on success).
    pub(crate) clients: Vec<Client>,
    pub(crate) elapsed: Duration,
}

/// Logs every client in, `config.logins` at a time, handing each one to
/// `readers` as soon as it is in. Stops early at the first failure.
pub(crate) fn login_all(
    config: &Config,
    addrs: &[SocketAddr],
    shared: &Shared,
    readers: &Readers,
    budget: Duration,
) -> LoginOutcome {
    let started = Instant::now();
    let deadline = started + budget;
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Client>>> = Mutex::new((0..config.clients).map(|_| None).collect());
    let workers = config.clients.min(config.logins);
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= config.clients || shared.failure().is_some() {
                    break;
                }
                // Spread over the nodes of a cluster, round robin.
                let addr = addrs[i % addrs.len()];
                match login(config, addr, i, deadline) {
                    Ok((client, wire)) => {
                        if let Err(e) = readers.adopt(&client, wire) {
                            shared.fail(format!("{}: cannot watch its socket: {e}", client.nick));
                        }
                        lock(&slots)[i] = Some(client);
                    }
                    Err(e) => shared.fail(format!("login failed: {e}")),
                }
            });
        }
    });
    let clients: Vec<Client> = slots
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect();
    if clients.len() < config.clients {
        shared.fail(format!(
            "login phase stopped with {} of {} clients logged in",
            clients.len(),
            config.clients
        ));
    }
    LoginOutcome {
        clients,
        elapsed: started.elapsed(),
    }
}
