//! One client's life on its own thread, whatever protocol it speaks: the
//! door that decodes its input and words its replies, the read loop with
//! its deadlines, the rate limit, and the end. The loop reads; what the
//! client's requests owe to others (their queues to flush) is paid once
//! the input in hand is spent, before the thread may wait again.

pub mod account;
pub mod actions;
pub mod history;
mod quiet;

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::event::Parting;
use crate::protocol;

use super::accounts::Accounts;
use super::archive::{Markers, Pending};
use super::connection::Conn;
use super::console::Console;
use super::door::{self, Door, Poll, Protocol};
use super::files::FileStore;
use super::guard::PeerGuard;
use super::hub::{ClientId, Hub, Owed};
use super::limits::TokenBucket;
use super::listener::SESSION_STACK;
use super::memory::StackMark;
use super::outbox::{Closed, Outbox, QueueLimits, PRE_LOGIN_BYTES};
use super::socket::Socket;
use super::Config;
use super::Shared;

pub use account::{Closing, Gate};

/// How long a write to a client may block before the client counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Most a closing connection's unread input is drained, in bytes and time.
const LINGER_BYTES: usize = 1 << 20;
const LINGER_TIME: Duration = Duration::from_secs(2);
/// Reads a session may take without waiting while it owes deliveries:
/// bounds how much input is handled before the recipients get their
/// frames (a few dozen messages), while a busy sender's messages still
/// reach each recipient in few, large writes.
const MAX_READS_OWING: u32 = 4;
/// Rate refusals in a row after which a client counts as flooding.
const FLOOD_STRIKES: u32 = 50;

/// How a session ended, as the server console reports it.
#[derive(Debug)]
pub enum End {
    Quit,
    Eof,
    Dropped(String),
}

impl End {
    /// How the rooms of a connection that ended so hear of it.
    pub fn parting(&self) -> Parting {
        Parting::Quit(match self {
            End::Quit => "quit".to_string(),
            End::Eof => "connection closed".to_string(),
            End::Dropped(reason) => reason.clone(),
        })
    }
}

/// What the rate limit says of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Within,
    /// Over the limit: refuse this request.
    Over,
    /// Over the limit too often in a row: the client is flooding.
    Flooding,
}

/// The state of one connection that every door shares.
pub struct Session<'a> {
    pub id: ClientId,
    pub hub: &'a Hub,
    pub accounts: &'a Accounts,
    pub files: &'a FileStore,
    pub config: &'a Config,
    pub console: &'a Console,
    pub markers: &'a Markers,
    pub pending: &'a Pending,
    pub outbox: Outbox,
    /// Flushes this session's requests made due; paid before it waits.
    pub owed: Owed,
    /// `[client-7 ThreadId(9)]`: printed with every message this thread handles.
    pub tag: String,
    pub nick: Option<String>,
    /// Whether `nick` is a registered account this connection proved (its
    /// whispers, history of whispers and read markers are its own).
    pub registered: bool,
    /// `None` when rate limiting is off.
    bucket: Option<TokenBucket>,
    /// Requests refused for rate in a row; `FLOOD_STRIKES` of them disconnect.
    strikes: u32,
    /// When the connection last became not-logged-in (connected, or logged
    /// out): the login deadline counts from here.
    pub login_since: Instant,
    /// Wrong passwords sent on this connection, at login and to `PASSWD`.
    pub password_failures: account::Failures,
    /// This connection's address and registrations, for the limits on
    /// guessing and registering (`session/account.rs`).
    pub guard: PeerGuard,
    /// How the session waits for a client gone quiet (`quiet.rs`).
    quiet: quiet::Quiet,
}

