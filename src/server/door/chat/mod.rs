//! The `CHAT/1.0` door: our own HTTP-style frame protocol, as the terminal
//! client (and, inside WebSocket messages, the browser) speaks it. Frames
//! are decoded from the session's input in two stages (the head, found and
//! parsed once; then the body, or a streamed upload), turned into typed
//! requests, carried out through the session, and answered in order.

mod codec;
mod files;
mod history;
mod words;

use std::sync::Arc;

use crate::command::{
    AccountRequest, ChatRequest, Control, FileRequest, ListKind, Request, RoomRequest,
};
use crate::event::{Event, Parting};
use crate::protocol::{header, Frame, FrameError, Head, HeadScan, Limits, Status};
use crate::text::for_terminal;

use super::{Door, Poll, MAX_BURST};
use crate::server::connection::Conn;
use crate::server::hub::{check_text, Member};
use crate::server::session::actions::LoginError;
use crate::server::session::{account, Closing, End, Gate, Rate, Session};
use crate::server::Config;

pub use codec::{frames, removal, ChatCodec, Wire};
pub use files::{
    upload_deadline, Body, Hangup, Received, Sharer, MAX_DOWNLOADS_QUEUED, MIN_UPLOAD_BYTES_PER_SEC,
};
pub use words::{rooms as room_directory, users as user_directory, where_is};

/// The request that says something in a room.
const SAY: &str = "SAY";

/// One `CHAT/1.0` connection's decoding state, and how its frames go on
/// the wire.
pub struct ChatDoor {
    limits: Limits,
    scan: HeadScan,
    /// A head already parsed whose body has not all arrived, and its length.
    pending: Option<(Head, usize)>,
    wire: Arc<dyn Wire>,
}

impl ChatDoor {
    /// The door of the terminal client: frames straight on the socket.
    pub fn new(config: &Config) -> ChatDoor {
        ChatDoor::with_wire(config, Arc::new(ChatCodec))
    }

    /// A `CHAT/1.0` door whose frames travel inside another protocol: the
    /// other door decodes the frames and hands them to [`ChatDoor::handle`],
    /// and `wire` carries the replies and deliveries back.
    pub fn with_wire(config: &Config, wire: Arc<dyn Wire>) -> ChatDoor {
        ChatDoor {
            limits: Limits {
                max_body_bytes: config.max_body,
                ..Limits::default()
            },
            scan: HeadScan::default(),
            pending: None,
            wire,
        }
    }

    /// The limits a frame is read with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Queues `frame` for the client, in this door's wire format.
    pub fn send(&self, s: &mut Session<'_>, frame: &Frame) {
        s.send(self.wire.wrap(frame.encode()));
    }

    /// The next head and its length in the input, once it is all there.
    fn head(&mut self, input: &[u8]) -> Result<Option<(Head, usize)>, FrameError> {
        if let Some(pending) = self.pending.take() {
            return Ok(Some(pending));
        }
        let Some(len) = self.scan.scan(input, &self.limits)? else {
            return Ok(None);
        };
        self.scan.reset();
        let head =
            Head::read_from(&mut &input[..len], &self.limits)?.ok_or(FrameError::UnexpectedEof)?;
        Ok(Some((head, len)))
    }

