//! Carrying out one request of a session: the rate limit, the dispatch from
//! request to hub (or account store, or file store), and the replies. The
//! session's own file keeps the connection's life: set-up, the read loop,
//! the end.

use std::time::Instant;

use crate::command::{
    AccountRequest, ChatRequest, Control, FileRequest, Refusal, Request, RoomRequest,
};
use crate::protocol::{header, Frame, Status};
use crate::text::for_terminal;

use super::account::{self, Gate};
use super::{End, Session};
use crate::server::hub::SendError;
use crate::server::outbox;

/// The reply to a request the hub carried out or refused.
fn reply_with(result: Result<String, Refusal>) -> Frame {
    match result {
        Ok(text) => Frame::reply(Status::OK, &text),
        Err(refusal) => refusal.into_frame(),
    }
}

impl Session<'_> {
    /// Takes a token for a request that counts against the rate limit.
    pub(super) fn within_rate(&mut self, request: &Request) -> bool {
        let free = matches!(request, Request::Control(_));
        free || self
            .bucket
            .as_mut()
            .is_none_or(|bucket| bucket.try_take(Instant::now()))
    }

    pub(super) fn rate_refusal(&self) -> Frame {
        let limit = self.config.rate_limit.unwrap_or_default();
        Frame::reply(
            Status::TOO_MANY_REQUESTS,
            &format!(
                "too fast: at most {} requests a second (bursts of {}); this one was dropped",
                limit.per_second, limit.burst
            ),
        )
    }

    /// Carries out one request; `Some` ends the session.
    pub(super) fn apply(&mut self, request: Request, frame: &Frame) -> Option<End> {
        // Only chat is worth batching. Anything else may block (a password
        // hash, an fsync of accounts.txt or rooms.txt, a wait for a
        // download slot), and other people's messages must not wait for it.
        if !matches!(
            request,
            Request::Chat(_) | Request::Control(Control::Ping | Control::Pong)
        ) {
            outbox::flush_owed();
        }
        let reply = match request {
            Request::Control(control) => self.control(control),
            Request::Account(request) => self.account(request),
            _ if self.nick.is_none() => Ok(Some(
                Refusal::new(
                    Status::FORBIDDEN,
                    "log in first: send LOGIN with a Nick header",
                )
                .into_frame(),
            )),
            Request::Chat(request) => {
                self.dump(frame);
                Ok(Some(self.chat(request)))
            }
            Request::Room(request) => Ok(Some(self.room(request))),
            Request::File(FileRequest::Download { id }) => {
                self.dump(frame);
                // `None`: queued, and the writer thread streams the reply.
                Ok(self.transfers().download(id, &self.outbox))
            }
            Request::File(FileRequest::List) => Ok(Some(self.transfers().list())),
        };
        match reply {
            Ok(Some(reply)) => {
                self.outbox.push_frame(&reply);
                None
            }
            Ok(None) => None,
            Err(end) => Some(end),
        }
    }

    /// `PING`, `PONG`, `QUIT`. Like every request handler: `Ok(Some)` is
    /// the reply, `Ok(None)` means none is due (or it is queued already),
    /// `Err` ends the session.
    fn control(&mut self, control: Control) -> Result<Option<Frame>, End> {
        match control {
            Control::Pong => Ok(None),
            Control::Ping => Ok(Some(Frame::status(Status::OK))),
            Control::Quit => {
                // Out of the hub before "Bye" goes out, so a client that has
                // heard it can count on its nickname being free; `finish`
                // would do it a moment later, racing the next login.
                if self.nick.is_some() {
                    self.hub.logout(self.id);
                }
                self.outbox.push_frame(&Frame::reply(Status::OK, "Bye"));
                Err(End::Quit)
            }
        }
    }

    fn account(&mut self, request: AccountRequest) -> Result<Option<Frame>, End> {
        let reply = match (self.nick.clone(), request) {
            (None, AccountRequest::Login { nick, password }) => {
                match self.authenticate(&nick, password.as_deref()) {
                    // `None` from login: it worked and has queued its own reply.
                    Gate::Open { registered } => return Ok(self.login(&nick, registered)),
                    Gate::Refuse(reply) => reply,
                    Gate::Close(end) => return Err(end),
                }
            }
            (Some(me), AccountRequest::Login { .. }) => {
                Refusal::new(Status::CONFLICT, format!("already logged in as {me}")).into_frame()
            }
            (None, _) => Refusal::new(
                Status::FORBIDDEN,
                "log in first: send LOGIN with a Nick header",
            )
            .into_frame(),
            (Some(_), AccountRequest::Nick { nick }) if self.is_someone_elses_account(&nick) => {
                account::registered_nick_refused(&nick)
            }
            (Some(_), AccountRequest::Nick { nick }) => {
                let result = self.hub.rename(self.id, &nick);
                if result.is_ok() {
                    self.nick = Some(nick);
                }
                reply_with(result)
            }
            (Some(_), request) => self.account_request(request)?,
        };
        Ok(Some(reply))
    }

    fn chat(&mut self, request: ChatRequest) -> Frame {
        match request {
            ChatRequest::Say { room, text } => self.say(room.as_deref(), text),
            ChatRequest::Whisper { to, text } => match self.hub.whisper(self.id, &to, text) {
                Ok(()) => Frame::status(Status::OK),
                Err(e) => self.send_error(e),
            },
        }
    }

    fn room(&mut self, request: RoomRequest) -> Frame {
        let id = self.id;
        match request {
            RoomRequest::Users => {
                let users = self.hub.users();
                let mut text = format!("{} user(s) online:", users.len());
                for user in users {
                    text.push_str(&format!("\n  {} in {}", user.nick, user.room));
                }
                Frame::reply(Status::OK, &text)
            }
            RoomRequest::Rooms => Frame::reply(Status::OK, &self.hub.room_list(Some(id))),
            RoomRequest::Create { room, private } => {
                reply_with(self.hub.create_room(id, &room, private))
            }
            RoomRequest::Join { room } => reply_with(self.hub.join_room(id, &room)),
            RoomRequest::Leave { room } => reply_with(self.hub.leave_room(id, room.as_deref())),
            RoomRequest::Close { room } => reply_with(self.hub.close_room(id, room.as_deref())),
            RoomRequest::ChangeList {
                list,
                nick,
                add,
                room,
            } => reply_with(self.hub.change_list(id, room.as_deref(), list, &nick, add)),
            RoomRequest::ShowList { list, room } => {
                reply_with(self.hub.show_list(id, room.as_deref(), list))
            }
        }
    }

    /// Logs in as `nick`, whose password was checked if `registered`;
    /// `Some` is the refusal to send, `None` means it worked and the reply
    /// is already queued.
    pub(super) fn login(&mut self, nick: &str, registered: bool) -> Option<Frame> {
        if let Err(refusal) = self.hub.login(self.id, nick, &self.outbox) {
            return Some(refusal.into_frame());
        }
        if !registered && self.accounts.is_registered(nick) {
            // Registered by its previous holder between our check and now.
            self.hub.logout(self.id);
            return Some(account::password_needed(nick));
        }
        self.nick = Some(nick.to_string());
        self.hub.console().say(format!("Client ({nick}) connected"));
        // The reply goes out before the welcome and history the lobby sends.
        self.outbox.push_frame(
            &Frame::reply(Status::OK, "Successfully login.")
                .with_header(header::REGISTERED, if registered { "yes" } else { "no" })
                .with_header(header::NICK, nick)
                .with_header(header::MAX_BODY, self.config.max_body)
                .with_header(header::MAX_FILE_SIZE, self.config.max_file_size),
        );
        self.hub.enter_lobby(self.id);
        None
    }

    pub(super) fn say(&self, room: Option<&str>, text: String) -> Frame {
        if let (Some(asked), Some(me)) = (room, self.hub.presence(self.id)) {
            if !asked.eq_ignore_ascii_case(&me.room) {
                return Refusal::new(
                    Status::CONFLICT,
                    format!("you are in {}, not in {asked}", me.room),
                )
                .into_frame();
            }
        }
        match self.hub.say(self.id, text) {
            Ok(seq) => Frame::status(Status::OK).with_header(header::SEQ, seq),
            Err(e) => self.send_error(e),
        }
    }

    pub(super) fn send_error(&self, e: SendError) -> Frame {
        match e {
            SendError::Refused(refusal) => refusal.into_frame(),
            SendError::NotStored(err) => {
                self.hub.console().say(format!(
                    "{} cannot write log.txt: {err}; message refused",
                    self.tag
                ));
                Frame::reply(
                    Status::INSUFFICIENT_STORAGE,
                    &format!(
                        "message not stored ({err}), so it was not delivered; try again later"
                    ),
                )
            }
        }
    }

    /// Prints a received message on the console in its header form (seed 001).
    pub(super) fn dump(&self, frame: &Frame) {
        let nick = self.nick.as_deref().unwrap_or("?");
        self.hub.console().message(|| {
            let mut shown = frame.clone();
            shown
                .headers
                .insert(0, (header::FROM.to_string(), nick.to_string()));
            shown
                .headers
                .push((header::DATE.to_string(), crate::clock::now_utc()));
            let bytes = shown.encode();
            let text = String::from_utf8_lossy(&bytes);
            let mut out = self.tag.clone();
            for (i, line) in text.split("\r\n").enumerate() {
                out.push(if i == 0 { ' ' } else { '\n' });
                out.push_str(&for_terminal(line));
            }
            out
        });
    }
}
