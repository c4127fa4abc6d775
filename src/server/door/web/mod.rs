//! The browser door: HTTP/1.1 on the connection (the page, its assets and
//! the file endpoints, keep-alive), until a request upgrades it to a
//! WebSocket at `/ws`; from then on each text message carries one CHAT/1.0
//! frame, handled by the chat door and answered through [`WebCodec`].
//!
//! - [`http`]: request heads from the input buffer, routing, the page.
//! - [`socket`]: the WebSocket side: frames from the buffer, pings, the
//!   close handshake, `TOKEN`, and taking over a stale session.
//! - [`files`]: `POST /files` and `GET`/`HEAD /files/ID` with a token.
//! - [`tokens`]: the file and resume tokens of browser sessions.
//! - [`codec`]: CHAT/1.0 frames in WebSocket text messages.

mod codec;
mod files;
mod http;
mod socket;
pub mod tokens;

pub use codec::WebCodec;

use super::{Door, Poll};
use crate::server::connection::Conn;
use crate::server::hub::ClientId;
use crate::server::session::{End, Session};
use crate::server::Config;
use crate::web::handshake::OriginPolicy;

/// One browser connection.
pub struct WebDoor {
    origins: OriginPolicy,
    phase: Phase,
    /// The connection tokens were issued to, so they die with the door.
    issued: Option<ClientId>,
}

/// What the connection speaks now.
enum Phase {
    Http(http::Http),
    /// Boxed: the chat door and the decoder are larger than the HTTP state.
    Socket(Box<socket::Socket>),
}

impl WebDoor {
    pub fn new(config: &Config) -> WebDoor {
        let origins = config
            .allow_origins
            .iter()
            .fold(OriginPolicy::same_origin(), |policy, origin| {
                policy.allow(origin)
            });
        WebDoor {
            origins,
            phase: Phase::Http(http::Http::default()),
            issued: None,
        }
    }
}

impl Door for WebDoor {
    fn max_input(&self) -> usize {
        match &self.phase {
            Phase::Http(_) => http::MAX_INPUT_BYTES,
            Phase::Socket(socket) => socket.max_input(),
        }
    }

    fn poll(&mut self, s: &mut Session<'_>, conn: &mut Conn) -> Poll {
        match &mut self.phase {
            Phase::Http(http) => match http.poll(s, conn, &self.origins) {
                http::Polled::Poll(poll) => poll,
                http::Polled::Upgraded => {
                    self.phase = Phase::Socket(Box::new(socket::Socket::new(s.config)));
                    Poll::Done
                }
            },
            Phase::Socket(socket) => socket.poll(s, conn, &mut self.issued),
        }
    }

    fn ping(&mut self, s: &mut Session<'_>) {
        if let Phase::Socket(socket) = &mut self.phase {
            socket.ping(s);
        }
    }

    fn login_timed_out(&mut self, s: &mut Session<'_>) -> End {
        match &mut self.phase {
            // An idle keep-alive connection: closed without a word, as
            // browsers expect of one they are not using.
            Phase::Http(_) => End::Eof,
            Phase::Socket(socket) => socket.login_timed_out(s),
        }
    }
}

impl Drop for WebDoor {
    fn drop(&mut self) {
        // The session ends (or unwinds): nothing may act for it any more.
        if let Some(id) = self.issued {
            tokens::tokens().revoke(id);
        }
    }
}
