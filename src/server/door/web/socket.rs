//! The WebSocket side of the browser door: frames taken from the input
//! buffer as they complete, each text message one CHAT/1.0 frame handed to
//! the chat door, whose replies and deliveries come back as text messages
//! ([`WebCodec`]). Pings are answered, the close handshake is kept, and a
//! broken rule closes with RFC 6455's code. Two requests are the web's own:
//! `TOKEN` (file and resume tokens) and `LOGIN` with `Resume`, which takes
//! over the same page's stale session.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::codec::WebCodec;
use super::tokens::{tokens, FILE_TOKEN_LIFETIME};
use crate::event::Parting;
use crate::protocol::{header, Frame, FrameError, Status};
use crate::server::connection::Conn;
use crate::server::door::chat::{is_say_to, ChatDoor};
use crate::server::door::Poll;
use crate::server::hub::ClientId;
use crate::server::session::{End, Rate, Session};
use crate::server::Config;
use crate::text::name_key;
use crate::web::websocket::{
    close_payload, encode_frame, CloseCode, Decoder, Message, Opcode, Role, WsError,
    MAX_MESSAGE_BYTES,
};

/// The header of a `LOGIN` that presents a resume token.
pub const RESUME: &str = "Resume";
/// How long a takeover waits for the old session to let go of the nickname.
const TAKEOVER_WAIT: Duration = Duration::from_secs(5);
/// What the server's idle ping carries.
const PING_PAYLOAD: &[u8] = b"chat";

/// One upgraded connection.
pub struct Socket {
    decoder: Decoder,
    chat: ChatDoor,
    /// A close frame was queued: nothing may follow it.
    close_sent: bool,
}

impl Socket {
    pub fn new(config: &Config) -> Socket {
        Socket {
            decoder: Decoder::new(Role::Server, MAX_MESSAGE_BYTES),
            chat: ChatDoor::with_wire(config, Arc::new(WebCodec)),
            close_sent: false,
        }
    }

    /// The most input the next frame can need (a larger one is refused on
    /// its header, 1009, before its payload arrives).
    pub fn max_input(&self) -> usize {
        self.decoder.max_frame_bytes()
    }

    /// Takes the next whole message off the input and carries it out;
    /// `issued` learns the connection once tokens are given out.
    pub fn poll(
        &mut self,
        s: &mut Session<'_>,
        conn: &mut Conn,
        issued: &mut Option<ClientId>,
    ) -> Poll {
        loop {
            let decoded = match self.decoder.decode(conn.buffered()) {
                Ok(decoded) => decoded,
                Err(e) => return Poll::End(self.fail(s, &e)),
            };
            if decoded.consumed == 0 {
                return Poll::NeedMore;
            }
            conn.consume(decoded.consumed);
            // A fragment: its message is not whole yet.
            if let Some(message) = decoded.message {
                return self.message(s, conn, message, issued);
            }
        }
    }

    fn message(
        &mut self,
        s: &mut Session<'_>,
        conn: &mut Conn,
        message: Message,
        issued: &mut Option<ClientId>,
    ) -> Poll {
        match message {
            Message::Text(text) => {
                let poll = self.text(s, conn, &text, issued);
                // Logged out: what was issued no longer acts for anyone.
                if s.nick.is_none() {
                    if let Some(id) = issued.take() {
                        tokens().revoke(id);
                    }
                }
                match poll {
                    Poll::End(end) => Poll::End(self.closing(s, end)),
                    other => other,
                }
            }
            Message::Binary(_) => {
                let end = End::Dropped("a binary WebSocket message".into());
                Poll::End(self.close(
                    s,
                    CloseCode::UNSUPPORTED_DATA,
                    "send CHAT/1.0 frames as text",
                    end,
                ))
            }
            // A ping costs a request, so pongs cannot be farmed.
            Message::Ping(payload) => match s.take_token() {
                Rate::Within => {
                    let mut pong = Vec::with_capacity(payload.len() + 2);
                    encode_frame(&mut pong, true, Opcode::Pong, &payload, None);
                    s.send(pong);
                    Poll::Done
                }
                Rate::Over => Poll::Done,
                Rate::Flooding => {
                    let end = End::Dropped("flooding with pings".into());
                    Poll::End(self.close(s, CloseCode::POLICY_VIOLATION, "too many pings", end))
                }
            },
            // The answer to our ping: a sign of life is all it is.
            Message::Pong(_) => Poll::Done,
            Message::Close(close) => {
                let code = close.map_or(CloseCode::NORMAL, |c| c.code);
                s.leave_hub(&Parting::Quit("left the page".into()));
                Poll::End(self.close(s, code, "", End::Eof))
            }
        }
    }