/// Serves one connection until it ends, in the protocol `door` (`None`:
/// the one its first line speaks). Never panics on anything the peer sends.
pub fn run(stream: TcpStream, peer: SocketAddr, door: Option<Protocol>, shared: &Shared) {
    // The state on the heap, made and ended in frames of their own: while
    // the client idles, this thread's stack holds only a few small frames,
    // all in its top page (see `quiet.rs`).
    let top = StackMark::here(SESSION_STACK);
    let (mut session, mut conn) = open(stream, peer, shared, top);
    // A bug that panics here must end this client only, and still log it
    // out so its nickname does not stay online forever.
    let served = panic::catch_unwind(AssertUnwindSafe(|| {
        let protocol = match door {
            Some(protocol) => protocol,
            None => match session.sniff(&mut conn) {
                Ok(protocol) => protocol,
                Err(end) => return end,
            },
        };
        let mut door = door::open(protocol, session.config);
        loop {
            match session.serve(&mut *door, &mut conn) {
                Step::End(end) => return end,
                // Here, in the thread's shallowest frames: see `quiet.rs`.
                Step::Quiet => session.quiet.wait(&mut conn),
            }
        }
    }));
    close(session, conn, served);
}

/// A new connection's session state and input.
#[inline(never)]
fn open<'a>(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &'a Shared,
    top: StackMark,
) -> (Box<Session<'a>>, Box<Conn>) {
    let Shared {
        hub,
        accounts,
        files,
        guard,
        markers,
        pending,
        budget,
        config,
        console,
    } = shared;
    let name = thread::current().name().unwrap_or("client").to_string();
    let tag = format!("[{name} {:?}]", thread::current().id());
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    // One descriptor per client: the reader, the outbox's writers (which
    // also shut the socket down to wake the reader) share this one socket.
    let stream = Arc::new(stream);
    // Small until the client logs in: see `PRE_LOGIN_BYTES`.
    let limits = QueueLimits {
        max_bytes: PRE_LOGIN_BYTES.min(config.queue.max_bytes),
        ..config.queue
    };
    let outbox = Outbox::new(
        limits,
        budget,
        Arc::clone(&stream) as Arc<dyn Socket>,
        format!("{name}-out"),
    );
    console.say(format!("Connected with {peer}"));
    let session = Box::new(Session {
        id: hub.next_id(),
        hub,
        accounts,
        files,
        config,
        console,
        markers,
        pending,
        outbox,
        owed: Owed::new(),
        tag,
        nick: None,
        registered: false,
        bucket: config.rate_limit.map(TokenBucket::new),
        strikes: 0,
        login_since: Instant::now(),
        password_failures: account::Failures::default(),
        guard: guard.peer(peer.ip()),
        quiet: quiet::Quiet::new(top),
    });
    (session, Box::new(Conn::new(stream)))
}

/// Ends a session, however it ended (`served`: a panic, or how).
#[inline(never)]
fn close(session: Box<Session<'_>>, mut conn: Box<Conn>, served: thread::Result<End>) {
    let end = served.unwrap_or_else(|cause| {
        let what = cause
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| cause.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        End::Dropped(format!("internal error (a bug; please report it): {what}"))
    });
    session.finish(end);
    // Only our side: the peer reads our last frame, then the end, while we
    // still drain what it sent.
    let _ = conn.stream().shutdown(Shutdown::Write);
    linger(&mut conn);
}

/// What `serve` stopped for.
enum Step {
    End(End),
    /// The client went quiet: wait for it at the top (`quiet.rs`), then serve on.
    Quiet,
}