    /// Carries out one whole request frame, however it arrived.
    pub fn handle(&mut self, s: &mut Session<'_>, frame: &Frame) -> Poll {
        // Fault injection for the panic-containment test; debug builds only.
        #[cfg(debug_assertions)]
        if frame.verb() == Some("PANIC-TEST") {
            panic!("PANIC-TEST requested by the peer");
        }
        let request = match Request::from_frame(frame) {
            Ok(request) => request,
            Err(refusal) => {
                self.send(s, &refusal.into_frame());
                return Poll::Done;
            }
        };
        // Answering our PING, and leaving, are always allowed; anything
        // else costs a token, before login as after.
        if !matches!(request, Request::Control(Control::Pong | Control::Quit)) {
            match s.take_token() {
                Rate::Within => {}
                Rate::Over => {
                    self.send(s, &rate_refusal(s.config));
                    return Poll::Done;
                }
                Rate::Flooding => {
                    let bye = Event::Bye {
                        reason: "flooding: too many requests refused in a row".into(),
                    };
                    self.send(s, &bye.to_frame());
                    return Poll::End(End::Dropped("flooding".into()));
                }
            }
        }
        // Only chat is worth batching. Anything else may block (a password
        // hash, an fsync of accounts.txt or rooms.txt, a wait for a
        // download slot), and other people's messages must not wait for it.
        if !matches!(
            request,
            Request::Chat(_) | Request::Control(Control::Ping | Control::Pong)
        ) {
            s.owed.pay();
        }
        let reply = match request {
            Request::Control(control) => return self.control_request(s, control),
            Request::Account(request) => match self.account_request(s, request) {
                Ok(Some(reply)) => reply,
                Ok(None) => return Poll::Done,
                Err(Closing { reply, end }) => {
                    self.send(s, &reply);
                    return Poll::End(end);
                }
            },
            _ if s.nick.is_none() => Frame::reply(
                Status::FORBIDDEN,
                "log in first: send LOGIN with a Nick header",
            ),
            Request::Chat(request) => {
                dump(s, frame);
                chat_request(s, request)
            }
            Request::Room(request) => room_request(s, request),
            Request::File(FileRequest::Download { id }) => {
                dump(s, frame);
                match s.download(id) {
                    Some(refusal) => refusal,
                    // Queued: the writer thread streams the reply.
                    None => return Poll::Done,
                }
            }
            Request::History(request) => history::request(s, &*self.wire, request),
            Request::File(FileRequest::List) => {
                s.file_list(crate::command::target_name(frame.target(), "/rooms/"))
            }
        };
        self.send(s, &reply);
        Poll::Done
    }

    /// Carries out `frame`; a `SAY` from a logged-in client then takes the
    /// `SAY`s to the same room already read behind it along as a burst
    /// (see [`ChatDoor::burst`]), which `next` finds in the door's own
    /// framing.
    pub(crate) fn handle_then_burst(
        &mut self,
        s: &mut Session<'_>,
        conn: &mut Conn,
        frame: &Frame,
        next: impl FnMut(&[u8]) -> Option<(Frame, usize)>,
    ) -> Poll {
        let burst = frame.verb() == Some(SAY) && s.nick.is_some();
        let poll = self.handle(s, frame);
        if burst && matches!(poll, Poll::Done) {
            self.burst(s, conn, next);
        }
        poll
    }

    /// The `SAY`s already read behind one just carried out (a script, a
    /// pasted block): stored and delivered as one step, one `log.txt`
    /// write and one queueing per member, in order, each answered as if
    /// alone. `next` finds the next at the front of the input: a whole
    /// `SAY` frame to the same target, and the bytes it takes (a door's
    /// own framing decides what is whole). Only while rate tokens are
    /// there, never waiting for one; the first frame that is anything else
    /// (or not all there yet, or broken) ends the burst and is read as usual.
    fn burst(
        &mut self,
        s: &mut Session<'_>,
        conn: &mut Conn,
        mut next: impl FnMut(&[u8]) -> Option<(Frame, usize)>,
    ) {
        let mut texts = Vec::new();
        let mut frames = Vec::new();
        while texts.len() < MAX_BURST {
            let Some((frame, len)) = next(conn.buffered()) else {
                break;
            };
            // A text the hub would refuse is answered on its own.
            let Ok(Request::Chat(ChatRequest::Say { room, text })) = Request::from_frame(&frame)
            else {
                break;
            };
            if check_text(&text).is_err() {
                break;
            }
            if !s.take_token_if_any() {
                break;
            }
            conn.consume(len);
            texts.push(text);
            frames.push((frame, room));
        }
        let Some((_, room)) = frames.first() else {
            return;
        };
        for (frame, _) in &frames {
            dump(s, frame);
        }
        let room = room.clone();
        for said in s.say_all(room.as_deref(), texts) {
            let reply = match said {
                Ok(said) => said_reply(said.seq),
                Err(refused) => words::message_refusal(&refused),
            };
            self.send(s, &reply);
        }
    }

