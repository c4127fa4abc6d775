//! One client's life on its own thread: log in, then read frames, turn them
//! into requests and apply them to the hub, until the client leaves, breaks
//! the protocol, goes silent, or the server hangs up on it.
//!
//! Replies go through the client's own outbox like everything else, so a
//! reply can never overtake (or be overtaken by) an event on the wire.

use std::io::{BufRead, BufReader, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::command::Request;
use crate::event::Event;
use crate::protocol::{self, Frame, FrameError, Head, Limits, Status};

use super::accounts::Accounts;
use super::deadline::DeadlineReader;
use super::files::FileStore;
use super::hub::{ClientId, Hub};
use super::limits::TokenBucket;
use super::outbox::{self, Closed, Deferral, Outbox};
use super::socket::Socket;
use super::transfer::{self, Transfers};
use super::Config;

mod account;
mod requests;

/// How long a write to a client may block before the client counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// A client's read buffer. Small, because std zero-fills it once (our
/// deadline wrapper can only offer `read`), so every byte is resident for
/// every idle client; it holds a line of the largest allowed length, and
/// large bodies bypass it.
const READ_BUFFER_BYTES: usize = 2 * 1024;

/// Most a closing connection's unread input is drained, in bytes and time.
const LINGER_BYTES: usize = 1 << 20;
const LINGER_TIME: Duration = Duration::from_secs(2);

/// Reads and discards what the peer still sends, until it closes (or the
/// bounds run out), before the socket is closed. Closing a socket with
/// unread input makes the kernel send a reset, which can destroy our last
/// frames (an error reply, a `BYE`) before the peer reads them: the
/// "lingering close" of HTTP servers.
fn linger(reader: &mut BufReader<DeadlineReader>) {
    let started = Instant::now();
    reader.get_mut().set_deadline(None);
    reader.get_mut().set_timeout(Duration::from_millis(200));
    // On the heap: an array here would sit in every session's stack frame
    // and push the whole session one resident page deeper.
    let mut scratch = vec![0u8; 4096];
    let mut drained = reader.buffer().len();
    reader.consume(drained);
    while drained < LINGER_BYTES && started.elapsed() < LINGER_TIME {
        match reader.get_mut().read(&mut scratch) {
            Ok(0) => return,
            Ok(n) => drained += n,
            Err(e) if protocol::is_timeout(&e) => {}
            Err(_) => return,
        }
    }
}

/// How a session ended, as the server console reports it.
enum End {
    Quit,
    Eof,
    Dropped(String),
}

struct Session<'a> {
    id: ClientId,
    hub: &'a Hub,
    accounts: &'a Accounts,
    files: &'a FileStore,
    config: &'a Config,
    outbox: Outbox,
    /// `[client-7 ThreadId(9)]`: printed with every message this thread handles.
    tag: String,
    nick: Option<String>,
    /// `None` when rate limiting is off.
    bucket: Option<TokenBucket>,
    /// Requests refused for rate in a row; `FLOOD_STRIKES` of them disconnect.
    strikes: u32,
    /// When the connection last became not-logged-in (connected, or sent
    /// `LOGOUT`): the login deadline counts from here.
    login_since: Instant,
    /// Wrong passwords sent on this connection, at login or to `PASSWD`.
    password_failures: u32,
}

/// Rate refusals in a row after which a client counts as flooding.
const FLOOD_STRIKES: u32 = 50;

