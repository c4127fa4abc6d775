//! The browser door's building blocks, without sockets of their own: HTTP/1.1
//! request heads and responses, the WebSocket handshake and frame codec (RFC
//! 6455), and the page itself, embedded in the binary. The server wires them
//! to its listener; each WebSocket text message carries one CHAT/1.0 frame.
//!
//! - [`http`]: the request-head parser, with its caps and framing rules.
//! - [`response`]: status codes, the response builder, the security headers.
//! - [`assets`]: the page (`index.html`, `app.js`, `style.css`) and how it is served.
//! - [`handshake`]: the upgrade to a WebSocket, the `Origin` check.
//! - [`frame`]: one WebSocket frame, parsed and encoded.
//! - [`websocket`]: whole messages from a stream, and a writer.

pub mod assets;
pub mod handshake;
pub mod http;
pub mod response;
pub mod websocket;