    /// The whole `SAY` frame to `target` at the front of `input`, and its
    /// length; `None` for anything else. Scanned apart from the door's own
    /// scanner, which a frame not taken here must find as if untouched.
    fn next_say(limits: &Limits, input: &[u8], target: &str) -> Option<(Frame, usize)> {
        let head_len = HeadScan::default().scan(input, limits).ok()??;
        let head = Head::read_from(&mut &input[..head_len], limits).ok()??;
        if head.verb() != Some(SAY) {
            return None;
        }
        let len = head.body_len(limits.max_body_bytes).ok()?;
        let body = input.get(head_len..head_len + len)?;
        let frame = Frame::from_head(head, body.to_vec());
        (frame.target() == target).then_some((frame, head_len + len))
    }

    /// Receives an upload whose head was just taken.
    fn upload(&mut self, s: &mut Session<'_>, conn: &mut Conn, head: &Head) -> Poll {
        // Storing a file ends with an fsync: pay what this thread owes first.
        s.owed.pay();
        // An upload counts against the rate limit like any request, but a
        // refused one cannot be skipped cheaply, so it ends the connection.
        if s.nick.is_some() && s.take_token() != Rate::Within {
            let text =
                "too fast; closing the connection, since a refused upload's body is not read";
            self.send(s, &Frame::reply(Status::TOO_MANY_REQUESTS, text));
            return Poll::End(End::Dropped("upload over the rate limit".into()));
        }
        match s.upload(head, conn) {
            Ok(reply) => {
                self.send(s, &reply);
                Poll::Done
            }
            Err(hangup) => {
                if let Some(reply) = hangup.reply {
                    self.send(s, &reply);
                }
                Poll::End(End::Dropped(hangup.reason))
            }
        }
    }

    /// How a connection ends whose framing broke: with one error reply when
    /// the peer sent something outside the grammar.
    fn broken_framing(&self, s: &mut Session<'_>, e: FrameError) -> End {
        let reason = format!("{e}; closing the connection");
        self.send(s, &Frame::reply(e.status(), &reason));
        End::Dropped(format!("protocol error: {e}"))
    }

    /// `PING`, `PONG`, `QUIT`.
    fn control_request(&self, s: &mut Session<'_>, control: Control) -> Poll {
        match control {
            Control::Pong => Poll::Done,
            Control::Ping => {
                self.send(s, &Frame::status(Status::OK));
                Poll::Done
            }
            Control::Quit => {
                // Out of the hub before "Bye" goes out, so a client that has
                // heard it can count on its nickname being free.
                s.leave_hub(&Parting::Quit("quit".into()));
                self.send(s, &Frame::reply(Status::OK, "Bye"));
                Poll::End(End::Quit)
            }
        }
    }