/// Serves one connection until it ends. Never panics on anything the peer sends.
pub fn run(
    stream: TcpStream,
    peer: SocketAddr,
    hub: &Hub,
    accounts: &Accounts,
    files: &FileStore,
    config: &Arc<Config>,
) {
    let console = hub.console();
    let tag = format!(
        "[{} {:?}]",
        thread::current().name().unwrap_or("client"),
        thread::current().id()
    );
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    // One descriptor per client: the reader, the outbox's writers (which
    // also shut the socket down to wake the reader) share this one socket.
    let stream = Arc::new(stream);
    let outbox = Outbox::new(
        config.queue,
        Arc::clone(&stream) as Arc<dyn Socket>,
        format!("{}-out", thread::current().name().unwrap_or("client")),
    );
    console.say(format!("Connected with {peer}"));
    let mut session = Session {
        id: hub.next_id(),
        hub,
        accounts,
        files,
        config,
        outbox,
        tag,
        nick: None,
        bucket: config.rate_limit.map(TokenBucket::new),
        strikes: 0,
        login_since: Instant::now(),
        password_failures: 0,
    };
    let mut reader =
        BufReader::with_capacity(READ_BUFFER_BYTES, DeadlineReader::new(Arc::clone(&stream)));
    // Deliveries this thread makes are written before it next blocks (the
    // reader flushes them before each `read`), so all the frames it has in
    // hand reach each recipient in one write.
    let deferral = Deferral::begin();
    // A bug that panics here must end this client only, and still log it
    // out so its nickname does not stay online forever.
    let end = match panic::catch_unwind(AssertUnwindSafe(|| session.serve(&mut reader))) {
        Ok(end) => end,
        Err(cause) => {
            let what = cause
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| cause.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            End::Dropped(format!("internal error (a bug; please report it): {what}"))
        }
    };
    // Still deferring: the leave notices that logging out queues (under the
    // hub's lock) are written once the lock is released.
    session.finish(end);
    drop(deferral);
    // Only our side: the peer reads our last frame, then the end, while we
    // still drain what it sent.
    let _ = stream.shutdown(Shutdown::Write);
    linger(&mut reader);
}

