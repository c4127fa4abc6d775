//! A multi-room chat server and terminal client, standard library only.
//!
//! # Layout
//!
//! - [`protocol`]: the HTTP-style frame, its bounded parser and encoder. No sockets.
//! - [`command`] and [`event`]: the typed requests a client sends and the events
//!   a server pushes, shared by both ends.
//! - [`server`]: accept loop, one thread per client, the shared hub, `log.txt`.
//! - [`client`]: the terminal client.
//! - [`terminal`]: keys, line editing, character widths and raw mode, for the
//!   client's full screen and the server console's input line.
//! - [`web`]: the browser door's parts: HTTP, WebSocket (RFC 6455), the page itself.
//! - [`fileshare`]: rules both ends of a file transfer share (safe names, digests).
//! - [`irc`]: the IRC door's words without its sockets: the bounded line parser and
//!   encoder, numerics, casemapping, message splitting, CAP, registration and SASL.
//! - [`bench`](mod@bench): `chat-bench`, the load generator that measures the server's
//!   fan-out throughput, latency and memory (and can drive an IRC server too).
//! - [`cluster`]: the Redis layer for running several servers as one: RESP,
//!   a blocking client with the commands the cluster needs, stream IDs, and
//!   reconnection with backoff.
//! - [`text`], [`clock`], [`crc32`], [`crypto`], [`base64`], [`cli`]: small shared tools.
pub mod base64;
pub mod bench;
pub mod cli;
pub mod client;
pub mod clock;
pub mod cluster;
pub mod command;
pub mod crc32;
pub mod crypto;
pub mod event;
pub mod fileshare;
pub mod irc;
pub mod protocol;
pub mod server;
pub mod terminal;
pub mod text;
pub mod web;