    /// An account request: `Ok(Some)` is the reply, `Ok(None)` means it is
    /// queued already (a login), `Err` is a last reply and the end.
    fn account_request(
        &self,
        s: &mut Session<'_>,
        request: AccountRequest,
    ) -> Result<Option<Frame>, Closing> {
        let reply = match (s.nick.clone(), request) {
            (
                None,
                AccountRequest::Login {
                    nick,
                    password,
                    many_rooms,
                },
            ) => match s.authenticate(&nick, password.as_deref()) {
                Gate::Open { registered } => {
                    return Ok(self.log_in(s, &nick, registered, many_rooms))
                }
                Gate::Refuse(reply) => reply,
                Gate::Close(closing) => return Err(closing),
            },
            (Some(me), AccountRequest::Login { .. }) => Frame::reply(
                Status::CONFLICT,
                &format!("already logged in as {me}; /logout first"),
            ),
            (None, _) => Frame::reply(
                Status::FORBIDDEN,
                "log in first: send LOGIN with a Nick header",
            ),
            (Some(_), AccountRequest::Nick { nick }) if s.is_someone_elses_account(&nick) => {
                account::registered_nick_refused(&nick)
            }
            (Some(_), AccountRequest::Nick { nick }) => match s.rename(&nick) {
                Ok(renamed) => {
                    Frame::reply(Status::OK, &format!("you are now known as {}", renamed.new))
                }
                Err(refused) => words::refusal(&refused),
            },
            (Some(_), request) => s.account_request(request)?,
        };
        Ok(Some(reply))
    }

    /// Logs in (the password, if any, was checked) and enters the lobby; the
    /// reply goes out before the lobby's history and welcome.
    fn log_in(
        &self,
        s: &mut Session<'_>,
        nick: &str,
        registered: bool,
        many_rooms: bool,
    ) -> Option<Frame> {
        let member = Member {
            outbox: s.outbox.clone(),
            codec: Arc::clone(&self.wire) as Arc<dyn crate::server::hub::Codec>,
            many_rooms,
            echo: false,
        };
        match s.log_in(nick, registered, member) {
            Err(LoginError::Refused(refused)) => return Some(words::refusal(&refused)),
            Err(LoginError::Registered) => return Some(account::password_needed(nick)),
            Ok(()) => {}
        }
        let mut reply = Frame::reply(Status::OK, "Successfully login.")
            .with_header(header::REGISTERED, if registered { "yes" } else { "no" })
            .with_header(header::NICK, nick)
            .with_header(header::MAX_BODY, s.config.max_body)
            .with_header(header::MAX_FILE_SIZE, s.config.max_file_size);
        if many_rooms {
            // Granted: the client may now be in several rooms at once.
            reply = reply.with_header(header::ROOMS, "many");
        }
        self.send(s, &reply);
        let unread = s.enter_lobby();
        if let Some(notice) = history::unread_notice(&unread) {
            self.send(s, &notice);
        }
        None
    }
}

impl Door for ChatDoor {
    fn max_input(&self) -> usize {
        // The largest head the scanner lets through, and a body.
        let line = self.limits.max_line_bytes + 2;
        line * (self.limits.max_headers + 2) + self.limits.max_body_bytes
    }

    fn poll(&mut self, s: &mut Session<'_>, conn: &mut Conn) -> Poll {
        let (head, head_len) = match self.head(conn.buffered()) {
            Ok(Some(found)) => found,
            Ok(None) => return Poll::NeedMore,
            Err(e) => return Poll::End(self.broken_framing(s, e)),
        };
        if head.verb() == Some("UPLOAD") {
            conn.consume(head_len);
            return self.upload(s, conn, &head);
        }
        let len = match head.body_len(self.limits.max_body_bytes) {
            Ok(len) => len,
            Err(e) => return Poll::End(self.broken_framing(s, e)),
        };
        let Some(body) = conn.buffered().get(head_len..head_len + len) else {
            self.pending = Some((head, head_len));
            return Poll::NeedMore;
        };
        let frame = Frame::from_head(head, body.to_vec());
        conn.consume(head_len + len);
        let limits = self.limits;
        self.handle_then_burst(s, conn, &frame, |input| {
            ChatDoor::next_say(&limits, input, frame.target())
        })
    }

    fn ping(&mut self, s: &mut Session<'_>) {
        self.send(s, &Event::Ping.to_frame());
    }

    fn login_timed_out(&mut self, s: &mut Session<'_>) -> End {
        self.send(s, &Frame::reply(Status::REQUEST_TIMEOUT, "login timed out"));
        End::Dropped("login timed out".into())
    }
}