    /// One text message: one CHAT/1.0 request. A `SAY` may start a burst
    /// of the `SAY`s to the same room in the messages already read behind
    /// it, as over the chat door.
    fn text(
        &mut self,
        s: &mut Session<'_>,
        conn: &mut Conn,
        text: &str,
        issued: &mut Option<ClientId>,
    ) -> Poll {
        let frame = match one_frame(text, self.chat.limits()) {
            Ok(frame) => frame,
            Err(refusal) => {
                // The message's end is the frame's end: the next message
                // is where it should be, so the connection goes on.
                self.chat.send(s, &refusal);
                return Poll::Done;
            }
        };
        match frame.verb() {
            Some("TOKEN") => return self.token(s, issued),
            Some("UPLOAD" | "DOWNLOAD") => {
                let refusal = Frame::reply(
                    Status::BAD_REQUEST,
                    "from a browser, files travel over HTTP: POST /files?room=ROOM and GET /files/ID?token=TOKEN, with a token from TOKEN",
                );
                self.chat.send(s, &refusal);
                return Poll::Done;
            }
            Some("LOGIN") => take_over(s, &frame),
            _ => {}
        }
        let (decoder, limits) = (&self.decoder, *self.chat.limits());
        self.chat.handle_then_burst(s, conn, &frame, |input| {
            let (text, len) = decoder.peek_text(input)?;
            let next = one_frame(&text, &limits).ok()?;
            is_say_to(&next, frame.target()).then_some((next, len))
        })
    }

    /// `TOKEN /`: a fresh file token, and the session's resume token.
    fn token(&mut self, s: &mut Session<'_>, issued: &mut Option<ClientId>) -> Poll {
        if s.take_token() != Rate::Within {
            let refusal = Frame::reply(Status::TOO_MANY_REQUESTS, "too fast; this one was dropped");
            self.chat.send(s, &refusal);
            return Poll::Done;
        }
        if s.nick.is_none() {
            let refusal = Frame::reply(
                Status::FORBIDDEN,
                "log in first: send LOGIN with a Nick header",
            );
            self.chat.send(s, &refusal);
            return Poll::Done;
        }
        let table = tokens();
        let reply = match (table.issue_file_token(s.id), table.resume_token(s.id)) {
            (Ok(file), Ok(resume)) => {
                *issued = Some(s.id);
                Frame::status(Status::OK)
                    .with_header("Token", file)
                    .with_header("Expires-In", FILE_TOKEN_LIFETIME.as_secs())
                    .with_header(RESUME, resume)
            }
            (Err(e), _) | (_, Err(e)) => {
                s.console.say(format!(
                    "{} cannot read the random source for a token: {e}",
                    s.tag
                ));
                Frame::reply(Status::INTERNAL_ERROR, "no token can be made right now")
            }
        };
        self.chat.send(s, &reply);
        Poll::Done
    }

    /// The idle timeout passed in silence: a WebSocket ping, which every
    /// browser answers by itself.
    pub fn ping(&mut self, s: &mut Session<'_>) {
        if !self.close_sent {
            let mut ping = Vec::new();
            encode_frame(&mut ping, true, Opcode::Ping, PING_PAYLOAD, None);
            s.send(ping);
        }
    }

    pub fn login_timed_out(&mut self, s: &mut Session<'_>) -> End {
        self.chat
            .send(s, &Frame::reply(Status::REQUEST_TIMEOUT, "login timed out"));
        let end = End::Dropped("login timed out".into());
        self.close(s, CloseCode::POLICY_VIOLATION, "login timed out", end)
    }

    /// The chat door ended the session (its last reply is queued): the
    /// close handshake follows.
    fn closing(&mut self, s: &mut Session<'_>, end: End) -> End {
        let code = match end {
            End::Quit | End::Eof => CloseCode::NORMAL,
            End::Dropped(_) => CloseCode::POLICY_VIOLATION,
        };
        self.close(s, code, "", end)
    }