impl Session<'_> {
    fn serve(&mut self, reader: &mut BufReader<DeadlineReader>) -> End {
        let mut pinged = false;
        let limits = Limits {
            max_body_bytes: self.config.max_body,
            ..Limits::default()
        };
        loop {
            // Wait for the first byte of the next frame with the timeout that
            // applies between frames: the login deadline, or the idle limit.
            let wait = if self.nick.is_none() {
                match self
                    .config
                    .login_timeout
                    .checked_sub(self.login_since.elapsed())
                {
                    Some(left) if !left.is_zero() => left,
                    _ => return self.refuse_and_end(Status::REQUEST_TIMEOUT, "login timed out"),
                }
            } else {
                self.config.idle_timeout
            };
            reader.get_mut().set_timeout(wait);
            match reader.fill_buf() {
                Ok([]) => return End::Eof,
                Ok(_) => {}
                Err(e) if protocol::is_timeout(&e) => {
                    if self.nick.is_none() {
                        continue; // the deadline check above ends it
                    }
                    if pinged {
                        return End::Dropped(format!(
                            "ping timeout: silent for {} s",
                            2 * self.config.idle_timeout.as_secs()
                        ));
                    }
                    pinged = true;
                    self.outbox.push_frame(&Event::Ping.to_frame());
                    continue;
                }
                Err(e) => return End::Dropped(format!("read error: {e}")),
            }
            // A frame, once started, must be finished within the frame timeout.
            reader
                .get_mut()
                .set_deadline(Some(Instant::now() + self.config.frame_timeout));
            // The head first: an upload's body is streamed to disk, not read
            // into memory, so it is not subject to the chat body limit.
            let head = match Head::read_from(reader, &limits) {
                Ok(Some(head)) => head,
                Ok(None) => return End::Eof,
                Err(e) => return self.broken_framing(e),
            };
            pinged = false;
            if head.verb() == Some("UPLOAD") {
                if let Some(end) = self.upload(&head, reader) {
                    return end;
                }
                reader.get_mut().set_deadline(None);
                continue;
            }
            let body = head
                .body_len(limits.max_body_bytes)
                .and_then(|len| protocol::read_body(reader, len));
            let frame = match body {
                Ok(body) => Frame::from_head(head, body),
                Err(e) => return self.broken_framing(e),
            };
            reader.get_mut().set_deadline(None);
            // Fault injection for the panic-containment test; debug builds only.
            #[cfg(debug_assertions)]
            if frame.verb() == Some("PANIC-TEST") {
                panic!("PANIC-TEST requested by the peer");
            }
            match Request::from_frame(&frame) {
                Ok(request) => {
                    if !self.within_rate(&request) {
                        self.strikes += 1;
                        if self.strikes >= FLOOD_STRIKES {
                            self.outbox.push_frame(
                                &Event::Bye {
                                    reason: "flooding: too many requests refused in a row".into(),
                                }
                                .to_frame(),
                            );
                            return End::Dropped("flooding".into());
                        }
                        self.outbox.push_frame(&self.rate_refusal());
                        continue;
                    }
                    self.strikes = 0;
                    if let Some(end) = self.apply(request, &frame) {
                        return end;
                    }
                }
                Err(refusal) => {
                    self.outbox.push_frame(&refusal.into_frame());
                }
            }
        }
    }

    /// How a connection ends whose framing broke: with one error reply when
    /// the peer sent something outside the grammar, silently when it failed.
    fn broken_framing(&self, e: FrameError) -> End {
        match e {
            FrameError::UnexpectedEof => {
                End::Dropped("connection closed in the middle of a frame".into())
            }
            e if e.is_timeout() => End::Dropped("timed out in the middle of a frame".into()),
            FrameError::Io(e) => End::Dropped(format!("read error: {e}")),
            e => {
                let reason = format!("{e}; closing the connection");
                self.outbox.push_frame(&Frame::reply(e.status(), &reason));
                End::Dropped(format!("protocol error: {e}"))
            }
        }
    }

    /// The file requests' view of this session.
    fn transfers(&self) -> Transfers<'_> {
        Transfers {
            hub: self.hub,
            files: self.files,
            client: self.id,
            tag: &self.tag,
            max_file_size: self.config.max_file_size,
        }
    }

    /// Receives an upload whose head was just read; `Some` ends the session.
    fn upload(&mut self, head: &Head, reader: &mut BufReader<DeadlineReader>) -> Option<End> {
        // Storing a file ends with an fsync: pay what this thread owes first.
        outbox::flush_owed();
        // An upload counts against the rate limit like any request, but a
        // refused one cannot be skipped cheaply, so it ends the connection.
        let within_rate = self.nick.is_none()
            || self
                .bucket
                .as_mut()
                .is_none_or(|bucket| bucket.try_take(Instant::now()));
        if !within_rate {
            let text =
                "too fast; closing the connection, since a refused upload's body is not read";
            self.outbox
                .push_frame(&Frame::reply(Status::TOO_MANY_REQUESTS, text));
            return Some(End::Dropped("upload over the rate limit".into()));
        }
        // A file may take longer than the frame timeout, but not forever.
        let deadline = transfer::upload_deadline(head.content_length, self.config.frame_timeout);
        reader.get_mut().set_deadline(Some(deadline));
        match self.transfers().upload(head, reader) {
            Ok(reply) => {
                self.outbox.push_frame(&reply);
                None
            }
            Err(hangup) => {
                if let Some(reply) = hangup.reply {
                    self.outbox.push_frame(&reply);
                }
                Some(End::Dropped(hangup.reason))
            }
        }
    }

    fn refuse_and_end(&self, status: Status, reason: &str) -> End {
        self.outbox.push_frame(&Frame::reply(status, reason));
        End::Dropped(reason.to_string())
    }

    /// Logs the client out, lets its queue drain, and says how it ended.
    fn finish(self, end: End) {
        if self.nick.is_some() {
            self.hub.logout(self.id);
        }
        let closed = self.outbox.finish_and_drain();
        let who = self.nick.as_deref().unwrap_or("not logged in");
        let why = match (closed, end) {
            (Closed::Overflow { frames, bytes }, _) => {
                format!("send queue exceeded ({frames} frames, {bytes} bytes waiting)")
            }
            (Closed::NoWriter, _) => {
                "cannot start a writer thread (out of memory or threads)".to_string()
            }
            (_, End::Quit) => "quit".to_string(),
            (_, End::Eof) => "connection closed".to_string(),
            (_, End::Dropped(reason)) => reason,
        };
        self.hub
            .console()
            .say(format!("{} Client ({who}) disconnected: {why}", self.tag));
    }
}