/// True for a `SAY` to `target`: one that may join a burst to it.
pub(crate) fn is_say_to(frame: &Frame, target: &str) -> bool {
    frame.verb() == Some(SAY) && frame.target() == target
}

fn rate_refusal(config: &Config) -> Frame {
    let limit = config.rate_limit.unwrap_or_default();
    Frame::reply(
        Status::TOO_MANY_REQUESTS,
        &format!(
            "too fast: at most {} requests a second (bursts of {}); this one was dropped",
            limit.per_second, limit.burst
        ),
    )
}

/// `200` for a message stored as number `seq`.
fn said_reply(seq: u64) -> Frame {
    Frame::status(Status::OK).with_header(header::SEQ, seq)
}

fn chat_request(s: &mut Session<'_>, request: ChatRequest) -> Frame {
    match request {
        ChatRequest::Say { room, text } => match s.say(room.as_deref(), text) {
            Ok(said) => said_reply(said.seq),
            Err(refused) => words::message_refusal(&refused),
        },
        ChatRequest::Whisper { to, text } => match s.whisper(&to, text) {
            Ok(sent) if sent.kept => Frame::reply(
                Status::OK,
                &format!(
                    "{} is away: your whisper waits for them and is delivered at their next login",
                    sent.to
                ),
            )
            .with_header(header::SEQ, sent.seq)
            .with_header(header::KEPT, "yes"),
            Ok(sent) => Frame::status(Status::OK).with_header(header::SEQ, sent.seq),
            Err(refused) => history::whisper_refusal(&refused),
        },
    }
}

fn room_request(s: &mut Session<'_>, request: RoomRequest) -> Frame {
    let result = match request {
        RoomRequest::Users => return Frame::reply(Status::OK, &words::users(&s.users())),
        RoomRequest::Rooms => return Frame::reply(Status::OK, &words::rooms(&s.rooms())),
        RoomRequest::Create { room, private } => {
            s.create_room(&room, private).map(|c| words::created(&c))
        }
        RoomRequest::Join { room } => s.join_room(&room).map(|j| words::joined(&j)),
        RoomRequest::Leave { room } => s.leave_room(room.as_deref(), "").map(|l| words::left(&l)),
        RoomRequest::Close { room } => s.close_room(room.as_deref()).map(|c| words::closed(&c)),
        RoomRequest::ChangeList {
            list,
            nick,
            add,
            room,
        } => s.change_list(room.as_deref(), list, &nick, add).map(|c| {
            let registered = s.accounts.is_registered(&c.nick);
            if c.added && c.list == ListKind::Permits {
                // As an IRC INVITE does: the one let in hears of it.
                let by = s.nick.clone().unwrap_or_default();
                s.hub.invite(&c.nick, &c.room, &by, &mut s.owed);
            }
            words::list_changed(&c, registered)
        }),
        RoomRequest::ShowList { list, room } => s
            .show_list(room.as_deref(), list)
            .map(|l| words::list_shown(&l)),
    };
    result.unwrap_or_else(|refused| words::refusal(&refused))
}

/// Prints a received message on the console in its header form (seed 001).
fn dump(s: &Session<'_>, frame: &Frame) {
    let nick = s.nick.as_deref().unwrap_or("?");
    s.console.message(|| {
        let mut shown = frame.clone();
        shown
            .headers
            .insert(0, (header::FROM.to_string(), nick.to_string()));
        shown
            .headers
            .push((header::DATE.to_string(), crate::clock::now_utc()));
        let bytes = shown.encode();
        let text = String::from_utf8_lossy(&bytes);
        let mut out = s.tag.clone();
        for (i, line) in text.split("\r\n").enumerate() {
            out.push(if i == 0 { ' ' } else { '\n' });
            out.push_str(&for_terminal(line));
        }
        out
    });
}