    /// A rule broken: the close code RFC 6455 gives it, when the peer can
    /// still hear one.
    fn fail(&mut self, s: &mut Session<'_>, e: &WsError) -> End {
        let end = End::Dropped(format!("WebSocket: {e}"));
        match e.close_code() {
            Some(code) => self.close(s, code, &e.to_string(), end),
            None => end,
        }
    }

    /// Queues the close frame (once), out of the hub first so that no
    /// message can be queued after it.
    fn close(&mut self, s: &mut Session<'_>, code: CloseCode, reason: &str, end: End) -> End {
        s.leave_hub(&end.parting());
        if !self.close_sent {
            self.close_sent = true;
            let mut frame = Vec::new();
            encode_frame(
                &mut frame,
                true,
                Opcode::Close,
                &close_payload(code, reason),
                None,
            );
            s.send(frame);
        }
        end
    }
}

/// The one CHAT/1.0 frame a text message carries.
///
/// # Errors
/// The reply refusing it: a frame broken as the chat door's rules say, or
/// anything after the frame's end (one frame per message).
fn one_frame(text: &str, limits: &crate::protocol::Limits) -> Result<Frame, Frame> {
    let mut bytes = text.as_bytes();
    let refusal = |e: FrameError| match e {
        // The whole message is in: a frame cut short is a bad one.
        FrameError::UnexpectedEof | FrameError::Io(_) => Frame::reply(
            Status::BAD_REQUEST,
            "the message ends inside a frame: send one whole CHAT/1.0 frame",
        ),
        e => Frame::reply(e.status(), &e.to_string()),
    };
    match Frame::read_from(&mut bytes, limits) {
        Ok(Some(frame)) if bytes.is_empty() => Ok(frame),
        Ok(Some(_)) => Err(Frame::reply(
            Status::BAD_REQUEST,
            "one CHAT/1.0 frame per WebSocket message; the rest was dropped",
        )),
        Ok(None) => Err(Frame::reply(
            Status::BAD_REQUEST,
            "an empty message: send one CHAT/1.0 frame",
        )),
        Err(e) => Err(refusal(e)),
    }
}

/// A `LOGIN` carrying the resume token of the session that holds its
/// nickname now (the same page, before a network drop the server has not
/// noticed yet): that session is closed, and the login goes ahead as
/// usual, password and all. Any other token changes nothing.
fn take_over(s: &mut Session<'_>, frame: &Frame) {
    let (Some(token), Some(nick)) = (frame.header(RESUME), frame.header(header::NICK)) else {
        return;
    };
    if s.nick.is_some() {
        return;
    }
    let Some(grant) = tokens().resume_grant(token) else {
        return;
    };
    let holder = grant.nick_now(s.hub);
    if grant.id == s.id || holder.is_none_or(|held| name_key(&held) != name_key(nick)) {
        return;
    }
    s.owed.pay();
    if s.hub
        .kick(nick, "you logged in again from another connection")
        .is_err()
    {
        return;
    }
    s.console.say(format!(
        "{} {nick} resumes on a new connection; the old one is closed",
        s.tag
    ));
    // The old session's thread logs it out as it ends; that is quick, as
    // it wakes from its read at once.
    let deadline = Instant::now() + TAKEOVER_WAIT;
    while s.hub.nick(grant.id).is_some() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Limits;

    #[test]
    fn a_message_carries_exactly_one_frame() {
        let limits = Limits::default();
        let frame = one_frame("PING / CHAT/1.0\r\nContent-Length: 0\r\n\r\n", &limits).unwrap();
        assert_eq!(frame.verb(), Some("PING"));
        let two = "PING / CHAT/1.0\r\nContent-Length: 0\r\n\r\nPING / CHAT/1.0\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            one_frame(two, &limits).unwrap_err().status_code(),
            Some(Status::BAD_REQUEST)
        );
        assert!(one_frame("", &limits).is_err());
        let short = "SAY / CHAT/1.0\r\nContent-Length: 10\r\n\r\nhi";
        assert_eq!(
            one_frame(short, &limits).unwrap_err().status_code(),
            Some(Status::BAD_REQUEST),
            "the body is cut"
        );
        let big = format!(
            "SAY / CHAT/1.0\r\nContent-Length: 5000\r\n\r\n{}",
            "x".repeat(5000)
        );
        assert_eq!(
            one_frame(&big, &limits).unwrap_err().status_code(),
            Some(Status::PAYLOAD_TOO_LARGE)
        );
    }
}