impl Session<'_> {
    /// The read loop: hands whole messages to the door, and when none is in
    /// hand, pays what is owed and waits for more input, within the
    /// deadline that applies (login, idle, or the message under way).
    /// Returns how the session ended, or that its client went quiet (then
    /// `run` waits, and calls it again to go on).
    #[inline(never)]
    fn serve(&mut self, door: &mut dyn Door, conn: &mut Conn) -> Step {
        let mut pinged = self.quiet.pinged;
        let mut reads_owing = 0;
        // When the first byte of a message not yet whole arrived.
        let mut started: Option<Instant> = None;
        loop {
            match door.poll(self, conn) {
                Poll::Done => {
                    started = None;
                    pinged = false;
                    continue;
                }
                Poll::End(end) => return Step::End(end),
                Poll::NeedMore => {}
            }
            let max = door.max_input();
            if !self.owed.is_empty() {
                if reads_owing < MAX_READS_OWING && !self.owed.has_laggards() {
                    match conn.fill_now(max) {
                        Ok(0) => {}
                        Ok(_) => {
                            reads_owing += 1;
                            continue;
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Step::End(End::Dropped(format!("read error: {e}"))),
                    }
                }
                self.owed.wait_for_laggards(&self.outbox);
            }
            reads_owing = 0;
            let mid_message = !conn.buffered().is_empty();
            if mid_message && started.is_none() {
                started = Some(Instant::now());
            }
            // A message, once started, must be finished within the frame
            // timeout; between messages: the login deadline, or the idle limit.
            let wait = match started {
                Some(at) => match self.config.frame_timeout.checked_sub(at.elapsed()) {
                    Some(left) if !left.is_zero() => left,
                    _ => {
                        return Step::End(End::Dropped("timed out in the middle of a frame".into()))
                    }
                },
                None if self.nick.is_none() => {
                    match self
                        .config
                        .login_timeout
                        .checked_sub(self.login_since.elapsed())
                    {
                        Some(left) if !left.is_zero() => left,
                        _ => return Step::End(door.login_timed_out(self)),
                    }
                }
                None => self.config.idle_timeout,
            };
            match self.wait_for_input(conn, wait, max) {
                Ok(0) if mid_message => {
                    return Step::End(End::Dropped(
                        "connection closed in the middle of a frame".into(),
                    ))
                }
                Ok(0) => return Step::End(End::Eof),
                Ok(_) => {}
                Err(e) if protocol::is_timeout(&e) => {
                    if started.is_some() || self.nick.is_none() {
                        continue; // the deadline check above ends it
                    }
                    if pinged {
                        return Step::End(End::Dropped(format!(
                            "ping timeout: silent for {} s",
                            2 * self.config.idle_timeout.as_secs()
                        )));
                    }
                    pinged = true;
                    door.ping(self);
                    self.owed.pay();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.quiet
                        .begin(wait.saturating_sub(self.config.quiet_after), pinged);
                    return Step::Quiet;
                }
                Err(e) => return Step::End(End::Dropped(format!("read error: {e}"))),
            }
        }
    }

    /// Waits up to `wait` for more input and reads it. Between messages, a
    /// client quiet for a moment gives back its buffers, and the rest of
    /// the wait is made at the top of the stack, so that an idle client
    /// costs little more than its socket: `Err(Interrupted)` says to go
    /// there (`quiet.rs`; reads retry a real interruption), and the next
    /// call returns how that wait ended.
    fn wait_for_input(&mut self, conn: &mut Conn, wait: Duration, max: usize) -> io::Result<usize> {
        if let Some(woke) = self.quiet.woke() {
            return Err(woke);
        }
        let quiet_after = self.config.quiet_after;
        if !conn.buffered().is_empty() || wait <= quiet_after {
            return conn.fill(wait, max);
        }
        match conn.fill(quiet_after, max) {
            Err(e) if protocol::is_timeout(&e) => {}
            done => return done,
        }
        conn.release();
        self.owed.release();
        self.outbox.release_memory();
        Err(io::ErrorKind::Interrupted.into())
    }

    /// Reads until the first line is in, within the login deadline, to tell
    /// which protocol the client speaks (see `door::Protocol::of`).
    ///
    /// # Errors
    /// How the session ends when no line comes: the end of the stream, a
    /// timeout (answered in our own protocol, the one clients that wait
    /// for the server to speak first are most likely to expect), an error.
    #[inline(never)]
    fn sniff(&mut self, conn: &mut Conn) -> Result<Protocol, End> {
        loop {
            if let Some(protocol) = Protocol::of(conn.buffered()) {
                return Ok(protocol);
            }
            let left = self
                .config
                .login_timeout
                .checked_sub(self.login_since.elapsed())
                .filter(|left| !left.is_zero());
            let Some(left) = left else {
                return Err(door::open(Protocol::Chat, self.config).login_timed_out(self));
            };
            match conn.fill(left, door::MAX_FIRST_LINE_BYTES) {
                Ok(0) if conn.buffered().is_empty() => return Err(End::Eof),
                // A first line longer than any protocol's: ours says why.
                Ok(0) => return Ok(Protocol::Chat),
                Ok(_) => {}
                Err(e) if protocol::is_timeout(&e) => {}
                Err(e) => return Err(End::Dropped(format!("read error: {e}"))),
            }
        }
    }

    /// Takes a token if one is there now; no strike when none is (the
    /// caller does not wait: it stops taking more input at once).
    pub fn take_token_if_any(&mut self) -> bool {
        let taken = self
            .bucket
            .as_mut()
            .is_none_or(|bucket| bucket.try_take(Instant::now()));
        if taken {
            self.strikes = 0;
        }
        taken
    }

    /// Takes a token for a request. Control requests (a `PING` and the
    /// like) cost one too, and before login as after, so nothing resets the
    /// count of refusals but a request within the rate.
    pub fn take_token(&mut self) -> Rate {
        if self.take_token_if_any() {
            return Rate::Within;
        }
        self.strikes += 1;
        if self.strikes >= FLOOD_STRIKES {
            Rate::Flooding
        } else {
            Rate::Over
        }
    }

    /// Queues bytes for this client; written once the input in hand is spent.
    pub fn send(&mut self, bytes: Vec<u8>) {
        self.owed.push_bytes(&self.outbox, bytes);
    }

    /// Logs the client out, lets its queue drain, and says how it ended.
    fn finish(mut self, end: End) {
        self.leave_hub(&end.parting());
        self.owed.pay();
        let closed = self.outbox.finish_and_drain();
        let who = self.nick.as_deref().unwrap_or("not logged in");
        let why = match (closed, end) {
            (Closed::Overflow { frames, bytes }, _) => {
                format!("send queue exceeded ({frames} frames, {bytes} bytes waiting)")
            }
            (Closed::Shed { bytes }, _) => format!(
                "send queue exceeded (all queues together passed --max-queued-bytes; this one held {bytes} bytes, among the most)"
            ),
            (Closed::NoWriter, _) => {
                "cannot start a writer thread (out of memory or threads)".to_string()
            }
            (_, End::Quit) => "quit".to_string(),
            (_, End::Eof) => "connection closed".to_string(),
            (_, End::Dropped(reason)) => reason,
        };
        self.console
            .say(format!("{} Client ({who}) disconnected: {why}", self.tag));
    }
}

/// Reads and discards what the peer still sends, until it closes (or the
/// bounds run out), before the socket is closed. Closing a socket with
/// unread input makes the kernel send a reset, which can destroy our last
/// frames (an error reply, a `BYE`) before the peer reads them: the
/// "lingering close" of HTTP servers.
fn linger(conn: &mut Conn) {
    let started = Instant::now();
    conn.set_timeout(Duration::from_millis(200));
    let drained = conn.buffered().len();
    conn.consume(drained);
    // On the heap: an array here would sit in every session's stack frame
    // and push the whole session one resident page deeper.
    let mut scratch = vec![0u8; 4096];
    let mut drained = drained;
    while drained < LINGER_BYTES && started.elapsed() < LINGER_TIME {
        match conn.read(&mut scratch) {
            Ok(0) => return,
            Ok(n) => drained += n,
            Err(e) if protocol::is_timeout(&e) => {}
            Err(_) => return,
        }
    }
}
